//! The LCA-CO2 app of one company as a service: its operator record, plants, parts, parts
//! structures, footprints, certificates, trades and API accounts, kept in the company's own
//! `DocumentStore`, and its trades with other companies sent through a `TradeTransport`.
//!
//! This is the IO shell around the pure domain modules: it reads the clock (through
//! `Clock`), draws random identifiers and secrets, and stores documents. It speaks the
//! domain's types; the Ouranos JSON shapes live in `http`. One service serves one company,
//! as one connector does: the Ouranos API of a tsunagu company shows only that company's
//! data, its partners' operator records and what its suppliers disclosed to it.
//!
//! Collections (all prefixed `pcf.`): `operator`, `partners` (lookup: DID), `plants`,
//! `parts` (lookup: plant, name and auxiliary name), `structures` (by parent), `footprints`,
//! `processes` (activity data by part), `factors` (the company's own and licensed emission
//! factors), `certificates`, `trades.out` (the company's requests; lookup: its trace id),
//! `trades.in` (requests to the company; lookup: status id), `settings`, `accounts`,
//! `api_keys`, `tokens` (by SHA-256; lookup: account), `pact_clients`, `pact_tokens` (by
//! SHA-256; lookup: client), `pact_outbox` (event answers owed), and the journals
//! `pcf.pact_events` (events the PACT API accepted) and `pcf.notifications`.

mod auth;
mod calc;
mod catenax;
mod pact;
mod records;
mod trade;
mod transport;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tsunagu_store::{DocumentStore, StoreError};
use uuid::Uuid;

use crate::bom::{BillOfMaterials, BomError};
use crate::company::{OpenPlantId, Operator, OperatorIdentifier, Part, Plant, TraceId};
use crate::num::Overflow;
use crate::ouranos::{self, CfpFigure, ChildFootprint, OuranosFootprint};
use crate::rollup::{DisclosedFootprint, DisclosurePolicy, FootprintResult};
use crate::unit::Unit;

pub use auth::{AuthError, AuthSettings, LoginTokens, Session};
pub use calc::{Notification, NotificationKind};
pub use catenax::{
    CATENAX_MESSAGE_MAX_CHARS, CatenaxAnswer, CatenaxAnswerState, CatenaxDelivery, CatenaxInbound,
    CatenaxRequest, CatenaxRequestState, NewCatenaxRequest,
};
pub use pact::{OwedPactEvent, PactAuthError, PactClient, PactToken};
pub use trade::{NewRequest, StatusChange, TradeDirection, TradeStatus, TradeView};
pub use transport::{
    LoopbackNetwork, MAX_TREE_DEPTH, NoTransport, Partner, SubtreeProgress, TRADE_MESSAGE_VERSION,
    TradeAnswer, TradeRequestMessage, TradeResponseMessage, TradeTransport, TransportError,
};

use records::{Collection, Stored};

/// Where the service reads the time. Tests pass a clock they move by hand.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule; the text is meant for the caller.
    #[error("{0}")]
    Invalid(String),
    /// The caller acts for another company than this one.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A refusal Ouranos reports with a message code (`MSGAECP…`), kept for applications
    /// that react to the code.
    #[error("{message} ({code})")]
    Refused {
        code: &'static str,
        message: &'static str,
    },
    #[error("the company's operator record is not set up")]
    NotSetUp,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// Something of ours broke (not the caller's request); logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Overflow> for ServiceError {
    fn from(error: Overflow) -> ServiceError {
        ServiceError::Invalid(error.to_string())
    }
}

pub(crate) const PART_NOT_FOUND: ServiceError = ServiceError::Refused {
    code: "MSGAECP0013",
    message: "指定された部品は存在しません。",
};

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// A part as a caller submits it: without a trace id, the service assigns one (or finds the
/// part with the same plant, name and auxiliary name, as Ouranos does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInput {
    pub trace_id: Option<TraceId>,
    pub operator_id: Uuid,
    pub plant_id: Uuid,
    pub part_name: String,
    pub support_part_name: Option<String>,
    pub label_name: Option<String>,
    pub amount_required: Option<Decimal>,
    pub amount_required_unit: Unit,
    pub terminated_flag: bool,
    pub additional_info: [Option<String>; 3],
}

impl PartInput {
    fn into_part(self, trace_id: TraceId) -> Part {
        Part {
            trace_id,
            operator_id: self.operator_id,
            plant_id: self.plant_id,
            part_name: self.part_name,
            support_part_name: self.support_part_name,
            label_name: self.label_name,
            amount_required: self.amount_required,
            amount_required_unit: self.amount_required_unit,
            terminated_flag: self.terminated_flag,
            additional_info: self.additional_info,
        }
    }
}

/// A plant as a caller submits it; without a plant id, a new plant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantInput {
    pub plant_id: Option<Uuid>,
    pub operator_id: Uuid,
    pub name: String,
    pub address: String,
    pub open_plant_id: OpenPlantId,
    pub global_plant_id: Option<String>,
}

/// The changeable fields of the company's operator record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorUpdate {
    pub operator_id: Uuid,
    pub name: String,
    pub address: String,
    pub open_operator_id: OperatorIdentifier,
    pub global_operator_id: Option<OperatorIdentifier>,
}

/// Narrows a listing of parts; `None` does not narrow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartFilter {
    pub trace_id: Option<TraceId>,
    pub part_name: Option<String>,
    pub plant_id: Option<Uuid>,
    /// Only parts that are no child in any parts structure.
    pub parents_only: bool,
}

/// One part's bill of materials as Ouranos keeps it: one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartsStructure {
    parent: TraceId,
    children: Vec<TraceId>,
}

/// The company's own footprint of one of its parts, with its Ouranos `cfpId`, and the
/// versions PACT knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnFootprint {
    pub cfp_id: Uuid,
    pub result: FootprintResult,
    /// The PACT `ProductFootprint` id of this version. A PACT footprint never changes under
    /// its id, so each change of the figures gets a new one. `None` for the first version,
    /// whose id is the `cfp_id` (and for records kept before versions were tracked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pf_id: Option<Uuid>,
    /// The versions this one replaced, oldest first; PACT serves them as `Deprecated` and
    /// names them in the current version's `precedingPfIds`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<SupersededFootprint>,
}

impl OwnFootprint {
    /// The PACT id of the current version.
    pub fn current_pf_id(&self) -> Uuid {
        self.pf_id.unwrap_or(self.cfp_id)
    }
}

/// An earlier version of a part's footprint, as it was when it was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupersededFootprint {
    pub pf_id: Uuid,
    pub result: FootprintResult,
    pub superseded_at: DateTime<Utc>,
}

/// One file of a CFP certificate (the file itself is kept elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFile {
    pub operator_id: Option<Uuid>,
    pub file_id: Option<Uuid>,
    pub file_name: Option<String>,
}

/// What Ouranos calls CFP certification information: metadata of the certificates that back
/// a part's footprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CfpCertification {
    pub certification_id: Uuid,
    pub trace_id: TraceId,
    pub description: Option<String>,
    pub files: Option<Vec<CertificateFile>>,
}

/// One CFP row of a part, in Ouranos terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CfpRow {
    pub trace_id: TraceId,
    /// `None` on rows the company did not register itself (supplier answers).
    pub cfp_id: Option<Uuid>,
    pub declared_unit: Unit,
    pub figure: CfpFigure,
}

/// The PCF app of one company. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct PcfService {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Arc<dyn DocumentStore>,
    transport: Arc<dyn TradeTransport>,
    clock: Arc<dyn Clock>,
    auth: AuthSettings,
    /// Held from reading a footprint's inputs to storing the result, so that two
    /// computations (two supplier answers arriving at once) cannot leave the older result
    /// last. Never held across a message to another company.
    pub(crate) calc: tokio::sync::Mutex<()>,
}

const OPERATOR: Collection = Collection("pcf.operator");
const PARTNERS: Collection = Collection("pcf.partners");
const PLANTS: Collection = Collection("pcf.plants");
const PARTS: Collection = Collection("pcf.parts");
const STRUCTURES: Collection = Collection("pcf.structures");
const FOOTPRINTS: Collection = Collection("pcf.footprints");
const CERTIFICATES: Collection = Collection("pcf.certificates");
const SETTINGS: Collection = Collection("pcf.settings");
const SELF: &str = "self";
/// Writes of one footprint that lose a race to another writer before giving up.
const WRITE_ATTEMPTS: usize = 5;
const DISCLOSURE: &str = "disclosure";

impl PcfService {
    /// A service over `store` that trades through `transport`, on the system clock.
    pub fn new(store: Arc<dyn DocumentStore>, transport: Arc<dyn TradeTransport>) -> PcfService {
        PcfService::with_clock(
            store,
            transport,
            Arc::new(SystemClock),
            AuthSettings::default(),
        )
    }

    pub fn with_clock(
        store: Arc<dyn DocumentStore>,
        transport: Arc<dyn TradeTransport>,
        clock: Arc<dyn Clock>,
        auth: AuthSettings,
    ) -> PcfService {
        PcfService {
            inner: Arc::new(Inner {
                store,
                transport,
                clock,
                auth,
                calc: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(inner: &Weak<Inner>) -> Option<PcfService> {
        inner.upgrade().map(|inner| PcfService { inner })
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn store(&self) -> &dyn DocumentStore {
        self.inner.store.as_ref()
    }

    // ----- the company and its partners -----

    /// Records the company's operator record, once; later changes go through
    /// `update_operator`, which keeps the identifiers Ouranos treats as fixed.
    pub async fn set_up_operator(&self, operator: Operator) -> Result<Operator> {
        if let Some(existing) = OPERATOR.get::<Operator>(self.store(), SELF).await? {
            if existing.value.operator_id != operator.operator_id {
                return Err(ServiceError::Invalid(format!(
                    "this company is operator {}; its operator id cannot change",
                    existing.value.operator_id
                )));
            }
            OPERATOR
                .replace(self.store(), &existing, None, &operator, self.now())
                .await?;
        } else {
            OPERATOR
                .insert(self.store(), SELF, None, &operator, self.now())
                .await?;
        }
        Ok(operator)
    }

    pub async fn operator(&self) -> Result<Operator> {
        OPERATOR
            .get::<Operator>(self.store(), SELF)
            .await?
            .map(|stored| stored.value)
            .ok_or(ServiceError::NotSetUp)
    }

    pub async fn operator_id(&self) -> Result<Uuid> {
        Ok(self.operator().await?.operator_id)
    }

    /// Ouranos `PUT authInfo?dataTarget=operator`: name, address and global id change; the
    /// operator id and the public id do not.
    pub async fn update_operator(&self, update: OperatorUpdate) -> Result<Operator> {
        let stored = OPERATOR
            .get::<Operator>(self.store(), SELF)
            .await?
            .ok_or(ServiceError::NotSetUp)?;
        if update.operator_id != stored.value.operator_id {
            return Err(ServiceError::Forbidden(
                "operatorId must be the authenticated operator".into(),
            ));
        }
        if update.open_operator_id != stored.value.open_operator_id {
            return Err(ServiceError::Invalid(
                "openOperatorId: field is immutable.".into(),
            ));
        }
        if let Some(global) = &update.global_operator_id
            && self
                .partners()
                .await?
                .iter()
                .any(|p| p.operator.global_operator_id.as_ref() == Some(global))
        {
            return Err(ServiceError::Invalid(format!(
                "globalOperatorId: {} is already exists.",
                global.as_str()
            )));
        }
        let operator = Operator {
            operator_id: stored.value.operator_id,
            name: update.name,
            address: update.address,
            open_operator_id: stored.value.open_operator_id.clone(),
            global_operator_id: update.global_operator_id,
        };
        OPERATOR
            .replace(self.store(), &stored, None, &operator, self.now())
            .await?;
        Ok(operator)
    }

    /// Adds or updates a company this one trades with. A partner is known by its operator
    /// id; it keeps the DID it was first registered with.
    pub async fn register_partner(&self, partner: Partner) -> Result<Partner> {
        let own = self.operator_id().await?;
        if partner.operator.operator_id == own {
            return Err(ServiceError::Invalid(
                "a company is not its own partner".into(),
            ));
        }
        let id = partner.operator.operator_id.to_string();
        match PARTNERS.get::<Partner>(self.store(), &id).await? {
            Some(existing) if existing.value.did != partner.did => {
                Err(ServiceError::Forbidden(format!(
                    "operator {id} is already known as {}, not {}",
                    existing.value.did, partner.did
                )))
            }
            Some(existing) => {
                if existing.value != partner {
                    PARTNERS
                        .replace(
                            self.store(),
                            &existing,
                            Some(&partner.did),
                            &partner,
                            self.now(),
                        )
                        .await?;
                }
                Ok(partner)
            }
            None => {
                PARTNERS
                    .insert(self.store(), &id, Some(&partner.did), &partner, self.now())
                    .await?;
                Ok(partner)
            }
        }
    }

    pub async fn partners(&self) -> Result<Vec<Partner>> {
        Ok(PARTNERS
            .all::<Partner>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect())
    }

    pub async fn partner(&self, operator_id: Uuid) -> Result<Option<Partner>> {
        Ok(PARTNERS
            .get::<Partner>(self.store(), &operator_id.to_string())
            .await?
            .map(|s| s.value))
    }

    /// The operator records this company knows (its own and its partners'), for the Ouranos
    /// operator look-ups.
    pub async fn known_operators(&self) -> Result<Vec<Operator>> {
        let mut operators = vec![self.operator().await?];
        operators.extend(self.partners().await?.into_iter().map(|p| p.operator));
        Ok(operators)
    }

    // ----- plants -----

    pub async fn plants(&self) -> Result<Vec<Plant>> {
        let mut plants: Vec<Plant> = PLANTS
            .all::<Plant>(self.store())
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect();
        plants.sort_by(|a, b| a.open_plant_id.cmp(&b.open_plant_id));
        Ok(plants)
    }

    /// Ouranos `PUT authInfo?dataTarget=plant`: creates a plant (without a plant id) or
    /// updates one. Open and global plant ids are unique within the company.
    pub async fn put_plant(&self, input: PlantInput) -> Result<Plant> {
        let own = self.operator_id().await?;
        if input.operator_id != own {
            return Err(ServiceError::Forbidden(
                "operatorId must be the authenticated operator".into(),
            ));
        }
        let plants = PLANTS.all::<Plant>(self.store()).await?;
        let plant_id = input.plant_id.unwrap_or_else(Uuid::new_v4);
        for other in plants.iter().filter(|p| p.value.plant_id != plant_id) {
            if other.value.open_plant_id == input.open_plant_id {
                return Err(ServiceError::Invalid(format!(
                    "openPlantId: {} is already exists.",
                    input.open_plant_id.as_str()
                )));
            }
            if input.global_plant_id.is_some()
                && other.value.global_plant_id == input.global_plant_id
            {
                return Err(ServiceError::Invalid(format!(
                    "globalPlantId: {} is already exists.",
                    input.global_plant_id.as_deref().unwrap_or_default()
                )));
            }
        }
        let plant = Plant {
            plant_id,
            operator_id: own,
            name: input.name,
            address: input.address,
            open_plant_id: input.open_plant_id,
            global_plant_id: input.global_plant_id,
        };
        let existing = plants.into_iter().find(|p| p.value.plant_id == plant_id);
        match (input.plant_id, existing) {
            (_, Some(existing)) => {
                PLANTS
                    .replace(self.store(), &existing, None, &plant, self.now())
                    .await?
            }
            (None, None) => {
                PLANTS
                    .insert(
                        self.store(),
                        &plant_id.to_string(),
                        None,
                        &plant,
                        self.now(),
                    )
                    .await?
            }
            (Some(id), None) => return Err(ServiceError::NotFound(format!("plant {id}"))),
        }
        Ok(plant)
    }

    /// Stores a plant with its identifiers as they are, for a company that moves its data
    /// from Ouranos.
    pub async fn import_plant(&self, plant: Plant) -> Result<Plant> {
        let own = self.operator_id().await?;
        if plant.operator_id != own {
            return Err(ServiceError::Invalid(
                "the plant belongs to another operator".into(),
            ));
        }
        PLANTS
            .upsert(
                self.store(),
                &plant.plant_id.to_string(),
                None,
                &plant,
                self.now(),
            )
            .await?;
        Ok(plant)
    }

    // ----- parts and their structures -----

    fn identity_key(plant_id: Uuid, name: &str, support: Option<&str>) -> String {
        // The fields are joined with a separator that cannot occur in JSON text fields
        // unescaped, so different combinations never share a key.
        format!("{plant_id}\u{1f}{name}\u{1f}{}", support.unwrap_or(""))
    }

    fn part_key(part: &Part) -> String {
        Self::identity_key(
            part.plant_id,
            &part.part_name,
            part.support_part_name.as_deref(),
        )
    }

    pub async fn part(&self, trace_id: TraceId) -> Result<Option<Part>> {
        Ok(PARTS
            .get::<Part>(self.store(), &trace_id.to_string())
            .await?
            .map(|s| s.value))
    }

    async fn all_parts(&self) -> Result<Vec<Stored<Part>>> {
        PARTS.all::<Part>(self.store()).await.map_err(Into::into)
    }

    async fn structures(&self) -> Result<Vec<Stored<PartsStructure>>> {
        STRUCTURES
            .all::<PartsStructure>(self.store())
            .await
            .map_err(Into::into)
    }

    /// The company's parts, narrowed by `filter`, ordered by part name.
    pub async fn parts(&self, filter: &PartFilter) -> Result<Vec<Part>> {
        let children: std::collections::HashSet<TraceId> = if filter.parents_only {
            self.structures()
                .await?
                .into_iter()
                .flat_map(|s| s.value.children)
                .collect()
        } else {
            Default::default()
        };
        let mut parts: Vec<Part> = self
            .all_parts()
            .await?
            .into_iter()
            .map(|s| s.value)
            .filter(|p| filter.trace_id.is_none_or(|t| p.trace_id == t))
            .filter(|p| filter.part_name.as_deref().is_none_or(|n| p.part_name == n))
            .filter(|p| filter.plant_id.is_none_or(|id| p.plant_id == id))
            .filter(|p| !children.contains(&p.trace_id))
            .collect();
        parts.sort_by(|a, b| (&a.part_name, a.trace_id).cmp(&(&b.part_name, b.trace_id)));
        Ok(parts)
    }

    /// Checks a submitted part against the company and its plants and finds the trace id it
    /// gets: its own, the one of the part with the same plant and names, or a new one.
    async fn resolve_part(
        &self,
        input: &PartInput,
        own: Uuid,
    ) -> Result<(TraceId, Option<Stored<Part>>)> {
        if input.operator_id != own {
            return Err(ServiceError::Forbidden(
                "operatorId must be the authenticated operator".into(),
            ));
        }
        if PLANTS
            .get::<Plant>(self.store(), &input.plant_id.to_string())
            .await?
            .is_none()
        {
            return Err(ServiceError::Invalid(format!(
                "Validation failed, plantId: {} is not a plant of the operator.",
                input.plant_id
            )));
        }
        match input.trace_id {
            Some(trace_id) => {
                let existing = PARTS
                    .get::<Part>(self.store(), &trace_id.to_string())
                    .await?
                    .ok_or(PART_NOT_FOUND)?;
                let part = &existing.value;
                for (field, same) in [
                    ("plantId", part.plant_id == input.plant_id),
                    ("partsName", part.part_name == input.part_name),
                    (
                        "supportPartsName",
                        part.support_part_name == input.support_part_name,
                    ),
                ] {
                    if !same {
                        return Err(ServiceError::Invalid(format!(
                            "{field}: field is immutable."
                        )));
                    }
                }
                Ok((trace_id, Some(existing)))
            }
            None => {
                let key = Self::identity_key(
                    input.plant_id,
                    &input.part_name,
                    input.support_part_name.as_deref(),
                );
                match PARTS
                    .by_lookup::<Part>(self.store(), &key)
                    .await?
                    .into_iter()
                    .next()
                {
                    Some(existing) => Ok((existing.value.trace_id, Some(existing))),
                    None => Ok((TraceId::new(Uuid::new_v4()), None)),
                }
            }
        }
    }

    async fn write_part(&self, part: &Part, existing: Option<&Stored<Part>>) -> Result<()> {
        let key = Self::part_key(part);
        match existing {
            Some(existing) => {
                PARTS
                    .replace(self.store(), existing, Some(&key), part, self.now())
                    .await?
            }
            None => {
                PARTS
                    .insert(
                        self.store(),
                        &part.trace_id.to_string(),
                        Some(&key),
                        part,
                        self.now(),
                    )
                    .await?
            }
        }
        Ok(())
    }

    /// Ouranos `PUT datatransport?dataTarget=parts`: creates or updates one part.
    pub async fn put_part(&self, input: PartInput) -> Result<Part> {
        let own = self.operator_id().await?;
        let (trace_id, existing) = self.resolve_part(&input, own).await?;
        let part = input.into_part(trace_id);
        self.write_part(&part, existing.as_ref()).await?;
        Ok(part)
    }

    /// Stores a part with its trace id as it is, for a company that moves from Ouranos.
    pub async fn import_part(&self, part: Part) -> Result<Part> {
        let own = self.operator_id().await?;
        if part.operator_id != own {
            return Err(ServiceError::Invalid(
                "the part belongs to another operator".into(),
            ));
        }
        let key = Self::part_key(&part);
        PARTS
            .upsert(
                self.store(),
                &part.trace_id.to_string(),
                Some(&key),
                &part,
                self.now(),
            )
            .await?;
        Ok(part)
    }

    /// Ouranos `DELETE datatransport?dataTarget=parts&traceId=`: refused while the part is
    /// in a parts structure or in a request either way; its footprint and certificates go
    /// with it.
    pub async fn delete_part(&self, trace_id: TraceId) -> Result<()> {
        let id = trace_id.to_string();
        if PARTS.get::<Part>(self.store(), &id).await?.is_none() {
            return Err(PART_NOT_FOUND);
        }
        let in_structure = ServiceError::Refused {
            code: "MSGAECP0014",
            message: "指定された部品は部品構成が存在するため削除できません。",
        };
        for structure in self.structures().await? {
            let structure = structure.value;
            if (structure.parent == trace_id && !structure.children.is_empty())
                || structure.children.contains(&trace_id)
            {
                return Err(in_structure);
            }
        }
        if self
            .outgoing_trades()
            .await?
            .iter()
            .any(|t| t.request.downstream_trace_id == trace_id && t.is_open())
        {
            return Err(ServiceError::Refused {
                code: "MSGAECP0015",
                message: "指定された部品は依頼済みのため削除できません。",
            });
        }
        if self
            .incoming_trades()
            .await?
            .iter()
            .any(|t| t.request.upstream_trace_id == Some(trace_id) && t.is_open())
        {
            return Err(ServiceError::Refused {
                code: "MSGAECP0016",
                message: "指定された部品は受領済みの依頼に紐づいているため削除できません。",
            });
        }
        self.store().delete_document(STRUCTURES.0, &id).await?;
        self.store().delete_document(FOOTPRINTS.0, &id).await?;
        self.store().delete_document(CERTIFICATES.0, &id).await?;
        self.store().delete_document(PARTS.0, &id).await?;
        Ok(())
    }

    /// Ouranos `GET datatransport?dataTarget=partsStructure&traceId=`: the part and its
    /// children.
    pub async fn parts_structure(&self, parent: TraceId) -> Result<(Part, Vec<Part>)> {
        let part = self.part(parent).await?.ok_or(PART_NOT_FOUND)?;
        let children = match STRUCTURES
            .get::<PartsStructure>(self.store(), &parent.to_string())
            .await?
        {
            Some(structure) => {
                let mut children = Vec::with_capacity(structure.value.children.len());
                for child in structure.value.children {
                    if let Some(part) = self.part(child).await? {
                        children.push(part);
                    }
                }
                children
            }
            None => Vec::new(),
        };
        Ok((part, children))
    }

    /// Ouranos `PUT datatransport?dataTarget=partsStructure`: creates or updates the parent
    /// and its children and replaces the parent's list of children. Every child states how
    /// much of it one unit of the parent needs; the company's structures together must stay
    /// free of cycles.
    pub async fn put_parts_structure(
        &self,
        parent: PartInput,
        children: Vec<PartInput>,
    ) -> Result<(Part, Vec<Part>)> {
        let own = self.operator_id().await?;
        let (parent_id, parent_existing) = self.resolve_part(&parent, own).await?;
        let mut resolved = Vec::with_capacity(children.len());
        for child in children {
            let (trace_id, existing) = self.resolve_part(&child, own).await?;
            if trace_id == parent_id {
                return Err(ServiceError::Invalid(format!(
                    "Validation failed, part {trace_id} cannot be its own child."
                )));
            }
            resolved.push((child.into_part(trace_id), existing));
        }
        let mut parent = parent.into_part(parent_id);
        // A parent's amount is null in the request (Ouranos admits none there); a part that is
        // also a child elsewhere keeps the amount that structure gave it.
        parent.amount_required = parent_existing
            .as_ref()
            .and_then(|existing| existing.value.amount_required);
        let child_parts: Vec<Part> = resolved.iter().map(|(p, _)| p.clone()).collect();
        // The whole company's bill of materials with this structure in place must hold.
        let mut structures = self.structures_by_parent().await?;
        structures.insert(parent_id, child_parts.iter().map(|p| p.trace_id).collect());
        let mut parts: HashMap<TraceId, Part> = self
            .all_parts()
            .await?
            .into_iter()
            .map(|s| (s.value.trace_id, s.value))
            .collect();
        for part in child_parts.iter().chain(std::iter::once(&parent)) {
            parts.insert(part.trace_id, part.clone());
        }
        bill_of_materials(&structures, &parts)
            .map_err(|error| ServiceError::Invalid(format!("Validation failed, {error}.")))?;
        self.write_part(&parent, parent_existing.as_ref()).await?;
        for (part, existing) in &resolved {
            self.write_part(part, existing.as_ref()).await?;
        }
        let structure = PartsStructure {
            parent: parent_id,
            children: child_parts.iter().map(|p| p.trace_id).collect(),
        };
        STRUCTURES
            .upsert(
                self.store(),
                &parent_id.to_string(),
                None,
                &structure,
                self.now(),
            )
            .await?;
        self.propagate(parent_id).await?;
        Ok((parent, child_parts))
    }

    async fn structures_by_parent(&self) -> Result<BTreeMap<TraceId, Vec<TraceId>>> {
        Ok(self
            .structures()
            .await?
            .into_iter()
            .map(|s| (s.value.parent, s.value.children))
            .collect())
    }

    /// The company's multi-level bill of materials: all its parts structures joined.
    pub async fn bill_of_materials(&self) -> Result<BillOfMaterials> {
        let structures = self.structures_by_parent().await?;
        let parts: HashMap<TraceId, Part> = self
            .all_parts()
            .await?
            .into_iter()
            .map(|s| (s.value.trace_id, s.value))
            .collect();
        bill_of_materials(&structures, &parts)
            .map_err(|error| ServiceError::Invalid(error.to_string()))
    }

    // ----- footprints -----

    /// Ouranos `PUT datatransport?dataTarget=cfp`: the company registers the four figures of
    /// one of its parts. Without a `cfp_id` the part's existing id is kept (or a new one
    /// drawn); a `cfp_id` must match the one registered, or becomes the id of a first
    /// registration (as when moving from Ouranos). Buyers linked to the part get the new
    /// figures as their disclosure allows.
    pub async fn put_ouranos_footprint(
        &self,
        trace_id: TraceId,
        cfp_id: Option<Uuid>,
        figures: OuranosFootprint,
    ) -> Result<OwnFootprint> {
        let result = figures.to_result(trace_id, self.now())?;
        self.store_footprint(result, cfp_id).await
    }

    /// Registers a footprint this crate computed (`roll_up`) for one of the company's parts.
    pub async fn put_footprint(&self, result: FootprintResult) -> Result<OwnFootprint> {
        self.store_footprint(result, None).await
    }

    async fn store_footprint(
        &self,
        result: FootprintResult,
        cfp_id: Option<Uuid>,
    ) -> Result<OwnFootprint> {
        let trace_id = result.part;
        let footprint = {
            let _calc = self.inner.calc.lock().await;
            self.write_footprint(result, cfp_id).await?
        };
        self.propagate(trace_id).await?;
        Ok(footprint)
    }

    /// Writes a part's footprint, keeping its `cfpId`; the caller holds the calc lock and
    /// passes the result on.
    pub(crate) async fn write_footprint(
        &self,
        result: FootprintResult,
        cfp_id: Option<Uuid>,
    ) -> Result<OwnFootprint> {
        let trace_id = result.part;
        if self.part(trace_id).await?.is_none() {
            return Err(PART_NOT_FOUND);
        }
        let id = trace_id.to_string();
        let mut last_error = None;
        for _ in 0..WRITE_ATTEMPTS {
            let existing = FOOTPRINTS.get::<OwnFootprint>(self.store(), &id).await?;
            let cfp_id = match (&existing, cfp_id) {
                (Some(existing), Some(given)) if existing.value.cfp_id != given => {
                    return Err(ServiceError::Invalid(format!(
                        "Validation failed, cfpId: {given} is not the cfpId registered for traceId {trace_id}."
                    )));
                }
                (Some(existing), _) => existing.value.cfp_id,
                (None, given) => given.unwrap_or_else(Uuid::new_v4),
            };
            let footprint = match &existing {
                None => OwnFootprint {
                    cfp_id,
                    result: result.clone(),
                    pf_id: None,
                    superseded: Vec::new(),
                },
                // The same figures computed again are the same PACT footprint: it keeps its
                // id and its content, computation time included.
                Some(existing) if calc::same_figures(&existing.value.result, &result) => {
                    OwnFootprint {
                        cfp_id,
                        ..existing.value.clone()
                    }
                }
                Some(existing) => {
                    let old = &existing.value;
                    let mut superseded = old.superseded.clone();
                    superseded.push(SupersededFootprint {
                        pf_id: old.current_pf_id(),
                        result: old.result.clone(),
                        superseded_at: self.now(),
                    });
                    OwnFootprint {
                        cfp_id,
                        result: result.clone(),
                        pf_id: Some(Uuid::new_v4()),
                        superseded,
                    }
                }
            };
            let written = match existing {
                Some(existing) => {
                    FOOTPRINTS
                        .replace(self.store(), &existing, None, &footprint, self.now())
                        .await
                }
                None => {
                    FOOTPRINTS
                        .insert(self.store(), &id, None, &footprint, self.now())
                        .await
                }
            };
            match written {
                Ok(()) => return Ok(footprint),
                // Another replica wrote at the same moment: read again.
                Err(error @ (StoreError::Conflict(_) | StoreError::Duplicate(_))) => {
                    last_error = Some(error)
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(last_error
            .unwrap_or_else(|| StoreError::Conflict(id.clone()))
            .into())
    }

    pub async fn own_footprint(&self, trace_id: TraceId) -> Result<Option<OwnFootprint>> {
        Ok(FOOTPRINTS
            .get::<OwnFootprint>(self.store(), &trace_id.to_string())
            .await?
            .map(|s| s.value))
    }

    /// What the company's suppliers disclosed, keyed by the company's own trace id of the
    /// bought part: the `supplier_results` of a roll-up.
    pub async fn supplier_footprints(&self) -> Result<HashMap<TraceId, DisclosedFootprint>> {
        Ok(self
            .outgoing_trades()
            .await?
            .into_iter()
            .filter(|t| t.status() == &crate::request::RequestStatus::Completed)
            .filter_map(|t| {
                t.supplier_footprint
                    .map(|f| (t.request.downstream_trace_id, f))
            })
            .collect())
    }

    /// Ouranos `GET datatransport?dataTarget=cfp&traceIds=`: per trace id, in the order
    /// given, the company's own four rows, the four `…Total` rows when the part has children
    /// whose footprints are all known, and the two `…Response` rows of a supplier's answer.
    pub async fn cfp_rows(&self, trace_ids: &[TraceId]) -> Result<Vec<CfpRow>> {
        let supplier = self.supplier_footprints().await?;
        let structures = self.structures_by_parent().await?;
        let mut rows = Vec::new();
        for trace_id in trace_ids {
            if let Some(own) = self.own_footprint(*trace_id).await? {
                let figures = OuranosFootprint::from_result(&own.result)?;
                let row = |figure| CfpRow {
                    trace_id: *trace_id,
                    cfp_id: Some(own.cfp_id),
                    declared_unit: figures.declared_unit,
                    figure,
                };
                rows.extend(ouranos::own_figures(&figures).into_iter().map(row));
                if structures.get(trace_id).is_some_and(|c| !c.is_empty())
                    && let Some(children) = self
                        .child_footprints(*trace_id, &structures, &supplier, 0)
                        .await?
                {
                    rows.extend(
                        ouranos::total_figures(&figures, &children)?
                            .into_iter()
                            .map(row),
                    );
                }
            }
            if let Some(disclosed) = supplier.get(trace_id) {
                for figure in ouranos::response_figures(disclosed)? {
                    rows.push(CfpRow {
                        trace_id: *trace_id,
                        cfp_id: None,
                        declared_unit: disclosed.declared_unit,
                        figure,
                    });
                }
            }
        }
        Ok(rows)
    }

    /// The children of `parent` as its `…Total` rows count them, or `None` when one of them
    /// has no known stage split.
    async fn child_footprints(
        &self,
        parent: TraceId,
        structures: &BTreeMap<TraceId, Vec<TraceId>>,
        supplier: &HashMap<TraceId, DisclosedFootprint>,
        depth: usize,
    ) -> Result<Option<Vec<ChildFootprint>>> {
        let Some(children) = structures.get(&parent) else {
            return Ok(Some(Vec::new()));
        };
        // Structures are acyclic; the bound only guards against a corrupted store.
        if depth > 256 {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(children.len());
        for child in children {
            let Some(part) = self.part(*child).await? else {
                return Ok(None);
            };
            let Some(amount) = part.amount_required else {
                return Ok(None);
            };
            let figures = if let Some(disclosed) = supplier.get(child) {
                let [pre, main] = ouranos::response_figures(disclosed)?;
                let (Some(pre_kg), Some(main_kg)) = (pre.kg_co2e, main.kg_co2e) else {
                    return Ok(None);
                };
                (
                    disclosed.declared_unit,
                    pre_kg,
                    main_kg,
                    pre.quality.flatten(),
                    main.quality.flatten(),
                )
            } else if let Some(own) = self.own_footprint(*child).await? {
                let figures = OuranosFootprint::from_result(&own.result)?;
                let grandchildren = if structures.get(child).is_some_and(|c| !c.is_empty()) {
                    Box::pin(self.child_footprints(*child, structures, supplier, depth + 1)).await?
                } else {
                    None
                };
                match grandchildren {
                    Some(grandchildren) => {
                        let totals = ouranos::total_figures(&figures, &grandchildren)?;
                        let sum = |a: &CfpFigure, b: &CfpFigure| {
                            crate::num::add(
                                a.kg_co2e.unwrap_or_default(),
                                b.kg_co2e.unwrap_or_default(),
                            )
                        };
                        (
                            figures.declared_unit,
                            sum(&totals[0], &totals[2])?,
                            sum(&totals[1], &totals[3])?,
                            totals[0].quality.flatten(),
                            totals[1].quality.flatten(),
                        )
                    }
                    None => (
                        figures.declared_unit,
                        figures.pre_total()?,
                        figures.main_total()?,
                        figures.pre_quality,
                        figures.main_quality,
                    ),
                }
            } else {
                return Ok(None);
            };
            let (unit, pre, main, pre_quality, main_quality) = figures;
            let Ok(amount) = part.amount_required_unit.convert(amount, unit) else {
                return Ok(None);
            };
            out.push(ChildFootprint {
                amount,
                pre,
                main,
                pre_quality,
                main_quality,
            });
        }
        Ok(Some(out))
    }

    // ----- certificates -----

    pub async fn put_cfp_certification(
        &self,
        certification: CfpCertification,
    ) -> Result<CfpCertification> {
        if self.part(certification.trace_id).await?.is_none() {
            return Err(PART_NOT_FOUND);
        }
        CERTIFICATES
            .upsert(
                self.store(),
                &certification.trace_id.to_string(),
                None,
                &certification,
                self.now(),
            )
            .await?;
        Ok(certification)
    }

    pub async fn cfp_certifications(&self, trace_id: TraceId) -> Result<Vec<CfpCertification>> {
        Ok(CERTIFICATES
            .get::<CfpCertification>(self.store(), &trace_id.to_string())
            .await?
            .map(|s| s.value)
            .into_iter()
            .collect())
    }

    // ----- disclosure -----

    /// How much of its footprints the company shows each buyer. The default shows the total
    /// only, which Ouranos displays as withheld figures.
    pub async fn disclosure_policy(&self) -> Result<DisclosurePolicy> {
        Ok(SETTINGS
            .get::<DisclosurePolicy>(self.store(), DISCLOSURE)
            .await?
            .map(|s| s.value)
            .unwrap_or_default())
    }

    /// Changes the policy and sends every linked buyer what it now may see.
    pub async fn set_disclosure_policy(&self, policy: DisclosurePolicy) -> Result<()> {
        SETTINGS
            .upsert(self.store(), DISCLOSURE, None, &policy, self.now())
            .await?;
        self.resend_all_answers().await
    }
}

/// The multi-level bill of materials of `structures`, amounts from the child parts.
fn bill_of_materials(
    structures: &BTreeMap<TraceId, Vec<TraceId>>,
    parts: &HashMap<TraceId, Part>,
) -> Result<BillOfMaterials, BomError> {
    let mut levels = Vec::with_capacity(structures.len());
    for (parent, children) in structures {
        let (Some(parent), Some(children)) = (
            parts.get(parent),
            children
                .iter()
                .map(|c| parts.get(c).cloned())
                .collect::<Option<Vec<Part>>>(),
        ) else {
            continue;
        };
        levels.push(BillOfMaterials::from_parts_structure(parent, &children)?);
    }
    BillOfMaterials::combine(levels)
}

#[cfg(test)]
pub(crate) mod tests;
