//! Plumbing for the replica tests: real `tsunagu serve` processes configured by `TSUNAGU_*`
//! variables, a small client for their management API, deadlines for polling, and a read-only
//! probe that tells when a company's database has no work left.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The management API key every test process runs with.
pub(crate) const API_KEY: &str = "replicas-test-management-key";

/// `TSUNAGU_LEASE_SECS` of every replica: an expired lease is retaken quickly.
pub(crate) const LEASE_SECS: u64 = 2;

/// How often state is polled.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// A deadline for polling: `tick` waits 20 ms, or panics with what was still awaited once the
/// deadline has passed.
pub(crate) struct Deadline {
    what: String,
    started: Instant,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn new(what: impl Into<String>, limit: Duration) -> Deadline {
        Deadline {
            what: what.into(),
            started: Instant::now(),
            limit,
        }
    }

    pub(crate) fn expired(&self) -> bool {
        self.started.elapsed() >= self.limit
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Sleeps one polling interval; panics with `still` once the deadline has passed.
    pub(crate) async fn tick(&self, still: impl FnOnce() -> String) {
        if self.expired() {
            panic!(
                "{} did not happen within {:?}: {}",
                self.what,
                self.limit,
                still()
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The settings of one company, shared by all its replicas.
#[derive(Clone, Debug)]
pub(crate) struct Company {
    pub(crate) participant_id: String,
    pub(crate) database_url: String,
    /// `TSUNAGU_WORKER_BATCH`, when not the default.
    pub(crate) worker_batch: Option<u32>,
}

/// One `tsunagu serve` process. It is killed when dropped.
pub(crate) struct Replica {
    pub(crate) name: String,
    pub(crate) port: u16,
    company: Company,
    dir: PathBuf,
    child: Option<Child>,
    starts: u32,
    logs: Vec<PathBuf>,
    api: Api,
}

impl Replica {
    /// Starts a replica of `company` on a fresh port and waits until it answers.
    pub(crate) async fn start(name: &str, company: &Company, dir: &Path) -> Replica {
        let mut replica = Replica {
            name: name.to_owned(),
            port: 0,
            company: company.clone(),
            dir: dir.to_owned(),
            child: None,
            starts: 0,
            logs: Vec::new(),
            api: Api::new(0),
        };
        // Another process may take the port between our pick and the child's bind: try again
        // with another one then (only a restart must keep its port).
        for attempt in 1..=3 {
            replica.port = free_port();
            replica.api = Api::new(replica.port);
            match replica.spawn_and_wait().await {
                Ok(()) => return replica,
                Err(log) if attempt < 3 && log.contains("cannot listen") => continue,
                Err(log) => panic!("replica {name} did not start:\n{log}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Starts the replica again on the same port with the same settings (a new process).
    pub(crate) async fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name);
        if let Err(log) = self.spawn_and_wait().await {
            panic!("replica {} did not restart:\n{log}", self.name);
        }
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub(crate) async fn kill(&mut self) {
        let mut child = self.child.take().expect("the replica is running");
        child.start_kill().expect("sending SIGKILL");
        let status = child.wait().await.expect("waiting for the killed replica");
        assert!(
            !status.success(),
            "{} exited normally ({status}) instead of being killed",
            self.name
        );
    }

    pub(crate) fn api(&self) -> &Api {
        &self.api
    }

    /// The DSP base URL this replica advertises (`TSUNAGU_PUBLIC_URL` is left empty).
    pub(crate) fn dsp_url(&self) -> String {
        format!("http://127.0.0.1:{}/dsp", self.port)
    }

    /// The last `lines` lines of each of this replica's logs (one per process started).
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for path in &self.logs {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            out.push_str(&format!(
                "----- {} (last {} of {} lines)\n",
                path.display(),
                lines.min(all.len()),
                all.len()
            ));
            for line in &all[all.len().saturating_sub(lines)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Spawns the process and polls its DSP version document until it answers. On failure,
    /// returns the process's log.
    async fn spawn_and_wait(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log_path = self.dir.join(format!("{}-{}.log", self.name, self.starts));
        let log = std::fs::File::create(&log_path).expect("creating a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tsunagu"));
        command.arg("serve");
        // Nothing from the test's own environment may configure the replica.
        for key in [
            "PARTICIPANT_ID",
            "BIND",
            "MANAGEMENT_BIND",
            "PUBLIC_URL",
            "DATABASE_URL",
            "DATABASE_CONNECTIONS",
            "MANAGEMENT_API_KEY",
            "DEV_INSECURE_IDENTITY",
            "DEV_ATTRIBUTES",
            "TOKEN_LIFETIME_SECS",
            "LEASE_SECS",
            "WORKER_BATCH",
            "LOG",
        ] {
            command.env_remove(format!("TSUNAGU_{key}"));
        }
        command
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .env("TSUNAGU_PARTICIPANT_ID", &self.company.participant_id)
            .env("TSUNAGU_DATABASE_URL", &self.company.database_url)
            .env("TSUNAGU_BIND", format!("127.0.0.1:{}", self.port))
            .env("TSUNAGU_PUBLIC_URL", "")
            .env("TSUNAGU_MANAGEMENT_API_KEY", API_KEY)
            .env("TSUNAGU_DEV_INSECURE_IDENTITY", "true")
            .env("TSUNAGU_LEASE_SECS", LEASE_SECS.to_string())
            .env("TSUNAGU_DATABASE_CONNECTIONS", "8")
            .env("TSUNAGU_LOG", "info")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("duplicating the log file"))
            .stderr(log)
            .kill_on_drop(true);
        if let Some(batch) = self.company.worker_batch {
            command.env("TSUNAGU_WORKER_BATCH", batch.to_string());
        }
        let mut child = command.spawn().expect("spawning tsunagu serve");
        self.logs.push(log_path.clone());
        let deadline = Deadline::new(format!("start of {}", self.name), Duration::from_secs(60));
        let probe = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/.well-known/dspace-version", self.port);
        loop {
            if let Some(status) = child.try_wait().expect("polling the child") {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!(
                    "{} exited with {status}; its log:\n{log}",
                    self.name
                ));
            }
            if let Ok(response) = probe.get(&url).send().await
                && response.status().is_success()
            {
                self.child = Some(child);
                return Ok(());
            }
            deadline
                .tick(|| std::fs::read_to_string(&log_path).unwrap_or_default())
                .await;
        }
    }
}

impl Drop for Replica {
    /// A failing test shows what each of its processes logged last.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "replica {} on port {}:\n{}",
                self.name,
                self.port,
                self.log_tail(40)
            );
        }
    }
}

/// What one management API call answered.
pub(crate) struct Answer {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) body: bytes::Bytes,
    pub(crate) what: String,
}

impl Answer {
    /// The JSON body of a successful answer; panics with the call and the answer otherwise.
    pub(crate) fn ok_json(&self) -> Value {
        assert!(
            self.status.is_success(),
            "{} answered {}: {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "{} answered non-JSON ({error}): {}",
                self.what,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn ok_bytes(&self) -> &[u8] {
        assert!(
            self.status.is_success(),
            "{} answered {}: {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        &self.body
    }
}

/// A client of one replica's management API.
#[derive(Clone)]
pub(crate) struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(port: u16) -> Api {
        Api {
            base: format!("http://127.0.0.1:{port}/management"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
        }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let what = format!("{method} {url}");
        let mut request = self
            .client
            .request(method, &url)
            .header("X-Api-Key", API_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{what} failed: {error}"));
        let status = response.status();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|error| panic!("{what}: reading the answer failed: {error}"));
        Answer { status, body, what }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// POSTs a creation and returns the `@id` of the `IdResponse`.
    pub(crate) async fn create(&self, path: &str, body: Value) -> String {
        let answer = self.post(path, body).await.ok_json();
        answer["@id"]
            .as_str()
            .unwrap_or_else(|| panic!("POST {path}: no @id in {answer}"))
            .to_owned()
    }

    /// Like `create`, but a call that gets no answer (its server died) is an error, not a
    /// panic.
    pub(crate) async fn try_create(&self, path: &str, body: Value) -> Result<String, String> {
        let url = format!("{}{path}", self.base);
        let response = self
            .client
            .post(&url)
            .header("X-Api-Key", API_KEY)
            .json(&body)
            .send()
            .await
            .map_err(|error| format!("POST {url}: {error}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| format!("POST {url}: reading the answer: {error}"))?;
        let answer = Answer {
            status,
            body: bytes,
            what: format!("POST {url}"),
        };
        let json = answer.ok_json();
        json["@id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("POST {url}: no @id in {json}"))
    }

    pub(crate) async fn put_bytes(&self, path: &str, media_type: &str, bytes: Vec<u8>) -> Answer {
        let url = format!("{}{path}", self.base);
        let what = format!("PUT {url}");
        let response = self
            .client
            .put(&url)
            .header("X-Api-Key", API_KEY)
            .header("Content-Type", media_type)
            .body(bytes)
            .send()
            .await
            .unwrap_or_else(|error| panic!("{what} failed: {error}"));
        let status = response.status();
        let body = response.bytes().await.expect("reading the answer");
        Answer { status, body, what }
    }

    /// Every record of a `.../request` listing (one page large enough for all).
    pub(crate) async fn list(&self, path: &str) -> Vec<Value> {
        let answer = self
            .post(path, json!({"offset": 0, "limit": 100_000}))
            .await
            .ok_json();
        answer
            .as_array()
            .unwrap_or_else(|| panic!("POST {path} did not answer a list: {answer}"))
            .clone()
    }

    pub(crate) async fn negotiations(&self) -> Vec<Value> {
        self.list("/v3/contractnegotiations/request").await
    }

    pub(crate) async fn agreements(&self) -> Vec<Value> {
        self.list("/v3/contractagreements/request").await
    }

    pub(crate) async fn transfers(&self) -> Vec<Value> {
        self.list("/v3/transferprocesses/request").await
    }
}

/// `@id -> record` of a listing.
pub(crate) fn by_id(records: &[Value]) -> BTreeMap<String, Value> {
    records
        .iter()
        .map(|record| {
            let id = record["@id"]
                .as_str()
                .unwrap_or_else(|| panic!("a record without @id: {record}"));
            (id.to_owned(), record.clone())
        })
        .collect()
}

/// `id, state, body, lease_owner, lease_until` of a row with a pending action.
type PendingRow = (String, String, String, Option<String>, Option<i64>);

/// Reads a company's database, never writing, to tell when no message is owed any more: a
/// process with a `pending` action still has a delivery (or a retry) ahead of it, which could
/// change its state after the test has looked.
pub(crate) enum WorkProbe {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl WorkProbe {
    pub(crate) async fn open(database_url: &str) -> WorkProbe {
        if database_url.starts_with("postgres") {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(database_url)
                .await
                .expect("connecting the probe to PostgreSQL");
            WorkProbe::Postgres(pool)
        } else {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
                .expect("a sqlite: URL")
                .create_if_missing(false);
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("opening the SQLite database for the probe");
            WorkProbe::Sqlite(pool)
        }
    }

    /// The workers that hold a lease on some row right now (a worker is one process).
    pub(crate) async fn lease_owners(&self) -> Vec<String> {
        let sql = "SELECT lease_owner FROM negotiations WHERE lease_owner IS NOT NULL \
                   UNION SELECT lease_owner FROM transfers WHERE lease_owner IS NOT NULL";
        match self {
            WorkProbe::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            WorkProbe::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .expect("reading lease owners")
    }

    /// Each negotiation or transfer that still owes its counter-party a message, described.
    pub(crate) async fn pending_work(&self) -> Vec<String> {
        let mut owed = Vec::new();
        for table in ["negotiations", "transfers"] {
            let sql = format!(
                "SELECT id, state, body, lease_owner, lease_until FROM {table} WHERE pending = 1 ORDER BY id"
            );
            let rows: Vec<PendingRow> = match self {
                WorkProbe::Postgres(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
                WorkProbe::Sqlite(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
            }
            .expect("reading pending work");
            for (id, state, body, owner, until) in rows {
                let pending = serde_json::from_str::<Value>(&body)
                    .map(|body| body["pending"].to_string())
                    .unwrap_or_else(|_| "?".into());
                owed.push(format!(
                    "{table} {id} {state} pending {pending} lease {owner:?} until {until:?}"
                ));
            }
        }
        owed
    }
}
