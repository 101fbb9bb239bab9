//! The attribute table: for every passport attribute, who may see it (Art. 77(2), Annex XIII),
//! whether it is static or dynamic, whether it belongs to the battery model or to the
//! individual battery, its Annex XIII point, and where it sits in the BatteryPass document.
//!
//! The table is `data/attributes.csv`, written for tsunagu from the Battery Pass longlist
//! v1.2 (one row per longlist attribute, in its order and wording, plus rows for Catena-X
//! fields the longlist does not name); a test checks it against the longlist. Pointers use
//! `*` for "any member or element". The most specific pointer that covers a field decides its
//! group, and a field is never more public than the object it sits in.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;
use thiserror::Error;

/// Who may see a field. Ordered: each group sees its own fields and those of the groups
/// below it (the Commission and the authorities see everything a person with a legitimate
/// interest sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessGroup {
    /// Annex XIII point 1: accessible to the public.
    Public,
    /// Annex XIII points 2 and 4: persons with a legitimate interest (and the Commission).
    LegitimateInterest,
    /// Annex XIII point 3: notified bodies, market surveillance authorities, the Commission.
    Authorities,
}

impl AccessGroup {
    pub const ALL: [AccessGroup; 3] = [
        AccessGroup::Public,
        AccessGroup::LegitimateInterest,
        AccessGroup::Authorities,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessGroup::Public => "public",
            AccessGroup::LegitimateInterest => "legitimate-interest",
            AccessGroup::Authorities => "authorities",
        }
    }

    pub fn parse(text: &str) -> Option<AccessGroup> {
        AccessGroup::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

impl serde::Serialize for AccessGroup {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AccessGroup {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AccessGroup::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown access group {text:?}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nature {
    Static,
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The same for every battery of the model.
    Model,
    /// Specific to one battery.
    Battery,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The row number in the Battery Pass longlist v1.2, if the longlist names the attribute.
    pub longlist: Option<u32>,
    pub name: String,
    /// JSON pointers into the BatteryPass document; empty when the aspect has no field for it.
    pub pointers: Vec<String>,
    pub group: AccessGroup,
    pub nature: Nature,
    pub level: Level,
    /// The Annex XIII point the longlist cites, e.g. `1(c)`; `None` when it cites none.
    pub annex_xiii: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    #[error("attribute table line {line}: {reason}")]
    Row { line: usize, reason: String },
    #[error("attribute table: pointer {pointer} is given groups {first} and {second}")]
    Conflict {
        pointer: String,
        first: &'static str,
        second: &'static str,
    },
}

/// The attribute table, and the group of every pointer it names.
#[derive(Debug, Clone)]
pub struct AttributeTable {
    attributes: Vec<Attribute>,
    /// Pointer pattern (tokens, `*` for any) → group.
    patterns: Vec<(Vec<String>, AccessGroup)>,
}

const BUNDLED: &str = include_str!("../data/attributes.csv");

impl AttributeTable {
    /// The table shipped with the crate.
    pub fn bundled() -> &'static AttributeTable {
        static TABLE: OnceLock<AttributeTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            AttributeTable::parse(BUNDLED).expect("data/attributes.csv is checked by the tests")
        })
    }

    pub fn parse(csv_text: &str) -> Result<AttributeTable, TableError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(csv_text.as_bytes());
        let mut attributes = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let row = |reason: String| TableError::Row { line, reason };
            let record = record.map_err(|e| row(e.to_string()))?;
            if record.len() != 7 {
                return Err(row(format!("{} columns, expected 7", record.len())));
            }
            let longlist = match record[0].trim() {
                "" => None,
                n => Some(
                    n.parse::<u32>()
                        .map_err(|_| row(format!("longlist number {n:?}")))?,
                ),
            };
            let pointers: Vec<String> = record[2].split_whitespace().map(str::to_owned).collect();
            for pointer in &pointers {
                if !pointer.starts_with('/') {
                    return Err(row(format!("pointer {pointer:?} does not start with /")));
                }
            }
            let group = AccessGroup::parse(record[3].trim())
                .ok_or_else(|| row(format!("access group {:?}", &record[3])))?;
            let nature = match record[4].trim() {
                "static" => Nature::Static,
                "dynamic" => Nature::Dynamic,
                other => return Err(row(format!("nature {other:?}"))),
            };
            let level = match record[5].trim() {
                "model" => Level::Model,
                "battery" => Level::Battery,
                other => return Err(row(format!("level {other:?}"))),
            };
            let annex_xiii = match record[6].trim() {
                "-" => None,
                point => Some(point.to_owned()),
            };
            attributes.push(Attribute {
                longlist,
                name: record[1].trim().to_owned(),
                pointers,
                group,
                nature,
                level,
                annex_xiii,
            });
        }
        let mut by_pointer: BTreeMap<&str, AccessGroup> = BTreeMap::new();
        for attribute in &attributes {
            for pointer in &attribute.pointers {
                if let Some(previous) = by_pointer.insert(pointer, attribute.group)
                    && previous != attribute.group
                {
                    return Err(TableError::Conflict {
                        pointer: pointer.clone(),
                        first: previous.as_str(),
                        second: attribute.group.as_str(),
                    });
                }
            }
        }
        let patterns = by_pointer
            .into_iter()
            .map(|(pointer, group)| (tokens(pointer), group))
            .collect();
        Ok(AttributeTable {
            attributes,
            patterns,
        })
    }

    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The group of the field at `pointer` (tokens of a concrete path): that of the most
    /// specific pattern covering it, raised to that of every covering pattern above it;
    /// `Public` when none covers it.
    pub fn group_of(&self, path: &[String]) -> AccessGroup {
        self.patterns
            .iter()
            .filter(|(pattern, _)| covers(pattern, path))
            .map(|(_, group)| *group)
            .max()
            .unwrap_or(AccessGroup::Public)
    }

    /// The concrete fields of `document` that the table names, each with its group, where
    /// the group is higher than that of the enclosing field: these are the claims to make
    /// selectively disclosable, outermost first. Pointers are relative to `document`.
    pub fn restricted_fields(&self, document: &Value) -> Vec<(String, AccessGroup)> {
        let mut found = BTreeMap::new();
        for (pattern, _) in &self.patterns {
            expand(document, pattern, &mut Vec::new(), &mut found);
        }
        let mut fields = Vec::new();
        for path in found.into_keys() {
            let group = self.group_of(&path);
            let parent = if path.len() > 1 {
                self.group_of(&path[..path.len() - 1])
            } else {
                AccessGroup::Public
            };
            if group > parent {
                fields.push((pointer_text(&path), group));
            }
        }
        // Outermost first: shorter pointers before longer ones.
        fields.sort_by_key(|(pointer, _)| (pointer.matches('/').count(), pointer.clone()));
        fields
    }

    /// Every field of `view` (a passport or part of one) whose group is above `group`: a view
    /// made for `group` must yield none.
    pub fn fields_above(&self, view: &Value, group: AccessGroup) -> Vec<String> {
        let mut above = Vec::new();
        walk(view, &mut Vec::new(), &mut |path| {
            if self.group_of(path) > group {
                above.push(pointer_text(path));
                false
            } else {
                true
            }
        });
        above
    }
}

fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

pub(crate) fn pointer_text(path: &[String]) -> String {
    path.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Whether `pattern` names `path` or one of its ancestors.
fn covers(pattern: &[String], path: &[String]) -> bool {
    pattern.len() <= path.len() && pattern.iter().zip(path).all(|(p, t)| p == "*" || p == t)
}

fn expand(
    value: &Value,
    pattern: &[String],
    path: &mut Vec<String>,
    found: &mut BTreeMap<Vec<String>, ()>,
) {
    let Some((head, rest)) = pattern.split_first() else {
        found.insert(path.clone(), ());
        return;
    };
    let mut visit = |token: String, child: &Value| {
        path.push(token);
        expand(child, rest, path, found);
        path.pop();
    };
    match value {
        Value::Object(object) => {
            for (name, child) in object {
                if head == "*" || head == name {
                    visit(name.clone(), child);
                }
            }
        }
        Value::Array(array) => {
            for (index, child) in array.iter().enumerate() {
                if head == "*" || *head == index.to_string() {
                    visit(index.to_string(), child);
                }
            }
        }
        _ => {}
    }
}

/// Calls `visit` on every member and element below `value`, descending while it says so.
fn walk(value: &Value, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String]) -> bool) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(object) => object.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(array) => array
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (token, child) in children {
        path.push(token);
        if visit(path) {
            walk(child, path, visit);
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(pointer: &str) -> Vec<String> {
        tokens(pointer)
    }

    #[test]
    fn the_bundled_table_parses_and_groups_fields() {
        let table = AttributeTable::bundled();
        assert!(table.attributes().len() >= 93);
        assert_eq!(
            table.group_of(&path("/identification/chemistry")),
            AccessGroup::Public
        );
        assert_eq!(
            table.group_of(&path("/performance/dynamic/stateOfCharge/value")),
            AccessGroup::LegitimateInterest
        );
        assert_eq!(
            table.group_of(&path("/conformity/resultOfTestReport/0/content")),
            AccessGroup::Authorities
        );
        assert_eq!(
            table.group_of(&path("/materials/composition/2/renewable")),
            AccessGroup::Public
        );
        assert_eq!(
            table.group_of(&path("/materials/composition/2/location")),
            AccessGroup::LegitimateInterest
        );
        assert_eq!(
            table.group_of(&path("/sustainability/status")),
            AccessGroup::LegitimateInterest
        );
    }

    #[test]
    fn restricted_fields_are_outermost_and_above_their_parent() {
        let table = AttributeTable::bundled();
        let document = crate::demo::demo_battery_pass_json(
            "urn:uuid:6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01",
            "LA:TSUNAGU:PACK-0001",
            "2026-11-30",
        );
        let fields = table.restricted_fields(&document);
        let pointers: Vec<&str> = fields.iter().map(|(p, _)| p.as_str()).collect();
        assert!(pointers.contains(&"/performance/dynamic"));
        // Inside the dynamic section everything is legitimate interest already.
        assert!(!pointers.contains(&"/performance/dynamic/stateOfCharge"));
        assert!(pointers.contains(&"/materials/composition/0/location"));
        assert!(!pointers.contains(&"/materials/composition/0/renewable"));
        assert!(pointers.contains(&"/conformity/resultOfTestReport"));
        assert!(pointers.contains(&"/sustainability/status"));
        for (pointer, group) in &fields {
            assert!(*group > AccessGroup::Public, "{pointer}");
        }
    }

    #[test]
    fn conflicting_groups_for_one_pointer_are_refused() {
        let text = "longlist,attribute,pointers,group,nature,level,annex_xiii\n\
                    1,a,/x,public,static,model,-\n\
                    2,b,/x,authorities,static,model,-\n";
        assert!(matches!(
            AttributeTable::parse(text),
            Err(TableError::Conflict { .. })
        ));
        let bad_group = "longlist,attribute,pointers,group,nature,level,annex_xiii\n\
                         1,a,/x,friends,static,model,-\n";
        assert!(matches!(
            AttributeTable::parse(bad_group),
            Err(TableError::Row { line: 2, .. })
        ));
    }

    #[test]
    fn fields_above_finds_what_a_group_must_not_see() {
        let table = AttributeTable::bundled();
        let view = serde_json::json!({
            "identification": {"chemistry": "NMC"},
            "performance": {"dynamic": {"stateOfCharge": {"value": 1}}},
            "conformity": {"resultOfTestReport": []},
        });
        assert_eq!(
            table.fields_above(&view, AccessGroup::Public),
            vec!["/conformity/resultOfTestReport", "/performance/dynamic"]
        );
        assert_eq!(
            table.fields_above(&view, AccessGroup::LegitimateInterest),
            vec!["/conformity/resultOfTestReport"]
        );
        assert!(
            table
                .fields_above(&view, AccessGroup::Authorities)
                .is_empty()
        );
    }
}
