//! Data-usage contracts made from published templates (BASC report §5.1 ⑦, "contract
//! template for data exchange").
//!
//! In the battery data space the terms of each exchange are decided between the two
//! companies, as in Catena-X, but from templates that everyone can read beforehand, so that a
//! small supplier does not have to negotiate a contract from scratch for every buyer. This
//! crate holds those templates and turns one, with the parameters the parties chose, into a
//! [`Contract`]:
//!
//! - the contract text in English and Japanese, as Markdown and as HTML;
//! - the ODRL policy that the connector puts into its catalog offer and enforces (purpose,
//!   term, counter-party, roles, retention duty, prohibition of onward transfer), derived from
//!   the same parameters as the text;
//! - a **terms reference** `<template id>@<version>#sha256:<hex>` over the text and parameters,
//!   which the policy carries as a `comply` duty, so that an agreement signed over the policy
//!   also fixes the text (see [`terms`] for the exact bytes hashed).
//!
//! Templates are TOML files: the shipped ones live in `crates/contracts/templates` and are
//! embedded ([`Library::builtin`]); a company can load its own from a directory
//! ([`Library::from_dir`]). Loading checks every template completely (both languages,
//! clause references, placeholders, parameter types, the policy section), and instantiation
//! checks every parameter, so that a template that loads and parameters that pass always give
//! a contract. The same template and parameters always give byte-identical output.
//!
//! What this crate must never do:
//! - perform IO other than reading the template directory it is given (no network, no
//!   clock: the effective date is a parameter like any other);
//! - let a parameter value change the structure of the text: values are escaped for
//!   Markdown, and raw HTML never reaches the HTML output;
//! - produce a policy that says something the text does not, or a contract from a value it
//!   did not check;
//! - present its templates as legal advice: every rendered text says, in both languages,
//!   that it is a model to be reviewed by the parties' counsel.
//!
//! Signing agreements and putting the policy into offers belong to the connector; this crate
//! only makes and checks the terms.

mod error;
mod localized;
mod parameter;
mod policy;
mod render;
mod template;
pub mod terms;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::{InstantiateError, LoadError, ParameterError};
pub use localized::{Language, Localized};
pub use parameter::{EnumValue, ParameterKind, ParameterSpec};
pub use policy::{ONWARD_TRANSFER_PERMITTED, TERMS_DUTY_ACTION, TERMS_LEFT_OPERAND};
pub use template::{COMMON_FILE, Clause, Library, Template, TemplateSummary};
pub use terms::{TermsBundle, TermsReference, terms_reference, verify_text};

/// A contract made from a template: the text, the policy, and the reference that binds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// Template, parameters and the Markdown text in both languages: what the hash covers.
    pub terms: TermsBundle,
    pub html_en: String,
    pub html_ja: String,
    /// Compact DSP JSON-LD ODRL policy (`@type` `Set` or `Offer`), with the terms reference as
    /// a `comply` duty of each permission.
    pub policy: Value,
    /// `<template id>@<version>#sha256:<hex>`, equal to `terms.reference()`.
    pub terms_reference: String,
}

impl Contract {
    pub fn markdown(&self, language: Language) -> &str {
        match language {
            Language::En => &self.terms.markdown_en,
            Language::Ja => &self.terms.markdown_ja,
        }
    }

    pub fn html(&self, language: Language) -> &str {
        match language {
            Language::En => &self.html_en,
            Language::Ja => &self.html_ja,
        }
    }
}

impl Template {
    /// Checks `values` against the declared parameters (the defaults fill in what is not
    /// given) and makes the contract. The first problem found is returned and nothing is
    /// produced: an unknown name first, then the declared parameters in order.
    pub fn instantiate(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<Contract, InstantiateError> {
        let checked = self.check_parameters(values)?;
        let markdown_en = render::markdown(self, &checked, Language::En);
        let markdown_ja = render::markdown(self, &checked, Language::Ja);
        let html_en = render::html(&markdown_en, &self.title.en, Language::En);
        let html_ja = render::html(&markdown_ja, &self.title.ja, Language::Ja);
        let terms = TermsBundle {
            template_id: self.id.clone(),
            template_version: self.version.clone(),
            parameters: checked,
            markdown_en,
            markdown_ja,
        };
        let terms_reference = terms.reference();
        let derived = self.policy.derive(&terms.parameters, &terms_reference);
        // Written back through the policy crate, so that the policy is in the one canonical
        // form every connector compares and stores.
        let policy = tsunagu_policy::Policy::from_json(&derived)?.to_json();
        Ok(Contract {
            terms,
            html_en,
            html_ja,
            policy,
            terms_reference,
        })
    }

    /// The canonical value of every parameter, or the first problem.
    pub fn check_parameters(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ParameterError> {
        if let Some(unknown) = values
            .keys()
            .find(|name| !self.parameters.iter().any(|spec| &spec.name == *name))
        {
            return Err(ParameterError::Unknown {
                name: unknown.clone(),
                declared: self
                    .parameters
                    .iter()
                    .map(|spec| spec.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut checked = BTreeMap::new();
        for spec in &self.parameters {
            let canonical = match (values.get(&spec.name), &spec.default) {
                (Some(given), _) => spec.kind.check(&spec.name, given)?,
                (None, Some(default)) => default.clone(),
                (None, None) => {
                    return Err(ParameterError::Missing {
                        name: spec.name.clone(),
                    });
                }
            };
            checked.insert(spec.name.clone(), canonical);
        }
        Ok(checked)
    }
}
