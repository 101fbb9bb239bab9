//! Conformance with the standards in ../shared/spec: every passport the service emits
//! validates against the official BatteryPass 6.1.0 JSON schema, the official example parses,
//! and the attribute table agrees with the Battery Pass longlist v1.2.

mod common;

use std::path::Path;

use serde_json::Value;
use tsunagu_passport::{
    AccessGroup, AttributeTable, BatteryPass, DynamicReading, Level, LifecycleEvent, Nature,
    install_demo_battery,
};

const ASPECT_DIR: &str = "catena-x/io.catenax.battery.battery_pass/6.1.0";

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(schema)
        .expect("the official schema compiles")
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// The schema without any `required`: what a view (which lacks the fields above its group)
/// must still satisfy, so that every field it has is well-formed.
fn without_required(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(k, _)| k.as_str() != "required")
                .map(|(k, v)| (k.clone(), without_required(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_required).collect()),
        other => other.clone(),
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn every_emitted_passport_validates_against_the_official_schema() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let schema = read_json(&spec.join(ASPECT_DIR).join("BatteryPass-schema.json"));
    let full = validator(&schema);
    let partial = validator(&without_required(&schema));

    let world = common::world().await;
    let service = &world.app.service;
    let demo = install_demo_battery(service).await.unwrap();
    service
        .record_reading(
            demo.id,
            DynamicReading {
                state_of_charge: Some(55.5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let successor = service
        .apply(demo.id, LifecycleEvent::Repurpose)
        .await
        .unwrap();
    service
        .apply(successor.id, LifecycleEvent::Discard)
        .await
        .unwrap();
    service
        .apply(successor.id, LifecycleEvent::Recycle)
        .await
        .unwrap();

    let mut checked = 0;
    for id in [demo.id, successor.id] {
        let stored = service.passport(id).await.unwrap().unwrap();
        let problems = errors(&full, &stored.pass.to_value());
        assert!(problems.is_empty(), "passport {id}: {problems:#?}");
        for group in AccessGroup::ALL {
            let (_, view) = service.view(id, group).await.unwrap().unwrap();
            let problems = errors(&partial, &view.passport);
            assert!(
                problems.is_empty(),
                "{} view of {id}: {problems:#?}",
                group.as_str()
            );
            if group == AccessGroup::Authorities {
                assert!(errors(&full, &view.passport).is_empty());
            } else {
                // A lower view lacks required fields, by law: the schema says so.
                assert!(!errors(&full, &view.passport).is_empty());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
    // The check can fail: a passport with a wrong enumeration value does not validate.
    let mut broken = service
        .passport(demo.id)
        .await
        .unwrap()
        .unwrap()
        .pass
        .to_value();
    broken["identification"]["category"] = Value::String("car".into());
    assert!(!errors(&full, &broken).is_empty());
}

#[test]
fn the_official_example_parses_and_validates() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let example = read_json(&spec.join(ASPECT_DIR).join("BatteryPass.example.json"));
    let schema = read_json(&spec.join(ASPECT_DIR).join("BatteryPass-schema.json"));
    assert!(errors(&validator(&schema), &example).is_empty());
    let pass = BatteryPass::from_json(example).unwrap();
    assert_eq!(
        pass.passport_identifier(),
        "urn:uuid:550e8400-e29b-41d4-a716-446655440000"
    );
    // Every field of the example has an access group from the table, and the table gives
    // the example's dynamic data to the legitimate-interest group only.
    let table = AttributeTable::bundled();
    let above_public = table.fields_above(&pass.to_value(), AccessGroup::Public);
    assert!(above_public.contains(&"/performance/dynamic".to_owned()));
    assert!(above_public.contains(&"/sustainability/status".to_owned()));
    assert!(
        table
            .fields_above(&pass.to_value(), AccessGroup::Authorities)
            .is_empty()
    );
}

/// The longlist's access rights, in our groups and Annex XIII points.
fn longlist_group(text: &str) -> AccessGroup {
    match text.trim() {
        "Public" => AccessGroup::Public,
        "persons with a legitimate interest"
        | "persons with a legitimate interest and the Commission" => {
            AccessGroup::LegitimateInterest
        }
        "Notified bodies, market surveillance authorities and the Commission" => {
            AccessGroup::Authorities
        }
        other => panic!("unknown access right in the longlist: {other:?}"),
    }
}

/// The Annex XIII points a regulation reference cites: `Annex XIII (1a)`, `Annex XIII 4(c)`,
/// `Annex XIII (3)` → `1(a)`, `4(c)`, `3`.
fn cited_points(reference: &str) -> Vec<String> {
    let mut points = Vec::new();
    let mut rest = reference;
    while let Some(at) = rest.find("Annex XIII") {
        rest = &rest[at + "Annex XIII".len()..];
        let s = rest.trim_start();
        let chars: Vec<char> = s.chars().take(5).collect();
        let point = match chars.as_slice() {
            ['(', d, ')', ..] if d.is_ascii_digit() => Some(d.to_string()),
            ['(', d, l, ')', ..] if d.is_ascii_digit() && l.is_ascii_lowercase() => {
                Some(format!("{d}({l})"))
            }
            [d, '(', l, ')', ..] if d.is_ascii_digit() && l.is_ascii_lowercase() => {
                Some(format!("{d}({l})"))
            }
            _ => None,
        };
        points.extend(point);
    }
    points
}

#[test]
fn the_attribute_table_agrees_with_the_longlist() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let path = spec.join("batterypass/battery-passport-attribute-longlist-v1.2.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let table = AttributeTable::bundled();
    let mut seen = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let number: u32 = record[0].trim().parse().unwrap();
        let name = record[8].trim();
        let rows: Vec<_> = table
            .attributes()
            .iter()
            .filter(|a| a.longlist == Some(number))
            .collect();
        assert_eq!(
            rows.len(),
            1,
            "longlist attribute {number} ({name}) must have exactly one row"
        );
        let row = rows[0];
        assert_eq!(row.name, name, "name of {number}");
        assert_eq!(
            row.group,
            longlist_group(&record[15]),
            "access group of {number} {name}"
        );
        let nature = match record[16].trim() {
            "Static" => Nature::Static,
            "Dynamic" => Nature::Dynamic,
            other => panic!("nature {other:?}"),
        };
        assert_eq!(row.nature, nature, "nature of {number} {name}");
        let level = match record[18].trim() {
            "Battery model" => Level::Model,
            "Individual battery" => Level::Battery,
            other => panic!("level {other:?}"),
        };
        assert_eq!(row.level, level, "level of {number} {name}");
        let cited = cited_points(&record[12]);
        match &row.annex_xiii {
            Some(point) => assert!(
                cited.contains(point),
                "{number} {name}: {point} is not among {cited:?}"
            ),
            None => assert!(
                cited.iter().all(|p| !p.contains('(')) || cited.is_empty(),
                "{number} {name}: the longlist cites {cited:?}"
            ),
        }
        // Every pointer names a field the aspect has: the demo passport holds them all, or
        // the attribute has no field in the aspect (empty pointers).
        seen += 1;
    }
    assert_eq!(seen, 93);
    assert_eq!(
        table
            .attributes()
            .iter()
            .filter(|a| a.longlist.is_some())
            .count(),
        93
    );
}

#[test]
fn every_table_pointer_names_a_field_of_the_schema() {
    let Some(spec) = tsunagu_testkit::require_spec() else {
        return;
    };
    let schema = read_json(&spec.join(ASPECT_DIR).join("BatteryPass-schema.json"));
    let components = &schema["components"]["schemas"];
    // Follows a pointer through the schema's properties, `$ref`s and array items.
    fn resolve<'a>(mut node: &'a Value, components: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/components/schemas/");
            node = &components[name];
        }
        node
    }
    for attribute in AttributeTable::bundled().attributes() {
        for pointer in &attribute.pointers {
            let mut node = resolve(&schema, components);
            for token in pointer.split('/').skip(1) {
                node = if token == "*" {
                    match node.get("items") {
                        Some(items) => resolve(items, components),
                        // `*` over an object's members: any of its properties.
                        None => {
                            let properties = node["properties"]
                                .as_object()
                                .unwrap_or_else(|| panic!("{pointer}: no members at *"));
                            resolve(properties.values().next().unwrap(), components)
                        }
                    }
                } else {
                    let next = node
                        .get("properties")
                        .and_then(|p| p.get(token))
                        .unwrap_or_else(|| panic!("{pointer}: the schema has no field {token}"));
                    resolve(next, components)
                };
            }
        }
    }
}
