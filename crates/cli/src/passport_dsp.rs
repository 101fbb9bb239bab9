//! The battery passport app over the Eclipse Dataspace Protocol: passports assembled from
//! the supply chain, and passports fetched from a remote operator.
//!
//! It lives here because it is glue: the engine must not know the apps, and the apps must
//! not know the engine.
//!
//! **Supplier data.** A supplier publishes what it contributes to its customer's passport
//! (a [`SupplierContribution`]: material composition, recycled content, due-diligence report
//! link, its identity) as a stored JSON asset typed [`SUPPLIER_DATA_TYPE`], one contract
//! definition per recipient: visible to that recipient only (`counterPartyId`), offered
//! under the `due-diligence-disclosure` contract template filled in for it (membership,
//! role, purpose `due-diligence-reporting`, term, retention, no onward transfer; the text is
//! signed for by both). The pack maker finds it in the supplier's catalog, negotiates once
//! (the agreement is reused while transfers under it start), pulls it, checks it (format,
//! and that the document names the supplier the agreement is with) and writes it into its
//! passport with the provenance (supplier DID, agreement id, dataset). The carbon footprint
//! comes from the pack maker's own PCF app: `battery_carbon_footprint` over the pack part's
//! own footprint.
//!
//! **Remote passports.** A passport operator publishes, per battery, one dataset per access
//! group above public (`legitimate-interest`, `authorities`), typed [`PASSPORT_TYPE`]: its
//! bytes are that group's view, the SD-JWT presentation the passport app makes (disclosures
//! above the group left out, checked with `fields_above` before it leaves), so the consumer
//! can verify the operator's signature and nothing above the group travels, not even
//! encrypted. The contract policy is the app's own rule for the group, written in ODRL:
//! active membership and a role credential from the roles that give the group
//! (`LEGITIMATE_INTEREST_ROLES`, `AUTHORITY_ROLES`), the same rule the web login applies.
//! The `battery-passport-access` template is not used here because it binds one named
//! recipient, whereas the regulation entitles every holder of such a role; an operator that
//! wants a bilateral contract can still offer one. The public view needs no contract: it is
//! on the passport's web page. A consumer fetches: catalog → negotiation → pull transfer →
//! verified view; a second fetch under an agreement that still holds skips catalog and
//! negotiation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use thiserror::Error;
use tsunagu_core::{AssetSelector, NegotiationState, TransferAction, TransferMode, TransferState};
use tsunagu_engine::{
    Connector, EngineError, NewAssetRequest, NewContractDefinition, NewPolicyDefinition,
    StartNegotiation, StartTransfer,
};
use tsunagu_passport::{
    AUTHORITY_ROLES, AccessGroup, AttributeTable, BatteryIdentifier, LEGITIMATE_INTEREST_ROLES,
    PassportView, Provenance, StoredPassport, SupplierContribution,
};
use tsunagu_pcf::{BatteryCarbonFootprint, PerformanceClasses, ServiceLife, TraceId};
use tsunagu_trust::did::{DidResolver, Relationship};

use crate::management::{Problem, authorize};
use crate::node::Node;

/// The `dct:type` of a supplier's passport data.
pub const SUPPLIER_DATA_TYPE: &str = "BatteryPassSupplierData";
/// The `dct:type` of a published passport view.
pub const PASSPORT_TYPE: &str = "BatteryPassport";
/// The contract template a supplier offers its data under.
pub const SUPPLIER_DATA_TEMPLATE: &str = "due-diligence-disclosure";
/// The purpose the supplier-data contract names.
pub const SUPPLIER_DATA_PURPOSE: &str = "due-diligence-reporting";
/// The media type of a passport view: an SD-JWT VC presentation.
pub const PASSPORT_MEDIA_TYPE: &str = "application/dc+sd-jwt";
const JSON: &str = "application/json";
/// Bytes accepted from a remote party at most.
const MAX_REMOTE_BYTES: usize = 4 << 20;

#[derive(Debug, Error)]
pub enum PassportDspError {
    /// The party's catalog (as it shows itself to us) holds no such dataset.
    #[error("{provider} offers no {what} to us")]
    NotOffered { provider: String, what: String },
    /// The provider did not agree to a contract.
    #[error("{provider} did not agree: {reason}")]
    Refused { provider: String, reason: String },
    /// The transfer under an agreement did not start.
    #[error("the transfer from {provider} failed: {reason}")]
    Transfer { provider: String, reason: String },
    /// What arrived failed its checks; it is not used.
    #[error("the data from {provider} is not acceptable: {reason}")]
    Invalid { provider: String, reason: String },
    /// Our own input is wrong; nothing was published or changed.
    #[error("{0}")]
    BadInput(String),
    /// This connector does not run the app the operation needs.
    #[error("this connector does not run the {0} app")]
    NoApp(&'static str),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Passport(#[from] tsunagu_passport::ServiceError),
    #[error("the PCF app: {0}")]
    Pcf(String),
}

/// What was pulled under an agreement.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub provider_did: String,
    pub dataset_id: String,
    pub agreement_id: String,
    pub transfer_id: String,
    /// Whether this fetch had to find the dataset in the catalog and negotiate.
    pub negotiated: bool,
    pub bytes: Bytes,
}

/// A consumer of passport data over DSP: remembers, per provider and dataset, the
/// agreement to reuse. One per connector ([`Node::passport_dsp`]).
pub struct PassportDsp {
    connector: Connector,
    resolver: Option<Arc<dyn DidResolver>>,
    /// Agreement per (provider DID, dataset id).
    agreements: tokio::sync::Mutex<HashMap<(String, String), String>>,
    /// Dataset per (provider DID, what was looked for), learned from catalogs.
    datasets: std::sync::Mutex<HashMap<(String, String), String>>,
    timeout: Duration,
}

/// Which dataset of a catalog is wanted.
struct Wanted<'a> {
    /// Remembers the dataset found for it.
    key: String,
    what: &'a str,
    matches: &'a (dyn Fn(&Value) -> bool + Sync),
}

impl PassportDsp {
    pub fn new(connector: Connector, resolver: Option<Arc<dyn DidResolver>>) -> PassportDsp {
        PassportDsp {
            connector,
            resolver,
            agreements: tokio::sync::Mutex::new(HashMap::new()),
            datasets: std::sync::Mutex::new(HashMap::new()),
            timeout: Duration::from_secs(30),
        }
    }

    fn known_dataset(&self, provider: &str, key: &str) -> Option<String> {
        self.datasets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&(provider.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Pulls the wanted dataset of `provider`: under the agreement remembered for it when
    /// there is one and a transfer under it still starts, otherwise after finding it in the
    /// catalog and negotiating.
    async fn fetch(
        &self,
        provider: &str,
        dsp_url: &str,
        wanted: &Wanted<'_>,
    ) -> Result<Delivery, PassportDspError> {
        if let Some(dataset) = self.known_dataset(provider, &wanted.key) {
            let remembered = self
                .agreements
                .lock()
                .await
                .get(&(provider.to_owned(), dataset.clone()))
                .cloned();
            if let Some(agreement) = remembered {
                match self.pull(provider, dsp_url, &agreement).await {
                    Ok((transfer_id, bytes)) => {
                        return Ok(Delivery {
                            provider_did: provider.to_owned(),
                            dataset_id: dataset,
                            agreement_id: agreement,
                            transfer_id,
                            negotiated: false,
                            bytes,
                        });
                    }
                    // The agreement no longer carries transfers: forget it and negotiate.
                    Err(PassportDspError::Transfer { reason, .. }) => {
                        tracing::info!(%provider, %agreement, %reason, "negotiating anew");
                        self.agreements
                            .lock()
                            .await
                            .remove(&(provider.to_owned(), dataset));
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        self.fetch_with_new_agreement(provider, dsp_url, wanted)
            .await
    }

    /// Finds the wanted dataset in the provider's catalog, negotiates a new agreement for it
    /// (remembered for later fetches) and pulls.
    async fn fetch_with_new_agreement(
        &self,
        provider: &str,
        dsp_url: &str,
        wanted: &Wanted<'_>,
    ) -> Result<Delivery, PassportDspError> {
        let (dataset, offer) = self.find_offer(provider, dsp_url, wanted).await?;
        let agreement = self.negotiate(provider, dsp_url, offer).await?;
        self.agreements
            .lock()
            .await
            .insert((provider.to_owned(), dataset.clone()), agreement.clone());
        let (transfer_id, bytes) = self.pull(provider, dsp_url, &agreement).await?;
        Ok(Delivery {
            provider_did: provider.to_owned(),
            dataset_id: dataset,
            agreement_id: agreement,
            transfer_id,
            negotiated: true,
            bytes,
        })
    }

    async fn find_offer(
        &self,
        provider: &str,
        dsp_url: &str,
        wanted: &Wanted<'_>,
    ) -> Result<(String, Value), PassportDspError> {
        let (catalog, _) = self
            .connector
            .request_catalog(
                provider,
                dsp_url,
                json!({"@context": [tsunagu_wire::DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
            )
            .await?;
        let not_offered = || PassportDspError::NotOffered {
            provider: provider.to_owned(),
            what: wanted.what.to_owned(),
        };
        let dataset = as_list(&catalog["dataset"])
            .into_iter()
            .find(|dataset| (wanted.matches)(dataset))
            .ok_or_else(not_offered)?;
        let id = dataset["@id"].as_str().ok_or_else(not_offered)?.to_owned();
        let offer = as_list(&dataset["hasPolicy"])
            .into_iter()
            .next()
            .ok_or_else(not_offered)?;
        self.datasets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((provider.to_owned(), wanted.key.clone()), id.clone());
        Ok((id, offer))
    }

    async fn negotiate(
        &self,
        provider: &str,
        dsp_url: &str,
        offer: Value,
    ) -> Result<String, PassportDspError> {
        let negotiation = self
            .connector
            .start_negotiation(StartNegotiation {
                counter_party_address: dsp_url.to_owned(),
                counter_party_id: provider.to_owned(),
                offer,
            })
            .await?;
        let negotiation = self
            .connector
            .wait_for_negotiation(&negotiation.id, NegotiationState::is_terminal, self.timeout)
            .await?;
        match (negotiation.state, negotiation.agreement) {
            (NegotiationState::Finalized, Some(agreement)) => Ok(agreement.id),
            (state, _) => Err(PassportDspError::Refused {
                provider: provider.to_owned(),
                reason: format!("the negotiation ended {state}"),
            }),
        }
    }

    /// One pull transfer under `agreement`: start, wait until started, read the bytes,
    /// complete.
    async fn pull(
        &self,
        provider: &str,
        dsp_url: &str,
        agreement: &str,
    ) -> Result<(String, Bytes), PassportDspError> {
        let failed = |reason: String| PassportDspError::Transfer {
            provider: provider.to_owned(),
            reason,
        };
        let transfer = self
            .connector
            .start_transfer(StartTransfer {
                counter_party_address: dsp_url.to_owned(),
                agreement_id: agreement.to_owned(),
                mode: TransferMode::Pull,
            })
            .await
            .map_err(|error| failed(error.to_string()))?;
        let transfer = self
            .connector
            .wait_for_transfer(
                &transfer.id,
                |state| state == TransferState::Started || state.is_terminal(),
                self.timeout,
            )
            .await?;
        if transfer.state != TransferState::Started {
            return Err(failed(format!(
                "the transfer under agreement {agreement} ended {}",
                transfer.state
            )));
        }
        let read = async {
            let mut stream = self.connector.pull_data(&transfer.id).await?.body;
            let mut bytes = Vec::new();
            while let Some(piece) = stream.next().await {
                let piece = piece.map_err(|error| {
                    EngineError::Peer(tsunagu_engine::PeerError::Unreachable(error.to_string()))
                })?;
                if bytes.len() + piece.len() > MAX_REMOTE_BYTES {
                    return Err(EngineError::BadRequest(format!(
                        "more than {MAX_REMOTE_BYTES} bytes"
                    )));
                }
                bytes.extend_from_slice(&piece);
            }
            Ok::<_, EngineError>(Bytes::from(bytes))
        }
        .await;
        // One transfer per fetch: it is over whether the bytes came or not. The completion
        // is queued off the caller's path; the bytes are already here.
        let connector = self.connector.clone();
        let finished = transfer.id.clone();
        tokio::spawn(async move {
            if let Err(error) = connector
                .act_on_transfer(&finished, TransferAction::SendCompletion)
                .await
            {
                tracing::warn!(transfer = %finished, %error, "the passport transfer could not be completed");
            }
        });
        let bytes = read.map_err(|error| failed(error.to_string()))?;
        Ok((transfer.id, bytes))
    }
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![value.clone()],
        _ => Vec::new(),
    }
}

/// The right operand of the policy's `contractTerms` constraint: the terms reference.
fn contract_terms_in(policy: &Value) -> Option<String> {
    match policy {
        Value::Object(object) => {
            if object.get("leftOperand").and_then(Value::as_str) == Some("contractTerms") {
                return object
                    .get("rightOperand")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            object.values().find_map(contract_terms_in)
        }
        Value::Array(items) => items.iter().find_map(contract_terms_in),
        _ => None,
    }
}

fn existing_is_fine<T>(result: Result<T, EngineError>) -> Result<(), EngineError> {
    match result {
        Ok(_) | Err(EngineError::AlreadyExists(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// An id made of `prefix` and `name` with every character but ASCII letters, digits, `.`
/// and `-` written as `_XX` (UTF-8 bytes in hex), so that distinct names give distinct ids.
fn asset_id(prefix: &str, name: &str) -> String {
    let mut id = String::from(prefix);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' {
            id.push(byte as char);
        } else {
            id.push_str(&format!("_{byte:02X}"));
        }
    }
    id
}

/// Replaces the bytes of the stored asset `id`, creating it with `properties` first if it
/// does not exist; an existing asset gets the new properties.
async fn put_stored_asset(
    connector: &Connector,
    id: &str,
    properties: serde_json::Map<String, Value>,
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<(), EngineError> {
    match connector.asset(id).await {
        Ok(_) => {
            connector
                .update_asset_properties(id, properties)
                .await
                .map(drop)?;
        }
        Err(EngineError::NotFound) => {
            existing_is_fine(
                connector
                    .create_asset(NewAssetRequest {
                        id: Some(id.to_owned()),
                        properties,
                        media_type: Some(media_type.to_owned()),
                        http_source: None,
                    })
                    .await,
            )?;
        }
        Err(other) => return Err(other),
    }
    let body: tsunagu_engine::ByteStream = Box::pin(futures::stream::once(async move {
        Ok::<_, std::io::Error>(Bytes::from(bytes))
    }));
    connector
        .upload_asset(id, Some(media_type.to_owned()), body)
        .await?;
    Ok(())
}

// ----------------------------------------------------------------------------------------
// Supplier data
// ----------------------------------------------------------------------------------------

/// The customer a supplier offers its passport data to, and the contract's parameters.
#[derive(Debug, Clone)]
pub struct SupplierDataRecipient {
    pub did: String,
    pub legal_name: String,
    /// The supplier's legal name, as the contract names it.
    pub provider_legal_name: String,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
}

/// What [`publish_supplier_data`] made.
#[derive(Debug, Clone)]
pub struct PublishedSupplierData {
    pub asset_id: String,
    pub contract_definition_id: String,
    /// The contract's terms reference (`<template>@<version>#sha256:<hex>`).
    pub terms_reference: String,
}

/// Publishes (or republishes) `contribution` as this supplier's passport data for
/// `recipient`: a stored JSON asset typed [`SUPPLIER_DATA_TYPE`], visible to the recipient
/// only and offered under the `due-diligence-disclosure` contract filled in for it.
/// Refused, changing nothing, when the contribution is invalid or names another supplier.
pub async fn publish_supplier_data(
    connector: &Connector,
    contribution: &SupplierContribution,
    recipient: &SupplierDataRecipient,
) -> Result<PublishedSupplierData, PassportDspError> {
    contribution
        .validate()
        .map_err(|error| PassportDspError::BadInput(error.to_string()))?;
    if contribution.supplier.did != connector.participant_id() {
        return Err(PassportDspError::BadInput(format!(
            "the contribution names supplier {}, but this connector is {}",
            contribution.supplier.did,
            connector.participant_id()
        )));
    }
    tsunagu_trust::did::Did::parse(&recipient.did).map_err(|_| {
        PassportDspError::BadInput(format!("the recipient {:?} is not a DID", recipient.did))
    })?;
    // The contract first: a parameter the template refuses leaves nothing published.
    let parameters: std::collections::BTreeMap<String, String> = [
        ("provider_name", recipient.provider_legal_name.as_str()),
        ("provider_did", connector.participant_id()),
        ("recipient_name", recipient.legal_name.as_str()),
        ("recipient_did", recipient.did.as_str()),
        ("effective_date", recipient.effective_date.as_str()),
        ("purpose", SUPPLIER_DATA_PURPOSE),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let product = &contribution.product.manufacturer_part_id;
    let asset_id = asset_id("passport-supply-", product);
    let for_recipient = asset_id.clone() + &self::asset_id("--", &recipient.did);
    let contract_policy_id = format!("{for_recipient}--contract");
    let access_policy_id = format!("{for_recipient}--access");
    let terms_reference = match connector
        .instantiate_contract(
            SUPPLIER_DATA_TEMPLATE,
            None,
            &parameters,
            Some(contract_policy_id.clone()),
        )
        .await
    {
        Ok((_, contract)) => contract.terms_reference,
        Err(EngineError::BadRequest(reason)) => return Err(PassportDspError::BadInput(reason)),
        // Published before: the policy stays as it was agreed on.
        Err(EngineError::AlreadyExists(_)) => {
            let existing = connector.policy_definition(&contract_policy_id).await?;
            contract_terms_in(&existing.policy).unwrap_or_default()
        }
        Err(other) => return Err(other.into()),
    };
    let bytes = serde_json::to_vec(contribution)
        .map_err(|error| PassportDspError::BadInput(error.to_string()))?;
    let mut properties = serde_json::Map::new();
    properties.insert("dct:type".into(), Value::from(SUPPLIER_DATA_TYPE));
    properties.insert(
        "dct:description".into(),
        Value::from(format!(
            "Battery passport data of {} ({}): material composition, recycled content, due-diligence report",
            contribution.product.name_at_manufacturer, product
        )),
    );
    properties.insert("manufacturerPartId".into(), Value::from(product.as_str()));
    put_stored_asset(connector, &asset_id, properties, JSON, bytes).await?;
    existing_is_fine(
        connector
            .create_policy_definition(NewPolicyDefinition {
                id: Some(access_policy_id.clone()),
                policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
                    {"leftOperand": "counterPartyId", "operator": "eq", "rightOperand": recipient.did}
                ]}]}),
            })
            .await,
    )?;
    existing_is_fine(
        connector
            .create_contract_definition(NewContractDefinition {
                id: Some(for_recipient.clone()),
                access_policy_id,
                contract_policy_id,
                assets: AssetSelector::Ids(vec![asset_id.clone()]),
            })
            .await,
    )?;
    Ok(PublishedSupplierData {
        asset_id,
        contract_definition_id: for_recipient,
        terms_reference,
    })
}

/// Supplier data as received: checked, with where it came from.
#[derive(Debug, Clone)]
pub struct ReceivedSupplierData {
    pub contribution: SupplierContribution,
    pub provenance: Provenance,
    /// Whether this fetch negotiated (false: an agreement was reused).
    pub negotiated: bool,
}

/// Fetches the passport data the supplier `supplier_did` (DSP at `dsp_url`) offers us for
/// its product `manufacturer_part_id` (or its first offer when `None`): catalog,
/// negotiation (an agreement that still holds is reused), pull, and the checks (format, and
/// that the document names the supplier the agreement is with).
pub async fn fetch_supplier_data(
    node: &Node,
    supplier_did: &str,
    dsp_url: &str,
    manufacturer_part_id: Option<&str>,
) -> Result<ReceivedSupplierData, PassportDspError> {
    let matches = |dataset: &Value| {
        dataset["dct:type"] == SUPPLIER_DATA_TYPE
            && manufacturer_part_id.is_none_or(|id| dataset["manufacturerPartId"] == id)
    };
    let wanted = Wanted {
        key: format!("supply:{}", manufacturer_part_id.unwrap_or("")),
        what: "battery passport supplier data",
        matches: &matches,
    };
    let delivery = node
        .passport_dsp
        .fetch(supplier_did, dsp_url, &wanted)
        .await?;
    let invalid = |reason: String| PassportDspError::Invalid {
        provider: supplier_did.to_owned(),
        reason,
    };
    let contribution =
        SupplierContribution::from_slice(&delivery.bytes).map_err(|e| invalid(e.to_string()))?;
    if contribution.supplier.did != delivery.provider_did {
        return Err(invalid(format!(
            "the document names supplier {}, not the party the agreement is with",
            contribution.supplier.did
        )));
    }
    if let Some(id) = manufacturer_part_id
        && contribution.product.manufacturer_part_id != id
    {
        return Err(invalid(format!(
            "the document is about {}, not {id}",
            contribution.product.manufacturer_part_id
        )));
    }
    Ok(ReceivedSupplierData {
        contribution,
        provenance: Provenance {
            supplier_did: delivery.provider_did,
            agreement_id: delivery.agreement_id,
            dataset_id: delivery.dataset_id,
            dsp_url: dsp_url.to_owned(),
        },
        negotiated: delivery.negotiated,
    })
}

/// A supplier of the pack: its DID and DSP address, and the product whose data is wanted
/// (its first offer when `None`).
#[derive(Debug, Clone)]
pub struct SupplierRef {
    pub did: String,
    pub dsp_url: String,
    pub manufacturer_part_id: Option<String>,
}

/// What the pack maker knows itself, beyond its suppliers' data and its PCF app.
#[derive(Debug, Clone)]
pub struct PackFacts {
    pub battery: BatteryIdentifier,
    /// A BatteryPass 6.1.0 document with everything else (the passport service sets the
    /// identifiers, status and dates when it issues).
    pub content: Value,
    pub service_life: ServiceLife,
    pub classes: PerformanceClasses,
    /// The BPNA of the plant named in the carbon-footprint entries.
    pub plant_bpna: String,
    /// Where the carbon-footprint declaration is published.
    pub declaration_url: String,
}

/// An assembled passport and what went into it.
#[derive(Debug, Clone)]
pub struct AssembledPassport {
    pub passport: StoredPassport,
    pub supplier: Provenance,
    pub footprint: BatteryCarbonFootprint,
}

/// The `sources` type of the entry naming the footprint the PCF app computed.
pub const FOOTPRINT_SOURCE_TYPE: &str = "LCA-CO2 app footprint";

/// Issues the pack's passport on `pack` from its suppliers' data and its own PCF app: the
/// carbon footprint per kWh and performance class are computed by `battery_carbon_footprint`
/// from the own footprint of the pack part `pcf_trace_id` in the pack maker's PCF app;
/// composition, recycled content and the due-diligence report come from `supplier` over
/// DSP under contract. Each piece is named in the passport's `sources` (the supplier's DID
/// and agreement id; the footprint's cfpId). Nothing is issued when any piece is missing or
/// invalid.
pub async fn assemble_pack_passport(
    pack: &Node,
    supplier: &SupplierRef,
    pcf_trace_id: TraceId,
    facts: PackFacts,
) -> Result<AssembledPassport, PassportDspError> {
    let app = pack
        .passport
        .as_ref()
        .ok_or(PassportDspError::NoApp("passport"))?;
    let (pcf, _) = pack.pcf.as_ref().ok_or(PassportDspError::NoApp("PCF"))?;
    // Local pieces first: a missing footprint fails before anything goes over the network.
    let own = pcf
        .own_footprint(pcf_trace_id)
        .await
        .map_err(|error| PassportDspError::Pcf(error.to_string()))?
        .ok_or_else(|| {
            PassportDspError::BadInput(format!(
                "the PCF app holds no own footprint of part {pcf_trace_id}"
            ))
        })?;
    let footprint =
        tsunagu_pcf::battery_carbon_footprint(&own.result, facts.service_life, &facts.classes)
            .map_err(|error| PassportDspError::BadInput(error.to_string()))?;
    let mut content = facts.content;
    let entries = tsunagu_passport::carbon_footprint_entries(
        &footprint,
        &facts.plant_bpna,
        &facts.declaration_url,
    );
    let sustainability = content
        .get_mut("sustainability")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| PassportDspError::BadInput("the document has no sustainability".into()))?;
    sustainability.insert("carbonFootprint".into(), Value::from(entries));
    let footprint_source = json!({
        "header": "Carbon footprint computed by the LCA-CO2 app",
        "category": "Environmental Impact",
        "type": FOOTPRINT_SOURCE_TYPE,
        "content": format!("cfpId={} part={}", own.cfp_id, pcf_trace_id),
    });
    match content.get_mut("sources") {
        Some(Value::Array(sources)) => sources.push(footprint_source),
        None => {
            if let Some(object) = content.as_object_mut() {
                object.insert("sources".into(), json!([footprint_source]));
            }
        }
        Some(_) => {
            return Err(PassportDspError::BadInput(
                "sources must be an array".into(),
            ));
        }
    }

    let received = fetch_supplier_data(
        pack,
        &supplier.did,
        &supplier.dsp_url,
        supplier.manufacturer_part_id.as_deref(),
    )
    .await?;
    tsunagu_passport::contribute(&mut content, &received.contribution, &received.provenance)
        .map_err(|error| PassportDspError::Invalid {
            provider: supplier.did.clone(),
            reason: error.to_string(),
        })?;
    let passport = app.service.issue(&facts.battery, content).await?;
    Ok(AssembledPassport {
        passport,
        supplier: received.provenance,
        footprint,
    })
}

// ----------------------------------------------------------------------------------------
// Remote passports
// ----------------------------------------------------------------------------------------

/// The access groups whose views are published over DSP (the public view is on the web).
pub const PUBLISHED_GROUPS: [AccessGroup; 2] =
    [AccessGroup::LegitimateInterest, AccessGroup::Authorities];

/// The roles whose holders a group's contract admits: the app's own rule.
fn roles_for(group: AccessGroup) -> Vec<&'static str> {
    match group {
        AccessGroup::Public => Vec::new(),
        AccessGroup::LegitimateInterest => LEGITIMATE_INTEREST_ROLES
            .iter()
            .chain(AUTHORITY_ROLES.iter())
            .copied()
            .collect(),
        AccessGroup::Authorities => AUTHORITY_ROLES.to_vec(),
    }
}

/// The id of the dataset holding `group`'s view of `battery`'s current passport.
pub fn passport_dataset_id(battery: &BatteryIdentifier, group: AccessGroup) -> String {
    asset_id(
        &format!("battery-passport-{}--", group.as_str()),
        &battery.to_string(),
    )
}

/// Publishes the views of `battery`'s current passport (or its last one) as DSP datasets,
/// one per group in [`PUBLISHED_GROUPS`], each offered to holders of the roles that give the
/// group. Call it again after the passport changed: the datasets then hold the new views.
pub async fn publish_passport(
    node: &Node,
    battery: &BatteryIdentifier,
) -> Result<Vec<String>, PassportDspError> {
    let app = node
        .passport
        .as_ref()
        .ok_or(PassportDspError::NoApp("passport"))?;
    publish_views(&node.connector, app, battery).await
}

async fn publish_views(
    connector: &Connector,
    app: &tsunagu_passport::PassportApp,
    battery: &BatteryIdentifier,
) -> Result<Vec<String>, PassportDspError> {
    let passport =
        app.service.resolve(battery).await?.ok_or_else(|| {
            PassportDspError::BadInput(format!("no passport of battery {battery}"))
        })?;
    let mut published = Vec::new();
    for group in PUBLISHED_GROUPS {
        let policy_id = format!("battery-passport-{}", group.as_str());
        existing_is_fine(
            connector
                .create_policy_definition(NewPolicyDefinition {
                    id: Some(policy_id.clone()),
                    policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                        {"leftOperand": "membership", "operator": "eq", "rightOperand": "active"},
                        {"leftOperand": "role", "operator": "isAnyOf", "rightOperand": roles_for(group)}
                    ]}]}]}),
                })
                .await,
        )?;
        let view = app.service.view_of(&passport, group)?;
        let id = passport_dataset_id(battery, group);
        let mut properties = serde_json::Map::new();
        properties.insert("dct:type".into(), Value::from(PASSPORT_TYPE));
        properties.insert(
            "dct:description".into(),
            Value::from(format!(
                "Battery passport of {battery}, {} view (SD-JWT VC)",
                group.as_str()
            )),
        );
        properties.insert("batteryId".into(), Value::from(battery.to_string()));
        properties.insert("passportId".into(), Value::from(passport.id.urn()));
        properties.insert("accessGroup".into(), Value::from(group.as_str()));
        properties.insert("aspect".into(), Value::from(tsunagu_passport::ASPECT_URN));
        put_stored_asset(
            connector,
            &id,
            properties,
            PASSPORT_MEDIA_TYPE,
            view.presentation.clone().into_bytes(),
        )
        .await?;
        existing_is_fine(
            connector
                .create_contract_definition(NewContractDefinition {
                    id: Some(id.clone()),
                    access_policy_id: policy_id.clone(),
                    contract_policy_id: policy_id,
                    assets: AssetSelector::Ids(vec![id.clone()]),
                })
                .await,
        )?;
        published.push(id);
    }
    Ok(published)
}

/// A passport view fetched from its operator and verified.
#[derive(Debug, Clone)]
pub struct RemotePassport {
    pub view: PassportView,
    pub operator_did: String,
    pub agreement_id: String,
    /// Whether this fetch negotiated (false: an agreement was reused).
    pub negotiated: bool,
}

/// Fetches `group`'s view of `battery`'s passport from its operator `operator_did` (DSP at
/// `dsp_url`): catalog, negotiation and pull the first time, only the pull while the
/// agreement holds. The view is verified before it is returned: signed by the operator
/// (its key from its DID document), about `battery`, and holding no field above `group`.
pub async fn fetch_remote_passport(
    node: &Node,
    operator_did: &str,
    dsp_url: &str,
    battery: &BatteryIdentifier,
    group: AccessGroup,
) -> Result<RemotePassport, PassportDspError> {
    fetch_view(
        &node.passport_dsp,
        operator_did,
        dsp_url,
        battery,
        group,
        false,
    )
    .await
}

/// [`fetch_remote_passport`] that always negotiates a new agreement (for measuring the
/// first fetch of a passport).
pub async fn fetch_remote_passport_with_new_agreement(
    node: &Node,
    operator_did: &str,
    dsp_url: &str,
    battery: &BatteryIdentifier,
    group: AccessGroup,
) -> Result<RemotePassport, PassportDspError> {
    fetch_view(
        &node.passport_dsp,
        operator_did,
        dsp_url,
        battery,
        group,
        true,
    )
    .await
}

async fn fetch_view(
    dsp: &PassportDsp,
    operator_did: &str,
    dsp_url: &str,
    battery: &BatteryIdentifier,
    group: AccessGroup,
    new_agreement: bool,
) -> Result<RemotePassport, PassportDspError> {
    let id = passport_dataset_id(battery, group);
    let matches = |dataset: &Value| dataset["@id"] == id.as_str();
    let wanted = Wanted {
        key: id.clone(),
        what: "battery passport view",
        matches: &matches,
    };
    let delivery = if new_agreement {
        dsp.fetch_with_new_agreement(operator_did, dsp_url, &wanted)
            .await?
    } else {
        dsp.fetch(operator_did, dsp_url, &wanted).await?
    };
    verify_remote_passport(dsp.resolver.as_ref(), delivery, battery, group).await
}

/// Checks a delivered view: issued by the provider the agreement is with, signed with a key
/// its DID document lists under `assertionMethod`, about `battery`, and holding no field
/// above `group`.
async fn verify_remote_passport(
    resolver: Option<&Arc<dyn DidResolver>>,
    delivery: Delivery,
    battery: &BatteryIdentifier,
    group: AccessGroup,
) -> Result<RemotePassport, PassportDspError> {
    let operator = delivery.provider_did.clone();
    let invalid = |reason: String| PassportDspError::Invalid {
        provider: operator.clone(),
        reason,
    };
    let presentation = String::from_utf8(delivery.bytes.to_vec())
        .map_err(|_| invalid("the view is not text".into()))?;
    let sd_jwt = tsunagu_trust::sd_jwt::SdJwt::parse(presentation.trim())
        .map_err(|error| invalid(format!("not an SD-JWT: {error}")))?;
    let (header, claims) = tsunagu_trust::jws::decode_unverified(sd_jwt.issuer_jwt())
        .map_err(|error| invalid(format!("not an SD-JWT: {error}")))?;
    // The issuer must be the operator the agreement is with; its key comes from its DID
    // document, under assertionMethod.
    if claims["iss"] != operator.as_str() {
        return Err(invalid(format!(
            "the view is issued by {}, not by the operator",
            claims["iss"]
        )));
    }
    let resolver =
        resolver.ok_or_else(|| invalid("no DID resolver to find the operator's key".into()))?;
    let document = resolver
        .resolve(&operator)
        .await
        .map_err(|error| invalid(format!("the operator's DID document: {error}")))?;
    let key = document
        .key_for(header.kid.as_deref(), Relationship::AssertionMethod)
        .map_err(|error| invalid(format!("the operator's key: {error}")))?;
    let view = tsunagu_passport::open_view(
        presentation.trim().to_owned(),
        group,
        &key,
        AttributeTable::bundled(),
        chrono::Utc::now(),
    )
    .map_err(|error| invalid(error.to_string()))?;
    if view.passport.pointer("/identification/idDmc") != Some(&Value::from(battery.to_string())) {
        return Err(invalid(format!("the view is not about battery {battery}")));
    }
    Ok(RemotePassport {
        view,
        operator_did: operator,
        agreement_id: delivery.agreement_id,
        negotiated: delivery.negotiated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view signed by `did` with `keys`, for `group`, and a resolver that knows `did`.
    fn signed_view(
        did: &str,
        keys: &tsunagu_trust::keys::KeyRing,
        battery: &str,
        group: AccessGroup,
    ) -> (Bytes, Arc<dyn DidResolver>) {
        let now = chrono::Utc::now();
        let content = tsunagu_passport::demo_battery_pass_json(
            "urn:uuid:00000000-0000-4000-8000-000000000001",
            battery,
            "2026-11-30",
        );
        let pass = tsunagu_passport::BatteryPass::from_json(content).unwrap();
        let signed = tsunagu_passport::sign_passport(
            &pass,
            AttributeTable::bundled(),
            tsunagu_passport::Signer {
                did,
                key: keys.active(),
            },
            now,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        let resolver = tsunagu_trust::did::StaticResolver::new();
        resolver.insert(tsunagu_trust::did::DidDocument::for_key_ring(
            &tsunagu_trust::did::Did::parse(did).unwrap(),
            keys,
            now,
            Vec::new(),
        ));
        (
            Bytes::from(signed.present(group).unwrap()),
            Arc::new(resolver),
        )
    }

    fn delivery(provider: &str, bytes: Bytes) -> Delivery {
        Delivery {
            provider_did: provider.into(),
            dataset_id: "d".into(),
            agreement_id: "a".into(),
            transfer_id: "t".into(),
            negotiated: false,
            bytes,
        }
    }

    #[tokio::test]
    async fn a_remote_view_is_used_only_when_it_verifies() {
        let operator = "did:web:pack.example";
        let keys =
            tsunagu_trust::keys::KeyRing::generate(&mut rand::rngs::OsRng, chrono::Utc::now());
        let battery = BatteryIdentifier::parse("LA:PACK:0001").unwrap();
        let (view, resolver) = signed_view(
            operator,
            &keys,
            "LA:PACK:0001",
            AccessGroup::LegitimateInterest,
        );
        let group = AccessGroup::LegitimateInterest;
        let verified = verify_remote_passport(
            Some(&resolver),
            delivery(operator, view.clone()),
            &battery,
            group,
        )
        .await
        .unwrap();
        assert!(
            verified
                .view
                .passport
                .pointer("/materials/composition")
                .is_some()
        );

        let refused =
            |result: Result<RemotePassport, PassportDspError>, expected: &str| match result {
                Err(PassportDspError::Invalid { reason, .. }) => {
                    assert!(reason.contains(expected), "{reason}")
                }
                other => panic!("accepted: {other:?}"),
            };
        // Delivered by another party than the issuer.
        refused(
            verify_remote_passport(
                Some(&resolver),
                delivery("did:web:other.example", view.clone()),
                &battery,
                group,
            )
            .await,
            "not by the operator",
        );
        // About another battery.
        let other = BatteryIdentifier::parse("LA:PACK:0002").unwrap();
        refused(
            verify_remote_passport(
                Some(&resolver),
                delivery(operator, view.clone()),
                &other,
                group,
            )
            .await,
            "not about battery",
        );
        // More than the group may see: the authorities' view asked for as legitimate interest.
        let (authorities, _) =
            signed_view(operator, &keys, "LA:PACK:0001", AccessGroup::Authorities);
        refused(
            verify_remote_passport(
                Some(&resolver),
                delivery(operator, authorities),
                &battery,
                group,
            )
            .await,
            "above its access group",
        );
        // Signed with a key the operator's DID document does not list.
        let stranger =
            tsunagu_trust::keys::KeyRing::generate(&mut rand::rngs::OsRng, chrono::Utc::now());
        let (forged, _) = signed_view(operator, &stranger, "LA:PACK:0001", group);
        assert!(matches!(
            verify_remote_passport(Some(&resolver), delivery(operator, forged), &battery, group)
                .await,
            Err(PassportDspError::Invalid { .. })
        ));
        // Changed on the way.
        let mut tampered = view.to_vec();
        let at = tampered.iter().position(|b| *b == b'.').unwrap() + 5;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            verify_remote_passport(
                Some(&resolver),
                delivery(operator, Bytes::from(tampered)),
                &battery,
                group
            )
            .await,
            Err(PassportDspError::Invalid { .. })
        ));
    }

    #[test]
    fn asset_ids_keep_distinct_names_apart() {
        assert_eq!(
            asset_id("p-", "LA:TSUNAGU:PACK-0001"),
            "p-LA_3ATSUNAGU_3APACK-0001"
        );
        assert_ne!(asset_id("p-", "A:B"), asset_id("p-", "A_3AB"));
        assert_eq!(asset_id("p-", "é"), "p-_C3_A9");
    }

    #[test]
    fn the_legitimate_interest_contract_admits_the_roles_the_app_admits() {
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("membership".to_owned(), vec!["active".to_owned()]);
        for role in roles_for(AccessGroup::LegitimateInterest) {
            attributes.insert("role".to_owned(), vec![role.to_owned()]);
            assert!(
                tsunagu_passport::group_for_attributes(&attributes)
                    >= AccessGroup::LegitimateInterest
            );
        }
        for role in roles_for(AccessGroup::Authorities) {
            attributes.insert("role".to_owned(), vec![role.to_owned()]);
            assert_eq!(
                tsunagu_passport::group_for_attributes(&attributes),
                AccessGroup::Authorities
            );
        }
        attributes.insert("role".to_owned(), vec!["packMaker".to_owned()]);
        assert_eq!(
            tsunagu_passport::group_for_attributes(&attributes),
            AccessGroup::Public
        );
    }
}

// ----------------------------------------------------------------------------------------
// Management routes
// ----------------------------------------------------------------------------------------

#[derive(Clone)]
struct ManagementState {
    connector: Connector,
    app: Option<tsunagu_passport::PassportApp>,
    dsp: Arc<PassportDsp>,
    api_key: Arc<str>,
}

/// The management routes of the passport flows over DSP, beside the management API (same
/// `X-Api-Key`, errors as `application/problem+json`):
///
/// - `POST /management/v3/passports/dsp-offers` `{"battery"}`: offers the battery's
///   legitimate-interest and authorities views as datasets (again after a change); needs the
///   passport app.
/// - `POST /management/v3/passports/remote` `{"operatorDid", "dspUrl", "battery",
///   "group"}`: fetches a partner's passport view over DSP (negotiating the first time) and
///   answers it verified, with the agreement it came under.
pub fn management_router(
    connector: Connector,
    app: Option<tsunagu_passport::PassportApp>,
    dsp: Arc<PassportDsp>,
    api_key: &str,
) -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/management/v3/passports/dsp-offers", post(offer_views))
        .route("/management/v3/passports/remote", post(fetch_remote))
        .with_state(ManagementState {
            connector,
            app,
            dsp,
            api_key: Arc::from(api_key),
        })
}

impl From<PassportDspError> for Problem {
    fn from(error: PassportDspError) -> Problem {
        use axum::http::StatusCode;
        let status = match &error {
            PassportDspError::BadInput(_) => StatusCode::BAD_REQUEST,
            PassportDspError::NoApp(_) => StatusCode::CONFLICT,
            PassportDspError::NotOffered { .. } => StatusCode::NOT_FOUND,
            PassportDspError::Refused { .. } => StatusCode::FORBIDDEN,
            PassportDspError::Transfer { .. } | PassportDspError::Invalid { .. } => {
                StatusCode::BAD_GATEWAY
            }
            PassportDspError::Engine(_)
            | PassportDspError::Passport(_)
            | PassportDspError::Pcf(_) => {
                return Problem::internal("a passport management request", &error);
            }
        };
        Problem(status, error.to_string())
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|error| Problem(axum::http::StatusCode::BAD_REQUEST, error.to_string()))
}

fn battery_id(text: &str) -> Result<BatteryIdentifier, Problem> {
    BatteryIdentifier::parse(text)
        .map_err(|error| Problem(axum::http::StatusCode::BAD_REQUEST, error.to_string()))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferRequest {
    battery: String,
}

/// # `POST /management/v3/passports/dsp-offers`
async fn offer_views(
    axum::extract::State(state): axum::extract::State<ManagementState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, Problem> {
    authorize(&headers, &state.api_key)?;
    let request: OfferRequest = parse(&body)?;
    let battery = battery_id(&request.battery)?;
    let app = state
        .app
        .as_ref()
        .ok_or(PassportDspError::NoApp("passport"))?;
    let datasets = publish_views(&state.connector, app, &battery).await?;
    Ok(axum::Json(
        json!({"battery": battery.to_string(), "datasets": datasets}),
    ))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RemoteRequest {
    operator_did: String,
    dsp_url: String,
    battery: String,
    group: AccessGroup,
}

/// # `POST /management/v3/passports/remote`
async fn fetch_remote(
    axum::extract::State(state): axum::extract::State<ManagementState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, Problem> {
    authorize(&headers, &state.api_key)?;
    let request: RemoteRequest = parse(&body)?;
    let battery = battery_id(&request.battery)?;
    if !PUBLISHED_GROUPS.contains(&request.group) {
        return Err(Problem(
            axum::http::StatusCode::BAD_REQUEST,
            format!(
                "group {} is not offered over DSP (the public view is on the passport page)",
                request.group.as_str()
            ),
        ));
    }
    let remote = fetch_view(
        &state.dsp,
        &request.operator_did,
        &request.dsp_url,
        &battery,
        request.group,
        false,
    )
    .await?;
    Ok(axum::Json(json!({
        "operatorDid": remote.operator_did,
        "agreementId": remote.agreement_id,
        "negotiated": remote.negotiated,
        "group": request.group.as_str(),
        "passport": remote.view.passport,
    })))
}
