//! Plausibility of the whole chain with the bundled factors: an NMC811 cathode maker, a cell
//! maker and a pack maker, each rolling up what the one before disclosed. Published
//! cradle-to-gate figures for NMC cells lie roughly between 50 and 100 kg CO2e per kWh of
//! capacity; the test accepts 40 to 120.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{TimeZone, Utc};
use tsunagu_pcf::{
    ActivityItem, ActivityKind, Allocation, BatteryCategory, BillOfMaterials, BomLine,
    CarbonFootprintDeclaration, ClassBound, CorporateNumber, DataQualityRating, Decimal,
    DeclarationFacts, DisclosedFootprint, Disclosure, ElectricitySource, FactorLibrary,
    FootprintResult, LifeCycleStage, OpenPlantId, Operator, OperatorIdentifier, PerformanceClasses,
    Plant, ProductionProcess, Quantity, RollupInput, ServiceLife, TraceId, TransportMode, Unit,
    battery_carbon_footprint, roll_up,
};
use uuid::Uuid;

const RAW: LifeCycleStage = LifeCycleStage::RawMaterialAcquisitionAndPreProcessing;
const MAIN: LifeCycleStage = LifeCycleStage::MainProduction;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn trace(n: u128) -> TraceId {
    TraceId::new(Uuid::from_u128(n))
}

const CATHODE: u128 = 1;
const CELL: u128 = 2;
const CELL_CATHODE: u128 = 20;
const PACK: u128 = 3;
const PACK_CELLS: u128 = 30;

fn activity(
    kind: ActivityKind,
    stage: LifeCycleStage,
    amount: &str,
    unit: &str,
    factor: &str,
) -> ActivityItem {
    ActivityItem {
        description: factor.to_owned(),
        kind,
        stage,
        quantity: Quantity::new(d(amount), unit.parse().unwrap()),
        factor: factor.into(),
        data_quality: Some(DataQualityRating::new(d("2"), d("2"), d("2")).unwrap()),
        evidence: Vec::new(),
    }
}

fn material(stage: LifeCycleStage, kg: &str, factor: &str) -> ActivityItem {
    activity(ActivityKind::Material, stage, kg, "kg", factor)
}

fn grid(region: &str, stage: LifeCycleStage, kwh: &str) -> ActivityItem {
    let kind = ActivityKind::Electricity {
        source: ElectricitySource::Grid {
            region: region.to_uppercase(),
        },
    };
    activity(
        kind,
        stage,
        kwh,
        "kWh",
        &format!("electricity.grid.{region}"),
    )
}

fn gas(stage: LifeCycleStage, mj: &str) -> ActivityItem {
    activity(
        ActivityKind::FuelAndHeat,
        stage,
        mj,
        "MJ",
        "fuel.natural_gas.combustion",
    )
}

fn freight(mode: TransportMode, stage: LifeCycleStage, tkm: &str, factor: &str) -> ActivityItem {
    activity(ActivityKind::Transport { mode }, stage, tkm, "t*km", factor)
}

fn one_company(
    product: u128,
    unit: Unit,
    activities: Vec<ActivityItem>,
    bom: Vec<(u128, &str, &str)>,
    suppliers: Vec<(u128, DisclosedFootprint)>,
) -> FootprintResult {
    let bom = BillOfMaterials::new(
        bom.into_iter()
            .map(|(child, amount, unit)| BomLine {
                parent: trace(product),
                child: trace(child),
                amount_per_parent: Quantity::new(d(amount), unit.parse().unwrap()),
            })
            .collect(),
    )
    .unwrap();
    let processes: HashMap<TraceId, ProductionProcess> = [(
        trace(product),
        ProductionProcess {
            part: trace(product),
            declared_unit: unit,
            activities,
            allocation: Allocation::none(),
        },
    )]
    .into();
    let suppliers: HashMap<TraceId, DisclosedFootprint> =
        suppliers.into_iter().map(|(n, r)| (trace(n), r)).collect();
    roll_up(&RollupInput {
        product: trace(product),
        bom: &bom,
        processes: &processes,
        supplier_results: &suppliers,
        factors: &FactorLibrary::bundled(),
        computed_at: Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap(),
    })
    .unwrap()
}

/// Per kg of NMC811 (LiNi0.8Mn0.1Co0.1O2, 97.3 g/mol): precursor salts in stoichiometric
/// amounts plus a few percent losses, co-precipitation and calcination energy, shipping to
/// Japan.
fn cathode_active_material() -> FootprintResult {
    one_company(
        CATHODE,
        Unit::Kilogram,
        vec![
            material(RAW, "0.45", "material.lithium_hydroxide.spodumene"),
            material(RAW, "2.16", "material.nickel_sulphate"),
            material(RAW, "0.29", "material.cobalt_sulphate"),
            material(RAW, "0.17", "material.manganese_sulphate"),
            grid("cn", RAW, "12"),
            gas(RAW, "15"),
            freight(TransportMode::Sea, RAW, "0.0015", "transport.sea.container"),
        ],
        vec![],
        vec![],
    )
}

/// Per kWh of cell capacity.
fn cell(grid_region: &str, electricity_kwh: &str, cathode_kg: &str) -> FootprintResult {
    let cathode = Disclosure::StageSplitWithDqr.project(&cathode_active_material());
    one_company(
        CELL,
        Unit::KilowattHour,
        vec![
            material(RAW, "1.0", "material.graphite.natural_anode"),
            // Cathode foil, tabs and pouch laminate.
            material(RAW, "0.35", "material.aluminium.primary"),
            material(RAW, "0.55", "material.copper.cathode"),
            material(RAW, "0.8", "material.electrolyte.lipf6_carbonates"),
            grid(grid_region, MAIN, electricity_kwh),
            gas(MAIN, "30"),
        ],
        vec![(CELL_CATHODE, cathode_kg, "kg")],
        vec![(CELL_CATHODE, cathode)],
    )
}

#[test]
fn an_nmc811_cell_lands_in_the_published_range() {
    let cases = [
        ("jp", "40", "1.65"),
        ("jp", "30", "1.4"),
        ("jp", "50", "1.9"),
        ("cn", "50", "1.9"),
        ("eu27", "30", "1.4"),
    ];
    for (region, electricity, cathode) in cases {
        let cell = cell(region, electricity, cathode);
        let total = cell.total_kg_co2e();
        assert!(
            total >= d("40") && total <= d("120"),
            "{region} grid, {electricity} kWh/kWh, {cathode} kg CAM/kWh: {total} kg CO2e/kWh"
        );
        // Materials dominate: raw material acquisition and pre-processing outweighs cell
        // production.
        assert!(
            cell.stages
                .raw_material_acquisition_and_pre_processing
                .total()
                > cell.stages.main_production.total()
        );
        assert_eq!(cell.declared_unit, Unit::KilowattHour);
    }
    let cathode = cathode_active_material().total_kg_co2e();
    assert!(
        cathode > d("15") && cathode < d("35"),
        "NMC811: {cathode} kg CO2e/kg"
    );
}

#[test]
fn a_car_battery_per_lifetime_kwh_is_far_lower_than_per_kwh_capacity() {
    let cell = cell("jp", "40", "1.65");
    let cells = Disclosure::StageSplitWithDqr.project(&cell);
    // A 66 kWh (60 kWh usable) pack: cells given in MWh to exercise conversion, aluminium
    // housing, copper busbars, assembly power, delivery by truck and recycling energy.
    let pack = one_company(
        PACK,
        Unit::Piece,
        vec![
            material(MAIN, "25", "material.aluminium.primary"),
            material(MAIN, "3", "material.copper.cathode"),
            grid("jp", MAIN, "50"),
            freight(
                TransportMode::Road,
                LifeCycleStage::Distribution,
                "360",
                "transport.road.truck",
            ),
            grid("eu27", LifeCycleStage::EndOfLifeAndRecycling, "100"),
        ],
        vec![(PACK_CELLS, "0.066", "MWh")],
        vec![(PACK_CELLS, cells)],
    );
    let pack_total = pack.total_kg_co2e();
    assert!(
        pack_total > d("3000") && pack_total < d("8000"),
        "pack: {pack_total} kg CO2e"
    );

    let classes = PerformanceClasses::new(
        [
            ("A", "0.1"),
            ("B", "0.2"),
            ("C", "0.3"),
            ("D", "0.5"),
            ("E", "1"),
        ]
        .iter()
        .map(|(label, bound)| ClassBound {
            label: (*label).to_owned(),
            max_kg_co2e_per_kwh: d(bound),
        })
        .collect(),
    )
    .unwrap();
    let life = ServiceLife {
        category: BatteryCategory::M1,
        usable_energy_kwh: d("60"),
        service_years: d("8"),
    };
    let footprint = battery_carbon_footprint(&pack, life, &classes).unwrap();
    assert_eq!(footprint.total_energy_delivered_kwh, d("28800"));
    let per_lifetime_kwh = footprint.total_kg_co2e_per_kwh();
    assert!(
        per_lifetime_kwh * d("100") < cell.total_kg_co2e(),
        "{per_lifetime_kwh} kg CO2e per lifetime kWh against {} per kWh capacity",
        cell.total_kg_co2e()
    );
    assert!(footprint.performance_class.is_some());
    assert!(footprint.stages.distribution.total() > Decimal::ZERO);
    assert!(footprint.stages.end_of_life_and_recycling.total() > Decimal::ZERO);

    let manufacturer = Operator {
        operator_id: Uuid::from_u128(100),
        name: "Pack maker K.K.".into(),
        address: "Aichi, Japan".into(),
        open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
            CorporateNumber::parse("7000012050002").unwrap(),
        ),
        global_operator_id: None,
    };
    let plant = Plant {
        plant_id: Uuid::from_u128(101),
        operator_id: manufacturer.operator_id,
        name: "Pack plant 1".into(),
        address: "Aichi, Japan".into(),
        open_plant_id: OpenPlantId::parse("7000012050002000001").unwrap(),
        global_plant_id: None,
    };
    let declaration = CarbonFootprintDeclaration::new(
        &footprint,
        DeclarationFacts {
            study_reference: "https://example.com/studies/ev60",
            manufacturer: &manufacturer,
            plant: &plant,
            battery_model: "EV-60",
        },
        Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap(),
    );
    let html = declaration.to_html();
    assert!(html.contains("Main product production"));
    assert_eq!(declaration.to_json()["battery_category"], "M1");
}
