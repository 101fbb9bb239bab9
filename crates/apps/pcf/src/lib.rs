//! The LCA-CO2 app's domain core: product carbon footprints computed inside each company and
//! rolled up along the battery supply chain without revealing anyone's inputs.
//!
//! It exists because a footprint is only as good as its roll-up: a cell maker's figure needs
//! its cathode supplier's, which needs its refiner's. Each company computes the footprint of
//! its parts from its own activity data and emission factors, combines it with what its
//! suppliers disclosed over its own multi-level bill of materials (with units converted, at
//! any depth, unlike the two-level Ouranos structures), and discloses to each customer only
//! the projection of the result that customer may see. The same types carry the Ouranos
//! meanings (operators, plants, parts with trace ids, trade requests, TeR/GeR/TiR) so that
//! its API and the Eclipse Dataspace Protocol exchange can be built on top.
//!
//! It must never do IO (no files, network, database, clock or randomness: time is passed in,
//! the synthetic benchmark chain is seeded), never compute with binary floating point (all
//! arithmetic is `rust_decimal`, checked, so hostile supplier data is an error rather than a
//! panic), and never put a company's activity data, emission factors, evidence files or bill
//! of materials into anything meant for another company: only `DisclosedFootprint`s leave.

mod activity;
mod battery;
mod bench;
mod bom;
mod company;
mod dependency;
mod factor;
mod num;
mod quality;
mod request;
mod rollup;
mod stage;
mod unit;

pub use activity::{
    ActivityItem, ActivityKind, Allocation, AllocationError, AllocationMethod, CalcError,
    ElectricitySource, Emissions, ProductionProcess, TransportMode, calculate_item,
};
pub use battery::{
    BatteryCarbonFootprint, BatteryCategory, BatteryError, CarbonFootprintDeclaration, ClassBound,
    DeclarationFacts, PerformanceClasses, ServiceLife, battery_carbon_footprint,
};
pub use bench::{BenchFigures, SyntheticChain, bench_rollup};
pub use bom::{BillOfMaterials, BomError, BomLine};
pub use company::{
    CorporateNumber, EoriNumber, IdentifierError, Lei, OpenPlantId, Operator, OperatorIdentifier,
    Part, Plant, TraceId, VatNumber,
};
pub use dependency::{DependencyError, DependencyIndex};
pub use factor::{EmissionFactor, FactorError, FactorId, FactorLibrary, FactorOrigin};
pub use num::Overflow;
pub use quality::{DataQualityRating, Evidence, QualityError, Sha256Hex, StageDataQuality};
pub use request::{
    NewTradeRequest, RequestError, RequestProgress, RequestStatus, TradeRequest, request_progress,
};
pub use rollup::{
    DisclosedFootprint, Disclosure, DisclosurePolicy, FootprintResult, RollupError, RollupInput,
    roll_up,
};
pub use stage::{ByStage, LifeCycleStage, StageError};
pub use unit::{Dimension, Quantity, Unit, UnitError};

/// Re-exported so that callers build amounts with the same decimal type.
pub use rust_decimal::Decimal;
