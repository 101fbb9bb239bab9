//! SQLite run in the caller's thread, behind the few calls of sqlx's query API that the
//! shared store body uses (`query(..).bind(..).execute/fetch_*`, `begin`/`commit`, `try_get`).
//!
//! Why not sqlx's SQLite driver: it gives every connection a thread of its own and ships each
//! statement there and its answer back, two thread switches per statement. A negotiation runs
//! about thirty statements, each a few microseconds of SQLite work, so the switches cost more
//! than the work (measured: the driver's threads took 45 % of the connector's CPU under
//! `tsunagu bench dsp`). Here one connection per store runs statements directly on the task
//! that asks; SQLite's own work is short enough not to hold up the runtime. A single
//! connection also keeps its page cache: with several, every commit by one empties the caches
//! of the others.
//!
//! The connection sits behind an async mutex, which queues the tasks that want it instead of
//! blocking a runtime thread. (A blocking mutex measured a third slower: the second runtime
//! thread sat waiting while the first ran a statement.) Nothing awaits while holding it but
//! the `Checkpointer`, briefly. A
//! statement locks, runs and unlocks in one go; a transaction holds the lock from `begin` to
//! `commit`, with only these calls, none ever pending, in between.
//!
//! One rule follows for callers of the store, as for any fair pool: a future waiting for the
//! store must keep being polled. The mutex hands itself to the first waiter in its queue,
//! polled or not, so a store call that its task started and then stopped polling (one of two
//! streams polled in turn, where the other is polled first) holds everyone up.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::Value;

/// An error of the embedded SQLite database.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("column {column}: {problem}")]
    Column {
        column: String,
        problem: &'static str,
    },
    #[error("database_url: an in-memory SQLite database cannot be used; name a file")]
    InMemory,
}

type Result<T> = std::result::Result<T, SqliteError>;

/// Statements kept prepared: every statement the store runs, with room to spare.
const STATEMENT_CACHE: usize = 256;

/// Opens a connection with the settings every tsunagu SQLite connection has.
pub(super) fn connect(path: &Path) -> Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    // Another process may hold the write lock (a second replica on the same file, or a tool
    // reading it); wait for it rather than fail.
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.execute_batch(
        // NORMAL in WAL mode loses no committed transaction on a process crash, only on
        // power loss, and makes commits several times cheaper than FULL. Checkpoints run in
        // the background (see `Checkpointer`), not inside whichever commit happens to cross
        // the threshold: a checkpoint syncs the database file, and doing that while holding
        // the write lock stalls every writer behind it. A log that grew in a burst is cut back
        // to 64 MiB when it starts over. Memory-mapped reads make a page the
        // cache lacks a page-table walk instead of a read system call.
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA mmap_size = 268435456;",
    )?;
    Ok(connection)
}

/// The store's one connection.
#[derive(Clone)]
pub(super) struct Pool(Arc<tokio::sync::Mutex<Connection>>);

impl Pool {
    pub(super) fn new(connection: rusqlite::Connection) -> Pool {
        Pool(Arc::new(tokio::sync::Mutex::new(Connection(connection))))
    }

    /// A counter of the cached prepared statement for `sql`.
    #[cfg(test)]
    pub(super) async fn statement_status(
        &self,
        sql: &str,
        status: rusqlite::StatementStatus,
    ) -> Result<i32> {
        let connection = self.0.lock().await;
        let statement = connection.0.prepare_cached(sql)?;
        Ok(statement.get_status(status))
    }

    /// Starts a write transaction. It takes SQLite's write lock at once (`IMMEDIATE`), so
    /// that it cannot fail half-way for want of it, and rolls back when dropped uncommitted.
    pub(super) async fn begin(&self) -> Result<Transaction> {
        let guard = self.0.clone().lock_owned().await;
        run_cached(&guard.0, "BEGIN IMMEDIATE")?;
        Ok(Transaction { guard, open: true })
    }
}

/// Folds the write-ahead log back into the database file four times a second, on a
/// connection and a thread of its own because a checkpoint syncs the file. Stops when the
/// last clone of the store is dropped.
///
/// A log starts over at its beginning only when a write begins with everything in it copied.
/// Under a steady stream of writes that never happens on its own (frames arrive while a
/// checkpoint copies), and the log grew without end in `tsunagu bench dsp` (1 GB in 20 s),
/// each new frame costing the file system a fresh block. So a checkpoint of a log that
/// changed is followed by a last one with the store held still: it copies only what arrived
/// meanwhile (a few milliseconds' worth, after up to three catch-up checkpoints that hold
/// nothing up), and the next write starts the log over. The log stayed under 30 MB.
pub(super) struct Checkpointer(tokio::task::JoinHandle<()>);

/// Catch-up checkpoints go on while each finds more new frames than this (three at most).
const CATCH_UP: i64 = 128;

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    pub(super) fn start(path: &Path, pool: Pool) -> Result<Checkpointer> {
        let connection = Arc::new(std::sync::Mutex::new(connect(path)?));
        Ok(Checkpointer(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The log's length after the last checkpoint made with the store held still.
            let mut settled = 0;
            loop {
                tick.tick().await;
                let Some(mut log) = Self::passive(&connection).await else {
                    continue;
                };
                if log == 0 || log == settled {
                    continue;
                }
                // Catch up without holding anything up while writes keep adding many frames,
                // so that what is left for the still moment is small.
                for _ in 0..3 {
                    match Self::passive(&connection).await {
                        Some(now) if now - log > CATCH_UP => log = now,
                        _ => break,
                    }
                }
                // The one place that awaits with the store held: the statements it holds up
                // are queued, not blocked, and the wait is one short checkpoint.
                let _still = pool.0.lock().await;
                settled = Self::passive(&connection).await.unwrap_or(0);
            }
        })))
    }

    /// Runs a passive checkpoint (one that waits for nobody) and answers the length of the
    /// log in frames, if it ran. It copies the frames that were in the log when it began.
    async fn passive(connection: &Arc<std::sync::Mutex<rusqlite::Connection>>) -> Option<i64> {
        let connection = connection.clone();
        let done = tokio::task::spawn_blocking(move || {
            let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                row.get::<_, i64>(1)
            })
        })
        .await;
        match done {
            Ok(Ok(left)) => Some(left),
            Ok(Err(error)) => {
                tracing::warn!(%error, "SQLite checkpoint failed");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "SQLite checkpoint task failed");
                None
            }
        }
    }
}

/// Runs a statement without parameters or rows from the statement cache: `BEGIN`, `COMMIT`
/// and `ROLLBACK` run several times per negotiation, and parsing them each time showed in
/// profiles.
fn run_cached(connection: &rusqlite::Connection, sql: &str) -> Result<()> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The connection, as a transaction lends it to the statements run in it.
pub(super) struct Connection(rusqlite::Connection);

/// A write transaction holding the store's connection.
pub(super) struct Transaction {
    guard: tokio::sync::OwnedMutexGuard<Connection>,
    open: bool,
}

impl Transaction {
    pub(super) async fn commit(mut self) -> Result<()> {
        run_cached(&self.guard.0, "COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Deref for Transaction {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.guard
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.guard
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.open {
            // Nothing to do about a failed rollback: SQLite rolls back on its own when it
            // cannot, and the connection stays usable.
            let _ = run_cached(&self.guard.0, "ROLLBACK");
        }
    }
}

/// Where a statement runs: on the store's connection, waiting for it if it is busy, or in a
/// transaction that already holds it.
pub(super) enum Target<'e> {
    Pool(&'e Pool),
    Connection(&'e mut Connection),
}

impl<'e> From<&'e Pool> for Target<'e> {
    fn from(pool: &'e Pool) -> Target<'e> {
        Target::Pool(pool)
    }
}

impl<'e> From<&'e mut Connection> for Target<'e> {
    fn from(connection: &'e mut Connection) -> Target<'e> {
        Target::Connection(connection)
    }
}

impl Target<'_> {
    async fn run<R>(self, f: impl FnOnce(&rusqlite::Connection) -> Result<R>) -> Result<R> {
        match self {
            Target::Pool(pool) => f(&pool.0.lock().await.0),
            Target::Connection(connection) => f(&connection.0),
        }
    }
}

/// A statement with its bind values, as `sqlx::query` builds one.
pub(super) struct Query<'q> {
    sql: &'q str,
    values: Vec<Value>,
}

pub(super) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        values: Vec::new(),
    }
}

/// What a statement changed.
pub(super) struct Done(u64);

impl Done {
    pub(super) fn rows_affected(&self) -> u64 {
        self.0
    }
}

impl<'q> Query<'q> {
    pub(super) fn bind(mut self, value: impl Bind) -> Self {
        self.values.push(value.into_value());
        self
    }

    pub(super) async fn execute<'e>(self, target: impl Into<Target<'e>>) -> Result<Done> {
        target
            .into()
            .run(|connection| {
                let mut statement = connection.prepare_cached(self.sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(&self.values))?;
                // Stepped to the end, so that a statement with RETURNING is finished too.
                while rows.next()?.is_some() {}
                drop(rows);
                Ok(Done(connection.changes()))
            })
            .await
    }

    pub(super) async fn fetch_all<'e>(self, target: impl Into<Target<'e>>) -> Result<Vec<Row>> {
        target
            .into()
            .run(|connection| {
                let mut statement = connection.prepare_cached(self.sql)?;
                let columns: Arc<[String]> = statement
                    .column_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let mut rows = statement.query(rusqlite::params_from_iter(&self.values))?;
                let mut all = Vec::new();
                while let Some(row) = rows.next()? {
                    let values = (0..columns.len())
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    all.push(Row {
                        columns: columns.clone(),
                        values,
                    });
                }
                Ok(all)
            })
            .await
    }

    pub(super) async fn fetch_optional<'e>(
        self,
        target: impl Into<Target<'e>>,
    ) -> Result<Option<Row>> {
        Ok(self.fetch_all(target).await?.into_iter().next())
    }

    pub(super) async fn fetch_one<'e>(self, target: impl Into<Target<'e>>) -> Result<Row> {
        self.fetch_optional(target)
            .await?
            .ok_or(SqliteError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }
}

/// A value a statement can be bound to.
pub(super) trait Bind {
    fn into_value(self) -> Value;
}

impl Bind for i64 {
    fn into_value(self) -> Value {
        Value::Integer(self)
    }
}

impl Bind for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl Bind for String {
    fn into_value(self) -> Value {
        Value::Text(self)
    }
}

impl Bind for &String {
    fn into_value(self) -> Value {
        Value::Text(self.clone())
    }
}

impl Bind for &[u8] {
    fn into_value(self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl Bind for &Vec<u8> {
    fn into_value(self) -> Value {
        Value::Blob(self.clone())
    }
}

impl<T: Bind> Bind for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, Bind::into_value)
    }
}

impl Bind for &Option<String> {
    fn into_value(self) -> Value {
        self.as_ref().map_or(Value::Null, Bind::into_value)
    }
}

/// One row of a result, its values read out of SQLite.
pub(super) struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of a named column, like `sqlx::Row::try_get` (whose second type parameter,
    /// the index type, it keeps so that calls read the same for both backends).
    pub(super) fn try_get<'r, T: Decode<'r>, I: AsRef<str>>(&'r self, column: I) -> Result<T> {
        let column = column.as_ref();
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| SqliteError::Column {
                column: column.to_owned(),
                problem: "no such column in the result",
            })?;
        T::decode(&self.values[index]).ok_or_else(|| SqliteError::Column {
            column: column.to_owned(),
            problem: T::EXPECTED,
        })
    }
}

/// A Rust value a column can be read as.
pub(super) trait Decode<'r>: Sized {
    const EXPECTED: &'static str;
    fn decode(value: &'r Value) -> Option<Self>;
}

impl<'r> Decode<'r> for i64 {
    const EXPECTED: &'static str = "expected an integer";
    fn decode(value: &'r Value) -> Option<Self> {
        match value {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl<'r> Decode<'r> for &'r str {
    const EXPECTED: &'static str = "expected text";
    fn decode(value: &'r Value) -> Option<Self> {
        match value {
            Value::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }
}

impl<'r> Decode<'r> for String {
    const EXPECTED: &'static str = "expected text";
    fn decode(value: &'r Value) -> Option<Self> {
        <&str>::decode(value).map(str::to_owned)
    }
}

impl<'r> Decode<'r> for Vec<u8> {
    const EXPECTED: &'static str = "expected a blob";
    fn decode(value: &'r Value) -> Option<Self> {
        match value {
            Value::Blob(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }
}

impl<'r, T: Decode<'r>> Decode<'r> for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn decode(value: &'r Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::decode(other).map(Some),
        }
    }
}
