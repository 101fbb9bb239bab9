//! The vocabulary of the Ouranos Ecosystem data-transaction API, mapped onto this crate's
//! model: data quality ratings, declared units, and the four-row CFP split.
//!
//! Pure conversions, shared by the service (which answers Ouranos-shaped queries) and the
//! HTTP edge (which renders them as JSON). Ouranos knows two life-cycle stages,
//! "pre-processing" and "main production", each split into the company's own emissions
//! (`preProduction`, `mainProduction`) and those that came in with components
//! (`preComponent`, `mainComponent`). It does not separate fossil, biogenic and land-use
//! change emissions, and it has no field for distribution or end of life: a value read from
//! Ouranos is recorded as fossil, and a value shown to Ouranos omits the other two stages.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

use crate::activity::{Allocation, Emissions};
use crate::company::TraceId;
use crate::num::{self, Overflow};
use crate::quality::{DataQualityRating, StageDataQuality};
use crate::rollup::{DisclosedFootprint, FootprintResult};
use crate::stage::ByStage;
use crate::unit::Unit;

/// TeR, GeR and TiR as Ouranos carries them: each a number ≥ 0 or null, where 0 and null
/// both mean "not rated".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OuranosDqr {
    pub ter: Option<Decimal>,
    pub ger: Option<Decimal>,
    pub tir: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DqrError {
    #[error(
        "{criterion} {value} is outside the data quality scale 1 (excellent) to 5 (very poor); \
         send 0 or null for not rated"
    )]
    OutOfScale {
        criterion: &'static str,
        value: Decimal,
    },
    #[error("TeR, GeR and TiR are rated together: {rated} is rated but {unrated} is 0 or null")]
    PartlyRated {
        rated: &'static str,
        unrated: &'static str,
    },
}

impl OuranosDqr {
    /// The "not rated" value this crate sends: zeros, as Ouranos itself stores them.
    pub const NOT_RATED: OuranosDqr = OuranosDqr {
        ter: Some(Decimal::ZERO),
        ger: Some(Decimal::ZERO),
        tir: Some(Decimal::ZERO),
    };

    /// Reads an Ouranos rating onto the 1-to-5 scale of the PEF method.
    ///
    /// All three criteria 0 or null mean "not rated" (`None`). All three within 1 to 5 make a
    /// rating. Anything else is refused rather than guessed: a value between 0 and 1 or above
    /// 5 belongs to another scale, and a rating with some criteria missing has no PEF
    /// meaning.
    pub fn to_rating(&self) -> Result<Option<DataQualityRating>, DqrError> {
        let criteria = [("TeR", self.ter), ("GeR", self.ger), ("TiR", self.tir)];
        let rated = |value: Option<Decimal>| value.is_some_and(|v| !v.is_zero());
        let first_rated = criteria.iter().find(|(_, v)| rated(*v));
        let first_unrated = criteria.iter().find(|(_, v)| !rated(*v));
        match (first_rated, first_unrated) {
            (None, _) => Ok(None),
            (Some((rated, _)), Some((unrated, _))) => Err(DqrError::PartlyRated { rated, unrated }),
            (Some(_), None) => {
                let mut values = [Decimal::ZERO; 3];
                for (slot, (criterion, value)) in values.iter_mut().zip(criteria) {
                    let value = value.unwrap_or_default();
                    if value < DataQualityRating::BEST || value > DataQualityRating::WORST {
                        return Err(DqrError::OutOfScale { criterion, value });
                    }
                    *slot = value;
                }
                DataQualityRating::new(values[0], values[1], values[2])
                    .map(Some)
                    .map_err(|_| DqrError::OutOfScale {
                        criterion: "TeR",
                        value: values[0],
                    })
            }
        }
    }

    /// Writes a rating the Ouranos way: unrated becomes zeros.
    pub fn from_rating(rating: Option<DataQualityRating>) -> OuranosDqr {
        match rating {
            None => OuranosDqr::NOT_RATED,
            Some(rating) => OuranosDqr {
                ter: Some(rating.ter()),
                ger: Some(rating.ger()),
                tir: Some(rating.tir()),
            },
        }
    }
}

/// The units Ouranos admits in `amountRequiredUnit`, by their Ouranos names. Other spellings
/// that `Unit::from_str` accepts are refused at this edge, as Ouranos refuses them.
pub fn unit_from_ouranos(name: &str) -> Option<Unit> {
    Unit::ALL
        .into_iter()
        .find(|unit| unit.ouranos_name() == Some(name))
}

/// The Ouranos name of a unit, or this crate's symbol for a unit Ouranos does not know.
pub fn unit_to_ouranos(unit: Unit) -> &'static str {
    unit.ouranos_name().unwrap_or(unit.symbol())
}

/// `ghgDeclaredUnit`: `kgCO2e/` followed by the Ouranos unit name.
pub fn declared_unit_to_ouranos(unit: Unit) -> String {
    format!("kgCO2e/{}", unit_to_ouranos(unit))
}

pub fn declared_unit_from_ouranos(text: &str) -> Option<Unit> {
    text.strip_prefix("kgCO2e/").and_then(unit_from_ouranos)
}

/// Ouranos keeps five decimal places of emissions and ratings and asks senders to round the
/// sixth up; results of this crate carry ten, so they are rounded up (away from zero) here,
/// which never understates a footprint.
pub fn round_for_ouranos(value: Decimal) -> Decimal {
    value
        .round_dp_with_strategy(5, RoundingStrategy::AwayFromZero)
        .normalize()
}

/// `cfpType`: which figure a CFP row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CfpType {
    PreProduction,
    MainProduction,
    PreComponent,
    MainComponent,
    PreProductionTotal,
    MainProductionTotal,
    PreComponentTotal,
    MainComponentTotal,
    PreProductionResponse,
    MainProductionResponse,
}

impl CfpType {
    /// The four rows a company registers for one of its parts.
    pub const OWN: [CfpType; 4] = [
        CfpType::PreProduction,
        CfpType::MainProduction,
        CfpType::PreComponent,
        CfpType::MainComponent,
    ];
    pub const TOTALS: [CfpType; 4] = [
        CfpType::PreProductionTotal,
        CfpType::MainProductionTotal,
        CfpType::PreComponentTotal,
        CfpType::MainComponentTotal,
    ];
    pub const ALL: [CfpType; 10] = [
        CfpType::PreProduction,
        CfpType::MainProduction,
        CfpType::PreComponent,
        CfpType::MainComponent,
        CfpType::PreProductionTotal,
        CfpType::MainProductionTotal,
        CfpType::PreComponentTotal,
        CfpType::MainComponentTotal,
        CfpType::PreProductionResponse,
        CfpType::MainProductionResponse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CfpType::PreProduction => "preProduction",
            CfpType::MainProduction => "mainProduction",
            CfpType::PreComponent => "preComponent",
            CfpType::MainComponent => "mainComponent",
            CfpType::PreProductionTotal => "preProductionTotal",
            CfpType::MainProductionTotal => "mainProductionTotal",
            CfpType::PreComponentTotal => "preComponentTotal",
            CfpType::MainComponentTotal => "mainComponentTotal",
            CfpType::PreProductionResponse => "preProductionResponse",
            CfpType::MainProductionResponse => "mainProductionResponse",
        }
    }

    pub fn parse(text: &str) -> Option<CfpType> {
        CfpType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// `dqrType`: the process whose rating applies to the row.
    pub fn dqr_type(self) -> &'static str {
        match self {
            CfpType::PreProduction | CfpType::PreComponent => "preProcessing",
            CfpType::MainProduction | CfpType::MainComponent => "mainProcessing",
            CfpType::PreProductionTotal | CfpType::PreComponentTotal => "preProcessingTotal",
            CfpType::MainProductionTotal | CfpType::MainComponentTotal => "mainProcessingTotal",
            CfpType::PreProductionResponse => "preProcessingResponse",
            CfpType::MainProductionResponse => "mainProcessingResponse",
        }
    }

    /// Whether the row belongs to pre-processing (the EU stage "raw material acquisition and
    /// pre-processing") rather than main production.
    pub fn is_pre_processing(self) -> bool {
        matches!(
            self,
            CfpType::PreProduction
                | CfpType::PreComponent
                | CfpType::PreProductionTotal
                | CfpType::PreComponentTotal
                | CfpType::PreProductionResponse
        )
    }
}

impl fmt::Display for CfpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part's footprint in the four Ouranos figures, per one declared unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OuranosFootprint {
    pub declared_unit: Unit,
    pub pre_production: Decimal,
    pub main_production: Decimal,
    pub pre_component: Decimal,
    pub main_component: Decimal,
    pub pre_quality: Option<DataQualityRating>,
    pub main_quality: Option<DataQualityRating>,
}

impl OuranosFootprint {
    /// Records the figures as a result of this crate: everything fossil, pre-processing in
    /// raw material acquisition and pre-processing, each stage fully rated or not at all.
    pub fn to_result(
        &self,
        part: TraceId,
        computed_at: DateTime<Utc>,
    ) -> Result<FootprintResult, Overflow> {
        let fossil = |value: Decimal| Emissions {
            fossil: value,
            ..Emissions::ZERO
        };
        let quality = |rating: Option<DataQualityRating>| {
            rating.map(|rating| StageDataQuality {
                rating,
                rated_share: Decimal::ONE,
            })
        };
        let pre = num::add(self.pre_production, self.pre_component)?;
        let main = num::add(self.main_production, self.main_component)?;
        let stages = ByStage {
            raw_material_acquisition_and_pre_processing: fossil(pre),
            main_production: fossil(main),
            distribution: Emissions::ZERO,
            end_of_life_and_recycling: Emissions::ZERO,
        };
        Ok(FootprintResult {
            part,
            declared_unit: self.declared_unit,
            stages,
            total: fossil(num::add(pre, main)?),
            from_components: ByStage {
                raw_material_acquisition_and_pre_processing: fossil(self.pre_component),
                main_production: fossil(self.main_component),
                ..ByStage::default()
            },
            data_quality: ByStage {
                raw_material_acquisition_and_pre_processing: quality(self.pre_quality),
                main_production: quality(self.main_quality),
                ..ByStage::default()
            },
            allocation: Allocation::none(),
            evidence: Default::default(),
            computed_at,
        })
    }

    /// The Ouranos figures of a result: own emissions are the stage minus what came in
    /// through components. Distribution and end of life have no Ouranos field and are left
    /// out; so is a rated share below one, which Ouranos cannot express.
    pub fn from_result(result: &FootprintResult) -> Result<OuranosFootprint, Overflow> {
        let pre = result
            .stages
            .raw_material_acquisition_and_pre_processing
            .checked_total()?;
        let main = result.stages.main_production.checked_total()?;
        let pre_component = result
            .from_components
            .raw_material_acquisition_and_pre_processing
            .checked_total()?;
        let main_component = result.from_components.main_production.checked_total()?;
        Ok(OuranosFootprint {
            declared_unit: result.declared_unit,
            pre_production: round_for_ouranos(num::sub(pre, pre_component)?),
            main_production: round_for_ouranos(num::sub(main, main_component)?),
            pre_component: round_for_ouranos(pre_component),
            main_component: round_for_ouranos(main_component),
            pre_quality: result
                .data_quality
                .raw_material_acquisition_and_pre_processing
                .map(|q| q.rating),
            main_quality: result.data_quality.main_production.map(|q| q.rating),
        })
    }

    pub fn pre_total(&self) -> Result<Decimal, Overflow> {
        num::add(self.pre_production, self.pre_component)
    }

    pub fn main_total(&self) -> Result<Decimal, Overflow> {
        num::add(self.main_production, self.main_component)
    }
}

/// One Ouranos figure with its rating, as a row shows it. `None` in `kg_co2e` or `quality`
/// means withheld (Ouranos shows null); `Some(None)` in `quality` means not rated (zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CfpFigure {
    pub cfp_type: CfpType,
    pub kg_co2e: Option<Decimal>,
    pub quality: Option<Option<DataQualityRating>>,
}

/// What a supplier's disclosure shows as the two `…Response` rows: the stage totals when
/// the stage split was disclosed, the ratings when they were.
pub fn response_figures(footprint: &DisclosedFootprint) -> Result<[CfpFigure; 2], Overflow> {
    let (pre, main) = match &footprint.stages {
        Some(stages) => (
            Some(round_for_ouranos(
                stages
                    .raw_material_acquisition_and_pre_processing
                    .checked_total()?,
            )),
            Some(round_for_ouranos(stages.main_production.checked_total()?)),
        ),
        None => (None, None),
    };
    let quality = |pick: fn(&ByStage<Option<StageDataQuality>>) -> Option<StageDataQuality>| {
        footprint
            .data_quality
            .as_ref()
            .map(|by_stage| pick(by_stage).map(|q| q.rating))
    };
    Ok([
        CfpFigure {
            cfp_type: CfpType::PreProductionResponse,
            kg_co2e: pre,
            quality: quality(|q| q.raw_material_acquisition_and_pre_processing),
        },
        CfpFigure {
            cfp_type: CfpType::MainProductionResponse,
            kg_co2e: main,
            quality: quality(|q| q.main_production),
        },
    ])
}

/// The four own rows of a registered footprint.
pub fn own_figures(footprint: &OuranosFootprint) -> [CfpFigure; 4] {
    let row = |cfp_type, kg_co2e, quality| CfpFigure {
        cfp_type,
        kg_co2e: Some(kg_co2e),
        quality: Some(quality),
    };
    [
        row(
            CfpType::PreProduction,
            footprint.pre_production,
            footprint.pre_quality,
        ),
        row(
            CfpType::MainProduction,
            footprint.main_production,
            footprint.main_quality,
        ),
        row(
            CfpType::PreComponent,
            footprint.pre_component,
            footprint.pre_quality,
        ),
        row(
            CfpType::MainComponent,
            footprint.main_component,
            footprint.main_quality,
        ),
    ]
}

/// One child of a parts structure as the `…Total` rows count it: how much of it one unit of
/// the parent needs, in the child's declared unit, and the child's own stage totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildFootprint {
    pub amount: Decimal,
    pub pre: Decimal,
    pub main: Decimal,
    pub pre_quality: Option<DataQualityRating>,
    pub main_quality: Option<DataQualityRating>,
}

/// The `…Total` rows of a parent part: the production totals are the parent's own
/// production figures; the component totals add up every child's stage total times the
/// amount the parent needs. Each stage's rating is the emission-weighted mean of the rated
/// contributions (own production and children), on two decimals; unrated when none is
/// rated. Ouranos does not document how it derives these rows; this is tsunagu's reading.
pub fn total_figures(
    own: &OuranosFootprint,
    children: &[ChildFootprint],
) -> Result<[CfpFigure; 4], Overflow> {
    struct Stage {
        component: Decimal,
        weight: Decimal,
        ter: Decimal,
        ger: Decimal,
        tir: Decimal,
    }
    impl Stage {
        fn add(
            &mut self,
            emissions: Decimal,
            rating: Option<DataQualityRating>,
        ) -> Result<(), Overflow> {
            let Some(rating) = rating else { return Ok(()) };
            let weight = emissions.abs();
            self.weight = num::add(self.weight, weight)?;
            self.ter = num::add(self.ter, num::mul(weight, rating.ter())?)?;
            self.ger = num::add(self.ger, num::mul(weight, rating.ger())?)?;
            self.tir = num::add(self.tir, num::mul(weight, rating.tir())?)?;
            Ok(())
        }
        fn quality(&self) -> Result<Option<DataQualityRating>, Overflow> {
            if self.weight.is_zero() {
                return Ok(None);
            }
            let mean = |sum| -> Result<Decimal, Overflow> {
                Ok(num::round_rating(num::div(sum, self.weight)?))
            };
            Ok(Some(DataQualityRating::clamped(
                mean(self.ter)?,
                mean(self.ger)?,
                mean(self.tir)?,
            )))
        }
    }
    let fresh = || Stage {
        component: Decimal::ZERO,
        weight: Decimal::ZERO,
        ter: Decimal::ZERO,
        ger: Decimal::ZERO,
        tir: Decimal::ZERO,
    };
    let (mut pre, mut main) = (fresh(), fresh());
    pre.add(own.pre_production, own.pre_quality)?;
    main.add(own.main_production, own.main_quality)?;
    for child in children {
        let child_pre = num::mul(child.amount, child.pre)?;
        let child_main = num::mul(child.amount, child.main)?;
        pre.component = num::add(pre.component, child_pre)?;
        main.component = num::add(main.component, child_main)?;
        pre.add(child_pre, child.pre_quality)?;
        main.add(child_main, child.main_quality)?;
    }
    let (pre_quality, main_quality) = (pre.quality()?, main.quality()?);
    let row = |cfp_type, kg_co2e: Decimal, quality| CfpFigure {
        cfp_type,
        kg_co2e: Some(round_for_ouranos(kg_co2e)),
        quality: Some(quality),
    };
    Ok([
        row(CfpType::PreProductionTotal, own.pre_production, pre_quality),
        row(
            CfpType::MainProductionTotal,
            own.main_production,
            main_quality,
        ),
        row(CfpType::PreComponentTotal, pre.component, pre_quality),
        row(CfpType::MainComponentTotal, main.component, main_quality),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::d;
    use crate::rollup::Disclosure;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn dqr(ter: Option<&str>, ger: Option<&str>, tir: Option<&str>) -> OuranosDqr {
        OuranosDqr {
            ter: ter.map(d),
            ger: ger.map(d),
            tir: tir.map(d),
        }
    }

    fn rating(ter: &str, ger: &str, tir: &str) -> DataQualityRating {
        DataQualityRating::new(d(ter), d(ger), d(tir)).unwrap()
    }

    #[test]
    fn ouranos_ratings_map_onto_the_pef_scale() {
        let cases: Vec<(OuranosDqr, Result<Option<DataQualityRating>, String>)> = vec![
            // Zero and null are Ouranos' "not rated", alone or mixed.
            (dqr(Some("0"), Some("0"), Some("0")), Ok(None)),
            (dqr(None, None, None), Ok(None)),
            (dqr(Some("0"), None, Some("0")), Ok(None)),
            (
                dqr(Some("2.1"), Some("2.2"), Some("2.3")),
                Ok(Some(rating("2.1", "2.2", "2.3"))),
            ),
            (
                dqr(Some("1"), Some("5"), Some("4.6")),
                Ok(Some(rating("1", "5", "4.6"))),
            ),
            (
                dqr(Some("2.1"), Some("0"), None),
                Err(
                    "TeR, GeR and TiR are rated together: TeR is rated but GeR is 0 or null".into(),
                ),
            ),
            (
                dqr(None, Some("3"), Some("3")),
                Err(
                    "TeR, GeR and TiR are rated together: GeR is rated but TeR is 0 or null".into(),
                ),
            ),
            (
                dqr(Some("0.5"), Some("2"), Some("2")),
                Err(
                    "TeR 0.5 is outside the data quality scale 1 (excellent) to 5 (very poor); \
                     send 0 or null for not rated"
                        .into(),
                ),
            ),
            (
                dqr(Some("2"), Some("2"), Some("7")),
                Err(
                    "TiR 7 is outside the data quality scale 1 (excellent) to 5 (very poor); \
                     send 0 or null for not rated"
                        .into(),
                ),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                input.to_rating().map_err(|e| e.to_string()),
                expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn ratings_go_back_to_ouranos_with_zeros_for_unrated() {
        assert_eq!(OuranosDqr::from_rating(None), OuranosDqr::NOT_RATED);
        let back = OuranosDqr::from_rating(Some(rating("1", "2", "3.5")));
        assert_eq!(back, dqr(Some("1"), Some("2"), Some("3.5")));
        assert_eq!(back.to_rating().unwrap(), Some(rating("1", "2", "3.5")));
        assert_eq!(OuranosDqr::NOT_RATED.to_rating().unwrap(), None);
    }

    #[test]
    fn units_use_the_ouranos_names_only() {
        for (name, unit) in [
            ("kilogram", Unit::Kilogram),
            ("liter", Unit::Litre),
            ("cubic-meter", Unit::CubicMetre),
            ("kilowatt-hour", Unit::KilowattHour),
            ("megajoule", Unit::Megajoule),
            ("ton-kilometer", Unit::TonneKilometre),
            ("square-meter", Unit::SquareMetre),
            ("unit", Unit::Piece),
        ] {
            assert_eq!(unit_from_ouranos(name), Some(unit));
            assert_eq!(unit_to_ouranos(unit), name);
            assert_eq!(
                declared_unit_from_ouranos(&declared_unit_to_ouranos(unit)),
                Some(unit)
            );
        }
        assert_eq!(unit_from_ouranos("kg"), None);
        assert_eq!(unit_from_ouranos("キログラム"), None);
        assert_eq!(declared_unit_from_ouranos("kilogram"), None);
        assert_eq!(unit_to_ouranos(Unit::Gram), "g");
    }

    fn tutorial_footprint() -> OuranosFootprint {
        // The supplier's figures of the Ouranos tutorial "ResponseCFP".
        OuranosFootprint {
            declared_unit: Unit::Kilogram,
            pre_production: d("1.5"),
            main_production: d("10.0"),
            pre_component: d("0"),
            main_component: d("0"),
            pre_quality: Some(rating("1", "2", "3")),
            main_quality: Some(rating("2", "3", "4")),
        }
    }

    #[test]
    fn the_four_figures_round_trip_through_a_result() {
        let part = TraceId::new(Uuid::from_u128(7));
        let at = Utc.with_ymd_and_hms(2024, 11, 15, 6, 0, 0).unwrap();
        let mut figures = tutorial_footprint();
        figures.pre_component = d("0.25");
        let result = figures.to_result(part, at).unwrap();
        assert_eq!(result.total_kg_co2e(), d("11.75"));
        assert_eq!(OuranosFootprint::from_result(&result).unwrap(), figures);
        // The result can travel as a disclosure and shows as the two response rows.
        let [pre, main] =
            response_figures(&Disclosure::StageSplitWithDqr.project(&result)).unwrap();
        assert_eq!(pre.kg_co2e, Some(d("1.75")));
        assert_eq!(pre.quality, Some(Some(rating("1", "2", "3"))));
        assert_eq!(main.kg_co2e, Some(d("10")));
        let [pre, _] = response_figures(&Disclosure::StageSplit.project(&result)).unwrap();
        assert_eq!((pre.kg_co2e, pre.quality), (Some(d("1.75")), None));
        let [pre, _] = response_figures(&Disclosure::TotalOnly.project(&result)).unwrap();
        assert_eq!((pre.kg_co2e, pre.quality), (None, None));
    }

    #[test]
    fn figures_for_ouranos_are_rounded_up_to_five_places() {
        assert_eq!(round_for_ouranos(d("1.234561")), d("1.23457"));
        assert_eq!(round_for_ouranos(d("1.23456")), d("1.23456"));
        assert_eq!(round_for_ouranos(d("2.50")), d("2.5"));
    }

    #[test]
    fn totals_add_children_times_amounts_and_weight_ratings() {
        let own = OuranosFootprint {
            declared_unit: Unit::Kilogram,
            pre_production: d("0"),
            main_production: d("0.5"),
            pre_component: d("0"),
            main_component: d("0"),
            pre_quality: None,
            main_quality: Some(rating("3", "3", "3")),
        };
        let children = [
            ChildFootprint {
                amount: d("2"),
                pre: d("1"),
                main: d("0.25"),
                pre_quality: Some(rating("4", "4", "4")),
                main_quality: Some(rating("5", "5", "5")),
            },
            ChildFootprint {
                amount: d("0.3"),
                pre: d("1"),
                main: d("0"),
                pre_quality: None,
                main_quality: None,
            },
        ];
        let rows = total_figures(&own, &children).unwrap();
        let figures: Vec<_> = rows
            .iter()
            .map(|r| (r.cfp_type.as_str(), r.kg_co2e.unwrap().to_string()))
            .collect();
        assert_eq!(
            figures,
            [
                ("preProductionTotal", "0".to_owned()),
                ("mainProductionTotal", "0.5".to_owned()),
                ("preComponentTotal", "2.3".to_owned()),
                ("mainComponentTotal", "0.5".to_owned()),
            ]
        );
        // Pre-processing: only the first child is rated. Main: 0.5 at 3 and 0.5 at 5.
        assert_eq!(rows[0].quality, Some(Some(rating("4", "4", "4"))));
        assert_eq!(rows[1].quality, Some(Some(rating("4", "4", "4"))));
        assert_eq!(rows[3].quality, rows[1].quality);
    }

    #[test]
    fn cfp_types_pair_with_their_dqr_types() {
        for cfp_type in CfpType::ALL {
            assert_eq!(CfpType::parse(cfp_type.as_str()), Some(cfp_type));
            let dqr = cfp_type.dqr_type();
            assert_eq!(cfp_type.is_pre_processing(), dqr.starts_with("pre"));
        }
        assert_eq!(CfpType::parse("hoge"), None);
    }
}
