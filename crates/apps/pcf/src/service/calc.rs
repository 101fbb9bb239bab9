//! The company's own calculation, kept by the service: the activity data of each part it
//! makes (its production processes), the emission factors it holds besides the bundled open
//! set, and the recomputation that keeps its footprints current. When a supplier's answer
//! changes, every part of the company that depends on the bought part is recomputed, children
//! first, and each changed result goes on to the company's own customers: a change at the
//! bottom of a chain travels to its top with no one re-entering anything.
//!
//! Also the company's notifications (journal `pcf.notifications`): requests received,
//! answers received, requests rejected or cancelled, and footprints recomputed.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::records::{Collection, Stored};
use super::{OwnFootprint, PART_NOT_FOUND, PcfService, Result, ServiceError};
use crate::activity::ProductionProcess;
use crate::battery::{
    CarbonFootprintDeclaration, DeclarationFacts, PerformanceClasses, ServiceLife,
    battery_carbon_footprint,
};
use crate::company::TraceId;
use crate::dependency::DependencyIndex;
use crate::factor::{EmissionFactor, FactorLibrary, FactorOrigin};
use crate::rollup::{FootprintResult, RollupInput, roll_up};

const PROCESSES: Collection = Collection("pcf.processes");
/// One document (`self`): the factors the company added to the bundled set.
const FACTORS: Collection = Collection("pcf.factors");
const SELF: &str = "self";
const NOTIFICATIONS: &str = "pcf.notifications";

/// What happened, for the people who run the company's PCF work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum NotificationKind {
    /// A customer asked for the footprint of a part.
    RequestReceived { trade_id: Uuid },
    /// A supplier answered (or updated its answer) with a footprint.
    AnswerReceived { trade_id: Uuid, part: TraceId },
    /// A supplier rejected the company's request.
    RequestRejected { trade_id: Uuid, reason: String },
    /// The customer withdrew its request.
    RequestCancelled { trade_id: Uuid },
    /// A footprint of the company's own was recomputed because something below it changed.
    FootprintRecomputed {
        part: TraceId,
        before_kg_co2e: Option<rust_decimal::Decimal>,
        after_kg_co2e: rust_decimal::Decimal,
    },
    /// A footprint could not be recomputed after a change below it (the company's data is
    /// incomplete, for example); the previous result stands.
    RecomputationFailed { part: TraceId, reason: String },
}

/// One entry of the company's notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Ascending; list the ones after the last seen.
    pub sequence: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: NotificationKind,
}

impl PcfService {
    // ----- activity data -----

    /// Records the activity data of a part the company makes (per one declared unit of the
    /// part), replacing what was there, and computes the part's footprint at once when
    /// everything below it is known. Refused, and nothing stored, when the part is unknown,
    /// the declared unit differs from the part's unit, or an activity names a factor the
    /// company does not hold.
    pub async fn put_process(&self, process: ProductionProcess) -> Result<Option<OwnFootprint>> {
        let part = self.part(process.part).await?.ok_or(PART_NOT_FOUND)?;
        if part.amount_required_unit != process.declared_unit {
            return Err(ServiceError::Invalid(format!(
                "part {} is counted in {}, so its production process must be declared per {}, \
                 not per {}",
                part.trace_id,
                part.amount_required_unit,
                part.amount_required_unit,
                process.declared_unit
            )));
        }
        let factors = self.factor_library().await?;
        for activity in &process.activities {
            if factors.get(&activity.factor).is_none() {
                return Err(ServiceError::Invalid(format!(
                    "activity {:?} of part {} names emission factor {}, which is neither in the \
                     bundled set nor among the company's factors",
                    activity.description, process.part, activity.factor
                )));
            }
        }
        PROCESSES
            .upsert(
                self.store(),
                &process.part.to_string(),
                None,
                &process,
                self.now(),
            )
            .await?;
        match self.compute_footprint(process.part).await {
            Ok(footprint) => {
                self.recompute_above(&[process.part]).await?;
                Ok(Some(footprint))
            }
            // Inputs below the part are still missing (a supplier has not answered): the
            // process is kept and the footprint follows when they arrive.
            Err(ServiceError::Invalid(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    pub async fn process(&self, part: TraceId) -> Result<Option<ProductionProcess>> {
        Ok(PROCESSES
            .get::<ProductionProcess>(self.store(), &part.to_string())
            .await?
            .map(|s| s.value))
    }

    async fn processes(&self) -> Result<HashMap<TraceId, ProductionProcess>> {
        Ok(PROCESSES
            .all::<ProductionProcess>(self.store())
            .await?
            .into_iter()
            .map(|s| (s.value.part, s.value))
            .collect())
    }

    // ----- emission factors -----

    /// The factors the company computes with: the bundled open set, with the company's own
    /// and imported licensed factors added or put in place of bundled ones.
    pub async fn factor_library(&self) -> Result<FactorLibrary> {
        let mut library = FactorLibrary::bundled();
        for factor in self.company_factors().await?.value.iter() {
            library
                .replace(factor.clone())
                .map_err(|error| ServiceError::Internal(error.to_string()))?;
        }
        Ok(library)
    }

    async fn company_factors(&self) -> Result<Stored<FactorLibrary>> {
        Ok(FACTORS
            .get::<FactorLibrary>(self.store(), SELF)
            .await?
            .unwrap_or(Stored {
                id: SELF.to_owned(),
                version: 0,
                value: FactorLibrary::new(),
            }))
    }

    /// Imports factors from CSV (for example rows of a licensed database the company
    /// holds): all rows or none. An id the company already added is refused; a bundled id is
    /// overridden. Every footprint computed from activity data is recomputed afterwards.
    pub async fn import_factors_csv(&self, csv: &str, origin: FactorOrigin) -> Result<usize> {
        let mut parsed = FactorLibrary::new();
        let added = parsed
            .import_csv(csv, origin)
            .map_err(|error| ServiceError::Invalid(error.to_string()))?;
        let mut company = self.company_factors().await?.value;
        for factor in parsed.iter() {
            company
                .insert(factor.clone())
                .map_err(|error| ServiceError::Invalid(error.to_string()))?;
        }
        FACTORS
            .upsert(self.store(), SELF, None, &company, self.now())
            .await?;
        self.recompute_all().await?;
        Ok(added)
    }

    /// Adds or replaces one company-specific factor, then recomputes.
    pub async fn put_factor(&self, factor: EmissionFactor) -> Result<()> {
        let mut company = self.company_factors().await?.value;
        company
            .replace(factor)
            .map_err(|error| ServiceError::Invalid(error.to_string()))?;
        FACTORS
            .upsert(self.store(), SELF, None, &company, self.now())
            .await?;
        self.recompute_all().await
    }

    // ----- computing -----

    /// Computes the footprint of one declared unit of `part` from the company's bill of
    /// materials, its activity data, its suppliers' disclosed results and its factors, and
    /// keeps it (customers linked to the part receive it as their disclosure allows). A
    /// result that equals the one held, but for the time of computation, is not stored again.
    pub async fn compute_footprint(&self, part: TraceId) -> Result<OwnFootprint> {
        if self.part(part).await?.is_none() {
            return Err(PART_NOT_FOUND);
        }
        let footprint = {
            let _calc = self.inner.calc.lock().await;
            let bom = self.bill_of_materials().await?;
            let processes = self.processes().await?;
            let suppliers = self.supplier_footprints().await?;
            let factors = self.factor_library().await?;
            let result = roll_up(&RollupInput {
                product: part,
                bom: &bom,
                processes: &processes,
                supplier_results: &suppliers,
                factors: &factors,
                computed_at: self.now(),
            })
            .map_err(|error| ServiceError::Invalid(error.to_string()))?;
            if let Some(held) = self.own_footprint(part).await?
                && same_figures(&held.result, &result)
            {
                return Ok(held);
            }
            self.write_footprint(result, None).await?
        };
        self.propagate(part).await?;
        Ok(footprint)
    }

    /// Recomputes every part with activity data that depends on one of `changed` (not the
    /// changed parts themselves), each after everything it depends on.
    pub(crate) async fn recompute_above(&self, changed: &[TraceId]) -> Result<()> {
        let bom = self.bill_of_materials().await?;
        let mut index = DependencyIndex::new();
        for line in bom.lines() {
            index.add(line.parent, line.child);
        }
        let order = index
            .recompute_order(changed)
            .map_err(|error| ServiceError::Invalid(error.to_string()))?;
        let processes: BTreeSet<TraceId> = self.processes().await?.into_keys().collect();
        for part in order {
            if processes.contains(&part) {
                self.recompute(part).await?;
            }
        }
        Ok(())
    }

    async fn recompute_all(&self) -> Result<()> {
        let bom = self.bill_of_materials().await?;
        let processes: BTreeSet<TraceId> = self.processes().await?.into_keys().collect();
        // Children first, so that each part sees its children's new results.
        let mut done = BTreeSet::new();
        for part in &processes {
            for below in bom.children_first_from(*part) {
                if processes.contains(&below) && done.insert(below) {
                    self.recompute(below).await?;
                }
            }
        }
        Ok(())
    }

    /// Recomputes one part and says what came of it.
    async fn recompute(&self, part: TraceId) -> Result<()> {
        let before = self
            .own_footprint(part)
            .await?
            .map(|held| held.result.total_kg_co2e());
        match self.compute_footprint(part).await {
            Ok(after) => {
                let after = after.result.total_kg_co2e();
                if before != Some(after) {
                    self.notify(NotificationKind::FootprintRecomputed {
                        part,
                        before_kg_co2e: before,
                        after_kg_co2e: after,
                    })
                    .await?;
                }
                Ok(())
            }
            Err(ServiceError::Invalid(reason)) => {
                self.notify(NotificationKind::RecomputationFailed { part, reason })
                    .await
            }
            Err(other) => Err(other),
        }
    }

    // ----- the battery declaration -----

    /// The carbon footprint declaration of a battery the company makes (`part`, declared per
    /// piece), from its current footprint: per kWh delivered over `service_life`, classed by
    /// `classes`, naming the plant the part is made in.
    pub async fn battery_declaration(
        &self,
        part: TraceId,
        service_life: ServiceLife,
        classes: &PerformanceClasses,
        study_reference: &str,
    ) -> Result<CarbonFootprintDeclaration> {
        let made = self.part(part).await?.ok_or(PART_NOT_FOUND)?;
        let footprint = self
            .own_footprint(part)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("footprint of part {part}")))?;
        let battery = battery_carbon_footprint(&footprint.result, service_life, classes)
            .map_err(|error| ServiceError::Invalid(error.to_string()))?;
        let manufacturer = self.operator().await?;
        let plant = self
            .plants()
            .await?
            .into_iter()
            .find(|plant| plant.plant_id == made.plant_id)
            .ok_or_else(|| ServiceError::NotFound(format!("plant {}", made.plant_id)))?;
        Ok(CarbonFootprintDeclaration::new(
            &battery,
            DeclarationFacts {
                study_reference,
                manufacturer: &manufacturer,
                plant: &plant,
                battery_model: made.label_name.as_deref().unwrap_or(&made.part_name),
            },
            self.now(),
        ))
    }

    // ----- notifications -----

    pub(crate) async fn notify(&self, kind: NotificationKind) -> Result<()> {
        let entry = serde_json::to_value(&kind)
            .map_err(|error| ServiceError::Internal(error.to_string()))?;
        self.store()
            .append_journal(NOTIFICATIONS, &entry, self.now().timestamp_millis())
            .await?;
        Ok(())
    }

    /// The company's notifications after `after` (0 for all), oldest first, at most `limit`.
    pub async fn notifications(&self, after: i64, limit: u32) -> Result<Vec<Notification>> {
        self.store()
            .journal(NOTIFICATIONS, after, limit)
            .await?
            .into_iter()
            .map(|entry| {
                let kind = serde_json::from_value(entry.body).map_err(|error| {
                    ServiceError::Internal(format!(
                        "notification {} is unreadable: {error}",
                        entry.seq
                    ))
                })?;
                Ok(Notification {
                    sequence: entry.seq,
                    at: DateTime::from_timestamp_millis(entry.at_ms).unwrap_or_default(),
                    kind,
                })
            })
            .collect()
    }
}

/// Whether two results hold the same figures (everything but the time of computation).
pub(crate) fn same_figures(held: &FootprintResult, new: &FootprintResult) -> bool {
    FootprintResult {
        computed_at: new.computed_at,
        ..held.clone()
    } == *new
}
