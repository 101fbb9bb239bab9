use serde_json::Value;
use tsunagu_core::{
    Agreement, Negotiation, NegotiationAction, NegotiationMessage, NegotiationState,
    NewNegotiation, OfferId, Role,
};
use tsunagu_policy::{Constraint, Decision, Policy};
use tsunagu_store::{Page, Pid, StoreError};

use crate::catalog::offer_rules;
use crate::{Connector, EngineError, VerifiedCaller, new_id, now_ms};

/// A `ContractRequestMessage` after the edge has parsed it.
#[derive(Debug, Clone)]
pub struct ContractRequestIn {
    pub consumer_pid: String,
    pub provider_pid: Option<String>,
    pub offer: Value,
    pub callback_address: Option<String>,
}

/// A `ContractOfferMessage` after the edge has parsed it.
#[derive(Debug, Clone)]
pub struct ContractOfferIn {
    pub provider_pid: String,
    pub consumer_pid: Option<String>,
    pub offer: Value,
    pub callback_address: Option<String>,
}

/// The management API's request to negotiate for an offer found in a provider's catalog.
#[derive(Debug, Clone)]
pub struct StartNegotiation {
    /// The provider's DSP base URL.
    pub counter_party_address: String,
    /// The provider's participant id.
    pub counter_party_id: String,
    /// The offer as found in the catalog; must carry `@id`. `target` is added when absent.
    pub offer: Value,
}

/// The agreement object a provider sends: the rules it offered, exactly, plus the identity of
/// the agreement, its target, parties and time.
pub fn agreement_policy_json(
    id: &str,
    target: &str,
    assigner: &str,
    assignee: &str,
    timestamp: &str,
    rules: &Value,
) -> Value {
    let mut agreement = serde_json::Map::new();
    agreement.insert("@id".into(), Value::String(id.to_owned()));
    agreement.insert("@type".into(), Value::String("Agreement".into()));
    agreement.insert("target".into(), Value::String(target.to_owned()));
    agreement.insert("assigner".into(), Value::String(assigner.to_owned()));
    agreement.insert("assignee".into(), Value::String(assignee.to_owned()));
    agreement.insert("timestamp".into(), Value::String(timestamp.to_owned()));
    if let Some(rules) = rules.as_object() {
        for (key, value) in rules {
            if !matches!(
                key.as_str(),
                "@id" | "@type" | "target" | "assigner" | "assignee" | "timestamp" | "@context"
            ) {
                agreement.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(agreement)
}

/// The purpose a consumer commits to by accepting terms that name one: the right operand of
/// an `eq` purpose constraint. DSP carries no separate purpose field, so agreeing to a
/// purpose-bound offer is how a consumer declares its purpose.
pub(crate) fn declared_purpose(policy: &Policy) -> Option<String> {
    fn walk(constraints: &[Constraint]) -> Option<String> {
        for constraint in constraints {
            match constraint {
                Constraint::Atomic {
                    left_operand,
                    right_operand,
                    ..
                } => {
                    let name = left_operand
                        .rsplit([':', '/'])
                        .next()
                        .unwrap_or(left_operand);
                    if matches!(name, "purpose" | "UsagePurpose") {
                        let value = right_operand.get("@value").unwrap_or(right_operand);
                        if let Some(text) = value.as_str() {
                            return Some(text.to_owned());
                        }
                    }
                }
                Constraint::Logical { constraints, .. } => {
                    if let Some(found) = walk(constraints) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }
    policy
        .permissions
        .iter()
        .chain(&policy.obligations)
        .find_map(|rule| walk(&rule.constraints))
}

fn parse_policy(value: &Value, what: &str) -> Result<Policy, EngineError> {
    Policy::from_json(value).map_err(|error| EngineError::BadRequest(format!("{what}: {error}")))
}

fn check_callback(address: &str) -> Result<(), EngineError> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Ok(())
    } else {
        Err(EngineError::BadRequest(format!(
            "callbackAddress {address:?} is not understood: tsunagu calls back over https (or http on a trusted network)"
        )))
    }
}

/// The provider's answer to terms it has been asked to agree to.
enum ProviderDecision {
    Agree { rules: Value, dataset_id: String },
    Refuse { reasons: Vec<String> },
}

impl Connector {
    fn not_found_unless_party(
        negotiation: Option<Negotiation>,
        caller: &VerifiedCaller,
    ) -> Result<Negotiation, EngineError> {
        match negotiation {
            Some(n) if n.counter_party_id == caller.participant_id() => Ok(n),
            // A process of another party is answered exactly like an unknown one.
            _ => Err(EngineError::NotFound),
        }
    }

    async fn find_negotiation(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        pid: &str,
    ) -> Result<Negotiation, EngineError> {
        let which = match role {
            Role::Provider => Pid::Provider,
            Role::Consumer => Pid::Consumer,
        };
        let found = self.store().negotiation_by_pid(role, which, pid).await?;
        Self::not_found_unless_party(found, caller)
    }

    /// Applies `change` to the stored negotiation `id`, re-reading and re-applying when a
    /// concurrent writer got there first. A change that fails leaves the store untouched.
    pub(crate) async fn modify_negotiation<T>(
        &self,
        id: &str,
        change: impl FnMut(&mut Negotiation) -> Result<T, EngineError>,
    ) -> Result<(Negotiation, T), EngineError> {
        self.modify_negotiation_from(id, None, change).await
    }

    /// Like `modify_negotiation`, starting from a copy the caller has just read, so the common
    /// case costs one write and no second read.
    pub(crate) async fn modify_negotiation_from<T>(
        &self,
        id: &str,
        mut fresh: Option<Negotiation>,
        mut change: impl FnMut(&mut Negotiation) -> Result<T, EngineError>,
    ) -> Result<(Negotiation, T), EngineError> {
        loop {
            let mut negotiation = match fresh.take() {
                Some(record) => record,
                None => self
                    .store()
                    .negotiation(id)
                    .await?
                    .ok_or(EngineError::NotFound)?,
            };
            let outcome = change(&mut negotiation)?;
            match self.save_negotiation(&mut negotiation).await {
                Ok(()) => {
                    self.negotiation_changed(&negotiation);
                    return Ok((negotiation, outcome));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn repeated_initial_request(
        &self,
        caller: &VerifiedCaller,
        consumer_pid: &str,
    ) -> Result<Option<Negotiation>, EngineError> {
        Ok(self
            .store()
            .negotiation_by_pid(Role::Provider, Pid::Consumer, consumer_pid)
            .await?
            .filter(|n| n.counter_party_id == caller.participant_id()))
    }

    /// Decides whether to agree to `requested` terms for `offer` with this caller.
    async fn decide(
        &self,
        caller: &VerifiedCaller,
        offer_id: &str,
        requested: &Policy,
    ) -> Result<ProviderDecision, EngineError> {
        let (offer, contract) = self.resolve_offer(caller, offer_id).await?;
        if !requested.same_terms(&contract) {
            return Err(EngineError::BadRequest(format!(
                "the terms requested for offer {offer_id} differ from the terms offered; request the offer as the catalog states it"
            )));
        }
        if let Some(target) = &requested.target
            && target != &offer.asset_id
        {
            return Err(EngineError::BadRequest(format!(
                "offer {offer_id} is for dataset {}, not {target}",
                offer.asset_id
            )));
        }
        let mut context = self.context_for(caller);
        context.purpose = declared_purpose(requested);
        Ok(match contract.evaluate(&context) {
            Decision::Permit { .. } => ProviderDecision::Agree {
                rules: offer_rules(&contract),
                dataset_id: offer.asset_id,
            },
            Decision::Deny { reasons } => ProviderDecision::Refuse { reasons },
        })
    }

    fn apply_decision(
        &self,
        negotiation: &mut Negotiation,
        decision: &ProviderDecision,
        now: i64,
    ) -> Result<(), EngineError> {
        match decision {
            ProviderDecision::Agree { rules, dataset_id } => {
                let agreement_id = new_id();
                let timestamp = chrono::DateTime::from_timestamp_millis(now)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let policy = agreement_policy_json(
                    &agreement_id,
                    dataset_id,
                    self.participant_id(),
                    &negotiation.counter_party_id,
                    &timestamp,
                    rules,
                );
                let mut agreement = Agreement {
                    id: agreement_id,
                    negotiation_id: negotiation.id.clone(),
                    dataset_id: dataset_id.clone(),
                    provider_id: self.participant_id().to_owned(),
                    consumer_id: negotiation.counter_party_id.clone(),
                    policy,
                    signed_at_ms: now - now % 1000,
                    provider_signature: None,
                    consumer_signature: None,
                };
                agreement.provider_signature =
                    self.sign_agreement(&agreement, crate::signatures::Party::Provider)?;
                negotiation.agreement = Some(agreement);
                negotiation.send(NegotiationAction::SendAgreement, now)?;
            }
            ProviderDecision::Refuse { reasons } => {
                tracing::info!(negotiation = %negotiation.id, ?reasons, "contract policy refuses the counter-party");
                negotiation.error = Some(format!(
                    "contract policy not satisfied: {}",
                    reasons.join("; ")
                ));
                negotiation.send(
                    NegotiationAction::SendTermination {
                        code: "policy".into(),
                        reason: "the contract policy is not satisfied".into(),
                    },
                    now,
                )?;
            }
        }
        Ok(())
    }

    /// Provider: `POST /negotiations/request` and `POST /negotiations/:providerPid/request`.
    /// Returns the negotiation and the state the message moved it to (what the ACK reports).
    pub async fn on_contract_request(
        &self,
        caller: &VerifiedCaller,
        request: ContractRequestIn,
    ) -> Result<(Negotiation, NegotiationState), EngineError> {
        let requested = parse_policy(&request.offer, "offer")?;
        let offer_id = requested
            .uid
            .clone()
            .ok_or_else(|| EngineError::BadRequest("offer.@id is required".into()))?;
        let now = now_ms();
        match request.provider_pid {
            None => {
                let callback = request
                    .callback_address
                    .ok_or_else(|| EngineError::BadRequest("callbackAddress is required".into()))?;
                check_callback(&callback)?;
                // A repeated initial request (its answer was lost, or our acknowledgement never
                // reached the consumer's worker) finds the negotiation it created.
                if let Some(existing) = self
                    .repeated_initial_request(caller, &request.consumer_pid)
                    .await?
                {
                    let state = existing.state;
                    return Ok((existing, state));
                }
                let decision = self.decide(caller, &offer_id, &requested).await?;
                let dataset_id = OfferId::decode(&offer_id)
                    .map(|offer| offer.asset_id)
                    .unwrap_or_default();
                let mut negotiation = Negotiation::requested_by_consumer(
                    NewNegotiation {
                        id: new_id(),
                        counter_party_id: caller.participant_id().to_owned(),
                        counter_party_address: callback,
                        dataset_id,
                        offer: request.offer,
                        now_ms: now,
                    },
                    request.consumer_pid,
                );
                self.apply_decision(&mut negotiation, &decision, now)?;
                match self.insert_new_negotiation(&mut negotiation).await {
                    Ok(()) => {}
                    // Another replica took the same request at the same moment.
                    Err(StoreError::Duplicate(_)) => {
                        let consumer_pid = negotiation.consumer_pid.clone().unwrap_or_default();
                        if let Some(existing) =
                            self.repeated_initial_request(caller, &consumer_pid).await?
                        {
                            let state = existing.state;
                            return Ok((existing, state));
                        }
                        return Err(EngineError::Conflict(
                            "the negotiation could not be created".into(),
                        ));
                    }
                    Err(error) => return Err(error.into()),
                }
                self.negotiation_changed(&negotiation);
                Ok((negotiation, NegotiationState::Requested))
            }
            Some(provider_pid) => {
                let existing = self
                    .find_negotiation(caller, Role::Provider, &provider_pid)
                    .await?;
                if existing.consumer_pid.as_deref() != Some(request.consumer_pid.as_str()) {
                    return Err(EngineError::BadRequest(
                        "consumerPid does not match this negotiation".into(),
                    ));
                }
                // Check the transition before doing any work, so an illegal message is refused
                // as such and not as a policy matter.
                if existing.is_repeat(NegotiationMessage::Request) {
                    let state = existing.state;
                    return Ok((existing, state));
                }
                tsunagu_core::negotiation_transition(
                    existing.state,
                    NegotiationMessage::Request,
                    Role::Consumer,
                )?;
                let decision = self.decide(caller, &offer_id, &requested).await?;
                let offer = request.offer.clone();
                self.modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                    negotiation.receive(NegotiationMessage::Request, now)?;
                    negotiation.offer = offer.clone();
                    negotiation.offer_by = Role::Consumer;
                    self.apply_decision(negotiation, &decision, now)?;
                    Ok(())
                })
                .await
                .map(|(negotiation, ())| (negotiation, NegotiationState::Requested))
            }
        }
    }

    /// Consumer: `POST /negotiations/offers` (initial) and `POST /callback/negotiations/:consumerPid/offers`.
    pub async fn on_contract_offer(
        &self,
        caller: &VerifiedCaller,
        offer: ContractOfferIn,
    ) -> Result<(Negotiation, NegotiationState), EngineError> {
        let policy = parse_policy(&offer.offer, "offer")?;
        let now = now_ms();
        match offer.consumer_pid {
            None => {
                let callback = offer
                    .callback_address
                    .ok_or_else(|| EngineError::BadRequest("callbackAddress is required".into()))?;
                check_callback(&callback)?;
                let mut negotiation = Negotiation::offered_by_provider(
                    NewNegotiation {
                        id: new_id(),
                        counter_party_id: caller.participant_id().to_owned(),
                        counter_party_address: callback,
                        dataset_id: policy.target.clone().unwrap_or_default(),
                        offer: offer.offer,
                        now_ms: now,
                    },
                    offer.provider_pid,
                );
                self.insert_new_negotiation(&mut negotiation).await?;
                self.negotiation_changed(&negotiation);
                Ok((negotiation, NegotiationState::Offered))
            }
            Some(consumer_pid) => {
                let existing = self
                    .find_negotiation(caller, Role::Consumer, &consumer_pid)
                    .await?;
                let provider_pid = offer.provider_pid.clone();
                let body = offer.offer.clone();
                self.modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                    check_or_adopt(&mut negotiation.provider_pid, &provider_pid, "providerPid")?;
                    if negotiation.is_repeat(NegotiationMessage::Offer) {
                        return Ok(());
                    }
                    negotiation.receive(NegotiationMessage::Offer, now)?;
                    negotiation.offer = body.clone();
                    negotiation.offer_by = Role::Provider;
                    Ok(())
                })
                .await
                .map(|(negotiation, ())| (negotiation, NegotiationState::Offered))
            }
        }
    }

    /// Consumer: `POST /callback/negotiations/:consumerPid/agreement`. The agreement must be
    /// for the terms last on the table, between these two parties; the consumer then verifies.
    pub async fn on_agreement(
        &self,
        caller: &VerifiedCaller,
        consumer_pid: &str,
        provider_pid: &str,
        agreement: Value,
        provider_signature: Option<&str>,
    ) -> Result<Negotiation, EngineError> {
        let existing = self
            .find_negotiation(caller, Role::Consumer, consumer_pid)
            .await?;
        if existing.is_repeat(NegotiationMessage::Agreement) {
            return Ok(existing);
        }
        tsunagu_core::negotiation_transition(
            existing.state,
            NegotiationMessage::Agreement,
            Role::Provider,
        )?;
        let policy = parse_policy(&agreement, "agreement")?;
        let on_table = parse_policy(&existing.offer, "the offer on the table")?;
        if !policy.same_terms(&on_table) {
            return Err(EngineError::BadRequest(
                "the agreement's terms differ from the offer that was requested".into(),
            ));
        }
        if policy.assignee.as_deref() != Some(self.participant_id()) {
            return Err(EngineError::BadRequest(format!(
                "the agreement's assignee must be this consumer, {}",
                self.participant_id()
            )));
        }
        if policy.assigner.as_deref() != Some(caller.participant_id()) {
            return Err(EngineError::BadRequest(
                "the agreement's assigner must be the provider that sends it".into(),
            ));
        }
        let agreement_id = policy
            .uid
            .clone()
            .ok_or_else(|| EngineError::BadRequest("agreement.@id is required".into()))?;
        let signed_at_ms = agreement
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.timestamp_millis())
            .ok_or_else(|| {
                EngineError::BadRequest("agreement.timestamp must be an xsd:dateTime".into())
            })?;
        let mut signed = Agreement {
            id: agreement_id.clone(),
            negotiation_id: existing.id.clone(),
            dataset_id: policy.target.clone().unwrap_or_default(),
            provider_id: caller.participant_id().to_owned(),
            consumer_id: self.participant_id().to_owned(),
            policy: agreement.clone(),
            signed_at_ms,
            provider_signature: provider_signature.map(str::to_owned),
            consumer_signature: None,
        };
        self.check_agreement_signature(
            &signed,
            crate::signatures::Party::Provider,
            provider_signature,
        )
        .await?;
        // Under contract terms, the text is fetched and checked before this side signs.
        if let Some(reference) = crate::signatures::contract_terms(&agreement) {
            self.obtain_contract_text(
                &reference,
                caller.participant_id(),
                &existing.counter_party_address,
            )
            .await?;
        }
        signed.consumer_signature =
            self.sign_agreement(&signed, crate::signatures::Party::Consumer)?;
        let now = now_ms();
        let provider_pid = provider_pid.to_owned();
        let (negotiation, ()) = self
            .modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                check_or_adopt(&mut negotiation.provider_pid, &provider_pid, "providerPid")?;
                negotiation.receive(NegotiationMessage::Agreement, now)?;
                negotiation.agreement = Some(signed.clone());
                negotiation.send(NegotiationAction::SendVerification, now)?;
                Ok(())
            })
            .await?;
        Ok(negotiation)
    }

    /// Provider: `POST /negotiations/:providerPid/agreement/verification`; finalises.
    pub async fn on_verification(
        &self,
        caller: &VerifiedCaller,
        provider_pid: &str,
        consumer_pid: &str,
        consumer_signature: Option<&str>,
    ) -> Result<Negotiation, EngineError> {
        let existing = self
            .find_negotiation(caller, Role::Provider, provider_pid)
            .await?;
        if existing.consumer_pid.as_deref() != Some(consumer_pid) {
            return Err(EngineError::BadRequest(
                "consumerPid does not match this negotiation".into(),
            ));
        }
        if existing.is_repeat(NegotiationMessage::Verification) {
            return Ok(existing);
        }
        // The state machine decides first whether a verification may arrive now; the
        // signature is checked only on an agreement that is on the table.
        tsunagu_core::negotiation_transition(
            existing.state,
            NegotiationMessage::Verification,
            Role::Consumer,
        )?;
        if let Some(agreement) = &existing.agreement {
            self.check_agreement_signature(
                agreement,
                crate::signatures::Party::Consumer,
                consumer_signature,
            )
            .await?;
        }
        let consumer_signature = consumer_signature.map(str::to_owned);
        let now = now_ms();
        let (negotiation, ()) = self
            .modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                if negotiation.is_repeat(NegotiationMessage::Verification) {
                    return Ok(());
                }
                negotiation.receive(NegotiationMessage::Verification, now)?;
                if let Some(agreement) = negotiation.agreement.as_mut() {
                    agreement.consumer_signature = consumer_signature.clone();
                }
                negotiation.send(NegotiationAction::SendFinalized, now)?;
                Ok(())
            })
            .await?;
        Ok(negotiation)
    }

    /// `POST .../negotiations/:pid/events`: `ACCEPTED` at the provider, `FINALIZED` at the
    /// consumer. `role` is the receiving side.
    pub async fn on_negotiation_event(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        own_pid: &str,
        other_pid: &str,
        finalized: bool,
    ) -> Result<Negotiation, EngineError> {
        let existing = self.find_negotiation(caller, role, own_pid).await?;
        let now = now_ms();
        match (role, finalized) {
            (Role::Provider, false) => {
                if existing.consumer_pid.as_deref() != Some(other_pid) {
                    return Err(EngineError::BadRequest(
                        "consumerPid does not match this negotiation".into(),
                    ));
                }
                if existing.is_repeat(NegotiationMessage::Accepted) {
                    return Ok(existing);
                }
                tsunagu_core::negotiation_transition(
                    existing.state,
                    NegotiationMessage::Accepted,
                    Role::Consumer,
                )?;
                // The consumer accepted the provider's own last offer: agree to exactly it,
                // provided the contract policy still admits this consumer.
                let offered = parse_policy(&existing.offer, "the offer on the table")?;
                let offer_id = offered.uid.clone().unwrap_or_default();
                let decision = self
                    .decide(caller, &offer_id, &offered)
                    .await
                    .unwrap_or_else(|error| ProviderDecision::Refuse {
                        reasons: vec![error.to_string()],
                    });
                let (negotiation, ()) = self
                    .modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                        negotiation.receive(NegotiationMessage::Accepted, now)?;
                        self.apply_decision(negotiation, &decision, now)
                    })
                    .await?;
                Ok(negotiation)
            }
            (Role::Consumer, true) => {
                let provider_pid = other_pid.to_owned();
                let (negotiation, ()) = self
                    .modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                        check_or_adopt(
                            &mut negotiation.provider_pid,
                            &provider_pid,
                            "providerPid",
                        )?;
                        // No repeat tolerance here: the protocol requires an event that arrives after
                        // the terminal state to be handled as an error.
                        negotiation.receive(NegotiationMessage::Finalized, now)?;
                        Ok(())
                    })
                    .await?;
                Ok(negotiation)
            }
            (Role::Provider, true) => Err(tsunagu_core::IllegalTransition {
                message: "ContractNegotiationEventMessage FINALIZED from the consumer".into(),
                state: existing.state.as_str().into(),
            }
            .into()),
            (Role::Consumer, false) => Err(tsunagu_core::IllegalTransition {
                message: "ContractNegotiationEventMessage ACCEPTED from the provider".into(),
                state: existing.state.as_str().into(),
            }
            .into()),
        }
    }

    /// `POST .../negotiations/:pid/termination`, at either side.
    pub async fn on_negotiation_termination(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        own_pid: &str,
        other_pid: &str,
        reason: Option<String>,
    ) -> Result<Negotiation, EngineError> {
        let existing = self.find_negotiation(caller, role, own_pid).await?;
        let now = now_ms();
        let other_pid = other_pid.to_owned();
        let (negotiation, ()) = self
            .modify_negotiation_from(&existing.id, Some(existing.clone()), |negotiation| {
                let other = match role {
                    Role::Provider => &mut negotiation.consumer_pid,
                    Role::Consumer => &mut negotiation.provider_pid,
                };
                check_or_adopt(other, &other_pid, "process id")?;
                if negotiation.is_repeat(NegotiationMessage::Termination) {
                    return Ok(());
                }
                negotiation.receive(NegotiationMessage::Termination, now)?;
                negotiation.error = Some(match &reason {
                    Some(reason) => format!("terminated by the counter-party: {reason}"),
                    None => "terminated by the counter-party".to_owned(),
                });
                Ok(())
            })
            .await?;
        Ok(negotiation)
    }

    /// `GET /negotiations/:providerPid` and `GET /callback/negotiations/:consumerPid`.
    pub async fn negotiation_for(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        pid: &str,
    ) -> Result<Negotiation, EngineError> {
        self.find_negotiation(caller, role, pid).await
    }

    // ----- management -----

    /// Starts a negotiation as consumer for an offer from a provider's catalog.
    pub async fn start_negotiation(
        &self,
        start: StartNegotiation,
    ) -> Result<Negotiation, EngineError> {
        let mut offer = start.offer;
        let object = offer
            .as_object_mut()
            .ok_or_else(|| EngineError::BadRequest("policy must be an object".into()))?;
        let offer_id = object
            .get("@id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                EngineError::BadRequest(
                    "policy.@id (the offer id from the catalog) is required".into(),
                )
            })?
            .to_owned();
        let target = match object.get("target") {
            Some(Value::String(target)) => target.clone(),
            Some(Value::Object(reference)) => reference
                .get("@id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    EngineError::BadRequest("policy.target must name the dataset".into())
                })?,
            _ => OfferId::decode(&offer_id)
                .map(|offer| offer.asset_id)
                .ok_or_else(|| {
                    EngineError::BadRequest("policy.target (the dataset id) is required".into())
                })?,
        };
        // Normalise the offer to the compact form the protocol carries, keeping its rules.
        let policy = parse_policy(&offer, "policy")?;
        let mut compact = offer_rules(&policy);
        if let Some(map) = compact.as_object_mut() {
            map.insert("@id".into(), Value::String(offer_id));
            map.insert("@type".into(), Value::String("Offer".into()));
            map.insert("target".into(), Value::String(target.clone()));
        }
        if start.counter_party_address.trim().is_empty() {
            return Err(EngineError::BadRequest(
                "counterPartyAddress is required".into(),
            ));
        }
        let mut negotiation = Negotiation::start_as_consumer(NewNegotiation {
            id: new_id(),
            counter_party_id: start.counter_party_id,
            counter_party_address: start.counter_party_address,
            dataset_id: target,
            offer: compact,
            now_ms: now_ms(),
        });
        self.insert_new_negotiation(&mut negotiation).await?;
        self.negotiation_changed(&negotiation);
        Ok(negotiation)
    }

    /// Consumer: accepts the provider's current offer (sends `ACCEPTED`).
    pub async fn accept_offer(&self, id: &str) -> Result<Negotiation, EngineError> {
        let now = now_ms();
        let (negotiation, ()) = self
            .modify_negotiation(id, |negotiation| {
                if negotiation.role != Role::Consumer {
                    return Err(EngineError::BadRequest(
                        "only the consumer accepts an offer".into(),
                    ));
                }
                negotiation.send(NegotiationAction::SendAccepted, now)?;
                Ok(())
            })
            .await?;
        Ok(negotiation)
    }

    /// Either side: terminates a negotiation and tells the counter-party.
    pub async fn terminate_negotiation(
        &self,
        id: &str,
        reason: String,
    ) -> Result<Negotiation, EngineError> {
        let now = now_ms();
        let (negotiation, ()) = self
            .modify_negotiation(id, |negotiation| {
                negotiation.send(
                    NegotiationAction::SendTermination {
                        code: "terminated".into(),
                        reason: reason.clone(),
                    },
                    now,
                )?;
                negotiation.error = Some(format!("terminated here: {reason}"));
                Ok(())
            })
            .await?;
        Ok(negotiation)
    }

    pub async fn negotiation(&self, id: &str) -> Result<Negotiation, EngineError> {
        self.store()
            .negotiation(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn negotiations(&self, page: Page) -> Result<Vec<Negotiation>, EngineError> {
        Ok(self.store().negotiations(page).await?)
    }

    pub async fn agreement(&self, id: &str) -> Result<Agreement, EngineError> {
        self.store()
            .agreement(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn agreements(&self, page: Page) -> Result<Vec<Agreement>, EngineError> {
        Ok(self.store().agreements(page).await?)
    }
}

/// The counter-party's process id in a message must match the one we know; when we do not know
/// it yet (its acknowledgement is still on the way) the message tells us.
pub(crate) fn check_or_adopt(
    known: &mut Option<String>,
    said: &str,
    what: &str,
) -> Result<(), EngineError> {
    match known {
        Some(known) if known != said => Err(EngineError::BadRequest(format!(
            "{what} {said} does not match this process"
        ))),
        Some(_) => Ok(()),
        None => {
            *known = Some(said.to_owned());
            Ok(())
        }
    }
}
