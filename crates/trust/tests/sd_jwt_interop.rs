//! Interoperability of `tsunagu_trust::sd_jwt` with the reference implementation of SD-JWT,
//! the OpenWallet Foundation's Python library `sd-jwt` (PyPI), both ways:
//!
//! * SD-JWTs tsunagu issues (`EdDSA`) and presents verify in the library, with the same
//!   claims as in tsunagu; so does tsunagu's `EdDSA` Key Binding JWT, its `sd_hash` included;
//!   the library refuses them with another issuer key or another nonce;
//! * the library's holder presents an SD-JWT tsunagu issued, with an `ES256` Key Binding JWT
//!   (the library's only key binding algorithm by default), and tsunagu verifies it with key
//!   binding required;
//! * the library issues (`ES256`, decoys, nested and array disclosures) and presents with key
//!   binding, and tsunagu verifies the presentation.
//!
//! Skips with `skipped: python sd-jwt not installed` when the library cannot be imported,
//! unless `TSUNAGU_REQUIRE_INTEROP=1`, which turns that into a failure (as in CI).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use tsunagu_trust::jwk::Jwk;
use tsunagu_trust::keys::KeyPair;
use tsunagu_trust::sd_jwt::{
    IssuanceOptions, KeyBindingExpectations, KeyBindingTarget, SD_JWT_VC_TYP, SdJwt,
    SdJwtExpectations, Selection, issue_sd_jwt, present_sd_jwt, present_sd_jwt_with_key_binding,
    verify_sd_jwt,
};

const SKIP_LINE: &str = "skipped: python sd-jwt not installed";
const VCT: &str = "https://passport.example/BatteryPassport";
const AUDIENCE: &str = "did:web:pack.example";
const NONCE: &str = "interop-nonce-1";

/// Reads one JSON object from stdin, writes one to stdout.
const SCRIPT: &str = r#"
import json, sys
from jwcrypto import jwk
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

request = json.load(sys.stdin)
answer = {}
issuer_key = jwk.JWK(**request["issuer_jwk"])

def verifier(presentation, key):
    return SDJWTVerifier(presentation, lambda iss, header: key)

def refused(action):
    try:
        action()
        return False
    except Exception:
        return True

# tsunagu -> library: presentations without key binding.
answer["verified"] = [verifier(p, issuer_key).get_verified_payload() for p in request["presentations"]]
other_key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
answer["other_issuer_key_refused"] = refused(lambda: verifier(request["presentations"][0], other_key))

# tsunagu -> library: an EdDSA key binding JWT. The constructor checks key binding with ES256
# only, so the library's key binding check is called with the algorithm named.
bound = verifier(request["kb_presentation"], issuer_key)
bound._verify_key_binding_jwt(request["aud"], request["nonce"], sign_alg="EdDSA")
answer["verified_kb"] = bound.get_verified_payload()
answer["wrong_nonce_refused"] = refused(
    lambda: bound._verify_key_binding_jwt(request["aud"], "another-nonce", sign_alg="EdDSA"))

# library holder on a tsunagu SD-JWT, ES256 key binding.
holder_key = jwk.JWK(**request["holder_private_jwk"])
holder = SDJWTHolder(request["issuance_for_library_holder"])
holder.create_presentation(request["claims_to_disclose"], request["nonce"], request["aud"], holder_key, "ES256")
answer["library_holder_presentation"] = holder.sd_jwt_presentation

# library issuer and holder.
library_issuer_key = jwk.JWK.generate(kty="EC", crv="P-256")
claims = {
    "iss": "https://issuer.example",
    "vct": request["vct"],
    "batteryId": "BAT-PY-1",
    SDObj("chemistry"): "LFP",
    "manufacturer": {
        "name": "Pack Maker",
        SDObj("plant"): {"city": "Osaka", SDObj("line"): "P2"},
    },
    "materials": [
        SDObj({"name": "iron", SDObj("supplier"): "iron-supplier"}),
        SDObj("hidden-element"),
        "visible-element",
    ],
    SDObj("dueDiligence"): {"report": "py-report"},
}
issued = SDJWTIssuer(claims, library_issuer_key, holder_key, add_decoy_claims=True,
                     extra_header_parameters={"typ": "dc+sd-jwt"})
holder = SDJWTHolder(issued.sd_jwt_issuance)
holder.create_presentation(
    {"chemistry": True, "manufacturer": {"plant": {"line": True}}, "materials": [{"supplier": True}, False]},
    request["nonce"], request["aud"], holder_key, "ES256")
answer["library_issuer_jwk"] = json.loads(library_issuer_key.export_public())
answer["library_presentation"] = holder.sd_jwt_presentation

json.dump(answer, sys.stdout)
"#;

fn passport() -> Value {
    json!({
        "iss": "did:web:cells.example",
        "vct": VCT,
        "batteryId": "BAT-2027-0001",
        "chemistry": "NMC811",
        "manufacturer": {"name": "Cell Maker KK", "plant": {"city": "Kobe", "line": "L3"}},
        "materials": [
            {"name": "cobalt", "supplier": "cobalt-supplier"},
            {"name": "lithium", "supplier": "lithium-supplier"},
            "recycled-nickel"
        ],
        "dueDiligence": {"auditor": "Audit Co", "report": "report-2027"}
    })
}

const DISCLOSABLE: [&str; 9] = [
    "/chemistry",
    "/manufacturer/plant",
    "/manufacturer/plant/line",
    "/materials/0",
    "/materials/0/supplier",
    "/materials/1",
    "/materials/2",
    "/dueDiligence",
    "/dueDiligence/report",
];

fn without(mut claims: Value, claim: &str) -> Value {
    claims.as_object_mut().unwrap().remove(claim);
    claims
}

#[test]
fn tsunagu_and_the_python_reference_implementation_interoperate() {
    if !tsunagu_testkit::require_python(
        "sd_jwt.issuer, sd_jwt.holder, sd_jwt.verifier, jwcrypto",
        SKIP_LINE,
    ) {
        return;
    }
    // The library stamps its key binding JWTs with the real clock; so must the verifier here.
    let now = Utc::now();
    let mut rng = StdRng::seed_from_u64(9901);
    let issuer = KeyPair::from_secret_bytes(&[0x11; 32]);
    let ed_holder = KeyPair::from_secret_bytes(&[0x22; 32]);
    let p256_secret = [0x5a; 32];
    let p256_holder = p256::ecdsa::SigningKey::from_slice(&p256_secret).unwrap();
    let p256_holder_jwk = Jwk::from_p256(p256_holder.verifying_key());
    let mut p256_holder_private = serde_json::to_value(&p256_holder_jwk).unwrap();
    p256_holder_private["d"] = json!(URL_SAFE_NO_PAD.encode(p256_secret));

    let issue = |holder_key: &Jwk, rng: &mut StdRng| {
        let options = IssuanceOptions {
            holder_key: Some(holder_key),
            decoys: 2,
            ..IssuanceOptions::default()
        };
        issue_sd_jwt(&passport(), &DISCLOSABLE, &issuer, &options, rng).unwrap()
    };
    let ed_bound = issue(&ed_holder.public_jwk(), &mut rng);
    let p256_bound = issue(&p256_holder_jwk, &mut rng);
    let select = |paths: &[&str]| Selection::paths(paths).unwrap();
    let presentations: Vec<SdJwt> = [
        Selection::nothing(),
        select(&["/chemistry", "/manufacturer/plant/line"]),
        select(&["/materials/1", "/dueDiligence"]),
        Selection::matching(|_, _| true),
    ]
    .iter()
    .map(|selection| present_sd_jwt(&ed_bound, selection).unwrap())
    .collect();
    let kb_presentation = present_sd_jwt_with_key_binding(
        &ed_bound,
        &select(&["/materials/0/supplier"]),
        &ed_holder,
        &KeyBindingTarget {
            audience: AUDIENCE,
            nonce: NONCE,
        },
        now,
    )
    .unwrap();

    let answer = tsunagu_testkit::run_python_json(
        SCRIPT,
        &json!({
            "issuer_jwk": issuer.public_jwk(),
            "presentations": presentations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "kb_presentation": kb_presentation.to_string(),
            "issuance_for_library_holder": p256_bound.to_string(),
            "holder_private_jwk": p256_holder_private,
            "claims_to_disclose": {
                "chemistry": true,
                "materials": [true, {"supplier": true}],
                "dueDiligence": {"report": true}
            },
            "aud": AUDIENCE,
            "nonce": NONCE,
            "vct": VCT,
        }),
    );

    // tsunagu -> library: the library sees exactly the claims tsunagu's verifier sees.
    let not_required = SdJwtExpectations::default();
    let verified = answer["verified"].as_array().unwrap();
    assert_eq!(verified.len(), presentations.len());
    for (presentation, theirs) in presentations.iter().zip(verified) {
        let ours = verify_sd_jwt(
            &presentation.to_string(),
            &issuer.public_jwk(),
            &not_required,
            now,
        )
        .unwrap();
        assert_eq!(&Value::Object(ours.claims), theirs);
    }
    let mut everything = passport();
    everything["cnf"] = json!({"jwk": ed_holder.public_jwk()});
    assert_eq!(verified[3], everything);
    assert_eq!(answer["other_issuer_key_refused"], true);
    assert_eq!(
        answer["verified_kb"]["materials"],
        json!([{"name": "cobalt", "supplier": "cobalt-supplier"}])
    );
    assert_eq!(answer["wrong_nonce_refused"], true);

    // Library holder -> tsunagu, with key binding required.
    let required = SdJwtExpectations {
        typ: SD_JWT_VC_TYP,
        key_binding: Some(KeyBindingExpectations {
            audience: AUDIENCE,
            nonce: NONCE,
            max_age: Duration::minutes(5),
        }),
    };
    let library_holder = answer["library_holder_presentation"].as_str().unwrap();
    let verified = verify_sd_jwt(library_holder, &issuer.public_jwk(), &required, Utc::now())
        .expect("tsunagu verifies the library holder's presentation");
    assert_eq!(
        verified.key_binding.as_ref().unwrap().holder_key,
        p256_holder_jwk
    );
    assert_eq!(
        without(Value::Object(verified.claims), "cnf"),
        json!({
            "iss": "did:web:cells.example",
            "vct": VCT,
            "batteryId": "BAT-2027-0001",
            "chemistry": "NMC811",
            "manufacturer": {"name": "Cell Maker KK"},
            "materials": [{"name": "cobalt"}, {"name": "lithium", "supplier": "lithium-supplier"}],
            "dueDiligence": {"auditor": "Audit Co", "report": "report-2027"}
        })
    );
    // The same presentation for another verifier is refused.
    let elsewhere = SdJwtExpectations {
        key_binding: Some(KeyBindingExpectations {
            audience: "did:web:elsewhere.example",
            ..required.key_binding.unwrap()
        }),
        ..required
    };
    assert!(verify_sd_jwt(library_holder, &issuer.public_jwk(), &elsewhere, Utc::now()).is_err());

    // Library issuer and holder -> tsunagu.
    let library_issuer: Jwk = serde_json::from_value(answer["library_issuer_jwk"].clone()).unwrap();
    let presentation = answer["library_presentation"].as_str().unwrap();
    let verified = verify_sd_jwt(presentation, &library_issuer, &required, Utc::now())
        .expect("tsunagu verifies the library's own presentation");
    assert_eq!(verified.header.alg, "ES256");
    assert_eq!(
        without(Value::Object(verified.claims), "cnf"),
        json!({
            "iss": "https://issuer.example",
            "vct": VCT,
            "batteryId": "BAT-PY-1",
            "chemistry": "LFP",
            "manufacturer": {"name": "Pack Maker", "plant": {"city": "Osaka", "line": "P2"}},
            "materials": [{"name": "iron", "supplier": "iron-supplier"}, "visible-element"]
        })
    );
    // With another issuer key: refused.
    assert!(verify_sd_jwt(presentation, &issuer.public_jwk(), &required, Utc::now()).is_err());
}
