//! Waiting for a negotiation or transfer to reach a state.
//!
//! Each waited-for process has one `watch` channel that carries its latest state, so a change
//! wakes only those who wait for that process. (Waiting on the connector-wide event broadcast
//! woke every waiter on every change: with 32 negotiations waited for at once, 32 wake-ups and
//! event copies per change.) The store is read when a state the waiter accepts is announced, and
//! every `RECHECK`, since a replica on the same database announces nothing here.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tsunagu_core::{NegotiationState, TransferState};

use crate::{Connector, EngineError};

/// How often a waiter reads the store even when nothing was announced.
const RECHECK: Duration = Duration::from_secs(1);

/// The state a process changed to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Changed {
    Negotiation(NegotiationState),
    Transfer(TransferState),
}

/// The channels of the processes someone waits for, by process id.
#[derive(Default)]
pub(crate) struct Waiters(Mutex<HashMap<String, watch::Sender<Option<Changed>>>>);

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Option<Changed>>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Announces the new state of process `id` to whoever waits for it.
    pub(crate) fn announce(&self, id: &str, state: Changed) {
        if let Some(sender) = self.lock().get(id) {
            sender.send_replace(Some(state));
        }
    }

    fn watch(&self, id: &str) -> Watch<'_> {
        let receiver = self
            .lock()
            .entry(id.to_owned())
            .or_insert_with(|| watch::channel(None).0)
            .subscribe();
        Watch {
            waiters: self,
            id: id.to_owned(),
            receiver: Some(receiver),
        }
    }
}

/// One waiter's subscription; the channel goes when its last waiter does.
struct Watch<'a> {
    waiters: &'a Waiters,
    id: String,
    receiver: Option<watch::Receiver<Option<Changed>>>,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let mut waiters = self.waiters.lock();
        if waiters
            .get(&self.id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            waiters.remove(&self.id);
        }
    }
}

impl Connector {
    /// Reads process `id` (a `what`) with `read` until `done` accepts its state (`state_of` picks the
    /// state out of a record or an announcement), or `timeout` passes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn wait_for<T, S, F>(
        &self,
        what: &str,
        id: &str,
        timeout: Duration,
        read: impl Fn() -> F,
        state_of: impl Fn(&T) -> S,
        announced: impl Fn(Changed) -> Option<S>,
        done: impl Fn(S) -> bool,
    ) -> Result<T, EngineError>
    where
        S: Copy + std::fmt::Display,
        F: Future<Output = Result<T, EngineError>>,
    {
        // Subscribed before the first read, so that no change after it goes unseen.
        let mut watch = self.inner.waiters.watch(id);
        let receiver = watch.receiver.as_mut().expect("held until dropped");
        let deadline = Instant::now() + timeout;
        loop {
            let record = read().await?;
            let state = state_of(&record);
            if done(state) {
                return Ok(record);
            }
            loop {
                let until = deadline.min(Instant::now() + RECHECK);
                match tokio::time::timeout_at(until, receiver.changed()).await {
                    Ok(Ok(())) => {
                        let latest = *receiver.borrow_and_update();
                        if latest.and_then(&announced).is_some_and(&done) {
                            break;
                        }
                    }
                    // The sender lives while anyone is subscribed; read the store anyway.
                    Ok(Err(_)) => break,
                    Err(_) if Instant::now() >= deadline => {
                        return Err(EngineError::Conflict(format!(
                            "{what} {id} is still {state} after {timeout:?}"
                        )));
                    }
                    Err(_) => break,
                }
            }
        }
    }
}
