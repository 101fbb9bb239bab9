//! The credentials the operator issues, as `vc+jwt` (VC 2.0 secured with JOSE), each with a
//! revocation entry in the operator's Bitstring Status List.
//!
//! | type                         | `credentialSubject`                                     |
//! |------------------------------|---------------------------------------------------------|
//! | `MembershipCredential`       | `id`, `memberOf` (scheme name), `status: "active"`, `since` |
//! | `BatteryChainRoleCredential` | `id`, `roles` (e.g. `["cellMaker"]`)                    |
//! | `SecurityProfileCredential`  | `id`, `securityProfile` (the certified level)           |
//! | `LegalPersonCredential`      | the Gaia-X `gx:LegalPerson` self-description            |

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use tsunagu_trust::keys::KeyPair;
use tsunagu_trust::status_list::{StatusList, StatusListEntry, StatusPurpose};
use tsunagu_trust::vc::Credential;

use crate::model::Participant;

/// Bits in a status list: the W3C minimum, which hides which credential a verifier checks.
pub const STATUS_LIST_SIZE: u64 = 131_072;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Membership,
    Role,
    SecurityProfile,
    LegalPerson,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 4] = [
        CredentialKind::Membership,
        CredentialKind::Role,
        CredentialKind::SecurityProfile,
        CredentialKind::LegalPerson,
    ];

    pub fn type_name(self) -> &'static str {
        match self {
            CredentialKind::Membership => "MembershipCredential",
            CredentialKind::Role => "BatteryChainRoleCredential",
            CredentialKind::SecurityProfile => "SecurityProfileCredential",
            CredentialKind::LegalPerson => "LegalPersonCredential",
        }
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Signs credentials with the operator's key.
pub struct CredentialIssuer {
    did: String,
    key: KeyPair,
    /// Where verifiers fetch status lists: `{status_base_url}/{list}`.
    status_base_url: String,
    scheme_name: String,
}

impl CredentialIssuer {
    pub fn new(did: String, key: KeyPair, status_base_url: String, scheme_name: String) -> Self {
        CredentialIssuer {
            did,
            key,
            status_base_url: status_base_url.trim_end_matches('/').to_owned(),
            scheme_name,
        }
    }

    pub fn did(&self) -> &str {
        &self.did
    }

    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    pub fn status_list_url(&self, list: &str) -> String {
        format!("{}/{list}", self.status_base_url)
    }

    fn subject(&self, kind: CredentialKind, participant: &Participant) -> serde_json::Value {
        match kind {
            CredentialKind::Membership => json!({
                "id": participant.did,
                "memberOf": self.scheme_name,
                "status": "active",
                "since": timestamp(participant.admitted_at),
            }),
            CredentialKind::Role => json!({
                "id": participant.did,
                "roles": participant.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            }),
            CredentialKind::SecurityProfile => json!({
                "id": participant.did,
                "securityProfile": participant.security_profile,
            }),
            CredentialKind::LegalPerson => {
                // The Gaia-X `gx:LegalPerson` terms, plus the plain fields connection
                // policies test (`legalName`, `country`, `registrationNumber`,
                // `corporateNumber`).
                let mut subject = participant.self_description();
                subject["legalName"] = json!(participant.legal_name);
                subject["country"] = json!(participant.headquarters_country);
                subject["registrationNumber"] = json!(participant.registration_number.value);
                if participant.registration_number.kind
                    == crate::registration::RegistrationKind::CorporateNumberJp
                {
                    subject["corporateNumber"] = json!(participant.registration_number.value);
                }
                subject
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        kind: CredentialKind,
        credential_id: &str,
        participant: &Participant,
        status_list: &str,
        status_index: u64,
        now: DateTime<Utc>,
        valid_until: DateTime<Utc>,
    ) -> Result<String, tsunagu_trust::TrustError> {
        let mut credential = Credential::new(
            kind.type_name(),
            &self.did,
            now,
            self.subject(kind, participant),
        )
        .with_status(&StatusListEntry::new(
            &self.status_list_url(status_list),
            status_index as usize,
            StatusPurpose::Revocation,
        ));
        credential.id = Some(credential_id.to_owned());
        credential.valid_until = Some(valid_until);
        tsunagu_trust::vc::issue_vc_jwt(&credential, &self.key, &self.did)
    }

    /// The status list credential with the given bits set. It is short-lived so that
    /// verifiers refetch it: a revocation takes effect within its lifetime.
    pub fn status_list_credential(
        &self,
        list: &str,
        revoked: &[u64],
        now: DateTime<Utc>,
    ) -> Result<String, tsunagu_trust::TrustError> {
        let mut bits = StatusList::with_len(STATUS_LIST_SIZE as usize)?;
        for index in revoked {
            bits.set(*index as usize, true)?;
        }
        let credential = tsunagu_trust::status_list::status_list_credential(
            &self.status_list_url(list),
            &self.did,
            &bits,
            StatusPurpose::Revocation,
            now,
            Some(now + chrono::Duration::minutes(5)),
        );
        tsunagu_trust::vc::issue_vc_jwt(&credential, &self.key, &self.did)
    }
}
