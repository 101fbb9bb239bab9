//! `/management/v3/ledger`: the connector's transaction log (a tsunagu extension): the latest
//! signed checkpoint, the entries, and inclusion and consistency proofs, so that the company
//! and its auditors can check that its records were not edited afterwards.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Authorized;
use super::error::ManagementError;
use crate::AppState;

/// # `GET /management/v3/ledger/checkpoint`
///
/// The latest checkpoint as a C2SP signed note (`text/plain`).
pub(crate) async fn checkpoint(
    _: Authorized,
    State(state): State<AppState>,
) -> Result<Response, ManagementError> {
    let note = state.connector.ledger_checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

#[derive(Deserialize)]
pub(crate) struct EntriesQuery {
    from: Option<u64>,
    limit: Option<u32>,
}

/// # `GET /management/v3/ledger/entries?from=&limit=`
pub(crate) async fn entries(
    _: Authorized,
    State(state): State<AppState>,
    Query(query): Query<EntriesQuery>,
) -> Result<Json<Value>, ManagementError> {
    let from = query.from.unwrap_or(0);
    let limit = query.limit.unwrap_or(1000).clamp(1, 10_000);
    let entries = state.connector.ledger_entries(from, limit).await?;
    let size = state.connector.ledger_size().await?;
    Ok(Json(
        json!({"size": size, "from": from, "entries": entries}),
    ))
}

#[derive(Deserialize)]
pub(crate) struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// # `GET /management/v3/ledger/proofs/inclusion?index=&size=`
pub(crate) async fn inclusion(
    _: Authorized,
    State(state): State<AppState>,
    Query(query): Query<InclusionQuery>,
) -> Result<Json<Value>, ManagementError> {
    let size = match query.size {
        Some(size) => size,
        None => state.connector.ledger_size().await?,
    };
    let proof = state
        .connector
        .ledger_inclusion_proof(query.index, size)
        .await?;
    Ok(Json(json!({"index": query.index, "proof": proof})))
}

#[derive(Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// # `GET /management/v3/ledger/proofs/consistency?from=&to=`
pub(crate) async fn consistency(
    _: Authorized,
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<Json<Value>, ManagementError> {
    let to = match query.to {
        Some(to) => to,
        None => state.connector.ledger_size().await?,
    };
    let proof = state
        .connector
        .ledger_consistency_proof(query.from, to)
        .await?;
    Ok(Json(json!({"from": query.from, "proof": proof})))
}

/// # `GET /management/v3/ledger/cosignatures`
///
/// Our checkpoints that partners cosigned, the latest per partner: what an auditor hands to
/// `tsunagu verify --cosigned`.
pub(crate) async fn cosignatures(
    _: Authorized,
    State(state): State<AppState>,
) -> Result<Json<Value>, ManagementError> {
    let held = state.connector.cosigned_checkpoints().await?;
    Ok(Json(json!({ "cosigned": held })))
}

/// # `GET /management/v3/ledger/witnessed`
///
/// Partners' checkpoints this connector cosigned, the latest per partner.
pub(crate) async fn witnessed(
    _: Authorized,
    State(state): State<AppState>,
) -> Result<Json<Value>, ManagementError> {
    let held = state.connector.witnessed_checkpoints().await?;
    Ok(Json(json!({ "witnessed": held })))
}

/// # `GET /management/v3/ledger/witness-alarms`
///
/// Partners' checkpoints this connector refused to cosign because they do not extend the one
/// it held: evidence that the partner's log was forked or rewritten.
pub(crate) async fn witness_alarms(
    _: Authorized,
    State(state): State<AppState>,
) -> Result<Json<Value>, ManagementError> {
    let alarms = state.connector.witness_alarms().await?;
    Ok(Json(json!({ "alarms": alarms })))
}

/// # `GET /management/v3/ledger/history?asset=&part=&agreement=&partner=`
///
/// What was negotiated and exchanged for an asset, a part or batch, an agreement or a partner:
/// the log entries, each with an inclusion proof against the signed checkpoint returned.
pub(crate) async fn history(
    _: Authorized,
    State(state): State<AppState>,
    Query(query): Query<tsunagu_engine::HistoryQuery>,
) -> Result<Json<tsunagu_engine::History>, ManagementError> {
    Ok(Json(state.connector.history(&query).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartnerHistoryRequest {
    /// The partner's participant id.
    partner: String,
    /// The partner's DSP address.
    address: String,
    #[serde(flatten)]
    query: tsunagu_engine::HistoryQuery,
}

/// # `POST /management/v3/ledger/partner-history`
///
/// Asks a partner's connector for its history that concerns us (`{"partner", "address",
/// "asset"?, "part"?, "agreement"?}`), and answers it only after checking the partner's
/// checkpoint signature and every proof.
pub(crate) async fn partner_history(
    _: Authorized,
    State(state): State<AppState>,
    Json(request): Json<PartnerHistoryRequest>,
) -> Result<Json<tsunagu_engine::History>, ManagementError> {
    let history = state
        .connector
        .partner_history(&request.partner, &request.address, &request.query)
        .await?;
    Ok(Json(history))
}
