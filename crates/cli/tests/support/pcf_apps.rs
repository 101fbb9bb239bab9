//! The PCF app of one member of a loopback network, on its own SQLite file, trading over its
//! connector: what the PCF-over-DSP tests share.

#![allow(dead_code)] // Each test crate uses a part of it.

use std::sync::Arc;

use tsunagu::network::Network;
use tsunagu::pcf_catenax::CatenaxExchange;
use tsunagu::pcf_dsp::{self, DspTradeTransport};
use tsunagu_pcf::service::{PartInput, Partner, PlantInput};
use tsunagu_pcf::{
    CorporateNumber, OpenPlantId, Operator, OperatorIdentifier, PcfService, Plant, Unit,
};
use tsunagu_store::SqliteStore;

pub(crate) struct App {
    pub(crate) service: PcfService,
    pub(crate) transport: Arc<DspTradeTransport>,
    pub(crate) operator: Operator,
    pub(crate) plant: Plant,
    pub(crate) did: String,
}

impl App {
    pub(crate) fn partner(&self) -> Partner {
        Partner {
            operator: self.operator.clone(),
            did: self.did.clone(),
        }
    }

    pub(crate) fn part(&self, name: &str, amount: Option<&str>) -> PartInput {
        PartInput {
            trace_id: None,
            operator_id: self.operator.operator_id,
            plant_id: self.plant.plant_id,
            part_name: name.into(),
            support_part_name: None,
            label_name: None,
            amount_required: amount.map(|a| a.parse().unwrap()),
            amount_required_unit: Unit::Kilogram,
            terminated_flag: false,
            additional_info: Default::default(),
        }
    }

    /// The app's Catena-X PCF exchange (a stateless handle).
    pub(crate) fn exchange(&self) -> CatenaxExchange {
        CatenaxExchange::new(self.service.clone(), self.transport.clone())
    }
}

/// The PCF app of one member, on its own SQLite file, trading over its connector.
pub(crate) async fn app(network: &Network, name: &str, n: u128) -> App {
    let member = network.member(name);
    let connector = &member.node.connector;
    pcf_dsp::publish_trade_inbox(connector).await.unwrap();
    let store = SqliteStore::open(&network.dir.join(format!("{name}-pcf.sqlite")))
        .await
        .unwrap();
    // Partners' DSP addresses come from their DID documents (did:web over HTTPS).
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();
    let resolver = Arc::new(tsunagu_server::identity::HttpDidResolver::new(client, true));
    let transport = DspTradeTransport::resolving(connector.clone(), Some(resolver));
    let service = PcfService::new(Arc::new(store), transport.clone());
    pcf_dsp::attach_service(connector, service.clone(), transport.clone());
    let operator = service
        .set_up_operator(Operator {
            operator_id: uuid::Uuid::from_u128(n),
            name: member.company.legal_name.clone(),
            address: "東京都千代田区".into(),
            open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
                CorporateNumber::parse(&member.company.corporate_number).unwrap(),
            ),
            global_operator_id: None,
        })
        .await
        .unwrap();
    let plant = service
        .put_plant(PlantInput {
            plant_id: None,
            operator_id: operator.operator_id,
            name: format!("{name} plant"),
            address: "xx県".into(),
            open_plant_id: OpenPlantId::parse(&format!("plant{n:06}")).unwrap(),
            global_plant_id: None,
        })
        .await
        .unwrap();
    App {
        service,
        transport,
        operator,
        plant,
        did: member.node.participant_id().to_owned(),
    }
}
