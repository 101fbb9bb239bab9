//! C2SP signed notes (c2sp.org/signed-note): text followed by a blank line and signature lines
//! `— <key name> <base64(key id || signature)>`, and the keys that sign and verify them.
//!
//! Two signature types are implemented, Ed25519 (`0x01`, what a log signs its checkpoints with)
//! and timestamped Ed25519 cosignatures (`0x04`, c2sp.org/tlog-cosignature, what witnesses add).
//! Verification follows the note rules: a signature whose key name and key id match no known
//! key is kept as unknown and ignored; one that matches a known key must verify, or the whole
//! note is refused; and at least one known key must have signed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::LedgerError;
use crate::cosignature::cosigned_message;

/// The most signature lines read from one note. The format requires accepting at least 16;
/// a checkpoint carries the log's signature and one per witness.
pub const MAX_SIGNATURES: usize = 100;

/// The em dash and space that open a signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A signed-note key id: the first four bytes of
/// `SHA-256(key name || "\n" || signature type || public key)`, big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// The key id of `public_key` under `name` for signatures of `signature_type`.
    pub fn compute(name: &str, signature_type: SignatureType, public_key: &[u8]) -> KeyId {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update(b"\n");
        hasher.update([signature_type.byte()]);
        hasher.update(public_key);
        let digest = hasher.finalize();
        KeyId(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:08x})", self.0)
    }
}

/// The signature types this crate implements, by their signed-note identifier byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignature, c2sp.org/tlog-cosignature v1.
    CosignatureV1,
}

impl SignatureType {
    /// The identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(byte: u8) -> Result<SignatureType, LedgerError> {
        match byte {
            0x01 => Ok(SignatureType::Ed25519),
            0x04 => Ok(SignatureType::CosignatureV1),
            _ => Err(LedgerError::UnsupportedSignatureType { byte }),
        }
    }
}

/// Checks a key name: non-empty, no Unicode space, no `+`.
pub(crate) fn check_key_name(name: &str) -> Result<(), LedgerError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(LedgerError::InvalidKeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: KeyId,
    /// The signature bytes after the key id (for a cosignature, timestamp and signature).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `name+keyid`, how messages refer to the signing key.
    pub fn signer(&self) -> String {
        format!("{}+{}", self.name, self.key_id)
    }
}

impl fmt::Display for NoteSignature {
    /// The signature line, with its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.0.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        writeln!(
            f,
            "{SIGNATURE_PREFIX}{} {}",
            self.name,
            STANDARD.encode(bytes)
        )
    }
}

/// A signed note as read, signatures not yet verified.
///
/// Its text must not be trusted before [`Note::verify`] succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note of `text` (which must end in a newline) with no signatures yet.
    pub fn unsigned(text: &str) -> Result<Note, LedgerError> {
        check_characters(text)?;
        if !text.ends_with('\n') {
            return Err(LedgerError::NoteTextUnterminated);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Reads a note: text, blank line, one or more signature lines.
    pub fn parse(note: &str) -> Result<Note, LedgerError> {
        check_characters(note)?;
        // The text ends at the last blank line; it keeps its final newline.
        let split = note
            .rfind("\n\n")
            .ok_or(LedgerError::NoteWithoutSignatures)?;
        let text = &note[..=split];
        let signatures = Note::parse_signature_lines(&note[split + 2..])?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Reads signature lines alone (each ending in a newline), as a witness answers with
    /// them: the cosignatures to add to a note the caller already holds.
    pub fn parse_signature_lines(block: &str) -> Result<Vec<NoteSignature>, LedgerError> {
        check_characters(block)?;
        if block.is_empty() {
            return Err(LedgerError::NoteWithoutSignatures);
        }
        if !block.ends_with('\n') {
            return Err(LedgerError::MalformedSignatureLine {
                line: block.split('\n').count(),
                reason: "it does not end with a newline",
            });
        }
        let lines: Vec<&str> = block.split_terminator('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(LedgerError::TooManySignatures {
                count: lines.len(),
                max: MAX_SIGNATURES,
            });
        }
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| parse_signature_line(line, i + 1))
            .collect()
    }

    /// The text, with its final newline. Not to be trusted before verification.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in the order they appear.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line (e.g. a witness's cosignature).
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// Verifies the note against the known keys `verifiers`.
    ///
    /// Signatures from unknown keys (no verifier with both their name and key id) are kept as
    /// unknown. A signature from a known key that does not verify, or a second signature from
    /// the same known key, refuses the note; so does a note no known key signed.
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<VerifiedNote, LedgerError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unknown = Vec::new();
        for signature in &self.signatures {
            let Some(verifier) = verifiers
                .iter()
                .find(|v| v.name == signature.name && v.key_id == signature.key_id)
            else {
                unknown.push(signature.clone());
                continue;
            };
            if verified
                .iter()
                .any(|v| v.name == signature.name && v.key_id == signature.key_id)
            {
                return Err(LedgerError::DuplicateSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                });
            }
            let timestamp = verifier.check(&self.text, &signature.signature)?;
            verified.push(VerifiedSignature {
                name: verifier.name.clone(),
                key_id: verifier.key_id,
                signature_type: verifier.signature_type,
                timestamp,
            });
        }
        if verified.is_empty() {
            let signers: Vec<String> = self.signatures.iter().map(NoteSignature::signer).collect();
            return Err(LedgerError::NoKnownSignature {
                signers: signers.join(", "),
            });
        }
        Ok(VerifiedNote {
            note: self.clone(),
            verified,
            unknown,
        })
    }
}

impl fmt::Display for Note {
    /// The note as it travels: text, blank line, signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            write!(f, "{signature}")?;
        }
        Ok(())
    }
}

/// Refuses ASCII control characters other than newline anywhere in a note.
fn check_characters(note: &str) -> Result<(), LedgerError> {
    match note.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        Some((offset, c)) => Err(LedgerError::NoteControlCharacter {
            code: u32::from(c),
            offset,
        }),
        None => Ok(()),
    }
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, LedgerError> {
    let malformed = |reason| LedgerError::MalformedSignatureLine {
        line: number,
        reason,
    };
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(malformed("it does not start with an em dash and a space"))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or(malformed("it has no space between key name and signature"))?;
    check_key_name(name).map_err(|_| malformed("the key name is empty or has a space or '+'"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| malformed("the signature is not standard base64"))?;
    if bytes.len() < 5 {
        return Err(malformed(
            "the signature is shorter than a key id and one byte",
        ));
    }
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: KeyId(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        signature: bytes[4..].to_vec(),
    })
}

/// A signature that verified with a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: KeyId,
    /// How the key signs.
    pub signature_type: SignatureType,
    /// For a cosignature, the time it states (POSIX seconds).
    pub timestamp: Option<u64>,
}

/// A note at least one known key signed; only [`Note::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
    unknown: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        &self.note.text
    }

    /// The note as received, all signatures included.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The signatures that verified with known keys.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }

    /// The signatures from keys the verifier does not know, unverified.
    pub fn unknown(&self) -> &[NoteSignature] {
        &self.unknown
    }

    /// Whether `verifier` is among the keys that signed.
    pub fn is_signed_by(&self, verifier: &Verifier) -> bool {
        self.verified
            .iter()
            .any(|v| v.name == verifier.name && v.key_id == verifier.key_id)
    }
}

/// A public key that verifies note signatures, with its name and key id.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: KeyId,
    signature_type: SignatureType,
    key: VerifyingKey,
}

impl Verifier {
    /// The verifier for `key` under `name`, its key id computed as signed-note recommends
    /// (and tlog-cosignature requires).
    pub fn new(
        name: &str,
        signature_type: SignatureType,
        key: VerifyingKey,
    ) -> Result<Verifier, LedgerError> {
        check_key_name(name)?;
        Ok(Verifier {
            name: name.to_owned(),
            key_id: KeyId::compute(name, signature_type, key.as_bytes()),
            signature_type,
            key,
        })
    }

    /// Reads a verifier key `<name>+<hex key id>+<base64(type || public key)>`.
    ///
    /// The key id must be the one the name and key produce: a vkey that states another could
    /// only lead to signatures that are silently ignored.
    pub fn from_vkey(vkey: &str) -> Result<Verifier, LedgerError> {
        let malformed = |reason| LedgerError::MalformedVerifierKey { reason };
        // Names cannot contain '+', but the base64 key can: split off two parts only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(key_id), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("it is not three parts joined by '+'"));
        };
        check_key_name(name)?;
        if key_id.len() != 8 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("the key id is not 8 hex digits"));
        }
        let stated =
            KeyId(u32::from_str_radix(key_id, 16).map_err(|_| malformed("the key id is not hex"))?);
        let key = STANDARD
            .decode(key)
            .map_err(|_| malformed("the key is not standard base64"))?;
        let (&type_byte, public) = key.split_first().ok_or(malformed("the key is empty"))?;
        let signature_type = SignatureType::from_byte(type_byte)?;
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| malformed("an Ed25519 public key has 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| malformed("the bytes are not an Ed25519 public key"))?;
        let verifier = Verifier::new(name, signature_type, key)?;
        if verifier.key_id != stated {
            return Err(LedgerError::VerifierKeyIdMismatch {
                name: name.to_owned(),
                stated,
                computed: verifier.key_id,
            });
        }
        Ok(verifier)
    }

    /// The verifier key string `<name>+<hex key id>+<base64(type || public key)>`.
    pub fn to_vkey(&self) -> String {
        let mut key = Vec::with_capacity(33);
        key.push(self.signature_type.byte());
        key.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, self.key_id, STANDARD.encode(key))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// How the key signs.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// `name+keyid`, how messages refer to this key.
    pub fn signer(&self) -> String {
        format!("{}+{}", self.name, self.key_id)
    }

    /// Checks `signature` (the bytes after the key id) over `text`; returns the cosignature
    /// timestamp for a cosigner.
    fn check(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, LedgerError> {
        let forged = || LedgerError::ForgedSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        match self.signature_type {
            SignatureType::Ed25519 => {
                let signature = Signature::from_slice(signature).map_err(|_| forged())?;
                self.key
                    .verify_strict(text.as_bytes(), &signature)
                    .map_err(|_| forged())?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let (timestamp, signature) = split_cosignature(&self.name, signature)?;
                let signature = Signature::from_slice(signature).map_err(|_| forged())?;
                self.key
                    .verify_strict(&cosigned_message(timestamp, text), &signature)
                    .map_err(|_| forged())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verifier").field(&self.to_vkey()).finish()
    }
}

/// Splits a cosignature into its timestamp and its Ed25519 signature.
fn split_cosignature<'a>(name: &str, bytes: &'a [u8]) -> Result<(u64, &'a [u8]), LedgerError> {
    if bytes.len() != 8 + 64 {
        return Err(LedgerError::MalformedCosignature {
            name: name.to_owned(),
            len: bytes.len(),
        });
    }
    let (timestamp, signature) = bytes.split_at(8);
    let timestamp = u64::from_be_bytes(timestamp.try_into().expect("eight bytes"));
    if timestamp > i64::MAX as u64 {
        return Err(LedgerError::CosignatureTimestampOutOfRange {
            name: name.to_owned(),
            timestamp,
        });
    }
    Ok((timestamp, signature))
}

/// An Ed25519 key that signs notes (signature type `0x01`): what a log signs checkpoints with.
#[derive(Clone)]
pub struct NoteSigner {
    verifier: Verifier,
    key: SigningKey,
}

impl NoteSigner {
    /// The signer for `key` under `name` (for a log, its origin).
    pub fn new(name: &str, key: SigningKey) -> Result<NoteSigner, LedgerError> {
        Ok(NoteSigner {
            verifier: Verifier::new(name, SignatureType::Ed25519, key.verifying_key())?,
            key,
        })
    }

    /// The verifier partners need, e.g. to publish as a vkey.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Signs `text` (a note text, ending in a newline).
    pub fn sign(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.verifier.name.clone(),
            key_id: self.verifier.key_id,
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier)
            .field("private_key", &"(redacted)")
            .finish()
    }
}

/// Builds the key of a [`Verifier`] or signer from a fixed seed, for tests only.
#[cfg(test)]
pub(crate) fn test_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, test_key(seed)).unwrap()
    }

    fn signed(text: &str, signers: &[&NoteSigner]) -> Note {
        let mut note = Note::unsigned(text).unwrap();
        for signer in signers {
            note.add_signature(signer.sign(text));
        }
        note
    }

    /// The example of golang.org/x/mod/sumdb/note, a reference implementation of signed notes:
    /// a note and a verifier key generated there must be read and verified here.
    #[test]
    fn verifies_the_reference_implementation_example() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let note = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n\
                    \n\
                    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let verifier = Verifier::from_vkey(vkey).unwrap();
        assert_eq!(verifier.to_vkey(), vkey);
        assert_eq!(verifier.key_id(), KeyId(0xc74f20a3));
        let parsed = Note::parse(note).unwrap();
        assert_eq!(parsed.to_string(), note);
        let verified = parsed.verify(&[verifier]).unwrap();
        assert!(verified.text().starts_with("If you think"));
        assert!(verified.unknown().is_empty());

        // Ed25519 is deterministic, so the example's private key must sign the same line.
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let seed = STANDARD
            .decode(skey.splitn(5, '+').last().unwrap())
            .unwrap();
        assert_eq!(seed[0], SignatureType::Ed25519.byte());
        let key = SigningKey::from_bytes(&seed[1..].try_into().unwrap());
        let signer = NoteSigner::new("PeterNeumann", key).unwrap();
        assert_eq!(signer.verifier().to_vkey(), vkey);
        let mut ours = Note::unsigned(parsed.text()).unwrap();
        ours.add_signature(signer.sign(parsed.text()));
        assert_eq!(ours.to_string(), note);
    }

    #[test]
    fn round_trips_and_keeps_unknown_signatures() {
        let log = signer("example.com/log", 1);
        let stranger = signer("stranger.example/key", 2);
        let note = signed("hello\n\nworld\n", &[&log, &stranger]);
        let text = note.to_string();
        assert!(text.starts_with("hello\n\nworld\n\n\u{2014} example.com/log "));
        let parsed = Note::parse(&text).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.text(), "hello\n\nworld\n");
        let verified = parsed.verify(&[log.verifier().clone()]).unwrap();
        assert!(verified.is_signed_by(log.verifier()));
        assert_eq!(verified.unknown(), &[stranger.sign("hello\n\nworld\n")]);
    }

    #[test]
    fn refuses_notes_no_known_key_signed() {
        let log = signer("example.com/log", 1);
        let impostor = signer("example.com/log", 9);
        let note = signed("text\n", &[&impostor]);
        // Same name, other key: another key id, so the signature is unknown, not forged.
        assert_eq!(
            note.verify(&[log.verifier().clone()]).unwrap_err(),
            LedgerError::NoKnownSignature {
                signers: impostor.verifier().signer()
            }
        );
    }

    #[test]
    fn refuses_forged_and_duplicate_signatures() {
        let log = signer("example.com/log", 1);
        let verifiers = [log.verifier().clone()];
        let mut forged = Note::unsigned("text\n").unwrap();
        forged.add_signature(log.sign("other text\n"));
        assert_eq!(
            forged.verify(&verifiers).unwrap_err(),
            LedgerError::ForgedSignature {
                name: "example.com/log".into(),
                key_id: log.verifier().key_id()
            }
        );
        let twice = signed("text\n", &[&log, &log]);
        assert_eq!(
            twice.verify(&verifiers).unwrap_err(),
            LedgerError::DuplicateSignature {
                name: "example.com/log".into(),
                key_id: log.verifier().key_id()
            }
        );
        // A known key id with a truncated signature is a forgery, not a parse error.
        let mut short = Note::unsigned("text\n").unwrap();
        let mut signature = log.sign("text\n");
        signature.signature.truncate(10);
        short.add_signature(signature);
        assert!(matches!(
            short.verify(&verifiers).unwrap_err(),
            LedgerError::ForgedSignature { .. }
        ));
    }

    #[test]
    fn malformed_notes_are_refused_precisely() {
        let good_line = signer("k", 1).sign("t\n").to_string();
        let cases: Vec<(String, LedgerError)> = vec![
            ("no signatures\n".into(), LedgerError::NoteWithoutSignatures),
            ("text\n\n".into(), LedgerError::NoteWithoutSignatures),
            (
                format!("te\tx\n\n{good_line}"),
                LedgerError::NoteControlCharacter { code: 9, offset: 2 },
            ),
            (
                format!("t\n\n{}", good_line.trim_end()),
                LedgerError::MalformedSignatureLine {
                    line: 1,
                    reason: "it does not end with a newline",
                },
            ),
            (
                format!("t\n\n{good_line}- k AAAAAAA=\n"),
                LedgerError::MalformedSignatureLine {
                    line: 2,
                    reason: "it does not start with an em dash and a space",
                },
            ),
            (
                "t\n\n\u{2014} k+x AAAAAAA=\n".into(),
                LedgerError::MalformedSignatureLine {
                    line: 1,
                    reason: "the key name is empty or has a space or '+'",
                },
            ),
            (
                "t\n\n\u{2014} k AAAA\n".into(),
                LedgerError::MalformedSignatureLine {
                    line: 1,
                    reason: "the signature is shorter than a key id and one byte",
                },
            ),
            (
                "t\n\n\u{2014} k !!!\n".into(),
                LedgerError::MalformedSignatureLine {
                    line: 1,
                    reason: "the signature is not standard base64",
                },
            ),
            (
                format!("t\n\n{}", good_line.repeat(MAX_SIGNATURES + 1)),
                LedgerError::TooManySignatures {
                    count: MAX_SIGNATURES + 1,
                    max: MAX_SIGNATURES,
                },
            ),
        ];
        for (note, expected) in cases {
            assert_eq!(Note::parse(&note).unwrap_err(), expected, "{note:?}");
        }
        // Sixteen signatures must be accepted.
        assert!(Note::parse(&format!("t\n\n{}", good_line.repeat(16))).is_ok());
    }

    #[test]
    fn vkeys_round_trip_and_refuse_a_wrong_key_id() {
        let log = signer("example.com/log", 1);
        let vkey = log.verifier().to_vkey();
        assert_eq!(Verifier::from_vkey(&vkey).unwrap(), *log.verifier());
        let (name_and_id, key) = vkey.rsplit_once('+').unwrap();
        let name = name_and_id.split('+').next().unwrap();
        let wrong = format!("{name}+00000000+{key}");
        assert_eq!(
            Verifier::from_vkey(&wrong).unwrap_err(),
            LedgerError::VerifierKeyIdMismatch {
                name: name.into(),
                stated: KeyId(0),
                computed: log.verifier().key_id()
            }
        );
        let cases = [
            ("nameonly", "it is not three parts joined by '+'"),
            // A fourth part belongs to the key: base64 holds '+'.
            ("a+b+c+d", "the key id is not 8 hex digits"),
            ("a+123+AQ==", "the key id is not 8 hex digits"),
            ("a+0123456z+AQ==", "the key id is not 8 hex digits"),
            ("a+01234567+%%", "the key is not standard base64"),
            ("a+01234567+AQ==", "an Ed25519 public key has 32 bytes"),
        ];
        for (vkey, reason) in cases {
            assert_eq!(
                Verifier::from_vkey(vkey).unwrap_err(),
                LedgerError::MalformedVerifierKey { reason },
                "{vkey}"
            );
        }
        assert_eq!(
            Verifier::from_vkey("a+01234567+Ag==").unwrap_err(),
            LedgerError::UnsupportedSignatureType { byte: 2 }
        );
    }

    /// Regression: a key whose base64 contains '+' was refused as "not three parts".
    #[test]
    fn a_vkey_whose_key_contains_a_plus_parses() {
        let found = (0u8..=255)
            .map(|seed| SigningKey::from_bytes(&[seed; 32]))
            .map(|key| {
                Verifier::new(
                    "did:web:example.com",
                    SignatureType::Ed25519,
                    key.verifying_key(),
                )
                .unwrap()
            })
            .find(|verifier| verifier.to_vkey().matches('+').count() > 2)
            .expect("some key's base64 holds a '+'");
        let vkey = found.to_vkey();
        assert_eq!(Verifier::from_vkey(&vkey).unwrap().to_vkey(), vkey);
    }
}
