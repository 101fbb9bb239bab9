//! The storage conformance suite against both backends.

use tsunagu_store::{PostgresStore, SqliteStore, conformance};

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.sqlite"))
        .await
        .unwrap();
    conformance::run_all(&store).await;
    conformance::run_documents(&store).await;
    conformance::run_ledger(&store).await;
}

#[tokio::test]
async fn postgres_passes_the_conformance_suite() {
    let Some(url) = tsunagu_testkit::fresh_postgres_database() else {
        return;
    };
    let store = PostgresStore::connect(&url, 5).await.unwrap();
    conformance::run_all(&store).await;
    conformance::run_documents(&store).await;
    conformance::run_ledger(&store).await;
}
