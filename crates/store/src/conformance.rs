//! The one test suite every backend must pass. Backend tests call `run_all` with a fresh,
//! empty store; it panics with a description of the first broken promise.

use tsunagu_core::{
    Agreement, Asset, AssetContent, AssetSelector, ContractDefinition, Negotiation,
    NegotiationAction, NegotiationMessage, NegotiationState, NewNegotiation, NewTransfer,
    PolicyDefinition, Role, Transfer, TransferMode,
};

use crate::{Claim, Page, Pid, Store, StoreError, TransferInsert};

pub async fn run_all(store: &dyn Store) {
    assets_and_chunks(store).await;
    definitions(store).await;
    negotiation_lifecycle(store).await;
    concurrent_updates_conflict(store).await;
    leases_hand_each_row_to_one_worker(store).await;
    a_write_can_take_a_free_lease(store).await;
    transfers_are_idempotent_on_consumer_pid(store).await;
    transfers_by_token_and_pid(store).await;
    ids_written_by_any_write_are_found(store).await;
}

fn negotiation(id: &str, now: i64) -> Negotiation {
    Negotiation::start_as_consumer(NewNegotiation {
        id: id.to_owned(),
        counter_party_id: "did:web:provider.example".into(),
        counter_party_address: "http://127.0.0.1:9/dsp".into(),
        dataset_id: "asset-1".into(),
        offer: serde_json::json!({"@id": "offer-1", "@type": "Offer", "target": "asset-1"}),
        now_ms: now,
    })
}

fn provider_transfer(id: &str, consumer_pid: &str, consumer: &str) -> Transfer {
    Transfer::requested_by_consumer(
        NewTransfer {
            id: id.to_owned(),
            agreement_id: "agreement-1".into(),
            dataset_id: "asset-1".into(),
            mode: TransferMode::Pull,
            counter_party_id: consumer.to_owned(),
            counter_party_address: "http://127.0.0.1:9/callback".into(),
            endpoint: None,
            endpoint_token: None,
            now_ms: 10,
        },
        consumer_pid.to_owned(),
    )
}

async fn assets_and_chunks(store: &dyn Store) {
    let asset = Asset {
        id: "asset-1".into(),
        properties: serde_json::json!({"name": "cathode CFP"})
            .as_object()
            .unwrap()
            .clone(),
        content: AssetContent::Stored {
            media_type: "application/json".into(),
            size: 3,
            sha256: "abc".into(),
        },
        created_at_ms: 1,
    };
    store.insert_asset(&asset).await.unwrap();
    assert!(matches!(
        store.insert_asset(&asset).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(store.asset("asset-1").await.unwrap(), Some(asset.clone()));
    assert_eq!(store.asset("missing").await.unwrap(), None);
    store.put_asset_chunk("asset-1", 0, b"ab").await.unwrap();
    store.put_asset_chunk("asset-1", 1, b"c").await.unwrap();
    store.put_asset_chunk("asset-1", 1, b"d").await.unwrap();
    assert_eq!(
        store.asset_chunk("asset-1", 0).await.unwrap().unwrap(),
        b"ab"
    );
    assert_eq!(
        store.asset_chunk("asset-1", 1).await.unwrap().unwrap(),
        b"d"
    );
    assert_eq!(store.asset_chunk("asset-1", 2).await.unwrap(), None);
    let mut second = asset.clone();
    second.id = "asset-2".into();
    second.created_at_ms = 2;
    store.insert_asset(&second).await.unwrap();
    let page = store
        .assets(Page {
            offset: 1,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(
        page,
        vec![second.clone()],
        "listing is oldest first and honours offset"
    );
    second.properties.insert("name".into(), "renamed".into());
    assert!(store.replace_asset(&second).await.unwrap());
    assert_eq!(store.asset("asset-2").await.unwrap(), Some(second));
    assert!(store.delete_asset("asset-2").await.unwrap());
    assert!(!store.delete_asset("asset-2").await.unwrap());
}

async fn definitions(store: &dyn Store) {
    let policy = PolicyDefinition {
        id: "policy-1".into(),
        policy: serde_json::json!({"@type": "Set", "permission": [{"action": "use"}]}),
        created_at_ms: 1,
    };
    store.insert_policy_definition(&policy).await.unwrap();
    assert_eq!(
        store.policy_definition("policy-1").await.unwrap(),
        Some(policy.clone())
    );
    assert_eq!(store.policy_definitions(Page::ALL).await.unwrap().len(), 1);
    let definition = ContractDefinition {
        id: "def-1".into(),
        access_policy_id: "policy-1".into(),
        contract_policy_id: "policy-1".into(),
        assets: AssetSelector::Ids(vec!["asset-1".into()]),
        created_at_ms: 1,
    };
    store.insert_contract_definition(&definition).await.unwrap();
    assert_eq!(
        store.contract_definition("def-1").await.unwrap(),
        Some(definition)
    );
    assert!(store.delete_contract_definition("def-1").await.unwrap());
    assert_eq!(store.contract_definitions(Page::ALL).await.unwrap(), vec![]);
    assert!(store.delete_policy_definition("policy-1").await.unwrap());
}

async fn negotiation_lifecycle(store: &dyn Store) {
    let mut negotiation = negotiation("neg-1", 100);
    store.insert_negotiation(&mut negotiation).await.unwrap();
    assert_eq!(negotiation.version, 1);
    let found = store
        .negotiation_by_pid(Role::Consumer, Pid::Consumer, "neg-1")
        .await
        .unwrap()
        .expect("found by consumer pid");
    assert_eq!(found, negotiation);
    assert!(
        store
            .negotiation_by_pid(Role::Provider, Pid::Consumer, "neg-1")
            .await
            .unwrap()
            .is_none(),
        "role is part of the lookup"
    );

    negotiation.provider_pid = Some("provider-pid-1".into());
    negotiation
        .receive(NegotiationMessage::Agreement, 101)
        .unwrap();
    negotiation.agreement = Some(Agreement {
        id: "agreement-1".into(),
        negotiation_id: "neg-1".into(),
        dataset_id: "asset-1".into(),
        provider_id: "did:web:provider.example".into(),
        consumer_id: "did:web:consumer.example".into(),
        policy: serde_json::json!({"@type": "Agreement"}),
        signed_at_ms: 101,
        provider_signature: Some("provider.jws".into()),
        consumer_signature: None,
    });
    negotiation
        .send(NegotiationAction::SendVerification, 101)
        .unwrap();
    store.update_negotiation(&mut negotiation).await.unwrap();
    assert_eq!(negotiation.version, 2);
    let stored = store.negotiation("neg-1").await.unwrap().unwrap();
    assert_eq!(stored.state, NegotiationState::Verified);
    assert_eq!(stored.provider_pid.as_deref(), Some("provider-pid-1"));
    assert!(
        store
            .negotiation_by_pid(Role::Consumer, Pid::Provider, "provider-pid-1")
            .await
            .unwrap()
            .is_some()
    );
    let agreement = store.agreement("agreement-1").await.unwrap().unwrap();
    assert_eq!(agreement.signed_at_ms, 101);
    assert_eq!(
        agreement.provider_signature.as_deref(),
        Some("provider.jws")
    );
    assert_eq!(agreement.consumer_signature, None);
    assert_eq!(store.agreements(Page::ALL).await.unwrap().len(), 1);
    // Writing the negotiation again must not fail on the agreement that already exists, and
    // keeps the signature the counter-party added since.
    negotiation.agreement.as_mut().unwrap().consumer_signature = Some("consumer.jws".into());
    store.update_negotiation(&mut negotiation).await.unwrap();
    assert_eq!(store.negotiations(Page::ALL).await.unwrap().len(), 1);
    let agreement = store.agreement(&agreement.id).await.unwrap().unwrap();
    assert_eq!(
        agreement.consumer_signature.as_deref(),
        Some("consumer.jws")
    );
    assert_eq!(
        agreement.provider_signature.as_deref(),
        Some("provider.jws")
    );
}

async fn concurrent_updates_conflict(store: &dyn Store) {
    let mut negotiation = negotiation("neg-conflict", 100);
    store.insert_negotiation(&mut negotiation).await.unwrap();
    let mut first = store.negotiation("neg-conflict").await.unwrap().unwrap();
    let mut second = first.clone();
    first.receive(NegotiationMessage::Termination, 101).unwrap();
    store.update_negotiation(&mut first).await.unwrap();
    second.receive(NegotiationMessage::Offer, 102).unwrap();
    assert!(
        matches!(
            store.update_negotiation(&mut second).await,
            Err(StoreError::Conflict(_))
        ),
        "a write based on a stale read must be refused"
    );
    let stored = store.negotiation("neg-conflict").await.unwrap().unwrap();
    assert_eq!(stored.state, NegotiationState::Terminated);
}

async fn leases_hand_each_row_to_one_worker(store: &dyn Store) {
    for index in 0..5 {
        let mut negotiation = negotiation(&format!("lease-{index}"), 1_000);
        store.insert_negotiation(&mut negotiation).await.unwrap();
    }
    let now = 2_000;
    let claim = |owner, now_ms| Claim {
        owner,
        now_ms,
        lease_ms: 500,
        limit: 3,
    };
    let first = store.claim_negotiations(claim("a", now)).await.unwrap();
    let second = store.claim_negotiations(claim("b", now)).await.unwrap();
    let first_ids: Vec<_> = first.iter().map(|n| n.id.clone()).collect();
    let second_ids: Vec<_> = second.iter().map(|n| n.id.clone()).collect();
    assert_eq!(first_ids.len(), 3);
    assert!(
        second_ids.iter().all(|id| !first_ids.contains(id)),
        "no row is leased twice: {first_ids:?} vs {second_ids:?}"
    );
    let lease_total = first_ids.len() + second_ids.len();
    assert!(lease_total >= 5, "every due row is claimed");
    assert!(
        store
            .claim_negotiations(claim("c", now + 100))
            .await
            .unwrap()
            .is_empty(),
        "live leases are respected"
    );

    // Worker "a" finishes one row: the lease goes, and so does the pending action.
    let mut done = first[0].clone();
    let seq = done.pending.as_ref().unwrap().seq;
    assert!(done.delivered(seq, now + 10));
    store.finish_negotiation_work(&mut done).await.unwrap();

    // Worker "b" dies: once its lease expires, its rows go to someone else.
    let after_expiry = store
        .claim_negotiations(Claim {
            owner: "c",
            now_ms: now + 1_000,
            lease_ms: 500,
            limit: 10,
        })
        .await
        .unwrap();
    let mut reclaimed: Vec<_> = after_expiry.iter().map(|n| n.id.clone()).collect();
    reclaimed.sort();
    // RETURNING does not promise an order, so "the first" claimed row is whichever came first.
    let mut expected: Vec<_> = first_ids
        .iter()
        .chain(&second_ids)
        .filter(|id| **id != done.id)
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(
        reclaimed, expected,
        "expired leases are claimable, finished work is not"
    );

    // A row whose retry time lies in the future is not due.
    let mut later = after_expiry[0].clone();
    let seq = later.pending.as_ref().unwrap().seq;
    later.delivery_failed(seq, "connection refused", false, now + 1_000);
    store.finish_negotiation_work(&mut later).await.unwrap();
    let due_now = store
        .claim_negotiations(Claim {
            owner: "d",
            now_ms: now + 1_001,
            lease_ms: 500,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(
        due_now.iter().all(|n| n.id != later.id),
        "retry back-off is honoured"
    );
}

async fn transfers_are_idempotent_on_consumer_pid(store: &dyn Store) {
    let mut first = provider_transfer("transfer-1", "consumer-pid-1", "did:web:consumer-a");
    assert_eq!(
        store.insert_transfer(&mut first).await.unwrap(),
        TransferInsert::Inserted
    );
    let mut repeat = provider_transfer("transfer-2", "consumer-pid-1", "did:web:consumer-a");
    match store.insert_transfer(&mut repeat).await.unwrap() {
        TransferInsert::Existing(existing) => assert_eq!(existing.id, "transfer-1"),
        other => panic!("a repeated request must find the first transfer, got {other:?}"),
    }
    let mut other_consumer =
        provider_transfer("transfer-3", "consumer-pid-1", "did:web:consumer-b");
    assert_eq!(
        store.insert_transfer(&mut other_consumer).await.unwrap(),
        TransferInsert::Inserted,
        "another consumer may use the same process id"
    );
    assert!(store.transfer("transfer-2").await.unwrap().is_none());
}

async fn transfers_by_token_and_pid(store: &dyn Store) {
    let mut transfer = store.transfer("transfer-1").await.unwrap().unwrap();
    transfer.token_sha256 = Some("feedface".into());
    transfer.token_expires_at_ms = Some(99);
    transfer
        .send(tsunagu_core::TransferAction::SendStart, 11)
        .unwrap();
    store.update_transfer(&mut transfer).await.unwrap();
    let by_token = store.transfer_by_token("feedface").await.unwrap().unwrap();
    assert_eq!(by_token, transfer);
    assert!(store.transfer_by_token("other").await.unwrap().is_none());
    let by_pid = store
        .transfer_by_pid(Role::Provider, Pid::Provider, "transfer-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_pid.state, tsunagu_core::TransferState::Started);
    let claimed = store
        .claim_transfers(Claim {
            owner: "w",
            now_ms: 1_000,
            lease_ms: 100,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "the queued start is due");
    assert!(store.transfers(Page::ALL).await.unwrap().len() >= 2);
    let under = store
        .transfers_under_agreement("agreement-1")
        .await
        .unwrap();
    assert!(under.len() >= 2 && under.iter().all(|t| t.agreement_id == "agreement-1"));
    assert!(
        store
            .transfers_under_agreement("none")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_write_can_take_a_free_lease(store: &dyn Store) {
    let mut negotiation = negotiation("direct-1", 5_000);
    store.insert_negotiation(&mut negotiation).await.unwrap();
    let claim = |owner, now_ms| Claim {
        owner,
        now_ms,
        lease_ms: 500,
        limit: 1,
    };
    assert!(
        store
            .update_negotiation_and_lease(&mut negotiation, claim("direct-a", 6_000))
            .await
            .unwrap(),
        "a free row is leased by the write"
    );
    let others = store
        .claim_negotiations(claim("worker", 6_100))
        .await
        .unwrap();
    assert!(
        others.iter().all(|n| n.id != "direct-1"),
        "a row leased by a write is not claimed by workers"
    );
    assert!(
        !store
            .update_negotiation_and_lease(&mut negotiation, claim("direct-b", 6_200))
            .await
            .unwrap(),
        "a live lease is not taken over"
    );
    assert!(
        store
            .update_negotiation_and_lease(&mut negotiation, claim("direct-c", 7_000))
            .await
            .unwrap(),
        "an expired lease is"
    );
    assert!(
        store
            .update_negotiation_and_lease(&mut negotiation, claim("direct-c", 7_400))
            .await
            .unwrap(),
        "its holder renews a live lease"
    );
    assert!(
        !store
            .update_negotiation_and_lease(&mut negotiation, claim("direct-e", 7_600))
            .await
            .unwrap(),
        "a renewed lease runs from its renewal"
    );
    let stale = &mut store.negotiation("direct-1").await.unwrap().unwrap();
    stale.version -= 1;
    assert!(matches!(
        store
            .update_negotiation_and_lease(stale, claim("direct-d", 9_000))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let mut transfer = provider_transfer("direct-t", "direct-consumer-pid", "did:web:consumer-a");
    store.insert_transfer(&mut transfer).await.unwrap();
    transfer
        .send(tsunagu_core::TransferAction::SendStart, 5_000)
        .unwrap();
    assert!(
        store
            .update_transfer_and_lease(&mut transfer, claim("direct-t-a", 6_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_transfer_and_lease(&mut transfer, claim("direct-t-b", 6_100))
            .await
            .unwrap()
    );
    store.finish_transfer_work(&mut transfer).await.unwrap();
}

/// Every kind of write stores a process id learnt since the last one (the backends leave the
/// id columns out of writes that do not change them), and a stale write is refused whatever
/// it changes.
async fn ids_written_by_any_write_are_found(store: &dyn Store) {
    let claim = Claim {
        owner: "learner",
        now_ms: 1_000,
        lease_ms: 500,
        limit: 1,
    };
    for write in ["update", "lease", "finish"] {
        let id = format!("learn-{write}");
        let mut negotiation = negotiation(&id, 100);
        store.insert_negotiation(&mut negotiation).await.unwrap();
        let stale = negotiation.clone();
        let pid = format!("provider-of-{id}");
        negotiation.provider_pid = Some(pid.clone());
        match write {
            "update" => store.update_negotiation(&mut negotiation).await.unwrap(),
            "lease" => assert!(
                store
                    .update_negotiation_and_lease(&mut negotiation, claim)
                    .await
                    .unwrap()
            ),
            _ => store
                .finish_negotiation_work(&mut negotiation)
                .await
                .unwrap(),
        }
        let found = |pid: String| async move {
            store
                .negotiation_by_pid(Role::Consumer, Pid::Provider, &pid)
                .await
                .unwrap()
        };
        assert_eq!(
            found(pid.clone()).await.map(|n| n.version),
            Some(negotiation.version),
            "a provider id learnt by a {write} is found"
        );
        // A later write that keeps the ids leaves them found.
        negotiation.updated_at_ms += 1;
        store.update_negotiation(&mut negotiation).await.unwrap();
        assert_eq!(
            found(pid.clone()).await.map(|n| n.version),
            Some(negotiation.version)
        );
        // A stale copy is refused, also when it would change an id.
        let mut stale = stale;
        stale.provider_pid = Some(format!("other-{pid}"));
        assert!(matches!(
            store.update_negotiation(&mut stale).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(found(format!("other-{pid}")).await.is_none());
    }

    let mut transfer = provider_transfer("learn-t", "learn-t-consumer", "did:web:consumer-l");
    store.insert_transfer(&mut transfer).await.unwrap();
    for token in ["first-token", "second-token"] {
        transfer.token_sha256 = Some(token.into());
        store.update_transfer(&mut transfer).await.unwrap();
        let found = store.transfer_by_token(token).await.unwrap();
        assert_eq!(found.map(|t| t.version), Some(transfer.version));
    }
    assert!(
        store
            .transfer_by_token("first-token")
            .await
            .unwrap()
            .is_none(),
        "a replaced token no longer finds the transfer"
    );
}

/// The document and journal suite (`DocumentStore`), run against every backend.
pub async fn run_documents(store: &dyn crate::DocumentStore) {
    use serde_json::json;

    let body = json!({"name": "Cell maker K.K.", "roles": ["cellMaker"]});
    store
        .insert_document("applications", "a1", Some("did:web:cell"), &body, 10)
        .await
        .unwrap();
    let again = store
        .insert_document("applications", "a1", None, &json!({}), 11)
        .await;
    assert!(
        matches!(again, Err(StoreError::Duplicate(_))),
        "a second insert of the same id is refused: {again:?}"
    );
    // The same id in another collection is another document.
    store
        .insert_document("participants", "a1", None, &json!({"x": 1}), 12)
        .await
        .unwrap();

    let read = store.document("applications", "a1").await.unwrap().unwrap();
    assert_eq!(read.body, body);
    assert_eq!(read.version, 1);
    assert_eq!(read.lookup.as_deref(), Some("did:web:cell"));
    assert_eq!((read.created_at_ms, read.updated_at_ms), (10, 10));
    assert!(
        store
            .document("applications", "nope")
            .await
            .unwrap()
            .is_none()
    );

    let changed = json!({"name": "Cell maker K.K.", "roles": ["cellMaker"], "status": "approved"});
    let version = store
        .update_document("applications", "a1", 1, Some("did:web:cell2"), &changed, 20)
        .await
        .unwrap();
    assert_eq!(version, 2);
    let stale = store
        .update_document("applications", "a1", 1, None, &json!({}), 21)
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(_))),
        "an update naming an old version is refused: {stale:?}"
    );
    let read = store.document("applications", "a1").await.unwrap().unwrap();
    assert_eq!((read.version, read.updated_at_ms), (2, 20));
    assert_eq!(read.body, changed);
    assert!(
        store
            .documents_by_lookup("applications", "did:web:cell")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .documents_by_lookup("applications", "did:web:cell2")
            .await
            .unwrap()
            .len(),
        1
    );

    for (i, id) in ["b", "c", "d"].iter().enumerate() {
        store
            .insert_document("applications", id, None, &json!({"i": i}), 100 + i as i64)
            .await
            .unwrap();
    }
    let ids = |docs: Vec<crate::Document>| docs.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.documents("applications", Page::ALL).await.unwrap()),
        ["a1", "b", "c", "d"]
    );
    assert_eq!(
        ids(store
            .documents(
                "applications",
                Page {
                    offset: 1,
                    limit: 2
                }
            )
            .await
            .unwrap()),
        ["b", "c"]
    );
    assert!(store.delete_document("applications", "b").await.unwrap());
    assert!(!store.delete_document("applications", "b").await.unwrap());
    assert_eq!(
        store
            .update_document("applications", "b", 1, None, &json!({}), 1)
            .await
            .map_err(|e| matches!(e, StoreError::Conflict(_))),
        Err(true),
        "updating a deleted document is a conflict"
    );

    let first = store
        .append_journal("audit", &json!({"action": "approve"}), 5)
        .await
        .unwrap();
    store
        .append_journal("other", &json!({"action": "x"}), 6)
        .await
        .unwrap();
    let third = store
        .append_journal("audit", &json!({"action": "revoke"}), 7)
        .await
        .unwrap();
    assert!(third > first);
    let audit = store.journal("audit", 0, 100).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].body["action"], "approve");
    assert_eq!(audit[1].at_ms, 7);
    assert_eq!(store.journal("audit", first, 100).await.unwrap().len(), 1);
    assert_eq!(store.journal("audit", 0, 1).await.unwrap().len(), 1);
}

/// The transaction-log part of `Store`: dense appends, refusal of a taken index, checkpoints.
pub async fn run_ledger(store: &dyn Store) {
    use crate::LedgerRow;
    let row = |n: u8| LedgerRow {
        at_ms: i64::from(n),
        entry: vec![n; 3],
        leaf_hash: vec![n; 32],
    };
    assert!(store.ledger_rows(0, 10).await.unwrap().is_empty());
    store
        .append_ledger(0, &[row(0), row(1)], None)
        .await
        .unwrap();
    store
        .append_ledger(2, &[row(2)], Some("note at 3 with its rows"))
        .await
        .unwrap();
    assert_eq!(
        store.latest_ledger_checkpoint().await.unwrap(),
        Some((3, "note at 3 with its rows".to_owned())),
        "the checkpoint is written with the rows it signs"
    );
    let taken = store
        .append_ledger(2, &[row(9), row(10)], Some("a forked note at 4"))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Duplicate(_))),
        "a second writer at a taken index is refused: {taken:?}"
    );
    // The refused batch left nothing behind, not even its first row.
    let rows = store.ledger_rows(0, 100).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2], (2, row(2)));
    assert_eq!(store.ledger_rows(1, 1).await.unwrap(), vec![(1, row(1))]);
    store
        .put_ledger_checkpoint(2, 5, "note at 2")
        .await
        .unwrap();
    store
        .put_ledger_checkpoint(3, 7, "another note at 3")
        .await
        .unwrap();
    assert_eq!(
        store.latest_ledger_checkpoint().await.unwrap(),
        Some((3, "note at 3 with its rows".to_owned())),
        "the first checkpoint of a size wins"
    );
    // The refused batch's checkpoint was not kept either.
    assert!(store.ledger_rows(3, 10).await.unwrap().is_empty());
    // A batch larger than one statement holds.
    let many: Vec<LedgerRow> = (0..600u32)
        .map(|n| LedgerRow {
            at_ms: i64::from(n),
            entry: n.to_be_bytes().to_vec(),
            leaf_hash: vec![(n % 251) as u8; 32],
        })
        .collect();
    store
        .append_ledger(3, &many, Some("note at 603"))
        .await
        .unwrap();
    let stored = store.ledger_rows(3, 1000).await.unwrap();
    assert_eq!(stored.len(), 600);
    assert!(
        stored
            .iter()
            .zip(&many)
            .enumerate()
            .all(|(i, ((index, row), expected))| *index == 3 + i as u64 && row == expected)
    );
}
