//! The Catena-X PCF exchange (CX-0136, PCF Exchange API): requests for a product's footprint
//! that this company sends to partners and receives from them, each named by the `requestId`
//! the requester chose.
//!
//! The service keeps the records and decides; it sends nothing itself. The connector
//! integration carries `GET /footprintExchange/{requestId}` and the answering
//! `PUT /footprintExchange/{requestId}` over the data space and calls the functions here with
//! the DID the data space authenticated for the other party, never one read from a message.
//!
//! * As requester: `open_catenax_request` records a request before it leaves,
//!   `catenax_request_delivered` says how the partner took it, and `receive_catenax_answer`
//!   accepts the footprint only from the partner that was asked, for the product that was
//!   asked for, as a schema-valid `io.catenax.pcf` 9.0.0 aspect. An update (`update=true`)
//!   must name a request made before, as the standard says; a `PUT` for a request id this
//!   company never sent to that partner is refused and changes nothing.
//! * As provider: `receive_catenax_request` finds the company's own footprint whose PACT /
//!   Catena-X product id (`urn:uuid:<trace id>`) is the requested `manufacturerPartId`,
//!   projects it as the disclosure policy allows for the requester (Catena-X needs at least
//!   the stage split) and returns the aspect to send back; `catenax_answer_delivered`
//!   records whether it reached the requester, and `catenax_answers_owed` makes again the
//!   answers still owed (after a failed delivery or a restart).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::records::Collection;
use super::{FOOTPRINTS, OwnFootprint, PcfService, Result, ServiceError};
use crate::pact::{PactSubject, from_catenax, product_urn, to_catenax, to_pact};
use crate::rollup::Disclosure;

const CATENAX_REQUESTS: Collection = Collection("pcf.catenax_requests");
const CATENAX_INBOUND: Collection = Collection("pcf.catenax_inbound");

/// The longest `message` the PCF Exchange API allows.
pub const CATENAX_MESSAGE_MAX_CHARS: usize = 250;
/// The longest request id this company accepts from a requester.
const REQUEST_ID_MAX_CHARS: usize = 128;

/// Where one of this company's requests stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CatenaxRequestState {
    /// Recorded; not yet taken by the partner.
    Pending,
    /// The partner accepted it (`202`) and owes the answer.
    Open,
    /// The partner's footprint arrived.
    Answered,
    /// The partner refused it (unknown product, footprint not disclosed, malformed).
    Refused,
    /// It could not be delivered (partner unreachable, no agreement).
    Undelivered,
}

/// A footprint request this company sent to a partner, and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatenaxRequest {
    pub request_id: Uuid,
    /// The DID of the partner asked; only it may answer.
    pub partner_did: String,
    pub manufacturer_part_id: Option<String>,
    pub customer_part_id: Option<String>,
    pub message: Option<String>,
    pub state: CatenaxRequestState,
    /// Why the request was refused or not delivered.
    pub reason: Option<String>,
    /// The partner's `message` with its answer.
    pub answer_message: Option<String>,
    /// The `io.catenax.pcf` 9.0.0 aspect as the partner sent it.
    pub footprint: Option<Value>,
    /// How many updates (`update=true`) arrived after the first answer.
    pub updates: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a request needs: the partner and at least one part id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCatenaxRequest {
    pub partner_did: String,
    pub manufacturer_part_id: Option<String>,
    pub customer_part_id: Option<String>,
    pub message: Option<String>,
}

/// How a request's delivery to the partner ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatenaxDelivery {
    Accepted,
    Refused(String),
    Undelivered(String),
}

/// Where an answer this company owes stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CatenaxAnswerState {
    /// Accepted; the answer is on its way.
    Accepted,
    /// The requester took the answer.
    Answered,
    /// The answer could not be delivered.
    Undelivered,
}

/// A footprint request a partner sent to this company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatenaxInbound {
    pub request_id: String,
    pub requester_did: String,
    pub manufacturer_part_id: Option<String>,
    pub customer_part_id: Option<String>,
    pub message: Option<String>,
    pub state: CatenaxAnswerState,
    pub reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The answer to send for an accepted request.
#[derive(Debug, Clone, PartialEq)]
pub struct CatenaxAnswer {
    pub request_id: String,
    pub requester_did: String,
    /// The `io.catenax.pcf` 9.0.0 aspect.
    pub footprint: Value,
}

fn check_message(message: &Option<String>) -> Result<()> {
    match message {
        Some(text) if text.chars().count() > CATENAX_MESSAGE_MAX_CHARS => {
            Err(ServiceError::Invalid(format!(
                "a message has at most {CATENAX_MESSAGE_MAX_CHARS} characters"
            )))
        }
        _ => Ok(()),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// The document id of a request a partner sent: request ids are the requester's, so two
/// requesters may choose the same one.
fn inbound_id(requester_did: &str, request_id: &str) -> String {
    super::auth::sha256_hex(&format!("{requester_did}\n{request_id}"))
}

impl PcfService {
    // ----- as requester -----

    /// Records a new request to `partner_did` before it is sent, under a fresh request id.
    pub async fn open_catenax_request(&self, new: NewCatenaxRequest) -> Result<CatenaxRequest> {
        if !new.partner_did.starts_with("did:") {
            return Err(ServiceError::Invalid(
                "the partner is named by its DID".into(),
            ));
        }
        let manufacturer_part_id = non_empty(new.manufacturer_part_id);
        let customer_part_id = non_empty(new.customer_part_id);
        if manufacturer_part_id.is_none() && customer_part_id.is_none() {
            return Err(ServiceError::Invalid(
                "a request names a manufacturerPartId or a customerPartId".into(),
            ));
        }
        let message = non_empty(new.message);
        check_message(&message)?;
        let now = self.now();
        let request = CatenaxRequest {
            request_id: Uuid::new_v4(),
            partner_did: new.partner_did,
            manufacturer_part_id,
            customer_part_id,
            message,
            state: CatenaxRequestState::Pending,
            reason: None,
            answer_message: None,
            footprint: None,
            updates: 0,
            created_at: now,
            updated_at: now,
        };
        CATENAX_REQUESTS
            .insert(
                self.store(),
                &request.request_id.to_string(),
                Some(&request.partner_did),
                &request,
                now,
            )
            .await?;
        Ok(request)
    }

    /// Records how the partner took request `request_id`. An answer that overtook the
    /// acknowledgement is kept.
    pub async fn catenax_request_delivered(
        &self,
        request_id: Uuid,
        delivery: CatenaxDelivery,
    ) -> Result<CatenaxRequest> {
        self.change_catenax_request(request_id, |request| {
            if request.state == CatenaxRequestState::Answered {
                return Ok(());
            }
            let (state, reason) = match &delivery {
                CatenaxDelivery::Accepted => (CatenaxRequestState::Open, None),
                CatenaxDelivery::Refused(reason) => {
                    (CatenaxRequestState::Refused, Some(reason.clone()))
                }
                CatenaxDelivery::Undelivered(reason) => {
                    (CatenaxRequestState::Undelivered, Some(reason.clone()))
                }
            };
            request.state = state;
            request.reason = reason;
            Ok(())
        })
        .await
    }

    /// A partner's `PUT /footprintExchange/{requestId}`: taken only from the partner that was
    /// asked, for a request this company made, with a valid Catena-X PCF 9.0.0 aspect of the
    /// product asked for. Anything else is refused and changes nothing.
    pub async fn receive_catenax_answer(
        &self,
        sender_did: &str,
        request_id: &str,
        update: bool,
        message: Option<String>,
        body: &[u8],
    ) -> Result<CatenaxRequest> {
        let unknown = || ServiceError::NotFound(format!("request {request_id} to this sender"));
        let id: Uuid = request_id.parse().map_err(|_| unknown())?;
        let message = non_empty(message);
        check_message(&message)?;
        let footprint: Value = serde_json::from_slice(body)
            .map_err(|error| ServiceError::Invalid(format!("the body is not JSON: {error}")))?;
        let pact = from_catenax(&footprint).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        // A concurrent change (the delivery acknowledgement) makes the write fail; read again.
        for _ in 0..5 {
            let Some(stored) = CATENAX_REQUESTS
                .get::<CatenaxRequest>(self.store(), &id.to_string())
                .await?
            else {
                return Err(unknown());
            };
            let request = &stored.value;
            // Told apart from an unknown id only for the partner that was asked.
            if request.partner_did != sender_did {
                return Err(unknown());
            }
            if let Some(asked) = &request.manufacturer_part_id
                && !pact.product_ids.iter().any(|id| id == asked)
            {
                return Err(ServiceError::Invalid(format!(
                    "the footprint is not for product {asked}, which was asked for"
                )));
            }
            let repeated = request.footprint.as_ref() == Some(&footprint);
            if request.state == CatenaxRequestState::Answered && !update && !repeated {
                return Err(ServiceError::Invalid(format!(
                    "request {request_id} is answered already; a changed footprint is sent as \
                     an update (update=true)"
                )));
            }
            let mut changed = request.clone();
            if request.state == CatenaxRequestState::Answered && !repeated {
                changed.updates += 1;
            }
            changed.state = CatenaxRequestState::Answered;
            changed.reason = None;
            changed.answer_message = message.clone();
            changed.footprint = Some(footprint.clone());
            changed.updated_at = self.now();
            match CATENAX_REQUESTS
                .replace(
                    self.store(),
                    &stored,
                    Some(&changed.partner_did),
                    &changed,
                    self.now(),
                )
                .await
            {
                Ok(()) => return Ok(changed),
                Err(tsunagu_store::StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Internal(format!(
            "request {request_id} kept changing under an answer"
        )))
    }

    /// This company's requests, newest first.
    pub async fn catenax_requests(&self) -> Result<Vec<CatenaxRequest>> {
        let mut requests: Vec<CatenaxRequest> = CATENAX_REQUESTS
            .all::<CatenaxRequest>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect();
        requests.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(a.request_id.cmp(&b.request_id))
        });
        Ok(requests)
    }

    pub async fn catenax_request(&self, request_id: Uuid) -> Result<Option<CatenaxRequest>> {
        Ok(CATENAX_REQUESTS
            .get::<CatenaxRequest>(self.store(), &request_id.to_string())
            .await?
            .map(|s| s.value))
    }

    async fn change_catenax_request(
        &self,
        request_id: Uuid,
        change: impl Fn(&mut CatenaxRequest) -> Result<()>,
    ) -> Result<CatenaxRequest> {
        for _ in 0..5 {
            let Some(stored) = CATENAX_REQUESTS
                .get::<CatenaxRequest>(self.store(), &request_id.to_string())
                .await?
            else {
                return Err(ServiceError::NotFound(format!("request {request_id}")));
            };
            let mut changed = stored.value.clone();
            change(&mut changed)?;
            changed.updated_at = self.now();
            match CATENAX_REQUESTS
                .replace(
                    self.store(),
                    &stored,
                    Some(&changed.partner_did),
                    &changed,
                    self.now(),
                )
                .await
            {
                Ok(()) => return Ok(changed),
                Err(tsunagu_store::StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Internal(format!(
            "request {request_id} kept changing under an update"
        )))
    }

    // ----- as provider -----

    /// A partner's `GET /footprintExchange/{requestId}`: the answer to send back, as the
    /// disclosure policy allows for the requester. A product this company has no footprint
    /// of is `NotFound`; a requester that may not see the stage split Catena-X needs is
    /// `Forbidden`. Asking again with the same request id gives the same answer.
    pub async fn receive_catenax_request(
        &self,
        requester_did: &str,
        request_id: &str,
        manufacturer_part_id: Option<String>,
        customer_part_id: Option<String>,
        message: Option<String>,
    ) -> Result<CatenaxAnswer> {
        if request_id.is_empty()
            || request_id.chars().count() > REQUEST_ID_MAX_CHARS
            || !request_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        {
            return Err(ServiceError::Invalid(format!(
                "a requestId has 1 to {REQUEST_ID_MAX_CHARS} letters, digits, '-', '_', '.' \
                 or '~'"
            )));
        }
        let manufacturer_part_id = non_empty(manufacturer_part_id);
        let customer_part_id = non_empty(customer_part_id);
        if manufacturer_part_id.is_none() && customer_part_id.is_none() {
            return Err(ServiceError::Invalid(
                "a request names a manufacturerPartId or a customerPartId".into(),
            ));
        }
        let message = non_empty(message);
        check_message(&message)?;
        let footprint = self
            .catenax_footprint_for(
                requester_did,
                manufacturer_part_id.as_deref(),
                customer_part_id.as_deref(),
            )
            .await?;
        let now = self.now();
        let id = inbound_id(requester_did, request_id);
        let inbound = CatenaxInbound {
            request_id: request_id.to_owned(),
            requester_did: requester_did.to_owned(),
            manufacturer_part_id,
            customer_part_id,
            message,
            state: CatenaxAnswerState::Accepted,
            reason: None,
            received_at: now,
            updated_at: now,
        };
        match CATENAX_INBOUND
            .get::<CatenaxInbound>(self.store(), &id)
            .await?
        {
            Some(existing) => {
                let mut again = inbound;
                again.received_at = existing.value.received_at;
                CATENAX_INBOUND
                    .replace(self.store(), &existing, Some(requester_did), &again, now)
                    .await?
            }
            None => {
                CATENAX_INBOUND
                    .insert(self.store(), &id, Some(requester_did), &inbound, now)
                    .await?
            }
        }
        Ok(CatenaxAnswer {
            request_id: request_id.to_owned(),
            requester_did: requester_did.to_owned(),
            footprint,
        })
    }

    /// The Catena-X aspect of this company's footprint of the product a request names, as
    /// the disclosure policy allows for `requester_did`.
    async fn catenax_footprint_for(
        &self,
        requester_did: &str,
        manufacturer_part_id: Option<&str>,
        customer_part_id: Option<&str>,
    ) -> Result<Value> {
        let operator = self.operator().await?;
        // Customers' own part numbers are not kept, so only the manufacturer's id can match.
        let wanted = manufacturer_part_id;
        let mut own: Option<OwnFootprint> = None;
        for stored in FOOTPRINTS.all::<OwnFootprint>(self.store()).await? {
            if Some(product_urn(stored.value.result.part).as_str()) == wanted {
                own = Some(stored.value);
                break;
            }
        }
        let not_found = || {
            ServiceError::NotFound(format!(
                "a footprint of product {}",
                manufacturer_part_id
                    .or(customer_part_id)
                    .unwrap_or_default()
            ))
        };
        let own = own.ok_or_else(not_found)?;
        let part = self.part(own.result.part).await?.ok_or_else(not_found)?;
        let policy = self.disclosure_policy().await?;
        let level = match self
            .partners()
            .await?
            .into_iter()
            .find(|p| p.did == requester_did)
        {
            Some(partner) => policy.level_for(&partner.operator.operator_id),
            None => policy.default,
        };
        if level < Disclosure::StageSplit {
            return Err(ServiceError::Forbidden(
                "this company does not disclose to you the stage split a Catena-X footprint \
                 needs"
                    .into(),
            ));
        }
        let disclosed = level.project(&own.result);
        let profile = self.pact_profile().await?;
        let subject = PactSubject {
            id: own.current_pf_id(),
            operator: &operator,
            part: &part,
        };
        let pact = to_pact(&disclosed, subject, &profile)
            .map_err(|e| ServiceError::Internal(format!("footprint {}: {e}", own.cfp_id)))?;
        // What Catena-X needs beyond the calculation comes from the company's PACT profile
        // (the geography, for one); without it the footprint cannot be given, which the
        // requester is told and the company finds in its log.
        let footprint = to_catenax(&pact).map_err(|error| {
            tracing::warn!(cfp_id = %own.cfp_id, %error, "a Catena-X footprint request cannot be answered");
            ServiceError::Forbidden(format!(
                "the footprint of this product cannot be given as a Catena-X PCF: {error}"
            ))
        })?;
        Ok(footprint)
    }

    /// The answers this company still owes (accepted, or not delivered), made again from
    /// the current footprints, to be sent after a restart or a failed delivery. A request
    /// whose product can no longer be answered is left out and logged.
    pub async fn catenax_answers_owed(&self) -> Result<Vec<CatenaxAnswer>> {
        let mut owed = Vec::new();
        for inbound in self.catenax_inbound().await? {
            if inbound.state == CatenaxAnswerState::Answered {
                continue;
            }
            match self
                .catenax_footprint_for(
                    &inbound.requester_did,
                    inbound.manufacturer_part_id.as_deref(),
                    inbound.customer_part_id.as_deref(),
                )
                .await
            {
                Ok(footprint) => owed.push(CatenaxAnswer {
                    request_id: inbound.request_id,
                    requester_did: inbound.requester_did,
                    footprint,
                }),
                Err(ServiceError::Store(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(request = %inbound.request_id, %error,
                        "an owed Catena-X answer can no longer be made");
                }
            }
        }
        Ok(owed)
    }

    /// Records whether the answer to `request_id` reached `requester_did`.
    pub async fn catenax_answer_delivered(
        &self,
        requester_did: &str,
        request_id: &str,
        outcome: std::result::Result<(), String>,
    ) -> Result<()> {
        let id = inbound_id(requester_did, request_id);
        let Some(stored) = CATENAX_INBOUND
            .get::<CatenaxInbound>(self.store(), &id)
            .await?
        else {
            return Err(ServiceError::NotFound(format!("request {request_id}")));
        };
        let mut changed = stored.value.clone();
        match outcome {
            Ok(()) => {
                changed.state = CatenaxAnswerState::Answered;
                changed.reason = None;
            }
            Err(reason) => {
                changed.state = CatenaxAnswerState::Undelivered;
                changed.reason = Some(reason);
            }
        }
        changed.updated_at = self.now();
        CATENAX_INBOUND
            .replace(
                self.store(),
                &stored,
                Some(requester_did),
                &changed,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// The requests partners sent to this company, newest first.
    pub async fn catenax_inbound(&self) -> Result<Vec<CatenaxInbound>> {
        let mut inbound: Vec<CatenaxInbound> = CATENAX_INBOUND
            .all::<CatenaxInbound>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect();
        inbound.sort_by_key(|i| std::cmp::Reverse(i.received_at));
        Ok(inbound)
    }
}
