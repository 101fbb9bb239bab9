//! The passport's HTTP surface: the page the QR code leads to, the passport as JSON or as a
//! verifiable SD-JWT presentation, QR codes, the resolver and the login with credentials.
//!
//! | route | what |
//! |---|---|
//! | `GET /passports/{id}` | HTML (default), JSON (`Accept: application/json` or `?format=json`), or the SD-JWT presentation (`Accept: application/dc+sd-jwt`), of the caller's view |
//! | `GET /passports/{id}/qr.svg`, `qr.png` | the QR code of the passport's public address |
//! | `GET /resolve/{battery-identifier}` | `303` to the battery's current passport |
//! | `GET /passports/login` | the login page (nonce, audience, a form for the presentation) |
//! | `GET /passports/nonce` | `{"nonce", "audience"}` for a presentation |
//! | `POST /passports/session` | a `vp+jwt` (JSON `{"presentation"}` or form) → a session (bearer token and cookie) |
//! | `POST /passports/logout` | ends the session |
//!
//! The caller's group comes from its session (cookie or `Authorization: Bearer`), never
//! from anything else in the request. Errors map to responses in one place, [`HttpError`];
//! internal errors are logged with a reference and answered without detail.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tsunagu_store::DocumentStore;
use tsunagu_trust::keys::KeyRing;
use url::Url;

use crate::access::{AccessControl, AccessError, Caller, CallerTrust};
use crate::attributes::AccessGroup;
use crate::html::{self, Lang, Page};
use crate::identifier::{BatteryIdentifier, PassportId, qr_png, qr_svg};
use crate::service::{Clock, PassportService, ServiceError, SystemClock};

/// The session cookie.
pub const SESSION_COOKIE: &str = "tsunagu_passport_session";

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The passport app: the operator's passports and who may see what.
#[derive(Clone)]
pub struct PassportApp {
    pub service: PassportService,
    pub access: AccessControl,
}

impl PassportApp {
    /// The app of the economic operator `operator_did`, signing with `keys`, serving its
    /// pages under `public_base` (also the audience of login presentations), verifying
    /// callers with `trust`.
    pub fn new(
        store: Arc<dyn DocumentStore>,
        operator_did: String,
        keys: KeyRing,
        public_base: Url,
        trust: CallerTrust,
    ) -> PassportApp {
        PassportApp::with_clock(
            store,
            operator_did,
            keys,
            public_base,
            trust,
            Arc::new(SystemClock),
        )
    }

    pub fn with_clock(
        store: Arc<dyn DocumentStore>,
        operator_did: String,
        keys: KeyRing,
        public_base: Url,
        trust: CallerTrust,
        clock: Arc<dyn Clock>,
    ) -> PassportApp {
        let audience = public_base.as_str().trim_end_matches('/').to_owned();
        PassportApp {
            service: PassportService::new(
                store.clone(),
                operator_did,
                keys,
                public_base,
                clock.clone(),
            ),
            access: AccessControl::new(store, trust, audience, clock),
        }
    }
}

/// The router of the passport app.
pub fn passport_router(app: PassportApp) -> Router {
    Router::new()
        .route("/passports/login", get(login_page))
        .route("/passports/nonce", get(nonce))
        .route("/passports/session", post(open_session))
        .route("/passports/logout", post(logout))
        .route("/passports/{id}", get(passport))
        .route("/passports/{id}/qr.svg", get(qr_svg_route))
        .route("/passports/{id}/qr.png", get(qr_png_route))
        .route("/resolve/{battery}", get(resolve))
        .with_state(app)
}

/// Every error a handler returns.
#[derive(Debug)]
pub enum HttpError {
    NotFound,
    BadRequest(String),
    Unauthorized(String),
    Forbidden(String),
    Conflict(String),
    TooManyRequests(String),
    Internal(String),
}

impl From<ServiceError> for HttpError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(_) => HttpError::NotFound,
            ServiceError::Model(_)
            | ServiceError::Identifier(_)
            | ServiceError::InvalidReading(_)
            | ServiceError::Lifecycle(_) => HttpError::BadRequest(error.to_string()),
            ServiceError::Duplicate(_) | ServiceError::Conflict => {
                HttpError::Conflict(error.to_string())
            }
            other => HttpError::Internal(other.to_string()),
        }
    }
}

impl From<AccessError> for HttpError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::Presentation(_) | AccessError::Nonce => {
                HttpError::Unauthorized(error.to_string())
            }
            AccessError::NotEntitled => HttpError::Forbidden(error.to_string()),
            AccessError::TooManyNonces => HttpError::TooManyRequests(error.to_string()),
            AccessError::Store(e) => HttpError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            HttpError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            HttpError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            HttpError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m),
            HttpError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            HttpError::Conflict(m) => (StatusCode::CONFLICT, m),
            HttpError::TooManyRequests(m) => (StatusCode::TOO_MANY_REQUESTS, m),
            HttpError::Internal(detail) => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %detail, "passport request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error (reference {reference})"),
                )
            }
        };
        (status, Json(json!({"error": message}))).into_response()
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    lang: Option<String>,
    format: Option<String>,
}

fn parse_id(text: &str) -> Result<PassportId, HttpError> {
    PassportId::parse(text).map_err(|_| HttpError::NotFound)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_owned())
        })
}

/// The caller: from a bearer token (which must be valid) or the session cookie (which falls
/// back to the public view when stale).
async fn caller(app: &PassportApp, headers: &HeaderMap) -> Result<Option<Caller>, HttpError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                HttpError::Unauthorized("Authorization must be a Bearer token".into())
            })?;
        return match app.access.caller(token.trim()).await? {
            Some(caller) => Ok(Some(caller)),
            None => Err(HttpError::Unauthorized("unknown or expired session".into())),
        };
    }
    match cookie_token(headers) {
        Some(token) => Ok(app.access.caller(&token).await?),
        None => Ok(None),
    }
}

enum Format {
    Html,
    Json,
    SdJwt,
}

fn format(headers: &HeaderMap, query: Option<&str>) -> Format {
    match query {
        Some("json") => return Format::Json,
        Some("sd-jwt") => return Format::SdJwt,
        Some("html") => return Format::Html,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("text/html") {
        Format::Html
    } else if accept.contains("application/dc+sd-jwt") {
        Format::SdJwt
    } else if accept.contains("application/json") {
        Format::Json
    } else {
        Format::Html
    }
}

fn common_headers(response: &mut Response, personal: bool) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if personal {
            "private, no-store"
        } else {
            "public, max-age=60"
        }),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Language, Cookie, Authorization"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
}

/// # `GET /passports/{id}`
async fn passport(
    State(app): State<PassportApp>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let id = parse_id(&id)?;
    let caller = caller(&app, &headers).await?;
    let group = caller.as_ref().map_or(AccessGroup::Public, |c| c.group);
    let (stored, view) = app
        .service
        .view(id, group)
        .await?
        .ok_or(HttpError::NotFound)?;
    let group_header = HeaderValue::from_static(group.as_str());
    let mut response = match format(&headers, query.format.as_deref()) {
        Format::Json => Json(&view.passport).into_response(),
        Format::SdJwt => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/dc+sd-jwt"),
            )],
            view.presentation.clone(),
        )
            .into_response(),
        Format::Html => {
            let lang = Lang::choose(
                query.lang.as_deref(),
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            );
            let readings = if view.passport.pointer("/performance/dynamic").is_some() {
                app.service.readings(id).await?
            } else {
                Vec::new()
            };
            let body = html::render(&Page {
                lang,
                passport: &stored,
                view: &view,
                readings: &readings,
                caller: caller.as_ref(),
                operator_did: app.service.operator_did(),
            });
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                body,
            )
                .into_response()
        }
    };
    response
        .headers_mut()
        .insert("x-access-group", group_header);
    common_headers(&mut response, caller.is_some());
    Ok(response)
}

async fn existing(app: &PassportApp, id: &str) -> Result<PassportId, HttpError> {
    let id = parse_id(id)?;
    app.service.passport(id).await?.ok_or(HttpError::NotFound)?;
    Ok(id)
}

/// # `GET /passports/{id}/qr.svg`
async fn qr_svg_route(
    State(app): State<PassportApp>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let id = existing(&app, &id).await?;
    let svg =
        qr_svg(&app.service.public_url(id)).map_err(|e| HttpError::Internal(e.to_string()))?;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        )],
        svg,
    )
        .into_response();
    common_headers(&mut response, false);
    Ok(response)
}

/// # `GET /passports/{id}/qr.png`
async fn qr_png_route(
    State(app): State<PassportApp>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let id = existing(&app, &id).await?;
    let png =
        qr_png(&app.service.public_url(id)).map_err(|e| HttpError::Internal(e.to_string()))?;
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        png,
    )
        .into_response();
    common_headers(&mut response, false);
    Ok(response)
}

/// # `GET /resolve/{battery-identifier}`
async fn resolve(
    State(app): State<PassportApp>,
    Path(battery): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, HttpError> {
    let battery =
        BatteryIdentifier::parse(&battery).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    let passport = app
        .service
        .resolve(&battery)
        .await?
        .ok_or(HttpError::NotFound)?;
    let mut target = format!("/passports/{}", passport.id);
    if let Some(lang @ ("en" | "ja")) = query.lang.as_deref() {
        target.push_str(&format!("?lang={lang}"));
    }
    Ok(Redirect::to(&target).into_response())
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

/// A passport id to go back to after login, or none (never an arbitrary address).
fn safe_next(next: Option<&str>) -> Option<PassportId> {
    next.and_then(|n| PassportId::parse(n).ok())
}

/// # `GET /passports/login`
async fn login_page(
    State(app): State<PassportApp>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let lang = Lang::choose(
        query.lang.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let nonce = app.access.nonce().await?;
    let next = safe_next(query.next.as_deref()).map(|id| id.to_string());
    let body = html::login_page(lang, &nonce, app.access.audience(), next.as_deref(), None);
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    common_headers(&mut response, true);
    Ok(response)
}

/// # `GET /passports/nonce`
async fn nonce(State(app): State<PassportApp>) -> Result<Response, HttpError> {
    let nonce = app.access.nonce().await?;
    let mut response =
        Json(json!({"nonce": nonce, "audience": app.access.audience()})).into_response();
    common_headers(&mut response, true);
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct SessionRequest {
    presentation: String,
    #[serde(default)]
    next: Option<String>,
}

fn session_cookie(app: &PassportApp, token: &str, max_age: i64) -> HeaderValue {
    let secure = if app.service.public_base().scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// # `POST /passports/session`
async fn open_session(
    State(app): State<PassportApp>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, HttpError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let request: SessionRequest = if form {
        let mut presentation = None;
        let mut next = None;
        for (name, value) in url::form_urlencoded::parse(&body) {
            match name.as_ref() {
                "presentation" => presentation = Some(value.into_owned()),
                "next" => next = Some(value.into_owned()),
                _ => {}
            }
        }
        SessionRequest {
            presentation: presentation.ok_or_else(|| {
                HttpError::BadRequest("expected the form field presentation".into())
            })?,
            next,
        }
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            HttpError::BadRequest("expected {\"presentation\": \"<vp+jwt>\"}".into())
        })?
    };
    let session = match app.access.login(request.presentation.trim()).await {
        Ok(session) => session,
        // A person at the login form gets the form again, with the reason and a new nonce.
        Err(error) if form => {
            let status = match HttpError::from(error) {
                HttpError::Forbidden(_) => StatusCode::FORBIDDEN,
                HttpError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                other => return Err(other),
            };
            let lang = Lang::choose(
                None,
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            );
            let next = safe_next(request.next.as_deref()).map(|id| id.to_string());
            let reason = match status {
                StatusCode::FORBIDDEN => "These credentials give no access beyond the public view.",
                _ => {
                    "The presentation could not be verified (audience, nonce, signature or credentials)."
                }
            };
            let body = html::login_page(
                lang,
                &app.access.nonce().await?,
                app.access.audience(),
                next.as_deref(),
                Some(reason),
            );
            let mut response = (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                body,
            )
                .into_response();
            common_headers(&mut response, true);
            return Ok(response);
        }
        Err(error) => return Err(error.into()),
    };
    let max_age = crate::access::SESSION_LIFETIME.num_seconds();
    let cookie = session_cookie(&app, &session.token, max_age);
    let mut response = if form {
        let target = match safe_next(request.next.as_deref()) {
            Some(id) => format!("/passports/{id}"),
            None => "/passports/login".to_owned(),
        };
        Redirect::to(&target).into_response()
    } else {
        Json(json!({
            "token": session.token,
            "token_type": "Bearer",
            "group": session.caller.group,
            "holder": session.caller.did,
            "expires_at": session.caller.expires_at,
        }))
        .into_response()
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    common_headers(&mut response, true);
    Ok(response)
}

/// # `POST /passports/logout`
async fn logout(State(app): State<PassportApp>, headers: HeaderMap) -> Result<Response, HttpError> {
    if let Some(token) = cookie_token(&headers) {
        app.access.logout(&token).await?;
    }
    let mut response = Redirect::to("/passports/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&app, "", 0));
    Ok(response)
}
