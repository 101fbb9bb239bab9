//! From a verified presentation to the attribute map the ODRL engine reads
//! (`EvaluationContext::counter_party_attributes` of `tsunagu-policy`).
//!
//! The operator service issues exactly these credential types; every subject carries the
//! holder's DID as `id`.
//!
//! | credential type | subject fields | attributes |
//! |---|---|---|
//! | `MembershipCredential` | `memberOf` (dataspace id, string), `since` (date, optional) | `membership` = `active`, `Membership` = `active` (the Catena-X spelling), `memberOf` |
//! | `BatteryChainRoleCredential` | `roles`: array of strings, e.g. `materialMaker`, `cellMaker`, `packMaker`, `carMaker`, `fleetOperator`, `reuseOperator`, `recycler` | `role` (one value per role) |
//! | `SecurityProfileCredential` | `securityProfile`: string, e.g. `"1"`, `"2"`, `"3"` | `securityProfile` |
//! | `LegalPersonCredential` | `legalName`, `country` (ISO 3166-1 alpha-2), `registrationNumber`, `corporateNumber` (the 13-digit Japanese 法人番号), all strings, each optional | `legalName`, `country`, `registrationNumber`, `corporateNumber` |
//!
//! Every map also has `participantId` = the holder's DID. A credential contributes only
//! through the types its issuer is trusted for ([`crate::vc::VerifiedCredential::types`]), so a
//! membership issuer cannot confer roles. Values are strings as the policy engine compares
//! them; a field of the wrong JSON type is ignored, not guessed at. Two credentials that give
//! the same attribute add their values (sorted, without duplicates).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::vp::VerifiedPresentation;

/// The membership credential type.
pub const MEMBERSHIP_CREDENTIAL: &str = "MembershipCredential";
/// The supply-chain role credential type.
pub const ROLE_CREDENTIAL: &str = "BatteryChainRoleCredential";
/// The security profile credential type.
pub const SECURITY_PROFILE_CREDENTIAL: &str = "SecurityProfileCredential";
/// The legal person (self-description) credential type.
pub const LEGAL_PERSON_CREDENTIAL: &str = "LegalPersonCredential";

/// The attributes `presentation` proves about its holder (see the module documentation).
pub fn attributes(presentation: &VerifiedPresentation) -> BTreeMap<String, Vec<String>> {
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |name: &str, value: &str| {
        attributes
            .entry(name.to_owned())
            .or_default()
            .push(value.to_owned());
    };
    add("participantId", &presentation.holder);
    for credential in &presentation.credentials {
        let subjects: Vec<&Value> = match &credential.subject {
            Value::Array(subjects) => subjects.iter().collect(),
            subject => vec![subject],
        };
        for subject in subjects {
            if credential.has_type(MEMBERSHIP_CREDENTIAL) {
                add("membership", "active");
                add("Membership", "active");
                if let Some(dataspace) = subject.get("memberOf").and_then(Value::as_str) {
                    add("memberOf", dataspace);
                }
            }
            if credential.has_type(ROLE_CREDENTIAL) {
                for role in subject
                    .get("roles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    add("role", role);
                }
            }
            if credential.has_type(SECURITY_PROFILE_CREDENTIAL) {
                if let Some(profile) = subject.get("securityProfile").and_then(Value::as_str) {
                    add("securityProfile", profile);
                }
            }
            if credential.has_type(LEGAL_PERSON_CREDENTIAL) {
                for field in [
                    "legalName",
                    "country",
                    "registrationNumber",
                    "corporateNumber",
                ] {
                    if let Some(value) = subject.get(field).and_then(Value::as_str) {
                        add(field, value);
                    }
                }
            }
        }
    }
    for values in attributes.values_mut() {
        values.sort();
        values.dedup();
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vc::VerifiedCredential;
    use serde_json::json;

    fn credential(types: &[&str], subject: Value) -> VerifiedCredential {
        VerifiedCredential {
            id: None,
            issuer: "did:web:op.example".to_owned(),
            types: types.iter().map(|t| (*t).to_owned()).collect(),
            subject,
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn every_documented_credential_type_yields_its_attributes() {
        let holder = "did:web:cell.example";
        let presentation = VerifiedPresentation {
            holder: holder.to_owned(),
            credentials: vec![
                credential(
                    &[MEMBERSHIP_CREDENTIAL],
                    json!({"id": holder, "memberOf": "basc-battery-dataspace"}),
                ),
                credential(
                    &[ROLE_CREDENTIAL],
                    json!({"id": holder, "roles": ["recycler", "cellMaker", 7]}),
                ),
                credential(
                    &[SECURITY_PROFILE_CREDENTIAL],
                    json!({"id": holder, "securityProfile": "3"}),
                ),
                credential(
                    &[LEGAL_PERSON_CREDENTIAL],
                    json!({"id": holder, "legalName": "Cell KK", "country": "JP",
                           "corporateNumber": "1234567890123", "registrationNumber": 5}),
                ),
                // A second role credential adds values without duplicates.
                credential(
                    &[ROLE_CREDENTIAL],
                    json!({"id": holder, "roles": ["cellMaker"]}),
                ),
            ],
        };
        let expected: BTreeMap<String, Vec<String>> = [
            ("Membership", vec!["active"]),
            ("corporateNumber", vec!["1234567890123"]),
            ("country", vec!["JP"]),
            ("legalName", vec!["Cell KK"]),
            ("memberOf", vec!["basc-battery-dataspace"]),
            ("membership", vec!["active"]),
            ("participantId", vec![holder]),
            ("role", vec!["cellMaker", "recycler"]),
            ("securityProfile", vec!["3"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
        assert_eq!(attributes(&presentation), expected);
    }

    #[test]
    fn untrusted_types_contribute_nothing() {
        // `types` holds only trusted types: a membership issuer's credential that also claims
        // to be a role credential arrives with the role type dropped.
        let presentation = VerifiedPresentation {
            holder: "did:web:a".to_owned(),
            credentials: vec![credential(
                &[MEMBERSHIP_CREDENTIAL],
                json!({"id": "did:web:a", "roles": ["cellMaker"]}),
            )],
        };
        let map = attributes(&presentation);
        assert!(!map.contains_key("role"));
        assert_eq!(map["membership"], vec!["active"]);
    }
}
