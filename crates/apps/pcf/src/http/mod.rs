//! The Ouranos Ecosystem data-transaction API, served from one tsunagu company, so that
//! applications written for Ouranos can point at tsunagu.
//!
//! Routes (Ouranos dispatches on the `dataTarget` query parameter, not on the path):
//! `GET|PUT /api/v1/authInfo?dataTarget=operator|plant` (`GET …operator` also with
//! `openOperatorId=` or `operatorIds=`), `GET|PUT|DELETE /api/v1/datatransport?dataTarget=`
//! `parts`, `partsStructure`, `cfp`, `cfpCertification`, `tradeRequest`, `tradeResponse`,
//! `status`, and `POST /auth/login|refresh|change`. Every call needs the `apiKey` header, and
//! every call but login and refresh `Authorization: Bearer <access token>`. JSON field names,
//! query parameters, paging (`limit`, `after`, and a `link: <…&after=…>; rel="next"` header
//! when more follows), status codes and the error shape are those of Ouranos; every
//! response carries an `x-track` id that the logs name.
//!
//! tsunagu adds data targets of its own, named `tsunagu.…` (see `calc`): activity data,
//! emission factors, notifications, disclosure per customer and the battery declaration.
//!
//! Handlers are thin: they check the request as Ouranos does, call `PcfService`, and render
//! its answer. Where tsunagu is stricter than Ouranos it says so in a 400: corporate numbers
//! and LEIs are checked, data quality ratings are on the 1-to-5 scale, a rejection needs a
//! reason.

mod calc;
mod error;
mod wire;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::company::TraceId;
use crate::service::{
    CfpRow, NewRequest, PartFilter, PcfService, Session, StatusChange, TradeDirection, TradeView,
};

use error::{Context, Failure, OuranosError, System};
use wire::{
    CfpCertificationModel, CfpModel, OperatorModel, PartsModel, PartsStructureModel, PlantModel,
    Reason, StatusModel, TradeModel, TradeRequestModel, TradeResponseModel,
};

/// How the API presents itself.
#[derive(Debug, Clone, Default)]
pub struct OuranosApiSettings {
    /// The address clients reach the API at (`https://pcf.example.co.jp`), for the `link`
    /// headers of paged listings; without it, the request's `Host` is used.
    pub public_base_url: Option<String>,
}

#[derive(Clone)]
struct Api {
    service: PcfService,
    settings: OuranosApiSettings,
}

/// The Ouranos API of the company `service` serves.
pub fn ouranos_router(service: PcfService, settings: OuranosApiSettings) -> Router {
    Router::new()
        .route("/api/v1/authInfo", any(auth_info))
        .route("/api/v1/datatransport", any(datatransport))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/change", post(change_password))
        .fallback(not_found)
        .with_state(Api { service, settings })
}

/// What a handler answers on success.
struct Reply {
    status: StatusCode,
    body: Option<String>,
    /// `application/json` unless a handler says otherwise.
    content_type: &'static str,
    link: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, value: &impl Serialize) -> Result<Reply, Failure> {
        let body = serde_json::to_string(value)
            .map_err(|e| Failure::internal(format!("response not serialisable: {e}")))?;
        Ok(Reply {
            status,
            body: Some(body),
            content_type: "application/json",
            link: None,
        })
    }

    fn html(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            body: Some(body),
            content_type: "text/html; charset=utf-8",
            link: None,
        }
    }

    fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: None,
            content_type: "application/json",
            link: None,
        }
    }
}

fn respond(result: Result<Reply, Failure>, context: Context) -> Response {
    match result {
        Ok(reply) => {
            let mut response = match reply.body {
                Some(body) => (
                    reply.status,
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(reply.content_type),
                    )],
                    body,
                )
                    .into_response(),
                None => reply.status.into_response(),
            };
            let headers = response.headers_mut();
            headers.insert("x-track", context.track_header());
            if let Some(link) = reply.link.and_then(|l| HeaderValue::from_str(&l).ok()) {
                headers.insert(header::LINK, link);
            }
            response
        }
        Err(failure) => OuranosError { failure, context }.into_response(),
    }
}

async fn not_found(State(api): State<Api>, method: Method, uri: axum::http::Uri) -> Response {
    // The user authentication system answers under /auth, the data-transaction system
    // everywhere else.
    let system = if uri.path().starts_with("/auth/") {
        System::Auth
    } else {
        System::Dataspace
    };
    let context = Context::new(system, method, api.service.now());
    respond(Err(Failure::endpoint_not_found()), context)
}

/// The query parameters of a call, checked against those its endpoint takes.
struct Params(BTreeMap<String, String>);

impl Params {
    fn parse(query: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn data_target(&self) -> Option<&str> {
        self.get("dataTarget")
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn allow(&self, names: &[&str]) -> Result<(), Failure> {
        match self
            .0
            .keys()
            .find(|k| *k != "dataTarget" && !names.contains(&k.as_str()))
        {
            Some(unexpected) => Err(Failure::unexpected_parameter(unexpected)),
            None => Ok(()),
        }
    }

    fn required(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| Failure::parameters(format!("{name}: cannot be blank.")))
    }

    fn uuid(&self, name: &str) -> Result<Option<Uuid>, Failure> {
        self.get(name)
            .map(|v| wire::uuid(name, v).map_err(Failure::parameters))
            .transpose()
    }

    fn required_uuid(&self, name: &str) -> Result<Uuid, Failure> {
        wire::uuid(name, self.required(name)?).map_err(Failure::parameters)
    }

    /// A comma-separated list of UUIDs, at most `max`.
    fn uuids(&self, name: &str, max: usize) -> Result<Option<Vec<Uuid>>, Failure> {
        let Some(list) = self.get(name) else {
            return Ok(None);
        };
        let ids = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| wire::uuid(name, s).map_err(Failure::parameters))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.len() > max {
            return Err(Failure::parameters(format!(
                "{name}: at most {max} values can be given."
            )));
        }
        Ok(Some(ids))
    }
}

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Failure> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Failure::validation(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| Failure::validation(e.to_string()))
}

fn invalid(reason: Reason) -> Failure {
    Failure::validation(reason)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("apiKey").and_then(|v| v.to_str().ok())
}

impl Api {
    /// The API key first (403), then the access token (401), as Ouranos checks them.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Session, Failure> {
        self.service.verify_api_key(api_key(headers)).await?;
        Ok(self.service.verify_access_token(bearer(headers)).await?)
    }

    fn link(&self, headers: &HeaderMap, params: &Params, limit: usize, after: &str) -> String {
        let base = match &self.settings.public_base_url {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|host| format!("http://{host}"))
                .unwrap_or_default(),
        };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(target) = params.data_target() {
            query.append_pair("dataTarget", target);
        }
        for (name, value) in &params.0 {
            if !matches!(name.as_str(), "dataTarget" | "limit" | "after") {
                query.append_pair(name, value);
            }
        }
        query.append_pair("limit", &limit.to_string());
        query.append_pair("after", after);
        format!(
            "<{base}/api/v1/datatransport?{}>; rel=\"next\"",
            query.finish()
        )
    }

    /// One page of `items` after the `after` id, and the `link` to the next page.
    fn page<T>(
        &self,
        headers: &HeaderMap,
        params: &Params,
        items: Vec<T>,
        id_of: impl Fn(&T) -> String,
    ) -> Result<(Vec<T>, Option<String>), Failure> {
        let limit = match params.get("limit") {
            None => 100,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=1000).contains(l))
                .ok_or_else(|| {
                    Failure::parameters("limit: must be a number between 1 and 1000.")
                })?,
        };
        let start = match params.get("after") {
            None => 0,
            Some(after) => {
                wire::uuid("after", after).map_err(Failure::parameters)?;
                // A cursor that no longer exists ends the listing rather than restarting it.
                items
                    .iter()
                    .position(|item| id_of(item) == after)
                    .map_or(items.len(), |p| p + 1)
            }
        };
        let rest = items.len().saturating_sub(start);
        let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
        let link = match page.last() {
            Some(last) if rest > limit => Some(self.link(headers, params, limit, &id_of(last))),
            _ => None,
        };
        Ok((page, link))
    }
}

// ----- /api/v1/authInfo -----

async fn auth_info(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut context = Context::new(System::Auth, method.clone(), api.service.now());
    let params = Params::parse(query.as_deref());
    context.data_target = params.data_target().map(str::to_owned);
    let result = async {
        let session = api.authenticate(&headers).await?;
        context.operator_id = Some(session.operator_id());
        match (method, params.data_target()) {
            (Method::GET, Some("operator")) => get_operator(&api, &params).await,
            (Method::PUT, Some("operator")) => put_operator(&api, &params, &session, &body).await,
            (Method::GET, Some("plant")) => get_plants(&api, &params).await,
            (Method::PUT, Some("plant")) => put_plant(&api, &params, &session, &body).await,
            (_, Some("operator" | "plant")) => Err(Failure::endpoint_not_found()),
            _ => Err(Failure::unexpected_parameter("dataTarget")),
        }
    }
    .await;
    respond(result, context)
}

/// # `GET /api/v1/authInfo?dataTarget=operator[&openOperatorId=|&operatorIds=]`
async fn get_operator(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["openOperatorId", "operatorIds"])?;
    let open_id = params.get("openOperatorId");
    let ids = params.uuids("operatorIds", 100)?;
    match (open_id, ids) {
        (Some(_), Some(_)) => Err(Failure::parameters(
            "only one of operatorIds and openOperatorId can be set.",
        )),
        (None, None) => Reply::json(
            StatusCode::OK,
            &OperatorModel::of(&api.service.operator().await?),
        ),
        (Some(open_id), None) => {
            let operator = api
                .service
                .known_operators()
                .await?
                .into_iter()
                .find(|o| o.open_operator_id.as_str() == open_id)
                .ok_or_else(|| Failure::not_found("Operator"))?;
            Reply::json(StatusCode::OK, &OperatorModel::of(&operator))
        }
        (None, Some(ids)) => {
            let known = api.service.known_operators().await?;
            let found: Vec<OperatorModel> = ids
                .iter()
                .filter_map(|id| known.iter().find(|o| o.operator_id == *id))
                .map(OperatorModel::of)
                .collect();
            Reply::json(StatusCode::OK, &found)
        }
    }
}

/// # `PUT /api/v1/authInfo?dataTarget=operator`
async fn put_operator(
    api: &Api,
    params: &Params,
    session: &Session,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let model: OperatorModel = parse_body(body)?;
    let update = model.to_update().map_err(invalid)?;
    if update.operator_id != session.operator_id() {
        return Err(Failure::forbidden(
            "operatorId is not the authenticated operator",
        ));
    }
    let operator = api.service.update_operator(update).await?;
    Reply::json(StatusCode::CREATED, &OperatorModel::of(&operator))
}

/// # `GET /api/v1/authInfo?dataTarget=plant`
async fn get_plants(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let plants: Vec<PlantModel> = api
        .service
        .plants()
        .await?
        .iter()
        .map(PlantModel::of)
        .collect();
    Reply::json(StatusCode::OK, &plants)
}

/// # `PUT /api/v1/authInfo?dataTarget=plant`
async fn put_plant(
    api: &Api,
    params: &Params,
    session: &Session,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let model: PlantModel = parse_body(body)?;
    let input = model.to_input().map_err(invalid)?;
    if input.operator_id != session.operator_id() {
        return Err(Failure::forbidden(
            "operatorId is not the authenticated operator",
        ));
    }
    let plant = api.service.put_plant(input).await?;
    Reply::json(StatusCode::CREATED, &PlantModel::of(&plant))
}

// ----- /api/v1/datatransport -----

async fn datatransport(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut context = Context::new(System::Dataspace, method.clone(), api.service.now());
    let params = Params::parse(query.as_deref());
    context.data_target = params.data_target().map(str::to_owned);
    let result = async {
        let session = api.authenticate(&headers).await?;
        context.operator_id = Some(session.operator_id());
        let p = &params;
        match (method, params.data_target()) {
            (Method::GET, Some("parts")) => get_parts(&api, &headers, p).await,
            (Method::PUT, Some("parts")) => put_part(&api, p, &body).await,
            (Method::DELETE, Some("parts")) => delete_part(&api, p).await,
            (Method::GET, Some("partsStructure")) => get_parts_structure(&api, p).await,
            (Method::PUT, Some("partsStructure")) => put_parts_structure(&api, p, &body).await,
            (Method::GET, Some("cfp")) => get_cfp(&api, p).await,
            (Method::PUT, Some("cfp")) => put_cfp(&api, p, &body).await,
            (Method::GET, Some("cfpCertification")) => get_cfp_certification(&api, p).await,
            (Method::GET, Some("tradeRequest")) => get_trade_requests(&api, &headers, p).await,
            (Method::PUT, Some("tradeRequest")) => {
                put_trade_request(&api, p, &session, &body).await
            }
            (Method::GET, Some("tradeResponse")) => get_trade_responses(&api, &headers, p).await,
            (Method::PUT, Some("tradeResponse")) => put_trade_response(&api, p).await,
            (Method::GET, Some("status")) => get_status(&api, &headers, p).await,
            (Method::PUT, Some("status")) => put_status(&api, p, &body).await,
            (Method::GET, Some("tsunagu.process")) => calc::get_process(&api, p).await,
            (Method::PUT, Some("tsunagu.process")) => calc::put_process(&api, p, &body).await,
            (Method::PUT, Some("tsunagu.factors")) => calc::put_factors(&api, p, &body).await,
            (Method::GET, Some("tsunagu.notifications")) => calc::get_notifications(&api, p).await,
            (Method::GET, Some("tsunagu.disclosure")) => calc::get_disclosure(&api, p).await,
            (Method::PUT, Some("tsunagu.disclosure")) => calc::put_disclosure(&api, p, &body).await,
            (Method::PUT, Some("tsunagu.declaration")) => {
                calc::put_declaration(&api, p, &headers, &body).await
            }
            (_, Some(target)) if calc::TARGETS.contains(&target) => {
                Err(Failure::endpoint_not_found())
            }
            (
                _,
                Some(
                    "parts" | "partsStructure" | "cfp" | "cfpCertification" | "tradeRequest"
                    | "tradeResponse" | "status",
                ),
            ) => Err(Failure::endpoint_not_found()),
            _ => Err(Failure::unexpected_parameter("dataTarget")),
        }
    }
    .await;
    respond(result, context)
}

/// # `GET /api/v1/datatransport?dataTarget=parts[&traceId=&partsName=&plantId=&parentFlag=&limit=&after=]`
async fn get_parts(api: &Api, headers: &HeaderMap, params: &Params) -> Result<Reply, Failure> {
    params.allow(&[
        "limit",
        "after",
        "traceId",
        "partsName",
        "plantId",
        "parentFlag",
    ])?;
    let parents_only = match params.get("parentFlag") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Failure::parameters("parentFlag: must be true or false.")),
    };
    let filter = PartFilter {
        trace_id: params.uuid("traceId")?.map(TraceId::new),
        part_name: params.get("partsName").map(str::to_owned),
        plant_id: params.uuid("plantId")?,
        parents_only,
    };
    let parts = api.service.parts(&filter).await?;
    let (page, link) = api.page(headers, params, parts, |p| p.trace_id.to_string())?;
    let models: Vec<PartsModel> = page.iter().map(PartsModel::of).collect();
    let mut reply = Reply::json(StatusCode::OK, &models)?;
    reply.link = link;
    Ok(reply)
}

/// # `PUT /api/v1/datatransport?dataTarget=parts`
async fn put_part(api: &Api, params: &Params, body: &Bytes) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let model: PartsModel = parse_body(body)?;
    let input = model.to_input().map_err(invalid)?;
    // A new part is a parent, which needs no amount (Ouranos refuses one).
    if input.trace_id.is_none() && input.amount_required.is_some() {
        return Err(invalid("amountRequired: must be blank.".into()));
    }
    let part = api.service.put_part(input).await?;
    Reply::json(StatusCode::CREATED, &PartsModel::of(&part))
}

/// # `DELETE /api/v1/datatransport?dataTarget=parts&traceId=`
async fn delete_part(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["traceId"])?;
    let trace_id = TraceId::new(params.required_uuid("traceId")?);
    api.service.delete_part(trace_id).await?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// # `GET /api/v1/datatransport?dataTarget=partsStructure&traceId=`
async fn get_parts_structure(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["traceId"])?;
    let parent = TraceId::new(params.required_uuid("traceId")?);
    let (parent, children) = api.service.parts_structure(parent).await?;
    Reply::json(
        StatusCode::OK,
        &PartsStructureModel {
            parent_parts_model: Some(PartsModel::of(&parent)),
            children_parts_model: Some(children.iter().map(PartsModel::of).collect()),
        },
    )
}

/// # `PUT /api/v1/datatransport?dataTarget=partsStructure`
async fn put_parts_structure(api: &Api, params: &Params, body: &Bytes) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let model: PartsStructureModel = parse_body(body)?;
    let nested = |name: String, reason: Reason| invalid(format!("{name}: ({reason})."));
    let parent = model
        .parent_parts_model
        .as_ref()
        .ok_or_else(|| invalid(wire::blank("parentPartsModel")))?;
    if parent.amount_required.is_some() {
        return Err(nested(
            "parentPartsModel".into(),
            "amountRequired: must be blank.".into(),
        ));
    }
    let parent = parent
        .to_input()
        .map_err(|r| nested("parentPartsModel".into(), r))?;
    let children_models = model.children_parts_model.unwrap_or_default();
    if children_models.len() > 50 {
        return Err(invalid(
            "childrenPartsModel: the length must be no more than 50.".into(),
        ));
    }
    let mut children = Vec::with_capacity(children_models.len());
    for (index, child) in children_models.iter().enumerate() {
        let name = format!("childrenPartsModel[{index}]");
        if child.amount_required.is_none() {
            return Err(nested(name, wire::blank("amountRequired")));
        }
        children.push(child.to_input().map_err(|r| nested(name, r))?);
    }
    let (parent, children) = api.service.put_parts_structure(parent, children).await?;
    Reply::json(
        StatusCode::CREATED,
        &PartsStructureModel {
            parent_parts_model: Some(PartsModel::of(&parent)),
            children_parts_model: Some(children.iter().map(PartsModel::of).collect()),
        },
    )
}

/// # `GET /api/v1/datatransport?dataTarget=cfp&traceIds=`
async fn get_cfp(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["traceIds"])?;
    let ids = params
        .uuids("traceIds", 50)?
        .ok_or_else(|| Failure::parameters("traceIds: cannot be blank."))?;
    let trace_ids: Vec<TraceId> = ids.into_iter().map(TraceId::new).collect();
    let rows = api.service.cfp_rows(&trace_ids).await?;
    let models: Vec<CfpModel> = rows.iter().map(CfpModel::of).collect();
    Reply::json(StatusCode::OK, &models)
}

/// # `PUT /api/v1/datatransport?dataTarget=cfp`
async fn put_cfp(api: &Api, params: &Params, body: &Bytes) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let rows: Vec<CfpModel> = parse_body(body)?;
    let submission = wire::cfp_submission(&rows).map_err(invalid)?;
    let stored = api
        .service
        .put_ouranos_footprint(submission.trace_id, submission.cfp_id, submission.figures)
        .await?;
    let figures = crate::ouranos::OuranosFootprint::from_result(&stored.result)
        .map_err(|e| Failure::internal(e.to_string()))?;
    let models: Vec<CfpModel> = crate::ouranos::own_figures(&figures)
        .into_iter()
        .map(|figure| {
            CfpModel::of(&CfpRow {
                trace_id: submission.trace_id,
                cfp_id: Some(stored.cfp_id),
                declared_unit: figures.declared_unit,
                figure,
            })
        })
        .collect();
    Reply::json(StatusCode::CREATED, &models)
}

/// # `GET /api/v1/datatransport?dataTarget=cfpCertification&traceId=`
async fn get_cfp_certification(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["traceId"])?;
    let trace_id = TraceId::new(params.required_uuid("traceId")?);
    let models: Vec<CfpCertificationModel> = api
        .service
        .cfp_certifications(trace_id)
        .await?
        .iter()
        .map(CfpCertificationModel::of)
        .collect();
    Reply::json(StatusCode::OK, &models)
}

/// # `GET /api/v1/datatransport?dataTarget=tradeRequest[&traceIds=&limit=&after=]`
async fn get_trade_requests(
    api: &Api,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Reply, Failure> {
    params.allow(&["limit", "after", "traceIds"])?;
    let mut trades = api.service.trades(TradeDirection::Sent).await?;
    let (page, link) = match params.uuids("traceIds", 50)? {
        // With trace ids Ouranos lists every match and ignores the limit.
        Some(ids) => {
            trades.retain(|t| ids.contains(&t.request.downstream_trace_id.as_uuid()));
            (trades, None)
        }
        None => api.page(headers, params, trades, |t| t.request.trade_id.to_string())?,
    };
    let models: Vec<TradeModel> = page.iter().map(|t| TradeModel::of(&t.request)).collect();
    let mut reply = Reply::json(StatusCode::OK, &models)?;
    reply.link = link;
    Ok(reply)
}

/// # `PUT /api/v1/datatransport?dataTarget=tradeRequest`
async fn put_trade_request(
    api: &Api,
    params: &Params,
    session: &Session,
    body: &Bytes,
) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let input: wire::TradeRequestInput = parse_body(body)?;
    let status = input
        .status_model
        .ok_or_else(|| invalid(wire::blank("statusModel")))?;
    let trade = input
        .trade_model
        .ok_or_else(|| invalid(wire::blank("tradeModel")))?;
    let downstream_operator =
        wire::required_uuid("downstreamOperatorId", &trade.downstream_operator_id)
            .map_err(invalid)?;
    if downstream_operator != session.operator_id() {
        return Err(Failure::forbidden(
            "downstreamOperatorId is not the authenticated operator",
        ));
    }
    match status.request_type.as_deref() {
        Some("CFP") => {}
        None => return Err(invalid(wire::blank("requestType"))),
        Some(other) => {
            return Err(invalid(format!(
                "requestType: cannot be allowed '{other}'."
            )));
        }
    }
    let message = wire::message("message", &status.message).map_err(invalid)?;
    let due = wire::due_date(&status.response_due_date).map_err(invalid)?;
    let trade_id = wire::optional_uuid("tradeId", &trade.trade_id)
        .and_then(|t| Ok(t.or(wire::optional_uuid("tradeId", &status.trade_id)?)))
        .map_err(invalid)?;
    let view = match trade_id {
        Some(trade_id) => api.service.update_request(trade_id, message, due).await?,
        None => {
            if due.is_none() {
                return Err(invalid(wire::blank("responseDueDate")));
            }
            if trade.upstream_trace_id.is_some() {
                return Err(invalid(
                    "upstreamTraceId: only the supplier can set it; send null.".into(),
                ));
            }
            let downstream = wire::required_uuid("downstreamTraceId", &trade.downstream_trace_id)
                .map_err(invalid)?;
            let upstream_operator =
                wire::required_uuid("upstreamOperatorId", &trade.upstream_operator_id)
                    .map_err(invalid)?;
            api.service
                .request_footprint(NewRequest {
                    downstream_trace_id: TraceId::new(downstream),
                    upstream_operator_id: upstream_operator,
                    message,
                    response_due_date: due,
                })
                .await?
        }
    };
    Reply::json(
        StatusCode::CREATED,
        &TradeRequestModel {
            status_model: StatusModel::of_new(&view),
            trade_model: TradeModel::of(&view.request),
        },
    )
}

/// # `GET /api/v1/datatransport?dataTarget=tradeResponse[&limit=&after=]`
async fn get_trade_responses(
    api: &Api,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Reply, Failure> {
    params.allow(&["limit", "after"])?;
    let trades = api.service.trades(TradeDirection::Received).await?;
    let (page, link) = api.page(headers, params, trades, |t| t.request.trade_id.to_string())?;
    let models: Vec<TradeResponseModel> = page
        .iter()
        .filter_map(|view| {
            let part = view.requested_part.as_ref()?;
            Some(TradeResponseModel {
                trade_model: TradeModel::of(&view.request),
                status_model: StatusModel::of(view),
                parts_model: PartsModel::of(part),
            })
        })
        .collect();
    let mut reply = Reply::json(StatusCode::OK, &models)?;
    reply.link = link;
    Ok(reply)
}

/// # `PUT /api/v1/datatransport?dataTarget=tradeResponse&tradeId=&traceId=`
async fn put_trade_response(api: &Api, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["tradeId", "traceId"])?;
    let trade_id = params.required_uuid("tradeId")?;
    let trace_id = TraceId::new(params.required_uuid("traceId")?);
    let request = api.service.answer_request(trade_id, trace_id).await?;
    Reply::json(StatusCode::CREATED, &TradeModel::of(&request))
}

/// # `GET /api/v1/datatransport?dataTarget=status[&statusTarget=&statusId=&traceId=&limit=&after=]`
async fn get_status(api: &Api, headers: &HeaderMap, params: &Params) -> Result<Reply, Failure> {
    params.allow(&["limit", "after", "statusTarget", "statusId", "traceId"])?;
    let directions: &[TradeDirection] = match params.get("statusTarget") {
        None => &[TradeDirection::Sent, TradeDirection::Received],
        Some("REQUEST") => &[TradeDirection::Sent],
        Some("RESPONSE") => &[TradeDirection::Received],
        Some(other) => {
            return Err(Failure::parameters(format!(
                "statusTarget: cannot be allowed '{other}'."
            )));
        }
    };
    let status_id = params.uuid("statusId")?;
    if status_id.is_some() && params.get("statusTarget") == Some("REQUEST") {
        return Err(Failure::parameters(
            "statusId cannot be used with statusTarget=REQUEST.",
        ));
    }
    // Ouranos narrows by trace id only for the company's own requests.
    let trace_id = match params.get("statusTarget") {
        Some("REQUEST") => params.uuid("traceId")?.map(TraceId::new),
        _ => None,
    };
    let mut views: Vec<TradeView> = Vec::new();
    for direction in directions {
        views.extend(api.service.trades(*direction).await?);
    }
    views.retain(|v| status_id.is_none_or(|id| v.request.status_id == id));
    views.retain(|v| trace_id.is_none_or(|t| v.request.downstream_trace_id == t));
    views.sort_by(|a, b| {
        (b.request.requested_at, b.request.trade_id)
            .cmp(&(a.request.requested_at, a.request.trade_id))
    });
    let (page, link) = api.page(headers, params, views, |v| v.request.status_id.to_string())?;
    let models: Vec<StatusModel> = page.iter().map(StatusModel::of).collect();
    let mut reply = Reply::json(StatusCode::OK, &models)?;
    reply.link = link;
    Ok(reply)
}

/// # `PUT /api/v1/datatransport?dataTarget=status`
async fn put_status(api: &Api, params: &Params, body: &Bytes) -> Result<Reply, Failure> {
    params.allow(&[])?;
    let input: wire::StatusInput = parse_body(body)?;
    let status_id = wire::required_uuid("statusId", &input.status_id).map_err(invalid)?;
    let request_status = input.request_status.unwrap_or_default();
    let response_status =
        wire::required_text("cfpResponseStatus", &request_status.cfp_response_status)
            .map_err(invalid)?;
    wire::required_text("tradeTreeStatus", &request_status.trade_tree_status).map_err(invalid)?;
    let reply = wire::message("replyMessage", &input.reply_message).map_err(invalid)?;
    let change = match response_status {
        "CANCEL" => StatusChange::Cancel,
        "REJECT" => StatusChange::Reject {
            reason: reply
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| invalid(wire::blank("replyMessage")))?,
        },
        other => {
            return Err(invalid(format!(
                "cfpResponseStatus: cannot be allowed '{other}'."
            )));
        }
    };
    api.service.change_status(status_id, change).await?;
    Ok(Reply::empty(StatusCode::CREATED))
}

// ----- /auth -----

async fn login(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let context = Context::new(System::Auth, Method::POST, api.service.now());
    let result = async {
        api.service.verify_api_key(api_key(&headers)).await?;
        let input: wire::LoginInput = parse_body(&body)?;
        let account = wire::required_text("operatorAccountId", &input.operator_account_id)
            .map_err(invalid)?;
        let password =
            wire::required_text("accountPassword", &input.account_password).map_err(invalid)?;
        let tokens = api.service.login(account, password).await?;
        Reply::json(
            StatusCode::CREATED,
            &wire::LoginOutput {
                access_token: tokens.access_token,
                refresh_token: tokens.refresh_token,
            },
        )
    }
    .await;
    respond(result, context)
}

async fn refresh(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let context = Context::new(System::Auth, Method::POST, api.service.now());
    let result = async {
        api.service.verify_api_key(api_key(&headers)).await?;
        let input: wire::RefreshInput = parse_body(&body)?;
        let token = wire::required_text("refreshToken", &input.refresh_token).map_err(invalid)?;
        let access_token = api.service.refresh(token).await?;
        Reply::json(StatusCode::CREATED, &wire::RefreshOutput { access_token })
    }
    .await;
    respond(result, context)
}

async fn change_password(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let mut context = Context::new(System::Auth, Method::POST, api.service.now());
    let result = async {
        let session = api.authenticate(&headers).await?;
        context.operator_id = Some(session.operator_id());
        let input: wire::ChangePasswordInput = parse_body(&body)?;
        let password = wire::new_password(&input.new_password).map_err(invalid)?;
        api.service.change_password(&session, password).await?;
        Ok(Reply::empty(StatusCode::CREATED))
    }
    .await;
    respond(result, context)
}
