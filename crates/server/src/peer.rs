//! `HttpPeer`: the engine's outbound side over HTTP(S). It turns domain records into DSP wire
//! messages (the outbound half of the conversion whose inbound half is `dsp::convert`), and
//! carries data-plane bodies as streams.

use async_trait::async_trait;
use futures::TryStreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tsunagu_core::{Negotiation, NegotiationAction, Role, Transfer, TransferAction};
use tsunagu_engine::{
    AddCheckpointAnswer, ByteStream, NegotiationAck, OwnIdentity, Peer, PeerError, TransferAck,
};
use tsunagu_wire::{self as wire, NegotiationEventType};

use crate::auth::CallerIdentityHeaders;
use crate::identity::OutboundIdentity;

/// Sends DSP messages and data over HTTP with one pooled client.
#[derive(Clone)]
pub struct HttpPeer {
    client: reqwest::Client,
    identity: OutboundIdentity,
}

/// The HTTP client every outbound call of a connector shares.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    http_client_trusting(&[])
}

/// Like `http_client`, also trusting the given PEM certificates as roots (a company's private
/// CA, or the self-signed certificate of a local network).
pub fn http_client_trusting(extra_roots_pem: &[u8]) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true);
    if !extra_roots_pem.is_empty() {
        for certificate in reqwest::Certificate::from_pem_bundle(extra_roots_pem)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build()
}

impl HttpPeer {
    pub fn new(client: reqwest::Client, identity: OutboundIdentity) -> Self {
        HttpPeer { client, identity }
    }

    /// Says who is calling: a DCP self-issued token for `audience`, or development headers.
    fn identify(
        &self,
        request: reqwest::RequestBuilder,
        own: &OwnIdentity,
        audience: &str,
    ) -> Result<reqwest::RequestBuilder, PeerError> {
        match &self.identity {
            OutboundIdentity::DevHeaders { attributes } => {
                let request =
                    request.header(CallerIdentityHeaders::PARTICIPANT, &own.participant_id);
                Ok(match attributes {
                    Some(attributes) => {
                        request.header(CallerIdentityHeaders::ATTRIBUTES, attributes)
                    }
                    None => request,
                })
            }
            OutboundIdentity::Dcp(identity) => {
                if audience.is_empty() {
                    return Err(PeerError::Refused {
                        status: 400,
                        detail: "the counter-party's participant id (its DID) is needed to authenticate to it"
                            .into(),
                    });
                }
                let token = identity
                    .self_issued_token(audience, chrono::Utc::now())
                    .map_err(|error| {
                        PeerError::Unreachable(format!("cannot sign a token: {error}"))
                    })?;
                Ok(request.bearer_auth(token))
            }
        }
    }

    /// POSTs a DSP message and returns the answer's JSON (or `Null` for an empty answer).
    async fn post(
        &self,
        own: &OwnIdentity,
        audience: &str,
        url: String,
        body: Value,
    ) -> Result<Value, PeerError> {
        // Protocol messages are small; one that takes longer than this is retried rather than
        // left to outlive the worker's lease on its row.
        let request = self.identify(
            self.client.post(&url).json(&body).timeout(MESSAGE_TIMEOUT),
            own,
            audience,
        )?;
        let (status, bytes) = answer_of(request, &url).await?;
        check_status(status, &url, &bytes)?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| PeerError::InvalidAnswer(format!("{url}: {error}")))
    }
}

/// How long a protocol message (not a data transfer) may take.
const MESSAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends `request` (to `url`) and reads the whole answer.
async fn answer_of(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<(StatusCode, bytes::Bytes), PeerError> {
    let response = request
        .send()
        .await
        .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
    Ok((status, bytes))
}

/// Adds our agreement signature, if we signed, to an agreement or verification message.
fn with_signature(mut message: Value, signature: &Option<String>) -> Value {
    if let (Some(signature), Some(object)) = (signature, message.as_object_mut()) {
        object.insert(
            tsunagu_engine::AGREEMENT_SIGNATURE.to_owned(),
            Value::from(signature.as_str()),
        );
    }
    message
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
                // A provider is reached at its DSP base, not at the consumer callback paths.
                callback_address: initial.then(|| own.dsp_url.clone()),
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
            (
                url,
                with_signature(to_value(&message), &agreement.provider_signature),
            )
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
            let signature = n
                .agreement
                .as_ref()
                .and_then(|agreement| agreement.consumer_signature.clone());
            (url, with_signature(to_value(&message), &signature))
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
        let answer = self
            .post(own, &negotiation.counter_party_id, url, body)
            .await?;
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
        let answer = self
            .post(own, &transfer.counter_party_id, url, body)
            .await?;
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
        counter_party_id: &str,
        dsp_url: &str,
        request: Value,
    ) -> Result<(Value, Option<String>), PeerError> {
        let url = join(dsp_url, "catalog/request");
        let response = self
            .identify(self.client.post(&url).json(&request), own, counter_party_id)?
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

    async fn add_checkpoint(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        address: &str,
        body: String,
    ) -> Result<AddCheckpointAnswer, PeerError> {
        let url = join(address, "ledger/add-checkpoint");
        let request = self.identify(
            self.client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(body)
                .timeout(MESSAGE_TIMEOUT),
            own,
            counter_party_id,
        )?;
        let (status, bytes) = answer_of(request, &url).await?;
        if status == StatusCode::CONFLICT {
            let size = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.trim_end_matches('\n').parse::<u64>().ok())
                .ok_or_else(|| {
                    PeerError::InvalidAnswer(format!("{url}: a 409 without the size held"))
                })?;
            return Ok(AddCheckpointAnswer::HeldSize(size));
        }
        check_status(status, &url, &bytes)?;
        let lines = String::from_utf8(bytes.to_vec()).map_err(|_| {
            PeerError::InvalidAnswer(format!("{url}: the cosignature is not UTF-8"))
        })?;
        Ok(AddCheckpointAnswer::Cosigned(lines))
    }

    async fn history(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        address: &str,
        query: &tsunagu_engine::HistoryQuery,
    ) -> Result<Value, PeerError> {
        let url = join(address, "ledger/history");
        let body = serde_json::to_value(query)
            .map_err(|error| PeerError::InvalidAnswer(error.to_string()))?;
        self.post(own, counter_party_id, url, body).await
    }

    async fn contract_text(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        address: &str,
        sha256: &str,
    ) -> Result<Value, PeerError> {
        let url = join(address, &format!("contractterms/{sha256}"));
        let request = self.identify(
            self.client.get(&url).timeout(MESSAGE_TIMEOUT),
            own,
            counter_party_id,
        )?;
        let (status, bytes) = answer_of(request, &url).await?;
        check_status(status, &url, &bytes)?;
        serde_json::from_slice(&bytes)
            .map_err(|error| PeerError::InvalidAnswer(format!("{url}: {error}")))
    }

    async fn pull(
        &self,
        endpoint: &str,
        token: &str,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        let (media_type, _, body) = self.pull_signed(endpoint, token).await?;
        Ok((media_type, body))
    }

    async fn pull_signed(
        &self,
        endpoint: &str,
        token: &str,
    ) -> Result<(Option<String>, Option<String>, ByteStream), PeerError> {
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
        let signature = response
            .headers()
            .get(tsunagu_engine::DATA_SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok((media_type, signature, stream_of(response)))
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

    async fn call_data_plane(
        &self,
        url: &str,
        token: &str,
        method: tsunagu_engine::InboxMethod,
        media_type: Option<&str>,
        body: bytes::Bytes,
    ) -> Result<u16, PeerError> {
        let method = match method {
            tsunagu_engine::InboxMethod::Get => reqwest::Method::GET,
            tsunagu_engine::InboxMethod::Post => reqwest::Method::POST,
            tsunagu_engine::InboxMethod::Put => reqwest::Method::PUT,
        };
        let mut request = self.client.request(method, url).bearer_auth(token);
        if !body.is_empty() {
            request = request.body(body);
        }
        if let Some(media_type) = media_type {
            request = request.header(reqwest::header::CONTENT_TYPE, media_type);
        }
        let response = request
            .send()
            .await
            .map_err(|error| PeerError::Unreachable(format!("{url}: {error}")))?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        check_status(status, url, &body)?;
        Ok(status.as_u16())
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

#[cfg(test)]
mod tests {
    //! Every message `HttpPeer` sends validates against its official DSP 2025-1 schema and goes
    //! to the path the HTTPS binding names for it. The records are built with the domain's own
    //! constructors and moved along with its own `send`/`receive`, so each message is sent from
    //! a state in which the engine would really send it.

    use std::collections::BTreeSet;

    use serde_json::json;
    use tsunagu_core::{
        Agreement, NegotiationMessage, NewNegotiation, NewTransfer, TransferMessage, TransferMode,
    };
    use tsunagu_testkit::DspSchemas;

    use super::*;

    const PROVIDER_ID: &str = "did:web:cathode.example";
    const CONSUMER_ID: &str = "did:web:cells.example";
    /// The provider's DSP base as a consumer knows it from the catalog.
    const PROVIDER_DSP: &str = "https://cathode.example/dsp";
    /// The consumer's DSP base, where a provider sends an initial offer.
    const CONSUMER_DSP: &str = "https://cells.example/dsp";
    /// Callback addresses as the other side sent them; one with a trailing slash, which the
    /// binding says must be handled.
    const CONSUMER_CALLBACK: &str = "https://cells.example/dsp/callback/";
    const PROVIDER_CALLBACK: &str = "https://cathode.example/dsp/callback";
    const CONSUMER_PID: &str = "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833";
    const PROVIDER_PID: &str = "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab";
    const AGREEMENT_ID: &str = "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44";
    const NOW: i64 = 1_735_689_600_000;

    fn consumer() -> OwnIdentity {
        OwnIdentity {
            participant_id: CONSUMER_ID.into(),
            dsp_url: "https://cells.example/dsp".into(),
            callback_address: "https://cells.example/dsp/callback".into(),
        }
    }

    fn provider() -> OwnIdentity {
        OwnIdentity {
            participant_id: PROVIDER_ID.into(),
            dsp_url: "https://cathode.example/dsp".into(),
            callback_address: PROVIDER_CALLBACK.into(),
        }
    }

    /// An offer in the compact form the catalog hands out and a consumer quotes back.
    fn offer() -> Value {
        json!({
            "@id": "Y2ZwLWRlZg:YXNzZXQtMQ:bm9uY2U",
            "@type": "Offer",
            "target": "asset-1",
            "permission": [{
                "action": "use",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": "cfp"}
                ]
            }],
            "prohibition": [{"action": "distribute"}],
            "obligation": [{"action": "delete"}]
        })
    }

    fn facts(id: &str, counter_party_id: &str, address: &str) -> NewNegotiation {
        NewNegotiation {
            id: id.into(),
            counter_party_id: counter_party_id.into(),
            counter_party_address: address.into(),
            dataset_id: "asset-1".into(),
            offer: offer(),
            now_ms: NOW,
        }
    }

    /// The agreement as the provider's engine makes it.
    fn agreement(negotiation_id: &str) -> Agreement {
        let timestamp = chrono::DateTime::from_timestamp_millis(NOW)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let policy = tsunagu_engine::agreement_policy_json(
            AGREEMENT_ID,
            "asset-1",
            PROVIDER_ID,
            CONSUMER_ID,
            &timestamp,
            &offer(),
        );
        Agreement {
            id: AGREEMENT_ID.into(),
            negotiation_id: negotiation_id.into(),
            dataset_id: "asset-1".into(),
            provider_id: PROVIDER_ID.into(),
            consumer_id: CONSUMER_ID.into(),
            policy,
            signed_at_ms: NOW,
            provider_signature: None,
            consumer_signature: None,
        }
    }

    /// The action a record has queued, as a worker would take it.
    fn queued_negotiation_action(negotiation: &Negotiation) -> NegotiationAction {
        negotiation
            .pending
            .as_ref()
            .expect("an action is queued")
            .action
            .clone()
    }

    fn queued_transfer_action(transfer: &Transfer) -> TransferAction {
        transfer
            .pending
            .as_ref()
            .expect("an action is queued")
            .action
            .clone()
    }

    fn negotiation_variant(action: &NegotiationAction) -> &'static str {
        // Exhaustive on purpose: a new variant must be added to the cases below.
        match action {
            NegotiationAction::SendRequest => "SendRequest",
            NegotiationAction::SendOffer => "SendOffer",
            NegotiationAction::SendAccepted => "SendAccepted",
            NegotiationAction::SendAgreement => "SendAgreement",
            NegotiationAction::SendVerification => "SendVerification",
            NegotiationAction::SendFinalized => "SendFinalized",
            NegotiationAction::SendTermination { .. } => "SendTermination",
        }
    }

    fn transfer_variant(action: &TransferAction) -> &'static str {
        match action {
            TransferAction::SendRequest => "SendRequest",
            TransferAction::SendStart => "SendStart",
            TransferAction::Push => "Push",
            TransferAction::SendSuspension { .. } => "SendSuspension",
            TransferAction::SendCompletion => "SendCompletion",
            TransferAction::SendTermination { .. } => "SendTermination",
        }
    }

    /// One message tsunagu sends: who sends it from which record, and what must come out.
    struct Case {
        name: &'static str,
        own: OwnIdentity,
        negotiation: Negotiation,
        url: String,
        /// The `@type` of the body.
        kind: &'static str,
    }

    fn negotiation_cases() -> Vec<Case> {
        let mut cases = Vec::new();

        // Consumer, initial request: to the provider's base, with our callback address.
        let n = Negotiation::start_as_consumer(facts(CONSUMER_PID, PROVIDER_ID, PROVIDER_DSP));
        cases.push(Case {
            name: "consumer: initial ContractRequestMessage",
            own: consumer(),
            url: format!("{PROVIDER_DSP}/negotiations/request"),
            kind: "ContractRequestMessage",
            negotiation: n,
        });

        // Consumer, answering a provider's offer with a request (non-initial).
        let mut n = Negotiation::offered_by_provider(
            facts(CONSUMER_PID, PROVIDER_ID, PROVIDER_CALLBACK),
            PROVIDER_PID.into(),
        );
        n.send(NegotiationAction::SendRequest, NOW).unwrap();
        cases.push(Case {
            name: "consumer: ContractRequestMessage answering an offer",
            own: consumer(),
            url: format!("{PROVIDER_CALLBACK}/negotiations/{PROVIDER_PID}/request"),
            kind: "ContractRequestMessage",
            negotiation: n,
        });

        // Consumer accepts the provider's offer.
        let mut n = Negotiation::offered_by_provider(
            facts(CONSUMER_PID, PROVIDER_ID, PROVIDER_CALLBACK),
            PROVIDER_PID.into(),
        );
        n.send(NegotiationAction::SendAccepted, NOW).unwrap();
        cases.push(Case {
            name: "consumer: ContractNegotiationEventMessage ACCEPTED",
            own: consumer(),
            url: format!("{PROVIDER_CALLBACK}/negotiations/{PROVIDER_PID}/events"),
            kind: "ContractNegotiationEventMessage",
            negotiation: n,
        });

        // Consumer verifies the agreement it received after its initial request.
        let mut n = Negotiation::start_as_consumer(facts(CONSUMER_PID, PROVIDER_ID, PROVIDER_DSP));
        n.provider_pid = Some(PROVIDER_PID.into());
        n.delivered(1, NOW);
        n.receive(NegotiationMessage::Agreement, NOW).unwrap();
        n.agreement = Some(agreement(CONSUMER_PID));
        n.send(NegotiationAction::SendVerification, NOW).unwrap();
        cases.push(Case {
            name: "consumer: ContractAgreementVerificationMessage",
            own: consumer(),
            url: format!("{PROVIDER_DSP}/negotiations/{PROVIDER_PID}/agreement/verification"),
            kind: "ContractAgreementVerificationMessage",
            negotiation: n,
        });

        // Consumer terminates.
        let mut n = Negotiation::start_as_consumer(facts(CONSUMER_PID, PROVIDER_ID, PROVIDER_DSP));
        n.provider_pid = Some(PROVIDER_PID.into());
        n.delivered(1, NOW);
        n.send(
            NegotiationAction::SendTermination {
                code: "terminated".into(),
                reason: "no longer needed".into(),
            },
            NOW,
        )
        .unwrap();
        cases.push(Case {
            name: "consumer: ContractNegotiationTerminationMessage",
            own: consumer(),
            url: format!("{PROVIDER_DSP}/negotiations/{PROVIDER_PID}/termination"),
            kind: "ContractNegotiationTerminationMessage",
            negotiation: n,
        });

        // Provider, initial offer: to the consumer's base, with our callback address.
        let n = Negotiation::start_as_provider(facts(PROVIDER_PID, CONSUMER_ID, CONSUMER_DSP));
        cases.push(Case {
            name: "provider: initial ContractOfferMessage",
            own: provider(),
            url: format!("{CONSUMER_DSP}/negotiations/offers"),
            kind: "ContractOfferMessage",
            negotiation: n,
        });

        // Provider, counter-offer to a consumer's request.
        let mut n = Negotiation::requested_by_consumer(
            facts(PROVIDER_PID, CONSUMER_ID, CONSUMER_CALLBACK),
            CONSUMER_PID.into(),
        );
        n.send(NegotiationAction::SendOffer, NOW).unwrap();
        cases.push(Case {
            name: "provider: ContractOfferMessage answering a request",
            own: provider(),
            url: format!("https://cells.example/dsp/callback/negotiations/{CONSUMER_PID}/offers"),
            kind: "ContractOfferMessage",
            negotiation: n,
        });

        // Provider agrees, as `apply_decision` does.
        let mut n = Negotiation::requested_by_consumer(
            facts(PROVIDER_PID, CONSUMER_ID, CONSUMER_CALLBACK),
            CONSUMER_PID.into(),
        );
        n.agreement = Some(agreement(PROVIDER_PID));
        n.send(NegotiationAction::SendAgreement, NOW).unwrap();
        cases.push(Case {
            name: "provider: ContractAgreementMessage",
            own: provider(),
            url: format!(
                "https://cells.example/dsp/callback/negotiations/{CONSUMER_PID}/agreement"
            ),
            kind: "ContractAgreementMessage",
            negotiation: n.clone(),
        });

        // Provider finalises after the consumer's verification.
        let mut finalised = n.clone();
        finalised.delivered(1, NOW);
        finalised
            .receive(NegotiationMessage::Verification, NOW)
            .unwrap();
        finalised
            .send(NegotiationAction::SendFinalized, NOW)
            .unwrap();
        cases.push(Case {
            name: "provider: ContractNegotiationEventMessage FINALIZED",
            own: provider(),
            url: format!("https://cells.example/dsp/callback/negotiations/{CONSUMER_PID}/events"),
            kind: "ContractNegotiationEventMessage",
            negotiation: finalised,
        });

        // Provider refuses (the policy-denied path of `apply_decision`).
        let mut n = Negotiation::requested_by_consumer(
            facts(PROVIDER_PID, CONSUMER_ID, CONSUMER_CALLBACK),
            CONSUMER_PID.into(),
        );
        n.send(
            NegotiationAction::SendTermination {
                code: "policy".into(),
                reason: "the contract policy is not satisfied".into(),
            },
            NOW,
        )
        .unwrap();
        cases.push(Case {
            name: "provider: ContractNegotiationTerminationMessage",
            own: provider(),
            url: format!(
                "https://cells.example/dsp/callback/negotiations/{CONSUMER_PID}/termination"
            ),
            kind: "ContractNegotiationTerminationMessage",
            negotiation: n,
        });
        cases
    }

    #[test]
    fn every_negotiation_message_validates_and_goes_to_its_binding_path() {
        let Some(spec) = tsunagu_testkit::require_spec() else {
            return;
        };
        let schemas = DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile");
        let cases = negotiation_cases();
        let mut variants = BTreeSet::new();
        let mut failures = Vec::new();
        for case in &cases {
            let action = queued_negotiation_action(&case.negotiation);
            variants.insert(negotiation_variant(&action));
            let (url, body) = match negotiation_message(&case.own, &case.negotiation, &action) {
                Ok(message) => message,
                Err(error) => {
                    failures.push(format!("{}: not built: {error}", case.name));
                    continue;
                }
            };
            if url != case.url {
                failures.push(format!(
                    "{}: sent to {url}, the binding says {}",
                    case.name, case.url
                ));
            }
            if body["@type"] != case.kind {
                failures.push(format!("{}: @type is {}", case.name, body["@type"]));
            }
            if let Err(errors) = schemas.validate_message(&body) {
                failures.push(format!(
                    "{}: {}\n    body: {body}",
                    case.name,
                    errors.join("\n    ")
                ));
            }
            // The process ids are the record's own, and an initial message carries our
            // callback address while any later one does not.
            let n = &case.negotiation;
            let own_pid_key = match n.role {
                Role::Consumer => "consumerPid",
                Role::Provider => "providerPid",
            };
            if body[own_pid_key] != n.id.as_str() {
                failures.push(format!(
                    "{}: {own_pid_key} is {}",
                    case.name, body[own_pid_key]
                ));
            }
            let initial = match n.role {
                Role::Consumer => n.provider_pid.is_none(),
                Role::Provider => n.consumer_pid.is_none(),
            };
            let callback = body.get("callbackAddress").and_then(Value::as_str);
            // A consumer names its callback base; a provider its DSP base.
            let own_address = match n.role {
                Role::Consumer => case.own.callback_address.as_str(),
                Role::Provider => case.own.dsp_url.as_str(),
            };
            let expected_callback = initial.then_some(own_address);
            if callback != expected_callback {
                failures.push(format!(
                    "{}: callbackAddress {callback:?}, expected {expected_callback:?}",
                    case.name
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(cases.len(), 10);
        assert_eq!(
            variants.into_iter().collect::<Vec<_>>(),
            [
                "SendAccepted",
                "SendAgreement",
                "SendFinalized",
                "SendOffer",
                "SendRequest",
                "SendTermination",
                "SendVerification"
            ],
            "every NegotiationAction variant is sent at least once"
        );
    }

    #[test]
    fn the_agreement_travels_exactly_as_agreed() {
        let mut n = Negotiation::requested_by_consumer(
            facts(PROVIDER_PID, CONSUMER_ID, CONSUMER_CALLBACK),
            CONSUMER_PID.into(),
        );
        n.agreement = Some(agreement(PROVIDER_PID));
        let (_, body) =
            negotiation_message(&provider(), &n, &NegotiationAction::SendAgreement).unwrap();
        assert_eq!(body["agreement"], n.agreement.unwrap().policy);
        assert_eq!(body["agreement"]["timestamp"], "2025-01-01T00:00:00Z");
        assert!(body["agreement"].get("prohibition").is_some());
    }

    #[test]
    fn messages_that_need_the_counter_party_pid_are_not_built_without_it() {
        let n = Negotiation::start_as_consumer(facts(CONSUMER_PID, PROVIDER_ID, PROVIDER_DSP));
        for action in [
            NegotiationAction::SendAccepted,
            NegotiationAction::SendVerification,
            NegotiationAction::SendTermination {
                code: "x".into(),
                reason: "y".into(),
            },
        ] {
            assert!(
                negotiation_message(&consumer(), &n, &action).is_err(),
                "{action:?} built without a providerPid"
            );
        }
        // A provider's record without an agreement has nothing to send as one.
        let n = Negotiation::requested_by_consumer(
            facts(PROVIDER_PID, CONSUMER_ID, CONSUMER_CALLBACK),
            CONSUMER_PID.into(),
        );
        assert!(negotiation_message(&provider(), &n, &NegotiationAction::SendAgreement).is_err());
    }

    struct TransferCase {
        name: &'static str,
        own: OwnIdentity,
        transfer: Transfer,
        pull_address: Option<(&'static str, &'static str)>,
        url: String,
        kind: &'static str,
    }

    fn transfer_facts(
        id: &str,
        mode: TransferMode,
        counter_party: &str,
        address: &str,
    ) -> NewTransfer {
        NewTransfer {
            id: id.into(),
            agreement_id: AGREEMENT_ID.into(),
            dataset_id: "asset-1".into(),
            mode,
            counter_party_id: counter_party.into(),
            counter_party_address: address.into(),
            endpoint: None,
            endpoint_token: None,
            now_ms: NOW,
        }
    }

    /// A consumer's transfer after the provider acknowledged the request and started it.
    fn started_at_consumer(mode: TransferMode) -> Transfer {
        let mut t = Transfer::start_as_consumer(transfer_facts(
            CONSUMER_PID,
            mode,
            PROVIDER_ID,
            PROVIDER_DSP,
        ));
        t.delivered(1, NOW);
        t.provider_pid = Some(PROVIDER_PID.into());
        t.receive(TransferMessage::Start, NOW).unwrap();
        t.endpoint = Some("https://cathode.example/data".into());
        t.endpoint_token = Some("token".into());
        t
    }

    /// A provider's transfer as `on_transfer_request` creates it (start queued).
    fn requested_at_provider(mode: TransferMode) -> Transfer {
        let mut facts = transfer_facts(PROVIDER_PID, mode, CONSUMER_ID, CONSUMER_CALLBACK);
        if mode == TransferMode::Push {
            facts.endpoint = Some(format!("https://cells.example/data/inbox/{CONSUMER_PID}"));
            facts.endpoint_token = Some("push-token".into());
        }
        let mut t = Transfer::requested_by_consumer(facts, CONSUMER_PID.into());
        t.send(TransferAction::SendStart, NOW).unwrap();
        t
    }

    fn started_at_provider(mode: TransferMode) -> Transfer {
        let mut t = requested_at_provider(mode);
        t.delivered(1, NOW);
        t
    }

    fn transfer_cases() -> Vec<TransferCase> {
        let consumer_target = format!("{PROVIDER_DSP}/transfers/{PROVIDER_PID}");
        let provider_target =
            format!("https://cells.example/dsp/callback/transfers/{CONSUMER_PID}");
        let suspension = || TransferAction::SendSuspension {
            code: "suspended".into(),
            reason: "maintenance".into(),
        };
        let termination = || TransferAction::SendTermination {
            code: "terminated".into(),
            reason: "no longer needed".into(),
        };
        let mut cases = Vec::new();

        // Consumer requests: pull (no address), push (with the inbox address and its token).
        cases.push(TransferCase {
            name: "consumer: TransferRequestMessage, pull",
            own: consumer(),
            transfer: Transfer::start_as_consumer(transfer_facts(
                CONSUMER_PID,
                TransferMode::Pull,
                PROVIDER_ID,
                PROVIDER_DSP,
            )),
            pull_address: None,
            url: format!("{PROVIDER_DSP}/transfers/request"),
            kind: "TransferRequestMessage",
        });
        let mut push = transfer_facts(CONSUMER_PID, TransferMode::Push, PROVIDER_ID, PROVIDER_DSP);
        push.endpoint = Some(format!("https://cells.example/data/inbox/{CONSUMER_PID}"));
        push.endpoint_token = Some("push-token".into());
        cases.push(TransferCase {
            name: "consumer: TransferRequestMessage, push with dataAddress",
            own: consumer(),
            transfer: Transfer::start_as_consumer(push),
            pull_address: None,
            url: format!("{PROVIDER_DSP}/transfers/request"),
            kind: "TransferRequestMessage",
        });

        // Consumer suspends, resumes, completes, terminates.
        let mut t = started_at_consumer(TransferMode::Pull);
        t.send(suspension(), NOW).unwrap();
        cases.push(TransferCase {
            name: "consumer: TransferSuspensionMessage",
            own: consumer(),
            transfer: t.clone(),
            pull_address: None,
            url: format!("{consumer_target}/suspension"),
            kind: "TransferSuspensionMessage",
        });
        t.delivered(t.action_seq, NOW);
        t.send(TransferAction::SendStart, NOW).unwrap();
        cases.push(TransferCase {
            name: "consumer: TransferStartMessage resuming",
            own: consumer(),
            transfer: t,
            pull_address: None,
            url: format!("{consumer_target}/start"),
            kind: "TransferStartMessage",
        });
        let mut t = started_at_consumer(TransferMode::Pull);
        t.send(TransferAction::SendCompletion, NOW).unwrap();
        cases.push(TransferCase {
            name: "consumer: TransferCompletionMessage",
            own: consumer(),
            transfer: t,
            pull_address: None,
            url: format!("{consumer_target}/completion"),
            kind: "TransferCompletionMessage",
        });
        let mut t = started_at_consumer(TransferMode::Push);
        t.send(termination(), NOW).unwrap();
        cases.push(TransferCase {
            name: "consumer: TransferTerminationMessage",
            own: consumer(),
            transfer: t,
            pull_address: None,
            url: format!("{consumer_target}/termination"),
            kind: "TransferTerminationMessage",
        });

        // Provider starts: pull with the data-plane address, push without one.
        cases.push(TransferCase {
            name: "provider: TransferStartMessage, pull with dataAddress",
            own: provider(),
            transfer: requested_at_provider(TransferMode::Pull),
            pull_address: Some(("https://cathode.example/data", "secret-pull-token")),
            url: format!("{provider_target}/start"),
            kind: "TransferStartMessage",
        });
        cases.push(TransferCase {
            name: "provider: TransferStartMessage, push without dataAddress",
            own: provider(),
            transfer: requested_at_provider(TransferMode::Push),
            pull_address: None,
            url: format!("{provider_target}/start"),
            kind: "TransferStartMessage",
        });

        // Provider suspends, completes (after a push), terminates.
        let mut t = started_at_provider(TransferMode::Pull);
        t.send(suspension(), NOW).unwrap();
        cases.push(TransferCase {
            name: "provider: TransferSuspensionMessage",
            own: provider(),
            transfer: t,
            pull_address: None,
            url: format!("{provider_target}/suspension"),
            kind: "TransferSuspensionMessage",
        });
        let mut t = started_at_provider(TransferMode::Push);
        t.send(TransferAction::SendCompletion, NOW).unwrap();
        cases.push(TransferCase {
            name: "provider: TransferCompletionMessage",
            own: provider(),
            transfer: t,
            pull_address: None,
            url: format!("{provider_target}/completion"),
            kind: "TransferCompletionMessage",
        });
        let mut t = started_at_provider(TransferMode::Pull);
        t.send(termination(), NOW).unwrap();
        cases.push(TransferCase {
            name: "provider: TransferTerminationMessage",
            own: provider(),
            transfer: t,
            pull_address: None,
            url: format!("{provider_target}/termination"),
            kind: "TransferTerminationMessage",
        });
        cases
    }

    #[test]
    fn every_transfer_message_validates_and_goes_to_its_binding_path() {
        let Some(spec) = tsunagu_testkit::require_spec() else {
            return;
        };
        let schemas = DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile");
        let cases = transfer_cases();
        let mut variants = BTreeSet::new();
        let mut failures = Vec::new();
        for case in &cases {
            let action = queued_transfer_action(&case.transfer);
            variants.insert(transfer_variant(&action));
            let built = transfer_message(&case.own, &case.transfer, &action, case.pull_address);
            let (url, body) = match built {
                Ok(message) => message,
                Err(error) => {
                    failures.push(format!("{}: not built: {error}", case.name));
                    continue;
                }
            };
            if url != case.url {
                failures.push(format!(
                    "{}: sent to {url}, the binding says {}",
                    case.name, case.url
                ));
            }
            if body["@type"] != case.kind {
                failures.push(format!("{}: @type is {}", case.name, body["@type"]));
            }
            if let Err(errors) = schemas.validate_message(&body) {
                failures.push(format!(
                    "{}: {}\n    body: {body}",
                    case.name,
                    errors.join("\n    ")
                ));
            }
            let t = &case.transfer;
            // The data address travels exactly when there is one to give: the pull address
            // in a provider's start, the push inbox in a push request.
            let expected_address = match (&action, t.role) {
                (TransferAction::SendRequest, _) => t.endpoint.clone(),
                (TransferAction::SendStart, Role::Provider) => {
                    case.pull_address.map(|(endpoint, _)| endpoint.to_owned())
                }
                _ => None,
            };
            let address = body
                .get("dataAddress")
                .map(|address| address["endpoint"].as_str().unwrap_or_default().to_owned());
            if address != expected_address {
                failures.push(format!(
                    "{}: dataAddress endpoint {address:?}, expected {expected_address:?}",
                    case.name
                ));
            }
            if let Some(data_address) = body.get("dataAddress") {
                let token = data_address["endpointProperties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|property| property["name"] == "authorization")
                    .and_then(|property| property["value"].as_str());
                let expected_token = match &action {
                    TransferAction::SendRequest => t.endpoint_token.as_deref(),
                    _ => case.pull_address.map(|(_, token)| token),
                };
                if token != expected_token {
                    failures.push(format!("{}: authorization {token:?}", case.name));
                }
            }
            if let TransferAction::SendRequest = action {
                if body["callbackAddress"] != case.own.callback_address.as_str() {
                    failures.push(format!(
                        "{}: callbackAddress {}",
                        case.name, body["callbackAddress"]
                    ));
                }
                if body["format"] != t.mode.format() {
                    failures.push(format!("{}: format {}", case.name, body["format"]));
                }
                if body["consumerPid"] != t.id.as_str() {
                    failures.push(format!(
                        "{}: consumerPid {}",
                        case.name, body["consumerPid"]
                    ));
                }
            } else if body["providerPid"] != PROVIDER_PID || body["consumerPid"] != CONSUMER_PID {
                failures.push(format!("{}: process ids {body}", case.name));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(cases.len(), 11);
        // `Push` is a data-plane delivery, not a protocol message; it is checked below.
        assert_eq!(
            variants.into_iter().collect::<Vec<_>>(),
            [
                "SendCompletion",
                "SendRequest",
                "SendStart",
                "SendSuspension",
                "SendTermination"
            ],
            "every TransferAction variant that is a message is sent at least once"
        );
    }

    #[test]
    fn a_push_is_not_a_protocol_message() {
        let mut t = started_at_provider(TransferMode::Push);
        t.send(TransferAction::Push, NOW).unwrap();
        assert_eq!(transfer_variant(&TransferAction::Push), "Push");
        assert!(transfer_message(&provider(), &t, &TransferAction::Push, None).is_err());
    }

    #[test]
    fn transfer_messages_need_both_process_ids() {
        let t = Transfer::start_as_consumer(transfer_facts(
            CONSUMER_PID,
            TransferMode::Pull,
            PROVIDER_ID,
            PROVIDER_DSP,
        ));
        assert!(transfer_message(&consumer(), &t, &TransferAction::SendCompletion, None).is_err());
    }
}
