//! The data plane over HTTP: `GET /data` serves a started pull transfer to the bearer of its
//! token; `POST /data` takes a message from that bearer when the transfer is for an inbox
//! asset, and `GET`, `PUT` and `POST` on `/data/<sub-path>` hand a call below the inbox's
//! data address to its app (the Catena-X PCF exchange's `/footprintExchange/{id}`);
//! `POST /data/inbox/:transferId` receives what a provider pushes. Bodies stream.

use axum::Router;
use axum::body::Body;
use axum::extract::RawQuery;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::TryStreamExt;
use tsunagu_engine::{ByteStream, EngineError, InboxCall, InboxMethod, InboxReceipt, InboxReply};

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/data", get(pull).post(post_to_inbox))
        .route("/data/inbox/{transfer_id}", post(inbox))
        .route(
            "/data/{*path}",
            get(call_inbox).put(call_inbox).post(call_inbox),
        )
}

/// Data-plane errors as `application/problem+json`. Any failure to authorise looks like
/// "not found", so a token holder learns nothing about transfers it has no right to.
struct DataError(StatusCode, String);

impl IntoResponse for DataError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.0.canonical_reason().unwrap_or("error"),
            "status": self.0.as_u16(),
            "detail": self.1,
        });
        (
            self.0,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<EngineError> for DataError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::NotFound => {
                DataError(StatusCode::NOT_FOUND, "no data for this token".into())
            }
            EngineError::Unknown(reason) => DataError(StatusCode::NOT_FOUND, reason),
            EngineError::BadRequest(reason) => DataError(StatusCode::FORBIDDEN, reason),
            EngineError::Conflict(reason) => DataError(StatusCode::CONFLICT, reason),
            other => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %other, "data plane request failed");
                DataError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error (reference {reference})"),
                )
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, DataError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                // EDC sends the bare token in `Authorization`; accept that too.
                .or(Some(value))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            DataError(
                StatusCode::UNAUTHORIZED,
                "a bearer token is required".into(),
            )
        })
}

/// # `GET /data`
async fn pull(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, DataError> {
    let token = bearer(&headers)?;
    let data = state.connector.serve_pull(token).await?;
    let mut response = Response::new(Body::from_stream(data.body));
    if let Some(media_type) = data.media_type.and_then(|m| m.parse().ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media_type);
    }
    if let Some(size) = data.size {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, size.into());
    }
    if let Some(signature) = data.signature.and_then(|jws| jws.parse().ok()) {
        response.headers_mut().insert(
            header::HeaderName::from_static("tsunagu-data-signature"),
            signature,
        );
    }
    Ok(response)
}

/// # `POST /data/inbox/:transferId`
async fn inbox(
    State(state): State<AppState>,
    Path(transfer_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, DataError> {
    let token = bearer(&headers)?.to_owned();
    let stream: ByteStream = Box::pin(body.into_data_stream().map_err(std::io::Error::other));
    let delivery = state
        .connector
        .receive_push(&transfer_id, &token, stream)
        .await?;
    Ok((
        StatusCode::OK,
        axum::Json(
            serde_json::json!({"transferId": delivery.transfer_id, "bytes": delivery.bytes}),
        ),
    )
        .into_response())
}

/// # `POST /data`
///
/// The consumer of a started pull transfer for an inbox asset posts one message.
async fn post_to_inbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, DataError> {
    let token = bearer(&headers)?.to_owned();
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let stream: ByteStream = Box::pin(body.into_data_stream().map_err(std::io::Error::other));
    let receipt = state
        .connector
        .receive_inbox_message(&token, media_type, stream)
        .await?;
    Ok(receipt_response(receipt))
}

/// # `GET | PUT | POST /data/*path`
///
/// The consumer of a started pull transfer for an inbox asset calls below its data address;
/// the path after `/data` and the query reach the inbox's app as they came.
async fn call_inbox(
    State(state): State<AppState>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, DataError> {
    let token = bearer(&headers)?.to_owned();
    let method = match method {
        Method::GET => InboxMethod::Get,
        Method::PUT => InboxMethod::Put,
        Method::POST => InboxMethod::Post,
        _ => {
            return Err(DataError(
                StatusCode::METHOD_NOT_ALLOWED,
                "an inbox takes GET, PUT and POST".into(),
            ));
        }
    };
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let call = InboxCall {
        method,
        path: format!("/{path}"),
        query,
        media_type,
    };
    let stream: ByteStream = Box::pin(body.into_data_stream().map_err(std::io::Error::other));
    let receipt = state
        .connector
        .receive_inbox_call(&token, call, stream)
        .await?;
    Ok(receipt_response(receipt))
}

fn receipt_response(receipt: InboxReceipt) -> Response {
    let status = match receipt.reply {
        InboxReply::Taken => StatusCode::OK,
        InboxReply::Accepted => StatusCode::ACCEPTED,
    };
    (
        status,
        axum::Json(serde_json::json!({"transferId": receipt.transfer_id, "bytes": receipt.bytes})),
    )
        .into_response()
}
