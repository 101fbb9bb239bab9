//! `tsunagu bench dsp`: figures for the connector core, measured on loopback with real sockets.
//!
//! - completed consumer-initiated negotiations per second (REQUESTED → FINALIZED at the
//!   consumer) with N running at once, and their p50/p99 latency;
//! - pull-transfer throughput of one large stored asset;
//! - time-to-ready and idle RSS of one `tsunagu serve` process.
//!
//! `tsunagu bench passport`: fetching a remote battery passport over DSP, cold (catalog,
//! negotiation, transfer) and warm (under an agreement already held); `tsunagu bench pcf`:
//! the carbon-footprint roll-up.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use tsunagu_core::{AssetSelector, NegotiationState, TransferMode, TransferState};
use tsunagu_engine::{
    ByteStream, Connector, NewAssetRequest, NewContractDefinition, NewPolicyDefinition,
    StartNegotiation, StartTransfer,
};

use crate::node::{self, Node};

#[derive(Debug, Clone)]
pub struct DspOptions {
    pub negotiations: usize,
    pub concurrency: usize,
    pub transfer_mb: usize,
    /// PostgreSQL server URL to create the two connectors' databases on; SQLite when absent.
    pub postgres_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DspReport {
    pub backend: String,
    pub negotiations: usize,
    pub concurrency: usize,
    pub negotiations_finalized: usize,
    pub negotiations_per_second: f64,
    pub negotiation_p50_ms: f64,
    pub negotiation_p99_ms: f64,
    pub transfer_bytes: u64,
    pub transfer_mb_per_second: f64,
    pub time_to_ready_ms: f64,
    pub idle_rss_mb: f64,
    /// The same negotiations between two onboarded members authenticating with DCP
    /// (self-issued tokens, presentations, credentials; SQLite).
    pub dcp_negotiations_per_second: f64,
    pub dcp_negotiations_finalized: usize,
    pub dcp_negotiation_p99_ms: f64,
    /// Throughput lost to authentication: 1 − dcp / development-header throughput, in %.
    pub dcp_cost_percent: f64,
    /// The development-header negotiations again, with the transaction log on.
    pub ledger_negotiations_per_second: f64,
    /// Throughput lost to the transaction log, in %.
    pub ledger_cost_percent: f64,
}

/// Figures of one run of concurrent negotiations.
struct NegotiationFigures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    finalized: usize,
}

async fn negotiation_phase(
    consumer: &Node,
    provider: &Node,
    offer: serde_json::Value,
    options: &DspOptions,
) -> anyhow::Result<NegotiationFigures> {
    // A warm-up round at the measured concurrency, so that connection pools hold as many
    // connections as the run uses and caches are filled: otherwise the first round opens a
    // connection per negotiation in each direction, and those showed as a third of the p99.
    let counterparty = Counterparty::of(provider);
    futures::future::try_join_all(
        (0..options.concurrency.max(1))
            .map(|_| negotiate(&consumer.connector, &counterparty, offer.clone())),
    )
    .await?;
    let started = Instant::now();
    // Each negotiation is a task of its own, as the requests of separate clients would be.
    let results = futures::stream::iter(0..options.negotiations)
        .map(|_| {
            let (consumer, provider, offer) = (
                consumer.connector.clone(),
                Counterparty::of(provider),
                offer.clone(),
            );
            tokio::spawn(async move { negotiate(&consumer, &provider, offer).await })
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed();
    let mut latencies = Vec::with_capacity(results.len());
    let mut finalized = 0;
    for result in results {
        let (latency, state, _) = result??;
        latencies.push(latency);
        if state == NegotiationState::Finalized {
            finalized += 1;
        }
    }
    latencies.sort();
    Ok(NegotiationFigures {
        per_second: options.negotiations as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        finalized,
    })
}

/// The negotiation figures of a development-header pair that keeps transaction logs.
async fn ledger_phase(options: &DspOptions) -> anyhow::Result<NegotiationFigures> {
    let dir = tempfile::tempdir()?;
    let mut configs = Vec::new();
    for name in ["provider", "consumer"] {
        let mut config = node::dev_config(
            &format!("did:web:{name}.ledger.bench"),
            database_url(options, dir.path(), &format!("{name}-ledger")).await?,
        );
        config.worker_batch = 256;
        config.key_file = dir
            .path()
            .join(format!("{name}-keys.json"))
            .display()
            .to_string();
        config.ledger = true;
        configs.push(config);
    }
    let provider = node::start(&configs[0]).await?;
    let consumer = node::start(&configs[1]).await?;
    let offer = publish(&provider, &consumer, "bench-small", 1024).await?;
    negotiation_phase(&consumer, &provider, offer, options).await
}

/// The negotiation figures between two members of a DCP network (operator included).
async fn dcp_phase(options: &DspOptions) -> anyhow::Result<NegotiationFigures> {
    use crate::network::{Company, Network, NetworkOptions};
    let dir = tempfile::tempdir()?;
    // Plain HTTP and no log, like the development-header run it is compared with: the
    // difference is authentication alone.
    let network = Network::start_with(
        dir.path(),
        vec![
            Company::new(
                "provider",
                "Bench Provider K.K.",
                300_000_000_001,
                &["materialMaker"],
            ),
            Company::new(
                "consumer",
                "Bench Consumer K.K.",
                300_000_000_002,
                &["cellMaker"],
            ),
        ],
        NetworkOptions {
            tls: false,
            ledger: false,
            pcf_app: false,
            ..NetworkOptions::default()
        },
    )
    .await?;
    let provider = &network.member("provider").node;
    let consumer = &network.member("consumer").node;
    let offer = publish(provider, consumer, "bench-small", 1024).await?;
    negotiation_phase(consumer, provider, offer, options).await
}

async fn database_url(options: &DspOptions, dir: &Path, name: &str) -> anyhow::Result<String> {
    match &options.postgres_url {
        None => Ok(format!(
            "sqlite:{}",
            dir.join(format!("{name}.sqlite")).display()
        )),
        Some(server) => {
            use sqlx::Connection;
            let database = format!("tsunagu_bench_{name}_{}", std::process::id());
            let mut connection = sqlx::PgConnection::connect(server)
                .await
                .context("cannot connect to the PostgreSQL server")?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {database}"))
                .execute(&mut connection)
                .await?;
            sqlx::query(&format!("CREATE DATABASE {database}"))
                .execute(&mut connection)
                .await?;
            let base = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(base, _)| base);
            Ok(format!("{base}/{database}"))
        }
    }
}

/// Publishes one asset under a policy that admits everyone, and returns the consumer's view of
/// its offer.
async fn publish(
    provider: &Node,
    consumer: &Node,
    asset_id: &str,
    size: usize,
) -> anyhow::Result<serde_json::Value> {
    let p = &provider.connector;
    p.create_asset(NewAssetRequest {
        id: Some(asset_id.into()),
        properties: Default::default(),
        http_source: None,
        media_type: Some("application/octet-stream".into()),
    })
    .await?;
    let chunk = bytes::Bytes::from(vec![0x5a_u8; 1 << 20]);
    let full = size / chunk.len();
    let rest = size % chunk.len();
    let pieces = futures::stream::iter(
        std::iter::repeat_n(chunk.clone(), full)
            .chain((rest > 0).then(|| chunk.slice(..rest)))
            .map(Ok),
    );
    let body: ByteStream = Box::pin(pieces);
    p.upload_asset(asset_id, None, body).await?;
    if p.policy_definition("open").await.is_err() {
        p.create_policy_definition(NewPolicyDefinition {
            id: Some("open".into()),
            policy: json!({"@type": "Set", "permission": [{"action": "use"}]}),
        })
        .await?;
    }
    p.create_contract_definition(NewContractDefinition {
        id: Some(format!("def-{asset_id}")),
        access_policy_id: "open".into(),
        contract_policy_id: "open".into(),
        assets: AssetSelector::Ids(vec![asset_id.into()]),
    })
    .await?;
    let request = json!({
        "@context": [tsunagu_wire::DSP_CONTEXT],
        "@type": "CatalogRequestMessage",
        "filter": [{"operandLeft": "id", "operator": "=", "operandRight": asset_id}]
    });
    let (catalog, _) = consumer
        .connector
        .request_catalog(provider.participant_id(), &provider.dsp_url(), request)
        .await?;
    catalog["dataset"][0]["hasPolicy"][0]
        .as_object()
        .cloned()
        .map(serde_json::Value::Object)
        .context("the published asset is not in the catalog")
}

/// Whom a benchmark negotiation is with.
struct Counterparty {
    dsp_url: String,
    participant_id: String,
}

impl Counterparty {
    fn of(node: &Node) -> Counterparty {
        Counterparty {
            dsp_url: node.dsp_url(),
            participant_id: node.connector.participant_id().to_owned(),
        }
    }
}

async fn negotiate(
    consumer: &Connector,
    provider: &Counterparty,
    offer: serde_json::Value,
) -> anyhow::Result<(Duration, NegotiationState, Option<String>)> {
    let started = Instant::now();
    let negotiation = consumer
        .start_negotiation(StartNegotiation {
            counter_party_address: provider.dsp_url.clone(),
            counter_party_id: provider.participant_id.clone(),
            offer,
        })
        .await?;
    let done = consumer
        .wait_for_negotiation(
            &negotiation.id,
            NegotiationState::is_terminal,
            Duration::from_secs(60),
        )
        .await?;
    Ok((started.elapsed(), done.state, done.agreement.map(|a| a.id)))
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

pub async fn dsp(options: DspOptions) -> anyhow::Result<DspReport> {
    let dir = tempfile::tempdir()?;
    let mut provider_config = node::dev_config(
        "did:web:provider.bench",
        database_url(&options, dir.path(), "provider").await?,
    );
    let mut consumer_config = node::dev_config(
        "did:web:consumer.bench",
        database_url(&options, dir.path(), "consumer").await?,
    );
    provider_config.worker_batch = 256;
    consumer_config.worker_batch = 256;
    let provider = node::start(&provider_config).await?;
    let consumer = node::start(&consumer_config).await?;

    // Negotiations.
    let offer = publish(&provider, &consumer, "bench-small", 1024).await?;
    let figures = negotiation_phase(&consumer, &provider, offer, &options).await?;

    // Transfer.
    let size = options.transfer_mb << 20;
    let offer = publish(&provider, &consumer, "bench-large", size).await?;
    let (_, state, agreement) =
        negotiate(&consumer.connector, &Counterparty::of(&provider), offer).await?;
    if state != NegotiationState::Finalized {
        bail!("the transfer's negotiation ended {state}");
    }
    let transfer = consumer
        .connector
        .start_transfer(StartTransfer {
            counter_party_address: provider.dsp_url(),
            agreement_id: agreement.context("agreement")?,
            mode: TransferMode::Pull,
        })
        .await?;
    consumer
        .connector
        .wait_for_transfer(
            &transfer.id,
            |s| s == TransferState::Started,
            Duration::from_secs(30),
        )
        .await?;
    let started = Instant::now();
    let mut data = consumer.connector.pull_data(&transfer.id).await?;
    let mut bytes = 0u64;
    while let Some(piece) = data.body.next().await {
        bytes += piece?.len() as u64;
    }
    let transfer_elapsed = started.elapsed();
    if bytes != size as u64 {
        bail!("pulled {bytes} bytes, expected {size}");
    }
    drop(consumer);
    drop(provider);

    let (time_to_ready, idle_rss) = serve_process_figures(dir.path()).await?;
    let dcp = dcp_phase(&options).await?;
    let logged = ledger_phase(&options).await?;
    Ok(DspReport {
        backend: if options.postgres_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
        .into(),
        negotiations: options.negotiations,
        concurrency: options.concurrency,
        negotiations_finalized: figures.finalized,
        negotiations_per_second: figures.per_second,
        negotiation_p50_ms: figures.p50_ms,
        negotiation_p99_ms: figures.p99_ms,
        transfer_bytes: bytes,
        transfer_mb_per_second: bytes as f64 / (1 << 20) as f64 / transfer_elapsed.as_secs_f64(),
        time_to_ready_ms: time_to_ready.as_secs_f64() * 1e3,
        idle_rss_mb: idle_rss,
        dcp_negotiations_per_second: dcp.per_second,
        dcp_negotiations_finalized: dcp.finalized,
        dcp_negotiation_p99_ms: dcp.p99_ms,
        dcp_cost_percent: (1.0 - dcp.per_second / figures.per_second) * 100.0,
        ledger_negotiations_per_second: logged.per_second,
        ledger_cost_percent: (1.0 - logged.per_second / figures.per_second) * 100.0,
    })
}

/// Starts `tsunagu serve` as its own process, measures how long until it answers, lets it
/// idle, and reads its resident memory.
async fn serve_process_figures(dir: &Path) -> anyhow::Result<(Duration, f64)> {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .env("TSUNAGU_PARTICIPANT_ID", "did:web:idle.bench")
        .env("TSUNAGU_BIND", format!("127.0.0.1:{port}"))
        .env(
            "TSUNAGU_DATABASE_URL",
            format!("sqlite:{}", dir.join("idle.sqlite").display()),
        )
        .env("TSUNAGU_MANAGEMENT_API_KEY", "bench-key-0123456789")
        .env("TSUNAGU_DEV_INSECURE_IDENTITY", "true")
        .env("TSUNAGU_LOG", "error")
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start tsunagu serve")?;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("tsunagu serve did not become ready in 10 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = child.id().context("child pid")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    child.kill().await.ok();
    Ok((ready, rss_kb / 1024.0))
}

pub fn print_table(report: &DspReport) {
    let goal = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!("tsunagu bench dsp ({} backend)", report.backend);
    println!("{:<44} {:>12}  {:<12}", "measure", "value", "goal");
    println!(
        "{:<44} {:>12.0}  {:<12} {}",
        format!(
            "negotiations/s ({} at once, {} total)",
            report.concurrency, report.negotiations
        ),
        report.negotiations_per_second,
        ">= 1000",
        goal(report.negotiations_per_second >= 1000.0)
    );
    println!(
        "{:<44} {:>12}  {:<12}",
        "negotiations finalized", report.negotiations_finalized, "all"
    );
    println!(
        "{:<44} {:>12.1}  {:<12}",
        "negotiation latency p50 (ms)", report.negotiation_p50_ms, ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "negotiation latency p99 (ms)",
        report.negotiation_p99_ms,
        "< 50",
        goal(report.negotiation_p99_ms < 50.0)
    );
    println!(
        "{:<44} {:>12.0}  {:<12} {}",
        format!("pull transfer MB/s ({} MB)", report.transfer_bytes >> 20),
        report.transfer_mb_per_second,
        ">= 200",
        goal(report.transfer_mb_per_second >= 200.0)
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "time to ready (ms)",
        report.time_to_ready_ms,
        "< 200",
        goal(report.time_to_ready_ms < 200.0)
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "idle RSS (MB)",
        report.idle_rss_mb,
        "< 30",
        goal(report.idle_rss_mb < 30.0)
    );
    println!(
        "{:<44} {:>12.0}  {:<12}",
        format!(
            "negotiations/s with DCP auth ({} finalized)",
            report.dcp_negotiations_finalized
        ),
        report.dcp_negotiations_per_second,
        ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12}",
        "negotiation latency p99 with DCP (ms)", report.dcp_negotiation_p99_ms, ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "throughput cost of DCP auth (%)",
        report.dcp_cost_percent,
        "< 30",
        goal(report.dcp_cost_percent < 30.0)
    );
    println!(
        "{:<44} {:>12.0}  {:<12}",
        "negotiations/s with the transaction log", report.ledger_negotiations_per_second, ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "throughput cost of the transaction log (%)",
        report.ledger_cost_percent,
        "< 10",
        goal(report.ledger_cost_percent < 10.0)
    );
}

/// Figures of `tsunagu bench pcf`.
#[derive(Debug, Serialize)]
pub struct PcfReport {
    pub parts: usize,
    pub tiers: usize,
    pub bom_lines: usize,
    pub activity_items: usize,
    pub runs: usize,
    pub best_ms: f64,
    pub median_ms: f64,
    pub product_kg_co2e: String,
}

/// Rolls up a synthetic chain of `parts` parts over `tiers` tiers `runs` times.
pub fn pcf(parts: usize, tiers: usize, runs: usize) -> anyhow::Result<PcfReport> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let figures = tsunagu_pcf::bench_rollup(parts, tiers, Instant::now)
            .map_err(|error| anyhow::anyhow!("the roll-up failed: {error}"))?;
        times.push(figures.elapsed);
        if let Some(previous) = &last {
            let previous: &tsunagu_pcf::BenchFigures = previous;
            if previous.product_kg_co2e != figures.product_kg_co2e {
                bail!("two runs of the same chain gave different results");
            }
        }
        last = Some(figures);
    }
    let figures = last.context("at least one run")?;
    times.sort();
    Ok(PcfReport {
        parts: figures.parts,
        tiers: figures.tiers,
        bom_lines: figures.bom_lines,
        activity_items: figures.activity_items,
        runs,
        best_ms: times[0].as_secs_f64() * 1e3,
        median_ms: times[times.len() / 2].as_secs_f64() * 1e3,
        product_kg_co2e: figures.product_kg_co2e.to_string(),
    })
}

pub fn print_pcf(report: &PcfReport) {
    println!(
        "tsunagu bench pcf: {} parts over {} tiers ({} BOM lines, {} activity items), {} runs",
        report.parts, report.tiers, report.bom_lines, report.activity_items, report.runs
    );
    let goal = if report.median_ms < 1000.0 {
        "ok"
    } else {
        "MISSED"
    };
    println!("{:<44} {:>12}  {:<12}", "measure", "value", "goal");
    println!(
        "{:<44} {:>12.1}  {:<12}",
        "roll-up, best (ms)", report.best_ms, ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {goal}",
        "roll-up, median (ms)", report.median_ms, "< 1000"
    );
    println!(
        "{:<44} {:>12}",
        "product footprint (kg CO2e)", report.product_kg_co2e
    );
}

/// Figures of `tsunagu bench chain`.
#[derive(Debug, Serialize)]
pub struct ChainReport {
    pub companies: usize,
    pub tiers: usize,
    pub trade_requests: usize,
    /// Starting every connector and onboarding it with the operator.
    pub network_start_ms: f64,
    /// From the first trade request to the last result settled at the top.
    pub flow_ms: f64,
    /// The top companies' results equal a central computation over everyone's data.
    pub equals_central: bool,
    pub top_results_kg_co2e: Vec<String>,
}

/// Runs a synthetic `tiers`-tier chain of `companies` companies on loopback: each company a
/// connector with the PCF app, onboarded with the operator, trading over DSP with DCP.
pub async fn chain(companies: usize, tiers: usize) -> anyhow::Result<ChainReport> {
    let products = crate::pcf_chain::synthetic_chain(companies, tiers)?;
    let dir = tempfile::tempdir()?;
    let members = products
        .iter()
        .enumerate()
        .map(|(i, product)| {
            let role = if product.inputs.is_empty() {
                "materialMaker"
            } else {
                "cellMaker"
            };
            crate::network::Company::new(
                &product.company,
                &format!("Bench company {}", product.company),
                900_000_000_000 + i as u64,
                &[role],
            )
        })
        .collect();
    let started = Instant::now();
    let network = crate::network::Network::start_with(
        dir.path(),
        members,
        crate::network::NetworkOptions {
            pcf_app: true,
            ..Default::default()
        },
    )
    .await?;
    let network_start = started.elapsed();
    let outcome =
        crate::pcf_chain::run(&network, &products, std::time::Duration::from_secs(300)).await?;
    outcome.check_confidentiality(&products)?;
    let central = crate::pcf_chain::central_results(&products)?;
    let top_tier = format!("tier{}-", tiers - 1);
    let top: Vec<_> = outcome
        .companies
        .iter()
        .filter(|c| c.company.starts_with(&top_tier))
        .collect();
    Ok(ChainReport {
        companies: products.len(),
        tiers,
        trade_requests: outcome.requests,
        network_start_ms: network_start.as_secs_f64() * 1e3,
        flow_ms: outcome.elapsed.as_secs_f64() * 1e3,
        equals_central: outcome
            .companies
            .iter()
            .all(|c| central[&c.company].stages == c.footprint.stages),
        top_results_kg_co2e: top
            .iter()
            .map(|c| format!("{} {}", c.company, c.footprint.total_kg_co2e().round_dp(3)))
            .collect(),
    })
}

pub fn print_chain(report: &ChainReport) {
    println!(
        "tsunagu bench chain: {} companies in {} tiers, {} trade requests over DSP (DCP, HTTPS, loopback)",
        report.companies, report.tiers, report.trade_requests
    );
    println!("{:<52} {:>12}", "measure", "value");
    println!(
        "{:<52} {:>12.0}",
        "network start and onboarding (ms)", report.network_start_ms
    );
    println!(
        "{:<52} {:>12.0}",
        "requests out, results settled at the top (ms)", report.flow_ms
    );
    println!(
        "{:<52} {:>12}",
        "equal to a central computation",
        if report.equals_central { "yes" } else { "NO" }
    );
    for top in &report.top_results_kg_co2e {
        println!("{:<52} {:>12}", "top product (kg CO2e per kg)", top);
    }
}

/// Figures of `tsunagu bench passport`.
#[derive(Debug, Serialize)]
pub struct PassportReport {
    pub fetches: usize,
    /// Catalog, negotiation, pull transfer and verification, each with a new agreement.
    pub cold_p50_ms: f64,
    pub cold_p99_ms: f64,
    /// Pull transfer and verification under an agreement already held.
    pub warm_p50_ms: f64,
    pub warm_p99_ms: f64,
    /// Bytes of the view fetched (an SD-JWT presentation).
    pub view_bytes: usize,
}

/// Fetches a remote passport's legitimate-interest view over DSP on a loopback network of
/// two onboarded members (HTTPS, DCP, transaction logs on): `fetches` times with a new
/// agreement each (cold), then `fetches` times under one held agreement (warm). Every fetch
/// is verified (the operator's signature, the battery, no field above the group).
pub async fn passport(fetches: usize) -> anyhow::Result<PassportReport> {
    use crate::network::{Company, Network, NetworkOptions};
    use crate::passport_dsp;
    use tsunagu_passport::AccessGroup;

    let fetches = fetches.max(1);
    let dir = tempfile::tempdir()?;
    let network = Network::start_with(
        dir.path(),
        vec![
            Company::new("pack", "Bench Pack K.K.", 800_000_000_001, &["packMaker"]),
            Company::new(
                "recycler",
                "Bench Recycling K.K.",
                800_000_000_002,
                &["recycler"],
            ),
        ],
        NetworkOptions {
            passport_app: true,
            ..NetworkOptions::default()
        },
    )
    .await?;
    let pack = &network.member("pack").node;
    let recycler = &network.member("recycler").node;
    let app = pack
        .passport
        .as_ref()
        .context("the pack maker runs the passport app")?;
    let passport = tsunagu_passport::install_demo_battery(&app.service).await?;
    passport_dsp::publish_passport(pack, &passport.battery).await?;
    let dsp_url = pack.dsp_url();
    let fetch_cold = || {
        passport_dsp::fetch_remote_passport_with_new_agreement(
            recycler,
            pack.participant_id(),
            &dsp_url,
            &passport.battery,
            AccessGroup::LegitimateInterest,
        )
    };
    let fetch_warm = || {
        passport_dsp::fetch_remote_passport(
            recycler,
            pack.participant_id(),
            &dsp_url,
            &passport.battery,
            AccessGroup::LegitimateInterest,
        )
    };
    // One fetch of each kind first, so that connections, credential presentations and DID
    // documents are cached as in a running connector.
    let warm_up = fetch_cold().await?;
    let view_bytes = warm_up.view.presentation.len();
    fetch_warm().await?;
    let mut cold = Vec::with_capacity(fetches);
    for _ in 0..fetches {
        let started = Instant::now();
        let fetched = fetch_cold().await?;
        cold.push(started.elapsed());
        if !fetched.negotiated {
            bail!("a cold fetch did not negotiate");
        }
    }
    let mut warm = Vec::with_capacity(fetches);
    for _ in 0..fetches {
        let started = Instant::now();
        let fetched = fetch_warm().await?;
        warm.push(started.elapsed());
        if fetched.negotiated {
            bail!("a warm fetch negotiated");
        }
    }
    cold.sort();
    warm.sort();
    Ok(PassportReport {
        fetches,
        cold_p50_ms: percentile(&cold, 0.50),
        cold_p99_ms: percentile(&cold, 0.99),
        warm_p50_ms: percentile(&warm, 0.50),
        warm_p99_ms: percentile(&warm, 0.99),
        view_bytes,
    })
}

pub fn print_passport(report: &PassportReport) {
    let goal = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!(
        "tsunagu bench passport: {} fetches each of a remote passport view ({} bytes) over DSP, loopback, HTTPS + DCP",
        report.fetches, report.view_bytes
    );
    println!("{:<44} {:>12}  {:<12}", "measure", "value", "goal");
    println!(
        "{:<44} {:>12.1}  {:<12}",
        "cold fetch p50 (ms)", report.cold_p50_ms, ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "cold fetch p99 (ms)",
        report.cold_p99_ms,
        "< 200",
        goal(report.cold_p99_ms < 200.0)
    );
    println!(
        "{:<44} {:>12.1}  {:<12}",
        "warm fetch p50 (ms)", report.warm_p50_ms, ""
    );
    println!(
        "{:<44} {:>12.1}  {:<12} {}",
        "warm fetch p99 (ms)",
        report.warm_p99_ms,
        "< 20",
        goal(report.warm_p99_ms < 20.0)
    );
}
