//! Wiring: from a `Config` to a running connector with its listeners and workers. `serve`,
//! the demo, the benchmark and the end-to-end tests all start connectors this one way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tsunagu_engine::{Connector, Settings, Workers};
use tsunagu_server::{
    AppState, Authenticator, ConnectorIdentity, DcpAuthenticator, DevHeaderAuthenticator,
    HttpDidResolver, HttpPeer, HttpStatusLists, OutboundIdentity,
};
use tsunagu_store::{PostgresStore, SqliteStore, Store};
use tsunagu_trust::keys::KeyRing;
use tsunagu_trust::vc::TrustedIssuers;

use crate::config::Config;
use crate::pcf_dsp::{self, DspTradeTransport};
use tsunagu_pcf::service::PcfService;

/// A running connector. Dropping it stops its listeners and workers.
pub struct Node {
    pub connector: Connector,
    pub public_addr: SocketAddr,
    pub management_addr: SocketAddr,
    /// The base URL partners use (DSP base is `<public_url>/dsp`).
    pub public_url: String,
    /// Whether the listeners speak HTTPS.
    pub tls: bool,
    /// The connector's DCP identity; `None` with the development authenticator.
    pub identity: Option<Arc<ConnectorIdentity>>,
    /// The carbon-footprint app, when `pcf_app` is on, and its trade transport (partners'
    /// DSP addresses are added to it).
    pub pcf: Option<(PcfService, Arc<DspTradeTransport>)>,
    /// The battery passport app, when `passport_app` is on.
    pub passport: Option<tsunagu_passport::PassportApp>,
    /// Fetches passport data from partners over DSP (`passport_dsp`), remembering the
    /// agreements to reuse.
    pub passport_dsp: Arc<crate::passport_dsp::PassportDsp>,
    /// Resolves partners' DIDs (cached); `None` with the development authenticator.
    pub did_resolver: Option<Arc<dyn tsunagu_trust::did::DidResolver>>,
    client: reqwest::Client,
    operator: Option<(String, String)>,
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
        format!("{}/management", base_url(self.management_addr, self.tls))
    }

    /// The participant id partners know this connector by (its DID under DCP).
    pub fn participant_id(&self) -> &str {
        self.connector.participant_id()
    }

    /// Fetches this connector's credentials from the operator and presents them from now on.
    /// Returns how many it holds.
    pub async fn refresh_credentials(&self) -> anyhow::Result<usize> {
        let (Some(identity), Some((url, did))) = (&self.identity, &self.operator) else {
            bail!("this connector has no operator to fetch credentials from");
        };
        let credentials = tsunagu_server::identity::fetch_credentials_from_operator(
            &self.client,
            identity,
            url,
            did,
        )
        .await
        .map_err(anyhow::Error::msg)?;
        let count = credentials.len();
        identity.set_credentials(credentials);
        Ok(count)
    }
}

/// `did:web` for a base URL: `https://cell.example:8443/x` → `did:web:cell.example%3A8443:x`.
pub fn did_web_for_url(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    let host = parsed
        .host_str()
        .with_context(|| format!("{url} has no host"))?;
    let mut did = format!("did:web:{host}");
    if let Some(port) = parsed.port() {
        did.push_str(&format!("%3A{port}"));
    }
    for segment in parsed.path_segments().into_iter().flatten() {
        if !segment.is_empty() {
            did.push(':');
            did.push_str(segment);
        }
    }
    Ok(did)
}

/// The checkpoint signer of the transaction log and the cosigner of partners' checkpoints:
/// the key ring's active key, named by the DID.
pub fn ledger_keys(
    name: &str,
    keys: &KeyRing,
) -> anyhow::Result<(tsunagu_ledger::NoteSigner, tsunagu_ledger::Cosigner)> {
    let secret = active_secret(keys)?;
    let signer =
        tsunagu_ledger::NoteSigner::new(name, ed25519_dalek::SigningKey::from_bytes(&secret))
            .map_err(|error| anyhow::anyhow!("cannot sign checkpoints as {name}: {error}"))?;
    let cosigner =
        tsunagu_ledger::Cosigner::new(name, ed25519_dalek::SigningKey::from_bytes(&secret))
            .map_err(|error| anyhow::anyhow!("cannot cosign checkpoints as {name}: {error}"))?;
    Ok((signer, cosigner))
}

fn active_secret(keys: &KeyRing) -> anyhow::Result<[u8; 32]> {
    use base64::Engine;
    let file = keys.to_file();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(file.active.private_key.as_bytes())
        .context("the key file's private key is not base64url")?;
    let secret: [u8; 32] = secret
        .as_slice()
        .try_into()
        .context("the key file's private key is not 32 bytes")?;
    Ok(secret)
}

/// The checkpoint signer of the transaction log: the key ring's active key, named by the DID.
pub fn ledger_signer(name: &str, keys: &KeyRing) -> anyhow::Result<tsunagu_ledger::NoteSigner> {
    Ok(ledger_keys(name, keys)?.0)
}

/// Reads the key ring, or creates it (readable by the owner only) on first start.
///
/// Replicas of one connector that start together share the key file: the first to create it
/// wins (the file is linked into place only if absent) and the others read its key.
pub fn load_or_create_keys(path: &std::path::Path) -> anyhow::Result<KeyRing> {
    if !path.exists() {
        let keys = KeyRing::generate(&mut rand::thread_rng(), chrono::Utc::now());
        let text = serde_json::to_string_pretty(&keys.to_file())?;
        let temporary = write_temporary_secret(path, text.as_bytes())?;
        let linked = std::fs::hard_link(&temporary, path);
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => {
                tracing::info!(file = %path.display(), kid = keys.active().kid(), "created a new signing key");
                return Ok(keys);
            }
            // Another process created it first: use its key.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot create the key file {}", path.display()));
            }
        }
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let file = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a key ring", path.display()))?;
    KeyRing::from_file(file).with_context(|| format!("{} is not a usable key ring", path.display()))
}

/// Writes the key ring to a new file with mode 0600, then moves it into place.
pub fn write_keys(path: &std::path::Path, keys: &KeyRing) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&keys.to_file())?;
    write_secret_file(path, text.as_bytes())
}

/// Writes a file readable by its owner only (mode 0600), atomically.
pub fn write_secret_file(path: &std::path::Path, contents: &[u8]) -> anyhow::Result<()> {
    let temporary = write_temporary_secret(path, contents)?;
    std::fs::rename(&temporary, path).with_context(|| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot move the key file into {}", path.display())
    })?;
    Ok(())
}

/// Writes `contents` to a new file (mode 0600) beside `path`, under a name no other process
/// or thread uses, and returns that name.
fn write_temporary_secret(
    path: &std::path::Path,
    contents: &[u8],
) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("cannot write the key file {}", temporary.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(temporary)
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

/// Who the connector is and how it knows others: participant id, outbound identity,
/// authenticator, DCP identity and partners' keys (the last two only with DIDs).
type IdentityParts = (
    String,
    OutboundIdentity,
    Arc<dyn Authenticator>,
    Option<Arc<ConnectorIdentity>>,
    Option<Arc<dyn tsunagu_engine::PartyKeys>>,
);

/// Starts a connector. `bind` may use port 0; the actual addresses are in the result, and the
/// public URL follows the actual port when the configuration leaves `public_url` empty.
pub async fn start(config: &Config) -> anyhow::Result<Node> {
    config.check()?;
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
    let tls = tls_config(config)?;
    let public_url = if config.public_url.is_empty() {
        base_url(public_addr, tls.is_some())
    } else {
        config.public_url()
    };

    let store = open_store(config).await?;
    let client = client_for(&config.tls_ca_file)?;
    let mut agreement_signer: Option<Arc<dyn tsunagu_engine::AgreementSigner>> = None;
    let mut caller_trust: Option<tsunagu_passport::CallerTrust> = None;
    let mut did_resolver: Option<Arc<dyn tsunagu_trust::did::DidResolver>> = None;
    let (participant_id, outbound, authenticator, identity, party_keys): IdentityParts = if config
        .dev_insecure_identity
    {
        tracing::warn!(
            "dev_insecure_identity is on: any caller can claim any identity; never expose this connector"
        );
        let attributes = (!config.dev_attributes.is_empty()).then(|| config.dev_attributes.clone());
        (
            config.participant_id.clone(),
            OutboundIdentity::DevHeaders { attributes },
            Arc::new(DevHeaderAuthenticator),
            None,
            None,
        )
    } else {
        let did = if config.participant_id.is_empty() {
            did_web_for_url(&public_url)?
        } else {
            config.participant_id.clone()
        };
        let keys = load_or_create_keys(std::path::Path::new(&config.key_file))?;
        let identity = Arc::new(
            ConnectorIdentity::new(did.clone(), keys, &public_url)
                .with_context(|| format!("participant_id {did} is not a usable DID"))?,
        );
        let resolver: Arc<dyn tsunagu_trust::did::DidResolver> = Arc::new(HttpDidResolver::new(
            client.clone(),
            !config.did_web_insecure_http,
        ));
        let mut trusted = TrustedIssuers::new();
        for issuer in config.trusted_issuers() {
            for credential_type in tsunagu_server::identity::QUERIED_CREDENTIAL_TYPES
                .into_iter()
                .chain(["BitstringStatusListCredential"])
            {
                trusted.trust(credential_type, &issuer);
            }
        }
        let party_keys = Arc::new(tsunagu_server::identity::DidPartyKeys::new(
            resolver.clone(),
        ));
        agreement_signer = Some(Arc::new(tsunagu_server::identity::DidAgreementSigner::new(
            identity.clone(),
            resolver.clone(),
        )));
        let status_lists: Arc<dyn tsunagu_trust::status_list::StatusListSource> = Arc::new(
            HttpStatusLists::new(client.clone(), config.did_web_insecure_http),
        );
        did_resolver = Some(resolver.clone());
        caller_trust = Some(tsunagu_passport::CallerTrust {
            resolver: resolver.clone(),
            status_lists: status_lists.clone(),
            trusted_issuers: trusted.clone(),
        });
        let authenticator = DcpAuthenticator::new(
            identity.clone(),
            resolver,
            status_lists,
            trusted,
            client.clone(),
        );
        (
            did,
            OutboundIdentity::Dcp(identity.clone()),
            Arc::new(authenticator),
            Some(identity),
            Some(party_keys as Arc<dyn tsunagu_engine::PartyKeys>),
        )
    };
    let operator = if config.operator_url.is_empty() {
        None
    } else if config.operator_did.is_empty() {
        Some((
            config.operator_url.clone(),
            did_web_for_url(&config.operator_url)?,
        ))
    } else {
        Some((config.operator_url.clone(), config.operator_did.clone()))
    };
    let peer = Arc::new(HttpPeer::new(client.clone(), outbound));
    let mut settings = Settings::new(
        participant_id,
        format!("{public_url}/dsp"),
        format!("{public_url}/data"),
    );
    settings.token_lifetime = config.token_lifetime();
    settings.lease = Duration::from_secs(config.lease_secs.max(1));
    settings.batch = config.worker_batch.max(1);
    settings.admission = config.admission()?;
    if config.ledger && !config.key_file.is_empty() {
        // The log signs its checkpoints with the connector's key as it was at start; a key
        // rotated later signs from the next start on.
        let keys = load_or_create_keys(std::path::Path::new(&config.key_file))?;
        let (signer, cosigner) = ledger_keys(&settings.participant_id, &keys)?;
        settings.ledger = Some(tsunagu_engine::LedgerSettings {
            origin: settings.participant_id.clone(),
            signer,
            cosigner: Some(cosigner),
        });
    }
    settings.witness_interval = Duration::from_millis(config.witness_interval_ms.max(1));
    // The apps keep their documents in the connector's own store (one pool, one writer).
    let documents: Arc<dyn tsunagu_store::DocumentStore> = store.clone();
    let connector = Connector::new(store, peer, settings);
    if let Some(party_keys) = party_keys {
        connector.set_party_keys(party_keys);
    }
    if let Some(signer) = agreement_signer {
        connector.set_agreement_signer(signer);
    }
    let workers = connector.spawn_workers();

    let state = AppState {
        connector: connector.clone(),
        authenticator,
        management_api_key: Arc::from(config.management_api_key.expose()),
    };
    let mut public = tsunagu_server::public_router(state.clone());
    if let Some(identity) = &identity {
        public = public.merge(tsunagu_server::identity_router(identity.clone()));
    }
    let pcf = if config.pcf_app {
        let (service, transport, router) = start_pcf_app(
            config,
            &connector,
            documents.clone(),
            &client,
            &public_url,
            did_resolver.clone(),
        )
        .await?;
        public = public.merge(router);
        Some((service, transport))
    } else {
        None
    };
    let passport = match (config.passport_app, caller_trust) {
        (true, Some(trust)) => {
            let app = start_passport_app(
                config,
                documents.clone(),
                connector.participant_id(),
                &public_url,
                trust,
            )
            .await?;
            public = public.merge(tsunagu_passport::passport_router(app.clone()));
            Some(app)
        }
        (true, None) => bail!("passport_app needs a DID identity"),
        (false, _) => None,
    };
    let passport_dsp = Arc::new(crate::passport_dsp::PassportDsp::new(
        connector.clone(),
        did_resolver.clone(),
    ));
    let mut management = tsunagu_server::management_router(state);
    management = management.merge(crate::passport_dsp::management_router(
        connector.clone(),
        passport.clone(),
        passport_dsp.clone(),
        config.management_api_key.expose(),
    ));
    if let Some((service, transport)) = &pcf {
        management = management.merge(crate::pcf_catenax::management_router(
            crate::pcf_catenax::CatenaxExchange::new(service.clone(), transport.clone()),
            config.management_api_key.expose(),
        ));
    }
    if let Some(identity) = &identity {
        let key_file = std::path::PathBuf::from(&config.key_file);
        let persist: tsunagu_server::identity::PersistKeys =
            Arc::new(move |keys| write_keys(&key_file, keys).map_err(|error| format!("{error:#}")));
        management = management.merge(tsunagu_server::identity_management_router(
            identity.clone(),
            config.management_api_key.expose(),
            persist,
        ));
    }
    let mut servers = Vec::new();
    match management_listener {
        Some(listener) => {
            servers.push(serve(public_listener, public, tls.clone())?);
            servers.push(serve(listener, management, tls.clone())?);
        }
        None => servers.push(serve(
            public_listener,
            public.merge(management),
            tls.clone(),
        )?),
    }
    Ok(Node {
        tls: tls.is_some(),
        connector,
        public_addr,
        management_addr,
        public_url,
        identity,
        pcf,
        passport,
        passport_dsp,
        did_resolver,
        client,
        operator,
        _workers: workers,
        servers,
    })
}

/// The battery passport app of a connector: its passports in the connector's database, signed
/// with the connector's key as the economic operator's DID, served under the public URL.
async fn start_passport_app(
    config: &Config,
    documents: Arc<dyn tsunagu_store::DocumentStore>,
    operator_did: &str,
    public_url: &str,
    trust: tsunagu_passport::CallerTrust,
) -> anyhow::Result<tsunagu_passport::PassportApp> {
    let keys = load_or_create_keys(std::path::Path::new(&config.key_file))?;
    let base = url::Url::parse(public_url)
        .with_context(|| format!("the public URL {public_url} is not a URL"))?;
    Ok(tsunagu_passport::PassportApp::new(
        documents,
        operator_did.to_owned(),
        keys,
        base,
        trust,
    ))
}

/// The PCF app of a connector: its service on the connector's database, its trade inbox
/// over DSP, the PACT client of the configuration, and the router serving the Ouranos and
/// PACT APIs.
async fn start_pcf_app(
    config: &Config,
    connector: &Connector,
    documents: Arc<dyn tsunagu_store::DocumentStore>,
    client: &reqwest::Client,
    public_url: &str,
    resolver: Option<Arc<dyn tsunagu_trust::did::DidResolver>>,
) -> anyhow::Result<(PcfService, Arc<DspTradeTransport>, axum::Router)> {
    pcf_dsp::publish_trade_inbox(connector)
        .await
        .context("cannot publish the PCF trade inbox")?;
    let transport = DspTradeTransport::resolving(connector.clone(), resolver);
    let service = PcfService::new(documents, transport.clone());
    pcf_dsp::attach_service(connector, service.clone(), transport.clone());
    set_up_pcf_company(config, &service).await?;
    if !config.pact_client_id.is_empty() {
        service
            .register_pact_client(
                &config.pact_client_id,
                config.pact_client_secret.expose(),
                tsunagu_pcf::Disclosure::StageSplit,
            )
            .await
            .context("cannot register the PACT client")?;
    }
    let mut pact = tsunagu_pcf::PactApiSettings::new(client.clone());
    pact.public_base_url = Some(public_url.to_owned());
    pact.allow_loopback_http_callbacks = config.pact_loopback_http_callbacks;
    // Catena-X answers owed before a restart go out once the node serves (the requester's
    // agreement may need negotiating, which needs this node's DSP endpoint up).
    let catenax = crate::pcf_catenax::CatenaxExchange::new(service.clone(), transport.clone());
    tokio::spawn(async move {
        match catenax.deliver_owed().await {
            Ok(0) => {}
            Ok(delivered) => {
                tracing::info!(delivered, "Catena-X answers owed before the restart sent")
            }
            Err(error) => tracing::warn!(%error, "cannot resend owed Catena-X answers"),
        }
    });
    let owed = tsunagu_pcf::pact::resume_owed_events(service.clone(), pact.clone()).await;
    if owed > 0 {
        tracing::info!(owed, "resending PACT event answers owed before the restart");
    }
    let router =
        tsunagu_pcf::pact_router(service.clone(), pact).merge(tsunagu_pcf::ouranos_router(
            service.clone(),
            tsunagu_pcf::OuranosApiSettings {
                public_base_url: Some(public_url.to_owned()),
            },
        ));
    Ok((service, transport, router))
}

/// The company's operator record, Ouranos API key and account from the configuration.
/// Running it again changes nothing but a reset password.
async fn set_up_pcf_company(config: &Config, service: &PcfService) -> anyhow::Result<()> {
    use tsunagu_pcf::service::ServiceError;
    if !config.pcf_company_name.is_empty() {
        match service.operator().await {
            Ok(_) => {}
            Err(ServiceError::NotSetUp) => {
                let number = tsunagu_pcf::CorporateNumber::parse(&config.pcf_corporate_number)
                    .context("pcf_corporate_number")?;
                service
                    .set_up_operator(tsunagu_pcf::Operator {
                        operator_id: uuid::Uuid::new_v4(),
                        name: config.pcf_company_name.clone(),
                        address: String::new(),
                        open_operator_id: tsunagu_pcf::OperatorIdentifier::JapaneseCorporateNumber(
                            number,
                        ),
                        global_operator_id: None,
                    })
                    .await
                    .context("cannot set up the PCF app's operator record")?;
            }
            Err(other) => return Err(other).context("cannot read the PCF app's operator record"),
        }
    }
    let api_key = config.ouranos_api_key.expose();
    if !api_key.is_empty() && service.verify_api_key(Some(api_key)).await.is_err() {
        service
            .register_api_key("configured application", api_key)
            .await
            .context("cannot register ouranos_api_key")?;
    }
    if !config.ouranos_account.is_empty() {
        service
            .create_account(&config.ouranos_account, config.ouranos_password.expose())
            .await
            .context("cannot create ouranos_account")?;
    }
    Ok(())
}

/// Serves `router` on `listener`, over TLS when configured.
pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> anyhow::Result<JoinHandle<()>> {
    Ok(match tls {
        None => tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "listener stopped");
            }
        }),
        Some(config) => {
            let listener = tsunagu_server::tls::TlsListener::new(listener, config)?;
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "listener stopped");
                }
            })
        }
    })
}

/// The TLS configuration from `tls_cert_file` and `tls_key_file`, if set.
pub fn tls_config(config: &Config) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    tls_from_files(&config.tls_cert_file, &config.tls_key_file)
}

/// A TLS server configuration from a PEM certificate file and key file; `None` when both
/// are empty, an error when only one is given.
pub fn tls_from_files(
    cert_file: &str,
    key_file: &str,
) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    match (cert_file.is_empty(), key_file.is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {}
        _ => bail!("a TLS certificate file and key file go together: give both, or neither"),
    }
    let cert = std::fs::read(cert_file).with_context(|| format!("cannot read {cert_file}"))?;
    let key = std::fs::read(key_file).with_context(|| format!("cannot read {key_file}"))?;
    Ok(Some(tsunagu_server::tls::server_config(&cert, &key)?))
}

/// The HTTP client for outbound calls, trusting the extra roots in `ca_file` if one is named.
pub fn client_for(ca_file: &str) -> anyhow::Result<reqwest::Client> {
    let roots = if ca_file.is_empty() {
        Vec::new()
    } else {
        std::fs::read(ca_file).with_context(|| format!("cannot read tls_ca_file {ca_file}"))?
    };
    tsunagu_server::http_client_trusting(&roots).context("cannot build the HTTP client")
}

/// `http(s)://host:port` for a bound address; a loopback address is named `localhost`, since
/// certificates and `did:web` name hosts rather than IP addresses.
pub fn base_url(addr: SocketAddr, tls: bool) -> String {
    if tls {
        let host = if addr.ip().is_loopback() {
            "localhost".to_owned()
        } else {
            addr.ip().to_string()
        };
        format!("https://{host}:{}", addr.port())
    } else {
        format!("http://{addr}")
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
        tls_cert_file: String::new(),
        tls_key_file: String::new(),
        tls_ca_file: String::new(),
        key_file: String::new(),
        trusted_issuers: String::new(),
        operator_url: String::new(),
        operator_did: String::new(),
        ledger: true,
        admission_policy: String::new(),
        did_web_insecure_http: false,
        dev_insecure_identity: true,
        dev_attributes: String::new(),
        token_lifetime_secs: 3600,
        lease_secs: 30,
        worker_batch: 64,
        witness_interval_ms: 10_000,
        log: "warn".into(),
        pcf_app: false,
        passport_app: false,
        pact_client_id: String::new(),
        pact_client_secret: crate::config::Secret::default(),
        pact_loopback_http_callbacks: false,
        pcf_company_name: String::new(),
        pcf_corporate_number: String::new(),
        ouranos_api_key: crate::config::Secret::default(),
        ouranos_account: String::new(),
        ouranos_password: crate::config::Secret::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_starting_together_share_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tsunagu-keys.json");
        let kids: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        load_or_create_keys(&path)
                            .unwrap()
                            .active()
                            .kid()
                            .to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(kids.iter().all(|kid| kid == &kids[0]), "{kids:?}");
        assert_eq!(load_or_create_keys(&path).unwrap().active().kid(), kids[0]);
        // Only the key file is left: no temporary files.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("tsunagu-keys.json")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
