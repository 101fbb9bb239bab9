//! A data space on loopback: the scheme operator and a set of companies, each with its own
//! connector, keys and database, onboarded for real (application, admin approval, credentials)
//! and authenticating every DSP call with DCP. The demo, the end-to-end tests and the
//! benchmark build their networks here.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::config::Config;
use crate::node::{self, Node};
use crate::operator::{self, OperatorNode, OperatorOptions};

/// One company to start: its name, legal name, corporate number and roles.
#[derive(Debug, Clone)]
pub struct Company {
    pub name: String,
    pub legal_name: String,
    /// A Japanese corporate number (13 digits with a valid check digit).
    pub corporate_number: String,
    pub roles: Vec<String>,
    pub country: String,
    /// The security level the operator certifies (`"1"` to `"3"`).
    pub security_profile: String,
}

pub struct Member {
    pub company: Company,
    pub node: Node,
    pub config: Config,
    /// What an Ouranos client needs besides the configuration, when the company runs the
    /// PCF app.
    pub ouranos: Option<OuranosAccess>,
}

/// An access token of the company's demo Ouranos account, and the operator it acts for.
pub struct OuranosAccess {
    pub token: String,
    pub operator: tsunagu_pcf::Operator,
}

pub struct Network {
    pub operator: OperatorNode,
    pub members: Vec<Member>,
    pub dir: PathBuf,
    pub tls: NetworkTls,
}

/// Makes a valid Japanese corporate number from a 12-digit base by computing its check digit.
pub fn corporate_number(base: u64) -> String {
    let base = format!("{:012}", base % 1_000_000_000_000);
    let check = tsunagu_operator::corporate_number_check_digit(base.as_bytes());
    format!("{check}{base}")
}

impl Company {
    pub fn new(name: &str, legal_name: &str, number_base: u64, roles: &[&str]) -> Company {
        Company {
            name: name.to_owned(),
            legal_name: legal_name.to_owned(),
            corporate_number: corporate_number(number_base),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            country: "JP".into(),
            security_profile: "2".into(),
        }
    }
}

/// The network's self-signed certificate (for `localhost` and 127.0.0.1), which every
/// listener serves and every client trusts: the whole loopback network speaks HTTPS and
/// resolves `did:web` over HTTPS, as a real deployment does.
pub struct NetworkTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl NetworkTls {
    pub fn create(dir: &Path) -> anyhow::Result<NetworkTls> {
        let (cert, key) =
            tsunagu_server::tls::self_signed(&["localhost".into(), "127.0.0.1".into()])?;
        let tls = NetworkTls {
            cert_file: dir.join("network-cert.pem"),
            key_file: dir.join("network-key.pem"),
        };
        std::fs::write(&tls.cert_file, cert)?;
        crate::node::write_secret_file(&tls.key_file, key.as_bytes())?;
        Ok(tls)
    }
}

/// How a loopback network is built.
#[derive(Debug, Clone, Copy)]
pub struct NetworkOptions {
    /// Serve HTTPS (and resolve `did:web` over HTTPS); otherwise plain HTTP on loopback.
    pub tls: bool,
    /// Keep transaction logs.
    pub ledger: bool,
    /// The least time between two checkpoint exchanges with the same partner.
    pub witness_interval: std::time::Duration,
    /// Run the PCF app in every company, with sample footprints and a PACT client whose
    /// credentials (drawn for this run) the manifest lists.
    pub pcf_app: bool,
    /// Run the battery passport app in every company.
    pub passport_app: bool,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            tls: true,
            ledger: true,
            witness_interval: std::time::Duration::from_secs(10),
            pcf_app: false,
            passport_app: false,
        }
    }
}

/// Starts the operator in `dir`.
pub async fn start_operator(dir: &Path, tls: &NetworkTls) -> anyhow::Result<OperatorNode> {
    start_operator_with(dir, tls, NetworkOptions::default()).await
}

async fn start_operator_with(
    dir: &Path,
    tls: &NetworkTls,
    options: NetworkOptions,
) -> anyhow::Result<OperatorNode> {
    let file = |path: &Path| {
        if options.tls {
            path.display().to_string()
        } else {
            String::new()
        }
    };
    operator::start(&OperatorOptions {
        tls_cert_file: file(&tls.cert_file),
        tls_key_file: file(&tls.key_file),
        tls_ca_file: file(&tls.cert_file),
        bind: "127.0.0.1:0".into(),
        public_url: String::new(),
        database_url: format!("sqlite:{}", dir.join("operator.sqlite").display()),
        key_file: dir.join("operator-keys.json"),
        admin_token: format!("admin-{}", uuid::Uuid::new_v4()),
        scheme_name: "BASC battery supply-chain data space (demo)".into(),
        credential_days: 365,
        did_web_insecure_http: !options.tls,
    })
    .await
}

/// The configuration of a company's connector in a loopback network.
pub fn member_config(name: &str, dir: &Path, operator: &OperatorNode, tls: &NetworkTls) -> Config {
    let mut config = node::dev_config(
        "",
        format!("sqlite:{}", dir.join(format!("{name}.sqlite")).display()),
    );
    config.dev_insecure_identity = false;
    config.key_file = dir.join(format!("{name}-keys.json")).display().to_string();
    config.trusted_issuers = operator.did.clone();
    config.operator_url = operator.url.clone();
    config.operator_did = operator.did.clone();
    config.tls_cert_file = tls.cert_file.display().to_string();
    config.tls_key_file = tls.key_file.display().to_string();
    config.tls_ca_file = tls.cert_file.display().to_string();
    config
}

/// Applies to the operator for `node`, has the admin approve, and loads the credentials.
pub async fn onboard(
    client: &reqwest::Client,
    operator: &OperatorNode,
    company: &Company,
    node: &Node,
) -> anyhow::Result<usize> {
    let application = json!({
        "legalName": company.legal_name,
        "registrationNumber": {"kind": "corporateNumberJp", "value": company.corporate_number},
        "legalAddress": {"street": "1-1 Chiyoda", "locality": "Tokyo", "postalCode": "100-0001", "country": company.country},
        "roles": company.roles,
        "did": node.participant_id(),
        "dspUrl": node.dsp_url(),
    });
    let answer = client
        .post(format!("{}/v1/applications", operator.url))
        .json(&application)
        .send()
        .await?;
    let status = answer.status();
    let body: Value = answer.json().await?;
    if !status.is_success() {
        bail!(
            "the operator refused {}'s application: {body}",
            company.name
        );
    }
    let id = body["id"].as_str().context("the application has an id")?;
    let approved = client
        .post(format!(
            "{}/admin/v1/applications/{id}/approve",
            operator.url
        ))
        .bearer_auth(operator.admin_token.expose())
        .json(&json!({"securityProfile": company.security_profile}))
        .send()
        .await?;
    if !approved.status().is_success() {
        bail!(
            "the admin could not approve {}: {}",
            company.name,
            approved.text().await?
        );
    }
    node.refresh_credentials().await
}

impl Network {
    /// Starts the operator and every company, and onboards them (HTTPS, with logs).
    pub async fn start(dir: &Path, companies: Vec<Company>) -> anyhow::Result<Network> {
        Network::start_with(dir, companies, NetworkOptions::default()).await
    }

    pub async fn start_with(
        dir: &Path,
        companies: Vec<Company>,
        options: NetworkOptions,
    ) -> anyhow::Result<Network> {
        let tls = NetworkTls::create(dir)?;
        let operator = start_operator_with(dir, &tls, options).await?;
        let client = crate::node::client_for(&tls.cert_file.display().to_string())?;
        let mut members = Vec::new();
        for company in companies {
            let mut config = member_config(&company.name, dir, &operator, &tls);
            config.ledger = options.ledger;
            config.witness_interval_ms = options.witness_interval.as_millis() as u64;
            config.passport_app = options.passport_app;
            if options.pcf_app {
                config.pcf_app = true;
                config.pact_client_id = format!("{}-pact-demo", company.name);
                config.pact_client_secret =
                    crate::config::Secret::new(format!("demo-{}", uuid::Uuid::new_v4().simple()));
                // A conformance suite on this machine receives event answers over plain
                // HTTP on loopback.
                config.pact_loopback_http_callbacks = true;
                // Ouranos applications get an API key and an operator account.
                config.ouranos_api_key = crate::config::Secret::new(format!(
                    "tsk_demo_{}",
                    uuid::Uuid::new_v4().simple()
                ));
                config.ouranos_account = format!("{}@demo.tsunagu.example", company.name);
                config.ouranos_password =
                    crate::config::Secret::new(format!("demo-{}", uuid::Uuid::new_v4().simple()));
            }
            if !options.tls {
                config.tls_cert_file = String::new();
                config.tls_key_file = String::new();
                config.did_web_insecure_http = true;
            }
            let node = node::start(&config).await?;
            onboard(&client, &operator, &company, &node)
                .await
                .with_context(|| format!("onboarding {}", company.name))?;
            let mut ouranos = None;
            if let Some((service, _)) = &node.pcf {
                let n = u128::try_from(members.len() + 1).unwrap_or(u128::MAX);
                crate::pcf_seed::seed(service, &company, n)
                    .await
                    .with_context(|| format!("sample PCF data of {}", company.name))?;
                let tokens = service
                    .login(&config.ouranos_account, config.ouranos_password.expose())
                    .await
                    .with_context(|| format!("logging in to {}'s Ouranos API", company.name))?;
                ouranos = Some(OuranosAccess {
                    token: tokens.access_token,
                    operator: service.operator().await?,
                });
            }
            members.push(Member {
                company,
                node,
                config,
                ouranos,
            });
        }
        Ok(Network {
            operator,
            members,
            dir: dir.to_owned(),
            tls,
        })
    }

    pub fn member(&self, name: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.company.name == name)
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    /// The JSON description of the running network (`--manifest`).
    pub fn manifest(&self) -> Value {
        json!({
            "ca_certificate_file": self.tls.cert_file.display().to_string(),
            "operator": {
                "url": self.operator.url,
                "did": self.operator.did,
                "admin_token": self.operator.admin_token.expose(),
            },
            "participants": self.members.iter().map(|m| {
                let mut participant = json!({
                "name": m.company.name,
                "legal_name": m.company.legal_name,
                "corporate_number": m.company.corporate_number,
                "roles": m.company.roles,
                "did": m.node.participant_id(),
                "dsp_url": m.node.dsp_url(),
                "did_document_url": format!("{}/.well-known/did.json", m.node.public_url),
                "management_url": m.node.management_url(),
                "management_api_key": m.config.management_api_key.expose(),
                "web_url": m.node.public_url,
                });
                if let (Some(_), Some(ouranos)) = (&m.node.pcf, &m.ouranos) {
                    // Demo-only credentials, drawn for this run.
                    participant["pact_url"] = json!(m.node.public_url);
                    participant["pact_client_id"] = json!(m.config.pact_client_id);
                    participant["pact_client_secret"] =
                        json!(m.config.pact_client_secret.expose());
                    // An Ouranos client is pointed at `base_url` with the `apiKey` header and
                    // `Authorization: Bearer <token>` (valid for an hour; `/auth/login` with
                    // the account gives a new one).
                    participant["ouranos"] = json!({
                        "base_url": m.node.public_url,
                        "api_key": m.config.ouranos_api_key.expose(),
                        "token": ouranos.token,
                        "account": m.config.ouranos_account,
                        "password": m.config.ouranos_password.expose(),
                        "operator_id": ouranos.operator.operator_id,
                        "open_operator_id": ouranos.operator.open_operator_id.as_str(),
                    });
                }
                participant
            }).collect::<Vec<_>>(),
            // The batteries whose passports members issued: filled in by whoever issues them
            // (`id`, `battery`, `issuer`, `passport_url`, `qr_url`).
            "batteries": [],
        })
    }
}
