//! Interoperability tests against independent Python implementations (jwcrypto, the SD-JWT
//! reference implementation): whether Python has a library, and running a script that reads a
//! JSON request on stdin and prints a JSON answer.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Whether `python3 -c "import <imports>"` succeeds (`imports` as in an import statement,
/// e.g. `sd_jwt.issuer, jwcrypto`).
pub fn python_can_import(imports: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {imports}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// True when Python can import `imports`. Otherwise prints `skip_line` and returns false, or,
/// with `TSUNAGU_REQUIRE_INTEROP=1` (as in CI), panics.
pub fn require_python(imports: &str, skip_line: &str) -> bool {
    if python_can_import(imports) {
        return true;
    }
    if std::env::var("TSUNAGU_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        panic!("TSUNAGU_REQUIRE_INTEROP=1 but `python3 -c \"import {imports}\"` fails");
    }
    eprintln!("{skip_line}");
    false
}

/// Runs `script` with `python3`, `request` as JSON on its stdin; returns the JSON it prints.
/// Panics with the script's stderr when it fails.
pub fn run_python_json(script: &str, request: &Value) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&serde_json::to_vec(request).expect("JSON values serialize"))
        .expect("the script reads its request");
    let output = child.wait_with_output().expect("python3 runs");
    assert!(
        output.status.success(),
        "the python script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}
