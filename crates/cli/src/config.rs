//! The connector's configuration: one documented struct. Every key can come from the TOML file
//! given with `--config` or from the environment variable `TSUNAGU_<KEY>` (upper case), which
//! wins over the file; with no file at all, the environment alone configures the connector.
//! `tsunagu.example.toml` at the repository root documents every key, and a test keeps it in
//! step with this struct.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// A secret: shown as `***` by `Debug`, so it cannot reach a log by accident.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This company's participant id: its DID. Empty: `did:web` of the public URL.
    #[serde(default)]
    pub participant_id: String,
    /// Address of the public listener (DSP and data plane).
    #[serde(default = "default_bind")]
    pub bind: String,
    /// Address of the management API's own listener. Empty: served on `bind`.
    #[serde(default)]
    pub management_bind: String,
    /// The base URL partners reach this connector at. Empty: `http://<bind>`.
    #[serde(default)]
    pub public_url: String,
    /// `sqlite:<path>` (the default is a file in the working directory) or `postgres://...`.
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// Connections to PostgreSQL (ignored for SQLite).
    #[serde(default = "default_database_connections")]
    pub database_connections: u32,
    /// The key the company's own tools send in `X-Api-Key` to the management API.
    pub management_api_key: Secret,
    /// PEM certificate chain for HTTPS on the listeners. With `tls_key_file`, the connector
    /// speaks only HTTPS; empty: plain HTTP (behind a TLS-terminating proxy).
    #[serde(default)]
    pub tls_cert_file: String,
    /// PEM private key of `tls_cert_file`.
    #[serde(default)]
    pub tls_key_file: String,
    /// Extra PEM root certificates this connector trusts when it calls others (a private CA,
    /// or the self-signed certificate of a local network). Empty: the public web roots only.
    #[serde(default)]
    pub tls_ca_file: String,
    /// The connector's signing keys (a JSON key ring, created on first start, mode 0600).
    #[serde(default = "default_key_file")]
    pub key_file: String,
    /// DIDs of the scheme operators whose credentials this connector accepts, comma-separated.
    #[serde(default)]
    pub trusted_issuers: String,
    /// The scheme operator's base URL; this connector fetches its credentials from there.
    #[serde(default)]
    pub operator_url: String,
    /// The operator's DID. Empty: `did:web` of `operator_url`.
    #[serde(default)]
    pub operator_did: String,
    /// Keep a tamper-evident transaction log of every protocol event, with checkpoints signed
    /// with the key in `key_file` (needs a key file).
    #[serde(default = "default_true")]
    pub ledger: bool,
    /// Who may deal with this connector at all: an ODRL policy (JSON) tested against every
    /// caller's DID and credential attributes. Empty: every authenticated member.
    #[serde(default)]
    pub admission_policy: String,
    /// Development only: resolve `did:web` over plain HTTP (test networks on loopback).
    #[serde(default)]
    pub did_web_insecure_http: bool,
    /// Development only: trust the caller identity in the `X-Tsunagu-Participant` header
    /// instead of authenticating callers with DCP.
    #[serde(default)]
    pub dev_insecure_identity: bool,
    /// Development only: attributes this connector claims for itself (`role=cellMaker;...`).
    #[serde(default)]
    pub dev_attributes: String,
    /// How long a data-plane pull token stays valid, in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_secs: u64,
    /// How long a worker holds a claimed negotiation or transfer, in seconds.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// How many deliveries a worker runs at once.
    #[serde(default = "default_batch")]
    pub worker_batch: u32,
    /// The least time between two exchanges of log checkpoints with the same partner
    /// (witnessing), in milliseconds.
    #[serde(default = "default_witness_interval")]
    pub witness_interval_ms: u64,
    /// Log filter, e.g. `info` or `tsunagu_engine=debug,info`.
    #[serde(default = "default_log")]
    pub log: String,
    /// Run the carbon-footprint (PCF) app in this connector: its trade inbox over DSP, the
    /// Ouranos-compatible API and the PACT v3 API on the public listener. Its data lives in
    /// the connector's database.
    #[serde(default)]
    pub pcf_app: bool,
    /// Run the battery passport app: the company's passports on the public listener
    /// (`/passports/{id}` as a page, JSON or SD-JWT, QR codes, `/resolve/{battery}`), signed
    /// with the connector's key. Needs a DID identity (not `dev_insecure_identity`).
    #[serde(default)]
    pub passport_app: bool,
    /// The OAuth2 client id a PACT data recipient authenticates with at `/auth/token`.
    /// Empty: no PACT client (the PACT API answers every token request with 401).
    #[serde(default)]
    pub pact_client_id: String,
    /// That client's secret, at least 16 characters. Only its salted hash is stored.
    #[serde(default)]
    pub pact_client_secret: Secret,
    /// Development only: let a PACT `RequestCreatedEvent` name a plain `http` callback on a
    /// loopback address (a conformance suite on the same machine). Otherwise answers go to
    /// `https` URLs only.
    #[serde(default)]
    pub pact_loopback_http_callbacks: bool,
    /// The company's legal name for the PCF app's operator record, set up on first start
    /// with `pcf_corporate_number` (both or neither; later changes go through the Ouranos
    /// API). It is the `companyName` of the company's PACT footprints.
    #[serde(default)]
    pub pcf_company_name: String,
    /// The company's Japanese corporate number (13 digits, check digit verified).
    #[serde(default)]
    pub pcf_corporate_number: String,
    /// The `apiKey` an Ouranos application sends to the PCF app (at least 8 characters;
    /// stored only salted and hashed). Empty: none is added.
    #[serde(default)]
    pub ouranos_api_key: Secret,
    /// An operator account for the Ouranos API (`/auth/login`), created or reset on start
    /// with `ouranos_password` (at least 8 characters). Empty: none.
    #[serde(default)]
    pub ouranos_account: String,
    #[serde(default)]
    pub ouranos_password: Secret,
}

fn default_bind() -> String {
    "127.0.0.1:8181".into()
}
fn default_true() -> bool {
    true
}
fn default_key_file() -> String {
    "tsunagu-keys.json".into()
}
fn default_database_url() -> String {
    "sqlite:tsunagu.sqlite".into()
}
fn default_database_connections() -> u32 {
    16
}
fn default_token_lifetime() -> u64 {
    3600
}
fn default_lease() -> u64 {
    30
}
fn default_witness_interval() -> u64 {
    10_000
}
fn default_batch() -> u32 {
    64
}
fn default_log() -> String {
    "info".into()
}

/// The keys of `Config`, for the environment overlay and the example-file test.
pub const KEYS: [&str; 34] = [
    "participant_id",
    "bind",
    "management_bind",
    "public_url",
    "database_url",
    "database_connections",
    "management_api_key",
    "tls_cert_file",
    "tls_key_file",
    "tls_ca_file",
    "key_file",
    "trusted_issuers",
    "operator_url",
    "operator_did",
    "ledger",
    "admission_policy",
    "did_web_insecure_http",
    "dev_insecure_identity",
    "dev_attributes",
    "token_lifetime_secs",
    "lease_secs",
    "worker_batch",
    "witness_interval_ms",
    "log",
    "pcf_app",
    "passport_app",
    "pact_client_id",
    "pact_client_secret",
    "pact_loopback_http_callbacks",
    "pcf_company_name",
    "pcf_corporate_number",
    "ouranos_api_key",
    "ouranos_account",
    "ouranos_password",
];

impl Config {
    /// Reads the file (if any), lays the environment over it and checks the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("{} is not valid TOML", path.display()))?
            }
            None => toml::Table::new(),
        };
        overlay_environment(&mut table, |name| std::env::var(name).ok());
        let config: Config = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        config.check()?;
        Ok(config)
    }

    pub fn check(&self) -> anyhow::Result<()> {
        self.admission()?;
        if self.tls_cert_file.is_empty() != self.tls_key_file.is_empty() {
            bail!("tls_cert_file and tls_key_file go together: set both for HTTPS, or neither");
        }
        if self.dev_insecure_identity && self.participant_id.trim().is_empty() {
            bail!("participant_id must not be empty with dev_insecure_identity");
        }
        if !self.dev_insecure_identity {
            if self.trusted_issuers().is_empty() {
                bail!(
                    "trusted_issuers must name at least one scheme operator DID: without one no caller can be authenticated"
                );
            }
            if !self.participant_id.is_empty() && !self.participant_id.starts_with("did:") {
                bail!("participant_id must be a DID (or empty for the did:web of public_url)");
            }
            if self.key_file.trim().is_empty() {
                bail!("key_file must name the file that holds the connector's keys");
            }
        }
        if self.management_api_key.expose().len() < 16 {
            bail!("management_api_key must be at least 16 characters");
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("database_url must start with sqlite: or postgres://");
        }
        let pcf_settings = [
            ("pcf_company_name", !self.pcf_company_name.is_empty()),
            (
                "pcf_corporate_number",
                !self.pcf_corporate_number.is_empty(),
            ),
            ("ouranos_api_key", !self.ouranos_api_key.expose().is_empty()),
            ("ouranos_account", !self.ouranos_account.is_empty()),
        ];
        if self.passport_app && self.dev_insecure_identity {
            bail!(
                "passport_app needs a DID identity: passports are signed with the connector's DID key, so dev_insecure_identity must be off"
            );
        }
        if let Some((key, _)) = pcf_settings.iter().find(|(_, set)| *set && !self.pcf_app) {
            bail!("{key} needs pcf_app = true");
        }
        if self.pcf_company_name.is_empty() != self.pcf_corporate_number.is_empty() {
            bail!("pcf_company_name and pcf_corporate_number go together: set both, or neither");
        }
        if !self.pcf_corporate_number.is_empty() {
            tsunagu_pcf::CorporateNumber::parse(&self.pcf_corporate_number).map_err(|error| {
                anyhow::anyhow!("pcf_corporate_number is not a corporate number: {error}")
            })?;
        }
        let api_key = self.ouranos_api_key.expose();
        if !api_key.is_empty() && api_key.chars().count() < 8 {
            bail!("ouranos_api_key must be at least 8 characters");
        }
        if !self.ouranos_account.is_empty() && self.ouranos_password.expose().chars().count() < 8 {
            bail!("ouranos_password must be at least 8 characters");
        }
        if !self.pact_client_id.is_empty() {
            if !self.pcf_app {
                bail!("pact_client_id needs pcf_app = true: the PACT API is part of the PCF app");
            }
            if self.pact_client_secret.expose().chars().count() < 16 {
                bail!("pact_client_secret must be at least 16 characters");
            }
        }
        Ok(())
    }

    pub fn tls(&self) -> bool {
        !self.tls_cert_file.is_empty()
    }

    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            let scheme = if self.tls() { "https" } else { "http" };
            format!("{scheme}://{}", self.bind)
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The parsed admission policy, if one is set.
    pub fn admission(&self) -> anyhow::Result<Option<tsunagu_policy::Policy>> {
        if self.admission_policy.trim().is_empty() {
            return Ok(None);
        }
        let json: serde_json::Value =
            serde_json::from_str(&self.admission_policy).context("admission_policy is not JSON")?;
        let policy = tsunagu_policy::Policy::from_json(&json)
            .map_err(|error| anyhow::anyhow!("admission_policy is not an ODRL policy: {error}"))?;
        Ok(Some(policy))
    }

    pub fn trusted_issuers(&self) -> Vec<String> {
        self.trusted_issuers
            .split(',')
            .map(str::trim)
            .filter(|did| !did.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn token_lifetime(&self) -> Duration {
        Duration::from_secs(self.token_lifetime_secs)
    }
}

/// `TSUNAGU_<KEY>` for each key. Values are read as TOML scalars when they parse as one
/// (`true`, `42`), else as strings, then typed by the struct.
pub(crate) fn overlay_environment(table: &mut toml::Table, get: impl Fn(&str) -> Option<String>) {
    for key in KEYS {
        let name = format!("TSUNAGU_{}", key.to_ascii_uppercase());
        let Some(raw) = get(&name) else { continue };
        let value = match key {
            "database_connections"
            | "token_lifetime_secs"
            | "lease_secs"
            | "worker_batch"
            | "witness_interval_ms" => raw
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .unwrap_or(toml::Value::String(raw)),
            "dev_insecure_identity"
            | "did_web_insecure_http"
            | "ledger"
            | "pcf_app"
            | "passport_app"
            | "pact_loopback_http_callbacks" => match raw.trim() {
                "true" | "1" | "yes" => toml::Value::Boolean(true),
                "false" | "0" | "no" | "" => toml::Value::Boolean(false),
                _ => toml::Value::String(raw),
            },
            _ => toml::Value::String(raw),
        };
        table.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tsunagu.example.toml");
        std::fs::read_to_string(path).expect("tsunagu.example.toml exists at the repository root")
    }

    #[test]
    fn example_config_documents_every_key_and_parses() {
        let text = example();
        let table: toml::Table = text.parse().unwrap();
        let mut in_file: Vec<&str> = table.keys().map(String::as_str).collect();
        in_file.sort();
        let mut known = KEYS.to_vec();
        known.sort();
        assert_eq!(in_file, known, "tsunagu.example.toml and Config disagree");
        let config: Config = toml::Value::Table(table).try_into().unwrap();
        config.check().unwrap();
        // Every key has a comment line right above it.
        let lines: Vec<&str> = text.lines().collect();
        for key in KEYS {
            let at = lines
                .iter()
                .position(|line| line.starts_with(&format!("{key} =")))
                .unwrap_or_else(|| panic!("{key} is not set in the example"));
            assert!(
                at > 0 && lines[at - 1].starts_with('#'),
                "{key} has no comment"
            );
        }
    }

    #[test]
    fn serialised_struct_has_exactly_the_documented_keys() {
        let config = Config {
            participant_id: "p".into(),
            bind: default_bind(),
            management_bind: String::new(),
            public_url: String::new(),
            database_url: default_database_url(),
            database_connections: 1,
            management_api_key: Secret::new("k".repeat(16)),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_ca_file: String::new(),
            key_file: default_key_file(),
            trusted_issuers: String::new(),
            operator_url: String::new(),
            operator_did: String::new(),
            ledger: true,
            admission_policy: String::new(),
            did_web_insecure_http: false,
            dev_insecure_identity: false,
            dev_attributes: String::new(),
            token_lifetime_secs: 1,
            lease_secs: 1,
            worker_batch: 1,
            witness_interval_ms: 1,
            log: default_log(),
            pcf_app: false,
            passport_app: false,
            pact_client_id: String::new(),
            pact_client_secret: Secret::default(),
            pact_loopback_http_callbacks: false,
            pcf_company_name: String::new(),
            pcf_corporate_number: String::new(),
            ouranos_api_key: Secret::default(),
            ouranos_account: String::new(),
            ouranos_password: Secret::default(),
        };
        let value = toml::Value::try_from(&config).unwrap();
        let mut keys: Vec<_> = value.as_table().unwrap().keys().cloned().collect();
        keys.sort();
        let mut known: Vec<_> = KEYS.iter().map(|k| k.to_string()).collect();
        known.sort();
        assert_eq!(keys, known);
    }

    #[test]
    fn environment_alone_configures_and_wins_over_the_file() {
        let mut table: toml::Table = "participant_id = \"from-file\"\nworker_batch = 3"
            .parse()
            .unwrap();
        let env = |name: &str| match name {
            "TSUNAGU_PARTICIPANT_ID" => Some("did:web:cell.example".to_owned()),
            "TSUNAGU_MANAGEMENT_API_KEY" => Some("0123456789abcdef".to_owned()),
            "TSUNAGU_DEV_INSECURE_IDENTITY" => Some("true".to_owned()),
            "TSUNAGU_WORKER_BATCH" => Some("9".to_owned()),
            _ => None,
        };
        overlay_environment(&mut table, env);
        let config: Config = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(config.participant_id, "did:web:cell.example");
        assert_eq!(config.worker_batch, 9);
        assert!(config.dev_insecure_identity);
        config.check().unwrap();
    }

    #[test]
    fn secrets_do_not_reach_debug_output() {
        let secret = Secret::new("super-secret-key-123".into());
        assert_eq!(format!("{secret:?}"), "***");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let table: toml::Table =
            "participant_id = \"p\"\nmanagement_api_key = \"0123456789abcdef\"\nbnd = \"x\""
                .parse()
                .unwrap();
        assert!(toml::Value::Table(table).try_into::<Config>().is_err());
        let mut short: toml::Table = "participant_id = \"p\"\nmanagement_api_key = \"short\""
            .parse()
            .unwrap();
        overlay_environment(&mut short, |_| None);
        let config: Config = toml::Value::Table(short).try_into().unwrap();
        assert!(config.check().is_err());
    }
}
