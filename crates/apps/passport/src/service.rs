//! One economic operator's passports, kept in its `DocumentStore`.
//!
//! Collection `passport.passports`: one document per passport (id = the bare UUID, lookup =
//! the battery identifier, so that the resolver finds every passport a battery has had),
//! holding the BatteryPass document, its signed SD-JWT and the links to predecessor and
//! successor. Journal `passport/<uuid>`: every event of that passport (issued, dynamic
//! readings, lifecycle events), append-only, which is the history the state-of-health chart
//! reads. Every change re-signs the passport; a change that fails validation or meets a
//! concurrent writer changes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;
use tsunagu_store::{DocumentStore, StoreError};
use tsunagu_trust::jwk::Jwk;
use tsunagu_trust::keys::KeyRing;
use url::Url;

use crate::attributes::{AccessGroup, AttributeTable};
use crate::identifier::{BatteryIdentifier, IdentifierError, PassportId};
use crate::lifecycle::{LifecycleError, LifecycleEvent, Outcome, transition};
use crate::model::{BatteryPass, BatteryState, ModelError};
use crate::signed::{PassportView, SignError, SignedPassport, Signer, open_view, sign_passport};

const PASSPORTS: &str = "passport.passports";

/// `metadata.predecessor` of a first passport: the nil UUID.
pub const NO_PREDECESSOR: &str = "urn:uuid:00000000-0000-0000-0000-000000000000";

/// The current time (the PCF app's clock: one notion of time for both apps); tests pass a
/// manual one.
pub use tsunagu_pcf::service::{Clock, SystemClock};

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("no passport {0}")]
    NotFound(String),
    #[error("battery {0} already has a current passport")]
    Duplicate(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("invalid reading: {0}")]
    InvalidReading(String),
    #[error("the passport changed meanwhile; read it again and retry")]
    Conflict,
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("store: {0}")]
    Store(StoreError),
    #[error("stored passport {0} is unreadable")]
    Corrupt(String),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => ServiceError::Conflict,
            other => ServiceError::Store(other),
        }
    }
}

pub(crate) type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PassportRecord {
    battery: String,
    pass: Value,
    signed: SignedPassport,
    #[serde(default)]
    predecessor: Option<String>,
    #[serde(default)]
    successor: Option<String>,
    #[serde(default)]
    ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    last_reading_at: Option<DateTime<Utc>>,
}

/// A passport as stored.
#[derive(Debug, Clone)]
pub struct StoredPassport {
    pub id: PassportId,
    pub battery: BatteryIdentifier,
    pub pass: BatteryPass,
    pub signed: SignedPassport,
    pub predecessor: Option<PassportId>,
    pub successor: Option<PassportId>,
    pub ended_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl StoredPassport {
    /// Current: neither superseded nor ended.
    pub fn is_current(&self) -> bool {
        self.successor.is_none() && self.ended_at.is_none()
    }
}

/// A negative event (deep discharge, overcharge, accident) with the document describing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NegativeEvent {
    pub kind: String,
    pub report_url: String,
}

/// One reading of the battery management system. Percentages are 0 to 100.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DynamicReading {
    pub at: Option<DateTime<Utc>>,
    pub state_of_charge: Option<f64>,
    /// State of certified energy, the state-of-health figure of Annex VII.
    pub state_of_certified_energy: Option<f64>,
    pub remaining_capacity_ah: Option<f64>,
    pub remaining_energy_kwh: Option<f64>,
    pub full_cycles: Option<u64>,
    pub negative_event: Option<NegativeEvent>,
}

/// The service of one economic operator.
#[derive(Clone)]
pub struct PassportService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn DocumentStore>,
    operator_did: String,
    keys: KeyRing,
    table: &'static AttributeTable,
    clock: Arc<dyn Clock>,
    public_base: Url,
    /// Views already made, by passport and group, with the version they were made from: a
    /// view is a function of the signed passport, which changes with every version.
    views: Mutex<ViewCache>,
}

/// Views by passport and group, each with the passport version it was made from.
type ViewCache = HashMap<(PassportId, AccessGroup), (i64, Arc<PassportView>)>;

/// Views kept at most; the cache starts over when full.
const MAX_CACHED_VIEWS: usize = 4096;

fn stream(id: PassportId) -> String {
    format!("passport/{id}")
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl PassportService {
    /// `operator_did` signs with the active key of `keys`; `public_base` is where the
    /// passport pages are served (`<base>/passports/<uuid>`).
    pub fn new(
        store: Arc<dyn DocumentStore>,
        operator_did: String,
        keys: KeyRing,
        public_base: Url,
        clock: Arc<dyn Clock>,
    ) -> PassportService {
        PassportService {
            inner: Arc::new(Inner {
                store,
                operator_did,
                keys,
                table: AttributeTable::bundled(),
                clock,
                public_base,
                views: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn operator_did(&self) -> &str {
        &self.inner.operator_did
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn table(&self) -> &'static AttributeTable {
        self.inner.table
    }

    /// The public address of a passport, which its QR code carries.
    pub fn public_url(&self, id: PassportId) -> String {
        let base = self.inner.public_base.as_str().trim_end_matches('/');
        format!("{base}/passports/{id}")
    }

    /// The address of a passport's QR code image, `svg` or `png`.
    pub fn qr_url(&self, id: PassportId, format: &str) -> String {
        format!("{}/qr.{format}", self.public_url(id))
    }

    pub fn public_base(&self) -> &Url {
        &self.inner.public_base
    }

    fn sign(&self, pass: &BatteryPass) -> Result<SignedPassport> {
        let mut rng = rand::rngs::OsRng;
        Ok(sign_passport(
            pass,
            self.inner.table,
            Signer {
                did: &self.inner.operator_did,
                key: self.inner.keys.active(),
            },
            self.now(),
            &mut rng,
        )?)
    }

    /// Issues the first passport of `battery` from `content` (a BatteryPass document; the
    /// service sets the passport identifier, status `approved`, version, dates, the battery
    /// identifier and the battery state `original`). Refused when the battery already has a
    /// current passport or the document is invalid.
    pub async fn issue(
        &self,
        battery: &BatteryIdentifier,
        content: Value,
    ) -> Result<StoredPassport> {
        if let Some(current) = self.resolve(battery).await?
            && current.is_current()
        {
            return Err(ServiceError::Duplicate(battery.to_string()));
        }
        let id = PassportId::random(&mut rand::rngs::OsRng);
        let now = self.now();
        let mut content = content;
        let date = now.format("%Y-%m-%d").to_string();
        for (pointer, value) in [
            ("/metadata/passportIdentifier", json!(id.urn())),
            ("/metadata/status", json!("approved")),
            ("/metadata/version", json!("1")),
            ("/metadata/issueDate", json!(date)),
            ("/metadata/lastModification", json!(date)),
            ("/identification/idDmc", json!(battery.to_string())),
            ("/sustainability/status", json!("original")),
        ] {
            put(&mut content, pointer, value)?;
        }
        // The schema requires a predecessor; a first passport names the nil UUID, as the
        // aspect's example does.
        put(&mut content, "/metadata/predecessor", json!(NO_PREDECESSOR))?;
        // The schema also requires a backup reference. Where the operator keeps no backup
        // copy elsewhere (Art. 77(4)), it names the public address.
        if content.pointer("/metadata/backupReference").is_none() {
            put(
                &mut content,
                "/metadata/backupReference",
                json!(self.public_url(id)),
            )?;
        }
        let pass = BatteryPass::from_json(content)?;
        self.insert(id, battery, pass, None, now, json!({"event": "issued"}))
            .await
    }

    async fn insert(
        &self,
        id: PassportId,
        battery: &BatteryIdentifier,
        pass: BatteryPass,
        predecessor: Option<PassportId>,
        now: DateTime<Utc>,
        event: Value,
    ) -> Result<StoredPassport> {
        let signed = self.sign(&pass)?;
        let record = PassportRecord {
            battery: battery.to_string(),
            pass: pass.to_value(),
            signed,
            predecessor: predecessor.map(|p| p.to_string()),
            successor: None,
            ended_at: None,
            last_reading_at: None,
        };
        let body =
            serde_json::to_value(&record).map_err(|_| ServiceError::Corrupt(id.to_string()))?;
        self.inner
            .store
            .insert_document(
                PASSPORTS,
                &id.to_string(),
                Some(&battery.to_string()),
                &body,
                now.timestamp_millis(),
            )
            .await?;
        self.journal(id, event, now).await?;
        self.passport(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))
    }

    async fn journal(&self, id: PassportId, mut event: Value, at: DateTime<Utc>) -> Result<()> {
        event["at"] = json!(timestamp(at));
        self.inner
            .store
            .append_journal(&stream(id), &event, at.timestamp_millis())
            .await?;
        Ok(())
    }

    pub async fn passport(&self, id: PassportId) -> Result<Option<StoredPassport>> {
        let Some(document) = self
            .inner
            .store
            .document(PASSPORTS, &id.to_string())
            .await?
        else {
            return Ok(None);
        };
        stored(id, document.version, document.body).map(Some)
    }

    async fn passport_record(&self, id: PassportId) -> Result<(PassportRecord, i64)> {
        let document = self
            .inner
            .store
            .document(PASSPORTS, &id.to_string())
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))?;
        let record: PassportRecord = serde_json::from_value(document.body)
            .map_err(|_| ServiceError::Corrupt(id.to_string()))?;
        Ok((record, document.version))
    }

    /// The resolver: the battery's current passport, or its last one if all have ended.
    pub async fn resolve(&self, battery: &BatteryIdentifier) -> Result<Option<StoredPassport>> {
        let documents = self
            .inner
            .store
            .documents_by_lookup(PASSPORTS, &battery.to_string())
            .await?;
        let mut passports = Vec::new();
        for document in documents {
            let id = PassportId::parse(&document.id)?;
            passports.push(stored(id, document.version, document.body)?);
        }
        Ok(passports
            .iter()
            .find(|p| p.is_current())
            .cloned()
            .or_else(|| passports.pop()))
    }

    /// The view of `id` for `group`: the signed passport presented with the disclosures the
    /// group may see, verified and checked against the attribute table.
    pub async fn view(
        &self,
        id: PassportId,
        group: AccessGroup,
    ) -> Result<Option<(StoredPassport, Arc<PassportView>)>> {
        let Some(passport) = self.passport(id).await? else {
            return Ok(None);
        };
        let view = self.view_of(&passport, group)?;
        Ok(Some((passport, view)))
    }

    pub fn view_of(
        &self,
        passport: &StoredPassport,
        group: AccessGroup,
    ) -> Result<Arc<PassportView>> {
        let key = (passport.id, group);
        if let Some((version, view)) = self.cached_views().get(&key)
            && *version == passport.version
        {
            return Ok(view.clone());
        }
        let view = Arc::new(self.fresh_view(passport, group)?);
        let mut views = self.cached_views();
        if views.len() >= MAX_CACHED_VIEWS {
            views.clear();
        }
        views.insert(key, (passport.version, view.clone()));
        Ok(view)
    }

    /// A view made from the signed passport without the cache.
    pub(crate) fn fresh_view(
        &self,
        passport: &StoredPassport,
        group: AccessGroup,
    ) -> Result<PassportView> {
        let presentation = passport.signed.present(group)?;
        Ok(open_view(
            presentation,
            group,
            &self.signing_jwk(),
            self.inner.table,
            self.now(),
        )?)
    }

    fn cached_views(&self) -> std::sync::MutexGuard<'_, ViewCache> {
        self.inner.views.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The operator's active public key, which verifies what the service signs.
    pub fn signing_jwk(&self) -> Jwk {
        self.inner.keys.active().public_jwk()
    }

    /// Records a reading of the battery management system: updates the dynamic fields of
    /// the passport, keeps the reading in the history and re-signs. Refused: a passport that
    /// is superseded or ended, percentages outside 0 to 100, negative quantities, a cycle
    /// count below the last one, a reading older than the last.
    pub async fn record_reading(
        &self,
        id: PassportId,
        reading: DynamicReading,
    ) -> Result<StoredPassport> {
        let (mut record, version) = self.passport_record(id).await?;
        current(&record)?;
        let now = self.now();
        let at = reading.at.unwrap_or(now);
        if at > now + chrono::Duration::minutes(5) {
            return Err(ServiceError::InvalidReading(
                "the reading is from the future".into(),
            ));
        }
        if record.last_reading_at.is_some_and(|last| at < last) {
            return Err(ServiceError::InvalidReading(
                "the reading is older than the last one recorded".into(),
            ));
        }
        let mut pass = BatteryPass::from_json(record.pass.clone())?;
        let time = json!(timestamp(at));
        let percent = |name: &str, value: Option<f64>| -> Result<Option<f64>> {
            match value {
                Some(v) if !(0.0..=100.0).contains(&v) || !v.is_finite() => {
                    Err(ServiceError::InvalidReading(format!(
                        "{name} must be a percentage from 0 to 100"
                    )))
                }
                other => Ok(other),
            }
        };
        let quantity = |name: &str, value: Option<f64>| -> Result<Option<f64>> {
            match value {
                Some(v) if v < 0.0 || !v.is_finite() => Err(ServiceError::InvalidReading(format!(
                    "{name} must not be negative"
                ))),
                other => Ok(other),
            }
        };
        if let Some(soc) = percent("state of charge", reading.state_of_charge)? {
            pass.set(
                "/performance/dynamic/stateOfCharge",
                json!({"value": soc, "time": time}),
            )?;
        }
        if let Some(soce) = percent(
            "state of certified energy",
            reading.state_of_certified_energy,
        )? {
            pass.set(
                "/performance/dynamic/energy/soce",
                json!({"value": soce, "time": time}),
            )?;
        }
        if let Some(capacity) = quantity("remaining capacity", reading.remaining_capacity_ah)? {
            pass.set(
                "/performance/dynamic/capacity/capacity",
                json!({"value": capacity, "time": time}),
            )?;
            if let Some(rated) = pass
                .as_json()
                .get("performance")
                .and_then(|p| p.pointer("/rated/capacity/value"))
                .and_then(Value::as_f64)
                .filter(|r| *r > 0.0)
            {
                let fade = ((1.0 - capacity / rated) * 100.0).clamp(0.0, 100.0);
                pass.set(
                    "/performance/dynamic/capacity/fade",
                    json!({"value": round2(fade), "time": time}),
                )?;
            }
        }
        if let Some(energy) = quantity("remaining energy", reading.remaining_energy_kwh)? {
            pass.set(
                "/performance/dynamic/energy/remaining",
                json!({"value": energy, "time": time}),
            )?;
        }
        if let Some(cycles) = reading.full_cycles {
            let last = pass
                .as_json()
                .get("performance")
                .and_then(|p| p.pointer("/dynamic/fullCycles/value"))
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            if (cycles as f64) < last {
                return Err(ServiceError::InvalidReading(format!(
                    "full cycles cannot go down (last {last}, now {cycles})"
                )));
            }
            pass.set(
                "/performance/dynamic/fullCycles",
                json!({"value": cycles, "time": time}),
            )?;
        }
        if let Some(event) = &reading.negative_event {
            if event.kind.trim().is_empty() || event.kind.chars().count() > 100 {
                return Err(ServiceError::InvalidReading(
                    "a negative event needs a kind of at most 100 characters".into(),
                ));
            }
            let report = Url::parse(&event.report_url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| {
                    ServiceError::InvalidReading("the event report must be an http(s) URL".into())
                })?;
            pass.set(
                "/performance/dynamic/negativeEvents/-",
                json!({"contentType": "URL", "header": event.kind, "content": report.as_str()}),
            )?;
        }
        pass.set(
            "/metadata/lastModification",
            json!(now.format("%Y-%m-%d").to_string()),
        )?;
        record.signed = self.sign(&pass)?;
        record.pass = pass.into_value();
        record.last_reading_at = Some(at);
        self.replace(id, version, &record, now).await?;
        let mut event = serde_json::to_value(&reading).unwrap_or_default();
        event["event"] = json!("reading");
        event["at"] = json!(timestamp(at));
        self.inner
            .store
            .append_journal(&stream(id), &event, now.timestamp_millis())
            .await?;
        self.passport(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))
    }

    async fn replace(
        &self,
        id: PassportId,
        version: i64,
        record: &PassportRecord,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let body =
            serde_json::to_value(record).map_err(|_| ServiceError::Corrupt(id.to_string()))?;
        Ok(self
            .inner
            .store
            .update_document(
                PASSPORTS,
                &id.to_string(),
                version,
                Some(&record.battery),
                &body,
                now.timestamp_millis(),
            )
            .await?)
    }

    /// The readings recorded for `id`, oldest first.
    pub async fn readings(&self, id: PassportId) -> Result<Vec<DynamicReading>> {
        let mut readings = Vec::new();
        let mut after = 0;
        loop {
            let entries = self.inner.store.journal(&stream(id), after, 500).await?;
            let Some(last) = entries.last() else { break };
            after = last.seq;
            for entry in &entries {
                if entry.body.get("event").and_then(Value::as_str) == Some("reading")
                    && let Ok(reading) =
                        serde_json::from_value::<DynamicReading>(entry.body.clone())
                {
                    readings.push(reading);
                }
            }
        }
        Ok(readings)
    }

    /// The events of `id` (issued, readings, lifecycle), oldest first, as journalled.
    pub async fn events(&self, id: PassportId) -> Result<Vec<Value>> {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let entries = self.inner.store.journal(&stream(id), after, 500).await?;
            let Some(last) = entries.last() else { break };
            after = last.seq;
            events.extend(entries.into_iter().map(|e| e.body));
        }
        Ok(events)
    }

    /// Applies a lifecycle event. Re-use, repurposing and remanufacturing issue a new
    /// passport linked to this one (returned), which is superseded; discarding turns the
    /// battery into waste; recycling ends the passport. Illegal transitions change nothing.
    pub async fn apply(&self, id: PassportId, event: LifecycleEvent) -> Result<StoredPassport> {
        let (mut record, version) = self.passport_record(id).await?;
        current(&record)?;
        let mut pass = BatteryPass::from_json(record.pass.clone())?;
        let outcome = transition(pass.battery_state(), event)?;
        let now = self.now();
        let date = json!(now.format("%Y-%m-%d").to_string());
        match outcome {
            Outcome::SameState(state) => {
                pass.set("/sustainability/status", json!(state.as_str()))?;
                pass.set("/metadata/lastModification", date)?;
                record.signed = self.sign(&pass)?;
                record.pass = pass.into_value();
                self.replace(id, version, &record, now).await?;
                self.journal(
                    id,
                    json!({"event": event.as_str(), "state": state.as_str()}),
                    now,
                )
                .await?;
                self.passport(id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound(id.to_string()))
            }
            Outcome::End => {
                pass.set("/metadata/status", json!("expired"))?;
                pass.set("/metadata/lastModification", date)?;
                record.signed = self.sign(&pass)?;
                record.pass = pass.into_value();
                record.ended_at = Some(now);
                self.replace(id, version, &record, now).await?;
                self.journal(id, json!({"event": event.as_str()}), now)
                    .await?;
                self.passport(id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound(id.to_string()))
            }
            Outcome::Successor(state) => {
                self.succeed(id, record, version, pass, state, event, now)
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn succeed(
        &self,
        id: PassportId,
        mut record: PassportRecord,
        version: i64,
        old: BatteryPass,
        state: BatteryState,
        event: LifecycleEvent,
        now: DateTime<Utc>,
    ) -> Result<StoredPassport> {
        let battery = BatteryIdentifier::parse(&record.battery)?;
        let new_id = PassportId::random(&mut rand::rngs::OsRng);
        let date = json!(now.format("%Y-%m-%d").to_string());
        let mut successor = old.clone();
        successor.set("/metadata/passportIdentifier", json!(new_id.urn()))?;
        successor.set("/metadata/predecessor", json!(id.urn()))?;
        successor.set("/metadata/version", json!("1"))?;
        successor.set("/metadata/issueDate", date.clone())?;
        successor.set("/metadata/lastModification", date.clone())?;
        successor.set("/metadata/status", json!("approved"))?;
        successor.set("/sustainability/status", json!(state.as_str()))?;
        let mut superseded = old;
        superseded.set("/metadata/status", json!("invalid"))?;
        superseded.set("/metadata/lastModification", date)?;
        record.signed = self.sign(&superseded)?;
        record.pass = superseded.into_value();
        record.successor = Some(new_id.to_string());

        // The successor first: if the old passport changed meanwhile, the successor is
        // removed again and nothing has changed.
        let created = self
            .insert(
                new_id,
                &battery,
                successor,
                Some(id),
                now,
                json!({"event": "issued", "predecessor": id.urn(), "cause": event.as_str()}),
            )
            .await?;
        if let Err(error) = self.replace(id, version, &record, now).await {
            let _ = self
                .inner
                .store
                .delete_document(PASSPORTS, &new_id.to_string())
                .await;
            return Err(error);
        }
        self.journal(
            id,
            json!({"event": event.as_str(), "successor": new_id.urn()}),
            now,
        )
        .await?;
        Ok(created)
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn current(record: &PassportRecord) -> Result<()> {
    if record.ended_at.is_some() {
        return Err(LifecycleError::Ended.into());
    }
    if let Some(successor) = &record.successor {
        return Err(LifecycleError::Superseded {
            successor: successor.clone(),
        }
        .into());
    }
    Ok(())
}

fn put(content: &mut Value, pointer: &str, value: Value) -> Result<()> {
    let (parent, name) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match content.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.insert(name.to_owned(), value);
            Ok(())
        }
        _ => Err(ModelError {
            pointer: parent.to_owned(),
            reason: "required section missing".into(),
        }
        .into()),
    }
}

fn stored(id: PassportId, version: i64, body: Value) -> Result<StoredPassport> {
    let corrupt = || ServiceError::Corrupt(id.to_string());
    let record: PassportRecord = serde_json::from_value(body).map_err(|_| corrupt())?;
    let parse_id = |text: &Option<String>| -> Result<Option<PassportId>> {
        text.as_deref()
            .map(PassportId::parse)
            .transpose()
            .map_err(|_| corrupt())
    };
    Ok(StoredPassport {
        id,
        battery: BatteryIdentifier::parse(&record.battery).map_err(|_| corrupt())?,
        pass: BatteryPass::from_json(record.pass).map_err(|_| corrupt())?,
        signed: record.signed,
        predecessor: parse_id(&record.predecessor)?,
        successor: parse_id(&record.successor)?,
        ended_at: record.ended_at,
        version,
    })
}
