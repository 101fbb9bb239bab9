//! The Ouranos JSON models, field for field, and their conversions to and from the domain.
//!
//! Inputs are read leniently (every field optional) and then checked with the messages
//! Ouranos gives (`partsName: cannot be blank.`), so that a client sees the error it would
//! see from Ouranos instead of a deserializer's. Outputs write every field, null included.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::company::{
    CorporateNumber, EoriNumber, Lei, OpenPlantId, Operator, OperatorIdentifier, Part, Plant,
    TraceId, VatNumber,
};
use crate::ouranos::{self, CfpType, OuranosDqr};
use crate::request::RequestStatus;
use crate::service::{CfpCertification, CfpRow, PartInput, TradeView};

/// Writes a decimal as a JSON number, as Ouranos does: whole numbers as integers, others as
/// the nearest double (only the wire form; no arithmetic happens on it).
fn number<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
    match value.map(|v| v.normalize()) {
        None => serializer.serialize_none(),
        Some(v) if v.scale() == 0 && v.to_i64().is_some() => {
            serializer.serialize_i64(v.to_i64().unwrap_or_default())
        }
        Some(v) => serializer.serialize_f64(v.to_f64().unwrap_or(f64::NAN)),
    }
}

/// The largest value Ouranos stores in its numeric fields.
fn ouranos_max() -> Decimal {
    Decimal::new(9_999_999_999, 5)
}

/// A reason in the Ouranos phrasing, without the `Validation failed, ` prefix.
pub(crate) type Reason = String;

pub(crate) fn blank(field: &str) -> Reason {
    format!("{field}: cannot be blank.")
}

pub(crate) fn required_text<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, Reason> {
    match value.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => Ok(value.as_deref().unwrap_or_default()),
        _ => Err(blank(field)),
    }
}

pub(crate) fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), Reason> {
    let count = value.chars().count();
    if count < min || count > max {
        if min == 0 {
            Err(format!("{field}: the length must be no more than {max}."))
        } else {
            Err(format!(
                "{field}: the length must be between {min} and {max}."
            ))
        }
    } else {
        Ok(())
    }
}

fn optional_text(
    field: &str,
    value: &Option<String>,
    max: usize,
) -> Result<Option<String>, Reason> {
    match value {
        None => Ok(None),
        Some(text) => {
            length(field, text, 0, max)?;
            Ok(Some(text.clone()))
        }
    }
}

pub(crate) fn uuid(field: &str, value: &str) -> Result<Uuid, Reason> {
    Uuid::parse_str(value.trim()).map_err(|_| format!("{field}: must be a valid UUID."))
}

pub(crate) fn required_uuid(field: &str, value: &Option<String>) -> Result<Uuid, Reason> {
    uuid(field, required_text(field, value)?)
}

pub(crate) fn optional_uuid(field: &str, value: &Option<String>) -> Result<Option<Uuid>, Reason> {
    match value.as_deref() {
        None => Ok(None),
        Some(text) => uuid(field, text).map(Some),
    }
}

/// An amount or emission: 0 to 99999.99999 with at most five decimal places.
fn ouranos_decimal(field: &str, value: Decimal) -> Result<Decimal, Reason> {
    if value.is_sign_negative() && !value.is_zero() || value > ouranos_max() {
        return Err(format!("{field}: must be between 0 and 99999.99999."));
    }
    if value.normalize().scale() > 5 {
        return Err(format!(
            "{field}: must be a value up to the 5th decimal place."
        ));
    }
    Ok(value)
}

/// `openOperatorId` and `globalOperatorId` as this crate's checked identifiers: a Japanese
/// corporate number (13 digits), an LEI (20 characters), or a VAT or EORI number.
pub(crate) fn operator_identifier(field: &str, text: &str) -> Result<OperatorIdentifier, Reason> {
    let text = text.trim();
    let reason = |error: crate::IdentifierError| format!("{field}: {error}.");
    if text.len() == 13 && text.bytes().all(|b| b.is_ascii_digit()) {
        return CorporateNumber::parse(text)
            .map(OperatorIdentifier::JapaneseCorporateNumber)
            .map_err(reason);
    }
    if text.len() == 20 {
        return Lei::parse(text)
            .map(OperatorIdentifier::Lei)
            .map_err(reason);
    }
    if let Ok(vat) = VatNumber::parse(text) {
        return Ok(OperatorIdentifier::Vat(vat));
    }
    EoriNumber::parse(text)
        .map(OperatorIdentifier::Eori)
        .map_err(|_| {
            format!(
                "{field}: {text:?} is neither a Japanese corporate number, an LEI, a VAT nor an EORI number."
            )
        })
}

// ----- operators and plants -----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperatorAttribute {
    #[serde(default)]
    pub(crate) global_operator_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperatorModel {
    #[serde(default)]
    pub(crate) open_operator_id: Option<String>,
    #[serde(default)]
    pub(crate) operator_address: Option<String>,
    #[serde(default)]
    pub(crate) operator_attribute: Option<OperatorAttribute>,
    #[serde(default)]
    pub(crate) operator_id: Option<String>,
    #[serde(default)]
    pub(crate) operator_name: Option<String>,
}

impl OperatorModel {
    pub(crate) fn of(operator: &Operator) -> OperatorModel {
        OperatorModel {
            open_operator_id: Some(operator.open_operator_id.as_str().to_owned()),
            operator_address: Some(operator.address.clone()),
            operator_attribute: Some(OperatorAttribute {
                global_operator_id: operator
                    .global_operator_id
                    .as_ref()
                    .map(|id| id.as_str().to_owned()),
            }),
            operator_id: Some(operator.operator_id.to_string()),
            operator_name: Some(operator.name.clone()),
        }
    }

    pub(crate) fn to_update(&self) -> Result<crate::service::OperatorUpdate, Reason> {
        let name = required_text("operatorName", &self.operator_name)?;
        length("operatorName", name, 1, 256)?;
        let address = required_text("operatorAddress", &self.operator_address)?;
        length("operatorAddress", address, 1, 256)?;
        let open = required_text("openOperatorId", &self.open_operator_id)?;
        length("openOperatorId", open, 1, 20)?;
        let global = match self
            .operator_attribute
            .as_ref()
            .and_then(|a| a.global_operator_id.as_deref())
        {
            // Ouranos tells an empty id from none; here both mean that there is none.
            None | Some("") => None,
            Some(text) => {
                length("globalOperatorId", text, 0, 256)?;
                Some(operator_identifier("globalOperatorId", text)?)
            }
        };
        Ok(crate::service::OperatorUpdate {
            operator_id: required_uuid("operatorId", &self.operator_id)?,
            name: name.to_owned(),
            address: address.to_owned(),
            open_operator_id: operator_identifier("openOperatorId", open)?,
            global_operator_id: global,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlantAttribute {
    #[serde(default)]
    pub(crate) global_plant_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlantModel {
    #[serde(default)]
    pub(crate) open_plant_id: Option<String>,
    #[serde(default)]
    pub(crate) operator_id: Option<String>,
    #[serde(default)]
    pub(crate) plant_address: Option<String>,
    #[serde(default)]
    pub(crate) plant_id: Option<String>,
    #[serde(default)]
    pub(crate) plant_name: Option<String>,
    #[serde(default)]
    pub(crate) plant_attribute: Option<PlantAttribute>,
}

impl PlantModel {
    pub(crate) fn of(plant: &Plant) -> PlantModel {
        PlantModel {
            open_plant_id: Some(plant.open_plant_id.as_str().to_owned()),
            operator_id: Some(plant.operator_id.to_string()),
            plant_address: Some(plant.address.clone()),
            plant_id: Some(plant.plant_id.to_string()),
            plant_name: Some(plant.name.clone()),
            plant_attribute: Some(PlantAttribute {
                global_plant_id: plant.global_plant_id.clone(),
            }),
        }
    }

    pub(crate) fn to_input(&self) -> Result<crate::service::PlantInput, Reason> {
        let name = required_text("plantName", &self.plant_name)?;
        length("plantName", name, 1, 256)?;
        let address = required_text("plantAddress", &self.plant_address)?;
        length("plantAddress", address, 1, 256)?;
        let open = required_text("openPlantId", &self.open_plant_id)?;
        let open_plant_id = OpenPlantId::parse(open)
            .map_err(|_| "openPlantId: the last 6 digits must always be numeric ".to_owned())?;
        let global = self
            .plant_attribute
            .as_ref()
            .and_then(|a| a.global_plant_id.clone());
        if let Some(global) = &global {
            length("globalPlantId", global, 0, 256)?;
        }
        Ok(crate::service::PlantInput {
            plant_id: optional_uuid("plantId", &self.plant_id)?,
            operator_id: required_uuid("operatorId", &self.operator_id)?,
            name: name.to_owned(),
            address: address.to_owned(),
            open_plant_id,
            global_plant_id: global,
        })
    }
}

// ----- parts -----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartsModel {
    #[serde(default, serialize_with = "number")]
    pub(crate) amount_required: Option<Decimal>,
    #[serde(default)]
    pub(crate) amount_required_unit: Option<String>,
    #[serde(default)]
    pub(crate) operator_id: Option<String>,
    #[serde(default)]
    pub(crate) parts_name: Option<String>,
    #[serde(default)]
    pub(crate) plant_id: Option<String>,
    #[serde(default)]
    pub(crate) support_parts_name: Option<String>,
    #[serde(default)]
    pub(crate) terminated_flag: Option<bool>,
    #[serde(default)]
    pub(crate) trace_id: Option<String>,
    #[serde(default)]
    pub(crate) parts_label_name: Option<String>,
    #[serde(default)]
    pub(crate) parts_add_info1: Option<String>,
    #[serde(default)]
    pub(crate) parts_add_info2: Option<String>,
    #[serde(default)]
    pub(crate) parts_add_info3: Option<String>,
}

impl PartsModel {
    pub(crate) fn of(part: &Part) -> PartsModel {
        let [info1, info2, info3] = part.additional_info.clone();
        PartsModel {
            amount_required: part.amount_required,
            amount_required_unit: Some(
                ouranos::unit_to_ouranos(part.amount_required_unit).to_owned(),
            ),
            operator_id: Some(part.operator_id.to_string()),
            parts_name: Some(part.part_name.clone()),
            plant_id: Some(part.plant_id.to_string()),
            support_parts_name: part.support_part_name.clone(),
            terminated_flag: Some(part.terminated_flag),
            trace_id: Some(part.trace_id.to_string()),
            parts_label_name: part.label_name.clone(),
            parts_add_info1: info1,
            parts_add_info2: info2,
            parts_add_info3: info3,
        }
    }

    pub(crate) fn to_input(&self) -> Result<PartInput, Reason> {
        let name = required_text("partsName", &self.parts_name)?;
        length("partsName", name, 1, 50)?;
        let unit_name = required_text("amountRequiredUnit", &self.amount_required_unit)?;
        length("amountRequiredUnit", unit_name, 1, 20)?;
        let unit = ouranos::unit_from_ouranos(unit_name)
            .ok_or_else(|| format!("amountRequiredUnit: cannot be allowed '{unit_name}'."))?;
        let amount = self
            .amount_required
            .map(|a| ouranos_decimal("amountRequired", a))
            .transpose()?;
        Ok(PartInput {
            trace_id: optional_uuid("traceId", &self.trace_id)?.map(TraceId::new),
            operator_id: required_uuid("operatorId", &self.operator_id)?,
            plant_id: required_uuid("plantId", &self.plant_id)?,
            part_name: name.to_owned(),
            support_part_name: optional_text("supportPartsName", &self.support_parts_name, 50)?,
            label_name: optional_text("partsLabelName", &self.parts_label_name, 50)?,
            amount_required: amount,
            amount_required_unit: unit,
            terminated_flag: self.terminated_flag.unwrap_or(false),
            additional_info: [
                optional_text("partsAddInfo1", &self.parts_add_info1, 50)?,
                optional_text("partsAddInfo2", &self.parts_add_info2, 50)?,
                optional_text("partsAddInfo3", &self.parts_add_info3, 50)?,
            ],
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartsStructureModel {
    #[serde(default)]
    pub(crate) parent_parts_model: Option<PartsModel>,
    #[serde(default)]
    pub(crate) children_parts_model: Option<Vec<PartsModel>>,
}

// ----- footprints -----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DqrValue {
    #[serde(rename = "TeR", default, serialize_with = "number")]
    pub(crate) ter: Option<Decimal>,
    #[serde(rename = "GeR", default, serialize_with = "number")]
    pub(crate) ger: Option<Decimal>,
    #[serde(rename = "TiR", default, serialize_with = "number")]
    pub(crate) tir: Option<Decimal>,
}

impl DqrValue {
    fn of(quality: Option<Option<crate::DataQualityRating>>) -> DqrValue {
        match quality {
            None => DqrValue::default(),
            Some(rating) => {
                let dqr = OuranosDqr::from_rating(rating);
                DqrValue {
                    ter: dqr.ter,
                    ger: dqr.ger,
                    tir: dqr.tir,
                }
            }
        }
    }

    pub(crate) fn to_ouranos(&self) -> OuranosDqr {
        OuranosDqr {
            ter: self.ter,
            ger: self.ger,
            tir: self.tir,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CfpModel {
    #[serde(default)]
    pub(crate) cfp_id: Option<String>,
    #[serde(default)]
    pub(crate) trace_id: Option<String>,
    #[serde(default, serialize_with = "number")]
    pub(crate) ghg_emission: Option<Decimal>,
    #[serde(default)]
    pub(crate) ghg_declared_unit: Option<String>,
    #[serde(default)]
    pub(crate) cfp_type: Option<String>,
    #[serde(default)]
    pub(crate) dqr_type: Option<String>,
    #[serde(default)]
    pub(crate) dqr_value: Option<DqrValue>,
}

impl CfpModel {
    pub(crate) fn of(row: &CfpRow) -> CfpModel {
        CfpModel {
            cfp_id: row.cfp_id.map(|id| id.to_string()),
            trace_id: Some(row.trace_id.to_string()),
            ghg_emission: row.figure.kg_co2e,
            ghg_declared_unit: Some(ouranos::declared_unit_to_ouranos(row.declared_unit)),
            cfp_type: Some(row.figure.cfp_type.as_str().to_owned()),
            dqr_type: Some(row.figure.cfp_type.dqr_type().to_owned()),
            dqr_value: Some(DqrValue::of(row.figure.quality)),
        }
    }
}

/// The four rows of a `PUT cfp`, checked as Ouranos checks them.
pub(crate) struct CfpSubmission {
    pub(crate) trace_id: TraceId,
    pub(crate) cfp_id: Option<Uuid>,
    pub(crate) figures: ouranos::OuranosFootprint,
}

pub(crate) fn cfp_submission(rows: &[CfpModel]) -> Result<CfpSubmission, Reason> {
    if rows.len() != 4 {
        return Err("cfp models must be 4 elements".into());
    }
    let mut figures: [Option<(Decimal, Option<crate::DataQualityRating>)>; 4] = [None; 4];
    let mut dqr_by_type: Vec<(String, OuranosDqr)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let element = |reason: Reason| format!("cfpModel[{index}]: ({reason}).");
        let type_name = required_text("cfpType", &row.cfp_type).map_err(element)?;
        let cfp_type = CfpType::parse(type_name)
            .filter(|t| CfpType::OWN.contains(t))
            .ok_or_else(|| element(format!("cfpType: cannot be allowed '{type_name}'.")))?;
        required_text("traceId", &row.trace_id).map_err(element)?;
        let dqr_type = required_text("dqrType", &row.dqr_type).map_err(element)?;
        if dqr_type != cfp_type.dqr_type() {
            return Err(element(
                "ensure the combination of cfpType and dqrType is correct.".into(),
            ));
        }
        let emission = row
            .ghg_emission
            .ok_or_else(|| element(blank("ghgEmission")))?;
        let emission = ouranos_decimal("ghgEmission", emission).map_err(element)?;
        let dqr = row.dqr_value.clone().unwrap_or_default().to_ouranos();
        for value in [dqr.ter, dqr.ger, dqr.tir].into_iter().flatten() {
            ouranos_decimal("dqrValue", value).map_err(element)?;
        }
        match dqr_by_type.iter().find(|(t, _)| t == dqr_type) {
            Some((_, seen)) if *seen != dqr => {
                return Err("different dqrValues are set for the same dqrType.".into());
            }
            Some(_) => {}
            None => dqr_by_type.push((dqr_type.to_owned(), dqr)),
        }
        let rating = dqr
            .to_rating()
            .map_err(|e| element(format!("dqrValue: {e}.")))?;
        let slot = CfpType::OWN
            .iter()
            .position(|t| *t == cfp_type)
            .unwrap_or(0);
        // A type given twice leaves another missing, which is reported below.
        figures[slot] = Some((emission, rating));
    }
    for (slot, cfp_type) in CfpType::OWN.iter().enumerate() {
        if figures[slot].is_none() {
            return Err(format!("cfpType {cfp_type} is insufficient"));
        }
    }
    let first = &rows[0];
    if rows.iter().any(|r| r.cfp_id != first.cfp_id) {
        return Err("ensure all objects have the same cfpId".into());
    }
    if rows.iter().any(|r| r.trace_id != first.trace_id) {
        return Err("ensure all objects have the same traceId".into());
    }
    if rows
        .iter()
        .any(|r| r.ghg_declared_unit != first.ghg_declared_unit)
    {
        return Err("ensure all objects have the same ghgDeclaredUnit".into());
    }
    let unit_name = required_text("ghgDeclaredUnit", &first.ghg_declared_unit)?;
    let declared_unit = ouranos::declared_unit_from_ouranos(unit_name)
        .ok_or_else(|| format!("ghgDeclaredUnit: cannot be allowed '{unit_name}'."))?;
    let [pre, main, pre_component, main_component] =
        figures.map(|f| f.unwrap_or((Decimal::ZERO, None)));
    Ok(CfpSubmission {
        trace_id: TraceId::new(required_uuid("traceId", &first.trace_id)?),
        cfp_id: optional_uuid("cfpId", &first.cfp_id)?,
        figures: ouranos::OuranosFootprint {
            declared_unit,
            pre_production: pre.0,
            main_production: main.0,
            pre_component: pre_component.0,
            main_component: main_component.0,
            pre_quality: pre.1,
            main_quality: main.1,
        },
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificationFileModel {
    pub(crate) operator_id: Option<String>,
    pub(crate) file_id: Option<String>,
    pub(crate) file_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CfpCertificationModel {
    pub(crate) cfp_certification_id: String,
    pub(crate) trace_id: String,
    pub(crate) cfp_certification_description: Option<String>,
    pub(crate) cfp_certification_file_info: Option<Vec<CertificationFileModel>>,
}

impl CfpCertificationModel {
    pub(crate) fn of(certification: &CfpCertification) -> CfpCertificationModel {
        CfpCertificationModel {
            cfp_certification_id: certification.certification_id.to_string(),
            trace_id: certification.trace_id.to_string(),
            cfp_certification_description: certification.description.clone(),
            cfp_certification_file_info: certification.files.as_ref().map(|files| {
                files
                    .iter()
                    .map(|f| CertificationFileModel {
                        operator_id: f.operator_id.map(|id| id.to_string()),
                        file_id: f.file_id.map(|id| id.to_string()),
                        file_name: f.file_name.clone(),
                    })
                    .collect()
            }),
        }
    }
}

// ----- trades -----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TradeModel {
    #[serde(default)]
    pub(crate) downstream_operator_id: Option<String>,
    #[serde(default)]
    pub(crate) downstream_trace_id: Option<String>,
    #[serde(default)]
    pub(crate) trade_id: Option<String>,
    /// The example request of the Ouranos specification spells it `upsreamOperatorId`.
    #[serde(default, alias = "upsreamOperatorId")]
    pub(crate) upstream_operator_id: Option<String>,
    #[serde(default)]
    pub(crate) upstream_trace_id: Option<String>,
}

impl TradeModel {
    pub(crate) fn of(request: &crate::TradeRequest) -> TradeModel {
        TradeModel {
            downstream_operator_id: Some(request.downstream_operator_id.to_string()),
            downstream_trace_id: Some(request.downstream_trace_id.to_string()),
            trade_id: Some(request.trade_id.to_string()),
            upstream_operator_id: Some(request.upstream_operator_id.to_string()),
            upstream_trace_id: request.upstream_trace_id.map(|t| t.to_string()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestStatusModel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cfp_response_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trade_tree_status: Option<&'static str>,
    pub(crate) completed_count: Option<u32>,
    pub(crate) completed_count_modified_at: Option<String>,
    pub(crate) trades_count: Option<u32>,
    pub(crate) trades_count_modified_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusModel {
    pub(crate) message: Option<String>,
    pub(crate) reply_message: Option<String>,
    pub(crate) request_status: RequestStatusModel,
    pub(crate) request_type: &'static str,
    pub(crate) status_id: String,
    pub(crate) trade_id: String,
    pub(crate) response_due_date: Option<String>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl StatusModel {
    pub(crate) fn of(view: &TradeView) -> StatusModel {
        let request = &view.request;
        let updated = timestamp(view.status.updated_at);
        StatusModel {
            message: request.message.clone(),
            reply_message: match &request.status {
                RequestStatus::Rejected { reason } => Some(reason.clone()),
                _ => None,
            },
            request_status: RequestStatusModel {
                cfp_response_status: Some(request.status.ouranos_name()),
                trade_tree_status: Some(if view.status.terminated {
                    "TERMINATED"
                } else {
                    "UNTERMINATED"
                }),
                completed_count: Some(view.status.completed),
                completed_count_modified_at: Some(updated.clone()),
                trades_count: Some(view.status.total),
                trades_count_modified_at: Some(updated),
            },
            request_type: "CFP",
            status_id: request.status_id.to_string(),
            trade_id: request.trade_id.to_string(),
            response_due_date: request.response_due_date.map(|d| d.to_string()),
        }
    }

    /// The status as `PUT tradeRequest` answers it: counts not yet known, as in Ouranos.
    pub(crate) fn of_new(view: &TradeView) -> StatusModel {
        StatusModel {
            request_status: RequestStatusModel::default(),
            ..StatusModel::of(view)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TradeRequestModel {
    pub(crate) status_model: StatusModel,
    pub(crate) trade_model: TradeModel,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TradeResponseModel {
    pub(crate) trade_model: TradeModel,
    pub(crate) status_model: StatusModel,
    pub(crate) parts_model: PartsModel,
}

/// The parts of a `StatusModel` a client sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusInput {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) reply_message: Option<String>,
    #[serde(default)]
    pub(crate) request_status: Option<RequestStatusInput>,
    #[serde(default)]
    pub(crate) request_type: Option<String>,
    #[serde(default)]
    pub(crate) status_id: Option<String>,
    #[serde(default)]
    pub(crate) trade_id: Option<String>,
    #[serde(default)]
    pub(crate) response_due_date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestStatusInput {
    #[serde(default)]
    pub(crate) cfp_response_status: Option<String>,
    #[serde(default)]
    pub(crate) trade_tree_status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TradeRequestInput {
    #[serde(default)]
    pub(crate) status_model: Option<StatusInput>,
    #[serde(default)]
    pub(crate) trade_model: Option<TradeModel>,
}

pub(crate) fn due_date(value: &Option<String>) -> Result<Option<NaiveDate>, Reason> {
    match value.as_deref() {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| "responseDueDate: must be a valid date.".to_owned()),
    }
}

pub(crate) fn message(field: &str, value: &Option<String>) -> Result<Option<String>, Reason> {
    optional_text(field, value, 1000)
}

// ----- authentication -----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginInput {
    #[serde(default)]
    pub(crate) operator_account_id: Option<String>,
    #[serde(default)]
    pub(crate) account_password: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginOutput {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshInput {
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshOutput {
    pub(crate) access_token: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangePasswordInput {
    #[serde(default)]
    pub(crate) new_password: Option<String>,
}

/// Ouranos' password rule: 8 to 20 of letters, digits and `!@#$%^&*()`.
pub(crate) fn new_password(value: &Option<String>) -> Result<&str, Reason> {
    let password = required_text("newPassword", value)?;
    length("newPassword", password, 8, 20)?;
    if !password
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!@#$%^&*()".contains(c))
    {
        return Err("newPassword: must contain only letters, digits and !@#$%^&*().".into());
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::Unit;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn decimals_go_out_as_json_numbers() {
        let dqr = DqrValue {
            ter: Some(d("2.10")),
            ger: Some(d("10.0")),
            tir: None,
        };
        assert_eq!(
            serde_json::to_string(&dqr).unwrap(),
            r#"{"TeR":2.1,"GeR":10,"TiR":null}"#
        );
        let back: DqrValue = serde_json::from_str(r#"{"TeR":2.1,"GeR":10,"TiR":null}"#).unwrap();
        assert_eq!(back.ter, Some(d("2.1")));
    }

    #[test]
    fn operator_identifiers_are_checked_by_shape() {
        assert!(matches!(
            operator_identifier("openOperatorId", "7000012050002"),
            Ok(OperatorIdentifier::JapaneseCorporateNumber(_))
        ));
        assert!(matches!(
            operator_identifier("globalOperatorId", "5493001KJTIIGC8Y1R12"),
            Ok(OperatorIdentifier::Lei(_))
        ));
        assert!(matches!(
            operator_identifier("globalOperatorId", "DE123456789"),
            Ok(OperatorIdentifier::Vat(_))
        ));
        assert_eq!(
            operator_identifier("openOperatorId", "1234567890123").unwrap_err(),
            "openOperatorId: corporate number 1234567890123 starts with check digit 1, but its \
             12 base digits give check digit 9."
        );
        assert!(operator_identifier("globalOperatorId", "sampleId1").is_err());
    }

    fn row(cfp_type: &str, dqr_type: &str, emission: &str, ter: &str) -> CfpModel {
        CfpModel {
            cfp_id: None,
            trace_id: Some("2fb97052-250b-44de-acbb-1ba63e28af71".into()),
            ghg_emission: Some(d(emission)),
            ghg_declared_unit: Some("kgCO2e/kilogram".into()),
            cfp_type: Some(cfp_type.into()),
            dqr_type: Some(dqr_type.into()),
            dqr_value: Some(DqrValue {
                ter: Some(d(ter)),
                ger: Some(d(ter)),
                tir: Some(d(ter)),
            }),
        }
    }

    fn four() -> Vec<CfpModel> {
        vec![
            row("preProduction", "preProcessing", "1.5", "1"),
            row("mainProduction", "mainProcessing", "10.0", "2"),
            row("preComponent", "preProcessing", "0", "1"),
            row("mainComponent", "mainProcessing", "0", "2"),
        ]
    }

    #[test]
    fn a_cfp_submission_is_read_into_figures() {
        let submission = cfp_submission(&four()).unwrap();
        assert_eq!(submission.figures.declared_unit, Unit::Kilogram);
        assert_eq!(submission.figures.main_production, d("10"));
        assert_eq!(submission.figures.pre_quality.unwrap().ter(), d("1"));
        assert_eq!(submission.cfp_id, None);
    }

    #[test]
    fn a_cfp_submission_is_refused_with_the_ouranos_messages() {
        let check = |rows: Vec<CfpModel>, expected: &str| {
            assert_eq!(cfp_submission(&rows).err().as_deref(), Some(expected));
        };
        check(four()[..3].to_vec(), "cfp models must be 4 elements");
        let mut rows = four();
        rows[2] = row("preComponent", "preProcessing", "0", "3");
        check(rows, "different dqrValues are set for the same dqrType.");
        let mut rows = four();
        rows[1] = row("hoge", "mainProcessing", "1", "2");
        check(rows, "cfpModel[1]: (cfpType: cannot be allowed 'hoge'.).");
        let mut rows = four();
        rows[0].dqr_type = Some("mainProcessing".into());
        check(
            rows,
            "cfpModel[0]: (ensure the combination of cfpType and dqrType is correct.).",
        );
        let mut rows = four();
        rows[2].ghg_emission = Some(d("0.000001"));
        check(
            rows,
            "cfpModel[2]: (ghgEmission: must be a value up to the 5th decimal place.).",
        );
        let mut rows = four();
        rows[3].cfp_id = Some("d9a38406-cae2-4679-b052-15a75f5531c5".into());
        check(rows, "ensure all objects have the same cfpId");
        let mut rows = four();
        rows[0].dqr_value = Some(DqrValue {
            ter: Some(d("2")),
            ger: None,
            tir: None,
        });
        rows[2].dqr_value = rows[0].dqr_value.clone();
        check(
            rows,
            "cfpModel[0]: (dqrValue: TeR, GeR and TiR are rated together: TeR is rated but GeR is 0 or null.).",
        );
    }
}
