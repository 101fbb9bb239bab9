//! The company's PACT host system: the data recipients allowed to call its PACT API (OAuth2
//! clients), their access tokens, the profile that fills what PACT asks beyond tsunagu's
//! calculation, the footprints it serves, the events it received, and the event answers it
//! owes to requesters.
//!
//! Client secrets are stored as SHA-256 over a random salt, tokens (32 random bytes) as
//! their SHA-256; neither is logged. A client sees the company's footprints at the
//! disclosure level it was registered with, never less than the stage split, since PACT
//! needs fossil, biogenic and land-use change emissions apart.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::auth::{random_hex, salted, same, sha256_hex};
use super::records::Collection;
use super::{FOOTPRINTS, OwnFootprint, PcfService, Result, SETTINGS, ServiceError};
use crate::pact::{FootprintStatus, PactProfile, PactSubject, ProductFootprint, to_pact};
use crate::rollup::Disclosure;

const PACT_CLIENTS: Collection = Collection("pcf.pact_clients");
const PACT_TOKENS: Collection = Collection("pcf.pact_tokens");
const PACT_OUTBOX: Collection = Collection("pcf.pact_outbox");
const PACT_EVENTS_JOURNAL: &str = "pcf.pact_events";
const PACT_PROFILE: &str = "pact_profile";

/// Why a PACT caller is not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PactAuthError {
    /// Unknown client or wrong secret; the caller is not told which.
    #[error("invalid client credentials")]
    InvalidClient,
    #[error("unknown access token")]
    InvalidToken,
    #[error("the access token has expired")]
    TokenExpired,
}

/// A data recipient allowed to call the PACT API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PactClient {
    pub client_id: String,
    pub disclosure: Disclosure,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredClient {
    client: PactClient,
    salt: String,
    secret_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredToken {
    client_id: String,
    expires_at: DateTime<Utc>,
}

/// An access token as handed out.
#[derive(Debug, Clone)]
pub struct PactToken {
    pub access_token: String,
    pub expires_in: Duration,
}

/// An event answer owed to a requester, kept until the requester accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwedPactEvent {
    pub id: String,
    pub url: String,
    pub event: Value,
    pub attempts: u32,
}

impl PcfService {
    /// Registers (or re-keys) a PACT client. The secret must be long enough not to be
    /// guessed; the client sees footprints at `disclosure`, at least the stage split.
    pub async fn register_pact_client(
        &self,
        client_id: &str,
        secret: &str,
        disclosure: Disclosure,
    ) -> Result<()> {
        if client_id.is_empty() || client_id.contains(':') {
            return Err(ServiceError::Invalid(
                "a PACT client id is not empty and has no colon".into(),
            ));
        }
        if secret.chars().count() < 16 {
            return Err(ServiceError::Invalid(
                "a PACT client secret has at least 16 characters".into(),
            ));
        }
        if disclosure < Disclosure::StageSplit {
            return Err(ServiceError::Invalid(
                "PACT needs fossil, biogenic and land-use change emissions apart: a PACT \
                 client needs at least the stage-split disclosure"
                    .into(),
            ));
        }
        let salt = random_hex(16);
        let record = StoredClient {
            client: PactClient {
                client_id: client_id.to_owned(),
                disclosure,
            },
            secret_sha256: salted(&salt, secret),
            salt,
        };
        PACT_CLIENTS
            .upsert(self.store(), client_id, None, &record, self.now())
            .await?;
        Ok(())
    }

    /// OAuth2 client credentials: a new access token for a client that knows its secret.
    pub async fn issue_pact_token(
        &self,
        client_id: &str,
        secret: &str,
        lifetime: Duration,
    ) -> Result<std::result::Result<PactToken, PactAuthError>> {
        let Some(stored) = PACT_CLIENTS
            .get::<StoredClient>(self.store(), client_id)
            .await?
        else {
            return Ok(Err(PactAuthError::InvalidClient));
        };
        if !same(
            &salted(&stored.value.salt, secret),
            &stored.value.secret_sha256,
        ) {
            return Ok(Err(PactAuthError::InvalidClient));
        }
        let token = random_hex(32);
        let record = StoredToken {
            client_id: client_id.to_owned(),
            expires_at: self.now() + lifetime,
        };
        PACT_TOKENS
            .insert(
                self.store(),
                &sha256_hex(&token),
                Some(client_id),
                &record,
                self.now(),
            )
            .await?;
        Ok(Ok(PactToken {
            access_token: token,
            expires_in: lifetime,
        }))
    }

    /// The client a bearer token was issued to, if the token is known and current.
    pub async fn pact_client_for_token(
        &self,
        token: &str,
    ) -> Result<std::result::Result<PactClient, PactAuthError>> {
        let id = sha256_hex(token);
        let Some(stored) = PACT_TOKENS.get::<StoredToken>(self.store(), &id).await? else {
            return Ok(Err(PactAuthError::InvalidToken));
        };
        if stored.value.expires_at <= self.now() {
            self.store().delete_document(PACT_TOKENS.0, &id).await?;
            return Ok(Err(PactAuthError::TokenExpired));
        }
        match PACT_CLIENTS
            .get::<StoredClient>(self.store(), &stored.value.client_id)
            .await?
        {
            Some(client) => Ok(Ok(client.value.client)),
            // The client was removed after the token was issued.
            None => Ok(Err(PactAuthError::InvalidToken)),
        }
    }

    pub async fn pact_profile(&self) -> Result<PactProfile> {
        Ok(SETTINGS
            .get::<PactProfile>(self.store(), PACT_PROFILE)
            .await?
            .map(|s| s.value)
            .unwrap_or_default())
    }

    /// Sets what PACT asks beyond the calculation. Refused if a footprint made with it would
    /// break a rule of the specification.
    pub async fn set_pact_profile(&self, profile: PactProfile) -> Result<()> {
        crate::pact::check_profile(&profile, self.now())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        SETTINGS
            .upsert(self.store(), PACT_PROFILE, None, &profile, self.now())
            .await?;
        Ok(())
    }

    /// The company's footprints as `client` may see them, in the order of their ids: the
    /// current version of each part's footprint (`Active`, naming the versions it replaced
    /// in `precedingPfIds`) and every earlier one (`Deprecated`). A company without an
    /// operator record has none. Footprints PACT cannot express are left out and logged.
    pub async fn pact_footprints(&self, client: &PactClient) -> Result<Vec<ProductFootprint>> {
        let operator = match self.operator().await {
            Ok(operator) => operator,
            Err(ServiceError::NotSetUp) => return Ok(Vec::new()),
            Err(other) => return Err(other),
        };
        let profile = self.pact_profile().await?;
        let mut footprints = Vec::new();
        for stored in FOOTPRINTS.all::<OwnFootprint>(self.store()).await? {
            let own = stored.value;
            let Some(part) = self.part(own.result.part).await? else {
                continue;
            };
            let versions = own
                .superseded
                .iter()
                .map(|old| (old.pf_id, &old.result, FootprintStatus::Deprecated))
                .chain([(own.current_pf_id(), &own.result, FootprintStatus::Active)]);
            for (index, (id, result, status)) in versions.enumerate() {
                let disclosed = client.disclosure.project(result);
                let subject = PactSubject {
                    id,
                    operator: &operator,
                    part: &part,
                };
                match to_pact(&disclosed, subject, &profile) {
                    Ok(mut footprint) => {
                        let preceding: Vec<Uuid> = own.superseded[..index]
                            .iter()
                            .map(|old| old.pf_id)
                            .collect();
                        footprint.preceding_pf_ids = (!preceding.is_empty()).then_some(preceding);
                        footprint.status = status;
                        footprints.push(footprint);
                    }
                    Err(error) => {
                        tracing::warn!(pf_id = %id, %error, "footprint left out of PACT");
                    }
                }
            }
        }
        footprints.sort_by_key(|f| f.id);
        Ok(footprints)
    }

    /// Keeps an event the PACT API accepted, with the client that sent it.
    pub async fn record_pact_event(&self, client_id: &str, event: &Value) -> Result<i64> {
        let entry = serde_json::json!({"client_id": client_id, "event": event});
        Ok(self
            .store()
            .append_journal(PACT_EVENTS_JOURNAL, &entry, self.now().timestamp_millis())
            .await?)
    }

    /// The events the PACT API accepted, oldest first.
    pub async fn pact_events(&self) -> Result<Vec<Value>> {
        Ok(self
            .store()
            .journal(PACT_EVENTS_JOURNAL, 0, u32::MAX)
            .await?
            .into_iter()
            .map(|entry| entry.body)
            .collect())
    }

    /// Records an event answer as owed to `url` before it is sent.
    pub async fn owe_pact_event(&self, url: &str, event: Value) -> Result<OwedPactEvent> {
        let owed = OwedPactEvent {
            id: Uuid::new_v4().to_string(),
            url: url.to_owned(),
            event,
            attempts: 0,
        };
        PACT_OUTBOX
            .insert(self.store(), &owed.id, None, &owed, self.now())
            .await?;
        Ok(owed)
    }

    /// Counts a failed delivery attempt.
    pub async fn pact_event_attempted(&self, id: &str) -> Result<()> {
        if let Some(stored) = PACT_OUTBOX.get::<OwedPactEvent>(self.store(), id).await? {
            let mut owed = stored.value.clone();
            owed.attempts += 1;
            PACT_OUTBOX
                .replace(self.store(), &stored, None, &owed, self.now())
                .await?;
        }
        Ok(())
    }

    /// Forgets an owed event: delivered, or given up.
    pub async fn pact_event_settled(&self, id: &str) -> Result<()> {
        self.store().delete_document(PACT_OUTBOX.0, id).await?;
        Ok(())
    }

    /// The event answers still owed, e.g. to resume sending them after a restart.
    pub async fn owed_pact_events(&self) -> Result<Vec<OwedPactEvent>> {
        Ok(PACT_OUTBOX
            .all::<OwedPactEvent>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect())
    }
}
