//! `/management/v3/transferprocesses`: transfers in both roles, plus (a tsunagu extension) the
//! data a consumer's transfer brings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tsunagu_core::{Role, Transfer, TransferAction, TransferMode};
use tsunagu_engine::StartTransfer;

use super::auth::Authorized;
use super::data::download;
use super::error::ManagementError;
use super::jsonld::{EdcObject, RecordId, RequestBody, answer_context, id_response};
use super::query::QuerySpec;
use super::{DSP_PROTOCOL, check_protocol, role_name};
use crate::AppState;

/// # `POST /management/v3/transferprocesses`
///
/// Starts a transfer, as consumer, under an agreement. For a push transfer the provider
/// delivers into this connector's own inbox (read it with `GET .../{id}/data`), so EDC's
/// `dataDestination` is accepted and ignored, as are `assetId` (the agreement names the
/// dataset) and `callbackAddresses`.
pub(crate) async fn create(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Value>, ManagementError> {
    let start = start_transfer(&EdcObject::body(body)?)?;
    let transfer = state.connector.start_transfer(start).await?;
    Ok(Json(id_response(&transfer.id, transfer.created_at_ms)))
}

/// # `GET /management/v3/transferprocesses/{id}`
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(transfer_view(&state.connector.transfer(&id).await?)))
}

/// # `GET /management/v3/transferprocesses/{id}/state`
pub(crate) async fn get_state(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    let transfer = state.connector.transfer(&id).await?;
    Ok(Json(json!({
        "@context": answer_context(),
        "@type": "TransferState",
        "state": transfer.state.as_str(),
    })))
}

/// # `POST /management/v3/transferprocesses/{id}/suspend`
pub(crate) async fn suspend(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    RequestBody(body): RequestBody,
) -> Result<StatusCode, ManagementError> {
    let reason = EdcObject::body(body)?.required_string("reason")?;
    let action = TransferAction::SendSuspension {
        code: "suspended".into(),
        reason,
    };
    state.connector.act_on_transfer(&id, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/transferprocesses/{id}/resume`
pub(crate) async fn resume(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ManagementError> {
    state
        .connector
        .act_on_transfer(&id, TransferAction::SendStart)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/transferprocesses/{id}/terminate`
pub(crate) async fn terminate(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    RequestBody(body): RequestBody,
) -> Result<StatusCode, ManagementError> {
    let reason = EdcObject::body(body)?.required_string("reason")?;
    let action = TransferAction::SendTermination {
        code: "terminated".into(),
        reason,
    };
    state.connector.act_on_transfer(&id, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/transferprocesses/{id}/complete`
pub(crate) async fn complete(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ManagementError> {
    state
        .connector
        .act_on_transfer(&id, TransferAction::SendCompletion)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/transferprocesses/request`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Vec<Value>>, ManagementError> {
    let query = QuerySpec::from_body(body)?;
    let transfers = state.connector.transfers(query.store_page()).await?;
    Ok(Json(query.select(transfers.iter().map(transfer_view))))
}

/// # `GET /management/v3/transferprocesses/{id}/data` (tsunagu)
///
/// Consumer: the data of a started pull transfer, fetched from the provider now, or what the
/// provider pushed into this connector's inbox. Replaces EDC's EDR handling, which would hand
/// the access token to the client.
pub(crate) async fn data(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Response, ManagementError> {
    let transfer = state.connector.transfer(&id).await?;
    let data = match transfer.mode {
        TransferMode::Pull => state.connector.pull_data(&id).await?,
        TransferMode::Push => state.connector.received_data(&id).await?,
    };
    Ok(download(data))
}

fn start_transfer(body: &EdcObject) -> Result<StartTransfer, ManagementError> {
    let counter_party_address = body.required_string("counterPartyAddress")?;
    check_protocol(body)?;
    let agreement_id = body.required_string("contractId")?;
    let transfer_type = body.required_string("transferType")?;
    let mode = TransferMode::from_format(&transfer_type).ok_or_else(|| {
        ManagementError::bad_request(format!(
            "transferType {transfer_type:?} is not supported; use \"{}\" or \"{}\"",
            TransferMode::PULL_FORMAT,
            TransferMode::PUSH_FORMAT
        ))
    })?;
    Ok(StartTransfer {
        counter_party_address,
        agreement_id,
        mode,
    })
}

/// A transfer as EDC shows it. The data address and tokens are never shown.
fn transfer_view(transfer: &Transfer) -> Value {
    let correlation_id = match transfer.role {
        Role::Consumer => &transfer.provider_pid,
        Role::Provider => &transfer.consumer_pid,
    };
    let mut view = json!({
        "@context": answer_context(),
        "@type": "TransferProcess",
        "@id": transfer.id,
        "type": role_name(transfer.role),
        "protocol": DSP_PROTOCOL,
        "state": transfer.state.as_str(),
        "stateTimestamp": transfer.updated_at_ms,
        "contractId": transfer.agreement_id,
        "assetId": transfer.dataset_id,
        "transferType": transfer.mode.format(),
        "counterPartyId": transfer.counter_party_id,
        "counterPartyAddress": transfer.counter_party_address,
        "callbackAddresses": [],
        "createdAt": transfer.created_at_ms,
    });
    if let Some(correlation_id) = correlation_id {
        view["correlationId"] = Value::from(correlation_id.as_str());
    }
    if let Some(error) = &transfer.error {
        view["errorDetail"] = Value::from(error.as_str());
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_requests_are_read_in_edc_form() {
        let start = start_transfer(
            &EdcObject::body(Some(json!({
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@type": "TransferRequest",
                "assetId": "asset-1",
                "counterPartyAddress": "https://provider.example/dsp",
                "contractId": "agreement-1",
                "dataDestination": {"type": "HttpProxy"},
                "protocol": "dataspace-protocol-http",
                "transferType": "HttpData-PULL",
            })))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(start.agreement_id, "agreement-1");
        assert_eq!(start.mode, TransferMode::Pull);
        let error = start_transfer(
            &EdcObject::body(Some(json!({"counterPartyAddress": "https://p", "contractId": "a", "transferType": "AmazonS3-PUSH"}))).unwrap(),
        )
        .unwrap_err();
        assert!(error.detail().contains("transferType"));
    }

    #[test]
    fn views_never_show_tokens() {
        let mut transfer = Transfer::start_as_consumer(tsunagu_core::NewTransfer {
            id: "t1".into(),
            agreement_id: "a1".into(),
            dataset_id: "d1".into(),
            mode: TransferMode::Push,
            counter_party_id: "provider".into(),
            counter_party_address: "https://provider.example/dsp".into(),
            endpoint: Some("https://me.example/data/inbox/t1".into()),
            endpoint_token: Some("SECRET-TOKEN".into()),
            now_ms: 5,
        });
        transfer.provider_pid = Some("p-7".into());
        let view = transfer_view(&transfer);
        assert_eq!(view["correlationId"], "p-7");
        assert_eq!(view["transferType"], "HttpData-PUSH");
        assert!(!view.to_string().contains("SECRET-TOKEN"));
        assert!(!view.to_string().contains("inbox"));
    }
}
