//! The body of a C2SP tlog-witness `add-checkpoint` request, which is how a connector asks a
//! partner to cosign its latest checkpoint:
//!
//! ```text
//! old 4
//! <base64 consistency-proof hash>
//! ...
//! <blank line>
//! <signed checkpoint note>
//! ```
//!
//! `old` is the size of the checkpoint the caller believes the witness holds (0 for none); the
//! proof leads from it to the new checkpoint. The witness answers with its cosignature lines,
//! or, when it holds another size, with that size so that the caller can retry with the right
//! proof. The exchange of these messages is the connector's business; this module only reads
//! and writes them.

use crate::error::LedgerError;
use crate::hash::Hash;
use crate::note::Note;

/// Most proof lines a request may carry: a consistency proof of a tree of 2^64 leaves has at
/// most 2 × 64 hashes.
pub const MAX_PROOF_LINES: usize = 128;

/// A parsed `add-checkpoint` request. Its checkpoint is not verified yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the caller believes the witness holds.
    pub old_size: u64,
    /// A consistency proof from `old_size` to the new checkpoint's size.
    pub proof: Vec<Hash>,
    /// The new checkpoint, signed by the log.
    pub checkpoint: Note,
}

impl AddCheckpoint {
    /// Reads a request body.
    pub fn parse(body: &str) -> Result<AddCheckpoint, LedgerError> {
        let malformed = |reason| LedgerError::MalformedWitnessRequest { reason };
        let (head, note) = body
            .split_once("\n\n")
            .ok_or(malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|line| line.strip_prefix("old "))
            .ok_or(malformed("the first line is not `old <size>`"))?;
        // A decimal without sign or leading zeros, as the checkpoint format writes sizes.
        if old.is_empty()
            || !old.bytes().all(|b| b.is_ascii_digit())
            || (old.len() > 1 && old.starts_with('0'))
        {
            return Err(malformed("the old size is not a decimal number"));
        }
        let old_size = old
            .parse::<u64>()
            .map_err(|_| malformed("the old size is out of range"))?;
        let proof = lines
            .map(Hash::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(malformed("too many proof lines"));
        }
        let checkpoint = Note::parse(note)?;
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint,
        })
    }

    /// The request body.
    pub fn encode(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&hash.to_base64());
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint.to_string());
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::{NoteSigner, test_key};

    fn note() -> Note {
        let signer = NoteSigner::new("did:web:cell.example", test_key(1)).unwrap();
        Checkpoint::new("did:web:cell.example", 7, Hash::sha256(b"root"))
            .unwrap()
            .sign(&signer)
    }

    #[test]
    fn round_trips() {
        let request = AddCheckpoint {
            old_size: 4,
            proof: vec![Hash::sha256(b"a"), Hash::sha256(b"b")],
            checkpoint: note(),
        };
        let body = request.encode();
        assert!(body.starts_with("old 4\n"));
        assert_eq!(AddCheckpoint::parse(&body).unwrap(), request);

        let empty = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: note(),
        };
        assert!(empty.encode().starts_with("old 0\n\n"));
        assert_eq!(AddCheckpoint::parse(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn refuses_malformed_requests() {
        let checkpoint = note().to_string();
        for head in ["", "old\n", "old -1\n", "old 01\n", "new 3\n", "old 3 \n"] {
            let body = format!("{head}\n{checkpoint}");
            assert!(
                AddCheckpoint::parse(&body).is_err(),
                "{head:?} was accepted"
            );
        }
        assert!(AddCheckpoint::parse(&format!("old 3\nnot base64!\n\n{checkpoint}")).is_err());
        assert!(AddCheckpoint::parse("old 3\n").is_err());
        let too_long = format!(
            "old 3\n{}\n{checkpoint}",
            format!("{}\n", Hash::sha256(b"x").to_base64()).repeat(MAX_PROOF_LINES + 1)
        );
        assert!(AddCheckpoint::parse(&too_long).is_err());
    }
}
