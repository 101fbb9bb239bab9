//! The operator end to end in-process: onboarding, admin approval, issued credentials that
//! verify, credential pickup with a self-issued token, revocation through the status list,
//! and the refusals (bad registration numbers, missing admin token, replays).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tsunagu_operator::{CredentialIssuer, Operator, OperatorState, operator_router};
use tsunagu_store::SqliteStore;
use tsunagu_trust::TrustError;
use tsunagu_trust::dcp::ReplayCache;
use tsunagu_trust::did::{Did, DidDocument, DidResolver};
use tsunagu_trust::keys::KeyRing;
use tsunagu_trust::status_list::StatusListSource;
use tsunagu_trust::vc::{TrustContext, TrustedIssuers};

const ADMIN: &str = "admin-token-0123456789";
const OPERATOR_DID: &str = "did:web:operator.test";

/// Resolves the operator's did:web from memory and did:keys natively.
struct Resolver {
    documents: Mutex<HashMap<String, DidDocument>>,
}

#[async_trait]
impl DidResolver for Resolver {
    async fn resolve(&self, did: &str) -> Result<DidDocument, TrustError> {
        if did.starts_with("did:key:") {
            return tsunagu_trust::did::resolve_did_key(did);
        }
        self.documents
            .lock()
            .unwrap()
            .get(did)
            .cloned()
            .ok_or_else(|| TrustError::DidResolution {
                did: did.to_owned(),
                reason: "unknown".into(),
            })
    }
}

/// Serves status lists straight from the operator.
struct Lists(Operator);

#[async_trait]
impl StatusListSource for Lists {
    async fn status_list_credential(&self, url: &str) -> Result<String, TrustError> {
        let list = url.rsplit('/').next().unwrap();
        self.0
            .status_list_credential(list, Utc::now())
            .await
            .map_err(|e| TrustError::StatusList {
                list: url.to_owned(),
                reason: e.to_string(),
            })
    }
}

struct Harness {
    router: axum::Router,
    operator: Operator,
    resolver: Arc<Resolver>,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("operator.sqlite"))
        .await
        .unwrap();
    let keys = KeyRing::generate(&mut rand::thread_rng(), Utc::now());
    let did_document = DidDocument::for_key_ring(
        &Did::parse(OPERATOR_DID).unwrap(),
        &keys,
        Utc::now(),
        vec![],
    );
    let resolver = Arc::new(Resolver {
        documents: Mutex::new(HashMap::from([(
            OPERATOR_DID.to_owned(),
            did_document.clone(),
        )])),
    });
    let issuer = CredentialIssuer::new(
        OPERATOR_DID.into(),
        keys.active().clone(),
        "https://operator.test/status".into(),
        "Test scheme".into(),
    );
    let operator = Operator::new(Arc::new(store), issuer, chrono::Duration::days(30));
    let router = operator_router(OperatorState {
        operator: operator.clone(),
        admin_token_sha256: Sha256::digest(ADMIN.as_bytes()).into(),
        resolver: resolver.clone(),
        replay: Arc::new(ReplayCache::new(1000, chrono::Duration::minutes(5))),
        did_document: serde_json::to_value(did_document).unwrap(),
    });
    Harness {
        router,
        operator,
        resolver,
        _dir: dir,
    }
}

async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value, content_type)
}

fn application(did: &str, number: &str) -> Value {
    json!({
        "legalName": "Test Cell Manufacturing K.K.",
        "registrationNumber": {"kind": "corporateNumberJp", "value": number},
        "legalAddress": {"street": "1-1", "locality": "Tokyo", "postalCode": "100-0001", "country": "jp"},
        "roles": ["cellMaker"],
        "did": did,
        "dspUrl": "https://cell.test/dsp",
        "contactEmail": "dx@cell.test",
    })
}

fn trusted() -> TrustedIssuers {
    let mut trusted = TrustedIssuers::new();
    for t in [
        "MembershipCredential",
        "BatteryChainRoleCredential",
        "SecurityProfileCredential",
        "LegalPersonCredential",
        "BitstringStatusListCredential",
    ] {
        trusted.trust(t, OPERATOR_DID);
    }
    trusted
}

#[tokio::test]
async fn onboarding_issues_credentials_that_verify_and_revocation_takes_them_back() {
    let h = harness().await;
    let holder_keys = KeyRing::generate(&mut rand::thread_rng(), Utc::now());
    let holder = holder_keys.active().clone();
    let holder_did = "did:web:cell.test".to_owned();
    h.resolver.documents.lock().unwrap().insert(
        holder_did.clone(),
        DidDocument::for_key_ring(
            &Did::parse(&holder_did).unwrap(),
            &holder_keys,
            Utc::now(),
            vec![],
        ),
    );

    // A wrong check digit is refused and nothing is stored.
    let (status, problem, content_type) = call(
        &h.router,
        "POST",
        "/v1/applications",
        None,
        Some(application(&holder_did, "8000012050002")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert!(
        problem["detail"].as_str().unwrap().contains("check digit"),
        "{problem}"
    );
    assert!(
        h.operator
            .applications(tsunagu_store::Page::ALL)
            .await
            .unwrap()
            .is_empty()
    );

    let (status, applied, _) = call(
        &h.router,
        "POST",
        "/v1/applications",
        None,
        Some(application(&holder_did, "7000012050002")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{applied}");
    assert_eq!(applied["status"], "pending");
    assert!(
        applied["form"].get("contactEmail").is_none(),
        "contact stays private"
    );
    let id = applied["id"].as_str().unwrap().to_owned();

    // A second pending application for the same DID is a conflict.
    let (status, _, _) = call(
        &h.router,
        "POST",
        "/v1/applications",
        None,
        Some(application(&holder_did, "7000012050002")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Admin actions need the admin token.
    let approve = format!("/admin/v1/applications/{id}/approve");
    let body = json!({"securityProfile": "level-2"});
    let (status, _, _) = call(&h.router, "POST", &approve, None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(
        &h.router,
        "POST",
        &approve,
        Some("not-the-admin-token"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, entry, _) =
        call(&h.router, "POST", &approve, Some(ADMIN), Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["did"], holder_did.as_str());
    assert_eq!(
        entry["selfDescription"]["gx:legalAddress"]["gx:countryCode"],
        "JP"
    );
    // Deciding twice is a conflict.
    let (status, _, _) = call(&h.router, "POST", &approve, Some(ADMIN), Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The directory finds it by role and by name, and not by another role.
    let (_, found, _) = call(
        &h.router,
        "GET",
        "/v1/participants?role=cellMaker&name=cell",
        None,
        None,
    )
    .await;
    assert_eq!(found["participants"].as_array().unwrap().len(), 1);
    let (_, none, _) = call(
        &h.router,
        "GET",
        "/v1/participants?role=recycler",
        None,
        None,
    )
    .await;
    assert!(none["participants"].as_array().unwrap().is_empty());
    let (status, _, _) = call(&h.router, "GET", "/v1/participants?role=wizard", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The holder picks up its credentials with a self-issued token addressed to the operator.
    let (status, _, _) = call(&h.router, "GET", "/v1/credentials", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = tsunagu_trust::dcp::issue_self_issued_token(
        &holder,
        &holder_did,
        OPERATOR_DID,
        None::<&str>,
        Utc::now(),
        chrono::Duration::seconds(60),
        &mut rand::thread_rng(),
    )
    .unwrap();
    let (status, picked, _) = call(&h.router, "GET", "/v1/credentials", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{picked}");
    let credentials: Vec<String> = picked["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(credentials.len(), 4);
    // The same token again is a replay.
    let (status, _, _) = call(&h.router, "GET", "/v1/credentials", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let lists = Lists(h.operator.clone());
    let mut types = Vec::new();
    for jwt in &credentials {
        let trusted = trusted();
        let context = TrustContext {
            resolver: h.resolver.as_ref(),
            status_lists: &lists,
            trusted_issuers: &trusted,
        };
        let verified = tsunagu_trust::vc::verify_vc_jwt(jwt, &context, Utc::now())
            .await
            .unwrap();
        assert_eq!(verified.issuer, OPERATOR_DID);
        types.extend(verified.types);
    }
    for expected in [
        "MembershipCredential",
        "BatteryChainRoleCredential",
        "SecurityProfileCredential",
        "LegalPersonCredential",
    ] {
        assert!(types.iter().any(|t| t == expected), "{expected} issued");
    }

    // Revocation: every credential fails verification afterwards.
    let (status, _, _) = call(
        &h.router,
        "POST",
        &format!("/admin/v1/participants/{id}/revoke"),
        Some(ADMIN),
        Some(json!({"reason": "left the scheme"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for jwt in &credentials {
        let trusted = trusted();
        let context = TrustContext {
            resolver: h.resolver.as_ref(),
            status_lists: &lists,
            trusted_issuers: &trusted,
        };
        let refused = tsunagu_trust::vc::verify_vc_jwt(jwt, &context, Utc::now()).await;
        assert!(refused.is_err(), "a revoked credential is refused");
    }

    // The audit trail has every action, in order.
    let (_, audit, _) = call(&h.router, "GET", "/admin/v1/audit", Some(ADMIN), None).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["apply", "approve", "revoke"]);
    let (status, _, _) = call(&h.router, "GET", "/admin/v1/audit", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_status_list_is_served_signed_and_rejections_keep_their_reason() {
    let h = harness().await;
    let (status, _, _) = call(&h.router, "GET", "/status/revocation-1", None, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no list before the first credential"
    );
    let (_, applied, _) = call(
        &h.router,
        "POST",
        "/v1/applications",
        None,
        Some(application("did:web:rejected.test", "7000012050002")),
    )
    .await;
    let id = applied["id"].as_str().unwrap();
    let (status, _, _) = call(
        &h.router,
        "POST",
        &format!("/admin/v1/applications/{id}/reject"),
        Some(ADMIN),
        Some(json!({"reason": ""})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a rejection needs a reason"
    );
    let (status, rejected, _) = call(
        &h.router,
        "POST",
        &format!("/admin/v1/applications/{id}/reject"),
        Some(ADMIN),
        Some(json!({"reason": "registration number belongs to another company"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rejected["status"], "rejected");
    let (_, seen, _) = call(
        &h.router,
        "GET",
        &format!("/v1/applications/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        seen["reason"],
        "registration number belongs to another company"
    );
    let (status, did, content_type) =
        call(&h.router, "GET", "/.well-known/did.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(did["id"], OPERATOR_DID);
    assert_eq!(content_type.as_deref(), Some("application/did+json"));
    let (status, problem, _) = call(
        &h.router,
        "POST",
        "/v1/applications",
        None,
        Some(json!({"legalName": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("invalid body"));
}
