//! The operator's HTTP surface.
//!
//! Public: `POST /v1/applications`, `GET /v1/applications/{id}` (an applicant follows its
//! application by the unguessable id it was given), `GET /v1/participants?role=&name=`,
//! `GET /v1/participants/{did}`, `GET /status/{list}` (the status list credential),
//! `GET /.well-known/did.json`.
//! Participants: `GET /v1/credentials`, authenticated with a DCP self-issued ID token whose
//! audience is the operator's DID, returns the caller's credentials.
//! Admin (`Authorization: Bearer <admin token>`): `GET /admin/v1/applications`,
//! `POST /admin/v1/applications/{id}/approve` `{securityProfile}`,
//! `POST /admin/v1/applications/{id}/reject` `{reason}`,
//! `POST /admin/v1/participants/{id}/revoke` `{reason}`, `GET /admin/v1/audit?after=`.
//! Errors are `application/problem+json`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tsunagu_store::Page;
use tsunagu_trust::dcp::ReplayCache;
use tsunagu_trust::did::DidResolver;

use crate::model::{ApplicationForm, ChainRole};
use crate::service::{Operator, OperatorError};

/// Everything the operator's handlers share.
#[derive(Clone)]
pub struct OperatorState {
    pub operator: Operator,
    /// SHA-256 of the admin token; the token itself is not kept.
    pub admin_token_sha256: [u8; 32],
    pub resolver: Arc<dyn DidResolver>,
    pub replay: Arc<ReplayCache>,
    /// The operator's DID document, served at `/.well-known/did.json`.
    pub did_document: serde_json::Value,
}

pub fn operator_router(state: OperatorState) -> Router {
    Router::new()
        .route("/v1/applications", post(apply))
        .route("/v1/applications/{id}", get(application))
        .route("/v1/participants", get(directory))
        .route("/v1/participants/{did}", get(participant))
        .route("/v1/credentials", get(credentials))
        .route("/status/{list}", get(status_list))
        .route("/.well-known/did.json", get(did_document))
        .route("/admin/v1/applications", get(admin_applications))
        .route("/admin/v1/applications/{id}/approve", post(approve))
        .route("/admin/v1/applications/{id}/reject", post(reject))
        .route("/admin/v1/participants/{id}/revoke", post(revoke))
        .route("/admin/v1/audit", get(audit))
        .with_state(state)
}

/// A problem+json response (RFC 9457).
pub struct Problem {
    status: StatusCode,
    detail: String,
}

impl Problem {
    fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<OperatorError> for Problem {
    fn from(error: OperatorError) -> Problem {
        match error {
            OperatorError::Invalid(detail) => Problem::new(StatusCode::BAD_REQUEST, detail),
            OperatorError::NotFound(what) => {
                Problem::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            OperatorError::Conflict(detail) => Problem::new(StatusCode::CONFLICT, detail),
            internal => {
                let request_id = uuid::Uuid::new_v4();
                tracing::error!(%request_id, error = %internal, "operator request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error (request {request_id})"),
                )
            }
        }
    }
}

/// Parses a JSON body, turning every rejection into a problem document.
struct Body<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(|rejection| Problem::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
        serde_json::from_value(value).map(Body).map_err(|error| {
            Problem::new(StatusCode::BAD_REQUEST, format!("invalid body: {error}"))
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The admin's name for the audit trail, once the bearer token is checked.
fn admin(state: &OperatorState, headers: &HeaderMap) -> Result<&'static str, Problem> {
    let token = bearer(headers).ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "admin actions need Authorization: Bearer <admin token>",
        )
    })?;
    // Comparing digests keeps the comparison time independent of where the tokens differ.
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if digest != state.admin_token_sha256 {
        tracing::warn!("admin request with a wrong token refused");
        return Err(Problem::new(StatusCode::UNAUTHORIZED, "wrong admin token"));
    }
    Ok("operator-admin")
}

async fn apply(
    State(state): State<OperatorState>,
    Body(form): Body<ApplicationForm>,
) -> Result<impl IntoResponse, Problem> {
    let application = state.operator.apply(form, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(application_view(&application))))
}

/// What an applicant sees of its application: not the contact address.
fn application_view(application: &crate::model::Application) -> serde_json::Value {
    let mut value = serde_json::to_value(application).expect("applications serialise");
    if let Some(form) = value.get_mut("form").and_then(|f| f.as_object_mut()) {
        form.remove("contactEmail");
    }
    value
}

async fn application(
    State(state): State<OperatorState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let application = state.operator.application(&id).await?;
    Ok(Json(application_view(&application)))
}

#[derive(Deserialize)]
struct DirectoryQuery {
    role: Option<String>,
    name: Option<String>,
}

async fn directory(
    State(state): State<OperatorState>,
    Query(query): Query<DirectoryQuery>,
) -> Result<impl IntoResponse, Problem> {
    let role = match query.role.as_deref() {
        None | Some("") => None,
        Some(text) => Some(ChainRole::parse(text).ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown role {text:?}; roles are {}",
                    ChainRole::ALL.map(ChainRole::as_str).join(", ")
                ),
            )
        })?),
    };
    let entries = state
        .operator
        .directory(role, query.name.as_deref().filter(|n| !n.is_empty()))
        .await?;
    Ok(Json(json!({"participants": entries})))
}

async fn participant(
    State(state): State<OperatorState>,
    Path(did): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let participant = state.operator.participant_by_did(&did).await?;
    Ok(Json(participant.directory_entry()))
}

async fn credentials(
    State(state): State<OperatorState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Problem> {
    let token = bearer(&headers).ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "fetching credentials needs a self-issued ID token (Authorization: Bearer)",
        )
    })?;
    let claims = tsunagu_trust::dcp::verify_self_issued_token(
        token,
        state.operator.did(),
        state.resolver.as_ref(),
        &state.replay,
        Utc::now(),
    )
    .await
    .map_err(|error| Problem::new(StatusCode::UNAUTHORIZED, error.to_string()))?;
    let participant = state
        .operator
        .participant_by_did(&claims.iss)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::NOT_FOUND,
                format!("{} is not a participant", claims.iss),
            )
        })?;
    if participant.revoked_at.is_some() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "the participant was revoked",
        ));
    }
    let credentials: Vec<&str> = participant
        .credentials
        .iter()
        .filter(|c| !c.revoked)
        .map(|c| c.jwt.as_str())
        .collect();
    Ok(Json(json!({"credentials": credentials})))
}

async fn status_list(
    State(state): State<OperatorState>,
    Path(list): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let jwt = state
        .operator
        .status_list_credential(&list, Utc::now())
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/vc+jwt")], jwt))
}

async fn did_document(State(state): State<OperatorState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/did+json")],
        state.did_document.to_string(),
    )
}

#[derive(Deserialize)]
struct PageQuery {
    offset: Option<u32>,
    limit: Option<u32>,
}

async fn admin_applications(
    State(state): State<OperatorState>,
    headers: HeaderMap,
    Query(page): Query<PageQuery>,
) -> Result<impl IntoResponse, Problem> {
    admin(&state, &headers)?;
    let applications = state
        .operator
        .applications(Page {
            offset: page.offset.unwrap_or(0),
            limit: page.limit.unwrap_or(100).min(1000),
        })
        .await?;
    Ok(Json(json!({"applications": applications})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Approval {
    security_profile: String,
}

async fn approve(
    State(state): State<OperatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(approval): Body<Approval>,
) -> Result<impl IntoResponse, Problem> {
    let admin = admin(&state, &headers)?;
    let participant = state
        .operator
        .approve(&id, admin, &approval.security_profile, Utc::now())
        .await?;
    Ok(Json(participant.directory_entry()))
}

#[derive(Deserialize)]
struct Reason {
    reason: String,
}

async fn reject(
    State(state): State<OperatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(reason): Body<Reason>,
) -> Result<impl IntoResponse, Problem> {
    let admin = admin(&state, &headers)?;
    let application = state
        .operator
        .reject(&id, admin, &reason.reason, Utc::now())
        .await?;
    Ok(Json(application_view(&application)))
}

async fn revoke(
    State(state): State<OperatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(reason): Body<Reason>,
) -> Result<impl IntoResponse, Problem> {
    let admin = admin(&state, &headers)?;
    let participant = state
        .operator
        .revoke_participant(&id, admin, &reason.reason, Utc::now())
        .await?;
    Ok(Json(participant.directory_entry()))
}

#[derive(Deserialize)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

async fn audit(
    State(state): State<OperatorState>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> Result<impl IntoResponse, Problem> {
    admin(&state, &headers)?;
    let entries = state
        .operator
        .audit_trail(
            query.after.unwrap_or(0),
            query.limit.unwrap_or(100).min(1000),
        )
        .await?;
    let entries: Vec<_> = entries
        .into_iter()
        .map(|e| json!({"seq": e.seq, "atMs": e.at_ms, "entry": e.body}))
        .collect();
    Ok(Json(json!({"entries": entries})))
}
