//! The happy paths end to end: the operator issues, the cell maker presents and authenticates,
//! the pack maker verifies and derives attributes; and key rotation.

mod common;

use chrono::Duration;
use common::*;
use serde_json::json;
use tsunagu_trust::TrustError;
use tsunagu_trust::attributes::{SECURITY_PROFILE_CREDENTIAL, attributes};
use tsunagu_trust::dcp::{ReplayCache, issue_self_issued_token, verify_self_issued_token};
use tsunagu_trust::did::{DidResolver as _, Relationship};
use tsunagu_trust::jws;
use tsunagu_trust::vc::verify_vc_jwt;
use tsunagu_trust::vp::verify_vp_jwt;

#[test]
fn credential_round_trip() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    let verified = block_on(verify_vc_jwt(&jwt, &world.context(), world.now)).unwrap();
    assert_eq!(verified.issuer, OPERATOR);
    assert_eq!(verified.types, vec!["MembershipCredential"]);
    assert_eq!(verified.subject["id"], CELL);
    assert_eq!(verified.subject["memberOf"], "basc-battery-dataspace");
    assert_eq!(
        verified.id.as_deref(),
        Some("urn:uuid:00000000-0000-4000-8000-000000000000")
    );
    assert_eq!(verified.valid_until, Some(world.now + Duration::days(365)));
}

#[test]
fn presentation_round_trip_yields_policy_attributes() {
    let mut world = World::new();
    let membership = world.membership(CELL);
    let role = world.role(CELL, &["cellMaker"]);
    let profile = {
        let credential = world.credential(
            SECURITY_PROFILE_CREDENTIAL,
            json!({"id": CELL, "securityProfile": "2"}),
        );
        world.issue(&credential)
    };
    let vp = world.presentation(&[membership, role, profile], Some("nonce-1"));
    let presentation = block_on(verify_vp_jwt(
        &vp,
        &World::expectations(Some("nonce-1")),
        &world.context(),
        world.now,
    ))
    .unwrap();
    assert_eq!(presentation.holder, CELL);
    assert_eq!(presentation.credentials.len(), 3);
    let map = attributes(&presentation);
    assert_eq!(map["membership"], vec!["active"]);
    assert_eq!(map["role"], vec!["cellMaker"]);
    assert_eq!(map["securityProfile"], vec!["2"]);
    assert_eq!(map["participantId"], vec![CELL]);
}

#[test]
fn presentation_without_credentials_or_nonce_verifies() {
    let mut world = World::new();
    let vp = world.presentation(&[], None);
    let presentation = block_on(verify_vp_jwt(
        &vp,
        &World::expectations(None),
        &world.context(),
        world.now,
    ))
    .unwrap();
    assert!(presentation.credentials.is_empty());
}

#[test]
fn self_issued_token_round_trip() {
    let mut world = World::new();
    let token = issue_self_issued_token(
        world.cell.ring.active(),
        CELL,
        PACK,
        Some("access-token-for-cs"),
        world.now,
        Duration::minutes(5),
        &mut world.rng,
    )
    .unwrap();
    let (header, _) = jws::decode_unverified(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(
        header.kid,
        Some(format!("{CELL}#{}", world.cell.ring.active().kid()))
    );
    let cache = ReplayCache::default();
    let claims = block_on(verify_self_issued_token(
        &token,
        PACK,
        &world.resolver,
        &cache,
        world.now + Duration::seconds(30),
    ))
    .unwrap();
    assert_eq!(claims.iss, CELL);
    assert_eq!(claims.sub, CELL);
    assert_eq!(claims.aud, PACK);
    assert_eq!(claims.token.as_deref(), Some("access-token-for-cs"));
    assert_eq!(claims.exp - claims.iat, Duration::minutes(5));
    assert_eq!(cache.len(), 1);
}

#[test]
fn did_key_participant_authenticates_without_a_document() {
    let mut world = World::new();
    let key = tsunagu_trust::keys::KeyPair::generate(&mut world.rng);
    let did = tsunagu_trust::did::did_key_for(&key.verifying_key());
    // A did:key's only method is the key itself, with fragment = the multibase key.
    let fragment = did.strip_prefix("did:key:").unwrap();
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": format!("{did}#{fragment}")}),
        &json!({"iss": did, "sub": did, "aud": PACK, "jti": "j-1",
                "iat": world.now.timestamp(), "exp": world.now.timestamp() + 60}),
        &key,
    );
    let claims = block_on(verify_self_issued_token(
        &token,
        PACK,
        &world.resolver,
        &ReplayCache::default(),
        world.now,
    ))
    .unwrap();
    assert_eq!(claims.sub, did);
}

#[test]
fn status_list_credential_verifies_like_any_credential() {
    let world = World::new();
    let jwt = block_on(
        tsunagu_trust::status_list::StatusListSource::status_list_credential(
            &world.status_lists,
            STATUS_URL,
        ),
    )
    .unwrap();
    let verified = block_on(verify_vc_jwt(&jwt, &world.context(), world.now)).unwrap();
    assert_eq!(verified.types, vec!["BitstringStatusListCredential"]);
    assert_eq!(verified.subject["type"], "BitstringStatusList");
}

// ------------------------------------------------------------------------------------------
// Key rotation
// ------------------------------------------------------------------------------------------

/// A self-issued token of the cell maker signed with `key` at `world.now`.
fn self_issued_with(world: &mut World, key: &tsunagu_trust::keys::KeyPair) -> String {
    let now = world.now;
    issue_self_issued_token(
        key,
        CELL,
        PACK,
        None,
        now,
        Duration::minutes(5),
        &mut world.rng,
    )
    .unwrap()
}

#[test]
fn rotated_key_verifies_until_retire_after_and_not_after() {
    let mut world = World::new();
    let old_key = world.cell.ring.active().clone();
    let t0 = world.now;
    let grace = Duration::minutes(10);
    world.cell.ring.rotate(&mut world.rng, t0, grace);
    let new_key = world.cell.ring.active().clone();
    assert_ne!(old_key.kid(), new_key.kid());

    // Within the grace period the published document lists both keys.
    world.now = t0 + Duration::minutes(9);
    world.publish_documents();
    let cache = ReplayCache::default();
    for key in [&old_key, &new_key] {
        let token = self_issued_with(&mut world, key);
        block_on(verify_self_issued_token(
            &token,
            PACK,
            &world.resolver,
            &cache,
            world.now,
        ))
        .unwrap_or_else(|error| panic!("{} should verify: {error}", key.kid()));
    }

    // From retire_after on, the document no longer has the old key.
    world.now = t0 + grace;
    world.publish_documents();
    let stale = self_issued_with(&mut world, &old_key);
    let error = expect_error(block_on(verify_self_issued_token(
        &stale,
        PACK,
        &world.resolver,
        &cache,
        world.now,
    )));
    assert!(matches!(error, TrustError::NoMatchingKey { .. }), "{error}");
    let fresh = self_issued_with(&mut world, &new_key);
    block_on(verify_self_issued_token(
        &fresh,
        PACK,
        &world.resolver,
        &cache,
        world.now,
    ))
    .unwrap();

    // Pruning after retire_after leaves the ring with the new key only.
    world.cell.ring.prune(world.now);
    assert!(world.cell.ring.retiring().is_empty());
    let document = block_on(world.resolver.resolve(CELL)).unwrap();
    assert_eq!(document.verification_method.len(), 1);
    document
        .key_for(Some(new_key.kid()), Relationship::CapabilityInvocation)
        .unwrap();
}

#[test]
fn credentials_signed_by_a_rotated_issuer_key_verify_during_the_grace_period() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    let t0 = world.now;
    world
        .operator
        .ring
        .rotate(&mut world.rng, t0, Duration::days(30));
    // The status list is re-signed with the new key; the credential keeps the old signature.
    world.publish_documents();
    world.publish_status_list();
    block_on(verify_vc_jwt(&jwt, &world.context(), world.now)).unwrap();

    world.now = t0 + Duration::days(30);
    world.publish_documents();
    world.publish_status_list();
    let error = expect_error(block_on(verify_vc_jwt(&jwt, &world.context(), world.now)));
    assert!(matches!(error, TrustError::NoMatchingKey { .. }), "{error}");
}

/// Regression: tokens signed by a `did:key` holder named the key `did#key-…`, which a did:key
/// document does not contain (its one method is `did#<multibase>`), so they never verified.
#[test]
fn a_did_key_holder_signs_tokens_that_verify() {
    let key = tsunagu_trust::keys::KeyPair::generate(&mut rand::thread_rng());
    let did = tsunagu_trust::did::did_key_for(&key.verifying_key());
    let now = chrono::Utc::now();
    let token = issue_self_issued_token(
        &key,
        &did,
        "did:web:verifier.example",
        None,
        now,
        Duration::seconds(60),
        &mut rand::thread_rng(),
    )
    .unwrap();
    let resolver = tsunagu_trust::did::StaticResolver::new();
    let claims = block_on(verify_self_issued_token(
        &token,
        "did:web:verifier.example",
        &resolver,
        &ReplayCache::default(),
        now,
    ))
    .unwrap();
    assert_eq!(claims.iss, did);
}
