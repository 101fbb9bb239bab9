//! The buyer/supplier CFP trade of the Ouranos tutorials, across two tsunagu companies that
//! each serve the Ouranos API and reach each other only through their trade transports
//! (here the in-process loopback network): A registers a parts structure and asks B for the
//! footprint of part A1, B sees the request, links its part B, registers its CFP and
//! answers, A sees the request completed and B's figures as B's disclosure allows, and A's
//! roll-up uses them. Then rejections with a reason, resubmission and cancellation.

mod common;

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::Utc;
use common::{Company, company, operator};
use serde_json::{Value, json};
use tsunagu_pcf::service::LoopbackNetwork;
use tsunagu_pcf::{
    ActivityItem, ActivityKind, Allocation, Decimal, Disclosure, DisclosurePolicy,
    ElectricitySource, FactorLibrary, LifeCycleStage, ProductionProcess, Quantity, RollupInput,
    TraceId, Unit, roll_up,
};

const A_ID: &str = "b39e6248-c888-56ca-d9d0-89de1b1adc8e";
const B_ID: &str = "15572d1c-ec13-0d78-7f92-dd4278871373";
/// Real corporate numbers: the tutorials' samples fail the check digit, which tsunagu checks.
const A_NUMBER: &str = "7000012050002";
const B_NUMBER: &str = "4010001008772";

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

async fn two_companies() -> (std::sync::Arc<LoopbackNetwork>, Company, Company) {
    let network = LoopbackNetwork::new();
    let a = company(&network, operator(A_ID, "A社", A_NUMBER), "did:web:a.test").await;
    let b = company(&network, operator(B_ID, "B社", B_NUMBER), "did:web:b.test").await;
    // A finds B in its directory of partners; B learns A from A's request.
    a.knows(&b).await;
    (network, a, b)
}

async fn put_plant(company: &Company, open_plant_id: &str) -> String {
    let (status, _, plant) = company
        .call(
            "PUT",
            "/api/v1/authInfo?dataTarget=plant",
            Some(json!({
                "openPlantId": open_plant_id,
                "operatorId": company.operator.operator_id.to_string(),
                "plantAddress": "xx県xx市xxxx町1-1-1234",
                "plantId": null,
                "plantName": "工場",
                "plantAttribute": {}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plant}");
    assert_eq!(plant["plantAttribute"], json!({"globalPlantId": null}));
    text(&plant["plantId"])
}

fn part(company: &Company, plant: &str, name: &str, amount: Value, terminated: bool) -> Value {
    json!({
        "amountRequired": amount,
        "amountRequiredUnit": "kilogram",
        "operatorId": company.operator.operator_id.to_string(),
        "partsName": name,
        "plantId": plant,
        "supportPartsName": format!("model-{name}"),
        "terminatedFlag": terminated,
        "traceId": null,
        "partsLabelName": name,
        "partsAddInfo1": "Ver3.0",
        "partsAddInfo2": "2024-12-01-2024-12-31",
        "partsAddInfo3": "任意の情報が入ります"
    })
}

/// A registers part A with child A1 (5 kg) and asks B for A1's footprint.
async fn a_asks_b(a: &Company, b: &Company, plant: &str, child: &str) -> (String, String, String) {
    let (status, _, structure) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=partsStructure",
            Some(json!({
                "parentPartsModel": part(a, plant, "部品A", Value::Null, false),
                "childrenPartsModel": [part(a, plant, child, json!(5), false)],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{structure}");
    let child_trace = text(&structure["childrenPartsModel"][0]["traceId"]);
    // A looks B up by its public id, as the tutorial does.
    let (status, _, found) = a
        .call(
            "GET",
            &format!("/api/v1/authInfo?dataTarget=operator&openOperatorId={B_NUMBER}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["operatorId"],
        json!(b.operator.operator_id.to_string())
    );
    let (status, _, created) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=tradeRequest",
            Some(json!({
                "statusModel": {
                    "message": "来月中にご回答をお願いします。",
                    "replyMessage": null,
                    "requestStatus": {},
                    "requestType": "CFP",
                    "statusId": null,
                    "tradeId": null,
                    "responseDueDate": "2024-12-31"
                },
                "tradeModel": {
                    "downstreamOperatorId": A_ID,
                    "downstreamTraceId": child_trace,
                    "tradeId": null,
                    "upstreamOperatorId": B_ID,
                    "upstreamTraceId": null
                }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["tradeModel"]["upstreamTraceId"], Value::Null);
    assert_eq!(
        created["statusModel"]["requestStatus"],
        json!({"completedCount": null, "completedCountModifiedAt": null,
               "tradesCount": null, "tradesCountModifiedAt": null})
    );
    (
        child_trace,
        text(&created["tradeModel"]["tradeId"]),
        text(&created["statusModel"]["statusId"]),
    )
}

#[tokio::test]
async fn the_tutorial_trade_from_request_to_roll_up() {
    let (_network, a, b) = two_companies().await;
    let a_plant = put_plant(&a, "1234567890123012345").await;
    let (a1, trade_id, status_id) = a_asks_b(&a, &b, &a_plant, "部品A1").await;

    // B registers its plant and part B (an end of the tree) and finds the request.
    let b_plant = put_plant(&b, "1234567890124012345").await;
    let (status, _, b_part) = b
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=parts",
            Some(part(&b, &b_plant, "部品B", Value::Null, true)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b_part}");
    let b_trace = text(&b_part["traceId"]);
    let (status, _, received) = b
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=tradeResponse",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let received = received.as_array().unwrap();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request["tradeModel"]["tradeId"], json!(trade_id));
    assert_eq!(
        request["statusModel"]["message"],
        json!("来月中にご回答をお願いします。")
    );
    assert_eq!(
        request["statusModel"]["requestStatus"]["cfpResponseStatus"],
        json!("NOT_COMPLETED")
    );
    assert_eq!(
        request["statusModel"]["requestStatus"]["tradeTreeStatus"],
        json!("UNTERMINATED")
    );
    assert_eq!(
        request["statusModel"]["requestStatus"]["completedCount"],
        json!(0)
    );
    assert_eq!(
        request["statusModel"]["requestStatus"]["tradesCount"],
        json!(1)
    );
    // B sees A's part, but not how much of it A needs.
    assert_eq!(request["partsModel"]["traceId"], json!(a1));
    assert_eq!(request["partsModel"]["partsName"], json!("部品A1"));
    assert_eq!(request["partsModel"]["amountRequired"], Value::Null);
    let (_, _, statuses) = b
        .call(
            "GET",
            &format!(
                "/api/v1/datatransport?dataTarget=status&statusTarget=RESPONSE&statusId={status_id}"
            ),
            None,
        )
        .await;
    assert_eq!(statuses.as_array().unwrap().len(), 1);

    // B links its part.
    let (status, _, linked) = b
        .call(
            "PUT",
            &format!("/api/v1/datatransport?dataTarget=tradeResponse&tradeId={trade_id}&traceId={b_trace}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{linked}");
    assert_eq!(
        linked,
        json!({"downstreamOperatorId": A_ID, "downstreamTraceId": a1, "tradeId": trade_id,
               "upstreamOperatorId": B_ID, "upstreamTraceId": b_trace})
    );

    // A sees the request completed and the tree terminated.
    let (_, _, statuses) = a
        .call(
            "GET",
            &format!("/api/v1/datatransport?dataTarget=status&statusTarget=REQUEST&traceId={a1}"),
            None,
        )
        .await;
    let statuses = statuses.as_array().unwrap();
    assert_eq!(statuses.len(), 1);
    let request_status = &statuses[0]["requestStatus"];
    assert_eq!(request_status["cfpResponseStatus"], json!("COMPLETED"));
    assert_eq!(request_status["tradeTreeStatus"], json!("TERMINATED"));
    assert_eq!(request_status["completedCount"], json!(1));
    assert_eq!(request_status["tradesCount"], json!(1));
    let (_, _, requests) = a
        .call("GET", "/api/v1/datatransport?dataTarget=tradeRequest", None)
        .await;
    assert_eq!(requests[0]["upstreamTraceId"], json!(b_trace));
    // No figures yet: B has not registered a CFP.
    let cfp_of_a1 = format!("/api/v1/datatransport?dataTarget=cfp&traceIds={a1}");
    let (_, _, rows) = a.call("GET", &cfp_of_a1, None).await;
    assert_eq!(rows, json!([]));

    // B registers the tutorial's CFP.
    let row = |cfp_type: &str, dqr_type: &str, emission: Value, dqr: [u8; 3]| {
        json!({"cfpId": null, "traceId": b_trace, "ghgEmission": emission,
               "ghgDeclaredUnit": "kgCO2e/kilogram", "cfpType": cfp_type, "dqrType": dqr_type,
               "dqrValue": {"TeR": dqr[0], "GeR": dqr[1], "TiR": dqr[2]}})
    };
    let (status, _, registered) = b
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=cfp",
            Some(json!([
                row("preProduction", "preProcessing", json!(1.5), [1, 2, 3]),
                row("mainProduction", "mainProcessing", json!(10.0), [2, 3, 4]),
                row("preComponent", "preProcessing", json!(0), [1, 2, 3]),
                row("mainComponent", "mainProcessing", json!(0), [2, 3, 4]),
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered[1]["ghgEmission"], json!(10));
    assert!(registered[0]["cfpId"].is_string());

    // By default B discloses the total only, which Ouranos shows as withheld figures.
    let (_, _, rows) = a.call("GET", &cfp_of_a1, None).await;
    let response_rows = |rows: &Value| -> Vec<(String, Value, Value)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    text(&r["cfpType"]),
                    r["ghgEmission"].clone(),
                    r["dqrValue"].clone(),
                )
            })
            .collect()
    };
    let withheld = json!({"TeR": null, "GeR": null, "TiR": null});
    assert_eq!(
        response_rows(&rows),
        [
            (
                "preProductionResponse".into(),
                Value::Null,
                withheld.clone()
            ),
            (
                "mainProductionResponse".into(),
                Value::Null,
                withheld.clone()
            ),
        ]
    );
    assert_eq!(rows[0]["cfpId"], Value::Null);
    let disclosed = a.service.supplier_footprints().await.unwrap();
    let a1_trace: TraceId = a1.parse().unwrap();
    assert_eq!(disclosed[&a1_trace].total_kg_co2e, d("11.5"));
    assert_eq!(disclosed[&a1_trace].stages, None);

    // B lets A see the stage split: figures without ratings.
    let b_policy = |level| {
        DisclosurePolicy::new(Disclosure::TotalOnly).with_recipient(a.operator.operator_id, level)
    };
    b.service
        .set_disclosure_policy(b_policy(Disclosure::StageSplit))
        .await
        .unwrap();
    let (_, _, rows) = a.call("GET", &cfp_of_a1, None).await;
    assert_eq!(
        response_rows(&rows),
        [
            ("preProductionResponse".into(), json!(1.5), withheld.clone()),
            ("mainProductionResponse".into(), json!(10), withheld),
        ]
    );
    // And then the ratings too.
    b.service
        .set_disclosure_policy(b_policy(Disclosure::StageSplitWithDqr))
        .await
        .unwrap();
    let (_, _, rows) = a.call("GET", &cfp_of_a1, None).await;
    assert_eq!(
        response_rows(&rows),
        [
            (
                "preProductionResponse".into(),
                json!(1.5),
                json!({"TeR": 1, "GeR": 2, "TiR": 3})
            ),
            (
                "mainProductionResponse".into(),
                json!(10),
                json!({"TeR": 2, "GeR": 3, "TiR": 4})
            ),
        ]
    );
    // Nothing of B's production process or its other parts reached A.
    let disclosed = a.service.supplier_footprints().await.unwrap();
    assert_eq!(disclosed[&a1_trace].evidence, None);

    // A rolls its product up over its parts structure and B's disclosure.
    let (_, _, a_parts) = a
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=parts&parentFlag=true",
            None,
        )
        .await;
    let product: TraceId = text(&a_parts[0]["traceId"]).parse().unwrap();
    let bom = a.service.bill_of_materials().await.unwrap();
    let process = ProductionProcess {
        part: product,
        declared_unit: Unit::Kilogram,
        activities: vec![ActivityItem {
            description: "assembly power".into(),
            kind: ActivityKind::Electricity {
                source: ElectricitySource::Grid {
                    region: "JP".into(),
                },
            },
            stage: LifeCycleStage::MainProduction,
            quantity: Quantity::new(d("2"), Unit::KilowattHour),
            factor: "electricity.grid.jp".into(),
            data_quality: None,
            evidence: Vec::new(),
        }],
        allocation: Allocation::none(),
    };
    let processes: HashMap<TraceId, ProductionProcess> = [(product, process)].into();
    let result = roll_up(&RollupInput {
        product,
        bom: &bom,
        processes: &processes,
        supplier_results: &disclosed,
        factors: &FactorLibrary::bundled(),
        computed_at: Utc::now(),
    })
    .unwrap();
    let raw = LifeCycleStage::RawMaterialAcquisitionAndPreProcessing;
    assert_eq!(result.from_components.get(raw).total(), d("7.5"));
    assert_eq!(
        result
            .from_components
            .get(LifeCycleStage::MainProduction)
            .total(),
        d("50")
    );
    assert!(result.total_kg_co2e() > d("57.5"));
    // A registers the result; Ouranos shows it with the part's totals.
    a.service.put_footprint(result).await.unwrap();
    let (_, _, rows) = a
        .call(
            "GET",
            &format!("/api/v1/datatransport?dataTarget=cfp&traceIds={product}"),
            None,
        )
        .await;
    let figures: HashMap<String, Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(&r["cfpType"]), r["ghgEmission"].clone()))
        .collect();
    assert_eq!(figures["preComponent"], json!(7.5));
    assert_eq!(figures["mainComponent"], json!(50));
    assert_eq!(figures["preComponentTotal"], json!(7.5));
    assert_eq!(figures["mainComponentTotal"], json!(50));
    assert_eq!(figures["preProduction"], json!(0));
    assert_eq!(rows.as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn rejection_with_a_reason_resubmission_and_cancellation() {
    let (_network, a, b) = two_companies().await;
    let a_plant = put_plant(&a, "1234567890123012345").await;
    let (a2, trade_id, status_id) = a_asks_b(&a, &b, &a_plant, "部品A2").await;
    let status_change = |status: &str, reply: Value| {
        json!({"message": "来月中にご回答をお願いします。", "replyMessage": reply,
               "requestStatus": {"cfpResponseStatus": status, "tradeTreeStatus": "TERMINATED",
                                 "completedCount": null, "completedCountModifiedAt": null,
                                 "tradesCount": null, "tradesCountModifiedAt": null},
               "requestType": "CFP", "statusId": status_id, "tradeId": trade_id,
               "responseDueDate": null})
    };
    let put_status = "/api/v1/datatransport?dataTarget=status";

    // A rejection needs a reason, and only the supplier rejects.
    let (status, _, error) = b
        .call(
            "PUT",
            put_status,
            Some(status_change("REJECT", Value::Null)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error["message"],
        json!("Validation failed, replyMessage: cannot be blank.")
    );
    let (status, _, _) = a
        .call(
            "PUT",
            put_status,
            Some(status_change("REJECT", json!("no"))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let reason = "依頼いただいた製品に該当する弊社製品がないため、差戻し致します。";
    let (status, _, body) = b
        .call(
            "PUT",
            put_status,
            Some(status_change("REJECT", json!(reason))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let a_status =
        format!("/api/v1/datatransport?dataTarget=status&statusTarget=REQUEST&traceId={a2}");
    let (_, _, statuses) = a.call("GET", &a_status, None).await;
    assert_eq!(
        statuses[0]["requestStatus"]["cfpResponseStatus"],
        json!("REJECT")
    );
    assert_eq!(statuses[0]["replyMessage"], json!(reason));

    // A sends the request again with a new message; B sees it open again.
    let (status, _, resent) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=tradeRequest",
            Some(json!({
                "statusModel": {"message": "部品A2-1 でお願いします。", "replyMessage": null,
                                "requestStatus": {}, "requestType": "CFP",
                                "statusId": status_id, "tradeId": trade_id,
                                "responseDueDate": "2025-01-31"},
                "tradeModel": {"downstreamOperatorId": A_ID, "downstreamTraceId": a2,
                               "tradeId": trade_id, "upstreamOperatorId": B_ID,
                               "upstreamTraceId": null}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resent}");
    let (_, _, received) = b
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=status&statusTarget=RESPONSE",
            None,
        )
        .await;
    assert_eq!(
        received[0]["requestStatus"]["cfpResponseStatus"],
        json!("NOT_COMPLETED")
    );
    assert_eq!(received[0]["message"], json!("部品A2-1 でお願いします。"));
    assert_eq!(received[0]["responseDueDate"], json!("2025-01-31"));

    // A withdraws it; B sees it cancelled and can no longer answer it.
    let (status, _, body) = a
        .call(
            "PUT",
            put_status,
            Some(status_change("CANCEL", Value::Null)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, _, received) = b
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=status&statusTarget=RESPONSE",
            None,
        )
        .await;
    assert_eq!(
        received[0]["requestStatus"]["cfpResponseStatus"],
        json!("CANCEL")
    );
    let b_plant = put_plant(&b, "1234567890124012345").await;
    let (_, _, b_part) = b
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=parts",
            Some(part(&b, &b_plant, "部品B", Value::Null, true)),
        )
        .await;
    let (status, _, error) = b
        .call(
            "PUT",
            &format!(
                "/api/v1/datatransport?dataTarget=tradeResponse&tradeId={trade_id}&traceId={}",
                text(&b_part["traceId"])
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["code"], json!("[dataspace] BadRequest"));
    let (_, _, a_statuses) = a.call("GET", &a_status, None).await;
    assert_eq!(
        a_statuses[0]["requestStatus"]["cfpResponseStatus"],
        json!("CANCEL")
    );
    // A cancelled request no longer blocks a new one for the part; a request to a company
    // A does not know is a 404, as in Ouranos.
    let (status, _, error) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=tradeRequest",
            Some(json!({
                "statusModel": {"message": null, "replyMessage": null, "requestStatus": {},
                                "requestType": "CFP", "statusId": null, "tradeId": null,
                                "responseDueDate": "2025-01-31"},
                "tradeModel": {"downstreamOperatorId": A_ID, "downstreamTraceId": a2,
                               "tradeId": null,
                               "upstreamOperatorId": "00000000-0000-0000-0000-000000000001",
                               "upstreamTraceId": null}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["code"], json!("[dataspace] NotFound"));
}

#[tokio::test]
async fn paging_follows_the_link_header() {
    let (_network, a, _b) = two_companies().await;
    let plant = put_plant(&a, "1234567890123012345").await;
    for n in 0..5 {
        let (status, _, _) = a
            .call(
                "PUT",
                "/api/v1/datatransport?dataTarget=parts",
                Some(part(&a, &plant, &format!("部品{n}"), Value::Null, false)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut uri = "/api/v1/datatransport?dataTarget=parts&limit=2&partsName=".to_owned();
    // An empty filter does not narrow; the link keeps the filters given.
    uri.push_str("");
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let (status, headers, page) = a.call("GET", &uri, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(headers.contains_key("x-track"));
        pages += 1;
        names.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|p| text(&p["partsName"])),
        );
        let Some(link) = headers.get("link") else {
            break;
        };
        let link = link.to_str().unwrap();
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        let target = link
            .trim_start_matches("<https://pcf.example.test")
            .trim_end_matches(">; rel=\"next\"");
        assert!(target.contains("dataTarget=parts") && target.contains("limit=2"));
        uri = target.to_owned();
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["部品0", "部品1", "部品2", "部品3", "部品4"]);
}

#[tokio::test]
async fn activity_data_factors_and_notifications_through_the_api() {
    use tsunagu_pcf::{
        ActivityItem, ActivityKind, Allocation, LifeCycleStage, ProductionProcess, Quantity,
        TraceId, Unit,
    };
    let (_network, a, b) = two_companies().await;
    let plant = put_plant(&a, "1234567890123012345").await;
    let (status, _, made) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=parts",
            Some(part(&a, &plant, "部品S", Value::Null, false)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let trace = text(&made["traceId"]);
    let factors = "id,name,unit,kg_co2e_fossil,kg_co2e_biogenic,source,geography,valid_from\n\
                   company.steel.coil,Steel coil from our own mill,kg,1.9,0,measured 2025,JP,2025-04-01\n";
    let (status, _, imported) = a
        .send_raw(
            "PUT",
            "/api/v1/datatransport?dataTarget=tsunagu.factors&origin=companySpecific",
            Some(common::API_KEY),
            Some(&a.token),
            Some(factors.into()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported["imported"], 1);
    // The same id again is refused, all or nothing.
    let (status, _, refused) = a
        .send_raw(
            "PUT",
            "/api/v1/datatransport?dataTarget=tsunagu.factors&origin=companySpecific",
            Some(common::API_KEY),
            Some(&a.token),
            Some(factors.into()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, _, _) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=tsunagu.factors&origin=licensed",
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a licensed import names its database"
    );

    let process = |factor: &str| ProductionProcess {
        part: TraceId::new(trace.parse().unwrap()),
        declared_unit: Unit::Kilogram,
        activities: vec![ActivityItem {
            description: "coil".into(),
            kind: ActivityKind::Material,
            stage: LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
            quantity: Quantity::new(2.into(), Unit::Kilogram),
            factor: factor.into(),
            data_quality: None,
            evidence: Vec::new(),
        }],
        allocation: Allocation::none(),
    };
    let uri = format!("/api/v1/datatransport?dataTarget=tsunagu.process&traceId={trace}");
    let (status, _, stored) = a
        .call(
            "PUT",
            &uri,
            Some(serde_json::to_value(process("company.steel.coil")).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(
        stored["footprint"]["result"]["total"]["fossil"],
        json!("3.8"),
        "{stored}"
    );
    // An unknown factor is refused and the process stays as it was.
    let (status, _, refused) = a
        .call(
            "PUT",
            &uri,
            Some(serde_json::to_value(process("company.unknown")).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, _, held) = a.call("GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        held,
        serde_json::to_value(process("company.steel.coil")).unwrap()
    );
    // A process must be the part's the URL names.
    let other = format!(
        "/api/v1/datatransport?dataTarget=tsunagu.process&traceId={}",
        uuid::Uuid::new_v4()
    );
    let (status, _, _) = a
        .call(
            "PUT",
            &other,
            Some(serde_json::to_value(process("company.steel.coil")).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A battery's declaration from its footprint; a part declared per kg is no battery.
    let mut pack = part(&a, &plant, "PACK-1", Value::Null, false);
    pack["amountRequiredUnit"] = json!("unit");
    let (status, _, pack) = a
        .call("PUT", "/api/v1/datatransport?dataTarget=parts", Some(pack))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pack}");
    let pack_trace = text(&pack["traceId"]);
    let mut pack_process = process("company.steel.coil");
    pack_process.part = TraceId::new(pack_trace.parse().unwrap());
    pack_process.declared_unit = Unit::Piece;
    pack_process.activities[0].quantity = Quantity::new(300.into(), Unit::Kilogram);
    let (status, _, stored) = a
        .call(
            "PUT",
            &format!("/api/v1/datatransport?dataTarget=tsunagu.process&traceId={pack_trace}"),
            Some(serde_json::to_value(&pack_process).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let request = json!({
        "category": "M1",
        "usableEnergyKwh": "60",
        "serviceYears": "8",
        "performanceClasses": [
            {"label": "A", "maxKgCo2ePerKwh": "0.1"},
            {"label": "B", "maxKgCo2ePerKwh": "0.2"}
        ],
        "studyReference": "https://example.com/study"
    });
    let declare = |trace: &str| {
        format!("/api/v1/datatransport?dataTarget=tsunagu.declaration&traceId={trace}")
    };
    let (status, _, declaration) = a
        .call("PUT", &declare(&pack_trace), Some(request.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{declaration}");
    // 300 kg x 1.9 = 570 kg CO2e over 60 kWh x 60 cycles x 8 years = 28,800 kWh.
    assert_eq!(
        declaration["total_kg_co2e_per_kwh"],
        json!("0.02"),
        "{declaration}"
    );
    assert_eq!(declaration["performance_class"], json!("A"));
    assert_eq!(declaration["battery_model"], json!("PACK-1"));
    let (status, _, refused) = a.call("PUT", &declare(&trace), Some(request.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("per piece"),
        "{refused}"
    );
    let mut descending = request.clone();
    descending["performanceClasses"][1]["maxKgCo2ePerKwh"] = json!("0.05");
    let (status, _, _) = a.call("PUT", &declare(&pack_trace), Some(descending)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // What each customer may see is set per customer.
    let (status, _, policy) = a
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=tsunagu.disclosure",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy["default"], "total_only");
    let wanted = json!({"default": "total_only", "recipients": {B_ID: "stage_split_with_dqr"}});
    let (status, _, _) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=tsunagu.disclosure",
            Some(wanted.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, policy) = a
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=tsunagu.disclosure",
            None,
        )
        .await;
    assert_eq!(policy, wanted);
    let (status, _, _) = a
        .call(
            "PUT",
            "/api/v1/datatransport?dataTarget=tsunagu.disclosure",
            Some(json!({"default": "everything"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // B is told of A's request.
    let (_, _, _) = a_asks_b(&a, &b, &plant, "部品N").await;
    let (status, _, told) = b
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=tsunagu.notifications",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{told}");
    assert_eq!(told[0]["kind"], "requestReceived", "{told}");
    let sequence = told[0]["sequence"].as_i64().unwrap();
    let (_, _, later) = b
        .call(
            "GET",
            &format!("/api/v1/datatransport?dataTarget=tsunagu.notifications&after={sequence}"),
            None,
        )
        .await;
    assert_eq!(later, json!([]));
    let (status, _, _) = b
        .call(
            "GET",
            "/api/v1/datatransport?dataTarget=tsunagu.notifications&limit=0",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
