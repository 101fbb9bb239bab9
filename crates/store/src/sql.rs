//! The two SQL backends. Their code is one macro body instantiated twice: the SQL is written
//! once with PostgreSQL's `$1` placeholders and rewritten to SQLite's numbered `?1` form, so
//! the backends cannot drift apart.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection as _};
use tsunagu_core::{
    Agreement, Asset, ContractDefinition, Negotiation, NegotiationState, PolicyDefinition, Role,
    Transfer,
};

mod lite;

pub use lite::SqliteError;

use crate::{
    Claim, Document, DocumentStore, JournalEntry, LedgerRow, Page, Pid, Result, Store, StoreError,
    TransferInsert,
};

/// The embedded default: one SQLite file in WAL mode.
#[derive(Clone)]
pub struct SqliteStore {
    /// One connection, used in the calling task (see `lite`).
    pool: lite::Pool,
    /// The single connection already admits one writer at a time; no second queue.
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    agreements: Arc<WrittenAgreements>,
    _checkpointer: Arc<lite::Checkpointer>,
}

/// The body of each agreement a store wrote last, by agreement id, so that a negotiation
/// write whose agreement did not change skips rewriting it and the transaction that needs.
/// A negotiation write succeeds only on the version it read, so an agreement another replica
/// changed in between comes back in the negotiation and differs from what is remembered here.
#[derive(Default)]
struct WrittenAgreements(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl WrittenAgreements {
    /// Agreements remembered at most: those of the negotiations in flight, with room to spare.
    const MAX: usize = 1024;

    fn unchanged(&self, id: &str, body: &str) -> bool {
        let written = self.0.lock().unwrap_or_else(|e| e.into_inner());
        written.get(id).is_some_and(|held| held == body)
    }

    fn remember(&self, id: &str, body: String) {
        let mut written = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if written.len() >= Self::MAX && !written.contains_key(id) {
            written.clear();
        }
        written.insert(id.to_owned(), body);
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        Self::connect_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a database from a `sqlite:` URL (for `database_url` in the configuration).
    pub async fn open_url(url: &str) -> Result<SqliteStore> {
        Self::connect_with(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect_with(options: SqliteConnectOptions) -> Result<SqliteStore> {
        let path = options.get_filename().to_owned();
        if path.as_os_str().is_empty() || path == Path::new(":memory:") {
            return Err(StoreError::Sqlite(lite::SqliteError::InMemory));
        }
        // Migrations keep running through sqlx, on a connection of their own, so that a
        // database made by an earlier tsunagu carries on from the migrations it records.
        let mut migrator = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .connect()
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&mut migrator)
            .await?;
        migrator.close().await?;
        let pool = lite::Pool::new(lite::connect(&path)?);
        Ok(SqliteStore {
            _checkpointer: Arc::new(lite::Checkpointer::start(&path, pool.clone())?),
            pool,
            writer: None,
            agreements: Arc::default(),
        })
    }

    fn sql(query: impl Into<Cow<'static, str>>) -> Cow<'static, str> {
        Cow::Owned(query.into().replace('$', "?"))
    }

    fn query(sql: &str) -> lite::Query<'_> {
        lite::query(sql)
    }

    /// The `n`-th bind placeholder, for statements built at run time.
    fn placeholder(n: usize) -> String {
        format!("?{n}")
    }

    /// The one place where the PostgreSQL form of a lease claim differs: SQLite has a single
    /// writer, so the sub-select cannot race and needs no row locks.
    const LOCK_CLAUSE: &'static str = "";

    /// Equality under which NULL equals NULL.
    const SAME_AS: &'static str = " IS ";
}

/// PostgreSQL, for companies that run several replicas on one database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// PostgreSQL serialises what it must itself; no in-process queue.
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    agreements: Arc<WrittenAgreements>,
}

impl PostgresStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            writer: None,
            agreements: Arc::default(),
        })
    }

    fn sql(query: impl Into<Cow<'static, str>>) -> Cow<'static, str> {
        query.into()
    }

    /// The `n`-th bind placeholder, for statements built at run time.
    fn query(sql: &str) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        sqlx::query(sql)
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    /// Replicas claim concurrently; SKIP LOCKED lets each take different rows without waiting.
    const LOCK_CLAUSE: &'static str = " FOR UPDATE SKIP LOCKED";

    /// Equality under which NULL equals NULL.
    const SAME_AS: &'static str = " IS NOT DISTINCT FROM ";
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain records always serialise to JSON")
}

fn decode<T: serde::de::DeserializeOwned>(id: &str, body: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

/// Rows of the transaction log written by one statement (four bind values each; both
/// backends allow far more than 4 × 256 per statement).
const LEDGER_ROWS_PER_STATEMENT: usize = 256;

fn limit(page: Page) -> i64 {
    i64::from(page.limit.min(i32::MAX as u32))
}

/// Whether an insert failed on a key already taken, for either backend's error.
trait UniqueViolation {
    fn is_unique_violation(&self) -> bool;
}

impl UniqueViolation for sqlx::Error {
    fn is_unique_violation(&self) -> bool {
        matches!(self, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

impl UniqueViolation for lite::SqliteError {
    fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            lite::SqliteError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    }
}

fn is_unique_violation(error: &impl UniqueViolation) -> bool {
    error.is_unique_violation()
}

macro_rules! simple_table {
    ($insert:ident, $replace:ident, $get:ident, $list:ident, $delete:ident, $ty:ty, $table:literal) => {
        async fn $insert(&self, record: &$ty) -> Result<()> {
            let _writer = self.lock_writes().await;
            let sql = Self::sql(concat!(
                "INSERT INTO ",
                $table,
                " (id, created_at, body) VALUES ($1, $2, $3)"
            ));
            Self::query(&sql)
                .bind(&record.id)
                .bind(record.created_at_ms)
                .bind(encode(record))
                .execute(&self.pool)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate(record.id.clone())
                    } else {
                        e.into()
                    }
                })?;
            Ok(())
        }

        async fn $replace(&self, record: &$ty) -> Result<bool> {
            let _writer = self.lock_writes().await;
            let sql = Self::sql(concat!("UPDATE ", $table, " SET body = $2 WHERE id = $1"));
            let done = Self::query(&sql)
                .bind(&record.id)
                .bind(encode(record))
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn $get(&self, id: &str) -> Result<Option<$ty>> {
            let sql = Self::sql(concat!("SELECT body FROM ", $table, " WHERE id = $1"));
            let row = Self::query(&sql)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|row| decode(id, row.try_get::<&str, _>("body")?))
                .transpose()
        }

        async fn $list(&self, page: Page) -> Result<Vec<$ty>> {
            let sql = Self::sql(concat!(
                "SELECT id, body FROM ",
                $table,
                " ORDER BY created_at, id LIMIT $1 OFFSET $2"
            ));
            let rows = Self::query(&sql)
                .bind(limit(page))
                .bind(i64::from(page.offset))
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|row| decode(row.try_get("id")?, row.try_get("body")?))
                .collect()
        }

        async fn $delete(&self, id: &str) -> Result<bool> {
            let _writer = self.lock_writes().await;
            let sql = Self::sql(concat!("DELETE FROM ", $table, " WHERE id = $1"));
            let done = Self::query(&sql).bind(id).execute(&self.pool).await?;
            Ok(done.rows_affected() == 1)
        }
    };
}

macro_rules! store_impl {
    ($store:ty, $backend:literal) => {
        impl $store {
            async fn lock_writes(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
                match &self.writer {
                    Some(writer) => Some(writer.lock().await),
                    None => None,
                }
            }

            simple_table!(insert_asset_row, replace_asset_row, asset_row, asset_rows, delete_asset_row, Asset, "assets");
            simple_table!(insert_policy_row, replace_policy_row, policy_row, policy_rows, delete_policy_row, PolicyDefinition, "policy_definitions");
            simple_table!(insert_contract_row, replace_contract_row, contract_row, contract_rows, delete_contract_row, ContractDefinition, "contract_definitions");

            async fn write_negotiation(
                &self,
                negotiation: &mut Negotiation,
                lease: Lease<'_>,
            ) -> Result<bool> {
                let _writer = self.lock_writes().await;
                // The agreement row is written with the negotiation in every state in which the
                // agreement can still change (it appears at `AGREED`; the consumer's signature
                // joins it with the verification, which takes the provider to `FINALIZED`).
                // Only a changed agreement is rewritten.
                let agreement = negotiation
                    .agreement
                    .as_ref()
                    .filter(|_| {
                        matches!(
                            negotiation.state,
                            NegotiationState::Agreed | NegotiationState::Verified | NegotiationState::Finalized
                        )
                    })
                    .map(|agreement| (agreement, encode(agreement)))
                    .filter(|(agreement, body)| !self.agreements.unchanged(&agreement.id, body));
                let mut tx = match agreement {
                    Some(_) => Some(self.pool.begin().await?),
                    None => None,
                };
                let body = encode(negotiation);
                // First as if the process ids were those stored, which leaves their indexes
                // alone; a write that learns a counter-party's id takes the second round.
                let mut pids_known = true;
                let row = loop {
                    let sql = Self::sql(process_update_sql(
                        "negotiations",
                        &["provider_pid", "consumer_pid"],
                        pids_known.then_some(Self::SAME_AS),
                        lease,
                    ));
                    let query = Self::query(&sql)
                        .bind(&negotiation.id)
                        .bind(&negotiation.provider_pid)
                        .bind(&negotiation.consumer_pid)
                        .bind(negotiation.state.as_str())
                        .bind(i64::from(negotiation.pending.is_some()))
                        .bind(negotiation.pending.as_ref().map_or(0, |p| p.not_before_ms))
                        .bind(negotiation.updated_at_ms)
                        .bind(&body)
                        .bind(negotiation.version);
                    let query = match lease {
                        Lease::Take { owner, now_ms, until_ms } => query.bind(now_ms).bind(owner).bind(until_ms),
                        Lease::Keep | Lease::Release => query,
                    };
                    let row = match &mut tx {
                        Some(tx) => query.fetch_optional(&mut **tx).await?,
                        None => query.fetch_optional(&self.pool).await?,
                    };
                    if row.is_some() || !pids_known {
                        break row;
                    }
                    pids_known = false;
                };
                if let (Some(tx), Some((agreement, body))) = (tx, agreement) {
                    if row.is_some() {
                        let mut tx = tx;
                        Self::insert_agreement(&mut tx, agreement, &body).await?;
                        tx.commit().await?;
                        self.agreements.remember(&agreement.id, body);
                    }
                }
                let Some(row) = row else {
                    return Err(StoreError::Conflict(negotiation.id.clone()));
                };
                let holder: Option<String> = row.try_get("lease_owner")?;
                let taken = matches!(lease, Lease::Take { owner, .. } if holder.as_deref() == Some(owner));
                negotiation.version += 1;
                Ok(taken)
            }

            async fn insert_negotiation_row(&self, negotiation: &mut Negotiation, claim: Option<Claim<'_>>) -> Result<()> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql(
                    "INSERT INTO negotiations (id, role, provider_pid, consumer_pid, counter_party_id, state, pending, not_before, version, created_at, updated_at, body, lease_owner, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12, $13)",
                );
                let query = Self::query(&sql)
                    .bind(&negotiation.id)
                    .bind(negotiation.role.as_str())
                    .bind(&negotiation.provider_pid)
                    .bind(&negotiation.consumer_pid)
                    .bind(&negotiation.counter_party_id)
                    .bind(negotiation.state.as_str())
                    .bind(i64::from(negotiation.pending.is_some()))
                    .bind(negotiation.pending.as_ref().map_or(0, |p| p.not_before_ms))
                    .bind(negotiation.created_at_ms)
                    .bind(negotiation.updated_at_ms)
                    .bind(encode(negotiation))
                    .bind(claim.map(|c| c.owner))
                    .bind(claim.map(|c| c.now_ms + c.lease_ms));
                let duplicate = |e: <$store as StorePool>::Error| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate(negotiation.id.clone())
                    } else {
                        e.into()
                    }
                };
                // A provider that agrees at once inserts the negotiation with its agreement.
                match &negotiation.agreement {
                    Some(agreement) => {
                        let body = encode(agreement);
                        let mut tx = self.pool.begin().await?;
                        query.execute(&mut *tx).await.map_err(duplicate)?;
                        Self::insert_agreement(&mut tx, agreement, &body).await?;
                        tx.commit().await?;
                        self.agreements.remember(&agreement.id, body);
                    }
                    None => {
                        query.execute(&self.pool).await.map_err(duplicate)?;
                    }
                }
                negotiation.version = 1;
                Ok(())
            }

            async fn insert_agreement(
                tx: &mut <$store as StorePool>::Tx<'_>,
                agreement: &Agreement,
                body: &str,
            ) -> Result<()> {
                let sql = Self::sql(
                    "INSERT INTO agreements (id, negotiation_id, dataset_id, provider_id, consumer_id, signed_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET body = excluded.body WHERE agreements.body <> excluded.body",
                );
                Self::query(&sql)
                    .bind(&agreement.id)
                    .bind(&agreement.negotiation_id)
                    .bind(&agreement.dataset_id)
                    .bind(&agreement.provider_id)
                    .bind(&agreement.consumer_id)
                    .bind(agreement.signed_at_ms)
                    .bind(body)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn write_transfer(&self, transfer: &mut Transfer, lease: Lease<'_>) -> Result<bool> {
                let _writer = self.lock_writes().await;
                let body = encode(transfer);
                // As for negotiations: the indexed ids are rewritten only when they changed.
                let mut ids_known = true;
                let row = loop {
                    let sql = Self::sql(process_update_sql(
                        "transfers",
                        &["provider_pid", "consumer_pid", "token_sha256"],
                        ids_known.then_some(Self::SAME_AS),
                        lease,
                    ));
                    let query = Self::query(&sql)
                        .bind(&transfer.id)
                        .bind(&transfer.provider_pid)
                        .bind(&transfer.consumer_pid)
                        .bind(&transfer.token_sha256)
                        .bind(transfer.state.as_str())
                        .bind(i64::from(transfer.pending.is_some()))
                        .bind(transfer.pending.as_ref().map_or(0, |p| p.not_before_ms))
                        .bind(transfer.updated_at_ms)
                        .bind(&body)
                        .bind(transfer.version);
                    let query = match lease {
                        Lease::Take { owner, now_ms, until_ms } => query.bind(now_ms).bind(owner).bind(until_ms),
                        Lease::Keep | Lease::Release => query,
                    };
                    let row = query.fetch_optional(&self.pool).await?;
                    if row.is_some() || !ids_known {
                        break row;
                    }
                    ids_known = false;
                };
                let Some(row) = row else {
                    return Err(StoreError::Conflict(transfer.id.clone()));
                };
                let holder: Option<String> = row.try_get("lease_owner")?;
                let taken = matches!(lease, Lease::Take { owner, .. } if holder.as_deref() == Some(owner));
                transfer.version += 1;
                Ok(taken)
            }

            fn negotiation_row(row: &<$store as StorePool>::Row) -> Result<Negotiation> {
                let id: &str = row.try_get("id")?;
                let mut negotiation: Negotiation = decode(id, row.try_get("body")?)?;
                negotiation.version = row.try_get("version")?;
                Ok(negotiation)
            }

            fn transfer_row(row: &<$store as StorePool>::Row) -> Result<Transfer> {
                let id: &str = row.try_get("id")?;
                let mut transfer: Transfer = decode(id, row.try_get("body")?)?;
                transfer.version = row.try_get("version")?;
                Ok(transfer)
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn insert_asset(&self, asset: &Asset) -> Result<()> {
                self.insert_asset_row(asset).await
            }

            async fn replace_asset(&self, asset: &Asset) -> Result<bool> {
                self.replace_asset_row(asset).await
            }

            async fn asset(&self, id: &str) -> Result<Option<Asset>> {
                self.asset_row(id).await
            }

            async fn assets(&self, page: Page) -> Result<Vec<Asset>> {
                self.asset_rows(page).await
            }

            async fn delete_asset(&self, id: &str) -> Result<bool> {
                self.delete_asset_chunks(id).await?;
                self.delete_asset_row(id).await
            }

            async fn put_asset_chunk(&self, asset_id: &str, seq: u32, bytes: &[u8]) -> Result<()> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql(
                    "INSERT INTO asset_chunks (asset_id, seq, bytes) VALUES ($1, $2, $3) ON CONFLICT (asset_id, seq) DO UPDATE SET bytes = excluded.bytes",
                );
                Self::query(&sql)
                    .bind(asset_id)
                    .bind(i64::from(seq))
                    .bind(bytes)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn asset_chunk(&self, asset_id: &str, seq: u32) -> Result<Option<Vec<u8>>> {
                let sql = Self::sql("SELECT bytes FROM asset_chunks WHERE asset_id = $1 AND seq = $2");
                let row = Self::query(&sql)
                    .bind(asset_id)
                    .bind(i64::from(seq))
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|row| row.try_get("bytes")).transpose()?)
            }

            async fn delete_asset_chunks(&self, asset_id: &str) -> Result<()> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql("DELETE FROM asset_chunks WHERE asset_id = $1");
                Self::query(&sql).bind(asset_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_policy_definition(&self, policy: &PolicyDefinition) -> Result<()> {
                self.insert_policy_row(policy).await
            }

            async fn replace_policy_definition(&self, policy: &PolicyDefinition) -> Result<bool> {
                self.replace_policy_row(policy).await
            }

            async fn policy_definition(&self, id: &str) -> Result<Option<PolicyDefinition>> {
                self.policy_row(id).await
            }

            async fn policy_definitions(&self, page: Page) -> Result<Vec<PolicyDefinition>> {
                self.policy_rows(page).await
            }

            async fn delete_policy_definition(&self, id: &str) -> Result<bool> {
                self.delete_policy_row(id).await
            }

            async fn insert_contract_definition(&self, definition: &ContractDefinition) -> Result<()> {
                self.insert_contract_row(definition).await
            }

            async fn replace_contract_definition(&self, definition: &ContractDefinition) -> Result<bool> {
                self.replace_contract_row(definition).await
            }

            async fn contract_definition(&self, id: &str) -> Result<Option<ContractDefinition>> {
                self.contract_row(id).await
            }

            async fn contract_definitions(&self, page: Page) -> Result<Vec<ContractDefinition>> {
                self.contract_rows(page).await
            }

            async fn delete_contract_definition(&self, id: &str) -> Result<bool> {
                self.delete_contract_row(id).await
            }

            async fn insert_negotiation(&self, negotiation: &mut Negotiation) -> Result<()> {
                self.insert_negotiation_row(negotiation, None).await
            }

            async fn insert_negotiation_leased(&self, negotiation: &mut Negotiation, claim: Claim<'_>) -> Result<()> {
                self.insert_negotiation_row(negotiation, Some(claim)).await
            }



            async fn negotiation(&self, id: &str) -> Result<Option<Negotiation>> {
                let sql = Self::sql("SELECT id, version, body FROM negotiations WHERE id = $1");
                let row = Self::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::negotiation_row).transpose()
            }

            async fn negotiation_by_pid(
                &self,
                role: Role,
                which: Pid,
                pid: &str,
            ) -> Result<Option<Negotiation>> {
                let sql = Self::sql(negotiation_by_pid_sql(which, role));
                let row = Self::query(&sql)
                    .bind(pid)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::negotiation_row).transpose()
            }

            async fn negotiations(&self, page: Page) -> Result<Vec<Negotiation>> {
                let sql = Self::sql(
                    "SELECT id, version, body FROM negotiations ORDER BY created_at, id LIMIT $1 OFFSET $2",
                );
                let rows = Self::query(&sql)
                    .bind(limit(page))
                    .bind(i64::from(page.offset))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::negotiation_row).collect()
            }

            async fn update_negotiation(&self, negotiation: &mut Negotiation) -> Result<()> {
                self.write_negotiation(negotiation, Lease::Keep).await.map(drop)
            }

            async fn update_negotiation_and_lease(&self, negotiation: &mut Negotiation, claim: Claim<'_>) -> Result<bool> {
                let lease = Lease::Take { owner: claim.owner, now_ms: claim.now_ms, until_ms: claim.now_ms + claim.lease_ms };
                self.write_negotiation(negotiation, lease).await
            }

            async fn finish_negotiation_work(&self, negotiation: &mut Negotiation) -> Result<()> {
                self.write_negotiation(negotiation, Lease::Release).await.map(drop)
            }

            async fn claim_negotiations(&self, claim: Claim<'_>) -> Result<Vec<Negotiation>> {
                let _writer = self.lock_writes().await;
                let sql = format!(
                    "UPDATE negotiations SET lease_owner = {p1}, lease_until = {p2} WHERE id IN (SELECT id FROM negotiations WHERE pending = 1 AND not_before <= {p3} AND (lease_until IS NULL OR lease_until < {p3}) ORDER BY not_before LIMIT {p4}{lock}) RETURNING id, version, body",
                    p1 = Self::sql("$1"),
                    p2 = Self::sql("$2"),
                    p3 = Self::sql("$3"),
                    p4 = Self::sql("$4"),
                    lock = Self::LOCK_CLAUSE,
                );
                let rows = Self::query(&sql)
                    .bind(claim.owner)
                    .bind(claim.now_ms + claim.lease_ms)
                    .bind(claim.now_ms)
                    .bind(i64::from(claim.limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::negotiation_row).collect()
            }

            async fn agreement(&self, id: &str) -> Result<Option<Agreement>> {
                let sql = Self::sql("SELECT body FROM agreements WHERE id = $1");
                let row = Self::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.map(|row| decode(id, row.try_get::<&str, _>("body")?))
                    .transpose()
            }

            async fn agreements(&self, page: Page) -> Result<Vec<Agreement>> {
                let sql = Self::sql(
                    "SELECT id, body FROM agreements ORDER BY signed_at, id LIMIT $1 OFFSET $2",
                );
                let rows = Self::query(&sql)
                    .bind(limit(page))
                    .bind(i64::from(page.offset))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| decode(row.try_get("id")?, row.try_get("body")?))
                    .collect()
            }

            async fn insert_transfer(&self, transfer: &mut Transfer) -> Result<TransferInsert> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql(
                    "INSERT INTO transfers (id, role, provider_pid, consumer_pid, counter_party_id, agreement_id, token_sha256, state, pending, not_before, version, created_at, updated_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13) ON CONFLICT DO NOTHING",
                );
                let done = Self::query(&sql)
                    .bind(&transfer.id)
                    .bind(transfer.role.as_str())
                    .bind(&transfer.provider_pid)
                    .bind(&transfer.consumer_pid)
                    .bind(&transfer.counter_party_id)
                    .bind(&transfer.agreement_id)
                    .bind(&transfer.token_sha256)
                    .bind(transfer.state.as_str())
                    .bind(i64::from(transfer.pending.is_some()))
                    .bind(transfer.pending.as_ref().map_or(0, |p| p.not_before_ms))
                    .bind(transfer.created_at_ms)
                    .bind(transfer.updated_at_ms)
                    .bind(encode(transfer))
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 1 {
                    transfer.version = 1;
                    return Ok(TransferInsert::Inserted);
                }
                if transfer.role == Role::Provider {
                    if let Some(consumer_pid) = &transfer.consumer_pid {
                        let sql = Self::sql(
                            "SELECT id, version, body FROM transfers WHERE role = 'provider' AND counter_party_id = $1 AND consumer_pid = $2",
                        );
                        let row = Self::query(&sql)
                            .bind(&transfer.counter_party_id)
                            .bind(consumer_pid)
                            .fetch_optional(&self.pool)
                            .await?;
                        if let Some(row) = row {
                            return Ok(TransferInsert::Existing(Box::new(Self::transfer_row(&row)?)));
                        }
                    }
                }
                Err(StoreError::Duplicate(transfer.id.clone()))
            }

            async fn transfer(&self, id: &str) -> Result<Option<Transfer>> {
                let sql = Self::sql("SELECT id, version, body FROM transfers WHERE id = $1");
                let row = Self::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::transfer_row).transpose()
            }

            async fn transfer_by_pid(
                &self,
                role: Role,
                which: Pid,
                pid: &str,
            ) -> Result<Option<Transfer>> {
                let sql = Self::sql(transfer_by_pid_sql(which, role));
                let row = Self::query(&sql)
                    .bind(pid)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::transfer_row).transpose()
            }

            async fn transfer_by_token(&self, token_sha256: &str) -> Result<Option<Transfer>> {
                let sql = Self::sql("SELECT id, version, body FROM transfers WHERE token_sha256 = $1");
                let row = Self::query(&sql)
                    .bind(token_sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::transfer_row).transpose()
            }

            async fn transfers(&self, page: Page) -> Result<Vec<Transfer>> {
                let sql = Self::sql(
                    "SELECT id, version, body FROM transfers ORDER BY created_at, id LIMIT $1 OFFSET $2",
                );
                let rows = Self::query(&sql)
                    .bind(limit(page))
                    .bind(i64::from(page.offset))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::transfer_row).collect()
            }

            async fn transfers_under_agreement(&self, agreement_id: &str) -> Result<Vec<Transfer>> {
                let sql = Self::sql(
                    "SELECT id, version, body FROM transfers WHERE agreement_id = $1 ORDER BY created_at, id",
                );
                let rows = Self::query(&sql)
                    .bind(agreement_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::transfer_row).collect()
            }

            async fn update_transfer(&self, transfer: &mut Transfer) -> Result<()> {
                self.write_transfer(transfer, Lease::Keep).await.map(drop)
            }

            async fn update_transfer_and_lease(&self, transfer: &mut Transfer, claim: Claim<'_>) -> Result<bool> {
                let lease = Lease::Take { owner: claim.owner, now_ms: claim.now_ms, until_ms: claim.now_ms + claim.lease_ms };
                self.write_transfer(transfer, lease).await
            }

            async fn finish_transfer_work(&self, transfer: &mut Transfer) -> Result<()> {
                self.write_transfer(transfer, Lease::Release).await.map(drop)
            }

            async fn append_ledger(
                &self,
                first: u64,
                rows: &[LedgerRow],
                checkpoint: Option<&str>,
            ) -> Result<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                let _writer = self.lock_writes().await;
                let mut transaction = self.pool.begin().await?;
                // Many rows per statement: one round trip per chunk instead of per row keeps
                // the write lock short, which is what other writers wait on.
                for (chunk_number, chunk) in rows.chunks(LEDGER_ROWS_PER_STATEMENT).enumerate() {
                    let chunk_first = first + (chunk_number * LEDGER_ROWS_PER_STATEMENT) as u64;
                    let values: Vec<String> = (0..chunk.len())
                        .map(|i| {
                            format!(
                                "({}, {}, {}, {})",
                                Self::placeholder(4 * i + 1),
                                Self::placeholder(4 * i + 2),
                                Self::placeholder(4 * i + 3),
                                Self::placeholder(4 * i + 4)
                            )
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO ledger (idx, at, entry, leaf_hash) VALUES {}",
                        values.join(", ")
                    );
                    let mut query = Self::query(&sql);
                    for (offset, row) in chunk.iter().enumerate() {
                        query = query
                            .bind((chunk_first + offset as u64) as i64)
                            .bind(row.at_ms)
                            .bind(&row.entry)
                            .bind(&row.leaf_hash);
                    }
                    query.execute(&mut *transaction).await.map_err(|e| {
                        if is_unique_violation(&e) {
                            StoreError::Duplicate(format!("ledger entries from {chunk_first}"))
                        } else {
                            e.into()
                        }
                    })?;
                }
                if let Some(note) = checkpoint {
                    let sql = Self::sql("INSERT INTO ledger_checkpoints (size, at, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING");
                    Self::query(&sql)
                        .bind((first + rows.len() as u64) as i64)
                        .bind(rows[rows.len() - 1].at_ms)
                        .bind(note)
                        .execute(&mut *transaction)
                        .await?;
                }
                transaction.commit().await?;
                Ok(())
            }

            async fn ledger_rows(&self, from: u64, limit: u32) -> Result<Vec<(u64, LedgerRow)>> {
                let sql = Self::sql("SELECT idx, at, entry, leaf_hash FROM ledger WHERE idx >= $1 ORDER BY idx LIMIT $2");
                let rows = Self::query(&sql)
                    .bind(from as i64)
                    .bind(i64::from(limit.min(i32::MAX as u32)))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let index: i64 = row.try_get("idx")?;
                        Ok((
                            index as u64,
                            LedgerRow {
                                at_ms: row.try_get("at")?,
                                entry: row.try_get("entry")?,
                                leaf_hash: row.try_get("leaf_hash")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn put_ledger_checkpoint(&self, size: u64, at_ms: i64, note: &str) -> Result<()> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql("INSERT INTO ledger_checkpoints (size, at, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING");
                Self::query(&sql)
                    .bind(size as i64)
                    .bind(at_ms)
                    .bind(note)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn latest_ledger_checkpoint(&self) -> Result<Option<(u64, String)>> {
                let sql = Self::sql("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1");
                let row = Self::query(&sql).fetch_optional(&self.pool).await?;
                row.map(|row| {
                    let size: i64 = row.try_get("size")?;
                    Ok((size as u64, row.try_get("note")?))
                })
                .transpose()
            }

            async fn claim_transfers(&self, claim: Claim<'_>) -> Result<Vec<Transfer>> {
                let _writer = self.lock_writes().await;
                let sql = format!(
                    "UPDATE transfers SET lease_owner = {p1}, lease_until = {p2} WHERE id IN (SELECT id FROM transfers WHERE pending = 1 AND not_before <= {p3} AND (lease_until IS NULL OR lease_until < {p3}) ORDER BY not_before LIMIT {p4}{lock}) RETURNING id, version, body",
                    p1 = Self::sql("$1"),
                    p2 = Self::sql("$2"),
                    p3 = Self::sql("$3"),
                    p4 = Self::sql("$4"),
                    lock = Self::LOCK_CLAUSE,
                );
                let rows = Self::query(&sql)
                    .bind(claim.owner)
                    .bind(claim.now_ms + claim.lease_ms)
                    .bind(claim.now_ms)
                    .bind(i64::from(claim.limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::transfer_row).collect()
            }
        }
    };
}

/// The statement that finds a process of one role in `negotiations` by one of its process ids.
///
/// The role is written into the statement, not bound: a bound value compared with the
/// partial unique index's `role = 'provider'` makes SQLite prepare the statement anew on
/// every run (4 % of the connector's CPU under `tsunagu bench dsp`).
fn negotiation_by_pid_sql(which: Pid, role: Role) -> &'static str {
    match (which, role) {
        (Pid::Provider, Role::Provider) => {
            "SELECT id, version, body FROM negotiations WHERE provider_pid = $1 AND role = 'provider'"
        }
        (Pid::Provider, Role::Consumer) => {
            "SELECT id, version, body FROM negotiations WHERE provider_pid = $1 AND role = 'consumer'"
        }
        (Pid::Consumer, Role::Provider) => {
            "SELECT id, version, body FROM negotiations WHERE consumer_pid = $1 AND role = 'provider'"
        }
        (Pid::Consumer, Role::Consumer) => {
            "SELECT id, version, body FROM negotiations WHERE consumer_pid = $1 AND role = 'consumer'"
        }
    }
}

/// The statement that finds a process of one role in `transfers` by one of its process ids.
fn transfer_by_pid_sql(which: Pid, role: Role) -> &'static str {
    match (which, role) {
        (Pid::Provider, Role::Provider) => {
            "SELECT id, version, body FROM transfers WHERE provider_pid = $1 AND role = 'provider'"
        }
        (Pid::Provider, Role::Consumer) => {
            "SELECT id, version, body FROM transfers WHERE provider_pid = $1 AND role = 'consumer'"
        }
        (Pid::Consumer, Role::Provider) => {
            "SELECT id, version, body FROM transfers WHERE consumer_pid = $1 AND role = 'provider'"
        }
        (Pid::Consumer, Role::Consumer) => {
            "SELECT id, version, body FROM transfers WHERE consumer_pid = $1 AND role = 'consumer'"
        }
    }
}

/// The statement that writes a negotiation or transfer row: `$1` is its id, then come the
/// indexed ids (`ids`), then state, pending, not_before, updated_at, body and the version read,
/// then for a lease taken its time, owner and expiry.
///
/// With `same_as` (the backend's NULL-safe equality) the ids are compared instead of set, so
/// that the write leaves their indexes alone: SQLite rewrites the entries of every index whose
/// column is named in `SET`, changed or not. The caller writes again without it when the ids
/// differ. State and due time are always set; `*_due` indexes only rows that owe a message.
fn process_update_sql(
    table: &str,
    ids: &[&str],
    same_as: Option<&str>,
    lease: Lease<'_>,
) -> String {
    let mut set = String::new();
    let mut matches = String::new();
    let mut n = 2;
    for id in ids {
        match same_as {
            Some(same_as) => matches.push_str(&format!(" AND {id}{same_as}${n}")),
            None => set.push_str(&format!("{id} = ${n}, ")),
        }
        n += 1;
    }
    let (state, pending, not_before, updated_at, body, version) =
        (n, n + 1, n + 2, n + 3, n + 4, n + 5);
    let lease = match lease {
        Lease::Keep => String::new(),
        Lease::Release => ", lease_owner = NULL, lease_until = NULL".to_owned(),
        // Free, expired, or already ours (a holder that goes on to its next message).
        Lease::Take { .. } => {
            let (now, owner, until) = (n + 6, n + 7, n + 8);
            let free =
                format!("lease_until IS NULL OR lease_until < ${now} OR lease_owner = ${owner}");
            format!(
                ", lease_owner = CASE WHEN {free} THEN ${owner} ELSE lease_owner END, lease_until = CASE WHEN {free} THEN ${until} ELSE lease_until END"
            )
        }
    };
    format!(
        "UPDATE {table} SET {set}state = ${state}, pending = ${pending}, not_before = ${not_before}, updated_at = ${updated_at}, body = ${body}, version = version + 1{lease} WHERE id = $1 AND version = ${version}{matches} RETURNING lease_owner"
    )
}

/// What a write does to the row's lease.
#[derive(Debug, Clone, Copy)]
enum Lease<'a> {
    /// Leave it as it is (a handler writing a row a worker may hold).
    Keep,
    /// Drop it (the holder has finished).
    Release,
    /// Take it for `owner` if nobody else holds a live one; renewed when `owner` holds it.
    Take {
        owner: &'a str,
        now_ms: i64,
        until_ms: i64,
    },
}

/// Names the row type of each backend so the shared macro body can refer to it.
trait StorePool {
    type Row;
    type Tx<'c>;
    type Error;
}

impl StorePool for SqliteStore {
    type Row = lite::Row;
    type Error = lite::SqliteError;
    type Tx<'c> = lite::Transaction;
}

impl StorePool for PostgresStore {
    type Row = sqlx::postgres::PgRow;
    type Error = sqlx::Error;
    type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;
}

store_impl!(SqliteStore, "sqlite");
store_impl!(PostgresStore, "postgres");

macro_rules! documents_impl {
    ($store:ty) => {
        impl $store {
            fn document_row(row: &<$store as StorePool>::Row) -> Result<Document> {
                let id: String = row.try_get("id")?;
                let body: &str = row.try_get("body")?;
                Ok(Document {
                    collection: row.try_get("collection")?,
                    lookup: row.try_get("lookup")?,
                    version: row.try_get("version")?,
                    created_at_ms: row.try_get("created_at")?,
                    updated_at_ms: row.try_get("updated_at")?,
                    body: decode(&id, body)?,
                    id,
                })
            }
        }

        #[async_trait]
        impl DocumentStore for $store {
            async fn insert_document(
                &self,
                collection: &str,
                id: &str,
                lookup: Option<&str>,
                body: &serde_json::Value,
                now_ms: i64,
            ) -> Result<()> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql(
                    "INSERT INTO documents (collection, id, lookup, version, created_at, updated_at, body) VALUES ($1, $2, $3, 1, $4, $4, $5)",
                );
                Self::query(&sql)
                    .bind(collection)
                    .bind(id)
                    .bind(lookup)
                    .bind(now_ms)
                    .bind(encode(body))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            StoreError::Duplicate(format!("{collection}/{id}"))
                        } else {
                            e.into()
                        }
                    })?;
                Ok(())
            }

            async fn document(&self, collection: &str, id: &str) -> Result<Option<Document>> {
                let sql = Self::sql("SELECT * FROM documents WHERE collection = $1 AND id = $2");
                let row = Self::query(&sql)
                    .bind(collection)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::document_row).transpose()
            }

            async fn documents_by_lookup(
                &self,
                collection: &str,
                lookup: &str,
            ) -> Result<Vec<Document>> {
                let sql = Self::sql(
                    "SELECT * FROM documents WHERE collection = $1 AND lookup = $2 ORDER BY created_at, id",
                );
                let rows = Self::query(&sql)
                    .bind(collection)
                    .bind(lookup)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::document_row).collect()
            }

            async fn documents(&self, collection: &str, page: Page) -> Result<Vec<Document>> {
                let sql = Self::sql(
                    "SELECT * FROM documents WHERE collection = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3",
                );
                let rows = Self::query(&sql)
                    .bind(collection)
                    .bind(limit(page))
                    .bind(i64::from(page.offset))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::document_row).collect()
            }

            async fn update_document(
                &self,
                collection: &str,
                id: &str,
                expected_version: i64,
                lookup: Option<&str>,
                body: &serde_json::Value,
                now_ms: i64,
            ) -> Result<i64> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql(
                    "UPDATE documents SET lookup = $3, body = $4, updated_at = $5, version = version + 1 WHERE collection = $1 AND id = $2 AND version = $6",
                );
                let done = Self::query(&sql)
                    .bind(collection)
                    .bind(id)
                    .bind(lookup)
                    .bind(encode(body))
                    .bind(now_ms)
                    .bind(expected_version)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 1 {
                    Ok(expected_version + 1)
                } else {
                    Err(StoreError::Conflict(format!("{collection}/{id}")))
                }
            }

            async fn delete_document(&self, collection: &str, id: &str) -> Result<bool> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql("DELETE FROM documents WHERE collection = $1 AND id = $2");
                let done = Self::query(&sql)
                    .bind(collection)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn append_journal(
                &self,
                stream: &str,
                body: &serde_json::Value,
                now_ms: i64,
            ) -> Result<i64> {
                let _writer = self.lock_writes().await;
                let sql = Self::sql(
                    "INSERT INTO journal (stream, at, body) VALUES ($1, $2, $3) RETURNING seq",
                );
                let row = Self::query(&sql)
                    .bind(stream)
                    .bind(now_ms)
                    .bind(encode(body))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("seq")?)
            }

            async fn journal(
                &self,
                stream: &str,
                after: i64,
                limit: u32,
            ) -> Result<Vec<JournalEntry>> {
                let sql = Self::sql(
                    "SELECT seq, at, body FROM journal WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                );
                let rows = Self::query(&sql)
                    .bind(stream)
                    .bind(after)
                    .bind(i64::from(limit.min(i32::MAX as u32)))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let seq: i64 = row.try_get("seq")?;
                        Ok(JournalEntry {
                            seq,
                            at_ms: row.try_get("at")?,
                            body: decode(&seq.to_string(), row.try_get("body")?)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

documents_impl!(SqliteStore);
documents_impl!(PostgresStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    /// Looking a negotiation up by process id must run its prepared statement again, not
    /// prepare it anew each time (which a bound role compared with a partial index's
    /// `role = 'provider'` made SQLite do).
    #[tokio::test]
    async fn lookups_by_process_id_keep_their_prepared_statement() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("store.sqlite"))
            .await
            .unwrap();
        let mut negotiation = Negotiation::start_as_consumer(tsunagu_core::NewNegotiation {
            id: "n-1".into(),
            counter_party_id: "did:web:provider.example".into(),
            counter_party_address: "http://127.0.0.1:9/dsp".into(),
            dataset_id: "asset-1".into(),
            offer: serde_json::json!({"@id": "offer-1", "@type": "Offer", "target": "asset-1"}),
            now_ms: 1,
        });
        store.insert_negotiation(&mut negotiation).await.unwrap();
        let pid = negotiation.consumer_pid.clone().unwrap();
        for _ in 0..3 {
            let found = store
                .negotiation_by_pid(Role::Consumer, crate::Pid::Consumer, &pid)
                .await
                .unwrap();
            assert_eq!(found.map(|n| n.id).as_deref(), Some("n-1"));
        }
        let reprepared = store
            .pool
            .statement_status(
                &SqliteStore::sql(negotiation_by_pid_sql(crate::Pid::Consumer, Role::Consumer)),
                rusqlite::StatementStatus::RePrepare,
            )
            .await
            .unwrap();
        assert_eq!(reprepared, 0);
    }
}
