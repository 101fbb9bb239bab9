use serde::{Deserialize, Serialize};

use crate::{IllegalTransition, Pending, Role};

/// The states of a contract negotiation (DSP 2025-1, contract negotiation protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NegotiationState {
    Requested,
    Offered,
    Accepted,
    Agreed,
    Verified,
    Finalized,
    Terminated,
}

impl NegotiationState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            NegotiationState::Finalized | NegotiationState::Terminated
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NegotiationState::Requested => "REQUESTED",
            NegotiationState::Offered => "OFFERED",
            NegotiationState::Accepted => "ACCEPTED",
            NegotiationState::Agreed => "AGREED",
            NegotiationState::Verified => "VERIFIED",
            NegotiationState::Finalized => "FINALIZED",
            NegotiationState::Terminated => "TERMINATED",
        }
    }

    pub fn parse(text: &str) -> Option<NegotiationState> {
        ALL_NEGOTIATION_STATES
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

pub(crate) const ALL_NEGOTIATION_STATES: [NegotiationState; 7] = [
    NegotiationState::Requested,
    NegotiationState::Offered,
    NegotiationState::Accepted,
    NegotiationState::Agreed,
    NegotiationState::Verified,
    NegotiationState::Finalized,
    NegotiationState::Terminated,
];

impl std::fmt::Display for NegotiationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The messages that move a negotiation, without their payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NegotiationMessage {
    /// `ContractRequestMessage` that answers an offer (the initial one creates the negotiation).
    Request,
    /// `ContractOfferMessage` that answers a request (the initial one creates the negotiation).
    Offer,
    /// `ContractNegotiationEventMessage` with `ACCEPTED`.
    Accepted,
    Agreement,
    Verification,
    /// `ContractNegotiationEventMessage` with `FINALIZED`.
    Finalized,
    Termination,
}

impl NegotiationMessage {
    pub fn name(self) -> &'static str {
        match self {
            NegotiationMessage::Request => "ContractRequestMessage",
            NegotiationMessage::Offer => "ContractOfferMessage",
            NegotiationMessage::Accepted => "ContractNegotiationEventMessage ACCEPTED",
            NegotiationMessage::Agreement => "ContractAgreementMessage",
            NegotiationMessage::Verification => "ContractAgreementVerificationMessage",
            NegotiationMessage::Finalized => "ContractNegotiationEventMessage FINALIZED",
            NegotiationMessage::Termination => "ContractNegotiationTerminationMessage",
        }
    }
}

/// The state machine of the protocol as one table: which message, sent by whom, moves which
/// states where. Both the receiving side (on arrival) and the sending side (when it queues the
/// message) consult it, so both parties agree on the state.
///
/// Termination is allowed from every non-terminal state by either party: the protocol text says
/// the termination message "MAY be sent at any state of a Contract Negotiation".
pub fn negotiation_transition(
    state: NegotiationState,
    message: NegotiationMessage,
    sender: Role,
) -> Result<NegotiationState, IllegalTransition> {
    use NegotiationMessage as M;
    use NegotiationState as S;
    let next = match (message, sender, state) {
        (M::Request, Role::Consumer, S::Offered) => Some(S::Requested),
        (M::Offer, Role::Provider, S::Requested) => Some(S::Offered),
        (M::Accepted, Role::Consumer, S::Offered) => Some(S::Accepted),
        (M::Agreement, Role::Provider, S::Requested | S::Accepted) => Some(S::Agreed),
        (M::Verification, Role::Consumer, S::Agreed) => Some(S::Verified),
        (M::Finalized, Role::Provider, S::Verified) => Some(S::Finalized),
        (M::Termination, _, state) if !state.is_terminal() => Some(S::Terminated),
        _ => None,
    };
    next.ok_or_else(|| IllegalTransition {
        message: format!("{} from the {}", message.name(), sender.as_str()),
        state: state.as_str().to_owned(),
    })
}

/// What this connector still has to tell its counter-party about a negotiation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NegotiationAction {
    SendRequest,
    SendOffer,
    SendAccepted,
    SendAgreement,
    SendVerification,
    SendFinalized,
    SendTermination { code: String, reason: String },
}

impl NegotiationAction {
    pub fn message(&self) -> NegotiationMessage {
        match self {
            NegotiationAction::SendRequest => NegotiationMessage::Request,
            NegotiationAction::SendOffer => NegotiationMessage::Offer,
            NegotiationAction::SendAccepted => NegotiationMessage::Accepted,
            NegotiationAction::SendAgreement => NegotiationMessage::Agreement,
            NegotiationAction::SendVerification => NegotiationMessage::Verification,
            NegotiationAction::SendFinalized => NegotiationMessage::Finalized,
            NegotiationAction::SendTermination { .. } => NegotiationMessage::Termination,
        }
    }
}

/// A finalised (or about to be) contract between the two parties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: String,
    pub negotiation_id: String,
    pub dataset_id: String,
    pub provider_id: String,
    pub consumer_id: String,
    /// The ODRL agreement object exactly as the provider sent it.
    pub policy: serde_json::Value,
    pub signed_at_ms: i64,
    /// The provider's JWS over the agreement (see `engine::signatures`), when it signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_signature: Option<String>,
    /// The consumer's JWS over the agreement, when it signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_signature: Option<String>,
}

/// One contract negotiation as this connector sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Negotiation {
    /// Local identifier used by the management API (equal to this side's process id).
    pub id: String,
    pub role: Role,
    pub provider_pid: Option<String>,
    pub consumer_pid: Option<String>,
    /// The counter-party's participant identifier, as authenticated.
    pub counter_party_id: String,
    /// Where messages to the counter-party go: the provider's DSP base URL, or the consumer's
    /// callback address.
    pub counter_party_address: String,
    pub dataset_id: String,
    pub state: NegotiationState,
    /// The latest offer (ODRL JSON) and who made it.
    pub offer: serde_json::Value,
    pub offer_by: Role,
    pub agreement: Option<Agreement>,
    pub pending: Option<Pending<NegotiationAction>>,
    /// Why the negotiation was terminated, when it was.
    pub error: Option<String>,
    /// Counter of actions ever queued; the next `Pending::seq`.
    pub action_seq: u64,
    /// The last message applied from the counter-party, to recognise a repeat of it.
    #[serde(default)]
    pub last_received: Option<NegotiationMessage>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Optimistic-concurrency version, owned by the store.
    #[serde(skip)]
    pub version: i64,
}

/// The facts that start a negotiation, whichever side starts it.
#[derive(Debug, Clone)]
pub struct NewNegotiation {
    pub id: String,
    pub counter_party_id: String,
    pub counter_party_address: String,
    pub dataset_id: String,
    pub offer: serde_json::Value,
    pub now_ms: i64,
}

impl Negotiation {
    fn blank(role: Role, state: NegotiationState, facts: NewNegotiation, offer_by: Role) -> Self {
        Negotiation {
            id: facts.id,
            role,
            provider_pid: None,
            consumer_pid: None,
            counter_party_id: facts.counter_party_id,
            counter_party_address: facts.counter_party_address,
            dataset_id: facts.dataset_id,
            state,
            offer: facts.offer,
            offer_by,
            agreement: None,
            pending: None,
            error: None,
            action_seq: 0,
            last_received: None,
            created_at_ms: facts.now_ms,
            updated_at_ms: facts.now_ms,
            version: 0,
        }
    }

    /// A consumer starts a negotiation: it will send the initial `ContractRequestMessage`.
    pub fn start_as_consumer(facts: NewNegotiation) -> Self {
        let now = facts.now_ms;
        let mut negotiation = Self::blank(
            Role::Consumer,
            NegotiationState::Requested,
            facts,
            Role::Consumer,
        );
        negotiation.consumer_pid = Some(negotiation.id.clone());
        negotiation.queue(NegotiationAction::SendRequest, now);
        negotiation
    }

    /// A provider receives an initial `ContractRequestMessage`.
    pub fn requested_by_consumer(facts: NewNegotiation, consumer_pid: String) -> Self {
        let mut negotiation = Self::blank(
            Role::Provider,
            NegotiationState::Requested,
            facts,
            Role::Consumer,
        );
        negotiation.provider_pid = Some(negotiation.id.clone());
        negotiation.consumer_pid = Some(consumer_pid);
        negotiation
    }

    /// A provider starts a negotiation: it will send the initial `ContractOfferMessage`.
    pub fn start_as_provider(facts: NewNegotiation) -> Self {
        let now = facts.now_ms;
        let mut negotiation = Self::blank(
            Role::Provider,
            NegotiationState::Offered,
            facts,
            Role::Provider,
        );
        negotiation.provider_pid = Some(negotiation.id.clone());
        negotiation.queue(NegotiationAction::SendOffer, now);
        negotiation
    }

    /// A consumer receives an initial `ContractOfferMessage`.
    pub fn offered_by_provider(facts: NewNegotiation, provider_pid: String) -> Self {
        let mut negotiation = Self::blank(
            Role::Consumer,
            NegotiationState::Offered,
            facts,
            Role::Provider,
        );
        negotiation.consumer_pid = Some(negotiation.id.clone());
        negotiation.provider_pid = Some(provider_pid);
        negotiation
    }

    /// This side's process id.
    pub fn own_pid(&self) -> &str {
        &self.id
    }

    /// Checks and applies a message from the counter-party. The caller stores the payload
    /// (offer, agreement) after this succeeds.
    pub fn receive(
        &mut self,
        message: NegotiationMessage,
        now_ms: i64,
    ) -> Result<NegotiationState, IllegalTransition> {
        let next = negotiation_transition(self.state, message, self.role.other())?;
        self.state = next;
        self.updated_at_ms = now_ms;
        self.last_received = Some(message);
        // A pending message the new state no longer allows is void: the counter-party has
        // moved past it (e.g. a FINALIZED event proves our verification arrived), or has
        // ended the negotiation.
        if let Some(pending) = &self.pending
            && negotiation_transition(next, pending.action.message(), self.role).is_err()
        {
            self.pending = None;
        }
        Ok(next)
    }

    /// Whether `message` from the counter-party is a repeat of the last one applied (its
    /// acknowledgement was lost, or its sender crashed before recording it). A repeat is
    /// answered with the current state and changes nothing; messages are delivered at least
    /// once, so receivers must be idempotent.
    pub fn is_repeat(&self, message: NegotiationMessage) -> bool {
        self.last_received == Some(message)
            && negotiation_transition(self.state, message, self.role.other()).is_err()
    }

    /// Checks a message this side wants to send, moves to the state it leads to and queues it
    /// for delivery. The state moves now so that the counter-party's prompt answer (which may
    /// arrive before our worker hears the acknowledgement) finds the negotiation where the
    /// protocol expects it; a failed delivery terminates the negotiation.
    pub fn send(
        &mut self,
        action: NegotiationAction,
        now_ms: i64,
    ) -> Result<NegotiationState, IllegalTransition> {
        let next = negotiation_transition(self.state, action.message(), self.role)?;
        self.state = next;
        self.queue(action, now_ms);
        Ok(next)
    }

    fn queue(&mut self, action: NegotiationAction, now_ms: i64) {
        self.action_seq += 1;
        self.pending = Some(Pending {
            action,
            seq: self.action_seq,
            attempts: 0,
            not_before_ms: now_ms,
        });
        self.updated_at_ms = now_ms;
    }

    /// The counter-party acknowledged the action numbered `seq`: clear it if it is still the
    /// pending one. Returns whether anything changed.
    pub fn delivered(&mut self, seq: u64, now_ms: i64) -> bool {
        match &self.pending {
            Some(pending) if pending.seq == seq => {
                self.pending = None;
                self.updated_at_ms = now_ms;
                true
            }
            _ => false,
        }
    }

    /// Delivery of action `seq` failed. Schedules a retry, or gives up and terminates when the
    /// failure is permanent or attempts are exhausted. Returns whether anything changed.
    pub fn delivery_failed(
        &mut self,
        seq: u64,
        reason: &str,
        permanent: bool,
        now_ms: i64,
    ) -> bool {
        let Some(pending) = &mut self.pending else {
            return false;
        };
        if pending.seq != seq {
            return false;
        }
        pending.attempts += 1;
        if permanent || pending.attempts >= crate::MAX_DELIVERY_ATTEMPTS {
            self.pending = None;
            // A finished negotiation stays finished: a message that failed after the end
            // (a late repeat) changes nothing the parties agreed.
            if !self.state.is_terminal() {
                self.state = NegotiationState::Terminated;
            }
            self.error = Some(format!("delivery to the counter-party failed: {reason}"));
        } else {
            pending.not_before_ms = now_ms + crate::retry_delay_ms(pending.attempts);
        }
        self.updated_at_ms = now_ms;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NegotiationMessage as M;
    use NegotiationState as S;

    /// The whole table, written out: every (message, sender, state) triple and its outcome.
    #[test]
    fn transition_table_matches_the_protocol_figure() {
        let messages = [
            M::Request,
            M::Offer,
            M::Accepted,
            M::Agreement,
            M::Verification,
            M::Finalized,
            M::Termination,
        ];
        let mut allowed = Vec::new();
        for message in messages {
            for sender in [Role::Consumer, Role::Provider] {
                for state in ALL_NEGOTIATION_STATES {
                    if let Ok(next) = negotiation_transition(state, message, sender) {
                        allowed.push(format!("{state} --{message:?}/{sender:?}--> {next}"));
                    }
                }
            }
        }
        assert_eq!(
            allowed,
            [
                "OFFERED --Request/Consumer--> REQUESTED",
                "REQUESTED --Offer/Provider--> OFFERED",
                "OFFERED --Accepted/Consumer--> ACCEPTED",
                "REQUESTED --Agreement/Provider--> AGREED",
                "ACCEPTED --Agreement/Provider--> AGREED",
                "AGREED --Verification/Consumer--> VERIFIED",
                "VERIFIED --Finalized/Provider--> FINALIZED",
                "REQUESTED --Termination/Consumer--> TERMINATED",
                "OFFERED --Termination/Consumer--> TERMINATED",
                "ACCEPTED --Termination/Consumer--> TERMINATED",
                "AGREED --Termination/Consumer--> TERMINATED",
                "VERIFIED --Termination/Consumer--> TERMINATED",
                "REQUESTED --Termination/Provider--> TERMINATED",
                "OFFERED --Termination/Provider--> TERMINATED",
                "ACCEPTED --Termination/Provider--> TERMINATED",
                "AGREED --Termination/Provider--> TERMINATED",
                "VERIFIED --Termination/Provider--> TERMINATED",
            ]
        );
    }

    fn facts() -> NewNegotiation {
        NewNegotiation {
            id: "urn:uuid:c1".into(),
            counter_party_id: "did:web:provider".into(),
            counter_party_address: "http://127.0.0.1:1/dsp".into(),
            dataset_id: "asset-1".into(),
            offer: serde_json::json!({"@id": "offer-1"}),
            now_ms: 1,
        }
    }

    #[test]
    fn acknowledgement_clears_only_the_action_it_answers() {
        let mut negotiation = Negotiation::start_as_consumer(facts());
        let first = negotiation.pending.clone().unwrap().seq;
        negotiation.receive(M::Agreement, 2).unwrap();
        negotiation
            .send(NegotiationAction::SendVerification, 3)
            .unwrap();
        assert!(
            !negotiation.delivered(first, 4),
            "a stale ack must not clear the newer action"
        );
        let second = negotiation.pending.clone().unwrap().seq;
        assert!(negotiation.delivered(second, 5));
        assert_eq!(negotiation.state, S::Verified);
        assert!(negotiation.pending.is_none());
    }

    #[test]
    fn exhausted_delivery_terminates() {
        let mut negotiation = Negotiation::start_as_consumer(facts());
        let seq = negotiation.pending.clone().unwrap().seq;
        for attempt in 0..crate::MAX_DELIVERY_ATTEMPTS {
            assert!(negotiation.delivery_failed(seq, "connection refused", false, attempt as i64));
        }
        assert_eq!(negotiation.state, S::Terminated);
        assert!(negotiation.error.unwrap().contains("connection refused"));
    }

    #[test]
    fn terminal_states_accept_nothing() {
        let mut negotiation = Negotiation::start_as_consumer(facts());
        negotiation.receive(M::Termination, 2).unwrap();
        for message in [M::Agreement, M::Termination, M::Offer, M::Finalized] {
            assert!(negotiation.receive(message, 3).is_err());
        }
    }
}
