//! The company's own administration of its connector: assets, policies, contract definitions.

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tsunagu_core::{Asset, AssetContent, AssetSelector, ContractDefinition, PolicyDefinition};
use tsunagu_policy::Policy;
use tsunagu_store::{Page, StoreError};

use crate::peer::ByteStream;
use crate::{Connector, EngineError, new_id, now_ms};

/// A new asset: metadata plus where its bytes come from.
#[derive(Debug, Clone)]
pub struct NewAssetRequest {
    /// Chosen by the company, or generated when absent.
    pub id: Option<String>,
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// `None` for an asset whose bytes are uploaded afterwards (or inline with `upload`).
    pub http_source: Option<(String, Option<(String, String)>)>,
    pub media_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPolicyDefinition {
    pub id: Option<String>,
    pub policy: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct NewContractDefinition {
    pub id: Option<String>,
    pub access_policy_id: String,
    pub contract_policy_id: String,
    pub assets: AssetSelector,
}

fn duplicate(error: StoreError) -> EngineError {
    match error {
        StoreError::Duplicate(id) => EngineError::AlreadyExists(id),
        other => other.into(),
    }
}

/// DSP 2025-1 allows a right operand to be a string, an object or an array, not a bare number
/// or boolean (contract-schema.json, `RightOperand`). Stored policies travel in catalogs and
/// agreements, so numbers and booleans are written as their text; evaluation compares texts
/// that read as numbers numerically, so `count lteq "2"` means what `count lteq 2` meant.
fn wire_safe(mut policy: serde_json::Value) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(object) => {
                for (key, inner) in object.iter_mut() {
                    if key == "rightOperand" {
                        textify(inner);
                    } else {
                        walk(inner);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    fn textify(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Number(number) => {
                *value = serde_json::Value::String(number.to_string())
            }
            serde_json::Value::Bool(flag) => *value = serde_json::Value::String(flag.to_string()),
            serde_json::Value::Array(items) => items.iter_mut().for_each(textify),
            _ => {}
        }
    }
    walk(&mut policy);
    policy
}

fn check_http_url(url: &str) -> Result<(), EngineError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(EngineError::BadRequest(format!(
            "{url:?} is not an http(s) URL"
        )))
    }
}

impl Connector {
    pub async fn create_asset(&self, request: NewAssetRequest) -> Result<Asset, EngineError> {
        let content = match request.http_source {
            Some((url, auth_header)) => {
                check_http_url(&url)?;
                AssetContent::Http {
                    url,
                    media_type: request.media_type,
                    auth_header,
                }
            }
            None => AssetContent::Stored {
                media_type: request
                    .media_type
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size: 0,
                sha256: format!("{:x}", Sha256::digest(b"")),
            },
        };
        let asset = Asset {
            id: request.id.unwrap_or_else(new_id),
            properties: request.properties,
            content,
            created_at_ms: now_ms(),
        };
        self.store().insert_asset(&asset).await.map_err(duplicate)?;
        Ok(asset)
    }

    /// Replaces an asset's bytes with `body`, streamed into the store chunk by chunk.
    pub async fn upload_asset(
        &self,
        id: &str,
        media_type: Option<String>,
        mut body: ByteStream,
    ) -> Result<Asset, EngineError> {
        let mut asset = self.store().asset(id).await?.ok_or(EngineError::NotFound)?;
        let AssetContent::Stored {
            media_type: old_type,
            ..
        } = &asset.content
        else {
            return Err(EngineError::Conflict(format!(
                "asset {id} is served from an HTTP source; it has no stored bytes"
            )));
        };
        let media_type = media_type.unwrap_or_else(|| old_type.clone());
        self.store().delete_asset_chunks(id).await?;
        let chunk_size = self.settings().chunk_size;
        let mut hasher = Sha256::new();
        let mut buffer: Vec<u8> = Vec::with_capacity(chunk_size);
        let mut seq = 0u32;
        let mut size = 0u64;
        while let Some(piece) = body.next().await {
            let piece: Bytes = piece.map_err(|error| {
                EngineError::BadRequest(format!("the upload broke off: {error}"))
            })?;
            hasher.update(&piece);
            size += piece.len() as u64;
            let mut rest: &[u8] = &piece;
            while !rest.is_empty() {
                let take = (chunk_size - buffer.len()).min(rest.len());
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buffer.len() == chunk_size {
                    self.store().put_asset_chunk(id, seq, &buffer).await?;
                    seq += 1;
                    buffer.clear();
                }
            }
        }
        if !buffer.is_empty() {
            self.store().put_asset_chunk(id, seq, &buffer).await?;
        }
        asset.content = AssetContent::Stored {
            media_type,
            size,
            sha256: format!("{:x}", hasher.finalize()),
        };
        self.store().replace_asset(&asset).await?;
        Ok(asset)
    }

    pub async fn update_asset_properties(
        &self,
        id: &str,
        properties: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Asset, EngineError> {
        let mut asset = self.store().asset(id).await?.ok_or(EngineError::NotFound)?;
        asset.properties = properties;
        self.store().replace_asset(&asset).await?;
        Ok(asset)
    }

    pub async fn asset(&self, id: &str) -> Result<Asset, EngineError> {
        self.store().asset(id).await?.ok_or(EngineError::NotFound)
    }

    pub async fn assets(&self, page: Page) -> Result<Vec<Asset>, EngineError> {
        Ok(self.store().assets(page).await?)
    }

    pub async fn delete_asset(&self, id: &str) -> Result<(), EngineError> {
        if self.store().delete_asset(id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }

    /// Reads an asset's bytes (the owner's view; no policy applies to the owner).
    pub async fn asset_data(&self, id: &str) -> Result<crate::DataStream, EngineError> {
        self.open_asset(id).await
    }

    pub async fn create_policy_definition(
        &self,
        request: NewPolicyDefinition,
    ) -> Result<PolicyDefinition, EngineError> {
        let policy = Policy::from_json(&request.policy)
            .map_err(|error| EngineError::BadRequest(format!("policy: {error}")))?;
        let definition = PolicyDefinition {
            id: request.id.unwrap_or_else(new_id),
            policy: wire_safe(policy.to_json()),
            created_at_ms: now_ms(),
        };
        self.store()
            .insert_policy_definition(&definition)
            .await
            .map_err(duplicate)?;
        Ok(definition)
    }

    pub async fn replace_policy_definition(
        &self,
        id: &str,
        policy: serde_json::Value,
    ) -> Result<PolicyDefinition, EngineError> {
        let parsed = Policy::from_json(&policy)
            .map_err(|error| EngineError::BadRequest(format!("policy: {error}")))?;
        let mut definition = self
            .store()
            .policy_definition(id)
            .await?
            .ok_or(EngineError::NotFound)?;
        definition.policy = wire_safe(parsed.to_json());
        self.store().replace_policy_definition(&definition).await?;
        Ok(definition)
    }

    pub async fn policy_definition(&self, id: &str) -> Result<PolicyDefinition, EngineError> {
        self.store()
            .policy_definition(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn policy_definitions(
        &self,
        page: Page,
    ) -> Result<Vec<PolicyDefinition>, EngineError> {
        Ok(self.store().policy_definitions(page).await?)
    }

    pub async fn delete_policy_definition(&self, id: &str) -> Result<(), EngineError> {
        let in_use = self
            .store()
            .contract_definitions(Page::ALL)
            .await?
            .into_iter()
            .any(|d| d.access_policy_id == id || d.contract_policy_id == id);
        if in_use {
            return Err(EngineError::Conflict(format!(
                "policy definition {id} is used by a contract definition"
            )));
        }
        if self.store().delete_policy_definition(id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }

    pub async fn create_contract_definition(
        &self,
        request: NewContractDefinition,
    ) -> Result<ContractDefinition, EngineError> {
        for policy_id in [&request.access_policy_id, &request.contract_policy_id] {
            if self.store().policy_definition(policy_id).await?.is_none() {
                return Err(EngineError::BadRequest(format!(
                    "policy definition {policy_id} does not exist"
                )));
            }
        }
        let definition = ContractDefinition {
            id: request.id.unwrap_or_else(new_id),
            access_policy_id: request.access_policy_id,
            contract_policy_id: request.contract_policy_id,
            assets: request.assets,
            created_at_ms: now_ms(),
        };
        self.store()
            .insert_contract_definition(&definition)
            .await
            .map_err(duplicate)?;
        Ok(definition)
    }

    pub async fn contract_definition(&self, id: &str) -> Result<ContractDefinition, EngineError> {
        self.store()
            .contract_definition(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn contract_definitions(
        &self,
        page: Page,
    ) -> Result<Vec<ContractDefinition>, EngineError> {
        Ok(self.store().contract_definitions(page).await?)
    }

    pub async fn delete_contract_definition(&self, id: &str) -> Result<(), EngineError> {
        if self.store().delete_contract_definition(id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }

    /// Asks a provider for its catalog (management API `POST /v3/catalog/request`).
    pub async fn request_catalog(
        &self,
        counter_party_id: &str,
        dsp_url: &str,
        request: serde_json::Value,
    ) -> Result<(serde_json::Value, Option<String>), EngineError> {
        check_http_url(dsp_url)?;
        Ok(self
            .peer()
            .request_catalog(&self.own_identity(), counter_party_id, dsp_url, request)
            .await?)
    }

    pub(crate) fn own_identity(&self) -> crate::OwnIdentity {
        crate::OwnIdentity {
            participant_id: self.participant_id().to_owned(),
            dsp_url: self.settings().dsp_url.clone(),
            callback_address: self.settings().callback_address(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wire_safe;
    use serde_json::json;

    #[test]
    fn right_operands_become_text_the_dsp_schema_accepts() {
        let policy = json!({"permission": [{"action": "use", "constraint": [
            {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
            {"and": [{"leftOperand": "x", "operator": "isAnyOf", "rightOperand": [1, true, "a"]}]},
            {"leftOperand": "y", "operator": "eq", "rightOperand": {"@value": 3}}
        ]}]});
        let safe = wire_safe(policy);
        let constraints = &safe["permission"][0]["constraint"];
        assert_eq!(constraints[0]["rightOperand"], "2");
        assert_eq!(
            constraints[1]["and"][0]["rightOperand"],
            json!(["1", "true", "a"])
        );
        assert_eq!(
            constraints[2]["rightOperand"],
            json!({"@value": 3}),
            "objects are allowed as they are"
        );
    }
}
