//! PCF trades over DSP end to end: a buyer and a supplier, onboarded with the operator and
//! authenticating with DCP over HTTPS, each run the PCF app on its own store with the DSP
//! transport. The buyer's request reaches the supplier (without the amount the buyer needs,
//! and with the buyer's DID as the sender), the supplier's answer reaches the buyer, both
//! under a carbon-footprint agreement negotiated once per direction, and both connectors
//! log every message. A third company cannot answer in the supplier's place.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use tsunagu::network::{Company, Network};
use tsunagu::node::Node;
use tsunagu::pcf_dsp::{self, TRADE_INBOX_ASSET_ID};
use tsunagu_core::{Role, TransferState};
use tsunagu_pcf::service::{
    NewRequest, TRADE_MESSAGE_VERSION, TradeAnswer, TradeDirection, TradeRequestMessage,
    TradeResponseMessage, TradeTransport, TransportError,
};
use tsunagu_pcf::{
    DataQualityRating, Disclosure, DisclosurePolicy, OuranosFootprint, RequestStatus, Unit,
};
use tsunagu_store::Page;

#[path = "support/pcf_apps.rs"]
mod support;
use support::app;

const WAIT: Duration = Duration::from_secs(20);

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

async fn log_of(node: &Node) -> Vec<Value> {
    node.connector
        .ledger_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.entry).unwrap())
        .collect()
}

/// Waits until `node`'s log holds `count` deliveries in `direction` under `agreement_id`.
async fn wait_for_deliveries(
    node: &Node,
    direction: &str,
    agreement_id: &str,
    count: usize,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let deliveries: Vec<Value> = log_of(node)
            .await
            .into_iter()
            .filter(|e| {
                e["type"] == "dataDelivered"
                    && e["direction"] == direction
                    && e["agreementId"] == agreement_id
            })
            .collect();
        if deliveries.len() >= count {
            return deliveries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {count} {direction} deliveries logged: {deliveries:#?}",
            deliveries.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The agreements `consumer` holds for `provider`'s trade inbox.
async fn inbox_agreements(consumer: &Node, provider: &Node) -> Vec<String> {
    consumer
        .connector
        .agreements(Page::ALL)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.dataset_id == TRADE_INBOX_ASSET_ID
                && a.provider_id == provider.participant_id()
                && a.consumer_id == consumer.participant_id()
        })
        .map(|a| a.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trade_requests_and_answers_travel_over_dsp_under_a_cfp_contract() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(
        dir.path(),
        vec![
            Company::new("buyer", "PCF Buyer K.K.", 600_000_000_001, &["cellMaker"]),
            Company::new(
                "supplier",
                "PCF Supplier K.K.",
                600_000_000_002,
                &["materialMaker"],
            ),
            Company::new(
                "intruder",
                "PCF Intruder K.K.",
                600_000_000_003,
                &["materialMaker"],
            ),
        ],
    )
    .await
    .unwrap();
    let buyer = app(&network, "buyer", 1).await;
    let supplier = app(&network, "supplier", 2).await;
    let intruder = app(&network, "intruder", 3).await;
    let buyer_node = &network.member("buyer").node;
    let supplier_node = &network.member("supplier").node;
    buyer
        .service
        .register_partner(supplier.partner())
        .await
        .unwrap();

    // The buyer asks; the supplier receives the request from the buyer's DID, without the
    // amount the buyer's bill of materials needs.
    let bought = buyer
        .service
        .put_part(buyer.part("cell A1", Some("5")))
        .await
        .unwrap();
    let made = supplier
        .service
        .put_part(supplier.part("cathode B", None))
        .await
        .unwrap();
    let trade = buyer
        .service
        .request_footprint(NewRequest {
            downstream_trace_id: bought.trace_id,
            upstream_operator_id: supplier.operator.operator_id,
            message: Some("CFP for cathode B, please".into()),
            response_due_date: None,
        })
        .await
        .unwrap();
    assert!(!trade.delivery_pending, "the request went out at once");
    let received = supplier
        .service
        .trades(TradeDirection::Received)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].request.trade_id, trade.request.trade_id);
    assert_eq!(
        received[0].requested_part.as_ref().unwrap().amount_required,
        None,
        "the buyer's amount never reaches the supplier"
    );
    assert_eq!(
        supplier
            .service
            .partner(buyer.operator.operator_id)
            .await
            .unwrap()
            .unwrap()
            .did,
        buyer.did,
        "the sender is the DID the transfer was agreed with"
    );

    // The supplier answers with its footprint, as its disclosure policy allows.
    supplier
        .service
        .put_ouranos_footprint(
            made.trace_id,
            None,
            OuranosFootprint {
                declared_unit: Unit::Kilogram,
                pre_production: d("1.5"),
                main_production: d("10"),
                pre_component: Decimal::ZERO,
                main_component: Decimal::ZERO,
                pre_quality: Some(DataQualityRating::new(d("1"), d("2"), d("3")).unwrap()),
                main_quality: None,
            },
        )
        .await
        .unwrap();
    supplier
        .service
        .set_disclosure_policy(DisclosurePolicy::new(Disclosure::StageSplit))
        .await
        .unwrap();
    supplier
        .service
        .answer_request(trade.request.trade_id, made.trace_id)
        .await
        .unwrap();
    let sent = buyer
        .service
        .trade(trade.request.trade_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.request.status, RequestStatus::Completed);
    assert_eq!(
        sent.supplier_footprint.as_ref().unwrap().total_kg_co2e,
        d("11.5")
    );

    // A late copy of the request travels under the same agreement (negotiated once) and
    // changes nothing.
    buyer
        .transport
        .send_request(
            &supplier.partner(),
            TradeRequestMessage {
                version: TRADE_MESSAGE_VERSION,
                request: trade.request.clone(),
                requester: buyer.operator.clone(),
                requested_part: bought.clone(),
            },
        )
        .await
        .unwrap();
    let buyer_to_supplier = inbox_agreements(buyer_node, supplier_node).await;
    let supplier_to_buyer = inbox_agreements(supplier_node, buyer_node).await;
    assert_eq!(
        buyer_to_supplier.len(),
        1,
        "one agreement for the supplier's inbox"
    );
    assert_eq!(
        supplier_to_buyer.len(),
        1,
        "one agreement for the buyer's inbox"
    );
    let buyer_agreement = &buyer_to_supplier[0];
    let supplier_agreement = &supplier_to_buyer[0];
    let agreement = buyer_node
        .connector
        .agreement(buyer_agreement)
        .await
        .unwrap();
    assert!(
        agreement.policy.to_string().contains(pcf_dsp::CFP_PURPOSE),
        "the agreement is the carbon-footprint contract: {}",
        agreement.policy
    );
    // Each message had its own transfer, completed once the message was taken.
    let transfers = buyer_node.connector.transfers(Page::ALL).await.unwrap();
    let buyer_sends: Vec<_> = transfers
        .iter()
        .filter(|t| t.role == Role::Consumer && &t.agreement_id == buyer_agreement)
        .collect();
    assert_eq!(buyer_sends.len(), 2);
    for transfer in buyer_sends {
        let done = buyer_node
            .connector
            .wait_for_transfer(&transfer.id, |s| s == TransferState::Completed, WAIT)
            .await
            .unwrap();
        assert_eq!(done.deliveries, 1);
    }

    // Both transaction logs hold every message, with the same digests on both sides.
    let served = wait_for_deliveries(buyer_node, "served", buyer_agreement, 2).await;
    let taken = wait_for_deliveries(supplier_node, "received", buyer_agreement, 2).await;
    let digests = |entries: &[Value]| {
        let mut digests: Vec<String> = entries
            .iter()
            .map(|e| e["sha256"].as_str().unwrap().to_owned())
            .collect();
        digests.sort();
        digests
    };
    assert_eq!(digests(&served), digests(&taken));
    let answered = wait_for_deliveries(supplier_node, "served", supplier_agreement, 1).await;
    let got = wait_for_deliveries(buyer_node, "received", supplier_agreement, 1).await;
    assert_eq!(digests(&answered), digests(&got));
    for node in [buyer_node, supplier_node] {
        let log = log_of(node).await;
        assert!(
            log.iter().any(|e| e["type"] == "agreementConcluded"
                && e["agreementId"] == buyer_agreement.as_str()),
            "the agreement is logged"
        );
    }

    // A company that is not the supplier cannot answer the buyer's request, although it
    // holds a valid agreement for the buyer's inbox: the sender is the transfer's
    // counter-party, not what the message claims.
    let spoofed = intruder
        .transport
        .send_response(
            &buyer.partner(),
            TradeResponseMessage {
                version: TRADE_MESSAGE_VERSION,
                trade_id: trade.request.trade_id,
                status_id: trade.request.status_id,
                answer: TradeAnswer::Rejected {
                    reason: "not ours".into(),
                },
                sent_at: chrono::Utc::now(),
            },
        )
        .await;
    match spoofed {
        Err(TransportError::Refused { reason, .. }) => {
            assert!(reason.contains("is not the supplier"), "{reason}")
        }
        other => panic!("the spoofed answer was not refused: {other:?}"),
    }
    let still = buyer
        .service
        .trade(trade.request.trade_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.request.status, RequestStatus::Completed);
}
