//! The PACT Technical Specifications v3.0 data model as it travels: `ProductFootprint`,
//! `CarbonFootprint` and their parts, the CloudEvents of the Action Events endpoint, the
//! error body, and the filter criteria that `ListFootprints` and `RequestCreatedEvent`
//! share. Decimals are JSON strings (`"0.384"`), never numbers.
//!
//! Deserialising checks the JSON shape and the decimal syntax; `validate` checks the rules
//! the schema states beyond types (non-empty sets of URNs, signs of the emission figures,
//! one geography at most, an operator name for `Other` rules). Fields of later revisions
//! that this model does not know are ignored on input, as the specification asks.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Months, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

/// The specification version of the footprints tsunagu emits.
pub const SPEC_VERSION: &str = "3.0.0";

pub const PUBLISHED_EVENT: &str = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3";
pub const REQUEST_CREATED_EVENT: &str = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3";
pub const REQUEST_FULFILLED_EVENT: &str = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3";
pub const REQUEST_REJECTED_EVENT: &str = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3";

/// A PACT decimal: a JSON string of the form `^[+-]?\d+(\.\d+)?$`. No exponent, no
/// binary floating point on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PactDecimal(pub Decimal);

impl PactDecimal {
    pub const ZERO: PactDecimal = PactDecimal(Decimal::ZERO);
    pub const ONE: PactDecimal = PactDecimal(Decimal::ONE);

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl From<Decimal> for PactDecimal {
    fn from(value: Decimal) -> Self {
        PactDecimal(value)
    }
}

impl fmt::Display for PactDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            // A negative zero would print as "-0", which reads as a sign error.
            return f.write_str("0");
        }
        write!(f, "{}", self.0.normalize())
    }
}

/// Why a string is not a PACT decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a decimal string (digits, an optional sign and an optional fraction)")]
pub struct NotADecimal(pub String);

impl FromStr for PactDecimal {
    type Err = NotADecimal;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(NotADecimal(text.to_owned()));
        }
        let plain = text.strip_prefix('+').unwrap_or(text);
        Decimal::from_str_exact(plain)
            .map(PactDecimal)
            .map_err(|_| NotADecimal(text.to_owned()))
    }
}

impl Serialize for PactDecimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PactDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FootprintStatus {
    Active,
    Deprecated,
}

impl FootprintStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FootprintStatus::Active => "Active",
            FootprintStatus::Deprecated => "Deprecated",
        }
    }
}

/// `ProductFootprint`: the carbon footprint of one product and who declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductFootprint {
    pub id: Uuid,
    pub spec_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preceding_pf_ids: Option<Vec<Uuid>>,
    pub created: DateTime<Utc>,
    pub status: FootprintStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_period_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_period_end: Option<DateTime<Utc>>,
    pub company_name: String,
    pub company_ids: Vec<String>,
    pub product_description: String,
    pub product_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_classifications: Option<Vec<String>>,
    pub product_name_company: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub pcf: CarbonFootprint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<DataModelExtension>>,
}

/// `CarbonFootprint`: the figures, per `declaredUnitAmount` of `declaredUnitOfMeasurement`,
/// in kg CO2e (kg C for carbon contents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarbonFootprint {
    pub declared_unit_of_measurement: DeclaredUnit,
    pub declared_unit_amount: PactDecimal,
    pub product_mass_per_declared_unit: PactDecimal,
    pub reference_period_start: DateTime<Utc>,
    pub reference_period_end: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_region_or_subregion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_country_subdivision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary_processes_description: Option<String>,
    pub pcf_excluding_biogenic_uptake: PactDecimal,
    pub pcf_including_biogenic_uptake: PactDecimal,
    pub fossil_carbon_content: PactDecimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biogenic_carbon_content: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycled_carbon_content: Option<PactDecimal>,
    pub fossil_ghg_emissions: PactDecimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land_use_change_ghg_emissions: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land_carbon_leakage: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land_management_fossil_ghg_emissions: Option<PactDecimal>,
    #[serde(
        rename = "landManagementBiogenicCO2Emissions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub land_management_biogenic_co2_emissions: Option<PactDecimal>,
    #[serde(
        rename = "landManagementBiogenicCO2Removals",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub land_management_biogenic_co2_removals: Option<PactDecimal>,
    #[serde(
        rename = "biogenicCO2Uptake",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub biogenic_co2_uptake: Option<PactDecimal>,
    #[serde(
        rename = "biogenicNonCO2Emissions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub biogenic_non_co2_emissions: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land_area_occupation: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aircraft_ghg_emissions: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging_emissions_included: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging_ghg_emissions: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging_biogenic_carbon_content: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_logistics_ghg_emissions: Option<PactDecimal>,
    #[serde(
        rename = "ccsTechnologicalCO2CaptureIncluded",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ccs_technological_co2_capture_included: Option<bool>,
    #[serde(
        rename = "ccsTechnologicalCO2Capture",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ccs_technological_co2_capture: Option<PactDecimal>,
    #[serde(
        rename = "technologicalCO2CaptureOrigin",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub technological_co2_capture_origin: Option<String>,
    #[serde(
        rename = "technologicalCO2Removals",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub technological_co2_removals: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccu_carbon_content: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccu_calculation_approach: Option<CcuCalculationApproach>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccu_credit_certification: Option<String>,
    pub ipcc_characterization_factors: Vec<String>,
    pub cross_sectoral_standards: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_or_sector_specific_rules: Option<Vec<ProductOrSectorSpecificRule>>,
    pub exempted_emissions_percent: PactDecimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempted_emissions_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_rules_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_emission_factor_sources: Option<Vec<EmissionFactorSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_data_share: Option<PactDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dqi: Option<DataQualityIndicators>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclaredUnit {
    #[serde(rename = "liter")]
    Liter,
    #[serde(rename = "kilogram")]
    Kilogram,
    #[serde(rename = "cubic meter")]
    CubicMeter,
    #[serde(rename = "kilowatt hour")]
    KilowattHour,
    #[serde(rename = "megajoule")]
    Megajoule,
    #[serde(rename = "ton kilometer")]
    TonKilometer,
    #[serde(rename = "square meter")]
    SquareMeter,
    #[serde(rename = "piece")]
    Piece,
    #[serde(rename = "hour")]
    Hour,
    #[serde(rename = "megabit second")]
    MegabitSecond,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CcuCalculationApproach {
    #[serde(rename = "Cut-off")]
    CutOff,
    Credit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrSectorSpecificRule {
    pub operator: RuleOperator,
    pub rule_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_operator_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleOperator {
    #[serde(rename = "PEF")]
    Pef,
    #[serde(rename = "EPD International")]
    EpdInternational,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmissionFactorSource {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataQualityIndicators {
    #[serde(rename = "technologicalDQR")]
    pub technological_dqr: PactDecimal,
    #[serde(rename = "geographicalDQR")]
    pub geographical_dqr: PactDecimal,
    #[serde(rename = "temporalDQR")]
    pub temporal_dqr: PactDecimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<VerificationCoverage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationCoverage {
    #[serde(rename = "PCF calculation model")]
    PcfCalculationModel,
    #[serde(rename = "PCF program")]
    PcfProgram,
    #[serde(rename = "product level")]
    ProductLevel,
}

/// A data model extension: data of another schema carried along with the footprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataModelExtension {
    pub spec_version: String,
    pub data_schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    pub data: serde_json::Map<String, Value>,
}

/// The UN M49 regions and subregions `geographyRegionOrSubregion` admits.
pub const REGIONS: [&str; 22] = [
    "Africa",
    "Americas",
    "Asia",
    "Europe",
    "Oceania",
    "Australia and New Zealand",
    "Central Asia",
    "Eastern Asia",
    "Eastern Europe",
    "Latin America and the Caribbean",
    "Melanesia",
    "Micronesia",
    "Northern Africa",
    "Northern America",
    "Northern Europe",
    "Polynesia",
    "South-eastern Asia",
    "Southern Asia",
    "Southern Europe",
    "Sub-Saharan Africa",
    "Western Asia",
    "Western Europe",
];

/// The rules a footprint breaks, each named by the property it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ProductFootprint: {}", .0.join("; "))]
pub struct InvalidFootprint(pub Vec<String>);

struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    fn urns(&mut self, name: &str, values: &[String]) {
        self.check(!values.is_empty(), || format!("{name} must not be empty"));
        self.check(values.iter().all(|v| is_urn(v)), || {
            format!("every value of {name} must be a URN (urn:…)")
        });
        self.unique(name, values);
    }

    fn unique<T: Ord>(&mut self, name: &str, values: &[T]) {
        let distinct: BTreeSet<&T> = values.iter().collect();
        self.check(distinct.len() == values.len(), || {
            format!("{name} must not repeat a value")
        });
    }

    fn at_least_zero(&mut self, name: &str, value: Option<PactDecimal>) {
        if let Some(value) = value {
            self.check(!value.0.is_sign_negative() || value.0.is_zero(), || {
                format!("{name} must be zero or positive")
            });
        }
    }

    fn at_most_zero(&mut self, name: &str, value: Option<PactDecimal>) {
        if let Some(value) = value {
            self.check(!value.0.is_sign_positive() || value.0.is_zero(), || {
                format!("{name} must be zero or negative")
            });
        }
    }
}

/// Whether `text` starts with the URN scheme (`^([uU][rR][nN]):`) and names something.
pub fn is_urn(text: &str) -> bool {
    text.len() > 4 && text.as_bytes()[..4].eq_ignore_ascii_case(b"urn:")
}

impl ProductFootprint {
    /// Checks the rules of the specification that the types do not already enforce.
    pub fn validate(&self) -> Result<(), InvalidFootprint> {
        let mut p = Problems(Vec::new());
        p.check(is_spec_version(&self.spec_version), || {
            "specVersion must look like 3.0.0".into()
        });
        if let Some(preceding) = &self.preceding_pf_ids {
            p.check(!preceding.is_empty(), || {
                "precedingPfIds, if given, must not be empty".into()
            });
            p.unique("precedingPfIds", preceding);
        }
        if let (Some(start), Some(end)) = (self.validity_period_start, self.validity_period_end) {
            p.check(start <= end, || {
                "validityPeriodStart must not be after validityPeriodEnd".into()
            });
        }
        p.check(!self.company_name.is_empty(), || {
            "companyName must not be empty".into()
        });
        p.urns("companyIds", &self.company_ids);
        p.urns("productIds", &self.product_ids);
        if let Some(classifications) = &self.product_classifications {
            p.urns("productClassifications", classifications);
        }
        p.check(!self.product_name_company.is_empty(), || {
            "productNameCompany must not be empty".into()
        });
        for extension in self.extensions.iter().flatten() {
            p.check(
                !extension.spec_version.is_empty()
                    && url::Url::parse(&extension.data_schema).is_ok(),
                || "an extension needs a specVersion and a dataSchema URI".into(),
            );
        }
        self.pcf.check(&mut p);
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidFootprint(p.0))
        }
    }

    /// The validity period, with the specification's default when it is not stated: three
    /// years from the end of the reference period.
    pub fn effective_validity(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self
            .validity_period_start
            .unwrap_or(self.pcf.reference_period_end);
        let end = self.validity_period_end.unwrap_or_else(|| {
            self.pcf
                .reference_period_end
                .checked_add_months(Months::new(36))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        (start, end)
    }
}

fn is_spec_version(text: &str) -> bool {
    let (version, suffix) = match text.split_once('-') {
        Some((version, suffix)) => (version, Some(suffix)),
        None => (text, None),
    };
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && suffix.is_none_or(|s| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
}

impl CarbonFootprint {
    fn check(&self, p: &mut Problems) {
        p.check(self.declared_unit_amount.0 > Decimal::ZERO, || {
            "pcf.declaredUnitAmount must be greater than zero".into()
        });
        p.check(
            self.reference_period_start <= self.reference_period_end,
            || "pcf.referencePeriodStart must not be after pcf.referencePeriodEnd".into(),
        );
        let geographies = [
            self.geography_region_or_subregion.is_some(),
            self.geography_country.is_some(),
            self.geography_country_subdivision.is_some(),
        ];
        p.check(geographies.iter().filter(|g| **g).count() <= 1, || {
            "pcf may state one of geographyRegionOrSubregion, geographyCountry and \
             geographyCountrySubdivision, not several"
                .into()
        });
        if let Some(region) = &self.geography_region_or_subregion {
            p.check(REGIONS.contains(&region.as_str()), || {
                format!("pcf.geographyRegionOrSubregion {region:?} is not a UN M49 region")
            });
        }
        if let Some(country) = &self.geography_country {
            p.check(is_country_code(country), || {
                format!("pcf.geographyCountry {country:?} is not an ISO 3166-1 alpha-2 code")
            });
        }
        if let Some(subdivision) = &self.geography_country_subdivision {
            let ok = subdivision.split_once('-').is_some_and(|(country, rest)| {
                is_country_code(country)
                    && (1..=3).contains(&rest.len())
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            });
            p.check(ok, || {
                format!("pcf.geographyCountrySubdivision {subdivision:?} is not an ISO 3166-2 code")
            });
        }
        for (name, value) in [
            ("pcf.fossilCarbonContent", Some(self.fossil_carbon_content)),
            ("pcf.biogenicCarbonContent", self.biogenic_carbon_content),
            ("pcf.recycledCarbonContent", self.recycled_carbon_content),
            ("pcf.fossilGhgEmissions", Some(self.fossil_ghg_emissions)),
            (
                "pcf.landUseChangeGhgEmissions",
                self.land_use_change_ghg_emissions,
            ),
            ("pcf.landCarbonLeakage", self.land_carbon_leakage),
            (
                "pcf.landManagementFossilGhgEmissions",
                self.land_management_fossil_ghg_emissions,
            ),
            (
                "pcf.landManagementBiogenicCO2Emissions",
                self.land_management_biogenic_co2_emissions,
            ),
            (
                "pcf.biogenicNonCO2Emissions",
                self.biogenic_non_co2_emissions,
            ),
            ("pcf.landAreaOccupation", self.land_area_occupation),
            ("pcf.aircraftGhgEmissions", self.aircraft_ghg_emissions),
            ("pcf.packagingGhgEmissions", self.packaging_ghg_emissions),
            (
                "pcf.packagingBiogenicCarbonContent",
                self.packaging_biogenic_carbon_content,
            ),
            (
                "pcf.outboundLogisticsGhgEmissions",
                self.outbound_logistics_ghg_emissions,
            ),
            ("pcf.ccuCarbonContent", self.ccu_carbon_content),
            (
                "pcf.exemptedEmissionsPercent",
                Some(self.exempted_emissions_percent),
            ),
        ] {
            p.at_least_zero(name, value);
        }
        for (name, value) in [
            (
                "pcf.landManagementBiogenicCO2Removals",
                self.land_management_biogenic_co2_removals,
            ),
            ("pcf.biogenicCO2Uptake", self.biogenic_co2_uptake),
            (
                "pcf.ccsTechnologicalCO2Capture",
                self.ccs_technological_co2_capture,
            ),
            (
                "pcf.technologicalCO2Removals",
                self.technological_co2_removals,
            ),
        ] {
            p.at_most_zero(name, value);
        }
        p.check(
            self.exempted_emissions_percent.0 <= Decimal::ONE_HUNDRED,
            || "pcf.exemptedEmissionsPercent is a percentage: at most 100".into(),
        );
        if let Some(share) = self.primary_data_share {
            p.check(
                share.0 >= Decimal::ZERO && share.0 <= Decimal::ONE_HUNDRED,
                || "pcf.primaryDataShare is a percentage: 0 to 100".into(),
            );
        }
        p.check(!self.ipcc_characterization_factors.is_empty(), || {
            "pcf.ipccCharacterizationFactors must not be empty".into()
        });
        p.check(
            self.ipcc_characterization_factors.iter().all(|f| {
                f.strip_prefix("AR")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }),
            || "pcf.ipccCharacterizationFactors are IPCC assessment reports such as AR6".into(),
        );
        p.unique(
            "pcf.ipccCharacterizationFactors",
            &self.ipcc_characterization_factors,
        );
        p.check(!self.cross_sectoral_standards.is_empty(), || {
            "pcf.crossSectoralStandards must not be empty".into()
        });
        p.unique("pcf.crossSectoralStandards", &self.cross_sectoral_standards);
        if let Some(rules) = &self.product_or_sector_specific_rules {
            p.check(!rules.is_empty(), || {
                "pcf.productOrSectorSpecificRules, if given, must not be empty".into()
            });
            for rule in rules {
                p.check(
                    !rule.rule_names.is_empty() && rule.rule_names.iter().all(|n| !n.is_empty()),
                    || "every productOrSectorSpecificRule needs rule names".into(),
                );
                // The schema's description asks for `otherOperatorName` with operator
                // `Other`, but does not enforce it, and official example 1 puts the name
                // beside the rule: it is not checked.
            }
        }
        if let Some(sources) = &self.secondary_emission_factor_sources {
            p.check(!sources.is_empty(), || {
                "pcf.secondaryEmissionFactorSources, if given, must not be empty".into()
            });
            p.check(
                sources
                    .iter()
                    .all(|s| !s.name.is_empty() && !s.version.is_empty()),
                || "every secondary emission factor source needs a name and a version".into(),
            );
        }
    }
}

fn is_country_code(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase())
}

/// The PACT error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// The error codes of PACT v3 (`NotFound` is v2's `NoSuchFootprint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    BadRequest,
    AccessDenied,
    TokenExpired,
    NotFound,
    InternalError,
    NotImplemented,
}

impl ErrorCode {
    /// The HTTP status the specification's error table gives the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::NotImplemented => 400,
            ErrorCode::AccessDenied => 403,
            ErrorCode::TokenExpired => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::InternalError => 500,
        }
    }
}

/// The criteria of `ListFootprints` and of a `RequestCreatedEvent`. Values within one
/// criterion are alternatives; criteria combine with AND. Matches are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FootprintCriteria {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub company_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geography: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classification: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_on: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_after: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_before: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl FootprintCriteria {
    pub fn matches(&self, footprint: &ProductFootprint) -> bool {
        let any_of = |wanted: &[String], have: &[&str]| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        };
        fn refs(values: &[String]) -> Vec<&str> {
            values.iter().map(String::as_str).collect()
        }
        let classifications = footprint
            .product_classifications
            .as_deref()
            .map(refs)
            .unwrap_or_default();
        let geographies: Vec<&str> = [
            &footprint.pcf.geography_country,
            &footprint.pcf.geography_country_subdivision,
            &footprint.pcf.geography_region_or_subregion,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
        let (valid_from, valid_to) = footprint.effective_validity();
        any_of(&self.product_id, &refs(&footprint.product_ids))
            && any_of(&self.company_id, &refs(&footprint.company_ids))
            && any_of(&self.geography, &geographies)
            && any_of(&self.classification, &classifications)
            && self
                .valid_on
                .is_none_or(|on| valid_from <= on && on <= valid_to)
            && self.valid_after.is_none_or(|after| after < valid_from)
            && self.valid_before.is_none_or(|before| valid_to < before)
            && self
                .status
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(footprint.status.as_str()))
    }
}

/// A CloudEvent in structured JSON mode, with the attributes PACT requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub specversion: String,
    pub id: String,
    pub source: String,
    pub time: DateTime<Utc>,
    pub data: Value,
}

/// What an event to the Action Events endpoint says, once checked.
#[derive(Debug, Clone, PartialEq)]
pub enum PactEvent {
    Published {
        pf_ids: Vec<Uuid>,
    },
    RequestCreated {
        criteria: FootprintCriteria,
        comment: Option<String>,
    },
    RequestFulfilled {
        request_event_id: String,
        pfs: Vec<ProductFootprint>,
    },
    RequestRejected {
        request_event_id: String,
        error: ErrorBody,
    },
}

/// Why an event is refused, in words for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("{0}")]
    Malformed(String),
    #[error("event type {0:?} is not one of the PACT v3 events")]
    UnknownType(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishedData {
    pf_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestCreatedData {
    #[serde(flatten)]
    criteria: FootprintCriteria,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfilledData {
    request_event_id: String,
    pfs: Vec<ProductFootprint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RejectedData {
    request_event_id: String,
    error: ErrorBody,
}

impl CloudEvent {
    /// Reads an event body and checks it as the specification asks.
    pub fn parse(body: &[u8]) -> Result<(CloudEvent, PactEvent), EventError> {
        let event: CloudEvent = serde_json::from_slice(body)
            .map_err(|e| EventError::Malformed(format!("not a CloudEvent: {e}")))?;
        let malformed = |text: &str| Err(EventError::Malformed(text.to_owned()));
        if event.specversion != "1.0" {
            return malformed("specversion must be 1.0");
        }
        if event.id.trim().is_empty() || event.source.trim().is_empty() {
            return malformed("id and source must not be empty");
        }
        let data = |what: &str| format!("data of a {what} event");
        let parsed = match event.event_type.as_str() {
            PUBLISHED_EVENT => {
                let data: PublishedData = serde_json::from_value(event.data.clone())
                    .map_err(|e| EventError::Malformed(format!("{}: {e}", data("Published"))))?;
                if data.pf_ids.is_empty() {
                    return malformed("data.pfIds must not be empty");
                }
                let pf_ids = data
                    .pf_ids
                    .iter()
                    .map(|id| {
                        Uuid::parse_str(id).map_err(|_| {
                            EventError::Malformed(format!("data.pfIds: {id:?} is not a UUID"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                PactEvent::Published { pf_ids }
            }
            REQUEST_CREATED_EVENT => {
                let data: RequestCreatedData =
                    serde_json::from_value(event.data.clone()).map_err(|e| {
                        EventError::Malformed(format!("{}: {e}", data("RequestCreated")))
                    })?;
                PactEvent::RequestCreated {
                    criteria: data.criteria,
                    comment: data.comment,
                }
            }
            REQUEST_FULFILLED_EVENT => {
                let data: FulfilledData =
                    serde_json::from_value(event.data.clone()).map_err(|e| {
                        EventError::Malformed(format!("{}: {e}", data("RequestFulfilled")))
                    })?;
                if data.pfs.is_empty() {
                    return malformed("data.pfs of a RequestFulfilled event must not be empty");
                }
                for footprint in &data.pfs {
                    footprint
                        .validate()
                        .map_err(|e| EventError::Malformed(format!("data.pfs: {e}")))?;
                }
                PactEvent::RequestFulfilled {
                    request_event_id: data.request_event_id,
                    pfs: data.pfs,
                }
            }
            REQUEST_REJECTED_EVENT => {
                let data: RejectedData =
                    serde_json::from_value(event.data.clone()).map_err(|e| {
                        EventError::Malformed(format!("{}: {e}", data("RequestRejected")))
                    })?;
                PactEvent::RequestRejected {
                    request_event_id: data.request_event_id,
                    error: data.error,
                }
            }
            other => return Err(EventError::UnknownType(other.to_owned())),
        };
        Ok((event, parsed))
    }
}
