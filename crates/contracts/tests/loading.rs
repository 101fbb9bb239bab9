//! What loading a template directory accepts and what it refuses.

use std::collections::BTreeMap;

use tsunagu_contracts::{Library, LoadError};

/// A small but complete shared file: one parameter, two clauses.
const COMMON: &str = r#"
preamble = { en = "{{provider_name}} and the Recipient agree.", ja = "{{provider_name}}及び受領者は合意する。" }
closing = { en = "Signed.", ja = "署名する。" }

[[parameter]]
name = "provider_name"
type = "string"
label = { en = "Provider", ja = "提供者" }

[[clause]]
id = "confidentiality"
title = { en = "Confidentiality", ja = "秘密保持" }
text = { en = "Keep the data of {{article:data-covered}} secret for {{period}}.", ja = "{{article:data-covered}}のデータを{{period}}秘密とする。" }
"#;

/// A template over `COMMON`; each test breaks one thing in it.
const TEMPLATE: &str = r#"
id = "custom-exchange"
version = "1.2.0"
title = { en = "Custom Exchange", ja = "独自交換契約書" }
description = { en = "A company's own template.", ja = "企業独自のテンプレート。" }
clauses = ["data-covered", "confidentiality"]

[policy]
purpose = "purpose"
retention = "period"

[[parameter]]
name = "period"
type = "duration"
default = "P30D"
label = { en = "Period", ja = "期間" }

[[parameter]]
name = "purpose"
type = "enum"
default = "research"
label = { en = "Purpose", ja = "目的" }
values = [{ value = "research", label = { en = "research", ja = "研究" } }]

[[clause]]
id = "data-covered"
title = { en = "Data", ja = "データ" }
text = { en = "Test data, used for {{purpose}}.", ja = "試験データ。{{purpose}}に利用する。" }
"#;

fn load(template: &str) -> Result<Library, LoadError> {
    Library::from_sources(Some(COMMON), &[("custom.toml", template)])
}

fn refused(template: &str) -> String {
    match load(template) {
        Ok(_) => panic!("loaded, but should have been refused:\n{template}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_well_formed_template_loads_and_instantiates() {
    let library = load(TEMPLATE).unwrap();
    let template = library.get("custom-exchange", "1.2.0").unwrap();
    let names: Vec<&str> = template
        .parameters()
        .iter()
        .map(|spec| spec.name.as_str())
        .collect();
    assert_eq!(names, ["provider_name", "period", "purpose"]);
    let values = BTreeMap::from([("provider_name".to_owned(), "ACME".to_owned())]);
    let contract = template.instantiate(&values).unwrap();
    assert!(
        contract
            .terms
            .markdown_en
            .contains("Keep the data of Article 1 secret for 30 days.")
    );
    assert!(
        contract
            .terms
            .markdown_ja
            .contains("第1条のデータを30日秘密とする。")
    );
    assert_eq!(
        contract.policy,
        serde_json::json!({"@type": "Set", "permission": [{"action": "use",
        "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}],
        "duty": [
            {"action": "comply", "constraint": [{"leftOperand": "contractTerms", "operator": "eq", "rightOperand": contract.terms_reference}]},
            {"action": "delete", "constraint": [{"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P30D"}]}
        ]}]})
    );
}

#[test]
fn an_unknown_clause_reference_is_refused() {
    let listed = TEMPLATE.replace(
        r#"clauses = ["data-covered", "confidentiality"]"#,
        r#"clauses = ["data-covered", "confidentiality", "warranty"]"#,
    );
    assert_eq!(
        refused(&listed),
        "custom.toml: clauses: unknown clause \"warranty\""
    );
    let cross_reference = TEMPLATE.replace("used for {{purpose}}.", "see {{article:fees}}.");
    assert_eq!(
        refused(&cross_reference),
        "custom.toml: clause \"data-covered\" (en): unknown clause \"fees\""
    );
    // A shared clause referring to a clause this template does not include.
    let without_data = TEMPLATE.split("[[clause]]").next().unwrap().replace(
        r#"clauses = ["data-covered", "confidentiality"]"#,
        r#"clauses = ["confidentiality"]"#,
    );
    assert_eq!(
        refused(&without_data),
        "custom.toml: clause \"confidentiality\" (en): unknown clause \"data-covered\""
    );
}

#[test]
fn a_placeholder_naming_an_undeclared_parameter_is_refused() {
    let template = TEMPLATE.replace(
        "試験データ。{{purpose}}に利用する。",
        "試験データ。{{purpose}}に{{volume}}利用する。",
    );
    assert_eq!(
        refused(&template),
        "custom.toml: clause \"data-covered\" (ja): placeholder {{volume}} names undeclared parameter \"volume\""
    );
    // A shared clause's placeholder must be declared too: drop the template's `period`.
    let without_period = TEMPLATE.replace("retention = \"period\"", "").replace(
        "name = \"period\"\ntype = \"duration\"\ndefault = \"P30D\"\nlabel = { en = \"Period\", ja = \"期間\" }\n",
        "name = \"other\"\ntype = \"duration\"\ndefault = \"P30D\"\nlabel = { en = \"Period\", ja = \"期間\" }\n",
    );
    assert_eq!(
        refused(&without_period),
        "custom.toml: clause \"confidentiality\" (en): placeholder {{period}} names undeclared parameter \"period\""
    );
    let malformed = TEMPLATE.replace("used for {{purpose}}.", "used for {{purpose}.");
    assert!(refused(&malformed).contains("is not closed"));
    let sentence = TEMPLATE.replace("used for {{purpose}}.", "{{purpose.sentence}}");
    assert!(refused(&sentence).contains("needs an enum parameter whose values have sentences"));
}

#[test]
fn incomplete_languages_are_refused_wherever_they_occur() {
    let cases = [
        (
            TEMPLATE.replace(", ja = \"試験データ。{{purpose}}に利用する。\"", ""),
            "custom.toml: clause \"data-covered\" text: incomplete languages: missing or empty: ja",
        ),
        (
            TEMPLATE.replace(
                "title = { en = \"Custom Exchange\", ja = \"独自交換契約書\" }",
                "title = { en = \"Custom Exchange\", ja = \"  \" }",
            ),
            "custom.toml: title: incomplete languages: missing or empty: ja",
        ),
        (
            TEMPLATE.replace(
                "label = { en = \"Period\", ja = \"期間\" }",
                "label = { ja = \"期間\" }",
            ),
            "custom.toml: parameter \"period\" label: incomplete languages: missing or empty: en",
        ),
        (
            TEMPLATE.replace(
                "label = { en = \"research\", ja = \"研究\" }",
                "label = { en = \"research\", ja = \"研究\", de = \"Forschung\" }",
            ),
            "custom.toml: parameter \"purpose\" value \"research\" label: incomplete languages: unsupported language de; only en and ja are rendered",
        ),
    ];
    for (template, expected) in cases {
        assert_eq!(refused(&template), expected);
    }
}

#[test]
fn bad_parameter_declarations_and_policy_sections_are_refused() {
    let cases = [
        (
            TEMPLATE.replace("default = \"P30D\"", "default = \"30 days\""),
            "custom.toml: parameter \"period\": the default is refused: parameter \"period\" must be an ISO 8601 duration",
        ),
        (
            TEMPLATE.replace("type = \"duration\"", "type = \"colour\""),
            "custom.toml: parameter \"period\": unknown type \"colour\"",
        ),
        (
            TEMPLATE.replace(
                "default = \"P30D\"",
                "default = \"P30D\"\nmin = \"P1Y\"\nmax = \"P1D\"",
            ),
            "custom.toml: parameter \"period\": min P1Y is longer than max P1D",
        ),
        (
            TEMPLATE.replace("retention = \"period\"", "retention = \"purpose\""),
            "custom.toml: [policy]: retention needs a duration parameter, but \"purpose\" is not one",
        ),
        (
            TEMPLATE.replace("retention = \"period\"", "onward_transfer = \"purpose\""),
            "custom.toml: [policy]: onward_transfer needs an enum parameter with the value \"permitted\"",
        ),
        (
            TEMPLATE.replace("version = \"1.2.0\"", "version = \"1.2\""),
            "custom.toml: version \"1.2\" is not a semantic version MAJOR.MINOR.PATCH",
        ),
        (
            TEMPLATE.replace("[policy]", "[policy]\ncolour = \"red\""),
            "custom.toml: not a valid template file: unknown field `colour`",
        ),
    ];
    for (template, expected) in cases {
        let message = refused(&template);
        assert!(
            message.starts_with(expected),
            "got {message}\nexpected {expected}"
        );
    }
}

#[test]
fn two_files_with_the_same_id_and_version_are_refused_and_versions_are_kept_apart() {
    let error = Library::from_sources(Some(COMMON), &[("a.toml", TEMPLATE), ("b.toml", TEMPLATE)])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "template custom-exchange@1.2.0 is defined twice (a.toml and b.toml)"
    );
    let newer = TEMPLATE.replace("version = \"1.2.0\"", "version = \"1.10.0\"");
    let library =
        Library::from_sources(Some(COMMON), &[("a.toml", TEMPLATE), ("b.toml", &newer)]).unwrap();
    assert_eq!(library.list().len(), 2);
    // Versions order numerically, not as text.
    assert_eq!(
        library.latest("custom-exchange").unwrap().version(),
        "1.10.0"
    );
    assert_eq!(
        library.get("custom-exchange", "1.2.0").unwrap().version(),
        "1.2.0"
    );
}

#[test]
fn from_dir_reads_common_and_templates_and_ignores_other_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("common.toml"), COMMON).unwrap();
    std::fs::write(dir.path().join("custom.toml"), TEMPLATE).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a template").unwrap();
    let library = Library::from_dir(dir.path()).unwrap();
    let ids: Vec<String> = library.list().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["custom-exchange"]);

    // The shipped files, copied into a directory, load the same way as the embedded ones.
    let shipped = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, shipped.path().join(path.file_name().unwrap())).unwrap();
    }
    let from_files = Library::from_dir(shipped.path()).unwrap();
    assert_eq!(from_files.list(), Library::builtin().unwrap().list());

    // A broken file is reported by name.
    std::fs::write(dir.path().join("broken.toml"), "id = ").unwrap();
    let error = Library::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        error.starts_with("broken.toml: not a valid template file"),
        "{error}"
    );
    assert!(matches!(
        Library::from_dir(&dir.path().join("missing")),
        Err(LoadError::Io { .. })
    ));
}
