//! The policy model and its canonical (compact DSP 2025-1) JSON form.

use serde_json::{Map, Value};

use crate::error::PolicyError;
use crate::eval::{Decision, EvaluationContext};

/// The ODRL policy subclass. `odrl:Policy` itself is read as [`PolicyKind::Set`], which is
/// what ODRL says a policy without a more specific type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    Set,
    Offer,
    Agreement,
}

impl PolicyKind {
    /// The compact `@type` value, as DSP 2025-1 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Set => "Set",
            PolicyKind::Offer => "Offer",
            PolicyKind::Agreement => "Agreement",
        }
    }
}

/// An ODRL 2.2 policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyKind,
    /// The policy's `@id`.
    pub uid: Option<String>,
    pub target: Option<String>,
    pub assigner: Option<String>,
    pub assignee: Option<String>,
    /// Kept verbatim, because a profile may be a string or a list and we do not interpret it.
    pub profile: Option<Value>,
    pub permissions: Vec<Rule>,
    pub prohibitions: Vec<Rule>,
    /// Policy-level duties (ODRL `obligation`).
    pub obligations: Vec<Rule>,
}

/// A permission, prohibition or duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The action's local name, for example `use`.
    pub action: String,
    pub constraints: Vec<Constraint>,
    /// The duties of a permission (ODRL `duty`).
    pub duties: Vec<Rule>,
}

/// An ODRL constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    Atomic {
        /// As given in the source (prefix and all), so that [`Policy::to_json`] gives back
        /// what was received; evaluation strips known prefixes itself.
        left_operand: String,
        operator: Operator,
        /// Verbatim, including any `{"@value": ..., "@type": ...}` wrapper, for the same reason.
        right_operand: Value,
    },
    Logical {
        operator: LogicalOperator,
        constraints: Vec<Constraint>,
    },
}

/// The ODRL 2.2 comparison operators that tsunagu evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Neq,
    Lt,
    Lteq,
    Gt,
    Gteq,
    IsA,
    IsPartOf,
    IsAllOf,
    IsAnyOf,
    IsNoneOf,
}

impl Operator {
    /// Every operator, so that parsing and tests enumerate the same list.
    pub(crate) const ALL: [Operator; 11] = [
        Operator::Eq,
        Operator::Neq,
        Operator::Lt,
        Operator::Lteq,
        Operator::Gt,
        Operator::Gteq,
        Operator::IsA,
        Operator::IsPartOf,
        Operator::IsAllOf,
        Operator::IsAnyOf,
        Operator::IsNoneOf,
    ];

    /// The ODRL local name, for example `isAnyOf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::Lt => "lt",
            Operator::Lteq => "lteq",
            Operator::Gt => "gt",
            Operator::Gteq => "gteq",
            Operator::IsA => "isA",
            Operator::IsPartOf => "isPartOf",
            Operator::IsAllOf => "isAllOf",
            Operator::IsAnyOf => "isAnyOf",
            Operator::IsNoneOf => "isNoneOf",
        }
    }
}

/// The ODRL 2.2 logical constraint operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalOperator {
    And,
    Or,
    Xone,
    AndSequence,
}

impl LogicalOperator {
    /// Every logical operator, so that parsing and tests enumerate the same list.
    pub(crate) const ALL: [LogicalOperator; 4] = [
        LogicalOperator::And,
        LogicalOperator::Or,
        LogicalOperator::Xone,
        LogicalOperator::AndSequence,
    ];

    /// The ODRL local name, which is also the key of the compact logical constraint.
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalOperator::And => "and",
            LogicalOperator::Or => "or",
            LogicalOperator::Xone => "xone",
            LogicalOperator::AndSequence => "andSequence",
        }
    }
}

impl Policy {
    /// Reads a policy in any of the spellings described in the crate documentation:
    /// compact, `odrl:`-prefixed or fully expanded keys, single objects in place of lists,
    /// and values wrapped in `{"@id": ...}` or `{"@value": ...}`.
    pub fn from_json(value: &Value) -> Result<Policy, PolicyError> {
        crate::parse::policy(value)
    }

    /// Compact DSP 2025-1 JSON form (no `@context`): `@type`, `@id`, `target`, `assigner`,
    /// `assignee`, `profile`, `permission`, `prohibition`, `obligation`, leaving out absent
    /// fields and empty lists.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("@type".into(), Value::from(self.kind.as_str()));
        let strings = [
            ("@id", &self.uid),
            ("target", &self.target),
            ("assigner", &self.assigner),
            ("assignee", &self.assignee),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                out.insert(key.into(), Value::from(value.as_str()));
            }
        }
        if let Some(profile) = &self.profile {
            out.insert("profile".into(), profile.clone());
        }
        insert_rules(&mut out, "permission", &self.permissions);
        insert_rules(&mut out, "prohibition", &self.prohibitions);
        insert_rules(&mut out, "obligation", &self.obligations);
        Value::Object(out)
    }

    /// Decides whether the request described by `ctx` is allowed. A denial is a
    /// [`Decision::Deny`] carrying the reasons, never an error.
    pub fn evaluate(&self, ctx: &EvaluationContext) -> Decision {
        crate::eval::evaluate(self, ctx)
    }

    /// True when both policies grant, forbid and oblige the same rules with the same
    /// constraints. Ignored: `uid`, `target`, `assigner`, `assignee`, `kind`, `profile`,
    /// the order of rules, constraints and duties in their lists, the order of values in
    /// a list-valued right operand, and which known prefix a left operand was written with.
    /// The order inside an `andSequence` does matter, because it is part of its meaning.
    pub fn same_terms(&self, other: &Policy) -> bool {
        crate::terms::same_terms(self, other)
    }
}

impl Rule {
    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("action".into(), Value::from(self.action.as_str()));
        if !self.constraints.is_empty() {
            let constraints = self.constraints.iter().map(Constraint::to_json).collect();
            out.insert("constraint".into(), Value::Array(constraints));
        }
        insert_rules(&mut out, "duty", &self.duties);
        Value::Object(out)
    }
}

impl Constraint {
    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        match self {
            Constraint::Atomic {
                left_operand,
                operator,
                right_operand,
            } => {
                out.insert("leftOperand".into(), Value::from(left_operand.as_str()));
                out.insert("operator".into(), Value::from(operator.as_str()));
                out.insert("rightOperand".into(), right_operand.clone());
            }
            Constraint::Logical {
                operator,
                constraints,
            } => {
                let children = constraints.iter().map(Constraint::to_json).collect();
                out.insert(operator.as_str().into(), Value::Array(children));
            }
        }
        Value::Object(out)
    }
}

/// Adds `rules` under `key` unless the list is empty, because DSP 2025-1's schema demands
/// at least one item in each rule list that is present.
fn insert_rules(out: &mut Map<String, Value>, key: &str, rules: &[Rule]) {
    if !rules.is_empty() {
        out.insert(
            key.into(),
            Value::Array(rules.iter().map(Rule::to_json).collect()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn to_json_omits_absent_fields_and_empty_lists() {
        let policy = Policy {
            kind: PolicyKind::Offer,
            uid: None,
            target: None,
            assigner: None,
            assignee: None,
            profile: None,
            permissions: vec![Rule {
                action: "use".into(),
                constraints: vec![],
                duties: vec![],
            }],
            prohibitions: vec![],
            obligations: vec![],
        };
        assert_eq!(
            policy.to_json(),
            json!({"@type": "Offer", "permission": [{"action": "use"}]})
        );
    }

    #[test]
    fn to_json_writes_every_field_in_compact_form() {
        let policy = Policy {
            kind: PolicyKind::Agreement,
            uid: Some("urn:uuid:1".into()),
            target: Some("urn:uuid:asset".into()),
            assigner: Some("did:web:provider".into()),
            assignee: Some("did:web:consumer".into()),
            profile: Some(json!(["https://example.com/profile"])),
            permissions: vec![Rule {
                action: "use".into(),
                constraints: vec![Constraint::Logical {
                    operator: LogicalOperator::Or,
                    constraints: vec![Constraint::Atomic {
                        left_operand: "odrl:purpose".into(),
                        operator: Operator::IsAnyOf,
                        right_operand: json!(["cfp", "pcf"]),
                    }],
                }],
                duties: vec![Rule {
                    action: "delete".into(),
                    constraints: vec![],
                    duties: vec![],
                }],
            }],
            prohibitions: vec![Rule {
                action: "distribute".into(),
                constraints: vec![],
                duties: vec![],
            }],
            obligations: vec![Rule {
                action: "compensate".into(),
                constraints: vec![],
                duties: vec![],
            }],
        };
        assert_eq!(
            policy.to_json(),
            json!({
                "@type": "Agreement",
                "@id": "urn:uuid:1",
                "target": "urn:uuid:asset",
                "assigner": "did:web:provider",
                "assignee": "did:web:consumer",
                "profile": ["https://example.com/profile"],
                "permission": [{
                    "action": "use",
                    "constraint": [{"or": [{
                        "leftOperand": "odrl:purpose",
                        "operator": "isAnyOf",
                        "rightOperand": ["cfp", "pcf"]
                    }]}],
                    "duty": [{"action": "delete"}]
                }],
                "prohibition": [{"action": "distribute"}],
                "obligation": [{"action": "compensate"}]
            })
        );
    }

    #[test]
    fn from_json_of_to_json_gives_back_the_policy() {
        let atomic = |left: &str, operator, right: Value| Constraint::Atomic {
            left_operand: left.into(),
            operator,
            right_operand: right,
        };
        let rule = |action: &str, constraints: Vec<Constraint>, duties: Vec<Rule>| Rule {
            action: action.into(),
            constraints,
            duties,
        };
        let empty = Policy {
            kind: PolicyKind::Set,
            uid: None,
            target: None,
            assigner: None,
            assignee: None,
            profile: None,
            permissions: vec![],
            prohibitions: vec![],
            obligations: vec![],
        };
        let every_operator = Operator::ALL
            .into_iter()
            .map(|operator| atomic("role", operator, json!("cellMaker")))
            .collect();
        let every_logical = LogicalOperator::ALL
            .into_iter()
            .map(|operator| Constraint::Logical {
                operator,
                constraints: vec![
                    atomic("count", Operator::Lteq, json!(10)),
                    Constraint::Logical {
                        operator: LogicalOperator::Or,
                        constraints: vec![],
                    },
                ],
            })
            .collect();
        let policies = [
            empty.clone(),
            Policy {
                kind: PolicyKind::Offer,
                uid: Some("urn:uuid:offer".into()),
                permissions: vec![rule("use", every_operator, vec![])],
                ..empty.clone()
            },
            Policy {
                kind: PolicyKind::Agreement,
                uid: Some("urn:uuid:agreement".into()),
                target: Some("urn:uuid:asset".into()),
                assigner: Some("did:web:provider".into()),
                assignee: Some("did:web:consumer".into()),
                profile: Some(json!("https://w3id.org/tsunagu/policy/profile")),
                permissions: vec![
                    rule("use", every_logical, vec![rule("delete", vec![], vec![])]),
                    rule(
                        "read",
                        vec![
                            atomic(
                                "odrl:dateTime",
                                Operator::Lt,
                                json!({"@value": "2027-01-01", "@type": "xsd:date"}),
                            ),
                            atomic(
                                "https://w3id.org/catenax/policy/UsagePurpose",
                                Operator::IsAnyOf,
                                json!(["cx.pcf.base:1", 2, true]),
                            ),
                        ],
                        vec![],
                    ),
                ],
                prohibitions: vec![rule(
                    "distribute",
                    vec![atomic("country", Operator::IsNoneOf, json!(["JP"]))],
                    vec![],
                )],
                obligations: vec![rule(
                    "compensate",
                    vec![atomic("elapsedTime", Operator::Gt, json!("P30D"))],
                    vec![],
                )],
            },
        ];
        for policy in policies {
            assert_eq!(Policy::from_json(&policy.to_json()), Ok(policy.clone()));
        }
    }
}
