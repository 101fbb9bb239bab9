//! The Catena-X PCF aspect `io.catenax.pcf` 9.0.0, to and from PACT v3 footprints (and so,
//! through `mapping`, to and from tsunagu's own).
//!
//! Catena-X nests every group in a one-element array and writes figures as JSON numbers;
//! PACT writes decimal strings. Numbers are written from the decimal's shortest form and
//! read back from theirs, so figures of up to 15 significant digits travel exactly.
//! Catena-X splits cradle-to-gate production from distribution: when tsunagu's
//! life-cycle stage extension gives the distribution stage, it is reported apart
//! (`distributionStageIncluded`) and added back on reading; otherwise all emissions are
//! production. Catena-X requires what PACT does not have, and this module fills it with
//! the statement that fits a footprint computed from activity data: a retrospective
//! cradle-to-gate PCF, no mass balancing, allocation of waste incineration by cut-off, and
//! the UN M49 region of the PACT country (countries without an entry in `REGION_OF` are
//! refused rather than guessed). Catena-X takes one IPCC report and product rules as plain
//! strings; PACT rules travel as `operator: name`.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::mapping::LIFE_CYCLE_STAGES_SCHEMA;
use super::model::{
    CarbonFootprint, DataQualityIndicators, DeclaredUnit, FootprintStatus, PactDecimal,
    ProductFootprint, ProductOrSectorSpecificRule, RuleOperator, SPEC_VERSION,
};
use crate::activity::Emissions;

/// The `specVersion` of the aspect this module writes.
pub const CATENAX_PCF_SPEC_VERSION: &str = "urn:io.catenax.pcf:datamodel:version:9.0.0";

/// Why a footprint does not travel between PACT and Catena-X.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatenaXError {
    #[error("Catena-X cannot express this footprint: {0}")]
    NotRepresentable(String),
    #[error("not a Catena-X PCF 9.0.0 payload: {0}")]
    Malformed(String),
}

/// UN M49 subregions of the countries of the battery supply chain.
pub const REGION_OF: [(&str, &str); 48] = [
    ("JP", "Eastern Asia"),
    ("CN", "Eastern Asia"),
    ("KR", "Eastern Asia"),
    ("TW", "Eastern Asia"),
    ("HK", "Eastern Asia"),
    ("MN", "Eastern Asia"),
    ("ID", "South-eastern Asia"),
    ("TH", "South-eastern Asia"),
    ("VN", "South-eastern Asia"),
    ("MY", "South-eastern Asia"),
    ("PH", "South-eastern Asia"),
    ("SG", "South-eastern Asia"),
    ("IN", "Southern Asia"),
    ("TR", "Western Asia"),
    ("DE", "Western Europe"),
    ("FR", "Western Europe"),
    ("NL", "Western Europe"),
    ("BE", "Western Europe"),
    ("AT", "Western Europe"),
    ("CH", "Western Europe"),
    ("LU", "Western Europe"),
    ("GB", "Northern Europe"),
    ("IE", "Northern Europe"),
    ("SE", "Northern Europe"),
    ("FI", "Northern Europe"),
    ("NO", "Northern Europe"),
    ("DK", "Northern Europe"),
    ("PL", "Eastern Europe"),
    ("CZ", "Eastern Europe"),
    ("HU", "Eastern Europe"),
    ("SK", "Eastern Europe"),
    ("RO", "Eastern Europe"),
    ("IT", "Southern Europe"),
    ("ES", "Southern Europe"),
    ("PT", "Southern Europe"),
    ("US", "Northern America"),
    ("CA", "Northern America"),
    ("MX", "Latin America and the Caribbean"),
    ("BR", "Latin America and the Caribbean"),
    ("CL", "Latin America and the Caribbean"),
    ("AR", "Latin America and the Caribbean"),
    ("BO", "Latin America and the Caribbean"),
    ("AU", "Australia and New Zealand"),
    ("NZ", "Australia and New Zealand"),
    ("CD", "Sub-Saharan Africa"),
    ("ZA", "Sub-Saharan Africa"),
    ("ZM", "Sub-Saharan Africa"),
    ("MA", "Northern Africa"),
];

fn number(value: Decimal) -> Result<Value, CatenaXError> {
    value
        .normalize()
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| CatenaXError::NotRepresentable(format!("{value} as a JSON number")))
}

fn decimal(value: &Value, name: &str) -> Result<Decimal, CatenaXError> {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            text.parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(&text))
                .map(|d| d.normalize())
                .map_err(|_| CatenaXError::Malformed(format!("{name} {text} is out of range")))
        }
        _ => Err(CatenaXError::Malformed(format!("{name} is not a number"))),
    }
}

/// The figures of one Catena-X stage, as the sums PACT keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Figures {
    including: Decimal,
    excluding: Decimal,
    fossil: Decimal,
    biogenic_non_co2: Decimal,
    biogenic_uptake: Decimal,
    land_use_change: Decimal,
    land_management_emissions: Decimal,
    land_management_removals: Decimal,
    aircraft: Decimal,
}

impl Figures {
    fn of_pact(pcf: &CarbonFootprint) -> Figures {
        let or_zero = |v: Option<PactDecimal>| v.map_or(Decimal::ZERO, |v| v.0);
        Figures {
            including: pcf.pcf_including_biogenic_uptake.0,
            excluding: pcf.pcf_excluding_biogenic_uptake.0,
            fossil: pcf.fossil_ghg_emissions.0,
            biogenic_non_co2: or_zero(pcf.biogenic_non_co2_emissions),
            biogenic_uptake: or_zero(pcf.biogenic_co2_uptake),
            land_use_change: or_zero(pcf.land_use_change_ghg_emissions),
            land_management_emissions: or_zero(pcf.land_management_biogenic_co2_emissions),
            land_management_removals: or_zero(pcf.land_management_biogenic_co2_removals),
            aircraft: or_zero(pcf.aircraft_ghg_emissions),
        }
    }

    /// A tsunagu stage as Catena-X figures (net biogenic apart into uptake and emissions).
    fn of_stage(stage: &Emissions) -> Option<Figures> {
        let uptake = stage.biogenic.min(Decimal::ZERO);
        let non_co2 = stage.biogenic.max(Decimal::ZERO);
        let excluding = stage
            .fossil
            .checked_add(stage.land_use_change)?
            .checked_add(non_co2)?;
        Some(Figures {
            including: excluding.checked_add(uptake)?,
            excluding,
            fossil: stage.fossil,
            biogenic_non_co2: non_co2,
            biogenic_uptake: uptake,
            land_use_change: stage.land_use_change,
            ..Figures::default()
        })
    }

    fn zip(
        self,
        other: Figures,
        f: impl Fn(Decimal, Decimal) -> Option<Decimal>,
    ) -> Option<Figures> {
        Some(Figures {
            including: f(self.including, other.including)?,
            excluding: f(self.excluding, other.excluding)?,
            fossil: f(self.fossil, other.fossil)?,
            biogenic_non_co2: f(self.biogenic_non_co2, other.biogenic_non_co2)?,
            biogenic_uptake: f(self.biogenic_uptake, other.biogenic_uptake)?,
            land_use_change: f(self.land_use_change, other.land_use_change)?,
            land_management_emissions: f(
                self.land_management_emissions,
                other.land_management_emissions,
            )?,
            land_management_removals: f(
                self.land_management_removals,
                other.land_management_removals,
            )?,
            aircraft: f(self.aircraft, other.aircraft)?,
        })
    }

    /// Whether the signs are those Catena-X demands.
    fn signs_hold(&self) -> bool {
        let non_negative = [
            self.excluding,
            self.fossil,
            self.biogenic_non_co2,
            self.land_use_change,
            self.land_management_emissions,
            self.aircraft,
        ];
        non_negative.iter().all(|v| *v >= Decimal::ZERO)
            && self.biogenic_uptake <= Decimal::ZERO
            && self.land_management_removals <= Decimal::ZERO
    }

    fn write(&self, prefix: &str) -> Result<Map<String, Value>, CatenaXError> {
        let name = |field: &str| {
            if prefix.is_empty() {
                let mut chars = field.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            } else {
                format!("{prefix}{field}")
            }
        };
        let mut map = Map::new();
        for (field, value) in [
            ("PcfIncludingBiogenicUptake", self.including),
            ("PcfExcludingBiogenicUptake", self.excluding),
            ("FossilGhgEmissions", self.fossil),
            ("BiogenicNonCO2Emissions", self.biogenic_non_co2),
            ("BiogenicCO2Uptake", self.biogenic_uptake),
            ("LandUseChangeGhgEmissions", self.land_use_change),
            (
                "LandManagementBiogenicCO2Emissions",
                self.land_management_emissions,
            ),
            (
                "LandManagementBiogenicCO2Removals",
                self.land_management_removals,
            ),
            ("AircraftGhgEmissions", self.aircraft),
        ] {
            map.insert(name(field), number(value)?);
        }
        Ok(map)
    }

    fn read(stage: &Value, prefix: &str) -> Result<Figures, CatenaXError> {
        let get = |field: &str| -> Result<Decimal, CatenaXError> {
            let key = if prefix.is_empty() {
                let mut chars = field.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            } else {
                format!("{prefix}{field}")
            };
            match stage.get(&key) {
                None | Some(Value::Null) => Ok(Decimal::ZERO),
                Some(value) => decimal(value, &key),
            }
        };
        Ok(Figures {
            including: get("PcfIncludingBiogenicUptake")?,
            excluding: get("PcfExcludingBiogenicUptake")?,
            fossil: get("FossilGhgEmissions")?,
            biogenic_non_co2: get("BiogenicNonCO2Emissions")?,
            biogenic_uptake: get("BiogenicCO2Uptake")?,
            land_use_change: get("LandUseChangeGhgEmissions")?,
            land_management_emissions: get("LandManagementBiogenicCO2Emissions")?,
            land_management_removals: get("LandManagementBiogenicCO2Removals")?,
            aircraft: get("AircraftGhgEmissions")?,
        })
    }
}

/// The distribution stage of tsunagu's extension, if the footprint carries one.
fn distribution_stage(footprint: &ProductFootprint) -> Option<Emissions> {
    let extension = footprint
        .extensions
        .iter()
        .flatten()
        .find(|e| e.data_schema == LIFE_CYCLE_STAGES_SCHEMA)?;
    serde_json::from_value(extension.data.get("stages")?.get("distribution")?.clone()).ok()
}

fn declared_unit_name(unit: DeclaredUnit) -> Result<&'static str, CatenaXError> {
    Ok(match unit {
        DeclaredUnit::Liter => "liter",
        DeclaredUnit::Kilogram => "kilogram",
        DeclaredUnit::CubicMeter => "cubic meter",
        DeclaredUnit::KilowattHour => "kilowatt hour",
        DeclaredUnit::Megajoule => "megajoule",
        DeclaredUnit::TonKilometer => "ton kilometer",
        DeclaredUnit::SquareMeter => "square meter",
        DeclaredUnit::Piece => "piece",
        DeclaredUnit::Hour => "hour",
        DeclaredUnit::MegabitSecond => {
            return Err(CatenaXError::NotRepresentable(
                "Catena-X has no megabit second".into(),
            ));
        }
    })
}

fn time(value: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// The Catena-X PCF aspect of a PACT footprint.
pub fn to_catenax(footprint: &ProductFootprint) -> Result<Value, CatenaXError> {
    let pcf = &footprint.pcf;
    let not = |text: &str| Err(CatenaXError::NotRepresentable(text.into()));
    if pcf.exempted_emissions_percent.0 > Decimal::TEN {
        return not("Catena-X allows at most 10 % exempted emissions");
    }
    let total = Figures::of_pact(pcf);
    // Production and distribution apart where the distribution stage is known and the
    // split keeps Catena-X's signs; otherwise everything counts as production.
    let split = distribution_stage(footprint)
        .and_then(|stage| Figures::of_stage(&stage))
        .filter(|d| *d != Figures::of_stage(&Emissions::ZERO).unwrap_or_default())
        .and_then(|d| Some((total.zip(d, |a, b| a.checked_sub(b))?, d)))
        .filter(|(production, distribution)| production.signs_hold() && distribution.signs_hold());
    let (production, distribution) = match split {
        Some((production, distribution)) => (production, Some(distribution)),
        None => (total, None),
    };
    if !production.signs_hold() {
        return not("an emission figure has the wrong sign for Catena-X");
    }
    let mut distribution_stage = Map::new();
    distribution_stage.insert(
        "distributionStageIncluded".into(),
        Value::Bool(distribution.is_some()),
    );
    if let Some(distribution) = distribution {
        distribution_stage.extend(distribution.write("distributionStage")?);
    }
    let mut packaging = Map::new();
    packaging.insert(
        "packagingEmissionsIncluded".into(),
        Value::Bool(pcf.packaging_emissions_included.unwrap_or(false)),
    );
    if let Some(value) = pcf.packaging_ghg_emissions {
        packaging.insert("packagingFossilGhgEmissions".into(), number(value.0)?);
    }

    let region = match (
        &pcf.geography_region_or_subregion,
        &pcf.geography_country,
        &pcf.geography_country_subdivision,
    ) {
        (Some(region), _, _) => region.clone(),
        (None, Some(country), _) => region_of(country)?,
        (None, None, Some(subdivision)) => region_of(subdivision.get(..2).unwrap_or(""))?,
        (None, None, None) => return not("Catena-X needs a geography; the footprint is global"),
    };
    let mut geography = Map::new();
    geography.insert("geographyRegionOrSubregion".into(), Value::String(region));
    if let Some(country) = &pcf.geography_country {
        geography.insert("geographyCountry".into(), Value::String(country.clone()));
    }
    if let Some(subdivision) = &pcf.geography_country_subdivision {
        geography.insert(
            "geographyCountrySubdivision".into(),
            Value::String(subdivision.clone()),
        );
    }
    let mut time_group = Map::new();
    time_group.insert(
        "referencePeriodStart".into(),
        time(pcf.reference_period_start),
    );
    time_group.insert("referencePeriodEnd".into(), time(pcf.reference_period_end));
    time_group.insert("created".into(), time(footprint.created));
    let (validity_start, validity_end) = footprint.effective_validity();
    time_group.insert("validityPeriodEnd".into(), time(validity_end));
    if footprint.validity_period_start.is_some() {
        time_group.insert("validityPeriodStart".into(), time(validity_start));
    }
    let ipcc = ["AR6", "AR5", "AR4"]
        .into_iter()
        .find(|report| {
            pcf.ipcc_characterization_factors
                .iter()
                .any(|f| f == report)
        })
        .unwrap_or("unspecified");
    let rules: Vec<String> = pcf
        .product_or_sector_specific_rules
        .iter()
        .flatten()
        .flat_map(|rule| {
            let operator = match rule.operator {
                RuleOperator::Pef => "PEF".to_owned(),
                RuleOperator::EpdInternational => "EPD International".to_owned(),
                RuleOperator::Other => rule
                    .other_operator_name
                    .clone()
                    .unwrap_or_else(|| "Other".into()),
            };
            rule.rule_names
                .iter()
                .map(move |name| format!("{operator}: {name}"))
        })
        .collect();
    let mut quality = Map::new();
    if let Some(share) = pcf.primary_data_share {
        quality.insert("primaryDataShare".into(), number(share.0)?);
    }
    if let Some(sources) = &pcf.secondary_emission_factor_sources {
        quality.insert(
            "secondaryEmissionFactorSources".into(),
            json!(
                sources
                    .iter()
                    .map(|s| format!("{} {}", s.name, s.version))
                    .collect::<Vec<_>>()
            ),
        );
    }
    if let Some(dqi) = &pcf.dqi {
        for (name, value) in [
            ("technologicalDQR", dqi.technological_dqr),
            ("geographicalDQR", dqi.geographical_dqr),
            ("temporalDQR", dqi.temporal_dqr),
        ] {
            if (Decimal::ONE..=Decimal::from(5)).contains(&value.0) {
                quality.insert(name.into(), number(value.0)?);
            }
        }
    }
    let mut technology = Map::new();
    technology.insert(
        "ccsTechnologicalCO2CaptureIncluded".into(),
        Value::Bool(pcf.ccs_technological_co2_capture_included.unwrap_or(false)),
    );
    if let Some(description) = &pcf.boundary_processes_description {
        technology.insert(
            "boundaryProcessesDescription".into(),
            Value::String(description.clone()),
        );
    }
    let mut boundary = Map::new();
    boundary.insert(
        "exemptedEmissionsPercent".into(),
        number(pcf.exempted_emissions_percent.0)?,
    );
    if let Some(description) = &pcf.exempted_emissions_description {
        boundary.insert(
            "exemptedEmissionsDescription".into(),
            Value::String(description.clone()),
        );
    }
    let mut allocation = Map::new();
    allocation.insert("allocationWasteIncineration".into(), json!("cut-off"));
    if let Some(description) = &pcf.allocation_rules_description {
        allocation.insert(
            "allocationRulesDescription".into(),
            Value::String(description.clone()),
        );
    }
    let mut id_and_version = Map::new();
    id_and_version.insert("id".into(), json!(footprint.id.to_string()));
    id_and_version.insert("version".into(), json!(0));
    id_and_version.insert(
        "status".into(),
        json!(match footprint.status {
            FootprintStatus::Active => "Active",
            FootprintStatus::Deprecated => "Deprecated",
        }),
    );
    id_and_version.insert(
        "retroOrProspectivePcfType".into(),
        json!("Retrospective PCF"),
    );
    let mut product = Map::new();
    product.insert(
        "productNameCompany".into(),
        json!(footprint.product_name_company),
    );
    product.insert("productIds".into(), json!(footprint.product_ids));
    product.insert(
        "declaredUnitOfMeasurement".into(),
        json!(declared_unit_name(pcf.declared_unit_of_measurement)?),
    );
    product.insert(
        "declaredUnitAmount".into(),
        number(pcf.declared_unit_amount.0)?,
    );
    product.insert(
        "productMassPerDeclaredUnit".into(),
        number(pcf.product_mass_per_declared_unit.0)?,
    );
    if let Some(classifications) = &footprint.product_classifications {
        product.insert("productClassifications".into(), json!(classifications));
    }
    product.insert(
        "productDescription".into(),
        json!(footprint.product_description),
    );
    let mut carbon = Map::new();
    carbon.insert(
        "fossilCarbonContent".into(),
        number(pcf.fossil_carbon_content.0)?,
    );
    for (name, value) in [
        ("biogenicCarbonContent", pcf.biogenic_carbon_content),
        ("recycledCarbonContent", pcf.recycled_carbon_content),
        (
            "packagingBiogenicCarbonContent",
            pcf.packaging_biogenic_carbon_content,
        ),
    ] {
        if let Some(value) = value {
            carbon.insert(name.into(), number(value.0)?);
        }
    }
    let mut general = Map::new();
    if let Some(comment) = &footprint.comment {
        general.insert("comment".into(), json!(comment));
    }
    Ok(json!({
        "scopeOfPcfForm": [{
            "specVersion": CATENAX_PCF_SPEC_VERSION,
            "partialFullPcf": "Cradle-to-gate",
        }],
        "companyAndProductInformation": [{
            "companyInformation": [{
                "companyName": footprint.company_name,
                "companyIds": footprint.company_ids,
            }],
            "productInformation": [product],
        }],
        "pcfAssessmentAndMethodology": [{
            "dataSourcesAndQuality": [quality],
            "pcfAssessmentInformation": [{
                "technology": [technology],
                "idAndVersion": [id_and_version],
                "boundarySpecifications": [boundary],
                "geography": [geography],
                "time": [time_group],
            }],
            "pcfMethodology": [{
                "massBalancingInformation": [{
                    "massBalancingUsed": false,
                    "freeAttributionInMassBalancing": "not applicable",
                    "massBalancingCertificateScheme": "not applicable",
                }],
                "standards": [{
                    "crossSectoralStandards": pcf.cross_sectoral_standards,
                    "productOrSectorSpecificRules": rules,
                }],
                "gwpCharacterizationFactorDetails": [{"ipccCharacterizationFactors": ipcc}],
                "allocationInForeground": [allocation],
            }],
        }],
        "general": [general],
        "carbonContent": [carbon],
        "productLifeCycleStagesAndEmissions": [{
            "productionStage": [production.write("")?],
            "distributionStage": [distribution_stage],
            "packagingStage": [packaging],
        }],
    }))
}

fn region_of(country: &str) -> Result<String, CatenaXError> {
    REGION_OF
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, region)| (*region).to_owned())
        .ok_or_else(|| {
            CatenaXError::NotRepresentable(format!(
                "the UN M49 region of {country:?} is not known here; state the region"
            ))
        })
}

/// The first object of a Catena-X group (`{"group": [{…}]}`).
fn group<'a>(value: &'a Value, path: &[&str]) -> Result<&'a Value, CatenaXError> {
    let mut current = value;
    for name in path {
        current = current
            .get(*name)
            .and_then(|v| v.as_array())
            .and_then(|v| v.first())
            .ok_or_else(|| CatenaXError::Malformed(format!("{} is missing", path.join("."))))?;
    }
    Ok(current)
}

fn string(value: &Value, name: &str) -> Result<String, CatenaXError> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CatenaXError::Malformed(format!("{name} is missing")))
}

fn optional_string(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The strings of the array `name` of `value`.
pub(super) fn strings(value: &Value, name: &str) -> Result<Vec<String>, CatenaXError> {
    value
        .get(name)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .ok_or_else(|| CatenaXError::Malformed(format!("{name} is missing")))
}

fn date(value: &Value, name: &str) -> Result<chrono::DateTime<chrono::Utc>, CatenaXError> {
    let text = string(value, name)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|_| CatenaXError::Malformed(format!("{name} {text:?} is not a date-time")))
}

fn optional_decimal(value: &Value, name: &str) -> Result<Option<PactDecimal>, CatenaXError> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(number) => decimal(number, name).map(|d| Some(PactDecimal(d))),
    }
}

/// A PACT footprint from a Catena-X PCF aspect. The result is checked with PACT's rules.
pub fn from_catenax(value: &Value) -> Result<ProductFootprint, CatenaXError> {
    let scope = group(value, &["scopeOfPcfForm"])?;
    let spec_version = string(scope, "specVersion")?;
    if !spec_version.ends_with(":9.0.0") {
        return Err(CatenaXError::Malformed(format!(
            "specVersion {spec_version} is not 9.0.0"
        )));
    }
    let company = group(
        value,
        &["companyAndProductInformation", "companyInformation"],
    )?;
    let product = group(
        value,
        &["companyAndProductInformation", "productInformation"],
    )?;
    let assessment = group(
        value,
        &["pcfAssessmentAndMethodology", "pcfAssessmentInformation"],
    )?;
    let methodology = group(value, &["pcfAssessmentAndMethodology", "pcfMethodology"])?;
    let quality = group(
        value,
        &["pcfAssessmentAndMethodology", "dataSourcesAndQuality"],
    )?;
    let id_and_version = group(assessment, &["idAndVersion"])?;
    let time_group = group(assessment, &["time"])?;
    let geography = group(assessment, &["geography"])?;
    let technology = group(assessment, &["technology"])?;
    let boundary = group(assessment, &["boundarySpecifications"])?;
    let standards = group(methodology, &["standards"])?;
    let gwp = group(methodology, &["gwpCharacterizationFactorDetails"])?;
    let allocation = group(methodology, &["allocationInForeground"]).ok();
    let general = group(value, &["general"])?;
    let carbon = group(value, &["carbonContent"])?;
    let stages = group(value, &["productLifeCycleStagesAndEmissions"])?;
    let production = Figures::read(group(stages, &["productionStage"])?, "")?;
    let distribution_group = group(stages, &["distributionStage"])?;
    let total = if distribution_group
        .get("distributionStageIncluded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        let distribution = Figures::read(distribution_group, "distributionStage")?;
        production
            .zip(distribution, |a, b| a.checked_add(b))
            .ok_or_else(|| CatenaXError::Malformed("figures out of range".into()))?
    } else {
        production
    };
    let packaging = group(stages, &["packagingStage"])?;

    let id = Uuid::parse_str(&string(id_and_version, "id")?)
        .map_err(|_| CatenaXError::Malformed("idAndVersion.id is not a UUID".into()))?;
    let status = match string(id_and_version, "status")?.as_str() {
        "Active" => FootprintStatus::Active,
        "Deprecated" => FootprintStatus::Deprecated,
        other => return Err(CatenaXError::Malformed(format!("status {other:?}"))),
    };
    let unit: DeclaredUnit =
        serde_json::from_value(json!(string(product, "declaredUnitOfMeasurement")?)).map_err(
            |_| CatenaXError::NotRepresentable("a declared unit PACT does not have".into()),
        )?;
    // PACT states one geography: the most precise one given.
    let subdivision =
        optional_string(geography, "geographyCountrySubdivision").filter(|s| !s.is_empty());
    let country = optional_string(geography, "geographyCountry").filter(|s| !s.is_empty());
    let (region, country, subdivision) = match (subdivision, country) {
        (Some(subdivision), _) => (None, None, Some(subdivision)),
        (None, Some(country)) => (None, Some(country), None),
        (None, None) => (
            Some(string(geography, "geographyRegionOrSubregion")?),
            None,
            None,
        ),
    };
    let ipcc = string(gwp, "ipccCharacterizationFactors")?;
    let dqi = match (
        optional_decimal(quality, "technologicalDQR")?,
        optional_decimal(quality, "geographicalDQR")?,
        optional_decimal(quality, "temporalDQR")?,
    ) {
        (Some(technological_dqr), Some(geographical_dqr), Some(temporal_dqr)) => {
            Some(DataQualityIndicators {
                technological_dqr,
                geographical_dqr,
                temporal_dqr,
            })
        }
        _ => None,
    };
    let rules = strings(standards, "productOrSectorSpecificRules")?;
    let nonzero = |v: Decimal| (!v.is_zero()).then_some(PactDecimal(v));
    let footprint = ProductFootprint {
        id,
        spec_version: SPEC_VERSION.into(),
        preceding_pf_ids: None,
        created: date(time_group, "created")?,
        status,
        validity_period_start: date(time_group, "validityPeriodStart").ok(),
        validity_period_end: Some(date(time_group, "validityPeriodEnd")?),
        company_name: string(company, "companyName")?,
        company_ids: strings(company, "companyIds")?,
        product_description: optional_string(product, "productDescription").unwrap_or_default(),
        product_ids: strings(product, "productIds")?,
        product_classifications: strings(product, "productClassifications")
            .ok()
            .filter(|c| !c.is_empty()),
        product_name_company: string(product, "productNameCompany")?,
        comment: optional_string(general, "comment"),
        pcf: CarbonFootprint {
            declared_unit_of_measurement: unit,
            declared_unit_amount: PactDecimal(decimal(
                product.get("declaredUnitAmount").unwrap_or(&Value::Null),
                "declaredUnitAmount",
            )?),
            product_mass_per_declared_unit: PactDecimal(decimal(
                product
                    .get("productMassPerDeclaredUnit")
                    .unwrap_or(&Value::Null),
                "productMassPerDeclaredUnit",
            )?),
            reference_period_start: date(time_group, "referencePeriodStart")?,
            reference_period_end: date(time_group, "referencePeriodEnd")?,
            geography_region_or_subregion: region,
            geography_country: country,
            geography_country_subdivision: subdivision,
            boundary_processes_description: optional_string(
                technology,
                "boundaryProcessesDescription",
            ),
            pcf_excluding_biogenic_uptake: PactDecimal(total.excluding),
            pcf_including_biogenic_uptake: PactDecimal(total.including),
            fossil_carbon_content: optional_decimal(carbon, "fossilCarbonContent")?
                .unwrap_or(PactDecimal::ZERO),
            biogenic_carbon_content: optional_decimal(carbon, "biogenicCarbonContent")?,
            recycled_carbon_content: optional_decimal(carbon, "recycledCarbonContent")?,
            fossil_ghg_emissions: PactDecimal(total.fossil),
            land_use_change_ghg_emissions: Some(PactDecimal(total.land_use_change)),
            land_carbon_leakage: None,
            land_management_fossil_ghg_emissions: None,
            land_management_biogenic_co2_emissions: nonzero(total.land_management_emissions),
            land_management_biogenic_co2_removals: nonzero(total.land_management_removals),
            biogenic_co2_uptake: Some(PactDecimal(total.biogenic_uptake)),
            biogenic_non_co2_emissions: Some(PactDecimal(total.biogenic_non_co2)),
            land_area_occupation: None,
            aircraft_ghg_emissions: nonzero(total.aircraft),
            packaging_emissions_included: packaging
                .get("packagingEmissionsIncluded")
                .and_then(Value::as_bool),
            packaging_ghg_emissions: optional_decimal(packaging, "packagingFossilGhgEmissions")?,
            packaging_biogenic_carbon_content: optional_decimal(
                carbon,
                "packagingBiogenicCarbonContent",
            )?,
            outbound_logistics_ghg_emissions: None,
            ccs_technological_co2_capture_included: technology
                .get("ccsTechnologicalCO2CaptureIncluded")
                .and_then(Value::as_bool),
            ccs_technological_co2_capture: None,
            technological_co2_capture_origin: None,
            technological_co2_removals: None,
            ccu_carbon_content: None,
            ccu_calculation_approach: None,
            ccu_credit_certification: None,
            ipcc_characterization_factors: if ipcc == "unspecified" {
                Vec::new()
            } else {
                vec![ipcc]
            },
            cross_sectoral_standards: strings(standards, "crossSectoralStandards")?,
            product_or_sector_specific_rules: (!rules.is_empty()).then(|| {
                vec![ProductOrSectorSpecificRule {
                    operator: RuleOperator::Other,
                    rule_names: rules,
                    other_operator_name: Some("Catena-X".into()),
                }]
            }),
            exempted_emissions_percent: optional_decimal(boundary, "exemptedEmissionsPercent")?
                .unwrap_or(PactDecimal::ZERO),
            exempted_emissions_description: optional_string(
                boundary,
                "exemptedEmissionsDescription",
            ),
            allocation_rules_description: allocation
                .and_then(|a| optional_string(a, "allocationRulesDescription")),
            secondary_emission_factor_sources: None,
            primary_data_share: optional_decimal(quality, "primaryDataShare")?,
            dqi,
            verification: None,
        },
        extensions: None,
    };
    Ok(footprint)
}
