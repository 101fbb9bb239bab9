//! `tsunagu verify`: an auditor's check of a connector's transaction log.
//!
//! It reads the log (live from the connector's management API, or from an export made with
//! `--export`), recomputes the whole Merkle tree, checks the checkpoint's signature against the
//! log key and the tree's root against the checkpoint, and, given checkpoints that partners
//! cosigned, checks that the log still contains what they saw. It says exactly what is wrong
//! and exits non-zero when anything was altered, dropped or re-signed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;
use tsunagu_ledger::entry::LogEntry;
use tsunagu_ledger::note::{SignatureType, Verifier};
use tsunagu_ledger::{AuditKeys, Note};

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyOptions {
    /// The connector's management API base, e.g. https://cell.example/management.
    #[arg(long, conflicts_with = "from_dir")]
    pub management_url: Option<String>,
    /// The management API key (also TSUNAGU_VERIFY_API_KEY).
    #[arg(long, env = "TSUNAGU_VERIFY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Verify an export made with --export instead of a running connector.
    #[arg(long)]
    pub from_dir: Option<PathBuf>,
    /// The log's public key as a signed-note vkey (`name+keyid+key`). Without it, the keys of
    /// the DID document at --did-document-url are tried.
    #[arg(long)]
    pub log_vkey: Option<String>,
    /// Where the connector's DID document is (its keys sign the checkpoints).
    #[arg(long)]
    pub did_document_url: Option<String>,
    /// Checkpoints cosigned by partners (signed-note files), each a prefix the log must keep.
    #[arg(long = "cosigned")]
    pub cosigned: Vec<PathBuf>,
    /// Vkeys of the partners whose cosignatures count.
    #[arg(long = "witness-vkey")]
    pub witness_vkeys: Vec<String>,
    /// Check that a delivery with this SHA-256 (hex) is in the log.
    #[arg(long)]
    pub delivery: Option<String>,
    /// Check that this agreement is in the log.
    #[arg(long)]
    pub agreement: Option<String>,
    /// Extra PEM root certificates to trust.
    #[arg(long)]
    pub ca_file: Option<String>,
    /// Write what was read (entries, checkpoint, log vkey) to this folder as well.
    #[arg(long)]
    pub export: Option<PathBuf>,
}

/// A log as read: entries in order, the checkpoint note, the candidate log keys.
pub struct LogCopy {
    pub entries: Vec<Vec<u8>>,
    pub checkpoint: String,
    pub vkeys: Vec<String>,
}

const ENTRIES_FILE: &str = "entries.jsonl";
const CHECKPOINT_FILE: &str = "checkpoint.note";
const VKEY_FILE: &str = "log.vkey";

/// The outcome, for people and for tests.
#[derive(Debug)]
pub struct Verdict {
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub found: Vec<String>,
}

async fn read_live(options: &VerifyOptions, url: &str) -> anyhow::Result<LogCopy> {
    let client = crate::node::client_for(options.ca_file.as_deref().unwrap_or(""))?;
    let key = options
        .api_key
        .as_deref()
        .context("--api-key is needed to read a connector's log")?;
    let base = url.trim_end_matches('/');
    let response = client
        .get(format!("{base}/v3/ledger/checkpoint"))
        .header("x-api-key", key)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "the connector answered {} for its checkpoint",
            response.status()
        );
    }
    let checkpoint = response.text().await?;
    let mut entries = Vec::new();
    loop {
        let page: Value = client
            .get(format!(
                "{base}/v3/ledger/entries?from={}&limit=10000",
                entries.len()
            ))
            .header("x-api-key", key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let items = page["entries"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        for item in items {
            let entry = item["entry"].as_str().context("an entry without bytes")?;
            entries.push(entry.as_bytes().to_vec());
        }
    }
    let mut vkeys = options.log_vkey.iter().cloned().collect::<Vec<_>>();
    if vkeys.is_empty() {
        let url = options
            .did_document_url
            .as_deref()
            .context("give --log-vkey or --did-document-url to know the log's key")?;
        let document: Value = client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        vkeys = vkeys_of_document(&document)?;
    }
    Ok(LogCopy {
        entries,
        checkpoint,
        vkeys,
    })
}

/// The vkeys of every Ed25519 key in a DID document, named by the DID (the name the connector
/// signs its checkpoints under).
pub fn vkeys_of_document(document: &Value) -> anyhow::Result<Vec<String>> {
    let document: tsunagu_trust::did::DidDocument =
        serde_json::from_value(document.clone()).context("not a DID document")?;
    let did = document.id.as_str();
    let mut vkeys = Vec::new();
    for method in &document.verification_method {
        let Ok(tsunagu_trust::jwk::PublicKey::Ed25519(key)) =
            method.public_jwk(did).and_then(|jwk| jwk.verifying_key())
        else {
            continue;
        };
        let verifier = Verifier::new(did, SignatureType::Ed25519, key)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        vkeys.push(verifier.to_vkey());
    }
    if vkeys.is_empty() {
        bail!("the DID document of {did} has no Ed25519 key");
    }
    Ok(vkeys)
}

/// Reads an export.
pub fn read_export(dir: &Path) -> anyhow::Result<LogCopy> {
    let entries = std::fs::read_to_string(dir.join(ENTRIES_FILE))
        .with_context(|| format!("cannot read {}", dir.join(ENTRIES_FILE).display()))?
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.as_bytes().to_vec())
        .collect();
    let checkpoint = std::fs::read_to_string(dir.join(CHECKPOINT_FILE))?;
    let vkeys = std::fs::read_to_string(dir.join(VKEY_FILE))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(LogCopy {
        entries,
        checkpoint,
        vkeys,
    })
}

/// Writes an export (entries one per line: they are compact JSON without newlines).
pub fn write_export(dir: &Path, copy: &LogCopy) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut text = String::new();
    for entry in &copy.entries {
        text.push_str(std::str::from_utf8(entry).context("an entry is not text")?);
        text.push('\n');
    }
    std::fs::write(dir.join(ENTRIES_FILE), text)?;
    std::fs::write(dir.join(CHECKPOINT_FILE), &copy.checkpoint)?;
    std::fs::write(dir.join(VKEY_FILE), copy.vkeys.join("\n") + "\n")?;
    Ok(())
}

/// Checks a log copy; the error says what is wrong.
pub fn check(copy: &LogCopy, options: &VerifyOptions) -> anyhow::Result<Verdict> {
    let note = Note::parse(&copy.checkpoint)
        .map_err(|error| anyhow::anyhow!("the checkpoint is not a signed note: {error}"))?;
    let witnesses = options
        .witness_vkeys
        .iter()
        .map(|v| Verifier::from_vkey(v).map_err(|e| anyhow::anyhow!("witness key {v}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let witnessed = options
        .cosigned
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Note::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if copy.vkeys.is_empty() {
        bail!("no log key to check the checkpoint against");
    }
    let mut last_error = None;
    for vkey in &copy.vkeys {
        let log = Verifier::from_vkey(vkey).map_err(|e| anyhow::anyhow!("log key {vkey}: {e}"))?;
        let keys = AuditKeys {
            log,
            witnesses: witnesses.clone(),
        };
        match tsunagu_ledger::verify_log(&copy.entries, &note, &witnessed, &keys) {
            Ok(verified) => {
                let mut found = Vec::new();
                for wanted in options.delivery.iter().chain(options.agreement.iter()) {
                    let hit = copy
                        .entries
                        .iter()
                        .take(verified.size as usize)
                        .any(|bytes| match LogEntry::decode(bytes) {
                            Ok(LogEntry::DataDelivered(delivery)) => {
                                delivery.sha256.to_hex() == wanted.to_lowercase()
                                    || delivery.agreement_id == *wanted
                            }
                            Ok(LogEntry::AgreementConcluded(agreement)) => {
                                agreement.agreement_id == *wanted
                            }
                            _ => false,
                        });
                    if !hit {
                        bail!("{wanted} is not in the signed log");
                    }
                    found.push(wanted.clone());
                }
                return Ok(Verdict {
                    origin: verified.origin,
                    size: verified.size,
                    root: verified.root.to_hex(),
                    found,
                });
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(anyhow::anyhow!(
        "{}",
        last_error.map(|e| e.to_string()).unwrap_or_default()
    ))
}

/// Runs the command.
pub async fn run(options: &VerifyOptions) -> anyhow::Result<Verdict> {
    let copy = match (&options.management_url, &options.from_dir) {
        (Some(url), _) => read_live(options, url).await?,
        (None, Some(dir)) => read_export(dir)?,
        (None, None) => {
            bail!("give --management-url (a running connector) or --from-dir (an export)")
        }
    };
    if let Some(dir) = &options.export {
        write_export(dir, &copy)?;
    }
    check(&copy, options)
}
