//! Emission factors: kg CO2e per unit of an activity, kept as fossil, biogenic and land-use
//! change parts.
//!
//! A company combines three kinds: the small open set bundled here, rows imported from the
//! licensed databases it holds (exported to CSV), and its own company-specific factors. The
//! library never leaves the company; only results computed with it do.
//!
//! # CSV format
//!
//! UTF-8, comma-separated, one header row. Lines starting with `#` are comments. Columns, in
//! any order (extra columns are ignored):
//!
//! | column | required | meaning |
//! | --- | --- | --- |
//! | `id` | yes | the id activity data refers to, unique in the library |
//! | `name` | yes | what the factor describes |
//! | `unit` | yes | the unit one factor value is per (`kg`, `kWh`, `MJ`, `tkm`, `l`, …) |
//! | `kg_co2e_fossil` | yes | fossil kg CO2e per unit, ≥ 0 |
//! | `kg_co2e_biogenic` | yes | biogenic kg CO2e per unit (may be negative for uptake; empty = 0) |
//! | `kg_co2e_land_use_change` | no | land-use change kg CO2e per unit (empty or absent = 0) |
//! | `source` | yes | citation of the data source |
//! | `geography` | yes | where the factor applies (ISO code, region, `GLO`) |
//! | `valid_from` | yes | first day the factor applies, `YYYY-MM-DD`, or empty |
//! | `note` | no | caveats |
//!
//! Numbers are read as exact decimals (`0.45`, `4.5e-1`); they never pass through binary
//! floating point.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::activity::Emissions;
use crate::num::parse_decimal;
use crate::unit::{Unit, UnitError};

/// The open factor set compiled into the crate. Each row cites its public source.
const BUNDLED_CSV: &str = include_str!("../data/open_factors.csv");

const REQUIRED_COLUMNS: [&str; 8] = [
    "id",
    "name",
    "unit",
    "kg_co2e_fossil",
    "kg_co2e_biogenic",
    "source",
    "geography",
    "valid_from",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FactorId(String);

impl FactorId {
    pub fn new(id: impl Into<String>) -> FactorId {
        FactorId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FactorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for FactorId {
    fn from(id: &str) -> FactorId {
        FactorId(id.to_owned())
    }
}

/// Where a factor came from, which decides who may see it: licensed rows stay inside the
/// company under the database licence, bundled rows are public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FactorOrigin {
    /// The open set compiled into this crate.
    Bundled,
    /// Imported from a licensed database the company holds.
    Licensed { database: String },
    /// The company's own measured or supplier-specific factor.
    CompanySpecific,
}

impl fmt::Display for FactorOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactorOrigin::Bundled => f.write_str("the bundled open set"),
            FactorOrigin::Licensed { database } => write!(f, "licensed database {database:?}"),
            FactorOrigin::CompanySpecific => f.write_str("company-specific factors"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmissionFactor {
    pub id: FactorId,
    pub name: String,
    /// The unit one factor value is per: activity quantities are converted into it.
    pub unit: Unit,
    pub kg_co2e_fossil: Decimal,
    pub kg_co2e_biogenic: Decimal,
    #[serde(default)]
    pub kg_co2e_land_use_change: Decimal,
    pub source: String,
    pub geography: String,
    pub valid_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub origin: FactorOrigin,
}

impl EmissionFactor {
    /// The factor as emissions per one `unit`.
    pub fn per_unit(&self) -> Emissions {
        Emissions {
            fossil: self.kg_co2e_fossil,
            biogenic: self.kg_co2e_biogenic,
            land_use_change: self.kg_co2e_land_use_change,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FactorError {
    #[error(
        "factor CSV lacks the column {column:?}; the header needs id, name, unit, \
         kg_co2e_fossil, kg_co2e_biogenic, source, geography and valid_from"
    )]
    MissingColumn { column: &'static str },
    #[error("factor CSV line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("factor CSV line {line}: {column} {value:?} is not a decimal number")]
    InvalidNumber {
        line: u64,
        column: &'static str,
        value: String,
    },
    #[error("factor CSV line {line}: {source}")]
    InvalidUnit {
        line: u64,
        #[source]
        source: UnitError,
    },
    #[error("factor CSV line {line}: valid_from {value:?} is not a date written YYYY-MM-DD")]
    InvalidDate { line: u64, value: String },
    #[error("factor CSV line {line}: the id is empty")]
    EmptyId { line: u64 },
    #[error(
        "factor {id} has fossil emissions {value} kg CO2e per unit; fossil emissions cannot be \
         negative (only biogenic uptake and land-use change may be)"
    )]
    NegativeFossil { id: FactorId, value: Decimal },
    #[error(
        "factor {id} is already in the library, from {existing}; replace it explicitly to \
         override"
    )]
    DuplicateId {
        id: FactorId,
        existing: FactorOrigin,
    },
}

/// The factors a company computes with, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<EmissionFactor>", into = "Vec<EmissionFactor>")]
pub struct FactorLibrary {
    factors: BTreeMap<FactorId, EmissionFactor>,
}

impl FactorLibrary {
    pub fn new() -> FactorLibrary {
        FactorLibrary::default()
    }

    /// The open set compiled into the crate (see `data/open_factors.csv` for sources).
    pub fn bundled() -> FactorLibrary {
        let mut library = FactorLibrary::new();
        // The bundled file is part of the crate and checked by the tests, so a failure here
        // is a build defect, not a runtime condition.
        library
            .import_csv(BUNDLED_CSV, FactorOrigin::Bundled)
            .unwrap_or_else(|err| panic!("the bundled factor CSV is broken: {err}"));
        library
    }

    /// Reads factors from CSV text (format in the module documentation) and adds them all,
    /// or none when any row is wrong or any id is already present. Returns how many rows it
    /// added.
    pub fn import_csv(
        &mut self,
        csv_text: &str,
        origin: FactorOrigin,
    ) -> Result<usize, FactorError> {
        let rows = parse_csv(csv_text, &origin)?;
        let mut ids_in_file = BTreeMap::new();
        for factor in &rows {
            if let Some(existing) = self.factors.get(&factor.id) {
                return Err(FactorError::DuplicateId {
                    id: factor.id.clone(),
                    existing: existing.origin.clone(),
                });
            }
            if ids_in_file.insert(factor.id.clone(), ()).is_some() {
                return Err(FactorError::DuplicateId {
                    id: factor.id.clone(),
                    existing: origin.clone(),
                });
            }
        }
        let added = rows.len();
        for factor in rows {
            self.factors.insert(factor.id.clone(), factor);
        }
        Ok(added)
    }

    /// Adds one factor; refuses an id already present.
    pub fn insert(&mut self, factor: EmissionFactor) -> Result<(), FactorError> {
        check_factor(&factor)?;
        if let Some(existing) = self.factors.get(&factor.id) {
            return Err(FactorError::DuplicateId {
                id: factor.id,
                existing: existing.origin.clone(),
            });
        }
        self.factors.insert(factor.id.clone(), factor);
        Ok(())
    }

    /// Adds or overrides a factor, for example a company-specific value over a bundled one.
    /// Returns the factor it replaced.
    pub fn replace(
        &mut self,
        factor: EmissionFactor,
    ) -> Result<Option<EmissionFactor>, FactorError> {
        check_factor(&factor)?;
        Ok(self.factors.insert(factor.id.clone(), factor))
    }

    pub fn get(&self, id: &FactorId) -> Option<&EmissionFactor> {
        self.factors.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &EmissionFactor> {
        self.factors.values()
    }

    pub fn len(&self) -> usize {
        self.factors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.factors.is_empty()
    }
}

impl TryFrom<Vec<EmissionFactor>> for FactorLibrary {
    type Error = FactorError;
    fn try_from(factors: Vec<EmissionFactor>) -> Result<Self, FactorError> {
        let mut library = FactorLibrary::new();
        for factor in factors {
            library.insert(factor)?;
        }
        Ok(library)
    }
}

impl From<FactorLibrary> for Vec<EmissionFactor> {
    fn from(library: FactorLibrary) -> Vec<EmissionFactor> {
        library.factors.into_values().collect()
    }
}

fn check_factor(factor: &EmissionFactor) -> Result<(), FactorError> {
    if factor.kg_co2e_fossil < Decimal::ZERO {
        return Err(FactorError::NegativeFossil {
            id: factor.id.clone(),
            value: factor.kg_co2e_fossil,
        });
    }
    Ok(())
}

fn parse_csv(csv_text: &str, origin: &FactorOrigin) -> Result<Vec<EmissionFactor>, FactorError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(csv_text.as_bytes());
    let malformed = |line: u64, err: csv::Error| {
        let message = match err.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("the row has {len} fields where the header has {expected_len}"),
            _ => err.to_string(),
        };
        FactorError::Malformed { line, message }
    };
    let headers = reader.headers().map_err(|err| malformed(1, err))?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let mut required = [0usize; REQUIRED_COLUMNS.len()];
    for (slot, name) in required.iter_mut().zip(REQUIRED_COLUMNS) {
        *slot = column(name).ok_or(FactorError::MissingColumn { column: name })?;
    }
    let [
        id,
        name,
        unit,
        fossil,
        biogenic,
        source,
        geography,
        valid_from,
    ] = required;
    let land_use_change = column("kg_co2e_land_use_change");
    let note = column("note");

    let mut factors = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| {
            let line = err.position().map_or(0, |p| p.line());
            malformed(line, err)
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |index: usize| record.get(index).unwrap_or("");
        let number = |column: &'static str, text: &str, empty_is_zero: bool| {
            if text.is_empty() && empty_is_zero {
                return Ok(Decimal::ZERO);
            }
            parse_decimal(text).ok_or_else(|| FactorError::InvalidNumber {
                line,
                column,
                value: text.to_owned(),
            })
        };
        if field(id).is_empty() {
            return Err(FactorError::EmptyId { line });
        }
        let valid_from_text = field(valid_from);
        let valid_from = if valid_from_text.is_empty() {
            None
        } else {
            Some(
                NaiveDate::parse_from_str(valid_from_text, "%Y-%m-%d").map_err(|_| {
                    FactorError::InvalidDate {
                        line,
                        value: valid_from_text.to_owned(),
                    }
                })?,
            )
        };
        let factor = EmissionFactor {
            id: FactorId::new(field(id)),
            name: field(name).to_owned(),
            unit: field(unit)
                .parse()
                .map_err(|source| FactorError::InvalidUnit { line, source })?,
            kg_co2e_fossil: number("kg_co2e_fossil", field(fossil), false)?,
            kg_co2e_biogenic: number("kg_co2e_biogenic", field(biogenic), true)?,
            kg_co2e_land_use_change: match land_use_change {
                Some(index) => number("kg_co2e_land_use_change", field(index), true)?,
                None => Decimal::ZERO,
            },
            source: field(source).to_owned(),
            geography: field(geography).to_owned(),
            valid_from,
            note: note
                .map(field)
                .filter(|text| !text.is_empty())
                .map(str::to_owned),
            origin: origin.clone(),
        };
        check_factor(&factor)?;
        factors.push(factor);
    }
    Ok(factors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::d;

    #[test]
    fn the_bundled_set_parses_and_covers_the_battery_basics() {
        let library = FactorLibrary::bundled();
        let expected = [
            ("electricity.grid.jp", Unit::KilowattHour),
            ("electricity.grid.eu27", Unit::KilowattHour),
            ("electricity.grid.cn", Unit::KilowattHour),
            ("fuel.natural_gas.combustion", Unit::Megajoule),
            ("fuel.diesel.combustion", Unit::Litre),
            ("transport.road.truck", Unit::TonneKilometre),
            ("transport.sea.container", Unit::TonneKilometre),
            ("material.lithium_carbonate.brine", Unit::Kilogram),
            ("material.lithium_hydroxide.spodumene", Unit::Kilogram),
            ("material.nickel_sulphate", Unit::Kilogram),
            ("material.cobalt_sulphate", Unit::Kilogram),
            ("material.graphite.natural_anode", Unit::Kilogram),
            ("material.aluminium.primary", Unit::Kilogram),
            ("material.copper.cathode", Unit::Kilogram),
        ];
        for (id, unit) in expected {
            let factor = library
                .get(&id.into())
                .unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(factor.unit, unit, "{id}");
            assert!(!factor.source.is_empty(), "{id} must cite a source");
            assert_eq!(factor.origin, FactorOrigin::Bundled);
        }
        for factor in library.iter() {
            assert!(
                !factor.source.is_empty(),
                "{} must cite a source",
                factor.id
            );
            assert!(factor.kg_co2e_fossil >= Decimal::ZERO);
        }
    }

    #[test]
    fn bundled_values_are_in_plausible_ranges() {
        // Orders of magnitude from the literature; a typo (0.045 for 0.45) fails here.
        let library = FactorLibrary::bundled();
        let ranges = [
            ("electricity.grid.jp", "0.3", "0.6"),
            ("electricity.grid.eu27", "0.15", "0.4"),
            ("electricity.grid.cn", "0.45", "0.7"),
            ("fuel.natural_gas.combustion", "0.05", "0.07"),
            ("fuel.diesel.combustion", "2.5", "3.3"),
            ("transport.road.truck", "0.05", "0.2"),
            ("transport.sea.container", "0.005", "0.03"),
            ("material.lithium_carbonate.brine", "1", "6"),
            ("material.lithium_hydroxide.spodumene", "8", "25"),
            ("material.nickel_sulphate", "2", "10"),
            ("material.cobalt_sulphate", "4", "15"),
            ("material.graphite.natural_anode", "3", "15"),
            ("material.aluminium.primary", "8", "20"),
            ("material.copper.cathode", "2", "6"),
        ];
        for (id, low, high) in ranges {
            let value = library.get(&id.into()).unwrap().per_unit().total();
            assert!(
                value >= d(low) && value <= d(high),
                "{id}: {value} outside {low}..{high}"
            );
        }
    }

    const LICENSED: &str = "\
# exported from a licensed database
id,name,unit,kg_co2e_fossil,kg_co2e_biogenic,source,geography,valid_from,extra
db.steel,\"Steel, hot rolled\",t,1850,0,Licensed DB v3.10,GLO,2023-01-01,ignored
db.pallet,Wooden pallet,piece,4.2,-12.5,Licensed DB v3.10,RER,,ignored
";

    #[test]
    fn imports_licensed_rows_exactly() {
        let mut library = FactorLibrary::bundled();
        let before = library.len();
        let origin = FactorOrigin::Licensed {
            database: "Licensed DB".into(),
        };
        assert_eq!(library.import_csv(LICENSED, origin.clone()), Ok(2));
        assert_eq!(library.len(), before + 2);
        let steel = library.get(&"db.steel".into()).unwrap();
        assert_eq!(steel.name, "Steel, hot rolled");
        assert_eq!(steel.unit, Unit::Tonne);
        assert_eq!(steel.kg_co2e_fossil, d("1850"));
        assert_eq!(steel.valid_from, NaiveDate::from_ymd_opt(2023, 1, 1));
        assert_eq!(steel.origin, origin);
        let pallet = library.get(&"db.pallet".into()).unwrap();
        assert_eq!(pallet.kg_co2e_biogenic, d("-12.5"));
        assert_eq!(pallet.valid_from, None);
    }

    #[test]
    fn import_is_all_or_nothing_and_refuses_duplicates() {
        let mut library = FactorLibrary::new();
        library
            .import_csv(LICENSED, FactorOrigin::CompanySpecific)
            .unwrap();
        let err = library
            .import_csv(LICENSED, FactorOrigin::CompanySpecific)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "factor db.steel is already in the library, from company-specific factors; \
             replace it explicitly to override"
        );
        assert_eq!(library.len(), 2);
    }

    #[test]
    fn reports_bad_rows_with_line_and_column() {
        let header = "id,name,unit,kg_co2e_fossil,kg_co2e_biogenic,source,geography,valid_from\n";
        let cases = [
            (
                format!("{header}a,A,kg,0.4x,0,S,JP,\n"),
                "factor CSV line 2: kg_co2e_fossil \"0.4x\" is not a decimal number",
            ),
            (
                format!("{header}a,A,kg,1,0,S,JP,\nb,B,furlong,1,0,S,JP,\n"),
                "factor CSV line 3: unknown unit \"furlong\"; known units are kg, t, g, kWh, \
                 MWh, MJ, GJ, m2, m3, l, tkm and piece, also spelt like kilogram, m², m^3, L, \
                 t*km, pcs or unit",
            ),
            (
                format!("{header}a,A,kg,1,0,S,JP,2023/01/01\n"),
                "factor CSV line 2: valid_from \"2023/01/01\" is not a date written YYYY-MM-DD",
            ),
            (
                format!("{header},A,kg,1,0,S,JP,\n"),
                "factor CSV line 2: the id is empty",
            ),
            (
                format!("{header}a,A,kg,-1,0,S,JP,\n"),
                "factor a has fossil emissions -1 kg CO2e per unit; fossil emissions cannot be \
                 negative (only biogenic uptake and land-use change may be)",
            ),
            (
                "id,name,unit,kg_co2e_fossil,source,geography,valid_from\n".to_owned(),
                "factor CSV lacks the column \"kg_co2e_biogenic\"; the header needs id, name, \
                 unit, kg_co2e_fossil, kg_co2e_biogenic, source, geography and valid_from",
            ),
            (
                format!("{header}a,A,kg,1,0,S\n"),
                "factor CSV line 2: the row has 6 fields where the header has 8",
            ),
            (
                format!("{header}a,A,kg,1,0,S,JP,\na,A2,kg,2,0,S,JP,\n"),
                "factor a is already in the library, from company-specific factors; replace it \
                 explicitly to override",
            ),
        ];
        for (csv_text, message) in cases {
            let err = FactorLibrary::new()
                .import_csv(&csv_text, FactorOrigin::CompanySpecific)
                .unwrap_err();
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn a_company_factor_can_override_a_bundled_one_only_explicitly() {
        let mut library = FactorLibrary::bundled();
        let mut own = library.get(&"electricity.grid.jp".into()).unwrap().clone();
        own.kg_co2e_fossil = d("0.0");
        own.origin = FactorOrigin::CompanySpecific;
        assert!(matches!(
            library.insert(own.clone()),
            Err(FactorError::DuplicateId { .. })
        ));
        let replaced = library.replace(own).unwrap().unwrap();
        assert_eq!(replaced.origin, FactorOrigin::Bundled);
    }

    #[test]
    fn the_library_round_trips_through_json() {
        let library = FactorLibrary::bundled();
        let json = serde_json::to_string(&library).unwrap();
        assert_eq!(
            serde_json::from_str::<FactorLibrary>(&json).unwrap(),
            library
        );
    }
}
