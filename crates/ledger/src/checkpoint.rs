//! Checkpoints (c2sp.org/tlog-checkpoint): the signed statement "the log `origin` has `size`
//! entries and this root".
//!
//! The body is `<origin>\n<size in decimal>\n<base64 root>\n` and optional extension lines; it
//! travels as the text of a signed note, signed by the log's key and cosigned by witnesses.

use crate::LedgerError;
use crate::hash::Hash;
use crate::note::{Note, NoteSigner, SignatureType, VerifiedNote, VerifiedSignature, Verifier};

/// A tree head: origin, size and root, as a checkpoint states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint of the log `origin` at `size` with `root`.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, LedgerError> {
        check_line(
            origin,
            "the origin line is empty or has a control character",
        )?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// The same checkpoint with extension lines (opaque, not recommended by the format, and not
    /// covered by a witness's statement).
    pub fn with_extensions(mut self, lines: Vec<String>) -> Result<Checkpoint, LedgerError> {
        for line in &lines {
            check_line(
                line,
                "an extension line is empty or has a control character",
            )?;
        }
        self.extensions = lines;
        Ok(self)
    }

    /// Reads a checkpoint body (the note text).
    pub fn parse(body: &str) -> Result<Checkpoint, LedgerError> {
        let malformed = |reason| LedgerError::MalformedCheckpoint { reason };
        let lines = body
            .strip_suffix('\n')
            .ok_or(malformed("the body does not end with a newline"))?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("it has fewer than three lines"));
        };
        check_line(
            origin,
            "the origin line is empty or has a control character",
        )?;
        let size = parse_size(size)?;
        let root = Hash::from_base64(root)
            .map_err(|_| malformed("the root hash is not base64 of 32 bytes"))?;
        let extensions = lines.map(str::to_owned).collect::<Vec<_>>();
        Checkpoint::new(origin, size, root)?.with_extensions(extensions)
    }

    /// The body: origin, size, base64 root and extension lines, each ending in a newline.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// The log's identity.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree of that many entries.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines, if any.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Signs the checkpoint as the log: a note whose text is the body.
    pub fn sign(&self, signer: &NoteSigner) -> Note {
        let body = self.body();
        let mut note = Note::unsigned(&body).expect("a checkpoint body is valid note text");
        note.add_signature(signer.sign(&body));
        note
    }
}

fn check_line(line: &str, reason: &'static str) -> Result<(), LedgerError> {
    // Characters below U+0020 (newline among them) are what a note may not contain.
    if line.is_empty() || line.chars().any(|c| c < ' ') {
        return Err(LedgerError::MalformedCheckpoint { reason });
    }
    Ok(())
}

/// A decimal tree size without leading zeros (`0` alone for the empty tree).
fn parse_size(line: &str) -> Result<u64, LedgerError> {
    let malformed = |reason| LedgerError::MalformedCheckpoint { reason };
    if line.is_empty()
        || !line.bytes().all(|b| b.is_ascii_digit())
        || (line.len() > 1 && line.starts_with('0'))
    {
        return Err(malformed(
            "the tree size is not a decimal number without leading zeros",
        ));
    }
    line.parse()
        .map_err(|_| malformed("the tree size does not fit in 64 bits"))
}

/// A checkpoint the log's key signed; only [`SignedCheckpoint::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
}

impl SignedCheckpoint {
    /// Verifies `note` as a checkpoint of the log whose key is `log`, and any cosignatures of
    /// `witnesses` it carries.
    ///
    /// Refused when no known key signed, when a known key's signature does not verify, when a
    /// known key signed twice, or when witnesses cosigned but the log did not sign.
    pub fn verify(
        note: &Note,
        log: &Verifier,
        witnesses: &[Verifier],
    ) -> Result<SignedCheckpoint, LedgerError> {
        let mut verifiers = Vec::with_capacity(1 + witnesses.len());
        verifiers.push(log.clone());
        verifiers.extend(witnesses.iter().cloned());
        let verified = note.verify(&verifiers)?;
        if !verified.is_signed_by(log) {
            return Err(LedgerError::MissingLogSignature {
                name: log.name().to_owned(),
                key_id: log.key_id(),
            });
        }
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint::parse(verified.text())?,
            note: verified,
        })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The verified note, with any signatures from unknown keys.
    pub fn note(&self) -> &VerifiedNote {
        &self.note
    }

    /// The witnesses' cosignatures that verified.
    pub fn cosignatures(&self) -> impl Iterator<Item = &VerifiedSignature> {
        cosignatures(&self.note)
    }
}

/// A checkpoint at least one known witness cosigned; only [`WitnessedCheckpoint::verify`]
/// makes one.
///
/// This is what a partner holds: its cosignature states that it saw this tree head and checked
/// it against every earlier one it saw. The log's own signature is not needed here (the log key
/// may have been rotated since).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
}

impl WitnessedCheckpoint {
    /// Verifies that `note` is a checkpoint cosigned by at least one of `witnesses`.
    pub fn verify(note: &Note, witnesses: &[Verifier]) -> Result<WitnessedCheckpoint, LedgerError> {
        let cosigners: Vec<Verifier> = witnesses
            .iter()
            .filter(|w| w.signature_type() == SignatureType::CosignatureV1)
            .cloned()
            .collect();
        // The body is read before any signature is checked only to name its size in the error.
        let unverified = Checkpoint::parse(note.text())?;
        let verified = note.verify(&cosigners).map_err(|error| match error {
            LedgerError::NoKnownSignature { .. } => LedgerError::MissingCosignature {
                size: unverified.size(),
            },
            other => other,
        })?;
        Ok(WitnessedCheckpoint {
            checkpoint: unverified,
            note: verified,
        })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The witnesses' cosignatures that verified (at least one).
    pub fn cosignatures(&self) -> impl Iterator<Item = &VerifiedSignature> {
        cosignatures(&self.note)
    }

    /// The name of the first witness that cosigned, for messages.
    pub fn first_witness(&self) -> &str {
        self.cosignatures()
            .next()
            .map_or("", |signature| signature.name.as_str())
    }
}

fn cosignatures(note: &VerifiedNote) -> impl Iterator<Item = &VerifiedSignature> {
    note.verified()
        .iter()
        .filter(|s| s.signature_type == SignatureType::CosignatureV1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::Cosigner;
    use crate::hash::empty_root;
    use crate::note::test_key;

    const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn parses_and_formats_the_specification_example() {
        let body = format!("example.com/behind-the-sofa\n20852163\n{ROOT}\n");
        let checkpoint = Checkpoint::parse(&body).unwrap();
        assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size(), 20852163);
        assert_eq!(checkpoint.root().to_base64(), ROOT);
        assert_eq!(checkpoint.body(), body);

        let with_extension = format!("{body}extension line\n");
        let checkpoint = Checkpoint::parse(&with_extension).unwrap();
        assert_eq!(checkpoint.extensions(), ["extension line"]);
        assert_eq!(checkpoint.body(), with_extension);

        let empty = Checkpoint::new("o", 0, empty_root()).unwrap();
        assert_eq!(Checkpoint::parse(&empty.body()).unwrap(), empty);
    }

    #[test]
    fn malformed_bodies_are_refused_precisely() {
        let cases = [
            ("o\n1\n", "it has fewer than three lines"),
            ("o\n1\nAAAA", "the body does not end with a newline"),
            (
                "\n1\nAAAA\n",
                "the origin line is empty or has a control character",
            ),
            (
                "o\n01\nAAAA\n",
                "the tree size is not a decimal number without leading zeros",
            ),
            (
                "o\n-1\nAAAA\n",
                "the tree size is not a decimal number without leading zeros",
            ),
            (
                "o\n\nAAAA\n",
                "the tree size is not a decimal number without leading zeros",
            ),
            (
                "o\n18446744073709551616\nAAAA\n",
                "the tree size does not fit in 64 bits",
            ),
            ("o\n1\nAAAA\n", "the root hash is not base64 of 32 bytes"),
            (
                "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
                "an extension line is empty or has a control character",
            ),
        ];
        for (body, reason) in cases {
            assert_eq!(
                Checkpoint::parse(body).unwrap_err(),
                LedgerError::MalformedCheckpoint { reason },
                "{body:?}"
            );
        }
    }

    #[test]
    fn verification_needs_the_log_signature() {
        let log = NoteSigner::new("example.com/log", test_key(1)).unwrap();
        let witness = Cosigner::new("witness.example/w1", test_key(2)).unwrap();
        let checkpoint = Checkpoint::new("example.com/log", 3, empty_root()).unwrap();
        let mut note = checkpoint.sign(&log);
        note.add_signature(witness.cosign(&checkpoint, 1_700_000_000));

        let signed =
            SignedCheckpoint::verify(&note, log.verifier(), &[witness.verifier().clone()]).unwrap();
        assert_eq!(signed.checkpoint(), &checkpoint);
        let cosignatures: Vec<_> = signed.cosignatures().collect();
        assert_eq!(cosignatures.len(), 1);
        assert_eq!(cosignatures[0].timestamp, Some(1_700_000_000));

        // Only the witness signed: the log's signature is missing.
        let mut cosigned_only = Note::unsigned(&checkpoint.body()).unwrap();
        cosigned_only.add_signature(witness.cosign(&checkpoint, 1_700_000_000));
        assert_eq!(
            SignedCheckpoint::verify(
                &cosigned_only,
                log.verifier(),
                &[witness.verifier().clone()]
            )
            .unwrap_err(),
            LedgerError::MissingLogSignature {
                name: "example.com/log".into(),
                key_id: log.verifier().key_id()
            }
        );
        // ... which a partner's witnessed checkpoint does not need.
        let witnessed =
            WitnessedCheckpoint::verify(&cosigned_only, &[witness.verifier().clone()]).unwrap();
        assert_eq!(witnessed.first_witness(), "witness.example/w1");
        // A witnessed checkpoint without a known cosignature names its size.
        assert_eq!(
            WitnessedCheckpoint::verify(&checkpoint.sign(&log), &[witness.verifier().clone()])
                .unwrap_err(),
            LedgerError::MissingCosignature { size: 3 }
        );
    }
}
