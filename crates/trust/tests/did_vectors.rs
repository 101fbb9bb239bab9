//! Known-answer vectors for `did:key`, from outside this code base.

use tsunagu_trust::did::{Relationship, did_key_for, did_key_for_p256, resolve_did_key};
use tsunagu_trust::jwk::{Jwk, PublicKey};
use tsunagu_trust::keys::KeyPair;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 8032, section 7.1, TEST 1: secret key 9d61…7f60, public key d75a…511a. Its did:key
/// (multicodec 0xed 0x01, base58btc, `z`) was computed independently of this crate and is
/// the same value other did:key implementations publish for this key.
#[test]
fn rfc8032_test_1_key_has_the_known_did_key() {
    const DID: &str = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
    let secret: [u8; 32] = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .try_into()
        .unwrap();
    let key = KeyPair::from_secret_bytes(&secret);
    assert_eq!(
        key.verifying_key().as_bytes().to_vec(),
        hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    );
    assert_eq!(did_key_for(&key.verifying_key()), DID);

    // And back: the document's one key is the RFC's public key, usable for every purpose.
    let document = resolve_did_key(DID).unwrap();
    assert_eq!(document.id, DID);
    let method_id = format!("{DID}#z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw");
    assert_eq!(document.verification_method[0].id, method_id);
    for relationship in [
        Relationship::Authentication,
        Relationship::AssertionMethod,
        Relationship::CapabilityInvocation,
    ] {
        let jwk = document.key_for(None, relationship).unwrap();
        assert_eq!(jwk.kid.as_deref(), Some(method_id.as_str()));
        assert_eq!(
            jwk.verifying_key().unwrap(),
            PublicKey::Ed25519(key.verifying_key())
        );
    }
}

/// The P-256 test vector of the did:key specification (test-vectors/nist-curves.json).
#[test]
fn did_key_spec_p256_vector() {
    const DID: &str = "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv";
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
        "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM"
    }))
    .unwrap();
    let PublicKey::P256(public) = jwk.verifying_key().unwrap() else {
        panic!("not a P-256 key");
    };
    assert_eq!(did_key_for_p256(&public), DID);

    let document = resolve_did_key(DID).unwrap();
    let resolved = document
        .key_for(
            Some("#zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"),
            Relationship::Authentication,
        )
        .unwrap();
    assert_eq!((resolved.x, resolved.y), (jwk.x, jwk.y));
}
