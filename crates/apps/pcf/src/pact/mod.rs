//! The WBCSD PACT Technical Specifications v3.0 for tsunagu: the data model (`model`), the
//! mapping between PACT footprints and tsunagu's (`mapping`), the Catena-X PCF aspect 9.0.0
//! to and from PACT footprints (`catenax`), and the REST API a company serves its data
//! recipients (`api`).
//!
//! `model` and `mapping` do no IO and read no clock; `api` is HTTP, like the Ouranos API in
//! `http`, and reads the company's data only through `PcfService`. A PACT client receives
//! what the company's disclosure level for it allows, as every other recipient does.

mod api;
mod battery_supplier;
mod catenax;
mod mapping;
mod model;

pub use api::{PactApiSettings, pact_router, resume_owed_events};
pub use battery_supplier::{
    BatteryComponentContext, from_battery_component_pcf, to_battery_component_pcf,
};
pub use catenax::{CATENAX_PCF_SPEC_VERSION, CatenaXError, REGION_OF, from_catenax, to_catenax};
pub use mapping::{
    LIFE_CYCLE_STAGES_SCHEMA, MappingError, PactProfile, PactSubject, company_urns, from_pact,
    product_urn, to_pact,
};
pub use model::{
    CarbonFootprint, CcuCalculationApproach, CloudEvent, DataModelExtension, DataQualityIndicators,
    DeclaredUnit, EmissionFactorSource, ErrorBody, ErrorCode, EventError, FootprintCriteria,
    FootprintStatus, InvalidFootprint, NotADecimal, PUBLISHED_EVENT, PactDecimal, PactEvent,
    ProductFootprint, ProductOrSectorSpecificRule, REGIONS, REQUEST_CREATED_EVENT,
    REQUEST_FULFILLED_EVENT, REQUEST_REJECTED_EVENT, RuleOperator, SPEC_VERSION, Verification,
    VerificationCoverage, is_urn,
};

/// Checks a profile by mapping a probe footprint with it: a profile that would make the
/// company's footprints break a rule of the specification is refused.
pub(crate) fn check_profile(
    profile: &PactProfile,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), InvalidFootprint> {
    use crate::company::{CorporateNumber, Operator, OperatorIdentifier, Part, TraceId};
    use crate::rollup::{DisclosedFootprint, Disclosure};
    use crate::stage::ByStage;
    use crate::unit::Unit;

    let operator = Operator {
        operator_id: uuid::Uuid::nil(),
        name: "probe".into(),
        address: String::new(),
        open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
            CorporateNumber::parse("5010401089998")
                .map_err(|e| InvalidFootprint(vec![e.to_string()]))?,
        ),
        global_operator_id: None,
    };
    let part = Part {
        trace_id: TraceId::new(uuid::Uuid::nil()),
        operator_id: uuid::Uuid::nil(),
        plant_id: uuid::Uuid::nil(),
        part_name: "probe".into(),
        support_part_name: None,
        label_name: None,
        amount_required: None,
        amount_required_unit: Unit::Kilogram,
        terminated_flag: false,
        additional_info: Default::default(),
    };
    let footprint = DisclosedFootprint {
        part: part.trace_id,
        declared_unit: Unit::Kilogram,
        disclosure: Disclosure::StageSplit,
        total_kg_co2e: rust_decimal::Decimal::ZERO,
        stages: Some(ByStage::default()),
        allocation: None,
        data_quality: None,
        evidence: None,
        computed_at: now,
    };
    let subject = PactSubject {
        id: uuid::Uuid::nil(),
        operator: &operator,
        part: &part,
    };
    to_pact(&footprint, subject, profile)
        .map_err(|e| InvalidFootprint(vec![e.to_string()]))?
        .validate()
}
