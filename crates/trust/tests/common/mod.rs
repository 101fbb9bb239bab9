//! A small data space for the integration tests: an operator that issues credentials and
//! publishes a status list, a cell maker that presents them, a pack maker that verifies.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tsunagu_trust::TrustError;
use tsunagu_trust::attributes::{
    LEGAL_PERSON_CREDENTIAL, MEMBERSHIP_CREDENTIAL, ROLE_CREDENTIAL, SECURITY_PROFILE_CREDENTIAL,
};
use tsunagu_trust::did::{Did, DidDocument, Service, StaticResolver};
use tsunagu_trust::keys::{KeyPair, KeyRing};
use tsunagu_trust::status_list::{
    STATUS_LIST_CREDENTIAL_TYPE, StaticStatusLists, StatusList, StatusListEntry, StatusPurpose,
    status_list_credential,
};
use tsunagu_trust::vc::{Credential, TrustContext, TrustedIssuers, issue_vc_jwt};
use tsunagu_trust::vp::{PresentationExpectations, PresentationTarget, make_vp_jwt};

pub const OPERATOR: &str = "did:web:operator.example";
pub const CELL: &str = "did:web:cell.example";
pub const PACK: &str = "did:web:pack.example";
pub const STATUS_URL: &str = "https://operator.example/status/1";

/// Runs a future to completion: the crate has no runtime, and neither do its tests.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct Party {
    pub did: String,
    pub ring: KeyRing,
}

pub struct World {
    pub now: DateTime<Utc>,
    pub rng: StdRng,
    pub operator: Party,
    pub cell: Party,
    pub pack: Party,
    pub resolver: StaticResolver,
    pub status_lists: StaticStatusLists,
    pub trusted: TrustedIssuers,
    pub list: StatusList,
    next_index: usize,
}

impl World {
    pub fn new() -> World {
        let now = start();
        let mut rng = StdRng::seed_from_u64(2027);
        let mut party = |did: &str| Party {
            did: did.to_owned(),
            ring: KeyRing::generate(&mut rng, now),
        };
        let operator = party(OPERATOR);
        let cell = party(CELL);
        let pack = party(PACK);
        let mut trusted = TrustedIssuers::new();
        for credential_type in [
            MEMBERSHIP_CREDENTIAL,
            ROLE_CREDENTIAL,
            SECURITY_PROFILE_CREDENTIAL,
            LEGAL_PERSON_CREDENTIAL,
            STATUS_LIST_CREDENTIAL_TYPE,
        ] {
            trusted.trust(credential_type, OPERATOR);
        }
        let world = World {
            now,
            rng,
            operator,
            cell,
            pack,
            resolver: StaticResolver::new(),
            status_lists: StaticStatusLists::new(),
            trusted,
            list: StatusList::new(),
            next_index: 0,
        };
        world.publish_documents();
        world.publish_status_list();
        world
    }

    pub fn context(&self) -> TrustContext<'_> {
        TrustContext {
            resolver: &self.resolver,
            status_lists: &self.status_lists,
            trusted_issuers: &self.trusted,
        }
    }

    /// Every party's DID document as it would be served at `self.now`.
    pub fn publish_documents(&self) {
        for party in [&self.operator, &self.cell, &self.pack] {
            self.resolver.insert(DidDocument::for_key_ring(
                &Did::parse(&party.did).unwrap(),
                &party.ring,
                self.now,
                vec![Service::new(
                    format!("{}#credential-service", party.did),
                    "CredentialService",
                    "https://example.com/cs",
                )],
            ));
        }
    }

    /// The operator's status list credential, signed and published at [`STATUS_URL`].
    pub fn publish_status_list(&self) {
        let credential = status_list_credential(
            STATUS_URL,
            OPERATOR,
            &self.list,
            StatusPurpose::Revocation,
            self.now - Duration::hours(1),
            Some(self.now + Duration::days(30)),
        );
        let jwt = issue_vc_jwt(&credential, self.operator.ring.active(), OPERATOR).unwrap();
        self.status_lists.insert(STATUS_URL, jwt);
    }

    /// A credential of `credential_type` by the operator about `subject`, valid for a year,
    /// with a fresh status list entry.
    pub fn credential(&mut self, credential_type: &str, subject: Value) -> Credential {
        let index = self.next_index;
        self.next_index += 1;
        let mut credential = Credential::new(
            credential_type,
            OPERATOR,
            self.now - Duration::days(1),
            subject,
        )
        .with_status(&StatusListEntry::new(
            STATUS_URL,
            index,
            StatusPurpose::Revocation,
        ));
        credential.id = Some(format!("urn:uuid:00000000-0000-4000-8000-{index:012}"));
        credential.valid_until = Some(self.now + Duration::days(365));
        credential
    }

    pub fn issue(&self, credential: &Credential) -> String {
        issue_vc_jwt(credential, self.operator.ring.active(), OPERATOR).unwrap()
    }

    pub fn membership(&mut self, subject: &str) -> String {
        let credential = self.credential(
            MEMBERSHIP_CREDENTIAL,
            json!({"id": subject, "memberOf": "basc-battery-dataspace"}),
        );
        self.issue(&credential)
    }

    pub fn role(&mut self, subject: &str, roles: &[&str]) -> String {
        let credential = self.credential(ROLE_CREDENTIAL, json!({"id": subject, "roles": roles}));
        self.issue(&credential)
    }

    /// The cell maker's presentation of `credentials` to the pack maker.
    pub fn presentation(&mut self, credentials: &[String], nonce: Option<&str>) -> String {
        make_vp_jwt(
            CELL,
            self.cell.ring.active(),
            credentials,
            &PresentationTarget {
                audience: PACK,
                nonce,
                lifetime: Duration::minutes(5),
            },
            self.now,
            &mut self.rng,
        )
    }

    /// What the pack maker expects of the cell maker's presentation.
    pub fn expectations<'a>(nonce: Option<&'a str>) -> PresentationExpectations<'a> {
        PresentationExpectations {
            audience: PACK,
            holder: CELL,
            nonce,
        }
    }

    pub fn revoke(&mut self, index: usize) {
        self.list.set(index, true).unwrap();
        self.publish_status_list();
    }
}

// ------------------------------------------------------------------------------------------
// Forging tokens by hand
// ------------------------------------------------------------------------------------------

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    (
        it.next().unwrap().to_owned(),
        it.next().unwrap().to_owned(),
        it.next().unwrap().to_owned(),
    )
}

pub fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// HMAC-SHA-256 (RFC 2104), for forging `HS256` tokens.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// A token with an arbitrary `header` and `payload`, signed with EdDSA by `key` (the secret is
/// read back through the key ring's storage form, the only way out of a `KeyPair`).
pub fn sign_raw(header: &Value, payload: &Value, key: &KeyPair) -> String {
    use ed25519_dalek::Signer as _;
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(payload).unwrap())
    );
    let file = KeyRing::with_active_key(key.clone(), start()).to_file();
    let secret: [u8; 32] = URL_SAFE_NO_PAD
        .decode(file.active.private_key.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    let signature = ed25519_dalek::SigningKey::from_bytes(&secret).sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

pub fn expect_error<T: std::fmt::Debug>(result: Result<T, TrustError>) -> TrustError {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error,
    }
}
