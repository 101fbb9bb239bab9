//! The Catena-X aspect `io.catenax.pcf_for_battery_component_supplier` 1.0.0: a battery
//! component supplier's footprint split by the four life-cycle stages of the EU battery
//! rules, with one data quality rating, to and from a tsunagu `DisclosedFootprint`.
//!
//! The aspect fits tsunagu's own split: its four stages are tsunagu's, per kg or per piece,
//! and its ratings use the same 1-to-5 scale. It needs the stage split with data quality
//! (`Disclosure::StageSplitWithDqr`). It has one figure per stage, so on reading each
//! stage's figure is taken as fossil (the gases are not told apart), and the footprint's
//! rating is given to every stage with a figure. Catena-X business partner numbers, part
//! ids and the other statements tsunagu does not keep come from `BatteryComponentContext`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::catenax::{CatenaXError, strings as texts};
use crate::activity::Emissions;
use crate::company::TraceId;
use crate::num;
use crate::quality::{DataQualityRating, StageDataQuality};
use crate::rollup::{DisclosedFootprint, Disclosure};
use crate::stage::{ByStage, LifeCycleStage};
use crate::unit::Unit;

/// What the aspect asks beyond the footprint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatteryComponentContext {
    pub customer_part_id: String,
    pub manufacturer_part_id: String,
    /// The producing site's BPNS (`BPNS` and 12 characters).
    pub site_bpns: String,
    /// The supplier's BPNL (`BPNL` and 12 characters).
    pub legal_bpnl: String,
    pub secondary_emission_factor_sources: Vec<String>,
    pub primary_data_share: Option<Decimal>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub product_quality_parameters: Vec<String>,
    pub content_co2_metals: Vec<String>,
    pub performance_class: Option<String>,
    pub study_link: Option<String>,
}

const STAGES: [(LifeCycleStage, &str); 4] = [
    (
        LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
        "stage1RawMaterialAquisitionPreProcessing",
    ),
    (
        LifeCycleStage::MainProduction,
        "stage2MainProductProduction",
    ),
    (LifeCycleStage::Distribution, "stage3Distribution"),
    (
        LifeCycleStage::EndOfLifeAndRecycling,
        "stage4EndOfLifeRecycling",
    ),
];

fn not(text: impl Into<String>) -> CatenaXError {
    CatenaXError::NotRepresentable(text.into())
}

fn number(value: Decimal) -> Result<Value, CatenaXError> {
    use rust_decimal::prelude::ToPrimitive;
    value
        .normalize()
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| not(format!("{value} as a JSON number")))
}

fn read_number(value: Option<&Value>, name: &str) -> Result<Decimal, CatenaXError> {
    match value {
        Some(Value::Number(n)) => {
            let text = n.to_string();
            text.parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(&text))
                .map(|d| d.normalize())
                .map_err(|_| CatenaXError::Malformed(format!("{name} {text} is out of range")))
        }
        _ => Err(CatenaXError::Malformed(format!("{name} is not a number"))),
    }
}

fn time(value: DateTime<Utc>) -> Value {
    Value::String(value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn bpn(value: &str, prefix: &str) -> bool {
    value.len() == 16
        && value.starts_with(prefix)
        && value[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The emission-weighted rating over the stages that carry one.
fn overall_rating(
    stages: &ByStage<Emissions>,
    quality: &ByStage<Option<StageDataQuality>>,
) -> Result<DataQualityRating, CatenaXError> {
    let mut weight = Decimal::ZERO;
    let mut sums = [Decimal::ZERO; 3];
    for (stage, _) in STAGES {
        let Some(rating) = quality.get(stage) else {
            continue;
        };
        let emissions = stages.get(stage).total().abs();
        weight = num::add(weight, emissions)?;
        for (sum, value) in sums.iter_mut().zip([
            rating.rating.ter(),
            rating.rating.ger(),
            rating.rating.tir(),
        ]) {
            *sum = num::add(*sum, num::mul(value, emissions)?)?;
        }
    }
    if weight.is_zero() {
        return Err(not(
            "the aspect needs a data quality rating; no stage has one",
        ));
    }
    let [ter, ger, tir] = sums.map(|s| (s / weight).round_dp(2));
    DataQualityRating::new(ter, ger, tir).map_err(|e| not(e.to_string()))
}

impl From<num::Overflow> for CatenaXError {
    fn from(_: num::Overflow) -> Self {
        not("arithmetic overflow")
    }
}

/// The aspect for a supplier's disclosed footprint.
pub fn to_battery_component_pcf(
    footprint: &DisclosedFootprint,
    context: &BatteryComponentContext,
) -> Result<Value, CatenaXError> {
    let (Some(stages), Some(quality)) = (&footprint.stages, &footprint.data_quality) else {
        return Err(not(
            "the aspect needs the stage split with data quality (StageSplitWithDqr)",
        ));
    };
    if !bpn(&context.site_bpns, "BPNS") || !bpn(&context.legal_bpnl, "BPNL") {
        return Err(not(
            "the aspect needs the site's BPNS and the supplier's BPNL",
        ));
    }
    // Figures per one declared unit; the aspect declares per kg or per piece.
    let (declared, per_declared) = match footprint.declared_unit {
        Unit::Piece => ("CO2KG/piece", Decimal::ONE),
        unit @ (Unit::Gram | Unit::Kilogram | Unit::Tonne) => (
            "CO2KG/KG",
            unit.convert(Decimal::ONE, Unit::Kilogram)
                .map_err(|e| not(e.to_string()))?,
        ),
        other => {
            return Err(not(format!(
                "the aspect declares per kg or piece, not per {other:?}"
            )));
        }
    };
    let per_kg = |value: Decimal| num::div(value, per_declared);
    let mut shares = serde_json::Map::new();
    let mut total = Decimal::ZERO;
    for (stage, name) in STAGES {
        let value = per_kg(stages.get(stage).total())?;
        if value < Decimal::ZERO {
            return Err(not(format!(
                "stage {name} is negative; the aspect admits no net removal"
            )));
        }
        total = num::add(total, value)?;
        shares.insert(name.into(), json!({"stageValue": number(value)?}));
    }
    shares.insert("declaredUnit".into(), json!(declared));
    shares.insert("absPcfValue".into(), json!({"stageValue": number(total)?}));
    let rating = overall_rating(stages, quality)?;
    let overall = ((rating.ter() + rating.ger() + rating.tir()) / Decimal::from(3)).round_dp(2);
    let mut pcf_values = serde_json::Map::new();
    pcf_values.insert("sharesPerStage".into(), Value::Object(shares));
    if let Some(class) = &context.performance_class {
        pcf_values.insert("pcfPerformanceClass".into(), json!(class));
    }
    if let Some(link) = &context.study_link {
        pcf_values.insert("webLinkToCarbonFootPrintStudy".into(), json!(link));
    }
    let mut validity = serde_json::Map::new();
    if let Some(from) = context.valid_from {
        validity.insert("validFrom".into(), time(from));
    }
    if let Some(to) = context.valid_to {
        validity.insert("validTo".into(), time(to));
    }
    let mut aspect = json!({
        "pcfValues": pcf_values,
        "secondaryEmissionFactorSources": context.secondary_emission_factor_sources,
        "customerPartId": context.customer_part_id,
        "technologicalRepresentativeness": number(rating.ter())?,
        "geographicalRepresentativeness": number(rating.ger())?,
        "timerelatedRepresentativeness": number(rating.tir())?,
        "dataQualityRating": number(overall)?,
        "manufacturerPartId": context.manufacturer_part_id,
        "validityPeriod": validity,
        "siteIdentifier": context.site_bpns,
        "legalidentifier": context.legal_bpnl,
        "productQualityParameter": context.product_quality_parameters,
        "contentC02Metals": context.content_co2_metals,
    });
    if let Some(share) = context.primary_data_share {
        aspect["primaryDataShare"] = number(share)?;
    }
    Ok(aspect)
}

fn text(value: &Value, name: &str) -> Result<String, CatenaXError> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CatenaXError::Malformed(format!("{name} is missing")))
}

fn read_time(value: &Value, name: &str) -> Result<Option<DateTime<Utc>>, CatenaXError> {
    match value.get(name).and_then(Value::as_str) {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| CatenaXError::Malformed(format!("{name} {text:?} is not a date-time"))),
    }
}

/// A supplier's aspect as the `DisclosedFootprint` of the buyer's part `part` (per kg or
/// per piece), with what else it states.
pub fn from_battery_component_pcf(
    value: &Value,
    part: TraceId,
    received_at: DateTime<Utc>,
) -> Result<(DisclosedFootprint, BatteryComponentContext), CatenaXError> {
    let pcf_values = value
        .get("pcfValues")
        .ok_or_else(|| CatenaXError::Malformed("pcfValues is missing".into()))?;
    let shares = pcf_values
        .get("sharesPerStage")
        .ok_or_else(|| CatenaXError::Malformed("sharesPerStage is missing".into()))?;
    let declared_unit = match text(shares, "declaredUnit")?.as_str() {
        "CO2KG/KG" => Unit::Kilogram,
        "CO2KG/piece" => Unit::Piece,
        other => return Err(CatenaXError::Malformed(format!("declaredUnit {other:?}"))),
    };
    let mut values = [Decimal::ZERO; 4];
    for (slot, (_, name)) in values.iter_mut().zip(STAGES) {
        *slot = read_number(shares.get(name).and_then(|s| s.get("stageValue")), name)?;
        if *slot < Decimal::ZERO {
            return Err(CatenaXError::Malformed(format!("{name} is negative")));
        }
    }
    let rating = DataQualityRating::new(
        read_number(
            value.get("technologicalRepresentativeness"),
            "technologicalRepresentativeness",
        )?,
        read_number(
            value.get("geographicalRepresentativeness"),
            "geographicalRepresentativeness",
        )?,
        read_number(
            value.get("timerelatedRepresentativeness"),
            "timerelatedRepresentativeness",
        )?,
    )
    .map_err(|e| CatenaXError::Malformed(e.to_string()))?;
    let emissions = |fossil: Decimal| Emissions {
        fossil,
        biogenic: Decimal::ZERO,
        land_use_change: Decimal::ZERO,
    };
    let stages = ByStage {
        raw_material_acquisition_and_pre_processing: emissions(values[0]),
        main_production: emissions(values[1]),
        distribution: emissions(values[2]),
        end_of_life_and_recycling: emissions(values[3]),
    };
    let rated = |value: Decimal| {
        (!value.is_zero()).then_some(StageDataQuality {
            rating,
            rated_share: Decimal::ONE,
        })
    };
    let data_quality = ByStage {
        raw_material_acquisition_and_pre_processing: rated(values[0]),
        main_production: rated(values[1]),
        distribution: rated(values[2]),
        end_of_life_and_recycling: rated(values[3]),
    };
    let total = values
        .iter()
        .try_fold(Decimal::ZERO, |sum, v| num::add(sum, *v))?;
    let validity = value.get("validityPeriod").cloned().unwrap_or(Value::Null);
    let context = BatteryComponentContext {
        customer_part_id: text(value, "customerPartId")?,
        manufacturer_part_id: text(value, "manufacturerPartId")?,
        site_bpns: text(value, "siteIdentifier")?,
        legal_bpnl: text(value, "legalidentifier")?,
        secondary_emission_factor_sources: texts(value, "secondaryEmissionFactorSources")?,
        primary_data_share: match value.get("primaryDataShare") {
            None => None,
            some => Some(read_number(some, "primaryDataShare")?),
        },
        valid_from: read_time(&validity, "validFrom")?,
        valid_to: read_time(&validity, "validTo")?,
        product_quality_parameters: texts(value, "productQualityParameter")?,
        content_co2_metals: texts(value, "contentC02Metals")?,
        performance_class: pcf_values
            .get("pcfPerformanceClass")
            .and_then(Value::as_str)
            .map(str::to_owned),
        study_link: pcf_values
            .get("webLinkToCarbonFootPrintStudy")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    Ok((
        DisclosedFootprint {
            part,
            declared_unit,
            disclosure: Disclosure::StageSplitWithDqr,
            total_kg_co2e: total,
            stages: Some(stages),
            allocation: None,
            data_quality: Some(data_quality),
            evidence: None,
            computed_at: received_at,
        },
        context,
    ))
}
