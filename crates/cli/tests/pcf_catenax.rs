//! The Catena-X PCF exchange over DSP end to end: a requester, a supplier and a third
//! company, onboarded with the operator and authenticating with DCP over HTTPS, each run the
//! PCF app with the DSP transport. The requester asks the supplier with
//! `GET /footprintExchange/{requestId}`; the supplier negotiates for the requester's
//! PcfExchange asset and answers with `PUT /footprintExchange/{requestId}`; the requester
//! holds a footprint that validates against the `io.catenax.pcf` 9.0.0 schema. A product the
//! supplier has no footprint of is refused; a third company cannot answer the requester's
//! request; a malformed answer changes nothing.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tsunagu::network::{Company, Network};
use tsunagu::pcf_catenax::{self};
use tsunagu::pcf_dsp::TRADE_INBOX_ASSET_ID;
use tsunagu_engine::{InboxHandler, InboxMessage, InboxMethod, InboxRefusal, InboxReply};
use tsunagu_pcf::pact::{PactProfile, product_urn};
use tsunagu_pcf::service::{
    CatenaxAnswerState, CatenaxRequest, CatenaxRequestState, NewCatenaxRequest, PartInput,
    TransportError,
};
use tsunagu_pcf::{
    DataQualityRating, Disclosure, DisclosurePolicy, OuranosFootprint, PcfService, Unit,
};

#[path = "support/pcf_apps.rs"]
mod support;
use support::app;

const WAIT: Duration = Duration::from_secs(20);

/// Records how each call reached an inbox, then hands it to the app's handler, unless it
/// is told to fail `PUT`s as a connector whose app is down would.
struct Recording {
    inner: Arc<dyn InboxHandler>,
    calls: Calls,
    fail_puts: Arc<AtomicBool>,
}

#[async_trait]
impl InboxHandler for Recording {
    async fn on_message(&self, message: InboxMessage) -> Result<InboxReply, InboxRefusal> {
        self.calls.lock().unwrap().push((
            message.method,
            message.path.clone(),
            message.query.clone(),
            message.sender_id.clone(),
        ));
        if message.method == InboxMethod::Put && self.fail_puts.load(Ordering::SeqCst) {
            return Err(InboxRefusal::Unavailable("the app is down".into()));
        }
        self.inner.on_message(message).await
    }
}

type Calls = Arc<Mutex<Vec<(InboxMethod, String, Option<String>, String)>>>;

fn record_calls(network: &Network, name: &str) -> (Calls, Arc<AtomicBool>) {
    let connector = &network.member(name).node.connector;
    let calls: Calls = Arc::default();
    let fail_puts = Arc::new(AtomicBool::new(false));
    let inner = connector.inbox_handler(TRADE_INBOX_ASSET_ID).unwrap();
    connector.register_inbox_handler(
        TRADE_INBOX_ASSET_ID,
        Arc::new(Recording {
            inner,
            calls: calls.clone(),
            fail_puts: fail_puts.clone(),
        }),
    );
    (calls, fail_puts)
}

async fn wait_for_state(
    service: &PcfService,
    request_id: uuid::Uuid,
    state: CatenaxRequestState,
) -> CatenaxRequest {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let request = service.catenax_request(request_id).await.unwrap().unwrap();
        if request.state == state {
            return request;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "request {request_id} is {:?}, not {state:?}: {request:#?}",
            request.state
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_answer_state(service: &PcfService, state: CatenaxAnswerState) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let inbound = service.catenax_inbound().await.unwrap();
        if inbound.iter().any(|i| i.state == state) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no inbound request is {state:?}: {inbound:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn assert_schema_valid(footprint: &Value) {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let text = std::fs::read_to_string(spec.join("catena-x/io.catenax.pcf/9.0.0/Pcf-schema.json"))
        .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(footprint)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{footprint:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_asks_for_a_footprint_and_the_supplier_puts_it_back_over_dsp() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(
        dir.path(),
        vec![
            Company::new("asker", "CX Asker K.K.", 610_000_000_001, &["cellMaker"]),
            Company::new(
                "supplier",
                "CX Supplier K.K.",
                610_000_000_002,
                &["materialMaker"],
            ),
            Company::new(
                "intruder",
                "CX Intruder K.K.",
                610_000_000_003,
                &["materialMaker"],
            ),
        ],
    )
    .await
    .unwrap();
    let asker = app(&network, "asker", 1).await;
    let supplier = app(&network, "supplier", 2).await;
    let intruder = app(&network, "intruder", 3).await;
    let (at_supplier, _) = record_calls(&network, "supplier");
    let (at_asker, asker_fails_puts) = record_calls(&network, "asker");

    // The supplier's own footprint of a part, shown with the stage split Catena-X needs.
    let made = supplier
        .service
        .put_part(PartInput {
            trace_id: None,
            operator_id: supplier.operator.operator_id,
            plant_id: supplier.plant.plant_id,
            part_name: "cathode C".into(),
            support_part_name: None,
            label_name: None,
            amount_required: None,
            amount_required_unit: Unit::Kilogram,
            terminated_flag: false,
            additional_info: Default::default(),
        })
        .await
        .unwrap();
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
    let product = product_urn(made.trace_id);

    // Without a geography the footprint cannot be a Catena-X PCF: the request is refused
    // with that reason, not failed.
    let no_geography = asker
        .exchange()
        .request(NewCatenaxRequest {
            partner_did: supplier.did.clone(),
            manufacturer_part_id: Some(product.clone()),
            customer_part_id: None,
            message: None,
        })
        .await
        .unwrap();
    assert_eq!(no_geography.state, CatenaxRequestState::Refused);
    assert!(
        no_geography
            .reason
            .as_deref()
            .unwrap()
            .contains("geography"),
        "{no_geography:#?}"
    );
    supplier
        .service
        .set_pact_profile(PactProfile {
            geography_country: Some("JP".into()),
            ..PactProfile::default()
        })
        .await
        .unwrap();

    // The asker asks through its management API (the connector's API key, on a real socket).
    let api_key = "catenax-test-key";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let management = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        axum::serve(
            listener,
            pcf_catenax::management_router(asker.exchange(), api_key),
        )
        .into_future(),
    );
    let http = reqwest::Client::new();
    let no_key = http
        .get(format!("{management}/management/v3/pcf/catenax-requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    let created = http
        .post(format!("{management}/management/v3/pcf/catenax-requests"))
        .header("X-Api-Key", api_key)
        .json(&json!({
            "partnerDid": supplier.did,
            "manufacturerPartId": product,
            "message": "PCF for cathode C, please!",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: CatenaxRequest = created.json().await.unwrap();
    assert_eq!(
        created.state,
        CatenaxRequestState::Open,
        "the supplier accepted: {created:#?}"
    );
    let request_id = created.request_id;

    // The supplier answers on its own: the asker holds a schema-valid footprint of the
    // product it asked for, from the supplier.
    let answered = wait_for_state(&asker.service, request_id, CatenaxRequestState::Answered).await;
    let footprint = answered.footprint.clone().unwrap();
    assert_schema_valid(&footprint);
    let pact = tsunagu_pcf::pact::from_catenax(&footprint).unwrap();
    assert_eq!(pact.product_ids, vec![product.clone()]);
    assert_eq!(answered.partner_did, supplier.did);
    wait_for_answer_state(&supplier.service, CatenaxAnswerState::Answered).await;
    let listed: Vec<CatenaxRequest> = http
        .get(format!("{management}/management/v3/pcf/catenax-requests"))
        .header("X-Api-Key", api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].request_id, request_id, "newest first");
    assert_eq!(listed[0].state, CatenaxRequestState::Answered);
    assert_eq!(listed[0].footprint.as_ref(), Some(&footprint));

    // On the wire: GET at the supplier and PUT at the asker, each on exactly
    // `/footprintExchange/{requestId}` below the data address, from the other party's DID.
    let path = format!("/footprintExchange/{request_id}");
    let got = at_supplier.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:#?}");
    let got = &got[1..];
    assert_eq!(got[0].0, InboxMethod::Get);
    assert_eq!(got[0].1, path);
    let query = got[0].2.clone().unwrap();
    assert!(
        query.contains(&format!(
            "manufacturerPartId={}",
            product.replace(':', "%3A")
        )),
        "{query}"
    );
    assert!(
        query.contains("message=PCF%20for%20cathode%20C%2C%20please%21"),
        "{query}"
    );
    assert_eq!(got[0].3, asker.did);
    let put = at_asker.lock().unwrap().clone();
    assert_eq!(put.len(), 1, "{put:#?}");
    assert_eq!(put[0].0, InboxMethod::Put);
    assert_eq!(put[0].1, path);
    assert_eq!(put[0].2.as_deref(), Some("update=false"));
    assert_eq!(put[0].3, supplier.did);
    // The data address is the data plane's `/data`, so the URL is `<public>/data/footprintExchange/…`.
    let asker_node = &network.member("asker").node;
    let transfers = asker_node
        .connector
        .transfers(tsunagu_store::Page::ALL)
        .await
        .unwrap();
    let supplier_url = &network.member("supplier").node.public_url;
    assert!(
        transfers
            .iter()
            .filter(|t| t.role == tsunagu_core::Role::Consumer)
            .all(|t| t.endpoint.as_deref() == Some(format!("{supplier_url}/data").as_str())),
        "{transfers:#?}"
    );

    // A product the supplier has no footprint of is refused at once, and nothing is owed.
    let unknown = asker
        .exchange()
        .request(NewCatenaxRequest {
            partner_did: supplier.did.clone(),
            manufacturer_part_id: Some(format!("urn:uuid:{}", uuid::Uuid::new_v4())),
            customer_part_id: None,
            message: None,
        })
        .await
        .unwrap();
    assert_eq!(unknown.state, CatenaxRequestState::Refused);
    let reason = unknown.reason.clone().unwrap();
    assert!(
        reason.contains("404") && reason.contains("not found"),
        "{reason}"
    );
    assert_eq!(supplier.service.catenax_inbound().await.unwrap().len(), 1);

    // A third company holds an agreement for the asker's PcfExchange asset too, but cannot
    // answer the asker's request: the sender is the transfer's counter-party.
    let spoofed = intruder
        .transport
        .call_partner(
            &asker.did,
            InboxMethod::Put,
            &path,
            Some("update=true"),
            Some("application/json"),
            serde_json::to_vec(&footprint).unwrap().into(),
        )
        .await;
    match spoofed {
        Err(TransportError::Refused { reason, .. }) => {
            assert!(reason.contains("404"), "{reason}")
        }
        other => panic!("the spoofed answer was not refused: {other:?}"),
    }
    // Nor can the supplier itself send something that is not a Catena-X PCF aspect.
    let malformed = supplier
        .transport
        .call_partner(
            &asker.did,
            InboxMethod::Put,
            &path,
            Some("update=true"),
            Some("application/json"),
            br#"{"productIds": ["x"]}"#.to_vec().into(),
        )
        .await;
    assert!(
        matches!(malformed, Err(TransportError::Refused { .. })),
        "{malformed:?}"
    );
    // An unsolicited PUT for a request id the asker never sent is refused too.
    let unsolicited = supplier
        .transport
        .call_partner(
            &asker.did,
            InboxMethod::Put,
            &format!("/footprintExchange/{}", uuid::Uuid::new_v4()),
            Some("update=true"),
            Some("application/json"),
            serde_json::to_vec(&footprint).unwrap().into(),
        )
        .await;
    assert!(
        matches!(unsolicited, Err(TransportError::Refused { .. })),
        "{unsolicited:?}"
    );
    // Another path below the asset is not the PCF Exchange API.
    let elsewhere = supplier
        .transport
        .call_partner(
            &asker.did,
            InboxMethod::Get,
            &format!("/productIds/{product}"),
            None,
            None,
            bytes::Bytes::new(),
        )
        .await;
    assert!(
        matches!(&elsewhere, Err(TransportError::Refused { reason, .. }) if reason.contains("404")),
        "{elsewhere:?}"
    );
    let still = asker
        .service
        .catenax_request(request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still, answered, "refused answers changed nothing");
    assert_eq!(asker.service.catenax_requests().await.unwrap().len(), 3);

    // The supplier's genuine update is taken and counted.
    let update = supplier
        .transport
        .call_partner(
            &asker.did,
            InboxMethod::Put,
            &path,
            Some("update=true&message=recomputed"),
            Some("application/json"),
            serde_json::to_vec(&footprint).unwrap().into(),
        )
        .await
        .unwrap();
    assert_eq!(update, 200);
    let updated = asker
        .service
        .catenax_request(request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.answer_message.as_deref(), Some("recomputed"));

    // An answer the asker could not take stays owed and goes out again later.
    asker_fails_puts.store(true, Ordering::SeqCst);
    let second = asker
        .exchange()
        .request(NewCatenaxRequest {
            partner_did: supplier.did.clone(),
            manufacturer_part_id: Some(product.clone()),
            customer_part_id: None,
            message: None,
        })
        .await
        .unwrap();
    assert_eq!(second.state, CatenaxRequestState::Open);
    wait_for_answer_state(&supplier.service, CatenaxAnswerState::Undelivered).await;
    asker_fails_puts.store(false, Ordering::SeqCst);
    assert_eq!(supplier.exchange().deliver_owed().await.unwrap(), 1);
    let late = wait_for_state(
        &asker.service,
        second.request_id,
        CatenaxRequestState::Answered,
    )
    .await;
    assert_eq!(late.footprint.as_ref(), Some(&footprint));
    assert_eq!(
        supplier.exchange().deliver_owed().await.unwrap(),
        0,
        "nothing is owed any more"
    );
}
