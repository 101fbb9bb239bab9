//! Sample carbon-footprint data for the companies of a loopback network: each company's
//! operator record, one plant and two products whose footprints it computes with the
//! bundled open emission factors from its own (illustrative) activity data. With it, the
//! Ouranos and PACT APIs of every demo company serve real, computed numbers.

use std::collections::HashMap;

use anyhow::Context;
use tsunagu_pcf::service::{PartInput, PcfService, PlantInput};
use tsunagu_pcf::{
    ActivityItem, ActivityKind, Allocation, BillOfMaterials, CorporateNumber, DataQualityRating,
    Decimal, ElectricitySource, FactorLibrary, LifeCycleStage, OpenPlantId, Operator,
    OperatorIdentifier, PactProfile, ProductionProcess, Quantity, RollupInput, TraceId,
    TransportMode, Unit, roll_up,
};

use crate::network::Company;

/// One activity line: what, how much per declared unit, in which unit, with which factor.
pub(crate) struct Line {
    kind: ActivityKind,
    stage: LifeCycleStage,
    amount: &'static str,
    unit: Unit,
    factor: &'static str,
}

impl Line {
    /// The activity item, rated TeR 2, GeR 2, TiR 3 (primary data, illustrative).
    pub(crate) fn into_item(self) -> anyhow::Result<ActivityItem> {
        let rating = DataQualityRating::new(Decimal::TWO, Decimal::TWO, Decimal::from(3))
            .context("rating")?;
        Ok(ActivityItem {
            description: self.factor.to_owned(),
            kind: self.kind,
            stage: self.stage,
            quantity: Quantity::new(self.amount.parse()?, self.unit),
            factor: self.factor.into(),
            data_quality: Some(rating),
            evidence: Vec::new(),
        })
    }
}

pub(crate) fn material(stage: LifeCycleStage, kg: &'static str, factor: &'static str) -> Line {
    Line {
        kind: ActivityKind::Material,
        stage,
        amount: kg,
        unit: Unit::Kilogram,
        factor,
    }
}

pub(crate) fn grid(stage: LifeCycleStage, kwh: &'static str, factor: &'static str) -> Line {
    let region = factor.rsplit('.').next().unwrap_or("jp").to_owned();
    Line {
        kind: ActivityKind::Electricity {
            source: ElectricitySource::Grid { region },
        },
        stage,
        amount: kwh,
        unit: Unit::KilowattHour,
        factor,
    }
}

pub(crate) fn heat(stage: LifeCycleStage, mj: &'static str) -> Line {
    Line {
        kind: ActivityKind::FuelAndHeat,
        stage,
        amount: mj,
        unit: Unit::Megajoule,
        factor: "fuel.natural_gas.combustion",
    }
}

pub(crate) fn sea_freight(stage: LifeCycleStage, tkm: &'static str) -> Line {
    Line {
        kind: ActivityKind::Transport {
            mode: TransportMode::Sea,
        },
        stage,
        amount: tkm,
        unit: Unit::TonneKilometre,
        factor: "transport.sea.container",
    }
}

pub(crate) fn road_freight(stage: LifeCycleStage, tkm: &'static str) -> Line {
    Line {
        kind: ActivityKind::Transport {
            mode: TransportMode::Road,
        },
        stage,
        amount: tkm,
        unit: Unit::TonneKilometre,
        factor: "transport.road.truck",
    }
}

/// A product of the sample data: name, declared unit and activity lines.
struct Product {
    name: &'static str,
    label: &'static str,
    unit: Unit,
    lines: Vec<Line>,
}

const RAW: LifeCycleStage = LifeCycleStage::RawMaterialAcquisitionAndPreProcessing;
const MAIN: LifeCycleStage = LifeCycleStage::MainProduction;
const DISTRIBUTION: LifeCycleStage = LifeCycleStage::Distribution;

/// Two products per company, chosen by its roles: cathode material, cells, or (for any
/// other role) recycled black mass and a service part.
fn products(company: &Company) -> Vec<Product> {
    let has = |role: &str| company.roles.iter().any(|r| r.eq_ignore_ascii_case(role));
    if has("cellMaker") {
        vec![
            Product {
                name: "CELL-NMC811-P60",
                label: "Pouch cell NMC811, 60 Ah (per kWh of capacity)",
                unit: Unit::KilowattHour,
                lines: vec![
                    material(RAW, "1.65", "material.lithium_hydroxide.spodumene"),
                    material(RAW, "1.0", "material.graphite.natural_anode"),
                    material(RAW, "0.35", "material.aluminium.primary"),
                    material(RAW, "0.55", "material.copper.cathode"),
                    material(RAW, "0.8", "material.electrolyte.lipf6_carbonates"),
                    grid(MAIN, "40", "electricity.grid.jp"),
                    heat(MAIN, "30"),
                    sea_freight(DISTRIBUTION, "0.05"),
                ],
            },
            Product {
                name: "CELL-NMC811-P60-EU",
                label: "Pouch cell NMC811, 60 Ah, EU plant (per kWh of capacity)",
                unit: Unit::KilowattHour,
                lines: vec![
                    material(RAW, "1.65", "material.lithium_hydroxide.spodumene"),
                    material(RAW, "1.0", "material.graphite.natural_anode"),
                    material(RAW, "0.35", "material.aluminium.primary"),
                    material(RAW, "0.55", "material.copper.cathode"),
                    material(RAW, "0.8", "material.electrolyte.lipf6_carbonates"),
                    grid(MAIN, "40", "electricity.grid.eu27"),
                    heat(MAIN, "30"),
                ],
            },
        ]
    } else if has("materialMaker") || has("cathodeMaker") {
        vec![
            Product {
                name: "CAM-NMC811",
                label: "Cathode active material NMC811",
                unit: Unit::Kilogram,
                lines: vec![
                    material(RAW, "0.45", "material.lithium_hydroxide.spodumene"),
                    material(RAW, "2.16", "material.nickel_sulphate"),
                    material(RAW, "0.29", "material.cobalt_sulphate"),
                    material(RAW, "0.17", "material.manganese_sulphate"),
                    grid(MAIN, "12", "electricity.grid.jp"),
                    heat(MAIN, "15"),
                    sea_freight(DISTRIBUTION, "0.0015"),
                ],
            },
            Product {
                name: "LIOH-BG",
                label: "Lithium hydroxide monohydrate, battery grade",
                unit: Unit::Tonne,
                lines: vec![
                    material(RAW, "1000", "material.lithium_hydroxide.spodumene"),
                    sea_freight(DISTRIBUTION, "9"),
                ],
            },
        ]
    } else {
        vec![
            Product {
                name: "BLACK-MASS",
                label: "Black mass from end-of-life NMC cells",
                unit: Unit::Kilogram,
                lines: vec![grid(MAIN, "1.2", "electricity.grid.jp"), heat(MAIN, "4")],
            },
            Product {
                name: "CU-FOIL-SCRAP",
                label: "Copper foil recovered from cell scrap",
                unit: Unit::Kilogram,
                lines: vec![
                    grid(MAIN, "0.8", "electricity.grid.jp"),
                    sea_freight(DISTRIBUTION, "0.002"),
                ],
            },
        ]
    }
}

/// Sets up `company`'s PCF app with its operator record, a plant, two products and their
/// computed footprints, and a PACT profile. `n` makes the operator id unique in the network.
pub async fn seed(service: &PcfService, company: &Company, n: u128) -> anyhow::Result<()> {
    let corporate_number = CorporateNumber::parse(&company.corporate_number)
        .context("the company's corporate number")?;
    let operator = service
        .set_up_operator(Operator {
            operator_id: uuid::Uuid::from_u128(0x7c5e_0000_0000_4000_8000_0000_0000_0000 + n),
            name: company.legal_name.clone(),
            address: "Tokyo, Japan".into(),
            open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(corporate_number),
            global_operator_id: None,
        })
        .await?;
    let plant = service
        .put_plant(PlantInput {
            plant_id: None,
            operator_id: operator.operator_id,
            name: format!("{} main plant", company.name),
            address: "Japan".into(),
            open_plant_id: OpenPlantId::parse(&format!("plant{n:06}")).context("plant id")?,
            global_plant_id: None,
        })
        .await?;
    let factors = FactorLibrary::bundled();
    let no_suppliers: HashMap<TraceId, tsunagu_pcf::DisclosedFootprint> = HashMap::new();
    let bom = BillOfMaterials::new(Vec::new()).context("an empty bill of materials")?;
    for product in products(company) {
        let part = service
            .put_part(PartInput {
                trace_id: None,
                operator_id: operator.operator_id,
                plant_id: plant.plant_id,
                part_name: product.name.into(),
                support_part_name: None,
                label_name: Some(product.label.into()),
                amount_required: None,
                amount_required_unit: product.unit,
                terminated_flag: false,
                additional_info: Default::default(),
            })
            .await?;
        let activities = product
            .lines
            .into_iter()
            .map(Line::into_item)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let process = ProductionProcess {
            part: part.trace_id,
            declared_unit: product.unit,
            activities,
            allocation: Allocation::none(),
        };
        let result = roll_up(&RollupInput {
            product: part.trace_id,
            bom: &bom,
            processes: &process,
            supplier_results: &no_suppliers,
            factors: &factors,
            computed_at: chrono::Utc::now(),
        })
        .with_context(|| format!("computing the footprint of {}", product.name))?;
        service.put_footprint(result).await?;
    }
    service
        .set_pact_profile(PactProfile {
            geography_country: Some(company.country.clone()),
            comment: Some(
                "Sample data of a tsunagu demo network, computed with the bundled open emission \
                 factors."
                    .into(),
            ),
            ..PactProfile::default()
        })
        .await?;
    Ok(())
}
