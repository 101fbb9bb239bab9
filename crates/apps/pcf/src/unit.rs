//! Units of activity data and declared units, and conversions within a dimension.
//!
//! Ouranos stores `amountRequiredUnit` as free text from a short list and never converts; a
//! bill of materials in grams over a supplier footprint per kilogram is silently wrong there.
//! Here every amount carries its unit and crossing a dimension is an error.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::num::{self, Overflow};

/// A unit of measure for activity data, bill-of-materials amounts and declared units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Gram,
    Kilogram,
    Tonne,
    KilowattHour,
    MegawattHour,
    Megajoule,
    Gigajoule,
    SquareMetre,
    CubicMetre,
    Litre,
    /// Freight work: one tonne carried over one kilometre.
    TonneKilometre,
    /// A countable item ("unit" in Ouranos).
    Piece,
}

/// What a unit measures. Conversions exist only within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Mass,
    Energy,
    Area,
    Volume,
    Freight,
    Count,
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Mass => "mass",
            Dimension::Energy => "energy",
            Dimension::Area => "area",
            Dimension::Volume => "volume",
            Dimension::Freight => "freight",
            Dimension::Count => "count",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    #[error(
        "unknown unit {input:?}; known units are kg, t, g, kWh, MWh, MJ, GJ, m2, m3, l, tkm and \
         piece, also spelt like kilogram, m², m^3, L, t*km, pcs or unit"
    )]
    Unknown { input: String },
    #[error(
        "cannot convert {from} to {to}: {from} measures {} and {to} measures {}",
        .from.dimension(),
        .to.dimension()
    )]
    Incompatible { from: Unit, to: Unit },
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl Unit {
    pub const ALL: [Unit; 12] = [
        Unit::Gram,
        Unit::Kilogram,
        Unit::Tonne,
        Unit::KilowattHour,
        Unit::MegawattHour,
        Unit::Megajoule,
        Unit::Gigajoule,
        Unit::SquareMetre,
        Unit::CubicMetre,
        Unit::Litre,
        Unit::TonneKilometre,
        Unit::Piece,
    ];

    /// The canonical ASCII symbol, used when a unit is stored or serialized.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Gram => "g",
            Unit::Kilogram => "kg",
            Unit::Tonne => "t",
            Unit::KilowattHour => "kWh",
            Unit::MegawattHour => "MWh",
            Unit::Megajoule => "MJ",
            Unit::Gigajoule => "GJ",
            Unit::SquareMetre => "m2",
            Unit::CubicMetre => "m3",
            Unit::Litre => "l",
            Unit::TonneKilometre => "tkm",
            Unit::Piece => "piece",
        }
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Unit::Gram | Unit::Kilogram | Unit::Tonne => Dimension::Mass,
            Unit::KilowattHour | Unit::MegawattHour | Unit::Megajoule | Unit::Gigajoule => {
                Dimension::Energy
            }
            Unit::SquareMetre => Dimension::Area,
            Unit::CubicMetre | Unit::Litre => Dimension::Volume,
            Unit::TonneKilometre => Dimension::Freight,
            Unit::Piece => Dimension::Count,
        }
    }

    /// The spelling Ouranos uses in `amountRequiredUnit` and `ghgDeclaredUnit`, for the units
    /// it knows; a value in another unit must be converted before it goes to Ouranos.
    pub fn ouranos_name(self) -> Option<&'static str> {
        match self {
            Unit::Kilogram => Some("kilogram"),
            Unit::Litre => Some("liter"),
            Unit::CubicMetre => Some("cubic-meter"),
            Unit::KilowattHour => Some("kilowatt-hour"),
            Unit::Megajoule => Some("megajoule"),
            Unit::TonneKilometre => Some("ton-kilometer"),
            Unit::SquareMetre => Some("square-meter"),
            Unit::Piece => Some("unit"),
            Unit::Gram | Unit::Tonne | Unit::MegawattHour | Unit::Gigajoule => None,
        }
    }

    /// How many base units (kg, MJ, m², m³, t·km, piece) one of this unit is.
    fn in_base_units(self) -> Decimal {
        match self {
            Unit::Gram => Decimal::new(1, 3),
            Unit::Kilogram => Decimal::ONE,
            Unit::Tonne => Decimal::new(1000, 0),
            // 1 kWh = 3.6 MJ exactly (1 W·s = 1 J).
            Unit::KilowattHour => Decimal::new(36, 1),
            Unit::MegawattHour => Decimal::new(3600, 0),
            Unit::Megajoule => Decimal::ONE,
            Unit::Gigajoule => Decimal::new(1000, 0),
            Unit::SquareMetre => Decimal::ONE,
            Unit::CubicMetre => Decimal::ONE,
            Unit::Litre => Decimal::new(1, 3),
            Unit::TonneKilometre => Decimal::ONE,
            Unit::Piece => Decimal::ONE,
        }
    }

    /// Converts `value` from this unit into `to`. Multiplies before dividing so that every
    /// conversion whose result is a finite decimal (all but a few energy ones such as
    /// MJ → kWh) is exact.
    pub fn convert(self, value: Decimal, to: Unit) -> Result<Decimal, UnitError> {
        if self == to {
            return Ok(value);
        }
        if self.dimension() != to.dimension() {
            return Err(UnitError::Incompatible { from: self, to });
        }
        let in_base = num::mul(value, self.in_base_units())?;
        let target = to.in_base_units();
        if target == Decimal::ONE {
            Ok(in_base)
        } else {
            Ok(num::div(in_base, target)?)
        }
    }
}

impl fmt::Display for Unit {
    /// Human spelling (`m²`, `t·km`); `symbol` is the stored form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::SquareMetre => "m²",
            Unit::CubicMetre => "m³",
            Unit::TonneKilometre => "t·km",
            other => other.symbol(),
        })
    }
}

impl FromStr for Unit {
    type Err = UnitError;

    /// Accepts the symbols in their SI case (so `MWh` is never mistaken for milliwatt-hours),
    /// a few common ASCII spellings, the Ouranos names, and full words in any case.
    fn from_str(input: &str) -> Result<Unit, UnitError> {
        let text = input.trim();
        let by_symbol = match text {
            "g" => Some(Unit::Gram),
            "kg" => Some(Unit::Kilogram),
            "t" => Some(Unit::Tonne),
            "kWh" | "kwh" | "KWh" => Some(Unit::KilowattHour),
            "MWh" => Some(Unit::MegawattHour),
            "MJ" => Some(Unit::Megajoule),
            "GJ" => Some(Unit::Gigajoule),
            "m2" | "m²" | "m^2" => Some(Unit::SquareMetre),
            "m3" | "m³" | "m^3" => Some(Unit::CubicMetre),
            "l" | "L" | "ℓ" => Some(Unit::Litre),
            "tkm" | "t*km" | "t·km" | "t.km" | "t km" => Some(Unit::TonneKilometre),
            "pcs" | "pc" => Some(Unit::Piece),
            _ => None,
        };
        if let Some(unit) = by_symbol {
            return Ok(unit);
        }
        let word = text.to_ascii_lowercase();
        let by_word = match word.as_str() {
            "gram" | "grams" => Unit::Gram,
            "kilogram" | "kilograms" => Unit::Kilogram,
            "tonne" | "tonnes" | "metric-ton" => Unit::Tonne,
            "kilowatt-hour" | "kilowatt-hours" | "kilowatt hour" => Unit::KilowattHour,
            "megawatt-hour" | "megawatt-hours" | "megawatt hour" => Unit::MegawattHour,
            "megajoule" | "megajoules" => Unit::Megajoule,
            "gigajoule" | "gigajoules" => Unit::Gigajoule,
            "square-meter" | "square-metre" | "square meter" | "square metre" => Unit::SquareMetre,
            "cubic-meter" | "cubic-metre" | "cubic meter" | "cubic metre" => Unit::CubicMetre,
            "liter" | "litre" | "liters" | "litres" => Unit::Litre,
            "ton-kilometer" | "tonne-kilometre" | "tonne-kilometer" | "ton-kilometre" => {
                Unit::TonneKilometre
            }
            "piece" | "pieces" | "unit" | "units" | "item" | "items" => Unit::Piece,
            _ => {
                return Err(UnitError::Unknown {
                    input: input.to_owned(),
                });
            }
        };
        Ok(by_word)
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Unit, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantity {
    pub value: Decimal,
    pub unit: Unit,
}

impl Quantity {
    pub fn new(value: Decimal, unit: Unit) -> Quantity {
        Quantity { value, unit }
    }

    /// The value expressed in `unit`.
    pub fn value_in(self, unit: Unit) -> Result<Decimal, UnitError> {
        self.unit.convert(self.value, unit)
    }

    pub fn to(self, unit: Unit) -> Result<Quantity, UnitError> {
        Ok(Quantity {
            value: self.value_in(unit)?,
            unit,
        })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::d;

    #[test]
    fn parses_the_spellings_in_use() {
        let cases = [
            ("kg", Unit::Kilogram),
            ("kilogram", Unit::Kilogram),
            ("Kilograms", Unit::Kilogram),
            ("t", Unit::Tonne),
            ("tonne", Unit::Tonne),
            ("g", Unit::Gram),
            ("kWh", Unit::KilowattHour),
            ("kwh", Unit::KilowattHour),
            ("kilowatt-hour", Unit::KilowattHour),
            ("MWh", Unit::MegawattHour),
            ("MJ", Unit::Megajoule),
            ("megajoule", Unit::Megajoule),
            ("GJ", Unit::Gigajoule),
            ("m2", Unit::SquareMetre),
            ("m^2", Unit::SquareMetre),
            ("m²", Unit::SquareMetre),
            ("square-meter", Unit::SquareMetre),
            ("m3", Unit::CubicMetre),
            ("m³", Unit::CubicMetre),
            ("cubic-meter", Unit::CubicMetre),
            ("L", Unit::Litre),
            ("l", Unit::Litre),
            ("liter", Unit::Litre),
            ("tkm", Unit::TonneKilometre),
            ("t*km", Unit::TonneKilometre),
            ("t·km", Unit::TonneKilometre),
            ("ton-kilometer", Unit::TonneKilometre),
            ("piece", Unit::Piece),
            ("unit", Unit::Piece),
            ("pcs", Unit::Piece),
            (" kg ", Unit::Kilogram),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Unit>(), Ok(expected), "parsing {input:?}");
        }
    }

    #[test]
    fn refuses_unknown_and_ambiguous_spellings() {
        // "mWh" would be milliwatt-hours and "ton" may be a short ton: neither is guessed.
        for input in ["", "mWh", "ton", "lbs", "kg CO2e", "MJ/kg"] {
            assert!(
                matches!(input.parse::<Unit>(), Err(UnitError::Unknown { .. })),
                "{input:?} should be refused"
            );
        }
    }

    #[test]
    fn every_unit_round_trips_through_its_symbol_and_serde() {
        for unit in Unit::ALL {
            assert_eq!(unit.symbol().parse::<Unit>(), Ok(unit));
            assert_eq!(unit.to_string().parse::<Unit>(), Ok(unit));
            let json = serde_json::to_string(&unit).unwrap();
            assert_eq!(json, format!("\"{}\"", unit.symbol()));
            assert_eq!(serde_json::from_str::<Unit>(&json).unwrap(), unit);
            if let Some(name) = unit.ouranos_name() {
                assert_eq!(name.parse::<Unit>(), Ok(unit));
            }
        }
    }

    #[test]
    fn converts_within_a_dimension() {
        let cases = [
            ("1", Unit::Tonne, Unit::Kilogram, "1000"),
            ("1500", Unit::Gram, Unit::Kilogram, "1.5"),
            ("2.5", Unit::Kilogram, Unit::Gram, "2500"),
            ("3", Unit::Gram, Unit::Tonne, "0.000003"),
            ("1", Unit::KilowattHour, Unit::Megajoule, "3.6"),
            ("36", Unit::Megajoule, Unit::KilowattHour, "10"),
            ("1", Unit::MegawattHour, Unit::KilowattHour, "1000"),
            (
                "1",
                Unit::Gigajoule,
                Unit::KilowattHour,
                "277.77777777777777777777777778",
            ),
            ("7.2", Unit::Gigajoule, Unit::MegawattHour, "2"),
            ("1", Unit::CubicMetre, Unit::Litre, "1000"),
            ("250", Unit::Litre, Unit::CubicMetre, "0.25"),
            ("12", Unit::TonneKilometre, Unit::TonneKilometre, "12"),
            ("4", Unit::SquareMetre, Unit::SquareMetre, "4"),
        ];
        for (value, from, to, expected) in cases {
            assert_eq!(
                from.convert(d(value), to).unwrap(),
                d(expected),
                "{value} {from} in {to}"
            );
        }
    }

    #[test]
    fn refuses_to_cross_dimensions_with_a_clear_message() {
        let err = Unit::Kilogram
            .convert(d("1"), Unit::KilowattHour)
            .unwrap_err();
        assert_eq!(
            err,
            UnitError::Incompatible {
                from: Unit::Kilogram,
                to: Unit::KilowattHour
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot convert kg to kWh: kg measures mass and kWh measures energy"
        );
        for (from, to) in [
            (Unit::Litre, Unit::Kilogram),
            (Unit::Piece, Unit::Kilogram),
            (Unit::TonneKilometre, Unit::Tonne),
            (Unit::SquareMetre, Unit::CubicMetre),
        ] {
            assert!(matches!(
                from.convert(Decimal::ONE, to),
                Err(UnitError::Incompatible { .. })
            ));
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert_eq!(
            Unit::Tonne.convert(Decimal::MAX, Unit::Gram),
            Err(UnitError::Overflow(Overflow))
        );
    }

    #[test]
    fn quantity_serializes_with_an_exact_decimal_string() {
        let quantity = Quantity::new(d("0.1"), Unit::TonneKilometre);
        let json = serde_json::to_string(&quantity).unwrap();
        assert_eq!(json, r#"{"value":"0.1","unit":"tkm"}"#);
        assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), quantity);
        assert_eq!(quantity.to_string(), "0.1 t·km");
    }
}
