//! Throwaway PostgreSQL clusters: start, create databases, connect, clean up.

use std::net::{Ipv4Addr, TcpStream};

use sqlx::{Connection as _, PgConnection};
use tsunagu_testkit::{TempPostgres, fresh_postgres_database, shared_postgres};

async fn current_database(url: &str) -> String {
    let mut conn = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut conn)
        .await
        .expect("select 1");
    assert_eq!(one, 1);
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut conn)
        .await
        .expect("current_database()");
    conn.close().await.expect("close");
    name
}

#[tokio::test]
async fn cluster_starts_creates_databases_and_cleans_up() {
    let Some(pg) = TempPostgres::start().expect("start a throwaway cluster") else {
        return;
    };
    eprintln!("cluster started in {:?}", pg.startup_time());
    let port = pg.port();
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    );
    assert_eq!(current_database(&pg.url()).await, "postgres");

    let first = pg.create_database("alpha").expect("create alpha");
    let second = pg.create_database("beta_2").expect("create beta_2");
    assert_eq!(first, format!("postgres://postgres@127.0.0.1:{port}/alpha"));
    assert_eq!(current_database(&first).await, "alpha");
    assert_eq!(current_database(&second).await, "beta_2");
    assert!(pg.create_database("alpha").is_err(), "duplicate name");
    assert!(pg.create_database("Bad-Name; drop").is_err(), "unsafe name");

    let dir = pg.dir().to_path_buf();
    assert!(dir.join("data").join("postmaster.pid").is_file());
    drop(pg);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
        "server still listening on {port}"
    );
}

#[tokio::test]
async fn shared_cluster_hands_out_isolated_databases() {
    let Some(first) = fresh_postgres_database() else {
        return;
    };
    let Some(second) = fresh_postgres_database() else {
        return;
    };
    assert_ne!(first, second);
    let pg = shared_postgres().expect("running, since a database was created");
    assert!(first.starts_with(&format!("postgres://postgres@127.0.0.1:{}/", pg.port())));

    let mut conn = PgConnection::connect(&first).await.expect("connect");
    sqlx::query("create table t (x int)")
        .execute(&mut conn)
        .await
        .expect("create table");
    conn.close().await.expect("close");

    let mut conn = PgConnection::connect(&second).await.expect("connect");
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count tables");
    assert_eq!(tables, 0, "databases must not share tables");
    conn.close().await.expect("close");
}

#[tokio::test]
async fn shared_cluster_is_started_once() {
    let Some(a) = shared_postgres() else { return };
    let Some(b) = shared_postgres() else { return };
    assert!(std::ptr::eq(a, b));
    let url = fresh_postgres_database().expect("shared cluster is running");
    assert_eq!(
        current_database(&url).await,
        url.rsplit('/').next().unwrap()
    );
}
