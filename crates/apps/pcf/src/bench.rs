//! A synthetic supply chain for the roll-up benchmark (`tsunagu bench pcf`): deterministic,
//! seeded, with one company per part, each rolling up what its suppliers disclosed to it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::activity::{
    ActivityItem, ActivityKind, Allocation, AllocationMethod, ElectricitySource, ProductionProcess,
    TransportMode,
};
use crate::bom::{BillOfMaterials, BomLine};
use crate::company::TraceId;
use crate::factor::{FactorId, FactorLibrary};
use crate::quality::{DataQualityRating, Evidence};
use crate::rollup::{
    DisclosedFootprint, Disclosure, FootprintResult, RollupError, RollupInput, roll_up,
};
use crate::stage::LifeCycleStage;
use crate::unit::{Quantity, Unit};

/// What one benchmark run did and how long the roll-up took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BenchFigures {
    pub parts: usize,
    pub tiers: usize,
    pub bom_lines: usize,
    pub activity_items: usize,
    /// Wall time of the roll-up of every part, tier by tier; generating the chain is not
    /// included.
    pub elapsed: Duration,
    /// The final product's footprint, so that runs can be compared for equality.
    pub product_kg_co2e: Decimal,
}

/// Builds a `parts`-part chain over `tiers` tiers (seed 1) and times its roll-up with `now`,
/// which the caller provides (`Instant::now`) because this crate does not read clocks.
pub fn bench_rollup(
    parts: usize,
    tiers: usize,
    mut now: impl FnMut() -> Instant,
) -> Result<BenchFigures, RollupError> {
    let chain = SyntheticChain::generate(parts, tiers, 1);
    let started = now();
    let product = chain.roll_up(DateTime::<Utc>::UNIX_EPOCH)?;
    let elapsed = now().saturating_duration_since(started);
    Ok(BenchFigures {
        parts: chain.parts(),
        tiers: chain.tiers.len(),
        bom_lines: chain.bom_lines(),
        activity_items: chain.activity_items(),
        elapsed,
        product_kg_co2e: product.total_kg_co2e(),
    })
}

struct SyntheticPart {
    trace_id: TraceId,
    /// The company's own production step for the part.
    process: ProductionProcess,
    /// Lines to the supplier parts one tier further up the chain.
    bom: BillOfMaterials,
}

struct Tier {
    parts: Vec<SyntheticPart>,
}

/// Tier 0 is the final product (one battery pack, per piece); the last tier mines and
/// refines raw materials. Every part of tier k + 1 is bought by one part of tier k, which
/// sees only the supplier's `StageSplitWithDqr` disclosure.
pub struct SyntheticChain {
    tiers: Vec<Tier>,
    factors: FactorLibrary,
}

impl SyntheticChain {
    /// At least one part per tier; `parts` below `tiers` is raised to `tiers`.
    pub fn generate(parts: usize, tiers: usize, seed: u64) -> SyntheticChain {
        let tiers = tiers.max(1);
        let parts = parts.max(tiers);
        let sizes = tier_sizes(parts, tiers);
        let mut random = SplitMix64(seed);
        let mut next_id = 0u128;
        let mut new_id = || {
            next_id += 1;
            TraceId::new(Uuid::from_u128(u128::from(seed) << 64 | next_id))
        };
        let ids: Vec<Vec<TraceId>> = sizes
            .iter()
            .map(|size| (0..*size).map(|_| new_id()).collect())
            .collect();
        let deepest = tiers - 1;
        let mut built = Vec::with_capacity(tiers);
        for (depth, tier_ids) in ids.iter().enumerate() {
            // Round-robin: supplier part j of the next tier goes to customer part j mod n.
            let mut lines: Vec<Vec<BomLine>> = vec![Vec::new(); tier_ids.len()];
            if let Some(suppliers) = ids.get(depth + 1) {
                for (j, child) in suppliers.iter().enumerate() {
                    let parent = j % tier_ids.len();
                    lines[parent].push(BomLine {
                        parent: tier_ids[parent],
                        child: *child,
                        amount_per_parent: random.bom_amount(),
                    });
                }
            }
            let mut parts = Vec::with_capacity(tier_ids.len());
            for (trace_id, lines) in tier_ids.iter().zip(lines) {
                let declared_unit = if depth == 0 {
                    Unit::Piece
                } else {
                    Unit::Kilogram
                };
                parts.push(SyntheticPart {
                    trace_id: *trace_id,
                    process: random.process(*trace_id, declared_unit, depth, deepest),
                    bom: BillOfMaterials::new(lines)
                        .expect("a synthetic tier only has lines to the next tier"),
                });
            }
            built.push(Tier { parts });
        }
        SyntheticChain {
            tiers: built,
            factors: FactorLibrary::bundled(),
        }
    }

    /// Rolls every part up, from the raw materials to the product, and returns the
    /// product's result.
    pub fn roll_up(&self, computed_at: DateTime<Utc>) -> Result<FootprintResult, RollupError> {
        // What the previous tier disclosed, and what this tier discloses; the two maps swap
        // roles from tier to tier and keep their memory.
        let largest = self.tiers.iter().map(|t| t.parts.len()).max().unwrap_or(0);
        let mut disclosed: HashMap<TraceId, Box<DisclosedFootprint>> =
            HashMap::with_capacity(largest);
        let mut disclosing = HashMap::with_capacity(largest);
        let mut product = None;
        for tier in self.tiers.iter().rev() {
            disclosing.clear();
            for part in &tier.parts {
                let result = roll_up(&RollupInput {
                    product: part.trace_id,
                    bom: &part.bom,
                    processes: &part.process,
                    supplier_results: &disclosed,
                    factors: &self.factors,
                    computed_at,
                })?;
                // Boxed: the maps stay small and cache-friendly, and a customer's lookups do not
                // drag six-hundred-byte entries through the cache.
                let disclosure = Box::new(Disclosure::StageSplitWithDqr.project(&result));
                disclosing.insert(part.trace_id, disclosure);
                if tier.parts.len() == 1 {
                    product = Some(result);
                }
            }
            std::mem::swap(&mut disclosed, &mut disclosing);
        }
        // Tier 0 has exactly one part, rolled up last.
        product.ok_or(RollupError::MissingFootprint {
            part: TraceId::new(Uuid::nil()),
        })
    }

    pub fn parts(&self) -> usize {
        self.tiers.iter().map(|t| t.parts.len()).sum()
    }

    pub fn bom_lines(&self) -> usize {
        self.tiers
            .iter()
            .flat_map(|t| &t.parts)
            .map(|p| p.bom.lines().len())
            .sum()
    }

    pub fn activity_items(&self) -> usize {
        self.tiers
            .iter()
            .flat_map(|t| &t.parts)
            .map(|p| p.process.activities.len())
            .sum()
    }
}

/// Tier 0 has one part and each further tier about `fan_out` times the one before, the
/// smallest whole fan-out that reaches `parts`; the last tier takes what is left, and every
/// tier keeps at least one part.
fn tier_sizes(parts: usize, tiers: usize) -> Vec<usize> {
    if tiers <= 1 {
        return vec![parts];
    }
    let reach = |fan_out: u128| -> u128 {
        let mut total = 0u128;
        let mut size = 1u128;
        for _ in 0..tiers {
            total = total.saturating_add(size);
            size = size.saturating_mul(fan_out);
        }
        total
    };
    let mut fan_out = 1u128;
    while reach(fan_out) < parts as u128 {
        fan_out += 1;
    }
    let mut sizes = Vec::with_capacity(tiers);
    let mut left = parts;
    let mut size = 1u128;
    for tier in 0..tiers {
        let still_to_fill = tiers - tier - 1;
        let take = if still_to_fill == 0 {
            left
        } else {
            usize::try_from(size)
                .unwrap_or(usize::MAX)
                .min(left - still_to_fill)
        };
        sizes.push(take);
        left -= take;
        size = size.saturating_mul(fan_out);
    }
    sizes
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough to vary test data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// `low..=high` thousandths, as an exact decimal.
    fn thousandths(&mut self, low: u64, high: u64) -> Decimal {
        Decimal::new(self.between(low, high) as i64, 3)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }

    /// 0.001 to 2 kg, a third of them written in grams so that roll-ups convert.
    fn bom_amount(&mut self) -> Quantity {
        let kilograms = self.thousandths(1, 2000);
        if self.next().is_multiple_of(3) {
            Quantity::new(kilograms * Decimal::new(1000, 0), Unit::Gram)
        } else {
            Quantity::new(kilograms, Unit::Kilogram)
        }
    }

    fn rating(&mut self) -> Option<DataQualityRating> {
        if self.next().is_multiple_of(10) {
            return None;
        }
        let mut criterion = || Decimal::new(self.between(10, 50) as i64, 1);
        DataQualityRating::new(criterion(), criterion(), criterion()).ok()
    }

    fn process(
        &mut self,
        part: TraceId,
        declared_unit: Unit,
        depth: usize,
        deepest: usize,
    ) -> ProductionProcess {
        // The two deepest tiers mine and refine; the others make components and the product.
        let stage = if depth != 0 && depth + 2 >= deepest {
            LifeCycleStage::RawMaterialAcquisitionAndPreProcessing
        } else {
            LifeCycleStage::MainProduction
        };
        let region = self.pick(&["jp", "eu27", "cn"]);
        let mut activities = vec![
            ActivityItem {
                description: "grid power".into(),
                kind: ActivityKind::Electricity {
                    source: ElectricitySource::Grid {
                        region: region.to_uppercase(),
                    },
                },
                stage,
                quantity: Quantity::new(self.thousandths(100, 20_000), Unit::KilowattHour),
                factor: FactorId::new(format!("electricity.grid.{region}")),
                data_quality: self.rating(),
                evidence: Vec::new(),
            },
            ActivityItem {
                description: "process heat".into(),
                kind: ActivityKind::FuelAndHeat,
                stage,
                quantity: Quantity::new(self.thousandths(1_000, 50_000), Unit::Megajoule),
                factor: "fuel.natural_gas.combustion".into(),
                data_quality: self.rating(),
                evidence: Vec::new(),
            },
        ];
        if depth == deepest {
            let material = self.pick(&[
                "material.aluminium.primary",
                "material.copper.cathode",
                "material.nickel_sulphate",
                "material.graphite.natural_anode",
            ]);
            activities.push(ActivityItem {
                description: "ore and reagents".into(),
                kind: ActivityKind::Material,
                stage: LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
                quantity: Quantity::new(self.thousandths(500, 2_000), Unit::Kilogram),
                factor: material.into(),
                data_quality: self.rating(),
                evidence: Vec::new(),
            });
        } else {
            activities.push(ActivityItem {
                description: "inbound truck".into(),
                kind: ActivityKind::Transport {
                    mode: TransportMode::Road,
                },
                stage: LifeCycleStage::Distribution,
                quantity: Quantity::new(self.thousandths(10, 500), Unit::TonneKilometre),
                factor: "transport.road.truck".into(),
                data_quality: self.rating(),
                evidence: Vec::new(),
            });
        }
        if self.next().is_multiple_of(10) {
            let proof = Evidence::of_bytes("meter.csv", part.to_string().as_bytes());
            activities[0].evidence.push(proof);
        }
        let allocation = if self.next().is_multiple_of(7) {
            Allocation::from_outputs(AllocationMethod::Mass, Decimal::new(4, 0), &[Decimal::ONE])
                .unwrap_or_default()
        } else {
            Allocation::none()
        };
        ProductionProcess {
            part,
            declared_unit,
            activities,
            allocation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_sizes_add_up_and_grow() {
        assert_eq!(
            tier_sizes(100_000, 6),
            vec![1, 10, 100, 1000, 10_000, 88_889]
        );
        assert_eq!(tier_sizes(6, 6), vec![1, 1, 1, 1, 1, 1]);
        assert_eq!(tier_sizes(100, 6), vec![1, 3, 9, 27, 59, 1]);
        assert_eq!(tier_sizes(7, 1), vec![7]);
        for (parts, tiers) in [(100_000, 6), (12_345, 4), (10, 3), (2, 2)] {
            assert_eq!(tier_sizes(parts, tiers).iter().sum::<usize>(), parts);
        }
    }

    #[test]
    fn the_chain_is_deterministic_and_rolls_up() {
        let first = SyntheticChain::generate(2_000, 6, 7);
        let second = SyntheticChain::generate(2_000, 6, 7);
        assert_eq!(first.parts(), 2_000);
        assert_eq!(
            first.bom_lines(),
            1_999,
            "every part but the product is bought once"
        );
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let a = first.roll_up(at).unwrap();
        let b = second.roll_up(at).unwrap();
        assert_eq!(a, b);
        assert!(a.total_kg_co2e() > Decimal::ZERO);
        assert_eq!(a.declared_unit, Unit::Piece);
        assert!(a.data_quality.main_production.is_some());
        let other_seed = SyntheticChain::generate(2_000, 6, 8).roll_up(at).unwrap();
        assert_ne!(other_seed.total_kg_co2e(), a.total_kg_co2e());
    }

    #[test]
    fn bench_reports_its_figures() {
        let mut ticks = 0u64;
        let origin = Instant::now();
        let figures = bench_rollup(500, 4, || {
            ticks += 1;
            origin + Duration::from_millis(ticks * 5)
        })
        .unwrap();
        assert_eq!(figures.parts, 500);
        assert_eq!(figures.tiers, 4);
        assert_eq!(figures.bom_lines, 499);
        assert_eq!(figures.activity_items, 1_500);
        assert_eq!(figures.elapsed, Duration::from_millis(5));
    }
}
