//! The PACT v3 API as `tsunagu serve` mounts it: a loopback network whose companies run the
//! PCF app serves each company's computed footprints over HTTPS to the configured client,
//! refuses other credentials, and does not answer plain HTTP.

use serde_json::Value;
use tsunagu::network::{Company, Network, NetworkOptions};

#[tokio::test(flavor = "multi_thread")]
async fn a_network_company_serves_its_computed_footprints_over_pact() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start_with(
        dir.path(),
        vec![Company::new(
            "cells",
            "Consumer Cells K.K.",
            300_000_000_002,
            &["cellMaker"],
        )],
        NetworkOptions {
            pcf_app: true,
            ..NetworkOptions::default()
        },
    )
    .await
    .expect("the network starts");
    let manifest = network.manifest();
    let company = &manifest["participants"][0];
    let base = company["pact_url"].as_str().unwrap();
    let id = company["pact_client_id"].as_str().unwrap();
    let secret = company["pact_client_secret"].as_str().unwrap();
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();

    let discovery: Value = client
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    assert_eq!(token_endpoint, format!("{base}/auth/token"));

    let wrong = client
        .post(token_endpoint)
        .basic_auth(id, Some("not-the-secret-at-all"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let token: Value = client
        .post(token_endpoint)
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();

    let list: Value = client
        .get(format!("{base}/3/footprints"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let footprints = list["data"].as_array().unwrap();
    assert_eq!(footprints.len(), 2, "{list:#}");
    for footprint in footprints {
        assert_eq!(footprint["companyName"], "Consumer Cells K.K.");
        assert_eq!(
            footprint["pcf"]["declaredUnitOfMeasurement"],
            "kilowatt hour"
        );
        assert_eq!(footprint["pcf"]["geographyCountry"], "JP");
        // An NMC cell: tens of kg CO2e per kWh of capacity, computed from activity data.
        let total: f64 = footprint["pcf"]["pcfIncludingBiogenicUptake"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((30.0..=120.0).contains(&total), "{total} kg CO2e/kWh");
    }

    // PACT requires HTTPS: the same port does not answer plain HTTP.
    let plain = base.replacen("https://", "http://", 1);
    let answer = reqwest::Client::new()
        .get(format!("{plain}/3/footprints"))
        .bearer_auth(token)
        .send()
        .await;
    assert!(
        !matches!(&answer, Ok(response) if response.status().is_success()),
        "plain HTTP answered: {answer:?}"
    );
}
