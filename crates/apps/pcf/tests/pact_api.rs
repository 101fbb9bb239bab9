//! The PACT v3 REST API of one company, in process: OAuth2 client credentials, discovery,
//! ListFootprints with filters and pagination, GetFootprint, and the Action Events endpoint
//! with its asynchronous answers to a requester listening on loopback.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use tsunagu_pcf::pact::{PactApiSettings, PactProfile, pact_router};
use tsunagu_pcf::service::{AuthSettings, Clock, NoTransport, PartInput, PcfService, PlantInput};
use tsunagu_pcf::{
    Allocation, ByStage, CorporateNumber, Decimal, Disclosure, Emissions, FootprintResult,
    OpenPlantId, Operator, OperatorIdentifier, Unit,
};
use tsunagu_store::SqliteStore;
use uuid::Uuid;

const CLIENT_ID: &str = "oem-buyer";
const SECRET: &str = "correct-horse-battery-staple";
const HOST: &str = "pact.example.test";

struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

struct Host {
    service: PcfService,
    router: Router,
    clock: Arc<ManualClock>,
    products: Vec<String>,
    _dir: tempfile::TempDir,
}

fn emissions(fossil: &str) -> Emissions {
    Emissions {
        fossil: fossil.parse().unwrap(),
        biogenic: Decimal::ZERO,
        land_use_change: Decimal::ZERO,
    }
}

async fn host() -> Host {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pcf.sqlite"))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
    )));
    let service = PcfService::with_clock(
        Arc::new(store),
        Arc::new(NoTransport),
        clock.clone(),
        AuthSettings::default(),
    );
    let operator = service
        .set_up_operator(Operator {
            operator_id: Uuid::from_u128(1),
            name: "Demo Cell Manufacturing K.K.".into(),
            address: "Tokyo".into(),
            open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
                CorporateNumber::parse("5010401089998").unwrap(),
            ),
            global_operator_id: None,
        })
        .await
        .unwrap();
    let plant = service
        .put_plant(PlantInput {
            plant_id: None,
            operator_id: operator.operator_id,
            name: "plant".into(),
            address: "Japan".into(),
            open_plant_id: OpenPlantId::parse("plant000001").unwrap(),
            global_plant_id: None,
        })
        .await
        .unwrap();
    let mut products = Vec::new();
    for (name, fossil) in [("CELL-A", "60.5"), ("CELL-B", "71.25"), ("CAM-C", "18")] {
        let part = service
            .put_part(PartInput {
                trace_id: None,
                operator_id: operator.operator_id,
                plant_id: plant.plant_id,
                part_name: name.into(),
                support_part_name: None,
                label_name: None,
                amount_required: None,
                amount_required_unit: Unit::Kilogram,
                terminated_flag: false,
                additional_info: Default::default(),
            })
            .await
            .unwrap();
        let stages = ByStage {
            main_production: emissions(fossil),
            ..ByStage::default()
        };
        service
            .put_footprint(FootprintResult {
                part: part.trace_id,
                declared_unit: Unit::Kilogram,
                stages,
                total: emissions(fossil),
                from_components: ByStage::default(),
                data_quality: ByStage::default(),
                allocation: Allocation::none(),
                evidence: BTreeSet::new(),
                computed_at: clock.now(),
            })
            .await
            .unwrap();
        products.push(format!("urn:uuid:{}", part.trace_id));
    }
    service
        .set_pact_profile(PactProfile {
            geography_country: Some("JP".into()),
            product_classifications: vec!["urn:pact:unstats.un.org:cpc:46410".into()],
            ..PactProfile::default()
        })
        .await
        .unwrap();
    service
        .register_pact_client(CLIENT_ID, SECRET, Disclosure::StageSplit)
        .await
        .unwrap();
    let mut settings = PactApiSettings::new(reqwest::Client::new());
    settings.public_base_url = Some(format!("https://{HOST}"));
    settings.max_page_size = 50;
    settings.allow_loopback_http_callbacks = true;
    let router = pact_router(service.clone(), settings);
    Host {
        service,
        router,
        clock,
        products,
        _dir: dir,
    }
}

impl Host {
    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, headers, body)
    }

    async fn token_request(&self, basic: Option<(&str, &str)>, form: &str) -> (StatusCode, Value) {
        let mut request = Request::post("/auth/token")
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            request = request.header("authorization", format!("Basic {encoded}"));
        }
        let (status, _, body) = self
            .send(request.body(Body::from(form.to_owned())).unwrap())
            .await;
        (status, body)
    }

    async fn token(&self) -> String {
        let (status, body) = self
            .token_request(Some((CLIENT_ID, SECRET)), "grant_type=client_credentials")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut request = Request::get(uri).header("host", HOST);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn event(&self, token: &str, event: &Value) -> (StatusCode, Value) {
        let request = Request::post("/3/events")
            .header("host", HOST)
            .header("authorization", format!("Bearer {token}"))
            .header(
                "content-type",
                "application/cloudevents+json; charset=UTF-8",
            )
            .body(Body::from(event.to_string()))
            .unwrap();
        let (status, _, body) = self.send(request).await;
        (status, body)
    }
}

#[tokio::test]
async fn client_credentials_with_basic_or_form_authentication() {
    let host = host().await;
    let (status, body) = host
        .token_request(Some((CLIENT_ID, SECRET)), "grant_type=client_credentials")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    let form =
        format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET}");
    assert_eq!(host.token_request(None, &form).await.0, StatusCode::OK);

    let refusals = [
        (
            Some((CLIENT_ID, "wrong-secret-wrong")),
            "grant_type=client_credentials",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some(("nobody", SECRET)),
            "grant_type=client_credentials",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            None,
            "grant_type=client_credentials",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some((CLIENT_ID, SECRET)),
            "",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Some((CLIENT_ID, SECRET)),
            "grant_type=password",
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            Some((CLIENT_ID, SECRET)),
            "grant_type=client_credentials&grant_type=client_credentials",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (basic, form, expected_status, expected_error) in refusals {
        let (status, body) = host.token_request(basic, form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (expected_status, Some(expected_error)),
            "{form}"
        );
        assert!(body.get("access_token").is_none());
    }

    let (status, _, discovery) = host.get("/.well-known/openid-configuration", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        discovery["token_endpoint"],
        format!("https://{HOST}/auth/token")
    );
}

#[tokio::test]
async fn tokens_are_checked_and_expire() {
    let host = host().await;
    for token in [None, Some("not-a-token")] {
        let (status, _, body) = host.get("/3/footprints", token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "BadRequest");
    }
    let token = host.token().await;
    assert_eq!(
        host.get("/3/footprints", Some(&token)).await.0,
        StatusCode::OK
    );
    *host.clock.0.lock().unwrap() += chrono::Duration::hours(2);
    let (status, _, body) = host.get("/3/footprints", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "TokenExpired");
}

#[tokio::test]
async fn list_filters_and_pages() {
    let host = host().await;
    let token = host.token().await;
    let (status, headers, all) = host.get("/3/footprints", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let all = all["data"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    assert!(headers.get("link").is_none());
    let fossil: BTreeSet<&str> = all
        .iter()
        .map(|f| f["pcf"]["fossilGhgEmissions"].as_str().unwrap())
        .collect();
    assert_eq!(fossil, BTreeSet::from(["60.5", "71.25", "18"]));

    // Pages of two, linked by absolute URLs on the request's host, until the end.
    let mut seen = Vec::new();
    let mut next = Some("/3/footprints?limit=2&geography=JP".to_owned());
    while let Some(uri) = next.take() {
        let (status, headers, page) = host.get(&uri, Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|f| f["id"].clone()));
        if let Some(link) = headers.get("link") {
            let link = link.to_str().unwrap();
            let target = link
                .strip_prefix('<')
                .and_then(|l| l.split_once(">; rel=\"next\""))
                .map(|(target, _)| target)
                .unwrap_or_else(|| panic!("not a next link: {link}"));
            let path = target
                .strip_prefix(&format!("https://{HOST}"))
                .unwrap_or_else(|| panic!("not on the request's host: {target}"));
            assert!(path.contains("geography=JP"));
            next = Some(path.to_owned());
        }
    }
    let ids: Vec<Value> = all.iter().map(|f| f["id"].clone()).collect();
    assert_eq!(seen, ids);

    let product = &host.products[1];
    let cases: Vec<(String, usize)> = vec![
        (format!("productId={product}"), 1),
        (format!("productId={}", product.to_uppercase()), 1),
        (format!("productId={product}&productId={}", host.products[2]), 2),
        ("productId=urn:bogus:x".into(), 0),
        ("companyId=urn:pact:houjin-bangou.nta.go.jp:corporate-number:5010401089998&companyId=urn:x:y".into(), 3),
        ("companyId=urn:bogus:company".into(), 0),
        ("geography=jp".into(), 3),
        ("geography=XX".into(), 0),
        ("classification=urn:pact:unstats.un.org:cpc:46410".into(), 3),
        ("classification=".into(), 3),
        ("status=Active".into(), 3),
        ("status=Deprecated".into(), 0),
        ("validOn=2027-01-01T00:00:00Z".into(), 3),
        ("validOn=1900-01-01T00:00:00Z".into(), 0),
        ("validAfter=2026-05-31T00:00:00Z".into(), 3),
        ("validAfter=2099-12-31T23:59:59Z".into(), 0),
        ("validBefore=2029-06-02T00:00:00Z".into(), 3),
        ("validBefore=1900-01-01T00:00:00Z".into(), 0),
        (format!("status=Active&productId={product}&companyId=urn:bogus:x"), 0),
        ("x-acme-invoice=12".into(), 3),
    ];
    for (query, expected) in cases {
        let (status, _, body) = host
            .get(&format!("/3/footprints?{query}"), Some(&token))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["data"].as_array().unwrap().len(), expected, "{query}");
    }
    for query in [
        "limit=0",
        "limit=x",
        "validOn=yesterday",
        "colour=red",
        "$filter=x",
        "status=Active&status=Active",
    ] {
        let (status, _, body) = host
            .get(&format!("/3/footprints?{query}"), Some(&token))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["code"] == "BadRequest" || body["code"] == "NotImplemented",
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn get_one_footprint() {
    let host = host().await;
    let token = host.token().await;
    let (_, _, all) = host.get("/3/footprints", Some(&token)).await;
    let id = all["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, _, body) = host.get(&format!("/3/footprints/{id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], all["data"][0]);
    let (status, _, body) = host
        .get(
            "/3/footprints/00000000-0000-0000-0000-000000000000",
            Some(&token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"))
    );
    let (status, _, body) = host.get("/3/footprints/abc", Some(&token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadRequest"))
    );
    let (status, _, _) = host.get(&format!("/3/footprints/{id}"), Some("bad")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A data recipient's Action Events endpoint on loopback, keeping what it receives.
async fn requester() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = Router::new().route(
        "/3/events",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_slice::<Value>(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

async fn wait_for(received: &Arc<Mutex<Vec<Value>>>, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = received.lock().unwrap().clone();
        if events.len() >= count || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(kind: &str, source: &str, data: Value) -> Value {
    json!({
        "type": format!("org.wbcsd.pact.ProductFootprint.{kind}.3"),
        "specversion": "1.0",
        "id": Uuid::new_v4().to_string(),
        "source": source,
        "time": "2026-06-01T00:00:00Z",
        "data": data,
    })
}

#[tokio::test]
async fn requests_are_answered_asynchronously_at_the_requesters_source() {
    let host = host().await;
    let token = host.token().await;
    let (source, received) = requester().await;

    let fulfilled = event(
        "RequestCreatedEvent",
        &source,
        json!({"productId": [host.products[0]], "comment": "2026 please"}),
    );
    assert_eq!(host.event(&token, &fulfilled).await.0, StatusCode::OK);
    let rejected = event(
        "RequestCreatedEvent",
        &source,
        json!({"productId": ["urn:pact:null"]}),
    );
    assert_eq!(host.event(&token, &rejected).await.0, StatusCode::OK);

    let answers = wait_for(&received, 2).await;
    assert_eq!(answers.len(), 2, "{answers:#?}");
    let answer_to = |request: &Value| {
        answers
            .iter()
            .find(|a| a["data"]["requestEventId"] == request["id"])
            .unwrap_or_else(|| panic!("no answer to {}", request["id"]))
            .clone()
    };
    let answer = answer_to(&fulfilled);
    assert_eq!(
        answer["type"],
        "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    );
    assert_eq!(answer["specversion"], "1.0");
    assert_eq!(answer["source"], format!("https://{HOST}/3/events"));
    let pfs = answer["data"]["pfs"].as_array().unwrap();
    assert_eq!(pfs.len(), 1);
    assert_eq!(pfs[0]["productIds"][0], host.products[0].as_str());
    let answer = answer_to(&rejected);
    assert_eq!(
        answer["type"],
        "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
    );
    assert_eq!(answer["data"]["error"]["code"], "NotFound");
    // Delivered answers are no longer owed; both requests were kept.
    assert!(host.service.owed_pact_events().await.unwrap().is_empty());
    assert_eq!(host.service.pact_events().await.unwrap().len(), 2);
}

#[tokio::test]
async fn bad_events_are_refused_and_change_nothing() {
    let host = host().await;
    let token = host.token().await;
    let published = event(
        "PublishedEvent",
        "//buyer.example/3/events",
        json!({"pfIds": [Uuid::new_v4()]}),
    );
    assert_eq!(host.event(&token, &published).await.0, StatusCode::OK);
    assert_eq!(host.service.pact_events().await.unwrap().len(), 1);

    let refused = [
        event(
            "PublishedEvent",
            "//buyer.example",
            json!({"pfIds": ["urn:gtin:4712345060507"]}),
        ),
        event("PublishedEvent", "//buyer.example", json!({"pfIds": []})),
        event(
            "RequestFulfilledEvent",
            "//buyer.example",
            json!({"requestEventId": "x", "pfs": []}),
        ),
        event(
            "RequestRejectedEvent",
            "//buyer.example",
            json!({"requestEventId": "x"}),
        ),
        // Answers go to https sources, or to plain http on loopback only.
        event(
            "RequestCreatedEvent",
            "http://buyer.example",
            json!({"productId": ["urn:x:y"]}),
        ),
        event(
            "RequestCreatedEvent",
            "ftp://127.0.0.1/",
            json!({"productId": ["urn:x:y"]}),
        ),
        event(
            "RequestCreatedEvent",
            "https://user:pw@buyer.example/",
            json!({}),
        ),
        json!({"specversion": "1.0", "id": "1", "source": "//x", "time": "2026-06-01T00:00:00Z", "data": {}}),
        {
            let mut e = published.clone();
            e["specversion"] = json!("0.3");
            e
        },
        {
            let mut e = published.clone();
            e["time"] = json!("yesterday");
            e
        },
    ];
    for body in refused {
        let (status, error) = host.event(&token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["code"], "BadRequest", "{body}");
    }
    let unknown = event("SomethingElse", "//buyer.example", json!({}));
    let (status, error) = host.event(&token, &unknown).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("NotImplemented"))
    );
    let (status, _) = host.event("not-a-token", &published).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let plain = Request::post("/3/events")
        .header("host", HOST)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .body(Body::from(published.to_string()))
        .unwrap();
    assert_eq!(host.send(plain).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(host.service.pact_events().await.unwrap().len(), 1);
    assert!(host.service.owed_pact_events().await.unwrap().is_empty());
}

#[tokio::test]
async fn clients_need_a_strong_secret_and_at_least_the_stage_split() {
    let host = host().await;
    assert!(
        host.service
            .register_pact_client("short", "too-short", Disclosure::StageSplit)
            .await
            .is_err()
    );
    assert!(
        host.service
            .register_pact_client("a:b", SECRET, Disclosure::StageSplit)
            .await
            .is_err()
    );
    assert!(
        host.service
            .register_pact_client("total", SECRET, Disclosure::TotalOnly)
            .await
            .is_err()
    );
    // A profile that would break the specification's rules is refused.
    let two_geographies = PactProfile {
        geography_country: Some("JP".into()),
        geography_region_or_subregion: Some("Eastern Asia".into()),
        ..PactProfile::default()
    };
    assert!(
        host.service
            .set_pact_profile(two_geographies)
            .await
            .is_err()
    );
    let bad_country = PactProfile {
        geography_country: Some("Japan".into()),
        ..PactProfile::default()
    };
    assert!(host.service.set_pact_profile(bad_country).await.is_err());
}

/// Footprints of `product` in a listing, current one last.
fn versions_of(list: &Value, product: &str) -> Vec<Value> {
    let mut versions: Vec<Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["productIds"][0] == product)
        .cloned()
        .collect();
    versions.sort_by_key(|f| f["status"] == "Active");
    versions
}

async fn recompute(host: &Host, product: &str, fossil: &str) {
    let trace_id: Uuid = product.strip_prefix("urn:uuid:").unwrap().parse().unwrap();
    let stages = ByStage {
        main_production: emissions(fossil),
        ..ByStage::default()
    };
    host.service
        .put_footprint(FootprintResult {
            part: tsunagu_pcf::TraceId::new(trace_id),
            declared_unit: Unit::Kilogram,
            stages,
            total: emissions(fossil),
            from_components: ByStage::default(),
            data_quality: ByStage::default(),
            allocation: Allocation::none(),
            evidence: BTreeSet::new(),
            computed_at: host.clock.now(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_changed_footprint_gets_a_new_id_and_the_old_one_is_deprecated() {
    let host = host().await;
    let token = host.token().await;
    let product = host.products[0].clone();
    let (_, _, before) = host.get("/3/footprints", Some(&token)).await;
    let first = versions_of(&before, &product);
    assert_eq!(first.len(), 1);
    let first_id = first[0]["id"].as_str().unwrap().to_owned();

    // The same figures computed a day later are the same footprint, unchanged.
    *host.clock.0.lock().unwrap() += chrono::Duration::days(1);
    recompute(&host, &product, "60.5").await;
    let token = host.token().await;
    let (_, _, same) = host.get("/3/footprints", Some(&token)).await;
    assert_eq!(same["data"], before["data"]);

    // New figures: a new id naming the old one, which stays readable as Deprecated.
    *host.clock.0.lock().unwrap() += chrono::Duration::days(1);
    recompute(&host, &product, "55").await;
    let token = host.token().await;
    let (_, _, after) = host.get("/3/footprints", Some(&token)).await;
    let versions = versions_of(&after, &product);
    assert_eq!(versions.len(), 2, "{versions:#?}");
    let (old, new) = (&versions[0], &versions[1]);
    assert_eq!(old["id"], first_id.as_str());
    assert_eq!(old["status"], "Deprecated");
    assert_eq!(
        old["pcf"]["pcfExcludingBiogenicUptake"],
        first[0]["pcf"]["pcfExcludingBiogenicUptake"]
    );
    assert_ne!(new["id"], first_id.as_str());
    assert_eq!(new["status"], "Active");
    assert_eq!(new["precedingPfIds"], json!([first_id]));
    let (status, _, fetched) = host
        .get(&format!("/3/footprints/{first_id}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["data"]["status"], "Deprecated");
    assert!(fetched["data"].get("precedingPfIds").is_none());
    let (_, _, deprecated) = host
        .get("/3/footprints?status=Deprecated", Some(&token))
        .await;
    assert_eq!(deprecated["data"].as_array().unwrap().len(), 1);

    // A second change names both earlier versions, oldest first.
    recompute(&host, &product, "50").await;
    let (_, _, latest) = host.get("/3/footprints", Some(&token)).await;
    let versions = versions_of(&latest, &product);
    assert_eq!(versions.len(), 3);
    let current = &versions[2];
    assert_eq!(
        current["precedingPfIds"],
        json!([first_id, new["id"].as_str().unwrap()])
    );
    assert_eq!(
        versions
            .iter()
            .filter(|v| v["status"] == "Deprecated")
            .count(),
        2
    );
    // The other products kept their single active version.
    for other in &host.products[1..] {
        let versions = versions_of(&latest, other);
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0]["status"], "Active");
    }
}
