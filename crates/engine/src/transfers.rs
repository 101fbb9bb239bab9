use tsunagu_core::{
    NegotiationState, NewTransfer, Role, Transfer, TransferAction, TransferMessage, TransferMode,
    TransferState,
};
use tsunagu_policy::{Decision, Policy};
use tsunagu_store::{Page, Pid, StoreError, TransferInsert};

use crate::negotiations::{check_or_adopt, declared_purpose};
use crate::{Connector, EngineError, VerifiedCaller, new_id, now_ms};

/// A `TransferRequestMessage` after the edge has parsed it.
#[derive(Debug, Clone)]
pub struct TransferRequestIn {
    pub consumer_pid: String,
    pub agreement_id: String,
    pub format: String,
    /// Push: the consumer's endpoint and the token to present there.
    pub push_endpoint: Option<(String, Option<String>)>,
    pub callback_address: String,
}

/// A transfer message after the edge has parsed it.
#[derive(Debug, Clone)]
pub struct TransferMessageIn {
    /// The receiving side's process id (from the path).
    pub own_pid: String,
    pub other_pid: String,
    pub message: TransferMessage,
    /// The pull address a provider's start carries: endpoint and token.
    pub address: Option<(String, Option<String>)>,
    pub reason: Option<String>,
}

/// The management API's request to start a transfer under an agreement this connector holds
/// as consumer.
#[derive(Debug, Clone)]
pub struct StartTransfer {
    /// The provider's DSP base URL.
    pub counter_party_address: String,
    pub agreement_id: String,
    pub mode: TransferMode,
}

impl Connector {
    async fn find_transfer(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        pid: &str,
    ) -> Result<Transfer, EngineError> {
        let which = match role {
            Role::Provider => Pid::Provider,
            Role::Consumer => Pid::Consumer,
        };
        match self.store().transfer_by_pid(role, which, pid).await? {
            Some(transfer) if transfer.counter_party_id == caller.participant_id() => Ok(transfer),
            _ => Err(EngineError::NotFound),
        }
    }

    pub(crate) async fn modify_transfer<T>(
        &self,
        id: &str,
        change: impl FnMut(&mut Transfer) -> Result<T, EngineError>,
    ) -> Result<(Transfer, T), EngineError> {
        self.modify_transfer_from(id, None, change).await
    }

    /// Like `modify_transfer`, starting from a copy the caller has just read, so the common
    /// case costs one write and no second read.
    pub(crate) async fn modify_transfer_from<T>(
        &self,
        id: &str,
        mut fresh: Option<Transfer>,
        mut change: impl FnMut(&mut Transfer) -> Result<T, EngineError>,
    ) -> Result<(Transfer, T), EngineError> {
        loop {
            let mut transfer = match fresh.take() {
                Some(record) => record,
                None => self
                    .store()
                    .transfer(id)
                    .await?
                    .ok_or(EngineError::NotFound)?,
            };
            let outcome = change(&mut transfer)?;
            match self.save_transfer(&mut transfer).await {
                Ok(()) => {
                    self.transfer_changed(&transfer);
                    return Ok((transfer, outcome));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Evaluates the agreement's policy for a use by `caller` now. Used when a transfer is
    /// requested and again on every data request.
    pub(crate) async fn check_agreement_policy(
        &self,
        caller_id: &str,
        attributes: &std::collections::BTreeMap<String, Vec<String>>,
        agreement_id: &str,
        use_count: Option<u64>,
    ) -> Result<(), EngineError> {
        let agreement = self.store().agreement(agreement_id).await?.ok_or_else(|| {
            EngineError::BadRequest(format!("agreement {agreement_id} is not known"))
        })?;
        let policy = Policy::from_json(&agreement.policy).map_err(|error| {
            tracing::error!(agreement = agreement_id, %error, "stored agreement cannot be read");
            EngineError::BadRequest(format!("agreement {agreement_id} cannot be enforced"))
        })?;
        let context = tsunagu_policy::EvaluationContext {
            now: chrono::Utc::now(),
            action: "use".to_owned(),
            counter_party_id: caller_id.to_owned(),
            counter_party_attributes: attributes.clone(),
            purpose: declared_purpose(&policy),
            agreement_signed_at: chrono::DateTime::from_timestamp_millis(agreement.signed_at_ms),
            use_count,
        };
        match policy.evaluate(&context) {
            Decision::Permit { .. } => Ok(()),
            Decision::Deny { reasons } => {
                tracing::info!(
                    agreement = agreement_id,
                    caller = caller_id,
                    ?reasons,
                    "agreement policy refuses use"
                );
                Err(EngineError::BadRequest(format!(
                    "the policy of agreement {agreement_id} does not permit this use: {}",
                    reasons.join("; ")
                )))
            }
        }
    }

    /// How many deliveries have been made under an agreement, over all its transfers: the
    /// `count` an ODRL policy limits is the agreement's, not one transfer's.
    pub(crate) async fn uses_of_agreement(&self, agreement_id: &str) -> Result<u64, EngineError> {
        Ok(self
            .store()
            .transfers_under_agreement(agreement_id)
            .await?
            .iter()
            .filter(|t| t.role == Role::Provider)
            .map(|t| t.deliveries)
            .sum())
    }

    /// Provider: `POST /transfers/request`. Idempotent on the consumer's process id: a repeat
    /// is answered with the transfer the first request created. Returns the transfer and the
    /// state to acknowledge.
    pub async fn on_transfer_request(
        &self,
        caller: &VerifiedCaller,
        request: TransferRequestIn,
    ) -> Result<(Transfer, TransferState), EngineError> {
        if !self.admits(caller) {
            return Err(EngineError::NotFound);
        }
        if let Some(existing) = self
            .store()
            .transfer_by_pid(Role::Provider, Pid::Consumer, &request.consumer_pid)
            .await?
            .filter(|t| t.counter_party_id == caller.participant_id())
        {
            let state = existing.state;
            return Ok((existing, state));
        }
        let agreement = self
            .store()
            .agreement(&request.agreement_id)
            .await?
            .filter(|a| {
                a.provider_id == self.participant_id() && a.consumer_id == caller.participant_id()
            })
            .ok_or_else(|| {
                EngineError::BadRequest(format!("agreement {} is not known", request.agreement_id))
            })?;
        let finalized = self
            .store()
            .negotiation(&agreement.negotiation_id)
            .await?
            .is_some_and(|n| n.state == NegotiationState::Finalized);
        if !finalized {
            return Err(EngineError::BadRequest(format!(
                "agreement {} is not finalized",
                request.agreement_id
            )));
        }
        let mode = TransferMode::from_format(&request.format).ok_or_else(|| {
            EngineError::BadRequest(format!(
                "format {} is not offered; use {} or {}",
                request.format,
                TransferMode::PULL_FORMAT,
                TransferMode::PUSH_FORMAT
            ))
        })?;
        let (endpoint, endpoint_token) = match (mode, request.push_endpoint) {
            (TransferMode::Push, Some((endpoint, token))) => (Some(endpoint), token),
            (TransferMode::Push, None) => {
                return Err(EngineError::BadRequest(
                    "a push transfer needs a dataAddress".into(),
                ));
            }
            (TransferMode::Pull, Some(_)) => {
                return Err(EngineError::BadRequest(
                    "dataAddress must only be given for push transfers".into(),
                ));
            }
            (TransferMode::Pull, None) => (None, None),
        };
        if let Some(endpoint) = &endpoint
            && !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        {
            return Err(EngineError::BadRequest(format!(
                "dataAddress.endpoint {endpoint:?} is not an http(s) URL"
            )));
        }
        if !(request.callback_address.starts_with("https://")
            || request.callback_address.starts_with("http://"))
        {
            return Err(EngineError::BadRequest(format!(
                "callbackAddress {:?} is not understood",
                request.callback_address
            )));
        }
        self.check_agreement_policy(
            caller.participant_id(),
            caller.attributes(),
            &agreement.id,
            None,
        )
        .await?;
        let now = now_ms();
        let mut transfer = Transfer::requested_by_consumer(
            NewTransfer {
                id: new_id(),
                agreement_id: agreement.id.clone(),
                dataset_id: agreement.dataset_id.clone(),
                mode,
                counter_party_id: caller.participant_id().to_owned(),
                counter_party_address: request.callback_address,
                endpoint,
                endpoint_token,
                now_ms: now,
            },
            request.consumer_pid,
        );
        transfer.counter_party_attributes = caller.attributes().clone();
        transfer.send(TransferAction::SendStart, now)?;
        match self.store().insert_transfer(&mut transfer).await? {
            TransferInsert::Inserted => {
                self.inner.transfer_work.notify_one();
                self.transfer_changed(&transfer);
                Ok((transfer, TransferState::Requested))
            }
            TransferInsert::Existing(existing) => {
                let state = existing.state;
                Ok((*existing, state))
            }
        }
    }

    /// `POST .../transfers/:pid/{start,suspension,completion,termination}` at either side.
    /// `role` is the receiving side.
    pub async fn on_transfer_message(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        incoming: TransferMessageIn,
    ) -> Result<Transfer, EngineError> {
        let TransferMessageIn {
            own_pid,
            other_pid,
            message,
            address,
            reason,
        } = incoming;
        let own_pid = own_pid.as_str();
        let existing = self.find_transfer(caller, role, own_pid).await?;
        let now = now_ms();
        let lifetime_ms = self.settings().token_lifetime.as_millis() as i64;
        let other_pid = other_pid.to_owned();
        let (transfer, ()) = self
            .modify_transfer_from(&existing.id, Some(existing.clone()), |transfer| {
                let other = match role {
                    Role::Provider => &mut transfer.consumer_pid,
                    Role::Consumer => &mut transfer.provider_pid,
                };
                check_or_adopt(other, &other_pid, "process id")?;
                if transfer.is_repeat(message) {
                    // A repeated start may carry a fresh address: the latest one counts.
                    if message == TransferMessage::Start
                        && role == Role::Consumer
                        && let Some((endpoint, token)) = &address
                    {
                        transfer.endpoint = Some(endpoint.clone());
                        transfer.endpoint_token = token.clone();
                    }
                    return Ok(());
                }
                transfer.receive(message, now)?;
                match message {
                    TransferMessage::Start if role == Role::Consumer => {
                        if let Some((endpoint, token)) = &address {
                            transfer.endpoint = Some(endpoint.clone());
                            transfer.endpoint_token = token.clone();
                        } else if transfer.mode == TransferMode::Pull && transfer.endpoint.is_none()
                        {
                            return Err(EngineError::BadRequest(
                                "a pull transfer's start must carry a dataAddress".into(),
                            ));
                        }
                    }
                    TransferMessage::Start => {
                        // The consumer resumes: the token it holds works again, for a fresh
                        // lifetime.
                        if transfer.token_sha256.is_some() {
                            transfer.token_expires_at_ms = Some(now + lifetime_ms);
                        }
                    }
                    TransferMessage::Termination | TransferMessage::Suspension => {
                        if let Some(reason) = &reason {
                            transfer.error =
                                Some(format!("{} by the counter-party: {reason}", message.name()));
                        }
                    }
                    TransferMessage::Completion => {}
                }
                Ok(())
            })
            .await?;
        Ok(transfer)
    }

    pub async fn transfer_for(
        &self,
        caller: &VerifiedCaller,
        role: Role,
        pid: &str,
    ) -> Result<Transfer, EngineError> {
        self.find_transfer(caller, role, pid).await
    }

    // ----- management -----

    /// Consumer: starts a transfer under an agreement this connector holds.
    pub async fn start_transfer(&self, start: StartTransfer) -> Result<Transfer, EngineError> {
        let agreement = self
            .store()
            .agreement(&start.agreement_id)
            .await?
            .filter(|a| a.consumer_id == self.participant_id())
            .ok_or_else(|| {
                EngineError::BadRequest(format!("agreement {} is not known", start.agreement_id))
            })?;
        let finalized = self
            .store()
            .negotiation(&agreement.negotiation_id)
            .await?
            .is_some_and(|n| n.state == NegotiationState::Finalized);
        if !finalized {
            return Err(EngineError::BadRequest(format!(
                "agreement {} is not finalized yet",
                start.agreement_id
            )));
        }
        let id = new_id();
        let (endpoint, token) = match start.mode {
            TransferMode::Pull => (None, None),
            TransferMode::Push => {
                let token = crate::dataplane::new_token();
                (
                    Some(format!(
                        "{}/inbox/{}",
                        self.settings().data_url.trim_end_matches('/'),
                        id
                    )),
                    Some(token),
                )
            }
        };
        let mut transfer = Transfer::start_as_consumer(NewTransfer {
            id,
            agreement_id: agreement.id,
            dataset_id: agreement.dataset_id,
            mode: start.mode,
            counter_party_id: agreement.provider_id,
            counter_party_address: start.counter_party_address,
            endpoint,
            endpoint_token: token.clone(),
            now_ms: now_ms(),
        });
        transfer.token_sha256 = token.as_deref().map(crate::dataplane::token_digest);
        self.store().insert_transfer(&mut transfer).await?;
        self.inner.transfer_work.notify_one();
        self.transfer_changed(&transfer);
        Ok(transfer)
    }

    /// Either side: sends suspension, completion, termination, or (consumer) resumption.
    pub async fn act_on_transfer(
        &self,
        id: &str,
        action: TransferAction,
    ) -> Result<Transfer, EngineError> {
        if matches!(action, TransferAction::SendRequest | TransferAction::Push) {
            return Err(EngineError::BadRequest(
                "that action is not for the management API".into(),
            ));
        }
        let now = now_ms();
        let (transfer, ()) = self
            .modify_transfer(id, |transfer| {
                transfer.send(action.clone(), now)?;
                Ok(())
            })
            .await?;
        Ok(transfer)
    }

    pub async fn transfer(&self, id: &str) -> Result<Transfer, EngineError> {
        self.store()
            .transfer(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn transfers(&self, page: Page) -> Result<Vec<Transfer>, EngineError> {
        Ok(self.store().transfers(page).await?)
    }
}
