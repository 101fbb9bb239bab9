//! A company's own activity data and what each item emits: quantity × emission factor.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::company::TraceId;
use crate::factor::{FactorId, FactorLibrary};
use crate::num::{self, Overflow};
use crate::quality::{DataQualityRating, Evidence};
use crate::stage::LifeCycleStage;
use crate::unit::{Dimension, Quantity, Unit, UnitError};

/// kg CO2e, kept apart by origin as the EU battery rules and ISO 14067 ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emissions {
    pub fossil: Decimal,
    /// Biogenic CO2e; negative for a net uptake.
    pub biogenic: Decimal,
    /// Direct land-use change.
    pub land_use_change: Decimal,
}

impl Emissions {
    pub const ZERO: Emissions = Emissions {
        fossil: Decimal::ZERO,
        biogenic: Decimal::ZERO,
        land_use_change: Decimal::ZERO,
    };

    /// Fossil + biogenic + land-use change. Results made by this crate are checked to add up;
    /// for hand-made values beyond the range of `Decimal` this saturates at `Decimal::MAX`.
    pub fn total(&self) -> Decimal {
        self.checked_total().unwrap_or(Decimal::MAX)
    }

    pub(crate) fn checked_total(&self) -> Result<Decimal, Overflow> {
        num::add(num::add(self.fossil, self.biogenic)?, self.land_use_change)
    }

    pub(crate) fn checked_add(&self, other: &Emissions) -> Result<Emissions, Overflow> {
        Ok(Emissions {
            fossil: num::add(self.fossil, other.fossil)?,
            biogenic: num::add(self.biogenic, other.biogenic)?,
            land_use_change: num::add(self.land_use_change, other.land_use_change)?,
        })
    }

    pub(crate) fn checked_scale(&self, factor: Decimal) -> Result<Emissions, Overflow> {
        Ok(Emissions {
            fossil: num::mul(self.fossil, factor)?,
            biogenic: num::mul(self.biogenic, factor)?,
            land_use_change: num::mul(self.land_use_change, factor)?,
        })
    }

    pub(crate) fn map(&self, f: impl Fn(Decimal) -> Decimal) -> Emissions {
        Emissions {
            fossil: f(self.fossil),
            biogenic: f(self.biogenic),
            land_use_change: f(self.land_use_change),
        }
    }
}

/// Where electricity comes from; the factor chosen must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ElectricitySource {
    /// The public grid of a region (country or bidding zone).
    Grid { region: String },
    /// Generation at the site, e.g. rooftop solar or a gas turbine.
    OnSite { technology: String },
    /// A power purchase agreement or certificates bound to the consumption.
    Contractual { instrument: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Road,
    Rail,
    Sea,
    InlandWaterway,
    Air,
    Pipeline,
}

/// What kind of activity an item is. Electricity must be given as energy and transport as
/// freight work (t·km); the others take whatever unit their factor converts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityKind {
    Material,
    Electricity { source: ElectricitySource },
    FuelAndHeat,
    Transport { mode: TransportMode },
    ProcessEmission,
    Waste,
}

impl ActivityKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActivityKind::Material => "material",
            ActivityKind::Electricity { .. } => "electricity",
            ActivityKind::FuelAndHeat => "fuel and heat",
            ActivityKind::Transport { .. } => "transport",
            ActivityKind::ProcessEmission => "process emission",
            ActivityKind::Waste => "waste",
        }
    }

    fn required_dimension(&self) -> Option<Dimension> {
        match self {
            ActivityKind::Electricity { .. } => Some(Dimension::Energy),
            ActivityKind::Transport { .. } => Some(Dimension::Freight),
            _ => None,
        }
    }
}

/// One line of activity data, per one declared unit of the part it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub description: String,
    #[serde(flatten)]
    pub kind: ActivityKind,
    pub stage: LifeCycleStage,
    pub quantity: Quantity,
    pub factor: FactorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<DataQualityRating>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalcError {
    #[error("activity {item:?} refers to emission factor {factor}, which is not in the library")]
    UnknownFactor { item: String, factor: FactorId },
    #[error("activity {item:?} cannot use factor {factor}: {source}")]
    Unit {
        item: String,
        factor: FactorId,
        #[source]
        source: UnitError,
    },
    #[error("activity {item:?} is {kind} and must be measured in {expected}, not in {found}")]
    WrongDimension {
        item: String,
        kind: &'static str,
        expected: Dimension,
        found: Unit,
    },
    #[error(
        "activity {item:?} has a negative quantity {quantity}; record credits as separate factors"
    )]
    NegativeQuantity { item: String, quantity: Quantity },
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// What one activity item emits: its quantity, converted into the factor's unit, times the
/// factor's fossil, biogenic and land-use change values.
pub fn calculate_item(
    item: &ActivityItem,
    factors: &FactorLibrary,
) -> Result<Emissions, CalcError> {
    if let Some(expected) = item.kind.required_dimension()
        && item.quantity.unit.dimension() != expected
    {
        return Err(CalcError::WrongDimension {
            item: item.description.clone(),
            kind: item.kind.name(),
            expected,
            found: item.quantity.unit,
        });
    }
    if item.quantity.value < Decimal::ZERO {
        return Err(CalcError::NegativeQuantity {
            item: item.description.clone(),
            quantity: item.quantity,
        });
    }
    let factor = factors
        .get(&item.factor)
        .ok_or_else(|| CalcError::UnknownFactor {
            item: item.description.clone(),
            factor: item.factor.clone(),
        })?;
    let amount = item
        .quantity
        .value_in(factor.unit)
        .map_err(|source| CalcError::Unit {
            item: item.description.clone(),
            factor: factor.id.clone(),
            source,
        })?;
    Ok(factor.per_unit().checked_scale(amount)?)
}

/// How the burden of a process with several products is shared out (ISO 14044 §4.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationMethod {
    /// The process makes one product and keeps its whole burden.
    None,
    Mass,
    Economic,
    Energy,
}

impl fmt::Display for AllocationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocationMethod::None => "no allocation",
            AllocationMethod::Mass => "mass allocation",
            AllocationMethod::Economic => "economic allocation",
            AllocationMethod::Energy => "energy allocation",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllocationError {
    #[error("an allocated share must be greater than 0 and at most 1, found {share}")]
    ShareOutOfRange { share: Decimal },
    #[error("without allocation the product keeps the whole burden (share 1), found {share}")]
    NoneWithPartialShare { share: Decimal },
    #[error("allocation weights must be positive for the product and non-negative for co-products")]
    InvalidWeights,
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// The method and the share of a process's burden that the product carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAllocation")]
pub struct Allocation {
    method: AllocationMethod,
    share: Decimal,
}

#[derive(Deserialize)]
struct RawAllocation {
    method: AllocationMethod,
    share: Decimal,
}

impl TryFrom<RawAllocation> for Allocation {
    type Error = AllocationError;
    fn try_from(raw: RawAllocation) -> Result<Self, AllocationError> {
        Allocation::new(raw.method, raw.share)
    }
}

impl Default for Allocation {
    fn default() -> Self {
        Allocation::none()
    }
}

impl Allocation {
    pub fn none() -> Allocation {
        Allocation {
            method: AllocationMethod::None,
            share: Decimal::ONE,
        }
    }

    pub fn new(method: AllocationMethod, share: Decimal) -> Result<Allocation, AllocationError> {
        if share <= Decimal::ZERO || share > Decimal::ONE {
            return Err(AllocationError::ShareOutOfRange { share });
        }
        if method == AllocationMethod::None && share != Decimal::ONE {
            return Err(AllocationError::NoneWithPartialShare { share });
        }
        Ok(Allocation { method, share })
    }

    /// The share from the outputs' weights in the method's terms: masses for mass allocation,
    /// revenues for economic, energy contents for energy allocation.
    pub fn from_outputs(
        method: AllocationMethod,
        product: Decimal,
        co_products: &[Decimal],
    ) -> Result<Allocation, AllocationError> {
        if product <= Decimal::ZERO || co_products.iter().any(|w| *w < Decimal::ZERO) {
            return Err(AllocationError::InvalidWeights);
        }
        let mut all = product;
        for weight in co_products {
            all = num::add(all, *weight)?;
        }
        Allocation::new(method, num::div(product, all)?)
    }

    pub fn method(&self) -> AllocationMethod {
        self.method
    }

    pub fn share(&self) -> Decimal {
        self.share
    }
}

/// A company's own production step for one part: the activity data per one declared unit of
/// the part, before allocation, and the allocation to apply to the whole step (its own
/// activities and the inputs its bill of materials lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductionProcess {
    pub part: TraceId,
    /// The unit the part's footprint is declared per (the Ouranos `amount_required_unit`).
    pub declared_unit: Unit,
    pub activities: Vec<ActivityItem>,
    #[serde(default)]
    pub allocation: Allocation,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::num::d;

    pub(crate) fn item(
        description: &str,
        kind: ActivityKind,
        stage: LifeCycleStage,
        quantity: &str,
        unit: Unit,
        factor: &str,
    ) -> ActivityItem {
        ActivityItem {
            description: description.into(),
            kind,
            stage,
            quantity: Quantity::new(d(quantity), unit),
            factor: factor.into(),
            data_quality: None,
            evidence: Vec::new(),
        }
    }

    pub(crate) fn grid(region: &str) -> ActivityKind {
        ActivityKind::Electricity {
            source: ElectricitySource::Grid {
                region: region.into(),
            },
        }
    }

    #[test]
    fn each_kind_multiplies_quantity_by_factor_in_the_factors_unit() {
        let factors = FactorLibrary::bundled();
        let main = LifeCycleStage::MainProduction;
        let cases = [
            // 1 MWh of Japanese grid power at 0.44 kg/kWh.
            (
                item(
                    "power",
                    grid("JP"),
                    main,
                    "1",
                    Unit::MegawattHour,
                    "electricity.grid.jp",
                ),
                "440",
            ),
            // 3.6 MJ is 1 kWh.
            (
                item(
                    "power",
                    grid("CN"),
                    main,
                    "3.6",
                    Unit::Megajoule,
                    "electricity.grid.cn",
                ),
                "0.57",
            ),
            // 1 GJ of natural gas at 0.0561 kg/MJ.
            (
                item(
                    "gas",
                    ActivityKind::FuelAndHeat,
                    main,
                    "1",
                    Unit::Gigajoule,
                    "fuel.natural_gas.combustion",
                ),
                "56.1",
            ),
            // 500 l of diesel is 0.5 m³.
            (
                item(
                    "diesel",
                    ActivityKind::FuelAndHeat,
                    main,
                    "0.5",
                    Unit::CubicMetre,
                    "fuel.diesel.combustion",
                ),
                "1340",
            ),
            (
                item(
                    "truck",
                    ActivityKind::Transport {
                        mode: TransportMode::Road,
                    },
                    LifeCycleStage::Distribution,
                    "1000",
                    Unit::TonneKilometre,
                    "transport.road.truck",
                ),
                "107",
            ),
            // 250 g of copper.
            (
                item(
                    "copper",
                    ActivityKind::Material,
                    LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
                    "250",
                    Unit::Gram,
                    "material.copper.cathode",
                ),
                "1.025",
            ),
            (
                item(
                    "CO2 vent",
                    ActivityKind::ProcessEmission,
                    main,
                    "2",
                    Unit::Tonne,
                    "process.direct.fossil_co2e",
                ),
                "2000",
            ),
        ];
        for (activity, fossil) in cases {
            let emissions = calculate_item(&activity, &factors).unwrap();
            assert_eq!(emissions.fossil, d(fossil), "{}", activity.description);
            assert_eq!(emissions.biogenic, Decimal::ZERO);
        }
        let biogenic = calculate_item(
            &item(
                "fermentation",
                ActivityKind::ProcessEmission,
                main,
                "3",
                Unit::Kilogram,
                "process.direct.biogenic_co2",
            ),
            &factors,
        )
        .unwrap();
        assert_eq!(
            biogenic,
            Emissions {
                fossil: d("0"),
                biogenic: d("3"),
                land_use_change: d("0")
            }
        );
    }

    #[test]
    fn refuses_items_that_cannot_be_computed() {
        let factors = FactorLibrary::bundled();
        let main = LifeCycleStage::MainProduction;
        let cases = [
            (
                item(
                    "power",
                    grid("JP"),
                    main,
                    "5",
                    Unit::Kilogram,
                    "electricity.grid.jp",
                ),
                "activity \"power\" is electricity and must be measured in energy, not in kg",
            ),
            (
                item(
                    "truck",
                    ActivityKind::Transport {
                        mode: TransportMode::Road,
                    },
                    main,
                    "5",
                    Unit::Kilogram,
                    "transport.road.truck",
                ),
                "activity \"truck\" is transport and must be measured in freight, not in kg",
            ),
            (
                item(
                    "copper",
                    ActivityKind::Material,
                    main,
                    "5",
                    Unit::Litre,
                    "material.copper.cathode",
                ),
                "activity \"copper\" cannot use factor material.copper.cathode: cannot convert l to kg: l measures volume and kg measures mass",
            ),
            (
                item(
                    "unobtainium",
                    ActivityKind::Material,
                    main,
                    "5",
                    Unit::Kilogram,
                    "material.unobtainium",
                ),
                "activity \"unobtainium\" refers to emission factor material.unobtainium, which is not in the library",
            ),
            (
                item(
                    "copper",
                    ActivityKind::Material,
                    main,
                    "-5",
                    Unit::Kilogram,
                    "material.copper.cathode",
                ),
                "activity \"copper\" has a negative quantity -5 kg; record credits as separate factors",
            ),
        ];
        for (activity, message) in cases {
            assert_eq!(
                calculate_item(&activity, &factors).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn allocation_shares_follow_the_outputs() {
        let mass = Allocation::from_outputs(AllocationMethod::Mass, d("3"), &[d("1")]).unwrap();
        assert_eq!(mass.share(), d("0.75"));
        assert_eq!(mass.method(), AllocationMethod::Mass);
        let economic =
            Allocation::from_outputs(AllocationMethod::Economic, d("900"), &[d("50"), d("50")])
                .unwrap();
        assert_eq!(economic.share(), d("0.9"));
        assert_eq!(
            Allocation::new(AllocationMethod::Mass, d("1.2"))
                .unwrap_err()
                .to_string(),
            "an allocated share must be greater than 0 and at most 1, found 1.2"
        );
        assert!(Allocation::new(AllocationMethod::None, d("0.5")).is_err());
        assert!(Allocation::from_outputs(AllocationMethod::Energy, d("0"), &[]).is_err());
        let json = serde_json::to_string(&mass).unwrap();
        assert_eq!(json, r#"{"method":"mass","share":"0.75"}"#);
        assert!(serde_json::from_str::<Allocation>(r#"{"method":"mass","share":"0"}"#).is_err());
    }

    #[test]
    fn an_activity_item_reads_as_flat_json() {
        let mut activity = item(
            "grid power",
            grid("JP"),
            LifeCycleStage::MainProduction,
            "40",
            Unit::KilowattHour,
            "electricity.grid.jp",
        );
        activity.data_quality = Some(DataQualityRating::new(d("1"), d("2"), d("1.5")).unwrap());
        let json = serde_json::to_value(&activity).unwrap();
        assert_eq!(json["kind"], "electricity");
        assert_eq!(json["source"]["type"], "grid");
        assert_eq!(json["stage"], "main_production");
        let back: ActivityItem = serde_json::from_value(json).unwrap();
        assert_eq!(back, activity);
        let mut using = serde_json::to_value(&activity).unwrap();
        using["stage"] = "use".into();
        let err = serde_json::from_value::<ActivityItem>(using).unwrap_err();
        assert!(err.to_string().contains("use stage is excluded"), "{err}");
    }
}
