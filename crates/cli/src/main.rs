//! `tsunagu`: run a connector, the demo supply chain, or the benchmarks.

#![allow(clippy::print_stdout)] // The CLI's output is its user interface.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tsunagu::{bench, config::Config, demo, node, operator, verify};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tsunagu",
    version,
    about = "A battery supply-chain data-space connector (Eclipse Dataspace Protocol 2025-1)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one company's connector.
    Serve {
        /// The configuration file (every key can also come from TSUNAGU_<KEY>).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the scheme operator: onboarding, credentials, revocation, participant directory.
    Operator(operator::OperatorOptions),
    /// Check a connector's transaction log: the whole tree, the checkpoint signature, partner
    /// cosignatures, and that a delivery or agreement is included. Exits 1 on any alteration.
    Verify(verify::VerifyOptions),
    /// Make a self-signed TLS certificate and key (PEM) for local use.
    Cert {
        /// Host names and IP addresses the certificate is for, comma-separated.
        #[arg(long, default_value = "localhost,127.0.0.1")]
        names: String,
        /// Where to write the certificate.
        #[arg(long, default_value = "tsunagu-cert.pem")]
        cert: PathBuf,
        /// Where to write the private key (mode 0600).
        #[arg(long, default_value = "tsunagu-key.pem")]
        key: PathBuf,
    },
    /// Run a small supply chain on loopback and print each step.
    Demo {
        /// Keep the connectors' databases in this folder instead of a temporary one.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the network running after the story, until interrupted.
        #[arg(long)]
        serve: bool,
        /// Write a JSON description of the network (URLs, DIDs, API keys) to this file.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Measure the connector.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Negotiations per second and their latency, pull-transfer throughput, time to ready, idle memory.
    Dsp {
        /// Negotiations to complete.
        #[arg(long, default_value_t = 2000)]
        negotiations: usize,
        /// Negotiations in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Size of the transferred asset in MiB.
        #[arg(long, default_value_t = 100)]
        transfer_mb: usize,
        /// Run on PostgreSQL: a server URL whose user may create databases.
        #[arg(long)]
        postgres_url: Option<String>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A multi-tier carbon-footprint chain across companies, each with its own connector,
    /// trading over DSP on loopback.
    Chain {
        /// Companies in the chain.
        #[arg(long, default_value_t = 50)]
        companies: usize,
        /// Tiers of suppliers.
        #[arg(long, default_value_t = 4)]
        tiers: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Carbon-footprint roll-up of a synthetic multi-tier chain (compute only).
    Pcf {
        /// Parts in the chain.
        #[arg(long, default_value_t = 100_000)]
        parts: usize,
        /// Tiers of suppliers.
        #[arg(long, default_value_t = 6)]
        tiers: usize,
        /// Runs (the best and the median are reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Fetching a remote battery passport over DSP: cold (catalog, negotiation, transfer) and warm (existing agreement).
    Passport {
        /// Fetches of each kind.
        #[arg(long, default_value_t = 200)]
        fetches: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(filter: &str) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            init_logging(&config.log);
            let started = std::time::Instant::now();
            let node = node::start(&config).await?;
            tracing::info!(
                participant = %config.participant_id,
                dsp = %node.dsp_url(),
                management = %node.management_url(),
                ready_ms = started.elapsed().as_millis() as u64,
                "connector ready"
            );
            shutdown_signal().await;
            tracing::info!("shutting down");
            drop(node);
            Ok(())
        }
        Command::Operator(options) => {
            init_logging("info");
            let node = operator::start(&options).await?;
            tracing::info!(url = %node.url, did = %node.did, "operator ready");
            shutdown_signal().await;
            drop(node);
            Ok(())
        }
        Command::Verify(options) if options.manifest.is_some() => {
            init_logging("error");
            let verdicts = verify::run_manifest(&options).await?;
            let mut failed = false;
            for verdict in &verdicts {
                match &verdict.outcome {
                    Ok(ok) => println!(
                        "ok: {} ({}): {} entries match the signed checkpoint (root {}); cosigned checkpoints checked from: {}",
                        verdict.name,
                        verdict.did,
                        ok.size,
                        ok.root,
                        if verdict.witnesses.is_empty() {
                            "nobody".to_owned()
                        } else {
                            verdict.witnesses.join(", ")
                        }
                    ),
                    Err(error) => {
                        failed = true;
                        eprintln!("FAILED: {} ({}): {error}", verdict.name, verdict.did);
                    }
                }
            }
            if failed {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Verify(options) => {
            init_logging("error");
            match verify::run(&options).await {
                Ok(verdict) => {
                    println!(
                        "ok: {} entries of {} match the signed checkpoint (root {})",
                        verdict.size, verdict.origin, verdict.root
                    );
                    for found in verdict.found {
                        println!("ok: {found} is in the signed log");
                    }
                    Ok(())
                }
                Err(error) => {
                    eprintln!("FAILED: {error:#}");
                    std::process::exit(1);
                }
            }
        }
        Command::Cert { names, cert, key } => {
            let names: Vec<String> = names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            let (cert_pem, key_pem) = tsunagu_server::tls::self_signed(&names)?;
            std::fs::write(&cert, cert_pem)
                .with_context(|| format!("cannot write {}", cert.display()))?;
            node::write_secret_file(&key, key_pem.as_bytes())?;
            println!(
                "wrote {} and {} (self-signed for {}); give the certificate to clients as tls_ca_file",
                cert.display(),
                key.display(),
                names.join(", ")
            );
            Ok(())
        }
        Command::Demo {
            dir,
            serve,
            manifest,
        } => {
            init_logging("error");
            demo::run(dir.as_deref(), demo::ServeOptions { serve, manifest }).await
        }
        Command::Bench { what } => {
            init_logging("error");
            match what {
                BenchCommand::Dsp {
                    negotiations,
                    concurrency,
                    transfer_mb,
                    postgres_url,
                    json,
                } => {
                    let report = bench::dsp(bench::DspOptions {
                        negotiations,
                        concurrency,
                        transfer_mb,
                        postgres_url,
                    })
                    .await
                    .context("the benchmark failed")?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        bench::print_table(&report);
                    }
                    Ok(())
                }
                BenchCommand::Chain {
                    companies,
                    tiers,
                    json,
                } => {
                    let report = bench::chain(companies, tiers)
                        .await
                        .context("the benchmark failed")?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        bench::print_chain(&report);
                    }
                    Ok(())
                }
                BenchCommand::Pcf {
                    parts,
                    tiers,
                    runs,
                    json,
                } => {
                    let report = bench::pcf(parts, tiers, runs.max(1))?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        bench::print_pcf(&report);
                    }
                    Ok(())
                }
                BenchCommand::Passport { fetches, json } => {
                    let report = bench::passport(fetches)
                        .await
                        .context("the benchmark failed")?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        bench::print_passport(&report);
                    }
                    Ok(())
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
