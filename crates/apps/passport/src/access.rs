//! Who sees what: the access group of a caller, decided from a verified presentation.
//!
//! A caller logs in by presenting a `vp+jwt` made for this passport service (audience = the
//! service's public base URL) over a nonce the service handed out moments before. The
//! presentation and every credential in it are verified by `tsunagu-trust` against the
//! caller's DID document, the trusted issuer list and the status lists. The caller's group
//! is then the highest of
//!
//! * its roles (`BatteryChainRoleCredential`, with an active `MembershipCredential`):
//!   re-use operators, repurposers, remanufacturers, repairers, dismantlers and recyclers
//!   have a legitimate interest (Art. 77(2)(b)); authorities, notified bodies, market
//!   surveillance authorities and the Commission get the authority data (Art. 77(2)(c));
//! * an explicit grant the economic operator recorded for the caller's DID.
//!
//! A caller whose presentation gives no more than the public view gets no session. A session
//! is a random bearer token (256 bits) kept only as its SHA-256 digest, for
//! [`SESSION_LIFETIME`]. Nonces are single-use and kept in the store (as digests), so that
//! any replica of the service can take a nonce another one handed out, and only one can take
//! it. Each replica hands out at most 10,000 nonces per [`NONCE_LIFETIME`] (the page
//! that asks for them is public); expired sessions and nonces are purged every minute.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use thiserror::Error;
use tsunagu_store::{DocumentStore, StoreError};
use tsunagu_trust::did::DidResolver;
use tsunagu_trust::status_list::StatusListSource;
use tsunagu_trust::vc::{TrustContext, TrustedIssuers};
use tsunagu_trust::vp::{PresentationExpectations, verify_vp_jwt};

use crate::attributes::AccessGroup;
use crate::service::Clock;

const SESSIONS: &str = "passport.sessions";
const NONCES: &str = "passport.nonces";
const GRANTS: &str = "passport.grants";

/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::minutes(30);
/// How long a nonce may wait for its presentation.
pub const NONCE_LIFETIME: Duration = Duration::minutes(5);
/// Nonces one replica hands out at most within a [`NONCE_LIFETIME`].
pub(crate) const MAX_NONCES: usize = 10_000;
/// How often expired sessions and nonces are removed.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Roles whose holders have a legitimate interest (Art. 77(2)(b)).
pub const LEGITIMATE_INTEREST_ROLES: [&str; 7] = [
    "reuseOperator",
    "repurposer",
    "remanufacturer",
    "repairer",
    "dismantler",
    "recycler",
    "independentOperator",
];
/// Roles that see the authority data (Art. 77(2)(c)).
pub const AUTHORITY_ROLES: [&str; 4] = [
    "authority",
    "notifiedBody",
    "marketSurveillanceAuthority",
    "commission",
];

/// What verifies callers: DID resolution, status lists and the trusted issuer list (those of
/// the connector's DCP identity, in `tsunagu serve`).
#[derive(Clone)]
pub struct CallerTrust {
    pub resolver: Arc<dyn DidResolver>,
    pub status_lists: Arc<dyn StatusListSource>,
    pub trusted_issuers: TrustedIssuers,
}

#[derive(Debug, Error)]
pub enum AccessError {
    #[error("the presentation is not valid: {0}")]
    Presentation(String),
    #[error("unknown or expired nonce; ask for a new one")]
    Nonce,
    #[error("the credentials presented give no access beyond the public view")]
    NotEntitled,
    #[error("too many logins under way; try again in a few minutes")]
    TooManyNonces,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A caller with a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub did: String,
    pub group: AccessGroup,
    pub expires_at: DateTime<Utc>,
}

/// A new session: the bearer token (shown once, to its owner) and the caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub caller: Caller,
}

/// The group roles give, with an active membership; `Public` without one.
pub fn group_for_attributes(
    attributes: &std::collections::BTreeMap<String, Vec<String>>,
) -> AccessGroup {
    let member = attributes
        .get("membership")
        .is_some_and(|v| v.iter().any(|m| m == "active"));
    if !member {
        return AccessGroup::Public;
    }
    let roles = attributes
        .get("role")
        .map(Vec::as_slice)
        .unwrap_or_default();
    if roles.iter().any(|r| AUTHORITY_ROLES.contains(&r.as_str())) {
        AccessGroup::Authorities
    } else if roles
        .iter()
        .any(|r| LEGITIMATE_INTEREST_ROLES.contains(&r.as_str()))
    {
        AccessGroup::LegitimateInterest
    } else {
        AccessGroup::Public
    }
}

/// Logins, sessions and grants.
#[derive(Clone)]
pub struct AccessControl {
    inner: Arc<AccessInner>,
}

struct AccessInner {
    store: Arc<dyn DocumentStore>,
    trust: CallerTrust,
    audience: String,
    clock: Arc<dyn Clock>,
    /// When this replica handed out its recent nonces, oldest first.
    issued: Mutex<VecDeque<DateTime<Utc>>>,
}

/// What a session or nonce record holds besides its purpose: when it ends.
#[derive(Deserialize)]
struct Expiring {
    expires_at: DateTime<Utc>,
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

impl AccessControl {
    /// `audience` is what presentations must name as `aud`: the service's public base URL.
    /// Inside a Tokio runtime, a task purges expired sessions and nonces every minute for as
    /// long as the access control lives.
    pub fn new(
        store: Arc<dyn DocumentStore>,
        trust: CallerTrust,
        audience: String,
        clock: Arc<dyn Clock>,
    ) -> AccessControl {
        let access = AccessControl {
            inner: Arc::new(AccessInner {
                store,
                trust,
                audience,
                clock,
                issued: Mutex::new(VecDeque::new()),
            }),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(purge_periodically(Arc::downgrade(&access.inner)));
        }
        access
    }

    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// A fresh single-use nonce for one presentation.
    pub async fn nonce(&self) -> Result<String, AccessError> {
        let now = self.inner.clock.now();
        {
            let mut issued = self.inner.issued.lock().unwrap_or_else(|e| e.into_inner());
            while issued.front().is_some_and(|at| *at + NONCE_LIFETIME <= now) {
                issued.pop_front();
            }
            if issued.len() >= MAX_NONCES {
                return Err(AccessError::TooManyNonces);
            }
            issued.push_back(now);
        }
        let nonce = random_token(16);
        let body = json!({"expires_at": now + NONCE_LIFETIME});
        self.inner
            .store
            .insert_document(NONCES, &digest(&nonce), None, &body, now.timestamp_millis())
            .await?;
        Ok(nonce)
    }

    /// Takes a nonce: true once for a nonce handed out and not yet expired, by whichever
    /// replica takes it first.
    async fn take_nonce(&self, nonce: &str) -> Result<bool, AccessError> {
        if nonce.len() > 100 {
            return Ok(false);
        }
        let id = digest(nonce);
        let Some(document) = self.inner.store.document(NONCES, &id).await? else {
            return Ok(false);
        };
        if !self.inner.store.delete_document(NONCES, &id).await? {
            return Ok(false);
        }
        let now = self.inner.clock.now();
        Ok(serde_json::from_value::<Expiring>(document.body).is_ok_and(|n| n.expires_at > now))
    }

    /// Removes expired sessions and nonces; returns how many it removed.
    pub async fn purge_expired(&self) -> Result<usize, AccessError> {
        let now = self.inner.clock.now();
        let store = &self.inner.store;
        let mut removed = 0;
        for collection in [SESSIONS, NONCES] {
            for document in store
                .documents(collection, tsunagu_store::Page::ALL)
                .await?
            {
                let expired = serde_json::from_value::<Expiring>(document.body)
                    .map_or(true, |record| record.expires_at <= now);
                if expired && store.delete_document(collection, &document.id).await? {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Verifies `presentation` and opens a session for its holder with the group its
    /// credentials and grants give.
    pub async fn login(&self, presentation: &str) -> Result<Session, AccessError> {
        let (_, claims) = tsunagu_trust::jws::decode_unverified(presentation)
            .map_err(|e| AccessError::Presentation(e.to_string()))?;
        let holder = claims
            .get("holder")
            .and_then(|h| h.as_str().or_else(|| h.get("id").and_then(Value::as_str)))
            .or_else(|| claims.get("iss").and_then(Value::as_str))
            .ok_or_else(|| AccessError::Presentation("no holder".into()))?
            .to_owned();
        let nonce = claims
            .get("nonce")
            .and_then(Value::as_str)
            .ok_or(AccessError::Nonce)?
            .to_owned();
        if !self.take_nonce(&nonce).await? {
            return Err(AccessError::Nonce);
        }
        let trust = &self.inner.trust;
        let context = TrustContext {
            resolver: trust.resolver.as_ref(),
            status_lists: trust.status_lists.as_ref(),
            trusted_issuers: &trust.trusted_issuers,
        };
        let now = self.inner.clock.now();
        let verified = verify_vp_jwt(
            presentation,
            &PresentationExpectations {
                audience: &self.inner.audience,
                holder: &holder,
                nonce: Some(&nonce),
            },
            &context,
            now,
        )
        .await
        .map_err(|e| AccessError::Presentation(e.to_string()))?;
        let attributes = tsunagu_trust::attributes::attributes(&verified);
        let group = group_for_attributes(&attributes).max(self.granted(&verified.holder).await?);
        if group == AccessGroup::Public {
            return Err(AccessError::NotEntitled);
        }
        let token = random_token(32);
        let caller = Caller {
            did: verified.holder,
            group,
            expires_at: now + SESSION_LIFETIME,
        };
        let body = serde_json::to_value(&caller).unwrap_or_default();
        self.inner
            .store
            .insert_document(
                SESSIONS,
                &digest(&token),
                Some(&caller.did),
                &body,
                now.timestamp_millis(),
            )
            .await?;
        tracing::info!(caller = %caller.did, group = caller.group.as_str(), "passport session opened");
        Ok(Session { token, caller })
    }

    /// The caller a bearer token belongs to, while its session lasts.
    pub async fn caller(&self, token: &str) -> Result<Option<Caller>, AccessError> {
        if token.len() > 100 {
            return Ok(None);
        }
        let Some(document) = self.inner.store.document(SESSIONS, &digest(token)).await? else {
            return Ok(None);
        };
        let caller: Option<Caller> = serde_json::from_value(document.body).ok();
        let now = self.inner.clock.now();
        Ok(caller.filter(|c| c.expires_at > now))
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<(), AccessError> {
        self.inner
            .store
            .delete_document(SESSIONS, &digest(token))
            .await?;
        Ok(())
    }

    /// Grants `did` the group `group` (replacing an earlier grant).
    pub async fn grant(&self, did: &str, group: AccessGroup) -> Result<(), AccessError> {
        let now = self.inner.clock.now().timestamp_millis();
        let body = json!({"did": did, "group": group});
        match self.inner.store.document(GRANTS, did).await? {
            Some(existing) => {
                self.inner
                    .store
                    .update_document(GRANTS, did, existing.version, None, &body, now)
                    .await?;
            }
            None => {
                self.inner
                    .store
                    .insert_document(GRANTS, did, None, &body, now)
                    .await?
            }
        }
        Ok(())
    }

    pub async fn revoke_grant(&self, did: &str) -> Result<bool, AccessError> {
        Ok(self.inner.store.delete_document(GRANTS, did).await?)
    }

    async fn granted(&self, did: &str) -> Result<AccessGroup, AccessError> {
        Ok(self
            .inner
            .store
            .document(GRANTS, did)
            .await?
            .and_then(|d| d.body.get("group").cloned())
            .and_then(|g| serde_json::from_value(g).ok())
            .unwrap_or(AccessGroup::Public))
    }
}

async fn purge_periodically(access: Weak<AccessInner>) {
    loop {
        tokio::time::sleep(PURGE_INTERVAL).await;
        let Some(inner) = access.upgrade() else {
            return;
        };
        match (AccessControl { inner }).purge_expired().await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "expired passport sessions and nonces purged"),
            Err(error) => tracing::warn!(%error, "purging expired passport sessions failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn attributes(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn roles_map_to_groups_only_with_membership() {
        type Case<'a> = (&'a [(&'a str, &'a [&'a str])], AccessGroup);
        let cases: [Case<'_>; 6] = [
            (
                &[("membership", &["active"]), ("role", &["recycler"])],
                AccessGroup::LegitimateInterest,
            ),
            (
                &[
                    ("membership", &["active"]),
                    ("role", &["reuseOperator", "cellMaker"]),
                ],
                AccessGroup::LegitimateInterest,
            ),
            (
                &[("membership", &["active"]), ("role", &["notifiedBody"])],
                AccessGroup::Authorities,
            ),
            (
                &[("membership", &["active"]), ("role", &["cellMaker"])],
                AccessGroup::Public,
            ),
            (&[("role", &["authority"])], AccessGroup::Public),
            (&[("membership", &["active"])], AccessGroup::Public),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                group_for_attributes(&attributes(pairs)),
                expected,
                "{pairs:?}"
            );
        }
    }
}
