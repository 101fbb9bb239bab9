//! Contracts from templates (issue "Provable history", report §5.1 ⑦): a provider makes the
//! contract policy of its offers from a template of `tsunagu-contracts`, which yields the ODRL
//! policy and the contract text bound to it by a terms reference. The connector keeps every
//! text it made or agreed to (`contracts.terms` documents, by the text's SHA-256), serves it to
//! the parties it names, and a consumer fetches and checks the text an agreement references
//! before it signs that agreement: each party then holds the text it signed for.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tsunagu_contracts::{Contract, Library, TermsReference, verify_text};
use tsunagu_core::PolicyDefinition;

use crate::management::NewPolicyDefinition;
use crate::{Connector, EngineError, VerifiedCaller, now_ms};

/// The contract texts this connector made or agreed to, by SHA-256 (hex).
pub const CONTRACT_TERMS: &str = "contracts.terms";

fn builtin() -> &'static Library {
    static BUILTIN: OnceLock<Library> = OnceLock::new();
    BUILTIN.get_or_init(|| Library::builtin().expect("the shipped templates load (tested)"))
}

impl Connector {
    /// The templates this connector offers: its own library if configured, else the shipped
    /// one.
    pub fn contract_library(&self) -> &Library {
        match &self.settings().contract_library {
            Some(library) => library,
            None => builtin(),
        }
    }

    /// Makes a contract from a template and stores its policy as a policy definition (to be
    /// used as the contract policy of contract definitions) and its text.
    pub async fn instantiate_contract(
        &self,
        template_id: &str,
        version: Option<&str>,
        parameters: &BTreeMap<String, String>,
        policy_id: Option<String>,
    ) -> Result<(PolicyDefinition, Contract), EngineError> {
        let library = self.contract_library();
        let template = match version {
            Some(version) => library.get(template_id, version),
            None => library.latest(template_id),
        }
        .ok_or(EngineError::NotFound)?;
        let contract = template
            .instantiate(parameters)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        self.keep_contract(&contract).await?;
        let definition = self
            .create_policy_definition(NewPolicyDefinition {
                id: policy_id,
                policy: contract.policy.clone(),
            })
            .await?;
        Ok((definition, contract))
    }

    async fn keep_contract(&self, contract: &Contract) -> Result<(), EngineError> {
        let sha256 = contract.terms.sha256_hex();
        let body = serde_json::to_value(contract)
            .map_err(|error| EngineError::Internal(format!("contract: {error}")))?;
        match self
            .store()
            .insert_document(CONTRACT_TERMS, &sha256, None, &body, now_ms())
            .await
        {
            // The same text (the id is its hash) was kept before.
            Ok(()) | Err(tsunagu_store::StoreError::Duplicate(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// A contract text this connector keeps, by its SHA-256 (hex).
    pub async fn contract_text(&self, sha256: &str) -> Result<Contract, EngineError> {
        let document = self
            .store()
            .document(CONTRACT_TERMS, sha256)
            .await?
            .ok_or(EngineError::NotFound)?;
        serde_json::from_value(document.body)
            .map_err(|error| EngineError::Internal(format!("stored contract: {error}")))
    }

    /// A contract text for a partner over DSP: only for the parties it names (its
    /// `provider_did` and `recipient_did` parameters); anyone else gets `NotFound`.
    pub async fn contract_text_for(
        &self,
        caller: &VerifiedCaller,
        sha256: &str,
    ) -> Result<Contract, EngineError> {
        let contract = self.contract_text(sha256).await?;
        let parameters = &contract.terms.parameters;
        let named = ["provider_did", "recipient_did"]
            .iter()
            .any(|key| parameters.get(*key).map(String::as_str) == Some(caller.participant_id()));
        if !named {
            return Err(EngineError::NotFound);
        }
        Ok(contract)
    }

    /// Consumer: makes sure this connector holds the text `reference` names, fetching it from
    /// the provider (at its DSP `address`) and checking it against the reference if need be.
    pub(crate) async fn obtain_contract_text(
        &self,
        reference: &str,
        provider: &str,
        address: &str,
    ) -> Result<(), EngineError> {
        let parsed = TermsReference::parse(reference).ok_or_else(|| {
            EngineError::BadRequest(format!("{reference:?} is not a terms reference"))
        })?;
        if let Ok(held) = self.contract_text(&parsed.sha256_hex).await
            && verify_text(&held.terms, reference)
        {
            return Ok(());
        }
        let own = self.own_identity();
        let refused = |detail: String| {
            EngineError::BadRequest(format!(
                "the contract text {reference} could not be obtained from the provider: {detail}"
            ))
        };
        let answer: Value = self
            .peer()
            .contract_text(&own, provider, address, &parsed.sha256_hex)
            .await
            .map_err(|error| refused(error.to_string()))?;
        let contract: Contract =
            serde_json::from_value(answer).map_err(|error| refused(error.to_string()))?;
        if !verify_text(&contract.terms, reference) {
            return Err(refused("the text does not match the reference".into()));
        }
        self.keep_contract(&contract).await
    }
}

/// The library a company configured, shared by clones of its settings.
pub type ContractLibrary = Arc<Library>;
