//! A real headless Chromium opens the demo battery's passport page over loopback: public
//! fields present, restricted ones absent, the switch to Japanese, a login with a
//! presentation, screenshots (in the target directory's `passport-browser/`).
//!
//! Needs `/usr/bin/chromium` (Debian package `chromium`), `node`, and `npm ci` run in
//! `crates/apps/passport/browser`. Without them the test prints why and passes, unless
//! `TSUNAGU_REQUIRE_BROWSER=1`, when it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tsunagu_passport::{install_demo_battery, passport_router};

fn missing_prerequisite(browser_dir: &Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} not found (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found (apt-get install nodejs npm)".into());
    }
    if !browser_dir.join("node_modules/playwright-core").is_dir() {
        return Some(format!(
            "playwright-core not installed (npm ci in {})",
            browser_dir.display()
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_passport_page() {
    let browser_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
    if let Some(reason) = missing_prerequisite(&browser_dir) {
        if std::env::var("TSUNAGU_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("browser test required but {reason}");
        }
        eprintln!("skipped: {reason}");
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (store, _dir) = common::sqlite_store().await;
    let world = common::world_on(store, &base).await;
    let demo = install_demo_battery(&world.app.service).await.unwrap();
    let router = passport_router(world.app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    // The presentation the script pastes into the login form: a recycler's.
    let recycler = world.participant("browser-recycler", 31);
    let credentials = world.credentials(
        &recycler,
        true,
        &["recycler"],
        &world.scheme(),
        common::SCHEME_DID,
    );
    let presentation = world.presentation(
        &recycler,
        &credentials,
        &base,
        &world.app.access.nonce().await.unwrap(),
    );

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("passport-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("{base}/passports/{}", demo.id);
    let mut command = tokio::process::Command::new("node");
    command
        .current_dir(&browser_dir)
        .arg("passport.mjs")
        .arg(&url)
        .arg(&shots)
        .arg(&presentation)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the browser script finishes within two minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    server.abort();
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    for shot in [
        "passport-en.png",
        "passport-ja.png",
        "passport-legitimate-interest.png",
    ] {
        let bytes = std::fs::read(shots.join(shot)).unwrap();
        assert_eq!(&bytes[..4], b"\x89PNG", "{shot}");
    }
    eprintln!("screenshots in {}", shots.display());
}
