//! The one error type of this crate.

use chrono::{DateTime, Utc};

/// Why a key, token, DID document, credential or presentation was refused.
///
/// Messages name the offending value (a DID, a `kid`, a claim, a time) so that an operator can
/// see what is wrong; they never contain key material, signatures or whole tokens. They may
/// contain identifiers that came from the remote party, so a server logs them and answers the
/// remote party without them.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustError {
    // ---------------------------------------------------------------- keys and JWKs
    /// A JWK that cannot be turned into a public key.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),

    /// A stored key ring that cannot be loaded.
    #[error("invalid key ring file: {0}")]
    InvalidKeyRing(String),

    // ---------------------------------------------------------------- JWS
    /// Not a compact JWS, or its parts do not decode.
    #[error("malformed JWS: {0}")]
    MalformedJws(String),

    /// An algorithm this crate never accepts (`none`, `HS*`, `RS*`, ...).
    #[error("JWS algorithm {alg:?} is not accepted (only EdDSA and ES256 are)")]
    UnsupportedAlgorithm {
        /// The `alg` header as received.
        alg: String,
    },

    /// The `alg` header names another key type than the key the verifier holds.
    #[error("JWS algorithm {alg} cannot be used with {key_type} key {kid}")]
    AlgorithmKeyMismatch {
        /// The `alg` header as received.
        alg: String,
        /// `Ed25519` or `P-256`.
        key_type: &'static str,
        /// The key's `kid`, or `(no kid)`.
        kid: String,
    },

    /// The header lists `crit` extensions; this crate understands none.
    #[error("JWS header marks extensions {0:?} as critical; none are supported")]
    UnsupportedCriticalHeader(Vec<String>),

    /// The signature does not verify with the key the verifier selected.
    #[error("JWS signature does not verify with key {kid}")]
    BadSignature {
        /// The key's `kid`, or `(no kid)`.
        kid: String,
    },

    /// The `typ` header is not the one this kind of token must carry.
    #[error("token type (typ) is {found:?}, expected {expected:?}")]
    WrongTokenType {
        /// What the verifier requires.
        expected: &'static str,
        /// What the header says (`None` when absent).
        found: Option<String>,
    },

    // ---------------------------------------------------------------- claims and time
    /// A required claim or property is missing.
    #[error("{0} is missing")]
    MissingClaim(&'static str),

    /// A claim or property is present but unusable.
    #[error("{claim} is invalid: {reason}")]
    InvalidClaim {
        /// The claim or property, e.g. `aud` or `credentialSubject.id`.
        claim: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The token or credential expired (`exp` or `validUntil`).
    #[error("{what} expired at {at}")]
    Expired {
        /// `token`, `credential <id>`, `status list credential <url>`, ...
        what: String,
        /// The expiry time.
        at: DateTime<Utc>,
    },

    /// The token or credential is not valid yet (`nbf` or `validFrom`).
    #[error("{what} is not valid before {from}")]
    NotYetValid {
        /// `token`, `credential <id>`, ...
        what: String,
        /// The start of validity.
        from: DateTime<Utc>,
    },

    /// `iat` lies in the future.
    #[error("token claims to be issued at {iat}, which is in the future")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: DateTime<Utc>,
    },

    /// `exp - iat` exceeds what the verifier accepts (or the issuer was asked to sign).
    #[error("token lifetime of {seconds} s exceeds the maximum of {max_seconds} s")]
    LifetimeTooLong {
        /// The lifetime of the token.
        seconds: i64,
        /// The maximum allowed.
        max_seconds: i64,
    },

    /// `iss` and `sub` of a self-issued token differ.
    #[error("iss {iss} and sub {sub} of a self-issued token must be equal")]
    IssuerSubjectMismatch {
        /// The `iss` claim.
        iss: String,
        /// The `sub` claim.
        sub: String,
    },

    /// The token is meant for someone else.
    #[error("token audience is {found:?}, expected {expected}")]
    WrongAudience {
        /// The verifier's own identifier.
        expected: String,
        /// The `aud` claim as received.
        found: Vec<String>,
    },

    /// The `jti` was seen before.
    #[error("token id (jti) {jti:?} of {issuer} was already used")]
    Replayed {
        /// The issuer of the token.
        issuer: String,
        /// The repeated `jti`.
        jti: String,
    },

    /// The replay cache holds `capacity` unexpired entries; the token is refused rather than
    /// forgotten.
    #[error("replay cache is full ({capacity} unexpired token ids); refusing the token")]
    ReplayCacheFull {
        /// The configured capacity.
        capacity: usize,
    },

    /// The presentation's `nonce` is not the one the verifier asked for.
    #[error("presentation nonce is {found:?}, expected {expected:?}")]
    NonceMismatch {
        /// The nonce the verifier sent.
        expected: String,
        /// The nonce in the presentation.
        found: Option<String>,
    },

    // ---------------------------------------------------------------- DIDs
    /// Not a syntactically valid DID (or not one this operation handles).
    #[error("invalid DID {did:?}: {reason}")]
    InvalidDid {
        /// The string as received.
        did: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The DID's method is not supported by this operation or resolver.
    #[error("DID method {method:?} of {did} is not supported")]
    UnsupportedDidMethod {
        /// The DID.
        did: String,
        /// Its method.
        method: String,
    },

    /// Resolving a DID failed (network, HTTP status, unknown DID, bad document).
    #[error("cannot resolve {did}: {reason}")]
    DidResolution {
        /// The DID.
        did: String,
        /// Why.
        reason: String,
    },

    /// The resolved document is about another DID.
    #[error("DID document for {expected} has id {found}")]
    DidDocumentMismatch {
        /// The DID that was resolved.
        expected: String,
        /// The document's `id`.
        found: String,
    },

    /// The token's `kid` names a verification method of another DID than the signer's.
    #[error("kid {kid} does not belong to {expected}")]
    KidOfAnotherDid {
        /// The `kid` header.
        kid: String,
        /// The DID that must have signed.
        expected: String,
    },

    /// No verification method matches the `kid` (or the document has none).
    #[error("{did} has no verification method {kid}")]
    NoMatchingKey {
        /// The DID.
        did: String,
        /// The `kid` asked for, or `(no kid)`.
        kid: String,
    },

    /// No `kid` was given and the document has several verification methods.
    #[error("token has no kid and {did} has {count} verification methods; cannot choose")]
    AmbiguousKey {
        /// The DID.
        did: String,
        /// How many verification methods it has.
        count: usize,
    },

    /// The verification method exists but is not authorised for the purpose at hand.
    #[error("verification method {kid} is not listed under {relationship} of its DID document")]
    KeyNotAuthorized {
        /// The full verification method id.
        kid: String,
        /// `authentication`, `assertionMethod` or `capabilityInvocation`.
        relationship: &'static str,
    },

    // ---------------------------------------------------------------- credentials
    /// A credential or presentation that does not have the VC 2.0 shape.
    #[error("invalid {what}: {reason}")]
    InvalidCredential {
        /// `credential`, `presentation`, `status list credential`, ...
        what: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// The issuer is not trusted for any of the credential's types.
    #[error("issuer {issuer} is not trusted for {types}")]
    UntrustedIssuer {
        /// The credential's issuer.
        issuer: String,
        /// The credential's specific types, comma-separated.
        types: String,
    },

    /// The credential's status bit is set.
    #[error("credential {credential} is {purpose} (bit {index} of {list} is set)")]
    Revoked {
        /// The credential id (or `(no id)`).
        credential: String,
        /// `revocation` or `suspension`.
        purpose: String,
        /// The status list index.
        index: usize,
        /// The status list credential URL.
        list: String,
    },

    /// A status list that cannot be used.
    #[error("status list {list}: {reason}")]
    StatusList {
        /// The status list credential URL, or `(encoded list)`.
        list: String,
        /// What is wrong.
        reason: String,
    },

    /// A presented credential is about someone other than the holder.
    #[error("credential {credential} is about {subject}, but was presented by {holder}")]
    HolderBinding {
        /// The credential id (or `(no id)`).
        credential: String,
        /// `credentialSubject.id`, or `(no subject id)`.
        subject: String,
        /// The presentation's holder.
        holder: String,
    },

    /// The presentation's holder is not the party the verifier expected.
    #[error("presentation holder is {found}, expected {expected}")]
    UnexpectedHolder {
        /// The DID the verifier expected.
        expected: String,
        /// The presentation's holder.
        found: String,
    },

    // ---------------------------------------------------------------- SD-JWT
    /// Claims, paths or options the SD-JWT issuer cannot use.
    #[error("cannot issue SD-JWT: {0}")]
    SdJwtIssuance(String),

    /// A selection the holder cannot present: a malformed or unknown path, or key binding
    /// with a key the SD-JWT is not bound to.
    #[error("cannot present SD-JWT: {0}")]
    SdJwtPresentation(String),

    /// Not an SD-JWT in compact serialisation, or its payload breaks the rules of RFC 9901
    /// (`_sd` that is not an array of strings, `_sd_alg` below the top level, a nesting too
    /// deep, ...).
    #[error("malformed SD-JWT: {0}")]
    MalformedSdJwt(String),

    /// A disclosure that is not base64url of a JSON array `[salt, name, value]` or
    /// `[salt, value]`, or whose claim name is `_sd` or `...`. The disclosure is named by its
    /// digest, never by its content.
    #[error("malformed disclosure {digest}: {reason}")]
    MalformedDisclosure {
        /// The disclosure's digest (base64url SHA-256).
        digest: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The `_sd_alg` of the SD-JWT is not `sha-256`.
    #[error("_sd_alg {0:?} is not supported (only sha-256)")]
    UnsupportedSdAlg(String),

    /// A disclosure no digest of the SD-JWT (or of another disclosure) refers to.
    #[error("disclosure {digest} is not referenced by the SD-JWT")]
    UnreferencedDisclosure {
        /// The disclosure's digest.
        digest: String,
    },

    /// A digest that occurs twice in the SD-JWT and its disclosures, or a disclosure that was
    /// presented twice.
    #[error("digest {digest} occurs more than once")]
    DuplicateDigest {
        /// The repeated digest.
        digest: String,
    },

    /// A disclosure names a claim that already exists where it would be inserted.
    #[error("disclosure {digest} names claim {name:?}, which already exists at {path}")]
    DisclosedClaimCollision {
        /// The disclosure's digest.
        digest: String,
        /// The claim name.
        name: String,
        /// The JSON pointer of the object the claim would join.
        path: String,
    },

    /// An object property disclosure referenced from an array element, or an array element
    /// disclosure referenced from an object's `_sd`.
    #[error("disclosure {digest} is {found} but is referenced {referenced_from}")]
    DisclosureShapeMismatch {
        /// The disclosure's digest.
        digest: String,
        /// `an object property disclosure` or `an array element disclosure`.
        found: &'static str,
        /// `from an array element at <path>` or `from _sd at <path>`.
        referenced_from: String,
    },

    /// Key binding is required and the presentation carries no Key Binding JWT.
    #[error("key binding is required but the presentation has no key binding JWT")]
    KeyBindingMissing,

    /// The `sd_hash` of the Key Binding JWT is not the digest of the presented SD-JWT.
    #[error("sd_hash of the key binding JWT does not match the presented SD-JWT")]
    SdHashMismatch,

    // ---------------------------------------------------------------- DCP
    /// A DCP scope string that does not follow `alias:discriminator[:read]`.
    #[error("invalid DCP scope {scope:?}: {reason}")]
    InvalidScope {
        /// The scope as received.
        scope: String,
        /// What is wrong.
        reason: String,
    },

    /// A DCP message that violates the rules its schema cannot express.
    #[error("invalid {message}: {reason}")]
    InvalidMessage {
        /// The message type.
        message: &'static str,
        /// What is wrong.
        reason: String,
    },
}
