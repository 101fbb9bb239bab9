//! The battery carbon footprint of the EU battery rules: kg CO2e per kWh of the total energy
//! a battery delivers over its service life, per life-cycle stage, with a performance class
//! and a declaration document.
//!
//! Total energy delivered = usable energy × full equivalent cycles per year × service years.
//! The cycles per year depend on the vehicle category; the service years come from the
//! warranty.

use std::fmt::{self, Write as _};

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::activity::Emissions;
use crate::company::{Operator, OperatorIdentifier, Plant, TraceId};
use crate::num::{self, Overflow};
use crate::rollup::FootprintResult;
use crate::stage::{ByStage, LifeCycleStage};
use crate::unit::Unit;

/// The vehicle category a traction battery is made for (UN ECE / EU type approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BatteryCategory {
    /// Passenger cars.
    M1,
    /// Light commercial vehicles.
    N1,
    /// Buses (up to 5 t).
    M2,
    /// Buses (over 5 t).
    M3,
    /// Lorries (3.5 to 12 t).
    N2,
    /// Lorries (over 12 t).
    N3,
    /// Light vehicles: two- and three-wheelers, quadricycles.
    L,
}

impl BatteryCategory {
    /// Full equivalent charge-discharge cycles a year assumed for the category.
    pub fn full_equivalent_cycles_per_year(self) -> u32 {
        match self {
            BatteryCategory::M1 | BatteryCategory::N1 => 60,
            BatteryCategory::L => 20,
            BatteryCategory::M2
            | BatteryCategory::M3
            | BatteryCategory::N2
            | BatteryCategory::N3 => 250,
        }
    }
}

impl fmt::Display for BatteryCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatteryError {
    #[error(
        "a battery footprint must be declared per piece (one battery), but this result is per \
         {found}"
    )]
    NotPerPiece { found: Unit },
    #[error("usable energy must be greater than zero, found {value} kWh")]
    NonPositiveEnergy { value: Decimal },
    #[error("service life must be greater than zero, found {value} years")]
    NonPositiveServiceLife { value: Decimal },
    #[error("performance classes need at least one class")]
    NoClasses,
    #[error(
        "performance class {label} has upper bound {bound} kg CO2e/kWh, not above the bound of \
         the class before it ({previous}); bounds must ascend"
    )]
    ClassesNotAscending {
        label: String,
        bound: Decimal,
        previous: Decimal,
    },
    #[error("a performance class needs a label")]
    EmptyClassLabel,
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// What decides the total energy a battery delivers over its service life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLife {
    pub category: BatteryCategory,
    /// Usable energy in kWh.
    pub usable_energy_kwh: Decimal,
    /// Years of service, from the warranty.
    pub service_years: Decimal,
}

impl ServiceLife {
    pub fn total_energy_delivered_kwh(&self) -> Result<Decimal, BatteryError> {
        if self.usable_energy_kwh <= Decimal::ZERO {
            return Err(BatteryError::NonPositiveEnergy {
                value: self.usable_energy_kwh,
            });
        }
        if self.service_years <= Decimal::ZERO {
            return Err(BatteryError::NonPositiveServiceLife {
                value: self.service_years,
            });
        }
        let cycles = Decimal::from(self.category.full_equivalent_cycles_per_year());
        Ok(num::mul(
            num::mul(self.usable_energy_kwh, cycles)?,
            self.service_years,
        )?)
    }
}

/// One performance class: a footprint at or below `max_kg_co2e_per_kwh` (and above the
/// previous class's bound) falls in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassBound {
    pub label: String,
    pub max_kg_co2e_per_kwh: Decimal,
}

/// Performance classes by ascending upper bound. The thresholds are set by delegated acts
/// not yet adopted, so they are configuration; a footprint above the last bound has no class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ClassBound>", into = "Vec<ClassBound>")]
pub struct PerformanceClasses {
    classes: Vec<ClassBound>,
}

impl PerformanceClasses {
    pub fn new(classes: Vec<ClassBound>) -> Result<PerformanceClasses, BatteryError> {
        if classes.is_empty() {
            return Err(BatteryError::NoClasses);
        }
        for pair in classes.windows(2) {
            if pair[1].max_kg_co2e_per_kwh <= pair[0].max_kg_co2e_per_kwh {
                return Err(BatteryError::ClassesNotAscending {
                    label: pair[1].label.clone(),
                    bound: pair[1].max_kg_co2e_per_kwh,
                    previous: pair[0].max_kg_co2e_per_kwh,
                });
            }
        }
        if classes.iter().any(|class| class.label.trim().is_empty()) {
            return Err(BatteryError::EmptyClassLabel);
        }
        Ok(PerformanceClasses { classes })
    }

    /// The class of a footprint in kg CO2e per kWh delivered; `None` above every bound.
    pub fn classify(&self, kg_co2e_per_kwh: Decimal) -> Option<&str> {
        self.classes
            .iter()
            .find(|class| kg_co2e_per_kwh <= class.max_kg_co2e_per_kwh)
            .map(|class| class.label.as_str())
    }

    pub fn classes(&self) -> &[ClassBound] {
        &self.classes
    }
}

impl TryFrom<Vec<ClassBound>> for PerformanceClasses {
    type Error = BatteryError;
    fn try_from(classes: Vec<ClassBound>) -> Result<Self, BatteryError> {
        PerformanceClasses::new(classes)
    }
}

impl From<PerformanceClasses> for Vec<ClassBound> {
    fn from(classes: PerformanceClasses) -> Vec<ClassBound> {
        classes.classes
    }
}

/// A battery's footprint per kWh of energy delivered over its service life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatteryCarbonFootprint {
    pub battery: TraceId,
    pub service_life: ServiceLife,
    pub total_energy_delivered_kwh: Decimal,
    /// kg CO2e per kWh delivered, per stage.
    pub stages: ByStage<Emissions>,
    pub total: Emissions,
    pub performance_class: Option<String>,
}

impl BatteryCarbonFootprint {
    pub fn total_kg_co2e_per_kwh(&self) -> Decimal {
        self.total.total()
    }
}

/// Divides the footprint of one battery by the energy it delivers over its service life.
pub fn battery_carbon_footprint(
    result: &FootprintResult,
    service_life: ServiceLife,
    classes: &PerformanceClasses,
) -> Result<BatteryCarbonFootprint, BatteryError> {
    if result.declared_unit != Unit::Piece {
        return Err(BatteryError::NotPerPiece {
            found: result.declared_unit,
        });
    }
    let energy = service_life.total_energy_delivered_kwh()?;
    let per_kwh = |value: Decimal| -> Result<Decimal, Overflow> {
        Ok(num::round_result(num::div(value, energy)?))
    };
    let stages = result
        .stages
        .try_map(|_, emissions| -> Result<Emissions, Overflow> {
            Ok(Emissions {
                fossil: per_kwh(emissions.fossil)?,
                biogenic: per_kwh(emissions.biogenic)?,
                land_use_change: per_kwh(emissions.land_use_change)?,
            })
        })?;
    let mut total = Emissions::ZERO;
    for (_, emissions) in stages.iter() {
        total = total.checked_add(emissions)?;
    }
    Ok(BatteryCarbonFootprint {
        battery: result.part,
        service_life,
        total_energy_delivered_kwh: energy,
        performance_class: classes.classify(total.checked_total()?).map(str::to_owned),
        stages,
        total,
    })
}

/// Decimal places of the per-kWh figures in a declaration: grams of CO2e per kWh.
const DECLARATION_DECIMAL_PLACES: u32 = 3;

fn declared(value: Decimal) -> Decimal {
    value
        .round_dp_with_strategy(
            DECLARATION_DECIMAL_PLACES,
            RoundingStrategy::MidpointAwayFromZero,
        )
        .normalize()
}

/// The facts a declaration states besides the figures.
#[derive(Debug, Clone, Copy)]
pub struct DeclarationFacts<'a> {
    /// Where the public version of the supporting study can be found.
    pub study_reference: &'a str,
    pub manufacturer: &'a Operator,
    pub plant: &'a Plant,
    pub battery_model: &'a str,
}

/// The carbon footprint declaration of a battery model (EU battery rules, Article 7 and
/// Annex II), as a document that serializes to JSON and renders to HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarbonFootprintDeclaration {
    pub study_reference: String,
    pub manufacturer_name: String,
    pub manufacturer_address: String,
    pub manufacturer_identifier: OperatorIdentifier,
    pub battery_model: String,
    pub battery_trace_id: TraceId,
    pub plant_name: String,
    pub plant_address: String,
    pub battery_category: BatteryCategory,
    pub functional_unit: String,
    pub usable_energy_kwh: Decimal,
    pub service_years: Decimal,
    pub full_equivalent_cycles_per_year: u32,
    pub total_energy_delivered_kwh: Decimal,
    /// kg CO2e per kWh delivered, rounded to three decimals.
    pub stages_kg_co2e_per_kwh: ByStage<Decimal>,
    pub total_kg_co2e_per_kwh: Decimal,
    pub fossil_kg_co2e_per_kwh: Decimal,
    pub biogenic_kg_co2e_per_kwh: Decimal,
    pub land_use_change_kg_co2e_per_kwh: Decimal,
    pub performance_class: Option<String>,
    pub issued_at: DateTime<Utc>,
}

const FUNCTIONAL_UNIT: &str =
    "1 kWh of the total energy provided by the battery over its service life";

impl CarbonFootprintDeclaration {
    pub fn new(
        footprint: &BatteryCarbonFootprint,
        facts: DeclarationFacts<'_>,
        issued_at: DateTime<Utc>,
    ) -> CarbonFootprintDeclaration {
        let life = footprint.service_life;
        CarbonFootprintDeclaration {
            study_reference: facts.study_reference.to_owned(),
            manufacturer_name: facts.manufacturer.name.clone(),
            manufacturer_address: facts.manufacturer.address.clone(),
            manufacturer_identifier: facts.manufacturer.open_operator_id.clone(),
            battery_model: facts.battery_model.to_owned(),
            battery_trace_id: footprint.battery,
            plant_name: facts.plant.name.clone(),
            plant_address: facts.plant.address.clone(),
            battery_category: life.category,
            functional_unit: FUNCTIONAL_UNIT.to_owned(),
            usable_energy_kwh: life.usable_energy_kwh,
            service_years: life.service_years,
            full_equivalent_cycles_per_year: life.category.full_equivalent_cycles_per_year(),
            total_energy_delivered_kwh: footprint.total_energy_delivered_kwh,
            stages_kg_co2e_per_kwh: footprint.stages.map(|_, e| declared(e.total())),
            total_kg_co2e_per_kwh: declared(footprint.total.total()),
            fossil_kg_co2e_per_kwh: declared(footprint.total.fossil),
            biogenic_kg_co2e_per_kwh: declared(footprint.total.biogenic),
            land_use_change_kg_co2e_per_kwh: declared(footprint.total.land_use_change),
            performance_class: footprint.performance_class.clone(),
            issued_at,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a declaration has only string keys and plain values")
    }

    /// A self-contained HTML page. Every text taken from data is escaped.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        let model = escape_html(&self.battery_model);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>Carbon footprint declaration: {model}</title>\n</head>\n<body>\n\
             <h1>Carbon footprint declaration</h1>\n<table>\n"
        );
        let mut row = |label: &str, value: &str| {
            let _ = writeln!(
                html,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                escape_html(label),
                escape_html(value)
            );
        };
        row("Battery model", &self.battery_model);
        row("Battery trace id", &self.battery_trace_id.to_string());
        row("Battery category", &self.battery_category.to_string());
        row("Manufacturer", &self.manufacturer_name);
        row("Manufacturer address", &self.manufacturer_address);
        row(
            "Manufacturer identifier",
            &self.manufacturer_identifier.to_string(),
        );
        row("Manufacturing plant", &self.plant_name);
        row("Plant address", &self.plant_address);
        row("Functional unit", &self.functional_unit);
        row("Usable energy", &format!("{} kWh", self.usable_energy_kwh));
        row("Service life", &format!("{} years", self.service_years));
        row(
            "Full equivalent cycles per year",
            &self.full_equivalent_cycles_per_year.to_string(),
        );
        row(
            "Total energy over the service life",
            &format!("{} kWh", self.total_energy_delivered_kwh),
        );
        row(
            "Performance class",
            self.performance_class
                .as_deref()
                .unwrap_or("above every class"),
        );
        row("Study", &self.study_reference);
        row("Issued", &self.issued_at.to_rfc3339());
        html.push_str("</table>\n<h2>Carbon footprint by life-cycle stage</h2>\n<table>\n");
        html.push_str(
            "<tr><th scope=\"col\">Stage</th><th scope=\"col\">kg CO2e per kWh</th></tr>\n",
        );
        let mut figure = |label: &str, value: Decimal| {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape_html(label),
                escape_html(&value.to_string())
            );
        };
        for stage in LifeCycleStage::ALL {
            figure(stage.title(), *self.stages_kg_co2e_per_kwh.get(stage));
        }
        figure("Total", self.total_kg_co2e_per_kwh);
        figure("of which fossil", self.fossil_kg_co2e_per_kwh);
        figure("of which biogenic", self.biogenic_kg_co2e_per_kwh);
        figure(
            "of which land-use change",
            self.land_use_change_kg_co2e_per_kwh,
        );
        html.push_str("</table>\n</body>\n</html>\n");
        html
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Allocation;
    use crate::bom::tests::id;
    use crate::company::{CorporateNumber, OpenPlantId};
    use crate::num::d;
    use chrono::TimeZone;
    use expect_test::expect;
    use uuid::Uuid;

    fn classes() -> PerformanceClasses {
        let bounds = [
            ("A", "0.05"),
            ("B", "0.1"),
            ("C", "0.2"),
            ("D", "0.4"),
            ("E", "0.8"),
        ];
        PerformanceClasses::new(
            bounds
                .iter()
                .map(|(label, max)| ClassBound {
                    label: (*label).into(),
                    max_kg_co2e_per_kwh: d(max),
                })
                .collect(),
        )
        .unwrap()
    }

    fn battery_result(
        raw: &str,
        main: &str,
        distribution: &str,
        end_of_life: &str,
    ) -> FootprintResult {
        let stages = ByStage {
            raw_material_acquisition_and_pre_processing: Emissions {
                fossil: d(raw),
                ..Emissions::ZERO
            },
            main_production: Emissions {
                fossil: d(main),
                ..Emissions::ZERO
            },
            distribution: Emissions {
                fossil: d(distribution),
                ..Emissions::ZERO
            },
            end_of_life_and_recycling: Emissions {
                fossil: d(end_of_life),
                ..Emissions::ZERO
            },
        };
        FootprintResult {
            part: id(1),
            declared_unit: Unit::Piece,
            total: Emissions {
                fossil: d(raw) + d(main) + d(distribution) + d(end_of_life),
                ..Emissions::ZERO
            },
            stages,
            from_components: ByStage::default(),
            data_quality: ByStage::default(),
            allocation: Allocation::none(),
            evidence: Default::default(),
            computed_at: Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn total_energy_follows_the_category() {
        let cases = [
            (BatteryCategory::M1, "60", "8", "28800"),
            (BatteryCategory::N1, "75", "8", "36000"),
            (BatteryCategory::L, "2", "5", "200"),
            (BatteryCategory::M3, "400", "10", "1000000"),
            (BatteryCategory::N3, "540", "7.5", "1012500"),
        ];
        for (category, usable, years, expected) in cases {
            let life = ServiceLife {
                category,
                usable_energy_kwh: d(usable),
                service_years: d(years),
            };
            assert_eq!(
                life.total_energy_delivered_kwh().unwrap(),
                d(expected),
                "{category}"
            );
        }
        let broken = ServiceLife {
            category: BatteryCategory::M1,
            usable_energy_kwh: d("0"),
            service_years: d("8"),
        };
        assert!(matches!(
            broken.total_energy_delivered_kwh(),
            Err(BatteryError::NonPositiveEnergy { .. })
        ));
    }

    #[test]
    fn divides_by_lifetime_energy_and_classifies() {
        let life = ServiceLife {
            category: BatteryCategory::M1,
            usable_energy_kwh: d("60"),
            service_years: d("8"),
        };
        let footprint = battery_carbon_footprint(
            &battery_result("3600", "1440", "144", "-57.6"),
            life,
            &classes(),
        )
        .unwrap();
        assert_eq!(footprint.total_energy_delivered_kwh, d("28800"));
        assert_eq!(
            footprint
                .stages
                .raw_material_acquisition_and_pre_processing
                .fossil,
            d("0.125")
        );
        assert_eq!(footprint.stages.main_production.fossil, d("0.05"));
        assert_eq!(footprint.stages.distribution.fossil, d("0.005"));
        assert_eq!(
            footprint.stages.end_of_life_and_recycling.fossil,
            d("-0.002")
        );
        assert_eq!(footprint.total_kg_co2e_per_kwh(), d("0.178"));
        assert_eq!(footprint.performance_class.as_deref(), Some("C"));
    }

    #[test]
    fn classes_are_bounded_above_and_must_ascend() {
        let classes = classes();
        let cases = [
            ("0", Some("A")),
            ("0.05", Some("A")),
            ("0.0501", Some("B")),
            ("0.8", Some("E")),
            ("0.81", None),
        ];
        for (value, class) in cases {
            assert_eq!(classes.classify(d(value)), class, "{value}");
        }
        let err = PerformanceClasses::new(vec![
            ClassBound {
                label: "A".into(),
                max_kg_co2e_per_kwh: d("0.1"),
            },
            ClassBound {
                label: "B".into(),
                max_kg_co2e_per_kwh: d("0.1"),
            },
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "performance class B has upper bound 0.1 kg CO2e/kWh, not above the bound of the class before it (0.1); bounds must ascend"
        );
        assert_eq!(
            PerformanceClasses::new(vec![]).unwrap_err(),
            BatteryError::NoClasses
        );
    }

    #[test]
    fn refuses_a_result_not_per_battery() {
        let mut result = battery_result("1", "1", "0", "0");
        result.declared_unit = Unit::KilowattHour;
        let life = ServiceLife {
            category: BatteryCategory::M1,
            usable_energy_kwh: d("60"),
            service_years: d("8"),
        };
        assert_eq!(
            battery_carbon_footprint(&result, life, &classes())
                .unwrap_err()
                .to_string(),
            "a battery footprint must be declared per piece (one battery), but this result is per kWh"
        );
    }

    fn declaration(model: &str) -> CarbonFootprintDeclaration {
        let manufacturer = Operator {
            operator_id: Uuid::from_u128(1),
            name: "Cell & Pack <Japan> Co., Ltd.".into(),
            address: "1-1 Marunouchi, Chiyoda-ku, Tokyo".into(),
            open_operator_id: OperatorIdentifier::JapaneseCorporateNumber(
                CorporateNumber::parse("7000012050002").unwrap(),
            ),
            global_operator_id: None,
        };
        let plant = Plant {
            plant_id: Uuid::from_u128(2),
            operator_id: Uuid::from_u128(1),
            name: "Plant \"East\"".into(),
            address: "Himeji, Hyogo".into(),
            open_plant_id: OpenPlantId::parse("7000012050002000001").unwrap(),
            global_plant_id: None,
        };
        let life = ServiceLife {
            category: BatteryCategory::M1,
            usable_energy_kwh: d("60"),
            service_years: d("8"),
        };
        let footprint = battery_carbon_footprint(
            &battery_result("3600", "1440", "144", "-57.6"),
            life,
            &classes(),
        )
        .unwrap();
        CarbonFootprintDeclaration::new(
            &footprint,
            DeclarationFacts {
                study_reference: "https://example.com/cfb-study?model=a&v=2",
                manufacturer: &manufacturer,
                plant: &plant,
                battery_model: model,
            },
            Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap(),
        )
    }

    #[test]
    fn the_declaration_renders_to_escaped_html() {
        let html = declaration("EV-60 <script>alert('x')</script>").to_html();
        assert!(!html.contains("<script>"));
        expect![[r#"
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>Carbon footprint declaration: EV-60 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</title>
            </head>
            <body>
            <h1>Carbon footprint declaration</h1>
            <table>
            <tr><th scope="row">Battery model</th><td>EV-60 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td></tr>
            <tr><th scope="row">Battery trace id</th><td>00000000-0000-0000-0000-000000000001</td></tr>
            <tr><th scope="row">Battery category</th><td>M1</td></tr>
            <tr><th scope="row">Manufacturer</th><td>Cell &amp; Pack &lt;Japan&gt; Co., Ltd.</td></tr>
            <tr><th scope="row">Manufacturer address</th><td>1-1 Marunouchi, Chiyoda-ku, Tokyo</td></tr>
            <tr><th scope="row">Manufacturer identifier</th><td>Japanese corporate number 7000012050002</td></tr>
            <tr><th scope="row">Manufacturing plant</th><td>Plant &quot;East&quot;</td></tr>
            <tr><th scope="row">Plant address</th><td>Himeji, Hyogo</td></tr>
            <tr><th scope="row">Functional unit</th><td>1 kWh of the total energy provided by the battery over its service life</td></tr>
            <tr><th scope="row">Usable energy</th><td>60 kWh</td></tr>
            <tr><th scope="row">Service life</th><td>8 years</td></tr>
            <tr><th scope="row">Full equivalent cycles per year</th><td>60</td></tr>
            <tr><th scope="row">Total energy over the service life</th><td>28800 kWh</td></tr>
            <tr><th scope="row">Performance class</th><td>C</td></tr>
            <tr><th scope="row">Study</th><td>https://example.com/cfb-study?model=a&amp;v=2</td></tr>
            <tr><th scope="row">Issued</th><td>2025-04-01T00:00:00+00:00</td></tr>
            </table>
            <h2>Carbon footprint by life-cycle stage</h2>
            <table>
            <tr><th scope="col">Stage</th><th scope="col">kg CO2e per kWh</th></tr>
            <tr><td>Raw material acquisition and pre-processing</td><td>0.125</td></tr>
            <tr><td>Main product production</td><td>0.05</td></tr>
            <tr><td>Distribution</td><td>0.005</td></tr>
            <tr><td>End of life and recycling</td><td>-0.002</td></tr>
            <tr><td>Total</td><td>0.178</td></tr>
            <tr><td>of which fossil</td><td>0.178</td></tr>
            <tr><td>of which biogenic</td><td>0</td></tr>
            <tr><td>of which land-use change</td><td>0</td></tr>
            </table>
            </body>
            </html>
        "#]]
        .assert_eq(&html);
    }

    #[test]
    fn the_declaration_serializes_to_json_and_back() {
        let declaration = declaration("EV-60");
        let json = declaration.to_json();
        assert_eq!(json["battery_category"], "M1");
        assert_eq!(json["total_kg_co2e_per_kwh"], "0.178");
        assert_eq!(json["stages_kg_co2e_per_kwh"]["main_production"], "0.05");
        assert_eq!(json["manufacturer_identifier"]["value"], "7000012050002");
        assert_eq!(
            json["study_reference"],
            "https://example.com/cfb-study?model=a&v=2"
        );
        let back: CarbonFootprintDeclaration = serde_json::from_value(json).unwrap();
        assert_eq!(back, declaration);
    }
}
