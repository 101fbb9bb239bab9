//! Checked decimal arithmetic. Supplier results arrive from other companies, so a value near
//! `Decimal::MAX` must become an error, never a panic in a connector.

use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

/// A computation left the range of `Decimal` (about ±7.9 × 10^28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("decimal arithmetic overflowed: a value exceeded ±7.9 × 10^28")]
pub struct Overflow;

#[inline]
pub(crate) fn add(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

#[inline]
pub(crate) fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_sub(b).ok_or(Overflow)
}

#[inline]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_mul(b).ok_or(Overflow)
}

/// Callers make sure that `b` is not zero; a zero divisor reports as an overflow.
#[inline]
pub(crate) fn div(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_div(b).ok_or(Overflow)
}

/// Decimal places kept in footprint results: 10^-10 kg CO2e is far below any meaningful
/// precision, and a bounded scale keeps numbers readable and multiplication on the fast path.
pub(crate) const RESULT_DECIMAL_PLACES: u32 = 10;

/// Decimal places kept in data-quality ratings, which are coarse 1-to-5 judgements.
pub(crate) const RATING_DECIMAL_PLACES: u32 = 2;

pub(crate) fn round_result(value: Decimal) -> Decimal {
    if value.is_zero() {
        return Decimal::ZERO;
    }
    value
        .round_dp_with_strategy(RESULT_DECIMAL_PLACES, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

pub(crate) fn round_rating(value: Decimal) -> Decimal {
    value
        .round_dp_with_strategy(RATING_DECIMAL_PLACES, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

/// Parses a decimal written plainly (`0.45`) or in scientific notation (`4.5e-1`), exactly.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    use std::str::FromStr;
    let text = text.trim();
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

#[cfg(test)]
pub(crate) fn d(text: &str) -> Decimal {
    parse_decimal(text).unwrap_or_else(|| panic!("test literal {text:?} is not a decimal"))
}
