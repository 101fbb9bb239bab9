//! The passport as one SD-JWT signed by the economic operator, and the view of each access
//! group as a choice of its disclosures.
//!
//! Every field the attribute table places above `public` is selectively disclosable (its
//! outermost such field: a legitimate-interest section hides everything in it). A view for a
//! group is a presentation that keeps the disclosures of the fields that group may see and
//! drops the others, so the concealed fields do not leave the server even as ciphertext:
//! only their salted digests do, inside the signature. Whoever receives a view can check the
//! operator's signature over it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngCore};
use serde_json::{Value, json};
use thiserror::Error;
use tsunagu_trust::TrustError;
use tsunagu_trust::jwk::Jwk;
use tsunagu_trust::keys::KeyPair;
use tsunagu_trust::sd_jwt::{
    IssuanceOptions, SD_JWT_VC_TYP, SdJwt, SdJwtExpectations, Selection, issue_sd_jwt,
    present_sd_jwt, verify_sd_jwt,
};

use crate::attributes::{AccessGroup, AttributeTable};
use crate::model::{ASPECT_URN, BatteryPass};

/// The claim that holds the BatteryPass document inside the SD-JWT.
const PASSPORT_CLAIM: &str = "passport";

/// Decoy digests per `_sd` array, so that a view does not tell how many fields it lacks.
const DECOYS: usize = 1;

#[derive(Debug, Error)]
pub enum SignError {
    #[error("signing the passport: {0}")]
    Trust(#[from] TrustError),
    #[error("the view holds fields above its access group: {0:?}")]
    Leak(Vec<String>),
    #[error("the signed passport holds no passport claim")]
    NoPassport,
}

/// The full SD-JWT (issuer JWT and every disclosure) and the group of each disclosable
/// claim, by its pointer into the SD-JWT's claims.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignedPassport {
    pub sd_jwt: String,
    pub groups: BTreeMap<String, AccessGroup>,
}

/// Who signs: the economic operator's DID and its active key.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub did: &'a str,
    pub key: &'a KeyPair,
}

pub fn sign_passport<R: RngCore + CryptoRng>(
    pass: &BatteryPass,
    table: &AttributeTable,
    signer: Signer<'_>,
    now: DateTime<Utc>,
    rng: &mut R,
) -> Result<SignedPassport, SignError> {
    let document = pass.to_value();
    let restricted = table.restricted_fields(&document);
    let groups: BTreeMap<String, AccessGroup> = restricted
        .into_iter()
        .map(|(pointer, group)| (format!("/{PASSPORT_CLAIM}{pointer}"), group))
        .collect();
    let claims = json!({
        "iss": signer.did,
        "iat": now.timestamp(),
        "vct": ASPECT_URN,
        "sub": pass.passport_identifier(),
        PASSPORT_CLAIM: document,
    });
    let pointers: Vec<&str> = groups.keys().map(String::as_str).collect();
    let kid = tsunagu_trust::did::key_id_url(signer.did, signer.key);
    let sd_jwt = issue_sd_jwt(
        &claims,
        &pointers,
        signer.key,
        &IssuanceOptions {
            typ: SD_JWT_VC_TYP,
            kid: Some(&kid),
            holder_key: None,
            decoys: DECOYS,
        },
        rng,
    )?;
    Ok(SignedPassport {
        sd_jwt: sd_jwt.to_string(),
        groups,
    })
}

impl SignedPassport {
    /// The presentation for `group`: the issuer JWT with the disclosures of every field at or
    /// below `group`, and no others.
    pub fn present(&self, group: AccessGroup) -> Result<String, SignError> {
        let sd_jwt = SdJwt::parse(&self.sd_jwt)?;
        let selection = Selection::matching(|pointer, _| {
            // A disclosable claim the table does not know is never disclosed.
            self.groups.get(pointer).is_some_and(|g| *g <= group)
        });
        Ok(present_sd_jwt(&sd_jwt, &selection)?.to_string())
    }
}

/// A view of a passport for one group, checked against the operator's signature.
#[derive(Debug, Clone, PartialEq)]
pub struct PassportView {
    pub group: AccessGroup,
    /// The BatteryPass fields the group may see.
    pub passport: Value,
    /// The SD-JWT presentation the view was read from, for machines that verify it.
    pub presentation: String,
}

/// Verifies `presentation` with the operator's key and takes the passport out, refusing it
/// if it holds any field above `group` (which a correct presentation never does; this is
/// the last check before anything leaves).
pub fn open_view(
    presentation: String,
    group: AccessGroup,
    issuer_key: &Jwk,
    table: &AttributeTable,
    now: DateTime<Utc>,
) -> Result<PassportView, SignError> {
    let verified = verify_sd_jwt(
        &presentation,
        issuer_key,
        &SdJwtExpectations::default(),
        now,
    )?;
    let passport = verified
        .claims
        .get(PASSPORT_CLAIM)
        .cloned()
        .ok_or(SignError::NoPassport)?;
    let above = table.fields_above(&passport, group);
    if !above.is_empty() {
        return Err(SignError::Leak(above));
    }
    Ok(PassportView {
        group,
        passport,
        presentation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    fn signed() -> (SignedPassport, KeyPair) {
        let key = KeyPair::from_secret_bytes(&[9; 32]);
        let pass = BatteryPass::from_json(crate::demo::demo_battery_pass_json(
            "urn:uuid:6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01",
            "LA:TSUNAGU:PACK-0001",
            "2026-11-30",
        ))
        .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let signed = sign_passport(
            &pass,
            AttributeTable::bundled(),
            Signer {
                did: "did:web:pack.example",
                key: &key,
            },
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            &mut rng,
        )
        .unwrap();
        (signed, key)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_100, 0).unwrap()
    }

    #[test]
    fn each_group_sees_exactly_its_fields() {
        let (signed, key) = signed();
        let table = AttributeTable::bundled();
        let view = |group| {
            open_view(
                signed.present(group).unwrap(),
                group,
                &key.public_jwk(),
                table,
                now(),
            )
            .unwrap()
            .passport
        };
        let public = view(AccessGroup::Public);
        assert!(public.pointer("/identification/chemistry").is_some());
        assert!(
            public
                .pointer("/materials/composition/0/renewable")
                .is_some()
        );
        assert!(
            public
                .pointer("/performance/rated/capacity/value")
                .is_some()
        );
        for hidden in [
            "/performance/dynamic",
            "/sustainability/status",
            "/operation/intoServiceDate",
            "/materials/composition/0/location",
            "/handling",
            "/conformity/resultOfTestReport",
            "/performance/rated/testReport",
            "/performance/rated/selfDischargingRate",
        ] {
            assert!(
                public.pointer(hidden).is_none(),
                "public view shows {hidden}"
            );
        }
        let interested = view(AccessGroup::LegitimateInterest);
        assert!(
            interested
                .pointer("/performance/dynamic/stateOfCharge")
                .is_some()
        );
        assert_eq!(interested["sustainability"]["status"], "original");
        assert!(
            interested
                .pointer("/conformity/resultOfTestReport")
                .is_none()
        );
        let authorities = view(AccessGroup::Authorities);
        assert!(
            authorities
                .pointer("/conformity/resultOfTestReport")
                .is_some()
        );
        // The authorities' view is the whole passport.
        let full = crate::demo::demo_battery_pass_json(
            "urn:uuid:6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01",
            "LA:TSUNAGU:PACK-0001",
            "2026-11-30",
        );
        assert_eq!(authorities, full);
    }

    #[test]
    fn the_public_presentation_does_not_carry_concealed_values() {
        let (signed, _) = signed();
        let public = signed.present(AccessGroup::Public).unwrap();
        let parsed = SdJwt::parse(&public).unwrap();
        for disclosure in parsed.disclosures() {
            let text = disclosure.value().to_string();
            assert!(
                !text.contains("nb-test-report"),
                "authority document disclosed"
            );
            assert!(!text.contains("stateOfCharge"), "dynamic data disclosed");
        }
        // Nor does the signed JWT itself, in clear.
        assert!(!public.contains("nb-results"));
        let full_len = SdJwt::parse(&signed.sd_jwt).unwrap().disclosures().len();
        assert!(parsed.disclosures().len() < full_len);
    }

    #[test]
    fn a_view_opened_for_a_lower_group_than_presented_is_refused() {
        let (signed, key) = signed();
        let presentation = signed.present(AccessGroup::LegitimateInterest).unwrap();
        let error = open_view(
            presentation,
            AccessGroup::Public,
            &key.public_jwk(),
            AttributeTable::bundled(),
            now(),
        )
        .unwrap_err();
        assert!(
            matches!(error, SignError::Leak(ref fields) if fields.contains(&"/performance/dynamic".to_owned()))
        );
    }

    #[test]
    fn a_view_signed_by_another_key_is_refused() {
        let (signed, _) = signed();
        let other = KeyPair::from_secret_bytes(&[10; 32]);
        assert!(
            open_view(
                signed.present(AccessGroup::Public).unwrap(),
                AccessGroup::Public,
                &other.public_jwk(),
                AttributeTable::bundled(),
                now()
            )
            .is_err()
        );
    }
}
