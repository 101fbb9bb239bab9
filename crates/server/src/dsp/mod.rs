//! The Dataspace Protocol 2025-1 HTTPS binding, provider and consumer paths. The DSP base is
//! `/dsp`; the consumer's callback paths live under `/dsp/callback`.

pub(crate) mod convert;
pub(crate) mod error;
mod extensions;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tsunagu_core::{Role, TransferMessage};
use tsunagu_engine::{
    CatalogQuery, ContractOfferIn, ContractRequestIn, TransferMessageIn, TransferRequestIn,
};
use tsunagu_wire::{self as wire, NegotiationEventType};

use crate::AppState;
use crate::auth::Caller;
use error::{DspError, Protocol};

/// The path of the DSP base below the connector's root.
pub(crate) const DSP_BASE: &str = "/dsp";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/dspace-version", get(version))
        .route("/dsp/catalog/request", post(catalog_request))
        .route(
            "/dsp/ledger/add-checkpoint",
            post(extensions::add_checkpoint),
        )
        .route(
            "/dsp/callback/ledger/add-checkpoint",
            post(extensions::add_checkpoint),
        )
        .route("/dsp/ledger/history", post(extensions::history))
        .route(
            "/dsp/contractterms/{sha256}",
            get(extensions::contract_text),
        )
        .route("/dsp/callback/ledger/history", post(extensions::history))
        .route("/dsp/catalog/datasets/{id}", get(dataset))
        // Provider side of contract negotiation.
        .route(
            "/dsp/negotiations/request",
            post(negotiation_request_initial),
        )
        .route("/dsp/negotiations/{pid}", get(provider_negotiation))
        .route("/dsp/negotiations/{pid}/request", post(negotiation_request))
        .route(
            "/dsp/negotiations/{pid}/events",
            post(provider_negotiation_event),
        )
        .route(
            "/dsp/negotiations/{pid}/agreement/verification",
            post(negotiation_verification),
        )
        .route(
            "/dsp/negotiations/{pid}/termination",
            post(provider_negotiation_termination),
        )
        // Consumer side of contract negotiation.
        .route("/dsp/negotiations/offers", post(negotiation_offer_initial))
        .route(
            "/dsp/callback/negotiations/{pid}",
            get(consumer_negotiation),
        )
        .route(
            "/dsp/callback/negotiations/{pid}/offers",
            post(negotiation_offer),
        )
        .route(
            "/dsp/callback/negotiations/{pid}/agreement",
            post(negotiation_agreement),
        )
        .route(
            "/dsp/callback/negotiations/{pid}/events",
            post(consumer_negotiation_event),
        )
        .route(
            "/dsp/callback/negotiations/{pid}/termination",
            post(consumer_negotiation_termination),
        )
        // Provider side of transfer process.
        .route("/dsp/transfers/request", post(transfer_request))
        .route("/dsp/transfers/{pid}", get(provider_transfer))
        .route("/dsp/transfers/{pid}/start", post(provider_transfer_start))
        .route(
            "/dsp/transfers/{pid}/completion",
            post(provider_transfer_completion),
        )
        .route(
            "/dsp/transfers/{pid}/termination",
            post(provider_transfer_termination),
        )
        .route(
            "/dsp/transfers/{pid}/suspension",
            post(provider_transfer_suspension),
        )
        // Consumer side of transfer process.
        .route("/dsp/callback/transfers/{pid}", get(consumer_transfer))
        .route(
            "/dsp/callback/transfers/{pid}/start",
            post(consumer_transfer_start),
        )
        .route(
            "/dsp/callback/transfers/{pid}/completion",
            post(consumer_transfer_completion),
        )
        .route(
            "/dsp/callback/transfers/{pid}/termination",
            post(consumer_transfer_termination),
        )
        .route(
            "/dsp/callback/transfers/{pid}/suspension",
            post(consumer_transfer_suspension),
        )
}

type DspResult<T> = Result<T, DspError>;

/// The agreement signature a tsunagu party adds to its agreement or verification message
/// (an extension property, see `tsunagu_engine::AGREEMENT_SIGNATURE`).
fn agreement_signature(body: &[u8], protocol: &Protocol) -> DspResult<Option<String>> {
    // The message already parsed, so the body is a JSON object.
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| DspError::bad_request(protocol.clone(), error.to_string()))?;
    match value.get(tsunagu_engine::AGREEMENT_SIGNATURE) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(jws)) => Ok(Some(jws.clone())),
        Some(_) => Err(DspError::bad_request(
            protocol.clone(),
            format!(
                "{} must be a compact JWS string",
                tsunagu_engine::AGREEMENT_SIGNATURE
            ),
        )),
    }
}

/// The process (or dataset) id in the path. A path axum cannot decode is refused in the
/// protocol's own error format, like every other bad request.
pub(crate) struct DspPath(String);

impl FromRequestParts<AppState> for DspPath {
    type Rejection = DspError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(DspPath(id)),
            Err(rejection) => Err(DspError::bad_request(
                DspError::protocol_of(parts.uri.path()),
                format!("the path cannot be read: {}", rejection.body_text()),
            )),
        }
    }
}

/// The catalog's paging parameters, refused as a `CatalogError` when malformed.
struct PageQuery(PageParams);

impl FromRequestParts<AppState> for PageQuery {
    type Rejection = DspError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Query::<PageParams>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(PageQuery(params)),
            Err(rejection) => Err(DspError::bad_request(
                Protocol::Catalog,
                format!(
                    "the query parameters cannot be read: {}",
                    rejection.body_text()
                ),
            )),
        }
    }
}

fn negotiation_protocol(provider_pid: &str, consumer_pid: &str) -> Protocol {
    Protocol::Negotiation {
        provider_pid: provider_pid.to_owned(),
        consumer_pid: consumer_pid.to_owned(),
    }
}

fn transfer_protocol(provider_pid: &str, consumer_pid: &str) -> Protocol {
    Protocol::Transfer {
        provider_pid: provider_pid.to_owned(),
        consumer_pid: consumer_pid.to_owned(),
    }
}

fn parse<M: wire::DspMessage>(body: &[u8], protocol: Protocol) -> DspResult<M> {
    wire::parse::<M>(body).map_err(|error| DspError::wire(protocol, error))
}

/// The path's process id must be the message's own: a message sent to one process about
/// another is refused before anything is looked up.
fn same_pid(path_pid: &str, message_pid: &str, protocol: &Protocol) -> DspResult<()> {
    if path_pid == message_pid {
        Ok(())
    } else {
        Err(DspError::bad_request(
            protocol.clone(),
            format!(
                "the process id in the path ({path_pid}) differs from the one in the message ({message_pid})"
            ),
        ))
    }
}

/// # `GET /.well-known/dspace-version`
async fn version() -> Json<wire::VersionResponse> {
    Json(wire::VersionResponse {
        protocol_versions: vec![wire::ProtocolVersion {
            version: "2025-1".into(),
            path: DSP_BASE.into(),
            binding: "HTTPS".into(),
            identifier_type: None,
            service_id: None,
            auth: None,
        }],
    })
}

#[derive(Debug, Deserialize)]
struct PageParams {
    #[serde(rename = "continuationToken")]
    continuation_token: Option<String>,
    limit: Option<u32>,
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

fn decode_offset(token: &str) -> Option<u32> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

fn page_link(state: &AppState, offset: u32, limit: u32, rel: &str) -> String {
    let token = URL_SAFE_NO_PAD.encode(format!("offset:{offset}"));
    format!(
        "<{}/catalog/request?continuationToken={token}&limit={limit}>; rel=\"{rel}\"",
        state.connector.settings().dsp_url.trim_end_matches('/')
    )
}

/// # `POST /dsp/catalog/request`
async fn catalog_request(
    State(state): State<AppState>,
    PageQuery(params): PageQuery,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Response> {
    let message: wire::CatalogRequestMessage = parse(&body, Protocol::Catalog)?;
    let offset = match &params.continuation_token {
        Some(token) => decode_offset(token).ok_or_else(|| {
            DspError::bad_request(
                Protocol::Catalog,
                "continuationToken is not one this catalog issued".into(),
            )
        })?,
        None => 0,
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let query = CatalogQuery {
        filter: message.filter,
        offset,
        limit,
    };
    let (entries, more) = state
        .connector
        .catalog(&caller, &query)
        .await
        .map_err(|error| DspError::engine(Protocol::Catalog, error))?;
    let catalog = convert::catalog(state.connector.settings(), &entries);
    let mut headers = HeaderMap::new();
    let mut links = Vec::new();
    if offset > 0 {
        links.push(page_link(
            &state,
            offset.saturating_sub(limit),
            limit,
            "previous",
        ));
    }
    if more {
        links.push(page_link(&state, offset + limit, limit, "next"));
    }
    for link in links {
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.append(header::LINK, value);
        }
    }
    Ok((headers, Json(catalog)).into_response())
}

/// # `GET /dsp/catalog/datasets/:id`
async fn dataset(
    State(state): State<AppState>,
    DspPath(id): DspPath,
    Caller(caller): Caller,
) -> DspResult<Json<wire::Dataset>> {
    let entry = state
        .connector
        .dataset(&caller, &id)
        .await
        .map_err(|error| DspError::engine(Protocol::Catalog, error))?;
    Ok(Json(convert::dataset(
        state.connector.settings(),
        &entry,
        true,
    )))
}

/// # `POST /dsp/negotiations/request`
async fn negotiation_request_initial(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<(StatusCode, Json<wire::ContractNegotiation>)> {
    let message: wire::ContractRequestMessage = parse(&body, negotiation_protocol("", ""))?;
    let protocol = negotiation_protocol("", &message.consumer_pid);
    if message.provider_pid.is_some() {
        return Err(DspError::bad_request(
            protocol,
            "an initial request carries no providerPid; answer an offer at /negotiations/:providerPid/request".into(),
        ));
    }
    let (negotiation, acked) = state
        .connector
        .on_contract_request(
            &caller,
            ContractRequestIn {
                consumer_pid: message.consumer_pid,
                provider_pid: None,
                offer: message.offer,
                callback_address: message.callback_address,
            },
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok((
        StatusCode::CREATED,
        Json(convert::negotiation_ack(&negotiation, acked)),
    ))
}

/// # `POST /dsp/negotiations/:providerPid/request`
async fn negotiation_request(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractRequestMessage = parse(&body, negotiation_protocol(&pid, ""))?;
    let protocol = negotiation_protocol(&pid, &message.consumer_pid);
    same_pid(
        &pid,
        message.provider_pid.as_deref().unwrap_or_default(),
        &protocol,
    )?;
    let (negotiation, acked) = state
        .connector
        .on_contract_request(
            &caller,
            ContractRequestIn {
                consumer_pid: message.consumer_pid,
                provider_pid: message.provider_pid,
                offer: message.offer,
                callback_address: None,
            },
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(&negotiation, acked)))
}

/// # `GET /dsp/negotiations/:providerPid`
async fn provider_negotiation(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let negotiation = state
        .connector
        .negotiation_for(&caller, Role::Provider, &pid)
        .await
        .map_err(|error| DspError::engine(negotiation_protocol(&pid, ""), error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `GET /dsp/callback/negotiations/:consumerPid`
async fn consumer_negotiation(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let negotiation = state
        .connector
        .negotiation_for(&caller, Role::Consumer, &pid)
        .await
        .map_err(|error| DspError::engine(negotiation_protocol("", &pid), error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/negotiations/:providerPid/events` (`ACCEPTED`)
async fn provider_negotiation_event(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractNegotiationEventMessage =
        parse(&body, negotiation_protocol(&pid, ""))?;
    let protocol = negotiation_protocol(&pid, &message.consumer_pid);
    same_pid(&pid, &message.provider_pid, &protocol)?;
    let finalized = message.event_type == NegotiationEventType::Finalized;
    let negotiation = state
        .connector
        .on_negotiation_event(
            &caller,
            Role::Provider,
            &pid,
            &message.consumer_pid,
            finalized,
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/callback/negotiations/:consumerPid/events` (`FINALIZED`)
async fn consumer_negotiation_event(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractNegotiationEventMessage =
        parse(&body, negotiation_protocol("", &pid))?;
    let protocol = negotiation_protocol(&message.provider_pid, &pid);
    same_pid(&pid, &message.consumer_pid, &protocol)?;
    let finalized = message.event_type == NegotiationEventType::Finalized;
    let negotiation = state
        .connector
        .on_negotiation_event(
            &caller,
            Role::Consumer,
            &pid,
            &message.provider_pid,
            finalized,
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/negotiations/:providerPid/agreement/verification`
async fn negotiation_verification(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractAgreementVerificationMessage =
        parse(&body, negotiation_protocol(&pid, ""))?;
    let protocol = negotiation_protocol(&pid, &message.consumer_pid);
    same_pid(&pid, &message.provider_pid, &protocol)?;
    let signature = agreement_signature(&body, &protocol)?;
    let negotiation = state
        .connector
        .on_verification(&caller, &pid, &message.consumer_pid, signature.as_deref())
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/negotiations/:providerPid/termination`
async fn provider_negotiation_termination(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractNegotiationTerminationMessage =
        parse(&body, negotiation_protocol(&pid, ""))?;
    let protocol = negotiation_protocol(&pid, &message.consumer_pid);
    same_pid(&pid, &message.provider_pid, &protocol)?;
    let negotiation = state
        .connector
        .on_negotiation_termination(
            &caller,
            Role::Provider,
            &pid,
            &message.consumer_pid,
            convert::first_reason(&message.reason),
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/callback/negotiations/:consumerPid/termination`
async fn consumer_negotiation_termination(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractNegotiationTerminationMessage =
        parse(&body, negotiation_protocol("", &pid))?;
    let protocol = negotiation_protocol(&message.provider_pid, &pid);
    same_pid(&pid, &message.consumer_pid, &protocol)?;
    let negotiation = state
        .connector
        .on_negotiation_termination(
            &caller,
            Role::Consumer,
            &pid,
            &message.provider_pid,
            convert::first_reason(&message.reason),
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/negotiations/offers` (a provider starts a negotiation with this consumer)
async fn negotiation_offer_initial(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<(StatusCode, Json<wire::ContractNegotiation>)> {
    let message: wire::ContractOfferMessage = parse(&body, negotiation_protocol("", ""))?;
    let protocol = negotiation_protocol(&message.provider_pid, "");
    if message.consumer_pid.is_some() {
        return Err(DspError::bad_request(
            protocol,
            "an initial offer carries no consumerPid; answer a request at the consumer's callback"
                .into(),
        ));
    }
    let (negotiation, acked) = state
        .connector
        .on_contract_offer(
            &caller,
            ContractOfferIn {
                provider_pid: message.provider_pid,
                consumer_pid: None,
                offer: message.offer,
                callback_address: message.callback_address,
            },
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok((
        StatusCode::CREATED,
        Json(convert::negotiation_ack(&negotiation, acked)),
    ))
}

/// # `POST /dsp/callback/negotiations/:consumerPid/offers`
async fn negotiation_offer(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractOfferMessage = parse(&body, negotiation_protocol("", &pid))?;
    let protocol = negotiation_protocol(&message.provider_pid, &pid);
    same_pid(
        &pid,
        message.consumer_pid.as_deref().unwrap_or_default(),
        &protocol,
    )?;
    let (negotiation, acked) = state
        .connector
        .on_contract_offer(
            &caller,
            ContractOfferIn {
                provider_pid: message.provider_pid,
                consumer_pid: message.consumer_pid,
                offer: message.offer,
                callback_address: None,
            },
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(&negotiation, acked)))
}

/// # `POST /dsp/callback/negotiations/:consumerPid/agreement`
async fn negotiation_agreement(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<Json<wire::ContractNegotiation>> {
    let message: wire::ContractAgreementMessage = parse(&body, negotiation_protocol("", &pid))?;
    let protocol = negotiation_protocol(&message.provider_pid, &pid);
    same_pid(&pid, &message.consumer_pid, &protocol)?;
    let signature = agreement_signature(&body, &protocol)?;
    let negotiation = state
        .connector
        .on_agreement(
            &caller,
            &pid,
            &message.provider_pid,
            message.agreement,
            signature.as_deref(),
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::negotiation_ack(
        &negotiation,
        negotiation.state,
    )))
}

/// # `POST /dsp/transfers/request`
async fn transfer_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> DspResult<(StatusCode, Json<wire::TransferProcess>)> {
    let message: wire::TransferRequestMessage = parse(&body, transfer_protocol("", ""))?;
    let protocol = transfer_protocol("", &message.consumer_pid);
    let push_endpoint = match &message.data_address {
        Some(address) => Some(
            convert::http_address(address)
                .map_err(|reason| DspError::bad_request(protocol.clone(), reason))?,
        ),
        None => None,
    };
    let (transfer, acked) = state
        .connector
        .on_transfer_request(
            &caller,
            TransferRequestIn {
                consumer_pid: message.consumer_pid,
                agreement_id: message.agreement_id,
                format: message.format,
                push_endpoint,
                callback_address: message.callback_address,
            },
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok((
        StatusCode::CREATED,
        Json(convert::transfer_ack(&transfer, acked)),
    ))
}

/// # `GET /dsp/transfers/:providerPid`
async fn provider_transfer(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
) -> DspResult<Json<wire::TransferProcess>> {
    let transfer = state
        .connector
        .transfer_for(&caller, Role::Provider, &pid)
        .await
        .map_err(|error| DspError::engine(transfer_protocol(&pid, ""), error))?;
    Ok(Json(convert::transfer_ack(&transfer, transfer.state)))
}

/// # `GET /dsp/callback/transfers/:consumerPid`
async fn consumer_transfer(
    State(state): State<AppState>,
    DspPath(pid): DspPath,
    Caller(caller): Caller,
) -> DspResult<Json<wire::TransferProcess>> {
    let transfer = state
        .connector
        .transfer_for(&caller, Role::Consumer, &pid)
        .await
        .map_err(|error| DspError::engine(transfer_protocol("", &pid), error))?;
    Ok(Json(convert::transfer_ack(&transfer, transfer.state)))
}

/// The shared body of the eight transfer-message endpoints: parse, check the path, apply.
async fn transfer_message<M, F>(
    state: AppState,
    role: Role,
    pid: String,
    caller: Caller,
    body: Bytes,
    message_kind: TransferMessage,
    fields: F,
) -> DspResult<Json<wire::TransferProcess>>
where
    M: wire::DspMessage,
    F: FnOnce(&M) -> (String, String, Option<wire::DataAddress>, Option<String>),
{
    let unknown = match role {
        Role::Provider => transfer_protocol(&pid, ""),
        Role::Consumer => transfer_protocol("", &pid),
    };
    let message: M = parse(&body, unknown)?;
    let (provider_pid, consumer_pid, address, reason) = fields(&message);
    let protocol = transfer_protocol(&provider_pid, &consumer_pid);
    let (own, other) = match role {
        Role::Provider => (provider_pid, consumer_pid),
        Role::Consumer => (consumer_pid, provider_pid),
    };
    same_pid(&pid, &own, &protocol)?;
    let address = match address {
        Some(address) => Some(
            convert::http_address(&address)
                .map_err(|reason| DspError::bad_request(protocol.clone(), reason))?,
        ),
        None => None,
    };
    let transfer = state
        .connector
        .on_transfer_message(
            &caller.0,
            role,
            TransferMessageIn {
                own_pid: pid,
                other_pid: other,
                message: message_kind,
                address,
                reason,
            },
        )
        .await
        .map_err(|error| DspError::engine(protocol, error))?;
    Ok(Json(convert::transfer_ack(&transfer, transfer.state)))
}

fn start_fields(
    m: &wire::TransferStartMessage,
) -> (String, String, Option<wire::DataAddress>, Option<String>) {
    (
        m.provider_pid.clone(),
        m.consumer_pid.clone(),
        m.data_address.clone(),
        None,
    )
}

fn completion_fields(
    m: &wire::TransferCompletionMessage,
) -> (String, String, Option<wire::DataAddress>, Option<String>) {
    (m.provider_pid.clone(), m.consumer_pid.clone(), None, None)
}

fn termination_fields(
    m: &wire::TransferTerminationMessage,
) -> (String, String, Option<wire::DataAddress>, Option<String>) {
    (
        m.provider_pid.clone(),
        m.consumer_pid.clone(),
        None,
        convert::first_reason(&m.reason),
    )
}

fn suspension_fields(
    m: &wire::TransferSuspensionMessage,
) -> (String, String, Option<wire::DataAddress>, Option<String>) {
    (
        m.provider_pid.clone(),
        m.consumer_pid.clone(),
        None,
        convert::first_reason(&m.reason),
    )
}

macro_rules! transfer_endpoint {
    ($name:ident, $role:expr, $message:ty, $kind:expr, $fields:ident) => {
        async fn $name(
            State(state): State<AppState>,
            DspPath(pid): DspPath,
            caller: Caller,
            body: Bytes,
        ) -> DspResult<Json<wire::TransferProcess>> {
            transfer_message::<$message, _>(state, $role, pid, caller, body, $kind, $fields).await
        }
    };
}

transfer_endpoint!(
    provider_transfer_start,
    Role::Provider,
    wire::TransferStartMessage,
    TransferMessage::Start,
    start_fields
);
transfer_endpoint!(
    provider_transfer_completion,
    Role::Provider,
    wire::TransferCompletionMessage,
    TransferMessage::Completion,
    completion_fields
);
transfer_endpoint!(
    provider_transfer_termination,
    Role::Provider,
    wire::TransferTerminationMessage,
    TransferMessage::Termination,
    termination_fields
);
transfer_endpoint!(
    provider_transfer_suspension,
    Role::Provider,
    wire::TransferSuspensionMessage,
    TransferMessage::Suspension,
    suspension_fields
);
transfer_endpoint!(
    consumer_transfer_start,
    Role::Consumer,
    wire::TransferStartMessage,
    TransferMessage::Start,
    start_fields
);
transfer_endpoint!(
    consumer_transfer_completion,
    Role::Consumer,
    wire::TransferCompletionMessage,
    TransferMessage::Completion,
    completion_fields
);
transfer_endpoint!(
    consumer_transfer_termination,
    Role::Consumer,
    wire::TransferTerminationMessage,
    TransferMessage::Termination,
    termination_fields
);
transfer_endpoint!(
    consumer_transfer_suspension,
    Role::Consumer,
    wire::TransferSuspensionMessage,
    TransferMessage::Suspension,
    suspension_fields
);
