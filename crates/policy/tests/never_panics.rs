//! `from_json` and `evaluate` must never panic, whatever arrives over the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value};
use tsunagu_policy::{EvaluationContext, Policy};

/// Keys and values from the ODRL vocabulary mixed with noise, so that generated documents
/// reach deep into the parser instead of failing at the first key.
const WORDS: &[&str] = &[
    "@type",
    "@id",
    "@value",
    "@list",
    "permission",
    "odrl:permission",
    "prohibition",
    "obligation",
    "duty",
    "action",
    "odrl:action",
    "constraint",
    "leftOperand",
    "odrl:leftOperand",
    "operator",
    "rightOperand",
    "and",
    "or",
    "xone",
    "andSequence",
    "odrl:and",
    "target",
    "assigner",
    "assignee",
    "profile",
    "refinement",
    "rdf:value",
    "Offer",
    "Agreement",
    "Set",
    "Policy",
    "use",
    "odrl:use",
    "read",
    "eq",
    "neq",
    "lt",
    "lteq",
    "gt",
    "gteq",
    "isA",
    "isPartOf",
    "isAllOf",
    "isAnyOf",
    "isNoneOf",
    "odrl:eq",
    "dateTime",
    "elapsedTime",
    "count",
    "purpose",
    "role",
    "participantId",
    "2023-12-31T06:00Z",
    "2023-12-31",
    "P30D",
    "PT1H",
    "P99999999999999999999Y",
    "-P1D",
    "1.0",
    "NaN",
    "inf",
    "+14:00",
    "9999-12-31T23:59:59+14:00",
    "-262143-01-01T00:00:00-14:00",
    "",
];

const OPERATORS: &[&str] = &[
    "eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::from),
    ];
    leaf.prop_recursive(8, 128, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A policy-shaped document: mostly valid structure with arbitrary operands, so that
/// evaluation and the round trip are exercised on many parsed policies.
fn policy_json() -> impl Strategy<Value = Value> {
    let operator = prop_oneof![
        4 => prop::sample::select(OPERATORS).prop_map(str::to_owned),
        1 => word(),
    ];
    let atomic = (word(), operator, json()).prop_map(|(left, operator, right)| {
        serde_json::json!({"leftOperand": left, "operator": operator, "rightOperand": right})
    });
    let constraint = atomic.prop_recursive(4, 32, 4, |inner| {
        (
            prop::sample::select(&["and", "or", "xone", "andSequence", "odrl:or"][..]),
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(operator, children)| serde_json::json!({operator: children}))
    });
    let action = prop_oneof![
        4 => prop::sample::select(&["use", "odrl:use", "read"][..]).prop_map(str::to_owned),
        1 => word(),
    ];
    let rule = (
        action,
        prop::collection::vec(constraint, 0..3),
        any::<bool>(),
    )
        .prop_map(|(action, constraints, with_duty)| {
            let mut rule = serde_json::json!({"action": action, "constraint": constraints});
            if with_duty {
                rule["duty"] = serde_json::json!([{"action": "delete"}]);
            }
            rule
        })
        .boxed();
    (
        prop::sample::select(&["Offer", "Agreement", "Set", "odrl:Policy"][..]),
        prop::collection::vec(rule.clone(), 0..3),
        prop::collection::vec(rule, 0..2),
    )
        .prop_map(|(kind, permissions, prohibitions)| {
            serde_json::json!({"@type": kind, "permission": permissions, "prohibition": prohibitions})
        })
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (-8_000_000_000_000_i64..8_000_000_000_000)
            .prop_map(|secs| DateTime::from_timestamp(secs, 0)),
        (0_i64..4_000_000_000).prop_map(|secs| DateTime::from_timestamp(secs, 0)),
        Just(Some(DateTime::<Utc>::MIN_UTC)),
        Just(Some(DateTime::<Utc>::MAX_UTC)),
    ]
    .prop_map(|instant| instant.unwrap_or_default())
}

fn context() -> impl Strategy<Value = EvaluationContext> {
    (
        instant(),
        word(),
        word(),
        prop::collection::btree_map(word(), prop::collection::vec(word(), 0..3), 0..4),
        prop::option::of(word()),
        prop::option::of(instant()),
        prop::option::of(prop_oneof![Just(u64::MAX), any::<u64>(), 0_u64..10]),
    )
        .prop_map(
            |(now, action, counter_party_id, attributes, purpose, signed, use_count)| {
                EvaluationContext {
                    now,
                    action,
                    counter_party_id,
                    counter_party_attributes: attributes.into_iter().collect::<BTreeMap<_, _>>(),
                    purpose,
                    agreement_signed_at: signed,
                    use_count,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_never_panics(value in json(), ctx in context()) {
        if let Ok(policy) = Policy::from_json(&value) {
            let _ = policy.evaluate(&ctx);
            let _ = policy.same_terms(&policy);
        }
    }

    #[test]
    fn policy_shaped_json_never_panics_and_round_trips(value in policy_json(), ctx in context()) {
        if let Ok(policy) = Policy::from_json(&value) {
            let decision = policy.evaluate(&ctx);
            // A policy with a permission and nothing else either permits or explains why not.
            if let tsunagu_policy::Decision::Deny { reasons } = &decision {
                prop_assert!(!reasons.is_empty());
            }
            let again = Policy::from_json(&policy.to_json());
            prop_assert_eq!(again.as_ref(), Ok(&policy));
            prop_assert!(policy.same_terms(&policy));
        }
    }
}
