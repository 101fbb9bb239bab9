//! Battery passports over DSP end to end, on a loopback network with operator onboarding,
//! DCP and HTTPS: the pack maker assembles its passport from the cell maker's data (fetched
//! under a due-diligence contract) and its own PCF app's footprint; another pack maker gets
//! none of the cell maker's data; a recycler fetches the passport's legitimate-interest view
//! from the pack maker (catalog, negotiation, transfer), then again under the same
//! agreement, and never a field above its group.

use std::path::Path;

use rust_decimal::Decimal;
use serde_json::Value;
use tsunagu::network::{Company, Network, NetworkOptions};
use tsunagu::node::Node;
use tsunagu::passport_dsp::{
    self, PackFacts, PassportDspError, SupplierDataRecipient, SupplierRef,
};
use tsunagu_core::NegotiationState;
use tsunagu_passport::{
    AccessGroup, AttributeTable, BatteryIdentifier, DynamicReading, Provenance,
    SupplierContribution, SupplierIdentity,
};
use tsunagu_pcf::service::PartInput;
use tsunagu_pcf::{
    BatteryCategory, ClassBound, OuranosFootprint, PerformanceClasses, ServiceLife, Unit,
};

const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

fn contribution(supplier_did: &str) -> SupplierContribution {
    tsunagu_passport::demo_supplier_contribution(
        SupplierIdentity {
            did: supplier_did.into(),
            bpnl: "BPNL00000CELLS01".into(),
            name: "Passport Cells K.K.".into(),
        },
        "https://cells.example/docs",
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The pack part of the pack maker's PCF app, with its own footprint per piece.
async fn pack_part_with_footprint(pack: &Node) -> tsunagu_pcf::TraceId {
    let (pcf, _) = pack.pcf.as_ref().expect("the pack maker runs the PCF app");
    let operator = pcf.operator().await.unwrap();
    let plant = pcf.plants().await.unwrap().remove(0);
    let part = pcf
        .put_part(PartInput {
            trace_id: None,
            operator_id: operator.operator_id,
            plant_id: plant.plant_id,
            part_name: "PACK-75-NMC811".into(),
            support_part_name: None,
            label_name: Some("Pack 75 kWh".into()),
            amount_required: None,
            amount_required_unit: Unit::Piece,
            terminated_flag: false,
            additional_info: Default::default(),
        })
        .await
        .unwrap();
    pcf.put_ouranos_footprint(
        part.trace_id,
        None,
        OuranosFootprint {
            declared_unit: Unit::Piece,
            pre_production: "3712.5".parse().unwrap(),
            main_production: "2208".parse().unwrap(),
            pre_component: Decimal::ZERO,
            main_component: Decimal::ZERO,
            pre_quality: None,
            main_quality: None,
        },
    )
    .await
    .unwrap();
    part.trace_id
}

fn classes() -> PerformanceClasses {
    PerformanceClasses::new(vec![
        ClassBound {
            label: "A".into(),
            max_kg_co2e_per_kwh: Decimal::new(5, 2),
        },
        ClassBound {
            label: "B".into(),
            max_kg_co2e_per_kwh: Decimal::new(15, 2),
        },
    ])
    .unwrap()
}

fn service_life() -> ServiceLife {
    ServiceLife {
        category: BatteryCategory::M1,
        usable_energy_kwh: Decimal::new(75, 0),
        service_years: Decimal::new(8, 0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passports_are_assembled_from_supplier_data_and_fetched_over_dsp() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start_with(
        dir.path(),
        vec![
            Company::new(
                "cells",
                "Passport Cells K.K.",
                700_000_000_001,
                &["cellMaker"],
            ),
            Company::new(
                "pack",
                "Passport Pack K.K.",
                700_000_000_002,
                &["packMaker"],
            ),
            Company::new(
                "recycler",
                "Passport Recycling K.K.",
                700_000_000_003,
                &["recycler"],
            ),
            Company::new("rival", "Rival Pack K.K.", 700_000_000_004, &["packMaker"]),
        ],
        NetworkOptions {
            pcf_app: true,
            passport_app: true,
            ..NetworkOptions::default()
        },
    )
    .await
    .unwrap();
    let cells = &network.member("cells").node;
    let pack = &network.member("pack").node;
    let recycler = &network.member("recycler").node;
    let rival = &network.member("rival").node;

    // The cell maker publishes its data for the pack maker, under the due-diligence
    // contract. A document naming another supplier is refused and publishes nothing.
    let recipient = SupplierDataRecipient {
        did: pack.participant_id().into(),
        legal_name: "Passport Pack K.K.".into(),
        provider_legal_name: "Passport Cells K.K.".into(),
        effective_date: "2026-11-01".into(),
    };
    let refused = passport_dsp::publish_supplier_data(
        &cells.connector,
        &contribution(rival.participant_id()),
        &recipient,
    )
    .await;
    assert!(
        matches!(refused, Err(PassportDspError::BadInput(ref reason)) if reason.contains("names supplier")),
        "{refused:?}"
    );
    let mut broken = contribution(cells.participant_id());
    broken.recycled_content.cobalt = 140.0;
    let refused = passport_dsp::publish_supplier_data(&cells.connector, &broken, &recipient).await;
    assert!(
        matches!(refused, Err(PassportDspError::BadInput(ref reason)) if reason.contains("/recycledContent/cobalt")),
        "{refused:?}"
    );
    assert!(
        cells
            .connector
            .assets(tsunagu_store::Page::ALL)
            .await
            .unwrap()
            .iter()
            .all(|asset| !asset.id.starts_with("passport-supply-")),
        "a refused publication leaves no asset"
    );
    let supplied = contribution(cells.participant_id());
    let published = passport_dsp::publish_supplier_data(&cells.connector, &supplied, &recipient)
        .await
        .unwrap();
    assert!(
        published
            .terms_reference
            .starts_with("due-diligence-disclosure@"),
        "{}",
        published.terms_reference
    );

    // The pack maker assembles its passport: supplier data over DSP, footprint from its
    // own PCF app.
    let trace_id = pack_part_with_footprint(pack).await;
    let battery = BatteryIdentifier::parse("LA:PASSPORTPACK:0001").unwrap();
    let supplier = SupplierRef {
        did: cells.participant_id().into(),
        dsp_url: cells.dsp_url(),
        manufacturer_part_id: Some("CELL-NMC811-P60".into()),
    };
    let facts = || PackFacts {
        battery: battery.clone(),
        content: tsunagu_passport::demo_battery_pass_json(
            "urn:uuid:00000000-0000-4000-8000-000000000000",
            &battery.to_string(),
            "2026-11-30",
        ),
        service_life: service_life(),
        classes: classes(),
        plant_bpna: "BPNA00000PACK001".into(),
        declaration_url: "https://pack.example/cfp-declaration.pdf".into(),
    };
    // A part without a footprint is refused before anything travels.
    let missing = passport_dsp::assemble_pack_passport(
        pack,
        &supplier,
        tsunagu_pcf::TraceId::new(uuid::Uuid::new_v4()),
        facts(),
    )
    .await;
    assert!(
        matches!(missing, Err(PassportDspError::BadInput(ref reason)) if reason.contains("no own footprint")),
        "{missing:?}"
    );
    let assembled = passport_dsp::assemble_pack_passport(pack, &supplier, trace_id, facts())
        .await
        .unwrap();
    let document = assembled.passport.pass.to_value();

    // The supplier's data is in the passport, as sent.
    let composition: Vec<Value> = supplied
        .composition
        .iter()
        .map(|entry| serde_json::to_value(entry).unwrap())
        .collect();
    assert_eq!(
        document["materials"]["composition"],
        Value::from(composition)
    );
    assert_eq!(document["materials"]["active"]["cobalt"]["recycled"], 19.5);
    assert_eq!(document["materials"]["active"]["nickel"]["recycled"], 7.25);
    assert_eq!(document["materials"]["active"]["lithium"]["recycled"], 5.75);
    assert_eq!(
        document["conformity"]["dueDiligencePolicy"][0]["content"],
        "https://cells.example/docs/dd-2026.pdf"
    );
    // ... with its provenance: the supplier's DID and the agreement it came under, which is
    // the due-diligence contract the pack maker holds with the cell maker.
    let provenance = Provenance::all_in(&document);
    assert_eq!(provenance, vec![assembled.supplier.clone()]);
    assert_eq!(provenance[0].supplier_did, cells.participant_id());
    assert_eq!(provenance[0].dataset_id, published.asset_id);
    let agreement = pack
        .connector
        .agreement(&provenance[0].agreement_id)
        .await
        .unwrap();
    assert_eq!(agreement.provider_id, cells.participant_id());
    assert_eq!(agreement.consumer_id, pack.participant_id());
    assert_eq!(agreement.dataset_id, published.asset_id);
    let policy = agreement.policy.to_string();
    assert!(
        policy.contains(passport_dsp::SUPPLIER_DATA_PURPOSE),
        "{policy}"
    );
    assert!(policy.contains(&published.terms_reference), "{policy}");

    // The footprint is the PCF app's: computed from the pack part's own footprint.
    let (pcf, _) = pack.pcf.as_ref().unwrap();
    let own = pcf.own_footprint(trace_id).await.unwrap().unwrap();
    let expected =
        tsunagu_pcf::battery_carbon_footprint(&own.result, service_life(), &classes()).unwrap();
    assert_eq!(assembled.footprint, expected);
    assert_eq!(
        document["sustainability"]["carbonFootprint"],
        Value::from(tsunagu_passport::carbon_footprint_entries(
            &expected,
            "BPNA00000PACK001",
            "https://pack.example/cfp-declaration.pdf"
        ))
    );
    assert_ne!(
        document["sustainability"]["carbonFootprint"],
        tsunagu_passport::demo_battery_pass_json("urn:uuid:x", "LA:X:1", "2026-11-30")["sustainability"]
            ["carbonFootprint"],
        "not the demo's constant footprint"
    );
    assert!(
        document["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |source| source["type"] == passport_dsp::FOOTPRINT_SOURCE_TYPE
                    && source["content"]
                        .as_str()
                        .unwrap()
                        .contains(&own.cfp_id.to_string())
            ),
        "the footprint's origin is named"
    );

    // The assembled passport validates against the official schema.
    if let Some(spec) = tsunagu_testkit::require_spec() {
        let schema = read_json(
            &spec.join("catena-x/io.catenax.battery.battery_pass/6.1.0/BatteryPass-schema.json"),
        );
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    // A second fetch reuses the agreement: no catalog, no negotiation.
    let again = passport_dsp::fetch_supplier_data(
        pack,
        cells.participant_id(),
        &cells.dsp_url(),
        Some("CELL-NMC811-P60"),
    )
    .await
    .unwrap();
    assert!(!again.negotiated);
    assert_eq!(again.provenance.agreement_id, provenance[0].agreement_id);
    assert_eq!(again.contribution, supplied);

    // Another pack maker does not see the data ...
    let hidden =
        passport_dsp::fetch_supplier_data(rival, cells.participant_id(), &cells.dsp_url(), None)
            .await;
    assert!(
        matches!(hidden, Err(PassportDspError::NotOffered { .. })),
        "{hidden:?}"
    );
    // ... and cannot agree to the pack maker's contract even with its offer in hand.
    let (catalog, _) = pack
        .connector
        .request_catalog(
            cells.participant_id(),
            &cells.dsp_url(),
            serde_json::json!({"@context": [tsunagu_wire::DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
        )
        .await
        .unwrap();
    let datasets = match &catalog["dataset"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let offer = datasets
        .iter()
        .find(|d| d["@id"] == published.asset_id.as_str())
        .map(|d| match &d["hasPolicy"] {
            Value::Array(offers) => offers[0].clone(),
            other => other.clone(),
        })
        .expect("the pack maker sees the offer");
    let negotiation = rival
        .connector
        .start_negotiation(tsunagu_engine::StartNegotiation {
            counter_party_address: cells.dsp_url(),
            counter_party_id: cells.participant_id().into(),
            offer,
        })
        .await
        .unwrap();
    let ended = rival
        .connector
        .wait_for_negotiation(&negotiation.id, NegotiationState::is_terminal, WAIT)
        .await
        .unwrap();
    assert_eq!(ended.state, NegotiationState::Terminated);
    assert!(ended.agreement.is_none());

    // The pack maker publishes the passport's views; the recycler fetches the
    // legitimate-interest view over DSP and verifies it.
    let published_views = passport_dsp::publish_passport(pack, &battery)
        .await
        .unwrap();
    assert_eq!(published_views.len(), 2);
    let first = passport_dsp::fetch_remote_passport(
        recycler,
        pack.participant_id(),
        &pack.dsp_url(),
        &battery,
        AccessGroup::LegitimateInterest,
    )
    .await
    .unwrap();
    assert!(first.negotiated);
    assert_eq!(first.operator_did, pack.participant_id());
    let view = &first.view.passport;
    // The detailed composition (legitimate interest) came from the cell maker, through the
    // pack maker's passport, to the recycler.
    assert_eq!(
        view["materials"]["composition"],
        document["materials"]["composition"]
    );
    assert_eq!(
        view["sustainability"]["carbonFootprint"],
        document["sustainability"]["carbonFootprint"]
    );
    // Nothing above the recycler's group: the authorities' test reports are not there.
    let table = AttributeTable::bundled();
    assert!(
        table
            .fields_above(view, AccessGroup::LegitimateInterest)
            .is_empty()
    );
    assert!(document.pointer("/performance/rated/testReport").is_some());
    assert!(view.pointer("/performance/rated/testReport").is_none());
    assert!(
        !table
            .fields_above(&document, AccessGroup::LegitimateInterest)
            .is_empty()
    );

    // The second fetch goes under the same agreement, without catalog or negotiation, and
    // after a change and a republication it holds the new reading.
    let app = pack.passport.as_ref().unwrap();
    app.service
        .record_reading(
            assembled.passport.id,
            DynamicReading {
                state_of_charge: Some(42.5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    passport_dsp::publish_passport(pack, &battery)
        .await
        .unwrap();
    let second = passport_dsp::fetch_remote_passport(
        recycler,
        pack.participant_id(),
        &pack.dsp_url(),
        &battery,
        AccessGroup::LegitimateInterest,
    )
    .await
    .unwrap();
    assert!(!second.negotiated);
    assert_eq!(second.agreement_id, first.agreement_id);
    assert_eq!(
        second.view.passport["performance"]["dynamic"]["stateOfCharge"]["value"],
        42.5
    );

    // The recycler is offered no authorities' view, and a pack maker no view at all.
    let above = passport_dsp::fetch_remote_passport(
        recycler,
        pack.participant_id(),
        &pack.dsp_url(),
        &battery,
        AccessGroup::Authorities,
    )
    .await;
    assert!(
        matches!(above, Err(PassportDspError::NotOffered { .. })),
        "{above:?}"
    );
    let not_entitled = passport_dsp::fetch_remote_passport(
        rival,
        pack.participant_id(),
        &pack.dsp_url(),
        &battery,
        AccessGroup::LegitimateInterest,
    )
    .await;
    assert!(
        matches!(not_entitled, Err(PassportDspError::NotOffered { .. })),
        "{not_entitled:?}"
    );

    // The same through the management API, as an operator of `tsunagu serve` does it.
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();
    let call = |node: &Node, member: &str, path: &str, body: Value| {
        let request = client
            .post(format!("{}/v3/passports/{path}", node.management_url()))
            .header(
                "X-Api-Key",
                network.member(member).config.management_api_key.expose(),
            )
            .json(&body);
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let (status, offered) = call(
        pack,
        "pack",
        "dsp-offers",
        serde_json::json!({"battery": battery.to_string()}),
    )
    .await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["datasets"].as_array().unwrap().len(), 2);
    let remote = serde_json::json!({
        "operatorDid": pack.participant_id(),
        "dspUrl": pack.dsp_url(),
        "battery": battery.to_string(),
        "group": "legitimate-interest",
    });
    let (status, fetched) = call(recycler, "recycler", "remote", remote.clone()).await;
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched["operatorDid"], pack.participant_id());
    assert_eq!(
        fetched["negotiated"], false,
        "the agreement held from before is reused"
    );
    assert!(
        table
            .fields_above(&fetched["passport"], AccessGroup::LegitimateInterest)
            .is_empty()
    );
    assert_eq!(
        fetched["passport"]["materials"]["composition"],
        document["materials"]["composition"]
    );
    // Bad input is a problem answer; a missing key is refused.
    let (status, problem) = call(
        recycler,
        "recycler",
        "remote",
        serde_json::json!({"operatorDid": pack.participant_id(), "dspUrl": pack.dsp_url(), "battery": "not a battery", "group": "legitimate-interest"}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    let mut public = remote.clone();
    public["group"] = "public".into();
    assert_eq!(call(recycler, "recycler", "remote", public).await.0, 400);
    let (status, problem) = call(
        recycler,
        "recycler",
        "dsp-offers",
        serde_json::json!({"battery": battery.to_string()}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem.to_string().contains("no passport of battery"),
        "{problem}"
    );
    let unauthorized = client
        .post(format!("{}/v3/passports/remote", recycler.management_url()))
        .json(&remote)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
}
