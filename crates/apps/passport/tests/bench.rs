//! `bench_page` runs over a stored passport and reports ordered percentiles. (The figures
//! themselves are measured in release builds: `cargo run --release -p tsunagu-passport
//! --example passport_demo -- bench`.)

mod common;

use std::time::Instant;

use tsunagu_passport::{PassportId, bench_page, install_demo_battery};

#[tokio::test]
async fn bench_page_measures_the_public_page() {
    let world = common::world().await;
    let demo = install_demo_battery(&world.app.service).await.unwrap();
    let figures = bench_page(&world.app.service, demo.id, 50, Instant::now)
        .await
        .unwrap();
    assert_eq!(figures.iterations, 50);
    assert!(figures.p50 <= figures.p99 && figures.p99 <= figures.max);
    assert!(figures.page_bytes > 5_000, "{figures:?}");
    eprintln!("debug build: {figures:?}");
    let unknown = PassportId::parse("6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01").unwrap();
    assert!(
        bench_page(&world.app.service, unknown, 1, Instant::now)
            .await
            .is_err()
    );
}
