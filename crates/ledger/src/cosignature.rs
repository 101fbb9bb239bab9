//! Witness cosignatures (c2sp.org/tlog-cosignature, `cosignature/v1`, Ed25519) and the
//! [`Witness`] that gives them only to checkpoints consistent with what it saw before.
//!
//! A partner that cosigns our checkpoints holds the largest one it saw. If we later rewrite
//! history, every new checkpoint either shrinks (a rollback) or disagrees with the held one
//! (a fork); the partner refuses to cosign it, and its old cosignature proves what the log
//! said before.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey};

use crate::LedgerError;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::hash::Hash;
use crate::note::{Note, NoteSignature, SignatureType, Verifier};
use crate::proof::verify_consistency;

/// The message a `cosignature/v1` signs: header line, time line, then the checkpoint body.
pub(crate) fn cosigned_message(timestamp: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// An Ed25519 witness key (signature type `0x04`).
///
/// Per the cosignature format, one key must serve one cosigner name only: the signed message
/// does not commit to the name.
#[derive(Clone)]
pub struct Cosigner {
    verifier: Verifier,
    key: SigningKey,
}

impl Cosigner {
    /// The cosigner `name` (e.g. the partner's DID or host) with `key`.
    pub fn new(name: &str, key: SigningKey) -> Result<Cosigner, LedgerError> {
        Ok(Cosigner {
            verifier: Verifier::new(name, SignatureType::CosignatureV1, key.verifying_key())?,
            key,
        })
    }

    /// The verifier the log's auditors configure for this witness.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Cosigns `checkpoint` at `timestamp` (POSIX seconds, at most 2^63 - 1; larger values are
    /// clamped, as no clock reaches them).
    ///
    /// This signs unconditionally: it is the raw operation. A witness checks consistency first,
    /// which [`Witness::cosign`] does.
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> NoteSignature {
        let timestamp = timestamp.min(i64::MAX as u64);
        let signature = self
            .key
            .sign(&cosigned_message(timestamp, &checkpoint.body()));
        let mut bytes = Vec::with_capacity(8 + 64);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        NoteSignature {
            name: self.verifier.name().to_owned(),
            key_id: self.verifier.key_id(),
            signature: bytes,
        }
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("verifier", &self.verifier)
            .field("private_key", &"(redacted)")
            .finish()
    }
}

/// `cosign(checkpoint, witness key, now)`: the raw cosignature, see [`Cosigner::cosign`].
pub fn cosign(checkpoint: &Checkpoint, witness: &Cosigner, now_unix_seconds: u64) -> NoteSignature {
    witness.cosign(checkpoint, now_unix_seconds)
}

/// A witness of one log: cosigns a new checkpoint only if it extends the one it holds.
///
/// The caller persists [`Witness::latest`] after each cosignature (and hands it back to
/// [`Witness::resume`]); the witness itself does no IO.
#[derive(Clone, Debug)]
pub struct Witness {
    cosigner: Cosigner,
    log: Verifier,
    latest: Option<Checkpoint>,
}

impl Witness {
    /// A witness of the log whose checkpoints `log` verifies, that has seen nothing yet: it will
    /// accept the first checkpoint it is shown.
    pub fn new(cosigner: Cosigner, log: Verifier) -> Witness {
        Witness {
            cosigner,
            log,
            latest: None,
        }
    }

    /// A witness that already cosigned `latest`.
    pub fn resume(cosigner: Cosigner, log: Verifier, latest: Checkpoint) -> Witness {
        Witness {
            cosigner,
            log,
            latest: Some(latest),
        }
    }

    /// The largest checkpoint this witness cosigned.
    pub fn latest(&self) -> Option<&Checkpoint> {
        self.latest.as_ref()
    }

    /// The witness's cosigner key, e.g. to publish its verifier.
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// Verifies `note` as a checkpoint of the log and, with `proof` (a consistency proof from the
    /// held checkpoint's size to the new size; empty if none is held or the sizes are equal),
    /// that it extends the held checkpoint; then cosigns it at `now_unix_seconds` and holds it.
    ///
    /// Refuses a checkpoint not signed by the log key, of another origin, smaller than the held
    /// one ([`LedgerError::Rollback`]), with another root at the held size
    /// ([`LedgerError::Fork`]), or with a proof that does not lead to its root. Nothing
    /// changes when it refuses.
    ///
    /// A fork is named as such whenever the proof shows it: at equal sizes, and when a proof
    /// that leads to the new root shows another root at the held size. When the held size is a
    /// power of two, the held root is itself the proof's first step, so a forked log's proof
    /// cannot reach its new root and the refusal is
    /// [`LedgerError::ConsistencyNewRootMismatch`]: no proof can tell that fork from a wrong
    /// proof. Either way the witness does not cosign.
    pub fn cosign(
        &mut self,
        note: &Note,
        proof: &[Hash],
        now_unix_seconds: u64,
    ) -> Result<NoteSignature, LedgerError> {
        let signed = SignedCheckpoint::verify(note, &self.log, &[])?;
        let new = signed.checkpoint();
        if let Some(held) = &self.latest {
            check_extends(held, new, proof)?;
        }
        let signature = self.cosigner.cosign(new, now_unix_seconds);
        self.latest = Some(new.clone());
        Ok(signature)
    }
}

/// Checks that `new` extends `held`.
fn check_extends(held: &Checkpoint, new: &Checkpoint, proof: &[Hash]) -> Result<(), LedgerError> {
    if new.origin() != held.origin() {
        return Err(LedgerError::OriginMismatch {
            expected: held.origin().to_owned(),
            got: new.origin().to_owned(),
        });
    }
    if new.size() < held.size() {
        return Err(LedgerError::Rollback {
            from: held.size(),
            to: new.size(),
        });
    }
    let fork = || LedgerError::Fork {
        size: held.size(),
        cosigned: *held.root(),
    };
    if new.size() == held.size() && new.root() != held.root() {
        return Err(fork());
    }
    if held.size() == 0 {
        // Every tree extends the empty one; there is nothing to prove.
        return Ok(());
    }
    verify_consistency(held.size(), new.size(), held.root(), new.root(), proof).map_err(|error| {
        match error {
            LedgerError::ConsistencyOldRootMismatch { .. } => fork(),
            other => other,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{NoteSigner, test_key};
    use crate::tree::MemoryTree;

    const ORIGIN: &str = "tsunagu.example/company-a";
    const NOW: u64 = 1_750_000_000;

    struct Log {
        tree: MemoryTree,
        signer: NoteSigner,
    }

    impl Log {
        fn new(entries: &[&str]) -> Log {
            let mut tree = MemoryTree::new();
            tree.append_batch(entries);
            Log {
                tree,
                signer: NoteSigner::new(ORIGIN, test_key(1)).unwrap(),
            }
        }

        fn checkpoint(&self, size: u64) -> Checkpoint {
            Checkpoint::new(ORIGIN, size, self.tree.root_at(size).unwrap()).unwrap()
        }

        fn note(&self, size: u64) -> Note {
            self.checkpoint(size).sign(&self.signer)
        }
    }

    fn witness(log: &Log) -> Witness {
        Witness::new(
            Cosigner::new("partner.example/witness", test_key(7)).unwrap(),
            log.signer.verifier().clone(),
        )
    }

    #[test]
    fn the_cosigned_message_is_the_specified_one() {
        let cosigner = Cosigner::new("witness.example.com/w1", test_key(3)).unwrap();
        let checkpoint = Checkpoint::parse(
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        )
        .unwrap();
        let line = cosigner.cosign(&checkpoint, 1679315147);
        assert_eq!(&line.signature[..8], &1679315147u64.to_be_bytes());
        let message = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
                       CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let signature = ed25519_dalek::Signature::from_slice(&line.signature[8..]).unwrap();
        cosigner
            .verifier()
            .public_key()
            .verify_strict(message.as_bytes(), &signature)
            .unwrap();
        // The key id uses type byte 0x04.
        assert_eq!(
            cosigner.verifier().key_id(),
            crate::note::KeyId::compute(
                "witness.example.com/w1",
                SignatureType::CosignatureV1,
                cosigner.verifier().public_key().as_bytes()
            )
        );
        // Its vkey carries the type byte 0x04 and reads back as a cosigner.
        let vkey = cosigner.verifier().to_vkey();
        let read = Verifier::from_vkey(&vkey).unwrap();
        assert_eq!(read.signature_type(), SignatureType::CosignatureV1);
        assert_eq!(&read, cosigner.verifier());
    }

    #[test]
    fn cosignatures_verify_and_tampering_is_caught() {
        let log = Log::new(&["a", "b", "c"]);
        let cosigner = Cosigner::new("partner.example/witness", test_key(7)).unwrap();
        let checkpoint = log.checkpoint(3);
        let mut note = checkpoint.sign(&log.signer);
        note.add_signature(cosign(&checkpoint, &cosigner, NOW));
        let verifiers = [cosigner.verifier().clone()];
        let verified = Note::parse(&note.to_string())
            .unwrap()
            .verify(&verifiers)
            .unwrap();
        assert_eq!(verified.verified()[0].timestamp, Some(NOW));

        // Moving the timestamp invalidates the signature.
        let mut moved = Note::unsigned(note.text()).unwrap();
        let mut line = cosign(&checkpoint, &cosigner, NOW);
        line.signature[..8].copy_from_slice(&(NOW + 1).to_be_bytes());
        moved.add_signature(line);
        assert!(matches!(
            moved.verify(&verifiers).unwrap_err(),
            LedgerError::ForgedSignature { .. }
        ));

        // A cosignature of the wrong length names its length.
        let mut short = Note::unsigned(note.text()).unwrap();
        let mut line = cosign(&checkpoint, &cosigner, NOW);
        line.signature.truncate(64);
        short.add_signature(line);
        assert_eq!(
            short.verify(&verifiers).unwrap_err(),
            LedgerError::MalformedCosignature {
                name: "partner.example/witness".into(),
                len: 64
            }
        );

        // A timestamp beyond 2^63 - 1 is refused before the signature is checked.
        let mut far = Note::unsigned(note.text()).unwrap();
        let mut line = cosign(&checkpoint, &cosigner, NOW);
        line.signature[..8].copy_from_slice(&u64::MAX.to_be_bytes());
        far.add_signature(line);
        assert_eq!(
            far.verify(&verifiers).unwrap_err(),
            LedgerError::CosignatureTimestampOutOfRange {
                name: "partner.example/witness".into(),
                timestamp: u64::MAX
            }
        );
    }

    #[test]
    fn an_honest_log_is_cosigned_as_it_grows() {
        let entries: Vec<String> = (0..20).map(|i| format!("entry {i}")).collect();
        let mut log = Log::new(&[]);
        let mut witness = witness(&log);
        let mut held = 0;
        for size in [1u64, 2, 2, 5, 8, 13, 20] {
            while log.tree.size() < size {
                log.tree
                    .append(entries[log.tree.size() as usize].as_bytes());
            }
            let proof = if held == 0 {
                Vec::new()
            } else {
                log.tree.consistency_proof(held, size).unwrap()
            };
            let line = witness.cosign(&log.note(size), &proof, NOW + size).unwrap();
            let mut note = log.note(size);
            note.add_signature(line);
            note.verify(&[witness.cosigner().verifier().clone()])
                .unwrap();
            assert_eq!(witness.latest(), Some(&log.checkpoint(size)));
            held = size;
        }
    }

    #[test]
    fn a_rollback_is_refused() {
        let log = Log::new(&["a", "b", "c", "d", "e"]);
        let mut witness = witness(&log);
        witness.cosign(&log.note(5), &[], NOW).unwrap();
        let error = witness.cosign(&log.note(3), &[], NOW).unwrap_err();
        assert_eq!(error, LedgerError::Rollback { from: 5, to: 3 });
        assert_eq!(error.to_string(), "rollback: size shrank from 5 to 3");
        assert_eq!(witness.latest(), Some(&log.checkpoint(5)));
    }

    #[test]
    fn a_fork_is_refused_at_the_same_size_and_when_growing() {
        let honest = Log::new(&["a", "b", "c", "d", "e"]);
        let rewritten = Log::new(&["a", "B", "c", "d", "e", "f", "g"]);
        let mut witness = witness(&honest);
        witness.cosign(&honest.note(5), &[], NOW).unwrap();
        let fork = LedgerError::Fork {
            size: 5,
            cosigned: *honest.checkpoint(5).root(),
        };

        let error = witness.cosign(&rewritten.note(5), &[], NOW).unwrap_err();
        assert_eq!(error, fork);
        assert!(
            error
                .to_string()
                .starts_with("fork: root at size 5 differs")
        );

        // The rewritten log proves its own history honestly; the held root exposes it.
        let proof = rewritten.tree.consistency_proof(5, 7).unwrap();
        assert_eq!(
            witness.cosign(&rewritten.note(7), &proof, NOW).unwrap_err(),
            fork
        );
        assert_eq!(witness.latest(), Some(&honest.checkpoint(5)));
    }

    /// When the held size is a power of two, the held root is itself the first step of the
    /// proof, so a forked log's proof cannot lead to its new root: the refusal is the same, but
    /// it cannot tell a fork from a wrong proof.
    #[test]
    fn a_fork_from_a_complete_subtree_shows_as_a_proof_that_misses_the_new_root() {
        let honest = Log::new(&["a", "b", "c", "d"]);
        let rewritten = Log::new(&["a", "B", "c", "d", "e", "f"]);
        let mut witness = witness(&honest);
        witness.cosign(&honest.note(4), &[], NOW).unwrap();
        let proof = rewritten.tree.consistency_proof(4, 6).unwrap();
        assert!(matches!(
            witness.cosign(&rewritten.note(6), &proof, NOW).unwrap_err(),
            LedgerError::ConsistencyNewRootMismatch { new_size: 6, .. }
        ));
        assert_eq!(witness.latest(), Some(&honest.checkpoint(4)));
    }

    #[test]
    fn bad_proofs_foreign_logs_and_unsigned_checkpoints_are_refused() {
        let log = Log::new(&["a", "b", "c", "d", "e", "f"]);
        let mut witness = witness(&log);
        witness.cosign(&log.note(3), &[], NOW).unwrap();
        // No proof at all.
        assert_eq!(
            witness.cosign(&log.note(6), &[], NOW).unwrap_err(),
            LedgerError::ConsistencyProofLength {
                old_size: 3,
                new_size: 6,
                got: 0,
                expected: 4
            }
        );
        // A proof for other sizes.
        let wrong = log.tree.consistency_proof(2, 6).unwrap();
        assert!(witness.cosign(&log.note(6), &wrong, NOW).is_err());
        // Another origin.
        let other = Checkpoint::new("other.example/log", 6, log.tree.root()).unwrap();
        let other_note = other.sign(&log.signer);
        let proof = log.tree.consistency_proof(3, 6).unwrap();
        assert_eq!(
            witness.cosign(&other_note, &proof, NOW).unwrap_err(),
            LedgerError::OriginMismatch {
                expected: ORIGIN.into(),
                got: "other.example/log".into()
            }
        );
        // Signed by a key the witness does not know for this log.
        let impostor = NoteSigner::new(ORIGIN, test_key(66)).unwrap();
        assert!(matches!(
            witness
                .cosign(&log.checkpoint(6).sign(&impostor), &proof, NOW)
                .unwrap_err(),
            LedgerError::NoKnownSignature { .. }
        ));
        assert_eq!(witness.latest(), Some(&log.checkpoint(3)));
        // The right proof is accepted.
        witness.cosign(&log.note(6), &proof, NOW).unwrap();
    }
}
