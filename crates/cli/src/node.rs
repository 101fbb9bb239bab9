//! Wiring: from a `Config` to a running connector with its listeners and workers. `serve`,
//! the demo, the benchmark and the end-to-end tests all start connectors this one way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tsunagu_engine::{Connector, Settings, Workers};
use tsunagu_server::{AppState, DevHeaderAuthenticator, HttpPeer};
use tsunagu_store::{PostgresStore, SqliteStore, Store};

use crate::config::Config;

/// A running connector. Dropping it stops its listeners and workers.
pub struct Node {
    pub connector: Connector,
    pub public_addr: SocketAddr,
    pub management_addr: SocketAddr,
    /// The base URL partners use (DSP base is `<public_url>/dsp`).
    pub public_url: String,
    _workers: Workers,
    servers: Vec<JoinHandle<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

impl Node {
    pub fn dsp_url(&self) -> String {
        format!("{}/dsp", self.public_url)
    }

    pub fn management_url(&self) -> String {
        format!("http://{}/management", self.management_addr)
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &config.database_url;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::connect(url, config.database_connections)
            .await
            .context("cannot open the PostgreSQL database")?;
        Ok(Arc::new(store))
    } else {
        let store = SqliteStore::open_url(url)
            .await
            .with_context(|| format!("cannot open the SQLite database {url}"))?;
        Ok(Arc::new(store))
    }
}

/// Starts a connector. `bind` may use port 0; the actual addresses are in the result, and the
/// public URL follows the actual port when the configuration leaves `public_url` empty.
pub async fn start(config: &Config) -> anyhow::Result<Node> {
    if !config.dev_insecure_identity {
        bail!(
            "no authenticator is configured: verifiable-credential authentication (DCP) is not built yet, \
             so this connector can only run with dev_insecure_identity = true, which trusts a caller-supplied \
             identity header and is for development on a trusted network only"
        );
    }
    tracing::warn!(
        "dev_insecure_identity is on: any caller can claim any identity; never expose this connector"
    );
    let public_listener = TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let public_addr = public_listener.local_addr()?;
    let management_listener = if config.management_bind.is_empty() {
        None
    } else {
        Some(
            TcpListener::bind(&config.management_bind)
                .await
                .with_context(|| format!("cannot listen on {}", config.management_bind))?,
        )
    };
    let management_addr = match &management_listener {
        Some(listener) => listener.local_addr()?,
        None => public_addr,
    };
    let public_url = if config.public_url.is_empty() {
        format!("http://{public_addr}")
    } else {
        config.public_url()
    };

    let store = open_store(config).await?;
    let dev_attributes = (!config.dev_attributes.is_empty()).then(|| config.dev_attributes.clone());
    let peer = Arc::new(HttpPeer::new(dev_attributes).context("cannot build the HTTP client")?);
    let mut settings = Settings::new(
        config.participant_id.clone(),
        format!("{public_url}/dsp"),
        format!("{public_url}/data"),
    );
    settings.token_lifetime = config.token_lifetime();
    settings.lease = Duration::from_secs(config.lease_secs.max(1));
    settings.batch = config.worker_batch.max(1);
    let connector = Connector::new(store, peer, settings);
    let workers = connector.spawn_workers();

    let state = AppState {
        connector: connector.clone(),
        authenticator: Arc::new(DevHeaderAuthenticator),
        management_api_key: Arc::from(config.management_api_key.expose()),
    };
    let public = tsunagu_server::public_router(state.clone());
    let management = tsunagu_server::management_router(state);
    let mut servers = Vec::new();
    match management_listener {
        Some(listener) => {
            servers.push(tokio::spawn(serve(public_listener, public)));
            servers.push(tokio::spawn(serve(listener, management)));
        }
        None => servers.push(tokio::spawn(serve(
            public_listener,
            public.merge(management),
        ))),
    }
    Ok(Node {
        connector,
        public_addr,
        management_addr,
        public_url,
        _workers: workers,
        servers,
    })
}

async fn serve(listener: TcpListener, router: axum::Router) {
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!(%error, "listener stopped");
    }
}

/// A configuration for a development connector on an ephemeral loopback port with its own
/// SQLite file, as the demo, the benchmark and the tests use.
pub fn dev_config(participant_id: &str, database_url: String) -> Config {
    Config {
        participant_id: participant_id.to_owned(),
        bind: "127.0.0.1:0".into(),
        management_bind: String::new(),
        public_url: String::new(),
        database_url,
        database_connections: 16,
        management_api_key: crate::config::Secret::new(format!("dev-key-{}", uuid::Uuid::new_v4())),
        dev_insecure_identity: true,
        dev_attributes: String::new(),
        token_lifetime_secs: 3600,
        lease_secs: 30,
        worker_batch: 64,
        log: "warn".into(),
    }
}
