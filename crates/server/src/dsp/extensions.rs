//! tsunagu's extensions beside the DSP endpoints, for authenticated partners.
//!
//! `POST <dsp>/ledger/add-checkpoint` (and the same below the callback address): a partner
//! asks this connector to cosign its latest checkpoint, as C2SP tlog-witness defines the
//! request and its answers. The caller is authenticated like every DSP caller; the engine
//! checks that the checkpoint is the caller's own.
//!
//! `POST <dsp>/ledger/history` (and below the callback address) answers a partner with the log
//! entries that concern it, each with an inclusion proof, and the signed checkpoint.
//!
//! `GET <dsp>/contractterms/{sha256}` gives a party named in a contract text the text.
//!
//! Answers are plain text, as tlog-witness has them: 200 with the cosignature line, 409 with
//! the size of the checkpoint held (`text/x.tlog.size`), 400 malformed, 403 not the caller's
//! checkpoint or key, 404 not witnessing, 422 not consistent with what is held.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tsunagu_engine::WitnessRefusal;

use crate::AppState;
use crate::auth::Caller;

/// The largest request accepted: a checkpoint note and a proof are a few kilobytes.
const MAX_REQUEST: usize = 64 * 1024;

pub(super) async fn add_checkpoint(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Response {
    if body.len() > MAX_REQUEST {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n".into());
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        return text(StatusCode::BAD_REQUEST, "request is not UTF-8\n".into());
    };
    match state.connector.witness_add_checkpoint(&caller, body).await {
        Ok(cosignature) => text(StatusCode::OK, cosignature),
        Err(WitnessRefusal::HeldSize(size)) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Err(refusal) => {
            let status = match &refusal {
                WitnessRefusal::NotWitnessing => StatusCode::NOT_FOUND,
                WitnessRefusal::Malformed(_) => StatusCode::BAD_REQUEST,
                WitnessRefusal::Unverified(_) => StatusCode::FORBIDDEN,
                WitnessRefusal::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
                WitnessRefusal::HeldSize(_) => StatusCode::CONFLICT,
                WitnessRefusal::Engine(error) => {
                    tracing::error!(%error, "add-checkpoint failed");
                    return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into());
                }
            };
            text(status, format!("{refusal}\n"))
        }
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The largest history query accepted.
const MAX_QUERY: usize = 16 * 1024;

pub(super) async fn history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Response {
    if body.len() > MAX_QUERY {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n".into());
    }
    let query: tsunagu_engine::HistoryQuery = if body.is_empty() {
        Default::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(query) => query,
            Err(error) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("not a history query: {error}\n"),
                );
            }
        }
    };
    match state.connector.history_for_partner(&caller, query).await {
        Ok(history) => axum::Json(history).into_response(),
        Err(tsunagu_engine::EngineError::NotFound) => text(
            StatusCode::NOT_FOUND,
            "this connector keeps no log\n".into(),
        ),
        Err(error) => {
            tracing::error!(%error, "history query failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// `GET <dsp>/contractterms/{sha256}`: a contract text this connector keeps, for the parties
/// it names.
pub(super) async fn contract_text(
    State(state): State<AppState>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
    Caller(caller): Caller,
) -> Response {
    match state.connector.contract_text_for(&caller, &sha256).await {
        Ok(contract) => axum::Json(contract).into_response(),
        Err(tsunagu_engine::EngineError::NotFound) => {
            text(StatusCode::NOT_FOUND, "no such contract text\n".into())
        }
        Err(error) => {
            tracing::error!(%error, "contract text lookup failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}
