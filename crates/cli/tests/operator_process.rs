//! `tsunagu operator` as its own process: it starts from options and environment alone,
//! creates its key file (mode 0600), serves its DID document, takes applications, and keeps
//! its admin endpoints closed to callers without the admin token.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_operator_runs_as_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let admin_token = "operator-admin-token-0123456789";
    let mut child = Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .arg("operator")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--key-file")
        .arg(dir.path().join("keys.json"))
        .env("TSUNAGU_OPERATOR_ADMIN_TOKEN", admin_token)
        .env(
            "TSUNAGU_OPERATOR_DATABASE_URL",
            format!("sqlite:{}", dir.path().join("operator.sqlite").display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tsunagu operator starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let document: serde_json::Value = loop {
        match client
            .get(format!("{base}/.well-known/did.json"))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => break response.json().await.unwrap(),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => {
                let _ = child.kill();
                panic!("the operator did not come up");
            }
        }
    };
    assert_eq!(document["id"], format!("did:web:127.0.0.1%3A{port}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let applied = client
        .post(format!("{base}/v1/applications"))
        .json(&serde_json::json!({
            "legalName": "Process Test K.K.",
            "registrationNumber": {"kind": "corporateNumberJp", "value": "7000012050002"},
            "legalAddress": {"street": "1-1", "locality": "Tokyo", "country": "JP"},
            "roles": ["recycler"],
            "did": "did:web:recycler.example",
            "dspUrl": "https://recycler.example/dsp"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status().as_u16(), 201);
    let closed = client
        .get(format!("{base}/admin/v1/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status().as_u16(), 401);
    let open = client
        .get(format!("{base}/admin/v1/applications"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status().as_u16(), 200);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        !log.contains(admin_token),
        "the admin token reached the log"
    );
}
