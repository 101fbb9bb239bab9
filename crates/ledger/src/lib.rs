//! The pure core of tsunagu's tamper-evident transaction log ("provable history").
//!
//! It exists so that a company can prove, later and to a partner or an auditor, what its
//! connector did: which negotiations moved through which states, which agreements it concluded,
//! which bytes it served or received under them. Each fact is a [`LogEntry`] appended to an
//! RFC 9162 Merkle tree; the connector signs [`Checkpoint`]s of the tree (C2SP tlog-checkpoint
//! notes), and partners act as [`Witness`]es that cosign a checkpoint only if it extends the
//! one they cosigned before. A log that drops, alters or rewrites entries can then no longer
//! produce checkpoints that match both its entries and what its partners hold, and
//! [`verify_log`] says which of these happened.
//!
//! The pieces: [`hash`] ([`Hash`](struct@Hash), leaf and node hashes); [`tree`] ([`MemoryTree`],
//! [`Frontier`], proof generation over any [`HashSource`]); [`proof`] (inclusion and
//! consistency verification); [`entry`] ([`LogEntry`] and its canonical encoding); [`note`],
//! [`checkpoint`] and [`cosignature`] (signed notes, checkpoints, cosignatures and the
//! [`Witness`]); [`audit`] ([`verify_log`]).
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use tsunagu_ledger::{
//!     AuditKeys, Checkpoint, Cosigner, MemoryTree, NoteSigner, Witness, verify_log,
//! };
//!
//! let origin = "tsunagu.example/cell-maker";
//! let log_key = NoteSigner::new(origin, SigningKey::from_bytes(&[1; 32]))?;
//! let partner = Cosigner::new("did:web:cathode.example", SigningKey::from_bytes(&[2; 32]))?;
//! let mut witness = Witness::new(partner.clone(), log_key.verifier().clone());
//!
//! // The connector appends entries and signs a checkpoint; the partner cosigns it.
//! let entries = [b"entry 0".to_vec(), b"entry 1".to_vec(), b"entry 2".to_vec()];
//! let mut tree = MemoryTree::new();
//! let appended = tree.append_batch(&entries);
//! let mut note = Checkpoint::new(origin, appended.size, appended.root)?.sign(&log_key);
//! note.add_signature(witness.cosign(&note, &[], 1_750_000_000)?);
//!
//! // Later, an auditor recomputes the log from its entries.
//! let keys = AuditKeys {
//!     log: log_key.verifier().clone(),
//!     witnesses: vec![partner.verifier().clone()],
//! };
//! let verified = verify_log(&entries, &note, &[note.clone()], &keys)?;
//! assert_eq!(verified.size, 3);
//! # Ok::<(), tsunagu_ledger::LedgerError>(())
//! ```
//!
//! It must never do IO, read a clock, draw random numbers or depend on tokio: entries, hashes,
//! keys and the current time are passed in, and storing leaves, serving proofs and exchanging
//! checkpoints with partners belong to the crates above it. It must never trust a note's text
//! before its signatures verified, never sign a checkpoint body it did not build, and never
//! put private key material in a message, an error or a `Debug` output.

pub mod audit;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
mod error;
pub mod hash;
mod hex;
pub mod note;
pub mod proof;
pub mod tree;
pub mod witness_protocol;

pub use audit::{AuditKeys, VerifiedLog, verify_log};
pub use checkpoint::{Checkpoint, SignedCheckpoint, WitnessedCheckpoint};
pub use cosignature::{Cosigner, Witness, cosign};
pub use entry::{
    Agreement, CosignatureReceipt, DataDelivery, Direction, LogEntry, NegotiationStateChange,
    TransferStateChange,
};
pub use error::LedgerError;
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use note::{
    KeyId, Note, NoteSignature, NoteSigner, SignatureType, VerifiedNote, VerifiedSignature,
    Verifier,
};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::{Appended, Frontier, HashSource, MemoryTree, consistency_proof, inclusion_proof};
pub use witness_protocol::AddCheckpoint;
