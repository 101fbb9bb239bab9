//! The PACT v3 REST API of one company, over its `PcfService`: `POST /auth/token` (OAuth2
//! client credentials, the client authenticated with HTTP Basic or in the form body),
//! `GET /.well-known/openid-configuration` (its `token_endpoint`), `GET /3/footprints`
//! (filters, `limit`, and a `Link: <…>; rel="next"` header while more follows),
//! `GET /3/footprints/{id}` and `POST /3/events` (CloudEvents). Errors are PACT's
//! `{code, message}` bodies with the statuses of the specification's table; the token
//! endpoint answers errors as RFC 6749 does (`{error, error_description}`).
//!
//! A `RequestCreatedEvent` is answered with 200 at once and later by a
//! `RequestFulfilledEvent` (the footprints matching its criteria) or a
//! `RequestRejectedEvent` (none match), POSTed to the requester's `source`. The answer is
//! stored as owed before it is sent and retried with exponential backoff for up to 72
//! hours, as the specification advises; `resume_owed_events` picks owed answers up after a
//! restart. A `source` must be an `https` URL (`http` on loopback only when the settings
//! allow it), so that the API cannot be made to post to arbitrary internal addresses.
//! Answers carry no access token: tsunagu holds no credentials for the requester's host.
//!
//! Handlers are thin: check the request, ask the service, render. Internal errors are
//! logged with an id and answered as `InternalError` without their text.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::{
    CloudEvent, ErrorCode, EventError, FootprintCriteria, PactEvent, ProductFootprint,
    REQUEST_FULFILLED_EVENT, REQUEST_REJECTED_EVENT,
};
use crate::service::{OwedPactEvent, PactAuthError, PactClient, PcfService, ServiceError};

/// How the PACT API presents itself and answers requests.
#[derive(Clone)]
pub struct PactApiSettings {
    /// The address clients reach the API at (`https://pcf.example.com`). Its scheme is used
    /// for the discovery document and pagination links, whose host is the request's `Host`
    /// as the specification demands; without it, `https` and the `Host` header.
    pub public_base_url: Option<String>,
    pub token_lifetime: Duration,
    /// The most footprints one page holds, whatever `limit` asks.
    pub max_page_size: usize,
    /// The client event answers are sent with.
    pub callback_client: reqwest::Client,
    /// Whether a requester's `source` may be a plain `http` URL on a loopback address (a
    /// conformance suite on the same machine); never other plain-HTTP targets.
    pub allow_loopback_http_callbacks: bool,
}

impl PactApiSettings {
    pub fn new(callback_client: reqwest::Client) -> PactApiSettings {
        PactApiSettings {
            public_base_url: None,
            token_lifetime: Duration::from_secs(3600),
            max_page_size: 100,
            callback_client,
            allow_loopback_http_callbacks: false,
        }
    }
}

#[derive(Clone)]
struct Api {
    service: PcfService,
    settings: PactApiSettings,
}

/// The PACT API of the company `service` serves. It has no fallback, so that it merges
/// with the other routers of the same listener.
pub fn pact_router(service: PcfService, settings: PactApiSettings) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/auth/token", post(token))
        .route("/3/footprints", get(list_footprints))
        .route("/3/footprints/{id}", get(get_footprint))
        .route("/3/events", post(events))
        .route("/3/{*rest}", any(unknown_action))
        .with_state(Api { service, settings })
}

/// A PACT error response.
#[derive(Debug)]
struct PactError {
    code: ErrorCode,
    message: String,
}

impl PactError {
    fn new(code: ErrorCode, message: impl Into<String>) -> PactError {
        PactError {
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> PactError {
        PactError::new(ErrorCode::BadRequest, message)
    }

    fn internal(error: impl std::fmt::Display) -> PactError {
        let id = Uuid::new_v4();
        tracing::error!(error_id = %id, %error, "PACT API request failed");
        PactError::new(
            ErrorCode::InternalError,
            format!("An internal error occurred (error id {id})"),
        )
    }
}

impl From<ServiceError> for PactError {
    fn from(error: ServiceError) -> PactError {
        PactError::internal(error)
    }
}

impl IntoResponse for PactError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"code": self.code, "message": self.message});
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `scheme://host` of the request, as the client addressed it.
fn request_base(settings: &PactApiSettings, headers: &HeaderMap) -> String {
    let configured = settings
        .public_base_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok());
    let scheme = configured
        .as_ref()
        .map(|u| u.scheme().to_owned())
        .unwrap_or_else(|| "https".into());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match (host, configured) {
        (Some(host), _) => format!("{scheme}://{host}"),
        (None, Some(url)) => url.origin().ascii_serialization(),
        (None, None) => format!("{scheme}://localhost"),
    }
}

/// # `GET /.well-known/openid-configuration`
async fn openid_configuration(State(api): State<Api>, headers: HeaderMap) -> Response {
    let base = match &api.settings.public_base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => request_base(&api.settings, &headers),
    };
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": base,
            "token_endpoint": format!("{base}/auth/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
        }),
    )
}

/// An RFC 6749 §5.2 error of the token endpoint.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"pact\""),
        );
    }
    response
}

/// The client id and secret of an HTTP Basic header, each form-urlencoded as RFC 6749
/// §2.3.1 asks.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// # `POST /auth/token`
async fn token(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let mut form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let names: std::collections::BTreeSet<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    if names.len() != form.len() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "a parameter is repeated",
        );
    }
    let mut take = |name: &str| {
        form.iter()
            .position(|(k, _)| k == name)
            .map(|i| form.remove(i).1)
    };
    let grant_type = take("grant_type");
    let body_id = take("client_id");
    let body_secret = take("client_secret");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(basic_credentials);
    let (client_id, secret) = match (basic, body_id, body_secret) {
        (Some(Some(credentials)), None, None) => credentials,
        (Some(None), _, _) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "the Authorization header is not HTTP Basic client authentication",
            );
        }
        (None, Some(id), Some(secret)) => (id, secret),
        (Some(Some(_)), _, _) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the client authenticates one way only: HTTP Basic or the request body",
            );
        }
        (None, _, _) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication is missing",
            );
        }
    };
    match grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only the client_credentials grant is supported",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing",
            );
        }
    }
    let lifetime = chrono::Duration::from_std(api.settings.token_lifetime)
        .unwrap_or(chrono::Duration::hours(1));
    match api
        .service
        .issue_pact_token(&client_id, &secret, lifetime)
        .await
    {
        Ok(Ok(issued)) => {
            let body = json!({
                "access_token": issued.access_token,
                "token_type": "bearer",
                "expires_in": issued.expires_in.num_seconds(),
            });
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                    (header::PRAGMA, "no-cache"),
                ],
                body.to_string(),
            )
                .into_response()
        }
        Ok(Err(_)) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Authentication failed",
        ),
        Err(error) => {
            let id = Uuid::new_v4();
            tracing::error!(error_id = %id, %error, "PACT token request failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &format!("An internal error occurred (error id {id})"),
            )
        }
    }
}

/// The client a request's bearer token belongs to.
async fn authorize(api: &Api, headers: &HeaderMap) -> Result<PactClient, PactError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(PactError::bad_request("An access token is required"));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| PactError::bad_request("The Authorization header is not a bearer token"))?;
    match api.service.pact_client_for_token(token).await? {
        Ok(client) => Ok(client),
        Err(PactAuthError::TokenExpired) => Err(PactError::new(
            ErrorCode::TokenExpired,
            "The specified access token has expired",
        )),
        Err(_) => Err(PactError::bad_request("The access token is invalid")),
    }
}

/// The query of `ListFootprints`, checked.
struct ListQuery {
    criteria: FootprintCriteria,
    limit: Option<usize>,
    offset: usize,
    /// The filter parameters as given, for the next page's link.
    filters: Vec<(String, String)>,
}

fn date_parameter(name: &str, value: &str) -> Result<DateTime<Utc>, PactError> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| PactError::bad_request(format!("{name} must be an RFC 3339 date-time")))
}

fn parse_list_query(query: Option<&str>) -> Result<ListQuery, PactError> {
    let mut parsed = ListQuery {
        criteria: FootprintCriteria::default(),
        limit: None,
        offset: 0,
        filters: Vec::new(),
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let mut singles = std::collections::BTreeSet::new();
    for (name, value) in pairs {
        let single = matches!(
            name.as_str(),
            "validOn" | "validAfter" | "validBefore" | "status" | "limit" | "offset"
        );
        if single && !singles.insert(name.clone()) {
            return Err(PactError::bad_request(format!("{name} may be given once")));
        }
        let is_filter = !matches!(name.as_str(), "limit" | "offset");
        if is_filter {
            parsed.filters.push((name.clone(), value.clone()));
        }
        // An empty value asks for nothing in particular.
        if value.is_empty() && is_filter {
            continue;
        }
        let criteria = &mut parsed.criteria;
        match name.as_str() {
            "productId" => criteria.product_id.push(value),
            "companyId" => criteria.company_id.push(value),
            "geography" => criteria.geography.push(value),
            "classification" => criteria.classification.push(value),
            "validOn" => criteria.valid_on = Some(date_parameter(&name, &value)?),
            "validAfter" => criteria.valid_after = Some(date_parameter(&name, &value)?),
            "validBefore" => criteria.valid_before = Some(date_parameter(&name, &value)?),
            "status" => criteria.status = Some(value),
            "limit" => match value.parse::<usize>() {
                Ok(limit) if limit > 0 => parsed.limit = Some(limit),
                _ => return Err(PactError::bad_request("limit must be a positive integer")),
            },
            "offset" => {
                parsed.offset = value
                    .parse()
                    .map_err(|_| PactError::bad_request("offset must be a whole number"))?
            }
            "$filter" => {
                return Err(PactError::new(
                    ErrorCode::NotImplemented,
                    "OData $filter was deprecated in PACT 3.0; use the filter parameters",
                ));
            }
            // Implementor-specific criteria; this host defines none and ignores others'.
            other if other.starts_with("x-") => {}
            other => {
                return Err(PactError::bad_request(format!(
                    "unknown query parameter {other:?}"
                )));
            }
        }
    }
    Ok(parsed)
}

/// # `GET /3/footprints`
async fn list_footprints(
    State(api): State<Api>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PactError> {
    let client = authorize(&api, &headers).await?;
    let query = parse_list_query(query.as_deref())?;
    let matching: Vec<ProductFootprint> = api
        .service
        .pact_footprints(&client)
        .await?
        .into_iter()
        .filter(|f| query.criteria.matches(f))
        .collect();
    let page_size = query
        .limit
        .unwrap_or(api.settings.max_page_size)
        .min(api.settings.max_page_size)
        .max(1);
    let page: Vec<&ProductFootprint> = matching.iter().skip(query.offset).take(page_size).collect();
    let next = query.offset.saturating_add(page.len());
    let mut response = json_response(StatusCode::OK, &json!({ "data": page }));
    if next < matching.len() && !page.is_empty() {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &query.filters {
            link.append_pair(name, value);
        }
        if let Some(limit) = query.limit {
            link.append_pair("limit", &limit.to_string());
        }
        link.append_pair("offset", &next.to_string());
        let target = format!(
            "<{}/3/footprints?{}>; rel=\"next\"",
            request_base(&api.settings, &headers),
            link.finish()
        );
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// # `GET /3/footprints/{id}`
async fn get_footprint(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PactError> {
    let client = authorize(&api, &headers).await?;
    let id =
        Uuid::parse_str(&id).map_err(|_| PactError::bad_request("a footprint id is a UUID"))?;
    let footprint = api
        .service
        .pact_footprints(&client)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| {
            PactError::new(
                ErrorCode::NotFound,
                "The specified footprint does not exist",
            )
        })?;
    Ok(json_response(StatusCode::OK, &json!({ "data": footprint })))
}

/// # `/3/…` that is no action of the specification.
async fn unknown_action() -> PactError {
    PactError::new(
        ErrorCode::NotImplemented,
        "The specified Action is not implemented",
    )
}

/// Where a `RequestCreatedEvent`'s answer goes: its `source`, which must be an `https` URL
/// (or `http` on loopback when allowed); a source without a path names the host whose
/// Action Events endpoint is `/3/events`.
pub(crate) fn callback_url(source: &str, allow_loopback_http: bool) -> Result<url::Url, String> {
    let absolute = match source.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => source.to_owned(),
    };
    let mut url = url::Url::parse(&absolute).map_err(|_| "source is not a URL".to_owned())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("source must not carry credentials".into());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("source has no host".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && loopback => {}
        _ => return Err("source must be an https URL".into()),
    }
    url.set_fragment(None);
    if url.path().is_empty() || url.path() == "/" {
        url.set_path("/3/events");
    }
    Ok(url)
}

/// # `POST /3/events`
async fn events(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PactError> {
    let client = authorize(&api, &headers).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if content_type != "application/cloudevents+json" && content_type != "application/json" {
        return Err(PactError::bad_request(
            "events are CloudEvents in structured mode: application/cloudevents+json",
        ));
    }
    let (event, parsed) = CloudEvent::parse(&body).map_err(|error| match error {
        EventError::Malformed(text) => PactError::bad_request(text),
        unknown @ EventError::UnknownType(_) => {
            PactError::new(ErrorCode::NotImplemented, unknown.to_string())
        }
    })?;
    let answer_to = match &parsed {
        PactEvent::RequestCreated { .. } => Some(
            callback_url(&event.source, api.settings.allow_loopback_http_callbacks)
                .map_err(PactError::bad_request)?,
        ),
        _ => None,
    };
    let recorded = serde_json::to_value(&event).map_err(PactError::internal)?;
    api.service
        .record_pact_event(&client.client_id, &recorded)
        .await?;
    if let (PactEvent::RequestCreated { criteria, .. }, Some(url)) = (parsed, answer_to) {
        let own_source = format!("{}/3/events", request_base(&api.settings, &headers));
        tokio::spawn(answer_request(
            api.clone(),
            client,
            event.id,
            criteria,
            url,
            own_source,
        ));
    }
    Ok(StatusCode::OK.into_response())
}

/// Decides a footprint request and sends the answer.
async fn answer_request(
    api: Api,
    client: PactClient,
    request_event_id: String,
    criteria: FootprintCriteria,
    url: url::Url,
    own_source: String,
) {
    let footprints = match api.service.pact_footprints(&client).await {
        Ok(all) => all
            .into_iter()
            .filter(|f| criteria.matches(f))
            .collect::<Vec<_>>(),
        Err(error) => {
            tracing::error!(%error, "cannot read footprints to answer a PACT request");
            return;
        }
    };
    let (event_type, data) = if footprints.is_empty() {
        (
            REQUEST_REJECTED_EVENT,
            json!({
                "requestEventId": request_event_id,
                "error": {
                    "code": ErrorCode::NotFound,
                    "message": "No footprint matches the criteria of the request",
                },
            }),
        )
    } else {
        (
            REQUEST_FULFILLED_EVENT,
            json!({"requestEventId": request_event_id, "pfs": footprints}),
        )
    };
    let event = json!({
        "type": event_type,
        "specversion": "1.0",
        "id": Uuid::new_v4().to_string(),
        "source": own_source,
        "time": api.service.now(),
        "data": data,
    });
    match api.service.owe_pact_event(url.as_str(), event).await {
        Ok(owed) => deliver(api, owed).await,
        Err(error) => tracing::error!(%error, "cannot record a PACT event answer"),
    }
}

/// How long answers are retried, as the specification advises.
const GIVE_UP_AFTER: Duration = Duration::from_secs(72 * 3600);

/// Posts an owed answer until the requester accepts it (any 2xx) or 72 hours passed.
async fn deliver(api: Api, owed: OwedPactEvent) {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let sent = api
            .settings
            .callback_client
            .post(&owed.url)
            .header(
                header::CONTENT_TYPE,
                "application/cloudevents+json; charset=UTF-8",
            )
            .body(owed.event.to_string())
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                if let Err(error) = api.service.pact_event_settled(&owed.id).await {
                    tracing::warn!(%error, "delivered PACT event answer not marked as settled");
                }
                return;
            }
            Ok(response) => {
                tracing::warn!(url = %owed.url, status = %response.status(), "PACT event answer refused");
            }
            Err(error) => {
                tracing::warn!(url = %owed.url, %error, "PACT event answer not delivered");
            }
        }
        if let Err(error) = api.service.pact_event_attempted(&owed.id).await {
            tracing::warn!(%error, "cannot count a PACT event delivery attempt");
        }
        if started.elapsed() + delay > GIVE_UP_AFTER {
            tracing::warn!(url = %owed.url, "giving up on a PACT event answer after 72 hours");
            let _ = api.service.pact_event_settled(&owed.id).await;
            return;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3600));
    }
}

/// Sends the event answers still owed (after a restart), each in its own task.
pub async fn resume_owed_events(service: PcfService, settings: PactApiSettings) -> usize {
    let owed = match service.owed_pact_events().await {
        Ok(owed) => owed,
        Err(error) => {
            tracing::error!(%error, "cannot read owed PACT event answers");
            return 0;
        }
    };
    let count = owed.len();
    let api = Api { service, settings };
    for event in owed {
        tokio::spawn(deliver(api.clone(), event));
    }
    count
}
