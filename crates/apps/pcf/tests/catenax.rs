//! Catena-X PCF aspect 9.0.0: every payload tsunagu emits validates against the official
//! JSON schema; the official example reads; one footprint travels internal → PACT v3 →
//! Catena-X → PACT v3 → internal and comes back equal in every field the formats share.

use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tsunagu_pcf::pact::{
    CatenaXError, PactProfile, PactSubject, ProductFootprint, from_catenax, from_pact, to_catenax,
    to_pact,
};
use tsunagu_pcf::{
    ByStage, CorporateNumber, Decimal, DisclosedFootprint, Disclosure, Emissions, Operator,
    OperatorIdentifier, Part, TraceId, Unit,
};
use uuid::Uuid;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn schema(spec: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(spec.join("catena-x/io.catenax.pcf/9.0.0/Pcf-schema.json"))
        .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, payload: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(payload)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{payload:#}");
}

fn emissions(fossil: &str, biogenic: &str, land_use_change: &str) -> Emissions {
    Emissions {
        fossil: d(fossil),
        biogenic: d(biogenic),
        land_use_change: d(land_use_change),
    }
}

fn internal(unit: Unit) -> DisclosedFootprint {
    let stages = ByStage {
        raw_material_acquisition_and_pre_processing: emissions("45.805", "-1.25", "0.4"),
        main_production: emissions("11.683", "0.002", "0"),
        distribution: emissions("0.3", "0", "0"),
        end_of_life_and_recycling: emissions("0.05", "0", "0"),
    };
    DisclosedFootprint {
        part: TraceId::new(Uuid::from_u128(42)),
        declared_unit: unit,
        disclosure: Disclosure::StageSplit,
        total_kg_co2e: d("56.99"),
        stages: Some(stages),
        allocation: None,
        data_quality: None,
        evidence: None,
        computed_at: Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap(),
    }
}

fn pact(unit: Unit, country: &str) -> ProductFootprint {
    let operator = Operator {
        operator_id: Uuid::from_u128(7),
        name: "Demo Cell Manufacturing K.K.".into(),
        address: "Tokyo".into(),
        open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
            CorporateNumber::parse("5010401089998").unwrap(),
        ),
        global_operator_id: None,
    };
    let part = Part {
        trace_id: TraceId::new(Uuid::from_u128(42)),
        operator_id: Uuid::from_u128(7),
        plant_id: Uuid::from_u128(8),
        part_name: "CELL-NMC811".into(),
        support_part_name: None,
        label_name: Some("Pouch cell NMC811".into()),
        amount_required: None,
        amount_required_unit: unit,
        terminated_flag: false,
        additional_info: Default::default(),
    };
    let profile = PactProfile {
        geography_country: Some(country.into()),
        product_classifications: vec!["urn:pact:unstats.un.org:cpc:46410".into()],
        ..PactProfile::default()
    };
    let subject = PactSubject {
        id: Uuid::from_u128(99),
        operator: &operator,
        part: &part,
    };
    to_pact(&internal(unit), subject, &profile).unwrap()
}

/// The PACT fields Catena-X 9.0.0 also has.
fn shared(footprint: &ProductFootprint) -> Value {
    let json = serde_json::to_value(footprint).unwrap();
    let pcf = &json["pcf"];
    json!({
        "id": json["id"], "created": json["created"], "status": json["status"],
        "validityPeriodStart": json["validityPeriodStart"], "validityPeriodEnd": json["validityPeriodEnd"],
        "companyName": json["companyName"], "companyIds": json["companyIds"],
        "productIds": json["productIds"], "productNameCompany": json["productNameCompany"],
        "productDescription": json["productDescription"],
        "productClassifications": json["productClassifications"], "comment": json["comment"],
        "pcf": {
            "declaredUnitOfMeasurement": pcf["declaredUnitOfMeasurement"],
            "declaredUnitAmount": pcf["declaredUnitAmount"],
            "productMassPerDeclaredUnit": pcf["productMassPerDeclaredUnit"],
            "referencePeriodStart": pcf["referencePeriodStart"],
            "referencePeriodEnd": pcf["referencePeriodEnd"],
            "geographyCountry": pcf["geographyCountry"],
            "pcfIncludingBiogenicUptake": pcf["pcfIncludingBiogenicUptake"],
            "pcfExcludingBiogenicUptake": pcf["pcfExcludingBiogenicUptake"],
            "fossilGhgEmissions": pcf["fossilGhgEmissions"],
            "landUseChangeGhgEmissions": pcf["landUseChangeGhgEmissions"],
            "biogenicCO2Uptake": pcf["biogenicCO2Uptake"],
            "biogenicNonCO2Emissions": pcf["biogenicNonCO2Emissions"],
            "fossilCarbonContent": pcf["fossilCarbonContent"],
            "ipccCharacterizationFactors": pcf["ipccCharacterizationFactors"],
            "crossSectoralStandards": pcf["crossSectoralStandards"],
            "exemptedEmissionsPercent": pcf["exemptedEmissionsPercent"],
            "boundaryProcessesDescription": pcf["boundaryProcessesDescription"],
        },
    })
}

#[test]
fn internal_to_pact_to_catenax_and_back_keeps_every_shared_field() {
    let validator = tsunagu_testkit::spec_dir().map(|spec| schema(&spec));
    for unit in [Unit::Kilogram, Unit::Tonne, Unit::KilowattHour, Unit::Piece] {
        let original = internal(unit);
        let pact = pact(unit, "JP");
        let catenax = to_catenax(&pact).unwrap();
        if let Some(validator) = &validator {
            assert_valid(validator, &catenax, &format!("{unit:?}"));
        }
        // Distribution is reported apart from production, and adds back up.
        let stages = &catenax["productLifeCycleStagesAndEmissions"][0];
        assert_eq!(
            stages["distributionStage"][0]["distributionStageIncluded"],
            true
        );
        assert_eq!(
            stages["distributionStage"][0]["distributionStageFossilGhgEmissions"],
            0.3
        );
        assert_eq!(stages["productionStage"][0]["fossilGhgEmissions"], 57.538);
        assert_eq!(
            catenax["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["geography"]
                [0]["geographyRegionOrSubregion"],
            "Eastern Asia"
        );

        let back = from_catenax(&catenax).unwrap();
        back.validate().unwrap();
        assert_eq!(shared(&back), shared(&pact), "{unit:?}");
        // Internal again: everything Catena-X carries (gases, total, unit, time) is equal;
        // the stage split, which Catena-X has no place for, is not claimed.
        let internal_again = from_pact(&back, original.part).unwrap();
        let stages = original.stages.unwrap();
        let sum = |f: fn(&Emissions) -> Decimal| {
            f(&stages.raw_material_acquisition_and_pre_processing)
                + f(&stages.main_production)
                + f(&stages.distribution)
                + f(&stages.end_of_life_and_recycling)
        };
        assert_eq!(internal_again.declared_unit, original.declared_unit);
        assert_eq!(internal_again.total_kg_co2e, original.total_kg_co2e);
        assert_eq!(internal_again.computed_at, original.computed_at);
        assert_eq!(internal_again.disclosure, Disclosure::TotalOnly);
        assert_eq!(back.pcf.fossil_ghg_emissions.value(), sum(|e| e.fossil));
        assert_eq!(
            back.pcf.land_use_change_ghg_emissions.unwrap().value(),
            sum(|e| e.land_use_change)
        );
    }
}

#[test]
fn official_example_reads_and_official_pact_examples_convert_validly() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let validator = schema(&spec);
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(spec.join("catena-x/io.catenax.pcf/9.0.0/Pcf.example.json"))
            .unwrap(),
    )
    .unwrap();
    assert_valid(&validator, &example, "the official example");
    let footprint = from_catenax(&example).unwrap();
    footprint.validate().unwrap();
    assert_eq!(
        footprint.id.to_string(),
        "3893bb5d-da16-4dc1-9185-11d97476c254"
    );
    assert_eq!(
        footprint.pcf.pcf_including_biogenic_uptake.value(),
        d("1.9")
    );
    assert_eq!(
        footprint.pcf.geography_country_subdivision.as_deref(),
        Some("US-NY")
    );
    // And out again, it satisfies the schema.
    assert_valid(
        &validator,
        &to_catenax(&footprint).unwrap(),
        "the example, re-emitted",
    );

    for n in 1..=4 {
        let text = std::fs::read_to_string(spec.join(format!("pact-v3/examples/example-{n}.json")))
            .unwrap();
        let pact: ProductFootprint = serde_json::from_str(&text).unwrap();
        match to_catenax(&pact) {
            Ok(catenax) => {
                assert_valid(&validator, &catenax, &format!("PACT example {n}"));
                let back = from_catenax(&catenax).unwrap();
                assert_eq!(
                    back.pcf.pcf_including_biogenic_uptake,
                    pact.pcf.pcf_including_biogenic_uptake
                );
            }
            // Only what Catena-X cannot hold is refused, and said so.
            Err(CatenaXError::NotRepresentable(reason)) => {
                eprintln!("PACT example {n} is not representable: {reason}")
            }
            Err(other) => panic!("PACT example {n}: {other}"),
        }
    }
}

#[test]
fn what_catenax_cannot_hold_is_refused() {
    let mut unknown_region = pact(Unit::Kilogram, "JP");
    unknown_region.pcf.geography_country = Some("XK".into());
    assert!(matches!(
        to_catenax(&unknown_region),
        Err(CatenaXError::NotRepresentable(_))
    ));
    let mut global = pact(Unit::Kilogram, "JP");
    global.pcf.geography_country = None;
    assert!(to_catenax(&global).is_err());
    let mut exempted = pact(Unit::Kilogram, "JP");
    exempted.pcf.exempted_emissions_percent = d("12").into();
    assert!(to_catenax(&exempted).is_err());
    let mut broken = to_catenax(&pact(Unit::Kilogram, "JP")).unwrap();
    broken["scopeOfPcfForm"][0]["specVersion"] =
        json!("urn:io.catenax.pcf:datamodel:version:7.0.0");
    assert!(matches!(
        from_catenax(&broken),
        Err(CatenaXError::Malformed(_))
    ));
}

mod battery_component_supplier {
    use super::*;
    use tsunagu_pcf::pact::{
        BatteryComponentContext, from_battery_component_pcf, to_battery_component_pcf,
    };
    use tsunagu_pcf::{DataQualityRating, StageDataQuality};

    fn schema(spec: &Path) -> jsonschema::Validator {
        let path = spec.join(
            "catena-x/io.catenax.pcf_for_battery_component_supplier/1.0.0/PcfForBatteryComponentSupplier-schema.json",
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    }

    fn context() -> BatteryComponentContext {
        BatteryComponentContext {
            customer_part_id: "PACK-CELL-60".into(),
            manufacturer_part_id: "CELL-NMC811-P60".into(),
            site_bpns: "BPNS000000000001".into(),
            legal_bpnl: "BPNL000000000001".into(),
            secondary_emission_factor_sources: vec!["tsunagu open factors 2025".into()],
            primary_data_share: Some(d("62.5")),
            valid_from: Some(Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap()),
            valid_to: Some(Utc.with_ymd_and_hms(2029, 3, 31, 0, 0, 0).unwrap()),
            product_quality_parameters: vec!["NMC811".into()],
            content_co2_metals: Vec::new(),
            performance_class: None,
            study_link: Some("https://example.com/cfp-study.pdf".into()),
        }
    }

    fn supplier(unit: Unit) -> DisclosedFootprint {
        let rating = |ter: &str| {
            Some(StageDataQuality {
                rating: DataQualityRating::new(d(ter), d("2"), d("3")).unwrap(),
                rated_share: Decimal::ONE,
            })
        };
        DisclosedFootprint {
            part: TraceId::new(Uuid::from_u128(42)),
            declared_unit: unit,
            disclosure: Disclosure::StageSplitWithDqr,
            total_kg_co2e: d("24200"),
            stages: Some(ByStage {
                raw_material_acquisition_and_pre_processing: emissions("20000", "0", "0"),
                main_production: emissions("4000", "0", "0"),
                distribution: emissions("150", "0", "0"),
                end_of_life_and_recycling: emissions("50", "0", "0"),
            }),
            allocation: None,
            data_quality: Some(ByStage {
                raw_material_acquisition_and_pre_processing: rating("2"),
                main_production: rating("1"),
                distribution: rating("3"),
                end_of_life_and_recycling: rating("3"),
            }),
            evidence: None,
            computed_at: Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_supplier_footprint_travels_as_the_battery_component_aspect_and_back() {
        let validator = tsunagu_testkit::spec_dir().map(|spec| schema(&spec));
        let received = Utc.with_ymd_and_hms(2026, 4, 2, 0, 0, 0).unwrap();
        // Per tonne: the aspect declares per kg.
        let aspect = to_battery_component_pcf(&supplier(Unit::Tonne), &context()).unwrap();
        if let Some(validator) = &validator {
            assert_valid(validator, &aspect, "battery component aspect");
        }
        let shares = &aspect["pcfValues"]["sharesPerStage"];
        assert_eq!(shares["declaredUnit"], "CO2KG/KG");
        assert_eq!(
            shares["stage1RawMaterialAquisitionPreProcessing"]["stageValue"],
            20.0
        );
        assert_eq!(shares["absPcfValue"]["stageValue"], 24.2);
        // The rating is weighted by emissions: (20000·2 + 4000·1 + 150·3 + 50·3) / 24200.
        assert_eq!(aspect["technologicalRepresentativeness"], 1.84);
        assert_eq!(aspect["timerelatedRepresentativeness"], 3.0);

        let (back, context_back) =
            from_battery_component_pcf(&aspect, TraceId::new(Uuid::from_u128(42)), received)
                .unwrap();
        assert_eq!(context_back, context());
        assert_eq!(back.declared_unit, Unit::Kilogram);
        assert_eq!(back.total_kg_co2e, d("24.2"));
        let original = supplier(Unit::Tonne).stages.unwrap();
        let stages = back.stages.unwrap();
        assert_eq!(
            stages.main_production.total(),
            original.main_production.total() / d("1000")
        );
        assert_eq!(
            stages.end_of_life_and_recycling.total(),
            original.end_of_life_and_recycling.total() / d("1000")
        );

        // Per kg the figures come back as they went.
        let aspect = to_battery_component_pcf(&supplier(Unit::Kilogram), &context()).unwrap();
        let (back, _) =
            from_battery_component_pcf(&aspect, TraceId::new(Uuid::from_u128(42)), received)
                .unwrap();
        assert_eq!(back.stages, supplier(Unit::Kilogram).stages);
        assert_eq!(back.total_kg_co2e, d("24200"));
    }

    #[test]
    fn what_the_aspect_cannot_hold_is_refused() {
        let mut no_dqr = supplier(Unit::Kilogram);
        no_dqr.data_quality = None;
        no_dqr.disclosure = Disclosure::StageSplit;
        assert!(to_battery_component_pcf(&no_dqr, &context()).is_err());
        assert!(to_battery_component_pcf(&supplier(Unit::KilowattHour), &context()).is_err());
        let mut bad_bpn = context();
        bad_bpn.legal_bpnl = "BPNX000000000001".into();
        assert!(to_battery_component_pcf(&supplier(Unit::Kilogram), &bad_bpn).is_err());
        let mut removal = supplier(Unit::Kilogram);
        if let Some(stages) = removal.stages.as_mut() {
            stages.end_of_life_and_recycling.biogenic = d("-100");
        }
        assert!(to_battery_component_pcf(&removal, &context()).is_err());
        let mut aspect = to_battery_component_pcf(&supplier(Unit::Kilogram), &context()).unwrap();
        aspect["technologicalRepresentativeness"] = json!(7);
        assert!(
            from_battery_component_pcf(&aspect, TraceId::new(Uuid::nil()), Utc::now()).is_err()
        );
    }
}
