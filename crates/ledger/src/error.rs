//! The one error type of this crate.

use crate::hash::Hash;
use crate::note::KeyId;

/// Why a proof, note, checkpoint, cosignature, entry or whole log was refused.
///
/// The audit variants (`EntriesMissing`, `EntryAltered*`, `HistoryRewritten`, `Rollback`,
/// `Fork`, `NoKnownSignature`) name the kind of tampering they reveal, so that `tsunagu verify`
/// can report it as such. Messages contain sizes, hashes, key names and key ids, never key
/// material; key names and origins may come from a remote party.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    // ---------------------------------------------------------------- encodings
    /// Bytes that should be a SHA-256 hash have another length.
    #[error("a SHA-256 hash has 32 bytes, this one has {len}")]
    InvalidHashLength {
        /// The length found.
        len: usize,
    },

    /// Text that should be standard base64 (RFC 4648 §4, padded) is not.
    #[error("{what} is not valid standard base64")]
    InvalidBase64 {
        /// What was being decoded.
        what: &'static str,
    },

    /// Text that should be hex is not.
    #[error("{what} is not valid hex")]
    InvalidHex {
        /// What was being decoded.
        what: &'static str,
    },

    // ---------------------------------------------------------------- trees and proofs
    /// A proof was requested for a tree larger than the leaves available.
    #[error("tree size {size} exceeds the {available} leaves available")]
    TreeSizeBeyondSource {
        /// The size asked for.
        size: u64,
        /// The leaves the source holds.
        available: u64,
    },

    /// A persisted frontier does not have one node per set bit of its size.
    #[error("a frontier of size {size} has {expected} nodes, this one has {got}")]
    FrontierShape {
        /// The size it claims.
        size: u64,
        /// The nodes it has.
        got: usize,
        /// The nodes it must have.
        expected: usize,
    },

    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    LeafIndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },

    /// An inclusion proof with too many or too few hashes.
    #[error(
        "an inclusion proof for leaf {index} in a tree of size {size} has {expected} hashes, \
         this one has {got}"
    )]
    InclusionProofLength {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
        /// Hashes in the proof.
        got: usize,
        /// Hashes it must have.
        expected: usize,
    },

    /// An inclusion proof that leads to another root.
    #[error("the inclusion proof leads to root {computed}, not to {expected}")]
    InclusionRootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root it should lead to.
        expected: Hash,
    },

    /// A consistency proof from a larger to a smaller tree.
    #[error("no consistency proof leads from size {old_size} to the smaller size {new_size}")]
    ConsistencySizesReversed {
        /// The size proven from.
        old_size: u64,
        /// The size proven to.
        new_size: u64,
    },

    /// A consistency proof from the empty tree, which would prove nothing.
    #[error("a consistency proof from the empty tree proves nothing")]
    ConsistencyFromEmptyTree,

    /// A consistency proof with too many or too few hashes.
    #[error(
        "a consistency proof from size {old_size} to size {new_size} has {expected} hashes, \
         this one has {got}"
    )]
    ConsistencyProofLength {
        /// The size proven from.
        old_size: u64,
        /// The size proven to.
        new_size: u64,
        /// Hashes in the proof.
        got: usize,
        /// Hashes it must have.
        expected: usize,
    },

    /// A consistency proof that does not lead to the new root: the proof is wrong.
    #[error("the consistency proof leads to root {computed} at size {new_size}, not to {expected}")]
    ConsistencyNewRootMismatch {
        /// The newer size.
        new_size: u64,
        /// The root the proof leads to.
        computed: Hash,
        /// The new root.
        expected: Hash,
    },

    /// A valid proof of the new tree whose prefix has another root than the old one: the new
    /// tree does not extend the old tree.
    #[error("the newer tree has root {computed} at size {old_size}, not {expected}")]
    ConsistencyOldRootMismatch {
        /// The older size.
        old_size: u64,
        /// The root of the newer tree's prefix.
        computed: Hash,
        /// The old root.
        expected: Hash,
    },

    // ---------------------------------------------------------------- signed notes and keys
    /// A note with a control character other than newline.
    #[error("a signed note contains the control character U+{code:04X} at byte {offset}")]
    NoteControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        offset: usize,
    },

    /// A note without a blank line followed by signature lines.
    #[error("a signed note needs its text, a blank line and at least one signature line")]
    NoteWithoutSignatures,

    /// A note whose text does not end in a newline.
    #[error("the text of a signed note must end with a newline")]
    NoteTextUnterminated,

    /// A signature line that is not `— <name> <base64>`.
    #[error("signature line {line} of a signed note is malformed: {reason}")]
    MalformedSignatureLine {
        /// The line number within the signature block, from 1.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// More signature lines than this crate reads.
    #[error("a signed note carries {count} signatures, more than the {max} accepted")]
    TooManySignatures {
        /// Signatures found.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// A key name that is empty or contains a space or `+`.
    #[error("key name {name:?} is empty or contains a space or '+'")]
    InvalidKeyName {
        /// The name.
        name: String,
    },

    /// No signature on the note is from a known key: it may have been re-signed.
    #[error("no signature on the note is from a known key (signed by: {signers})")]
    NoKnownSignature {
        /// `name+keyid` of each signature found, comma-separated.
        signers: String,
    },

    /// A signature that names a known key and does not verify with it.
    #[error("the signature by known key {name}+{key_id} does not verify")]
    ForgedSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: KeyId,
    },

    /// Two signatures by the same known key.
    #[error("known key {name}+{key_id} signed the note more than once")]
    DuplicateSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: KeyId,
    },

    /// A checkpoint that witnesses cosigned but the log itself did not sign.
    #[error("the checkpoint is not signed by the log key {name}+{key_id}")]
    MissingLogSignature {
        /// The log key's name.
        name: String,
        /// The log key's id.
        key_id: KeyId,
    },

    /// A checkpoint given as witnessed that carries no cosignature from a known witness.
    #[error("the checkpoint of size {size} carries no cosignature from a known witness")]
    MissingCosignature {
        /// The checkpoint's size.
        size: u64,
    },

    /// A cosignature that is not 8 timestamp bytes and a 64-byte Ed25519 signature.
    #[error("the cosignature by {name} has {len} bytes after its key id, not 72")]
    MalformedCosignature {
        /// The cosigner's key name.
        name: String,
        /// The bytes found.
        len: usize,
    },

    /// A cosignature timestamp beyond 2^63 - 1.
    #[error("the cosignature by {name} has timestamp {timestamp}, beyond 2^63 - 1")]
    CosignatureTimestampOutOfRange {
        /// The cosigner's key name.
        name: String,
        /// The timestamp.
        timestamp: u64,
    },

    /// A verifier key (`vkey`) that cannot be read.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A signature type this crate does not implement.
    #[error(
        "signature type 0x{byte:02x} is not supported (only 0x01 Ed25519 and 0x04 cosignature/v1)"
    )]
    UnsupportedSignatureType {
        /// The type byte.
        byte: u8,
    },

    /// A verifier key whose stated key id is not the one its name and key produce.
    #[error("verifier key {name} states key id {stated}, but its name and key give {computed}")]
    VerifierKeyIdMismatch {
        /// The key name.
        name: String,
        /// The key id written in the vkey.
        stated: KeyId,
        /// The key id computed.
        computed: KeyId,
    },

    // ---------------------------------------------------------------- checkpoints
    /// A checkpoint body that does not follow c2sp.org/tlog-checkpoint.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A witness `add-checkpoint` request that is not `old <size>`, proof lines, a blank line
    /// and a signed checkpoint.
    #[error("malformed add-checkpoint request: {reason}")]
    MalformedWitnessRequest {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A checkpoint of another log.
    #[error("the checkpoint is for log {got:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin expected.
        expected: String,
        /// The origin found.
        got: String,
    },

    // ---------------------------------------------------------------- witnessing and audit
    /// A checkpoint smaller than one already seen: the log rolled back.
    #[error("rollback: size shrank from {from} to {to}")]
    Rollback {
        /// The larger size seen before.
        from: u64,
        /// The smaller size now.
        to: u64,
    },

    /// A checkpoint whose tree disagrees with one already cosigned: the log forked.
    #[error("fork: root at size {size} differs from the cosigned root {cosigned}")]
    Fork {
        /// The size at which the roots differ.
        size: u64,
        /// The root that was cosigned at that size.
        cosigned: Hash,
    },

    /// Fewer entries than the checkpoint commits to: entries were dropped.
    #[error("entry dropped: the log holds {entries} entries, the checkpoint commits to {size}")]
    EntriesMissing {
        /// Entries found.
        entries: u64,
        /// The checkpoint's size.
        size: u64,
    },

    /// The entries do not hash to the signed root, and no witnessed checkpoint narrows it down.
    #[error(
        "entry altered: the first {size} entries hash to {computed}, the checkpoint signs {signed}"
    )]
    EntryAltered {
        /// The checkpoint's size.
        size: u64,
        /// The root recomputed from the entries.
        computed: Hash,
        /// The signed root.
        signed: Hash,
    },

    /// The entries do not hash to the signed root, but the prefix a witness cosigned still
    /// does: the alteration is after that prefix.
    #[error(
        "entry altered after entry {witnessed_size}: the first {size} entries do not hash to \
         the signed root, but the first {witnessed_size} still match the checkpoint cosigned \
         by {witness}"
    )]
    EntryAlteredAfterWitnessedPrefix {
        /// The checkpoint's size.
        size: u64,
        /// The size of the largest witnessed checkpoint that still matches.
        witnessed_size: u64,
        /// The witness whose cosignature covers it.
        witness: String,
    },

    /// The entries do not hash to the signed root, and not even the prefix a witness cosigned
    /// matches: the alteration is within that prefix.
    #[error(
        "entry altered within the first {witnessed_size} entries, which {witness} cosigned: \
         neither the signed root at size {size} nor the cosigned root matches"
    )]
    EntryAlteredWithinWitnessedPrefix {
        /// The checkpoint's size.
        size: u64,
        /// The size of the smallest witnessed checkpoint.
        witnessed_size: u64,
        /// The witness whose cosignature covers it.
        witness: String,
    },

    /// The entries match the signed checkpoint, but an earlier prefix differs from what a
    /// witness cosigned: the log rewrote its history and signed the new tree.
    #[error(
        "re-signed tree: the root at size {size} differs from the checkpoint cosigned by {witness}"
    )]
    HistoryRewritten {
        /// The size of the witnessed checkpoint.
        size: u64,
        /// The witness.
        witness: String,
    },

    // ---------------------------------------------------------------- entries
    /// Bytes that are not a log entry.
    #[error("not a log entry: {0}")]
    EntryDecoding(String),

    /// A log entry in another than its canonical encoding.
    #[error("the log entry is not in canonical form (compact JSON, fields in their fixed order)")]
    EntryNotCanonical,
}
