//! Text in the two languages every template must carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A language of the contract text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Ja,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Ja];

    /// The BCP 47 tag, which is also the key in template files.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
        }
    }
}

/// The same text in English and in Japanese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub en: String,
    pub ja: String,
}

impl Localized {
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::En => &self.en,
            Language::Ja => &self.ja,
        }
    }

    /// Builds the pair from a template file's table, naming the languages that are missing
    /// or empty and refusing languages we do not render, so that a half-translated template
    /// is caught when it is loaded rather than when a contract is shown.
    pub(crate) fn from_table(table: &BTreeMap<String, String>) -> Result<Localized, String> {
        let unsupported: Vec<&str> = table
            .keys()
            .map(String::as_str)
            .filter(|key| !Language::ALL.iter().any(|language| language.tag() == *key))
            .collect();
        if !unsupported.is_empty() {
            return Err(format!(
                "unsupported language {}; only en and ja are rendered",
                unsupported.join(", ")
            ));
        }
        let missing: Vec<&str> = Language::ALL
            .iter()
            .map(|language| language.tag())
            .filter(|tag| table.get(*tag).is_none_or(|text| text.trim().is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing or empty: {}", missing.join(", ")));
        }
        Ok(Localized {
            en: table["en"].clone(),
            ja: table["ja"].clone(),
        })
    }
}
