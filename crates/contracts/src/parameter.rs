//! Typed template parameters: what a template declares, how a value given at instantiation
//! is checked, and how a checked value is written into the English and Japanese text.
//!
//! Every value arrives as a string in its canonical textual form (`"30"`, `"P365D"`,
//! `"2027-04-01"`, `"1200.50 JPY"`, `"did:web:example.com"`), because that is what a form, a
//! management API body and a TOML default all have in common. The canonical form is also
//! what the terms hash covers, so two parties who agree on the strings agree on the hash.

use serde::Serialize;

use crate::error::ParameterError;
use crate::localized::{Language, Localized};

/// A parameter a template declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterSpec {
    /// The name placeholders use: lower case letters, digits and `_`.
    pub name: String,
    pub label: Localized,
    pub kind: ParameterKind,
    /// The canonical form of the default; `None` when the value must be given.
    pub default: Option<String>,
}

/// The type of a parameter and its bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParameterKind {
    /// Free text on one line, trimmed, at most `max_length` characters.
    String { max_length: usize },
    /// One of a fixed list of codes, each with bilingual labels.
    Enum { values: Vec<EnumValue> },
    /// A whole number within `min..=max`.
    Integer { min: i64, max: i64 },
    /// An ISO 8601 duration (`P365D`, `P1Y6M`, `PT12H`), within the optional bounds.
    Duration {
        min: Option<String>,
        max: Option<String>,
    },
    /// A calendar date written `YYYY-MM-DD`, within the optional bounds.
    Date {
        min: Option<String>,
        max: Option<String>,
    },
    /// A decimal amount and an ISO 4217 currency code: `1200.50 JPY`. `currencies`, when not
    /// empty, lists the currencies allowed.
    Amount { currencies: Vec<String> },
    /// A decentralised identifier (`did:web:...`, `did:key:...`) naming a party.
    Did,
}

/// One allowed value of an enum parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumValue {
    /// The code that goes into the policy and the hash, for example `cfp-calculation`.
    pub value: String,
    /// A short name for forms and the schedule of particulars.
    pub label: Localized,
    /// A full sentence for clauses that change with the value (`{{name.sentence}}`).
    pub sentence: Option<Localized>,
}

impl ParameterKind {
    /// What a value of this kind looks like, for error messages.
    pub(crate) fn expected(&self) -> &'static str {
        match self {
            ParameterKind::String { .. } => "text on one line",
            ParameterKind::Enum { .. } => "one of the listed values",
            ParameterKind::Integer { .. } => "a whole number such as 30",
            ParameterKind::Duration { .. } => "an ISO 8601 duration such as P365D or P1Y6M",
            ParameterKind::Date { .. } => "a date written YYYY-MM-DD",
            ParameterKind::Amount { .. } => {
                "an amount and an ISO 4217 currency such as \"1200.50 JPY\""
            }
            ParameterKind::Did => "a DID such as did:web:example.com",
        }
    }

    /// Checks a value and returns its canonical form.
    pub(crate) fn check(&self, name: &str, value: &str) -> Result<String, ParameterError> {
        let wrong_type = || ParameterError::WrongType {
            name: name.to_owned(),
            expected: self.expected(),
            value: value.to_owned(),
        };
        let out_of_range = |reason: String| ParameterError::OutOfRange {
            name: name.to_owned(),
            value: value.to_owned(),
            reason,
        };
        match self {
            ParameterKind::String { max_length } => {
                let trimmed = value.trim();
                if trimmed.is_empty() || trimmed.chars().any(char::is_control) {
                    return Err(wrong_type());
                }
                let length = trimmed.chars().count();
                if length > *max_length {
                    return Err(out_of_range(format!(
                        "it has {length} characters, at most {max_length} are allowed"
                    )));
                }
                Ok(trimmed.to_owned())
            }
            ParameterKind::Enum { values } => {
                if values.iter().any(|allowed| allowed.value == value) {
                    Ok(value.to_owned())
                } else {
                    Err(ParameterError::NotAllowed {
                        name: name.to_owned(),
                        value: value.to_owned(),
                        allowed: values
                            .iter()
                            .map(|allowed| allowed.value.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
            }
            ParameterKind::Integer { min, max } => {
                let number = parse_integer(value).ok_or_else(wrong_type)?;
                if number < *min || number > *max {
                    return Err(out_of_range(format!("it must lie between {min} and {max}")));
                }
                Ok(number.to_string())
            }
            ParameterKind::Duration { min, max } => {
                let duration = Duration::parse(value).ok_or_else(wrong_type)?;
                let seconds = duration.nominal_seconds();
                if let Some(min) = min.as_deref().and_then(Duration::parse) {
                    if seconds < min.nominal_seconds() {
                        return Err(out_of_range(format!("it must be at least {min}")));
                    }
                }
                if let Some(max) = max.as_deref().and_then(Duration::parse) {
                    if seconds > max.nominal_seconds() {
                        return Err(out_of_range(format!("it must be at most {max}")));
                    }
                }
                Ok(duration.to_string())
            }
            ParameterKind::Date { min, max } => {
                let date = Date::parse(value).ok_or_else(wrong_type)?;
                let canonical = date.to_string();
                // Canonical dates compare correctly as strings.
                if let Some(min) = min {
                    if canonical.as_str() < min.as_str() {
                        return Err(out_of_range(format!("it must be {min} or later")));
                    }
                }
                if let Some(max) = max {
                    if canonical.as_str() > max.as_str() {
                        return Err(out_of_range(format!("it must be {max} or earlier")));
                    }
                }
                Ok(canonical)
            }
            ParameterKind::Amount { currencies } => {
                let amount = Amount::parse(value).ok_or_else(wrong_type)?;
                if !currencies.is_empty() && !currencies.contains(&amount.currency) {
                    return Err(out_of_range(format!(
                        "the currency must be one of {}",
                        currencies.join(", ")
                    )));
                }
                Ok(amount.to_string())
            }
            ParameterKind::Did => {
                if is_did(value) {
                    Ok(value.to_owned())
                } else {
                    Err(wrong_type())
                }
            }
        }
    }

    /// How a canonical value reads in running text of `language` (not yet escaped).
    pub(crate) fn display(&self, canonical: &str, language: Language) -> String {
        match self {
            ParameterKind::Enum { values } => values
                .iter()
                .find(|allowed| allowed.value == canonical)
                .map(|allowed| allowed.label.get(language).to_owned())
                .unwrap_or_else(|| canonical.to_owned()),
            ParameterKind::Duration { .. } => Duration::parse(canonical)
                .map(|duration| duration.in_words(language))
                .unwrap_or_else(|| canonical.to_owned()),
            ParameterKind::Date { .. } => Date::parse(canonical)
                .map(|date| date.in_words(language))
                .unwrap_or_else(|| canonical.to_owned()),
            ParameterKind::Amount { .. } => Amount::parse(canonical)
                .map(|amount| amount.in_words(language))
                .unwrap_or_else(|| canonical.to_owned()),
            ParameterKind::String { .. } | ParameterKind::Integer { .. } | ParameterKind::Did => {
                canonical.to_owned()
            }
        }
    }

    /// The sentence an enum value carries, for `{{name.sentence}}`.
    pub(crate) fn sentence(&self, canonical: &str, language: Language) -> Option<String> {
        match self {
            ParameterKind::Enum { values } => values
                .iter()
                .find(|allowed| allowed.value == canonical)
                .and_then(|allowed| allowed.sentence.as_ref())
                .map(|sentence| sentence.get(language).to_owned()),
            _ => None,
        }
    }

    /// Whether the schedule of particulars shows the code next to the words, because the
    /// code is what the policy carries and a reader should be able to match the two.
    pub(crate) fn shows_code(&self) -> bool {
        matches!(
            self,
            ParameterKind::Enum { .. } | ParameterKind::Duration { .. }
        )
    }
}

/// Parses a decimal integer without a leading `+`, leading zeros or spaces, so that each
/// number has exactly one canonical spelling.
fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty()
        || !digits.bytes().all(|byte| byte.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
        || text == "-0"
    {
        return None;
    }
    text.parse().ok()
}

/// `did:<method>:<method-specific-id>` with the character set of DID Core.
fn is_did(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("did:") else {
        return false;
    };
    let Some((method, id)) = rest.split_once(':') else {
        return false;
    };
    !method.is_empty()
        && method
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        && !id.is_empty()
        && text.len() <= 2048
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._:%-".contains(&byte))
        && !id.ends_with(':')
}

/// An ISO 8601 duration with whole-number components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duration {
    years: u64,
    months: u64,
    weeks: u64,
    days: u64,
    hours: u64,
    minutes: u64,
    seconds: u64,
}

impl Duration {
    pub(crate) fn parse(text: &str) -> Option<Duration> {
        let rest = text.strip_prefix('P')?;
        let (date_part, time_part) = match rest.split_once('T') {
            Some((date, time)) => (date, Some(time)),
            None => (rest, None),
        };
        let mut duration = Duration {
            years: 0,
            months: 0,
            weeks: 0,
            days: 0,
            hours: 0,
            minutes: 0,
            seconds: 0,
        };
        let mut any = false;
        {
            let mut slots: [(char, &mut u64); 4] = [
                ('Y', &mut duration.years),
                ('M', &mut duration.months),
                ('W', &mut duration.weeks),
                ('D', &mut duration.days),
            ];
            any |= read_components(date_part, &mut slots)?;
        }
        if let Some(time) = time_part {
            let mut slots: [(char, &mut u64); 3] = [
                ('H', &mut duration.hours),
                ('M', &mut duration.minutes),
                ('S', &mut duration.seconds),
            ];
            // A `T` must be followed by at least one time component.
            if !read_components(time, &mut slots)? {
                return None;
            }
            any = true;
        }
        any.then_some(duration)
    }

    /// The length in seconds with a year of 365 days and a month of 30 days, the convention
    /// the policy crate uses for `elapsedTime`, so that bounds here mean what the policy means.
    pub(crate) fn nominal_seconds(&self) -> u128 {
        const DAY: u128 = 86_400;
        u128::from(self.years) * 365 * DAY
            + u128::from(self.months) * 30 * DAY
            + u128::from(self.weeks) * 7 * DAY
            + u128::from(self.days) * DAY
            + u128::from(self.hours) * 3_600
            + u128::from(self.minutes) * 60
            + u128::from(self.seconds)
    }

    fn in_words(&self, language: Language) -> String {
        let parts: [(u64, &str, &str, &str); 7] = [
            (self.years, "year", "years", "年"),
            (self.months, "month", "months", "か月"),
            (self.weeks, "week", "weeks", "週間"),
            (self.days, "day", "days", "日"),
            (self.hours, "hour", "hours", "時間"),
            (self.minutes, "minute", "minutes", "分"),
            (self.seconds, "second", "seconds", "秒"),
        ];
        let present = parts.iter().filter(|part| part.0 > 0);
        match language {
            Language::En => present
                .map(|(count, one, many, _)| {
                    format!("{count} {}", if *count == 1 { one } else { many })
                })
                .collect::<Vec<_>>()
                .join(" and "),
            Language::Ja => present
                .map(|(count, _, _, unit)| format!("{count}{unit}"))
                .collect(),
        }
    }
}

/// Reads `<digits><designator>` pairs in the order the slots give; returns whether any was
/// present, or `None` for anything else (wrong order, repeats, missing digits, fractions).
fn read_components(text: &str, slots: &mut [(char, &mut u64)]) -> Option<bool> {
    let mut rest = text;
    let mut next_slot = 0;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let designator = rest[digits..].chars().next()?;
        let position = slots[next_slot..]
            .iter()
            .position(|(slot, _)| *slot == designator)?;
        let index = next_slot + position;
        *slots[index].1 = rest[..digits].parse().ok()?;
        next_slot = index + 1;
        rest = &rest[digits + 1..];
        any = true;
    }
    Some(any)
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "P")?;
        for (count, designator) in [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ] {
            if count > 0 {
                write!(f, "{count}{designator}")?;
            }
        }
        let time = [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')];
        if time.iter().any(|(count, _)| *count > 0) {
            write!(f, "T")?;
            for (count, designator) in time {
                if count > 0 {
                    write!(f, "{count}{designator}")?;
                }
            }
        }
        if self.nominal_seconds() == 0 {
            // All components zero: keep one so the result is still a valid duration.
            write!(f, "0D")?;
        }
        Ok(())
    }
}

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date {
    year: u32,
    month: u32,
    day: u32,
}

impl Date {
    pub(crate) fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = &text[range];
            part.bytes()
                .all(|byte| byte.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let date = Date {
            year: number(0..4)?,
            month: number(5..7)?,
            day: number(8..10)?,
        };
        let leap = (date.year % 4 == 0 && date.year % 100 != 0) || date.year % 400 == 0;
        let days_in_month = match date.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (date.year >= 1 && (1..=days_in_month).contains(&date.day)).then_some(date)
    }

    fn in_words(&self, language: Language) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match language {
            Language::En => format!(
                "{} {} {}",
                self.day,
                MONTHS[(self.month - 1) as usize],
                self.year
            ),
            Language::Ja => format!("{}年{}月{}日", self.year, self.month, self.day),
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A decimal amount with up to four decimal places and a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Amount {
    whole: String,
    fraction: String,
    currency: String,
}

impl Amount {
    pub(crate) fn parse(text: &str) -> Option<Amount> {
        let (number, currency) = text.split_once(' ')?;
        if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
            return None;
        }
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        let whole_ok = !whole.is_empty()
            && whole.len() <= 15
            && digits(whole)
            && (whole == "0" || !whole.starts_with('0'));
        let fraction_ok = digits(fraction)
            && fraction.len() <= 4
            && (number.contains('.') != fraction.is_empty());
        (whole_ok && fraction_ok).then(|| Amount {
            whole: whole.to_owned(),
            fraction: fraction.to_owned(),
            currency: currency.to_owned(),
        })
    }

    fn grouped_number(&self) -> String {
        let mut grouped = String::new();
        for (index, digit) in self.whole.chars().enumerate() {
            if index > 0 && (self.whole.len() - index) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if !self.fraction.is_empty() {
            grouped.push('.');
            grouped.push_str(&self.fraction);
        }
        grouped
    }

    fn in_words(&self, language: Language) -> String {
        let number = self.grouped_number();
        match (language, self.currency.as_str()) {
            (Language::Ja, "JPY") => format!("{number}円"),
            (Language::Ja, currency) => format!("{number} {currency}"),
            (Language::En, currency) => format!("{currency} {number}"),
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.fraction.is_empty() {
            write!(f, "{} {}", self.whole, self.currency)
        } else {
            write!(f, "{}.{} {}", self.whole, self.fraction, self.currency)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &ParameterKind, value: &str) -> Result<String, String> {
        kind.check("p", value).map_err(|error| error.to_string())
    }

    #[test]
    fn durations_parse_in_order_and_read_in_both_languages() {
        let kind = ParameterKind::Duration {
            min: Some("P1D".into()),
            max: Some("P10Y".into()),
        };
        assert_eq!(check(&kind, "P365D"), Ok("P365D".into()));
        assert_eq!(check(&kind, "P1Y6M"), Ok("P1Y6M".into()));
        assert_eq!(check(&kind, "P1DT12H"), Ok("P1DT12H".into()));
        for bad in [
            "365D", "P", "PT", "P1D2Y", "P1.5Y", "P1DT", "p1d", "P1Y1Y", "P-1D",
        ] {
            assert!(check(&kind, bad).is_err(), "{bad}");
        }
        assert_eq!(
            check(&kind, "PT1H"),
            Err("parameter \"p\": \"PT1H\" is out of range: it must be at least P1D".into())
        );
        assert!(check(&kind, "P10Y1D").is_err());
        let duration = Duration::parse("P1Y6M").unwrap();
        assert_eq!(duration.in_words(Language::En), "1 year and 6 months");
        assert_eq!(duration.in_words(Language::Ja), "1年6か月");
    }

    #[test]
    fn dates_follow_the_calendar() {
        let kind = ParameterKind::Date {
            min: Some("2024-01-01".into()),
            max: None,
        };
        assert_eq!(check(&kind, "2028-02-29"), Ok("2028-02-29".into()));
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-4-01",
            "2027-04-31",
            "20270401",
        ] {
            assert!(check(&kind, bad).is_err(), "{bad}");
        }
        assert!(check(&kind, "2023-12-31").is_err());
        let date = Date::parse("2027-04-01").unwrap();
        assert_eq!(date.in_words(Language::En), "1 April 2027");
        assert_eq!(date.in_words(Language::Ja), "2027年4月1日");
    }

    #[test]
    fn amounts_have_one_spelling() {
        let kind = ParameterKind::Amount {
            currencies: vec!["JPY".into(), "EUR".into()],
        };
        assert_eq!(check(&kind, "1200.50 JPY"), Ok("1200.50 JPY".into()));
        assert_eq!(check(&kind, "0 JPY"), Ok("0 JPY".into()));
        for bad in [
            "1200",
            "01 JPY",
            "1,200 JPY",
            "1. JPY",
            "1.23456 JPY",
            "12 jpy",
            "-5 JPY",
        ] {
            assert!(check(&kind, bad).is_err(), "{bad}");
        }
        assert!(check(&kind, "10 USD").is_err());
        let amount = Amount::parse("1234567.5 JPY").unwrap();
        assert_eq!(amount.in_words(Language::En), "JPY 1,234,567.5");
        assert_eq!(amount.in_words(Language::Ja), "1,234,567.5円");
    }

    #[test]
    fn integers_dids_and_strings() {
        let integer = ParameterKind::Integer { min: 1, max: 90 };
        assert_eq!(check(&integer, "30"), Ok("30".into()));
        for bad in ["030", "+3", "3.0", "", " 3"] {
            assert!(check(&integer, bad).is_err(), "{bad}");
        }
        assert!(check(&integer, "91").is_err());
        assert!(check(&ParameterKind::Did, "did:web:battery.example.com%3A8443").is_ok());
        for bad in ["did:web:", "did::x", "DID:web:x", "did:web:a b", "web:x"] {
            assert!(check(&ParameterKind::Did, bad).is_err(), "{bad}");
        }
        let text = ParameterKind::String { max_length: 5 };
        assert_eq!(check(&text, "  abc "), Ok("abc".into()));
        assert!(check(&text, "a\nb").is_err());
        assert!(check(&text, "   ").is_err());
        assert!(check(&text, "abcdef").is_err());
    }
}
