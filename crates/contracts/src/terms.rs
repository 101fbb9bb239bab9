//! The terms reference: the link from an ODRL policy (and so from a signed agreement) to the
//! exact text the parties agreed to.
//!
//! A terms reference reads `<template id>@<version>#sha256:<64 lower-case hex digits>`. The
//! hash is SHA-256 over the canonical bytes of a [`TermsBundle`], which are, in this order:
//!
//! ```text
//! tsunagu-contract-terms/v1\n
//! template <n>\n<template id>\n
//! version <n>\n<version>\n
//! parameters <count>\n
//!   name <n>\n<parameter name>\n value <n>\n<canonical value>\n     (once per parameter,
//!                                                                   sorted by name)
//! markdown-en <n>\n<English Markdown>\n
//! markdown-ja <n>\n<Japanese Markdown>\n
//! ```
//!
//! where `<n>` is the length in bytes (UTF-8) of the field that follows, in decimal, so that
//! no choice of values can make two different bundles share their bytes. The Markdown is
//! hashed rather than the HTML because it is the source text; the HTML is derived from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::policy::{TERMS_DUTY_ACTION, TERMS_LEFT_OPERAND};

/// What a terms reference is computed over: everything a party needs to show which text it
/// agreed to. Keep it with the agreement; [`verify_text`] checks it against the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TermsBundle {
    pub template_id: String,
    pub template_version: String,
    /// Every parameter with its canonical value, defaults included.
    pub parameters: BTreeMap<String, String>,
    pub markdown_en: String,
    pub markdown_ja: String,
}

impl TermsBundle {
    /// The canonical byte string described in the module documentation.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, label: &str, value: &str) {
            out.extend_from_slice(format!("{label} {}\n", value.len()).as_bytes());
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        let mut out = b"tsunagu-contract-terms/v1\n".to_vec();
        field(&mut out, "template", &self.template_id);
        field(&mut out, "version", &self.template_version);
        out.extend_from_slice(format!("parameters {}\n", self.parameters.len()).as_bytes());
        // A BTreeMap iterates in byte order of the names, which is the order we document.
        for (name, value) in &self.parameters {
            field(&mut out, "name", name);
            field(&mut out, "value", value);
        }
        field(&mut out, "markdown-en", &self.markdown_en);
        field(&mut out, "markdown-ja", &self.markdown_ja);
        out
    }

    /// The SHA-256 of [`Self::canonical_bytes`], in lower-case hex.
    pub fn sha256_hex(&self) -> String {
        let digest = Sha256::digest(self.canonical_bytes());
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// `<template id>@<version>#sha256:<hex>`.
    pub fn reference(&self) -> String {
        format!(
            "{}@{}#sha256:{}",
            self.template_id,
            self.template_version,
            self.sha256_hex()
        )
    }
}

/// A terms reference taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsReference {
    pub template_id: String,
    pub template_version: String,
    pub sha256_hex: String,
}

impl TermsReference {
    /// Reads `<id>@<version>#sha256:<64 hex digits>`; `None` for anything else.
    pub fn parse(text: &str) -> Option<TermsReference> {
        let (head, hash) = text.split_once("#sha256:")?;
        let (id, version) = head.split_once('@')?;
        let hex_ok = hash.len() == 64
            && hash
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        (hex_ok && !id.is_empty() && !version.is_empty()).then(|| TermsReference {
            template_id: id.to_owned(),
            template_version: version.to_owned(),
            sha256_hex: hash.to_owned(),
        })
    }
}

/// True when `bundle` is exactly the text, template and parameters that `reference` names.
pub fn verify_text(bundle: &TermsBundle, reference: &str) -> bool {
    match TermsReference::parse(reference) {
        Some(parsed) => {
            parsed.template_id == bundle.template_id
                && parsed.template_version == bundle.template_version
                && parsed.sha256_hex == bundle.sha256_hex()
        }
        None => false,
    }
}

/// The terms reference a policy carries: the right operand of a `contractTerms eq` constraint
/// on a `comply` duty of its permissions. `value` may be the policy itself or any JSON that
/// contains it, such as a DSP `ContractAgreementMessage` or a stored agreement, in compact,
/// `odrl:`-prefixed or expanded spelling. `None` when there is no reference, when it is not a
/// well-formed terms reference, or when the permissions carry references that differ (a policy
/// cannot be bound to two texts).
pub fn terms_reference(value: &Value) -> Option<String> {
    let mut found = Vec::new();
    collect(value, &mut found, 0);
    let first = found.first()?.clone();
    (found.iter().all(|other| *other == first) && TermsReference::parse(&first).is_some())
        .then_some(first)
}

/// How deep into arbitrary JSON we look; agreements nest a policy two or three levels down.
const MAX_DEPTH: usize = 16;

const ODRL: &str = "http://www.w3.org/ns/odrl/2/";

fn collect(value: &Value, found: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect(item, found, depth + 1);
            }
        }
        Value::Object(object) => {
            let is_policy = [
                "permission",
                "odrl:permission",
                &format!("{ODRL}permission"),
            ]
            .iter()
            .any(|key| object.contains_key(*key));
            if is_policy {
                if let Ok(policy) = tsunagu_policy::Policy::from_json(value) {
                    for permission in &policy.permissions {
                        for duty in &permission.duties {
                            if local(&duty.action) == TERMS_DUTY_ACTION {
                                found.extend(duty.constraints.iter().filter_map(reference_of));
                            }
                        }
                    }
                    return;
                }
            }
            for child in object.values() {
                collect(child, found, depth + 1);
            }
        }
        _ => {}
    }
}

fn reference_of(constraint: &tsunagu_policy::Constraint) -> Option<String> {
    let tsunagu_policy::Constraint::Atomic {
        left_operand,
        operator: tsunagu_policy::Operator::Eq,
        right_operand,
    } = constraint
    else {
        return None;
    };
    if local(left_operand) != TERMS_LEFT_OPERAND {
        return None;
    }
    let right = match right_operand {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    };
    match right {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => object
            .get("@value")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// Strips the vocabulary prefixes a left operand or action may carry.
fn local(name: &str) -> &str {
    [
        "odrl:",
        ODRL,
        "tsunagu:",
        "https://w3id.org/tsunagu/policy/",
    ]
    .iter()
    .find_map(|prefix| name.strip_prefix(prefix))
    .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle() -> TermsBundle {
        TermsBundle {
            template_id: "t".into(),
            template_version: "1.0.0".into(),
            parameters: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
            markdown_en: "# T\n".into(),
            markdown_ja: "# 契約\n".into(),
        }
    }

    #[test]
    fn canonical_bytes_are_the_documented_ones() {
        let expected = "tsunagu-contract-terms/v1\ntemplate 1\nt\nversion 5\n1.0.0\nparameters 2\nname 1\na\nvalue 1\n1\nname 1\nb\nvalue 1\n2\nmarkdown-en 4\n# T\n\nmarkdown-ja 9\n# 契約\n\n";
        assert_eq!(
            String::from_utf8(bundle().canonical_bytes()).unwrap(),
            expected
        );
        let digest = Sha256::digest(expected.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(bundle().reference(), format!("t@1.0.0#sha256:{hex}"));
    }

    #[test]
    fn moving_bytes_between_fields_changes_the_hash() {
        let mut shifted = bundle();
        shifted.parameters.insert("a".into(), "1\nname 1\nb".into());
        shifted.parameters.remove("b");
        assert_ne!(shifted.sha256_hex(), bundle().sha256_hex());
    }

    #[test]
    fn verify_text_detects_any_change() {
        let reference = bundle().reference();
        assert!(verify_text(&bundle(), &reference));
        let mut changed = bundle();
        changed.markdown_ja.push(' ');
        assert!(!verify_text(&changed, &reference));
        let mut other_version = bundle();
        other_version.template_version = "1.0.1".into();
        assert!(!verify_text(&other_version, &reference));
        assert!(!verify_text(&bundle(), "t@1.0.0"));
        assert!(!verify_text(&bundle(), &reference.to_uppercase()));
    }

    #[test]
    fn terms_reference_is_found_in_every_spelling_and_inside_an_agreement() {
        let reference = bundle().reference();
        let compact = json!({"@type": "Set", "permission": [{"action": "use", "duty": [
            {"action": "comply", "constraint": [{"leftOperand": "contractTerms", "operator": "eq", "rightOperand": reference}]}
        ]}]});
        assert_eq!(terms_reference(&compact), Some(reference.clone()));
        let agreement_message = json!({
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "ContractAgreementMessage",
            "agreement": {
                "@id": "urn:uuid:a", "@type": "Agreement", "target": "urn:uuid:asset",
                "assigner": "did:web:p", "assignee": "did:web:c",
                "odrl:permission": {"odrl:action": {"@id": "odrl:use"}, "odrl:duty": {
                    "odrl:action": {"@id": "odrl:comply"},
                    "odrl:constraint": {
                        "odrl:leftOperand": {"@id": "tsunagu:contractTerms"},
                        "odrl:operator": {"@id": "odrl:eq"},
                        "odrl:rightOperand": {"@value": reference}
                    }
                }}
            }
        });
        assert_eq!(terms_reference(&agreement_message), Some(reference.clone()));
    }

    #[test]
    fn terms_reference_refuses_absent_conflicting_or_malformed_references() {
        let duty = |reference: &str| {
            json!({"action": "comply", "constraint": [
                {"leftOperand": "contractTerms", "operator": "eq", "rightOperand": reference}
            ]})
        };
        let a = bundle().reference();
        let mut other = bundle();
        other.markdown_en.push('x');
        let b = other.reference();
        assert_eq!(
            terms_reference(&json!({"permission": [{"action": "use"}]})),
            None
        );
        assert_eq!(
            terms_reference(&json!({"permission": [
                {"action": "use", "duty": [duty(&a)]},
                {"action": "read", "duty": [duty(&b)]}
            ]})),
            None
        );
        assert_eq!(
            terms_reference(
                &json!({"permission": [{"action": "use", "duty": [duty("not a reference")]}]})
            ),
            None
        );
        // A reference outside a comply duty does not bind the policy.
        assert_eq!(
            terms_reference(&json!({"permission": [{"action": "use", "constraint": [
                {"leftOperand": "contractTerms", "operator": "eq", "rightOperand": a}
            ]}]})),
            None
        );
    }
}
