//! The PCF app's trades over the Eclipse Dataspace Protocol: the `TradeTransport` that
//! carries Ouranos-style trade requests and answers between two companies under a
//! carbon-footprint contract, and the inbox handler that hands arriving ones to the
//! company's `PcfService`.
//!
//! It lives here because it is glue: the engine must not know the app, and the app must not
//! know the engine. The pattern is the Catena-X PCF exchange, adapted: every company that
//! runs the app publishes one inbox asset (`pcf-trade-inbox`, typed `PcfExchange`) under a
//! contract policy for carbon-footprint exchange (active membership, purpose
//! `cfp-calculation`). To send, a company negotiates once per partner for the partner's
//! inbox (the agreement is reused while it holds), starts a pull transfer per message, posts
//! the message JSON to the partner's data plane with the transfer's token, and completes the
//! transfer. The partner's connector checks the transfer and the agreement's policy, logs
//! the delivery, and calls `receive_trade_request` / `receive_trade_response` with the
//! counter-party of the transfer as sender: a DID the DSP authentication established, never
//! one read from the message.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tsunagu_core::{AssetSelector, NegotiationState, TransferAction, TransferMode, TransferState};
use tsunagu_engine::{
    Connector, EngineError, InboxHandler, InboxMessage, InboxMethod, InboxRefusal, InboxReply,
    NewContractDefinition, NewPolicyDefinition, PeerError, StartNegotiation, StartTransfer,
};
use tsunagu_pcf::service::{
    Partner, PcfService, ServiceError, TradeRequestMessage, TradeResponseMessage, TradeTransport,
    TransportError,
};
use tsunagu_store::Page;

/// The id of every company's trade inbox asset.
pub const TRADE_INBOX_ASSET_ID: &str = "pcf-trade-inbox";
/// The `dct:type` of the inbox asset, by which a partner's catalog entry is recognised: the
/// Catena-X taxonomy's `cx-taxo:PcfExchange`, written out.
pub const PCF_EXCHANGE_TYPE: &str = "https://w3id.org/catenax/taxonomy#PcfExchange";
/// The version of the Catena-X PCF Exchange API the inbox speaks (`cx-common:version`).
pub const PCF_EXCHANGE_API_VERSION: &str = "1.2.0";
/// The usage purpose the carbon-footprint contract names.
pub const CFP_PURPOSE: &str = "cfp-calculation";
const ACCESS_POLICY_ID: &str = "pcf-trade-access";
const CONTRACT_POLICY_ID: &str = "pcf-trade-contract";
const CONTRACT_DEFINITION_ID: &str = "pcf-trade";
const MEDIA_TYPE: &str = "application/json";

/// What travels in one inbox message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
enum TradeEnvelope {
    Request(Box<TradeRequestMessage>),
    Response(TradeResponseMessage),
}

/// Publishes this company's trade inbox: the asset, its two policies and its contract
/// definition. Running it again changes nothing.
pub async fn publish_trade_inbox(connector: &Connector) -> Result<(), EngineError> {
    fn existing_is_fine<T>(result: Result<T, EngineError>) -> Result<(), EngineError> {
        match result {
            Ok(_) | Err(EngineError::AlreadyExists(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }
    let mut properties = serde_json::Map::new();
    properties.insert("dct:type".into(), json!({"@id": PCF_EXCHANGE_TYPE}));
    properties.insert(
        "https://w3id.org/catenax/ontology/common#version".into(),
        Value::from(PCF_EXCHANGE_API_VERSION),
    );
    properties.insert(
        "dct:description".into(),
        Value::from(
            "Carbon-footprint exchange: Ouranos-style trade messages posted to the address, \
             and the Catena-X PCF Exchange API (GET and PUT /footprintExchange/{requestId})",
        ),
    );
    existing_is_fine(
        connector
            .create_inbox_asset(
                Some(TRADE_INBOX_ASSET_ID.into()),
                properties,
                MEDIA_TYPE.into(),
            )
            .await,
    )?;
    existing_is_fine(
        connector
            .create_policy_definition(NewPolicyDefinition {
                id: Some(ACCESS_POLICY_ID.into()),
                policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
                    {"leftOperand": "membership", "operator": "eq", "rightOperand": "active"}
                ]}]}),
            })
            .await,
    )?;
    existing_is_fine(
        connector
            .create_policy_definition(NewPolicyDefinition {
                id: Some(CONTRACT_POLICY_ID.into()),
                policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                    {"leftOperand": "membership", "operator": "eq", "rightOperand": "active"},
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": CFP_PURPOSE}
                ]}]}]}),
            })
            .await,
    )?;
    existing_is_fine(
        connector
            .create_contract_definition(NewContractDefinition {
                id: Some(CONTRACT_DEFINITION_ID.into()),
                access_policy_id: ACCESS_POLICY_ID.into(),
                contract_policy_id: CONTRACT_POLICY_ID.into(),
                assets: AssetSelector::Ids(vec![TRADE_INBOX_ASSET_ID.into()]),
            })
            .await,
    )
}

/// Makes `service` receive what partners send to this connector's trade inbox: trade
/// messages, and Catena-X footprint requests and answers, which it answers through
/// `transport`.
pub fn attach_service(
    connector: &Connector,
    service: PcfService,
    transport: Arc<DspTradeTransport>,
) {
    let catenax = crate::pcf_catenax::CatenaxExchange::new(service.clone(), transport);
    connector.register_inbox_handler(
        TRADE_INBOX_ASSET_ID,
        Arc::new(TradeInboxHandler { service, catenax }),
    );
}

struct TradeInboxHandler {
    service: PcfService,
    catenax: crate::pcf_catenax::CatenaxExchange,
}

#[async_trait]
impl InboxHandler for TradeInboxHandler {
    async fn on_message(&self, message: InboxMessage) -> Result<InboxReply, InboxRefusal> {
        if !message.path.is_empty() {
            return self.catenax.on_call(message).await;
        }
        if message.method != InboxMethod::Post {
            return Err(InboxRefusal::NotFound(
                "the PCF trade inbox takes trade messages posted to its address".into(),
            ));
        }
        let envelope: TradeEnvelope = serde_json::from_slice(&message.body)
            .map_err(|error| InboxRefusal::Refused(format!("not a PCF trade message: {error}")))?;
        // The sender is the counter-party of the transfer, never a DID from the message.
        let sender = message.sender_id.as_str();
        let outcome = match envelope {
            TradeEnvelope::Request(request) => {
                self.service.receive_trade_request(sender, *request).await
            }
            TradeEnvelope::Response(response) => {
                self.service.receive_trade_response(sender, response).await
            }
        };
        outcome
            .map(|()| InboxReply::Taken)
            .map_err(|error| match error {
                ServiceError::Store(error) => InboxRefusal::Unavailable(error.to_string()),
                ServiceError::Internal(error) => InboxRefusal::Unavailable(error),
                other => InboxRefusal::Refused(other.to_string()),
            })
    }
}

/// Sends trade messages as the consumer of each partner's trade inbox. Partners are found
/// by their DID: the DSP address is the `DataService` endpoint of the partner's DID document
/// (resolved once and remembered), unless one was given with `add_partner_address`.
pub struct DspTradeTransport {
    connector: Connector,
    addresses: RwLock<HashMap<String, String>>,
    resolver: Option<Arc<dyn tsunagu_trust::did::DidResolver>>,
    /// Agreement per partner DID. Held across a negotiation, so that concurrent sends to a
    /// partner negotiate once.
    agreements: tokio::sync::Mutex<HashMap<String, String>>,
    /// How long a negotiation or a transfer start may take before the send counts as failed
    /// (it is retried by the service's `deliver_pending`).
    timeout: Duration,
}

impl DspTradeTransport {
    /// A transport whose partners' addresses are only those given with
    /// `add_partner_address`.
    pub fn new(connector: Connector) -> Arc<DspTradeTransport> {
        DspTradeTransport::resolving(connector, None)
    }

    /// A transport that finds partners' DSP addresses in their DID documents.
    pub fn resolving(
        connector: Connector,
        resolver: Option<Arc<dyn tsunagu_trust::did::DidResolver>>,
    ) -> Arc<DspTradeTransport> {
        Arc::new(DspTradeTransport {
            connector,
            addresses: RwLock::new(HashMap::new()),
            resolver,
            agreements: tokio::sync::Mutex::new(HashMap::new()),
            timeout: Duration::from_secs(30),
        })
    }

    /// Where the partner known as `did` has its DSP endpoint (its DID document's
    /// `DataService`, or the operator's directory).
    pub fn add_partner_address(&self, did: &str, dsp_url: &str) {
        self.addresses
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(did.to_owned(), dsp_url.to_owned());
    }

    async fn address_of(&self, did: &str) -> Result<String, TransportError> {
        let known = self
            .addresses
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(did)
            .cloned();
        if let Some(address) = known {
            return Ok(address);
        }
        let unreachable = |reason: String| TransportError::Unreachable {
            partner: did.to_owned(),
            reason,
        };
        let resolver = self
            .resolver
            .as_ref()
            .ok_or_else(|| unreachable("no DSP address is known for this partner".into()))?;
        let document = resolver
            .resolve(did)
            .await
            .map_err(|error| unreachable(format!("its DID document: {error}")))?;
        let address = document
            .service_endpoint("DataService")
            .ok_or_else(|| unreachable("its DID document names no DataService endpoint".into()))?
            .to_owned();
        self.add_partner_address(did, &address);
        Ok(address)
    }

    /// A finalized agreement for the partner's trade inbox: the one remembered, one found
    /// among the connector's agreements, or a new one.
    async fn agreement_with(&self, did: &str, dsp_url: &str) -> Result<String, TransportError> {
        let mut agreements = self.agreements.lock().await;
        if let Some(id) = agreements.get(did) {
            return Ok(id.clone());
        }
        let id = match self
            .existing_agreement(did)
            .await
            .map_err(unreachable(did))?
        {
            Some(id) => id,
            None => self.negotiate(did, dsp_url).await?,
        };
        agreements.insert(did.to_owned(), id.clone());
        Ok(id)
    }

    async fn existing_agreement(&self, did: &str) -> Result<Option<String>, EngineError> {
        let own = self.connector.participant_id();
        for agreement in self.connector.agreements(Page::ALL).await? {
            if agreement.provider_id == did
                && agreement.consumer_id == own
                && agreement.dataset_id == TRADE_INBOX_ASSET_ID
                && self
                    .connector
                    .negotiation(&agreement.negotiation_id)
                    .await?
                    .state
                    == NegotiationState::Finalized
            {
                return Ok(Some(agreement.id));
            }
        }
        Ok(None)
    }

    async fn negotiate(&self, did: &str, dsp_url: &str) -> Result<String, TransportError> {
        let (catalog, _) = self
            .connector
            .request_catalog(
                did,
                dsp_url,
                json!({"@context": [tsunagu_wire::DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
            )
            .await
            .map_err(unreachable(did))?;
        let offer = inbox_offer(&catalog).ok_or_else(|| TransportError::Unreachable {
            partner: did.to_owned(),
            reason: format!("its catalog offers no {PCF_EXCHANGE_TYPE} inbox"),
        })?;
        let negotiation = self
            .connector
            .start_negotiation(StartNegotiation {
                counter_party_address: dsp_url.to_owned(),
                counter_party_id: did.to_owned(),
                offer,
            })
            .await
            .map_err(unreachable(did))?;
        let negotiation = self
            .connector
            .wait_for_negotiation(&negotiation.id, NegotiationState::is_terminal, self.timeout)
            .await
            .map_err(unreachable(did))?;
        match (negotiation.state, negotiation.agreement) {
            (NegotiationState::Finalized, Some(agreement)) => Ok(agreement.id),
            (state, _) => Err(TransportError::Refused {
                partner: did.to_owned(),
                reason: format!("the negotiation for its trade inbox ended {state}"),
            }),
        }
    }

    async fn deliver(
        &self,
        partner: &Partner,
        envelope: TradeEnvelope,
    ) -> Result<(), TransportError> {
        let body = serde_json::to_vec(&envelope).map_err(|error| TransportError::Refused {
            partner: partner.did.clone(),
            reason: format!("the message cannot be encoded: {error}"),
        })?;
        self.call_partner(
            &partner.did,
            InboxMethod::Post,
            "",
            None,
            Some(MEDIA_TYPE),
            body.into(),
        )
        .await
        .map(drop)
    }

    /// Calls the partner known as `did` on its trade inbox, as the consumer of an agreement
    /// for it (negotiated once), under a pull transfer of its own that is completed
    /// afterwards: `method` on `path` below the data address (empty for the address itself)
    /// with the raw `query`. Returns the partner's success status.
    pub async fn call_partner(
        &self,
        did: &str,
        method: InboxMethod,
        path: &str,
        query: Option<&str>,
        media_type: Option<&str>,
        body: bytes::Bytes,
    ) -> Result<u16, TransportError> {
        let dsp_url = self.address_of(did).await?;
        let agreement_id = self.agreement_with(did, &dsp_url).await?;
        let transfer = self
            .connector
            .start_transfer(StartTransfer {
                counter_party_address: dsp_url,
                agreement_id: agreement_id.clone(),
                mode: TransferMode::Pull,
            })
            .await
            .map_err(unreachable(did))?;
        let transfer = self
            .connector
            .wait_for_transfer(
                &transfer.id,
                |state| state == TransferState::Started || state.is_terminal(),
                self.timeout,
            )
            .await
            .map_err(unreachable(did))?;
        if transfer.state != TransferState::Started {
            // The agreement no longer carries transfers; negotiate anew next time.
            self.agreements.lock().await.remove(did);
            return Err(TransportError::Unreachable {
                partner: did.to_owned(),
                reason: format!("the transfer under agreement {agreement_id} was not started"),
            });
        }
        let sent = self
            .connector
            .call_inbox(&transfer.id, method, path, query, media_type, body)
            .await;
        // One transfer per call: it is over whether the call was taken or not.
        if let Err(error) = self
            .connector
            .act_on_transfer(&transfer.id, TransferAction::SendCompletion)
            .await
        {
            tracing::warn!(transfer = %transfer.id, %error, "the trade transfer could not be completed");
        }
        sent.map_err(|error| match error {
            EngineError::Peer(PeerError::Refused { detail, .. }) => TransportError::Refused {
                partner: did.to_owned(),
                reason: detail,
            },
            other => TransportError::Unreachable {
                partner: did.to_owned(),
                reason: other.to_string(),
            },
        })
    }
}

/// The first offer of the dataset in `catalog` that is a trade inbox.
fn inbox_offer(catalog: &Value) -> Option<Value> {
    let datasets = match &catalog["dataset"] {
        Value::Array(datasets) => datasets.clone(),
        Value::Object(_) => vec![catalog["dataset"].clone()],
        _ => Vec::new(),
    };
    datasets
        .into_iter()
        .find(|dataset| dataset["@id"] == TRADE_INBOX_ASSET_ID)
        .and_then(|dataset| match &dataset["hasPolicy"] {
            Value::Array(offers) => offers.first().cloned(),
            Value::Object(_) => Some(dataset["hasPolicy"].clone()),
            _ => None,
        })
}

fn unreachable(did: &str) -> impl Fn(EngineError) -> TransportError + '_ {
    move |error| TransportError::Unreachable {
        partner: did.to_owned(),
        reason: error.to_string(),
    }
}

#[async_trait]
impl TradeTransport for DspTradeTransport {
    async fn send_request(
        &self,
        supplier: &Partner,
        message: TradeRequestMessage,
    ) -> Result<(), TransportError> {
        self.deliver(supplier, TradeEnvelope::Request(Box::new(message)))
            .await
    }

    async fn send_response(
        &self,
        buyer: &Partner,
        message: TradeResponseMessage,
    ) -> Result<(), TransportError> {
        self.deliver(buyer, TradeEnvelope::Response(message)).await
    }
}
