use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Something a provider offers: its public description and where its bytes live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: String,
    /// Public metadata that goes into the catalog (DCAT/Dublin Core terms, free keys).
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub content: AssetContent,
    pub created_at_ms: i64,
}

/// Where an asset's bytes come from. Only the provider configures this; it is never taken from
/// a protocol message, so a partner cannot make the connector fetch an address of its choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssetContent {
    /// Bytes kept in the connector's own store.
    Stored {
        media_type: String,
        size: u64,
        sha256: String,
    },
    /// Bytes fetched on demand from one of the provider's own systems.
    Http {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
        /// Header sent with the request (for example an API key of the provider's system).
        /// Never shown outside the management API's owner and never logged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auth_header: Option<(String, String)>,
    },
    /// No bytes to serve: the consumer of a started pull transfer posts messages to it with
    /// the transfer's token, and the connector hands each one to the handler the owning app
    /// registered (a trade inbox of the PCF app, for example). Pulling from it is refused.
    Inbox { media_type: String },
}

/// A named ODRL policy the company wrote once and uses in contract definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDefinition {
    pub id: String,
    /// The policy in compact DSP JSON form, as validated by the policy crate.
    pub policy: serde_json::Value,
    pub created_at_ms: i64,
}

/// Binds assets to an access policy (who sees them in the catalog) and a contract policy (the
/// terms offered and enforced on every transfer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractDefinition {
    pub id: String,
    pub access_policy_id: String,
    pub contract_policy_id: String,
    pub assets: AssetSelector,
    pub created_at_ms: i64,
}

/// Which assets a contract definition covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "ids", rename_all = "snake_case")]
pub enum AssetSelector {
    All,
    Ids(Vec<String>),
}

impl AssetSelector {
    pub fn selects(&self, asset_id: &str) -> bool {
        match self {
            AssetSelector::All => true,
            AssetSelector::Ids(ids) => ids.iter().any(|id| id == asset_id),
        }
    }
}

/// The identifier of an offer in the catalog. It names the contract definition and the asset,
/// so that a request quoting it can be traced back to the exact terms offered, plus a nonce so
/// that every catalog answer carries fresh offer ids (as EDC does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferId {
    pub contract_definition_id: String,
    pub asset_id: String,
    pub nonce: String,
}

impl OfferId {
    pub fn encode(&self) -> String {
        format!(
            "{}:{}:{}",
            URL_SAFE_NO_PAD.encode(&self.contract_definition_id),
            URL_SAFE_NO_PAD.encode(&self.asset_id),
            URL_SAFE_NO_PAD.encode(&self.nonce)
        )
    }

    /// Reads an offer id made by `encode`. Returns `None` for anything else.
    pub fn decode(text: &str) -> Option<OfferId> {
        let mut parts = text.split(':');
        let mut next = || -> Option<String> {
            let bytes = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
            String::from_utf8(bytes).ok()
        };
        let offer = OfferId {
            contract_definition_id: next()?,
            asset_id: next()?,
            nonce: next()?,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_ids_round_trip_and_reject_foreign_text() {
        let offer = OfferId {
            contract_definition_id: "cfp:def".into(),
            asset_id: "urn:uuid:1".into(),
            nonce: "n".into(),
        };
        assert_eq!(OfferId::decode(&offer.encode()), Some(offer));
        assert_eq!(OfferId::decode("urn:uuid:3dd1add8-4d2d"), None);
        assert_eq!(OfferId::decode("a:b"), None);
    }
}
