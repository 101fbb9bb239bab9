//! EDC's `QuerySpec`: paging, and equality filters on the fields of the answers.

use serde_json::Value;
use tsunagu_store::Page;

use super::error::ManagementError;
use super::jsonld::{EdcObject, as_text, compact_key};

/// EDC's default page size.
const DEFAULT_LIMIT: u32 = 50;

/// A parsed `QuerySpec`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuerySpec {
    offset: u32,
    limit: u32,
    filters: Vec<Filter>,
}

/// `operandLeft = operandRight` or `operandLeft in [operandRight...]` over one field of an
/// answer (or of its `properties`).
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    field: String,
    values: Vec<String>,
}

impl QuerySpec {
    /// Reads a listing's body; an empty body is the default query.
    pub(crate) fn from_body(body: Option<Value>) -> Result<QuerySpec, ManagementError> {
        Self::from_object(&EdcObject::optional_body(body)?)
    }

    pub(crate) fn from_object(query: &EdcObject) -> Result<QuerySpec, ManagementError> {
        if query.get("sortField").is_some() {
            return Err(ManagementError::bad_request(format!(
                "{} is not supported: answers are in creation order",
                query.name("sortField")
            )));
        }
        let filters = query
            .list("filterExpression")
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, criterion)| {
                Filter::parse(
                    criterion,
                    &format!("{}[{index}]", query.name("filterExpression")),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(QuerySpec {
            offset: query.unsigned("offset")?.unwrap_or(0),
            limit: query.unsigned("limit")?.unwrap_or(DEFAULT_LIMIT),
            filters,
        })
    }

    /// The page to read from the engine: the requested one, or everything when filters must
    /// be applied before paging.
    pub(crate) fn store_page(&self) -> Page {
        if self.filters.is_empty() {
            Page {
                offset: self.offset,
                limit: self.limit,
            }
        } else {
            Page::ALL
        }
    }

    /// Keeps the answers that pass the filters and, when filtering, cuts out the page (without
    /// filters the engine has already paged).
    pub(crate) fn select(&self, answers: impl IntoIterator<Item = Value>) -> Vec<Value> {
        if self.filters.is_empty() {
            return answers.into_iter().collect();
        }
        self.select_all(answers)
    }

    /// Filters and pages answers that were all read (a catalog).
    pub(crate) fn select_all(&self, answers: impl IntoIterator<Item = Value>) -> Vec<Value> {
        answers
            .into_iter()
            .filter(|answer| self.filters.iter().all(|filter| filter.matches(answer)))
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .collect()
    }
}

impl Filter {
    fn parse(criterion: &Value, path: &str) -> Result<Filter, ManagementError> {
        let criterion = EdcObject::body(Some(criterion.clone())).map_err(|_| {
            ManagementError::bad_request(format!("{path} must be a criterion object"))
        })?;
        let left = criterion.string("operandLeft")?.ok_or_else(|| {
            ManagementError::bad_request(format!("{path}.operandLeft is required"))
        })?;
        let operator = criterion
            .string("operator")?
            .ok_or_else(|| ManagementError::bad_request(format!("{path}.operator is required")))?;
        let right = criterion.get("operandRight").ok_or_else(|| {
            ManagementError::bad_request(format!("{path}.operandRight is required"))
        })?;
        let values = match (operator.trim(), right) {
            ("=", right) => vec![scalar_text(right).ok_or_else(|| {
                ManagementError::bad_request(format!(
                    "{path}.operandRight must be a single value for ="
                ))
            })?],
            ("in", Value::Array(items)) => items
                .iter()
                .map(|item| {
                    scalar_text(item).ok_or_else(|| {
                        ManagementError::bad_request(format!(
                            "{path}.operandRight must list single values"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            ("in", right) => vec![scalar_text(right).ok_or_else(|| {
                ManagementError::bad_request(format!("{path}.operandRight must list single values"))
            })?],
            (other, _) => {
                return Err(ManagementError::bad_request(format!(
                    "{path}.operator {other:?} is not supported; use \"=\" or \"in\""
                )));
            }
        };
        let field = match compact_key(left.trim()) {
            "id" => "@id".to_owned(),
            other => other.to_owned(),
        };
        Ok(Filter { field, values })
    }

    fn matches(&self, answer: &Value) -> bool {
        let found = answer.get(&self.field).or_else(|| {
            answer
                .get("properties")
                .and_then(|properties| properties.get(&self.field))
        });
        found
            .and_then(scalar_text)
            .is_some_and(|text| self.values.contains(&text))
    }
}

/// A single value as text, for comparisons: strings, numbers, booleans, node references.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        other => as_text(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(body: Value) -> Result<QuerySpec, ManagementError> {
        QuerySpec::from_body(Some(body))
    }

    #[test]
    fn defaults_and_paging() {
        let default = QuerySpec::from_body(None).unwrap();
        assert_eq!(
            default.store_page(),
            Page {
                offset: 0,
                limit: 50
            }
        );
        let paged = query(json!({"@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "@type": "QuerySpec", "offset": 2, "limit": 3, "sortOrder": "ASC", "filterExpression": []})).unwrap();
        assert_eq!(
            paged.store_page(),
            Page {
                offset: 2,
                limit: 3
            }
        );
    }

    #[test]
    fn unsupported_parts_are_refused_with_the_field_named() {
        let detail = |body| query(body).unwrap_err().detail().to_owned();
        assert!(detail(json!({"sortField": "createdAt"})).contains("sortField is not supported"));
        assert!(detail(json!({"limit": "ten"})).contains("limit must be a non-negative integer"));
        assert!(detail(json!({"filterExpression": [{"operandLeft": "id", "operator": "like", "operandRight": "a%"}]}))
            .contains("filterExpression[0].operator \"like\" is not supported"));
        assert!(
            detail(json!({"filterExpression": [{"operator": "=", "operandRight": "a"}]}))
                .contains("filterExpression[0].operandLeft is required")
        );
    }

    #[test]
    fn filters_compare_top_level_fields_and_properties() {
        let answers = vec![
            json!({"@id": "a", "state": "STARTED", "properties": {"name": "x"}}),
            json!({"@id": "b", "state": "TERMINATED", "properties": {"name": "y"}}),
            json!({"@id": "c", "state": "STARTED", "properties": {"name": "y"}}),
        ];
        let ids = |body| {
            let spec = query(body).unwrap();
            assert_eq!(spec.store_page(), Page::ALL);
            spec.select(answers.clone())
                .iter()
                .map(|answer| answer["@id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(
                json!({"filterExpression": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=", "operandRight": "b"}]})
            ),
            ["b"]
        );
        assert_eq!(
            ids(
                json!({"filterExpression": {"operandLeft": "state", "operator": "=", "operandRight": "STARTED"}})
            ),
            ["a", "c"]
        );
        assert_eq!(
            ids(
                json!({"filterExpression": [{"operandLeft": "edc:name", "operator": "in", "operandRight": ["y"]}, {"operandLeft": "state", "operator": "=", "operandRight": "STARTED"}]})
            ),
            ["c"]
        );
        assert_eq!(
            ids(
                json!({"offset": 1, "filterExpression": [{"operandLeft": "@id", "operator": "in", "operandRight": ["a", "b", "c"]}]})
            ),
            ["b", "c"]
        );
    }
}
