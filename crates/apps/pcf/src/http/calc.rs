//! tsunagu's own data targets on the Ouranos API, for what Ouranos leaves to the browser or
//! lacks: the company's activity data per part, its emission factors and its notifications.
//! They follow the API's conventions (dispatch on `dataTarget`, the same authentication,
//! errors and paging parameters) under names that cannot clash with Ouranos's
//! (`tsunagu.…`).
//!
//! - `GET|PUT ?dataTarget=tsunagu.process&traceId=`: a part's production process (the
//!   `ProductionProcess` JSON of this crate); a PUT answers with the process and the
//!   footprint computed from it, or `"footprint": null` while inputs below the part are
//!   missing.
//! - `PUT ?dataTarget=tsunagu.factors&origin=licensed&database=<name>` or
//!   `origin=companySpecific`: emission factors as CSV (the bundled file's columns); all rows
//!   or none.
//! - `GET ?dataTarget=tsunagu.notifications[&after=<sequence>&limit=]`: what happened, oldest
//!   first.
//! - `GET|PUT ?dataTarget=tsunagu.disclosure`: how much of a result each customer sees
//!   (`{"default": "total_only", "recipients": {"<operatorId>": "stage_split_with_dqr"}}`).
//! - `PUT ?dataTarget=tsunagu.declaration&traceId=`: the carbon footprint declaration of a
//!   battery (a part declared per piece) from its current footprint, for the service life and
//!   performance classes in the body; JSON, or HTML to `Accept: text/html`.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::error::Failure;
use super::{Api, Params, Reply, parse_body};
use crate::activity::ProductionProcess;
use crate::battery::{BatteryCategory, ClassBound, PerformanceClasses, ServiceLife};
use crate::company::TraceId;
use crate::factor::FactorOrigin;
use crate::rollup::DisclosurePolicy;
use rust_decimal::Decimal;

pub(super) const TARGETS: [&str; 5] = [
    "tsunagu.process",
    "tsunagu.factors",
    "tsunagu.notifications",
    "tsunagu.disclosure",
    "tsunagu.declaration",
];

fn trace_id(params: &Params) -> Result<TraceId, Failure> {
    Ok(TraceId::new(params.required_uuid("traceId")?))
}

/// # `GET /api/v1/datatransport?dataTarget=tsunagu.process&traceId=`
pub(super) async fn get_process(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["traceId"])?;
    let part = trace_id(params)?;
    let process = api
        .service
        .process(part)
        .await?
        .ok_or_else(|| Failure::not_found(format!("production process of part {part}")))?;
    Reply::json(StatusCode::OK, &process)
}

/// # `PUT /api/v1/datatransport?dataTarget=tsunagu.process&traceId=`
pub(super) async fn put_process(
    api: &Api,
    params: &Params,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&["traceId"])?;
    let part = trace_id(params)?;
    let process: ProductionProcess = parse_body(body)?;
    if process.part != part {
        return Err(Failure::validation(format!(
            "part: {} is not the traceId {part} of the request.",
            process.part
        )));
    }
    let footprint = api.service.put_process(process.clone()).await?;
    Reply::json(
        StatusCode::OK,
        &json!({"process": process, "footprint": footprint}),
    )
}

/// # `PUT /api/v1/datatransport?dataTarget=tsunagu.factors&origin=`
pub(super) async fn put_factors(
    api: &Api,
    params: &Params,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&["origin", "database"])?;
    let origin = match (params.required("origin")?, params.get("database")) {
        ("licensed", Some(database)) => FactorOrigin::Licensed {
            database: database.to_owned(),
        },
        ("licensed", None) => {
            return Err(Failure::parameters(
                "database: cannot be blank for licensed factors.",
            ));
        }
        ("companySpecific", None) => FactorOrigin::CompanySpecific,
        ("companySpecific", Some(_)) => {
            return Err(Failure::unexpected_parameter("database"));
        }
        (other, _) => {
            return Err(Failure::parameters(format!(
                "origin: {other} is neither licensed nor companySpecific."
            )));
        }
    };
    let csv = std::str::from_utf8(body)
        .map_err(|_| Failure::validation("the factor CSV is not UTF-8 text."))?;
    let imported = api.service.import_factors_csv(csv, origin).await?;
    Reply::json(StatusCode::OK, &json!({"imported": imported}))
}

/// # `GET /api/v1/datatransport?dataTarget=tsunagu.notifications[&after=&limit=]`
pub(super) async fn get_notifications(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["after", "limit"])?;
    let number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| {
        params.get(name).map_or(Ok(default), |text| {
            text.parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    Failure::parameters(format!(
                        "{name}: must be a number between {} and {}.",
                        range.start(),
                        range.end()
                    ))
                })
        })
    };
    let after = number("after", 0, 0..=i64::MAX)?;
    let limit = number("limit", 100, 1..=1000)?;
    let notifications = api
        .service
        .notifications(after, u32::try_from(limit).unwrap_or(100))
        .await?;
    Reply::json(StatusCode::OK, &notifications)
}

/// # `GET /api/v1/datatransport?dataTarget=tsunagu.disclosure`
pub(super) async fn get_disclosure(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&[])?;
    Reply::json(StatusCode::OK, &api.service.disclosure_policy().await?)
}

/// # `PUT /api/v1/datatransport?dataTarget=tsunagu.disclosure`
pub(super) async fn put_disclosure(
    api: &Api,
    params: &Params,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let policy: DisclosurePolicy = parse_body(body)?;
    api.service.set_disclosure_policy(policy.clone()).await?;
    Reply::json(StatusCode::OK, &policy)
}

/// The body of a declaration request: `{"category": "M1", "usableEnergyKwh": "60",
/// "serviceYears": "8", "performanceClasses": [{"label": "A", "maxKgCo2ePerKwh": "0.1"}, …],
/// "studyReference": "https://…"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeclarationRequest {
    category: BatteryCategory,
    usable_energy_kwh: Decimal,
    service_years: Decimal,
    performance_classes: Vec<ClassModel>,
    study_reference: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClassModel {
    label: String,
    max_kg_co2e_per_kwh: Decimal,
}

/// # `PUT /api/v1/datatransport?dataTarget=tsunagu.declaration&traceId=`
pub(super) async fn put_declaration(
    api: &Api,
    params: &Params,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&["traceId"])?;
    let part = trace_id(params)?;
    let request: DeclarationRequest = parse_body(body)?;
    if request.study_reference.trim().is_empty() {
        return Err(Failure::validation("studyReference: cannot be blank."));
    }
    let classes = PerformanceClasses::new(
        request
            .performance_classes
            .into_iter()
            .map(|class| ClassBound {
                label: class.label,
                max_kg_co2e_per_kwh: class.max_kg_co2e_per_kwh,
            })
            .collect(),
    )
    .map_err(|error| Failure::validation(format!("performanceClasses: {error}")))?;
    let life = ServiceLife {
        category: request.category,
        usable_energy_kwh: request.usable_energy_kwh,
        service_years: request.service_years,
    };
    let declaration = api
        .service
        .battery_declaration(part, life, &classes, &request.study_reference)
        .await?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        Ok(Reply::html(StatusCode::OK, declaration.to_html()))
    } else {
        Reply::json(StatusCode::OK, &declaration.to_json())
    }
}
