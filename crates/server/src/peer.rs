//! `HttpPeer`: the engine's outbound side over HTTP(S). It turns domain records into DSP wire
//! messages (the outbound half of the conversion whose inbound half is `dsp::convert`), and
//! carries data-plane bodies as streams.

use async_trait::async_trait;
use futures::TryStreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tsunagu_core::{Negotiation, NegotiationAction, Role, Transfer, TransferAction};
use tsunagu_engine::{ByteStream, NegotiationAck, OwnIdentity, Peer, PeerError, TransferAck};
use tsunagu_wire::{self as wire, NegotiationEventType};

use crate::auth::CallerIdentityHeaders;

/// Sends DSP messages and data over HTTP with one pooled client.
#[derive(Clone)]
pub struct HttpPeer {
    client: reqwest::Client,
    /// Development identity: the attributes this connector claims for itself, sent with the
    /// participant id to partners that run the development authenticator.
    dev_attributes: Option<String>,
}

impl HttpPeer {
    pub fn new(dev_attributes: Option<String>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()?;
        Ok(HttpPeer {
            client,
            dev_attributes,
        })
    }

    fn identify(
        &self,
        request: reqwest::RequestBuilder,
        own: &OwnIdentity,
    ) -> reqwest::RequestBuilder {
        let request = request.header(CallerIdentityHeaders::PARTICIPANT, &own.participant_id);
        match &self.dev_attributes {
            Some(attributes) => request.header(CallerIdentityHeaders::ATTRIBUTES, attributes),
            None => request,
        }
    }

    /// POSTs a DSP message and returns the answer's JSON (or `Null` for an empty answer).
    async fn post(&self, own: &OwnIdentity, url: String, body: Value) -> Result<Value, PeerError> {
        let request = self.identify(self.client.post(&url).json(&body), own);
        let response = request
            .send()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
        check_status(status, &url, &bytes)?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| PeerError::InvalidAnswer(format!("{url}: {error}")))
    }
}

fn check_status(status: StatusCode, url: &str, body: &[u8]) -> Result<(), PeerError> {
    if status.is_success() {
        return Ok(());
    }
    let detail = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
    if status.is_client_error() {
        Err(PeerError::Refused {
            status: status.as_u16(),
            detail: format!("{url}: {detail}"),
        })
    } else {
        Err(PeerError::Unreachable(format!(
            "{url}: status {status}: {detail}"
        )))
    }
}

fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn missing(what: &str) -> PeerError {
    PeerError::InvalidAnswer(format!("the counter-party's {what} is not known yet"))
}

fn to_value<T: serde::Serialize>(message: &T) -> Value {
    serde_json::to_value(message).expect("wire messages always serialise")
}

fn reason_list(reason: &str) -> Vec<Value> {
    vec![Value::String(reason.to_owned())]
}

/// The URL and body of the message `action` stands for.
fn negotiation_message(
    own: &OwnIdentity,
    n: &Negotiation,
    action: &NegotiationAction,
) -> Result<(String, Value), PeerError> {
    let address = &n.counter_party_address;
    let provider_pid = n.provider_pid.clone();
    let consumer_pid = n.consumer_pid.clone();
    let both = || -> Result<(String, String), PeerError> {
        Ok((
            provider_pid.clone().ok_or_else(|| missing("providerPid"))?,
            consumer_pid.clone().ok_or_else(|| missing("consumerPid"))?,
        ))
    };
    Ok(match action {
        NegotiationAction::SendRequest => {
            let initial = provider_pid.is_none();
            let message = wire::ContractRequestMessage {
                context: wire::context(),
                kind: wire::ContractRequestMessage::TYPE.into(),
                consumer_pid: n.id.clone(),
                provider_pid: provider_pid.clone(),
                offer: n.offer.clone(),
                callback_address: initial.then(|| own.callback_address.clone()),
            };
            let url = match &provider_pid {
                None => join(address, "negotiations/request"),
                Some(pid) => join(address, &format!("negotiations/{pid}/request")),
            };
            (url, to_value(&message))
        }
        NegotiationAction::SendOffer => {
            let initial = consumer_pid.is_none();
            let message = wire::ContractOfferMessage {
                context: wire::context(),
                kind: wire::ContractOfferMessage::TYPE.into(),
                provider_pid: n.id.clone(),
                consumer_pid: consumer_pid.clone(),
                offer: n.offer.clone(),
                callback_address: initial.then(|| own.callback_address.clone()),
            };
            let url = match &consumer_pid {
                None => join(address, "negotiations/offers"),
                Some(pid) => join(address, &format!("negotiations/{pid}/offers")),
            };
            (url, to_value(&message))
        }
        NegotiationAction::SendAccepted | NegotiationAction::SendFinalized => {
            let (provider_pid, consumer_pid) = both()?;
            let (event_type, url) = match action {
                NegotiationAction::SendAccepted => (
                    NegotiationEventType::Accepted,
                    join(address, &format!("negotiations/{provider_pid}/events")),
                ),
                _ => (
                    NegotiationEventType::Finalized,
                    join(address, &format!("negotiations/{consumer_pid}/events")),
                ),
            };
            let message = wire::ContractNegotiationEventMessage {
                context: wire::context(),
                kind: wire::ContractNegotiationEventMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
                event_type,
            };
            (url, to_value(&message))
        }
        NegotiationAction::SendAgreement => {
            let (provider_pid, consumer_pid) = both()?;
            let agreement = n
                .agreement
                .as_ref()
                .ok_or_else(|| PeerError::InvalidAnswer("no agreement to send".into()))?;
            let url = join(address, &format!("negotiations/{consumer_pid}/agreement"));
            let message = wire::ContractAgreementMessage {
                context: wire::context(),
                kind: wire::ContractAgreementMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
                agreement: agreement.policy.clone(),
            };
            (url, to_value(&message))
        }
        NegotiationAction::SendVerification => {
            let (provider_pid, consumer_pid) = both()?;
            let url = join(
                address,
                &format!("negotiations/{provider_pid}/agreement/verification"),
            );
            let message = wire::ContractAgreementVerificationMessage {
                context: wire::context(),
                kind: wire::ContractAgreementVerificationMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
            };
            (url, to_value(&message))
        }
        NegotiationAction::SendTermination { code, reason } => {
            let (provider_pid, consumer_pid) = both()?;
            let url = match n.role {
                Role::Consumer => {
                    join(address, &format!("negotiations/{provider_pid}/termination"))
                }
                Role::Provider => {
                    join(address, &format!("negotiations/{consumer_pid}/termination"))
                }
            };
            let message = wire::ContractNegotiationTerminationMessage {
                context: wire::context(),
                kind: wire::ContractNegotiationTerminationMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
                code: Some(code.clone()),
                reason: reason_list(reason),
            };
            (url, to_value(&message))
        }
    })
}

fn transfer_message(
    own: &OwnIdentity,
    t: &Transfer,
    action: &TransferAction,
    pull_address: Option<(&str, &str)>,
) -> Result<(String, Value), PeerError> {
    let address = &t.counter_party_address;
    if let TransferAction::SendRequest = action {
        let data_address = match (&t.endpoint, &t.endpoint_token) {
            (Some(endpoint), Some(token)) => Some(wire::DataAddress::http_bearer(
                endpoint.clone(),
                token.clone(),
            )),
            _ => None,
        };
        let message = wire::TransferRequestMessage {
            context: wire::context(),
            kind: wire::TransferRequestMessage::TYPE.into(),
            consumer_pid: t.id.clone(),
            agreement_id: t.agreement_id.clone(),
            format: t.mode.format().into(),
            data_address,
            callback_address: own.callback_address.clone(),
        };
        return Ok((join(address, "transfers/request"), to_value(&message)));
    }
    let provider_pid = t
        .provider_pid
        .clone()
        .ok_or_else(|| missing("providerPid"))?;
    let consumer_pid = t
        .consumer_pid
        .clone()
        .ok_or_else(|| missing("consumerPid"))?;
    let target = match t.role {
        Role::Consumer => join(address, &format!("transfers/{provider_pid}")),
        Role::Provider => join(address, &format!("transfers/{consumer_pid}")),
    };
    Ok(match action {
        TransferAction::SendStart => {
            let message = wire::TransferStartMessage {
                context: wire::context(),
                kind: wire::TransferStartMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
                data_address: pull_address.map(|(endpoint, token)| {
                    wire::DataAddress::http_bearer(endpoint.into(), token.into())
                }),
            };
            (format!("{target}/start"), to_value(&message))
        }
        TransferAction::SendCompletion => {
            let message = wire::TransferCompletionMessage {
                context: wire::context(),
                kind: wire::TransferCompletionMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
            };
            (format!("{target}/completion"), to_value(&message))
        }
        TransferAction::SendSuspension { code, reason } => {
            let message = wire::TransferSuspensionMessage {
                context: wire::context(),
                kind: wire::TransferSuspensionMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
                code: Some(code.clone()),
                reason: reason_list(reason),
            };
            (format!("{target}/suspension"), to_value(&message))
        }
        TransferAction::SendTermination { code, reason } => {
            let message = wire::TransferTerminationMessage {
                context: wire::context(),
                kind: wire::TransferTerminationMessage::TYPE.into(),
                provider_pid,
                consumer_pid,
                code: Some(code.clone()),
                reason: reason_list(reason),
            };
            (format!("{target}/termination"), to_value(&message))
        }
        TransferAction::SendRequest | TransferAction::Push => {
            return Err(PeerError::InvalidAnswer("not a protocol message".into()));
        }
    })
}

fn stream_of(response: reqwest::Response) -> ByteStream {
    Box::pin(response.bytes_stream().map_err(std::io::Error::other))
}

#[async_trait]
impl Peer for HttpPeer {
    async fn send_negotiation_message(
        &self,
        own: &OwnIdentity,
        negotiation: &Negotiation,
        action: &NegotiationAction,
    ) -> Result<NegotiationAck, PeerError> {
        let (url, body) = negotiation_message(own, negotiation, action)?;
        let answer = self.post(own, url, body).await?;
        let counter_party_pid = match negotiation.role {
            Role::Consumer => answer.get("providerPid"),
            Role::Provider => answer.get("consumerPid"),
        }
        .and_then(Value::as_str)
        .filter(|pid| !pid.is_empty())
        .map(str::to_owned);
        Ok(NegotiationAck { counter_party_pid })
    }

    async fn send_transfer_message(
        &self,
        own: &OwnIdentity,
        transfer: &Transfer,
        action: &TransferAction,
        pull_address: Option<(&str, &str)>,
    ) -> Result<TransferAck, PeerError> {
        let (url, body) = transfer_message(own, transfer, action, pull_address)?;
        let answer = self.post(own, url, body).await?;
        let counter_party_pid = match transfer.role {
            Role::Consumer => answer.get("providerPid"),
            Role::Provider => answer.get("consumerPid"),
        }
        .and_then(Value::as_str)
        .filter(|pid| !pid.is_empty())
        .map(str::to_owned);
        Ok(TransferAck { counter_party_pid })
    }

    async fn request_catalog(
        &self,
        own: &OwnIdentity,
        dsp_url: &str,
        request: Value,
    ) -> Result<(Value, Option<String>), PeerError> {
        let url = join(dsp_url, "catalog/request");
        let response = self
            .identify(self.client.post(&url).json(&request), own)
            .send()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
        let status = response.status();
        let next = response
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.contains("rel=\"next\""))
            .and_then(|value| {
                value
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
            })
            .map(|(link, _)| link.to_owned());
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
        check_status(status, &url, &bytes)?;
        let catalog = serde_json::from_slice(&bytes)
            .map_err(|error| PeerError::InvalidAnswer(format!("{url}: {error}")))?;
        Ok((catalog, next))
    }

    async fn pull(
        &self,
        endpoint: &str,
        token: &str,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        let response = self
            .client
            .get(endpoint)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{endpoint}: {error}")))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            check_status(status, endpoint, &body)?;
            return Err(PeerError::InvalidAnswer(format!(
                "{endpoint}: status {status}"
            )));
        }
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok((media_type, stream_of(response)))
    }

    async fn push(
        &self,
        endpoint: &str,
        token: Option<&str>,
        media_type: Option<&str>,
        body: ByteStream,
    ) -> Result<(), PeerError> {
        let mut request = self
            .client
            .post(endpoint)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(media_type) = media_type {
            request = request.header(reqwest::header::CONTENT_TYPE, media_type);
        }
        let response = request
            .send()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{endpoint}: {error}")))?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        check_status(status, endpoint, &body)
    }

    async fn fetch_source(
        &self,
        url: &str,
        auth_header: Option<(&str, &str)>,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        let mut request = self.client.get(url);
        if let Some((name, value)) = auth_header {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|error| PeerError::Unreachable(format!("source system: {error}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(PeerError::Unreachable(format!(
                "source system answered {status}"
            )));
        }
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok((media_type, stream_of(response)))
    }
}
