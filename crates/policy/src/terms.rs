//! Comparing the terms of two policies.
//!
//! A provider must check that the offer a consumer sends back is the one it offered, and
//! a consumer that the agreement it receives is the one it asked for. Ids, parties and
//! the order of lists change on the way (JSON-LD lists of rules are unordered sets), so
//! we compare a canonical form that keeps only what decides the outcome.

use serde_json::{Value, json};

use crate::eval::right_values;
use crate::model::{Constraint, LogicalOperator, Policy, Rule};
use crate::parse::local_name;

pub(crate) fn same_terms(a: &Policy, b: &Policy) -> bool {
    canonical_rules(&a.permissions) == canonical_rules(&b.permissions)
        && canonical_rules(&a.prohibitions) == canonical_rules(&b.prohibitions)
        && canonical_rules(&a.obligations) == canonical_rules(&b.obligations)
}

/// Rules as a sorted list of canonical strings, which compares like a multiset.
fn canonical_rules(rules: &[Rule]) -> Vec<String> {
    let mut out: Vec<String> = rules
        .iter()
        .map(|rule| canonical_rule(rule).to_string())
        .collect();
    out.sort();
    out
}

fn canonical_rule(rule: &Rule) -> Value {
    json!({
        "action": local_name(&rule.action),
        "constraint": canonical_constraints(&rule.constraints, true),
        "duty": canonical_rules(&rule.duties),
    })
}

fn canonical_constraints(constraints: &[Constraint], unordered: bool) -> Vec<String> {
    let mut out: Vec<String> = constraints
        .iter()
        .map(|constraint| canonical_constraint(constraint).to_string())
        .collect();
    if unordered {
        out.sort();
    }
    out
}

fn canonical_constraint(constraint: &Constraint) -> Value {
    match constraint {
        Constraint::Atomic {
            left_operand,
            operator,
            right_operand,
        } => {
            // Right operands compare by their unwrapped values, in any order, so that
            // `"x"`, `{"@value": "x"}` and `["x"]` are the same term; a right operand
            // that has no plain values compares verbatim.
            let right = match right_values(right_operand) {
                Some(mut values) => {
                    values.sort();
                    json!(values)
                }
                None => json!({"verbatim": right_operand}),
            };
            json!({
                "left": local_name(left_operand),
                "operator": operator.as_str(),
                "right": right,
            })
        }
        Constraint::Logical {
            operator,
            constraints,
        } => json!({
            operator.as_str(): canonical_constraints(
                constraints,
                *operator != LogicalOperator::AndSequence,
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::model::{Policy, PolicyKind};

    fn policy(value: serde_json::Value) -> Policy {
        Policy::from_json(&value).unwrap()
    }

    fn membership() -> serde_json::Value {
        json!({"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"})
    }

    fn purpose() -> serde_json::Value {
        json!({"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["cfp", "pcf"]})
    }

    #[test]
    fn ignores_ids_parties_kind_and_order() {
        let offer = policy(json!({
            "@type": "Offer",
            "@id": "urn:offer",
            "target": "urn:asset",
            "permission": [
                {"action": "use", "constraint": [membership(), purpose()], "duty": [{"action": "delete"}, {"action": "inform"}]},
                {"action": "read"}
            ],
            "prohibition": [{"action": "distribute"}]
        }));
        let mut agreement = policy(json!({
            "@type": "odrl:Agreement",
            "@id": "urn:agreement",
            "target": "urn:other",
            "assigner": "did:web:p",
            "assignee": "did:web:c",
            "profile": "https://example.com/profile",
            "odrl:permission": [
                {"odrl:action": {"@id": "odrl:read"}},
                {"action": "use", "constraint": [
                    {"leftOperand": "odrl:purpose", "operator": {"@id": "odrl:isAnyOf"}, "rightOperand": ["pcf", "cfp"]},
                    {"leftOperand": "cx-policy:Membership", "operator": "eq", "rightOperand": {"@value": "active"}}
                ], "duty": [{"action": "inform"}, {"action": "delete"}]}
            ],
            "prohibition": {"action": "distribute"}
        }));
        assert!(offer.same_terms(&agreement));
        assert!(agreement.same_terms(&offer));
        assert_eq!(agreement.kind, PolicyKind::Agreement);

        agreement.prohibitions.clear();
        assert!(!offer.same_terms(&agreement));
    }

    #[test]
    fn notices_every_difference_that_matters() {
        let base = json!({"permission": [{"action": "use", "constraint": [membership()]}]});
        let different = [
            json!({"permission": [{"action": "read", "constraint": [membership()]}]}),
            json!({"permission": [{"action": "use", "constraint": [{"leftOperand": "Membership", "operator": "neq", "rightOperand": "active"}]}]}),
            json!({"permission": [{"action": "use", "constraint": [{"leftOperand": "Membership", "operator": "eq", "rightOperand": "inactive"}]}]}),
            json!({"permission": [{"action": "use", "constraint": [{"leftOperand": "role", "operator": "eq", "rightOperand": "active"}]}]}),
            json!({"permission": [{"action": "use", "constraint": [membership(), purpose()]}]}),
            json!({"permission": [{"action": "use", "constraint": [membership()]}, {"action": "use"}]}),
            json!({"permission": [{"action": "use", "constraint": [{"or": [membership()]}]}]}),
            json!({"permission": [{"action": "use", "constraint": [membership()], "duty": {"action": "delete"}}]}),
            json!({"permission": [{"action": "use", "constraint": [membership()]}], "obligation": {"action": "delete"}}),
            json!({"permission": [{"action": "use", "constraint": [membership()]}], "prohibition": {"action": "use"}}),
        ];
        let base = policy(base);
        for other in different {
            assert!(!base.same_terms(&policy(other.clone())), "{other}");
        }
    }

    #[test]
    fn and_sequence_order_matters_but_and_order_does_not() {
        let with = |operator: &str, first: serde_json::Value, second: serde_json::Value| {
            policy(
                json!({"permission": {"action": "use", "constraint": {operator: [first, second]}}}),
            )
        };
        assert!(with("and", membership(), purpose()).same_terms(&with(
            "and",
            purpose(),
            membership()
        )));
        assert!(with("or", membership(), purpose()).same_terms(&with(
            "or",
            purpose(),
            membership()
        )));
        assert!(
            !with("andSequence", membership(), purpose()).same_terms(&with(
                "andSequence",
                purpose(),
                membership()
            ))
        );
        assert!(
            with("andSequence", membership(), purpose()).same_terms(&with(
                "andSequence",
                membership(),
                purpose()
            ))
        );
        assert!(!with("and", membership(), purpose()).same_terms(&with(
            "or",
            membership(),
            purpose()
        )));
    }
}
