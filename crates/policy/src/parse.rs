//! Reading policies in every spelling that reaches a connector.
//!
//! DSP 2025-1 messages carry compact JSON-LD (`"permission"`, `"action": "use"`), while
//! Eclipse EDC and Tractus-X management APIs send `odrl:`-prefixed or fully expanded keys,
//! wrap values in `{"@id": ...}` or `{"@value": ...}`, and put single objects where a list
//! is expected. Rather than running a JSON-LD processor (which would need the contexts and
//! therefore IO), we accept those spellings directly for the ODRL vocabulary we model.

use serde_json::{Map, Value};

use crate::error::PolicyError;
use crate::model::{Constraint, LogicalOperator, Operator, Policy, PolicyKind, Rule};

/// The ODRL 2.2 namespace.
const ODRL: &str = "http://www.w3.org/ns/odrl/2/";

/// The `rdf:value` property, which ODRL uses for the action of a refined action object.
const RDF_VALUE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value";

/// Prefixes stripped from names before they are interpreted. The list covers the
/// vocabularies that left operands arrive in: ODRL itself, tsunagu's own, Catena-X and
/// EDC, each in prefixed and in full IRI form.
const KNOWN_PREFIXES: [&str; 8] = [
    "odrl:",
    ODRL,
    "tsunagu:",
    "https://w3id.org/tsunagu/policy/",
    "cx-policy:",
    "https://w3id.org/catenax/policy/",
    "edc:",
    "https://w3id.org/edc/v0.0.1/ns/",
];

/// How deep constraints and duties may nest. Real policies stay within three or four
/// levels; the limit exists so that hostile input cannot exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 32;

/// Strips one known vocabulary prefix from `name`, giving the local name we compare on.
pub(crate) fn local_name(name: &str) -> &str {
    let name = name.trim();
    KNOWN_PREFIXES
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name)
}

pub(crate) fn policy(value: &Value) -> Result<Policy, PolicyError> {
    let path = "policy";
    let object = object(single(value), path)?;
    let kind = match present(object.get("@type")) {
        None => PolicyKind::Set,
        Some(kind) => policy_kind(kind, path)?,
    };
    Ok(Policy {
        kind,
        uid: optional_id(object.get("@id"), path, "@id")?,
        target: optional_id(field(object, "target"), path, "target")?,
        assigner: optional_id(field(object, "assigner"), path, "assigner")?,
        assignee: optional_id(field(object, "assignee"), path, "assignee")?,
        profile: present(field(object, "profile")).cloned(),
        permissions: rules(field(object, "permission"), path, "permission", 0)?,
        prohibitions: rules(field(object, "prohibition"), path, "prohibition", 0)?,
        obligations: rules(field(object, "obligation"), path, "obligation", 0)?,
    })
}

/// Looks `name` up as a compact key, an `odrl:` key or a full ODRL IRI key.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .get(name)
        .or_else(|| object.get(&format!("odrl:{name}")))
        .or_else(|| object.get(&format!("{ODRL}{name}")))
}

/// Treats JSON null like an absent key, because some serialisers write every field.
fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| !value.is_null())
}

/// Unwraps a one-element array, which expanded JSON-LD uses for every single value.
fn single(value: &Value) -> &Value {
    match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    }
}

/// The items of a list that JSON-LD may also write as a single value.
fn items(value: Option<&Value>) -> Vec<&Value> {
    match present(value) {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, PolicyError> {
    value.as_object().ok_or_else(|| PolicyError::NotAnObject {
        path: path.to_owned(),
        found: kind_of(value),
    })
}

/// Names a JSON value's kind for error messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a name written as a string, `{"@id": ...}`, `{"@value": ...}` or a one-element
/// array of one of those.
fn name_of(value: &Value) -> Option<&str> {
    match single(value) {
        Value::String(text) => Some(text),
        Value::Object(object) => object
            .get("@id")
            .or_else(|| object.get("@value"))
            .and_then(Value::as_str),
        _ => None,
    }
}

fn optional_id(
    value: Option<&Value>,
    path: &str,
    key: &str,
) -> Result<Option<String>, PolicyError> {
    match present(value) {
        None => Ok(None),
        Some(value) => match name_of(value) {
            Some(name) => Ok(Some(name.to_owned())),
            None => Err(PolicyError::InvalidValue {
                path: format!("{path}.{key}"),
                reason: format!(
                    "expected a string or {{\"@id\": \"...\"}}, but it is {}",
                    kind_of(value)
                ),
            }),
        },
    }
}

fn policy_kind(value: &Value, path: &str) -> Result<PolicyKind, PolicyError> {
    // JSON-LD allows several types; we take the first one we recognise, so that a policy
    // typed both `odrl:Offer` and some application type is still read as an offer.
    let names: Vec<Option<&str>> = match value {
        Value::Array(items) => items.iter().map(name_of).collect(),
        other => vec![name_of(other)],
    };
    let recognised = names
        .iter()
        .flatten()
        .find_map(|name| match local_name(name) {
            "Set" | "Policy" => Some(PolicyKind::Set),
            "Offer" => Some(PolicyKind::Offer),
            "Agreement" => Some(PolicyKind::Agreement),
            _ => None,
        });
    recognised.ok_or_else(|| PolicyError::UnknownPolicyType {
        path: format!("{path}.@type"),
        value: value.to_string(),
    })
}

fn rules(
    value: Option<&Value>,
    parent: &str,
    key: &str,
    depth: usize,
) -> Result<Vec<Rule>, PolicyError> {
    items(value)
        .into_iter()
        .enumerate()
        .map(|(index, item)| rule(item, &format!("{parent}.{key}[{index}]"), depth))
        .collect()
}

fn rule(value: &Value, path: &str, depth: usize) -> Result<Rule, PolicyError> {
    if depth > MAX_DEPTH {
        return Err(PolicyError::TooDeep {
            path: path.to_owned(),
            max: MAX_DEPTH,
        });
    }
    let object = object(single(value), path)?;
    let action = match present(field(object, "action")) {
        None => {
            return Err(PolicyError::MissingField {
                path: path.to_owned(),
                field: "action",
            });
        }
        Some(action) => action_name(action, &format!("{path}.action"))?,
    };
    let constraints = items(field(object, "constraint"))
        .into_iter()
        .enumerate()
        .map(|(index, item)| constraint(item, &format!("{path}.constraint[{index}]"), depth))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rule {
        action,
        constraints,
        duties: rules(field(object, "duty"), path, "duty", depth + 1)?,
    })
}

/// Reads an action: a name, `{"@id": ...}`, or ODRL's object form with `rdf:value`.
fn action_name(value: &Value, path: &str) -> Result<String, PolicyError> {
    let value = single(value);
    if let Value::Object(object) = value {
        // A refinement narrows the action; dropping it would make the permission wider
        // than its author meant, so we refuse the policy instead.
        if present(field(object, "refinement")).is_some() {
            return Err(PolicyError::Unsupported {
                path: path.to_owned(),
                feature: "an action refinement",
            });
        }
        let inner = ["rdf:value", RDF_VALUE]
            .iter()
            .find_map(|key| present(object.get(*key)));
        if let Some(inner) = inner {
            return action_name(inner, path);
        }
    }
    match name_of(value).map(local_name) {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(PolicyError::InvalidValue {
            path: path.to_owned(),
            reason: format!(
                "expected an action name such as \"use\" or {{\"@id\": \"odrl:use\"}}, but it is {}",
                describe(value)
            ),
        }),
    }
}

/// A short description of a bad value for error messages: strings are quoted, other
/// values are named by kind so that a huge object is not copied into the message.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        other => kind_of(other).to_owned(),
    }
}

fn constraint(value: &Value, path: &str, depth: usize) -> Result<Constraint, PolicyError> {
    if depth > MAX_DEPTH {
        return Err(PolicyError::TooDeep {
            path: path.to_owned(),
            max: MAX_DEPTH,
        });
    }
    let object = object(single(value), path)?;
    if let Some(left) = present(field(object, "leftOperand")) {
        return atomic(object, left, path);
    }
    let logical: Vec<(LogicalOperator, &Value)> = LogicalOperator::ALL
        .iter()
        .filter_map(|operator| {
            present(field(object, operator.as_str())).map(|children| (*operator, children))
        })
        .collect();
    match logical.as_slice() {
        [(operator, children)] => {
            return logical_constraint(
                *operator,
                children,
                &format!("{path}.{}", operator.as_str()),
                depth,
            );
        }
        [] => {}
        several => {
            let found = several
                .iter()
                .map(|(operator, _)| operator.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(PolicyError::AmbiguousLogicalConstraint {
                path: path.to_owned(),
                found,
            });
        }
    }
    // ODRL's long form: {"operator": "and", "constraint": [...]}.
    let operator = present(field(object, "operator"));
    let children = present(field(object, "constraint"));
    match (operator, children) {
        (Some(operator), Some(children)) => {
            let operator_path = format!("{path}.operator");
            let name = name_of(operator).map(local_name);
            let logical = LogicalOperator::ALL
                .into_iter()
                .find(|candidate| Some(candidate.as_str()) == name);
            match logical {
                Some(logical) => {
                    logical_constraint(logical, children, &format!("{path}.constraint"), depth)
                }
                None => Err(PolicyError::UnknownLogicalOperator {
                    path: operator_path,
                    value: describe(operator),
                }),
            }
        }
        (Some(_), None) => Err(PolicyError::MissingField {
            path: path.to_owned(),
            field: "leftOperand",
        }),
        _ => Err(PolicyError::NotAConstraint {
            path: path.to_owned(),
        }),
    }
}

fn logical_constraint(
    operator: LogicalOperator,
    children: &Value,
    path: &str,
    depth: usize,
) -> Result<Constraint, PolicyError> {
    let constraints = items(Some(children))
        .into_iter()
        .enumerate()
        .map(|(index, child)| constraint(child, &format!("{path}[{index}]"), depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Constraint::Logical {
        operator,
        constraints,
    })
}

fn atomic(
    object: &Map<String, Value>,
    left: &Value,
    path: &str,
) -> Result<Constraint, PolicyError> {
    let left_operand = match name_of(left) {
        Some(name) if !name.trim().is_empty() => name.to_owned(),
        _ => {
            return Err(PolicyError::InvalidValue {
                path: format!("{path}.leftOperand"),
                reason: format!(
                    "expected a left operand name such as \"purpose\", but it is {}",
                    describe(left)
                ),
            });
        }
    };
    let Some(operator_value) = present(field(object, "operator")) else {
        return Err(PolicyError::MissingField {
            path: path.to_owned(),
            field: "operator",
        });
    };
    let operator = operator(operator_value, &format!("{path}.operator"))?;
    let Some(right_operand) = present(field(object, "rightOperand")) else {
        return Err(PolicyError::MissingField {
            path: path.to_owned(),
            field: "rightOperand",
        });
    };
    Ok(Constraint::Atomic {
        left_operand,
        operator,
        right_operand: right_operand.clone(),
    })
}

/// Reads an operator. Case is ignored because older EDC versions wrote operators in
/// capitals (`EQ`); the canonical form is ODRL's camelCase.
fn operator(value: &Value, path: &str) -> Result<Operator, PolicyError> {
    let name = name_of(value).map(local_name);
    Operator::ALL
        .into_iter()
        .find(|operator| name.is_some_and(|name| operator.as_str().eq_ignore_ascii_case(name)))
        .ok_or_else(|| PolicyError::UnknownOperator {
            path: path.to_owned(),
            value: describe(value),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn atomic(left: &str, operator: Operator, right: Value) -> Constraint {
        Constraint::Atomic {
            left_operand: left.into(),
            operator,
            right_operand: right,
        }
    }

    fn rule(action: &str, constraints: Vec<Constraint>) -> Rule {
        Rule {
            action: action.into(),
            constraints,
            duties: vec![],
        }
    }

    fn first_constraint(policy: &Policy) -> &Constraint {
        &policy.permissions[0].constraints[0]
    }

    #[test]
    fn compact_dsp_offer() {
        let policy = Policy::from_json(&json!({
            "@type": "Offer",
            "@id": "urn:uuid:1",
            "target": "urn:uuid:asset",
            "permission": [{
                "action": "use",
                "constraint": [{"leftOperand": "dateTime", "operator": "lteq", "rightOperand": "2023-12-31T06:00Z"}]
            }]
        }))
        .unwrap();
        assert_eq!(
            policy,
            Policy {
                kind: PolicyKind::Offer,
                uid: Some("urn:uuid:1".into()),
                target: Some("urn:uuid:asset".into()),
                assigner: None,
                assignee: None,
                profile: None,
                permissions: vec![rule(
                    "use",
                    vec![atomic(
                        "dateTime",
                        Operator::Lteq,
                        json!("2023-12-31T06:00Z")
                    )]
                )],
                prohibitions: vec![],
                obligations: vec![],
            }
        );
    }

    #[test]
    fn edc_management_api_policy_with_prefixed_keys() {
        // The shape Tractus-X EDC management API bodies use.
        let policy = Policy::from_json(&json!({
            "@type": "odrl:Set",
            "odrl:permission": {
                "odrl:action": {"@id": "odrl:use"},
                "odrl:constraint": {
                    "@type": "LogicalConstraint",
                    "odrl:and": [
                        {
                            "@type": "Constraint",
                            "odrl:leftOperand": {"@id": "cx-policy:Membership"},
                            "odrl:operator": {"@id": "odrl:eq"},
                            "odrl:rightOperand": "active"
                        },
                        {
                            "odrl:leftOperand": {"@id": "cx-policy:UsagePurpose"},
                            "odrl:operator": {"@id": "odrl:isAnyOf"},
                            "odrl:rightOperand": ["cx.pcf.base:1"]
                        }
                    ]
                }
            },
            "odrl:prohibition": [],
            "odrl:obligation": []
        }))
        .unwrap();
        assert_eq!(policy.kind, PolicyKind::Set);
        assert_eq!(
            policy.permissions,
            vec![rule(
                "use",
                vec![Constraint::Logical {
                    operator: LogicalOperator::And,
                    constraints: vec![
                        atomic("cx-policy:Membership", Operator::Eq, json!("active")),
                        atomic(
                            "cx-policy:UsagePurpose",
                            Operator::IsAnyOf,
                            json!(["cx.pcf.base:1"])
                        ),
                    ],
                }]
            )]
        );
        assert!(policy.prohibitions.is_empty() && policy.obligations.is_empty());
    }

    #[test]
    fn fully_expanded_json_ld() {
        let policy = Policy::from_json(&json!([{
            "@id": "urn:uuid:p",
            "@type": ["http://www.w3.org/ns/odrl/2/Offer"],
            "http://www.w3.org/ns/odrl/2/target": [{"@id": "urn:uuid:asset"}],
            "http://www.w3.org/ns/odrl/2/assigner": [{"@id": "did:web:provider"}],
            "http://www.w3.org/ns/odrl/2/permission": [{
                "http://www.w3.org/ns/odrl/2/action": [{"@id": "http://www.w3.org/ns/odrl/2/use"}],
                "http://www.w3.org/ns/odrl/2/constraint": [{
                    "http://www.w3.org/ns/odrl/2/leftOperand": [{"@id": "https://w3id.org/catenax/policy/FrameworkAgreement"}],
                    "http://www.w3.org/ns/odrl/2/operator": [{"@id": "http://www.w3.org/ns/odrl/2/eq"}],
                    "http://www.w3.org/ns/odrl/2/rightOperand": [{"@value": "DataExchangeGovernance:1.0"}]
                }],
                "http://www.w3.org/ns/odrl/2/duty": [{
                    "http://www.w3.org/ns/odrl/2/action": [{"@id": "http://www.w3.org/ns/odrl/2/delete"}]
                }]
            }]
        }]))
        .unwrap();
        assert_eq!(policy.kind, PolicyKind::Offer);
        assert_eq!(policy.uid.as_deref(), Some("urn:uuid:p"));
        assert_eq!(policy.target.as_deref(), Some("urn:uuid:asset"));
        assert_eq!(policy.assigner.as_deref(), Some("did:web:provider"));
        assert_eq!(
            policy.permissions,
            vec![Rule {
                action: "use".into(),
                constraints: vec![atomic(
                    "https://w3id.org/catenax/policy/FrameworkAgreement",
                    Operator::Eq,
                    json!([{"@value": "DataExchangeGovernance:1.0"}])
                )],
                duties: vec![rule("delete", vec![])],
            }]
        );
    }

    #[test]
    fn policy_types_in_every_spelling() {
        let cases = [
            (json!("Offer"), PolicyKind::Offer),
            (json!("odrl:Offer"), PolicyKind::Offer),
            (
                json!("http://www.w3.org/ns/odrl/2/Offer"),
                PolicyKind::Offer,
            ),
            (json!({"@id": "odrl:Agreement"}), PolicyKind::Agreement),
            (json!("Agreement"), PolicyKind::Agreement),
            (json!("Set"), PolicyKind::Set),
            (json!("Policy"), PolicyKind::Set),
            (json!("odrl:Policy"), PolicyKind::Set),
            (json!(["dcat:Something", "Offer"]), PolicyKind::Offer),
            (Value::Null, PolicyKind::Set),
        ];
        for (kind, expected) in cases {
            let policy = Policy::from_json(&json!({"@type": kind.clone()})).unwrap();
            assert_eq!(policy.kind, expected, "{kind}");
        }
        assert_eq!(Policy::from_json(&json!({})).unwrap().kind, PolicyKind::Set);
    }

    #[test]
    fn operators_in_every_spelling() {
        for operator in Operator::ALL {
            let name = operator.as_str();
            let spellings = [
                json!(name),
                json!(format!("odrl:{name}")),
                json!(format!("{ODRL}{name}")),
                json!({"@id": format!("odrl:{name}")}),
                json!({"@id": format!("{ODRL}{name}")}),
                json!(name.to_uppercase()),
            ];
            for spelling in spellings {
                let policy =
                    Policy::from_json(&json!({"permission": {"action": "use", "constraint": {
                        "leftOperand": "x", "operator": spelling.clone(), "rightOperand": "y"
                    }}}))
                    .unwrap();
                assert_eq!(
                    first_constraint(&policy),
                    &atomic("x", operator, json!("y")),
                    "{spelling}"
                );
            }
        }
    }

    #[test]
    fn actions_in_every_spelling() {
        let spellings = [
            json!("use"),
            json!("odrl:use"),
            json!("http://www.w3.org/ns/odrl/2/use"),
            json!({"@id": "odrl:use"}),
            json!({"@id": "http://www.w3.org/ns/odrl/2/use"}),
            json!([{"@id": "odrl:use"}]),
            json!({"rdf:value": {"@id": "odrl:use"}}),
        ];
        for spelling in spellings {
            let policy =
                Policy::from_json(&json!({"permission": {"action": spelling.clone()}})).unwrap();
            assert_eq!(policy.permissions, vec![rule("use", vec![])], "{spelling}");
        }
    }

    #[test]
    fn left_operands_are_kept_as_given() {
        for left in [
            json!("purpose"),
            json!("odrl:purpose"),
            json!({"@id": "https://w3id.org/tsunagu/policy/role"}),
        ] {
            let policy = Policy::from_json(&json!({"permission": {"action": "use", "constraint": {
                "leftOperand": left.clone(), "operator": "eq", "rightOperand": "x"
            }}}))
            .unwrap();
            let expected = name_of(&left).unwrap();
            assert_eq!(
                first_constraint(&policy),
                &atomic(expected, Operator::Eq, json!("x"))
            );
        }
    }

    #[test]
    fn right_operands_are_kept_verbatim() {
        for right in [
            json!("x"),
            json!(3),
            json!(2.5),
            json!(true),
            json!(["a", "b"]),
            json!({"@value": "2024-01-01T00:00:00Z", "@type": "xsd:dateTime"}),
        ] {
            let policy = Policy::from_json(&json!({"permission": {"action": "use", "constraint": {
                "leftOperand": "x", "operator": "eq", "rightOperand": right.clone()
            }}}))
            .unwrap();
            assert_eq!(first_constraint(&policy), &atomic("x", Operator::Eq, right));
        }
    }

    #[test]
    fn logical_constraints_in_short_and_long_form() {
        let child = json!({"leftOperand": "role", "operator": "eq", "rightOperand": "cellMaker"});
        for operator in LogicalOperator::ALL {
            let name = operator.as_str();
            let spellings = [
                json!({name: [child.clone()]}),
                json!({format!("odrl:{name}"): [child.clone()]}),
                json!({format!("{ODRL}{name}"): child.clone()}),
                json!({"operator": name, "constraint": [child.clone()]}),
                json!({"odrl:operator": {"@id": format!("odrl:{name}")}, "odrl:constraint": [child.clone()]}),
            ];
            for spelling in spellings {
                let policy = Policy::from_json(
                    &json!({"permission": {"action": "use", "constraint": spelling.clone()}}),
                )
                .unwrap();
                assert_eq!(
                    first_constraint(&policy),
                    &Constraint::Logical {
                        operator,
                        constraints: vec![atomic("role", Operator::Eq, json!("cellMaker"))],
                    },
                    "{spelling}"
                );
            }
        }
    }

    #[test]
    fn ids_as_strings_or_objects_and_null_as_absent() {
        let policy = Policy::from_json(&json!({
            "@type": "Agreement",
            "target": {"@id": "urn:asset"},
            "odrl:assigner": "did:web:p",
            "assignee": {"@id": "did:web:c"},
            "profile": null,
            "prohibition": null
        }))
        .unwrap();
        assert_eq!(policy.target.as_deref(), Some("urn:asset"));
        assert_eq!(policy.assigner.as_deref(), Some("did:web:p"));
        assert_eq!(policy.assignee.as_deref(), Some("did:web:c"));
        assert_eq!(policy.profile, None);
    }

    #[test]
    fn malformed_input_gives_errors_that_name_the_field() {
        let cases = [
            (
                json!("Offer"),
                "policy must be a JSON object, but it is a string",
            ),
            (
                json!({"@type": "PolicyDefinition"}),
                "policy.@type: unknown policy type \"PolicyDefinition\"; expected Set, Offer, Agreement or Policy",
            ),
            (
                json!({"permission": [{"constraint": []}]}),
                "policy.permission[0]: required field \"action\" is missing",
            ),
            (
                json!({"permission": [{"action": 7}]}),
                "policy.permission[0].action: expected an action name such as \"use\" or {\"@id\": \"odrl:use\"}, but it is a number",
            ),
            (
                json!({"permission": [{"action": {"rdf:value": {"@id": "odrl:use"}, "refinement": []}}]}),
                "policy.permission[0].action: an action refinement is not supported",
            ),
            (
                json!({"prohibition": ["use"]}),
                "policy.prohibition[0] must be a JSON object, but it is a string",
            ),
            (
                json!({"target": 5}),
                "policy.target: expected a string or {\"@id\": \"...\"}, but it is a number",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"leftOperand": "x", "operator": "hasPart", "rightOperand": "y"}}}),
                "policy.permission[0].constraint[0].operator: unknown operator \"hasPart\"; expected one of eq, neq, lt, lteq, gt, gteq, isA, isPartOf, isAllOf, isAnyOf, isNoneOf",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"leftOperand": "x", "rightOperand": "y"}}}),
                "policy.permission[0].constraint[0]: required field \"operator\" is missing",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"leftOperand": "x", "operator": "eq"}}}),
                "policy.permission[0].constraint[0]: required field \"rightOperand\" is missing",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"leftOperand": 3, "operator": "eq", "rightOperand": "y"}}}),
                "policy.permission[0].constraint[0].leftOperand: expected a left operand name such as \"purpose\", but it is a number",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"operator": "eq", "rightOperand": "y"}}}),
                "policy.permission[0].constraint[0]: required field \"leftOperand\" is missing",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"foo": "bar"}}}),
                "policy.permission[0].constraint[0]: not a constraint: expected leftOperand/operator/rightOperand, or one of and, or, xone, andSequence",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"and": [], "or": []}}}),
                "policy.permission[0].constraint[0]: a logical constraint must use exactly one of and, or, xone, andSequence, but it uses and, or",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"operator": "eq", "constraint": []}}}),
                "policy.permission[0].constraint[0].operator: unknown logical operator \"eq\"; expected and, or, xone or andSequence",
            ),
            (
                json!({"permission": {"action": "use", "constraint": {"or": [{"and": [{"leftOperand": "x", "operator": "near", "rightOperand": 1}]}]}}}),
                "policy.permission[0].constraint[0].or[0].and[0].operator: unknown operator \"near\"; expected one of eq, neq, lt, lteq, gt, gteq, isA, isPartOf, isAllOf, isAnyOf, isNoneOf",
            ),
            (
                json!({"permission": {"action": "use", "duty": {"action": "delete", "constraint": [5]}}}),
                "policy.permission[0].duty[0].constraint[0] must be a JSON object, but it is a number",
            ),
        ];
        for (input, expected) in cases {
            let error = Policy::from_json(&input).unwrap_err();
            assert_eq!(error.to_string(), expected, "{input}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_followed() {
        let mut constraint = json!({"leftOperand": "x", "operator": "eq", "rightOperand": "y"});
        for _ in 0..(MAX_DEPTH + 5) {
            constraint = json!({"and": [constraint]});
        }
        let error =
            Policy::from_json(&json!({"permission": {"action": "use", "constraint": constraint}}))
                .unwrap_err();
        assert!(matches!(error, PolicyError::TooDeep { .. }), "{error}");
    }

    #[test]
    fn local_names_strip_every_known_prefix() {
        for prefix in KNOWN_PREFIXES {
            assert_eq!(local_name(&format!("{prefix}role")), "role");
        }
        assert_eq!(local_name("urn:x:role"), "urn:x:role");
    }
}
