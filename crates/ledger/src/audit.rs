//! Auditing a whole log: recompute the tree from the stored entries and check it against the
//! log's signed checkpoint and the checkpoints partners cosigned.
//!
//! This is the core of `tsunagu verify`. It reports the first problem it finds as the kind of
//! tampering it reveals: a checkpoint signed by an unknown key, entries dropped, an entry
//! altered (and whether the prefix a partner cosigned is still intact), or history rewritten
//! and re-signed behind a partner's back.

use std::collections::BTreeMap;

use crate::LedgerError;
use crate::checkpoint::{SignedCheckpoint, WitnessedCheckpoint};
use crate::hash::Hash;
use crate::note::{Note, Verifier};
use crate::tree::Frontier;

/// The keys an auditor trusts: the log's, and those of the partners that witness it.
#[derive(Clone, Debug)]
pub struct AuditKeys {
    /// The log's checkpoint key.
    pub log: Verifier,
    /// The witnesses' cosigner keys.
    pub witnesses: Vec<Verifier>,
}

/// What an audit established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedLog {
    /// The log's origin.
    pub origin: String,
    /// The size the signed checkpoint commits to, all of whose entries matched.
    pub size: u64,
    /// The signed root, equal to the recomputed one.
    pub root: Hash,
    /// Entries after the checkpoint, not yet covered by any signature.
    pub unsigned_tail: u64,
    /// The witnessed checkpoints the entries matched, as (size, witness) pairs, smallest first.
    pub witnessed: Vec<(u64, String)>,
}

/// Recomputes the tree over `entries` (the logged bytes, in order) and checks it against the
/// signed `checkpoint` and the `witnessed` checkpoints partners cosigned, trusting `keys`.
///
/// Checks, in order, and the error each failure gives:
/// 1. the checkpoint is signed by the log key: [`LedgerError::NoKnownSignature`] if only
///    unknown keys signed (the tree was re-signed), [`LedgerError::ForgedSignature`] if the
///    signature does not verify;
/// 2. each witnessed checkpoint is cosigned by a known witness, is of the same log, and is no
///    larger than the signed one ([`LedgerError::Rollback`] otherwise);
/// 3. there are at least as many entries as the checkpoint commits to
///    ([`LedgerError::EntriesMissing`]);
/// 4. the first `size` entries hash to the signed root; otherwise an entry was altered, and the
///    witnessed checkpoints tell where: [`LedgerError::EntryAlteredAfterWitnessedPrefix`] when
///    a cosigned prefix still matches, [`LedgerError::EntryAlteredWithinWitnessedPrefix`] when
///    none does, [`LedgerError::EntryAltered`] when there are none;
/// 5. every witnessed prefix matches ([`LedgerError::HistoryRewritten`] otherwise: the entries
///    agree with the signed checkpoint, so the log re-signed a rewritten history).
///
/// Entries beyond the checkpoint are counted, not hashed, and reported as the unsigned tail.
pub fn verify_log<E: AsRef<[u8]>>(
    entries: impl IntoIterator<Item = E>,
    checkpoint: &Note,
    witnessed: &[Note],
    keys: &AuditKeys,
) -> Result<VerifiedLog, LedgerError> {
    let signed = SignedCheckpoint::verify(checkpoint, &keys.log, &keys.witnesses)?;
    let signed = signed.checkpoint();
    let mut held = witnessed
        .iter()
        .map(|note| WitnessedCheckpoint::verify(note, &keys.witnesses))
        .collect::<Result<Vec<_>, _>>()?;
    held.sort_by_key(|w| w.checkpoint().size());
    for w in &held {
        let cosigned = w.checkpoint();
        if cosigned.origin() != signed.origin() {
            return Err(LedgerError::OriginMismatch {
                expected: signed.origin().to_owned(),
                got: cosigned.origin().to_owned(),
            });
        }
        if cosigned.size() > signed.size() {
            return Err(LedgerError::Rollback {
                from: cosigned.size(),
                to: signed.size(),
            });
        }
    }

    // One pass over the entries, noting the root at every size a checkpoint names.
    let mut wanted: BTreeMap<u64, Option<Hash>> =
        held.iter().map(|w| (w.checkpoint().size(), None)).collect();
    wanted.insert(signed.size(), None);
    let mut frontier = Frontier::new();
    let mut unsigned_tail = 0u64;
    if let Some(root) = wanted.get_mut(&0) {
        *root = Some(frontier.root());
    }
    for entry in entries {
        if frontier.size() == signed.size() {
            unsigned_tail += 1;
            continue;
        }
        frontier.append(entry.as_ref());
        if let Some(root) = wanted.get_mut(&frontier.size()) {
            *root = Some(frontier.root());
        }
    }
    if frontier.size() < signed.size() {
        return Err(LedgerError::EntriesMissing {
            entries: frontier.size(),
            size: signed.size(),
        });
    }
    let root_at = |size: u64| wanted[&size].expect("every wanted size was reached");

    let computed = root_at(signed.size());
    if computed != *signed.root() {
        let matching = held
            .iter()
            .rev()
            .find(|w| root_at(w.checkpoint().size()) == *w.checkpoint().root());
        return Err(match (matching, held.first()) {
            (Some(intact), _) => LedgerError::EntryAlteredAfterWitnessedPrefix {
                size: signed.size(),
                witnessed_size: intact.checkpoint().size(),
                witness: intact.first_witness().to_owned(),
            },
            (None, Some(smallest)) => LedgerError::EntryAlteredWithinWitnessedPrefix {
                size: signed.size(),
                witnessed_size: smallest.checkpoint().size(),
                witness: smallest.first_witness().to_owned(),
            },
            (None, None) => LedgerError::EntryAltered {
                size: signed.size(),
                computed,
                signed: *signed.root(),
            },
        });
    }
    for w in &held {
        if root_at(w.checkpoint().size()) != *w.checkpoint().root() {
            return Err(LedgerError::HistoryRewritten {
                size: w.checkpoint().size(),
                witness: w.first_witness().to_owned(),
            });
        }
    }

    Ok(VerifiedLog {
        origin: signed.origin().to_owned(),
        size: signed.size(),
        root: *signed.root(),
        unsigned_tail,
        witnessed: held
            .iter()
            .map(|w| (w.checkpoint().size(), w.first_witness().to_owned()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::cosignature::{Cosigner, Witness};
    use crate::entry::{DataDelivery, Direction, LogEntry};
    use crate::note::{NoteSigner, test_key};
    use crate::tree::MemoryTree;

    const ORIGIN: &str = "tsunagu.example/cell-maker";
    const NOW: u64 = 1_750_000_000;

    fn entries(n: u64) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                LogEntry::DataDelivered(DataDelivery {
                    direction: Direction::Served,
                    agreement_id: format!("agr-{}", i % 3),
                    transfer_id: format!("tp-{i}"),
                    sha256: Hash::sha256(format!("payload {i}").as_bytes()),
                    bytes: 1000 + i,
                    at_unix_ms: 1_750_000_000_000 + i,
                    signature: None,
                })
                .encode()
            })
            .collect()
    }

    /// A log of `entries`, its signer, and a partner that cosigned it at `witnessed_size`.
    struct Scenario {
        entries: Vec<Vec<u8>>,
        log: NoteSigner,
        partner: Cosigner,
        keys: AuditKeys,
        witnessed: Vec<Note>,
    }

    impl Scenario {
        fn new(size: u64, witnessed_size: Option<u64>) -> Scenario {
            let entries = entries(size);
            let log = NoteSigner::new(ORIGIN, test_key(1)).unwrap();
            let partner = Cosigner::new("did:web:cathode.example", test_key(2)).unwrap();
            let keys = AuditKeys {
                log: log.verifier().clone(),
                witnesses: vec![partner.verifier().clone()],
            };
            let mut scenario = Scenario {
                entries,
                log,
                partner,
                keys,
                witnessed: Vec::new(),
            };
            if let Some(witnessed_size) = witnessed_size {
                let note = scenario.sign(&scenario.entries[..witnessed_size as usize]);
                let mut witness =
                    Witness::new(scenario.partner.clone(), scenario.log.verifier().clone());
                let mut cosigned = note.clone();
                cosigned.add_signature(witness.cosign(&note, &[], NOW).unwrap());
                scenario.witnessed.push(cosigned);
            }
            scenario
        }

        fn sign(&self, entries: &[Vec<u8>]) -> Note {
            self.sign_with(entries, &self.log)
        }

        fn sign_with(&self, entries: &[Vec<u8>], signer: &NoteSigner) -> Note {
            let mut tree = MemoryTree::new();
            tree.append_batch(entries);
            Checkpoint::new(ORIGIN, tree.size(), tree.root())
                .unwrap()
                .sign(signer)
        }

        fn audit(
            &self,
            entries: &[Vec<u8>],
            checkpoint: &Note,
        ) -> Result<VerifiedLog, LedgerError> {
            verify_log(entries, checkpoint, &self.witnessed, &self.keys)
        }
    }

    #[test]
    fn an_intact_log_verifies() {
        let s = Scenario::new(50, Some(20));
        let checkpoint = s.sign(&s.entries);
        let verified = s.audit(&s.entries, &checkpoint).unwrap();
        assert_eq!(verified.size, 50);
        assert_eq!(verified.unsigned_tail, 0);
        assert_eq!(
            verified.witnessed,
            vec![(20, "did:web:cathode.example".to_owned())]
        );

        // Entries appended after the last checkpoint are reported, not refused.
        let mut longer = s.entries.clone();
        longer.extend(entries(53).split_off(50));
        assert_eq!(s.audit(&longer, &checkpoint).unwrap().unsigned_tail, 3);

        // The empty log.
        let empty = Scenario::new(0, None);
        let verified = empty.audit(&[], &empty.sign(&[])).unwrap();
        assert_eq!(
            (verified.size, verified.root),
            (0, crate::hash::empty_root())
        );
    }

    #[test]
    fn an_altered_entry_after_the_witnessed_prefix() {
        let s = Scenario::new(50, Some(20));
        let checkpoint = s.sign(&s.entries);
        let mut altered = s.entries.clone();
        altered[33] = b"altered".to_vec();
        assert_eq!(
            s.audit(&altered, &checkpoint).unwrap_err(),
            LedgerError::EntryAlteredAfterWitnessedPrefix {
                size: 50,
                witnessed_size: 20,
                witness: "did:web:cathode.example".into()
            }
        );
    }

    #[test]
    fn an_altered_entry_within_the_witnessed_prefix() {
        let s = Scenario::new(50, Some(20));
        let checkpoint = s.sign(&s.entries);
        let mut altered = s.entries.clone();
        altered[5][10] ^= 1;
        assert_eq!(
            s.audit(&altered, &checkpoint).unwrap_err(),
            LedgerError::EntryAlteredWithinWitnessedPrefix {
                size: 50,
                witnessed_size: 20,
                witness: "did:web:cathode.example".into()
            }
        );
    }

    #[test]
    fn an_altered_entry_without_witnesses() {
        let s = Scenario::new(10, None);
        let checkpoint = s.sign(&s.entries);
        let mut altered = s.entries.clone();
        altered.swap(2, 3);
        let error = s.audit(&altered, &checkpoint).unwrap_err();
        assert!(
            matches!(error, LedgerError::EntryAltered { size: 10, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_dropped_entry() {
        let s = Scenario::new(50, Some(20));
        let checkpoint = s.sign(&s.entries);
        let mut dropped = s.entries.clone();
        dropped.remove(40);
        let error = s.audit(&dropped, &checkpoint).unwrap_err();
        assert_eq!(
            error,
            LedgerError::EntriesMissing {
                entries: 49,
                size: 50
            }
        );
        assert_eq!(
            error.to_string(),
            "entry dropped: the log holds 49 entries, the checkpoint commits to 50"
        );
    }

    #[test]
    fn a_tree_re_signed_by_an_unknown_key() {
        let s = Scenario::new(50, Some(20));
        let mut rewritten = s.entries.clone();
        rewritten[5] = b"rewritten".to_vec();
        let other_key = NoteSigner::new(ORIGIN, test_key(99)).unwrap();
        let checkpoint = s.sign_with(&rewritten, &other_key);
        assert_eq!(
            s.audit(&rewritten, &checkpoint).unwrap_err(),
            LedgerError::NoKnownSignature {
                signers: other_key.verifier().signer()
            }
        );
    }

    #[test]
    fn a_forged_checkpoint_signature() {
        let s = Scenario::new(10, None);
        let honest = s.sign(&s.entries);
        let mut rewritten = s.entries.clone();
        rewritten[0] = b"rewritten".to_vec();
        // The honest signature line pasted under another tree head.
        let mut forged = Note::unsigned(s.sign(&rewritten).text()).unwrap();
        forged.add_signature(honest.signatures()[0].clone());
        assert!(matches!(
            s.audit(&rewritten, &forged).unwrap_err(),
            LedgerError::ForgedSignature { .. }
        ));
    }

    #[test]
    fn a_tree_re_signed_with_the_log_key_differs_from_the_partners_checkpoint() {
        let s = Scenario::new(50, Some(20));
        let mut rewritten = s.entries.clone();
        rewritten[5] = b"rewritten".to_vec();
        let checkpoint = s.sign(&rewritten);
        let error = s.audit(&rewritten, &checkpoint).unwrap_err();
        assert_eq!(
            error,
            LedgerError::HistoryRewritten {
                size: 20,
                witness: "did:web:cathode.example".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "re-signed tree: the root at size 20 differs from the checkpoint cosigned by \
             did:web:cathode.example"
        );

        // Rewritten at exactly the witnessed size.
        let checkpoint = s.sign(&rewritten[..20]);
        assert!(matches!(
            s.audit(&rewritten[..20], &checkpoint).unwrap_err(),
            LedgerError::HistoryRewritten { size: 20, .. }
        ));
    }

    #[test]
    fn a_log_rolled_back_behind_a_witnessed_checkpoint() {
        let s = Scenario::new(50, Some(20));
        let checkpoint = s.sign(&s.entries[..15]);
        assert_eq!(
            s.audit(&s.entries[..15], &checkpoint).unwrap_err(),
            LedgerError::Rollback { from: 20, to: 15 }
        );
    }

    #[test]
    fn witnessed_checkpoints_must_be_cosigned_by_a_known_witness() {
        let mut s = Scenario::new(30, None);
        // The log's own signature is no cosignature.
        s.witnessed.push(s.sign(&s.entries[..10]));
        let checkpoint = s.sign(&s.entries);
        assert_eq!(
            s.audit(&s.entries, &checkpoint).unwrap_err(),
            LedgerError::MissingCosignature { size: 10 }
        );
    }
}
