//! Transaction history queries (issue "Provable history"): what was negotiated and exchanged
//! for an asset, a part or batch, an agreement or a partner, as log entries each with an
//! inclusion proof against the latest signed checkpoint, so that the reader can check every
//! entry against a signature instead of trusting the answer.
//!
//! Each party keeps its own history and a partner asks for it as needed (the Tractus-X
//! pattern): over DSP, a partner gets only the entries that concern it
//! ([`Connector::history_for_partner`]), and [`Connector::partner_history`] asks a partner and
//! checks what comes back: the checkpoint's signature by the partner's DID key, every proof,
//! and that every entry concerns us.
//!
//! A query reads the whole log (it is not indexed); that is fine for the logs of one company's
//! connector, and the place to add an index when it is not.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tsunagu_ledger::entry::LogEntry;
use tsunagu_ledger::{Checkpoint, Hash, Note, SignatureType};
use tsunagu_store::Page;

use crate::{Connector, EngineError};

/// Stored entries read per page.
const PAGE: u32 = 10_000;
/// Most entries one answer carries.
pub const MAX_HISTORY_ENTRIES: usize = 10_000;

/// What to select. Empty fields do not filter; set fields must all match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQuery {
    /// An asset id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// A part or batch id: the assets whose `partId`, `batchId` or `partInstanceId` property
    /// has this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// An agreement id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    /// A partner's participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
}

/// One entry with its proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenEntry {
    pub index: u64,
    /// The entry's canonical bytes, as text (they are JSON).
    pub entry: String,
    /// The RFC 9162 inclusion proof (hex hashes) of the leaf in the checkpoint's tree.
    pub proof: Vec<String>,
}

/// An answer: the signed checkpoint the proofs lead to, and the entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    pub size: u64,
    pub entries: Vec<ProvenEntry>,
    /// True when more entries matched than one answer carries.
    pub truncated: bool,
}

/// What an entry is about, for filtering.
struct Facts<'a> {
    partner: Option<&'a str>,
    agreement: Option<&'a str>,
    negotiation: Option<&'a str>,
    asset: Option<&'a str>,
}

fn facts(entry: &LogEntry) -> Facts<'_> {
    match entry {
        LogEntry::NegotiationStateChanged(change) => Facts {
            partner: Some(&change.counter_party),
            agreement: None,
            negotiation: Some(&change.negotiation_id),
            asset: None,
        },
        LogEntry::AgreementConcluded(agreement) => Facts {
            partner: None,
            agreement: Some(&agreement.agreement_id),
            negotiation: None,
            asset: Some(&agreement.asset),
        },
        LogEntry::TransferStateChanged(change) => Facts {
            partner: Some(&change.counter_party),
            agreement: Some(&change.agreement_id),
            negotiation: None,
            asset: None,
        },
        LogEntry::DataDelivered(delivery) => Facts {
            partner: None,
            agreement: Some(&delivery.agreement_id),
            negotiation: None,
            asset: None,
        },
        LogEntry::CosignatureReceived(receipt) => Facts {
            partner: Some(&receipt.partner),
            agreement: None,
            negotiation: None,
            asset: None,
        },
    }
}

impl Connector {
    /// The log entries `query` selects, with inclusion proofs against the latest checkpoint.
    pub async fn history(&self, query: &HistoryQuery) -> Result<History, EngineError> {
        let ledger = self.ledger().ok_or(EngineError::NotFound)?;
        let checkpoint = ledger.checkpoint().await.ok_or(EngineError::NotFound)?;
        let note = Note::parse(&checkpoint)
            .map_err(|error| EngineError::Internal(format!("own checkpoint: {error}")))?;
        let size = Checkpoint::parse(note.text())
            .map_err(|error| EngineError::Internal(format!("own checkpoint: {error}")))?
            .size();

        // The assets a part or batch id names.
        let part_assets: Option<HashSet<String>> = match &query.part {
            Some(part) => Some(
                self.store()
                    .assets(Page::ALL)
                    .await?
                    .into_iter()
                    .filter(|asset| {
                        ["partId", "batchId", "partInstanceId"].iter().any(|key| {
                            asset.properties.get(*key).and_then(Value::as_str) == Some(part)
                        })
                    })
                    .map(|asset| asset.id)
                    .collect(),
            ),
            None => None,
        };
        let asset_matches = |asset: &str| {
            query.asset.as_deref().is_none_or(|wanted| wanted == asset)
                && part_assets
                    .as_ref()
                    .is_none_or(|assets| assets.contains(asset))
        };
        let by_asset = query.asset.is_some() || query.part.is_some();

        // Agreements (and their parties) seen so far, and negotiations looked up in the store.
        let mut agreements: HashMap<String, (String, String, String)> = HashMap::new();
        let mut negotiations: HashMap<String, (String, Option<String>)> = HashMap::new();
        let mut entries = Vec::new();
        let mut truncated = false;
        let mut from = 0;
        'pages: while from < size {
            let rows = self
                .store()
                .ledger_rows(from, PAGE.min((size - from) as u32))
                .await?;
            if rows.is_empty() {
                break;
            }
            for (index, row) in rows {
                from = index + 1;
                if index >= size {
                    break 'pages;
                }
                let Ok(entry) = LogEntry::decode(&row.entry) else {
                    continue;
                };
                if let LogEntry::AgreementConcluded(agreement) = &entry {
                    agreements.insert(
                        agreement.agreement_id.clone(),
                        (
                            agreement.provider.clone(),
                            agreement.consumer.clone(),
                            agreement.asset.clone(),
                        ),
                    );
                }
                let facts = facts(&entry);
                // The negotiation's asset and agreement, from the store, when needed.
                let negotiation = match facts.negotiation {
                    Some(id) if by_asset || query.agreement.is_some() => {
                        if !negotiations.contains_key(id) {
                            let known = match self.store().negotiation(id).await? {
                                Some(record) => (
                                    record.dataset_id.clone(),
                                    record.agreement.as_ref().map(|a| a.id.clone()),
                                ),
                                None => (String::new(), None),
                            };
                            negotiations.insert(id.to_owned(), known);
                        }
                        negotiations.get(id).cloned()
                    }
                    _ => None,
                };
                let agreement_id = facts
                    .agreement
                    .map(str::to_owned)
                    .or_else(|| negotiation.as_ref().and_then(|(_, a)| a.clone()));
                let known_agreement = agreement_id.as_ref().and_then(|id| agreements.get(id));
                let partner_ok = query.partner.as_deref().is_none_or(|partner| {
                    facts.partner == Some(partner)
                        || known_agreement.is_some_and(|(provider, consumer, _)| {
                            provider == partner || consumer == partner
                        })
                });
                let agreement_ok = query
                    .agreement
                    .as_deref()
                    .is_none_or(|wanted| agreement_id.as_deref() == Some(wanted));
                let asset_ok = !by_asset
                    || facts.asset.is_some_and(asset_matches)
                    || known_agreement.is_some_and(|(_, _, asset)| asset_matches(asset))
                    || negotiation
                        .as_ref()
                        .is_some_and(|(asset, _)| !asset.is_empty() && asset_matches(asset));
                if !(partner_ok && agreement_ok && asset_ok) {
                    continue;
                }
                if entries.len() == MAX_HISTORY_ENTRIES {
                    truncated = true;
                    break 'pages;
                }
                let proof = ledger.inclusion_proof(index, size).await?;
                entries.push(ProvenEntry {
                    index,
                    entry: String::from_utf8_lossy(&row.entry).into_owned(),
                    proof: proof.hashes,
                });
            }
        }
        Ok(History {
            checkpoint,
            size,
            entries,
            truncated,
        })
    }

    /// The history a partner may read over DSP: only entries that concern it.
    pub async fn history_for_partner(
        &self,
        caller: &crate::VerifiedCaller,
        mut query: HistoryQuery,
    ) -> Result<History, EngineError> {
        query.partner = Some(caller.participant_id().to_owned());
        self.history(&query).await
    }

    /// Asks `partner` (at its DSP `address`) for the history that concerns us, and checks the
    /// answer: the checkpoint is the partner's and signed by one of the keys of its DID
    /// document, every entry's proof leads to that checkpoint's root, and every entry concerns
    /// us.
    pub async fn partner_history(
        &self,
        partner: &str,
        address: &str,
        query: &HistoryQuery,
    ) -> Result<History, EngineError> {
        let own = self.own_identity();
        let answer = self.peer().history(&own, partner, address, query).await?;
        let history: History = serde_json::from_value(answer)
            .map_err(|error| invalid(partner, format!("the history is not understood: {error}")))?;
        let verifiers = self
            .partner_verifiers(partner, SignatureType::Ed25519)
            .await
            .map_err(|error| invalid(partner, error))?;
        let note = Note::parse(&history.checkpoint)
            .map_err(|error| invalid(partner, format!("checkpoint: {error}")))?;
        let verified = note
            .verify(&verifiers)
            .map_err(|error| invalid(partner, format!("checkpoint: {error}")))?;
        let checkpoint = Checkpoint::parse(verified.text())
            .map_err(|error| invalid(partner, format!("checkpoint: {error}")))?;
        if checkpoint.origin() != partner || checkpoint.size() != history.size {
            return Err(invalid(
                partner,
                "the checkpoint is not of the partner's log or not of the size stated".into(),
            ));
        }
        for proven in &history.entries {
            let proof = proven
                .proof
                .iter()
                .map(|hex| Hash::from_hex(hex))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| invalid(partner, format!("entry {}: {error}", proven.index)))?;
            let leaf = tsunagu_ledger::leaf_hash(proven.entry.as_bytes());
            tsunagu_ledger::verify_inclusion(
                &leaf,
                proven.index,
                checkpoint.size(),
                &proof,
                checkpoint.root(),
            )
            .map_err(|error| invalid(partner, format!("entry {}: {error}", proven.index)))?;
            let entry = LogEntry::decode(proven.entry.as_bytes())
                .map_err(|error| invalid(partner, format!("entry {}: {error}", proven.index)))?;
            let concerns_us = match &entry {
                LogEntry::AgreementConcluded(agreement) => {
                    agreement.provider == self.participant_id()
                        || agreement.consumer == self.participant_id()
                }
                other => facts(other)
                    .partner
                    .is_none_or(|p| p == self.participant_id()),
            };
            if !concerns_us {
                return Err(invalid(
                    partner,
                    format!("entry {} does not concern us", proven.index),
                ));
            }
        }
        Ok(history)
    }
}

fn invalid(partner: &str, detail: String) -> EngineError {
    EngineError::Peer(crate::PeerError::InvalidAnswer(format!(
        "history from {partner}: {detail}"
    )))
}
