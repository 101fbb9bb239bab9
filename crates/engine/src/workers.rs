//! Workers drive negotiations and transfers forward: they claim rows with a pending action
//! (a message owed to the counter-party), deliver it, and record the outcome. Leases make
//! replicas on one database share the work without doing any of it twice, and a replica that
//! dies leaves its rows to the others once their leases run out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tsunagu_core::{Negotiation, Role, Transfer, TransferAction, TransferMode};
use tsunagu_store::{Claim, StoreError};

use crate::dataplane::{new_token, token_digest};
use crate::{Connector, EngineError, now_ms};

/// The rows this connector is delivering a message of, each with the newest copy a handler
/// wrote while the message was under way.
///
/// A counter-party often answers before its acknowledgement of our message is back (the
/// provider's agreement overtakes the `201` to the consumer's request). The handler of the answer
/// finds the row leased by the delivery and leaves the next message to it; without a hand-over
/// the delivery's own write then fails on the row's version and has to read the row again. With
/// it, the delivery goes on from the handler's copy. It is only a shortcut: every write is still
/// checked against the stored version.
pub(crate) struct Handovers<T>(std::sync::Mutex<HashMap<String, Option<T>>>);

impl<T> Default for Handovers<T> {
    fn default() -> Self {
        Handovers(std::sync::Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> Handovers<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<T>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A message of row `id` leaves now.
    fn open(&self, id: &str) {
        self.lock().insert(id.to_owned(), None);
    }

    /// Its answer is back: the copy handed over meanwhile, if any.
    fn close(&self, id: &str) -> Option<T> {
        self.lock().remove(id).flatten()
    }

    /// A handler wrote `record` while row `id` was leased: hands it to the delivery when the
    /// delivery is here and under way.
    fn offer(&self, id: &str, record: &T) {
        if let Some(slot) = self.lock().get_mut(id) {
            *slot = Some(record.clone());
        }
    }
}

/// The two kinds of rows workers drive, so that one loop serves both.
trait Work: Send + Sized + 'static {
    const NAME: &'static str;
    fn wake(connector: &Connector) -> &tokio::sync::Notify;
    fn claim(
        connector: &Connector,
        claim: Claim<'_>,
    ) -> impl std::future::Future<Output = Result<Vec<Self>, StoreError>> + Send;
    /// Delivers the record's pending message under the lease `owner` holds, and every message
    /// that comes due on the row meanwhile, then releases the lease.
    fn deliver(
        connector: &Connector,
        record: Self,
        owner: &str,
    ) -> impl std::future::Future<Output = ()> + Send;
    /// Whether the record owes a message whose time has come.
    fn is_due(&self, now_ms: i64) -> bool;
    /// Hands a record written while someone held its lease to a delivery of it under way here.
    fn hand_over(connector: &Connector, record: &Self);
    fn update(
        connector: &Connector,
        record: &mut Self,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    fn update_and_lease(
        connector: &Connector,
        record: &mut Self,
        claim: Claim<'_>,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

impl Work for Negotiation {
    const NAME: &'static str = "negotiation";

    fn wake(connector: &Connector) -> &tokio::sync::Notify {
        &connector.inner.negotiation_work
    }

    async fn claim(connector: &Connector, claim: Claim<'_>) -> Result<Vec<Self>, StoreError> {
        connector.store().claim_negotiations(claim).await
    }

    async fn deliver(connector: &Connector, record: Self, owner: &str) {
        connector.deliver_negotiation(record, owner).await;
    }

    fn is_due(&self, now_ms: i64) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.not_before_ms <= now_ms)
    }

    fn hand_over(connector: &Connector, record: &Self) {
        connector
            .inner
            .negotiation_handovers
            .offer(&record.id, record);
    }

    async fn update(connector: &Connector, record: &mut Self) -> Result<(), StoreError> {
        connector.store().update_negotiation(record).await
    }

    async fn update_and_lease(
        connector: &Connector,
        record: &mut Self,
        claim: Claim<'_>,
    ) -> Result<bool, StoreError> {
        connector
            .store()
            .update_negotiation_and_lease(record, claim)
            .await
    }
}

impl Work for Transfer {
    const NAME: &'static str = "transfer";

    fn wake(connector: &Connector) -> &tokio::sync::Notify {
        &connector.inner.transfer_work
    }

    async fn claim(connector: &Connector, claim: Claim<'_>) -> Result<Vec<Self>, StoreError> {
        connector.store().claim_transfers(claim).await
    }

    async fn deliver(connector: &Connector, record: Self, owner: &str) {
        connector.deliver_transfer(record, owner).await;
    }

    fn is_due(&self, now_ms: i64) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.not_before_ms <= now_ms)
    }

    /// Transfers have no hand-over yet: their delivery reads the row again.
    fn hand_over(_: &Connector, _: &Self) {}

    async fn update(connector: &Connector, record: &mut Self) -> Result<(), StoreError> {
        connector.store().update_transfer(record).await
    }

    async fn update_and_lease(
        connector: &Connector,
        record: &mut Self,
        claim: Claim<'_>,
    ) -> Result<bool, StoreError> {
        connector
            .store()
            .update_transfer_and_lease(record, claim)
            .await
    }
}

/// The running workers of one connector. Dropping it stops them.
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

impl Connector {
    /// Starts the negotiation and transfer workers on the current tokio runtime.
    pub fn spawn_workers(&self) -> Workers {
        let negotiations = tokio::spawn(self.clone().work_loop::<Negotiation>());
        let transfers = tokio::spawn(self.clone().work_loop::<Transfer>());
        let mut handles = vec![negotiations, transfers];
        if self.ledger().is_some() {
            let connector = self.clone();
            handles.push(tokio::spawn(async move {
                if let Some(ledger) = connector.ledger() {
                    ledger.run(connector.store()).await;
                }
            }));
            handles.push(tokio::spawn(self.clone().run_exchanges()));
        }
        Workers { handles }
    }

    fn claim(&self, limit: u32) -> Claim<'_> {
        self.lease_for(&self.settings().worker_id, limit)
    }

    /// A lease for `owner` from now on, over at most `limit` rows.
    fn lease_for<'a>(&self, owner: &'a str, limit: u32) -> Claim<'a> {
        Claim {
            owner,
            now_ms: now_ms(),
            lease_ms: self.settings().lease.as_millis() as i64,
            limit,
        }
    }

    async fn idle(&self, notify: &tokio::sync::Notify) {
        let _ = tokio::time::timeout(self.settings().poll_interval, notify.notified()).await;
    }

    /// Claims due rows of one kind and delivers them, at most `batch` at once, until the
    /// connector stops. Woken by a change that queues work nobody is delivering, and by a
    /// timer for retries and for leases left by a replica that died.
    async fn work_loop<W: Work>(self) {
        let slots = Arc::new(Semaphore::new(self.settings().batch as usize));
        loop {
            let free = slots.available_permits() as u32;
            if free == 0 {
                let _ = slots.acquire().await.map(drop);
                continue;
            }
            let claimed = match W::claim(&self, self.claim(free)).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, kind = W::NAME, "claiming work failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                self.idle(W::wake(&self)).await;
                continue;
            }
            for record in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let connector = self.clone();
                tokio::spawn(async move {
                    let owner = connector.settings().worker_id.clone();
                    W::deliver(&connector, record, &owner).await;
                    drop(permit);
                });
            }
        }
    }

    /// A lease owner for one direct delivery: unique, so that the store can tell whether this
    /// very write took the lease.
    fn direct_owner(&self) -> String {
        format!("{}#{}", self.settings().worker_id, uuid::Uuid::new_v4())
    }

    /// Writes a changed record. When it owes its counter-party a message that is due, the same
    /// write leases the row and the message leaves at once, without waiting for a worker to
    /// claim it. A row someone else holds is left to them: a holder goes on to every message
    /// that came due while it delivered (see `deliver_negotiation`).
    async fn save<W: Work + Clone>(&self, record: &mut W) -> Result<(), StoreError> {
        let now = now_ms();
        if !record.is_due(now) {
            return W::update(self, record).await;
        }
        let owner = self.direct_owner();
        if W::update_and_lease(self, record, self.lease_for(&owner, 1)).await? {
            let connector = self.clone();
            let leased = record.clone();
            tokio::spawn(async move { W::deliver(&connector, leased, &owner).await });
        } else {
            W::hand_over(self, record);
        }
        Ok(())
    }

    pub(crate) async fn save_negotiation(
        &self,
        negotiation: &mut Negotiation,
    ) -> Result<(), StoreError> {
        self.save(negotiation).await
    }

    pub(crate) async fn save_transfer(&self, transfer: &mut Transfer) -> Result<(), StoreError> {
        self.save(transfer).await
    }

    /// Inserts a new negotiation; when it owes its counter-party a message, the row is leased
    /// in the same write and the message leaves at once.
    pub(crate) async fn insert_new_negotiation(
        &self,
        negotiation: &mut Negotiation,
    ) -> Result<(), StoreError> {
        if negotiation.pending.is_none() {
            return self.store().insert_negotiation(negotiation).await;
        }
        let owner = self.direct_owner();
        self.store()
            .insert_negotiation_leased(negotiation, self.lease_for(&owner, 1))
            .await?;
        let connector = self.clone();
        let leased = negotiation.clone();
        tokio::spawn(async move { connector.deliver_negotiation(leased, &owner).await });
        Ok(())
    }

    /// Delivers the pending message of one negotiation whose lease `owner` holds, and records
    /// the outcome. A message that came due meanwhile (the counter-party answered before its
    /// acknowledgement arrived, so the handler found the row leased) goes out next under the
    /// same lease; the lease is released when nothing due is left.
    async fn deliver_negotiation(&self, mut negotiation: Negotiation, owner: &str) {
        // When the lease was last taken or renewed; a delivery goes on without writing only
        // while its lease is far from running out.
        let mut leased_at = Instant::now();
        let handovers = &self.inner.negotiation_handovers;
        loop {
            let Some(pending) = negotiation.pending.clone() else {
                self.release_negotiation(negotiation).await;
                return;
            };
            handovers.open(&negotiation.id);
            let outcome = self
                .peer()
                .send_negotiation_message(&self.own_identity(), &negotiation, &pending.action)
                .await;
            if let Err(error) = &outcome {
                tracing::warn!(negotiation = %negotiation.id, action = ?pending.action, %error, "delivery failed");
            }
            if let Some(fresh) = handovers.close(&negotiation.id)
                && fresh.version > negotiation.version
            {
                let superseded = fresh.pending.as_ref().map(|p| p.seq) != Some(pending.seq);
                negotiation = fresh;
                let learned = outcome
                    .as_ref()
                    .ok()
                    .and_then(|ack| ack.counter_party_pid.as_ref());
                let other_known = match negotiation.role {
                    Role::Consumer => negotiation.provider_pid.is_some(),
                    Role::Provider => negotiation.consumer_pid.is_some(),
                };
                // The answer replaced the message just delivered, the acknowledgement taught
                // nothing new, and the lease is still ours: nothing of this delivery is left to
                // record, so the next message leaves now.
                if superseded
                    && (learned.is_none() || other_known)
                    && negotiation.is_due(now_ms())
                    && leased_at.elapsed() < self.settings().lease / 2
                {
                    continue;
                }
            }
            loop {
                let now = now_ms();
                match &outcome {
                    Ok(ack) => {
                        negotiation.delivered(pending.seq, now);
                        // Learnt even when a later message replaced this one: that message
                        // (a termination decided here, say) needs the counter-party's id too.
                        if let Some(pid) = &ack.counter_party_pid {
                            let other = match negotiation.role {
                                Role::Consumer => &mut negotiation.provider_pid,
                                Role::Provider => &mut negotiation.consumer_pid,
                            };
                            if other.is_none() {
                                *other = Some(pid.clone());
                            }
                        }
                    }
                    Err(error) => {
                        negotiation.delivery_failed(
                            pending.seq,
                            &error.to_string(),
                            error.is_permanent(),
                            now,
                        );
                    }
                }
                let written = if negotiation.is_due(now) {
                    leased_at = Instant::now();
                    self.store()
                        .update_negotiation_and_lease(&mut negotiation, self.lease_for(owner, 1))
                        .await
                } else {
                    self.store()
                        .finish_negotiation_work(&mut negotiation)
                        .await
                        .map(|()| false)
                };
                match written {
                    Ok(next) => {
                        self.negotiation_changed(&negotiation);
                        if next {
                            break;
                        }
                        return;
                    }
                    Err(StoreError::Conflict(_)) => {
                        match self.store().negotiation(&negotiation.id).await {
                            Ok(Some(fresh)) => negotiation = fresh,
                            Ok(None) => return,
                            Err(error) => {
                                tracing::error!(%error, "re-reading a negotiation failed; its lease will expire");
                                return;
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "recording a delivery failed; its lease will expire");
                        return;
                    }
                }
            }
        }
    }

    async fn release_negotiation(&self, mut negotiation: Negotiation) {
        if let Err(error) = self.store().finish_negotiation_work(&mut negotiation).await {
            tracing::debug!(%error, "releasing a negotiation lease failed; it will expire");
        }
    }

    /// Delivers the pending action of one transfer whose lease `owner` holds, and records the
    /// outcome; like `deliver_negotiation`, it goes on to what came due meanwhile, including
    /// its own follow-ups (a started push delivers its data, then its completion).
    async fn deliver_transfer(&self, mut transfer: Transfer, owner: &str) {
        loop {
            let Some(pending) = transfer.pending.clone() else {
                let _ = self.store().finish_transfer_work(&mut transfer).await;
                return;
            };
            let outcome: Result<Option<String>, (String, bool)> = match &pending.action {
                TransferAction::Push => self.push_now(&transfer).await.map(|()| None),
                TransferAction::SendStart
                    if transfer.role == Role::Provider && transfer.mode == TransferMode::Pull =>
                {
                    match self.issue_pull_token(&mut transfer).await {
                        Ok(Some(token)) => {
                            let endpoint = self.settings().data_url.clone();
                            self.peer()
                                .send_transfer_message(
                                    &self.own_identity(),
                                    &transfer,
                                    &pending.action,
                                    Some((&endpoint, &token)),
                                )
                                .await
                                .map(|ack| ack.counter_party_pid)
                                .map_err(|e| (e.to_string(), e.is_permanent()))
                        }
                        // The transfer moved on while we prepared; whoever moved it owns it now.
                        Ok(None) => return,
                        Err(error) => {
                            tracing::error!(%error, "issuing a pull token failed; the lease will expire");
                            return;
                        }
                    }
                }
                action => self
                    .peer()
                    .send_transfer_message(&self.own_identity(), &transfer, action, None)
                    .await
                    .map(|ack| ack.counter_party_pid)
                    .map_err(|e| (e.to_string(), e.is_permanent())),
            };
            if let Err((error, _)) = &outcome {
                tracing::warn!(transfer = %transfer.id, action = ?pending.action, %error, "delivery failed");
            }
            loop {
                let now = now_ms();
                match &outcome {
                    Ok(counter_party_pid) => {
                        if transfer.delivered(pending.seq, now) {
                            if let Some(pid) = counter_party_pid {
                                let other = match transfer.role {
                                    Role::Consumer => &mut transfer.provider_pid,
                                    Role::Provider => &mut transfer.consumer_pid,
                                };
                                if other.is_none() {
                                    *other = Some(pid.clone());
                                }
                            }
                            self.follow_up(&mut transfer, &pending.action, now);
                        }
                    }
                    Err((error, permanent)) => {
                        transfer.delivery_failed(pending.seq, error, *permanent, now);
                    }
                }
                let written = if transfer.is_due(now) {
                    self.store()
                        .update_transfer_and_lease(&mut transfer, self.lease_for(owner, 1))
                        .await
                } else {
                    self.store()
                        .finish_transfer_work(&mut transfer)
                        .await
                        .map(|()| false)
                };
                match written {
                    Ok(next) => {
                        self.transfer_changed(&transfer);
                        if next {
                            break;
                        }
                        return;
                    }
                    Err(StoreError::Conflict(_)) => match self.store().transfer(&transfer.id).await
                    {
                        Ok(Some(fresh)) => transfer = fresh,
                        Ok(None) => return,
                        Err(error) => {
                            tracing::error!(%error, "re-reading a transfer failed; its lease will expire");
                            return;
                        }
                    },
                    Err(error) => {
                        tracing::error!(%error, "recording a delivery failed; its lease will expire");
                        return;
                    }
                }
            }
        }
    }

    /// What comes after a delivered action: a started push transfer delivers its data, and a
    /// delivered push completes the transfer.
    fn follow_up(&self, transfer: &mut Transfer, done: &TransferAction, now: i64) {
        if transfer.role != Role::Provider {
            return;
        }
        if transfer.mode == TransferMode::Pull {
            // The consumer has the token now; only its digest stays.
            if matches!(done, TransferAction::SendStart) {
                transfer.endpoint_token = None;
            }
            return;
        }
        let next = match done {
            TransferAction::SendStart => TransferAction::Push,
            TransferAction::Push => {
                transfer.deliveries += 1;
                TransferAction::SendCompletion
            }
            _ => return,
        };
        if let Err(error) = transfer.send(next, now) {
            tracing::warn!(transfer = %transfer.id, %error, "transfer moved on before its follow-up");
        }
    }

    /// Hands out a fresh pull token: its digest and expiry are stored before the token leaves,
    /// so the data plane knows it when the consumer comes. Returns `None` when the transfer's
    /// pending action changed meanwhile.
    async fn issue_pull_token(
        &self,
        transfer: &mut Transfer,
    ) -> Result<Option<String>, EngineError> {
        let seq = transfer.pending.as_ref().map(|p| p.seq);
        // A retried start hands out the same token as the attempt before it, so a consumer
        // that did receive that attempt keeps a working token. The raw token is kept only
        // until the start is acknowledged.
        if let Some(token) = &transfer.endpoint_token
            && transfer
                .token_expires_at_ms
                .is_some_and(|expiry| expiry > now_ms())
        {
            return Ok(Some(token.clone()));
        }
        let token = new_token();
        let lifetime = self.settings().token_lifetime.as_millis() as i64;
        loop {
            transfer.token_sha256 = Some(token_digest(&token));
            transfer.token_expires_at_ms = Some(now_ms() + lifetime);
            transfer.endpoint_token = Some(token.clone());
            match self.store().update_transfer(transfer).await {
                Ok(()) => return Ok(Some(token)),
                Err(StoreError::Conflict(_)) => {
                    let fresh = self
                        .store()
                        .transfer(&transfer.id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    if fresh.pending.as_ref().map(|p| p.seq) != seq {
                        let mut fresh = fresh;
                        self.store().finish_transfer_work(&mut fresh).await.ok();
                        // What came due instead is for a worker to claim.
                        if fresh.pending.is_some() {
                            self.inner.transfer_work.notify_one();
                        }
                        return Ok(None);
                    }
                    *transfer = fresh;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Provider, push: streams the asset to the consumer's endpoint.
    async fn push_now(&self, transfer: &Transfer) -> Result<(), (String, bool)> {
        let Some(endpoint) = &transfer.endpoint else {
            return Err(("the consumer named no push endpoint".into(), true));
        };
        self.check_agreement_policy(
            &transfer.counter_party_id,
            &transfer.counter_party_attributes,
            &transfer.agreement_id,
            Some(
                self.uses_of_agreement(&transfer.agreement_id)
                    .await
                    .map_err(|e| (e.to_string(), false))?,
            ),
        )
        .await
        .map_err(|e| (e.to_string(), true))?;
        let data = self
            .open_asset(&transfer.dataset_id)
            .await
            .map_err(|e| (e.to_string(), false))?;
        self.peer()
            .push(
                endpoint,
                transfer.endpoint_token.as_deref(),
                data.media_type.as_deref(),
                self.logged_delivery(
                    data.body,
                    data.size,
                    tsunagu_ledger::entry::Direction::Served,
                    &transfer.agreement_id,
                    &transfer.id,
                    None,
                ),
            )
            .await
            .map_err(|e| (e.to_string(), e.is_permanent()))
    }
}
