//! One company's PCF service and its Ouranos API in process, for the HTTP tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use tsunagu_pcf::http::{OuranosApiSettings, ouranos_router};
use tsunagu_pcf::service::{LoopbackNetwork, Partner, PcfService};
use tsunagu_pcf::{CorporateNumber, Operator, OperatorIdentifier};
use tsunagu_store::SqliteStore;
use uuid::Uuid;

pub const API_KEY: &str = "Sample-APIKey1";
pub const ACCOUNT: &str = "oem_a@example.com";
pub const PASSWORD: &str = "oemA&user_01";

pub struct Company {
    pub service: PcfService,
    pub router: Router,
    pub operator: Operator,
    pub did: String,
    pub token: String,
    _dir: tempfile::TempDir,
}

pub fn operator(id: &str, name: &str, corporate_number: &str) -> Operator {
    Operator {
        operator_id: Uuid::parse_str(id).unwrap(),
        name: name.into(),
        address: "東京都渋谷区xx".into(),
        open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
            CorporateNumber::parse(corporate_number).unwrap(),
        ),
        global_operator_id: None,
    }
}

pub async fn company(network: &Arc<LoopbackNetwork>, operator: Operator, did: &str) -> Company {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pcf.sqlite"))
        .await
        .unwrap();
    let service = PcfService::new(Arc::new(store), network.transport_for(did));
    network.attach(did, &service);
    service.set_up_operator(operator.clone()).await.unwrap();
    service.register_api_key("cfp app", API_KEY).await.unwrap();
    service.create_account(ACCOUNT, PASSWORD).await.unwrap();
    let router = ouranos_router(
        service.clone(),
        OuranosApiSettings {
            public_base_url: Some("https://pcf.example.test".into()),
        },
    );
    let mut company = Company {
        service,
        router,
        operator,
        did: did.into(),
        token: String::new(),
        _dir: dir,
    };
    let (status, _, body) = company
        .send(
            "POST",
            "/auth/login",
            Some(API_KEY),
            None,
            Some(json!({"operatorAccountId": ACCOUNT, "accountPassword": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    company.token = body["accessToken"].as_str().unwrap().to_owned();
    company
}

impl Company {
    pub async fn knows(&self, other: &Company) {
        self.service
            .register_partner(Partner {
                operator: other.operator.clone(),
                did: other.did.clone(),
            })
            .await
            .unwrap();
    }

    /// A call with the API key and the access token, as an Ouranos application makes it.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let token = self.token.clone();
        self.send(method, uri, Some(API_KEY), Some(&token), body)
            .await
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        api_key: Option<&str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let raw = body.map(|b| b.to_string());
        self.send_raw(method, uri, api_key, token, raw).await
    }

    pub async fn send_raw(
        &self,
        method: &str,
        uri: &str,
        api_key: Option<&str>,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = api_key {
            request = request.header("apiKey", key);
        }
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("Content-Type", "application/json")
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, headers, value)
    }
}
