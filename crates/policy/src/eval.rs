//! Evaluating a policy against one request.
//!
//! The rules, in short: a request is permitted when some permission for its action has
//! all constraints satisfied and no prohibition for its action has all constraints
//! satisfied. Everything the evaluation needs is in [`EvaluationContext`]; a constraint
//! that cannot be decided (a missing attribute, an unparsable date) counts as not
//! satisfied and says why.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;

use crate::model::{Constraint, LogicalOperator, Operator, Policy, Rule};
use crate::parse::{MAX_DEPTH, local_name};
use crate::xsd::{format_duration, parse_date_time, parse_duration};

/// Everything about a request that a policy may ask about. The caller fills it in,
/// including the clock, so that evaluation is pure and reproducible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationContext {
    pub now: DateTime<Utc>,
    /// The requested action, usually `use`.
    pub action: String,
    pub counter_party_id: String,
    /// Verified facts about the counter-party, for example `"role" -> ["cellMaker"]`,
    /// `"membership" -> ["active"]`, `"country" -> ["JP"]`.
    pub counter_party_attributes: BTreeMap<String, Vec<String>>,
    pub purpose: Option<String>,
    /// When the agreement was signed, for `elapsedTime`; `None` before an agreement exists.
    pub agreement_signed_at: Option<DateTime<Utc>>,
    /// Uses already made under the agreement, for `count`; `None` before an agreement exists.
    pub use_count: Option<u64>,
}

/// The outcome of an evaluation. A denial is an ordinary outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed. `duties` are the matched permission's duties followed by the policy's
    /// obligations; they are handed on to be recorded, not checked here.
    Permit { duties: Vec<Rule> },
    /// Not allowed, with one sentence per failed constraint or applying prohibition.
    Deny { reasons: Vec<String> },
}

impl Decision {
    pub fn is_permit(&self) -> bool {
        matches!(self, Decision::Permit { .. })
    }
}

/// Why a constraint is not satisfied: one sentence per failure.
type Reasons = Vec<String>;

pub(crate) fn evaluate(policy: &Policy, ctx: &EvaluationContext) -> Decision {
    if policy.permissions.is_empty() {
        return Decision::Deny {
            reasons: vec!["policy grants no permission".to_owned()],
        };
    }
    let action = local_name(&ctx.action);
    let mut reasons = Vec::new();
    let mut any_for_action = false;
    let mut granted = None;
    for permission in &policy.permissions {
        if !action_matches(&permission.action, action) {
            continue;
        }
        any_for_action = true;
        match all_satisfied(&permission.constraints, ctx, 0) {
            Ok(()) => {
                granted = Some(permission);
                break;
            }
            Err(failed) => reasons.extend(failed),
        }
    }
    let Some(permission) = granted else {
        if !any_for_action {
            reasons.push(format!(
                "policy grants no permission for the action {action:?}"
            ));
        }
        return Decision::Deny { reasons };
    };

    let prohibited: Reasons = policy
        .prohibitions
        .iter()
        .filter(|prohibition| action_matches(&prohibition.action, action))
        .filter(|prohibition| all_satisfied(&prohibition.constraints, ctx, 0).is_ok())
        .map(|prohibition| prohibition_reason(prohibition, action))
        .collect();
    if !prohibited.is_empty() {
        return Decision::Deny {
            reasons: prohibited,
        };
    }

    let mut duties = permission.duties.clone();
    duties.extend(policy.obligations.iter().cloned());
    Decision::Permit { duties }
}

/// A rule for `use` covers every action, as ODRL's action hierarchy puts `use` at the top;
/// otherwise the local names must be equal.
fn action_matches(rule_action: &str, requested: &str) -> bool {
    let rule_action = local_name(rule_action);
    rule_action == "use" || rule_action == requested
}

fn prohibition_reason(prohibition: &Rule, action: &str) -> String {
    if prohibition.constraints.is_empty() {
        format!(
            "a prohibition of {:?} forbids the action {action:?}",
            prohibition.action
        )
    } else {
        let conditions: Vec<String> = prohibition.constraints.iter().map(describe).collect();
        format!(
            "a prohibition of {:?} forbids the action {action:?} because its constraints are satisfied: {}",
            prohibition.action,
            conditions.join(", ")
        )
    }
}

/// Checks every constraint (all of them, so that the reasons are complete).
fn all_satisfied(
    constraints: &[Constraint],
    ctx: &EvaluationContext,
    depth: usize,
) -> Result<(), Reasons> {
    let reasons: Reasons = constraints
        .iter()
        .filter_map(|constraint| check(constraint, ctx, depth).err())
        .flatten()
        .collect();
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

fn check(constraint: &Constraint, ctx: &EvaluationContext, depth: usize) -> Result<(), Reasons> {
    // A policy built in code (not through from_json) may nest arbitrarily; stopping here
    // keeps the promise never to overflow the stack.
    if depth > MAX_DEPTH {
        return Err(vec![format!(
            "constraint nested deeper than {MAX_DEPTH} levels is not evaluated"
        )]);
    }
    match constraint {
        Constraint::Atomic {
            left_operand,
            operator,
            right_operand,
        } => {
            check_atomic(left_operand, *operator, right_operand, ctx).map_err(|reason| vec![reason])
        }
        Constraint::Logical {
            operator,
            constraints,
        } => check_logical(*operator, constraints, ctx, depth + 1),
    }
}

fn check_logical(
    operator: LogicalOperator,
    constraints: &[Constraint],
    ctx: &EvaluationContext,
    depth: usize,
) -> Result<(), Reasons> {
    match operator {
        LogicalOperator::And => all_satisfied(constraints, ctx, depth),
        LogicalOperator::AndSequence => {
            for (index, constraint) in constraints.iter().enumerate() {
                if let Err(mut reasons) = check(constraint, ctx, depth) {
                    let skipped = constraints.len() - index - 1;
                    if skipped > 0 {
                        reasons.push(format!(
                            "the andSequence stopped there, leaving {skipped} later constraint(s) unevaluated"
                        ));
                    }
                    return Err(reasons);
                }
            }
            Ok(())
        }
        LogicalOperator::Or | LogicalOperator::Xone => {
            let mut satisfied = Vec::new();
            let mut failures = Vec::new();
            for constraint in constraints {
                match check(constraint, ctx, depth) {
                    Ok(()) => satisfied.push(describe(constraint)),
                    Err(reasons) => failures.extend(reasons),
                }
            }
            let name = operator.as_str();
            match satisfied.len() {
                0 if failures.is_empty() => Err(vec![format!(
                    "an empty {name:?} constraint is never satisfied"
                )]),
                0 => Err(vec![format!(
                    "no alternative of an {name:?} constraint is satisfied ({})",
                    failures.join("; ")
                )]),
                1 => Ok(()),
                _ if operator == LogicalOperator::Or => Ok(()),
                count => Err(vec![format!(
                    "an \"xone\" constraint needs exactly one satisfied alternative, but {count} are: {}",
                    satisfied.join(", ")
                )]),
            }
        }
    }
}

/// Which part of the request a left operand refers to.
enum Subject {
    Now,
    Elapsed,
    Count,
    Purpose,
    CounterParty,
    Attribute(String),
}

impl Subject {
    fn of(left_operand: &str) -> Subject {
        match left_operand {
            "dateTime" => Subject::Now,
            "elapsedTime" => Subject::Elapsed,
            "count" => Subject::Count,
            "purpose" | "UsagePurpose" => Subject::Purpose,
            "participantId" | "BusinessPartnerNumber" | "counterPartyId" => Subject::CounterParty,
            other => Subject::Attribute(other.to_owned()),
        }
    }

    /// Whether right operands for this subject are written bare in reasons (dates,
    /// durations and counts read better unquoted).
    fn bare_right_operand(&self) -> bool {
        matches!(self, Subject::Now | Subject::Elapsed | Subject::Count)
    }
}

/// A value ready for comparison.
#[derive(Debug, Clone)]
enum Typed {
    Instant(DateTime<Utc>),
    Span(TimeDelta),
    Number(f64),
    Text(String),
}

/// The request's side of a constraint: the values to compare and a sentence saying what
/// they are, for the deny reason.
struct Left {
    values: Vec<Typed>,
    fact: String,
}

fn check_atomic(
    left_operand: &str,
    operator: Operator,
    right_operand: &Value,
    ctx: &EvaluationContext,
) -> Result<(), String> {
    let name = local_name(left_operand);
    let subject = Subject::of(name);
    let rights = right_values(right_operand);
    let heading = format!(
        "constraint {name} {} {}",
        operator.as_str(),
        show_right(
            right_operand,
            rights.as_deref(),
            subject.bare_right_operand()
        )
    );
    let not_satisfied = |why: String| format!("{heading} not satisfied: {why}");

    let rights = match rights {
        Some(rights) if !rights.is_empty() => rights,
        _ => {
            return Err(not_satisfied(
                "its rightOperand has no usable value".to_owned(),
            ));
        }
    };
    let left = resolve(&subject, left_operand, ctx).map_err(&not_satisfied)?;
    let rights = rights
        .iter()
        .map(|right| typed_right(&subject, right))
        .collect::<Result<Vec<_>, _>>()
        .map_err(&not_satisfied)?;
    match compare(operator, &left.values, &rights) {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_satisfied(left.fact)),
        Err(why) => Err(not_satisfied(why)),
    }
}

/// Reads what the request says about the left operand.
fn resolve(subject: &Subject, raw_name: &str, ctx: &EvaluationContext) -> Result<Left, String> {
    let left = match subject {
        Subject::Now => Left {
            values: vec![Typed::Instant(ctx.now)],
            fact: format!("now is {}", show_instant(ctx.now)),
        },
        Subject::Elapsed => match ctx.agreement_signed_at {
            Some(signed) => {
                let elapsed = ctx.now.signed_duration_since(signed);
                Left {
                    values: vec![Typed::Span(elapsed)],
                    fact: format!("the agreement was signed {} ago", format_duration(elapsed)),
                }
            }
            None => Left {
                values: vec![Typed::Span(TimeDelta::zero())],
                fact: "there is no agreement yet, so the elapsed time is PT0S".to_owned(),
            },
        },
        Subject::Count => {
            // The use about to happen is counted, so a limit of 5 allows the fifth use.
            let next = ctx.use_count.map_or(1, |count| count.saturating_add(1));
            Left {
                values: vec![Typed::Number(next as f64)],
                fact: format!("this would be use number {next}"),
            }
        }
        Subject::Purpose => match &ctx.purpose {
            Some(purpose) => Left {
                values: vec![Typed::Text(purpose.clone())],
                fact: format!("the request's purpose is {purpose:?}"),
            },
            None => return Err("the request states no purpose".to_owned()),
        },
        Subject::CounterParty => Left {
            values: vec![Typed::Text(ctx.counter_party_id.clone())],
            fact: format!("the counter-party is {:?}", ctx.counter_party_id),
        },
        Subject::Attribute(name) => {
            let values = ctx
                .counter_party_attributes
                .get(name)
                .or_else(|| ctx.counter_party_attributes.get(raw_name.trim()))
                .filter(|values| !values.is_empty())
                .ok_or_else(|| format!("counter-party has no attribute {name:?}"))?;
            let fact = match values.as_slice() {
                [one] => format!("the counter-party's {name} is {one:?}"),
                many => format!(
                    "the counter-party's {name} values are {}",
                    many.iter()
                        .map(|value| format!("{value:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Left {
                values: values.iter().cloned().map(Typed::Text).collect(),
                fact,
            }
        }
    };
    Ok(left)
}

/// Reads one right-operand value in the type its left operand calls for.
fn typed_right(subject: &Subject, right: &str) -> Result<Typed, String> {
    match subject {
        Subject::Now => parse_date_time(right)
            .map(Typed::Instant)
            .ok_or_else(|| format!("rightOperand {right:?} is not an xsd:dateTime")),
        Subject::Elapsed => parse_duration(right)
            .map(Typed::Span)
            .ok_or_else(|| format!("rightOperand {right:?} is not an xsd:duration")),
        Subject::Count => number(right)
            .map(Typed::Number)
            .ok_or_else(|| format!("rightOperand {right:?} is not a number")),
        _ => Ok(Typed::Text(right.to_owned())),
    }
}

/// Applies `operator`. Multi-valued left sides (attributes) follow the rules in the crate
/// documentation: eq and the orderings hold when any value does; neq when none is equal.
fn compare(operator: Operator, lefts: &[Typed], rights: &[Typed]) -> Result<bool, String> {
    let contains =
        |values: &[Typed], wanted: &Typed| values.iter().any(|value| equal(value, wanted));
    let outcome = match operator {
        Operator::Eq | Operator::IsA | Operator::IsAnyOf => {
            rights.iter().any(|right| contains(lefts, right))
        }
        Operator::Neq | Operator::IsNoneOf => !rights.iter().any(|right| contains(lefts, right)),
        Operator::IsPartOf => lefts.iter().all(|left| contains(rights, left)),
        Operator::IsAllOf => rights.iter().all(|right| contains(lefts, right)),
        Operator::Lt | Operator::Lteq | Operator::Gt | Operator::Gteq => {
            let [right] = rights else {
                return Err(format!(
                    "{} needs exactly one rightOperand value, but there are {}",
                    operator.as_str(),
                    rights.len()
                ));
            };
            let mut unorderable = None;
            let mut any = false;
            for left in lefts {
                match order(left, right) {
                    Some(ordering) => any |= ordering_satisfies(operator, ordering),
                    None => unorderable = Some(left),
                }
            }
            match unorderable {
                Some(left) if !any => {
                    return Err(format!(
                        "{} and {} cannot be ordered: {} needs numbers, dates or durations on both sides",
                        show_typed(left),
                        show_typed(right),
                        operator.as_str()
                    ));
                }
                _ => any,
            }
        }
    };
    Ok(outcome)
}

fn ordering_satisfies(operator: Operator, ordering: Ordering) -> bool {
    match operator {
        Operator::Lt => ordering == Ordering::Less,
        Operator::Lteq => ordering != Ordering::Greater,
        Operator::Gt => ordering == Ordering::Greater,
        Operator::Gteq => ordering != Ordering::Less,
        _ => false,
    }
}

fn equal(a: &Typed, b: &Typed) -> bool {
    match (a, b) {
        (Typed::Text(a), Typed::Text(b)) if a == b => true,
        _ => order(a, b) == Some(Ordering::Equal),
    }
}

/// Orders two values of the same kind. Texts are ordered as numbers when both read as
/// numbers (so `"1.0"` equals `1`), then as dateTimes, and otherwise not at all, because
/// a lexical order of, say, country codes would be an accident rather than a policy.
fn order(a: &Typed, b: &Typed) -> Option<Ordering> {
    match (a, b) {
        (Typed::Instant(a), Typed::Instant(b)) => Some(a.cmp(b)),
        (Typed::Span(a), Typed::Span(b)) => Some(a.cmp(b)),
        (Typed::Number(a), Typed::Number(b)) => a.partial_cmp(b),
        (Typed::Text(a), Typed::Text(b)) => {
            if let (Some(a), Some(b)) = (number(a), number(b)) {
                a.partial_cmp(&b)
            } else if let (Some(a), Some(b)) = (parse_date_time(a), parse_date_time(b)) {
                Some(a.cmp(&b))
            } else {
                None
            }
        }
        (Typed::Number(a), Typed::Text(b)) => number(b).and_then(|b| a.partial_cmp(&b)),
        (Typed::Text(a), Typed::Number(b)) => number(a).and_then(|a| a.partial_cmp(b)),
        _ => None,
    }
}

/// A finite number written as text, or none.
fn number(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

/// The scalar values of a right operand with JSON-LD wrappers removed: `{"@value": x}`
/// and `{"@id": x}` give `x`, lists are flattened. `None` when some part has no value.
pub(crate) fn right_values(value: &Value) -> Option<Vec<String>> {
    fn collect(value: &Value, out: &mut Vec<String>, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match value {
            Value::String(text) => out.push(text.clone()),
            Value::Number(number) => out.push(number.to_string()),
            Value::Bool(flag) => out.push(flag.to_string()),
            Value::Array(items) => {
                for item in items {
                    collect(item, out, depth + 1)?;
                }
            }
            Value::Object(object) => {
                let inner = ["@value", "@list", "@set"]
                    .iter()
                    .find_map(|key| object.get(*key));
                match (inner, object.get("@id")) {
                    (Some(inner), _) => collect(inner, out, depth + 1)?,
                    (None, Some(Value::String(id))) => out.push(id.clone()),
                    _ => return None,
                }
            }
            Value::Null => return None,
        }
        Some(())
    }
    let mut out = Vec::new();
    collect(value, &mut out, 0)?;
    Some(out)
}

/// A right operand as it appears in a reason: dates, durations and counts bare, other
/// text quoted, several values in brackets.
fn show_right(raw: &Value, values: Option<&[String]>, bare: bool) -> String {
    let show = |text: &String| {
        if bare || number(text).is_some() {
            text.clone()
        } else {
            format!("{text:?}")
        }
    };
    match values {
        Some([one]) if !raw.is_array() => show(one),
        Some(values) => format!(
            "[{}]",
            values.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        None => raw.to_string(),
    }
}

fn show_typed(value: &Typed) -> String {
    match value {
        Typed::Instant(instant) => show_instant(*instant),
        Typed::Span(span) => format_duration(*span),
        Typed::Number(number) => number.to_string(),
        Typed::Text(text) => format!("{text:?}"),
    }
}

fn show_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A constraint in one line, for reasons that list constraints rather than failures.
fn describe(constraint: &Constraint) -> String {
    describe_at(constraint, 0)
}

fn describe_at(constraint: &Constraint, depth: usize) -> String {
    match constraint {
        Constraint::Atomic {
            left_operand,
            operator,
            right_operand,
        } => {
            let name = local_name(left_operand);
            let bare = Subject::of(name).bare_right_operand();
            let rights = right_values(right_operand);
            format!(
                "{name} {} {}",
                operator.as_str(),
                show_right(right_operand, rights.as_deref(), bare)
            )
        }
        Constraint::Logical { operator, .. } if depth > MAX_DEPTH => {
            format!("{}(...)", operator.as_str())
        }
        Constraint::Logical {
            operator,
            constraints,
        } => format!(
            "{}({})",
            operator.as_str(),
            constraints
                .iter()
                .map(|constraint| describe_at(constraint, depth + 1))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A consumer from the battery supply chain, asking to use data for a CFP calculation.
    fn ctx() -> EvaluationContext {
        let attributes = [
            ("role", vec!["cellMaker", "recycler"]),
            ("membership", vec!["active"]),
            ("country", vec!["JP"]),
            ("securityProfile", vec!["3"]),
            ("Membership", vec!["active"]),
            ("spatial", vec!["http://example.org/EU"]),
            ("certifiedUntil", vec!["2027-01-01"]),
            ("empty", vec![]),
        ];
        EvaluationContext {
            now: at("2026-11-29T21:00:00Z"),
            action: "use".into(),
            counter_party_id: "BPNL000000000001".into(),
            counter_party_attributes: attributes
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
                .collect(),
            purpose: Some("cfp".into()),
            agreement_signed_at: Some(at("2026-11-19T21:00:00Z")),
            use_count: Some(4),
        }
    }

    fn single(left: &str, operator: &str, right: Value) -> Policy {
        Policy::from_json(&json!({"permission": {"action": "use", "constraint": {
            "leftOperand": left, "operator": operator, "rightOperand": right
        }}}))
        .unwrap()
    }

    fn reasons(decision: Decision) -> Vec<String> {
        match decision {
            Decision::Deny { reasons } => reasons,
            Decision::Permit { .. } => panic!("expected a denial"),
        }
    }

    /// Every left operand and every operator, satisfied (`true`) and not (`false`).
    #[test]
    fn atomic_constraints() {
        let cases: Vec<(&str, &str, Value, bool)> = vec![
            // dateTime: now is 2026-11-29T21:00:00Z.
            ("dateTime", "lteq", json!("2026-12-31T06:00Z"), true),
            ("dateTime", "lteq", json!("2023-12-31T06:00Z"), false),
            ("dateTime", "lt", json!("2026-11-29T21:00:00Z"), false),
            ("dateTime", "lteq", json!("2026-11-29T21:00:00Z"), true),
            ("dateTime", "gt", json!("2026-11-29"), true),
            ("dateTime", "gteq", json!("2026-11-30"), false),
            ("dateTime", "gteq", json!("2026-11-30T05:00:00+09:00"), true),
            ("dateTime", "eq", json!("2026-11-29T21:00Z"), true),
            ("dateTime", "neq", json!("2026-11-29T21:00Z"), false),
            (
                "odrl:dateTime",
                "lt",
                json!({"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"}),
                true,
            ),
            ("dateTime", "lt", json!("2027-01-01T00:00:00"), true),
            // elapsedTime: ten days since the agreement.
            ("elapsedTime", "lteq", json!("P30D"), true),
            ("elapsedTime", "lteq", json!("P9D"), false),
            ("elapsedTime", "gt", json!("PT1H"), true),
            ("elapsedTime", "lt", json!("P1Y2M3DT4H5M6S"), true),
            ("elapsedTime", "eq", json!("P10D"), true),
            ("elapsedTime", "gteq", json!("PT240H"), true),
            // count: four uses made, this is the fifth.
            ("count", "lteq", json!(5), true),
            ("count", "lt", json!(5), false),
            ("count", "lteq", json!("5"), true),
            ("count", "eq", json!(5.0), true),
            ("count", "gt", json!(4), true),
            ("count", "gteq", json!(6), false),
            ("count", "neq", json!(5), false),
            // purpose, under both names.
            ("purpose", "eq", json!("cfp"), true),
            ("purpose", "eq", json!("marketing"), false),
            (
                "cx-policy:UsagePurpose",
                "isAnyOf",
                json!(["pcf", "cfp"]),
                true,
            ),
            ("UsagePurpose", "isAnyOf", json!(["pcf"]), false),
            ("purpose", "isNoneOf", json!(["marketing", "resale"]), true),
            ("purpose", "isNoneOf", json!(["cfp"]), false),
            ("purpose", "neq", json!("marketing"), true),
            ("purpose", "isA", json!("cfp"), true),
            ("purpose", "isPartOf", json!(["cfp", "pcf"]), true),
            ("purpose", "isPartOf", json!("pcf"), false),
            // The counter-party, under every name.
            ("participantId", "eq", json!("BPNL000000000001"), true),
            (
                "BusinessPartnerNumber",
                "isAnyOf",
                json!(["BPNL000000000002", "BPNL000000000001"]),
                true,
            ),
            (
                "https://w3id.org/catenax/policy/BusinessPartnerNumber",
                "eq",
                json!("BPNL000000000002"),
                false,
            ),
            ("counterPartyId", "neq", json!("BPNL000000000002"), true),
            // Attributes, including the multi-valued role ["cellMaker", "recycler"].
            ("role", "eq", json!("cellMaker"), true),
            ("role", "eq", json!("recycler"), true),
            ("role", "eq", json!("oem"), false),
            ("role", "neq", json!("oem"), true),
            ("role", "neq", json!("recycler"), false),
            ("role", "isA", json!("recycler"), true),
            ("role", "isA", json!("oem"), false),
            ("role", "isAnyOf", json!(["oem", "recycler"]), true),
            ("role", "isAnyOf", json!(["oem", "mine"]), false),
            ("role", "isAllOf", json!(["recycler", "cellMaker"]), true),
            ("role", "isAllOf", json!(["recycler", "oem"]), false),
            ("role", "isAllOf", json!("recycler"), true),
            ("role", "isNoneOf", json!(["oem", "mine"]), true),
            ("role", "isNoneOf", json!(["oem", "cellMaker"]), false),
            (
                "role",
                "isPartOf",
                json!(["cellMaker", "recycler", "oem"]),
                true,
            ),
            ("role", "isPartOf", json!(["cellMaker", "oem"]), false),
            ("tsunagu:membership", "eq", json!("active"), true),
            (
                "https://w3id.org/tsunagu/policy/country",
                "eq",
                json!("JP"),
                true,
            ),
            ("country", "isAnyOf", json!(["DE", "FR"]), false),
            (
                "cx-policy:Membership",
                "eq",
                json!({"@value": "active"}),
                true,
            ),
            ("edc:Membership", "eq", json!([{"@value": "active"}]), true),
            (
                "spatial",
                "eq",
                json!({"@id": "http://example.org/EU"}),
                true,
            ),
            ("spatial", "eq", json!("_:EU"), false),
            // Numbers compare numerically when both sides are numbers.
            ("securityProfile", "gteq", json!(2), true),
            ("securityProfile", "gt", json!("3.0"), false),
            ("securityProfile", "eq", json!("3.0"), true),
            ("securityProfile", "lt", json!(10), true),
            ("securityProfile", "lteq", json!(2.5), false),
            // Dates in attributes compare as dates.
            ("certifiedUntil", "gt", json!("2026-11-29T21:00:00Z"), true),
            ("certifiedUntil", "lt", json!("2026-11-29"), false),
            // Orderings need comparable values; text and lists do not qualify.
            ("country", "lt", json!("KR"), false),
            ("securityProfile", "lt", json!([5, 6]), false),
            // Missing or unusable input is never satisfied.
            ("nationality", "eq", json!("JP"), false),
            ("nationality", "neq", json!("JP"), false),
            ("empty", "isNoneOf", json!(["x"]), false),
            ("dateTime", "lt", json!("soon"), false),
            ("elapsedTime", "lt", json!("30 days"), false),
            ("count", "lt", json!("many"), false),
            ("role", "eq", json!([]), false),
            ("role", "eq", json!({"foo": 1}), false),
            ("role", "eq", json!(true), false),
        ];
        for (left, operator, right, expected) in cases {
            let policy = single(left, operator, right.clone());
            let decision = policy.evaluate(&ctx());
            assert_eq!(
                decision.is_permit(),
                expected,
                "{left} {operator} {right}: {decision:?}"
            );
        }
    }

    #[test]
    fn deny_reasons_say_which_constraint_failed_and_why() {
        let cases: Vec<(&str, &str, Value, EvaluationContext, &str)> = vec![
            (
                "purpose",
                "eq",
                json!("cfp"),
                EvaluationContext {
                    purpose: Some("marketing".into()),
                    ..ctx()
                },
                r#"constraint purpose eq "cfp" not satisfied: the request's purpose is "marketing""#,
            ),
            (
                "purpose",
                "eq",
                json!("cfp"),
                EvaluationContext {
                    purpose: None,
                    ..ctx()
                },
                r#"constraint purpose eq "cfp" not satisfied: the request states no purpose"#,
            ),
            (
                "dateTime",
                "lteq",
                json!("2023-12-31T06:00Z"),
                ctx(),
                "constraint dateTime lteq 2023-12-31T06:00Z not satisfied: now is 2026-11-29T21:00:00Z",
            ),
            (
                "role",
                "eq",
                json!("oem"),
                EvaluationContext {
                    counter_party_attributes: BTreeMap::new(),
                    ..ctx()
                },
                r#"constraint role eq "oem" not satisfied: counter-party has no attribute "role""#,
            ),
            (
                "role",
                "isAnyOf",
                json!(["oem", "mine"]),
                ctx(),
                r#"constraint role isAnyOf ["oem", "mine"] not satisfied: the counter-party's role values are "cellMaker", "recycler""#,
            ),
            (
                "country",
                "eq",
                json!("DE"),
                ctx(),
                r#"constraint country eq "DE" not satisfied: the counter-party's country is "JP""#,
            ),
            (
                "elapsedTime",
                "lteq",
                json!("P9D"),
                ctx(),
                "constraint elapsedTime lteq P9D not satisfied: the agreement was signed P10D ago",
            ),
            (
                "elapsedTime",
                "gt",
                json!("PT1H"),
                EvaluationContext {
                    agreement_signed_at: None,
                    ..ctx()
                },
                "constraint elapsedTime gt PT1H not satisfied: there is no agreement yet, so the elapsed time is PT0S",
            ),
            (
                "count",
                "lt",
                json!(5),
                ctx(),
                "constraint count lt 5 not satisfied: this would be use number 5",
            ),
            (
                "count",
                "gt",
                json!(1),
                EvaluationContext {
                    use_count: None,
                    ..ctx()
                },
                "constraint count gt 1 not satisfied: this would be use number 1",
            ),
            (
                "BusinessPartnerNumber",
                "eq",
                json!("BPNL000000000002"),
                ctx(),
                r#"constraint BusinessPartnerNumber eq "BPNL000000000002" not satisfied: the counter-party is "BPNL000000000001""#,
            ),
            (
                "country",
                "lt",
                json!("KR"),
                ctx(),
                r#"constraint country lt "KR" not satisfied: "JP" and "KR" cannot be ordered: lt needs numbers, dates or durations on both sides"#,
            ),
            (
                "securityProfile",
                "gt",
                json!([1, 2]),
                ctx(),
                "constraint securityProfile gt [1, 2] not satisfied: gt needs exactly one rightOperand value, but there are 2",
            ),
            (
                "dateTime",
                "lt",
                json!("soon"),
                ctx(),
                r#"constraint dateTime lt soon not satisfied: rightOperand "soon" is not an xsd:dateTime"#,
            ),
            (
                "elapsedTime",
                "lt",
                json!("30 days"),
                ctx(),
                r#"constraint elapsedTime lt 30 days not satisfied: rightOperand "30 days" is not an xsd:duration"#,
            ),
            (
                "count",
                "lt",
                json!("many"),
                ctx(),
                r#"constraint count lt many not satisfied: rightOperand "many" is not a number"#,
            ),
            (
                "role",
                "eq",
                json!({"foo": 1}),
                ctx(),
                r#"constraint role eq {"foo":1} not satisfied: its rightOperand has no usable value"#,
            ),
        ];
        for (left, operator, right, context, expected) in cases {
            let decision = single(left, operator, right).evaluate(&context);
            assert_eq!(reasons(decision), vec![expected.to_owned()]);
        }
    }

    fn logical(operator: &str, children: Vec<Value>) -> Policy {
        Policy::from_json(
            &json!({"permission": {"action": "use", "constraint": {operator: children}}}),
        )
        .unwrap()
    }

    fn yes() -> Value {
        json!({"leftOperand": "role", "operator": "eq", "rightOperand": "cellMaker"})
    }

    fn no() -> Value {
        json!({"leftOperand": "country", "operator": "eq", "rightOperand": "DE"})
    }

    fn no_two() -> Value {
        json!({"leftOperand": "purpose", "operator": "eq", "rightOperand": "resale"})
    }

    #[test]
    fn logical_constraints() {
        let cases: Vec<(&str, Vec<Value>, bool)> = vec![
            ("and", vec![yes(), yes()], true),
            ("and", vec![yes(), no()], false),
            ("and", vec![], true),
            ("or", vec![no(), yes()], true),
            ("or", vec![yes(), yes()], true),
            ("or", vec![no(), no_two()], false),
            ("or", vec![], false),
            ("xone", vec![no(), yes()], true),
            ("xone", vec![yes(), yes()], false),
            ("xone", vec![no(), no_two()], false),
            ("xone", vec![], false),
            ("andSequence", vec![yes(), yes()], true),
            ("andSequence", vec![yes(), no()], false),
            ("andSequence", vec![], true),
        ];
        for (operator, children, expected) in cases {
            let decision = logical(operator, children.clone()).evaluate(&ctx());
            assert_eq!(
                decision.is_permit(),
                expected,
                "{operator} {children:?}: {decision:?}"
            );
        }
        // The long form evaluates like the short one.
        let long = Policy::from_json(&json!({"permission": {"action": "use", "constraint": {
            "operator": {"@id": "odrl:xone"}, "constraint": [yes(), no()]
        }}}))
        .unwrap();
        assert!(long.evaluate(&ctx()).is_permit());
    }

    #[test]
    fn logical_deny_reasons() {
        let country =
            r#"constraint country eq "DE" not satisfied: the counter-party's country is "JP""#;
        let purpose =
            r#"constraint purpose eq "resale" not satisfied: the request's purpose is "cfp""#;
        let cases: Vec<(&str, Vec<Value>, Vec<String>)> = vec![
            ("and", vec![no(), yes(), no_two()], vec![country.into(), purpose.into()]),
            (
                "or",
                vec![no(), no_two()],
                vec![format!(r#"no alternative of an "or" constraint is satisfied ({country}; {purpose})"#)],
            ),
            (
                "xone",
                vec![yes(), no(), yes()],
                vec![r#"an "xone" constraint needs exactly one satisfied alternative, but 2 are: role eq "cellMaker", role eq "cellMaker""#.into()],
            ),
            (
                "andSequence",
                vec![yes(), no(), no_two(), yes()],
                vec![
                    country.into(),
                    "the andSequence stopped there, leaving 2 later constraint(s) unevaluated".into(),
                ],
            ),
            ("or", vec![], vec![r#"an empty "or" constraint is never satisfied"#.into()]),
        ];
        for (operator, children, expected) in cases {
            assert_eq!(
                reasons(logical(operator, children).evaluate(&ctx())),
                expected,
                "{operator}"
            );
        }
    }

    #[test]
    fn permission_prohibition_and_duties() {
        let policy = Policy::from_json(&json!({
            "permission": [
                {"action": "use", "constraint": [no()], "duty": {"action": "inform"}},
                {"action": "use", "constraint": [yes()], "duty": {"action": "delete"}}
            ],
            "obligation": {"action": "compensate"}
        }))
        .unwrap();
        let duty = |action: &str| Rule {
            action: action.into(),
            constraints: vec![],
            duties: vec![],
        };
        assert_eq!(
            policy.evaluate(&ctx()),
            Decision::Permit {
                duties: vec![duty("delete"), duty("compensate")]
            }
        );

        let prohibited = Policy::from_json(&json!({
            "permission": {"action": "use"},
            "prohibition": [
                {"action": "use", "constraint": [yes()]},
                {"action": "use", "constraint": [no()]},
                {"action": "distribute"}
            ]
        }))
        .unwrap();
        assert_eq!(
            reasons(prohibited.evaluate(&ctx())),
            vec![
                r#"a prohibition of "use" forbids the action "use" because its constraints are satisfied: role eq "cellMaker""#
            ]
        );
        let distribute = EvaluationContext {
            action: "odrl:distribute".into(),
            ..ctx()
        };
        assert_eq!(
            reasons(prohibited.evaluate(&distribute)),
            vec![
                r#"a prohibition of "use" forbids the action "distribute" because its constraints are satisfied: role eq "cellMaker""#,
                r#"a prohibition of "distribute" forbids the action "distribute""#,
            ]
        );
    }

    #[test]
    fn action_matching() {
        let policy = Policy::from_json(&json!({"permission": {"action": "read"}})).unwrap();
        let asking = |action: &str| EvaluationContext {
            action: action.into(),
            ..ctx()
        };
        assert!(policy.evaluate(&asking("read")).is_permit());
        assert!(
            policy
                .evaluate(&asking("http://www.w3.org/ns/odrl/2/read"))
                .is_permit()
        );
        assert_eq!(
            reasons(policy.evaluate(&asking("use"))),
            vec![r#"policy grants no permission for the action "use""#]
        );
        let any = Policy::from_json(&json!({"permission": {"action": "odrl:use"}})).unwrap();
        assert!(any.evaluate(&asking("distribute")).is_permit());
    }

    #[test]
    fn reasons_are_collected_from_every_permission_tried() {
        let policy = Policy::from_json(&json!({"permission": [
            {"action": "use", "constraint": [no()]},
            {"action": "read", "constraint": [yes()]},
            {"action": "use", "constraint": [yes(), no_two()]}
        ]}))
        .unwrap();
        assert_eq!(
            reasons(policy.evaluate(&ctx())),
            vec![
                r#"constraint country eq "DE" not satisfied: the counter-party's country is "JP""#,
                r#"constraint purpose eq "resale" not satisfied: the request's purpose is "cfp""#,
            ]
        );
    }

    #[test]
    fn a_policy_without_permissions_denies() {
        for policy in [
            json!({}),
            json!({"prohibition": {"action": "distribute"}}),
            json!({"obligation": {"action": "delete"}}),
        ] {
            let policy = Policy::from_json(&policy).unwrap();
            assert_eq!(
                reasons(policy.evaluate(&ctx())),
                vec!["policy grants no permission"]
            );
        }
    }

    #[test]
    fn deeply_nested_policies_built_in_code_are_denied_not_overflowed() {
        let mut constraint = Constraint::Atomic {
            left_operand: "role".into(),
            operator: Operator::Eq,
            right_operand: json!("cellMaker"),
        };
        for _ in 0..10_000 {
            constraint = Constraint::Logical {
                operator: LogicalOperator::And,
                constraints: vec![constraint],
            };
        }
        let policy = Policy {
            kind: crate::PolicyKind::Set,
            uid: None,
            target: None,
            assigner: None,
            assignee: None,
            profile: None,
            permissions: vec![Rule {
                action: "use".into(),
                constraints: vec![constraint],
                duties: vec![],
            }],
            prohibitions: vec![],
            obligations: vec![],
        };
        assert!(!policy.evaluate(&ctx()).is_permit());
        // Dropping 10,000 nested boxes recursively is the test harness's problem, not the
        // policy's; forgetting keeps this test about evaluation.
        std::mem::forget(policy);
    }
}
