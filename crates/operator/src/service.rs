//! The operator's use cases: onboarding, issuing and revoking credentials, the directory.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tsunagu_store::{DocumentStore, Page, StoreError};

use crate::credentials::{CredentialIssuer, CredentialKind};
use crate::model::{
    Application, ApplicationForm, ApplicationStatus, ChainRole, DirectoryEntry, IssuedCredential,
    Participant,
};
use crate::registration::RegistrationNumber;

const APPLICATIONS: &str = "operator.applications";
const PARTICIPANTS: &str = "operator.participants";
const STATUS_LISTS: &str = "operator.status_lists";
const AUDIT: &str = "operator.audit";
/// The one revocation list; a second is started when this one is full.
pub const REVOCATION_LIST: &str = "revocation-1";

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("credential could not be issued: {0}")]
    Issuance(String),
}

/// The scheme operator.
#[derive(Clone)]
pub struct Operator {
    store: Arc<dyn DocumentStore>,
    issuer: Arc<CredentialIssuer>,
    credential_validity: Duration,
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    document: tsunagu_store::Document,
) -> Result<T, OperatorError> {
    serde_json::from_value(document.body).map_err(|error| {
        OperatorError::Store(StoreError::Corrupt {
            id: format!("{what}/{}", document.id),
            reason: error.to_string(),
        })
    })
}

fn encode<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("operator records serialise")
}

fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl Operator {
    pub fn new(
        store: Arc<dyn DocumentStore>,
        issuer: CredentialIssuer,
        credential_validity: Duration,
    ) -> Operator {
        Operator {
            store,
            issuer: Arc::new(issuer),
            credential_validity,
        }
    }

    pub fn did(&self) -> &str {
        self.issuer.did()
    }

    pub fn issuer(&self) -> &CredentialIssuer {
        &self.issuer
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), OperatorError> {
        tracing::info!(actor, action, subject, "operator action");
        self.store
            .append_journal(
                AUDIT,
                &json!({"actor": actor, "action": action, "subject": subject, "detail": detail, "at": now}),
                ms(now),
            )
            .await?;
        Ok(())
    }

    /// Checks an application form and records it as pending.
    pub async fn apply(
        &self,
        mut form: ApplicationForm,
        now: DateTime<Utc>,
    ) -> Result<Application, OperatorError> {
        form.legal_name = form.legal_name.trim().to_owned();
        if form.legal_name.is_empty() {
            return Err(OperatorError::Invalid("legalName must not be empty".into()));
        }
        form.registration_number = RegistrationNumber::parse(
            form.registration_number.kind,
            &form.registration_number.value,
        )
        .map_err(|e| OperatorError::Invalid(e.to_string()))?;
        form.legal_address.country = form.legal_address.country.trim().to_ascii_uppercase();
        if !is_country_code(&form.legal_address.country) {
            return Err(OperatorError::Invalid(format!(
                "legalAddress.country {:?} is not an ISO 3166-1 alpha-2 code",
                form.legal_address.country
            )));
        }
        if let Some(hq) = &mut form.headquarters_country {
            *hq = hq.trim().to_ascii_uppercase();
            if !is_country_code(hq) {
                return Err(OperatorError::Invalid(format!(
                    "headquartersCountry {hq:?} is not an ISO 3166-1 alpha-2 code"
                )));
            }
        }
        if form.roles.is_empty() {
            return Err(OperatorError::Invalid(
                "roles must name at least one role in the battery chain".into(),
            ));
        }
        form.roles.sort();
        form.roles.dedup();
        if !(form.did.starts_with("did:web:") || form.did.starts_with("did:key:")) {
            return Err(OperatorError::Invalid(format!(
                "did {:?} is neither a did:web nor a did:key",
                form.did
            )));
        }
        match url::Url::parse(&form.dsp_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => {
                return Err(OperatorError::Invalid(format!(
                    "dspUrl {:?} is not an http(s) URL",
                    form.dsp_url
                )));
            }
        }
        if !self
            .store
            .documents_by_lookup(PARTICIPANTS, &form.did)
            .await?
            .is_empty()
        {
            return Err(OperatorError::Conflict(format!(
                "{} is already a participant",
                form.did
            )));
        }
        for existing in self
            .store
            .documents_by_lookup(APPLICATIONS, &form.did)
            .await?
        {
            let existing: Application = decode(APPLICATIONS, existing)?;
            if existing.status == ApplicationStatus::Pending {
                return Err(OperatorError::Conflict(format!(
                    "{} already has a pending application ({})",
                    form.did, existing.id
                )));
            }
        }
        let application = Application {
            id: uuid::Uuid::new_v4().to_string(),
            form,
            submitted_at: now,
            status: ApplicationStatus::Pending,
        };
        self.store
            .insert_document(
                APPLICATIONS,
                &application.id,
                Some(&application.form.did),
                &encode(&application),
                ms(now),
            )
            .await?;
        self.audit(
            &application.form.did,
            "apply",
            &application.id,
            json!({"legalName": application.form.legal_name, "roles": application.form.roles}),
            now,
        )
        .await?;
        Ok(application)
    }

    pub async fn application(&self, id: &str) -> Result<Application, OperatorError> {
        let document = self
            .store
            .document(APPLICATIONS, id)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("application {id}")))?;
        decode(APPLICATIONS, document)
    }

    pub async fn applications(&self, page: Page) -> Result<Vec<Application>, OperatorError> {
        self.store
            .documents(APPLICATIONS, page)
            .await?
            .into_iter()
            .map(|d| decode(APPLICATIONS, d))
            .collect()
    }

    async fn decide(
        &self,
        id: &str,
        status: ApplicationStatus,
        now: DateTime<Utc>,
    ) -> Result<Application, OperatorError> {
        let document = self
            .store
            .document(APPLICATIONS, id)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("application {id}")))?;
        let version = document.version;
        let mut application: Application = decode(APPLICATIONS, document)?;
        if application.status != ApplicationStatus::Pending {
            return Err(OperatorError::Conflict(format!(
                "application {id} was already decided"
            )));
        }
        application.status = status;
        self.store
            .update_document(
                APPLICATIONS,
                id,
                version,
                Some(&application.form.did),
                &encode(&application),
                ms(now),
            )
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => {
                    OperatorError::Conflict(format!("application {id} was decided concurrently"))
                }
                other => other.into(),
            })?;
        Ok(application)
    }

    /// Admits the applicant and issues its credentials.
    pub async fn approve(
        &self,
        id: &str,
        admin: &str,
        security_profile: &str,
        now: DateTime<Utc>,
    ) -> Result<Participant, OperatorError> {
        let security_profile = security_profile.trim();
        if security_profile.is_empty() {
            return Err(OperatorError::Invalid(
                "securityProfile must name the level the participant is certified for".into(),
            ));
        }
        let application = self
            .decide(
                id,
                ApplicationStatus::Approved {
                    decided_at: now,
                    decided_by: admin.to_owned(),
                },
                now,
            )
            .await?;
        let form = application.form;
        let mut participant = Participant {
            id: application.id.clone(),
            did: form.did.clone(),
            legal_name: form.legal_name,
            headquarters_country: form
                .headquarters_country
                .unwrap_or_else(|| form.legal_address.country.clone()),
            registration_number: form.registration_number,
            legal_address: form.legal_address,
            roles: form.roles,
            dsp_url: form.dsp_url,
            security_profile: security_profile.to_owned(),
            admitted_at: now,
            revoked_at: None,
            credentials: Vec::new(),
            contact_email: form.contact_email,
        };
        let valid_until = now + self.credential_validity;
        for kind in CredentialKind::ALL {
            let index = self.allocate_status_index(now).await?;
            let credential_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
            let jwt = self
                .issuer
                .issue(
                    kind,
                    &credential_id,
                    &participant,
                    REVOCATION_LIST,
                    index,
                    now,
                    valid_until,
                )
                .map_err(|e| OperatorError::Issuance(e.to_string()))?;
            participant.credentials.push(IssuedCredential {
                id: credential_id,
                credential_type: kind.type_name().to_owned(),
                status_list: REVOCATION_LIST.to_owned(),
                status_index: index,
                valid_until,
                revoked: false,
                jwt,
            });
        }
        self.store
            .insert_document(
                PARTICIPANTS,
                &participant.id,
                Some(&participant.did),
                &encode(&participant),
                ms(now),
            )
            .await?;
        self.audit(
            admin,
            "approve",
            id,
            json!({"did": participant.did, "securityProfile": participant.security_profile,
                   "credentials": participant.credentials.iter().map(|c| &c.id).collect::<Vec<_>>()}),
            now,
        )
        .await?;
        Ok(participant)
    }

    pub async fn reject(
        &self,
        id: &str,
        admin: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Application, OperatorError> {
        if reason.trim().is_empty() {
            return Err(OperatorError::Invalid(
                "a rejection states its reason".into(),
            ));
        }
        let application = self
            .decide(
                id,
                ApplicationStatus::Rejected {
                    decided_at: now,
                    decided_by: admin.to_owned(),
                    reason: reason.trim().to_owned(),
                },
                now,
            )
            .await?;
        self.audit(admin, "reject", id, json!({"reason": reason}), now)
            .await?;
        Ok(application)
    }

    /// Expels a participant: every credential it holds is revoked in the status list.
    pub async fn revoke_participant(
        &self,
        id: &str,
        admin: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Participant, OperatorError> {
        let document = self
            .store
            .document(PARTICIPANTS, id)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("participant {id}")))?;
        let version = document.version;
        let mut participant: Participant = decode(PARTICIPANTS, document)?;
        if participant.revoked_at.is_some() {
            return Err(OperatorError::Conflict(format!(
                "participant {id} was already revoked"
            )));
        }
        let indexes: Vec<u64> = participant
            .credentials
            .iter()
            .map(|c| c.status_index)
            .collect();
        self.mark_revoked(&indexes, now).await?;
        participant.revoked_at = Some(now);
        for credential in &mut participant.credentials {
            credential.revoked = true;
        }
        self.store
            .update_document(
                PARTICIPANTS,
                id,
                version,
                Some(&participant.did),
                &encode(&participant),
                ms(now),
            )
            .await?;
        self.audit(
            admin,
            "revoke",
            id,
            json!({"did": participant.did, "reason": reason}),
            now,
        )
        .await?;
        Ok(participant)
    }

    /// The public directory, optionally narrowed to a role and a case-insensitive part of
    /// the legal name.
    pub async fn directory(
        &self,
        role: Option<ChainRole>,
        name: Option<&str>,
    ) -> Result<Vec<DirectoryEntry>, OperatorError> {
        let name = name.map(str::to_lowercase);
        let mut entries = Vec::new();
        for document in self.store.documents(PARTICIPANTS, Page::ALL).await? {
            let participant: Participant = decode(PARTICIPANTS, document)?;
            if role.is_some_and(|role| !participant.roles.contains(&role)) {
                continue;
            }
            if name
                .as_deref()
                .is_some_and(|name| !participant.legal_name.to_lowercase().contains(name))
            {
                continue;
            }
            entries.push(participant.directory_entry());
        }
        Ok(entries)
    }

    pub async fn participant_by_did(&self, did: &str) -> Result<Participant, OperatorError> {
        let document = self
            .store
            .documents_by_lookup(PARTICIPANTS, did)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| OperatorError::NotFound(format!("participant {did}")))?;
        decode(PARTICIPANTS, document)
    }

    pub async fn participant(&self, id: &str) -> Result<Participant, OperatorError> {
        let document = self
            .store
            .document(PARTICIPANTS, id)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("participant {id}")))?;
        decode(PARTICIPANTS, document)
    }

    /// The signed status list credential of `list`, as verifiers fetch it.
    pub async fn status_list_credential(
        &self,
        list: &str,
        now: DateTime<Utc>,
    ) -> Result<String, OperatorError> {
        let document = self
            .store
            .document(STATUS_LISTS, list)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("status list {list}")))?;
        let state: StatusListState = decode(STATUS_LISTS, document)?;
        self.issuer
            .status_list_credential(list, &state.revoked, now)
            .map_err(|e| OperatorError::Issuance(e.to_string()))
    }

    pub async fn audit_trail(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<tsunagu_store::JournalEntry>, OperatorError> {
        Ok(self.store.journal(AUDIT, after, limit).await?)
    }

    async fn status_list(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(i64, StatusListState), OperatorError> {
        if let Some(document) = self.store.document(STATUS_LISTS, REVOCATION_LIST).await? {
            let version = document.version;
            return Ok((version, decode(STATUS_LISTS, document)?));
        }
        let fresh = StatusListState::default();
        match self
            .store
            .insert_document(
                STATUS_LISTS,
                REVOCATION_LIST,
                None,
                &encode(&fresh),
                ms(now),
            )
            .await
        {
            Ok(()) | Err(StoreError::Duplicate(_)) => {}
            Err(other) => return Err(other.into()),
        }
        let document = self
            .store
            .document(STATUS_LISTS, REVOCATION_LIST)
            .await?
            .ok_or_else(|| OperatorError::NotFound("status list".into()))?;
        let version = document.version;
        Ok((version, decode(STATUS_LISTS, document)?))
    }

    /// Takes the next free index of the revocation list. Concurrent approvals retry on the
    /// version check, so no index is handed out twice.
    async fn allocate_status_index(&self, now: DateTime<Utc>) -> Result<u64, OperatorError> {
        loop {
            let (version, mut state) = self.status_list(now).await?;
            let index = state.next_index;
            if index >= crate::credentials::STATUS_LIST_SIZE {
                return Err(OperatorError::Issuance(
                    "the revocation list is full".into(),
                ));
            }
            state.next_index += 1;
            match self
                .store
                .update_document(
                    STATUS_LISTS,
                    REVOCATION_LIST,
                    version,
                    None,
                    &encode(&state),
                    ms(now),
                )
                .await
            {
                Ok(_) => return Ok(index),
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
    }

    async fn mark_revoked(&self, indexes: &[u64], now: DateTime<Utc>) -> Result<(), OperatorError> {
        loop {
            let (version, mut state) = self.status_list(now).await?;
            state.revoked.extend_from_slice(indexes);
            state.revoked.sort_unstable();
            state.revoked.dedup();
            match self
                .store
                .update_document(
                    STATUS_LISTS,
                    REVOCATION_LIST,
                    version,
                    None,
                    &encode(&state),
                    ms(now),
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
    }
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusListState {
    next_index: u64,
    revoked: Vec<u64>,
}
