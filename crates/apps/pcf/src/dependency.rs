//! Which results depend on which, so that a changed supplier result (or own process) leads
//! to recomputing exactly the parts above it, each after everything it depends on.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bom::BillOfMaterials;
use crate::company::TraceId;
use crate::request::{RequestStatus, TradeRequest};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DependencyError {
    #[error(
        "the dependencies among {} parts form a cycle, so they have no recomputation order: {}",
        .parts.len(),
        .parts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    Cycle {
        /// The parts left over when no further part could be ordered: those on a cycle and
        /// those above one.
        parts: Vec<TraceId>,
    },
}

/// Edges "dependant needs dependency". Serializes as a map from each dependency to the parts
/// that depend on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyIndex {
    dependants: HashMap<TraceId, BTreeSet<TraceId>>,
}

impl DependencyIndex {
    pub fn new() -> DependencyIndex {
        DependencyIndex::default()
    }

    pub fn add(&mut self, dependant: TraceId, dependency: TraceId) {
        self.dependants
            .entry(dependency)
            .or_default()
            .insert(dependant);
    }

    pub fn remove(&mut self, dependant: &TraceId, dependency: &TraceId) {
        if let Some(set) = self.dependants.get_mut(dependency) {
            set.remove(dependant);
            if set.is_empty() {
                self.dependants.remove(dependency);
            }
        }
    }

    /// Every parent depends on each of its children.
    pub fn add_bom(&mut self, bom: &BillOfMaterials) {
        for line in bom.lines() {
            self.add(line.parent, line.child);
        }
    }

    /// The customer's part depends on the supplier's part once the supplier has answered.
    pub fn add_trade(&mut self, request: &TradeRequest) {
        if let (RequestStatus::Completed, Some(upstream)) =
            (&request.status, request.upstream_trace_id)
        {
            self.add(request.downstream_trace_id, upstream);
        }
    }

    pub fn direct_dependants(&self, part: &TraceId) -> impl Iterator<Item = &TraceId> {
        self.dependants.get(part).into_iter().flatten()
    }

    /// The parts to recompute after `changed` changed: everything that depends on them,
    /// directly or through others, each listed once and after every part of the list it
    /// depends on. A changed part appears only if it also depends on another changed part.
    /// Ties are broken by trace id, so the order is deterministic.
    pub fn recompute_order(&self, changed: &[TraceId]) -> Result<Vec<TraceId>, DependencyError> {
        // Every part reachable from a changed part through at least one edge.
        let mut affected = BTreeSet::new();
        let mut frontier: Vec<TraceId> = changed.to_vec();
        while let Some(part) = frontier.pop() {
            for dependant in self.direct_dependants(&part) {
                if affected.insert(*dependant) {
                    frontier.push(*dependant);
                }
            }
        }
        // Kahn's algorithm over the affected parts.
        let mut waiting_on: BTreeMap<TraceId, usize> = affected.iter().map(|p| (*p, 0)).collect();
        for part in &affected {
            for dependant in self.direct_dependants(part) {
                if let Some(count) = waiting_on.get_mut(dependant) {
                    *count += 1;
                }
            }
        }
        let mut ready: BTreeSet<TraceId> = waiting_on
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(part, _)| *part)
            .collect();
        let mut order = Vec::with_capacity(affected.len());
        while let Some(part) = ready.pop_first() {
            order.push(part);
            waiting_on.remove(&part);
            for dependant in self.direct_dependants(&part) {
                if let Some(count) = waiting_on.get_mut(dependant) {
                    *count -= 1;
                    if *count == 0 {
                        ready.insert(*dependant);
                    }
                }
            }
        }
        if waiting_on.is_empty() {
            Ok(order)
        } else {
            Err(DependencyError::Cycle {
                parts: waiting_on.into_keys().collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bom::tests::{id, line};
    use crate::request::NewTradeRequest;
    use crate::unit::Unit;
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    #[test]
    fn lists_dependants_transitively_in_topological_order() {
        // Our pack 1 ← module 2 ← cell 3 (bought: our part 3 answers with supplier part 30).
        // Pack 1 also needs cell 3 directly; a second product 4 needs module 2.
        let bom = BillOfMaterials::new(vec![
            line(1, 2, "1", Unit::Piece),
            line(2, 3, "12", Unit::Piece),
            line(1, 3, "2", Unit::Piece),
            line(4, 2, "1", Unit::Piece),
        ])
        .unwrap();
        let mut index = DependencyIndex::new();
        index.add_bom(&bom);
        let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let mut trade = crate::request::TradeRequest::new(
            NewTradeRequest {
                trade_id: Uuid::from_u128(1),
                status_id: Uuid::from_u128(2),
                downstream_operator_id: Uuid::from_u128(1),
                upstream_operator_id: Uuid::from_u128(2),
                downstream_trace_id: id(3),
                message: None,
                response_due_date: None,
            },
            now,
        );
        index.add_trade(&trade);
        assert!(
            index.recompute_order(&[id(30)]).unwrap().is_empty(),
            "not answered yet"
        );
        trade.complete(id(30), now).unwrap();
        index.add_trade(&trade);

        let order = index.recompute_order(&[id(30)]).unwrap();
        assert_eq!(order, vec![id(3), id(2), id(1), id(4)]);
        assert_eq!(index.recompute_order(&[id(2)]).unwrap(), vec![id(1), id(4)]);
        assert!(index.recompute_order(&[id(1)]).unwrap().is_empty());
        // Two changes at once: module 2 depends on changed cell 3, so it is listed.
        assert_eq!(
            index.recompute_order(&[id(3), id(2)]).unwrap(),
            vec![id(2), id(1), id(4)]
        );
        index.remove(&id(4), &id(2));
        assert_eq!(index.recompute_order(&[id(2)]).unwrap(), vec![id(1)]);
    }

    #[test]
    fn a_cycle_across_companies_is_reported() {
        let mut index = DependencyIndex::new();
        index.add(id(1), id(2));
        index.add(id(2), id(3));
        index.add(id(3), id(2));
        index.add(id(4), id(1));
        let err = index.recompute_order(&[id(3)]).unwrap_err();
        assert_eq!(
            err,
            DependencyError::Cycle {
                parts: vec![id(1), id(2), id(3), id(4)]
            }
        );
        assert!(
            err.to_string()
                .starts_with("the dependencies among 4 parts form a cycle")
        );
    }

    #[test]
    fn scales_to_a_long_chain() {
        let mut index = DependencyIndex::new();
        for n in 0..100_000u128 {
            index.add(id(n + 1), id(n));
        }
        let order = index.recompute_order(&[id(0)]).unwrap();
        assert_eq!(order.len(), 100_000);
        assert_eq!(order.first(), Some(&id(1)));
        assert_eq!(order.last(), Some(&id(100_000)));
    }
}
