//! Agreements signed by both parties (issue "Provable history", contract templates): the
//! provider signs the agreement it sends, the consumer checks that signature and signs in
//! turn in its verification message, and the provider checks the consumer's before it
//! finalises. Each signature is a compact JWS by the party's DID key over a small statement
//! (the agreement id, the SHA-256 of the agreement's canonical JSON, both parties, the signer's
//! role and the contract terms it references), so either party can later prove to a third
//! party what the other agreed to.
//!
//! DSP 2025-1 has no place for signatures; they travel as one extension property on the
//! `ContractAgreementMessage` and the `ContractAgreementVerificationMessage`
//! ([`AGREEMENT_SIGNATURE`]), which other connectors ignore. So that tsunagu still deals with
//! connectors that do not sign, a missing signature is accepted unless the agreement is under
//! contract terms (a policy that names a template's terms with a `contractTerms` constraint):
//! such an agreement is not finalised until both parties have signed. A signature that is
//! present is always checked.

use async_trait::async_trait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tsunagu_core::Agreement;

use crate::EngineError;

/// The extension property that carries a party's agreement signature in DSP messages.
pub const AGREEMENT_SIGNATURE: &str = "https://w3id.org/tsunagu/ns/agreementSignature";

/// The response header in which a provider's data plane sends its signature of the bytes.
pub const DATA_SIGNATURE_HEADER: &str = "Tsunagu-Data-Signature";

/// Signs with this connector's key and checks partners' signatures against their DIDs.
#[async_trait]
pub trait AgreementSigner: Send + Sync + 'static {
    /// A compact JWS over `payload` by this connector's active key.
    fn sign(&self, payload: &Value) -> Result<String, String>;
    /// Checks that `signer` (a participant id) made `jws`; returns its payload.
    async fn verify(&self, signer: &str, jws: &str) -> Result<Value, String>;
}

/// Which party signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    Provider,
    Consumer,
}

impl Party {
    fn as_str(self) -> &'static str {
        match self {
            Party::Provider => "provider",
            Party::Consumer => "consumer",
        }
    }
}

/// The SHA-256 (hex) of the agreement's canonical JSON: keys sorted, no whitespace.
pub fn agreement_digest(policy: &Value) -> String {
    // serde_json's map keeps keys sorted, so its compact encoding is canonical for our
    // purposes (numbers in agreements are written as the parties sent them).
    let bytes = serde_json::to_vec(policy).expect("JSON values serialize");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The contract terms an agreement or offer references, if any.
pub use tsunagu_contracts::terms_reference as contract_terms;

/// The statement a party signs.
pub(crate) fn statement(agreement: &Agreement, party: Party) -> Value {
    json!({
        "agreementId": agreement.id,
        "agreementSha256": agreement_digest(&agreement.policy),
        "provider": agreement.provider_id,
        "consumer": agreement.consumer_id,
        "role": party.as_str(),
        "signer": match party {
            Party::Provider => &agreement.provider_id,
            Party::Consumer => &agreement.consumer_id,
        },
        "contractTerms": contract_terms(&agreement.policy),
    })
}

/// The statement a provider signs about bytes it serves under a transfer.
pub(crate) fn delivery_statement(
    transfer: &tsunagu_core::Transfer,
    provider: &str,
    consumer: &str,
    sha256: &str,
    bytes: u64,
) -> Value {
    json!({
        "type": "dataDelivery",
        "agreementId": transfer.agreement_id,
        "providerPid": transfer.provider_pid,
        "consumerPid": transfer.consumer_pid,
        "asset": transfer.dataset_id,
        "provider": provider,
        "consumer": consumer,
        "sha256": sha256,
        "bytes": bytes,
    })
}

impl crate::Connector {
    /// The provider's signature of the bytes it is about to serve under `transfer`, if it
    /// signs at all.
    pub(crate) fn sign_delivery(
        &self,
        transfer: &tsunagu_core::Transfer,
        sha256: &str,
        bytes: u64,
    ) -> Result<Option<String>, EngineError> {
        let Some(signer) = self.agreement_signer() else {
            return Ok(None);
        };
        let statement = delivery_statement(
            transfer,
            self.participant_id(),
            &transfer.counter_party_id,
            sha256,
            bytes,
        );
        signer
            .sign(&statement)
            .map(Some)
            .map_err(|error| EngineError::Internal(format!("cannot sign the data: {error}")))
    }

    /// Consumer: checks the provider's signature of the bytes of `transfer` (which must be
    /// about this transfer, its agreement and both parties); returns it with the SHA-256 and
    /// length the bytes must have. A connector that cannot check signatures (no DIDs) keeps
    /// none.
    pub(crate) async fn check_delivery_signature(
        &self,
        transfer: &tsunagu_core::Transfer,
        jws: String,
    ) -> Result<Option<(String, [u8; 32], u64)>, EngineError> {
        let Some(signer) = self.agreement_signer() else {
            return Ok(None);
        };
        let refused = |detail: String| {
            EngineError::Peer(crate::PeerError::InvalidAnswer(format!(
                "the provider's data signature {detail}"
            )))
        };
        let payload = signer
            .verify(&transfer.counter_party_id, &jws)
            .await
            .map_err(|error| refused(format!("does not verify: {error}")))?;
        let sha256 = payload["sha256"].as_str().unwrap_or_default().to_owned();
        let bytes = payload["bytes"].as_u64().unwrap_or(u64::MAX);
        if payload
            != delivery_statement(
                transfer,
                &transfer.counter_party_id,
                self.participant_id(),
                &sha256,
                bytes,
            )
        {
            return Err(refused(
                "is about another transfer, agreement or party".into(),
            ));
        }
        let digest = tsunagu_ledger::Hash::from_hex(&sha256)
            .map_err(|error| refused(format!("states no SHA-256: {error}")))?;
        Ok(Some((jws, *digest.as_bytes(), bytes)))
    }

    /// Lets this connector sign agreements and check partners' signatures.
    pub fn set_agreement_signer(&self, signer: std::sync::Arc<dyn AgreementSigner>) {
        *self.inner.agreement_signer.write().expect("signer lock") = Some(signer);
    }

    fn agreement_signer(&self) -> Option<std::sync::Arc<dyn AgreementSigner>> {
        self.inner
            .agreement_signer
            .read()
            .expect("signer lock")
            .clone()
    }

    /// This connector's signature of `agreement` as `party`, if it signs at all.
    pub(crate) fn sign_agreement(
        &self,
        agreement: &Agreement,
        party: Party,
    ) -> Result<Option<String>, EngineError> {
        let Some(signer) = self.agreement_signer() else {
            return Ok(None);
        };
        signer
            .sign(&statement(agreement, party))
            .map(Some)
            .map_err(|error| EngineError::Internal(format!("cannot sign the agreement: {error}")))
    }

    /// Checks the counter-party's signature of `agreement` as `party`. Refuses an invalid
    /// signature, and a missing one when the agreement is under contract terms.
    pub(crate) async fn check_agreement_signature(
        &self,
        agreement: &Agreement,
        party: Party,
        signature: Option<&str>,
    ) -> Result<(), EngineError> {
        let signer_id = match party {
            Party::Provider => &agreement.provider_id,
            Party::Consumer => &agreement.consumer_id,
        };
        let Some(signature) = signature else {
            if let Some(terms) = contract_terms(&agreement.policy) {
                return Err(EngineError::BadRequest(format!(
                    "the agreement is under the contract terms {terms} and must be signed by the {} ({AGREEMENT_SIGNATURE})",
                    party.as_str()
                )));
            }
            return Ok(());
        };
        let Some(signer) = self.agreement_signer() else {
            // Without keys of our own we cannot learn partners' keys either (no DIDs).
            if contract_terms(&agreement.policy).is_some() {
                return Err(EngineError::BadRequest(
                    "this connector cannot check agreement signatures, so it cannot conclude agreements under contract terms".into(),
                ));
            }
            return Ok(());
        };
        let payload = signer.verify(signer_id, signature).await.map_err(|error| {
            EngineError::BadRequest(format!(
                "the {}'s agreement signature does not verify: {error}",
                party.as_str()
            ))
        })?;
        if payload != statement(agreement, party) {
            return Err(EngineError::BadRequest(format!(
                "the {}'s agreement signature is over another agreement or party",
                party.as_str()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_does_not_depend_on_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": 3, "y": 2}, "b": 1}"#).unwrap();
        assert_eq!(agreement_digest(&a), agreement_digest(&b));
        let c: Value = serde_json::from_str(r#"{"a": {"x": 3, "y": 2}, "b": 2}"#).unwrap();
        assert_ne!(agreement_digest(&a), agreement_digest(&c));
    }
}
