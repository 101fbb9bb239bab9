//! The HTTP surface in-process: the public page and its languages, content negotiation, QR
//! codes, the resolver, login with presentations, and callers trying to see more than their
//! group.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tsunagu_passport::{
    AccessGroup, BatteryIdentifier, PassportId, demo_battery_pass_json, install_demo_battery,
    passport_router,
};
use tsunagu_trust::sd_jwt::{SdJwtExpectations, verify_sd_jwt};

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn call(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(uri: &str) -> axum::http::request::Builder {
    Request::get(uri)
}

async fn setup() -> (common::World, Router, PassportId) {
    let world = common::world().await;
    let demo = install_demo_battery(&world.app.service).await.unwrap();
    let router = passport_router(world.app.clone());
    (world, router, demo.id)
}

/// Strings that only a legitimate-interest view may show.
const LEGITIMATE: [&str; 6] = [
    "soh-chart",
    "battery-state",
    "deep-discharge",
    "dismantling.pdf",
    "2026-12-01",
    "Module 12S",
];
/// Strings that only the authorities may see.
const AUTHORITY: [&str; 2] = ["nb-results.pdf", "nb-test-report.pdf"];

#[tokio::test]
async fn the_public_page_shows_public_fields_only() {
    let (_world, router, id) = setup().await;
    let page = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_eq!(page.header("x-access-group"), "public");
    assert!(
        page.header("content-security-policy")
            .contains("default-src 'none'")
    );
    let html = page.text();
    for public in [
        "Tsunagu Pack 75",
        "LA:TSUNAGU:PACK-0001",
        "NMC 811",
        "cfp-chart",
        "id=\"cfp-class\"",
        "Recycled content",
        "Water (large quantities)",
        "2026-10-15",
        "Rated capacity",
        "eu-doc.pdf",
    ] {
        assert!(html.contains(public), "public page lacks {public}");
    }
    for hidden in LEGITIMATE.iter().chain(AUTHORITY.iter()) {
        assert!(!html.contains(hidden), "public page shows {hidden}");
    }
    // Neither a query nor a header makes the page more than public.
    for (uri, name, value) in [
        (
            format!("/passports/{id}?group=authorities"),
            "x-access-group",
            "authorities",
        ),
        (
            format!("/passports/{id}"),
            "cookie",
            "tsunagu_passport_session=forged",
        ),
    ] {
        let page = call(
            &router,
            get(&uri).header(name, value).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.header("x-access-group"), "public");
        assert!(!page.text().contains("soh-chart"));
    }
}

#[tokio::test]
async fn english_and_japanese() {
    let (_world, router, id) = setup().await;
    let ja = call(
        &router,
        get(&format!("/passports/{id}?lang=ja"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(
        ja.contains("<html lang=\"ja\">")
            && ja.contains("バッテリーパスポート")
            && ja.contains("カーボンフットプリント")
    );
    let negotiated = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("accept-language", "ja-JP,ja;q=0.9")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(negotiated.contains("<html lang=\"ja\">"));
    let en = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("accept-language", "ja;q=0.2, en")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Carbon footprint"));
}

#[tokio::test]
async fn machines_get_json_or_the_verifiable_presentation() {
    let (world, router, id) = setup().await;
    let json = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(json.header("content-type").starts_with("application/json"));
    let view = json.json();
    assert_eq!(
        view["specVersion"],
        "urn:io.catenax.battery.battery_pass:6.1.0"
    );
    assert!(view.pointer("/identification/chemistry").is_some());
    assert!(view.pointer("/performance/dynamic").is_none());
    assert!(view.pointer("/sustainability/status").is_none());

    let sd = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("accept", "application/dc+sd-jwt")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(sd.header("content-type"), "application/dc+sd-jwt");
    let verified = verify_sd_jwt(
        &sd.text(),
        &world.app.service.signing_jwk(),
        &SdJwtExpectations::default(),
        world.app.service.now(),
    )
    .unwrap();
    assert_eq!(verified.claims["iss"], common::OPERATOR_DID);
    assert_eq!(verified.claims["passport"], view);
    // A machine that knows only the operator's DID verifies it the DCP way: the key comes
    // from the DID document under assertionMethod, the issuer is trusted for the aspect.
    let trusted = tsunagu_trust::vc::TrustedIssuers::new()
        .with(tsunagu_passport::ASPECT_URN, common::OPERATOR_DID);
    let by_did = tsunagu_trust::sd_jwt::verify_sd_jwt_with_resolver(
        &sd.text(),
        world.resolver.as_ref(),
        &trusted,
        &SdJwtExpectations::default(),
        world.app.service.now(),
    )
    .await
    .unwrap();
    assert_eq!(by_did.claims["passport"], view);
    let untrusted = tsunagu_trust::vc::TrustedIssuers::new();
    assert!(
        tsunagu_trust::sd_jwt::verify_sd_jwt_with_resolver(
            &sd.text(),
            world.resolver.as_ref(),
            &untrusted,
            &SdJwtExpectations::default(),
            world.app.service.now()
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn qr_codes_and_the_resolver() {
    let (world, router, id) = setup().await;
    let svg = call(
        &router,
        get(&format!("/passports/{id}/qr.svg"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert!(svg.text().contains("<svg"));
    // The code carries the passport's public address, under the configured base.
    let public_url = world.app.service.public_url(id);
    assert_eq!(public_url, format!("{}/passports/{id}", common::BASE));
    assert_eq!(svg.text(), tsunagu_passport::qr_svg(&public_url).unwrap());
    assert_ne!(
        svg.text(),
        tsunagu_passport::qr_svg(&format!("{public_url}x")).unwrap()
    );
    let png = call(
        &router,
        get(&format!("/passports/{id}/qr.png"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(png.header("content-type"), "image/png");
    assert_eq!(&png.body[..4], b"\x89PNG");
    assert_eq!(png.body, tsunagu_passport::qr_png(&public_url).unwrap());

    let resolved = call(
        &router,
        get("/resolve/LA:TSUNAGU:PACK-0001?lang=ja")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        resolved.header("location"),
        format!("/passports/{id}?lang=ja")
    );
    assert_eq!(
        call(
            &router,
            get("/resolve/LA:TSUNAGU:PACK-9999")
                .body(Body::empty())
                .unwrap()
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &router,
            get("/resolve/not-an-identifier")
                .body(Body::empty())
                .unwrap()
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );

    for uri in [
        "/passports/6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01".to_owned(),
        "/passports/6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01/qr.png".to_owned(),
        "/passports/..%2F..%2Fetc".to_owned(),
        "/passports/<script>/qr.svg"
            .replace('<', "%3C")
            .replace('>', "%3E"),
    ] {
        assert_eq!(
            call(&router, get(&uri).body(Body::empty()).unwrap())
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

async fn nonce(router: &Router) -> (String, String) {
    let reply = call(router, get("/passports/nonce").body(Body::empty()).unwrap())
        .await
        .json();
    (
        reply["nonce"].as_str().unwrap().to_owned(),
        reply["audience"].as_str().unwrap().to_owned(),
    )
}

async fn login(router: &Router, presentation: &str) -> Reply {
    call(
        router,
        Request::post("/passports/session")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"presentation": presentation}).to_string(),
            ))
            .unwrap(),
    )
    .await
}

async fn page_with(router: &Router, id: PassportId, token: &str) -> Reply {
    call(
        router,
        get(&format!("/passports/{id}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_recycler_sees_legitimate_interest_data_and_no_more() {
    let (world, router, id) = setup().await;
    let recycler = world.participant("recycler", 21);
    let credentials = world.credentials(
        &recycler,
        true,
        &["recycler"],
        &world.scheme(),
        common::SCHEME_DID,
    );
    let (nonce, audience) = nonce(&router).await;
    assert_eq!(audience, common::BASE);
    let presentation = world.presentation(&recycler, &credentials, &audience, &nonce);
    let session = login(&router, &presentation).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text());
    let body = session.json();
    assert_eq!(body["group"], "legitimate-interest");
    let cookie = session.header("set-cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let token = body["token"].as_str().unwrap().to_owned();

    let page = page_with(&router, id, &token).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("x-access-group"), "legitimate-interest");
    assert_eq!(page.header("cache-control"), "private, no-store");
    let html = page.text();
    for shown in LEGITIMATE {
        assert!(
            html.contains(shown),
            "legitimate-interest page lacks {shown}"
        );
    }
    for hidden in AUTHORITY {
        assert!(
            !html.contains(hidden),
            "legitimate-interest page shows {hidden}"
        );
    }
    assert!(html.contains("did:web:recycler.example"));
    let json = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("accept", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(json["sustainability"]["status"], "original");
    assert!(json.pointer("/conformity/resultOfTestReport").is_none());

    // The same presentation again: its nonce is spent.
    assert_eq!(
        login(&router, &presentation).await.status,
        StatusCode::UNAUTHORIZED
    );
    // After the session's lifetime the token is worthless.
    world.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        page_with(&router, id, &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_notified_body_sees_the_authority_data() {
    let (world, router, id) = setup().await;
    let body = world.participant("notified-body", 22);
    let credentials = world.credentials(
        &body,
        true,
        &["notifiedBody"],
        &world.scheme(),
        common::SCHEME_DID,
    );
    let (nonce, audience) = nonce(&router).await;
    let session = login(
        &router,
        &world.presentation(&body, &credentials, &audience, &nonce),
    )
    .await;
    assert_eq!(session.json()["group"], "authorities");
    let html = page_with(&router, id, session.json()["token"].as_str().unwrap())
        .await
        .text();
    for shown in AUTHORITY.iter().chain(LEGITIMATE.iter()) {
        assert!(html.contains(shown), "authority page lacks {shown}");
    }
}

#[tokio::test]
async fn callers_without_the_right_credentials_get_no_session() {
    let (world, router, _id) = setup().await;
    let scheme = world.scheme();
    let mallory = world.participant("mallory", 23);

    // A cell maker: a member, but no legitimate interest.
    let cell_maker = world.credentials(&mallory, true, &["cellMaker"], &scheme, common::SCHEME_DID);
    let (nonce, audience) = nonce(&router).await;
    assert_eq!(
        login(
            &router,
            &world.presentation(&mallory, &cell_maker, &audience, &nonce)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // A recycler role without membership.
    let no_membership =
        world.credentials(&mallory, false, &["recycler"], &scheme, common::SCHEME_DID);
    let (nonce, _) = self::nonce(&router).await;
    assert_eq!(
        login(
            &router,
            &world.presentation(&mallory, &no_membership, &audience, &nonce)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Credentials Mallory issued herself: her DID is not a trusted issuer.
    let forged = world.credentials(
        &mallory,
        true,
        &["notifiedBody"],
        &mallory.key,
        &mallory.did,
    );
    let (nonce, _) = self::nonce(&router).await;
    let reply = login(
        &router,
        &world.presentation(&mallory, &forged, &audience, &nonce),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());

    // Good credentials, but presented to another audience, or over a made-up nonce.
    let recycler = world.participant("honest-recycler", 24);
    let good = world.credentials(&recycler, true, &["recycler"], &scheme, common::SCHEME_DID);
    let (nonce, _) = self::nonce(&router).await;
    assert_eq!(
        login(
            &router,
            &world.presentation(&recycler, &good, "https://elsewhere.example", &nonce)
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(
            &router,
            &world.presentation(&recycler, &good, &audience, "made-up")
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    // Someone else's presentation signed with Mallory's key.
    let (nonce, _) = self::nonce(&router).await;
    let stolen = tsunagu_trust::vp::make_vp_jwt(
        &recycler.did,
        &mallory.key,
        &good,
        &tsunagu_trust::vp::PresentationTarget {
            audience: &audience,
            nonce: Some(&nonce),
            lifetime: chrono::Duration::minutes(2),
        },
        world.app.service.now(),
        &mut rand::rngs::OsRng,
    );
    assert_eq!(
        login(&router, &stolen).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Garbage.
    assert_eq!(
        login(&router, "not a jwt").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &router,
            Request::post("/passports/session")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap()
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    // Bearer tokens that are not sessions.
    let id = install_other(&world).await;
    assert_eq!(
        page_with(&router, id, "forged-token").await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = call(
        &router,
        get(&format!("/passports/{id}"))
            .header("authorization", "Basic YTpi")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn install_other(world: &common::World) -> PassportId {
    let battery = BatteryIdentifier::parse("LA:TSUNAGU:PACK-0777").unwrap();
    world
        .app
        .service
        .issue(
            &battery,
            demo_battery_pass_json(
                "urn:uuid:00000000-0000-4000-8000-000000000000",
                "LA:TSUNAGU:PACK-0777",
                "2026-11-30",
            ),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn an_explicit_grant_opens_the_legitimate_interest_view() {
    let (world, router, id) = setup().await;
    let repairer = world.participant("independent-repairer", 25);
    // Only a membership: no role that gives access.
    let credentials = world.credentials(&repairer, true, &[], &world.scheme(), common::SCHEME_DID);
    let (nonce, audience) = nonce(&router).await;
    assert_eq!(
        login(
            &router,
            &world.presentation(&repairer, &credentials, &audience, &nonce)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    world
        .app
        .access
        .grant(&repairer.did, AccessGroup::LegitimateInterest)
        .await
        .unwrap();
    let (nonce, _) = self::nonce(&router).await;
    let session = login(
        &router,
        &world.presentation(&repairer, &credentials, &audience, &nonce),
    )
    .await;
    assert_eq!(session.json()["group"], "legitimate-interest");
    assert_eq!(
        page_with(&router, id, session.json()["token"].as_str().unwrap())
            .await
            .header("x-access-group"),
        "legitimate-interest"
    );
    assert!(world.app.access.revoke_grant(&repairer.did).await.unwrap());
}

#[tokio::test]
async fn the_browser_login_form_sets_a_cookie_and_returns_to_the_passport() {
    let (world, router, id) = setup().await;
    let login_page = call(
        &router,
        get(&format!("/passports/login?next={id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    let nonce = login_page
        .split("id=\"nonce\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let recycler = world.participant("form-recycler", 26);
    let credentials = world.credentials(
        &recycler,
        true,
        &["reuseOperator"],
        &world.scheme(),
        common::SCHEME_DID,
    );
    let presentation = world.presentation(&recycler, &credentials, common::BASE, &nonce);
    let submit = || {
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("presentation", &presentation)
            .append_pair("next", &id.to_string())
            .finish();
        call(
            &router,
            Request::post("/passports/session")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
    };
    let reply = submit().await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.header("location"), format!("/passports/{id}"));
    // The same form again: the nonce is spent, and the person gets the form with the reason.
    let refused = submit().await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.text().contains("id=\"login-error\"") && refused.header("set-cookie").is_empty()
    );
    let cookie = reply
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = call(
        &router,
        get(&format!("/passports/{id}"))
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.header("x-access-group"), "legitimate-interest");
    // Logging out ends the session.
    call(
        &router,
        Request::post("/passports/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let page = call(
        &router,
        get(&format!("/passports/{id}"))
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.header("x-access-group"), "public");
}

#[tokio::test]
async fn passport_text_is_escaped() {
    let world = common::world().await;
    let battery = BatteryIdentifier::parse("LA:TSUNAGU:PACK-0666").unwrap();
    let mut content = demo_battery_pass_json(
        "urn:uuid:00000000-0000-4000-8000-000000000000",
        "LA:TSUNAGU:PACK-0666",
        "2026-11-30",
    );
    content["identification"]["identification"]["type"]["nameAtManufacturer"] =
        json!("<script>alert(1)</script>");
    content["identification"]["chemistry"] = json!("NMC\"><img src=x onerror=alert(2)>");
    content["safety"]["meaningOfLabels"] =
        json!([{"contentType": "URL", "header": "labels", "content": "javascript:alert(3)"}]);
    let passport = world.app.service.issue(&battery, content).await.unwrap();
    let router = passport_router(world.app.clone());
    let html = call(
        &router,
        get(&format!("/passports/{}", passport.id))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("javascript:"));
}

#[tokio::test]
async fn a_superseded_passport_links_its_successor() {
    let (world, router, id) = setup().await;
    let successor = world
        .app
        .service
        .apply(id, tsunagu_passport::LifecycleEvent::Repurpose)
        .await
        .unwrap();
    let old = call(
        &router,
        get(&format!("/passports/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(old.contains(&format!("href=\"/passports/{}?lang=en\"", successor.id)));
    let new = call(
        &router,
        get(&format!("/passports/{}", successor.id))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(new.contains(&format!("href=\"/passports/{id}?lang=en\"")));
    let resolved = call(
        &router,
        get("/resolve/LA:TSUNAGU:PACK-0001")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        resolved.header("location"),
        format!("/passports/{}", successor.id)
    );
}

/// Two replicas of the service over one database: a nonce one hands out can be taken by the
/// other, once; expired sessions and nonces are purged.
#[tokio::test]
async fn replicas_share_nonces_and_expired_records_are_purged() {
    let first = common::world().await;
    let second = common::world_on(first.store.clone(), common::BASE).await;
    let recycler = first.participant("recycler", 21);
    second.participant("recycler", 21);
    let credentials = first.credentials(
        &recycler,
        true,
        &["recycler"],
        &first.scheme(),
        common::SCHEME_DID,
    );
    let nonce = first.app.access.nonce().await.unwrap();
    let presentation = first.presentation(&recycler, &credentials, common::BASE, &nonce);
    let session = second.app.access.login(&presentation).await.unwrap();
    assert_eq!(session.caller.did, recycler.did);
    assert!(matches!(
        first.app.access.login(&presentation).await,
        Err(tsunagu_passport::AccessError::Nonce)
    ));
    assert!(
        first
            .app
            .access
            .caller(&session.token)
            .await
            .unwrap()
            .is_some(),
        "a session opened at one replica holds at the other"
    );

    // An unused nonce and the session outlive nothing.
    let unused = first.app.access.nonce().await.unwrap();
    assert_eq!(second.app.access.purge_expired().await.unwrap(), 0);
    second.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(second.app.access.purge_expired().await.unwrap(), 2);
    for collection in ["passport.sessions", "passport.nonces"] {
        assert!(
            first
                .store
                .documents(collection, tsunagu_store::Page::ALL)
                .await
                .unwrap()
                .is_empty(),
            "{collection} still holds records"
        );
    }
    let late = first.presentation(&recycler, &credentials, common::BASE, &unused);
    assert!(matches!(
        first.app.access.login(&late).await,
        Err(tsunagu_passport::AccessError::Nonce)
    ));
}
