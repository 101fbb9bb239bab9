//! Throwaway PostgreSQL clusters for tests.
//!
//! A [`TempPostgres`] is a fresh cluster (`initdb`) in a temporary directory,
//! started with `pg_ctl start -w` (which polls the server until it accepts
//! connections: no fixed sleeps) on a free `127.0.0.1` port, with durability
//! switched off for speed and trust authentication.
//!
//! # Cleanup, including for the shared cluster
//!
//! Each cluster gets a small watchdog process (`sh`, in its own process group,
//! ignoring terminal signals) whose stdin is a pipe whose only writer is the
//! test process. When the pipe closes — because the [`TempPostgres`] is dropped,
//! or because the test process exits in any way at all (normal exit, panic,
//! `SIGKILL` by a timeout) — the watchdog runs `pg_ctl stop -m immediate` and
//! removes the temporary directory. This is what stops the cluster of
//! [`shared_postgres`], which lives in a `static` and is therefore never
//! dropped. Should even that fail, a leftover server cannot block later runs:
//! every cluster has its own random port and its own directory.
//!
//! # Running as root
//!
//! `initdb`, `pg_ctl` and `postgres` refuse to run as root. When the current
//! user is root (as in CI) they are run as the `postgres` system user through
//! `runuser -u postgres --`, and the temporary directory is handed to that
//! user. Client tools (`createdb`) run as the current user.

use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use tempfile::TempDir;

/// Set to `1` to turn "server binaries not found" into an error instead of a skip.
const REQUIRE_ENV: &str = "TSUNAGU_REQUIRE_POSTGRES";
/// Optional override: the directory holding `initdb`, `pg_ctl` and `postgres`.
const BIN_DIR_ENV: &str = "TSUNAGU_PG_BIN_DIR";
/// Where Debian/Ubuntu install the server binaries, one folder per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";
/// The server programs that must all be present in one directory.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// Attempts at finding a free port (another process may grab the one we picked).
const PORT_ATTEMPTS: usize = 5;
/// Seconds `pg_ctl start -w` / `stop -w` wait at most.
const PG_CTL_TIMEOUT_SECS: &str = "60";

/// Runs in the watchdog: waits for EOF on stdin, then stops the cluster and
/// removes its directory. `$1` is the directory, the remaining arguments are
/// the command that runs `pg_ctl` (possibly prefixed by `runuser ...`).
const WATCHDOG_SCRIPT: &str = r#"trap '' HUP INT QUIT TERM PIPE
while read -r _; do :; done
dir=$1
shift
if [ -f "$dir/data/postmaster.pid" ]; then
  "$@" stop -D "$dir/data" -m immediate -w -t 60
fi
rm -rf -- "$dir"
"#;

/// A PostgreSQL cluster in a temporary directory, stopped and deleted on drop.
pub struct TempPostgres {
    port: u16,
    bin_dir: PathBuf,
    runner: Runner,
    startup: Duration,
    /// Stops the cluster and removes `dir` once its stdin closes.
    watchdog: Option<Child>,
    /// Dropped last; by then the watchdog has normally removed it already.
    dir: TempDir,
}

impl std::fmt::Debug for TempPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempPostgres")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .field("bin_dir", &self.bin_dir)
            .finish_non_exhaustive()
    }
}

/// How server programs are run: directly, or as `postgres` when we are root.
#[derive(Clone, Debug)]
enum Runner {
    Direct,
    AsPostgres { runuser: PathBuf },
}

impl Runner {
    fn command(&self, program: &Path) -> Command {
        match self {
            Runner::Direct => Command::new(program),
            Runner::AsPostgres { runuser } => {
                let mut command = Command::new(runuser);
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
        }
    }
}

impl TempPostgres {
    /// Starts a fresh cluster in a temp dir on a free 127.0.0.1 port
    /// (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`,
    /// `max_connections=200`, unix socket directory inside the temp dir, trust
    /// authentication, listening on 127.0.0.1 only).
    ///
    /// Returns `Ok(None)` after printing `skipped: PostgreSQL server binaries
    /// not found (looked in ...)` when the binaries are absent, unless
    /// `TSUNAGU_REQUIRE_POSTGRES=1`, in which case that is an error. The
    /// binaries are looked for in `$TSUNAGU_PG_BIN_DIR` (if set), then
    /// `/usr/lib/postgresql/<highest version>/bin`, then `$PATH`.
    ///
    /// Any other failure (e.g. the server does not come up) is an error that
    /// includes the server log.
    pub fn start() -> anyhow::Result<Option<TempPostgres>> {
        match Self::start_or_skip()? {
            Ok(pg) => Ok(Some(pg)),
            Err(skip_line) => {
                eprintln!("{skip_line}");
                Ok(None)
            }
        }
    }

    /// `Ok(Err(line))` is a skip, with the line to print.
    fn start_or_skip() -> anyhow::Result<Result<TempPostgres, String>> {
        let search_path = std::env::var_os("PATH").unwrap_or_default();
        let found = find_bin_dir(
            std::env::var_os(BIN_DIR_ENV).map(PathBuf::from),
            Path::new(DEBIAN_ROOT),
            &search_path,
        );
        let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1");
        match found {
            Ok(bin_dir) => Self::start_with(bin_dir).map(Ok),
            Err(looked_in) => skip_or_error(&looked_in, required).map(Err),
        }
    }

    fn start_with(bin_dir: PathBuf) -> anyhow::Result<TempPostgres> {
        let began = Instant::now();
        let runner = if running_as_root() {
            Runner::AsPostgres {
                runuser: find_program("runuser", &["/usr/sbin/runuser", "/sbin/runuser"])
                    .ok_or_else(|| anyhow!("running as root but `runuser` was not found"))?,
            }
        } else {
            Runner::Direct
        };

        let dir = make_temp_dir(&runner)?;
        let watchdog = spawn_watchdog(dir.path(), &runner, &bin_dir.join("pg_ctl"))?;
        let mut pg = TempPostgres {
            port: 0,
            bin_dir,
            runner,
            startup: Duration::ZERO,
            watchdog: Some(watchdog),
            dir,
        };
        // From here on, dropping `pg` on error cleans everything up.
        pg.initdb()?;
        pg.start_server()?;
        pg.startup = began.elapsed();
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn server_command(&self, program: &str) -> Command {
        let mut command = self.runner.command(&self.bin_dir.join(program));
        // The postgres user may not be able to enter the test's working directory.
        command.current_dir(self.dir.path());
        command.stdin(Stdio::null());
        command
    }

    fn initdb(&self) -> anyhow::Result<()> {
        std::fs::create_dir(self.socket_dir()).context("creating the socket directory")?;
        if let Runner::AsPostgres { .. } = self.runner {
            chown_to_postgres(&self.socket_dir())?;
        }
        let output = self
            .server_command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .context("running initdb")?;
        check_output("initdb", &output)?;

        let socket_dir = self.socket_dir().to_string_lossy().replace('\'', "''");
        let settings = format!(
            "\n# tsunagu-testkit: throwaway test cluster\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{socket_dir}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 200\n"
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir().join("postgresql.conf"))
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .context("writing postgresql.conf")?;
        Ok(())
    }

    fn start_server(&mut self) -> anyhow::Result<()> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let output = self
                .server_command("pg_ctl")
                .arg("start")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_file())
                .args(["-w", "-t", PG_CTL_TIMEOUT_SECS, "-o"])
                .arg(format!("-p {port}"))
                // Its own process group: a terminal's Ctrl-C or a test runner
                // killing the test's group leaves the stop to the watchdog.
                .process_group(0)
                .output()
                .context("running pg_ctl start")?;
            if output.status.success() {
                self.port = port;
                return Ok(());
            }
            let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            let error = anyhow!(
                "pg_ctl start failed ({}) on port {port}\n{}\nserver log ({}):\n{log}",
                output.status,
                describe_output(&output),
                self.log_file().display()
            );
            if !(log.contains("could not bind") || log.contains("already in use")) {
                return Err(error);
            }
            last_error = Some(error);
        }
        Err(last_error.unwrap_or_else(|| anyhow!("pg_ctl start failed")))
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The URL of database `name` on this cluster (which need not exist).
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory holding `data/`, `socket/` and `postgres.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// How long [`TempPostgres::start`] took (initdb + start until ready).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Creates a new empty database and returns its URL (tests isolate
    /// themselves with one database each). `name` must be a plain lower-case
    /// identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let plain = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !plain {
            bail!("database name {name:?} is not a plain lower-case identifier");
        }
        let createdb = {
            let local = self.bin_dir.join("createdb");
            if local.is_file() {
                local
            } else {
                find_program("createdb", &[]).unwrap_or(local)
            }
        };
        let output = Command::new(&createdb)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "--no-password", "--", name])
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", createdb.display()))?;
        check_output(&format!("createdb {name}"), &output)?;
        Ok(self.database_url(name))
    }

    fn stop(&self) {
        if self.port == 0 {
            return; // never started
        }
        let _ = self
            .server_command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "-t", PG_CTL_TIMEOUT_SECS])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for TempPostgres {
    /// `pg_ctl stop -m immediate`, then the temporary directory goes.
    fn drop(&mut self) {
        self.stop();
        if let Some(mut watchdog) = self.watchdog.take() {
            // EOF makes the watchdog stop (again: a no-op now) and delete the dir.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
        // `self.dir` is dropped after this, removing whatever is left.
    }
}

enum Shared {
    Running(TempPostgres),
    Skipped(String),
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// One cluster shared by all tests of one test binary, started on first use;
/// returns `None` (printing the skip line each time) when the server binaries
/// are absent.
///
/// Statics are never dropped, so this cluster is stopped and its directory
/// removed by its watchdog process when the test process exits (see the
/// module docs). Panics if the binaries exist but the cluster cannot start,
/// or if they are absent and `TSUNAGU_REQUIRE_POSTGRES=1`.
pub fn shared_postgres() -> Option<&'static TempPostgres> {
    let shared = SHARED.get_or_init(|| match TempPostgres::start_or_skip() {
        Ok(Ok(pg)) => Shared::Running(pg),
        Ok(Err(skip_line)) => Shared::Skipped(skip_line),
        Err(error) => panic!("starting the shared PostgreSQL test cluster: {error:#}"),
    });
    match shared {
        Shared::Running(pg) => Some(pg),
        Shared::Skipped(skip_line) => {
            eprintln!("{skip_line}");
            None
        }
    }
}

/// Convenience: a fresh database on the shared cluster with a unique name,
/// as a URL, or `None` (skipped). Panics if the database cannot be created.
pub fn fresh_postgres_database() -> Option<String> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let pg = shared_postgres()?;
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    match pg.create_database(&name) {
        Ok(url) => Some(url),
        Err(error) => panic!("creating test database {name}: {error:#}"),
    }
}

/// The skip line for missing binaries, or an error when they are required.
fn skip_or_error(looked_in: &str, required: bool) -> anyhow::Result<String> {
    let reason = format!("PostgreSQL server binaries not found (looked in {looked_in})");
    if required {
        bail!("{REQUIRE_ENV}=1 but {reason}");
    }
    Ok(format!("skipped: {reason}"))
}

/// The directory holding all of [`SERVER_PROGRAMS`]: `override_dir` (from
/// `$TSUNAGU_PG_BIN_DIR`), else the highest `<debian_root>/<version>/bin`,
/// else the first fitting directory of `search_path` (a `$PATH` value).
/// On failure, says where it looked.
fn find_bin_dir(
    override_dir: Option<PathBuf>,
    debian_root: &Path,
    search_path: &std::ffi::OsStr,
) -> Result<PathBuf, String> {
    let has_all = |dir: &Path| SERVER_PROGRAMS.iter().all(|p| dir.join(p).is_file());
    let mut looked_in = Vec::new();

    if let Some(dir) = override_dir.filter(|d| !d.as_os_str().is_empty()) {
        if has_all(&dir) {
            return Ok(dir);
        }
        looked_in.push(format!("${BIN_DIR_ENV}={}", dir.display()));
    }

    let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(debian_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u64>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((version?, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_all(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    looked_in.push(format!("{}/*/bin", debian_root.display()));

    if let Some(dir) = std::env::split_paths(search_path).find(|d| has_all(d)) {
        return Ok(dir);
    }
    looked_in.push("$PATH".to_owned());
    Err(looked_in.join(", "))
}

/// `name` on `$PATH`, else the first existing fallback.
fn find_program(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return meta.uid() == 0;
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A temp dir the server user can use. As root, it is chowned to `postgres`
/// and placed where that user can reach it.
fn make_temp_dir(runner: &Runner) -> anyhow::Result<TempDir> {
    let mut base = std::env::temp_dir();
    if let Runner::AsPostgres { .. } = runner {
        // Every ancestor must be searchable by others (e.g. not /root/tmp).
        let reachable = base
            .ancestors()
            .all(|a| std::fs::metadata(a).is_ok_and(|m| m.mode() & 0o001 != 0));
        if !reachable {
            base = PathBuf::from("/tmp");
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("tsunagu-pg-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a temporary directory in {}", base.display()))?;
    if let Runner::AsPostgres { .. } = runner {
        chown_to_postgres(dir.path())?;
    }
    Ok(dir)
}

fn chown_to_postgres(path: &Path) -> anyhow::Result<()> {
    let id = |flag: &str| -> anyhow::Result<u32> {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .context("running `id` to look up the postgres user")?;
        check_output("id postgres", &output)?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .context("parsing the output of `id`")
    };
    let (uid, gid) = (id("-u")?, id("-g")?);
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("chown postgres {}", path.display()))
}

fn spawn_watchdog(dir: &Path, runner: &Runner, pg_ctl: &Path) -> anyhow::Result<Child> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("tsunagu-pg-watchdog")
        .arg(dir);
    if let Runner::AsPostgres { runuser } = runner {
        command.arg(runuser).args(["-u", "postgres", "--"]);
    }
    command
        .arg(pg_ctl)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("spawning the cleanup watchdog (sh)")
}

/// A port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("binding 127.0.0.1:0 to pick a port")?;
    Ok(listener.local_addr()?.port())
}

fn check_output(what: &str, output: &Output) -> anyhow::Result<()> {
    if output.status.success() {
        Ok(())
    } else {
        bail!(
            "{what} failed ({})\n{}",
            output.status,
            describe_output(output)
        )
    }
}

fn describe_output(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bin(root: &Path, relative: &str) -> PathBuf {
        let dir = root.join(relative);
        std::fs::create_dir_all(&dir).unwrap();
        for program in SERVER_PROGRAMS {
            std::fs::write(dir.join(program), "").unwrap();
        }
        dir
    }

    #[test]
    fn picks_the_highest_debian_version() {
        let root = tempfile::tempdir().unwrap();
        fake_bin(root.path(), "9.6/bin");
        let fifteen = fake_bin(root.path(), "15/bin");
        fake_bin(root.path(), "13/bin");
        std::fs::create_dir_all(root.path().join("17/bin")).unwrap(); // incomplete
        let found = find_bin_dir(None, root.path(), std::ffi::OsStr::new(""));
        assert_eq!(found, Ok(fifteen));
    }

    #[test]
    fn override_then_path_are_used() {
        let root = tempfile::tempdir().unwrap();
        let custom = fake_bin(root.path(), "custom");
        let on_path = fake_bin(root.path(), "on-path");
        let empty_debian = root.path().join("debian");
        let found = find_bin_dir(
            Some(custom.clone()),
            &empty_debian,
            std::ffi::OsStr::new(""),
        );
        assert_eq!(found, Ok(custom));
        let search = std::env::join_paths([root.path().join("nothing"), on_path.clone()]).unwrap();
        let found = find_bin_dir(Some(root.path().join("missing")), &empty_debian, &search);
        assert_eq!(found, Ok(on_path));
    }

    #[test]
    fn absent_binaries_skip_or_fail_as_configured() {
        let root = tempfile::tempdir().unwrap();
        let looked_in =
            find_bin_dir(None, &root.path().join("debian"), std::ffi::OsStr::new("")).unwrap_err();
        assert_eq!(
            looked_in,
            format!("{}/*/bin, $PATH", root.path().join("debian").display())
        );
        assert_eq!(
            skip_or_error("/usr/lib/postgresql/*/bin, $PATH", false).unwrap(),
            "skipped: PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin, $PATH)"
        );
        let error = skip_or_error("/usr/lib/postgresql/*/bin, $PATH", true).unwrap_err();
        assert!(
            error.to_string().contains("TSUNAGU_REQUIRE_POSTGRES=1"),
            "{error}"
        );
        assert!(error.to_string().contains("not found"), "{error}");
    }
}
