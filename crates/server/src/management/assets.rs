//! `/management/v3/assets`: assets and their data addresses, plus (a tsunagu extension) the
//! bytes of assets kept in the connector.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tsunagu_core::{Asset, AssetContent};
use tsunagu_engine::NewAssetRequest;

use super::auth::Authorized;
use super::data::{download, upload_stream};
use super::error::ManagementError;
use super::jsonld::{
    EdcObject, RecordId, RequestBody, answer_context, as_text, compact_value, id_response,
};
use super::query::QuerySpec;
use crate::AppState;

/// What answers show instead of a source credential.
const MASK: &str = "***";
/// The data address type of bytes kept in the connector (uploaded with `PUT .../data`).
const STORED_TYPE: &str = "tsunagu:Stored";
/// An inbox asset (made by an app, not through this API): it receives messages and serves none.
const INBOX_TYPE: &str = "tsunagu:Inbox";

/// # `POST /management/v3/assets`
pub(crate) async fn create(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Value>, ManagementError> {
    let request = AssetInput::parse(&EdcObject::body(body)?, Secrets::Required)?.into_request();
    let asset = state.connector.create_asset(request).await?;
    Ok(Json(id_response(&asset.id, asset.created_at_ms)))
}

/// # `GET /management/v3/assets/{id}`
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(asset_view(&state.connector.asset(&id).await?)))
}

/// # `PUT /management/v3/assets`
///
/// Replaces the properties. The engine cannot change where an asset's bytes come from, so a
/// `dataAddress`, when given, must describe the current one (a masked `authCode` counts as
/// unchanged).
pub(crate) async fn update(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<StatusCode, ManagementError> {
    let body = EdcObject::body(body)?;
    let input = AssetInput::parse(&body, Secrets::MaskMeansUnchanged)?;
    let id = input
        .id
        .clone()
        .ok_or_else(|| ManagementError::bad_request("@id is required"))?;
    let stored = state.connector.asset(&id).await?;
    if input.address_given && !input.source.describes(&stored.content) {
        return Err(ManagementError::new(
            StatusCode::CONFLICT,
            "dataAddress: the data address of an existing asset cannot be changed; delete the asset and create it anew",
        ));
    }
    state
        .connector
        .update_asset_properties(&id, input.properties)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /management/v3/assets/{id}`
pub(crate) async fn delete(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ManagementError> {
    state.connector.delete_asset(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/assets/request`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Vec<Value>>, ManagementError> {
    let query = QuerySpec::from_body(body)?;
    let assets = state.connector.assets(query.store_page()).await?;
    Ok(Json(query.select(assets.iter().map(asset_view))))
}

/// # `PUT /management/v3/assets/{id}/data` (tsunagu)
///
/// Streams the request body into the connector as the asset's bytes; the `Content-Type`, when
/// given, becomes the asset's media type.
pub(crate) async fn upload(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ManagementError> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let asset = state
        .connector
        .upload_asset(&id, media_type, upload_stream(body))
        .await?;
    Ok(Json(asset_view(&asset)))
}

/// # `GET /management/v3/assets/{id}/data` (tsunagu)
///
/// The owner's view of the asset's bytes, wherever they are kept; no policy applies.
pub(crate) async fn download_data(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Response, ManagementError> {
    Ok(download(state.connector.asset_data(&id).await?))
}

/// An asset as EDC shows it. Source credentials are masked.
pub(crate) fn asset_view(asset: &Asset) -> Value {
    let mut properties = asset.properties.clone();
    // EDC repeats the id among the properties; clients read it there.
    properties
        .entry("id")
        .or_insert_with(|| Value::from(asset.id.as_str()));
    let data_address = match &asset.content {
        AssetContent::Stored {
            media_type,
            size,
            sha256,
        } => json!({
            "@type": "DataAddress",
            "type": STORED_TYPE,
            "contentType": media_type,
            "size": size,
            "sha256": sha256,
        }),
        AssetContent::Http {
            url,
            media_type,
            auth_header,
        } => {
            let mut address = json!({"@type": "DataAddress", "type": "HttpData", "baseUrl": url});
            if let Some(media_type) = media_type {
                address["contentType"] = Value::from(media_type.as_str());
            }
            if let Some((name, _secret)) = auth_header {
                address["authKey"] = Value::from(name.as_str());
                address["authCode"] = Value::from(MASK);
            }
            address
        }
        AssetContent::Inbox { media_type } => json!({
            "@type": "DataAddress",
            "type": INBOX_TYPE,
            "contentType": media_type,
        }),
    };
    json!({
        "@context": answer_context(),
        "@id": asset.id,
        "@type": "Asset",
        "properties": properties,
        "privateProperties": {},
        "dataAddress": data_address,
        "createdAt": asset.created_at_ms,
    })
}

/// How a request treats the mask answers show in place of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secrets {
    /// Creation: a credential must be real.
    Required,
    /// Replacement: the mask stands for the credential already stored.
    MaskMeansUnchanged,
}

/// Where the bytes of an asset come from, as the request states it.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Stored,
    /// The header's value is `None` when the request sent the mask.
    Http {
        url: String,
        header: Option<(String, Option<String>)>,
    },
}

impl Source {
    fn describes(&self, content: &AssetContent) -> bool {
        match (self, content) {
            (Source::Stored, AssetContent::Stored { .. }) => true,
            (
                Source::Http { url, header },
                AssetContent::Http {
                    url: stored_url,
                    auth_header,
                    ..
                },
            ) => {
                let same_header = match (header, auth_header) {
                    (None, None) => true,
                    (Some((name, value)), Some((stored_name, stored_value))) => {
                        name.eq_ignore_ascii_case(stored_name)
                            && value.as_ref().is_none_or(|value| value == stored_value)
                    }
                    _ => false,
                };
                url == stored_url && same_header
            }
            _ => false,
        }
    }
}

/// An asset as a creation or replacement request states it.
#[derive(Debug)]
struct AssetInput {
    id: Option<String>,
    properties: Map<String, Value>,
    source: Source,
    /// Whether the request had a `dataAddress` at all.
    address_given: bool,
    media_type: Option<String>,
}

impl AssetInput {
    fn parse(body: &EdcObject, secrets: Secrets) -> Result<AssetInput, ManagementError> {
        let mut properties = match body.get("properties") {
            None => Map::new(),
            Some(value @ Value::Object(_)) => match compact_value(value) {
                Value::Object(properties) => properties,
                _ => Map::new(),
            },
            Some(_) => return Err(ManagementError::bad_request("properties must be an object")),
        };
        // `privateProperties` are accepted and ignored: tsunagu keeps no private metadata.
        let id = match body.id()? {
            Some(id) => Some(id),
            // Older EDC clients name the asset with an `id` property only.
            None => properties
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        // EDC repeats the id among the properties; keeping it would put it into the catalog twice.
        if id.is_some() && properties.get("id").and_then(Value::as_str) == id.as_deref() {
            properties.remove("id");
        }
        let address = body.object("dataAddress")?;
        let address_given = address.is_some();
        let source = match &address {
            None => Source::Stored,
            Some(address) => source(address, secrets)?,
        };
        let media_type = match properties
            .get("contenttype")
            .or_else(|| properties.get("contentType"))
        {
            Some(value) => Some(as_text(value).ok_or_else(|| {
                ManagementError::bad_request("properties.contenttype must be a string")
            })?),
            None => match &address {
                Some(address) => address.string("contentType")?,
                None => None,
            },
        };
        Ok(AssetInput {
            id,
            properties,
            source,
            address_given,
            media_type,
        })
    }

    fn into_request(self) -> NewAssetRequest {
        let http_source = match self.source {
            Source::Stored => None,
            Source::Http { url, header } => Some((
                url,
                // `Secrets::Required` has already refused the mask, so every value is present.
                header.and_then(|(name, value)| value.map(|value| (name, value))),
            )),
        };
        NewAssetRequest {
            id: self.id,
            properties: self.properties,
            http_source,
            media_type: self.media_type,
        }
    }
}

fn source(address: &EdcObject, secrets: Secrets) -> Result<Source, ManagementError> {
    let kind = address.required_string("type")?;
    match kind.as_str() {
        STORED_TYPE | "Stored" => Ok(Source::Stored),
        "HttpData" => http_source(address, secrets),
        other => Err(ManagementError::bad_request(format!(
            "{} {other:?} is not supported; use \"HttpData\" or \"{STORED_TYPE}\"",
            address.name("type")
        ))),
    }
}

/// Reads an EDC `HttpData` address. tsunagu fetches the source with one `GET` and at most one
/// credential header; the consumer cannot extend the request, so EDC's `proxy*` switches have
/// no effect and are ignored.
fn http_source(address: &EdcObject, secrets: Secrets) -> Result<Source, ManagementError> {
    let base_url = address.required_string("baseUrl")?;
    if let Some(method) = address
        .string("method")?
        .filter(|method| !method.eq_ignore_ascii_case("GET"))
    {
        return Err(ManagementError::bad_request(format!(
            "{} {method:?} is not supported: tsunagu reads sources with GET",
            address.name("method")
        )));
    }
    let mut url = base_url;
    if let Some(path) = address.string("path")?.filter(|path| !path.is_empty()) {
        url = format!(
            "{}/{}",
            url.trim_end_matches('/'),
            path.trim_start_matches('/')
        );
    }
    if let Some(query) = address
        .string("queryParams")?
        .filter(|query| !query.is_empty())
    {
        let separator = if url.contains('?') { '&' } else { '?' };
        url = format!("{url}{separator}{}", query.trim_start_matches('?'));
    }

    let mut headers: Vec<(String, Option<String>)> = Vec::new();
    let key = address.string("authKey")?;
    let code = address.string("authCode")?;
    match (key, code) {
        (Some(key), Some(code)) => headers.push((key, secret(address, "authCode", code, secrets)?)),
        (None, None) => {}
        (Some(_), None) => {
            return Err(ManagementError::bad_request(format!(
                "{} is required with authKey",
                address.name("authCode")
            )));
        }
        (None, Some(_)) => {
            return Err(ManagementError::bad_request(format!(
                "{} is required with authCode",
                address.name("authKey")
            )));
        }
    }
    for (field, value) in address.fields() {
        if let Some(name) = field.strip_prefix("header:") {
            let value = as_text(value).ok_or_else(|| {
                ManagementError::bad_request(format!("{} must be a string", address.name(field)))
            })?;
            headers.push((name.to_owned(), secret(address, field, value, secrets)?));
        } else if field.starts_with("oauth2:") || matches!(field, "authCodeId" | "secretName") {
            return Err(ManagementError::bad_request(format!(
                "{} is not supported: tsunagu has no vault; give the credential as authKey and authCode",
                address.name(field)
            )));
        }
    }
    if headers.len() > 1 {
        return Err(ManagementError::bad_request(
            "dataAddress: tsunagu sends at most one header to a source (authKey/authCode or one header:<name>)",
        ));
    }
    Ok(Source::Http {
        url,
        header: headers.pop(),
    })
}

fn secret(
    address: &EdcObject,
    field: &str,
    value: String,
    secrets: Secrets,
) -> Result<Option<String>, ManagementError> {
    match (value == MASK, secrets) {
        (false, _) => Ok(Some(value)),
        (true, Secrets::MaskMeansUnchanged) => Ok(None),
        (true, Secrets::Required) => Err(ManagementError::bad_request(format!(
            "{}: {MASK:?} is the mask answers show, not a credential",
            address.name(field)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value, secrets: Secrets) -> Result<AssetInput, ManagementError> {
        AssetInput::parse(&EdcObject::body(Some(body)).unwrap(), secrets)
    }

    #[test]
    fn http_addresses_are_read_in_edc_form() {
        let input = parse(
            json!({
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@id": "a1",
                "properties": {"name": "n", "id": "a1", "contenttype": "application/json"},
                "dataAddress": {
                    "@type": "DataAddress", "type": "HttpData", "baseUrl": "https://erp.example/api/",
                    "path": "/pcf", "queryParams": "v=2", "proxyPath": "true",
                    "header:X-Api-Key": "s3cret",
                },
            }),
            Secrets::Required,
        )
        .unwrap();
        assert_eq!(input.id.as_deref(), Some("a1"));
        assert!(!input.properties.contains_key("id"));
        assert_eq!(input.media_type.as_deref(), Some("application/json"));
        assert_eq!(
            input.source,
            Source::Http {
                url: "https://erp.example/api/pcf?v=2".into(),
                header: Some(("X-Api-Key".into(), Some("s3cret".into()))),
            }
        );
    }

    #[test]
    fn unsupported_addresses_are_refused_with_the_field_named() {
        let detail = |address: Value| {
            parse(json!({"dataAddress": address}), Secrets::Required)
                .unwrap_err()
                .detail()
                .to_owned()
        };
        assert!(
            detail(json!({"type": "AmazonS3"}))
                .contains("dataAddress.type \"AmazonS3\" is not supported")
        );
        assert!(detail(json!({"type": "HttpData"})).contains("dataAddress.baseUrl is required"));
        assert!(
            detail(json!({"type": "HttpData", "baseUrl": "https://x", "method": "POST"}))
                .contains("dataAddress.method")
        );
        assert!(
            detail(json!({"type": "HttpData", "baseUrl": "https://x", "authKey": "k"}))
                .contains("dataAddress.authCode is required")
        );
        assert!(
            detail(
                json!({"type": "HttpData", "baseUrl": "https://x", "oauth2:tokenUrl": "https://t"})
            )
            .contains("dataAddress.oauth2:tokenUrl is not supported")
        );
        assert!(detail(json!({"type": "HttpData", "baseUrl": "https://x", "authKey": "k", "authCode": "***"})).contains("dataAddress.authCode"));
        assert!(detail(json!({"type": "HttpData", "baseUrl": "https://x", "authKey": "k", "authCode": "c", "header:b": "d"})).contains("at most one header"));
    }

    #[test]
    fn a_masked_credential_describes_the_stored_one() {
        let stored = AssetContent::Http {
            url: "https://x".into(),
            media_type: None,
            auth_header: Some(("Authorization".into(), "Bearer t".into())),
        };
        let masked = parse(
            json!({"dataAddress": {"type": "HttpData", "baseUrl": "https://x", "authKey": "Authorization", "authCode": "***"}}),
            Secrets::MaskMeansUnchanged,
        )
        .unwrap();
        assert!(masked.source.describes(&stored));
        let changed = parse(
            json!({"dataAddress": {"type": "HttpData", "baseUrl": "https://x", "authKey": "Authorization", "authCode": "other"}}),
            Secrets::MaskMeansUnchanged,
        )
        .unwrap();
        assert!(!changed.source.describes(&stored));
        assert!(!Source::Stored.describes(&stored));
    }
}
