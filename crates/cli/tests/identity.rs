//! Identity end to end over loopback: an operator and onboarded companies whose connectors
//! authenticate every DSP call with DCP. Checks the DID documents they serve, that members
//! get in with the attributes their credentials state, and that every kind of bad caller is
//! refused (no token, a stranger, a replayed token, a token for someone else, an `alg: none`
//! token) without learning anything.

use chrono::Utc;
use serde_json::{Value, json};
use tsunagu::network::{Company, Network};
use tsunagu_trust::keys::KeyPair;

const CATALOG_REQUEST: &str = r#"{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}"#;

async fn network(dir: &std::path::Path) -> Network {
    Network::start(
        dir,
        vec![
            Company::new(
                "provider",
                "Provider Materials K.K.",
                200_000_000_001,
                &["materialMaker"],
            ),
            Company::new(
                "consumer",
                "Consumer Cells K.K.",
                200_000_000_002,
                &["cellMaker"],
            ),
        ],
    )
    .await
    .expect("the network starts and every company is onboarded")
}

async fn catalog_with(
    client: &reqwest::Client,
    dsp_url: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = client
        .post(format!("{dsp_url}/catalog/request"))
        .header("content-type", "application/json")
        .body(CATALOG_REQUEST);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_authenticate_with_credentials_and_strangers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let network = network(dir.path()).await;
    let provider = &network.member("provider").node;
    let consumer = &network.member("consumer").node;
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();

    // The listeners speak HTTPS only: plain HTTP gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/health", provider.public_addr))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");
    let health = client
        .get(format!("{}/health", provider.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // The DID document: our did:web, a public key, the credential service, no private key.
    let document: Value = client
        .get(format!("{}/.well-known/did.json", provider.public_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["id"], provider.participant_id());
    assert!(
        provider
            .participant_id()
            .starts_with("did:web:localhost%3A")
    );
    let method = &document["verificationMethod"][0];
    assert_eq!(method["publicKeyJwk"]["crv"], "Ed25519");
    assert!(
        method["publicKeyJwk"].get("d").is_none(),
        "no private key in the DID document"
    );
    assert!(
        document["service"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "CredentialService")
    );

    // A member asks through its connector: DCP token, presentation, attributes.
    provider
        .connector
        .create_policy_definition(tsunagu_engine::NewPolicyDefinition {
            id: Some("cell-makers".into()),
            policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
                {"leftOperand": "role", "operator": "isAnyOf", "rightOperand": ["cellMaker"]}]}]}),
        })
        .await
        .unwrap();
    provider
        .connector
        .create_policy_definition(tsunagu_engine::NewPolicyDefinition {
            id: Some("recyclers".into()),
            policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
                {"leftOperand": "role", "operator": "eq", "rightOperand": "recycler"}]}]}),
        })
        .await
        .unwrap();
    for (id, access) in [
        ("a-for-cells", "cell-makers"),
        ("a-for-recyclers", "recyclers"),
    ] {
        provider
            .connector
            .create_asset(tsunagu_engine::NewAssetRequest {
                id: Some(id.into()),
                properties: Default::default(),
                http_source: None,
                media_type: None,
            })
            .await
            .unwrap();
        provider
            .connector
            .create_contract_definition(tsunagu_engine::NewContractDefinition {
                id: Some(format!("def-{id}")),
                access_policy_id: access.into(),
                contract_policy_id: access.into(),
                assets: tsunagu_core::AssetSelector::Ids(vec![id.into()]),
            })
            .await
            .unwrap();
    }
    let (catalog, _) = consumer
        .connector
        .request_catalog(
            provider.participant_id(),
            &provider.dsp_url(),
            serde_json::from_str(CATALOG_REQUEST).unwrap(),
        )
        .await
        .expect("a member is authenticated");
    let ids: Vec<&str> = catalog["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["@id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["a-for-cells"],
        "the role from the credential decides what is seen"
    );
    assert_eq!(catalog["participantId"], provider.participant_id());

    // No token.
    let (status, body) = catalog_with(&client, &provider.dsp_url(), None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["@type"], "CatalogError");

    // A stranger: a valid did:key signature, but no credentials from the operator.
    let stranger = KeyPair::generate(&mut rand::thread_rng());
    let stranger_did = tsunagu_trust::did::did_key_for(&stranger.verifying_key());
    let token = tsunagu_trust::dcp::issue_self_issued_token(
        &stranger,
        &stranger_did,
        provider.participant_id(),
        None::<&str>,
        Utc::now(),
        chrono::Duration::seconds(60),
        &mut rand::thread_rng(),
    )
    .unwrap();
    let (status, body) = catalog_with(&client, &provider.dsp_url(), Some(&token)).await;
    assert_eq!(status, 401, "a stranger is refused: {body}");
    assert!(body.get("dataset").is_none());

    // A connector with keys and a DID document but not admitted by the operator: its token
    // verifies, its (empty) presentation holds no membership, so it is refused.
    let outsider = tsunagu::node::start(&tsunagu::network::member_config(
        "outsider",
        dir.path(),
        &network.operator,
        &network.tls,
    ))
    .await
    .unwrap();
    let refused = outsider
        .connector
        .request_catalog(
            provider.participant_id(),
            &provider.dsp_url(),
            serde_json::from_str(CATALOG_REQUEST).unwrap(),
        )
        .await;
    let error = refused
        .expect_err("a connector without credentials is refused")
        .to_string();
    assert!(error.contains("401"), "{error}");
    assert!(
        outsider.refresh_credentials().await.is_err(),
        "the operator hands no credentials to a company it did not admit"
    );

    // A member's own token, replayed: the first use passes, the second is refused.
    let identity = consumer.identity.as_ref().unwrap();
    let token = identity
        .self_issued_token(provider.participant_id(), Utc::now())
        .unwrap();
    let (status, body) = catalog_with(&client, &provider.dsp_url(), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = catalog_with(&client, &provider.dsp_url(), Some(&token)).await;
    assert_eq!(status, 401, "a replayed token is refused: {body}");

    // A token addressed to someone else.
    let token = identity
        .self_issued_token("did:web:someone-else.example", Utc::now())
        .unwrap();
    let (status, _) = catalog_with(&client, &provider.dsp_url(), Some(&token)).await;
    assert_eq!(status, 401, "a token for another audience is refused");

    // `alg: none` with the member's claims.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = Utc::now().timestamp();
    let claims = json!({"iss": consumer.participant_id(), "sub": consumer.participant_id(),
        "aud": provider.participant_id(), "jti": "none-1", "iat": now, "exp": now + 60});
    let forged = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    );
    let (status, _) = catalog_with(&client, &provider.dsp_url(), Some(&forged)).await;
    assert_eq!(status, 401, "alg none is refused");

    // The credential service answers only to an access token we issued.
    let response = client
        .post(format!("{}/dcp/presentations/query", consumer.public_url))
        .bearer_auth("not-a-token")
        .json(&json!({"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"], "type": "PresentationQueryMessage", "scope": ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

/// The three connection modes of report §5.1 ①, each as a connector-wide admission policy:
/// only named connectors, only connectors with given attributes, only connectors meeting a
/// security profile. A refused caller sees an empty catalog and no dataset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_policies_admit_named_attributed_or_certified_connectors_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cells = Company::new(
        "cells",
        "Certified Cells K.K.",
        400_000_000_001,
        &["cellMaker"],
    );
    cells.security_profile = "3".into();
    let mut recycler = Company::new(
        "recycler",
        "Small Recycler K.K.",
        400_000_000_002,
        &["recycler"],
    );
    recycler.security_profile = "1".into();
    let network = Network::start(dir.path(), vec![cells, recycler])
        .await
        .unwrap();
    let cells = &network.member("cells").node;
    let recycler = &network.member("recycler").node;
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();

    let cells_number = &network.member("cells").company.corporate_number;
    let modes = [
        (
            "named",
            json!({"permission": [{"action": "use", "constraint": [
                {"leftOperand": "corporateNumber", "operator": "isAnyOf", "rightOperand": [cells_number]}]}]}),
        ),
        (
            "attributes",
            json!({"permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": "role", "operator": "eq", "rightOperand": "cellMaker"},
                {"leftOperand": "country", "operator": "eq", "rightOperand": "JP"}]}]}]}),
        ),
        (
            "security-profile",
            json!({"permission": [{"action": "use", "constraint": [
                {"leftOperand": "securityProfile", "operator": "isAnyOf", "rightOperand": ["2", "3"]}]}]}),
        ),
    ];
    for (index, (mode, policy)) in modes.into_iter().enumerate() {
        let name = format!("provider-{mode}");
        let mut config =
            tsunagu::network::member_config(&name, dir.path(), &network.operator, &network.tls);
        config.admission_policy = policy.to_string();
        let provider = tsunagu::node::start(&config).await.unwrap();
        let company = Company::new(
            &name,
            "Provider K.K.",
            400_000_000_100 + index as u64,
            &["materialMaker"],
        );
        tsunagu::network::onboard(&client, &network.operator, &company, &provider)
            .await
            .unwrap();
        provider
            .connector
            .create_policy_definition(tsunagu_engine::NewPolicyDefinition {
                id: Some("open".into()),
                policy: json!({"@type": "Set", "permission": [{"action": "use"}]}),
            })
            .await
            .unwrap();
        provider
            .connector
            .create_asset(tsunagu_engine::NewAssetRequest {
                id: Some("data".into()),
                properties: Default::default(),
                http_source: None,
                media_type: None,
            })
            .await
            .unwrap();
        provider
            .connector
            .create_contract_definition(tsunagu_engine::NewContractDefinition {
                id: Some("def".into()),
                access_policy_id: "open".into(),
                contract_policy_id: "open".into(),
                assets: tsunagu_core::AssetSelector::All,
            })
            .await
            .unwrap();
        let seen = |node: &tsunagu::node::Node| {
            let provider_id = provider.participant_id().to_owned();
            let url = provider.dsp_url();
            let connector = node.connector.clone();
            async move {
                let (catalog, _) = connector
                    .request_catalog(
                        &provider_id,
                        &url,
                        serde_json::from_str(CATALOG_REQUEST).unwrap(),
                    )
                    .await
                    .unwrap();
                catalog["dataset"].as_array().map_or(0, Vec::len)
            }
        };
        assert_eq!(
            seen(cells).await,
            1,
            "{mode}: the admitted connector sees the dataset"
        );
        assert_eq!(
            seen(recycler).await,
            0,
            "{mode}: the refused connector sees nothing"
        );
    }
}

/// Key rotation without downtime: the company rotates its signing key through the management
/// API; the new key is saved to the key file and used at once, partners that cached the old
/// DID document fetch it again, and a token signed with the old key still verifies during the
/// grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_used_at_once_and_the_old_one_verifies_during_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let network = network(dir.path()).await;
    let provider = &network.member("provider").node;
    let member = network.member("consumer");
    let consumer = &member.node;
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();
    let provider_dsp = provider.dsp_url();
    let catalog = || {
        consumer.connector.request_catalog(
            provider.participant_id(),
            &provider_dsp,
            serde_json::from_str(CATALOG_REQUEST).unwrap(),
        )
    };
    catalog().await.expect("before rotation");
    let identity = consumer.identity.as_ref().unwrap();
    let signed_with_old_key = identity
        .self_issued_token(provider.participant_id(), Utc::now())
        .unwrap();

    let rotate_url = format!("{}/v3/identity/keys/rotate", consumer.management_url());
    let refused = client
        .post(&rotate_url)
        .header("x-api-key", "wrong-key-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let bad = client
        .post(&rotate_url)
        .header("x-api-key", member.config.management_api_key.expose())
        .json(&json!({"graceSeconds": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let rotated: Value = client
        .post(&rotate_url)
        .header("x-api-key", member.config.management_api_key.expose())
        .json(&json!({"graceSeconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = rotated["activeKey"]["kid"].as_str().unwrap().to_owned();
    let old_kids: Vec<&str> = rotated["retiringKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(old_kids.len(), 1);
    assert_ne!(old_kids[0], new_kid);
    assert!(
        rotated.to_string().find("privateKey").is_none(),
        "no key material in the answer"
    );

    // Saved for the next start.
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&member.config.key_file).unwrap()).unwrap();
    assert_eq!(file["active"]["kid"], new_kid.as_str());
    // Both keys are in the DID document.
    let document: Value = client
        .get(format!("{}/.well-known/did.json", consumer.public_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["verificationMethod"].as_array().unwrap().len(), 2);

    // The provider cached the old document; it refetches it (rate-limited) and lets us in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        match catalog().await {
            Ok(_) => break,
            Err(error) if std::time::Instant::now() < deadline => {
                assert!(error.to_string().contains("401"), "{error}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the rotated key was never accepted: {error}"),
        }
    }
    // A token signed with the old key before rotation still verifies in the grace period.
    let (status, body) =
        catalog_with(&client, &provider.dsp_url(), Some(&signed_with_old_key)).await;
    assert_eq!(status, 200, "{body}");
}
