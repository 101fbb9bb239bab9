//! PACT v3 data model and mapping: the official examples parse, validate and map; what
//! tsunagu emits validates against the official OpenAPI schema; a footprint travels
//! internal → PACT → internal unchanged.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tsunagu_pcf::pact::{
    CloudEvent, MappingError, PactEvent, PactProfile, PactSubject, ProductFootprint, from_pact,
    to_pact,
};
use tsunagu_pcf::{
    Allocation, AllocationMethod, ByStage, CorporateNumber, DataQualityRating, Decimal,
    DisclosedFootprint, Disclosure, Emissions, Lei, Operator, OperatorIdentifier, Part, Sha256Hex,
    StageDataQuality, TraceId, Unit,
};
use uuid::Uuid;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The official schema of `ProductFootprint`, from the specification's OpenAPI document.
fn product_footprint_validator(spec: &Path) -> jsonschema::Validator {
    let yaml = std::fs::read_to_string(spec.join("pact-v3/openapi.yaml")).unwrap();
    let openapi: Value = serde_norway::from_str(&yaml).unwrap();
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/components/schemas/ProductFootprint",
        "components": openapi["components"],
    });
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn official_examples_parse_validate_map_and_serialise_back() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let validator = product_footprint_validator(&spec);
    let examples = spec.join("pact-v3/examples");
    let mut footprints = Vec::new();
    for n in 1..=4 {
        footprints.push(read_json(&examples.join(format!("example-{n}.json"))));
    }
    footprints.push(read_json(&examples.join("get-footprint-response.json"))["data"].clone());
    for item in read_json(&examples.join("list-footprints-response.json"))["data"]
        .as_array()
        .unwrap()
    {
        footprints.push(item.clone());
    }
    for json in footprints {
        let id = json["id"].clone();
        assert!(
            schema_errors(&validator, &json).is_empty(),
            "the official example {id} fails the official schema"
        );
        let footprint: ProductFootprint = serde_json::from_value(json).unwrap();
        footprint.validate().unwrap();
        // Serialised again, it still satisfies the schema and reads back the same.
        let again = serde_json::to_value(&footprint).unwrap();
        assert_eq!(schema_errors(&validator, &again), Vec::<String>::new());
        assert_eq!(
            serde_json::from_value::<ProductFootprint>(again).unwrap(),
            footprint
        );
        // Every example maps to a disclosed footprint whose total is the PCF including
        // biogenic uptake per one declared unit.
        let disclosed = from_pact(&footprint, TraceId::new(Uuid::nil())).unwrap();
        assert_eq!(disclosed.disclosure, Disclosure::TotalOnly);
        let per_amount = footprint.pcf.pcf_including_biogenic_uptake.value();
        assert_eq!(
            disclosed.total_kg_co2e * footprint.pcf.declared_unit_amount.value(),
            per_amount,
            "{id}"
        );
    }
}

#[test]
fn the_official_response_event_parses() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let body = std::fs::read(spec.join("pact-v3/examples/pf-response-event.json")).unwrap();
    let (event, parsed) = CloudEvent::parse(&body).unwrap();
    assert_eq!(
        event.event_type,
        "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    );
    let PactEvent::RequestFulfilled { pfs, .. } = parsed else {
        panic!("not a RequestFulfilled event: {parsed:?}");
    };
    assert!(!pfs.is_empty());
}

/// `invalid-response-all-properties.json` carries `updated` (removed in 3.0, and here not
/// even a date-time). The official schema accepts it, and the specification asks hosts to
/// accept properties they do not know: it reads, validates and maps, without `updated`.
#[test]
fn the_all_properties_example_reads_without_its_removed_property() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let list = read_json(&spec.join("pact-v3/examples/invalid-response-all-properties.json"));
    for item in list["data"].as_array().unwrap() {
        let footprint: ProductFootprint = serde_json::from_value(item.clone()).unwrap();
        footprint.validate().unwrap();
        let again = serde_json::to_value(&footprint).unwrap();
        assert!(again.get("updated").is_none());
        assert_eq!(again["pcf"]["verification"], item["pcf"]["verification"]);
        assert_eq!(again["pcf"]["dqi"]["technologicalDQR"], "1.13");
        from_pact(&footprint, TraceId::new(Uuid::nil())).unwrap();
    }
}

#[test]
fn rule_violations_are_named() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let mut json = read_json(&spec.join("pact-v3/examples/example-1.json"));
    json["companyIds"] = json!(["not-a-urn"]);
    json["pcf"]["fossilGhgEmissions"] = json!("-1");
    json["pcf"]["geographyCountry"] = json!("DE");
    json["pcf"]["ipccCharacterizationFactors"] = json!([]);
    let footprint: ProductFootprint = serde_json::from_value(json.clone()).unwrap();
    let problems = footprint.validate().unwrap_err().0.join("\n");
    for expected in [
        "companyIds must be a URN",
        "fossilGhgEmissions must be zero or positive",
        "not several",
        "ipccCharacterizationFactors must not be empty",
    ] {
        assert!(
            problems.contains(expected),
            "{expected:?} not in {problems}"
        );
    }
    // Decimals are strings: a JSON number or an exponent is refused on reading.
    for bad in [json!(0.35), json!("3.5e-1"), json!("0,35"), json!(".5")] {
        let mut copy = read_json(&spec.join("pact-v3/examples/example-1.json"));
        copy["pcf"]["fossilGhgEmissions"] = bad.clone();
        assert!(
            serde_json::from_value::<ProductFootprint>(copy).is_err(),
            "{bad} read as a decimal"
        );
    }
}

fn operator() -> Operator {
    Operator {
        operator_id: Uuid::from_u128(7),
        name: "Demo Cell Manufacturing K.K.".into(),
        address: "Tokyo".into(),
        open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
            CorporateNumber::parse("5010401089998").unwrap(),
        ),
        global_operator_id: Some(OperatorIdentifier::Lei(
            Lei::parse("5493001KJTIIGC8Y1R12").unwrap(),
        )),
    }
}

fn part(unit: Unit) -> Part {
    Part {
        trace_id: TraceId::new(Uuid::from_u128(42)),
        operator_id: Uuid::from_u128(7),
        plant_id: Uuid::from_u128(8),
        part_name: "CELL-NMC811".into(),
        support_part_name: Some("P60".into()),
        label_name: Some("Pouch cell NMC811".into()),
        amount_required: None,
        amount_required_unit: unit,
        terminated_flag: false,
        additional_info: Default::default(),
    }
}

fn emissions(fossil: &str, biogenic: &str, land_use_change: &str) -> Emissions {
    Emissions {
        fossil: d(fossil),
        biogenic: d(biogenic),
        land_use_change: d(land_use_change),
    }
}

fn disclosed(unit: Unit, disclosure: Disclosure) -> DisclosedFootprint {
    let stages = ByStage {
        raw_material_acquisition_and_pre_processing: emissions("45.805", "-1.25", "0.4"),
        main_production: emissions("11.683", "0.002", "0"),
        distribution: emissions("0.3", "0", "0"),
        end_of_life_and_recycling: emissions("0.05", "0", "0"),
    };
    let rating = DataQualityRating::new(d("2"), d("1.5"), d("3")).unwrap();
    let quality = Some(StageDataQuality {
        rating,
        rated_share: d("0.9"),
    });
    let full = DisclosedFootprint {
        part: TraceId::new(Uuid::from_u128(42)),
        declared_unit: unit,
        disclosure: Disclosure::Full,
        total_kg_co2e: d("56.99"),
        stages: Some(stages),
        allocation: Some(Allocation::new(AllocationMethod::Mass, d("0.8")).unwrap()),
        data_quality: Some(ByStage {
            raw_material_acquisition_and_pre_processing: quality,
            main_production: quality,
            distribution: None,
            end_of_life_and_recycling: None,
        }),
        evidence: Some(BTreeSet::from([Sha256Hex::of_bytes(b"certificate")])),
        computed_at: Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap(),
    };
    DisclosedFootprint {
        disclosure,
        stages: (disclosure >= Disclosure::StageSplit)
            .then_some(full.stages)
            .flatten(),
        allocation: (disclosure >= Disclosure::StageSplit)
            .then_some(full.allocation)
            .flatten(),
        data_quality: (disclosure >= Disclosure::StageSplitWithDqr)
            .then_some(full.data_quality)
            .flatten(),
        evidence: (disclosure >= Disclosure::Full)
            .then(|| full.evidence.clone())
            .flatten(),
        ..full
    }
}

fn profile() -> PactProfile {
    PactProfile {
        geography_country: Some("JP".into()),
        product_classifications: vec!["urn:pact:unstats.un.org:cpc:46410".into()],
        ..PactProfile::default()
    }
}

#[test]
fn internal_to_pact_and_back_is_lossless_and_valid() {
    let validator = tsunagu_testkit::spec_dir().map(|spec| product_footprint_validator(&spec));
    let units = [
        Unit::Gram,
        Unit::Kilogram,
        Unit::Tonne,
        Unit::KilowattHour,
        Unit::MegawattHour,
        Unit::Gigajoule,
        Unit::Litre,
        Unit::TonneKilometre,
        Unit::Piece,
    ];
    let levels = [
        Disclosure::StageSplit,
        Disclosure::StageSplitWithDqr,
        Disclosure::Full,
    ];
    for unit in units {
        for level in levels {
            let original = disclosed(unit, level);
            let part = part(unit);
            let operator = operator();
            let subject = PactSubject {
                id: Uuid::from_u128(99),
                operator: &operator,
                part: &part,
            };
            let footprint = to_pact(&original, subject, &profile()).unwrap();
            footprint.validate().unwrap();
            let json = serde_json::to_value(&footprint).unwrap();
            if let Some(validator) = &validator {
                assert_eq!(
                    schema_errors(validator, &json),
                    Vec::<String>::new(),
                    "{unit:?} {level:?}: {json:#}"
                );
            }
            // Biogenic net uptake and emissions are apart; the totals add up.
            assert_eq!(json["pcf"]["fossilGhgEmissions"], "57.838");
            assert_eq!(json["pcf"]["biogenicCO2Uptake"], "-1.248");
            assert_eq!(json["pcf"]["pcfExcludingBiogenicUptake"], "58.238");
            assert_eq!(json["pcf"]["pcfIncludingBiogenicUptake"], "56.99");
            let back: ProductFootprint = serde_json::from_value(json).unwrap();
            let mapped = from_pact(&back, original.part).unwrap();
            assert_eq!(mapped, original, "{unit:?} {level:?}");
        }
    }
}

#[test]
fn identifiers_and_units_follow_pact_conventions() {
    let operator = operator();
    let part = part(Unit::Tonne);
    let subject = PactSubject {
        id: Uuid::from_u128(99),
        operator: &operator,
        part: &part,
    };
    let footprint = to_pact(
        &disclosed(Unit::Tonne, Disclosure::StageSplit),
        subject,
        &profile(),
    )
    .unwrap();
    assert_eq!(
        footprint.company_ids,
        [
            "urn:uuid:00000000-0000-0000-0000-000000000007",
            "urn:pact:houjin-bangou.nta.go.jp:corporate-number:5010401089998",
            "urn:pact:gleif.org:lei:5493001KJTIIGC8Y1R12",
        ]
    );
    assert_eq!(
        footprint.product_ids,
        ["urn:uuid:00000000-0000-0000-0000-00000000002a"]
    );
    let pcf = serde_json::to_value(&footprint.pcf).unwrap();
    assert_eq!(pcf["declaredUnitOfMeasurement"], "kilogram");
    assert_eq!(pcf["declaredUnitAmount"], "1000");
    assert_eq!(pcf["productMassPerDeclaredUnit"], "1000");
    assert_eq!(pcf["geographyCountry"], "JP");
}

#[test]
fn what_pact_cannot_express_is_refused() {
    let operator = operator();
    let part = part(Unit::Kilogram);
    let subject = || PactSubject {
        id: Uuid::from_u128(99),
        operator: &operator,
        part: &part,
    };
    let total_only = disclosed(Unit::Kilogram, Disclosure::TotalOnly);
    assert_eq!(
        to_pact(&total_only, subject(), &profile()).unwrap_err(),
        MappingError::NeedsStageSplit
    );
    let mut credit = disclosed(Unit::Kilogram, Disclosure::StageSplit);
    if let Some(stages) = credit.stages.as_mut() {
        stages.end_of_life_and_recycling.fossil = d("-100");
    }
    assert!(matches!(
        to_pact(&credit, subject(), &profile()),
        Err(MappingError::Negative(_))
    ));
    // An extension whose stages do not add up to the figures is not believed.
    let footprint = to_pact(
        &disclosed(Unit::Kilogram, Disclosure::StageSplit),
        subject(),
        &profile(),
    )
    .unwrap();
    let mut json = serde_json::to_value(&footprint).unwrap();
    json["pcf"]["fossilGhgEmissions"] = json!("1");
    let tampered: ProductFootprint = serde_json::from_value(json).unwrap();
    assert_eq!(
        from_pact(&tampered, footprint_part()).unwrap_err(),
        MappingError::ExtensionContradicts
    );
}

fn footprint_part() -> TraceId {
    TraceId::new(Uuid::from_u128(42))
}
