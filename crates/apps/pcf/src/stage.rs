//! Life-cycle stages of a battery carbon footprint as the EU battery rules define them
//! (Regulation (EU) 2023/1542, Annex II): the use stage is excluded.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LifeCycleStage {
    /// Mining, refining and processing of raw materials up to active materials (Ouranos
    /// "pre-processing").
    RawMaterialAcquisitionAndPreProcessing,
    /// Production of cells, modules and the battery (Ouranos "main production").
    MainProduction,
    /// Transport of the battery to the point of sale.
    Distribution,
    /// Collection, dismantling and recycling.
    EndOfLifeAndRecycling,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StageError {
    #[error(
        "the use stage is excluded from battery carbon footprints (EU battery rules, Annex II); \
         assign the activity to raw_material_acquisition_and_pre_processing, main_production, \
         distribution or end_of_life_and_recycling"
    )]
    UseStageExcluded,
    #[error(
        "unknown life-cycle stage {input:?}; expected raw_material_acquisition_and_pre_processing, \
         main_production, distribution or end_of_life_and_recycling"
    )]
    Unknown { input: String },
}

impl LifeCycleStage {
    pub const ALL: [LifeCycleStage; 4] = [
        LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
        LifeCycleStage::MainProduction,
        LifeCycleStage::Distribution,
        LifeCycleStage::EndOfLifeAndRecycling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifeCycleStage::RawMaterialAcquisitionAndPreProcessing => {
                "raw_material_acquisition_and_pre_processing"
            }
            LifeCycleStage::MainProduction => "main_production",
            LifeCycleStage::Distribution => "distribution",
            LifeCycleStage::EndOfLifeAndRecycling => "end_of_life_and_recycling",
        }
    }

    /// The heading a declaration prints for the stage.
    pub fn title(self) -> &'static str {
        match self {
            LifeCycleStage::RawMaterialAcquisitionAndPreProcessing => {
                "Raw material acquisition and pre-processing"
            }
            LifeCycleStage::MainProduction => "Main product production",
            LifeCycleStage::Distribution => "Distribution",
            LifeCycleStage::EndOfLifeAndRecycling => "End of life and recycling",
        }
    }
}

impl fmt::Display for LifeCycleStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LifeCycleStage {
    type Err = StageError;

    /// Accepts the snake_case names, and the Ouranos `preProduction` / `mainProduction`.
    fn from_str(input: &str) -> Result<LifeCycleStage, StageError> {
        let normalized: String = input
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalized.as_str() {
            "rawmaterialacquisitionandpreprocessing" | "preproduction" | "preprocessing" => {
                Ok(LifeCycleStage::RawMaterialAcquisitionAndPreProcessing)
            }
            "mainproduction" | "mainproductproduction" | "mainprocessing" => {
                Ok(LifeCycleStage::MainProduction)
            }
            "distribution" => Ok(LifeCycleStage::Distribution),
            "endoflifeandrecycling" | "endoflife" => Ok(LifeCycleStage::EndOfLifeAndRecycling),
            "use" | "usestage" | "usephase" => Err(StageError::UseStageExcluded),
            _ => Err(StageError::Unknown {
                input: input.to_owned(),
            }),
        }
    }
}

impl Serialize for LifeCycleStage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LifeCycleStage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LifeCycleStage, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One value per life-cycle stage. A struct rather than a map, so that no stage can be
/// missing; it serializes as an object keyed by the stage names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByStage<T> {
    pub raw_material_acquisition_and_pre_processing: T,
    pub main_production: T,
    pub distribution: T,
    pub end_of_life_and_recycling: T,
}

impl<T> ByStage<T> {
    pub fn from_fn(mut f: impl FnMut(LifeCycleStage) -> T) -> ByStage<T> {
        ByStage {
            raw_material_acquisition_and_pre_processing: f(
                LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
            ),
            main_production: f(LifeCycleStage::MainProduction),
            distribution: f(LifeCycleStage::Distribution),
            end_of_life_and_recycling: f(LifeCycleStage::EndOfLifeAndRecycling),
        }
    }

    pub fn get(&self, stage: LifeCycleStage) -> &T {
        match stage {
            LifeCycleStage::RawMaterialAcquisitionAndPreProcessing => {
                &self.raw_material_acquisition_and_pre_processing
            }
            LifeCycleStage::MainProduction => &self.main_production,
            LifeCycleStage::Distribution => &self.distribution,
            LifeCycleStage::EndOfLifeAndRecycling => &self.end_of_life_and_recycling,
        }
    }

    pub fn get_mut(&mut self, stage: LifeCycleStage) -> &mut T {
        match stage {
            LifeCycleStage::RawMaterialAcquisitionAndPreProcessing => {
                &mut self.raw_material_acquisition_and_pre_processing
            }
            LifeCycleStage::MainProduction => &mut self.main_production,
            LifeCycleStage::Distribution => &mut self.distribution,
            LifeCycleStage::EndOfLifeAndRecycling => &mut self.end_of_life_and_recycling,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (LifeCycleStage, &T)> {
        LifeCycleStage::ALL
            .into_iter()
            .map(move |stage| (stage, self.get(stage)))
    }

    pub fn map<U>(&self, mut f: impl FnMut(LifeCycleStage, &T) -> U) -> ByStage<U> {
        ByStage::from_fn(|stage| f(stage, self.get(stage)))
    }

    pub fn try_map<U, E>(
        &self,
        mut f: impl FnMut(LifeCycleStage, &T) -> Result<U, E>,
    ) -> Result<ByStage<U>, E> {
        Ok(ByStage {
            raw_material_acquisition_and_pre_processing: f(
                LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
                &self.raw_material_acquisition_and_pre_processing,
            )?,
            main_production: f(LifeCycleStage::MainProduction, &self.main_production)?,
            distribution: f(LifeCycleStage::Distribution, &self.distribution)?,
            end_of_life_and_recycling: f(
                LifeCycleStage::EndOfLifeAndRecycling,
                &self.end_of_life_and_recycling,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_refuses_the_use_stage() {
        let cases = [
            (
                "raw_material_acquisition_and_pre_processing",
                Ok(LifeCycleStage::RawMaterialAcquisitionAndPreProcessing),
            ),
            (
                "preProduction",
                Ok(LifeCycleStage::RawMaterialAcquisitionAndPreProcessing),
            ),
            ("mainProduction", Ok(LifeCycleStage::MainProduction)),
            (
                "Main product production",
                Ok(LifeCycleStage::MainProduction),
            ),
            ("distribution", Ok(LifeCycleStage::Distribution)),
            (
                "end-of-life-and-recycling",
                Ok(LifeCycleStage::EndOfLifeAndRecycling),
            ),
            ("use", Err(StageError::UseStageExcluded)),
            ("Use stage", Err(StageError::UseStageExcluded)),
            (
                "transport",
                Err(StageError::Unknown {
                    input: "transport".into(),
                }),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<LifeCycleStage>(), expected, "{input:?}");
        }
    }

    #[test]
    fn deserializing_the_use_stage_says_why_it_is_refused() {
        let err = serde_json::from_str::<LifeCycleStage>("\"use\"").unwrap_err();
        assert!(
            err.to_string().starts_with("the use stage is excluded"),
            "{err}"
        );
        for stage in LifeCycleStage::ALL {
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(
                serde_json::from_str::<LifeCycleStage>(&json).unwrap(),
                stage
            );
        }
    }

    #[test]
    fn by_stage_serializes_with_every_stage_named() {
        let values = ByStage::from_fn(|stage| stage as u8);
        assert_eq!(
            serde_json::to_string(&values).unwrap(),
            r#"{"raw_material_acquisition_and_pre_processing":0,"main_production":1,"distribution":2,"end_of_life_and_recycling":3}"#
        );
        assert_eq!(*values.get(LifeCycleStage::Distribution), 2);
        let doubled = values.map(|_, v| v * 2);
        assert_eq!(
            doubled.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            [0, 2, 4, 6]
        );
    }
}
