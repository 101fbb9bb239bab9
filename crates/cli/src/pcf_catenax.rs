//! The Catena-X PCF exchange over DSP (CX-0136, PCF Exchange API 1.2.0 paths): the glue
//! between the PCF app's Catena-X request records and the connector.
//!
//! Every company's trade inbox (`pcf-trade-inbox`, `dct:type` `cx-taxo:PcfExchange`) also
//! takes the calls of the PCF Exchange API below its data address, as a Tractus-X proxied
//! asset does:
//!
//! * `GET <data address>/footprintExchange/{requestId}?manufacturerPartId=…&customerPartId=…
//!   &message=…` asks for a footprint. The provider answers `202` at once if it has the
//!   footprint and may show it to the requester, `404` if it has none, `403` if its
//!   disclosure policy withholds what Catena-X needs, `400`-class for a malformed call; then
//!   it negotiates for the requester's own PcfExchange asset (unless an agreement holds
//!   already) and sends
//! * `PUT <requester's data address>/footprintExchange/{requestId}?update=false` with the
//!   `io.catenax.pcf` 9.0.0 aspect as the body. The requester takes it only from the partner
//!   it asked (the transfer's counter-party), for the product it asked for; an unknown
//!   request id, another sender or a malformed body is refused and changes nothing.
//!   `update=true` carries a changed footprint for a request made before.
//!
//! The caller's identity is never read from a header such as `Edc-Bpn`: it is the DID the
//! DSP authentication established for the transfer the call came under.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tsunagu_engine::{InboxMessage, InboxMethod, InboxRefusal, InboxReply};
use tsunagu_pcf::service::{
    CatenaxAnswer, CatenaxDelivery, CatenaxRequest, NewCatenaxRequest, PcfService, ServiceError,
    TransportError,
};

use crate::management::{Problem, authorize};
use crate::pcf_dsp::DspTradeTransport;

/// The path of the PCF Exchange API's one resource, below a data address.
pub const FOOTPRINT_EXCHANGE_PATH: &str = "/footprintExchange/";
const MEDIA_TYPE: &str = "application/json";

/// One company's side of the Catena-X PCF exchange: its PCF service and the transport that
/// reaches partners' PcfExchange assets. Cheap to clone.
#[derive(Clone)]
pub struct CatenaxExchange {
    service: PcfService,
    transport: Arc<DspTradeTransport>,
}

impl CatenaxExchange {
    pub fn new(service: PcfService, transport: Arc<DspTradeTransport>) -> CatenaxExchange {
        CatenaxExchange { service, transport }
    }

    /// Asks a partner for a product's footprint: records the request under a new request
    /// id, sends `GET /footprintExchange/{requestId}` and records how the partner took it.
    /// The footprint arrives later (`PcfService::catenax_request`).
    pub async fn request(&self, new: NewCatenaxRequest) -> Result<CatenaxRequest, ServiceError> {
        let request = self.service.open_catenax_request(new).await?;
        let mut query = Vec::new();
        if let Some(id) = &request.manufacturer_part_id {
            query.push(("manufacturerPartId", id.as_str()));
        }
        if let Some(id) = &request.customer_part_id {
            query.push(("customerPartId", id.as_str()));
        }
        if let Some(message) = &request.message {
            query.push(("message", message.as_str()));
        }
        let sent = self
            .transport
            .call_partner(
                &request.partner_did,
                InboxMethod::Get,
                &format!("{FOOTPRINT_EXCHANGE_PATH}{}", request.request_id),
                Some(&encode_query(&query)),
                None,
                bytes::Bytes::new(),
            )
            .await;
        let delivery = match sent {
            Ok(_) => CatenaxDelivery::Accepted,
            Err(TransportError::Refused { reason, .. }) => CatenaxDelivery::Refused(reason),
            Err(TransportError::Unreachable { reason, .. }) => CatenaxDelivery::Undelivered(reason),
        };
        self.service
            .catenax_request_delivered(request.request_id, delivery)
            .await
    }

    /// Sends the answers still owed (not delivered before, or cut off by a restart), one
    /// after another; returns how many reached their requester.
    pub async fn deliver_owed(&self) -> Result<usize, ServiceError> {
        let mut delivered = 0;
        for answer in self.service.catenax_answers_owed().await? {
            if self.answer(answer).await {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// Sends an accepted request's answer to the requester and records the outcome; says
    /// whether the requester took it.
    async fn answer(&self, answer: CatenaxAnswer) -> bool {
        let outcome = match serde_json::to_vec(&answer.footprint) {
            Ok(body) => self
                .transport
                .call_partner(
                    &answer.requester_did,
                    InboxMethod::Put,
                    &format!("{FOOTPRINT_EXCHANGE_PATH}{}", answer.request_id),
                    Some("update=false"),
                    Some(MEDIA_TYPE),
                    body.into(),
                )
                .await
                .map(drop)
                .map_err(|error| error.to_string()),
            Err(error) => Err(format!("the footprint cannot be encoded: {error}")),
        };
        if let Err(reason) = &outcome {
            tracing::warn!(request = %answer.request_id, requester = %answer.requester_did, %reason,
                "the Catena-X footprint answer was not delivered");
        }
        let taken = outcome.is_ok();
        if let Err(error) = self
            .service
            .catenax_answer_delivered(&answer.requester_did, &answer.request_id, outcome)
            .await
        {
            tracing::error!(request = %answer.request_id, %error, "cannot record a Catena-X answer");
        }
        taken
    }

    /// A call below the inbox's data address: the PCF Exchange API.
    pub(crate) async fn on_call(&self, message: InboxMessage) -> Result<InboxReply, InboxRefusal> {
        let Some(request_id) = message
            .path
            .strip_prefix(FOOTPRINT_EXCHANGE_PATH)
            .filter(|id| !id.is_empty() && !id.contains('/'))
        else {
            return Err(InboxRefusal::NotFound(format!(
                "no resource {}; the PCF Exchange API serves {FOOTPRINT_EXCHANGE_PATH}{{requestId}}",
                message.path
            )));
        };
        let query = Query::parse(message.query.as_deref())?;
        let sender = message.sender_id.as_str();
        match message.method {
            InboxMethod::Get => {
                let answer = self
                    .service
                    .receive_catenax_request(
                        sender,
                        request_id,
                        query.manufacturer_part_id,
                        query.customer_part_id,
                        query.message,
                    )
                    .await
                    .map_err(refusal)?;
                // The answer goes back on its own negotiation and transfer, after this call
                // has been answered.
                let exchange = self.clone();
                tokio::spawn(async move {
                    exchange.answer(answer).await;
                });
                Ok(InboxReply::Accepted)
            }
            InboxMethod::Put => {
                self.service
                    .receive_catenax_answer(
                        sender,
                        request_id,
                        query.update,
                        query.message,
                        &message.body,
                    )
                    .await
                    .map_err(refusal)?;
                Ok(InboxReply::Taken)
            }
            InboxMethod::Post => Err(InboxRefusal::NotFound(
                "the PCF Exchange API takes GET and PUT on /footprintExchange/{requestId}".into(),
            )),
        }
    }
}

fn refusal(error: ServiceError) -> InboxRefusal {
    match error {
        ServiceError::NotFound(what) => InboxRefusal::NotFound(format!("{what} not found")),
        ServiceError::Store(error) => InboxRefusal::Unavailable(error.to_string()),
        ServiceError::Internal(error) => InboxRefusal::Unavailable(error),
        other => InboxRefusal::Refused(other.to_string()),
    }
}

/// The query parameters of the PCF Exchange API.
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    manufacturer_part_id: Option<String>,
    customer_part_id: Option<String>,
    message: Option<String>,
    update: bool,
}

impl Query {
    fn parse(query: Option<&str>) -> Result<Query, InboxRefusal> {
        let mut parsed = Query::default();
        let Some(query) = query else {
            return Ok(parsed);
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "manufacturerPartId" => &mut parsed.manufacturer_part_id,
                "customerPartId" => &mut parsed.customer_part_id,
                "message" => &mut parsed.message,
                "update" => {
                    parsed.update = match value.as_ref() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(InboxRefusal::Refused(format!(
                                "update is true or false, not {other:?}"
                            )));
                        }
                    };
                    continue;
                }
                // Parameters of later API versions (dataModelVersion) are not ours to judge.
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(InboxRefusal::Refused(format!("{name} is given twice")));
            }
        }
        Ok(parsed)
    }
}

/// A query string with each value percent-encoded as RFC 3986 asks (unreserved characters
/// stay, everything else is `%XX` of its UTF-8 bytes).
fn encode_query(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(name, &mut out);
        out.push('=');
        encode(value, &mut out);
    }
    out
}

/// What a management client sends to ask a partner for a footprint.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewRequestBody {
    partner_did: String,
    manufacturer_part_id: Option<String>,
    customer_part_id: Option<String>,
    message: Option<String>,
}

#[derive(Clone)]
struct ManagementState {
    exchange: CatenaxExchange,
    api_key: Arc<str>,
}

/// The management routes of the exchange, beside the connector's management API and under
/// its API key: `POST /management/v3/pcf/catenax-requests` asks a partner,
/// `GET /management/v3/pcf/catenax-requests[/{requestId}]` lists this company's requests
/// with their state and the footprint received, `GET /management/v3/pcf/catenax-inbound`
/// the requests partners sent.
pub fn management_router(exchange: CatenaxExchange, api_key: &str) -> Router {
    Router::new()
        .route(
            "/management/v3/pcf/catenax-requests",
            get(list_requests).post(create_request),
        )
        .route(
            "/management/v3/pcf/catenax-requests/{request_id}",
            get(one_request),
        )
        .route("/management/v3/pcf/catenax-inbound", get(list_inbound))
        .with_state(ManagementState {
            exchange,
            api_key: Arc::from(api_key),
        })
}

impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Problem {
        let status = match &error {
            ServiceError::Invalid(_) | ServiceError::Refused { .. } => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::NotSetUp => StatusCode::CONFLICT,
            _ => return Problem::internal("a Catena-X management request", &error),
        };
        Problem(status, error.to_string())
    }
}

/// # `POST /management/v3/pcf/catenax-requests`
async fn create_request(
    State(state): State<ManagementState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    authorize(&headers, &state.api_key)?;
    let body: NewRequestBody = serde_json::from_slice(&body).map_err(|error| {
        Problem(
            StatusCode::BAD_REQUEST,
            format!("not a footprint request: {error}"),
        )
    })?;
    let request = state
        .exchange
        .request(NewCatenaxRequest {
            partner_did: body.partner_did,
            manufacturer_part_id: body.manufacturer_part_id,
            customer_part_id: body.customer_part_id,
            message: body.message,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(request)).into_response())
}

/// # `GET /management/v3/pcf/catenax-requests`
async fn list_requests(
    State(state): State<ManagementState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    authorize(&headers, &state.api_key)?;
    let requests = state.exchange.service.catenax_requests().await?;
    Ok(axum::Json(requests).into_response())
}

/// # `GET /management/v3/pcf/catenax-requests/{requestId}`
async fn one_request(
    State(state): State<ManagementState>,
    headers: HeaderMap,
    Path(request_id): Path<String>,
) -> Result<Response, Problem> {
    authorize(&headers, &state.api_key)?;
    let not_found = || ServiceError::NotFound(format!("request {request_id}"));
    let id: uuid::Uuid = request_id.parse().map_err(|_| not_found())?;
    let request = state
        .exchange
        .service
        .catenax_request(id)
        .await?
        .ok_or_else(not_found)?;
    Ok(axum::Json(request).into_response())
}

/// # `GET /management/v3/pcf/catenax-inbound`
async fn list_inbound(
    State(state): State<ManagementState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    authorize(&headers, &state.api_key)?;
    let inbound = state.exchange.service.catenax_inbound().await?;
    Ok(axum::Json(inbound).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded_and_read_back() {
        let query = encode_query(&[
            ("manufacturerPartId", "urn:uuid:0000-1"),
            ("message", "No offset included, please! 日本"),
        ]);
        assert_eq!(
            query,
            "manufacturerPartId=urn%3Auuid%3A0000-1&message=No%20offset%20included%2C%20please%21%20%E6%97%A5%E6%9C%AC"
        );
        let parsed = Query::parse(Some(&query)).unwrap();
        assert_eq!(
            parsed.manufacturer_part_id.as_deref(),
            Some("urn:uuid:0000-1")
        );
        assert_eq!(
            parsed.message.as_deref(),
            Some("No offset included, please! 日本")
        );
        assert!(!parsed.update);
    }

    #[test]
    fn a_malformed_query_is_refused() {
        assert!(Query::parse(Some("update=yes")).is_err());
        assert!(Query::parse(Some("manufacturerPartId=a&manufacturerPartId=b")).is_err());
        assert!(Query::parse(Some("update=true")).unwrap().update);
        assert_eq!(
            Query::parse(Some("dataModelVersion=10.0.0")).unwrap(),
            Query::default()
        );
    }
}
