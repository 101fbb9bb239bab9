//! The XML Schema datatypes that ODRL right operands use: `xsd:dateTime` and
//! `xsd:duration`. Parsing is lenient in the ways real policies need and never panics.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta, Utc};

/// Parses an `xsd:dateTime` as policies actually write it.
///
/// Accepted: RFC 3339 (`2023-12-31T06:00:00Z`, `...+09:00`, fractional seconds); a
/// dateTime without seconds (`2023-12-31T06:00Z`, which the official DSP 2025-1 examples
/// use); a dateTime without a timezone, read as UTC because a policy has no other place
/// to be; and a plain date (`2023-12-31`, optionally with a timezone), read as the start
/// of that day.
pub(crate) fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    let (body, offset) = split_timezone(text)?;
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(body, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(body, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
        })?;
    // Subtracting the offset with a checked operation keeps dates at the edge of chrono's
    // range from overflowing.
    let utc = naive.checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))?;
    Some(utc.and_utc())
}

/// Splits a trailing `Z` or `±hh:mm` off `text`; no timezone means UTC.
fn split_timezone(text: &str) -> Option<(&str, FixedOffset)> {
    if let Some(body) = text.strip_suffix(['Z', 'z']) {
        return Some((body, FixedOffset::east_opt(0)?));
    }
    let bytes = text.as_bytes();
    let len = bytes.len();
    // Only a sign six bytes from the end followed by `hh:mm` is a timezone; the dashes of
    // a plain date never have a colon three bytes from the end. Slicing at an ASCII byte
    // is always on a character boundary.
    if len > 6 && matches!(bytes[len - 6], b'+' | b'-') && bytes[len - 3] == b':' {
        let digits = [len - 5, len - 4, len - 2, len - 1];
        if !digits.iter().all(|&i| bytes[i].is_ascii_digit()) {
            return None;
        }
        let sign = if bytes[len - 6] == b'-' { -1 } else { 1 };
        let hours: i32 = text[len - 5..len - 3].parse().ok()?;
        let minutes: i32 = text[len - 2..].parse().ok()?;
        if !(0..60).contains(&minutes) {
            return None;
        }
        let offset = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
        return Some((&text[..len - 6], offset));
    }
    Some((text, FixedOffset::east_opt(0)?))
}

/// Parses an `xsd:duration` such as `P30D`, `PT1H`, `P1Y2M3DT4H5M6.5S` or `-P1D`.
///
/// A duration with years or months has no fixed length; because policies compare it with
/// a span of real time, we count a year as 365 days and a month as 30 days. The crate
/// documentation states the same rule for users.
pub(crate) fn parse_duration(text: &str) -> Option<TimeDelta> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P')?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    const SECOND: i128 = 1_000_000_000;
    const DAY: i128 = 86_400 * SECOND;
    let mut nanos: i128 = 0;
    let mut components = 0;
    components += add_components(
        date_part,
        &[('Y', 365 * DAY), ('M', 30 * DAY), ('D', DAY)],
        false,
        &mut nanos,
    )?;
    if let Some(time) = time_part {
        let units = [('H', 3_600 * SECOND), ('M', 60 * SECOND), ('S', SECOND)];
        let added = add_components(time, &units, true, &mut nanos)?;
        if added == 0 {
            return None;
        }
        components += added;
    }
    if components == 0 {
        return None;
    }
    if negative {
        nanos = -nanos;
    }
    let seconds = i64::try_from(nanos.div_euclid(SECOND)).ok()?;
    let subsecond = u32::try_from(nanos.rem_euclid(SECOND)).ok()?;
    TimeDelta::new(seconds, subsecond)
}

/// Adds the components of one part of a duration (`1Y2M3D` or `4H5M6S`) to `total`.
/// `units` lists the designators in the order they must appear, with their length in
/// nanoseconds. Only seconds may have a fraction. Returns how many components were read.
fn add_components(
    mut part: &str,
    units: &[(char, i128)],
    last_may_be_fractional: bool,
    total: &mut i128,
) -> Option<usize> {
    let mut next_unit = 0;
    let mut count = 0;
    while !part.is_empty() {
        let end = part.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, rest) = part.split_at(end);
        let designator = rest.chars().next()?;
        let offset = units[next_unit..]
            .iter()
            .position(|(d, _)| *d == designator)?;
        let index = next_unit + offset;
        let unit = units[index].1;
        let fractional_allowed = last_may_be_fractional && index == units.len() - 1;
        *total = total.checked_add(component_nanos(number, unit, fractional_allowed)?)?;
        next_unit = index + 1;
        count += 1;
        part = &rest[designator.len_utf8()..];
    }
    Some(count)
}

/// The length in nanoseconds of `number` units of `unit` nanoseconds each.
fn component_nanos(number: &str, unit: i128, fractional_allowed: bool) -> Option<i128> {
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) if fractional_allowed && !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (number, ""),
    };
    if whole.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i128 = whole.parse::<u64>().ok()?.into();
    let mut nanos = whole.checked_mul(unit)?;
    // Fractions finer than a nanosecond are dropped; nothing in a policy needs them.
    let digits: String = fraction.chars().take(9).collect();
    if !digits.is_empty() {
        let scale = 10_i128.pow(9 - digits.len() as u32);
        let fraction_nanos = digits.parse::<i128>().ok()?.checked_mul(scale)?;
        nanos = nanos.checked_add(fraction_nanos.checked_mul(unit)? / 1_000_000_000)?;
    }
    Some(nanos)
}

/// Writes a span as an `xsd:duration` in days, hours, minutes and whole seconds, for deny
/// reasons.
pub(crate) fn format_duration(span: TimeDelta) -> String {
    let negative = span < TimeDelta::zero();
    let total = span.num_seconds().unsigned_abs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3_600,
        total % 3_600 / 60,
        total % 60,
    );
    let mut out = String::from(if negative { "-P" } else { "P" });
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if hours > 0 || minutes > 0 || seconds > 0 || days == 0 {
        out.push('T');
        if hours > 0 {
            out.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            out.push_str(&format!("{minutes}M"));
        }
        if seconds > 0 || (hours == 0 && minutes == 0) {
            out.push_str(&format!("{seconds}S"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn date_times_in_every_accepted_spelling() {
        let cases = [
            ("2023-12-31T06:00:00Z", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31T06:00:00.250Z", Some("2023-12-31T06:00:00.250Z")),
            ("2023-12-31T15:00:00+09:00", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31T06:00Z", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31T15:00+09:00", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31T01:00-05:00", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31T06:00:00", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31T06:00", Some("2023-12-31T06:00:00Z")),
            ("2023-12-31", Some("2023-12-31T00:00:00Z")),
            ("2023-12-31Z", Some("2023-12-31T00:00:00Z")),
            ("  2023-12-31  ", Some("2023-12-31T00:00:00Z")),
            ("2023-12-31T06:00+25:00", None),
            ("2023-13-01", None),
            ("yesterday", None),
            ("", None),
            ("+00:00", None),
            ("2023-12-31T06:00+-1:00", None),
            ("ééééééé+09:00", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_date_time(text), expected.map(utc), "{text}");
        }
    }

    #[test]
    fn durations_in_every_accepted_spelling() {
        let day = 86_400;
        let cases: [(&str, Option<i64>); 18] = [
            ("P30D", Some(30 * day)),
            ("PT1H", Some(3_600)),
            ("PT90M", Some(5_400)),
            ("PT45S", Some(45)),
            ("P1Y", Some(365 * day)),
            ("P2M", Some(60 * day)),
            (
                "P1Y2M3DT4H5M6S",
                Some((365 + 60 + 3) * day + 4 * 3_600 + 5 * 60 + 6),
            ),
            ("-P1D", Some(-day)),
            ("P0D", Some(0)),
            ("P", None),
            ("PT", None),
            ("P1DT", None),
            ("P1H", None),
            ("PT1D", None),
            ("P1D2Y", None),
            ("P1.5D", None),
            ("30D", None),
            ("P99999999999999999999Y", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_duration(text),
                expected.map(TimeDelta::seconds),
                "{text}"
            );
        }
        assert_eq!(
            parse_duration("PT1.5S"),
            Some(TimeDelta::milliseconds(1_500))
        );
        assert_eq!(parse_duration("PT0.000000001S"), TimeDelta::new(0, 1));
    }

    #[test]
    fn durations_are_formatted_for_people() {
        let cases = [
            (0, "PT0S"),
            (45, "PT45S"),
            (3_600, "PT1H"),
            (86_400, "P1D"),
            (86_400 * 3 + 3_600 * 4 + 5, "P3DT4H5S"),
            (-90, "-PT1M30S"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(format_duration(TimeDelta::seconds(seconds)), expected);
        }
    }
}
