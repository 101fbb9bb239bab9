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

#[derive(Debug, Clone, Default, clap::Args)]
pub struct VerifyOptions {
    /// The connector's management API base, e.g. https://cell.example/management.
    #[arg(long, conflicts_with_all = ["from_dir", "manifest"])]
    pub management_url: Option<String>,
    /// Check every participant of a running network (a demo manifest): each log against its
    /// DID document's keys and against the checkpoints of it that the other participants
    /// cosigned.
    #[arg(long, conflicts_with = "from_dir")]
    pub manifest: Option<PathBuf>,
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

/// A connector that keeps no log, or whose log has no entry yet, so no signed checkpoint.
#[derive(Debug)]
pub struct EmptyLog;

impl std::fmt::Display for EmptyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connector has no signed checkpoint: its log is empty or it keeps none")
    }
}

impl std::error::Error for EmptyLog {}

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
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(EmptyLog.into());
    }
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
    Ok(verifiers_of_document(document, SignatureType::Ed25519)?
        .iter()
        .map(Verifier::to_vkey)
        .collect())
}

/// The verifiers of every Ed25519 key in a DID document, named by the DID, for checkpoints
/// (`Ed25519`) or cosignatures (`CosignatureV1`).
fn verifiers_of_document(
    document: &Value,
    signature_type: SignatureType,
) -> anyhow::Result<Vec<Verifier>> {
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
        let verifier =
            Verifier::new(did, signature_type, key).map_err(|error| anyhow::anyhow!("{error}"))?;
        vkeys.push(verifier);
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
    check_with(copy, options, Vec::new(), Vec::new())
}

/// Checks a log copy against the cosigned checkpoints of `options` and `witnessed` (cosigned
/// by `witnesses`).
fn check_with(
    copy: &LogCopy,
    options: &VerifyOptions,
    mut witnessed: Vec<Note>,
    mut witnesses: Vec<Verifier>,
) -> anyhow::Result<Verdict> {
    let note = Note::parse(&copy.checkpoint)
        .map_err(|error| anyhow::anyhow!("the checkpoint is not a signed note: {error}"))?;
    for vkey in &options.witness_vkeys {
        witnesses.push(
            Verifier::from_vkey(vkey).map_err(|e| anyhow::anyhow!("witness key {vkey}: {e}"))?,
        );
    }
    let from_files = options
        .cosigned
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Note::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    witnessed.extend(from_files);
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
    if options.manifest.is_some() {
        bail!("--manifest checks several connectors: use run_manifest");
    }
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

/// One participant's outcome in `--manifest` mode.
#[derive(Debug)]
pub struct ParticipantVerdict {
    pub name: String,
    pub did: String,
    /// The verdict, or what is wrong.
    pub outcome: Result<Verdict, String>,
    /// The participants whose cosigned checkpoints of this log were checked.
    pub witnesses: Vec<String>,
}

struct Participant {
    name: String,
    did: String,
    management_url: String,
    api_key: String,
    did_document_url: String,
}

/// Checks every participant of a manifest. Partners' cosigned checkpoints are read before the
/// logs, so that a log never looks shorter than what was cosigned merely because it grew in
/// between.
pub async fn run_manifest(options: &VerifyOptions) -> anyhow::Result<Vec<ParticipantVerdict>> {
    let path = options
        .manifest
        .as_deref()
        .context("--manifest is missing")?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the manifest {}", path.display()))?;
    let manifest: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let ca_file = options
        .ca_file
        .clone()
        .or_else(|| manifest["ca_certificate_file"].as_str().map(str::to_owned));
    let client = crate::node::client_for(ca_file.as_deref().unwrap_or(""))?;
    let field = |participant: &Value, name: &str| -> anyhow::Result<String> {
        participant[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("a participant of the manifest has no {name}"))
    };
    let participants = manifest["participants"]
        .as_array()
        .context("the manifest lists no participants")?
        .iter()
        .map(|p| {
            Ok(Participant {
                name: field(p, "name")?,
                did: field(p, "did")?,
                management_url: field(p, "management_url")?,
                api_key: field(p, "management_api_key")?,
                did_document_url: field(p, "did_document_url")?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Every participant's DID document, and what each one cosigned of the others.
    let mut documents = Vec::new();
    let mut witnessed_by = Vec::new();
    for participant in &participants {
        let document: Value = client
            .get(&participant.did_document_url)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("the DID document of {}", participant.name))?
            .json()
            .await?;
        documents.push(document);
        let held: Value = client
            .get(format!(
                "{}/v3/ledger/witnessed",
                participant.management_url.trim_end_matches('/')
            ))
            .header("x-api-key", &participant.api_key)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("the checkpoints {} witnessed", participant.name))?
            .json()
            .await?;
        witnessed_by.push(held["witnessed"].as_array().cloned().unwrap_or_default());
    }

    let mut verdicts = Vec::new();
    for (index, participant) in participants.iter().enumerate() {
        let mut notes = Vec::new();
        let mut verifiers = Vec::new();
        let mut witnesses = Vec::new();
        for (other, held) in witnessed_by.iter().enumerate() {
            if other == index {
                continue;
            }
            for checkpoint in held
                .iter()
                .filter(|h| h["partner"] == participant.did.as_str())
            {
                let text = checkpoint["note"].as_str().unwrap_or_default();
                notes.push(Note::parse(text).map_err(|error| {
                    anyhow::anyhow!(
                        "{} holds an unreadable checkpoint of {}: {error}",
                        participants[other].name,
                        participant.name
                    )
                })?);
                verifiers.extend(verifiers_of_document(
                    &documents[other],
                    SignatureType::CosignatureV1,
                )?);
                witnesses.push(participants[other].name.clone());
            }
        }
        let mut single = options.clone();
        single.manifest = None;
        single.management_url = Some(participant.management_url.clone());
        single.api_key = Some(participant.api_key.clone());
        single.ca_file = ca_file.clone();
        single.log_vkey = None;
        single.did_document_url = Some(participant.did_document_url.clone());
        single.export = options
            .export
            .as_ref()
            .map(|dir| dir.join(&participant.name));
        let outcome = match read_live(&single, &participant.management_url).await {
            Ok(copy) => {
                if let Some(dir) = &single.export {
                    write_export(dir, &copy)?;
                }
                check_with(&copy, &single, notes, verifiers).map_err(|error| format!("{error:#}"))
            }
            // An empty log is fine unless a partner cosigned a checkpoint of it.
            Err(error) if error.downcast_ref::<EmptyLog>().is_some() && notes.is_empty() => {
                Ok(Verdict {
                    origin: participant.did.clone(),
                    size: 0,
                    root: tsunagu_ledger::empty_root().to_hex(),
                    found: Vec::new(),
                })
            }
            Err(error) => Err(format!("cannot read the log: {error:#}")),
        };
        verdicts.push(ParticipantVerdict {
            name: participant.name.clone(),
            did: participant.did.clone(),
            outcome,
            witnesses,
        });
    }
    Ok(verdicts)
}
