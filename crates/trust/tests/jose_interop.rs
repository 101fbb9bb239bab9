//! Interoperability with an independent JOSE implementation, Python's `jwcrypto`, both ways:
//!
//! * a `vc+jwt`, a `vp+jwt` and a self-issued ID token made by tsunagu verify in jwcrypto
//!   with the JWK tsunagu exports (and jwcrypto refuses a tampered one, so the check is not
//!   vacuous);
//! * an `EdDSA` token and an `ES256` token made by jwcrypto verify in tsunagu, the `ES256` one
//!   as a complete DCP self-issued ID token of a P-256 `did:key`; a jwcrypto token signed with
//!   another key is refused.
//!
//! Skips with `skipped: python jwcrypto not installed` when `python3 -c "import jwcrypto"`
//! fails, unless `TSUNAGU_REQUIRE_INTEROP=1`, which turns that into a failure (as in CI).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use common::*;
use serde_json::json;
use tsunagu_trust::TrustError;
use tsunagu_trust::dcp::{ReplayCache, issue_self_issued_token, verify_self_issued_token};
use tsunagu_trust::did::did_key_for_p256;
use tsunagu_trust::jwk::Jwk;
use tsunagu_trust::jws;

const SKIP_LINE: &str = "skipped: python jwcrypto not installed";

/// Reads one JSON object from stdin, writes one to stdout.
const SCRIPT: &str = r#"
import json, sys
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

request = json.load(sys.stdin)
answer = {"verified": [], "tampered_refused": []}

def verify(token, key_json):
    key = jwk.JWK(**key_json)
    signed = jws.JWS()
    signed.deserialize(token)
    signed.allowed_algs = ["EdDSA", "ES256"]
    signed.verify(key)
    return json.loads(signed.payload)

for item in request["verify"]:
    answer["verified"].append(verify(item["token"], item["jwk"]))
    header, payload, signature = item["token"].split(".")
    tampered = header + "." + payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    try:
        verify(tampered, item["jwk"])
        answer["tampered_refused"].append(False)
    except Exception:
        answer["tampered_refused"].append(True)

def sign(key, alg, header, claims):
    token = jws.JWS(json_encode(claims))
    protected = dict(header)
    protected["alg"] = alg
    token.add_signature(key, alg=alg, protected=json_encode(protected))
    return token.serialize(compact=True)

ed_key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
other_ed_key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
answer["ed_public_jwk"] = json.loads(ed_key.export_public())
answer["ed_token"] = sign(ed_key, "EdDSA", {"typ": "JWT"}, request["claims"])
answer["ed_token_wrong_key"] = sign(other_ed_key, "EdDSA", {"typ": "JWT"}, request["claims"])

ec_key = jwk.JWK(**request["p256_private_jwk"])
answer["es256_token"] = sign(ec_key, "ES256", {"typ": "JWT", "kid": request["p256_kid"]}, request["p256_claims"])

json.dump(answer, sys.stdout)
"#;

#[test]
fn tsunagu_and_jwcrypto_verify_each_others_tokens() {
    if !tsunagu_testkit::require_python("jwcrypto", SKIP_LINE) {
        return;
    }

    let mut world = World::new();
    let now = world.now;

    // tsunagu -> jwcrypto: a credential, a presentation, a self-issued token.
    let vc = world.membership(CELL);
    let vp = world.presentation(std::slice::from_ref(&vc), Some("n-1"));
    let si = issue_self_issued_token(
        world.cell.ring.active(),
        CELL,
        PACK,
        Some("cs-token"),
        now,
        Duration::minutes(5),
        &mut world.rng,
    )
    .unwrap();
    let ours = [
        (vc.clone(), world.operator.ring.active().public_jwk()),
        (vp, world.cell.ring.active().public_jwk()),
        (si.clone(), world.cell.ring.active().public_jwk()),
    ];

    // jwcrypto -> tsunagu: the P-256 key is handed over so that the ES256 token can be a full
    // self-issued ID token of a did:key tsunagu resolves on its own.
    let p256_secret = [0x5a; 32];
    let p256_key = p256::ecdsa::SigningKey::from_slice(&p256_secret).unwrap();
    let p256_did = did_key_for_p256(p256_key.verifying_key());
    let mut p256_private_jwk =
        serde_json::to_value(Jwk::from_p256(p256_key.verifying_key())).unwrap();
    p256_private_jwk["d"] = json!(URL_SAFE_NO_PAD.encode(p256_secret));
    let p256_kid = format!("{p256_did}#{}", p256_did.strip_prefix("did:key:").unwrap());

    let request = json!({
        "verify": ours.iter().map(|(token, jwk)| json!({"token": token, "jwk": jwk})).collect::<Vec<_>>(),
        "claims": {"iss": "jwcrypto", "n": 42},
        "p256_private_jwk": p256_private_jwk,
        "p256_kid": p256_kid,
        "p256_claims": {
            "iss": p256_did, "sub": p256_did, "aud": PACK, "jti": "jwcrypto-1",
            "iat": now.timestamp(), "exp": now.timestamp() + 120
        },
    });
    let answer = tsunagu_testkit::run_python_json(SCRIPT, &request);

    // What jwcrypto verified is exactly what tsunagu signed.
    for ((token, _), verified) in ours.iter().zip(answer["verified"].as_array().unwrap()) {
        let (_, payload) = jws::decode_unverified(token).unwrap();
        assert_eq!(&payload, verified);
    }
    assert_eq!(answer["verified"].as_array().unwrap().len(), 3);
    assert_eq!(answer["tampered_refused"], json!([true, true, true]));

    // jwcrypto's EdDSA token verifies with jwcrypto's exported JWK.
    let ed_jwk: Jwk = serde_json::from_value(answer["ed_public_jwk"].clone()).unwrap();
    let ed_token = answer["ed_token"].as_str().unwrap();
    let (header, payload) = jws::verify(ed_token, &ed_jwk).unwrap();
    assert_eq!(header.alg, "EdDSA");
    assert_eq!(payload, json!({"iss": "jwcrypto", "n": 42}));

    // Signed by another key: refused.
    let wrong = answer["ed_token_wrong_key"].as_str().unwrap();
    assert!(matches!(
        jws::verify(wrong, &ed_jwk),
        Err(TrustError::BadSignature { .. })
    ));

    // jwcrypto's ES256 token is a valid DCP self-issued ID token of the P-256 did:key.
    let es256 = answer["es256_token"].as_str().unwrap();
    let claims = block_on(verify_self_issued_token(
        es256,
        PACK,
        &world.resolver,
        &ReplayCache::default(),
        now,
    ))
    .unwrap();
    assert_eq!(claims.sub, p256_did);
    assert_eq!(jws::decode_unverified(es256).unwrap().0.alg, "ES256");
}
