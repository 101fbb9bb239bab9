//! What the operator keeps: applications to join the scheme and the participants it admitted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::registration::RegistrationNumber;

/// A company's place in the battery chain (report §3.1). The names are the values of the
/// `roles` of a `BatteryChainRoleCredential` and of the `role` attribute that connection
/// policies test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChainRole {
    MaterialMaker,
    CellMaker,
    /// Pack maker or car OEM.
    PackMaker,
    CarUser,
    ReuseOperator,
    Recycler,
    Dismantler,
    Authority,
    NotifiedBody,
}

impl ChainRole {
    pub const ALL: [ChainRole; 9] = [
        ChainRole::MaterialMaker,
        ChainRole::CellMaker,
        ChainRole::PackMaker,
        ChainRole::CarUser,
        ChainRole::ReuseOperator,
        ChainRole::Recycler,
        ChainRole::Dismantler,
        ChainRole::Authority,
        ChainRole::NotifiedBody,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChainRole::MaterialMaker => "materialMaker",
            ChainRole::CellMaker => "cellMaker",
            ChainRole::PackMaker => "packMaker",
            ChainRole::CarUser => "carUser",
            ChainRole::ReuseOperator => "reuseOperator",
            ChainRole::Recycler => "recycler",
            ChainRole::Dismantler => "dismantler",
            ChainRole::Authority => "authority",
            ChainRole::NotifiedBody => "notifiedBody",
        }
    }

    pub fn parse(text: &str) -> Option<ChainRole> {
        ChainRole::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// A postal address; `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub street: String,
    pub locality: String,
    #[serde(default)]
    pub postal_code: String,
    pub country: String,
}

/// What a company sends to join the scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationForm {
    pub legal_name: String,
    pub registration_number: RegistrationNumber,
    pub legal_address: Address,
    /// Defaults to the legal address's country.
    #[serde(default)]
    pub headquarters_country: Option<String>,
    pub roles: Vec<ChainRole>,
    /// The DID the company's connector answers for.
    pub did: String,
    /// Where partners reach its connector (the DSP base URL).
    pub dsp_url: String,
    /// A contact e-mail for the operator's staff; never published.
    #[serde(default)]
    pub contact_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum ApplicationStatus {
    Pending,
    Approved {
        decided_at: DateTime<Utc>,
        decided_by: String,
    },
    Rejected {
        decided_at: DateTime<Utc>,
        decided_by: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub form: ApplicationForm,
    pub submitted_at: DateTime<Utc>,
    #[serde(flatten)]
    pub status: ApplicationStatus,
}

/// A credential the operator issued, as the operator remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCredential {
    pub id: String,
    pub credential_type: String,
    pub status_list: String,
    pub status_index: u64,
    pub valid_until: DateTime<Utc>,
    pub revoked: bool,
    /// The `vc+jwt` itself, handed to the holder on request.
    pub jwt: String,
}

/// An admitted company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    pub did: String,
    pub legal_name: String,
    pub registration_number: RegistrationNumber,
    pub legal_address: Address,
    pub headquarters_country: String,
    pub roles: Vec<ChainRole>,
    pub dsp_url: String,
    pub security_profile: String,
    pub admitted_at: DateTime<Utc>,
    /// Set when the operator expels the company; every credential is then revoked.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    pub credentials: Vec<IssuedCredential>,
    #[serde(default)]
    pub contact_email: Option<String>,
}

/// What the public directory shows of a participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryEntry {
    pub id: String,
    pub did: String,
    pub legal_name: String,
    pub roles: Vec<ChainRole>,
    pub dsp_url: String,
    pub security_profile: String,
    pub active: bool,
    /// The Gaia-X style self-description (`gx:LegalPerson`) the operator attested.
    pub self_description: serde_json::Value,
}

impl Participant {
    pub fn self_description(&self) -> serde_json::Value {
        let registration_key = match self.registration_number.kind {
            crate::registration::RegistrationKind::Lei => "gx:leiCode",
            crate::registration::RegistrationKind::Vat => "gx:vatID",
            crate::registration::RegistrationKind::Eori => "gx:EORI",
            crate::registration::RegistrationKind::CorporateNumberJp => "gx:local",
        };
        serde_json::json!({
            "id": self.did,
            "type": "gx:LegalPerson",
            "gx:legalName": self.legal_name,
            "gx:registrationNumber": {
                "type": "gx:RegistrationNumber",
                registration_key: self.registration_number.value,
                "tsunagu:registrationKind": self.registration_number.kind.to_string(),
            },
            "gx:headquarterAddress": { "gx:countryCode": self.headquarters_country },
            "gx:legalAddress": {
                "gx:countryCode": self.legal_address.country,
                "gx:locality": self.legal_address.locality,
                "gx:streetAddress": self.legal_address.street,
                "gx:postalCode": self.legal_address.postal_code,
            },
        })
    }

    pub fn directory_entry(&self) -> DirectoryEntry {
        DirectoryEntry {
            id: self.id.clone(),
            did: self.did.clone(),
            legal_name: self.legal_name.clone(),
            roles: self.roles.clone(),
            dsp_url: self.dsp_url.clone(),
            security_profile: self.security_profile.clone(),
            active: self.revoked_at.is_none(),
            self_description: self.self_description(),
        }
    }
}
