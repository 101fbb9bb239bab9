use serde::{Deserialize, Serialize};

use crate::{IllegalTransition, Pending, Role};

/// The states of a transfer process (DSP 2025-1, transfer process protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferState {
    Requested,
    Started,
    Suspended,
    Completed,
    Terminated,
}

pub(crate) const ALL_TRANSFER_STATES: [TransferState; 5] = [
    TransferState::Requested,
    TransferState::Started,
    TransferState::Suspended,
    TransferState::Completed,
    TransferState::Terminated,
];

impl TransferState {
    pub fn is_terminal(self) -> bool {
        matches!(self, TransferState::Completed | TransferState::Terminated)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Requested => "REQUESTED",
            TransferState::Started => "STARTED",
            TransferState::Suspended => "SUSPENDED",
            TransferState::Completed => "COMPLETED",
            TransferState::Terminated => "TERMINATED",
        }
    }

    pub fn parse(text: &str) -> Option<TransferState> {
        ALL_TRANSFER_STATES
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

impl std::fmt::Display for TransferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferMessage {
    Start,
    Suspension,
    Completion,
    Termination,
}

impl TransferMessage {
    pub fn name(self) -> &'static str {
        match self {
            TransferMessage::Start => "TransferStartMessage",
            TransferMessage::Suspension => "TransferSuspensionMessage",
            TransferMessage::Completion => "TransferCompletionMessage",
            TransferMessage::Termination => "TransferTerminationMessage",
        }
    }
}

/// The transfer state machine as one table (the initial `TransferRequestMessage` creates the
/// process in `REQUESTED`). A consumer may restart only a suspended transfer; only the provider
/// starts a requested one.
pub fn transfer_transition(
    state: TransferState,
    message: TransferMessage,
    sender: Role,
) -> Result<TransferState, IllegalTransition> {
    use TransferMessage as M;
    use TransferState as S;
    let next = match (message, sender, state) {
        (M::Start, Role::Provider, S::Requested | S::Suspended) => Some(S::Started),
        (M::Start, Role::Consumer, S::Suspended) => Some(S::Started),
        (M::Suspension, _, S::Started) => Some(S::Suspended),
        (M::Completion, _, S::Started) => Some(S::Completed),
        (M::Termination, _, S::Requested | S::Started | S::Suspended) => Some(S::Terminated),
        _ => None,
    };
    next.ok_or_else(|| IllegalTransition {
        message: format!("{} from the {}", message.name(), sender.as_str()),
        state: state.as_str().to_owned(),
    })
}

/// How data moves once a transfer has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    /// The consumer fetches from the provider's data plane with a token.
    Pull,
    /// The provider delivers to an address the consumer named.
    Push,
}

impl TransferMode {
    /// The DCAT distribution formats tsunagu offers, named as Tractus-X EDC names them.
    pub const PULL_FORMAT: &'static str = "HttpData-PULL";
    pub const PUSH_FORMAT: &'static str = "HttpData-PUSH";

    pub fn from_format(format: &str) -> Option<TransferMode> {
        match format {
            Self::PULL_FORMAT => Some(TransferMode::Pull),
            Self::PUSH_FORMAT => Some(TransferMode::Push),
            _ => None,
        }
    }

    pub fn format(self) -> &'static str {
        match self {
            TransferMode::Pull => Self::PULL_FORMAT,
            TransferMode::Push => Self::PUSH_FORMAT,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransferAction {
    SendRequest,
    /// Provider: send `TransferStartMessage` (with a pull address when pulling). Consumer:
    /// resume a suspended transfer.
    SendStart,
    /// Provider, push mode: deliver the data to the consumer's address, then send completion.
    Push,
    SendSuspension {
        code: String,
        reason: String,
    },
    SendCompletion,
    SendTermination {
        code: String,
        reason: String,
    },
}

impl TransferAction {
    /// The protocol message this action sends, if it is one (the initial request and the push
    /// delivery are not transitions of an existing process).
    pub fn message(&self) -> Option<TransferMessage> {
        match self {
            TransferAction::SendRequest | TransferAction::Push => None,
            TransferAction::SendStart => Some(TransferMessage::Start),
            TransferAction::SendSuspension { .. } => Some(TransferMessage::Suspension),
            TransferAction::SendCompletion => Some(TransferMessage::Completion),
            TransferAction::SendTermination { .. } => Some(TransferMessage::Termination),
        }
    }
}

/// One transfer process as this connector sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: String,
    pub role: Role,
    pub provider_pid: Option<String>,
    pub consumer_pid: Option<String>,
    pub agreement_id: String,
    pub dataset_id: String,
    pub mode: TransferMode,
    pub counter_party_id: String,
    /// The counter-party's attributes as authenticated when it asked for the transfer; the
    /// agreement's policy is evaluated against them on every data request.
    #[serde(default)]
    pub counter_party_attributes: std::collections::BTreeMap<String, Vec<String>>,
    pub counter_party_address: String,
    pub state: TransferState,
    /// Consumer, pull: where to fetch and the token to present (a secret). Provider, push:
    /// where to deliver and the token the consumer asked for.
    pub endpoint: Option<String>,
    pub endpoint_token: Option<String>,
    /// Provider, pull: SHA-256 (hex) of the token handed out, and when it stops working.
    pub token_sha256: Option<String>,
    pub token_expires_at_ms: Option<i64>,
    /// Data deliveries made under this transfer (the ODRL `count` operand counts them).
    pub deliveries: u64,
    pub pending: Option<Pending<TransferAction>>,
    pub error: Option<String>,
    pub action_seq: u64,
    /// The last message applied from the counter-party, to recognise a repeat of it.
    #[serde(default)]
    pub last_received: Option<TransferMessage>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    #[serde(skip)]
    pub version: i64,
}

/// The facts that start a transfer.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub id: String,
    pub agreement_id: String,
    pub dataset_id: String,
    pub mode: TransferMode,
    pub counter_party_id: String,
    pub counter_party_address: String,
    /// Push: the consumer's delivery address and token.
    pub endpoint: Option<String>,
    pub endpoint_token: Option<String>,
    pub now_ms: i64,
}

impl Transfer {
    fn blank(role: Role, facts: NewTransfer) -> Self {
        Transfer {
            id: facts.id,
            role,
            provider_pid: None,
            consumer_pid: None,
            agreement_id: facts.agreement_id,
            dataset_id: facts.dataset_id,
            mode: facts.mode,
            counter_party_id: facts.counter_party_id,
            counter_party_attributes: Default::default(),
            counter_party_address: facts.counter_party_address,
            state: TransferState::Requested,
            endpoint: facts.endpoint,
            endpoint_token: facts.endpoint_token,
            token_sha256: None,
            token_expires_at_ms: None,
            deliveries: 0,
            pending: None,
            error: None,
            action_seq: 0,
            last_received: None,
            created_at_ms: facts.now_ms,
            updated_at_ms: facts.now_ms,
            version: 0,
        }
    }

    /// A consumer asks for a transfer: it will send `TransferRequestMessage`.
    pub fn start_as_consumer(facts: NewTransfer) -> Self {
        let now = facts.now_ms;
        let mut transfer = Self::blank(Role::Consumer, facts);
        transfer.consumer_pid = Some(transfer.id.clone());
        transfer.queue(TransferAction::SendRequest, now);
        transfer
    }

    /// A provider receives `TransferRequestMessage`.
    pub fn requested_by_consumer(facts: NewTransfer, consumer_pid: String) -> Self {
        let mut transfer = Self::blank(Role::Provider, facts);
        transfer.provider_pid = Some(transfer.id.clone());
        transfer.consumer_pid = Some(consumer_pid);
        transfer
    }

    pub fn receive(
        &mut self,
        message: TransferMessage,
        now_ms: i64,
    ) -> Result<TransferState, IllegalTransition> {
        let next = transfer_transition(self.state, message, self.role.other())?;
        self.state = next;
        self.updated_at_ms = now_ms;
        self.last_received = Some(message);
        if next.is_terminal() || next == TransferState::Suspended {
            // Whatever we owed (a push in flight, a start) is void once the partner stops it.
            self.pending = None;
        } else if let Some(pending) = &self.pending
            && let Some(owed) = pending.action.message()
            && transfer_transition(next, owed, self.role).is_err()
        {
            self.pending = None;
        }
        Ok(next)
    }

    /// Whether `message` repeats the last one applied (see `Negotiation::is_repeat`).
    pub fn is_repeat(&self, message: TransferMessage) -> bool {
        self.last_received == Some(message)
            && transfer_transition(self.state, message, self.role.other()).is_err()
    }

    /// Checks a message this side wants to send, moves the state and queues it (see
    /// `Negotiation::send` for why the state moves before the acknowledgement).
    pub fn send(
        &mut self,
        action: TransferAction,
        now_ms: i64,
    ) -> Result<TransferState, IllegalTransition> {
        let next = match action.message() {
            Some(message) => {
                let next = transfer_transition(self.state, message, self.role)?;
                self.state = next;
                next
            }
            None => self.state,
        };
        self.queue(action, now_ms);
        Ok(next)
    }

    fn queue(&mut self, action: TransferAction, now_ms: i64) {
        self.action_seq += 1;
        self.pending = Some(Pending {
            action,
            seq: self.action_seq,
            attempts: 0,
            not_before_ms: now_ms,
        });
        self.updated_at_ms = now_ms;
    }

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
            // A finished transfer stays finished (see `Negotiation::delivery_failed`).
            if !self.state.is_terminal() {
                self.state = TransferState::Terminated;
            }
            self.error = Some(format!("delivery to the counter-party failed: {reason}"));
        } else {
            pending.not_before_ms = now_ms + crate::retry_delay_ms(pending.attempts);
        }
        self.updated_at_ms = now_ms;
        true
    }

    /// Whether the provider's data plane may serve data for this transfer right now.
    pub fn may_serve(&self, now_ms: i64) -> bool {
        self.role == Role::Provider
            && self.state == TransferState::Started
            && self
                .token_expires_at_ms
                .is_some_and(|expiry| now_ms < expiry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransferMessage as M;

    #[test]
    fn transition_table_matches_the_protocol_figure() {
        let mut allowed = Vec::new();
        for message in [M::Start, M::Suspension, M::Completion, M::Termination] {
            for sender in [Role::Consumer, Role::Provider] {
                for state in ALL_TRANSFER_STATES {
                    if let Ok(next) = transfer_transition(state, message, sender) {
                        allowed.push(format!("{state} --{message:?}/{sender:?}--> {next}"));
                    }
                }
            }
        }
        assert_eq!(
            allowed,
            [
                "SUSPENDED --Start/Consumer--> STARTED",
                "REQUESTED --Start/Provider--> STARTED",
                "SUSPENDED --Start/Provider--> STARTED",
                "STARTED --Suspension/Consumer--> SUSPENDED",
                "STARTED --Suspension/Provider--> SUSPENDED",
                "STARTED --Completion/Consumer--> COMPLETED",
                "STARTED --Completion/Provider--> COMPLETED",
                "REQUESTED --Termination/Consumer--> TERMINATED",
                "STARTED --Termination/Consumer--> TERMINATED",
                "SUSPENDED --Termination/Consumer--> TERMINATED",
                "REQUESTED --Termination/Provider--> TERMINATED",
                "STARTED --Termination/Provider--> TERMINATED",
                "SUSPENDED --Termination/Provider--> TERMINATED",
            ]
        );
    }

    #[test]
    fn data_is_served_only_while_started_and_the_token_is_fresh() {
        let mut transfer = Transfer::requested_by_consumer(
            NewTransfer {
                id: "p1".into(),
                agreement_id: "a1".into(),
                dataset_id: "d1".into(),
                mode: TransferMode::Pull,
                counter_party_id: "c".into(),
                counter_party_address: "http://127.0.0.1:1/cb".into(),
                endpoint: None,
                endpoint_token: None,
                now_ms: 0,
            },
            "c1".into(),
        );
        transfer.token_expires_at_ms = Some(100);
        assert!(!transfer.may_serve(1));
        transfer.send(TransferAction::SendStart, 1).unwrap();
        assert!(transfer.may_serve(2));
        assert!(!transfer.may_serve(100));
        transfer.receive(M::Suspension, 3).unwrap();
        assert!(!transfer.may_serve(4));
    }
}
