//! The ODRL policy a contract yields, derived from the template's `[policy]` section and
//! the parameter values.
//!
//! The policy is the machine-enforced part of the contract, so each of its constraints
//! comes from a parameter that the text states as well:
//!
//! | `[policy]` key    | parameter type | policy                                                        |
//! |-------------------|----------------|---------------------------------------------------------------|
//! | `counter_party`   | did            | `counterPartyId eq <DID>` on the permission                   |
//! | `membership`      | (true/false)   | `membership eq active` on the permission                      |
//! | `roles`           | (literal list) | `role isAnyOf [...]` on the permission                        |
//! | `purpose`         | enum or string | `purpose eq <code>` on the permission                         |
//! | `term`            | duration       | `elapsedTime lteq <term>` on the permission                   |
//! | `max_uses`        | integer        | `count lteq <n>` on the permission                            |
//! | `retention`       | duration       | duty `delete` with `elapsedTime lteq <retention>`             |
//! | `onward_transfer` | enum           | prohibition of `distribute` unless the value is `permitted`   |
//!
//! Every permission also carries the duty `comply` with `contractTerms eq <terms reference>`,
//! which binds the policy to the text (see [`crate::terms`]).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::parameter::{ParameterKind, ParameterSpec};
use crate::template::RawPolicy;

/// The `onward_transfer` value that lifts the prohibition of `distribute`.
pub const ONWARD_TRANSFER_PERMITTED: &str = "permitted";

/// The action of the duty that carries the terms reference.
pub const TERMS_DUTY_ACTION: &str = "comply";

/// The left operand of the constraint that carries the terms reference.
pub const TERMS_LEFT_OPERAND: &str = "contractTerms";

/// A template's `[policy]` section, checked against its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicySpec {
    kind: PolicyType,
    purpose: Option<String>,
    term: Option<String>,
    retention: Option<String>,
    onward_transfer: Option<String>,
    counter_party: Option<String>,
    max_uses: Option<String>,
    roles: Vec<String>,
    membership: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PolicyType {
    Set,
    Offer,
}

impl PolicySpec {
    /// The parameters the section names, so that the template gets the shared ones it uses.
    pub(crate) fn parameter_names(raw: &RawPolicy) -> impl Iterator<Item = String> + '_ {
        [
            &raw.purpose,
            &raw.term,
            &raw.retention,
            &raw.onward_transfer,
            &raw.counter_party,
            &raw.max_uses,
        ]
        .into_iter()
        .flatten()
        .cloned()
    }

    pub(crate) fn load(raw: &RawPolicy, parameters: &[ParameterSpec]) -> Result<Self, String> {
        let kind = match raw.kind.as_deref() {
            None | Some("Set") => PolicyType::Set,
            Some("Offer") => PolicyType::Offer,
            Some(other) => return Err(format!("type {other:?} must be Set or Offer")),
        };
        let check = |key: &str,
                     name: &Option<String>,
                     fits: fn(&ParameterKind) -> bool,
                     expected: &str|
         -> Result<Option<String>, String> {
            let Some(name) = name else {
                return Ok(None);
            };
            let spec = parameters
                .iter()
                .find(|spec| &spec.name == name)
                .ok_or_else(|| format!("{key} names undeclared parameter {name:?}"))?;
            if fits(&spec.kind) {
                Ok(Some(name.clone()))
            } else {
                Err(format!("{key} needs {expected}, but {name:?} is not one"))
            }
        };
        let spec = PolicySpec {
            kind,
            purpose: check(
                "purpose",
                &raw.purpose,
                |kind| {
                    matches!(
                        kind,
                        ParameterKind::Enum { .. } | ParameterKind::String { .. }
                    )
                },
                "an enum or string parameter",
            )?,
            term: check(
                "term",
                &raw.term,
                |kind| matches!(kind, ParameterKind::Duration { .. }),
                "a duration parameter",
            )?,
            retention: check(
                "retention",
                &raw.retention,
                |kind| matches!(kind, ParameterKind::Duration { .. }),
                "a duration parameter",
            )?,
            onward_transfer: check(
                "onward_transfer",
                &raw.onward_transfer,
                |kind| {
                    matches!(kind, ParameterKind::Enum { values }
                        if values.iter().any(|value| value.value == ONWARD_TRANSFER_PERMITTED))
                },
                "an enum parameter with the value \"permitted\"",
            )?,
            counter_party: check(
                "counter_party",
                &raw.counter_party,
                |kind| matches!(kind, ParameterKind::Did),
                "a did parameter",
            )?,
            max_uses: check(
                "max_uses",
                &raw.max_uses,
                |kind| matches!(kind, ParameterKind::Integer { min, .. } if *min >= 1),
                "an integer parameter with min >= 1",
            )?,
            roles: raw.roles.clone(),
            membership: raw.membership,
        };
        if spec.roles.iter().any(|role| role.trim().is_empty()) {
            return Err("roles must not contain empty names".to_owned());
        }
        Ok(spec)
    }

    /// The compact DSP JSON-LD policy for checked `values` and the contract's terms reference.
    pub(crate) fn derive(&self, values: &BTreeMap<String, String>, terms_reference: &str) -> Value {
        let value = |name: &Option<String>| {
            name.as_ref()
                .and_then(|name| values.get(name))
                .map(String::as_str)
        };
        let atomic = |left: &str, operator: &str, right: Value| json!({"leftOperand": left, "operator": operator, "rightOperand": right});
        let mut constraints = Vec::new();
        if let Some(did) = value(&self.counter_party) {
            constraints.push(atomic("counterPartyId", "eq", json!(did)));
        }
        if self.membership {
            constraints.push(atomic("membership", "eq", json!("active")));
        }
        if !self.roles.is_empty() {
            constraints.push(atomic("role", "isAnyOf", json!(self.roles)));
        }
        if let Some(purpose) = value(&self.purpose) {
            constraints.push(atomic("purpose", "eq", json!(purpose)));
        }
        if let Some(term) = value(&self.term) {
            constraints.push(atomic("elapsedTime", "lteq", json!(term)));
        }
        if let Some(count) = value(&self.max_uses).and_then(|text| text.parse::<i64>().ok()) {
            constraints.push(atomic("count", "lteq", json!(count)));
        }
        let mut duties = vec![json!({
            "action": TERMS_DUTY_ACTION,
            "constraint": [atomic(TERMS_LEFT_OPERAND, "eq", json!(terms_reference))],
        })];
        if let Some(retention) = value(&self.retention) {
            duties.push(json!({
                "action": "delete",
                "constraint": [atomic("elapsedTime", "lteq", json!(retention))],
            }));
        }
        let mut permission = json!({"action": "use", "duty": duties});
        if !constraints.is_empty() {
            permission["constraint"] = Value::Array(constraints);
        }
        let mut policy = json!({
            "@type": match self.kind {
                PolicyType::Set => "Set",
                PolicyType::Offer => "Offer",
            },
            "permission": [permission],
        });
        if value(&self.onward_transfer).is_some_and(|choice| choice != ONWARD_TRANSFER_PERMITTED) {
            policy["prohibition"] = json!([{"action": "distribute"}]);
        }
        policy
    }
}
