//! Template files: their TOML form, the checks a template passes when it is loaded, and the
//! library that holds the loaded templates.
//!
//! A directory of templates holds any number of `<name>.toml` template files and at most
//! one `common.toml` with the clauses and parameters several templates share. A template
//! lists its clauses by id in the order they appear; an id is looked up first among the
//! template's own clauses (so a template can replace a shared clause) and then among the
//! shared ones. A template gets a shared parameter when one of its clauses or its policy
//! section uses it; declaring a parameter of the same name replaces the shared declaration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::localized::{Language, Localized};
use crate::parameter::{EnumValue, ParameterKind, ParameterSpec};
use crate::policy::PolicySpec;
use crate::render::{Segment, segments};

/// The name of the shared clause file in a template directory.
pub const COMMON_FILE: &str = "common.toml";

/// The templates shipped with tsunagu, embedded so that the binary needs no files.
const BUILTIN: [(&str, &str); 5] = [
    (
        "carbon-footprint-exchange.toml",
        include_str!("../templates/carbon-footprint-exchange.toml"),
    ),
    (
        "due-diligence-disclosure.toml",
        include_str!("../templates/due-diligence-disclosure.toml"),
    ),
    (
        "battery-passport-access.toml",
        include_str!("../templates/battery-passport-access.toml"),
    ),
    (
        "state-of-health-reuse.toml",
        include_str!("../templates/state-of-health-reuse.toml"),
    ),
    (
        "recycling-traceability.toml",
        include_str!("../templates/recycling-traceability.toml"),
    ),
];
const BUILTIN_COMMON: &str = include_str!("../templates/common.toml");

/// One article of a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clause {
    /// A stable id such as `confidentiality`, by which templates include the clause and
    /// tests and tools find it whatever its article number.
    pub id: String,
    pub title: Localized,
    /// Markdown with placeholders: `{{name}}` (a parameter's value in words),
    /// `{{name.sentence}}` (the sentence of the chosen enum value) and
    /// `{{article:clause-id}}` (the number of another article of the same template).
    pub text: Localized,
}

/// A loaded, checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub(crate) id: String,
    pub(crate) version: String,
    version_order: (u64, u64, u64),
    pub(crate) title: Localized,
    pub(crate) description: Localized,
    pub(crate) preamble: Localized,
    pub(crate) closing: Localized,
    pub(crate) parameters: Vec<ParameterSpec>,
    pub(crate) clauses: Vec<Clause>,
    pub(crate) policy: PolicySpec,
}

impl Template {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The semantic version, `MAJOR.MINOR.PATCH`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn title(&self) -> &Localized {
        &self.title
    }

    pub fn description(&self) -> &Localized {
        &self.description
    }

    /// The parameters in the order a form should show them.
    pub fn parameters(&self) -> &[ParameterSpec] {
        &self.parameters
    }

    /// The articles in order; article `n` is `clauses()[n - 1]`.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    pub fn summary(&self) -> TemplateSummary {
        TemplateSummary {
            id: self.id.clone(),
            version: self.version.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
        }
    }
}

/// What `Library::list` shows of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateSummary {
    pub id: String,
    pub version: String,
    pub title: Localized,
    pub description: Localized,
}

/// A set of loaded templates, keyed by id and version.
#[derive(Debug, Clone, Default)]
pub struct Library {
    templates: BTreeMap<(String, (u64, u64, u64)), Template>,
}

impl Library {
    /// The templates shipped with tsunagu (`crates/contracts/templates`).
    pub fn builtin() -> Result<Library, LoadError> {
        Library::from_sources(Some(BUILTIN_COMMON), &BUILTIN)
    }

    /// A company's own templates: every `*.toml` file of `dir`, with `common.toml` (if
    /// present) as the shared clauses. Subdirectories and other files are ignored.
    pub fn from_dir(dir: &Path) -> Result<Library, LoadError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LoadError::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.is_file() && path.extension().is_some_and(|ext| ext == "toml") {
                files.push(path);
            }
        }
        // Sorted, so that which of two duplicates is reported first does not depend on
        // the order the file system lists them in.
        files.sort();
        let mut common = None;
        let mut templates = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == COMMON_FILE {
                common = Some(text);
            } else {
                templates.push((name, text));
            }
        }
        let borrowed: Vec<(&str, &str)> = templates
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str()))
            .collect();
        Library::from_sources(common.as_deref(), &borrowed)
    }

    /// Templates from text: `common` is the shared clause file, `templates` are pairs of a
    /// file name (used in error messages) and the file's text.
    pub fn from_sources(
        common: Option<&str>,
        templates: &[(&str, &str)],
    ) -> Result<Library, LoadError> {
        let common = match common {
            Some(text) => load_common(text)?,
            None => Common::default(),
        };
        let mut library = Library::default();
        let mut sources: BTreeMap<(String, (u64, u64, u64)), String> = BTreeMap::new();
        for (file, text) in templates {
            let template = load_template(file, text, &common)?;
            let key = (template.id.clone(), template.version_order);
            if let Some(first) = sources.get(&key) {
                return Err(LoadError::Duplicate {
                    id: template.id,
                    version: template.version,
                    first: first.clone(),
                    second: (*file).to_owned(),
                });
            }
            sources.insert(key.clone(), (*file).to_owned());
            library.templates.insert(key, template);
        }
        Ok(library)
    }

    /// Every template, ordered by id and then by version.
    pub fn list(&self) -> Vec<TemplateSummary> {
        self.templates.values().map(Template::summary).collect()
    }

    pub fn get(&self, id: &str, version: &str) -> Option<&Template> {
        let order = parse_version(version)?;
        self.templates.get(&(id.to_owned(), order))
    }

    /// The template a terms reference names, for showing or re-checking an agreement's text.
    pub fn for_reference(&self, reference: &str) -> Option<&Template> {
        let parsed = crate::terms::TermsReference::parse(reference)?;
        self.get(&parsed.template_id, &parsed.template_version)
    }

    /// The highest version of a template.
    pub fn latest(&self, id: &str) -> Option<&Template> {
        self.templates
            .range((id.to_owned(), (0, 0, 0))..=(id.to_owned(), (u64::MAX, u64::MAX, u64::MAX)))
            .next_back()
            .map(|(_, template)| template)
    }
}

/// `MAJOR.MINOR.PATCH` with no leading zeros (semantic versioning without pre-release tags,
/// which a published contract template has no use for).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|part| {
        let ok = !part.is_empty()
            && part.bytes().all(|byte| byte.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        ok.then(|| part.parse::<u64>().ok()).flatten()
    });
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// Template ids and clause ids: lower case letters, digits and single hyphens, so that
/// they are safe in a terms reference, a URL and a Markdown code span.
fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

/// Parameter names: lower case letters, digits and `_`, starting with a letter.
fn is_parameter_name(text: &str) -> bool {
    text.bytes()
        .next()
        .is_some_and(|byte| byte.is_ascii_lowercase())
        && text.len() <= 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

type Table = BTreeMap<String, String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    id: Option<String>,
    version: Option<String>,
    title: Option<Table>,
    description: Option<Table>,
    preamble: Option<Table>,
    closing: Option<Table>,
    clauses: Option<Vec<String>>,
    policy: Option<RawPolicy>,
    #[serde(default)]
    parameter: Vec<RawParameter>,
    #[serde(default)]
    clause: Vec<RawClause>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClause {
    id: String,
    title: Table,
    text: Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    label: Table,
    default: Option<toml::Value>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    max_length: Option<usize>,
    values: Option<Vec<RawEnumValue>>,
    currencies: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnumValue {
    value: String,
    label: Table,
    sentence: Option<Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) purpose: Option<String>,
    pub(crate) term: Option<String>,
    pub(crate) retention: Option<String>,
    pub(crate) onward_transfer: Option<String>,
    pub(crate) counter_party: Option<String>,
    pub(crate) max_uses: Option<String>,
    #[serde(default)]
    pub(crate) roles: Vec<String>,
    #[serde(default)]
    pub(crate) membership: bool,
}

/// The shared clause file, checked on its own.
#[derive(Debug, Default)]
struct Common {
    preamble: Option<Localized>,
    closing: Option<Localized>,
    parameters: Vec<ParameterSpec>,
    clauses: BTreeMap<String, Clause>,
}

fn parse_file(file: &str, text: &str) -> Result<RawFile, LoadError> {
    toml::from_str(text).map_err(|error| LoadError::Syntax {
        file: file.to_owned(),
        message: error.message().to_owned(),
    })
}

fn localized(file: &str, field: &str, table: &Table) -> Result<Localized, LoadError> {
    Localized::from_table(table).map_err(|reason| LoadError::IncompleteLanguages {
        file: file.to_owned(),
        field: field.to_owned(),
        reason,
    })
}

fn required_localized(
    file: &str,
    field: &str,
    table: Option<&Table>,
) -> Result<Localized, LoadError> {
    match table {
        Some(table) => localized(file, field, table),
        None => Err(LoadError::Invalid {
            file: file.to_owned(),
            reason: format!("{field} is missing"),
        }),
    }
}

fn load_common(text: &str) -> Result<Common, LoadError> {
    let file = COMMON_FILE;
    let raw = parse_file(file, text)?;
    let invalid = |reason: String| LoadError::Invalid {
        file: file.to_owned(),
        reason,
    };
    if raw.id.is_some()
        || raw.version.is_some()
        || raw.title.is_some()
        || raw.description.is_some()
        || raw.clauses.is_some()
        || raw.policy.is_some()
    {
        return Err(invalid(
            "the shared clause file holds only preamble, closing, parameters and clauses"
                .to_owned(),
        ));
    }
    Ok(Common {
        preamble: raw
            .preamble
            .as_ref()
            .map(|table| localized(file, "preamble", table))
            .transpose()?,
        closing: raw
            .closing
            .as_ref()
            .map(|table| localized(file, "closing", table))
            .transpose()?,
        parameters: load_parameters(file, &raw.parameter)?,
        clauses: load_clauses(file, &raw.clause)?
            .into_iter()
            .map(|clause| (clause.id.clone(), clause))
            .collect(),
    })
}

fn load_clauses(file: &str, raw: &[RawClause]) -> Result<Vec<Clause>, LoadError> {
    let mut seen = BTreeSet::new();
    raw.iter()
        .map(|clause| {
            if !is_identifier(&clause.id) {
                return Err(LoadError::Invalid {
                    file: file.to_owned(),
                    reason: format!(
                        "clause id {:?} must use lower case letters, digits and hyphens",
                        clause.id
                    ),
                });
            }
            if !seen.insert(clause.id.clone()) {
                return Err(LoadError::Invalid {
                    file: file.to_owned(),
                    reason: format!("clause {:?} is defined twice", clause.id),
                });
            }
            Ok(Clause {
                id: clause.id.clone(),
                title: localized(
                    file,
                    &format!("clause {:?} title", clause.id),
                    &clause.title,
                )?,
                text: localized(file, &format!("clause {:?} text", clause.id), &clause.text)?,
            })
        })
        .collect()
}

fn load_parameters(file: &str, raw: &[RawParameter]) -> Result<Vec<ParameterSpec>, LoadError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for parameter in raw {
        if !seen.insert(parameter.name.clone()) {
            return Err(LoadError::InvalidParameter {
                file: file.to_owned(),
                parameter: parameter.name.clone(),
                reason: "declared twice".to_owned(),
            });
        }
        out.push(load_parameter(file, parameter)?);
    }
    Ok(out)
}

fn load_parameter(file: &str, raw: &RawParameter) -> Result<ParameterSpec, LoadError> {
    let name = raw.name.as_str();
    let invalid = |reason: String| LoadError::InvalidParameter {
        file: file.to_owned(),
        parameter: name.to_owned(),
        reason,
    };
    if !is_parameter_name(name) {
        return Err(invalid(
            "a parameter name uses lower case letters, digits and _ and starts with a letter"
                .to_owned(),
        ));
    }
    let label = localized(file, &format!("parameter {name:?} label"), &raw.label)?;
    // A bound or default may be written as a TOML integer or string; both mean its text.
    let as_text = |value: &Option<toml::Value>, what: &str| -> Result<Option<String>, LoadError> {
        match value {
            None => Ok(None),
            Some(toml::Value::String(text)) => Ok(Some(text.clone())),
            Some(toml::Value::Integer(number)) => Ok(Some(number.to_string())),
            Some(other) => Err(invalid(format!(
                "{what} must be a string or an integer, not {}",
                other.type_str()
            ))),
        }
    };
    let min = as_text(&raw.min, "min")?;
    let max = as_text(&raw.max, "max")?;
    let unused = |field: &str, present: bool| -> Result<(), LoadError> {
        if present {
            Err(invalid(format!(
                "{field} does not apply to a parameter of type {}",
                raw.kind
            )))
        } else {
            Ok(())
        }
    };
    let bounds_apply = matches!(raw.kind.as_str(), "integer" | "duration" | "date");
    unused("min/max", !bounds_apply && (min.is_some() || max.is_some()))?;
    unused(
        "max_length",
        raw.kind != "string" && raw.max_length.is_some(),
    )?;
    unused("values", raw.kind != "enum" && raw.values.is_some())?;
    unused(
        "currencies",
        raw.kind != "amount" && raw.currencies.is_some(),
    )?;
    let kind = match raw.kind.as_str() {
        "string" => ParameterKind::String {
            max_length: raw.max_length.unwrap_or(200),
        },
        "enum" => {
            let raw_values = raw.values.as_deref().unwrap_or_default();
            if raw_values.is_empty() {
                return Err(invalid("an enum needs at least one value".to_owned()));
            }
            let mut values = Vec::new();
            let mut codes = BTreeSet::new();
            for value in raw_values {
                if !is_identifier(&value.value) || !codes.insert(value.value.as_str()) {
                    return Err(invalid(format!(
                        "enum value {:?} must be unique and use lower case letters, digits and hyphens",
                        value.value
                    )));
                }
                let field = format!("parameter {name:?} value {:?}", value.value);
                values.push(EnumValue {
                    value: value.value.clone(),
                    label: localized(file, &format!("{field} label"), &value.label)?,
                    sentence: value
                        .sentence
                        .as_ref()
                        .map(|table| localized(file, &format!("{field} sentence"), table))
                        .transpose()?,
                });
            }
            if values.iter().any(|value| value.sentence.is_some())
                && values.iter().any(|value| value.sentence.is_none())
            {
                return Err(invalid(
                    "either every value of an enum has a sentence or none has".to_owned(),
                ));
            }
            ParameterKind::Enum { values }
        }
        "integer" => {
            let bound = |text: Option<&String>, fallback: i64| -> Result<i64, LoadError> {
                match text {
                    None => Ok(fallback),
                    Some(text) => text
                        .parse()
                        .map_err(|_| invalid(format!("bound {text:?} is not an integer"))),
                }
            };
            ParameterKind::Integer {
                min: bound(min.as_ref(), i64::MIN)?,
                max: bound(max.as_ref(), i64::MAX)?,
            }
        }
        "duration" => ParameterKind::Duration { min, max },
        "date" => ParameterKind::Date { min, max },
        "amount" => ParameterKind::Amount {
            currencies: raw.currencies.clone().unwrap_or_default(),
        },
        "did" => ParameterKind::Did,
        other => {
            return Err(invalid(format!(
                "unknown type {other:?}; expected string, enum, integer, duration, date, amount or did"
            )));
        }
    };
    check_bounds(&kind).map_err(invalid)?;
    let default = as_text(&raw.default, "default")?
        .map(|default| {
            kind.check(name, &default)
                .map_err(|error| invalid(format!("the default is refused: {error}")))
        })
        .transpose()?;
    Ok(ParameterSpec {
        name: name.to_owned(),
        label,
        kind,
        default,
    })
}

/// Bounds must be well formed and not the wrong way round, or every value would be refused.
fn check_bounds(kind: &ParameterKind) -> Result<(), String> {
    use crate::parameter::{Date, Duration};
    match kind {
        ParameterKind::Integer { min, max } if min > max => {
            Err(format!("min {min} is greater than max {max}"))
        }
        ParameterKind::Duration { min, max } => {
            let parse = |bound: &Option<String>| -> Result<Option<Duration>, String> {
                bound
                    .as_deref()
                    .map(|text| {
                        Duration::parse(text)
                            .ok_or_else(|| format!("bound {text:?} is not an ISO 8601 duration"))
                    })
                    .transpose()
            };
            match (parse(min)?, parse(max)?) {
                (Some(low), Some(high)) if low.nominal_seconds() > high.nominal_seconds() => {
                    Err(format!("min {low} is longer than max {high}"))
                }
                _ => Ok(()),
            }
        }
        ParameterKind::Date { min, max } => {
            for bound in [min, max].into_iter().flatten() {
                if Date::parse(bound).map(|date| date.to_string()).as_ref() != Some(bound) {
                    return Err(format!("bound {bound:?} is not a date written YYYY-MM-DD"));
                }
            }
            match (min, max) {
                (Some(low), Some(high)) if low > high => {
                    Err(format!("min {low} is later than max {high}"))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn load_template(file: &str, text: &str, common: &Common) -> Result<Template, LoadError> {
    let raw = parse_file(file, text)?;
    let invalid = |reason: String| LoadError::Invalid {
        file: file.to_owned(),
        reason,
    };
    let id = raw
        .id
        .clone()
        .ok_or_else(|| invalid("id is missing".into()))?;
    if !is_identifier(&id) {
        return Err(invalid(format!(
            "template id {id:?} must use lower case letters, digits and single hyphens"
        )));
    }
    let version = raw
        .version
        .clone()
        .ok_or_else(|| invalid("version is missing".into()))?;
    let version_order = parse_version(&version).ok_or_else(|| {
        invalid(format!(
            "version {version:?} is not a semantic version MAJOR.MINOR.PATCH"
        ))
    })?;
    let title = required_localized(file, "title", raw.title.as_ref())?;
    let description = required_localized(file, "description", raw.description.as_ref())?;
    let preamble = match (&raw.preamble, &common.preamble) {
        (Some(table), _) => localized(file, "preamble", table)?,
        (None, Some(shared)) => shared.clone(),
        (None, None) => return Err(invalid("preamble is missing".into())),
    };
    let closing = match (&raw.closing, &common.closing) {
        (Some(table), _) => localized(file, "closing", table)?,
        (None, Some(shared)) => shared.clone(),
        (None, None) => return Err(invalid("closing is missing".into())),
    };

    // Clauses, in the order the template lists them.
    let own_clauses: BTreeMap<String, Clause> = load_clauses(file, &raw.clause)?
        .into_iter()
        .map(|clause| (clause.id.clone(), clause))
        .collect();
    let order = raw
        .clauses
        .clone()
        .ok_or_else(|| invalid("clauses (the list of clause ids) is missing".into()))?;
    if order.is_empty() {
        return Err(invalid("a template needs at least one clause".into()));
    }
    let mut clauses = Vec::new();
    let mut listed = BTreeSet::new();
    for clause_id in &order {
        if !listed.insert(clause_id.as_str()) {
            return Err(invalid(format!("clause {clause_id:?} is listed twice")));
        }
        let clause = own_clauses
            .get(clause_id)
            .or_else(|| common.clauses.get(clause_id))
            .ok_or_else(|| LoadError::UnknownClause {
                file: file.to_owned(),
                place: "clauses".to_owned(),
                clause: clause_id.clone(),
            })?;
        clauses.push(clause.clone());
    }
    if let Some(unlisted) = own_clauses.keys().find(|id| !listed.contains(id.as_str())) {
        return Err(invalid(format!(
            "clause {unlisted:?} is defined but not listed in clauses"
        )));
    }

    // Parameters: the template's own, plus the shared ones its text or policy uses.
    let own_parameters = load_parameters(file, &raw.parameter)?;
    let mut used: BTreeSet<String> = BTreeSet::new();
    let texts = clauses
        .iter()
        .map(|clause| (clause.id.as_str(), &clause.text))
        .chain([("preamble", &preamble), ("closing", &closing)]);
    for (clause_id, text) in texts.clone() {
        for language in Language::ALL {
            let parsed =
                segments(text.get(language)).map_err(|reason| LoadError::BadPlaceholder {
                    file: file.to_owned(),
                    clause: clause_id.to_owned(),
                    language: language.tag(),
                    reason,
                })?;
            for segment in parsed {
                if let Segment::Parameter(name) | Segment::Sentence(name) = segment {
                    used.insert(name.to_owned());
                }
            }
        }
    }
    let raw_policy = raw
        .policy
        .as_ref()
        .ok_or_else(|| invalid("[policy] is missing".into()))?;
    used.extend(PolicySpec::parameter_names(raw_policy));
    let mut parameters: Vec<ParameterSpec> = common
        .parameters
        .iter()
        .filter(|shared| used.contains(&shared.name))
        .map(|shared| {
            own_parameters
                .iter()
                .find(|own| own.name == shared.name)
                .unwrap_or(shared)
                .clone()
        })
        .collect();
    for own in &own_parameters {
        if !parameters.iter().any(|taken| taken.name == own.name) {
            parameters.push(own.clone());
        }
    }

    // Every placeholder must name a declared parameter of a fitting type or a listed clause.
    for (clause_id, text) in texts {
        for language in Language::ALL {
            let bad = |reason: String| LoadError::BadPlaceholder {
                file: file.to_owned(),
                clause: clause_id.to_owned(),
                language: language.tag(),
                reason,
            };
            for segment in segments(text.get(language)).map_err(&bad)? {
                match segment {
                    Segment::Literal(_) => {}
                    Segment::Parameter(name) | Segment::Sentence(name) => {
                        let Some(spec) = parameters.iter().find(|spec| spec.name == name) else {
                            let placeholder = match segment {
                                Segment::Sentence(_) => format!("{name}.sentence"),
                                _ => name.to_owned(),
                            };
                            return Err(LoadError::UndeclaredParameter {
                                file: file.to_owned(),
                                clause: clause_id.to_owned(),
                                language: language.tag(),
                                placeholder,
                                parameter: name.to_owned(),
                            });
                        };
                        let has_sentences = matches!(&spec.kind, ParameterKind::Enum { values }
                            if values.iter().all(|value| value.sentence.is_some()));
                        if matches!(segment, Segment::Sentence(_)) && !has_sentences {
                            return Err(bad(format!(
                                "{{{{{name}.sentence}}}} needs an enum parameter whose values have sentences"
                            )));
                        }
                    }
                    Segment::Article(target) => {
                        if !listed.contains(target) {
                            return Err(LoadError::UnknownClause {
                                file: file.to_owned(),
                                place: format!("clause {clause_id:?} ({})", language.tag()),
                                clause: target.to_owned(),
                            });
                        }
                    }
                }
            }
        }
    }

    let policy =
        PolicySpec::load(raw_policy, &parameters).map_err(|reason| LoadError::InvalidPolicy {
            file: file.to_owned(),
            reason,
        })?;
    Ok(Template {
        id,
        version,
        version_order,
        title,
        description,
        preamble,
        closing,
        parameters,
        clauses,
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_identifiers() {
        assert_eq!(parse_version("1.10.0"), Some((1, 10, 0)));
        for bad in ["1.0", "1.0.0.0", "01.0.0", "1.0.0-rc1", "1..0", "v1.0.0"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
        assert!(is_identifier("carbon-footprint-exchange"));
        for bad in ["", "Carbon", "a--b", "-a", "a-", "a_b", "a b"] {
            assert!(!is_identifier(bad), "{bad}");
        }
        assert!(is_parameter_name("retention_period"));
        assert!(!is_parameter_name("1st") && !is_parameter_name("Name"));
    }
}
