//! The shipped template library, instantiated the way the connector will use it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tsunagu_contracts::{
    Contract, InstantiateError, Language, Library, ParameterError, ParameterKind, Template,
    terms_reference, verify_text,
};
use tsunagu_policy::{EvaluationContext, Policy};

/// The clause topics the BASC report and issue 4 ask every data-usage contract to cover.
const REQUIRED_CLAUSES: [&str; 12] = [
    "definitions",
    "data-covered",
    "purpose",
    "confidentiality",
    "data-accuracy",
    "retention-and-deletion",
    "onward-transfer",
    "audit",
    "fees",
    "liability",
    "term-and-termination",
    "governing-law",
];

const SHIPPED: [&str; 5] = [
    "battery-passport-access",
    "carbon-footprint-exchange",
    "due-diligence-disclosure",
    "recycling-traceability",
    "state-of-health-reuse",
];

const RECIPIENT_DID: &str = "did:web:recipient.example.com";

fn library() -> Library {
    Library::builtin().expect("the shipped templates load")
}

/// Values for exactly the parameters that have no default, chosen by type, so that the
/// rest of each template runs on its defaults.
fn required_values(template: &Template) -> BTreeMap<String, String> {
    template
        .parameters()
        .iter()
        .filter(|spec| spec.default.is_none())
        .map(|spec| {
            let value = match (&spec.kind, spec.name.as_str()) {
                (ParameterKind::Did, "recipient_did") => RECIPIENT_DID.to_owned(),
                (ParameterKind::Did, _) => "did:web:provider.example.com".to_owned(),
                (ParameterKind::Date { .. }, _) => "2027-04-01".to_owned(),
                (ParameterKind::String { .. }, name) => format!("Example value for {name}"),
                (other, name) => panic!("no test value for {name} of type {other:?}"),
            };
            (spec.name.clone(), value)
        })
        .collect()
}

fn instantiate(id: &str, extra: &[(&str, &str)]) -> Result<Contract, InstantiateError> {
    let library = library();
    let template = library.latest(id).expect("shipped template");
    let mut values = required_values(template);
    for (name, value) in extra {
        values.insert((*name).to_owned(), (*value).to_owned());
    }
    template.instantiate(&values)
}

fn default_contract(id: &str) -> Contract {
    instantiate(id, &[]).unwrap_or_else(|error| panic!("{id}: {error}"))
}

#[test]
fn the_builtin_library_lists_every_shipped_template_with_both_titles() {
    let list = library().list();
    let ids: Vec<&str> = list.iter().map(|summary| summary.id.as_str()).collect();
    assert_eq!(ids, SHIPPED);
    for summary in &list {
        assert_eq!(summary.version, "1.0.0");
        assert!(!summary.title.en.is_empty() && !summary.title.ja.is_empty());
        assert!(
            summary.title.ja.contains("契約書"),
            "{}: {}",
            summary.id,
            summary.title.ja
        );
    }
    assert!(
        library()
            .get("carbon-footprint-exchange", "1.0.0")
            .is_some()
    );
    assert!(
        library()
            .get("carbon-footprint-exchange", "2.0.0")
            .is_none()
    );
    assert!(library().get("carbon-footprint-exchange", "1.0").is_none());
}

#[test]
fn every_template_instantiates_with_defaults_in_both_languages() {
    for id in SHIPPED {
        let contract = default_contract(id);
        let template = library().latest(id).unwrap().clone();
        for language in Language::ALL {
            let markdown = contract.markdown(language);
            let html = contract.html(language);
            assert!(markdown.starts_with("# "), "{id}");
            assert!(
                html.contains(&format!("<h1>{}</h1>", template.title().get(language))),
                "{id}"
            );
            assert!(!markdown.contains("{{"), "{id}: unresolved placeholder");
            assert!(html.contains(&format!("<html lang=\"{}\">", language.tag())));
            assert!(html.contains("<h2>"), "{id}: {html}");
            // Every parameter appears in the schedule of particulars.
            assert_eq!(
                markdown
                    .split_once(match language {
                        Language::En => "## Schedule: Agreed Particulars",
                        Language::Ja => "## 別紙　合意事項",
                    })
                    .map(|(_, schedule)| schedule.lines().filter(|l| l.starts_with("- ")).count()),
                Some(template.parameters().len()),
                "{id}"
            );
        }
        assert!(contract.terms.markdown_en.contains("not legal advice"));
        assert!(contract.terms.markdown_ja.contains("法的助言ではない"));
        assert!(contract.terms.markdown_ja.contains("## 第1条（定義）"));
        assert!(
            contract
                .terms
                .markdown_en
                .contains("## Article 1 (Definitions)")
        );
        // Japanese text is Japanese: no English article headings leaked into it.
        assert!(!contract.terms.markdown_ja.contains("Article "), "{id}");
        assert!(!contract.terms.markdown_en.contains("第1条"), "{id}");
    }
}

#[test]
fn every_clause_topic_is_present_in_every_template() {
    for id in SHIPPED {
        let library = library();
        let template = library.latest(id).unwrap();
        let clause_ids: BTreeSet<&str> = template
            .clauses()
            .iter()
            .map(|clause| clause.id.as_str())
            .collect();
        for topic in REQUIRED_CLAUSES {
            assert!(clause_ids.contains(topic), "{id} lacks clause {topic}");
        }
        // And each clause is in the text under its article number, in both languages.
        let contract = default_contract(id);
        for (index, clause) in template.clauses().iter().enumerate() {
            let number = index + 1;
            assert!(
                contract
                    .terms
                    .markdown_en
                    .contains(&format!("## Article {number} ({})\n", clause.title.en))
            );
            assert!(
                contract
                    .terms
                    .markdown_ja
                    .contains(&format!("## 第{number}条（{}）\n", clause.title.ja))
            );
        }
    }
}

#[test]
fn every_policy_parses_and_carries_what_the_text_says() {
    for id in SHIPPED {
        let contract = default_contract(id);
        let policy = Policy::from_json(&contract.policy).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(policy.to_json(), contract.policy, "{id}: not canonical");
        assert_eq!(policy.permissions.len(), 1);
        let permission = &contract.policy["permission"][0];
        let constraints = permission["constraint"].as_array().unwrap();
        let constraint = |left: &str| {
            constraints
                .iter()
                .find(|constraint| constraint["leftOperand"] == left)
                .cloned()
        };
        assert_eq!(
            constraint("counterPartyId"),
            Some(
                json!({"leftOperand": "counterPartyId", "operator": "eq", "rightOperand": RECIPIENT_DID})
            )
        );
        let purpose = constraint("purpose").expect("purpose constraint");
        assert_eq!(
            purpose["rightOperand"],
            Value::from(contract.terms.parameters["purpose"].as_str())
        );
        assert_eq!(
            constraint("elapsedTime"),
            Some(
                json!({"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P365D"})
            )
        );
        let retention = contract.terms.parameters["retention_period"].clone();
        assert!(
            permission["duty"].as_array().unwrap().contains(
                &json!({"action": "delete", "constraint": [
                    {"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": retention}
                ]})
            ),
            "{id}"
        );
        assert_eq!(
            contract.policy["prohibition"],
            json!([{"action": "distribute"}]),
            "{id}: onward transfer is prohibited by default"
        );
        if id == "carbon-footprint-exchange" {
            assert_eq!(constraint("role"), None);
        } else {
            assert_eq!(constraint("role").unwrap()["operator"], "isAnyOf", "{id}");
        }
    }
}

fn context(
    counter_party: &str,
    role: &str,
    purpose: &str,
    days_since_signing: i64,
) -> EvaluationContext {
    let signed = Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap();
    EvaluationContext {
        now: signed + chrono::TimeDelta::days(days_since_signing),
        action: "use".into(),
        counter_party_id: counter_party.into(),
        counter_party_attributes: BTreeMap::from([
            ("role".to_owned(), vec![role.to_owned()]),
            ("membership".to_owned(), vec!["active".to_owned()]),
        ]),
        purpose: Some(purpose.into()),
        agreement_signed_at: Some(signed),
        use_count: Some(1),
    }
}

#[test]
fn the_derived_policy_permits_the_named_recipient_for_the_agreed_purpose_and_term_only() {
    let contract = instantiate(
        "state-of-health-reuse",
        &[("purpose", "repurposing-assessment"), ("term", "P90D")],
    )
    .unwrap();
    let policy = Policy::from_json(&contract.policy).unwrap();
    let allowed = context(RECIPIENT_DID, "reuseOperator", "repurposing-assessment", 30);
    assert!(policy.evaluate(&allowed).is_permit());
    let denied = [
        context(
            "did:web:someone-else.example",
            "reuseOperator",
            "repurposing-assessment",
            30,
        ),
        context(RECIPIENT_DID, "cellMaker", "repurposing-assessment", 30),
        context(RECIPIENT_DID, "reuseOperator", "reuse-assessment", 30),
        context(RECIPIENT_DID, "reuseOperator", "repurposing-assessment", 91),
        EvaluationContext {
            action: "distribute".into(),
            ..allowed.clone()
        },
    ];
    for ctx in denied {
        assert!(!policy.evaluate(&ctx).is_permit(), "{ctx:?}");
    }
}

#[test]
fn onward_transfer_permitted_lifts_the_prohibition_of_distribute() {
    for (choice, prohibited) in [
        ("prohibited", true),
        ("with-prior-consent", true),
        ("permitted", false),
    ] {
        let contract =
            instantiate("carbon-footprint-exchange", &[("onward_transfer", choice)]).unwrap();
        assert_eq!(
            contract.policy.get("prohibition").is_some(),
            prohibited,
            "{choice}"
        );
    }
    let permitted = instantiate(
        "carbon-footprint-exchange",
        &[("onward_transfer", "permitted")],
    )
    .unwrap();
    assert!(
        permitted
            .terms
            .markdown_en
            .contains("The Recipient may provide the Contract Data to Third Parties")
    );
    assert!(
        permitted
            .terms
            .markdown_ja
            .contains("利用目的の範囲内で本データを第三者に提供することができる")
    );
}

#[test]
fn passport_access_limits_the_number_of_retrievals() {
    let contract = instantiate("battery-passport-access", &[("max_retrievals", "25")]).unwrap();
    let constraints = contract.policy["permission"][0]["constraint"]
        .as_array()
        .unwrap();
    assert!(
        constraints
            .contains(&json!({"leftOperand": "count", "operator": "lteq", "rightOperand": 25}))
    );
    assert!(contract.terms.markdown_en.contains("no more than 25 times"));
    assert!(contract.terms.markdown_ja.contains("25回を上限とする"));
}

#[test]
fn parameters_are_substituted_in_words_in_each_language() {
    let contract = instantiate(
        "carbon-footprint-exchange",
        &[
            ("term", "P1Y6M"),
            ("fee", "1200000 JPY"),
            ("effective_date", "2027-04-01"),
            ("venue", "jcaa-arbitration-tokyo"),
        ],
    )
    .unwrap();
    let en = &contract.terms.markdown_en;
    let ja = &contract.terms.markdown_ja;
    assert!(en.contains("for 1 year and 6 months from the conclusion"));
    assert!(ja.contains("契約合意の成立日から1年6か月（以下「契約期間」という。）"));
    assert!(en.contains("a fee of JPY 1,200,000"));
    assert!(ja.contains("提供者に対し1,200,000円"));
    assert!(en.contains("takes effect on 1 April 2027"));
    assert!(ja.contains("2027年4月1日又は契約合意の成立日"));
    assert!(
        en.contains("Commercial Arbitration Rules of the Japan Commercial Arbitration Association")
    );
    assert!(ja.contains("一般社団法人日本商事仲裁協会の商事仲裁規則"));
    // Cross references follow the template's article numbering.
    assert!(en.contains("the data described in Article 2,"));
    assert!(ja.contains("「本データ」とは、第2条に定めるデータ"));
    assert!(contract.html_en.contains(
        "<li>Term (from the conclusion of the Contract Agreement): 1 year and 6 months (<code>P1Y6M</code>)</li>"
    ));
    assert!(
        contract
            .html_ja
            .contains("<li>契約期間（契約合意の成立日から）：1年6か月（<code>P1Y6M</code>）</li>")
    );
    assert!(
        contract.policy["permission"][0]["constraint"]
            .as_array()
            .unwrap()
            .contains(
                &json!({"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P1Y6M"})
            )
    );
}

#[test]
fn parameter_errors_name_the_parameter_and_produce_nothing() {
    /// Values to set, a value to leave out, and the start of the expected message.
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a str);
    let cases: [Case; 8] = [
        (&[("colour", "blue")], None, "unknown parameter \"colour\""),
        (
            &[],
            Some("recipient_did"),
            "parameter \"recipient_did\" is required and has no default",
        ),
        (
            &[("term", "P20Y")],
            None,
            "parameter \"term\": \"P20Y\" is out of range: it must be at most P3650D",
        ),
        (
            &[("term", "one year")],
            None,
            "parameter \"term\" must be an ISO 8601 duration such as P365D or P1Y6M, but \"one year\" is not",
        ),
        (
            &[("purpose", "marketing")],
            None,
            "parameter \"purpose\": \"marketing\" is not one of the allowed values cfp-calculation, cfp-declaration, cfp-plausibility-check",
        ),
        (
            &[("payment_days", "0")],
            None,
            "parameter \"payment_days\": \"0\" is out of range: it must lie between 1 and 120",
        ),
        (
            &[("fee", "100 GBP")],
            None,
            "parameter \"fee\": \"100 GBP\" is out of range: the currency must be one of JPY, EUR, USD",
        ),
        (
            &[("provider_did", "https://provider.example.com")],
            None,
            "parameter \"provider_did\" must be a DID such as did:web:example.com, but \"https://provider.example.com\" is not",
        ),
    ];
    for (extra, remove, expected) in cases {
        let library = library();
        let template = library.latest("carbon-footprint-exchange").unwrap();
        let mut values = required_values(template);
        for (name, value) in extra {
            values.insert((*name).to_owned(), (*value).to_owned());
        }
        if let Some(name) = remove {
            values.remove(name);
        }
        let error = template.instantiate(&values).unwrap_err();
        assert!(
            error.to_string().starts_with(expected),
            "got {error}, expected {expected}"
        );
        let InstantiateError::Parameter(parameter_error) = error else {
            panic!("not a parameter error");
        };
        let named = match &parameter_error {
            ParameterError::Unknown { name, .. }
            | ParameterError::Missing { name }
            | ParameterError::WrongType { name, .. }
            | ParameterError::OutOfRange { name, .. }
            | ParameterError::NotAllowed { name, .. } => name.clone(),
        };
        assert!(expected.contains(&format!("\"{named}\"")));
    }
}

#[test]
fn parameter_values_cannot_inject_html_or_markdown() {
    let hostile = "<script>alert(1)</script> **x** [a](javascript:alert(1)) <img src=x onerror=alert(2)> `c` # h";
    let contract = instantiate(
        "carbon-footprint-exchange",
        &[
            ("provider_name", hostile),
            (
                "product_scope",
                "**bold** _em_ [link](https://evil.example)",
            ),
        ],
    )
    .unwrap();
    for language in Language::ALL {
        let html = contract.html(language);
        for forbidden in [
            "<script",
            "<img",
            "<strong>",
            "<em>",
            "<a ",
            "href=",
            "<code>c</code>",
        ] {
            assert!(!html.contains(forbidden), "{forbidden} in {html}");
        }
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; **x** [a](javascript:alert(1))")
        );
        assert!(html.contains("**bold** _em_ [link](https://evil.example)"));
    }
    // The Markdown keeps the characters, escaped, so any other renderer shows them as text too.
    assert!(
        contract.terms.markdown_en.contains(
            "\\<script\\>alert(1)\\</script\\> \\*\\*x\\*\\* \\[a\\](javascript:alert(1))"
        )
    );
}

#[test]
fn the_same_template_and_parameters_give_byte_identical_contracts() {
    for id in SHIPPED {
        let first = default_contract(id);
        let second = default_contract(id);
        assert_eq!(first, second, "{id}");
        assert_eq!(first.policy.to_string(), second.policy.to_string());
        assert_eq!(
            serde_json::to_vec(&first).unwrap(),
            serde_json::to_vec(&second).unwrap()
        );
    }
    // Giving a default explicitly is the same contract as leaving it out.
    let implicit = default_contract("carbon-footprint-exchange");
    let explicit = instantiate("carbon-footprint-exchange", &[("term", "P365D")]).unwrap();
    assert_eq!(implicit.terms_reference, explicit.terms_reference);
    // Any change of a parameter changes the hash.
    let other = instantiate("carbon-footprint-exchange", &[("term", "P366D")]).unwrap();
    assert_ne!(implicit.terms_reference, other.terms_reference);
}

#[test]
fn the_terms_reference_round_trips_through_the_policy_and_an_agreement() {
    for id in SHIPPED {
        let contract = default_contract(id);
        let reference = &contract.terms_reference;
        assert!(
            reference.starts_with(&format!("{id}@1.0.0#sha256:")),
            "{reference}"
        );
        assert_eq!(reference.len(), id.len() + "@1.0.0#sha256:".len() + 64);
        assert_eq!(contract.terms.reference(), *reference);
        assert_eq!(terms_reference(&contract.policy).as_ref(), Some(reference));
        assert!(
            contract.policy["permission"][0]["duty"]
                .as_array()
                .unwrap()
                .contains(&json!({"action": "comply", "constraint": [
                    {"leftOperand": "contractTerms", "operator": "eq", "rightOperand": reference}
                ]}))
        );
        // As the provider would send it: the offer turned into an agreement in a DSP message.
        let mut agreement = contract.policy.clone();
        agreement["@type"] = json!("Agreement");
        agreement["@id"] = json!("urn:uuid:agreement-1");
        agreement["target"] = json!("urn:uuid:asset-1");
        agreement["assigner"] = json!("did:web:provider.example.com");
        agreement["assignee"] = json!(RECIPIENT_DID);
        let message = json!({
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "ContractAgreementMessage",
            "providerPid": "urn:uuid:p", "consumerPid": "urn:uuid:c",
            "agreement": agreement,
        });
        assert_eq!(terms_reference(&message).as_ref(), Some(reference));
        assert!(verify_text(&contract.terms, reference));
        assert_eq!(
            library().for_reference(reference).map(Template::id),
            Some(id)
        );
        let mut edited = contract.terms.clone();
        edited.markdown_en = edited.markdown_en.replacen("shall", "may", 1);
        assert!(!verify_text(&edited, reference));
        let mut other_parameters = contract.terms.clone();
        other_parameters
            .parameters
            .insert("term".into(), "P3650D".into());
        assert!(!verify_text(&other_parameters, reference));
    }
}

#[test]
fn a_contract_survives_storage_as_json() {
    let contract = default_contract("due-diligence-disclosure");
    let stored = serde_json::to_string(&contract).unwrap();
    let loaded: Contract = serde_json::from_str(&stored).unwrap();
    assert_eq!(loaded, contract);
    assert!(verify_text(&loaded.terms, &loaded.terms_reference));
}
