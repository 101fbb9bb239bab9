//! The entries of the transaction log and their canonical encoding.
//!
//! An entry is hashed as the exact bytes of its encoding, so the encoding must be a function
//! of the entry: compact JSON (no whitespace), `"type"` first, then the fields in the order
//! they are declared here, strings as `serde_json` writes them (UTF-8; only `"`, `\` and
//! control characters escaped), integers in decimal, hashes as 64 lower-case hex digits,
//! absent optional values as `null`. [`LogEntry::decode`] refuses any other spelling of the same
//! entry, so that one entry has one hash.
//!
//! Entries are facts that happened, recorded in the order the connector saw them. The
//! encoding of a variant never changes once entries of it exist: a new fact gets a new variant.

use serde::{Deserialize, Serialize};

use crate::LedgerError;
use crate::hash::{Hash, leaf_hash};

/// One recorded fact.
///
/// Times are milliseconds since the Unix epoch (UTC), passed in by the caller. Parties are
/// identified by their DIDs; states by their DSP names (`REQUESTED`, `AGREED`, `STARTED`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LogEntry {
    /// A contract negotiation moved from one state to another.
    NegotiationStateChanged(NegotiationStateChange),
    /// A contract agreement was concluded.
    AgreementConcluded(Agreement),
    /// A transfer process moved from one state to another.
    TransferStateChanged(TransferStateChange),
    /// Bytes were served to or received from a partner under an agreement.
    DataDelivered(DataDelivery),
    /// A partner cosigned one of our checkpoints.
    CosignatureReceived(CosignatureReceipt),
}

/// A negotiation state change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NegotiationStateChange {
    /// Our id of the negotiation.
    pub negotiation_id: String,
    /// The consumer's process id, once known.
    pub consumer_pid: Option<String>,
    /// The provider's process id, once known.
    pub provider_pid: Option<String>,
    /// The other party's DID.
    pub counter_party: String,
    /// The state before, or `None` when the negotiation was created.
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// A concluded agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    /// The agreement id.
    pub agreement_id: String,
    /// The provider's DID.
    pub provider: String,
    /// The consumer's DID.
    pub consumer: String,
    /// The asset id.
    pub asset: String,
    /// SHA-256 of the agreement's policy exactly as exchanged.
    pub policy_sha256: Hash,
    /// When, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// A transfer state change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferStateChange {
    /// Our id of the transfer.
    pub transfer_id: String,
    /// The consumer's process id, once known.
    pub consumer_pid: Option<String>,
    /// The provider's process id, once known.
    pub provider_pid: Option<String>,
    /// The agreement the transfer runs under.
    pub agreement_id: String,
    /// The other party's DID.
    pub counter_party: String,
    /// The state before, or `None` when the transfer was created.
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// Which way data went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// We sent the bytes: a provider serving a pull or pushing, or a consumer posting a
    /// message to the provider's inbox asset.
    Served,
    /// We received the bytes: a consumer pulling or being pushed to, or a provider whose
    /// inbox asset took a message.
    Received,
}

/// A delivery of data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataDelivery {
    /// Served or received.
    pub direction: Direction,
    /// The agreement the data was delivered under.
    pub agreement_id: String,
    /// The transfer that carried it.
    pub transfer_id: String,
    /// SHA-256 of the exact bytes delivered.
    pub sha256: Hash,
    /// How many bytes.
    pub bytes: u64,
    /// When the delivery completed, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The provider's JWS over the delivery (`sha256`, `bytes`, agreement, transfer, parties),
    /// checked on receipt: what lets the consumer prove the data's origin to a third party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A partner's cosignature of one of our checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CosignatureReceipt {
    /// The partner's DID.
    pub partner: String,
    /// The origin line of the checkpoint it cosigned.
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root.
    pub root: Hash,
    /// When we received it, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

impl LogEntry {
    /// The canonical encoding: the bytes that are logged and hashed.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("log entries always serialize")
    }

    /// Reads an entry from its canonical encoding; refuses any other encoding.
    pub fn decode(bytes: &[u8]) -> Result<LogEntry, LedgerError> {
        let entry: LogEntry = serde_json::from_slice(bytes)
            .map_err(|error| LedgerError::EntryDecoding(error.to_string()))?;
        if entry.encode() != bytes {
            return Err(LedgerError::EntryNotCanonical);
        }
        Ok(entry)
    }

    /// The entry's leaf hash in the log, `SHA-256(0x00 || encoding)`.
    pub fn entry_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<LogEntry> {
        vec![
            LogEntry::NegotiationStateChanged(NegotiationStateChange {
                negotiation_id: "neg-1".into(),
                consumer_pid: Some("urn:uuid:c1".into()),
                provider_pid: None,
                counter_party: "did:web:cathode.example".into(),
                from: None,
                to: "REQUESTED".into(),
                at_unix_ms: 1_750_000_000_000,
            }),
            LogEntry::AgreementConcluded(Agreement {
                agreement_id: "agr-1".into(),
                provider: "did:web:cathode.example".into(),
                consumer: "did:web:cell.example".into(),
                asset: "pcf-2025".into(),
                policy_sha256: Hash::sha256(b"{}"),
                at_unix_ms: 1_750_000_001_000,
            }),
            LogEntry::TransferStateChanged(TransferStateChange {
                transfer_id: "tp-1".into(),
                consumer_pid: Some("urn:uuid:c2".into()),
                provider_pid: Some("urn:uuid:p2".into()),
                agreement_id: "agr-1".into(),
                counter_party: "did:web:cathode.example".into(),
                from: Some("REQUESTED".into()),
                to: "STARTED".into(),
                at_unix_ms: 1_750_000_002_000,
            }),
            LogEntry::DataDelivered(DataDelivery {
                direction: Direction::Received,
                agreement_id: "agr-1".into(),
                transfer_id: "tp-1".into(),
                sha256: Hash::sha256(b"battery data"),
                bytes: 12,
                at_unix_ms: 1_750_000_003_000,
                signature: None,
            }),
            LogEntry::CosignatureReceived(CosignatureReceipt {
                partner: "did:web:cathode.example".into(),
                origin: "tsunagu.example/cell".into(),
                size: 4,
                root: Hash::sha256(b"root"),
                at_unix_ms: 1_750_000_004_000,
            }),
        ]
    }

    #[test]
    fn every_entry_round_trips_through_its_encoding() {
        for entry in examples() {
            let bytes = entry.encode();
            assert_eq!(LogEntry::decode(&bytes).unwrap(), entry);
        }
    }

    /// Golden values, the hashes computed independently of this code (SHA-256 of a zero byte
    /// and the JSON): if one of these changes, every existing log stops verifying.
    #[test]
    fn encodings_and_hashes_are_stable() {
        let golden = [
            (
                r#"{"type":"negotiationStateChanged","negotiationId":"neg-1","consumerPid":"urn:uuid:c1","providerPid":null,"counterParty":"did:web:cathode.example","from":null,"to":"REQUESTED","atUnixMs":1750000000000}"#,
                "034dec9c90209a276097c51dd7e159b17aa6e4a37d7aecfbf01c669c340a560e",
            ),
            (
                r#"{"type":"agreementConcluded","agreementId":"agr-1","provider":"did:web:cathode.example","consumer":"did:web:cell.example","asset":"pcf-2025","policySha256":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","atUnixMs":1750000001000}"#,
                "fdb9c8ee54a74074ed9f52a124315820358391fe0e9ec155fa468a5654dd3ee5",
            ),
            (
                r#"{"type":"transferStateChanged","transferId":"tp-1","consumerPid":"urn:uuid:c2","providerPid":"urn:uuid:p2","agreementId":"agr-1","counterParty":"did:web:cathode.example","from":"REQUESTED","to":"STARTED","atUnixMs":1750000002000}"#,
                "54dc995c2a8673712ae708f9acfa7d4d988b93a250f7200587b3adcda2875490",
            ),
            (
                r#"{"type":"dataDelivered","direction":"received","agreementId":"agr-1","transferId":"tp-1","sha256":"c058583b704a201982d250d05d387e939a8f57cf3fad399281af4c4f9bed9c16","bytes":12,"atUnixMs":1750000003000}"#,
                "100d15dde9dfe04c34325e91a9ebb11715ae175acacf4153eae1950cc51ca9df",
            ),
            (
                r#"{"type":"cosignatureReceived","partner":"did:web:cathode.example","origin":"tsunagu.example/cell","size":4,"root":"4813494d137e1631bba301d5acab6e7bb7aa74ce1185d456565ef51d737677b2","atUnixMs":1750000004000}"#,
                "c6cec65d4da5ce29b7a8ebef351cf0643c0551058690f38b64de3c3ba375882b",
            ),
        ];
        for (entry, (json, hash)) in examples().iter().zip(golden) {
            assert_eq!(String::from_utf8(entry.encode()).unwrap(), json);
            assert_eq!(entry.entry_hash().to_hex(), hash, "{json}");
        }
    }

    #[test]
    fn other_spellings_of_an_entry_are_refused() {
        let canonical = String::from_utf8(examples()[1].encode()).unwrap();
        let spaced = canonical.replacen(':', ": ", 1);
        let reordered = canonical.replacen(
            r#""type":"agreementConcluded","agreementId":"agr-1""#,
            r#""agreementId":"agr-1","type":"agreementConcluded""#,
            1,
        );
        let upper_hex = canonical.replace("44136fa3", "44136FA3");
        let extra = canonical.replacen('}', r#","extra":1}"#, 1);
        for other in [spaced, reordered, extra] {
            assert_eq!(
                LogEntry::decode(other.as_bytes()).unwrap_err(),
                LedgerError::EntryNotCanonical,
                "{other}"
            );
        }
        assert!(matches!(
            LogEntry::decode(upper_hex.as_bytes()).unwrap_err(),
            LedgerError::EntryDecoding(_)
        ));
        assert!(matches!(
            LogEntry::decode(br#"{"type":"unknown"}"#).unwrap_err(),
            LedgerError::EntryDecoding(_)
        ));
    }
}
