//! Footprint results and their roll-up over bills of materials and supplier results.
//!
//! A company combines three things, per declared unit of its product: its own activity data
//! (`ProductionProcess`), its internal multi-level bill of materials, and the results its
//! suppliers disclosed for the parts it buys. It never sees a supplier's activity data,
//! factors or bill of materials, only the projection the supplier chose (`Disclosure`), and
//! it hands its own customers a projection of its result in turn.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::activity::{Allocation, CalcError, Emissions, ProductionProcess, calculate_item};
use crate::bom::BillOfMaterials;
use crate::company::TraceId;
use crate::factor::FactorLibrary;
use crate::num::{self, Overflow};
use crate::quality::{DataQualityRating, Sha256Hex, StageDataQuality};
use crate::stage::{ByStage, LifeCycleStage};
use crate::unit::{Quantity, Unit, UnitError};

/// The carbon footprint of one declared unit of a part, as the company that makes it
/// computed it. This is the company's own record; what others see is a `DisclosedFootprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FootprintResult {
    pub part: TraceId,
    /// All figures are kg CO2e per one of this unit.
    pub declared_unit: Unit,
    pub stages: ByStage<Emissions>,
    /// The sum of the stages.
    pub total: Emissions,
    /// The part of each stage that came in through the bill of materials rather than from
    /// the part's own production step: Ouranos reports these apart (`preComponent`,
    /// `mainComponent`). Never disclosed, since with the stages it reveals the company's own
    /// share.
    pub from_components: ByStage<Emissions>,
    pub data_quality: ByStage<Option<StageDataQuality>>,
    /// The allocation applied to the part's own production step.
    pub allocation: Allocation,
    /// Digests of the evidence behind the result: the company's own and those its suppliers
    /// disclosed.
    pub evidence: BTreeSet<Sha256Hex>,
    pub computed_at: DateTime<Utc>,
}

impl FootprintResult {
    pub fn total_kg_co2e(&self) -> Decimal {
        self.total.total()
    }
}

/// How much of a result a recipient may see. Each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// One number: kg CO2e per declared unit.
    TotalOnly,
    /// The four stages with fossil, biogenic and land-use change apart, and the allocation.
    /// The least a customer needs to roll the result up.
    StageSplit,
    /// And the data quality of each stage.
    StageSplitWithDqr,
    /// And the evidence digests, for a verifier.
    Full,
}

/// What a recipient sees of a `FootprintResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedFootprint {
    pub part: TraceId,
    pub declared_unit: Unit,
    pub disclosure: Disclosure,
    pub total_kg_co2e: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<ByStage<Emissions>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<Allocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<ByStage<Option<StageDataQuality>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<BTreeSet<Sha256Hex>>,
    pub computed_at: DateTime<Utc>,
}

impl Disclosure {
    pub fn project(self, result: &FootprintResult) -> DisclosedFootprint {
        let at_least = |level: Disclosure| self >= level;
        DisclosedFootprint {
            part: result.part,
            declared_unit: result.declared_unit,
            disclosure: self,
            total_kg_co2e: result.total_kg_co2e(),
            stages: at_least(Disclosure::StageSplit).then_some(result.stages),
            allocation: at_least(Disclosure::StageSplit).then_some(result.allocation),
            data_quality: at_least(Disclosure::StageSplitWithDqr).then_some(result.data_quality),
            evidence: at_least(Disclosure::Full).then(|| result.evidence.clone()),
            computed_at: result.computed_at,
        }
    }
}

/// The disclosure level per recipient company; anyone not listed gets the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosurePolicy {
    pub default: Disclosure,
    /// Recipients by Ouranos `operator_id`.
    #[serde(default)]
    pub recipients: BTreeMap<Uuid, Disclosure>,
}

impl Default for DisclosurePolicy {
    fn default() -> Self {
        DisclosurePolicy::new(Disclosure::TotalOnly)
    }
}

impl DisclosurePolicy {
    pub fn new(default: Disclosure) -> DisclosurePolicy {
        DisclosurePolicy {
            default,
            recipients: BTreeMap::new(),
        }
    }

    pub fn with_recipient(mut self, recipient: Uuid, level: Disclosure) -> DisclosurePolicy {
        self.recipients.insert(recipient, level);
        self
    }

    pub fn level_for(&self, recipient: &Uuid) -> Disclosure {
        self.recipients
            .get(recipient)
            .copied()
            .unwrap_or(self.default)
    }

    pub fn project_for(&self, recipient: &Uuid, result: &FootprintResult) -> DisclosedFootprint {
        self.level_for(recipient).project(result)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RollupError {
    #[error(
        "part {part} has children in the bill of materials but no production process; a \
         process (possibly without activities) states its declared unit and allocation"
    )]
    MissingProcess { part: TraceId },
    #[error(
        "part {part} has no production process, no bill of materials and no supplier result, \
         so its footprint is unknown"
    )]
    MissingFootprint { part: TraceId },
    #[error(
        "part {part} has a supplier result and is also produced in house (a process or \
         children in the bill of materials); it must be one or the other"
    )]
    AmbiguousPart { part: TraceId },
    #[error(
        "the supplier result for part {part} was disclosed as {disclosure:?}, which withholds \
         the stage split a roll-up needs; ask the supplier for StageSplit or more"
    )]
    SupplierStagesWithheld {
        part: TraceId,
        disclosure: Disclosure,
    },
    #[error(
        "the supplier result for part {part} states a total of {stated} kg CO2e but its stages \
         add up to {stage_sum}"
    )]
    InconsistentSupplierTotal {
        part: TraceId,
        stated: Decimal,
        stage_sum: Decimal,
    },
    #[error("the supplier result for part {part} gives a rated share of {share}, outside 0 to 1")]
    RatedShareOutOfRange { part: TraceId, share: Decimal },
    #[error(
        "part {parent} needs {amount} of part {child}, whose footprint is declared per \
         {child_unit}: {source}"
    )]
    BomUnit {
        parent: TraceId,
        child: TraceId,
        amount: Quantity,
        child_unit: Unit,
        #[source]
        source: UnitError,
    },
    #[error("the production process of part {part}: {source}")]
    Process {
        part: TraceId,
        #[source]
        source: CalcError,
    },
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// Where a roll-up finds a part's production process or supplier result. Implemented for
/// `HashMap` and `BTreeMap` by trace id, holding values directly or boxed, and for a slice of
/// processes or a single one, so that a store can hand over whatever it keeps in memory
/// without copying.
pub trait PartLookup<T> {
    fn lookup(&self, part: &TraceId) -> Option<&T>;
}

impl<T, V: Borrow<T>, S: BuildHasher> PartLookup<T> for HashMap<TraceId, V, S> {
    fn lookup(&self, part: &TraceId) -> Option<&T> {
        self.get(part).map(Borrow::borrow)
    }
}

impl<T, V: Borrow<T>> PartLookup<T> for BTreeMap<TraceId, V> {
    fn lookup(&self, part: &TraceId) -> Option<&T> {
        self.get(part).map(Borrow::borrow)
    }
}

/// A company's processes as a list, searched in order: fine for the handful a company has.
impl PartLookup<ProductionProcess> for [ProductionProcess] {
    fn lookup(&self, part: &TraceId) -> Option<&ProductionProcess> {
        self.iter().find(|process| process.part == *part)
    }
}

/// A single process: the common case of a company making one part from bought parts.
impl PartLookup<ProductionProcess> for ProductionProcess {
    fn lookup(&self, part: &TraceId) -> Option<&ProductionProcess> {
        (self.part == *part).then_some(self)
    }
}

/// Everything a roll-up reads. Supplier results are keyed by the trace id the company's own
/// bill of materials uses for the bought part (in Ouranos the trade's `downstream_trace_id`),
/// not by the supplier's trace id.
#[derive(Clone, Copy)]
pub struct RollupInput<'a> {
    pub product: TraceId,
    pub bom: &'a BillOfMaterials,
    pub processes: &'a dyn PartLookup<ProductionProcess>,
    pub supplier_results: &'a dyn PartLookup<DisclosedFootprint>,
    pub factors: &'a FactorLibrary,
    pub computed_at: DateTime<Utc>,
}

/// Computes the footprint of one declared unit of `input.product`.
///
/// Each part below the product is computed once, children first: a bought part from its
/// supplier's disclosed stages, a part made in house from its own activities plus its
/// children's footprints times the bill-of-materials amounts (converted into each child's
/// declared unit), times the allocated share. Stage data quality is the emission-weighted
/// mean over all contributions that carry a rating.
pub fn roll_up(input: &RollupInput<'_>) -> Result<FootprintResult, RollupError> {
    let process = input
        .processes
        .lookup(&input.product)
        .ok_or(RollupError::MissingProcess {
            part: input.product,
        })?;
    let mut evidence = BTreeSet::new();
    // Most parts in a chain are made from bought parts only, or from nothing at all; they
    // need no traversal and no bookkeeping of intermediate parts.
    if !input.bom.has_children(&input.product) {
        if input.supplier_results.lookup(&input.product).is_some() {
            return Err(RollupError::AmbiguousPart {
                part: input.product,
            });
        }
        collect_evidence(process, &mut evidence);
        let sums = PartSums::from_process(input, process, &[], &HashMap::new())?;
        return sums.into_result(
            input.product,
            process.allocation,
            evidence,
            input.computed_at,
        );
    }
    let order = input.bom.children_first_from(input.product);
    // Footprints in the order computed; `positions` finds a child's. The product comes last
    // and is never looked up, which spares the map entirely for a part without children.
    let mut computed: Vec<PartSums> = Vec::with_capacity(order.len());
    let mut positions: HashMap<TraceId, usize> = HashMap::with_capacity(order.len());
    for (index, part) in order.iter().enumerate() {
        let sums = part_sums(input, *part, &computed, &positions, &mut evidence)?;
        computed.push(sums);
        if index + 1 < order.len() {
            positions.insert(*part, index);
        }
    }
    let product = computed.pop().ok_or(RollupError::MissingFootprint {
        part: input.product,
    })?;
    product.into_result(
        input.product,
        process.allocation,
        evidence,
        input.computed_at,
    )
}

fn part_sums(
    input: &RollupInput<'_>,
    part: TraceId,
    computed: &[PartSums],
    positions: &HashMap<TraceId, usize>,
    evidence: &mut BTreeSet<Sha256Hex>,
) -> Result<PartSums, RollupError> {
    let process = input.processes.lookup(&part);
    let has_children = input.bom.has_children(&part);
    let supplied = input.supplier_results.lookup(&part);
    match (process, supplied) {
        (Some(_), Some(_)) => Err(RollupError::AmbiguousPart { part }),
        (None, Some(_)) if has_children => Err(RollupError::AmbiguousPart { part }),
        (None, Some(result)) => {
            if let Some(digests) = &result.evidence {
                evidence.extend(digests.iter().cloned());
            }
            PartSums::from_supplier(part, result)
        }
        (Some(process), None) => {
            collect_evidence(process, evidence);
            PartSums::from_process(input, process, computed, positions)
        }
        (None, None) if has_children => Err(RollupError::MissingProcess { part }),
        (None, None) => Err(RollupError::MissingFootprint { part }),
    }
}

fn collect_evidence(process: &ProductionProcess, evidence: &mut BTreeSet<Sha256Hex>) {
    for item in &process.activities {
        evidence.extend(item.evidence.iter().map(|e| e.sha256.clone()));
    }
}

/// Running sums of one stage. Ratings are summed weighted by the absolute CO2e of their
/// contribution, so that scaling a child's sums by a bill-of-materials amount and adding
/// them to the parent's gives the same mean as weighting every underlying item directly.
#[derive(Debug, Clone, Copy, Default)]
struct StageSums {
    /// Whether anything was added. Most parts touch one or two stages; the others are
    /// skipped instead of summing zeros.
    touched: bool,
    emissions: Emissions,
    weight: Decimal,
    rated_weight: Decimal,
    ter: Decimal,
    ger: Decimal,
    tir: Decimal,
}

impl StageSums {
    fn add(
        &mut self,
        emissions: &Emissions,
        rating: Option<DataQualityRating>,
        rated_share: Decimal,
    ) -> Result<Decimal, Overflow> {
        let total = emissions.checked_total()?;
        // A contribution of nothing changes neither the emissions nor the weighted ratings.
        if emissions.fossil.is_zero()
            && emissions.biogenic.is_zero()
            && emissions.land_use_change.is_zero()
        {
            return Ok(total);
        }
        self.touched = true;
        self.emissions = self.emissions.checked_add(emissions)?;
        let weight = total.abs();
        self.weight = num::add(self.weight, weight)?;
        if let Some(rating) = rating {
            let rated = if rated_share == Decimal::ONE {
                weight
            } else {
                num::mul(weight, rated_share)?
            };
            self.rated_weight = num::add(self.rated_weight, rated)?;
            self.ter = num::add(self.ter, num::mul(rating.ter(), rated)?)?;
            self.ger = num::add(self.ger, num::mul(rating.ger(), rated)?)?;
            self.tir = num::add(self.tir, num::mul(rating.tir(), rated)?)?;
        }
        Ok(total)
    }

    fn add_scaled(&mut self, other: &StageSums, factor: Decimal) -> Result<(), Overflow> {
        if !other.touched {
            return Ok(());
        }
        self.touched = true;
        self.emissions = self
            .emissions
            .checked_add(&other.emissions.checked_scale(factor)?)?;
        self.weight = num::add(self.weight, num::mul(other.weight, factor)?)?;
        self.rated_weight = num::add(self.rated_weight, num::mul(other.rated_weight, factor)?)?;
        self.ter = num::add(self.ter, num::mul(other.ter, factor)?)?;
        self.ger = num::add(self.ger, num::mul(other.ger, factor)?)?;
        self.tir = num::add(self.tir, num::mul(other.tir, factor)?)?;
        Ok(())
    }

    fn scale(&self, factor: Decimal) -> Result<StageSums, Overflow> {
        let mut scaled = StageSums::default();
        scaled.add_scaled(self, factor)?;
        Ok(scaled)
    }

    fn quality(&self) -> Result<Option<StageDataQuality>, Overflow> {
        if !self.touched || self.rated_weight.is_zero() || self.weight.is_zero() {
            return Ok(None);
        }
        // Nine significant digits of a weight are plenty for ratings rounded to two places,
        // and a divisor of nine digits takes rust_decimal's fast single-word division:
        // division is otherwise the slowest operation of a roll-up.
        let coarse = |value: Decimal| value.round_sf(9).unwrap_or(value);
        let rated_weight = coarse(self.rated_weight);
        let mean = |sum: Decimal| -> Result<Decimal, Overflow> {
            Ok(num::round_rating(num::div(sum, rated_weight)?))
        };
        let rating = DataQualityRating::clamped(mean(self.ter)?, mean(self.ger)?, mean(self.tir)?);
        let rated_share = if self.rated_weight == self.weight {
            Decimal::ONE
        } else {
            num::div(rated_weight, coarse(self.weight))?
                .round_dp(4)
                .min(Decimal::ONE)
                .normalize()
        };
        Ok(Some(StageDataQuality {
            rating,
            rated_share,
        }))
    }
}

/// A part's footprint while a roll-up runs: per declared unit, before rounding.
#[derive(Debug, Clone)]
struct PartSums {
    unit: Unit,
    stages: ByStage<StageSums>,
    from_components: ByStage<Emissions>,
}

impl PartSums {
    fn from_supplier(part: TraceId, result: &DisclosedFootprint) -> Result<PartSums, RollupError> {
        let stages = result
            .stages
            .as_ref()
            .ok_or(RollupError::SupplierStagesWithheld {
                part,
                disclosure: result.disclosure,
            })?;
        let mut stage_sum = Decimal::ZERO;
        let mut sums = ByStage::<StageSums>::default();
        for stage in LifeCycleStage::ALL {
            let quality = result
                .data_quality
                .as_ref()
                .and_then(|by_stage| *by_stage.get(stage));
            if let Some(quality) = quality
                && (quality.rated_share < Decimal::ZERO || quality.rated_share > Decimal::ONE)
            {
                return Err(RollupError::RatedShareOutOfRange {
                    part,
                    share: quality.rated_share,
                });
            }
            let stage_total = sums.get_mut(stage).add(
                stages.get(stage),
                quality.map(|q| q.rating),
                quality.map_or(Decimal::ZERO, |q| q.rated_share),
            )?;
            stage_sum = num::add(stage_sum, stage_total)?;
        }
        // Another implementation may round stages and total separately.
        let tolerance = Decimal::new(1, 6);
        if num::sub(stage_sum, result.total_kg_co2e)?.abs() > tolerance {
            return Err(RollupError::InconsistentSupplierTotal {
                part,
                stated: result.total_kg_co2e,
                stage_sum,
            });
        }
        Ok(PartSums {
            unit: result.declared_unit,
            stages: sums,
            from_components: ByStage::default(),
        })
    }

    fn from_process(
        input: &RollupInput<'_>,
        process: &ProductionProcess,
        computed: &[PartSums],
        positions: &HashMap<TraceId, usize>,
    ) -> Result<PartSums, RollupError> {
        let part = process.part;
        let mut stages = ByStage::<StageSums>::default();
        for item in &process.activities {
            let emissions = calculate_item(item, input.factors)
                .map_err(|source| RollupError::Process { part, source })?;
            stages
                .get_mut(item.stage)
                .add(&emissions, item.data_quality, Decimal::ONE)?;
        }
        let mut from_components = ByStage::<Emissions>::default();
        for line in input.bom.children_of(&part) {
            // Children come first in the order, so a missing entry is a bug in the order.
            let child = positions
                .get(&line.child)
                .and_then(|index| computed.get(*index))
                .ok_or(RollupError::MissingFootprint { part: line.child })?;
            let amount = line
                .amount_per_parent
                .value_in(child.unit)
                .map_err(|source| RollupError::BomUnit {
                    parent: part,
                    child: line.child,
                    amount: line.amount_per_parent,
                    child_unit: child.unit,
                    source,
                })?;
            for stage in LifeCycleStage::ALL {
                let child_stage = child.stages.get(stage);
                if !child_stage.touched {
                    continue;
                }
                stages.get_mut(stage).add_scaled(child_stage, amount)?;
                let component = from_components.get_mut(stage);
                *component =
                    component.checked_add(&child_stage.emissions.checked_scale(amount)?)?;
            }
        }
        let share = process.allocation.share();
        if share != Decimal::ONE {
            stages = stages.try_map(|_, sums| sums.scale(share))?;
            from_components = from_components.try_map(|_, e| e.checked_scale(share))?;
        }
        Ok(PartSums {
            unit: process.declared_unit,
            stages,
            from_components,
        })
    }

    fn into_result(
        self,
        part: TraceId,
        allocation: Allocation,
        evidence: BTreeSet<Sha256Hex>,
        computed_at: DateTime<Utc>,
    ) -> Result<FootprintResult, RollupError> {
        let stages = self
            .stages
            .map(|_, sums| sums.emissions.map(num::round_result));
        let mut total = Emissions::ZERO;
        for (_, emissions) in stages.iter() {
            total = total.checked_add(emissions)?;
        }
        // A result whose fossil, biogenic and land-use change parts cannot be added up is
        // refused here, so that `total_kg_co2e` never has to saturate.
        total.checked_total()?;
        Ok(FootprintResult {
            part,
            declared_unit: self.unit,
            stages,
            total,
            from_components: self.from_components.map(|_, e| e.map(num::round_result)),
            data_quality: self.stages.try_map(|_, sums| sums.quality())?,
            allocation,
            evidence,
            computed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::tests::{grid, item};
    use crate::activity::{ActivityItem, ActivityKind, AllocationMethod, TransportMode};
    use crate::bom::tests::{id, line};
    use crate::num::d;
    use crate::quality::Evidence;
    use chrono::TimeZone;

    const RAW: LifeCycleStage = LifeCycleStage::RawMaterialAcquisitionAndPreProcessing;
    const MAIN: LifeCycleStage = LifeCycleStage::MainProduction;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 4, 1, 9, 0, 0).unwrap()
    }

    fn rating(ter: &str, ger: &str, tir: &str) -> Option<DataQualityRating> {
        Some(DataQualityRating::new(d(ter), d(ger), d(tir)).unwrap())
    }

    fn process(part: u128, unit: Unit, activities: Vec<ActivityItem>) -> ProductionProcess {
        ProductionProcess {
            part: id(part),
            declared_unit: unit,
            activities,
            allocation: Allocation::none(),
        }
    }

    fn processes(list: Vec<ProductionProcess>) -> HashMap<TraceId, ProductionProcess> {
        list.into_iter().map(|p| (p.part, p)).collect()
    }

    fn run(
        product: u128,
        bom: &BillOfMaterials,
        processes: &HashMap<TraceId, ProductionProcess>,
        suppliers: &HashMap<TraceId, DisclosedFootprint>,
    ) -> Result<FootprintResult, RollupError> {
        roll_up(&RollupInput {
            product: id(product),
            bom,
            processes,
            supplier_results: suppliers,
            factors: &FactorLibrary::bundled(),
            computed_at: at(),
        })
    }

    /// A supplier's result for part `n`: `raw` kg fossil in raw materials and `main` in main
    /// production per kg, rated as given.
    fn supplier(n: u128, raw: &str, main: &str, level: Disclosure) -> DisclosedFootprint {
        let mut result = FootprintResult {
            part: id(1000 + n),
            declared_unit: Unit::Kilogram,
            stages: ByStage::default(),
            total: Emissions::ZERO,
            from_components: ByStage::default(),
            data_quality: ByStage::default(),
            allocation: Allocation::none(),
            evidence: [Sha256Hex::of_bytes(format!("supplier {n}").as_bytes())].into(),
            computed_at: at(),
        };
        result
            .stages
            .raw_material_acquisition_and_pre_processing
            .fossil = d(raw);
        result.stages.main_production.fossil = d(main);
        result.total.fossil = d(raw) + d(main);
        result
            .data_quality
            .raw_material_acquisition_and_pre_processing = Some(StageDataQuality {
            rating: rating("3", "3", "3").unwrap(),
            rated_share: d("1"),
        });
        let mut disclosed = level.project(&result);
        disclosed.part = id(n);
        disclosed
    }

    #[test]
    fn own_activities_only() {
        let bom = BillOfMaterials::default();
        let procs = processes(vec![process(
            1,
            Unit::Kilogram,
            vec![
                item(
                    "power",
                    grid("JP"),
                    MAIN,
                    "10",
                    Unit::KilowattHour,
                    "electricity.grid.jp",
                ),
                item(
                    "copper",
                    ActivityKind::Material,
                    RAW,
                    "0.5",
                    Unit::Kilogram,
                    "material.copper.cathode",
                ),
                item(
                    "truck",
                    ActivityKind::Transport {
                        mode: TransportMode::Road,
                    },
                    LifeCycleStage::Distribution,
                    "0.2",
                    Unit::TonneKilometre,
                    "transport.road.truck",
                ),
            ],
        )]);
        let result = run(1, &bom, &procs, &HashMap::new()).unwrap();
        assert_eq!(result.stages.main_production.fossil, d("4.4"));
        assert_eq!(
            result
                .stages
                .raw_material_acquisition_and_pre_processing
                .fossil,
            d("2.05")
        );
        assert_eq!(result.stages.distribution.fossil, d("0.0214"));
        assert_eq!(result.stages.end_of_life_and_recycling, Emissions::ZERO);
        assert_eq!(result.total_kg_co2e(), d("6.4714"));
        assert_eq!(result.declared_unit, Unit::Kilogram);
        assert_eq!(result.from_components, ByStage::default());
        assert_eq!(result.data_quality, ByStage::default());
    }

    #[test]
    fn combines_own_activities_internal_levels_and_suppliers_with_unit_conversion() {
        // Product 1 (piece) needs 2 pieces of internal part 2 and 500 g of bought part 3.
        // Part 2 (piece) needs 250 g of bought part 4 and 1 kWh of power.
        let bom = BillOfMaterials::new(vec![
            line(1, 2, "2", Unit::Piece),
            line(1, 3, "500", Unit::Gram),
            line(2, 4, "0.25", Unit::Kilogram),
        ])
        .unwrap();
        let procs = processes(vec![
            process(
                1,
                Unit::Piece,
                vec![item(
                    "power",
                    grid("EU"),
                    MAIN,
                    "4",
                    Unit::KilowattHour,
                    "electricity.grid.eu27",
                )],
            ),
            process(
                2,
                Unit::Piece,
                vec![item(
                    "power",
                    grid("CN"),
                    MAIN,
                    "1",
                    Unit::KilowattHour,
                    "electricity.grid.cn",
                )],
            ),
        ]);
        let suppliers: HashMap<_, _> = [
            (id(3), supplier(3, "10", "2", Disclosure::StageSplit)),
            (id(4), supplier(4, "8", "4", Disclosure::Full)),
        ]
        .into();
        let result = run(1, &bom, &procs, &suppliers).unwrap();
        // Raw: 0.5 × 10 + 2 × 0.25 × 8 = 9. Main: 4 × 0.25 + 0.5 × 2 + 2 × (0.57 + 0.25 × 4) = 5.14.
        assert_eq!(
            result
                .stages
                .raw_material_acquisition_and_pre_processing
                .fossil,
            d("9")
        );
        assert_eq!(result.stages.main_production.fossil, d("5.14"));
        assert_eq!(result.total_kg_co2e(), d("14.14"));
        // Everything but the product's own 1 kg from power came through the bill of materials.
        assert_eq!(result.from_components.main_production.fossil, d("4.14"));
        assert_eq!(
            result
                .from_components
                .raw_material_acquisition_and_pre_processing
                .fossil,
            d("9")
        );
        // Only supplier 4's Full disclosure carried evidence digests.
        assert_eq!(result.evidence, [Sha256Hex::of_bytes(b"supplier 4")].into());
    }

    #[test]
    fn data_quality_is_emission_weighted_and_reports_coverage() {
        let mut power = item(
            "power",
            grid("JP"),
            MAIN,
            "10",
            Unit::KilowattHour,
            "electricity.grid.jp",
        );
        power.data_quality = rating("1", "1", "2");
        let mut gas = item(
            "gas",
            ActivityKind::FuelAndHeat,
            MAIN,
            "100",
            Unit::Megajoule,
            "fuel.natural_gas.combustion",
        );
        gas.data_quality = rating("4", "5", "4");
        // Unrated: 1 kg fossil CO2e.
        let vent = item(
            "vent",
            ActivityKind::ProcessEmission,
            MAIN,
            "1",
            Unit::Kilogram,
            "process.direct.fossil_co2e",
        );
        let procs = processes(vec![process(1, Unit::Piece, vec![power, gas, vent])]);
        let result = run(1, &BillOfMaterials::default(), &procs, &HashMap::new()).unwrap();
        // Weights: power 4.4, gas 5.61, vent 1 (unrated).
        // TeR = (4.4 × 1 + 5.61 × 4) / 10.01 = 2.68; GeR = (4.4 + 5.61 × 5) / 10.01 = 3.24;
        // TiR = (4.4 × 2 + 5.61 × 4) / 10.01 = 3.12; rated share = 10.01 / 11.01.
        let quality = result.data_quality.main_production.unwrap();
        assert_eq!(quality.rating, rating("2.68", "3.24", "3.12").unwrap());
        assert_eq!(quality.rated_share, d("0.9092"));
        assert_eq!(
            result
                .data_quality
                .raw_material_acquisition_and_pre_processing,
            None
        );
    }

    #[test]
    fn supplier_ratings_flow_up_weighted_by_the_amount_bought() {
        let bom = BillOfMaterials::new(vec![line(1, 2, "2", Unit::Kilogram)]).unwrap();
        let mut copper = item(
            "copper",
            ActivityKind::Material,
            RAW,
            "1",
            Unit::Kilogram,
            "material.copper.cathode",
        );
        copper.data_quality = rating("1", "1", "1");
        let procs = processes(vec![process(1, Unit::Piece, vec![copper])]);
        let suppliers: HashMap<_, _> = [(
            id(2),
            supplier(2, "4.1", "0", Disclosure::StageSplitWithDqr),
        )]
        .into();
        let result = run(1, &bom, &procs, &suppliers).unwrap();
        // Own copper 4.1 at 1; supplier 2 × 4.1 = 8.2 at 3: (4.1 + 24.6) / 12.3 = 2.33.
        let quality = result
            .data_quality
            .raw_material_acquisition_and_pre_processing
            .unwrap();
        assert_eq!(quality.rating, rating("2.33", "2.33", "2.33").unwrap());
        assert_eq!(quality.rated_share, d("1"));
        // Without the supplier's ratings, its 8.2 kg count as unrated.
        let suppliers: HashMap<_, _> =
            [(id(2), supplier(2, "4.1", "0", Disclosure::StageSplit))].into();
        let result = run(1, &bom, &procs, &suppliers).unwrap();
        let quality = result
            .data_quality
            .raw_material_acquisition_and_pre_processing
            .unwrap();
        assert_eq!(quality.rating, rating("1", "1", "1").unwrap());
        assert_eq!(quality.rated_share, d("0.3333"));
    }

    #[test]
    fn allocation_scales_the_whole_step_and_is_recorded() {
        let bom = BillOfMaterials::new(vec![line(1, 2, "1", Unit::Kilogram)]).unwrap();
        let mut refinery = process(
            1,
            Unit::Kilogram,
            vec![item(
                "power",
                grid("CN"),
                MAIN,
                "10",
                Unit::KilowattHour,
                "electricity.grid.cn",
            )],
        );
        refinery.allocation =
            Allocation::from_outputs(AllocationMethod::Mass, d("3"), &[d("1")]).unwrap();
        let procs = processes(vec![refinery]);
        let suppliers: HashMap<_, _> =
            [(id(2), supplier(2, "4", "0", Disclosure::StageSplit))].into();
        let result = run(1, &bom, &procs, &suppliers).unwrap();
        assert_eq!(result.stages.main_production.fossil, d("4.275"));
        assert_eq!(
            result
                .stages
                .raw_material_acquisition_and_pre_processing
                .fossil,
            d("3")
        );
        assert_eq!(result.allocation.method(), AllocationMethod::Mass);
        assert_eq!(result.allocation.share(), d("0.75"));
    }

    #[test]
    fn fossil_biogenic_and_land_use_change_stay_apart() {
        let mut factors = FactorLibrary::bundled();
        factors
            .import_csv(
                "id,name,unit,kg_co2e_fossil,kg_co2e_biogenic,kg_co2e_land_use_change,source,geography,valid_from\n\
                 wood,Wood pallet,piece,2,-10,0.5,test,GLO,\n",
                crate::factor::FactorOrigin::CompanySpecific,
            )
            .unwrap();
        let procs = processes(vec![process(
            1,
            Unit::Piece,
            vec![
                item(
                    "pallet",
                    ActivityKind::Material,
                    RAW,
                    "2",
                    Unit::Piece,
                    "wood",
                ),
                item(
                    "power",
                    grid("JP"),
                    MAIN,
                    "1",
                    Unit::KilowattHour,
                    "electricity.grid.jp",
                ),
            ],
        )]);
        let result = roll_up(&RollupInput {
            product: id(1),
            bom: &BillOfMaterials::default(),
            processes: &procs,
            supplier_results: &HashMap::<TraceId, DisclosedFootprint>::new(),
            factors: &factors,
            computed_at: at(),
        })
        .unwrap();
        assert_eq!(
            result.total,
            Emissions {
                fossil: d("4.44"),
                biogenic: d("-20"),
                land_use_change: d("1")
            }
        );
        assert_eq!(result.total_kg_co2e(), d("-14.56"));
    }

    #[test]
    fn sums_a_hundred_thousand_small_values_exactly() {
        // 10^5 items of 0.1 g copper: each 0.0001 kg × 4.1 = 0.00041 kg CO2e.
        let activities = (0..100_000)
            .map(|_| {
                item(
                    "screw",
                    ActivityKind::Material,
                    RAW,
                    "0.1",
                    Unit::Gram,
                    "material.copper.cathode",
                )
            })
            .collect();
        let procs = processes(vec![process(1, Unit::Piece, activities)]);
        let result = run(1, &BillOfMaterials::default(), &procs, &HashMap::new()).unwrap();
        assert_eq!(result.total_kg_co2e(), d("41"));
        // The same sum in binary floating point drifts away from 41.
        let float_sum: f64 = (0..100_000).map(|_| 0.0001f64 * 4.1).sum();
        assert_ne!(float_sum.to_bits(), 41f64.to_bits());
    }

    #[test]
    fn refuses_what_it_cannot_roll_up() {
        let procs = processes(vec![process(1, Unit::Piece, vec![])]);
        let bom = BillOfMaterials::new(vec![line(1, 2, "1", Unit::Piece)]).unwrap();
        let err = run(1, &bom, &procs, &HashMap::new()).unwrap_err();
        assert_eq!(err, RollupError::MissingFootprint { part: id(2) });

        let suppliers: HashMap<_, _> =
            [(id(2), supplier(2, "1", "1", Disclosure::TotalOnly))].into();
        let err = run(1, &bom, &procs, &suppliers).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the supplier result for part 00000000-0000-0000-0000-000000000002 was disclosed as \
             TotalOnly, which withholds the stage split a roll-up needs; ask the supplier for \
             StageSplit or more"
        );

        // 1 piece of a part declared per kg.
        let suppliers: HashMap<_, _> =
            [(id(2), supplier(2, "1", "1", Disclosure::StageSplit))].into();
        let err = run(1, &bom, &procs, &suppliers).unwrap_err();
        assert_eq!(
            err.to_string(),
            "part 00000000-0000-0000-0000-000000000001 needs 1 piece of part \
             00000000-0000-0000-0000-000000000002, whose footprint is declared per kg: cannot \
             convert piece to kg: piece measures count and kg measures mass"
        );

        let mut tampered = supplier(2, "1", "1", Disclosure::StageSplit);
        tampered.total_kg_co2e = d("1");
        let suppliers: HashMap<_, _> = [(id(2), tampered)].into();
        let bom_kg = BillOfMaterials::new(vec![line(1, 2, "1", Unit::Kilogram)]).unwrap();
        assert!(matches!(
            run(1, &bom_kg, &procs, &suppliers),
            Err(RollupError::InconsistentSupplierTotal { .. })
        ));

        let both = processes(vec![
            process(1, Unit::Piece, vec![]),
            process(2, Unit::Kilogram, vec![]),
        ]);
        let suppliers: HashMap<_, _> =
            [(id(2), supplier(2, "1", "1", Disclosure::StageSplit))].into();
        assert_eq!(
            run(1, &bom_kg, &both, &suppliers).unwrap_err(),
            RollupError::AmbiguousPart { part: id(2) }
        );

        let deeper = BillOfMaterials::new(vec![
            line(1, 2, "1", Unit::Kilogram),
            line(2, 3, "1", Unit::Kilogram),
        ])
        .unwrap();
        let suppliers: HashMap<_, _> =
            [(id(3), supplier(3, "1", "1", Disclosure::StageSplit))].into();
        assert_eq!(
            run(1, &deeper, &procs, &suppliers).unwrap_err(),
            RollupError::MissingProcess { part: id(2) }
        );

        let broken = processes(vec![process(
            1,
            Unit::Piece,
            vec![item(
                "x",
                ActivityKind::Material,
                RAW,
                "1",
                Unit::Kilogram,
                "nope",
            )],
        )]);
        let err = run(1, &BillOfMaterials::default(), &broken, &HashMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the production process of part 00000000-0000-0000-0000-000000000001: activity \"x\" \
             refers to emission factor nope, which is not in the library"
        );
    }

    #[test]
    fn a_hostile_supplier_value_is_an_error_not_a_panic() {
        let bom = BillOfMaterials::new(vec![line(1, 2, "2", Unit::Kilogram)]).unwrap();
        let procs = processes(vec![process(1, Unit::Piece, vec![])]);
        let mut huge = supplier(2, "0", "0", Disclosure::StageSplit);
        let stages = huge.stages.as_mut().unwrap();
        stages.main_production.fossil = Decimal::MAX;
        huge.total_kg_co2e = Decimal::MAX;
        let suppliers: HashMap<_, _> = [(id(2), huge)].into();
        assert_eq!(
            run(1, &bom, &procs, &suppliers).unwrap_err(),
            RollupError::Overflow(Overflow)
        );
    }

    #[test]
    fn disclosure_levels_project_what_each_recipient_may_see() {
        let mut power = item(
            "power",
            grid("JP"),
            MAIN,
            "10",
            Unit::KilowattHour,
            "electricity.grid.jp",
        );
        power.data_quality = rating("2", "2", "2");
        power.evidence = vec![Evidence::of_bytes("meter-2025-03.csv", b"kWh;10")];
        let procs = processes(vec![process(1, Unit::Piece, vec![power])]);
        let result = run(1, &BillOfMaterials::default(), &procs, &HashMap::new()).unwrap();
        let customer = Uuid::from_u128(7);
        let verifier = Uuid::from_u128(8);
        let policy = DisclosurePolicy::new(Disclosure::TotalOnly)
            .with_recipient(customer, Disclosure::StageSplitWithDqr)
            .with_recipient(verifier, Disclosure::Full);

        let public = policy.project_for(&Uuid::from_u128(99), &result);
        let public_json = serde_json::to_value(&public).unwrap();
        assert_eq!(
            public_json,
            serde_json::json!({
                "part": "00000000-0000-0000-0000-000000000001",
                "declared_unit": "piece",
                "disclosure": "total_only",
                "total_kg_co2e": "4.4",
                "computed_at": "2025-04-01T09:00:00Z"
            })
        );
        let for_customer = policy.project_for(&customer, &result);
        assert!(for_customer.stages.is_some() && for_customer.data_quality.is_some());
        assert!(for_customer.evidence.is_none());
        let for_verifier = policy.project_for(&verifier, &result);
        assert_eq!(
            for_verifier.evidence.unwrap(),
            [Sha256Hex::of_bytes(b"kWh;10")].into()
        );
        // No level reveals the own / component split or a file name.
        let full_json = serde_json::to_string(&Disclosure::Full.project(&result)).unwrap();
        assert!(!full_json.contains("from_components"));
        assert!(!full_json.contains("meter-2025-03.csv"));
        let back: DisclosedFootprint = serde_json::from_str(&full_json).unwrap();
        assert_eq!(back, Disclosure::Full.project(&result));
    }

    #[test]
    fn a_result_round_trips_through_json() {
        let mut power = item(
            "power",
            grid("JP"),
            MAIN,
            "10",
            Unit::KilowattHour,
            "electricity.grid.jp",
        );
        power.data_quality = rating("2", "2", "2");
        let procs = processes(vec![process(1, Unit::Piece, vec![power])]);
        let result = run(1, &BillOfMaterials::default(), &procs, &HashMap::new()).unwrap();
        let json = serde_json::to_string(&result).unwrap();
        assert_eq!(
            serde_json::from_str::<FootprintResult>(&json).unwrap(),
            result
        );
    }
}
