//! Shared set-up: a passport app on SQLite (or PostgreSQL) with a fixed clock, a scheme
//! operator that issues membership and role credentials, and callers that present them.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::SeedableRng as _;
use serde_json::json;
use tsunagu_passport::{CallerTrust, Clock, PassportApp};
use tsunagu_store::{DocumentStore, SqliteStore};
use tsunagu_trust::attributes::{MEMBERSHIP_CREDENTIAL, ROLE_CREDENTIAL};
use tsunagu_trust::did::{Did, DidDocument, StaticResolver};
use tsunagu_trust::keys::{KeyPair, KeyRing};
use tsunagu_trust::status_list::StaticStatusLists;
use tsunagu_trust::vc::{Credential, TrustedIssuers, issue_vc_jwt};
use tsunagu_trust::vp::{PresentationTarget, make_vp_jwt};

pub const OPERATOR_DID: &str = "did:web:pack.example";
pub const SCHEME_DID: &str = "did:web:scheme.example";
pub const BASE: &str = "http://127.0.0.1:8099";

pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
        )))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub struct World {
    pub app: PassportApp,
    pub clock: Arc<ManualClock>,
    pub resolver: Arc<StaticResolver>,
    pub store: Arc<dyn DocumentStore>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite_store() -> (Arc<dyn DocumentStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("passport.sqlite"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

pub async fn world() -> World {
    let (store, dir) = sqlite_store().await;
    let mut world = world_on(store, BASE).await;
    world._dir = Some(dir);
    world
}

pub async fn world_on(store: Arc<dyn DocumentStore>, base: &str) -> World {
    let clock = ManualClock::new();
    let now = clock.now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let resolver = Arc::new(StaticResolver::new());
    let operator_ring = KeyRing::generate(&mut rng, now);
    resolver.insert(DidDocument::for_key_ring(
        &Did::parse(OPERATOR_DID).unwrap(),
        &operator_ring,
        now,
        vec![],
    ));
    let scheme_ring = KeyRing::with_active_key(KeyPair::from_secret_bytes(&SCHEME_SECRET), now);
    resolver.insert(DidDocument::for_key_ring(
        &Did::parse(SCHEME_DID).unwrap(),
        &scheme_ring,
        now,
        vec![],
    ));
    let trust = CallerTrust {
        resolver: resolver.clone(),
        status_lists: Arc::new(StaticStatusLists::new()),
        trusted_issuers: TrustedIssuers::new()
            .with(MEMBERSHIP_CREDENTIAL, SCHEME_DID)
            .with(ROLE_CREDENTIAL, SCHEME_DID),
    };
    let app = PassportApp::with_clock(
        store.clone(),
        OPERATOR_DID.to_owned(),
        operator_ring,
        url::Url::parse(base).unwrap(),
        trust,
        clock.clone(),
    );
    World {
        app,
        clock,
        resolver,
        store,
        _dir: None,
    }
}

/// The scheme operator's key, fixed so that tests can sign with it and put it in a ring.
const SCHEME_SECRET: [u8; 32] = [7; 32];

/// A participant with its own DID and key, registered with the resolver.
pub struct Participant {
    pub did: String,
    pub key: KeyPair,
}

impl World {
    pub fn scheme(&self) -> KeyPair {
        KeyPair::from_secret_bytes(&SCHEME_SECRET)
    }

    pub fn participant(&self, name: &str, seed: u8) -> Participant {
        let did = format!("did:web:{name}.example");
        let key = KeyPair::from_secret_bytes(&[seed; 32]);
        let ring =
            KeyRing::with_active_key(KeyPair::from_secret_bytes(&[seed; 32]), self.clock.now());
        self.resolver.insert(DidDocument::for_key_ring(
            &Did::parse(&did).unwrap(),
            &ring,
            self.clock.now(),
            vec![],
        ));
        Participant { did, key }
    }

    /// Credentials for `who`: membership (if `member`) and a role credential with `roles`,
    /// issued by `issuer` (the scheme operator unless a test forges them).
    pub fn credentials(
        &self,
        who: &Participant,
        member: bool,
        roles: &[&str],
        issuer: &KeyPair,
        issuer_did: &str,
    ) -> Vec<String> {
        let now = self.clock.now() - Duration::days(1);
        let mut out = Vec::new();
        if member {
            let membership = Credential::new(
                MEMBERSHIP_CREDENTIAL,
                issuer_did,
                now,
                json!({"id": who.did, "memberOf": "basc-battery-dataspace"}),
            );
            out.push(issue_vc_jwt(&membership, issuer, issuer_did).unwrap());
        }
        if !roles.is_empty() {
            let role = Credential::new(
                ROLE_CREDENTIAL,
                issuer_did,
                now,
                json!({"id": who.did, "roles": roles}),
            );
            out.push(issue_vc_jwt(&role, issuer, issuer_did).unwrap());
        }
        out
    }

    pub fn presentation(
        &self,
        who: &Participant,
        credentials: &[String],
        audience: &str,
        nonce: &str,
    ) -> String {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        make_vp_jwt(
            &who.did,
            &who.key,
            credentials,
            &PresentationTarget {
                audience,
                nonce: Some(nonce),
                lifetime: Duration::minutes(2),
            },
            self.clock.now(),
            &mut rng,
        )
    }
}
