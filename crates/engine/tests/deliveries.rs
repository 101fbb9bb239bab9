//! A message that comes due while an earlier one of the same negotiation is still on its way
//! is sent by that delivery as soon as it is back, not left for a worker's next poll.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};
use tsunagu_core::{Negotiation, NegotiationAction, NegotiationState, Transfer, TransferAction};
use tsunagu_engine::{
    ByteStream, Connector, NegotiationAck, OwnIdentity, Peer, PeerError, Settings,
    StartNegotiation, TransferAck,
};
use tsunagu_store::SqliteStore;

/// A provider whose acknowledgement of the contract request waits until the test lets it go.
/// It notes every message with the provider process id it carried.
struct SlowProvider {
    sent: Mutex<Vec<(String, Option<String>)>>,
    request_arrived: Notify,
    release_ack: Semaphore,
}

#[async_trait]
impl Peer for SlowProvider {
    async fn send_negotiation_message(
        &self,
        _: &OwnIdentity,
        negotiation: &Negotiation,
        action: &NegotiationAction,
    ) -> Result<NegotiationAck, PeerError> {
        let name = match action {
            NegotiationAction::SendRequest => "request",
            NegotiationAction::SendTermination { .. } => "termination",
            _ => "other",
        };
        self.sent
            .lock()
            .unwrap()
            .push((name.into(), negotiation.provider_pid.clone()));
        if matches!(action, NegotiationAction::SendRequest) {
            self.request_arrived.notify_one();
            self.release_ack.acquire().await.unwrap().forget();
            return Ok(NegotiationAck {
                counter_party_pid: Some("urn:uuid:provider-process".into()),
            });
        }
        Ok(NegotiationAck::default())
    }

    async fn send_transfer_message(
        &self,
        _: &OwnIdentity,
        _: &Transfer,
        _: &TransferAction,
        _: Option<(&str, &str)>,
    ) -> Result<TransferAck, PeerError> {
        Err(PeerError::Unreachable("no transfers here".into()))
    }

    async fn request_catalog(
        &self,
        _: &OwnIdentity,
        _: &str,
        _: &str,
        _: Value,
    ) -> Result<(Value, Option<String>), PeerError> {
        Err(PeerError::Unreachable("no catalog here".into()))
    }

    async fn pull(&self, _: &str, _: &str) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(PeerError::Unreachable("no data here".into()))
    }

    async fn push(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
        _: ByteStream,
    ) -> Result<(), PeerError> {
        Err(PeerError::Unreachable("no data here".into()))
    }

    async fn fetch_source(
        &self,
        _: &str,
        _: Option<(&str, &str)>,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(PeerError::Unreachable("no source here".into()))
    }
}

#[tokio::test]
async fn a_termination_decided_while_the_request_travels_leaves_when_its_answer_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("consumer.sqlite"))
            .await
            .unwrap(),
    );
    let peer = Arc::new(SlowProvider {
        sent: Mutex::new(Vec::new()),
        request_arrived: Notify::new(),
        release_ack: Semaphore::new(0),
    });
    let mut settings = Settings::new(
        "did:web:consumer.example".into(),
        "https://consumer.example/dsp".into(),
        "https://consumer.example/data".into(),
    );
    // Workers poll far less often than the test waits: only the delivery under way can send
    // the termination in time.
    settings.poll_interval = Duration::from_secs(600);
    let consumer = Connector::new(store, peer.clone(), settings);
    let _workers = consumer.spawn_workers();

    let negotiation = consumer
        .start_negotiation(StartNegotiation {
            counter_party_address: "https://provider.example/dsp".into(),
            counter_party_id: "did:web:provider.example".into(),
            offer: json!({
                "@id": "offer-1",
                "@type": "Offer",
                "target": "cell-batch-1",
                "permission": [{"action": "use"}],
            }),
        })
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), peer.request_arrived.notified())
        .await
        .expect("the request leaves at once");

    // Terminated here while the request's acknowledgement is still on its way.
    consumer
        .terminate_negotiation(&negotiation.id, "changed our mind".into())
        .await
        .unwrap();
    peer.release_ack.add_permits(1);

    let done = consumer
        .wait_for_negotiation(
            &negotiation.id,
            |state| state == NegotiationState::Terminated,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stored = consumer.negotiation(&done.id).await.unwrap();
        if stored.pending.is_none() {
            assert_eq!(
                stored.provider_pid.as_deref(),
                Some("urn:uuid:provider-process"),
                "the acknowledgement's process id is kept though a later message replaced the request"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the termination was never delivered: {stored:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = peer.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        vec![
            ("request".to_owned(), None),
            (
                "termination".to_owned(),
                Some("urn:uuid:provider-process".to_owned())
            ),
        ],
        "the termination follows the request, naming the provider's process"
    );
}
