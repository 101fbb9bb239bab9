//! The transaction log end to end: an exchange between two onboarded companies appears in
//! both parties' logs (negotiation states, the agreement, transfer states, and the SHA-256 of
//! the exact bytes served and received), and `tsunagu verify` passes on the untouched log and
//! fails, with the right reason, on each tampered copy: a changed row in the database, a
//! changed entry, a dropped entry, a tree re-signed with another key, and a history rewritten
//! with the log's own key that a partner's cosigned checkpoint exposes.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tsunagu::network::{Company, Network};
use tsunagu::verify::{self, VerifyOptions};
use tsunagu_core::{NegotiationState, TransferMode, TransferState};
use tsunagu_engine::{
    NewAssetRequest, NewContractDefinition, NewPolicyDefinition, StartNegotiation, StartTransfer,
};

const WAIT: Duration = Duration::from_secs(20);

fn options() -> VerifyOptions {
    VerifyOptions::default()
}

async fn entries_of(node: &tsunagu::node::Node) -> Vec<Value> {
    node.connector
        .ledger_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.entry).unwrap())
        .collect()
}

/// Waits until `node`'s log holds an entry `wanted` accepts.
async fn wait_for_entry(node: &tsunagu::node::Node, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let entries = entries_of(node).await;
        if entries.iter().any(&wanted) {
            return entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the entry never appeared: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes `data` as asset `asset` at `provider` under an open policy, has `consumer`
/// negotiate for it and pull it; returns the agreement.
async fn exchange(
    provider: &tsunagu::node::Node,
    consumer: &tsunagu::node::Node,
    asset: &str,
    data: &[u8],
) -> tsunagu_core::Agreement {
    let p = &provider.connector;
    p.create_asset(NewAssetRequest {
        id: Some(asset.into()),
        properties: Default::default(),
        http_source: None,
        media_type: Some("application/json".into()),
    })
    .await
    .unwrap();
    let body = data.to_vec();
    p.upload_asset(
        asset,
        None,
        Box::pin(futures::stream::once(async move {
            Ok(bytes::Bytes::from(body))
        })),
    )
    .await
    .unwrap();
    if p.policy_definition("open").await.is_err() {
        p.create_policy_definition(NewPolicyDefinition {
            id: Some("open".into()),
            policy: json!({"@type": "Set", "permission": [{"action": "use"}]}),
        })
        .await
        .unwrap();
        p.create_contract_definition(NewContractDefinition {
            id: Some("def".into()),
            access_policy_id: "open".into(),
            contract_policy_id: "open".into(),
            assets: tsunagu_core::AssetSelector::All,
        })
        .await
        .unwrap();
    }
    let (catalog, _) = consumer
        .connector
        .request_catalog(
            provider.participant_id(),
            &provider.dsp_url(),
            json!({"@context": [tsunagu_wire::DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
        )
        .await
        .unwrap();
    let offer = catalog["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .find(|dataset| dataset["@id"] == asset)
        .expect("the asset is in the catalog")["hasPolicy"][0]
        .clone();
    let negotiation = consumer
        .connector
        .start_negotiation(StartNegotiation {
            counter_party_address: provider.dsp_url(),
            counter_party_id: provider.participant_id().to_owned(),
            offer,
        })
        .await
        .unwrap();
    let negotiation = consumer
        .connector
        .wait_for_negotiation(&negotiation.id, NegotiationState::is_terminal, WAIT)
        .await
        .unwrap();
    assert_eq!(negotiation.state, NegotiationState::Finalized);
    let agreement = negotiation.agreement.unwrap();
    let transfer = consumer
        .connector
        .start_transfer(StartTransfer {
            counter_party_address: provider.dsp_url(),
            agreement_id: agreement.id.clone(),
            mode: TransferMode::Pull,
        })
        .await
        .unwrap();
    consumer
        .connector
        .wait_for_transfer(&transfer.id, |s| s == TransferState::Started, WAIT)
        .await
        .unwrap();
    let mut pulled = consumer.connector.pull_data(&transfer.id).await.unwrap();
    let mut received = Vec::new();
    while let Some(piece) = pulled.body.next().await {
        received.extend_from_slice(&piece.unwrap());
    }
    assert_eq!(received, data);
    agreement
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanges_are_logged_by_both_parties_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(
        dir.path(),
        vec![
            Company::new(
                "provider",
                "Log Provider K.K.",
                500_000_000_001,
                &["materialMaker"],
            ),
            Company::new(
                "consumer",
                "Log Consumer K.K.",
                500_000_000_002,
                &["cellMaker"],
            ),
        ],
    )
    .await
    .unwrap();
    let provider = &network.member("provider").node;
    let consumer = &network.member("consumer").node;

    // An exchange: publish, negotiate, pull.
    let data = br#"{"pcf": "14.7", "unit": "kg CO2e/kg"}"#.to_vec();
    let digest: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let agreement = exchange(provider, consumer, "pcf", &data).await;

    // Both logs hold the exchange, with the same digest of the bytes.
    let delivered = |direction: &'static str| {
        let digest = digest.clone();
        move |entry: &Value| {
            entry["type"] == "dataDelivered"
                && entry["direction"] == direction
                && entry["sha256"] == digest
        }
    };
    let provider_log = wait_for_entry(provider, delivered("served")).await;
    let consumer_log = wait_for_entry(consumer, delivered("received")).await;
    for log in [&provider_log, &consumer_log] {
        let types: Vec<&str> = log.iter().map(|e| e["type"].as_str().unwrap()).collect();
        for expected in [
            "negotiationStateChanged",
            "agreementConcluded",
            "transferStateChanged",
        ] {
            assert!(
                types.contains(&expected),
                "{expected} missing from {types:?}"
            );
        }
        assert!(
            log.iter()
                .any(|e| e["type"] == "agreementConcluded"
                    && e["agreementId"] == agreement.id.as_str()),
            "the agreement is logged"
        );
        assert!(
            log.iter()
                .any(|e| e["type"] == "negotiationStateChanged" && e["to"] == "FINALIZED"),
            "the finalisation is logged"
        );
    }
    // The checkpoint covers the delivery (appends are batched; wait for the signature).
    let deadline = std::time::Instant::now() + WAIT;
    while provider.connector.ledger_size().await.unwrap() < provider_log.len() as u64 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // `tsunagu verify`, as an auditor runs it against the live connector.
    let member = network.member("provider");
    let ca = network.tls.cert_file.display().to_string();
    let export = dir.path().join("export");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .args(["verify", "--management-url", &provider.management_url()])
        .args([
            "--did-document-url",
            &format!("{}/.well-known/did.json", provider.public_url),
        ])
        .args([
            "--delivery",
            &digest,
            "--agreement",
            &agreement.id,
            "--ca-file",
            &ca,
        ])
        .arg("--export")
        .arg(&export)
        .env(
            "TSUNAGU_VERIFY_API_KEY",
            member.config.management_api_key.expose(),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "verify failed on an untouched log: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("ok: {digest} is in the signed log")),
        "{stdout}"
    );

    // Offline, on the export: untouched passes.
    let mut offline = options();
    offline.from_dir = Some(export.clone());
    let verdict = verify::check(&verify::read_export(&export).unwrap(), &offline).unwrap();
    assert_eq!(verdict.origin, provider.participant_id());
    let original = verify::read_export(&export).unwrap();
    let size = verdict.size as usize;

    // A changed entry.
    let mut altered = verify::read_export(&export).unwrap();
    let text = String::from_utf8(altered.entries[0].clone()).unwrap();
    altered.entries[0] = text.replacen("\"at", "\"at\":0,\"x", 1).into_bytes();
    assert_ne!(altered.entries[0], original.entries[0]);
    let error = verify::check(&altered, &offline).unwrap_err().to_string();
    assert!(error.contains("entry altered"), "{error}");

    // A dropped entry.
    let mut dropped = verify::read_export(&export).unwrap();
    dropped.entries.truncate(size - 1);
    let error = verify::check(&dropped, &offline).unwrap_err().to_string();
    assert!(error.contains("entry dropped"), "{error}");

    // The altered entries re-signed with a key that is not the connector's.
    let forger = tsunagu_ledger::NoteSigner::new(
        provider.participant_id(),
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
    )
    .unwrap();
    let mut tree = tsunagu_ledger::MemoryTree::new();
    tree.append_batch(&altered.entries[..size]);
    let forged =
        tsunagu_ledger::Checkpoint::new(provider.participant_id(), tree.size(), tree.root())
            .unwrap()
            .sign(&forger)
            .to_string();
    let mut resigned = verify::read_export(&export).unwrap();
    resigned.entries = altered.entries.clone();
    resigned.checkpoint = forged;
    let error = verify::check(&resigned, &offline).unwrap_err().to_string();
    assert!(
        error.contains("no signature on the note is from a known key"),
        "{error}"
    );

    // History rewritten with the log's own key: a partner that cosigned the original
    // checkpoint exposes it.
    let partner = tsunagu_ledger::Cosigner::new(
        "did:web:partner.example",
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    )
    .unwrap();
    let mut cosigned = tsunagu_ledger::Note::parse(&original.checkpoint).unwrap();
    let checkpoint = tsunagu_ledger::Checkpoint::parse(cosigned.text()).unwrap();
    cosigned.add_signature(partner.cosign(&checkpoint, 1_800_000_000));
    let cosigned_file = dir.path().join("cosigned.note");
    std::fs::write(&cosigned_file, cosigned.to_string()).unwrap();
    let key_file = &member.config.key_file;
    let keys = tsunagu_trust::keys::KeyRing::from_file(
        serde_json::from_str(&std::fs::read_to_string(key_file).unwrap()).unwrap(),
    )
    .unwrap();
    let own_signer = tsunagu::node::ledger_signer(provider.participant_id(), &keys).unwrap();
    let rewritten_checkpoint =
        tsunagu_ledger::Checkpoint::new(provider.participant_id(), tree.size(), tree.root())
            .unwrap()
            .sign(&own_signer)
            .to_string();
    let mut rewritten = verify::read_export(&export).unwrap();
    rewritten.entries = altered.entries.clone();
    rewritten.checkpoint = rewritten_checkpoint;
    let mut with_witness = options();
    with_witness.cosigned = vec![cosigned_file];
    with_witness.witness_vkeys = vec![partner.verifier().to_vkey()];
    verify::check(&original, &with_witness).expect("the original agrees with the partner");
    let error = verify::check(&rewritten, &with_witness)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cosigned") || error.contains("rewritten"),
        "{error}"
    );

    // A changed row in the connector's own database, caught live.
    let database = member.config.database_url.clone();
    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(&database)
        .await
        .unwrap();
    sqlx::query("UPDATE ledger SET entry = CAST(REPLACE(CAST(entry AS TEXT), 'FINALIZED', 'TERMINATED') AS BLOB)")
        .execute(&mut connection)
        .await
        .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .args(["verify", "--management-url", &provider.management_url()])
        .args([
            "--did-document-url",
            &format!("{}/.well-known/did.json", provider.public_url),
        ])
        .args(["--ca-file", &ca])
        .env(
            "TSUNAGU_VERIFY_API_KEY",
            member.config.management_api_key.expose(),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("entry altered"), "{stderr}");
}

/// Waits until `read` returns a list with an entry for `partner`; returns that entry.
async fn wait_for_held<F, Fut>(read: F, partner: &str) -> tsunagu_engine::HeldCheckpoint
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<tsunagu_engine::HeldCheckpoint>>,
{
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(held) = read().await.into_iter().find(|h| h.partner == partner) {
            return held;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of {partner} was ever held"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Witnessing: after two connectors dealt with each other, each holds the other's checkpoint
/// cosigned by itself, and its own checkpoint cosigned by the other (logged as an entry). A
/// checkpoint that does not extend the one a partner holds (a rewritten history, signed with
/// the log's own key, or a rollback) is refused with 422 and raises an alarm with both
/// checkpoints as evidence; a checkpoint of another log, a stale old size and a malformed
/// request are refused without changing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_cosign_each_others_checkpoints_and_catch_a_rewritten_history() {
    use tsunagu_engine::{AddCheckpointAnswer, OwnIdentity, Peer, PeerError};
    use tsunagu_ledger::{AddCheckpoint, Checkpoint, MemoryTree, Note, WitnessedCheckpoint};

    let dir = tempfile::tempdir().unwrap();
    // One exchange per partner in this test: the checkpoints held stay put while it tampers.
    let options = tsunagu::network::NetworkOptions {
        witness_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let network = Network::start_with(
        dir.path(),
        vec![
            Company::new(
                "maker",
                "Witness Maker K.K.",
                500_000_000_011,
                &["cellMaker"],
            ),
            Company::new(
                "buyer",
                "Witness Buyer K.K.",
                500_000_000_012,
                &["packMaker"],
            ),
        ],
        options,
    )
    .await
    .unwrap();
    let maker = &network.member("maker").node;
    let buyer = &network.member("buyer").node;
    let keys_of = |name: &str| {
        let member = network.member(name);
        let keys =
            tsunagu::node::load_or_create_keys(std::path::Path::new(&member.config.key_file))
                .unwrap();
        tsunagu::node::ledger_keys(member.node.participant_id(), &keys).unwrap()
    };
    let (maker_signer, _) = keys_of("maker");
    let (_, buyer_cosigner) = keys_of("buyer");

    let agreement = exchange(maker, buyer, "cfp-cell", b"{\"pcf\": \"61.2\"}").await;
    // Both parties signed the agreement, and each keeps both signatures.
    for (side, kept) in [
        ("buyer", agreement.clone()),
        (
            "maker",
            maker.connector.agreement(&agreement.id).await.unwrap(),
        ),
    ] {
        assert!(
            kept.provider_signature.is_some() && kept.consumer_signature.is_some(),
            "the {side} keeps {kept:?}"
        );
    }

    // Each holds the other's checkpoint, cosigned by itself ...
    let maker_id = maker.participant_id().to_owned();
    let buyer_id = buyer.participant_id().to_owned();
    let held_by_buyer = wait_for_held(
        || async { buyer.connector.witnessed_checkpoints().await.unwrap() },
        &maker_id,
    )
    .await;
    wait_for_held(
        || async { maker.connector.witnessed_checkpoints().await.unwrap() },
        &buyer_id,
    )
    .await;
    // ... and its own, cosigned by the other, which verifies under the partner's key.
    let cosigned = wait_for_held(
        || async { maker.connector.cosigned_checkpoints().await.unwrap() },
        &buyer_id,
    )
    .await;
    let note = Note::parse(&cosigned.note).unwrap();
    let witnessed =
        WitnessedCheckpoint::verify(&note, &[buyer_cosigner.verifier().clone()]).unwrap();
    assert_eq!(witnessed.checkpoint().origin(), maker_id);
    assert_eq!(witnessed.checkpoint().size(), cosigned.size);
    assert!(cosigned.size >= 1);
    wait_for_entry(maker, |entry| {
        entry["type"] == "cosignatureReceived" && entry["partner"] == buyer_id.as_str()
    })
    .await;
    // The management API lists them.
    let member = network.member("maker");
    let client = tsunagu::node::client_for(&network.tls.cert_file.display().to_string()).unwrap();
    let listed: Value = client
        .get(format!("{}/v3/ledger/cosignatures", maker.management_url()))
        .header("X-Api-Key", member.config.management_api_key.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed["cosigned"]
            .as_array()
            .unwrap()
            .iter()
            .any(|held| held["partner"] == buyer_id.as_str()),
        "{listed}"
    );

    // History: what was negotiated and exchanged for the asset, each entry with a proof that
    // leads to the signed checkpoint.
    use tsunagu_engine::HistoryQuery;
    let verify_history = |history: &tsunagu_engine::History| {
        let note = Note::parse(&history.checkpoint).unwrap();
        let checkpoint = Checkpoint::parse(note.text()).unwrap();
        assert!(note.verify(&[maker_signer.verifier().clone()]).is_ok());
        for proven in &history.entries {
            let proof: Vec<_> = proven
                .proof
                .iter()
                .map(|hex| tsunagu_ledger::Hash::from_hex(hex).unwrap())
                .collect();
            tsunagu_ledger::verify_inclusion(
                &tsunagu_ledger::leaf_hash(proven.entry.as_bytes()),
                proven.index,
                checkpoint.size(),
                &proof,
                checkpoint.root(),
            )
            .unwrap();
        }
        history
            .entries
            .iter()
            .map(|proven| serde_json::from_str::<Value>(&proven.entry).unwrap())
            .collect::<Vec<_>>()
    };
    let by_asset = maker
        .connector
        .history(&HistoryQuery {
            asset: Some("cfp-cell".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let entries = verify_history(&by_asset);
    for kind in [
        "negotiationStateChanged",
        "agreementConcluded",
        "transferStateChanged",
        "dataDelivered",
    ] {
        assert!(
            entries.iter().any(|entry| entry["type"] == kind),
            "{kind} missing from the asset's history: {entries:#?}"
        );
    }
    assert!(
        entries
            .iter()
            .all(|entry| entry["type"] != "cosignatureReceived")
    );
    let nothing = maker
        .connector
        .history(&HistoryQuery {
            asset: Some("no-such-asset".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(nothing.entries.is_empty());
    // By part: the asset's partId property names it.
    let mut asset = maker
        .connector
        .store()
        .asset("cfp-cell")
        .await
        .unwrap()
        .unwrap();
    asset
        .properties
        .insert("partId".into(), json!("cell-B7-2026-11"));
    maker.connector.store().replace_asset(&asset).await.unwrap();
    let by_part = maker
        .connector
        .history(&HistoryQuery {
            part: Some("cell-B7-2026-11".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_part.entries.len(), by_asset.entries.len());
    // By agreement and by partner.
    let by_agreement = maker
        .connector
        .history(&HistoryQuery {
            agreement: Some(agreement.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_agreement.entries.len(), by_asset.entries.len());
    let by_partner = maker
        .connector
        .history(&HistoryQuery {
            partner: Some(buyer_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        by_partner.entries.len() > by_asset.entries.len(),
        "the partner's history also holds its cosignature"
    );
    // The buyer asks the maker for the history of the part it supplied, over DSP, and checks
    // the maker's signature and every proof.
    let remote = buyer
        .connector
        .partner_history(
            &maker_id,
            &maker.dsp_url(),
            &HistoryQuery {
                part: Some("cell-B7-2026-11".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(remote.entries.len(), by_part.entries.len());
    // Over the management API too.
    let listed: Value = client
        .get(format!(
            "{}/v3/ledger/history?asset=cfp-cell",
            maker.management_url()
        ))
        .header("X-Api-Key", member.config.management_api_key.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["entries"].as_array().unwrap().len(),
        by_asset.entries.len(),
        "{listed}"
    );

    // Signed data: the maker signed the bytes it served (stored assets), the buyer checked the
    // signature against the maker's DID key and logged it with the delivery.
    let received = wait_for_entry(buyer, |entry| {
        entry["type"] == "dataDelivered" && entry["direction"] == "received"
    })
    .await;
    let delivery = received
        .iter()
        .find(|entry| entry["type"] == "dataDelivered" && entry["direction"] == "received")
        .unwrap();
    let jws = delivery["signature"]
        .as_str()
        .expect("the delivery is signed");
    let maker_keys = tsunagu::node::load_or_create_keys(std::path::Path::new(
        &network.member("maker").config.key_file,
    ))
    .unwrap();
    let (_, statement) =
        tsunagu_trust::jws::verify(jws, &maker_keys.verification_keys(chrono::Utc::now())[0])
            .unwrap();
    assert_eq!(statement["sha256"], delivery["sha256"]);
    assert_eq!(statement["bytes"], delivery["bytes"]);
    assert_eq!(statement["agreementId"], agreement.id.as_str());
    assert_eq!(statement["consumer"], buyer_id.as_str());

    // Bytes that are not the ones the maker's records (and so its signature) describe are
    // refused at the end of the body, and no delivery is logged.
    let deliveries_before = entries_of(buyer)
        .await
        .iter()
        .filter(|entry| entry["type"] == "dataDelivered")
        .count();
    maker
        .connector
        .store()
        .put_asset_chunk("cfp-cell", 0, b"{\"pcf\": \"99.9\"}")
        .await
        .unwrap();
    let transfer = buyer
        .connector
        .start_transfer(StartTransfer {
            counter_party_address: maker.dsp_url(),
            agreement_id: agreement.id.clone(),
            mode: TransferMode::Pull,
        })
        .await
        .unwrap();
    buyer
        .connector
        .wait_for_transfer(&transfer.id, |s| s == TransferState::Started, WAIT)
        .await
        .unwrap();
    let mut pulled = buyer.connector.pull_data(&transfer.id).await.unwrap();
    let mut failure = None;
    while let Some(piece) = pulled.body.next().await {
        if let Err(error) = piece {
            failure = Some(error.to_string());
        }
    }
    let failure = failure.expect("altered bytes were accepted");
    assert!(failure.contains("signed"), "{failure}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let deliveries_after = entries_of(buyer)
        .await
        .iter()
        .filter(|entry| entry["type"] == "dataDelivered")
        .count();
    assert_eq!(deliveries_after, deliveries_before);

    // Now the maker rewrites its history with its own key: the same entries with the first
    // one altered, and two more, so that the tree is larger than the one the buyer holds.
    let held_size = held_by_buyer.size;
    let mut entries: Vec<Vec<u8>> = maker
        .connector
        .ledger_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .take(held_size as usize)
        .map(|view| view.entry.into_bytes())
        .collect();
    entries[0] = String::from_utf8(entries[0].clone())
        .unwrap()
        .replacen("\"at", "\"at\":0,\"x", 1)
        .into_bytes();
    entries.push(b"{\"rewritten\":1}".to_vec());
    entries.push(b"{\"rewritten\":2}".to_vec());
    let mut tree = MemoryTree::new();
    tree.append_batch(&entries);
    let sign = |tree: &MemoryTree, size: u64| {
        Checkpoint::new(&maker_id, size, tree.root_at(size).unwrap())
            .unwrap()
            .sign(&maker_signer)
    };
    let rewritten = sign(&tree, tree.size());
    let proof = tree.consistency_proof(held_size, tree.size()).unwrap();

    // The maker's own connector speaks for it, authenticated as every DSP caller is.
    let peer = tsunagu_server::HttpPeer::new(
        client.clone(),
        tsunagu_server::identity::OutboundIdentity::Dcp(maker.identity.clone().unwrap()),
    );
    let own = OwnIdentity {
        participant_id: maker_id.clone(),
        dsp_url: maker.dsp_url(),
        callback_address: format!("{}/callback", maker.dsp_url()),
    };
    let send = |body: String| {
        let peer = &peer;
        let own = &own;
        let buyer_id = buyer_id.clone();
        let address = buyer.dsp_url();
        async move { peer.add_checkpoint(own, &buyer_id, &address, body).await }
    };
    let refused_with = |answer: Result<AddCheckpointAnswer, PeerError>| match answer {
        Err(PeerError::Refused { status, detail }) => (status, detail),
        other => panic!("expected a refusal, got {other:?}"),
    };

    // A stale old size is answered with the size held (and nothing changes).
    let stale = AddCheckpoint {
        old_size: held_size - 1,
        proof: vec![],
        checkpoint: rewritten.clone(),
    };
    assert_eq!(
        send(stale.encode()).await.unwrap(),
        AddCheckpointAnswer::HeldSize(held_size)
    );
    // Malformed.
    let (status, _) = refused_with(send("old x\n\nnonsense".into()).await);
    assert_eq!(status, 400);
    // A checkpoint of another log (the buyer's origin) is not the caller's to submit.
    let foreign = Checkpoint::new(&buyer_id, 3, tree.root_at(3).unwrap())
        .unwrap()
        .sign(&maker_signer);
    let (status, _) = refused_with(
        send(
            AddCheckpoint {
                old_size: held_size,
                proof: vec![],
                checkpoint: foreign,
            }
            .encode(),
        )
        .await,
    );
    assert_eq!(status, 403);
    assert!(buyer.connector.witness_alarms().await.unwrap().is_empty());

    // The rewritten history, with a proof that is valid for the rewritten tree, is refused.
    let (status, detail) = refused_with(
        send(
            AddCheckpoint {
                old_size: held_size,
                proof,
                checkpoint: rewritten.clone(),
            }
            .encode(),
        )
        .await,
    );
    assert_eq!(status, 422, "{detail}");
    // A rollback to a smaller tree is refused too, whatever old size it names.
    let rolled_back = sign(&tree, held_size - 1);
    let (status, detail) = refused_with(
        send(
            AddCheckpoint {
                old_size: 0,
                proof: vec![],
                checkpoint: rolled_back,
            }
            .encode(),
        )
        .await,
    );
    assert_eq!(status, 422, "{detail}");
    assert!(detail.contains("rollback"), "{detail}");

    // Both refusals are on record with the evidence; the held checkpoint did not move.
    let alarms = buyer.connector.witness_alarms().await.unwrap();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    assert!(alarms.iter().all(|alarm| alarm.partner == maker_id));
    assert_eq!(alarms[0].offered, rewritten.to_string());
    assert_eq!(alarms[0].held, held_by_buyer.note);
    let still_held = buyer
        .connector
        .witnessed_checkpoints()
        .await
        .unwrap()
        .into_iter()
        .find(|held| held.partner == maker_id)
        .unwrap();
    assert_eq!(still_held.size, held_size);
    assert_eq!(still_held.note, held_by_buyer.note);

    // `tsunagu verify --manifest` checks every participant, each log against the checkpoints
    // of it that the others cosigned.
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, network.manifest().to_string()).unwrap();
    let verify_all = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tsunagu"))
            .args(["verify", "--manifest"])
            .arg(&manifest)
            .output()
            .unwrap()
    };
    let output = verify_all();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("ok: maker ({maker_id})"))
            && stdout.contains("cosigned checkpoints checked from: buyer"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("ok: buyer ({buyer_id})")),
        "{stdout}"
    );

    // A row changed in the maker's database: the maker fails, the buyer still passes.
    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(
        &network.member("maker").config.database_url,
    )
    .await
    .unwrap();
    sqlx::query("UPDATE ledger SET entry = CAST(REPLACE(CAST(entry AS TEXT), 'cfp-cell', 'cfp-pack') AS BLOB)")
        .execute(&mut connection)
        .await
        .unwrap();
    let output = verify_all();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("FAILED: maker ({maker_id})")),
        "{stderr}"
    );
    assert!(stdout.contains("ok: buyer"), "{stdout}");
}
