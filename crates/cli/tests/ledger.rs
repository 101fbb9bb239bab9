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
    VerifyOptions {
        management_url: None,
        api_key: None,
        from_dir: None,
        log_vkey: None,
        did_document_url: None,
        cosigned: Vec::new(),
        witness_vkeys: Vec::new(),
        delivery: None,
        agreement: None,
        ca_file: None,
        export: None,
    }
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
    let p = &provider.connector;
    p.create_asset(NewAssetRequest {
        id: Some("pcf".into()),
        properties: Default::default(),
        http_source: None,
        media_type: Some("application/json".into()),
    })
    .await
    .unwrap();
    let body = data.clone();
    p.upload_asset(
        "pcf",
        None,
        Box::pin(futures::stream::once(async move {
            Ok(bytes::Bytes::from(body))
        })),
    )
    .await
    .unwrap();
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
    let (catalog, _) = consumer
        .connector
        .request_catalog(
            provider.participant_id(),
            &provider.dsp_url(),
            json!({"@context": [tsunagu_wire::DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
        )
        .await
        .unwrap();
    let offer = catalog["dataset"][0]["hasPolicy"][0].clone();
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
