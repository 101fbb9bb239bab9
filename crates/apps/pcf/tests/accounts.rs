//! Operator accounts of the Ouranos-compatible API keep passwords as Argon2id hashes; an
//! account stored before (salted SHA-256) still logs in once and is rehashed then.

use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};
use tsunagu_pcf::service::{NoTransport, PcfService};
use tsunagu_store::{DocumentStore, SqliteStore};

#[tokio::test]
async fn passwords_are_argon2id_and_old_accounts_are_rehashed_at_login() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("pcf.sqlite"))
            .await
            .unwrap(),
    );
    let service = PcfService::new(store.clone(), Arc::new(NoTransport));

    service
        .create_account("buyer-admin", "correct horse battery")
        .await
        .unwrap();
    let stored = store
        .document("pcf.accounts", "buyer-admin")
        .await
        .unwrap()
        .unwrap();
    let phc = stored.body["password_phc"].as_str().unwrap();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(
        stored.body.get("password_sha256").is_none(),
        "{}",
        stored.body
    );
    assert!(
        !stored.body.to_string().contains("correct horse battery"),
        "the password itself is stored"
    );
    assert!(
        service
            .login("buyer-admin", "correct horse battery")
            .await
            .is_ok()
    );
    assert!(
        service
            .login("buyer-admin", "wrong horse battery")
            .await
            .is_err()
    );

    // An account stored the old way.
    let salt = "00112233445566778899aabbccddeeff";
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(b"an older password");
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    store
        .insert_document(
            "pcf.accounts",
            "legacy-admin",
            None,
            &json!({
                "account_id": "legacy-admin",
                "salt": salt,
                "password_sha256": digest,
                "failed_logins": 0,
                "locked_until": null,
            }),
            0,
        )
        .await
        .unwrap();
    assert!(
        service
            .login("legacy-admin", "not the password")
            .await
            .is_err()
    );
    assert!(
        service
            .login("legacy-admin", "an older password")
            .await
            .is_ok()
    );
    let upgraded = store
        .document("pcf.accounts", "legacy-admin")
        .await
        .unwrap()
        .unwrap();
    assert!(
        upgraded.body["password_phc"]
            .as_str()
            .is_some_and(|phc| phc.starts_with("$argon2id$")),
        "{}",
        upgraded.body
    );
    assert!(
        upgraded.body.get("password_sha256").is_none(),
        "{}",
        upgraded.body
    );
    assert!(
        service
            .login("legacy-admin", "an older password")
            .await
            .is_ok()
    );
}
