//! Verification of inclusion and consistency proofs, with the iterative algorithms of
//! RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! The shape of a proof (how many hashes it has) depends only on the sizes and the index, so
//! it is checked first: a proof with a component too many or too few is refused with a message
//! that says how many were due, before any hashing.

use crate::LedgerError;
use crate::hash::{Hash, node_hash};

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= size {
        return Err(LedgerError::LeafIndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(LedgerError::InclusionProofLength {
            index,
            size,
            got: proof.len(),
            expected,
        });
    }
    let computed = root_from_inclusion_proof(leaf, index, size, proof);
    if computed != *root {
        return Err(LedgerError::InclusionRootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// The number of hashes in an inclusion proof: the iterations of §2.1.3.2 step 4 until `sn`
/// reaches zero.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut count = 0;
    while sn != 0 {
        count += 1;
        if fn_ & 1 == 1 || fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    count
}

/// RFC 9162 §2.1.3.2 step 4 for a proof of the right length.
fn root_from_inclusion_proof(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Hash {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    debug_assert_eq!(sn, 0, "the length check guarantees a complete path");
    r
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root`.
///
/// Equal sizes need an empty proof and equal roots. A proof from the empty tree is refused:
/// every tree extends it, so such a "proof" would say nothing, and a caller that reaches this
/// case has a logic error worth surfacing (a witness handles its first checkpoint separately).
///
/// When the proof leads to `new_root` but to another root than `old_root` at `old_size`, the
/// new tree is a fork of the old one ([`LedgerError::ConsistencyOldRootMismatch`]); when it
/// does not even lead to `new_root`, the proof is simply wrong
/// ([`LedgerError::ConsistencyNewRootMismatch`]).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::ConsistencySizesReversed { old_size, new_size });
    }
    if old_size == 0 {
        return Err(LedgerError::ConsistencyFromEmptyTree);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(LedgerError::ConsistencyProofLength {
                old_size,
                new_size,
                got: proof.len(),
                expected: 0,
            });
        }
        if old_root != new_root {
            return Err(LedgerError::ConsistencyOldRootMismatch {
                old_size,
                computed: *new_root,
                expected: *old_root,
            });
        }
        return Ok(());
    }

    // Step 2: when the old tree is a complete subtree, its root is the proof's implicit first
    // component.
    let old_is_complete = old_size.is_power_of_two();
    let expected = consistency_proof_len(old_size, new_size) - usize::from(old_is_complete);
    if proof.len() != expected {
        return Err(LedgerError::ConsistencyProofLength {
            old_size,
            new_size,
            got: proof.len(),
            expected,
        });
    }
    let (seed, rest) = if old_is_complete {
        (*old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };

    // Steps 3 to 6.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    debug_assert_eq!(sn, 0, "the length check guarantees a complete proof");

    // Step 7, new root first: only a proof bound to the new tree says anything about its past.
    if sr != *new_root {
        return Err(LedgerError::ConsistencyNewRootMismatch {
            new_size,
            computed: sr,
            expected: *new_root,
        });
    }
    if fr != *old_root {
        return Err(LedgerError::ConsistencyOldRootMismatch {
            old_size,
            computed: fr,
            expected: *old_root,
        });
    }
    Ok(())
}

/// The number of components §2.1.4.2 consumes, counting the prepended old root when the old
/// tree is complete; `0 < old_size < new_size`.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut count = 1;
    while sn != 0 {
        count += 1;
        if fn_ & 1 == 1 || fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::MemoryTree;

    fn tree(n: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.append(format!("entry {i}").as_bytes());
        }
        tree
    }

    #[test]
    fn every_generated_proof_verifies_and_every_altered_one_fails() {
        let tree = tree(40);
        for size in 1..=40 {
            let root = tree.root_at(size).unwrap();
            for index in 0..size {
                let leaf = tree.leaf(index).unwrap();
                let proof = tree.inclusion_proof(index, size).unwrap();
                verify_inclusion(&leaf, index, size, &proof, &root)
                    .unwrap_or_else(|e| panic!("leaf {index} of {size}: {e}"));
                for position in 0..proof.len() {
                    let mut altered = proof.clone();
                    altered[position] = leaf_hash(b"forged");
                    assert!(
                        verify_inclusion(&leaf, index, size, &altered, &root).is_err(),
                        "altered component {position} of leaf {index} in {size}"
                    );
                }
                let other = leaf_hash(b"not in the tree");
                assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
            }
            for old in 1..=size {
                let old_root = tree.root_at(old).unwrap();
                let proof = tree.consistency_proof(old, size).unwrap();
                verify_consistency(old, size, &old_root, &root, &proof)
                    .unwrap_or_else(|e| panic!("{old} -> {size}: {e}"));
                for position in 0..proof.len() {
                    let mut altered = proof.clone();
                    altered[position] = leaf_hash(b"forged");
                    assert!(
                        verify_consistency(old, size, &old_root, &root, &altered).is_err(),
                        "altered component {position} of {old} -> {size}"
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_shapes_are_refused_with_the_expected_length() {
        let tree = tree(5);
        let root = tree.root();
        let leaf = tree.leaf(1).unwrap();
        let mut proof = tree.inclusion_proof(1, 5).unwrap();
        proof.push(leaf);
        assert_eq!(
            verify_inclusion(&leaf, 1, 5, &proof, &root).unwrap_err(),
            LedgerError::InclusionProofLength {
                index: 1,
                size: 5,
                got: 4,
                expected: 3
            }
        );
        assert_eq!(
            verify_inclusion(&leaf, 5, 5, &[], &root).unwrap_err(),
            LedgerError::LeafIndexOutOfRange { index: 5, size: 5 }
        );
        let old_root = tree.root_at(2).unwrap();
        assert_eq!(
            verify_consistency(2, 5, &old_root, &root, &[]).unwrap_err(),
            LedgerError::ConsistencyProofLength {
                old_size: 2,
                new_size: 5,
                got: 0,
                expected: 2
            }
        );
    }

    #[test]
    fn a_fork_is_told_apart_from_a_bad_proof() {
        let honest = tree(7);
        let mut forked = MemoryTree::new();
        for i in 0..7 {
            let entry = if i == 1 {
                "rewritten".to_string()
            } else {
                format!("entry {i}")
            };
            forked.append(entry.as_bytes());
        }
        // The forked log proves its own history honestly; the witness holds the honest root at 3.
        let proof = forked.consistency_proof(3, 7).unwrap();
        assert_eq!(
            verify_consistency(3, 7, &honest.root_at(3).unwrap(), &forked.root(), &proof)
                .unwrap_err(),
            LedgerError::ConsistencyOldRootMismatch {
                old_size: 3,
                computed: forked.root_at(3).unwrap(),
                expected: honest.root_at(3).unwrap(),
            }
        );
        // A proof that does not lead to the claimed new root is just wrong.
        let err = verify_consistency(3, 7, &honest.root_at(3).unwrap(), &honest.root(), &proof)
            .unwrap_err();
        assert!(matches!(
            err,
            LedgerError::ConsistencyNewRootMismatch { new_size: 7, .. }
        ));
    }

    #[test]
    fn degenerate_sizes() {
        let tree = tree(2);
        let (one, two) = (tree.root_at(1).unwrap(), tree.root());
        assert_eq!(verify_consistency(1, 1, &one, &one, &[]), Ok(()));
        assert_eq!(
            verify_consistency(2, 1, &two, &one, &[]).unwrap_err(),
            LedgerError::ConsistencySizesReversed {
                old_size: 2,
                new_size: 1
            }
        );
        assert_eq!(
            verify_consistency(0, 0, &one, &one, &[]).unwrap_err(),
            LedgerError::ConsistencyFromEmptyTree
        );
        assert!(verify_consistency(1, 1, &one, &two, &[]).is_err());
        assert!(verify_consistency(1, 1, &one, &one, &[one]).is_err());
        assert_eq!(verify_inclusion(&one, 0, 1, &[], &one), Ok(()));
    }
}
