//! Requests for a supplier's footprint, mirroring Ouranos trade requests (`trades` with
//! `request_status`), and how far the answers over a whole supply tree have come.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::bom::BillOfMaterials;
use crate::company::TraceId;

/// Where a request stands (Ouranos `cfpResponseStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RequestStatus {
    /// Sent, not answered yet (`NOT_COMPLETED`).
    NotCompleted,
    /// The supplier linked its part and answered (`COMPLETED`).
    Completed,
    /// The supplier sent the request back (`REJECT`, with the `replyMessage`).
    Rejected { reason: String },
    /// The requester withdrew it (`CANCEL`).
    Cancelled,
}

impl RequestStatus {
    /// The Ouranos `cfpResponseStatus` value.
    pub fn ouranos_name(&self) -> &'static str {
        match self {
            RequestStatus::NotCompleted => "NOT_COMPLETED",
            RequestStatus::Completed => "COMPLETED",
            RequestStatus::Rejected { .. } => "REJECT",
            RequestStatus::Cancelled => "CANCEL",
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestStatus::NotCompleted => "not completed",
            RequestStatus::Completed => "completed",
            RequestStatus::Rejected { .. } => "rejected",
            RequestStatus::Cancelled => "cancelled",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("request {trade_id} is {status} and cannot be {action}")]
    IllegalTransition {
        trade_id: Uuid,
        status: RequestStatus,
        action: &'static str,
    },
    #[error("rejecting request {trade_id} needs a reason for the requester")]
    EmptyReason { trade_id: Uuid },
}

/// A request from a customer (downstream) to a supplier (upstream) for the footprint of a
/// part the customer buys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRequest {
    /// Ouranos `trade_id`: the trade relation.
    pub trade_id: Uuid,
    /// Ouranos `status_id`: the request made on that relation.
    pub status_id: Uuid,
    pub downstream_operator_id: Uuid,
    pub upstream_operator_id: Uuid,
    /// The part as the customer's bill of materials names it.
    pub downstream_trace_id: TraceId,
    /// The supplier's own part, known once the supplier answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_trace_id: Option<TraceId>,
    pub status: RequestStatus,
    /// The requester's message (Ouranos `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Ouranos `responseDueDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_due_date: Option<NaiveDate>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The parties and the part of a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTradeRequest {
    pub trade_id: Uuid,
    pub status_id: Uuid,
    pub downstream_operator_id: Uuid,
    pub upstream_operator_id: Uuid,
    pub downstream_trace_id: TraceId,
    pub message: Option<String>,
    pub response_due_date: Option<NaiveDate>,
}

impl TradeRequest {
    pub fn new(new: NewTradeRequest, now: DateTime<Utc>) -> TradeRequest {
        TradeRequest {
            trade_id: new.trade_id,
            status_id: new.status_id,
            downstream_operator_id: new.downstream_operator_id,
            upstream_operator_id: new.upstream_operator_id,
            downstream_trace_id: new.downstream_trace_id,
            upstream_trace_id: None,
            status: RequestStatus::NotCompleted,
            message: new.message,
            response_due_date: new.response_due_date,
            requested_at: now,
            updated_at: now,
        }
    }

    fn illegal(&self, action: &'static str) -> RequestError {
        RequestError::IllegalTransition {
            trade_id: self.trade_id,
            status: self.status.clone(),
            action,
        }
    }

    /// The supplier answers with its own part, whose footprint it shares.
    pub fn complete(
        &mut self,
        upstream_trace_id: TraceId,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if self.status != RequestStatus::NotCompleted {
            return Err(self.illegal("completed"));
        }
        self.upstream_trace_id = Some(upstream_trace_id);
        self.status = RequestStatus::Completed;
        self.updated_at = now;
        Ok(())
    }

    /// The supplier sends the request back with a reason.
    pub fn reject(
        &mut self,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        let reason = reason.into();
        if reason.trim().is_empty() {
            return Err(RequestError::EmptyReason {
                trade_id: self.trade_id,
            });
        }
        if self.status != RequestStatus::NotCompleted {
            return Err(self.illegal("rejected"));
        }
        self.status = RequestStatus::Rejected { reason };
        self.updated_at = now;
        Ok(())
    }

    /// The requester sends a rejected request again, possibly with a new message and date.
    pub fn resubmit(
        &mut self,
        message: Option<String>,
        response_due_date: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !matches!(self.status, RequestStatus::Rejected { .. }) {
            return Err(self.illegal("resubmitted"));
        }
        self.status = RequestStatus::NotCompleted;
        self.message = message;
        self.response_due_date = response_due_date;
        self.updated_at = now;
        Ok(())
    }

    /// The requester withdraws an open or rejected request.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<(), RequestError> {
        match self.status {
            RequestStatus::NotCompleted | RequestStatus::Rejected { .. } => {
                self.status = RequestStatus::Cancelled;
                self.updated_at = now;
                Ok(())
            }
            RequestStatus::Completed | RequestStatus::Cancelled => Err(self.illegal("cancelled")),
        }
    }

    /// Still open after its due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == RequestStatus::NotCompleted
            && self.response_due_date.is_some_and(|due| due < today)
    }
}

/// Answers over a supply tree (Ouranos `completedCount` / `tradesCount`, plus what is stuck).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestProgress {
    pub completed: usize,
    /// Requests in the tree that are not cancelled.
    pub total: usize,
    pub rejected: usize,
    pub overdue: usize,
}

impl RequestProgress {
    pub fn is_complete(&self) -> bool {
        self.completed == self.total
    }
}

/// Counts the requests in the tree below `root`: it follows the bill of materials down, the
/// requests made for each part, and from each answered request on into the supplier's part.
/// `structures` holds every parts structure the caller knows (its own, and suppliers' where
/// shared), so the count covers the tree as far as it is visible. Cancelled requests are
/// not counted.
pub fn request_progress(
    root: TraceId,
    structures: &BillOfMaterials,
    requests: &[TradeRequest],
    today: NaiveDate,
) -> RequestProgress {
    let mut by_part: HashMap<TraceId, Vec<&TradeRequest>> = HashMap::new();
    for request in requests {
        by_part
            .entry(request.downstream_trace_id)
            .or_default()
            .push(request);
    }
    let mut progress = RequestProgress::default();
    let mut visited = HashSet::new();
    let mut pending = vec![root];
    while let Some(part) = pending.pop() {
        if !visited.insert(part) {
            continue;
        }
        pending.extend(structures.children_of(&part).map(|line| line.child));
        for request in by_part.get(&part).into_iter().flatten() {
            match &request.status {
                RequestStatus::Cancelled => continue,
                RequestStatus::Completed => {
                    progress.completed += 1;
                    if let Some(upstream) = request.upstream_trace_id {
                        pending.push(upstream);
                    }
                }
                RequestStatus::Rejected { .. } => progress.rejected += 1,
                RequestStatus::NotCompleted => {
                    if request.is_overdue(today) {
                        progress.overdue += 1;
                    }
                }
            }
            progress.total += 1;
        }
    }
    progress
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bom::tests::{id, line};
    use crate::unit::Unit;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 11, 15, 6, 33, 10).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn request(trade: u128, part: u128) -> TradeRequest {
        TradeRequest::new(
            NewTradeRequest {
                trade_id: Uuid::from_u128(trade),
                status_id: Uuid::from_u128(trade + 1_000),
                downstream_operator_id: Uuid::from_u128(1),
                upstream_operator_id: Uuid::from_u128(2),
                downstream_trace_id: id(part),
                message: Some("来月中にご回答をお願いします。".into()),
                response_due_date: Some(date("2024-12-31")),
            },
            now(),
        )
    }

    #[test]
    fn a_request_moves_through_the_ouranos_states() {
        let mut r = request(10, 2);
        assert_eq!(r.status.ouranos_name(), "NOT_COMPLETED");
        assert_eq!(
            r.reject("  ", now()),
            Err(RequestError::EmptyReason {
                trade_id: Uuid::from_u128(10)
            })
        );
        r.reject("wrong part number", now()).unwrap();
        assert_eq!(r.status.ouranos_name(), "REJECT");
        assert_eq!(
            r.complete(id(20), now()).unwrap_err().to_string(),
            "request 00000000-0000-0000-0000-00000000000a is rejected and cannot be completed"
        );
        r.resubmit(Some("part A1-2, please".into()), None, now())
            .unwrap();
        r.complete(id(20), now()).unwrap();
        assert_eq!(r.status, RequestStatus::Completed);
        assert_eq!(r.upstream_trace_id, Some(id(20)));
        assert!(r.cancel(now()).is_err());
        let mut open = request(11, 3);
        open.cancel(now()).unwrap();
        assert_eq!(open.status.ouranos_name(), "CANCEL");
        assert!(open.resubmit(None, None, now()).is_err());
    }

    #[test]
    fn overdue_only_while_open_after_the_due_date() {
        let mut r = request(10, 2);
        assert!(!r.is_overdue(date("2024-12-31")));
        assert!(r.is_overdue(date("2025-01-01")));
        r.complete(id(20), now()).unwrap();
        assert!(!r.is_overdue(date("2025-01-01")));
    }

    #[test]
    fn progress_follows_the_tree_across_companies() {
        // Our product 1 needs parts 2 and 3; 2 is bought from a supplier whose part 20 needs
        // 21 and 22 (shared structure), each requested further up.
        let structures = BillOfMaterials::new(vec![
            line(1, 2, "1", Unit::Piece),
            line(1, 3, "1", Unit::Piece),
            line(20, 21, "1", Unit::Kilogram),
            line(20, 22, "1", Unit::Kilogram),
        ])
        .unwrap();
        let mut to_supplier = request(100, 2);
        to_supplier.complete(id(20), now()).unwrap();
        let mut for_21 = request(101, 21);
        for_21.complete(id(210), now()).unwrap();
        let mut for_22 = request(102, 22);
        for_22.reject("not our part", now()).unwrap();
        let for_3 = request(103, 3);
        let mut withdrawn = request(104, 3);
        withdrawn.cancel(now()).unwrap();
        // A request outside the tree does not count.
        let elsewhere = request(105, 99);
        let requests = [to_supplier, for_21, for_22, for_3, withdrawn, elsewhere];

        let progress = request_progress(id(1), &structures, &requests, date("2025-01-10"));
        assert_eq!(
            progress,
            RequestProgress {
                completed: 2,
                total: 4,
                rejected: 1,
                overdue: 1
            }
        );
        assert!(!progress.is_complete());
        // From the supplier's point of view (its part 20), both its requests count.
        let supplier_view = request_progress(id(20), &structures, &requests, date("2024-12-01"));
        assert_eq!(
            supplier_view,
            RequestProgress {
                completed: 1,
                total: 2,
                rejected: 1,
                overdue: 0
            }
        );
    }

    #[test]
    fn status_serializes_with_its_reason() {
        let status = RequestStatus::Rejected {
            reason: "wrong part".into(),
        };
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(json, r#"{"state":"rejected","reason":"wrong part"}"#);
        assert_eq!(
            serde_json::from_str::<RequestStatus>(&json).unwrap(),
            status
        );
        let r = request(10, 2);
        let back: TradeRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
