//! The RFC 9162 Merkle tree: roots and proof generation over any source of leaf hashes.
//!
//! Three pieces, from least to most memory:
//!
//! - [`HashSource`] is what proof generation reads. Anything that can hand out leaf hashes by
//!   index implements it (a `[Hash]` slice does); the storage layer will, once it persists leaf
//!   hashes. Its default [`HashSource::range_hash`] recomputes a subtree from its leaves, which
//!   costs one leaf read and about one node hash per leaf in the range: an inclusion or
//!   consistency proof over a tree of size `n` then costs O(n) hashing, because the sibling
//!   subtrees of a path cover the whole tree. That is fine for an audit and too slow to serve
//!   proofs from a large log on every request; a source that memoizes complete subtrees (as
//!   [`MemoryTree`] does) brings it down to O(log n).
//! - [`Frontier`] (a "compact range") keeps only the roots of the complete subtrees on the
//!   right edge, one per set bit of the size: O(log n) memory, O(1) amortized append, root in
//!   O(log n). It is what a writer needs to compute the next checkpoint and what an auditor
//!   needs to recompute a root from a stream of entries.
//! - [`MemoryTree`] memoizes every complete subtree (about two hashes per leaf, 64 bytes per
//!   entry), so roots at any earlier size and all proofs cost O(log n) hashes.

use crate::LedgerError;
use crate::hash::{Hash, empty_root, leaf_hash, node_hash};

/// Leaf hashes by index: what proof generation reads.
///
/// The storage layer implements this over the leaf hashes it persists (or loads them into a
/// [`MemoryTree`] once and serves proofs from there; see the module documentation for costs).
pub trait HashSource {
    /// How many leaves the source holds.
    fn size(&self) -> u64;

    /// The hash of leaf `index`; callers only ask for `index < self.size()`.
    fn leaf_hash(&self, index: u64) -> Hash;

    /// `MTH(D[start:end])` of RFC 9162 §2.1.1, for `start <= end <= self.size()`.
    ///
    /// The default recomputes it from the leaf hashes: `end - start` leaf reads and as many node
    /// hashes. Sources that keep subtree hashes should override it.
    fn range_hash(&self, start: u64, end: u64) -> Hash {
        let mut frontier = Frontier::new();
        for index in start..end {
            frontier.append_leaf_hash(self.leaf_hash(index));
        }
        frontier.root()
    }
}

impl HashSource for [Hash] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn leaf_hash(&self, index: u64) -> Hash {
        self[to_usize(index)]
    }
}

impl HashSource for Vec<Hash> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn leaf_hash(&self, index: u64) -> Hash {
        self.as_slice().leaf_hash(index)
    }
}

/// The largest power of two strictly smaller than `n` (the `k` of RFC 9162 §2.1.1); `n >= 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// An index that is in range for an in-memory collection.
fn to_usize(index: u64) -> usize {
    // An index into memory fits `usize` on every platform that could hold the leaves.
    usize::try_from(index).unwrap_or(usize::MAX)
}

/// The inclusion proof `PATH(index, D[0:size])` of RFC 9162 §2.1.3.1, bottom-up.
pub fn inclusion_proof<S: HashSource + ?Sized>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    check_size(source, size)?;
    if index >= size {
        return Err(LedgerError::LeafIndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(64);
    inclusion_path(source, index, 0, size, &mut proof);
    Ok(proof)
}

fn inclusion_path<S: HashSource + ?Sized>(
    source: &S,
    index: u64,
    start: u64,
    end: u64,
    proof: &mut Vec<Hash>,
) {
    let n = end - start;
    if n == 1 {
        return;
    }
    let middle = start + split_point(n);
    if index < middle {
        inclusion_path(source, index, start, middle, proof);
        proof.push(source.range_hash(middle, end));
    } else {
        inclusion_path(source, index, middle, end, proof);
        proof.push(source.range_hash(start, middle));
    }
}

/// The consistency proof `PROOF(old_size, D[0:new_size])` of RFC 9162 §2.1.4.1.
///
/// Equal sizes give the empty proof. A proof from the empty tree is refused, as its
/// verification is: every tree extends the empty one, so it would prove nothing.
pub fn consistency_proof<S: HashSource + ?Sized>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    check_size(source, new_size)?;
    if old_size > new_size {
        return Err(LedgerError::ConsistencySizesReversed { old_size, new_size });
    }
    if old_size == 0 {
        return Err(LedgerError::ConsistencyFromEmptyTree);
    }
    let mut proof = Vec::with_capacity(64);
    consistency_subproof(source, old_size, 0, new_size, true, &mut proof);
    Ok(proof)
}

/// `SUBPROOF(m, D[start:end], whole)` with `m` counted from the start of the whole tree.
fn consistency_subproof<S: HashSource + ?Sized>(
    source: &S,
    old_size: u64,
    start: u64,
    end: u64,
    whole: bool,
    proof: &mut Vec<Hash>,
) {
    if old_size == end {
        if !whole {
            proof.push(source.range_hash(start, end));
        }
        return;
    }
    let middle = start + split_point(end - start);
    if old_size <= middle {
        consistency_subproof(source, old_size, start, middle, whole, proof);
        proof.push(source.range_hash(middle, end));
    } else {
        consistency_subproof(source, old_size, middle, end, false, proof);
        proof.push(source.range_hash(start, middle));
    }
}

fn check_size<S: HashSource + ?Sized>(source: &S, size: u64) -> Result<(), LedgerError> {
    let available = source.size();
    if size > available {
        return Err(LedgerError::TreeSizeBeyondSource { size, available });
    }
    Ok(())
}

/// The roots of the complete subtrees along the right edge of a tree ("compact range").
///
/// Enough to compute the root and to keep appending, in O(log n) memory. A writer persists it
/// next to its latest checkpoint so that it need not reread every leaf after a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One subtree root per set bit of `size`, the largest (leftmost) subtree first.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// A frontier persisted earlier: `nodes` are the complete subtree roots, largest first,
    /// one per set bit of `size`.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Frontier, LedgerError> {
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(LedgerError::FrontierShape {
                size,
                got: nodes.len(),
                expected,
            });
        }
        Ok(Frontier { size, nodes })
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtree roots, largest first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends an entry (hashing it as a leaf) and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf by its hash and returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size;
        // Each trailing one bit of the old size is a complete subtree of the same height as the
        // one being carried: merge them, like a binary increment.
        let mut carried = leaf;
        let mut bits = self.size;
        while bits & 1 == 1 {
            let left = self
                .nodes
                .pop()
                .expect("a set bit of the size has a subtree root");
            carried = node_hash(&left, &carried);
            bits >>= 1;
        }
        self.nodes.push(carried);
        self.size += 1;
        index
    }

    /// The tree root `MTH(D[0:size])`.
    pub fn root(&self) -> Hash {
        fold_right_edge(self.nodes.iter().copied())
    }
}

/// Combines complete subtree roots (largest first) into the root of their concatenation: the
/// smaller subtrees on the right are joined first, as RFC 9162's split at the largest power of
/// two demands.
fn fold_right_edge(nodes: impl DoubleEndedIterator<Item = Hash>) -> Hash {
    let mut nodes = nodes.rev();
    match nodes.next() {
        None => empty_root(),
        Some(last) => nodes.fold(last, |right, left| node_hash(&left, &right)),
    }
}

/// What [`MemoryTree::append_batch`] appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The index of the first entry of the batch (the old size).
    pub first_index: u64,
    /// The size after the batch.
    pub size: u64,
    /// The root after the batch.
    pub root: Hash,
}

/// A Merkle tree held in memory with every complete subtree hash memoized.
///
/// Appending costs one leaf hash and amortized one node hash; the root, the root at any earlier
/// size, and inclusion and consistency proofs cost O(log n) hashes. Memory is about two hashes
/// (64 bytes) per leaf.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[h][i]` is the root of the complete subtree of height `h` over leaves
    /// `[i * 2^h, (i + 1) * 2^h)`; `levels[0]` are the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// The tree over these leaf hashes (e.g. as persisted by the storage layer).
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.append_leaf_hash(leaf);
        }
        tree
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends an entry (hashing it as a leaf) and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf by its hash and returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut carried = leaf;
        let mut height = 0;
        loop {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(carried);
            // A level that now has an even number of nodes completed a subtree one level up.
            if level.len() % 2 == 1 {
                break;
            }
            carried = node_hash(&level[level.len() - 2], &level[level.len() - 1]);
            height += 1;
        }
        index
    }

    /// Appends entries in order; returns the first index, the new size and the new root.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Appended {
        let first_index = self.size();
        for entry in entries {
            self.append(entry.as_ref());
        }
        Appended {
            first_index,
            size: self.size(),
            root: self.root(),
        }
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.range_hash(0, self.size())
    }

    /// The root the tree had at `size`.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        check_size(self, size)?;
        Ok(self.range_hash(0, size))
    }

    /// The frontier of the current tree, e.g. to hand over to a writer that keeps only that.
    pub fn frontier(&self) -> Frontier {
        let size = self.size();
        let nodes = (0..self.levels.len())
            .rev()
            .filter(|height| size >> height & 1 == 1)
            .map(|height| *self.levels[height].last().expect("set bit has a node"))
            .collect();
        Frontier { size, nodes }
    }

    /// The hash of leaf `index`, if the tree has it.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(to_usize(index)).copied()
    }

    /// The inclusion proof of leaf `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        inclusion_proof(self, index, size)
    }

    /// The consistency proof from size `old_size` to size `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        consistency_proof(self, old_size, new_size)
    }
}

impl HashSource for MemoryTree {
    fn size(&self) -> u64 {
        MemoryTree::size(self)
    }

    fn leaf_hash(&self, index: u64) -> Hash {
        self.levels[0][to_usize(index)]
    }

    fn range_hash(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && start % n == 0 {
            let height = n.trailing_zeros() as usize;
            return self.levels[height][to_usize(start >> height)];
        }
        let middle = start + split_point(n);
        node_hash(
            &self.range_hash(start, middle),
            &self.range_hash(middle, end),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MTH` exactly as RFC 9162 §2.1.1 writes it, recursively over the entries.
    fn reference_root(entries: &[Vec<u8>]) -> Hash {
        match entries.len() {
            0 => empty_root(),
            1 => leaf_hash(&entries[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(
                    &reference_root(&entries[..k]),
                    &reference_root(&entries[k..]),
                )
            }
        }
    }

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    #[test]
    fn split_point_is_the_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn every_root_matches_the_recursive_definition() {
        let entries = entries(70);
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::new();
        assert_eq!(tree.root(), empty_root());
        assert_eq!(frontier.root(), empty_root());
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(tree.append(entry), i as u64);
            assert_eq!(frontier.append(entry), i as u64);
            let expected = reference_root(&entries[..=i]);
            assert_eq!(tree.root(), expected, "memory tree at size {}", i + 1);
            assert_eq!(frontier.root(), expected, "frontier at size {}", i + 1);
            assert_eq!(tree.frontier(), frontier);
        }
        for size in 0..=70 {
            assert_eq!(
                tree.root_at(size).unwrap(),
                reference_root(&entries[..size as usize])
            );
        }
        assert_eq!(
            tree.root_at(71).unwrap_err(),
            LedgerError::TreeSizeBeyondSource {
                size: 71,
                available: 70
            }
        );
    }

    #[test]
    fn batch_append_reports_first_index_size_and_root() {
        let entries = entries(10);
        let mut tree = MemoryTree::new();
        tree.append(b"before");
        let appended = tree.append_batch(&entries);
        assert_eq!(appended.first_index, 1);
        assert_eq!(appended.size, 11);
        assert_eq!(appended.root, tree.root());
        let empty: [&[u8]; 0] = [];
        let nothing = tree.append_batch(&empty);
        assert_eq!((nothing.first_index, nothing.size), (11, 11));
    }

    #[test]
    fn frontier_restored_from_parts_keeps_appending() {
        let mut tree = MemoryTree::new();
        tree.append_batch(&entries(13));
        let saved = tree.frontier();
        let mut restored = Frontier::from_parts(saved.size(), saved.nodes().to_vec()).unwrap();
        restored.append(b"next");
        tree.append(b"next");
        assert_eq!(restored.root(), tree.root());
        assert_eq!(
            Frontier::from_parts(13, vec![empty_root()]).unwrap_err(),
            LedgerError::FrontierShape {
                size: 13,
                got: 1,
                expected: 3
            }
        );
    }

    #[test]
    fn memoized_and_recomputed_proofs_agree() {
        // A slice of leaf hashes uses the default, recomputing `range_hash`; the memory tree
        // uses its memo. Both must produce the same proofs for every index and size pair.
        let mut tree = MemoryTree::new();
        tree.append_batch(&entries(33));
        let leaves: Vec<Hash> = (0..33).map(|i| tree.leaf(i).unwrap()).collect();
        for size in 1..=33 {
            for index in 0..size {
                assert_eq!(
                    tree.inclusion_proof(index, size).unwrap(),
                    inclusion_proof(&leaves, index, size).unwrap(),
                    "inclusion of {index} in {size}"
                );
            }
            for old in 1..=size {
                assert_eq!(
                    tree.consistency_proof(old, size).unwrap(),
                    consistency_proof(&leaves, old, size).unwrap(),
                    "consistency {old} -> {size}"
                );
            }
        }
    }

    #[test]
    fn proof_generation_refuses_impossible_requests() {
        let mut tree = MemoryTree::new();
        tree.append_batch(&entries(4));
        let cases = [
            (
                tree.inclusion_proof(4, 4).unwrap_err(),
                LedgerError::LeafIndexOutOfRange { index: 4, size: 4 },
            ),
            (
                tree.inclusion_proof(0, 5).unwrap_err(),
                LedgerError::TreeSizeBeyondSource {
                    size: 5,
                    available: 4,
                },
            ),
            (
                tree.consistency_proof(3, 2).unwrap_err(),
                LedgerError::ConsistencySizesReversed {
                    old_size: 3,
                    new_size: 2,
                },
            ),
            (
                tree.consistency_proof(0, 2).unwrap_err(),
                LedgerError::ConsistencyFromEmptyTree,
            ),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
        assert_eq!(tree.consistency_proof(3, 3).unwrap(), Vec::<Hash>::new());
    }

    /// The worked example of RFC 9162 §2.1.5: seven leaves d0..d6, inner nodes named
    /// g = (a, b), h = (c, d), i = (e, f), j = d6, k = (g, h), l = (i, j).
    #[test]
    fn rfc_9162_example_proofs() {
        let entries = entries(7);
        let mut tree = MemoryTree::new();
        tree.append_batch(&entries);
        let leaf = |i: usize| leaf_hash(&entries[i]);
        let range = |a: u64, b: u64| tree.range_hash(a, b);
        let [b, c, d, f] = [leaf(1), leaf(2), leaf(3), leaf(5)];
        let (g, h, i, j) = (range(0, 2), range(2, 4), range(4, 6), leaf(6));
        let (k, l) = (range(0, 4), range(4, 7));
        assert_eq!(tree.root(), node_hash(&k, &l));
        let inclusion = [
            (0, vec![b, h, l]),
            (3, vec![c, g, l]),
            (4, vec![f, j, k]),
            (6, vec![i, k]),
        ];
        for (index, proof) in inclusion {
            assert_eq!(tree.inclusion_proof(index, 7).unwrap(), proof, "d{index}");
        }
        let consistency = [(3, vec![c, d, g, l]), (4, vec![l]), (6, vec![i, j, k])];
        for (old_size, proof) in consistency {
            assert_eq!(
                tree.consistency_proof(old_size, 7).unwrap(),
                proof,
                "PROOF({old_size}, D[7])"
            );
        }
        // hash0 = (g, c), hash1 = k, hash2 = (k, i).
        assert_eq!(tree.root_at(3).unwrap(), node_hash(&g, &c));
        assert_eq!(tree.root_at(4).unwrap(), k);
        assert_eq!(tree.root_at(6).unwrap(), node_hash(&k, &i));
    }
}
