//! The demo battery's passport on SQLite in a temporary directory, for measurements:
//!
//! * `cargo run --release -p tsunagu-passport --example passport_demo -- bench [iterations]`
//!   prints the server render time of the public page (p50, p99);
//! * `... -- serve [address]` serves it (default `127.0.0.1:8088`) and prints the page's
//!   address, for a load tool such as `wrk`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use tsunagu_passport::{
    CallerTrust, PassportApp, bench_page, install_demo_battery, passport_router,
};
use tsunagu_store::SqliteStore;
use tsunagu_trust::did::StaticResolver;
use tsunagu_trust::keys::KeyRing;
use tsunagu_trust::status_list::StaticStatusLists;
use tsunagu_trust::vc::TrustedIssuers;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("bench");
    let address = match mode {
        "serve" => args
            .get(1)
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:8088".into()),
        _ => "127.0.0.1:8088".into(),
    };
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("passport.sqlite")).await?);
    let keys = KeyRing::generate(&mut rand::rngs::OsRng, chrono::Utc::now());
    let trust = CallerTrust {
        resolver: Arc::new(StaticResolver::new()),
        status_lists: Arc::new(StaticStatusLists::new()),
        trusted_issuers: TrustedIssuers::new(),
    };
    let app = PassportApp::new(
        store,
        "did:web:pack.example".into(),
        keys,
        url::Url::parse(&format!("http://{address}"))?,
        trust,
    );
    let demo = install_demo_battery(&app.service).await?;
    match mode {
        "serve" => {
            let listener = tokio::net::TcpListener::bind(&address).await?;
            println!("http://{address}/passports/{}", demo.id);
            axum::serve(listener, passport_router(app)).await?;
        }
        _ => {
            let iterations: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(5000);
            // Warm up (caches, allocator), then measure.
            bench_page(&app.service, demo.id, 200, Instant::now).await?;
            let figures = bench_page(&app.service, demo.id, iterations, Instant::now).await?;
            println!("{}", serde_json::to_string_pretty(&figures)?);
        }
    }
    Ok(())
}
