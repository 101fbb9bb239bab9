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
//! Around that core sit two shells. `service` keeps one company's data in its
//! `tsunagu_store::DocumentStore` and exchanges trade requests and answers with other
//! companies through a `TradeTransport` it is given (never by calling them itself); `http`
//! serves the Ouranos Ecosystem data-transaction API over it, so that applications written
//! for Ouranos can point at a tsunagu company. `ouranos` maps between the two vocabularies.
//! `pact` does the same for the WBCSD PACT Technical Specifications v3.0: its data model,
//! the mapping to and from tsunagu's footprints, and its REST API (OAuth2 client
//! credentials, footprint listing, CloudEvents).
//!
//! The domain modules must never do IO (no files, network, database, clock or randomness:
//! time is passed in, the synthetic benchmark chain is seeded); only `service` (store,
//! clock through `Clock`, random ids and secrets), `http` and the `api` of `pact` do. Nothing here computes with
//! binary floating point (all arithmetic is `rust_decimal`, checked, so hostile supplier
//! data is an error rather than a panic; JSON numbers become doubles only on the wire), and
//! nothing puts a company's activity data, emission factors, evidence files or bill of
//! materials into anything meant for another company: only `DisclosedFootprint`s leave, as
//! the recipient's disclosure level allows.

mod activity;
mod battery;
mod bench;
mod bom;
mod company;
mod dependency;
mod factor;
mod num;
mod ouranos;
mod quality;
mod request;
mod rollup;
mod stage;
mod unit;

pub mod http;
pub mod pact;
pub mod service;

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
pub use ouranos::{
    CfpFigure, CfpType, ChildFootprint, DqrError, OuranosDqr, OuranosFootprint,
    declared_unit_from_ouranos, declared_unit_to_ouranos, own_figures, response_figures,
    round_for_ouranos, total_figures, unit_from_ouranos, unit_to_ouranos,
};
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

pub use http::{OuranosApiSettings, ouranos_router};
pub use pact::{PactApiSettings, PactProfile, pact_router};
pub use service::{Notification, NotificationKind, PcfService, ServiceError, TradeTransport};

/// Re-exported so that callers build amounts with the same decimal type.
pub use rust_decimal::Decimal;
