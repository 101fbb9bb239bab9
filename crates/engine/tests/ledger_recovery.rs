//! The window of the last batch: state changes saved but not logged (the process stopped
//! before its last batch was appended, or the log was switched on later) are logged when the
//! connector starts, once, dated when the record last changed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tsunagu_core::{Agreement, Negotiation, NegotiationState, NewNegotiation};
use tsunagu_engine::{Connector, LedgerSettings, Settings};
use tsunagu_store::{SqliteStore, Store};

const ME: &str = "did:web:cells.example";

fn connector(store: Arc<SqliteStore>) -> Connector {
    let mut settings = Settings::new(
        ME.into(),
        "https://cells.example/dsp".into(),
        "https://cells.example/data".into(),
    );
    settings.ledger = Some(LedgerSettings {
        origin: ME.into(),
        signer: tsunagu_ledger::NoteSigner::new(
            ME,
            ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
        )
        .unwrap(),
        cosigner: None,
    });
    Connector::new(store, Arc::new(tsunagu_testkit::UnreachablePeer), settings)
}

async fn log_of(connector: &Connector, at_least: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let entries: Vec<Value> = connector
            .ledger_entries(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|view| serde_json::from_str(&view.entry).unwrap())
            .collect();
        if entries.len() >= at_least && connector.ledger_size().await.unwrap() as usize >= at_least
        {
            return entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log never reached {at_least} entries: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn state_changes_saved_but_not_logged_are_logged_at_start_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("c.sqlite"))
            .await
            .unwrap(),
    );

    // A finalised negotiation with its agreement, saved while no log was kept.
    let mut negotiation = Negotiation::start_as_consumer(NewNegotiation {
        id: "urn:uuid:neg-1".into(),
        counter_party_id: "did:web:cathode.example".into(),
        counter_party_address: "https://cathode.example/dsp".into(),
        dataset_id: "cam-batch-7".into(),
        offer: json!({"@type": "Offer", "permission": [{"action": "use"}]}),
        now_ms: 1_790_000_000_000,
    });
    negotiation.provider_pid = Some("urn:uuid:provider-1".into());
    negotiation.state = NegotiationState::Finalized;
    negotiation.pending = None;
    negotiation.updated_at_ms = 1_790_000_000_500;
    negotiation.agreement = Some(Agreement {
        id: "urn:uuid:agreement-1".into(),
        negotiation_id: "urn:uuid:neg-1".into(),
        dataset_id: "cam-batch-7".into(),
        provider_id: "did:web:cathode.example".into(),
        consumer_id: ME.into(),
        policy: json!({"@type": "Agreement", "@id": "urn:uuid:agreement-1"}),
        signed_at_ms: 1_790_000_000_000,
        provider_signature: None,
        consumer_signature: None,
    });
    store.insert_negotiation(&mut negotiation).await.unwrap();

    // The connector starts with its log: the missing entries are logged, dated when the record
    // last changed.
    let first = connector(store.clone());
    let workers = first.spawn_workers();
    let entries = log_of(&first, 2).await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let state = entries
        .iter()
        .find(|entry| entry["type"] == "negotiationStateChanged")
        .expect("the state is logged");
    assert_eq!(state["negotiationId"], "urn:uuid:neg-1");
    assert_eq!(state["to"], "FINALIZED");
    assert!(state.get("from").is_none_or(Value::is_null), "{state}");
    assert_eq!(state["atUnixMs"], 1_790_000_000_500u64);
    assert!(
        entries
            .iter()
            .any(|entry| entry["type"] == "agreementConcluded"
                && entry["agreementId"] == "urn:uuid:agreement-1"
                && entry["asset"] == "cam-batch-7"),
        "{entries:#?}"
    );
    drop(workers);
    drop(first);

    // A second start finds nothing missing.
    let second = connector(store.clone());
    let _workers = second.spawn_workers();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let entries = log_of(&second, 2).await;
    assert_eq!(entries.len(), 2, "logged twice: {entries:#?}");
}
