//! Every way a token, credential or presentation can be wrong, one test each: each must be
//! refused with the error that names the reason.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::{Value, json};
use tsunagu_trust::TrustError;
use tsunagu_trust::dcp::{
    ReplayCache, SelfIssuedClaims, issue_self_issued_token, verify_self_issued_token,
};
use tsunagu_trust::jws;
use tsunagu_trust::keys::KeyPair;
use tsunagu_trust::vc::{VerifiedCredential, verify_vc_jwt};
use tsunagu_trust::vp::{PresentationTarget, VerifiedPresentation, make_vp_jwt, verify_vp_jwt};

fn verify_si(
    world: &World,
    token: &str,
    cache: &ReplayCache,
) -> Result<SelfIssuedClaims, TrustError> {
    block_on(verify_self_issued_token(
        token,
        PACK,
        &world.resolver,
        cache,
        world.now,
    ))
}

fn verify_vc(world: &World, jwt: &str) -> Result<VerifiedCredential, TrustError> {
    block_on(verify_vc_jwt(jwt, &world.context(), world.now))
}

fn verify_vp(
    world: &World,
    jwt: &str,
    nonce: Option<&str>,
) -> Result<VerifiedPresentation, TrustError> {
    block_on(verify_vp_jwt(
        jwt,
        &World::expectations(nonce),
        &world.context(),
        world.now,
    ))
}

fn cell_token(world: &mut World) -> String {
    issue_self_issued_token(
        world.cell.ring.active(),
        CELL,
        PACK,
        None,
        world.now,
        Duration::minutes(5),
        &mut world.rng,
    )
    .unwrap()
}

/// The claims of a valid self-issued token of the cell maker at `now`.
fn si_claims(now: DateTime<Utc>) -> Value {
    json!({
        "iss": CELL, "sub": CELL, "aud": PACK, "jti": "jti-1",
        "iat": now.timestamp(), "exp": now.timestamp() + 300
    })
}

fn cell_kid(world: &World) -> String {
    format!("{CELL}#{}", world.cell.ring.active().kid())
}

// ------------------------------------------------------------------------------------------
// Time
// ------------------------------------------------------------------------------------------

#[test]
fn expired_credential_is_refused() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    world.now += Duration::days(366);
    world.publish_status_list();
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(matches!(error, TrustError::Expired { .. }), "{error}");
    assert!(error.to_string().contains("expired at 2028-"), "{error}");
}

#[test]
fn not_yet_valid_credential_is_refused() {
    let mut world = World::new();
    let mut credential = world.credential("MembershipCredential", json!({"id": CELL}));
    credential.valid_from = Some(world.now + Duration::hours(1));
    let jwt = world.issue(&credential);
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(matches!(error, TrustError::NotYetValid { .. }), "{error}");
}

#[test]
fn expired_self_issued_token_is_refused() {
    let mut world = World::new();
    let token = cell_token(&mut world);
    world.now += Duration::minutes(5) + Duration::seconds(61);
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(matches!(error, TrustError::Expired { .. }), "{error}");
}

#[test]
fn self_issued_token_from_the_future_is_refused() {
    let world = World::new();
    let mut claims = si_claims(world.now + Duration::minutes(10));
    claims["exp"] = json!((world.now + Duration::minutes(12)).timestamp());
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &claims,
        world.cell.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(
        matches!(error, TrustError::IssuedInFuture { .. }),
        "{error}"
    );
}

#[test]
fn self_issued_token_living_too_long_is_refused() {
    let world = World::new();
    let mut claims = si_claims(world.now);
    claims["exp"] = json!((world.now + Duration::hours(1)).timestamp());
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &claims,
        world.cell.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(
        matches!(error, TrustError::LifetimeTooLong { .. }),
        "{error}"
    );
}

#[test]
fn self_issued_token_without_exp_is_refused() {
    let world = World::new();
    let mut claims = si_claims(world.now);
    claims.as_object_mut().unwrap().remove("exp");
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &claims,
        world.cell.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert_eq!(error, TrustError::MissingClaim("exp"));
}

#[test]
fn expired_presentation_is_refused() {
    let mut world = World::new();
    let membership = world.membership(CELL);
    let vp = world.presentation(&[membership], None);
    world.now += Duration::minutes(7);
    let error = expect_error(verify_vp(&world, &vp, None));
    assert!(matches!(error, TrustError::Expired { .. }), "{error}");
}

// ------------------------------------------------------------------------------------------
// Signatures and algorithms
// ------------------------------------------------------------------------------------------

#[test]
fn token_signed_by_another_key_is_refused() {
    let mut world = World::new();
    let impostor = KeyPair::generate(&mut world.rng);
    // The impostor claims the cell maker's key id.
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &si_claims(world.now),
        &impostor,
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(matches!(error, TrustError::BadSignature { .. }), "{error}");
}

#[test]
fn credential_signed_by_another_key_is_refused() {
    let mut world = World::new();
    let credential = world.credential("MembershipCredential", json!({"id": CELL}));
    let impostor = KeyPair::generate(&mut world.rng);
    let genuine = world.issue(&credential);
    let (header, payload) = jws::decode_unverified(&genuine).unwrap();
    let forged = sign_raw(&serde_json::to_value(header).unwrap(), &payload, &impostor);
    let error = expect_error(verify_vc(&world, &forged));
    assert!(matches!(error, TrustError::BadSignature { .. }), "{error}");
}

#[test]
fn alg_none_is_refused() {
    let world = World::new();
    let token = format!(
        "{}.{}.",
        b64(
            &serde_json::to_vec(&json!({"alg": "none", "typ": "JWT", "kid": cell_kid(&world)}))
                .unwrap()
        ),
        b64(&serde_json::to_vec(&si_claims(world.now)).unwrap())
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert_eq!(
        error,
        TrustError::UnsupportedAlgorithm {
            alg: "none".to_owned()
        }
    );
}

#[test]
fn hs256_with_the_public_key_as_hmac_secret_is_refused() {
    let world = World::new();
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": cell_kid(&world)});
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header).unwrap()),
        b64(&serde_json::to_vec(&si_claims(world.now)).unwrap())
    );
    let public = world.cell.ring.active().verifying_key();
    let jwk_text = serde_json::to_vec(&world.cell.ring.active().public_jwk()).unwrap();
    // Both classic forms of the secret: the raw public key and its JWK text.
    for secret in [public.as_bytes().as_slice(), jwk_text.as_slice()] {
        let token = format!("{input}.{}", b64(&hmac_sha256(secret, input.as_bytes())));
        let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
        assert_eq!(
            error,
            TrustError::UnsupportedAlgorithm {
                alg: "HS256".to_owned()
            }
        );
    }
}

#[test]
fn es256_header_on_an_ed25519_key_is_refused() {
    use p256::ecdsa::signature::Signer as _;
    let world = World::new();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": cell_kid(&world)});
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header).unwrap()),
        b64(&serde_json::to_vec(&si_claims(world.now)).unwrap())
    );
    let attacker = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let signature: p256::ecdsa::Signature = attacker.sign(input.as_bytes());
    let token = format!("{input}.{}", b64(&signature.to_bytes()));
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(
        matches!(
            &error,
            TrustError::AlgorithmKeyMismatch { alg, key_type: "Ed25519", .. } if alg == "ES256"
        ),
        "{error}"
    );
}

#[test]
fn tampered_credential_payload_is_refused() {
    let mut world = World::new();
    let jwt = world.role(CELL, &["recycler"]);
    let (header, payload, signature) = parts(&jwt);
    let mut claims = decode_json(&payload);
    claims["credentialSubject"]["roles"] = json!(["cellMaker"]);
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(&serde_json::to_vec(&claims).unwrap())
    );
    let error = expect_error(verify_vc(&world, &tampered));
    assert!(matches!(error, TrustError::BadSignature { .. }), "{error}");
}

#[test]
fn tampered_presentation_payload_is_refused() {
    let mut world = World::new();
    let vp = world.presentation(&[], None);
    let (header, payload, signature) = parts(&vp);
    let mut claims = decode_json(&payload);
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400);
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(&serde_json::to_vec(&claims).unwrap())
    );
    let error = expect_error(verify_vp(&world, &tampered, None));
    assert!(matches!(error, TrustError::BadSignature { .. }), "{error}");
}

// ------------------------------------------------------------------------------------------
// Keys and DIDs
// ------------------------------------------------------------------------------------------

#[test]
fn kid_of_another_did_is_refused() {
    let world = World::new();
    // The cell maker's claims, but the key id points into the operator's document.
    let operator_kid = format!("{OPERATOR}#{}", world.operator.ring.active().kid());
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": operator_kid}),
        &si_claims(world.now),
        world.operator.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(
        matches!(error, TrustError::KidOfAnotherDid { .. }),
        "{error}"
    );
}

#[test]
fn credential_whose_kid_names_another_did_than_its_issuer_is_refused() {
    let mut world = World::new();
    // The cell maker signs a credential claiming the operator as issuer.
    let credential = world.credential("MembershipCredential", json!({"id": CELL}));
    let genuine = world.issue(&credential);
    let (_, payload) = jws::decode_unverified(&genuine).unwrap();
    let forged = sign_raw(
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": cell_kid(&world)}),
        &payload,
        world.cell.ring.active(),
    );
    let error = expect_error(verify_vc(&world, &forged));
    assert!(
        matches!(error, TrustError::KidOfAnotherDid { .. }),
        "{error}"
    );
}

#[test]
fn issuer_subject_mismatch_is_refused() {
    let world = World::new();
    let mut claims = si_claims(world.now);
    claims["sub"] = json!(OPERATOR);
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &claims,
        world.cell.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(
        matches!(error, TrustError::IssuerSubjectMismatch { .. }),
        "{error}"
    );
}

#[test]
fn key_without_capability_invocation_cannot_sign_self_issued_tokens() {
    let world = World::new();
    let mut document = block_on(tsunagu_trust::did::DidResolver::resolve(
        &world.resolver,
        CELL,
    ))
    .unwrap();
    document.capability_invocation.clear();
    world.resolver.insert(document);
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &si_claims(world.now),
        world.cell.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(
        matches!(error, TrustError::KeyNotAuthorized { .. }),
        "{error}"
    );
}

#[test]
fn unknown_did_is_refused() {
    let world = World::new();
    let mut claims = si_claims(world.now);
    claims["iss"] = json!("did:web:stranger.example");
    claims["sub"] = json!("did:web:stranger.example");
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": "did:web:stranger.example#k"}),
        &claims,
        world.cell.ring.active(),
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(matches!(error, TrustError::DidResolution { .. }), "{error}");
}

// ------------------------------------------------------------------------------------------
// Audience, replay, nonce, holder
// ------------------------------------------------------------------------------------------

#[test]
fn self_issued_token_for_another_audience_is_refused() {
    let mut world = World::new();
    let token = issue_self_issued_token(
        world.cell.ring.active(),
        CELL,
        "did:web:recycler.example",
        None,
        world.now,
        Duration::minutes(5),
        &mut world.rng,
    )
    .unwrap();
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default()));
    assert!(matches!(error, TrustError::WrongAudience { .. }), "{error}");
}

#[test]
fn presentation_for_another_audience_is_refused() {
    let mut world = World::new();
    let vp = make_vp_jwt(
        CELL,
        world.cell.ring.active(),
        &[],
        &PresentationTarget {
            audience: "did:web:recycler.example",
            nonce: None,
            lifetime: Duration::minutes(5),
        },
        world.now,
        &mut world.rng,
    );
    let error = expect_error(verify_vp(&world, &vp, None));
    assert!(matches!(error, TrustError::WrongAudience { .. }), "{error}");
}

#[test]
fn replayed_jti_is_refused() {
    let mut world = World::new();
    let token = cell_token(&mut world);
    let cache = ReplayCache::default();
    verify_si(&world, &token, &cache).unwrap();
    world.now += Duration::seconds(10);
    let error = expect_error(verify_si(&world, &token, &cache));
    assert!(matches!(error, TrustError::Replayed { .. }), "{error}");
}

#[test]
fn a_forged_token_does_not_burn_the_jti() {
    let mut world = World::new();
    let impostor = KeyPair::generate(&mut world.rng);
    let cache = ReplayCache::default();
    let forged = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &si_claims(world.now),
        &impostor,
    );
    expect_error(verify_si(&world, &forged, &cache));
    let genuine = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &si_claims(world.now),
        world.cell.ring.active(),
    );
    verify_si(&world, &genuine, &cache).unwrap();
}

#[test]
fn nonce_mismatch_is_refused() {
    let mut world = World::new();
    let vp = world.presentation(&[], Some("nonce-old"));
    let error = expect_error(verify_vp(&world, &vp, Some("nonce-new")));
    assert!(matches!(error, TrustError::NonceMismatch { .. }), "{error}");
    let vp = world.presentation(&[], None);
    let error = expect_error(verify_vp(&world, &vp, Some("nonce-new")));
    assert!(
        matches!(error, TrustError::NonceMismatch { found: None, .. }),
        "{error}"
    );
}

#[test]
fn holder_binding_mismatch_is_refused() {
    let mut world = World::new();
    // The cell maker presents the pack maker's membership as its own.
    let foreign = world.membership(PACK);
    let vp = world.presentation(&[foreign], None);
    let error = expect_error(verify_vp(&world, &vp, None));
    assert!(matches!(error, TrustError::HolderBinding { .. }), "{error}");
    assert!(error.to_string().contains(PACK), "{error}");
}

#[test]
fn presentation_by_an_unexpected_holder_is_refused() {
    let mut world = World::new();
    let vp = world.presentation(&[], None);
    let error = expect_error(block_on(verify_vp_jwt(
        &vp,
        &tsunagu_trust::vp::PresentationExpectations {
            audience: PACK,
            holder: OPERATOR,
            nonce: None,
        },
        &world.context(),
        world.now,
    )));
    assert!(
        matches!(error, TrustError::UnexpectedHolder { .. }),
        "{error}"
    );
}

// ------------------------------------------------------------------------------------------
// Trust and status
// ------------------------------------------------------------------------------------------

#[test]
fn untrusted_issuer_is_refused() {
    let mut world = World::new();
    // The cell maker issues itself a membership credential.
    let mut credential = world.credential("MembershipCredential", json!({"id": CELL}));
    credential.issuer = CELL.to_owned();
    credential.credential_status.clear();
    let jwt = tsunagu_trust::vc::issue_vc_jwt(&credential, world.cell.ring.active(), CELL).unwrap();
    let error = expect_error(verify_vc(&world, &jwt));
    assert_eq!(
        error.to_string(),
        "issuer did:web:cell.example is not trusted for MembershipCredential"
    );
}

#[test]
fn issuer_trusted_for_one_type_cannot_confer_another() {
    let mut world = World::new();
    world.trusted = tsunagu_trust::vc::TrustedIssuers::new()
        .with("MembershipCredential", OPERATOR)
        .with("BitstringStatusListCredential", OPERATOR);
    let mut credential = world.credential(
        "MembershipCredential",
        json!({"id": CELL, "roles": ["cellMaker"]}),
    );
    credential
        .types
        .push("BatteryChainRoleCredential".to_owned());
    let jwt = world.issue(&credential);
    let verified = verify_vc(&world, &jwt).unwrap();
    assert_eq!(verified.types, vec!["MembershipCredential"]);
}

#[test]
fn revoked_credential_is_refused() {
    let mut world = World::new();
    let _other = world.membership(PACK);
    let jwt = world.membership(CELL);
    verify_vc(&world, &jwt).unwrap();
    world.revoke(1);
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(
        matches!(error, TrustError::Revoked { index: 1, .. }),
        "{error}"
    );
    // The other credential on the same list is unaffected.
    verify_vc(&world, &_other).unwrap();
}

#[test]
fn revoked_credential_inside_a_presentation_is_refused() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    world.revoke(0);
    let vp = world.presentation(&[jwt], None);
    let error = expect_error(verify_vp(&world, &vp, None));
    assert!(matches!(error, TrustError::Revoked { .. }), "{error}");
}

#[test]
fn status_list_from_an_untrusted_issuer_is_refused() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    // The cell maker publishes a status list of its own at the operator's URL.
    let list = tsunagu_trust::status_list::status_list_credential(
        STATUS_URL,
        CELL,
        &world.list,
        tsunagu_trust::status_list::StatusPurpose::Revocation,
        world.now,
        None,
    );
    let list_jwt = tsunagu_trust::vc::issue_vc_jwt(&list, world.cell.ring.active(), CELL).unwrap();
    world.status_lists.insert(STATUS_URL, list_jwt);
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(
        matches!(&error, TrustError::UntrustedIssuer { issuer, .. } if issuer == CELL),
        "{error}"
    );
}

#[test]
fn unreachable_status_list_fails_closed() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    world.status_lists = tsunagu_trust::status_list::StaticStatusLists::new();
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(matches!(error, TrustError::StatusList { .. }), "{error}");
}

#[test]
fn unknown_status_mechanism_fails_closed() {
    let mut world = World::new();
    let mut credential = world.credential("MembershipCredential", json!({"id": CELL}));
    credential.credential_status =
        vec![json!({"type": "StatusList2021Entry", "statusListIndex": "1"})];
    let jwt = world.issue(&credential);
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(error.to_string().contains("StatusList2021Entry"), "{error}");
}

// ------------------------------------------------------------------------------------------
// Token types and mirrors
// ------------------------------------------------------------------------------------------

#[test]
fn presentation_offered_as_a_credential_is_refused() {
    let mut world = World::new();
    let vp = world.presentation(&[], None);
    let error = expect_error(verify_vc(&world, &vp));
    assert!(
        matches!(error, TrustError::WrongTokenType { .. }),
        "{error}"
    );
}

#[test]
fn credential_whose_jwt_claims_contradict_it_is_refused() {
    let mut world = World::new();
    let jwt = world.membership(CELL);
    let (header, mut payload) = jws::decode_unverified(&jwt).unwrap();
    payload["sub"] = json!(PACK);
    let forged = sign_raw(
        &serde_json::to_value(header).unwrap(),
        &payload,
        world.operator.ring.active(),
    );
    let error = expect_error(verify_vc(&world, &forged));
    assert!(
        matches!(error, TrustError::InvalidClaim { claim: "sub", .. }),
        "{error}"
    );
}

#[test]
fn error_messages_carry_no_key_material() {
    let mut world = World::new();
    let impostor = KeyPair::generate(&mut world.rng);
    let token = sign_raw(
        &json!({"alg": "EdDSA", "typ": "JWT", "kid": cell_kid(&world)}),
        &si_claims(world.now),
        &impostor,
    );
    let error = expect_error(verify_si(&world, &token, &ReplayCache::default())).to_string();
    let (_, _, signature) = parts(&token);
    let public_x = world.cell.ring.active().public_jwk().x.unwrap();
    assert!(!error.contains(&signature), "{error}");
    assert!(!error.contains(&public_x), "{error}");
    assert!(!error.contains(&token), "{error}");
}

#[test]
fn untrusted_issuer_is_refused_before_its_did_is_resolved() {
    let mut world = World::new();
    // A stranger whose DID the resolver does not know: had the verifier tried to resolve it
    // (for did:web, a fetch from an address the stranger chose), the error would say so.
    let stranger = KeyPair::generate(&mut world.rng);
    let mut credential = world.credential("MembershipCredential", json!({"id": CELL}));
    credential.issuer = "did:web:stranger.example".to_owned();
    let jwt = tsunagu_trust::vc::issue_vc_jwt(&credential, &stranger, "did:web:stranger.example")
        .unwrap();
    let error = expect_error(verify_vc(&world, &jwt));
    assert!(
        matches!(error, TrustError::UntrustedIssuer { .. }),
        "{error}"
    );
}
