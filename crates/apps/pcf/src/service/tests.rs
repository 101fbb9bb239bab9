//! The service on SQLite: accounts and tokens, parts and structures, footprints, and trades
//! between companies over the loopback network.

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone};
use tsunagu_store::SqliteStore;

use super::*;
use crate::activity::{ActivityItem, ActivityKind, ProductionProcess};
use crate::company::CorporateNumber;
use crate::factor::FactorLibrary;
use crate::quality::DataQualityRating;
use crate::request::RequestStatus;
use crate::rollup::Disclosure;

pub(crate) struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub(crate) fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(
            Utc.with_ymd_and_hms(2024, 11, 15, 4, 49, 44).unwrap(),
        )))
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub(crate) struct Company {
    pub(crate) service: PcfService,
    pub(crate) operator: Operator,
    pub(crate) did: String,
    pub(crate) plant: Plant,
    _dir: tempfile::TempDir,
}

fn operator(n: u128, corporate_number: &str) -> Operator {
    Operator {
        operator_id: Uuid::from_u128(n),
        name: format!("company {n}"),
        address: "東京都".into(),
        open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
            CorporateNumber::parse(corporate_number).unwrap(),
        ),
        global_operator_id: None,
    }
}

pub(crate) async fn company(
    network: &Arc<LoopbackNetwork>,
    clock: &Arc<ManualClock>,
    n: u128,
    corporate_number: &str,
) -> Company {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pcf.sqlite"))
        .await
        .unwrap();
    let did = format!("did:web:company{n}.test");
    let service = PcfService::with_clock(
        Arc::new(store),
        network.transport_for(&did),
        clock.clone(),
        AuthSettings::default(),
    );
    network.attach(&did, &service);
    let operator = service
        .set_up_operator(operator(n, corporate_number))
        .await
        .unwrap();
    let plant = service
        .put_plant(PlantInput {
            plant_id: None,
            operator_id: operator.operator_id,
            name: "plant".into(),
            address: "xx県".into(),
            open_plant_id: OpenPlantId::parse(&format!("plant{n:06}")).unwrap(),
            global_plant_id: None,
        })
        .await
        .unwrap();
    Company {
        service,
        operator,
        did,
        plant,
        _dir: dir,
    }
}

impl Company {
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

    /// Asks `supplier` for the footprint of the bought part `part` (no message, no due date).
    pub(crate) async fn asks(&self, supplier: &Company, part: TraceId) -> TradeView {
        self.service
            .request_footprint(NewRequest {
                downstream_trace_id: part,
                upstream_operator_id: supplier.operator.operator_id,
                message: None,
                response_due_date: None,
            })
            .await
            .unwrap()
    }

    pub(crate) async fn knows(&self, other: &Company) {
        self.service
            .register_partner(Partner {
                operator: other.operator.clone(),
                did: other.did.clone(),
            })
            .await
            .unwrap();
    }
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn figures(pre: &str, main: &str) -> OuranosFootprint {
    OuranosFootprint {
        declared_unit: Unit::Kilogram,
        pre_production: d(pre),
        main_production: d(main),
        pre_component: Decimal::ZERO,
        main_component: Decimal::ZERO,
        pre_quality: Some(DataQualityRating::new(d("1"), d("2"), d("3")).unwrap()),
        main_quality: None,
    }
}

#[tokio::test]
async fn logins_tokens_and_lockout() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let a = company(&network, &clock, 1, "7000012050002").await;
    let service = &a.service;
    let key = service.issue_api_key("cfp app").await.unwrap();
    service.verify_api_key(Some(&key)).await.unwrap();
    assert!(matches!(
        service.verify_api_key(Some("tsk_wrong")).await,
        Err(ServiceError::Auth(AuthError::InvalidApiKey))
    ));
    assert!(matches!(
        service.verify_api_key(None).await,
        Err(ServiceError::Auth(AuthError::MissingApiKey))
    ));
    service
        .create_account("OEM_A@example.com", "oemA&user_01")
        .await
        .unwrap();
    let tokens = service
        .login("oem_a@example.com", "oemA&user_01")
        .await
        .unwrap();
    let session = service
        .verify_access_token(Some(&tokens.access_token))
        .await
        .unwrap();
    assert_eq!(session.operator_id(), a.operator.operator_id);
    // A refresh token is no access token, and the other way round.
    assert!(
        service
            .verify_access_token(Some(&tokens.refresh_token))
            .await
            .is_err()
    );
    assert!(service.refresh(&tokens.access_token).await.is_err());
    // Access tokens expire; the refresh token gives a new one.
    clock.advance(Duration::minutes(61));
    assert!(matches!(
        service
            .verify_access_token(Some(&tokens.access_token))
            .await,
        Err(ServiceError::Auth(AuthError::InvalidToken))
    ));
    let fresh = service.refresh(&tokens.refresh_token).await.unwrap();
    let session = service.verify_access_token(Some(&fresh)).await.unwrap();
    // Changing the password ends the other sessions, not this one.
    let other = service
        .login("oem_a@example.com", "oemA&user_01")
        .await
        .unwrap();
    service
        .change_password(&session, "newPass1234")
        .await
        .unwrap();
    assert!(service.verify_access_token(Some(&fresh)).await.is_ok());
    assert!(
        service
            .verify_access_token(Some(&other.access_token))
            .await
            .is_err()
    );
    assert!(service.refresh(&other.refresh_token).await.is_err());
    assert!(
        service
            .login("oem_a@example.com", "oemA&user_01")
            .await
            .is_err()
    );
    // Five failures in a row lock the account, even for the right password.
    for _ in 0..5 {
        assert!(
            service
                .login("oem_a@example.com", "wrong-pass")
                .await
                .is_err()
        );
    }
    assert!(matches!(
        service.login("oem_a@example.com", "newPass1234").await,
        Err(ServiceError::Auth(AuthError::InvalidCredentials))
    ));
    clock.advance(Duration::minutes(16));
    assert!(
        service
            .login("oem_a@example.com", "newPass1234")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn parts_are_found_by_plant_and_names_and_structures_stay_acyclic() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let a = company(&network, &clock, 1, "7000012050002").await;
    let service = &a.service;
    let first = service.put_part(a.part("部品A", None)).await.unwrap();
    // The same plant and names give the same part, as in Ouranos.
    let again = service.put_part(a.part("部品A", None)).await.unwrap();
    assert_eq!(first.trace_id, again.trace_id);
    let mut renamed = a.part("部品B", None);
    renamed.trace_id = Some(first.trace_id);
    assert_eq!(
        service.put_part(renamed).await.unwrap_err().to_string(),
        "partsName: field is immutable."
    );
    let (parent, children) = service
        .put_parts_structure(
            a.part("部品A", None),
            vec![a.part("部品A1", Some("5")), a.part("部品A2", Some("0.5"))],
        )
        .await
        .unwrap();
    assert_eq!(parent.trace_id, first.trace_id);
    assert_eq!(children.len(), 2);
    // A1 cannot contain A.
    let error = service
        .put_parts_structure(a.part("部品A1", None), vec![a.part("部品A", Some("1"))])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cycle"), "{error}");
    let parents = service
        .parts(&PartFilter {
            parents_only: true,
            ..PartFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(parents.len(), 1);
    assert_eq!(service.bill_of_materials().await.unwrap().lines().len(), 2);
    // A part in a structure stays.
    assert!(matches!(
        service.delete_part(children[0].trace_id).await,
        Err(ServiceError::Refused {
            code: "MSGAECP0014",
            ..
        })
    ));
    let loose = service.put_part(a.part("部品Z", None)).await.unwrap();
    service.delete_part(loose.trace_id).await.unwrap();
    assert!(matches!(
        service.delete_part(loose.trace_id).await,
        Err(ServiceError::Refused {
            code: "MSGAECP0013",
            ..
        })
    ));
}

#[tokio::test]
async fn a_parent_shows_totals_over_its_children() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let a = company(&network, &clock, 1, "7000012050002").await;
    let service = &a.service;
    let (parent, children) = service
        .put_parts_structure(a.part("P", None), vec![a.part("C", Some("2"))])
        .await
        .unwrap();
    service
        .put_ouranos_footprint(parent.trace_id, None, figures("0", "0.5"))
        .await
        .unwrap();
    // Without the child's footprint the totals are unknown.
    assert_eq!(service.cfp_rows(&[parent.trace_id]).await.unwrap().len(), 4);
    service
        .put_ouranos_footprint(children[0].trace_id, None, figures("1.15", "0.75"))
        .await
        .unwrap();
    let rows = service.cfp_rows(&[parent.trace_id]).await.unwrap();
    let totals: Vec<(&str, Option<Decimal>)> = rows
        .iter()
        .map(|r| (r.figure.cfp_type.as_str(), r.figure.kg_co2e))
        .collect();
    assert_eq!(
        totals,
        [
            ("preProduction", Some(d("0"))),
            ("mainProduction", Some(d("0.5"))),
            ("preComponent", Some(d("0"))),
            ("mainComponent", Some(d("0"))),
            ("preProductionTotal", Some(d("0"))),
            ("mainProductionTotal", Some(d("0.5"))),
            ("preComponentTotal", Some(d("2.3"))),
            ("mainComponentTotal", Some(d("1.5"))),
        ]
    );
    // The cfp id stays with the part; another one is refused.
    let first = service
        .own_footprint(parent.trace_id)
        .await
        .unwrap()
        .unwrap();
    let again = service
        .put_ouranos_footprint(parent.trace_id, Some(first.cfp_id), figures("0", "0.6"))
        .await
        .unwrap();
    assert_eq!(again.cfp_id, first.cfp_id);
    assert!(
        service
            .put_ouranos_footprint(
                parent.trace_id,
                Some(Uuid::from_u128(99)),
                figures("0", "1")
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn messages_are_idempotent_and_bound_to_the_sender() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let buyer = company(&network, &clock, 1, "7000012050002").await;
    let supplier = company(&network, &clock, 2, "4010001008772").await;
    let intruder = company(&network, &clock, 3, "5010401089998").await;
    buyer.knows(&supplier).await;
    let bought = buyer
        .service
        .put_part(buyer.part("A1", Some("5")))
        .await
        .unwrap();
    let made = supplier
        .service
        .put_part(supplier.part("B", None))
        .await
        .unwrap();
    let trade = buyer
        .service
        .request_footprint(NewRequest {
            downstream_trace_id: bought.trace_id,
            upstream_operator_id: supplier.operator.operator_id,
            message: Some("please".into()),
            response_due_date: None,
        })
        .await
        .unwrap();
    assert!(!trade.delivery_pending);
    // The supplier learnt the buyer from the request, amount withheld.
    let received = supplier
        .service
        .trades(TradeDirection::Received)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].requested_part.as_ref().unwrap().amount_required,
        None
    );
    assert_eq!(
        supplier
            .service
            .partner(buyer.operator.operator_id)
            .await
            .unwrap()
            .unwrap()
            .did,
        buyer.did
    );
    // A second request for the same part is refused while the first is open.
    assert!(
        buyer
            .service
            .request_footprint(NewRequest {
                downstream_trace_id: bought.trace_id,
                upstream_operator_id: supplier.operator.operator_id,
                message: None,
                response_due_date: None,
            })
            .await
            .is_err()
    );
    supplier
        .service
        .put_ouranos_footprint(made.trace_id, None, figures("1.5", "10"))
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
    // The same answer again changes nothing; another company may not answer.
    let answer = TradeResponseMessage {
        version: TRADE_MESSAGE_VERSION,
        trade_id: trade.request.trade_id,
        status_id: trade.request.status_id,
        answer: TradeAnswer::Rejected {
            reason: "not ours".into(),
        },
        sent_at: clock.now(),
    };
    let spoofed = buyer
        .service
        .receive_trade_response(&intruder.did, answer.clone())
        .await;
    assert!(
        matches!(spoofed, Err(ServiceError::Forbidden(_))),
        "{spoofed:?}"
    );
    let late = buyer
        .service
        .receive_trade_response(&supplier.did, answer)
        .await;
    assert!(late.is_err(), "a completed request cannot be rejected");
    // A late copy of the original request leaves the answered request as it is.
    let copy = TradeRequestMessage {
        version: TRADE_MESSAGE_VERSION,
        request: trade.request.clone(),
        requester: buyer.operator.clone(),
        requested_part: bought.clone(),
    };
    supplier
        .service
        .receive_trade_request(&buyer.did, copy.clone())
        .await
        .unwrap();
    let received = supplier
        .service
        .trades(TradeDirection::Received)
        .await
        .unwrap();
    assert_eq!(received[0].request.status, RequestStatus::Completed);
    // The intruder cannot pose as the buyer to the supplier either.
    assert!(matches!(
        supplier
            .service
            .receive_trade_request(&intruder.did, copy)
            .await,
        Err(ServiceError::Forbidden(_))
    ));
}

#[tokio::test]
async fn undelivered_messages_wait_for_redelivery() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let buyer = company(&network, &clock, 1, "7000012050002").await;
    let supplier = company(&network, &clock, 2, "4010001008772").await;
    buyer.knows(&supplier).await;
    let bought = buyer
        .service
        .put_part(buyer.part("A1", Some("5")))
        .await
        .unwrap();
    network.set_reachable(&supplier.did, false);
    let trade = buyer.asks(&supplier, bought.trace_id).await;
    assert!(trade.delivery_pending);
    assert_eq!(buyer.service.deliver_pending().await.unwrap(), 1);
    assert!(
        supplier
            .service
            .trades(TradeDirection::Received)
            .await
            .unwrap()
            .is_empty()
    );
    network.set_reachable(&supplier.did, true);
    assert_eq!(buyer.service.deliver_pending().await.unwrap(), 0);
    assert_eq!(
        supplier
            .service
            .trades(TradeDirection::Received)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn progress_travels_down_a_chain_of_three() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let pack = company(&network, &clock, 1, "7000012050002").await;
    let cell = company(&network, &clock, 2, "4010001008772").await;
    let cathode = company(&network, &clock, 3, "5010401089998").await;
    pack.knows(&cell).await;
    cell.knows(&cathode).await;
    let cells_bought = pack
        .service
        .put_part(pack.part("cell", Some("10")))
        .await
        .unwrap();
    let (cell_part, cell_children) = cell
        .service
        .put_parts_structure(cell.part("cell", None), vec![cell.part("CAM", Some("1.6"))])
        .await
        .unwrap();
    let mut cam = cathode.part("NMC811", None);
    cam.terminated_flag = true;
    let cam = cathode.service.put_part(cam).await.unwrap();

    let to_cell = pack.asks(&cell, cells_bought.trace_id).await;
    cell.service
        .answer_request(to_cell.request.trade_id, cell_part.trace_id)
        .await
        .unwrap();
    let status = |view: &TradeView| {
        (
            view.status.completed,
            view.status.total,
            view.status.terminated,
        )
    };
    let at_pack = pack
        .service
        .trade(to_cell.request.trade_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status(&at_pack), (1, 1, false));

    // The cell maker asks its cathode supplier; the pack maker sees the tree grow.
    let to_cathode = cell.asks(&cathode, cell_children[0].trace_id).await;
    let at_pack = pack
        .service
        .trade(to_cell.request.trade_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status(&at_pack), (1, 2, false));
    cathode
        .service
        .answer_request(to_cathode.request.trade_id, cam.trace_id)
        .await
        .unwrap();
    let at_pack = pack
        .service
        .trade(to_cell.request.trade_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status(&at_pack), (2, 2, true));
    let at_cell = cell
        .service
        .trade(to_cell.request.trade_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status(&at_cell), (2, 2, true));
}

fn activity(stage: crate::LifeCycleStage, amount: &str, unit: Unit, factor: &str) -> ActivityItem {
    ActivityItem {
        description: factor.into(),
        kind: if unit == Unit::KilowattHour {
            ActivityKind::Electricity {
                source: crate::ElectricitySource::Grid {
                    region: "jp".into(),
                },
            }
        } else {
            ActivityKind::Material
        },
        stage,
        quantity: crate::Quantity::new(d(amount), unit),
        factor: factor.into(),
        data_quality: None,
        evidence: Vec::new(),
    }
}

fn process(part: TraceId, activities: Vec<ActivityItem>) -> ProductionProcess {
    ProductionProcess {
        part,
        declared_unit: Unit::Kilogram,
        activities,
        allocation: crate::Allocation::none(),
    }
}

const LIOH: &str = "material.lithium_hydroxide.spodumene";
const GRID: &str = "electricity.grid.jp";

#[tokio::test]
async fn a_change_at_the_bottom_of_the_chain_is_recomputed_up_to_the_top() {
    use crate::LifeCycleStage::{MainProduction, RawMaterialAcquisitionAndPreProcessing as Raw};
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let cell = company(&network, &clock, 1, "7000012050002").await;
    let cathode = company(&network, &clock, 2, "4010001008772").await;
    let material = company(&network, &clock, 3, "5010401089998").await;
    cell.knows(&cathode).await;
    cathode.knows(&material).await;
    for supplier in [&cathode, &material] {
        supplier
            .service
            .set_disclosure_policy(DisclosurePolicy::new(Disclosure::StageSplit))
            .await
            .unwrap();
    }
    let factors = FactorLibrary::bundled();
    let per = |id: &str| factors.get(&id.into()).unwrap().per_unit().total();

    // Each company enters its own activity data; the cell and cathode makers' footprints
    // wait for their suppliers.
    let (cell_part, cell_children) = cell
        .service
        .put_parts_structure(cell.part("cell", None), vec![cell.part("CAM", Some("1.6"))])
        .await
        .unwrap();
    let pending = cell
        .service
        .put_process(process(
            cell_part.trace_id,
            vec![activity(MainProduction, "40", Unit::KilowattHour, GRID)],
        ))
        .await
        .unwrap();
    assert!(pending.is_none(), "the cathode supplier has not answered");
    let (cam, cam_children) = cathode
        .service
        .put_parts_structure(
            cathode.part("NMC811", None),
            vec![cathode.part("LiOH", Some("0.45"))],
        )
        .await
        .unwrap();
    cathode
        .service
        .put_process(process(
            cam.trace_id,
            vec![activity(MainProduction, "12", Unit::KilowattHour, GRID)],
        ))
        .await
        .unwrap();
    let lioh = material
        .service
        .put_part(material.part("LiOH·H2O", None))
        .await
        .unwrap();
    let made = material
        .service
        .put_process(process(
            lioh.trace_id,
            vec![activity(Raw, "1", Unit::Kilogram, LIOH)],
        ))
        .await
        .unwrap()
        .expect("nothing below the material maker's part");
    assert_eq!(made.result.total_kg_co2e(), per(LIOH));

    // Bad activity data is refused and changes nothing.
    let unknown = material
        .service
        .put_process(process(
            lioh.trace_id,
            vec![activity(Raw, "1", Unit::Kilogram, "material.unobtainium")],
        ))
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("material.unobtainium"),
        "{unknown}"
    );
    let mut per_litre = process(lioh.trace_id, Vec::new());
    per_litre.declared_unit = Unit::Litre;
    let wrong_unit = material.service.put_process(per_litre).await.unwrap_err();
    assert!(
        wrong_unit.to_string().contains("declared per"),
        "{wrong_unit}"
    );
    assert_eq!(
        material
            .service
            .process(lioh.trace_id)
            .await
            .unwrap()
            .unwrap(),
        process(
            lioh.trace_id,
            vec![activity(Raw, "1", Unit::Kilogram, LIOH)]
        )
    );

    // The requests go up the chain and the answers come down; each company's footprint is
    // computed as soon as its supplier's result arrives.
    let to_cathode = cell.asks(&cathode, cell_children[0].trace_id).await;
    cathode
        .service
        .answer_request(to_cathode.request.trade_id, cam.trace_id)
        .await
        .unwrap();
    let to_material = cathode.asks(&material, cam_children[0].trace_id).await;
    material
        .service
        .answer_request(to_material.request.trade_id, lioh.trace_id)
        .await
        .unwrap();
    let cam_total = d("12") * per(GRID) + d("0.45") * per(LIOH);
    let cell_total = d("40") * per(GRID) + d("1.6") * cam_total;
    let own = |company: &Company, part: TraceId| {
        let service = company.service.clone();
        async move {
            service
                .own_footprint(part)
                .await
                .unwrap()
                .map(|f| f.result.total_kg_co2e())
        }
    };
    assert_eq!(own(&cathode, cam.trace_id).await, Some(cam_total));
    assert_eq!(own(&cell, cell_part.trace_id).await, Some(cell_total));

    // The material maker changes its process; the change travels to the cell maker.
    clock.advance(Duration::minutes(5));
    material
        .service
        .put_process(process(
            lioh.trace_id,
            vec![
                activity(Raw, "1", Unit::Kilogram, LIOH),
                activity(MainProduction, "2", Unit::KilowattHour, GRID),
            ],
        ))
        .await
        .unwrap();
    let new_lioh = per(LIOH) + d("2") * per(GRID);
    let new_cam = d("12") * per(GRID) + d("0.45") * new_lioh;
    let new_cell = d("40") * per(GRID) + d("1.6") * new_cam;
    assert_eq!(own(&cathode, cam.trace_id).await, Some(new_cam));
    assert_eq!(own(&cell, cell_part.trace_id).await, Some(new_cell));

    // Each company was told what concerns it.
    let kinds = |notifications: Vec<Notification>| -> Vec<NotificationKind> {
        notifications.into_iter().map(|n| n.kind).collect()
    };
    let at_material = kinds(material.service.notifications(0, 100).await.unwrap());
    assert_eq!(
        at_material,
        vec![NotificationKind::RequestReceived {
            trade_id: to_material.request.trade_id
        }]
    );
    let at_cell = kinds(cell.service.notifications(0, 100).await.unwrap());
    assert!(at_cell.contains(&NotificationKind::FootprintRecomputed {
        part: cell_part.trace_id,
        before_kg_co2e: Some(cell_total),
        after_kg_co2e: new_cell,
    }));
    assert!(at_cell.contains(&NotificationKind::AnswerReceived {
        trade_id: to_cathode.request.trade_id,
        part: cell_children[0].trace_id,
    }));
    let sequences: Vec<i64> = cell
        .service
        .notifications(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|n| n.sequence)
        .collect();
    let after_first = cell.service.notifications(sequences[0], 100).await.unwrap();
    assert_eq!(after_first.len(), sequences.len() - 1);
}

/// The supplier receives the asker's Catena-X request `id` for `product`.
async fn ask(
    supplier: &Company,
    asker: &Company,
    id: &str,
    product: &str,
) -> Result<CatenaxAnswer> {
    supplier
        .service
        .receive_catenax_request(
            &asker.did,
            id,
            Some(product.to_owned()),
            None,
            Some("please".into()),
        )
        .await
}

#[tokio::test]
async fn catenax_answers_are_bound_to_the_partner_the_request_and_the_product() {
    let network = LoopbackNetwork::new();
    let clock = ManualClock::new();
    let asker = company(&network, &clock, 1, "7000012050002").await;
    let supplier = company(&network, &clock, 2, "4010001008772").await;
    let made = supplier
        .service
        .put_part(supplier.part("cathode", None))
        .await
        .unwrap();
    let other = supplier
        .service
        .put_part(supplier.part("anode", None))
        .await
        .unwrap();
    for part in [made.trace_id, other.trace_id] {
        supplier
            .service
            .put_ouranos_footprint(part, None, figures("1.5", "10"))
            .await
            .unwrap();
    }
    supplier
        .service
        .set_pact_profile(crate::pact::PactProfile {
            geography_country: Some("JP".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let product = crate::pact::product_urn(made.trace_id);

    // The default disclosure (total only) withholds what Catena-X needs; a partner the
    // policy names sees the stage split.
    assert!(matches!(
        ask(&supplier, &asker, "r-1", &product).await,
        Err(ServiceError::Forbidden(_))
    ));
    supplier.knows(&asker).await;
    supplier
        .service
        .set_disclosure_policy(
            DisclosurePolicy::default()
                .with_recipient(asker.operator.operator_id, Disclosure::StageSplit),
        )
        .await
        .unwrap();
    let request = asker
        .service
        .open_catenax_request(NewCatenaxRequest {
            partner_did: supplier.did.clone(),
            manufacturer_part_id: Some(product.clone()),
            customer_part_id: None,
            message: None,
        })
        .await
        .unwrap();
    let id = request.request_id.to_string();
    let answer = ask(&supplier, &asker, &id, &product).await.unwrap();
    let body = serde_json::to_vec(&answer.footprint).unwrap();
    let unknown = supplier
        .service
        .receive_catenax_request(
            &asker.did,
            "r-2",
            Some(format!("urn:uuid:{}", Uuid::new_v4())),
            None,
            None,
        )
        .await;
    assert!(
        matches!(unknown, Err(ServiceError::NotFound(_))),
        "{unknown:?}"
    );
    let too_long = supplier
        .service
        .receive_catenax_request(
            &asker.did,
            "r-3",
            Some(product.clone()),
            None,
            Some("x".repeat(251)),
        )
        .await;
    assert!(
        matches!(too_long, Err(ServiceError::Invalid(_))),
        "{too_long:?}"
    );

    // Another product's footprint does not answer the request, nor does another sender.
    let other_answer = supplier
        .service
        .receive_catenax_request(
            &asker.did,
            "r-4",
            Some(crate::pact::product_urn(other.trace_id)),
            None,
            None,
        )
        .await
        .unwrap();
    let wrong_product = asker
        .service
        .receive_catenax_answer(
            &supplier.did,
            &id,
            false,
            None,
            &serde_json::to_vec(&other_answer.footprint).unwrap(),
        )
        .await;
    assert!(
        matches!(wrong_product, Err(ServiceError::Invalid(_))),
        "{wrong_product:?}"
    );
    let wrong_sender = asker
        .service
        .receive_catenax_answer("did:web:someone-else.test", &id, false, None, &body)
        .await;
    assert!(
        matches!(wrong_sender, Err(ServiceError::NotFound(_))),
        "{wrong_sender:?}"
    );
    let untouched = asker
        .service
        .catenax_request(request.request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched, request);

    // The answer is taken once; the same answer again changes nothing; a different one
    // must say it is an update.
    let answered = asker
        .service
        .receive_catenax_answer(&supplier.did, &id, false, None, &body)
        .await
        .unwrap();
    assert_eq!(answered.state, CatenaxRequestState::Answered);
    let again = asker
        .service
        .receive_catenax_answer(&supplier.did, &id, false, None, &body)
        .await
        .unwrap();
    assert_eq!(again.updates, 0);
    clock.advance(Duration::days(1));
    supplier
        .service
        .put_ouranos_footprint(made.trace_id, None, figures("1.5", "9"))
        .await
        .unwrap();
    let changed = ask(&supplier, &asker, &id, &product).await.unwrap();
    let changed_body = serde_json::to_vec(&changed.footprint).unwrap();
    let not_an_update = asker
        .service
        .receive_catenax_answer(&supplier.did, &id, false, None, &changed_body)
        .await;
    assert!(
        matches!(not_an_update, Err(ServiceError::Invalid(_))),
        "{not_an_update:?}"
    );
    let updated = asker
        .service
        .receive_catenax_answer(
            &supplier.did,
            &id,
            true,
            Some("new figures".into()),
            &changed_body,
        )
        .await
        .unwrap();
    assert_eq!(updated.updates, 1);
    assert_eq!(updated.footprint.as_ref(), Some(&changed.footprint));
    assert_ne!(
        changed.footprint, answer.footprint,
        "a changed footprint is a new Catena-X footprint"
    );
}
