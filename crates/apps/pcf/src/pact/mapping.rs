//! Between tsunagu's footprints and PACT's: a `DisclosedFootprint` (what a recipient may
//! see of a company's result) becomes a `ProductFootprint`, and a `ProductFootprint` from a
//! supplier becomes the `DisclosedFootprint` a roll-up takes.
//!
//! What both models hold maps both ways without loss: the declared unit (grams, tonnes,
//! MWh and GJ as PACT amounts of kilograms, kWh and MJ), fossil, biogenic and land-use
//! change emissions, the total, and the time of computation. What only tsunagu holds (the
//! split by life-cycle stage, the allocation, the data quality per stage on the Ouranos
//! 1-to-5 scale, evidence digests) travels in a data model extension
//! (`LIFE_CYCLE_STAGES_SCHEMA`), and only as far as the recipient's disclosure level lets
//! it. What only PACT holds (reference period, geography, standards, carbon contents) comes
//! from the company's `PactProfile` on the way out and is not kept on the way in. PACT's
//! `dqi` is not filled: its ratings are on another scale than Ouranos' TeR, GeR and TiR.
//!
//! tsunagu's "biogenic" is the net biogenic CO2e, negative for a net uptake. Out, a
//! negative net becomes `biogenicCO2Uptake`, a positive one `biogenicNonCO2Emissions`; in,
//! everything `pcfIncludingBiogenicUptake` holds beyond fossil and land-use change
//! emissions (uptake, removals, land management) becomes biogenic, so that the total is
//! kept exactly.

use chrono::{DateTime, Months, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{
    CarbonFootprint, DataModelExtension, DeclaredUnit, FootprintStatus, ProductFootprint,
    SPEC_VERSION,
};
use crate::activity::{Allocation, Emissions};
use crate::company::{Operator, OperatorIdentifier, Part, TraceId};
use crate::num;
use crate::quality::{Sha256Hex, StageDataQuality};
use crate::rollup::{DisclosedFootprint, Disclosure};
use crate::stage::ByStage;
use crate::unit::Unit;

/// The `dataSchema` of tsunagu's extension carrying what PACT has no field for.
pub const LIFE_CYCLE_STAGES_SCHEMA: &str = "urn:tsunagu:pact-extension:life-cycle-stages:1.0.0";
const EXTENSION_VERSION: &str = "1.0.0";

/// What PACT asks of a footprint that tsunagu's calculation does not know, set once per
/// company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PactProfile {
    /// ISO 3166-1 alpha-2 country of production, e.g. `JP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_country: Option<String>,
    /// ISO 3166-2 subdivision, instead of a country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_country_subdivision: Option<String>,
    /// UN M49 region or subregion, instead of a country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_region_or_subregion: Option<String>,
    /// The period the activity data covers. Without it, the twelve months before the
    /// computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub ipcc_characterization_factors: Vec<String>,
    pub cross_sectoral_standards: Vec<String>,
    /// Classification URNs of the company's products (all parts alike).
    #[serde(default)]
    pub product_classifications: Vec<String>,
    /// kg C per declared unit; PACT requires a value.
    pub fossil_carbon_content: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging_emissions_included: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary_processes_description: Option<String>,
    pub exempted_emissions_percent: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Default for PactProfile {
    fn default() -> Self {
        PactProfile {
            geography_country: None,
            geography_country_subdivision: None,
            geography_region_or_subregion: None,
            reference_period: None,
            // The bundled factors and the EU battery rules use AR6 100-year GWPs.
            ipcc_characterization_factors: vec!["AR6".into()],
            cross_sectoral_standards: vec!["ISO14067".into()],
            product_classifications: Vec::new(),
            fossil_carbon_content: Decimal::ZERO,
            packaging_emissions_included: None,
            boundary_processes_description: Some(
                "Cradle to gate: raw material acquisition and pre-processing, main production, \
                 distribution, end of life and recycling as the EU battery carbon-footprint \
                 rules split them; use stage excluded."
                    .into(),
            ),
            exempted_emissions_percent: Decimal::ZERO,
            comment: None,
        }
    }
}

/// Why a footprint cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "PACT needs fossil, biogenic and land-use change emissions apart; a total-only \
         disclosure does not have them"
    )]
    NeedsStageSplit,
    #[error("{0} cannot be negative in PACT")]
    Negative(&'static str),
    #[error("declared unit {0:?} has no counterpart in tsunagu")]
    UnsupportedUnit(DeclaredUnit),
    #[error("the life-cycle stage extension is malformed: {0}")]
    BadExtension(String),
    #[error("the life-cycle stage extension does not add up to the footprint's figures")]
    ExtensionContradicts,
    #[error("arithmetic overflow")]
    Overflow,
}

impl From<num::Overflow> for MappingError {
    fn from(_: num::Overflow) -> Self {
        MappingError::Overflow
    }
}

/// Who declares the footprint and of what: the company and one of its parts.
pub struct PactSubject<'a> {
    /// The footprint's PACT id.
    pub id: Uuid,
    pub operator: &'a Operator,
    pub part: &'a Part,
}

/// The company identifiers as URNs: its Ouranos operator id, and its public identifiers in
/// the `urn:pact:<issuer domain>:<type>:<id>` form PACT recommends.
pub fn company_urns(operator: &Operator) -> Vec<String> {
    let mut urns = vec![format!("urn:uuid:{}", operator.operator_id)];
    for identifier in [
        Some(&operator.open_operator_id),
        operator.global_operator_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let urn = match identifier {
            OperatorIdentifier::JapaneseCorporateNumber(n) => {
                format!(
                    "urn:pact:houjin-bangou.nta.go.jp:corporate-number:{}",
                    n.as_str()
                )
            }
            OperatorIdentifier::Lei(n) => format!("urn:pact:gleif.org:lei:{}", n.as_str()),
            OperatorIdentifier::Vat(n) => {
                format!("urn:pact:taxation-customs.ec.europa.eu:vat:{}", n.as_str())
            }
            OperatorIdentifier::Eori(n) => {
                format!("urn:pact:taxation-customs.ec.europa.eu:eori:{}", n.as_str())
            }
        };
        if !urns.contains(&urn) {
            urns.push(urn);
        }
    }
    urns
}

/// The product identifier of a part: its trace id.
pub fn product_urn(part: TraceId) -> String {
    format!("urn:uuid:{part}")
}

/// PACT's declared unit and amount for a tsunagu unit, and the mass of that amount in kg
/// where the unit is a mass.
fn declared_unit(unit: Unit) -> (DeclaredUnit, Decimal, Option<Decimal>) {
    let thousand = Decimal::ONE_THOUSAND;
    let milli = Decimal::new(1, 3);
    match unit {
        Unit::Gram => (DeclaredUnit::Kilogram, milli, Some(milli)),
        Unit::Kilogram => (DeclaredUnit::Kilogram, Decimal::ONE, Some(Decimal::ONE)),
        Unit::Tonne => (DeclaredUnit::Kilogram, thousand, Some(thousand)),
        Unit::KilowattHour => (DeclaredUnit::KilowattHour, Decimal::ONE, None),
        Unit::MegawattHour => (DeclaredUnit::KilowattHour, thousand, None),
        Unit::Megajoule => (DeclaredUnit::Megajoule, Decimal::ONE, None),
        Unit::Gigajoule => (DeclaredUnit::Megajoule, thousand, None),
        Unit::SquareMetre => (DeclaredUnit::SquareMeter, Decimal::ONE, None),
        Unit::CubicMetre => (DeclaredUnit::CubicMeter, Decimal::ONE, None),
        Unit::Litre => (DeclaredUnit::Liter, Decimal::ONE, None),
        Unit::TonneKilometre => (DeclaredUnit::TonKilometer, Decimal::ONE, None),
        Unit::Piece => (DeclaredUnit::Piece, Decimal::ONE, None),
    }
}

/// The tsunagu unit for a PACT declared unit and amount, and the amount of that unit the
/// PACT figures are for (1 when the amount is a unit of its own, such as 1000 kg = 1 t).
fn unit_from_declared(
    unit: DeclaredUnit,
    amount: Decimal,
) -> Result<(Unit, Decimal), MappingError> {
    let thousand = Decimal::ONE_THOUSAND;
    let milli = Decimal::new(1, 3);
    let base = match unit {
        DeclaredUnit::Kilogram if amount == milli => return Ok((Unit::Gram, Decimal::ONE)),
        DeclaredUnit::Kilogram if amount == thousand => return Ok((Unit::Tonne, Decimal::ONE)),
        DeclaredUnit::KilowattHour if amount == thousand => {
            return Ok((Unit::MegawattHour, Decimal::ONE));
        }
        DeclaredUnit::Megajoule if amount == thousand => {
            return Ok((Unit::Gigajoule, Decimal::ONE));
        }
        DeclaredUnit::Kilogram => Unit::Kilogram,
        DeclaredUnit::KilowattHour => Unit::KilowattHour,
        DeclaredUnit::Megajoule => Unit::Megajoule,
        DeclaredUnit::SquareMeter => Unit::SquareMetre,
        DeclaredUnit::CubicMeter => Unit::CubicMetre,
        DeclaredUnit::Liter => Unit::Litre,
        DeclaredUnit::TonKilometer => Unit::TonneKilometre,
        DeclaredUnit::Piece => Unit::Piece,
        other @ (DeclaredUnit::Hour | DeclaredUnit::MegabitSecond) => {
            return Err(MappingError::UnsupportedUnit(other));
        }
    };
    Ok((base, amount))
}

/// What tsunagu's extension carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StageExtension {
    disclosure: Disclosure,
    stages: ByStage<Emissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allocation: Option<Allocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_quality: Option<ByStage<Option<StageDataQuality>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence: Option<std::collections::BTreeSet<Sha256Hex>>,
}

fn sum_stages(stages: &ByStage<Emissions>) -> Result<Emissions, MappingError> {
    let mut total = Emissions::ZERO;
    for stage in [
        &stages.raw_material_acquisition_and_pre_processing,
        &stages.main_production,
        &stages.distribution,
        &stages.end_of_life_and_recycling,
    ] {
        total = total.checked_add(stage)?;
    }
    Ok(total)
}

/// The PACT form of what a recipient may see of one of the company's footprints.
pub fn to_pact(
    footprint: &DisclosedFootprint,
    subject: PactSubject<'_>,
    profile: &PactProfile,
) -> Result<ProductFootprint, MappingError> {
    let stages = footprint.stages.ok_or(MappingError::NeedsStageSplit)?;
    let total = sum_stages(&stages)?;
    if total.fossil.is_sign_negative() && !total.fossil.is_zero() {
        return Err(MappingError::Negative("fossil GHG emissions"));
    }
    if total.land_use_change.is_sign_negative() && !total.land_use_change.is_zero() {
        return Err(MappingError::Negative("land-use change GHG emissions"));
    }
    let uptake = total.biogenic.min(Decimal::ZERO);
    let biogenic_emissions = total.biogenic.max(Decimal::ZERO);
    let excluding = num::add(
        num::add(total.fossil, total.land_use_change)?,
        biogenic_emissions,
    )?;
    let including = num::add(excluding, uptake)?;

    let (unit, amount, mass) = declared_unit(footprint.declared_unit);
    let (reference_start, reference_end) = profile.reference_period.unwrap_or_else(|| {
        let end = footprint.computed_at;
        (end.checked_sub_months(Months::new(12)).unwrap_or(end), end)
    });
    let mut comment = profile.comment.clone().unwrap_or_default();
    if mass.is_none() {
        if !comment.is_empty() {
            comment.push('\n');
        }
        comment.push_str(
            "productMassPerDeclaredUnit is 0: the declared unit is not a mass and the mass \
             per unit is not recorded.",
        );
    }
    let extension = StageExtension {
        disclosure: footprint.disclosure,
        stages,
        allocation: footprint.allocation,
        data_quality: footprint.data_quality,
        evidence: footprint.evidence.clone(),
    };
    let extension_data = match serde_json::to_value(&extension) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(MappingError::BadExtension("not an object".into())),
    };
    let part = subject.part;
    let mut description = part.part_name.clone();
    if let Some(support) = &part.support_part_name {
        description.push_str(" / ");
        description.push_str(support);
    }
    Ok(ProductFootprint {
        id: subject.id,
        spec_version: SPEC_VERSION.into(),
        preceding_pf_ids: None,
        created: footprint.computed_at,
        status: FootprintStatus::Active,
        validity_period_start: Some(reference_end),
        validity_period_end: Some(
            reference_end
                .checked_add_months(Months::new(36))
                .unwrap_or(reference_end),
        ),
        company_name: subject.operator.name.clone(),
        company_ids: company_urns(subject.operator),
        product_description: description,
        product_ids: vec![product_urn(part.trace_id)],
        product_classifications: (!profile.product_classifications.is_empty())
            .then(|| profile.product_classifications.clone()),
        product_name_company: part
            .label_name
            .clone()
            .unwrap_or_else(|| part.part_name.clone()),
        comment: (!comment.is_empty()).then_some(comment),
        pcf: CarbonFootprint {
            declared_unit_of_measurement: unit,
            declared_unit_amount: amount.into(),
            product_mass_per_declared_unit: mass.unwrap_or(Decimal::ZERO).into(),
            reference_period_start: reference_start,
            reference_period_end: reference_end,
            geography_region_or_subregion: profile.geography_region_or_subregion.clone(),
            geography_country: profile.geography_country.clone(),
            geography_country_subdivision: profile.geography_country_subdivision.clone(),
            boundary_processes_description: profile.boundary_processes_description.clone(),
            pcf_excluding_biogenic_uptake: excluding.into(),
            pcf_including_biogenic_uptake: including.into(),
            fossil_carbon_content: profile.fossil_carbon_content.into(),
            biogenic_carbon_content: None,
            recycled_carbon_content: None,
            fossil_ghg_emissions: total.fossil.into(),
            land_use_change_ghg_emissions: Some(total.land_use_change.into()),
            land_carbon_leakage: None,
            land_management_fossil_ghg_emissions: None,
            land_management_biogenic_co2_emissions: None,
            land_management_biogenic_co2_removals: None,
            biogenic_co2_uptake: Some(uptake.into()),
            biogenic_non_co2_emissions: Some(biogenic_emissions.into()),
            land_area_occupation: None,
            aircraft_ghg_emissions: None,
            packaging_emissions_included: profile.packaging_emissions_included,
            packaging_ghg_emissions: None,
            packaging_biogenic_carbon_content: None,
            outbound_logistics_ghg_emissions: Some(stages.distribution.total().into()),
            ccs_technological_co2_capture_included: None,
            ccs_technological_co2_capture: None,
            technological_co2_capture_origin: None,
            technological_co2_removals: None,
            ccu_carbon_content: None,
            ccu_calculation_approach: None,
            ccu_credit_certification: None,
            ipcc_characterization_factors: profile.ipcc_characterization_factors.clone(),
            cross_sectoral_standards: profile.cross_sectoral_standards.clone(),
            product_or_sector_specific_rules: None,
            exempted_emissions_percent: profile.exempted_emissions_percent.into(),
            exempted_emissions_description: None,
            allocation_rules_description: footprint
                .allocation
                .map(|a| format!("{} (share {})", a.method(), a.share().normalize())),
            secondary_emission_factor_sources: None,
            primary_data_share: None,
            dqi: None,
            verification: None,
        },
        extensions: Some(vec![DataModelExtension {
            spec_version: EXTENSION_VERSION.into(),
            data_schema: LIFE_CYCLE_STAGES_SCHEMA.into(),
            documentation: None,
            data: extension_data,
        }]),
    })
}

/// What a supplier's PACT footprint says, as the `DisclosedFootprint` of the buyer's part
/// `part`. With tsunagu's extension the stage split (and what else was disclosed) comes
/// back; without it, the footprint counts as a total-only disclosure.
pub fn from_pact(
    footprint: &ProductFootprint,
    part: TraceId,
) -> Result<DisclosedFootprint, MappingError> {
    let pcf = &footprint.pcf;
    let (unit, amount) =
        unit_from_declared(pcf.declared_unit_of_measurement, pcf.declared_unit_amount.0)?;
    // Figures per `amount` units become figures per one unit; dividing each figure (rather
    // than multiplying by 1/amount) keeps them exact whenever the quotient terminates.
    let scale = |value: Decimal| num::div(value, amount).map_err(MappingError::from);
    let fossil = scale(pcf.fossil_ghg_emissions.0)?;
    let land_use_change = scale(
        pcf.land_use_change_ghg_emissions
            .map_or(Decimal::ZERO, |v| v.0),
    )?;
    let total = scale(pcf.pcf_including_biogenic_uptake.0)?;
    let biogenic = num::sub(num::sub(total, fossil)?, land_use_change)?;
    let emissions = Emissions {
        fossil,
        biogenic,
        land_use_change,
    };
    let extension = footprint
        .extensions
        .iter()
        .flatten()
        .find(|e| e.data_schema == LIFE_CYCLE_STAGES_SCHEMA);
    let Some(extension) = extension else {
        return Ok(DisclosedFootprint {
            part,
            declared_unit: unit,
            disclosure: Disclosure::TotalOnly,
            total_kg_co2e: total,
            stages: None,
            allocation: None,
            data_quality: None,
            evidence: None,
            computed_at: footprint.created,
        });
    };
    let data: StageExtension =
        serde_json::from_value(serde_json::Value::Object(extension.data.clone()))
            .map_err(|e| MappingError::BadExtension(e.to_string()))?;
    if amount != Decimal::ONE {
        return Err(MappingError::BadExtension(
            "the extension's figures are per one declared unit".into(),
        ));
    }
    if sum_stages(&data.stages)? != emissions {
        return Err(MappingError::ExtensionContradicts);
    }
    Ok(DisclosedFootprint {
        part,
        declared_unit: unit,
        disclosure: data.disclosure,
        total_kg_co2e: total,
        stages: Some(data.stages),
        allocation: data.allocation,
        data_quality: data.data_quality,
        evidence: data.evidence,
        computed_at: footprint.created,
    })
}
