//! Trades: a buyer's requests for a supplier's footprint and the supplier's answers.
//!
//! Each side keeps its own record of a trade, built on the crate's `TradeRequest`: the buyer
//! in `trades.out`, the supplier in `trades.in`. A state change is stored first, marked as
//! owing a message, and then handed to the `TradeTransport`; the mark is cleared once the
//! transport accepts the message, and `deliver_pending` hands over whatever is still owed.
//! A supplier's answer carries the footprint of the part it linked, projected for the buyer
//! by its disclosure policy, and the progress of the requests further up; whenever either
//! changes for a linked part the answer is sent again, and a buyer that is itself a supplier
//! passes the change on to its own buyers.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tsunagu_store::StoreError;
use uuid::Uuid;

use crate::company::{Part, TraceId};
use crate::request::{NewTradeRequest, RequestStatus, TradeRequest};
use crate::rollup::DisclosedFootprint;

use super::calc::NotificationKind;
use super::records::Collection;
use super::transport::{
    MAX_TREE_DEPTH, Partner, SubtreeProgress, TRADE_MESSAGE_VERSION, TradeAnswer,
    TradeRequestMessage, TradeResponseMessage,
};
use super::{PART_NOT_FOUND, PcfService, Result, ServiceError};

const OUTGOING: Collection = Collection("pcf.trades.out");
const INCOMING: Collection = Collection("pcf.trades.in");

/// Attempts of a read-modify-write that loses a race to another writer before it gives up.
const MODIFY_ATTEMPTS: usize = 5;

/// The buyer's record of a request it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutgoingTrade {
    pub(crate) request: TradeRequest,
    /// What the supplier disclosed with its latest answer.
    pub(crate) supplier_footprint: Option<DisclosedFootprint>,
    /// The progress above the supplier's part, as the supplier reported it.
    pub(crate) upstream: SubtreeProgress,
    pub(crate) progress_at: DateTime<Utc>,
    /// The supplier has not yet accepted the latest state of the request.
    pub(crate) delivery_pending: bool,
}

/// The supplier's record of a request it received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IncomingTrade {
    pub(crate) request: TradeRequest,
    /// The buyer's part, as shared with the request (no amount).
    pub(crate) requested_part: Part,
    /// The answer last handed to the transport, to send only what changed.
    pub(crate) last_answer: Option<TradeAnswer>,
    pub(crate) progress_at: DateTime<Utc>,
    pub(crate) delivery_pending: bool,
}

fn is_open(status: &RequestStatus) -> bool {
    matches!(
        status,
        RequestStatus::NotCompleted | RequestStatus::Completed
    )
}

impl OutgoingTrade {
    pub(crate) fn is_open(&self) -> bool {
        is_open(&self.request.status)
    }

    pub(crate) fn status(&self) -> &RequestStatus {
        &self.request.status
    }
}

impl IncomingTrade {
    pub(crate) fn is_open(&self) -> bool {
        is_open(&self.request.status)
    }
}

/// Which side of a trade this company is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeDirection {
    /// The company asked a supplier (Ouranos `statusTarget=REQUEST`).
    Sent,
    /// A customer asked the company (Ouranos `statusTarget=RESPONSE`).
    Received,
}

/// Where a trade stands, counted over its supply tree (Ouranos `requestStatus`): the request
/// itself and every request above the supplier's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeStatus {
    pub completed: u32,
    pub total: u32,
    /// Answered, and every branch above ends in a part marked as an end of the tree.
    pub terminated: bool,
    pub updated_at: DateTime<Utc>,
}

/// One trade as this company sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeView {
    pub direction: TradeDirection,
    pub request: TradeRequest,
    /// For a received request: the customer's part.
    pub requested_part: Option<Part>,
    /// For a sent request: what the supplier disclosed.
    pub supplier_footprint: Option<DisclosedFootprint>,
    pub status: TradeStatus,
    /// The latest state has not reached the other company yet.
    pub delivery_pending: bool,
}

/// A request to make (Ouranos `PUT tradeRequest` without a trade id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// The company's own part that it buys.
    pub downstream_trace_id: TraceId,
    pub upstream_operator_id: Uuid,
    pub message: Option<String>,
    pub response_due_date: Option<NaiveDate>,
}

/// Ouranos `PUT status`: the requester cancels, the supplier rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    Cancel,
    Reject { reason: String },
}

/// The parts structures, parts and sent requests a supply-tree count needs.
struct Tree {
    structures: BTreeMap<TraceId, Vec<TraceId>>,
    parts: HashMap<TraceId, Part>,
    sent: HashMap<TraceId, Vec<OutgoingTrade>>,
}

impl Tree {
    /// The parts of `root`'s structure, `root` included.
    fn reachable(&self, root: TraceId) -> Vec<TraceId> {
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        let mut out = Vec::new();
        while let Some(part) = stack.pop() {
            if !seen.insert(part) {
                continue;
            }
            out.push(part);
            stack.extend(self.structures.get(&part).into_iter().flatten().copied());
        }
        out
    }

    fn terminated(&self, part: TraceId, visiting: &mut HashSet<TraceId>) -> bool {
        if self.parts.get(&part).is_some_and(|p| p.terminated_flag) {
            return true;
        }
        if !visiting.insert(part) {
            return false;
        }
        let terminated = match self.structures.get(&part).filter(|c| !c.is_empty()) {
            Some(children) => children.iter().all(|c| self.terminated(*c, visiting)),
            None => self
                .sent
                .get(&part)
                .into_iter()
                .flatten()
                .any(|t| t.request.status == RequestStatus::Completed && t.upstream.terminated),
        };
        visiting.remove(&part);
        terminated
    }

    /// The requests above `root`, not counting a request that links `root` to a buyer.
    fn progress(&self, root: TraceId) -> SubtreeProgress {
        let mut progress = SubtreeProgress::default();
        for part in self.reachable(root) {
            for trade in self.sent.get(&part).into_iter().flatten() {
                if trade.request.status == RequestStatus::Cancelled {
                    continue;
                }
                let status = sent_status(trade);
                progress.total = progress.total.saturating_add(status.total);
                progress.completed = progress.completed.saturating_add(status.completed);
                progress.depth = progress.depth.max(trade.upstream.depth.saturating_add(1));
            }
        }
        progress.terminated = self.terminated(root, &mut HashSet::new());
        progress
    }
}

fn sent_status(trade: &OutgoingTrade) -> TradeStatus {
    let completed = trade.request.status == RequestStatus::Completed;
    TradeStatus {
        completed: if completed {
            trade.upstream.completed.saturating_add(1)
        } else {
            0
        },
        total: trade.upstream.total.saturating_add(1),
        terminated: completed && trade.upstream.terminated,
        updated_at: trade.progress_at.max(trade.request.updated_at),
    }
}

fn version_check(version: u32) -> Result<()> {
    if version == TRADE_MESSAGE_VERSION {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "trade message version {version} is not supported (expected {TRADE_MESSAGE_VERSION})"
        )))
    }
}

fn illegal(error: crate::request::RequestError) -> ServiceError {
    ServiceError::Invalid(error.to_string())
}

impl PcfService {
    /// Reads, changes and writes one trade record, retrying when another writer got there
    /// first. `change` returns whether it changed anything; nothing is written otherwise.
    async fn modify<T>(
        &self,
        collection: Collection,
        id: &str,
        lookup: fn(&T) -> String,
        mut change: impl FnMut(&mut T) -> Result<bool>,
    ) -> Result<Option<(T, bool)>>
    where
        T: Serialize + serde::de::DeserializeOwned + Clone,
    {
        for _ in 0..MODIFY_ATTEMPTS {
            let Some(stored) = collection.get::<T>(self.store(), id).await? else {
                return Ok(None);
            };
            let mut value = stored.value.clone();
            if !change(&mut value)? {
                return Ok(Some((value, false)));
            }
            let key = lookup(&value);
            match collection
                .replace(self.store(), &stored, Some(&key), &value, self.now())
                .await
            {
                Ok(_) => return Ok(Some((value, true))),
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Store(StoreError::Conflict(format!(
            "{}/{id}",
            collection.0
        ))))
    }

    pub(crate) async fn outgoing_trades(&self) -> Result<Vec<OutgoingTrade>> {
        Ok(OUTGOING
            .all::<OutgoingTrade>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect())
    }

    pub(crate) async fn incoming_trades(&self) -> Result<Vec<IncomingTrade>> {
        Ok(INCOMING
            .all::<IncomingTrade>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect())
    }

    async fn tree(&self) -> Result<Tree> {
        let mut sent: HashMap<TraceId, Vec<OutgoingTrade>> = HashMap::new();
        for trade in self.outgoing_trades().await? {
            sent.entry(trade.request.downstream_trace_id)
                .or_default()
                .push(trade);
        }
        Ok(Tree {
            structures: self.structures_by_parent().await?,
            parts: self
                .all_parts()
                .await?
                .into_iter()
                .map(|s| (s.value.trace_id, s.value))
                .collect(),
            sent,
        })
    }

    fn received_status(tree: &Tree, trade: &IncomingTrade) -> TradeStatus {
        match (&trade.request.status, trade.request.upstream_trace_id) {
            (RequestStatus::Completed, Some(part)) => {
                let above = tree.progress(part);
                TradeStatus {
                    completed: above.completed.saturating_add(1),
                    total: above.total.saturating_add(1),
                    terminated: above.terminated,
                    updated_at: trade.progress_at.max(trade.request.updated_at),
                }
            }
            _ => TradeStatus {
                completed: 0,
                total: 1,
                terminated: false,
                updated_at: trade.progress_at.max(trade.request.updated_at),
            },
        }
    }

    /// The company's trades in one direction, newest request first.
    pub async fn trades(&self, direction: TradeDirection) -> Result<Vec<TradeView>> {
        let mut views: Vec<TradeView> = match direction {
            TradeDirection::Sent => self
                .outgoing_trades()
                .await?
                .into_iter()
                .map(|trade| TradeView {
                    direction,
                    status: sent_status(&trade),
                    delivery_pending: trade.delivery_pending,
                    request: trade.request,
                    requested_part: None,
                    supplier_footprint: trade.supplier_footprint,
                })
                .collect(),
            TradeDirection::Received => {
                let tree = self.tree().await?;
                self.incoming_trades()
                    .await?
                    .into_iter()
                    .map(|trade| TradeView {
                        direction,
                        status: Self::received_status(&tree, &trade),
                        delivery_pending: trade.delivery_pending,
                        request: trade.request,
                        requested_part: Some(trade.requested_part),
                        supplier_footprint: None,
                    })
                    .collect()
            }
        };
        views.sort_by(|a, b| {
            (b.request.requested_at, b.request.trade_id)
                .cmp(&(a.request.requested_at, a.request.trade_id))
        });
        Ok(views)
    }

    /// One trade of either direction.
    pub async fn trade(&self, trade_id: Uuid) -> Result<Option<TradeView>> {
        for direction in [TradeDirection::Sent, TradeDirection::Received] {
            if let Some(view) = self
                .trades(direction)
                .await?
                .into_iter()
                .find(|v| v.request.trade_id == trade_id)
            {
                return Ok(Some(view));
            }
        }
        Ok(None)
    }

    // ----- the buyer's side -----

    /// Ouranos `PUT tradeRequest` for a new request: asks a partner for the footprint of a
    /// part the company buys. One open request per part: a part bought from two suppliers
    /// is two parts, as in Ouranos.
    pub async fn request_footprint(&self, new: NewRequest) -> Result<TradeView> {
        let own = self.operator_id().await?;
        if self.part(new.downstream_trace_id).await?.is_none() {
            return Err(PART_NOT_FOUND);
        }
        if new.upstream_operator_id == own {
            return Err(ServiceError::Invalid(
                "Validation failed, upstreamOperatorId: a company does not request its own footprint."
                    .into(),
            ));
        }
        if self.partner(new.upstream_operator_id).await?.is_none() {
            return Err(ServiceError::NotFound(format!(
                "operator {}",
                new.upstream_operator_id
            )));
        }
        if let Some(open) = OUTGOING
            .by_lookup::<OutgoingTrade>(self.store(), &new.downstream_trace_id.to_string())
            .await?
            .into_iter()
            .find(|t| t.value.is_open())
        {
            return Err(ServiceError::Invalid(format!(
                "Validation failed, downstreamTraceId: {} already has an open request (tradeId {}).",
                new.downstream_trace_id, open.value.request.trade_id
            )));
        }
        let now = self.now();
        let request = TradeRequest::new(
            NewTradeRequest {
                trade_id: Uuid::new_v4(),
                status_id: Uuid::new_v4(),
                downstream_operator_id: own,
                upstream_operator_id: new.upstream_operator_id,
                downstream_trace_id: new.downstream_trace_id,
                message: new.message,
                response_due_date: new.response_due_date,
            },
            now,
        );
        let trade = OutgoingTrade {
            request,
            supplier_footprint: None,
            upstream: SubtreeProgress::default(),
            progress_at: now,
            delivery_pending: true,
        };
        OUTGOING
            .insert(
                self.store(),
                &trade.request.trade_id.to_string(),
                Some(&trade.request.downstream_trace_id.to_string()),
                &trade,
                now,
            )
            .await?;
        let trade_id = trade.request.trade_id;
        self.deliver_request(trade_id).await?;
        self.propagate(trade.request.downstream_trace_id).await?;
        self.sent_view(trade_id).await
    }

    async fn sent_view(&self, trade_id: Uuid) -> Result<TradeView> {
        let trade = OUTGOING
            .get::<OutgoingTrade>(self.store(), &trade_id.to_string())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("trade {trade_id}")))?
            .value;
        Ok(TradeView {
            direction: TradeDirection::Sent,
            status: sent_status(&trade),
            delivery_pending: trade.delivery_pending,
            request: trade.request,
            requested_part: None,
            supplier_footprint: trade.supplier_footprint,
        })
    }

    /// Ouranos `PUT tradeRequest` with a trade id: changes the message or due date of an
    /// open request, or sends a rejected one again.
    pub async fn update_request(
        &self,
        trade_id: Uuid,
        message: Option<String>,
        response_due_date: Option<NaiveDate>,
    ) -> Result<TradeView> {
        let now = self.now();
        let modified = self
            .modify::<OutgoingTrade>(OUTGOING, &trade_id.to_string(), outgoing_key, |trade| {
                let request = &mut trade.request;
                match request.status {
                    RequestStatus::Rejected { .. } => request
                        .resubmit(message.clone(), response_due_date, now)
                        .map_err(illegal)?,
                    RequestStatus::NotCompleted => {
                        if request.message == message
                            && request.response_due_date == response_due_date
                        {
                            return Ok(false);
                        }
                        request.message = message.clone();
                        request.response_due_date = response_due_date;
                        request.updated_at = now;
                    }
                    _ => {
                        return Err(ServiceError::Invalid(format!(
                            "request {trade_id} is {} and cannot be changed",
                            request.status
                        )));
                    }
                }
                trade.delivery_pending = true;
                Ok(true)
            })
            .await?;
        match modified {
            None => Err(ServiceError::NotFound(format!("trade {trade_id}"))),
            Some((_, changed)) => {
                if changed {
                    self.deliver_request(trade_id).await?;
                }
                self.sent_view(trade_id).await
            }
        }
    }

    async fn deliver_request(&self, trade_id: Uuid) -> Result<()> {
        let Some(stored) = OUTGOING
            .get::<OutgoingTrade>(self.store(), &trade_id.to_string())
            .await?
        else {
            return Ok(());
        };
        let trade = stored.value;
        if !trade.delivery_pending {
            return Ok(());
        }
        let Some(supplier) = self.partner(trade.request.upstream_operator_id).await? else {
            return Err(ServiceError::NotFound(format!(
                "operator {}",
                trade.request.upstream_operator_id
            )));
        };
        let mut requested_part = self
            .part(trade.request.downstream_trace_id)
            .await?
            .ok_or(PART_NOT_FOUND)?;
        // The amount the company's bill of materials needs is its own business.
        requested_part.amount_required = None;
        let message = TradeRequestMessage {
            version: TRADE_MESSAGE_VERSION,
            request: trade.request.clone(),
            requester: self.operator().await?,
            requested_part,
        };
        match self.inner.transport.send_request(&supplier, message).await {
            Ok(()) => {
                let sent = trade.request.clone();
                self.modify::<OutgoingTrade>(
                    OUTGOING,
                    &trade_id.to_string(),
                    outgoing_key,
                    |current| {
                        // Only the state that was sent counts as delivered.
                        let delivered = current.request == sent && current.delivery_pending;
                        if delivered {
                            current.delivery_pending = false;
                        }
                        Ok(delivered)
                    },
                )
                .await?;
            }
            Err(error) => {
                tracing::warn!(%trade_id, %error, "trade request kept for redelivery");
            }
        }
        Ok(())
    }

    // ----- the supplier's side -----

    /// Ouranos `PUT tradeResponse&tradeId=&traceId=`: the supplier links its own part to a
    /// request it received (or links another one), and the buyer gets the part's footprint
    /// as the disclosure policy allows.
    pub async fn answer_request(
        &self,
        trade_id: Uuid,
        upstream_trace_id: TraceId,
    ) -> Result<TradeRequest> {
        if self.part(upstream_trace_id).await?.is_none() {
            return Err(PART_NOT_FOUND);
        }
        let now = self.now();
        let modified = self
            .modify::<IncomingTrade>(INCOMING, &trade_id.to_string(), incoming_key, |trade| {
                let request = &mut trade.request;
                match request.status {
                    RequestStatus::NotCompleted => {
                        request.complete(upstream_trace_id, now).map_err(illegal)?
                    }
                    RequestStatus::Completed => {
                        if request.upstream_trace_id == Some(upstream_trace_id) {
                            return Ok(false);
                        }
                        request.upstream_trace_id = Some(upstream_trace_id);
                        request.updated_at = now;
                    }
                    _ => {
                        return Err(ServiceError::Invalid(format!(
                            "request {trade_id} is {} and cannot be answered",
                            request.status
                        )));
                    }
                }
                trade.progress_at = now;
                Ok(true)
            })
            .await?;
        let Some((trade, _)) = modified else {
            return Err(ServiceError::NotFound(format!("trade {trade_id}")));
        };
        self.send_answer(trade_id).await?;
        Ok(trade.request)
    }

    /// Ouranos `PUT status`: the requester cancels its request, or the supplier rejects a
    /// request it received, with the reason the requester will read.
    pub async fn change_status(
        &self,
        status_id: Uuid,
        change: StatusChange,
    ) -> Result<TradeRequest> {
        let now = self.now();
        if let Some(trade) = self
            .outgoing_trades()
            .await?
            .into_iter()
            .find(|t| t.request.status_id == status_id)
        {
            if let StatusChange::Reject { .. } = change {
                return Err(ServiceError::Invalid(
                    "Validation failed, cfpResponseStatus: a requester cancels its own request (CANCEL); REJECT is the supplier's answer."
                        .into(),
                ));
            }
            let trade_id = trade.request.trade_id;
            let (trade, changed) = self
                .modify::<OutgoingTrade>(OUTGOING, &trade_id.to_string(), outgoing_key, |t| {
                    if t.request.status == RequestStatus::Cancelled {
                        return Ok(false);
                    }
                    t.request.cancel(now).map_err(illegal)?;
                    t.delivery_pending = true;
                    Ok(true)
                })
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("trade {trade_id}")))?;
            if changed {
                self.deliver_request(trade_id).await?;
                self.propagate(trade.request.downstream_trace_id).await?;
            }
            return Ok(trade.request);
        }
        if let Some(trade) = self
            .incoming_trades()
            .await?
            .into_iter()
            .find(|t| t.request.status_id == status_id)
        {
            let StatusChange::Reject { reason } = change else {
                return Err(ServiceError::Invalid(
                    "Validation failed, cfpResponseStatus: a supplier sends a request back (REJECT); CANCEL is the requester's."
                        .into(),
                ));
            };
            let trade_id = trade.request.trade_id;
            let (trade, _) = self
                .modify::<IncomingTrade>(INCOMING, &trade_id.to_string(), incoming_key, |t| {
                    if let RequestStatus::Rejected { reason: given } = &t.request.status
                        && *given == reason
                    {
                        return Ok(false);
                    }
                    t.request.reject(reason.clone(), now).map_err(illegal)?;
                    Ok(true)
                })
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("trade {trade_id}")))?;
            self.send_answer(trade_id).await?;
            return Ok(trade.request);
        }
        Err(ServiceError::NotFound(format!("status {status_id}")))
    }

    /// The answer a received request deserves now, if any.
    async fn answer_for(&self, trade: &IncomingTrade, tree: &Tree) -> Result<Option<TradeAnswer>> {
        Ok(
            match (&trade.request.status, trade.request.upstream_trace_id) {
                (RequestStatus::Completed, Some(part)) => {
                    let policy = self.disclosure_policy().await?;
                    let footprint = self.own_footprint(part).await?.map(|own| {
                        Box::new(
                            policy.project_for(&trade.request.downstream_operator_id, &own.result),
                        )
                    });
                    Some(TradeAnswer::Completed {
                        upstream_trace_id: part,
                        footprint,
                        upstream: tree.progress(part),
                    })
                }
                (RequestStatus::Rejected { reason }, _) => Some(TradeAnswer::Rejected {
                    reason: reason.clone(),
                }),
                _ => None,
            },
        )
    }

    /// Brings a received request's answer up to date and sends it if it changed.
    async fn send_answer(&self, trade_id: Uuid) -> Result<()> {
        let Some(stored) = INCOMING
            .get::<IncomingTrade>(self.store(), &trade_id.to_string())
            .await?
        else {
            return Ok(());
        };
        let tree = self.tree().await?;
        let Some(answer) = self.answer_for(&stored.value, &tree).await? else {
            return Ok(());
        };
        if let TradeAnswer::Completed { upstream, .. } = &answer
            && upstream.depth > MAX_TREE_DEPTH
        {
            tracing::warn!(%trade_id, depth = upstream.depth, "supply tree too deep; answer not passed on");
            return Ok(());
        }
        let now = self.now();
        self.modify::<IncomingTrade>(INCOMING, &trade_id.to_string(), incoming_key, |t| {
            if t.last_answer.as_ref() == Some(&answer) {
                return Ok(false);
            }
            t.last_answer = Some(answer.clone());
            t.progress_at = now;
            t.delivery_pending = true;
            Ok(true)
        })
        .await?;
        self.deliver_answer(trade_id).await
    }

    async fn deliver_answer(&self, trade_id: Uuid) -> Result<()> {
        let Some(stored) = INCOMING
            .get::<IncomingTrade>(self.store(), &trade_id.to_string())
            .await?
        else {
            return Ok(());
        };
        let trade = stored.value;
        let (true, Some(answer)) = (trade.delivery_pending, trade.last_answer.clone()) else {
            return Ok(());
        };
        let Some(buyer) = self.partner(trade.request.downstream_operator_id).await? else {
            return Err(ServiceError::NotFound(format!(
                "operator {}",
                trade.request.downstream_operator_id
            )));
        };
        let message = TradeResponseMessage {
            version: TRADE_MESSAGE_VERSION,
            trade_id,
            status_id: trade.request.status_id,
            answer: answer.clone(),
            sent_at: self.now(),
        };
        match self.inner.transport.send_response(&buyer, message).await {
            Ok(()) => {
                self.modify::<IncomingTrade>(INCOMING, &trade_id.to_string(), incoming_key, |t| {
                    let delivered = t.last_answer.as_ref() == Some(&answer) && t.delivery_pending;
                    if delivered {
                        t.delivery_pending = false;
                    }
                    Ok(delivered)
                })
                .await?;
            }
            Err(error) => {
                tracing::warn!(%trade_id, %error, "trade answer kept for redelivery");
            }
        }
        Ok(())
    }

    /// Sends again the answers of every linked request whose part's supply tree holds
    /// `changed`, where they changed.
    pub(crate) async fn propagate(&self, changed: TraceId) -> Result<()> {
        let tree = self.tree().await?;
        for trade in self.incoming_trades().await? {
            let Some(part) = trade.request.upstream_trace_id else {
                continue;
            };
            if trade.request.status == RequestStatus::Completed
                && tree.reachable(part).contains(&changed)
            {
                self.send_answer(trade.request.trade_id).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn resend_all_answers(&self) -> Result<()> {
        for trade in self.incoming_trades().await? {
            self.send_answer(trade.request.trade_id).await?;
        }
        Ok(())
    }

    /// Hands the transport every message it has not accepted yet; returns how many are
    /// still owed afterwards. A worker calls this now and then.
    pub async fn deliver_pending(&self) -> Result<usize> {
        for trade in self.outgoing_trades().await? {
            if trade.delivery_pending {
                self.deliver_request(trade.request.trade_id).await?;
            }
        }
        for trade in self.incoming_trades().await? {
            if trade.delivery_pending {
                self.deliver_answer(trade.request.trade_id).await?;
            }
        }
        let outgoing = self
            .outgoing_trades()
            .await?
            .into_iter()
            .filter(|t| t.delivery_pending)
            .count();
        let incoming = self
            .incoming_trades()
            .await?
            .into_iter()
            .filter(|t| t.delivery_pending)
            .count();
        Ok(outgoing + incoming)
    }

    // ----- messages from other companies -----

    /// A buyer's request arrives. `sender_did` is the DID the data space authenticated.
    pub async fn receive_trade_request(
        &self,
        sender_did: &str,
        message: TradeRequestMessage,
    ) -> Result<()> {
        version_check(message.version)?;
        let own = self.operator_id().await?;
        let request = &message.request;
        if request.upstream_operator_id != own {
            return Err(ServiceError::Invalid(format!(
                "the request is addressed to operator {}, not to this company",
                request.upstream_operator_id
            )));
        }
        if message.requester.operator_id != request.downstream_operator_id
            || message.requested_part.trace_id != request.downstream_trace_id
            || message.requested_part.operator_id != request.downstream_operator_id
        {
            return Err(ServiceError::Invalid(
                "the requester, its part and the request do not match".into(),
            ));
        }
        if !matches!(
            request.status,
            RequestStatus::NotCompleted | RequestStatus::Cancelled
        ) {
            return Err(ServiceError::Invalid(format!(
                "a requester cannot send a request that is {}",
                request.status
            )));
        }
        // The DID check is the partner registry's: an operator id keeps its first DID.
        self.register_partner(Partner {
            operator: message.requester.clone(),
            did: sender_did.to_owned(),
        })
        .await?;
        let now = self.now();
        let trade_id = request.trade_id;
        let incoming = request.clone();
        let modified = self
            .modify::<IncomingTrade>(INCOMING, &trade_id.to_string(), incoming_key, |trade| {
                let current = &mut trade.request;
                if current.status_id != incoming.status_id
                    || current.downstream_trace_id != incoming.downstream_trace_id
                    || current.downstream_operator_id != incoming.downstream_operator_id
                {
                    return Err(ServiceError::Invalid(format!(
                        "trade {trade_id} does not match the request received before"
                    )));
                }
                match (&current.status, &incoming.status) {
                    (RequestStatus::Cancelled, _) => Ok(false),
                    (_, RequestStatus::Cancelled) => {
                        current.cancel(now).map_err(illegal)?;
                        Ok(true)
                    }
                    (RequestStatus::Rejected { .. }, _) => {
                        current
                            .resubmit(incoming.message.clone(), incoming.response_due_date, now)
                            .map_err(illegal)?;
                        trade.last_answer = None;
                        Ok(true)
                    }
                    (RequestStatus::NotCompleted, _) => {
                        if current.message == incoming.message
                            && current.response_due_date == incoming.response_due_date
                        {
                            return Ok(false);
                        }
                        current.message = incoming.message.clone();
                        current.response_due_date = incoming.response_due_date;
                        current.updated_at = now;
                        Ok(true)
                    }
                    // A late copy of the request after the answer changes nothing.
                    (RequestStatus::Completed, _) => Ok(false),
                }
            })
            .await?;
        if let Some((trade, changed)) = modified {
            if changed && trade.request.status == RequestStatus::Cancelled {
                self.notify(NotificationKind::RequestCancelled { trade_id })
                    .await?;
            } else if changed {
                self.notify(NotificationKind::RequestReceived { trade_id })
                    .await?;
            }
            return Ok(());
        }
        if incoming.status == RequestStatus::Cancelled {
            return Ok(());
        }
        // A status id names one request; a buyer cannot make its request answer to
        // another's.
        if !INCOMING
            .by_lookup::<IncomingTrade>(self.store(), &incoming.status_id.to_string())
            .await?
            .is_empty()
        {
            return Err(ServiceError::Invalid(format!(
                "status {} belongs to another request",
                incoming.status_id
            )));
        }
        let mut requested_part = message.requested_part;
        requested_part.amount_required = None;
        let mut request = incoming;
        request.upstream_trace_id = None;
        request.updated_at = now;
        let trade = IncomingTrade {
            request,
            requested_part,
            last_answer: None,
            progress_at: now,
            delivery_pending: false,
        };
        match INCOMING
            .insert(
                self.store(),
                &trade_id.to_string(),
                Some(&incoming_key(&trade)),
                &trade,
                now,
            )
            .await
        {
            Ok(()) => {
                self.notify(NotificationKind::RequestReceived { trade_id })
                    .await
            }
            // The same request delivered twice at once: the first insert stands.
            Err(StoreError::Duplicate(_)) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// A supplier's answer arrives. `sender_did` is the DID the data space authenticated.
    pub async fn receive_trade_response(
        &self,
        sender_did: &str,
        message: TradeResponseMessage,
    ) -> Result<()> {
        version_check(message.version)?;
        let trade_id = message.trade_id;
        let Some(stored) = OUTGOING
            .get::<OutgoingTrade>(self.store(), &trade_id.to_string())
            .await?
        else {
            return Err(ServiceError::NotFound(format!("trade {trade_id}")));
        };
        let supplier = self
            .partner(stored.value.request.upstream_operator_id)
            .await?;
        if supplier.is_none_or(|s| s.did != sender_did) {
            return Err(ServiceError::Forbidden(format!(
                "{sender_did} is not the supplier of trade {trade_id}"
            )));
        }
        if stored.value.request.status_id != message.status_id {
            return Err(ServiceError::Invalid(format!(
                "status {} is not the status of trade {trade_id}",
                message.status_id
            )));
        }
        if let TradeAnswer::Completed {
            upstream_trace_id,
            footprint: Some(footprint),
            ..
        } = &message.answer
            && footprint.part != *upstream_trace_id
        {
            return Err(ServiceError::Invalid(format!(
                "the footprint is of part {}, not of the linked part {upstream_trace_id}",
                footprint.part
            )));
        }
        let now = self.now();
        let (trade, changed) = self
            .modify::<OutgoingTrade>(OUTGOING, &trade_id.to_string(), outgoing_key, |trade| {
                let before = trade.clone();
                let request = &mut trade.request;
                match (&message.answer, &request.status) {
                    // The buyer withdrew the request; an answer that crossed it is moot.
                    (_, RequestStatus::Cancelled) => return Ok(false),
                    (TradeAnswer::Completed { .. }, RequestStatus::Rejected { .. })
                    | (TradeAnswer::Rejected { .. }, RequestStatus::Completed) => {
                        return Err(ServiceError::Invalid(format!(
                            "request {trade_id} is {} and cannot take that answer",
                            request.status
                        )));
                    }
                    (TradeAnswer::Rejected { reason }, RequestStatus::NotCompleted) => {
                        request.reject(reason.clone(), now).map_err(illegal)?;
                    }
                    (TradeAnswer::Rejected { .. }, _) => {}
                    (
                        TradeAnswer::Completed {
                            upstream_trace_id,
                            footprint,
                            upstream,
                        },
                        status,
                    ) => {
                        // Answers may overtake each other on the way; an older result never
                        // replaces a newer one.
                        if let (Some(held), Some(arrived)) = (&trade.supplier_footprint, footprint)
                            && held.computed_at > arrived.computed_at
                        {
                            return Ok(false);
                        }
                        if *status == RequestStatus::NotCompleted {
                            request.complete(*upstream_trace_id, now).map_err(illegal)?;
                        } else if request.upstream_trace_id != Some(*upstream_trace_id) {
                            request.upstream_trace_id = Some(*upstream_trace_id);
                            request.updated_at = now;
                        }
                        trade.supplier_footprint = footprint.as_deref().cloned();
                        trade.upstream = *upstream;
                    }
                }
                if *trade == before {
                    return Ok(false);
                }
                trade.progress_at = now;
                Ok(true)
            })
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("trade {trade_id}")))?;
        if changed {
            match (&message.answer, &trade.request.status) {
                (_, RequestStatus::Rejected { reason }) => {
                    self.notify(NotificationKind::RequestRejected {
                        trade_id,
                        reason: reason.clone(),
                    })
                    .await?
                }
                (
                    TradeAnswer::Completed {
                        footprint: Some(_), ..
                    },
                    _,
                ) => {
                    self.notify(NotificationKind::AnswerReceived {
                        trade_id,
                        part: trade.request.downstream_trace_id,
                    })
                    .await?;
                    // What the company made from the bought part changes with it.
                    self.recompute_above(&[trade.request.downstream_trace_id])
                        .await?;
                }
                _ => {}
            }
            self.propagate(trade.request.downstream_trace_id).await?;
        }
        Ok(())
    }
}

fn outgoing_key(trade: &OutgoingTrade) -> String {
    trade.request.downstream_trace_id.to_string()
}

fn incoming_key(trade: &IncomingTrade) -> String {
    trade.request.status_id.to_string()
}
