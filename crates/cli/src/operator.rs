//! Wiring of `tsunagu operator`: the scheme operator's own process, with its own store and
//! key, from command-line options (each also an environment variable `TSUNAGU_OPERATOR_<KEY>`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tsunagu_operator::{CredentialIssuer, Operator, OperatorState, operator_router};
use tsunagu_store::{DocumentStore, PostgresStore, SqliteStore};
use tsunagu_trust::dcp::ReplayCache;

use crate::config::Secret;
use crate::node::{did_web_for_url, load_or_create_keys};

#[derive(Debug, Clone, clap::Args)]
pub struct OperatorOptions {
    /// Address to listen on.
    #[arg(long, env = "TSUNAGU_OPERATOR_BIND", default_value = "127.0.0.1:8180")]
    pub bind: String,
    /// The base URL participants reach the operator at (its did:web follows from it). Empty:
    /// `http://<bind>`.
    #[arg(long, env = "TSUNAGU_OPERATOR_PUBLIC_URL", default_value = "")]
    pub public_url: String,
    /// `sqlite:<file>` or `postgres://…`.
    #[arg(
        long,
        env = "TSUNAGU_OPERATOR_DATABASE_URL",
        default_value = "sqlite:tsunagu-operator.sqlite"
    )]
    pub database_url: String,
    /// The operator's signing keys (created on first start, mode 0600).
    #[arg(
        long,
        env = "TSUNAGU_OPERATOR_KEY_FILE",
        default_value = "tsunagu-operator-keys.json"
    )]
    pub key_file: PathBuf,
    /// The bearer token of the operator's administrators (at least 16 characters).
    #[arg(long, env = "TSUNAGU_OPERATOR_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// The scheme's name, written into membership credentials.
    #[arg(
        long,
        env = "TSUNAGU_OPERATOR_SCHEME_NAME",
        default_value = "BASC battery supply-chain data space"
    )]
    pub scheme_name: String,
    /// How long issued credentials are valid, in days.
    #[arg(long, env = "TSUNAGU_OPERATOR_CREDENTIAL_DAYS", default_value_t = 365)]
    pub credential_days: i64,
    /// PEM certificate chain for HTTPS (with --tls-key-file); empty: plain HTTP.
    #[arg(long, env = "TSUNAGU_OPERATOR_TLS_CERT_FILE", default_value = "")]
    pub tls_cert_file: String,
    /// PEM private key of the certificate.
    #[arg(long, env = "TSUNAGU_OPERATOR_TLS_KEY_FILE", default_value = "")]
    pub tls_key_file: String,
    /// Extra PEM root certificates to trust when resolving participants' did:web.
    #[arg(long, env = "TSUNAGU_OPERATOR_TLS_CA_FILE", default_value = "")]
    pub tls_ca_file: String,
    /// Development only: resolve participants' did:web over plain HTTP.
    #[arg(long, env = "TSUNAGU_OPERATOR_DID_WEB_INSECURE_HTTP")]
    pub did_web_insecure_http: bool,
}

/// A running operator. Dropping it stops the listener.
pub struct OperatorNode {
    pub url: String,
    pub did: String,
    pub addr: SocketAddr,
    pub admin_token: Secret,
    server: JoinHandle<()>,
}

impl Drop for OperatorNode {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn start(options: &OperatorOptions) -> anyhow::Result<OperatorNode> {
    if options.admin_token.len() < 16 {
        anyhow::bail!("the admin token must be at least 16 characters");
    }
    let listener = TcpListener::bind(&options.bind)
        .await
        .with_context(|| format!("cannot listen on {}", options.bind))?;
    let addr = listener.local_addr()?;
    let tls = crate::node::tls_from_files(&options.tls_cert_file, &options.tls_key_file)?;
    let url = if options.public_url.is_empty() {
        crate::node::base_url(addr, tls.is_some())
    } else {
        options.public_url.trim_end_matches('/').to_owned()
    };
    let did = did_web_for_url(&url)?;
    let store: Arc<dyn DocumentStore> = if options.database_url.starts_with("postgres") {
        Arc::new(
            PostgresStore::connect(&options.database_url, 8)
                .await
                .context("cannot open the operator's PostgreSQL database")?,
        )
    } else {
        Arc::new(
            SqliteStore::open_url(&options.database_url)
                .await
                .with_context(|| format!("cannot open {}", options.database_url))?,
        )
    };
    let keys = load_or_create_keys(&options.key_file)?;
    let did_document = serde_json::to_value(tsunagu_trust::did::DidDocument::for_key_ring(
        &tsunagu_trust::did::Did::parse(&did)?,
        &keys,
        chrono::Utc::now(),
        vec![tsunagu_trust::did::Service::new(
            format!("{did}#directory"),
            "ParticipantDirectory",
            format!("{url}/v1/participants"),
        )],
    ))?;
    let issuer = CredentialIssuer::new(
        did.clone(),
        keys.active().clone(),
        format!("{url}/status"),
        options.scheme_name.clone(),
    );
    let operator = Operator::new(
        store,
        issuer,
        chrono::Duration::days(options.credential_days.max(1)),
    );
    let client = crate::node::client_for(&options.tls_ca_file)?;
    let state = OperatorState {
        operator,
        admin_token_sha256: Sha256::digest(options.admin_token.as_bytes()).into(),
        resolver: Arc::new(tsunagu_server::HttpDidResolver::new(
            client,
            !options.did_web_insecure_http,
        )),
        replay: Arc::new(ReplayCache::new(100_000, chrono::Duration::minutes(5))),
        did_document,
    };
    let router = operator_router(state);
    let server = crate::node::serve(listener, router, tls)?;
    Ok(OperatorNode {
        url,
        did,
        addr,
        admin_token: Secret::new(options.admin_token.clone()),
        server,
    })
}
