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
//! [`SESSION_LIFETIME`]. Nonces are single-use and kept in memory (bounded).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

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
const GRANTS: &str = "passport.grants";

/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::minutes(30);
/// How long a nonce may wait for its presentation.
pub const NONCE_LIFETIME: Duration = Duration::minutes(5);
/// Outstanding nonces kept at most; the oldest go first.
const MAX_NONCES: usize = 10_000;

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
    nonces: Mutex<Nonces>,
}

#[derive(Default)]
struct Nonces {
    issued: HashMap<String, DateTime<Utc>>,
    order: VecDeque<String>,
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
    pub fn new(
        store: Arc<dyn DocumentStore>,
        trust: CallerTrust,
        audience: String,
        clock: Arc<dyn Clock>,
    ) -> AccessControl {
        AccessControl {
            inner: Arc::new(AccessInner {
                store,
                trust,
                audience,
                clock,
                nonces: Mutex::new(Nonces::default()),
            }),
        }
    }

    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// A fresh single-use nonce for one presentation.
    pub fn nonce(&self) -> String {
        let nonce = random_token(16);
        let now = self.inner.clock.now();
        let mut nonces = self.inner.nonces.lock().unwrap_or_else(|e| e.into_inner());
        while nonces.order.len() >= MAX_NONCES {
            if let Some(oldest) = nonces.order.pop_front() {
                nonces.issued.remove(&oldest);
            }
        }
        nonces.issued.insert(nonce.clone(), now + NONCE_LIFETIME);
        nonces.order.push_back(nonce.clone());
        nonce
    }

    fn take_nonce(&self, nonce: &str) -> bool {
        let now = self.inner.clock.now();
        let mut nonces = self.inner.nonces.lock().unwrap_or_else(|e| e.into_inner());
        match nonces.issued.remove(nonce) {
            Some(expires) => {
                nonces.order.retain(|n| n != nonce);
                expires > now
            }
            None => false,
        }
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
        if !self.take_nonce(&nonce) {
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
