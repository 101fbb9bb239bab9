//! A demo battery: an NMC 811 pack for a passenger car, with its carbon footprint computed by
//! the LCA-CO2 app's battery module, for `tsunagu demo`, the browser test and the benchmark.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde_json::{Value, json};
use tsunagu_pcf::{
    Allocation, BatteryCarbonFootprint, BatteryCategory, ByStage, ClassBound, Emissions,
    FootprintResult, LifeCycleStage, PerformanceClasses, ServiceLife, TraceId, Unit,
    battery_carbon_footprint,
};
use uuid::Uuid;

/// The demo pack maker's business partner number.
pub const DEMO_OPERATOR_BPNL: &str = "BPNL000000TSUNAG";
/// The demo plant's site number.
pub const DEMO_PLANT_BPNA: &str = "BPNA000000KYOTO1";

/// The Catena-X lifecycle label of each EU battery life-cycle stage (Annex II).
pub fn lifecycle_label(stage: LifeCycleStage) -> &'static str {
    match stage {
        LifeCycleStage::RawMaterialAcquisitionAndPreProcessing => {
            "raw material acquisition and pre-processing"
        }
        LifeCycleStage::MainProduction => "main product production",
        LifeCycleStage::Distribution => "distribution",
        LifeCycleStage::EndOfLifeAndRecycling => "end of life and recycling",
    }
}

/// The BatteryPass `carbonFootprint` entries of a battery footprint computed by the LCA-CO2
/// app: one `Climate Change Total` entry per life-cycle stage, in kg CO2e per kWh of the
/// energy the battery delivers over its service life, each with the performance class.
pub fn carbon_footprint_entries(
    footprint: &BatteryCarbonFootprint,
    plant_bpna: &str,
    declaration_url: &str,
) -> Vec<Value> {
    footprint
        .stages
        .iter()
        .map(|(stage, emissions)| {
            json!({
                "lifecycle": lifecycle_label(stage),
                "type": "Climate Change Total",
                "unit": "kg CO2 / kWh",
                "value": decimal_to_json(emissions.total().max(Decimal::ZERO)),
                "performanceClass": footprint.performance_class.clone().unwrap_or_default(),
                "manufacturingPlant": [{"facility": plant_bpna}],
                "rulebook": [document("Battery carbon footprint rules (Regulation (EU) 2023/1542, Annex II)", "https://eur-lex.europa.eu/eli/reg/2023/1542/oj")],
                "declaration": [document("Carbon footprint declaration", declaration_url)],
            })
        })
        .collect()
}

fn decimal_to_json(value: Decimal) -> Value {
    // Figures become doubles only on the wire, as in the LCA-CO2 app.
    json!(value.to_f64().unwrap_or(0.0))
}

fn document(header: &str, content: &str) -> Value {
    json!({"contentType": "URL", "header": header, "content": content})
}

/// The demo pack's footprint: 75 kWh usable, a passenger car (M1), eight years of warranty,
/// with stage totals in kg CO2e per pack and illustrative performance classes.
pub fn demo_carbon_footprint() -> BatteryCarbonFootprint {
    let kg = |fossil: i64| Emissions {
        fossil: Decimal::new(fossil, 1),
        biogenic: Decimal::ZERO,
        land_use_change: Decimal::ZERO,
    };
    let stages = ByStage {
        raw_material_acquisition_and_pre_processing: kg(41_250),
        main_production: kg(19_800),
        distribution: kg(900),
        end_of_life_and_recycling: kg(1_350),
    };
    let mut total = Emissions::ZERO;
    for (_, emissions) in stages.iter() {
        total.fossil += emissions.fossil;
        total.biogenic += emissions.biogenic;
        total.land_use_change += emissions.land_use_change;
    }
    let result = FootprintResult {
        part: TraceId::new(Uuid::from_u128(0x7a11_0000_0000_4000_8000_0000_0000_0001)),
        declared_unit: Unit::Piece,
        stages,
        total,
        from_components: ByStage::from_fn(|_| Emissions::ZERO),
        data_quality: ByStage::from_fn(|_| None),
        allocation: Allocation::none(),
        evidence: Default::default(),
        computed_at: DateTime::<Utc>::UNIX_EPOCH,
    };
    let classes = PerformanceClasses::new(vec![
        ClassBound {
            label: "A".into(),
            max_kg_co2e_per_kwh: Decimal::new(10, 2),
        },
        ClassBound {
            label: "B".into(),
            max_kg_co2e_per_kwh: Decimal::new(20, 2),
        },
        ClassBound {
            label: "C".into(),
            max_kg_co2e_per_kwh: Decimal::new(35, 2),
        },
    ])
    .expect("ascending bounds");
    let service_life = ServiceLife {
        category: BatteryCategory::M1,
        usable_energy_kwh: Decimal::new(75, 0),
        service_years: Decimal::new(8, 0),
    };
    battery_carbon_footprint(&result, service_life, &classes).expect("a valid demo footprint")
}

/// A complete BatteryPass 6.1.0 document for the demo pack (every field the schema
/// requires), with the given passport identifier, battery identifier and issue date.
pub fn demo_battery_pass_json(passport_id: &str, battery_id: &str, issued: &str) -> Value {
    let base = "https://passport.tsunagu.example/docs";
    let doc = |header: &str, name: &str| document(header, &format!("{base}/{name}"));
    let footprint = demo_carbon_footprint();
    let serial = battery_id.rsplit(':').next().unwrap_or(battery_id);
    json!({
        "specVersion": crate::model::SPEC_VERSION,
        "metadata": {
            "passportIdentifier": passport_id,
            "version": "1",
            "status": "approved",
            "issueDate": issued,
            "lastModification": issued,
            "expirationDate": "2036-11-30",
            "economicOperatorId": DEMO_OPERATOR_BPNL,
            "predecessor": crate::service::NO_PREDECESSOR,
            "backupReference": format!("https://backup.tsunagu.example/passports/{}", passport_id.trim_start_matches("urn:uuid:")),
        },
        "identification": {
            "category": "EV",
            "chemistry": "Lithium nickel manganese cobalt oxide (NMC 811) / graphite",
            "idDmc": battery_id,
            "identification": {
                "serial": [{"key": "partInstanceId", "value": serial}],
                "batch": [{"key": "batchId", "value": "B2026-11-KY1"}],
                "type": {"manufacturerPartId": "TSP-75-NMC811", "nameAtManufacturer": "Tsunagu Pack 75"},
                "codes": [{"key": "TARIC", "value": "8507 60 00 00"}],
                "dataCarrier": {"carrierType": "QR", "carrierLayout": "top cover, left"},
                "classification": [{"classificationStandard": "IEC 62660", "classificationID": "EV-Li-ion", "classificationDescription": "Secondary lithium-ion cells for electric road vehicles"}],
            },
        },
        "operation": {
            "manufacturer": {
                "manufacturer": DEMO_OPERATOR_BPNL,
                "facility": [{"facility": DEMO_PLANT_BPNA}],
                "manufacturingDate": "2026-10-15",
            },
            "intoServiceDate": "2026-12-01",
        },
        "characteristics": {
            "warranty": {"lifeValue": 8, "lifeUnit": "unit:year"},
            "physicalDimension": {
                "weight": {"value": 452.0, "unit": "unit:kilogram"},
                "length": {"value": 2150.0, "unit": "unit:millimetre"},
                "width": {"value": 1420.0, "unit": "unit:millimetre"},
                "height": {"value": 128.0, "unit": "unit:millimetre"},
            },
        },
        "commercial": {"placedOnMarket": "2026-11-20", "purpose": ["automotive"]},
        "sources": [{"header": "Product sheet", "category": "Product Specifications", "type": "URL", "content": format!("{base}/product-sheet.pdf")}],
        "sustainability": {
            "status": "original",
            "carbonFootprint": carbon_footprint_entries(&footprint, DEMO_PLANT_BPNA, &format!("{base}/cfp-declaration.pdf")),
            "documents": {
                "separateCollection": [doc("Separate collection of waste batteries", "separate-collection.html")],
                "wastePrevention": [doc("How you help prevent battery waste", "waste-prevention.html")],
                "sustainabilityReport": [doc("Sustainability report 2026", "sustainability-2026.pdf")],
            },
        },
        "materials": {
            "active": {
                "nickel": {"location": "Cathode", "recycled": 6.0, "critical": true, "documentation": [doc("Nickel supply", "nickel.pdf")]},
                "cobalt": {"location": "Cathode", "recycled": 16.0, "critical": true, "documentation": [doc("Cobalt supply", "cobalt.pdf")]},
                "lithium": {"location": "Cathode", "recycled": 6.0, "critical": true, "documentation": [doc("Lithium supply", "lithium.pdf")]},
                "lead": {"location": "none", "recycled": 0.0, "critical": false, "concentration": 0.0, "materialUnit": "unit:partPerMillion", "impactOfSubstances": [], "documentation": []},
                "other": [{"location": "Anode", "recycled": 0.0, "critical": true, "documentation": [], "materialIdentification": [{"type": "CAS", "name": "graphite", "id": "7782-42-5"}]}],
            },
            "hazardous": {
                "cadmium": {"location": "none", "concentration": 0.0, "materialUnit": "unit:partPerMillion", "critical": false, "impactOfSubstances": [], "documentation": []},
                "mercury": {"location": "none", "concentration": 0.0, "materialUnit": "unit:partPerMillion", "critical": false, "impactOfSubstances": [], "documentation": []},
                "lead": {"location": "none", "recycled": 0.0, "concentration": 0.0, "materialUnit": "unit:partPerMillion", "critical": false, "impactOfSubstances": [], "documentation": []},
                "other": [{"location": "Electrolyte", "concentration": 1.2, "materialUnit": "unit:percent", "critical": false, "materialIdentification": [{"type": "CAS", "name": "lithium hexafluorophosphate", "id": "21324-40-3"}], "impactOfSubstances": [doc("Effects of LiPF6 on health and environment", "lipf6.pdf")], "documentation": []}],
            },
            "composition": [
                {"id": [{"type": "CAS", "name": "lithium nickel manganese cobalt oxide", "id": "346417-97-8"}], "concentration": 31.0, "unit": "unit:percent", "critical": true, "recycled": 8.0, "renewable": 0.0, "location": "Cathode", "documentation": []},
                {"id": [{"type": "CAS", "name": "graphite", "id": "7782-42-5"}], "concentration": 17.0, "unit": "unit:percent", "critical": true, "recycled": 0.0, "renewable": 0.0, "location": "Anode", "documentation": []},
                {"id": [{"type": "CAS", "name": "ethylene carbonate", "id": "96-49-1"}], "concentration": 9.0, "unit": "unit:percent", "critical": false, "recycled": 0.0, "renewable": 2.0, "location": "Electrolyte", "documentation": []},
            ],
        },
        "performance": {
            "rated": {
                "capacity": {"value": 210.0, "thresholdExhaustion": 70.0, "temperature": 25.0},
                "energy": {"value": 75.0, "temperature": 25.0},
                "voltage": {"min": 280.0, "nominal": 357.0, "max": 403.0, "temperature": 25.0},
                "power": {"value": 250000.0, "at20SoC": 180000.0, "at80SoC": 240000.0, "temperature": 25.0},
                "resistance": {"cell": 0.0009, "module": 0.012, "pack": 0.095, "temperature": 25.0},
                "roundTripEfficiency": {"initial": 95.0, "50PercentLife": 92.0, "depthOfDischarge": 90.0, "temperature": 25.0},
                "selfDischargingRate": 2.0,
                "temperature": {"lower": -30.0, "upper": 55.0},
                "lifetime": {
                    "expectedYears": 12,
                    "cycleLifeTesting": {"cycles": 2000, "depthOfDischarge": 90.0, "temperature": 25.0, "appliedChargeRate": 0.5, "appliedDischargeRate": 1.0},
                    "report": [doc("Cycle-life test report", "cycle-life.pdf")],
                },
                "performanceDocument": [doc("Rated performance", "rated-performance.pdf")],
                "testReport": [doc("Conformity test report (notified body)", "nb-test-report.pdf")],
            },
            "dynamic": {
                "stateOfCharge": {"value": 80.0, "time": format!("{issued}T09:00:00Z")},
                "fullCycles": {"value": 0, "time": format!("{issued}T09:00:00Z")},
                "capacity": {
                    "capacity": {"value": 210.0, "time": format!("{issued}T09:00:00Z")},
                    "fade": {"value": 0.0, "time": format!("{issued}T09:00:00Z")},
                    "throughput": {"value": 0.0, "time": format!("{issued}T09:00:00Z")},
                },
                "energy": {
                    "soce": {"value": 100.0, "time": format!("{issued}T09:00:00Z")},
                    "remaining": {"value": 75.0, "time": format!("{issued}T09:00:00Z")},
                    "throughput": {"value": 0.0, "time": format!("{issued}T09:00:00Z")},
                },
                "power": {
                    "remaining": {"value": 250000.0, "time": format!("{issued}T09:00:00Z")},
                    "fade": {"value": 0.0, "time": format!("{issued}T09:00:00Z")},
                },
                "roundTripEfficiency": {
                    "remaining": {"value": 95.0, "time": format!("{issued}T09:00:00Z")},
                    "fade": {"value": 0.0, "time": format!("{issued}T09:00:00Z")},
                },
                "resistance": {
                    "increase": {"pack": {"value": 0.0, "time": format!("{issued}T09:00:00Z")}, "cell": {"value": 0.0, "time": format!("{issued}T09:00:00Z")}},
                    "remaining": {"pack": {"value": 0.095, "time": format!("{issued}T09:00:00Z")}, "cell": {"value": 0.0009, "time": format!("{issued}T09:00:00Z")}},
                },
                "selfDischargingRate": 2.0,
                "operatingEnvironment": [],
                "negativeEvents": [],
                "performanceDocument": [],
            },
        },
        "conformity": {
            "declarationOfConformityId": "EU-DoC-TSP75-2026-001",
            "declarationOfConformity": [doc("EU declaration of conformity", "eu-doc.pdf")],
            "resultOfTestReport": [doc("Results of test reports (notified body)", "nb-results.pdf")],
            "thirdPartyAssurance": [doc("Third-party assurance of the due diligence scheme", "assurance.pdf")],
            "dueDiligencePolicy": [doc("Supply chain due diligence report", "due-diligence.pdf")],
        },
        "safety": {
            "usableExtinguishAgent": [{"media": "Water (large quantities)", "fireClass": "A, B"}],
            "safetyMeasures": [doc("Safety measures for handling", "safety-measures.pdf")],
            "meaningOfLabels": [doc("Meaning of labels and symbols", "labels.html")],
            "dismantling": [doc("Dismantling manual", "dismantling.pdf")],
            "removalFromAppliance": [doc("Removal from the vehicle", "removal.pdf")],
            "safeDischarging": [doc("Safe discharging", "discharging.pdf")],
        },
        "handling": {
            "applicable": true,
            "content": {
                "producer": [{"id": DEMO_OPERATOR_BPNL}],
                "sparePart": [{"manufacturerPartId": "TSP-75-MOD-12S", "nameAtManufacturer": "Module 12S"}],
            },
        },
    })
}

/// The demo battery's identifier.
pub const DEMO_BATTERY_ID: &str = "LA:TSUNAGU:PACK-0001";

/// Issues the demo battery's passport with `service` and records a year and a half of
/// readings (state of certified energy going from 100 % to 93 %, cycles, one deep-discharge
/// event), so that the page has a history to show. Returns the passport as it then stands.
pub async fn install_demo_battery(
    service: &crate::service::PassportService,
) -> Result<crate::service::StoredPassport, crate::service::ServiceError> {
    let battery = crate::identifier::BatteryIdentifier::parse(DEMO_BATTERY_ID)?;
    let content = demo_battery_pass_json(
        "urn:uuid:00000000-0000-4000-8000-000000000000",
        DEMO_BATTERY_ID,
        "2026-11-30",
    );
    let passport = service.issue(&battery, content).await?;
    record_demo_readings(service, passport.id).await
}

/// Records sixteen months of the demo pack's readings on passport `id` (state of certified
/// energy going from 100 % to 93 %, cycles, one deep-discharge event) and returns the
/// passport as it then stands.
pub async fn record_demo_readings(
    service: &crate::service::PassportService,
    id: crate::identifier::PassportId,
) -> Result<crate::service::StoredPassport, crate::service::ServiceError> {
    use crate::service::{DynamicReading, NegativeEvent};
    let now = service.now();
    let soce = [100.0, 99.1, 98.0, 97.2, 96.1, 95.4, 94.6, 93.8, 93.1];
    for (index, value) in soce.iter().enumerate() {
        let months_ago = (soce.len() - 1 - index) as i64 * 2;
        let at = now - chrono::Duration::days(30 * months_ago) - chrono::Duration::hours(1);
        service
            .record_reading(
                id,
                DynamicReading {
                    at: Some(at),
                    state_of_charge: Some(80.0 - index as f64),
                    state_of_certified_energy: Some(*value),
                    remaining_capacity_ah: Some(210.0 * value / 100.0),
                    remaining_energy_kwh: Some(75.0 * value / 100.0),
                    full_cycles: Some(index as u64 * 20),
                    negative_event: (index == 5).then(|| NegativeEvent {
                        kind: "Deep discharge (cell voltage below 2.5 V for 3 h)".into(),
                        report_url:
                            "https://passport.tsunagu.example/docs/events/deep-discharge-1.pdf"
                                .into(),
                    }),
                },
            )
            .await?;
    }
    service
        .passport(id)
        .await?
        .ok_or_else(|| crate::service::ServiceError::NotFound(id.to_string()))
}

/// What a cell maker contributes to its customer's pack passport in the demo and the tests:
/// the cells' composition (cathode and anode active materials), recycled shares and its
/// due-diligence report, with documents under `docs_base`.
pub fn demo_supplier_contribution(
    supplier: crate::supply::SupplierIdentity,
    docs_base: &str,
) -> crate::supply::SupplierContribution {
    use crate::supply::{
        Document, MaterialComposition, MaterialId, RecycledContent, SUPPLY_FORMAT_VERSION,
        SuppliedProduct, SupplierContribution,
    };
    let link = |header: &str, name: &str| Document {
        content_type: "URL".into(),
        header: header.into(),
        content: format!("{docs_base}/{name}"),
    };
    SupplierContribution {
        version: SUPPLY_FORMAT_VERSION,
        supplier,
        product: SuppliedProduct {
            manufacturer_part_id: "CELL-NMC811-P60".into(),
            name_at_manufacturer: "Pouch cell NMC811, 60 Ah".into(),
        },
        composition: vec![
            MaterialComposition {
                id: vec![MaterialId {
                    kind: "CAS".into(),
                    name: "lithium nickel manganese cobalt oxide".into(),
                    id: "346417-97-8".into(),
                }],
                concentration: 33.5,
                unit: "unit:percent".into(),
                critical: true,
                recycled: 11.0,
                renewable: 0.0,
                location: "Cathode".into(),
                documentation: vec![link("Cathode material origin", "cam.pdf")],
            },
            MaterialComposition {
                id: vec![MaterialId {
                    kind: "CAS".into(),
                    name: "graphite".into(),
                    id: "7782-42-5".into(),
                }],
                concentration: 16.25,
                unit: "unit:percent".into(),
                critical: true,
                recycled: 3.0,
                renewable: 0.0,
                location: "Anode".into(),
                documentation: Vec::new(),
            },
        ],
        recycled_content: RecycledContent {
            nickel: 7.25,
            cobalt: 19.5,
            lithium: 5.75,
            lead: 0.0,
        },
        due_diligence_report: link("Cell supply due diligence report 2026", "dd-2026.pdf"),
    }
}
