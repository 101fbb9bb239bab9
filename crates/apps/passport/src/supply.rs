//! What a supplier contributes to its customer's battery passport, and how it enters the
//! customer's document.
//!
//! A cell maker knows what the pack maker's passport must say about the cells: the material
//! composition (Annex XIII 2(a)), the recycled content of nickel, cobalt, lithium and lead
//! (Art. 8) and where its supply-chain due-diligence report is (Art. 52). It hands them over
//! as one [`SupplierContribution`] document, shaped as the BatteryPass 6.1.0 aspect shapes
//! the same fields, so that the customer copies them without mapping. Both sides check it
//! with [`SupplierContribution::validate`]: the supplier before it publishes, the customer
//! when it arrives (a remote document is remote input). [`contribute`] writes it into a
//! BatteryPass document together with a `sources` entry saying who supplied it under which
//! contract agreement ([`Provenance`]); the passport is signed over all of it.
//!
//! This module does no IO: how the document travels (DSP, under a contract) is the CLI's
//! business.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::model::ModelError;

/// The version of the document format.
pub const SUPPLY_FORMAT_VERSION: u32 = 1;

/// The `sources` category of a provenance entry (an enumeration value of the aspect).
pub const PROVENANCE_CATEGORY: &str = "Supply Chain Information";
/// The `sources` type of a provenance entry.
pub const PROVENANCE_TYPE: &str = "DSP contract agreement";

/// The units of concentration the aspect allows.
const CONCENTRATION_UNITS: [&str; 6] = [
    "unit:partPerMillion",
    "unit:percent",
    "unit:percentVolume",
    "unit:partPerThousand",
    "unit:partPerTrillionUs",
    "unit:partPerBillionUs",
];
/// The material identifier systems the aspect allows.
const MATERIAL_ID_TYPES: [&str; 3] = ["CAS", "EC", "IUPAC"];
/// The longest `header` the aspect allows.
const MAX_HEADER: usize = 100;
/// The longest free text this format accepts elsewhere.
const MAX_TEXT: usize = 500;
/// Composition entries accepted at most.
const MAX_ENTRIES: usize = 200;

/// One supplier's contribution to its customer's passport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupplierContribution {
    pub version: u32,
    pub supplier: SupplierIdentity,
    /// What was supplied (the customer's passport describes the product it went into).
    pub product: SuppliedProduct,
    /// `materials.composition` entries of the aspect.
    pub composition: Vec<MaterialComposition>,
    pub recycled_content: RecycledContent,
    /// `conformity.dueDiligencePolicy` entry of the aspect: the supplier's report.
    pub due_diligence_report: Document,
}

/// Who supplies: its DID in the data space (which must be the party that delivers the
/// document), its business partner number and its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupplierIdentity {
    pub did: String,
    pub bpnl: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuppliedProduct {
    pub manufacturer_part_id: String,
    pub name_at_manufacturer: String,
}

/// `MaterialCompositionEntity` of the aspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaterialComposition {
    pub id: Vec<MaterialId>,
    pub concentration: f64,
    pub unit: String,
    pub critical: bool,
    pub recycled: f64,
    pub renewable: f64,
    pub location: String,
    pub documentation: Vec<Document>,
}

/// `MaterialIdEntity` of the aspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialId {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub id: String,
}

/// Recycled shares in percent (`materials.active.<material>.recycled` of the aspect).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecycledContent {
    pub nickel: f64,
    pub cobalt: f64,
    pub lithium: f64,
    pub lead: f64,
}

/// `DocumentationEntity` of the aspect: a link with a header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document {
    pub content_type: String,
    pub header: String,
    pub content: String,
}

/// Where a contribution came from: the supplier's DID, the contract agreement it was
/// delivered under, the dataset and the supplier's DSP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub supplier_did: String,
    pub agreement_id: String,
    pub dataset_id: String,
    pub dsp_url: String,
}

impl Provenance {
    /// The `content` of the `sources` entry: `key=value` pairs separated by spaces (no value
    /// holds a space; [`Provenance::parse`] reads it back).
    fn to_text(&self) -> String {
        format!(
            "provider={} agreement={} dataset={} dsp={}",
            self.supplier_did, self.agreement_id, self.dataset_id, self.dsp_url
        )
    }

    /// Reads the `content` of a provenance entry.
    pub fn parse(text: &str) -> Option<Provenance> {
        let mut fields = std::collections::HashMap::new();
        for pair in text.split(' ') {
            let (key, value) = pair.split_once('=')?;
            fields.insert(key, value);
        }
        Some(Provenance {
            supplier_did: fields.get("provider")?.to_string(),
            agreement_id: fields.get("agreement")?.to_string(),
            dataset_id: fields.get("dataset")?.to_string(),
            dsp_url: fields.get("dsp")?.to_string(),
        })
    }

    /// The provenance entries in a BatteryPass document's `sources`.
    pub fn all_in(document: &Value) -> Vec<Provenance> {
        document
            .get("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|source| source["type"] == PROVENANCE_TYPE)
            .filter_map(|source| source["content"].as_str().and_then(Provenance::parse))
            .collect()
    }
}

fn invalid(pointer: &str, reason: impl Into<String>) -> ModelError {
    ModelError {
        pointer: pointer.to_owned(),
        reason: reason.into(),
    }
}

fn text(value: &str, pointer: &str, max: usize) -> Result<(), ModelError> {
    if value.trim().is_empty() {
        return Err(invalid(pointer, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(invalid(pointer, format!("longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(pointer, "holds control characters"));
    }
    Ok(())
}

fn share(value: f64, pointer: &str) -> Result<(), ModelError> {
    if value.is_finite() && (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(invalid(pointer, "must be a percentage from 0 to 100"))
    }
}

impl Document {
    fn validate(&self, pointer: &str) -> Result<(), ModelError> {
        text(&self.header, &format!("{pointer}/header"), MAX_HEADER)?;
        text(&self.content_type, &format!("{pointer}/contentType"), 50)?;
        if self.content_type != "URL" {
            return Err(invalid(
                &format!("{pointer}/contentType"),
                "only URL documents are accepted",
            ));
        }
        let url = Url::parse(&self.content)
            .map_err(|_| invalid(&format!("{pointer}/content"), "not a URL"))?;
        if url.scheme() != "https" || self.content.len() > 2000 {
            return Err(invalid(
                &format!("{pointer}/content"),
                "must be an https URL of at most 2000 characters",
            ));
        }
        Ok(())
    }

    fn to_value(&self) -> Value {
        json!({"contentType": self.content_type, "header": self.header, "content": self.content})
    }
}

impl SupplierContribution {
    /// Parses and checks a contribution as it arrives.
    pub fn from_slice(bytes: &[u8]) -> Result<SupplierContribution, ModelError> {
        let contribution: SupplierContribution = serde_json::from_slice(bytes)
            .map_err(|error| invalid("", format!("not a supplier contribution: {error}")))?;
        contribution.validate()?;
        Ok(contribution)
    }

    /// Checks every field against the aspect's constraints and this format's own (a DID, a
    /// BPNL, https links, shares from 0 to 100, at least one composition entry). The error
    /// names the offending field with a JSON pointer.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.version != SUPPLY_FORMAT_VERSION {
            return Err(invalid(
                "/version",
                format!("only version {SUPPLY_FORMAT_VERSION} is known"),
            ));
        }
        tsunagu_trust::did::Did::parse(&self.supplier.did)
            .map_err(|_| invalid("/supplier/did", "not a DID"))?;
        if !crate::model::is_bpn(&self.supplier.bpnl, "BPNL") {
            return Err(invalid("/supplier/bpnl", "not a BPNL"));
        }
        text(&self.supplier.name, "/supplier/name", MAX_TEXT)?;
        text(
            &self.product.manufacturer_part_id,
            "/product/manufacturerPartId",
            MAX_TEXT,
        )?;
        text(
            &self.product.name_at_manufacturer,
            "/product/nameAtManufacturer",
            MAX_TEXT,
        )?;
        if self.composition.is_empty() {
            return Err(invalid("/composition", "at least one entry is required"));
        }
        if self.composition.len() > MAX_ENTRIES {
            return Err(invalid(
                "/composition",
                format!("more than {MAX_ENTRIES} entries"),
            ));
        }
        for (index, entry) in self.composition.iter().enumerate() {
            let base = format!("/composition/{index}");
            if entry.id.is_empty() {
                return Err(invalid(
                    &format!("{base}/id"),
                    "at least one id is required",
                ));
            }
            for (n, id) in entry.id.iter().enumerate() {
                let at = format!("{base}/id/{n}");
                if !MATERIAL_ID_TYPES.contains(&id.kind.as_str()) {
                    return Err(invalid(&format!("{at}/type"), "must be CAS, EC or IUPAC"));
                }
                text(&id.name, &format!("{at}/name"), MAX_TEXT)?;
                text(&id.id, &format!("{at}/id"), MAX_TEXT)?;
            }
            if !CONCENTRATION_UNITS.contains(&entry.unit.as_str()) {
                return Err(invalid(
                    &format!("{base}/unit"),
                    "not a concentration unit of the aspect",
                ));
            }
            if !entry.concentration.is_finite() || entry.concentration < 0.0 {
                return Err(invalid(
                    &format!("{base}/concentration"),
                    "must be a number not below 0",
                ));
            }
            if entry.unit == "unit:percent" && entry.concentration > 100.0 {
                return Err(invalid(
                    &format!("{base}/concentration"),
                    "a percentage cannot exceed 100",
                ));
            }
            share(entry.recycled, &format!("{base}/recycled"))?;
            share(entry.renewable, &format!("{base}/renewable"))?;
            text(&entry.location, &format!("{base}/location"), MAX_TEXT)?;
            for (n, document) in entry.documentation.iter().enumerate() {
                document.validate(&format!("{base}/documentation/{n}"))?;
            }
        }
        let recycled = &self.recycled_content;
        for (name, value) in [
            ("nickel", recycled.nickel),
            ("cobalt", recycled.cobalt),
            ("lithium", recycled.lithium),
            ("lead", recycled.lead),
        ] {
            share(value, &format!("/recycledContent/{name}"))?;
        }
        self.due_diligence_report.validate("/dueDiligenceReport")?;
        Ok(())
    }
}

/// Writes `contribution` into the BatteryPass document `content`: the composition replaces
/// `materials.composition`, the recycled shares replace those of `materials.active` (the
/// entries must exist; their location and documentation stay the customer's), the report
/// replaces `conformity.dueDiligencePolicy`, and a `sources` entry records the provenance.
/// Checks the contribution first; on any error `content` is left as it was.
pub fn contribute(
    content: &mut Value,
    contribution: &SupplierContribution,
    provenance: &Provenance,
) -> Result<(), ModelError> {
    contribution.validate()?;
    if provenance.supplier_did != contribution.supplier.did {
        return Err(invalid(
            "/supplier/did",
            "the document names another supplier than the party that delivered it",
        ));
    }
    let mut updated = content.clone();
    let composition: Vec<Value> = contribution
        .composition
        .iter()
        .map(|entry| serde_json::to_value(entry).unwrap_or(Value::Null))
        .collect();
    set(
        &mut updated,
        "/materials/composition",
        Value::from(composition),
    )?;
    let recycled = contribution.recycled_content;
    for (name, value) in [
        ("nickel", recycled.nickel),
        ("cobalt", recycled.cobalt),
        ("lithium", recycled.lithium),
        ("lead", recycled.lead),
    ] {
        set(
            &mut updated,
            &format!("/materials/active/{name}/recycled"),
            json!(value),
        )?;
    }
    set(
        &mut updated,
        "/conformity/dueDiligencePolicy",
        json!([contribution.due_diligence_report.to_value()]),
    )?;
    let header: String = format!("Supplier data: {}", contribution.supplier.name)
        .chars()
        .take(MAX_HEADER)
        .collect();
    let entry = json!({
        "header": header,
        "category": PROVENANCE_CATEGORY,
        "type": PROVENANCE_TYPE,
        "content": provenance.to_text(),
    });
    match updated.get_mut("sources") {
        Some(Value::Array(sources)) => sources.push(entry),
        Some(_) => return Err(invalid("/sources", "must be an array")),
        None => {
            set(&mut updated, "/sources", json!([entry]))?;
        }
    }
    *content = updated;
    Ok(())
}

/// Sets the field at `pointer`, whose parent object must exist.
fn set(content: &mut Value, pointer: &str, value: Value) -> Result<(), ModelError> {
    let (parent, name) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match content.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.insert(name.to_owned(), value);
            Ok(())
        }
        _ => Err(invalid(parent, "required section missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> SupplierContribution {
        let link = |header: &str| Document {
            content_type: "URL".into(),
            header: header.into(),
            content: "https://cells.example/dd-2026.pdf".into(),
        };
        SupplierContribution {
            version: SUPPLY_FORMAT_VERSION,
            supplier: SupplierIdentity {
                did: "did:web:cells.example".into(),
                bpnl: "BPNL000000CELLS1".into(),
                name: "Cells K.K.".into(),
            },
            product: SuppliedProduct {
                manufacturer_part_id: "CELL-NMC811-P60".into(),
                name_at_manufacturer: "Pouch cell NMC811".into(),
            },
            composition: vec![MaterialComposition {
                id: vec![MaterialId {
                    kind: "CAS".into(),
                    name: "graphite".into(),
                    id: "7782-42-5".into(),
                }],
                concentration: 17.0,
                unit: "unit:percent".into(),
                critical: true,
                recycled: 4.0,
                renewable: 0.0,
                location: "Anode".into(),
                documentation: vec![link("Graphite origin")],
            }],
            recycled_content: RecycledContent {
                nickel: 7.5,
                cobalt: 18.0,
                lithium: 6.5,
                lead: 0.0,
            },
            due_diligence_report: link("Due diligence report 2026"),
        }
    }

    fn provenance() -> Provenance {
        Provenance {
            supplier_did: "did:web:cells.example".into(),
            agreement_id: "agreement-1".into(),
            dataset_id: "passport-supply-CELL".into(),
            dsp_url: "https://cells.example/dsp".into(),
        }
    }

    #[test]
    fn a_sample_contribution_is_valid_and_round_trips_as_json() {
        let contribution = sample();
        contribution.validate().unwrap();
        let bytes = serde_json::to_vec(&contribution).unwrap();
        assert_eq!(
            SupplierContribution::from_slice(&bytes).unwrap(),
            contribution
        );
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["composition"][0]["id"][0]["type"], "CAS");
        assert_eq!(value["dueDiligenceReport"]["contentType"], "URL");
    }

    #[test]
    fn bad_contributions_are_refused_with_the_field() {
        type Breakage = Box<dyn Fn(&mut SupplierContribution)>;
        let cases: Vec<(&str, Breakage)> = vec![
            ("/version", Box::new(|c| c.version = 2)),
            (
                "/supplier/did",
                Box::new(|c| c.supplier.did = "cells".into()),
            ),
            (
                "/supplier/bpnl",
                Box::new(|c| c.supplier.bpnl = "BPNA000000CELLS1".into()),
            ),
            ("/composition", Box::new(|c| c.composition.clear())),
            (
                "/composition/0/id/0/type",
                Box::new(|c| c.composition[0].id[0].kind = "SMILES".into()),
            ),
            (
                "/composition/0/unit",
                Box::new(|c| c.composition[0].unit = "percent".into()),
            ),
            (
                "/composition/0/concentration",
                Box::new(|c| c.composition[0].concentration = 101.0),
            ),
            (
                "/composition/0/recycled",
                Box::new(|c| c.composition[0].recycled = f64::NAN),
            ),
            (
                "/composition/0/documentation/0/content",
                Box::new(|c| {
                    c.composition[0].documentation[0].content = "http://cells.example/x".into()
                }),
            ),
            (
                "/recycledContent/cobalt",
                Box::new(|c| c.recycled_content.cobalt = -1.0),
            ),
            (
                "/dueDiligenceReport/header",
                Box::new(|c| c.due_diligence_report.header = "x".repeat(101)),
            ),
            (
                "/dueDiligenceReport/content",
                Box::new(|c| c.due_diligence_report.content = "javascript:alert(1)".into()),
            ),
        ];
        for (pointer, break_it) in cases {
            let mut contribution = sample();
            break_it(&mut contribution);
            let error = contribution.validate().unwrap_err();
            assert_eq!(error.pointer, pointer, "{error}");
        }
        // Unknown fields are refused, not ignored.
        let mut value = serde_json::to_value(sample()).unwrap();
        value["extra"] = json!(1);
        assert!(SupplierContribution::from_slice(value.to_string().as_bytes()).is_err());
    }

    #[test]
    fn contribute_writes_the_fields_and_the_provenance_or_nothing() {
        let mut content = crate::demo::demo_battery_pass_json(
            "urn:uuid:00000000-0000-4000-8000-000000000000",
            "LA:TSUNAGU:PACK-0001",
            "2026-11-30",
        );
        let before = content.clone();
        // Another supplier's document is refused and changes nothing.
        let mut wrong = provenance();
        wrong.supplier_did = "did:web:other.example".into();
        assert!(contribute(&mut content, &sample(), &wrong).is_err());
        assert_eq!(content, before);

        contribute(&mut content, &sample(), &provenance()).unwrap();
        assert_eq!(
            content["materials"]["composition"],
            json!([serde_json::to_value(&sample().composition[0]).unwrap()])
        );
        assert_eq!(content["materials"]["active"]["cobalt"]["recycled"], 18.0);
        assert_eq!(
            content["materials"]["active"]["cobalt"]["location"],
            "Cathode"
        );
        assert_eq!(
            content["conformity"]["dueDiligencePolicy"][0]["content"],
            "https://cells.example/dd-2026.pdf"
        );
        assert_eq!(Provenance::all_in(&content), vec![provenance()]);
        crate::model::BatteryPass::from_json(content).unwrap();
    }
}
