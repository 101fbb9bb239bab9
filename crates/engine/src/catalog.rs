use serde_json::Value;
use tsunagu_core::{Asset, ContractDefinition, OfferId};
use tsunagu_policy::{Decision, EvaluationContext, Policy};
use tsunagu_store::Page;

use crate::{Connector, EngineError, VerifiedCaller, new_id};

/// One dataset of the catalog as a caller may see it.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub asset: Asset,
    pub offers: Vec<CatalogOffer>,
}

#[derive(Debug, Clone)]
pub struct CatalogOffer {
    pub id: OfferId,
    /// The contract policy in compact ODRL JSON (without `@id`, `@type`; the edge adds them).
    pub policy: Value,
}

/// A catalog request after the edge has parsed it.
#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    /// Criteria in EDC's form, `{"operandLeft", "operator", "operandRight"}`; all must hold.
    pub filter: Vec<Value>,
    pub offset: u32,
    pub limit: u32,
}

/// A filter criterion tsunagu understands.
#[derive(Debug, Clone)]
struct Criterion {
    left: String,
    operator: FilterOperator,
    right: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum FilterOperator {
    Equals,
    In,
    Like,
}

fn parse_criterion(value: &Value) -> Result<Criterion, EngineError> {
    let unsupported = || {
        EngineError::BadRequest(format!(
            "unsupported filter {value}: tsunagu understands objects {{\"operandLeft\": <\"id\" or an asset property>, \"operator\": \"=\" | \"in\" | \"like\", \"operandRight\": <string or array of strings>}}"
        ))
    };
    let object = value.as_object().ok_or_else(unsupported)?;
    let left = object
        .get("operandLeft")
        .and_then(Value::as_str)
        .ok_or_else(unsupported)?;
    let operator = match object.get("operator").and_then(Value::as_str) {
        Some("=") => FilterOperator::Equals,
        Some("in") => FilterOperator::In,
        Some("like") => FilterOperator::Like,
        _ => return Err(unsupported()),
    };
    let right = match object.get("operandRight") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(unsupported))
            .collect::<Result<_, _>>()?,
        _ => return Err(unsupported()),
    };
    if object.keys().any(|key| {
        !matches!(
            key.as_str(),
            "operandLeft" | "operator" | "operandRight" | "@type"
        )
    }) {
        return Err(unsupported());
    }
    Ok(Criterion {
        left: left.to_owned(),
        operator,
        right,
    })
}

/// The value an asset has for a filter's left operand: its id, or a property given by its key
/// with or without the EDC namespace.
fn asset_field<'a>(asset: &'a Asset, left: &str) -> Option<&'a str> {
    const EDC: &str = "https://w3id.org/edc/v0.0.1/ns/";
    let key = left.strip_prefix(EDC).unwrap_or(left);
    let key = key.strip_prefix("edc:").unwrap_or(key);
    if matches!(key, "id" | "@id") {
        return Some(&asset.id);
    }
    asset
        .properties
        .get(key)
        .or_else(|| asset.properties.get(&format!("{EDC}{key}")))
        .and_then(Value::as_str)
}

fn like(pattern: &str, text: &str) -> bool {
    // SQL LIKE with `%` as the only wildcard: every literal part must appear in order.
    let parts: Vec<&str> = pattern.split('%').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            match rest.strip_prefix(part) {
                Some(tail) => rest = tail,
                None => return false,
            }
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn matches(criteria: &[Criterion], asset: &Asset) -> bool {
    criteria.iter().all(|criterion| {
        let Some(value) = asset_field(asset, &criterion.left) else {
            return false;
        };
        match criterion.operator {
            FilterOperator::Equals | FilterOperator::In => {
                criterion.right.iter().any(|right| right == value)
            }
            FilterOperator::Like => criterion.right.iter().any(|pattern| like(pattern, value)),
        }
    })
}

impl Connector {
    /// The evaluation context for a caller at this moment, before any agreement exists.
    pub(crate) fn context_for(&self, caller: &VerifiedCaller) -> EvaluationContext {
        EvaluationContext {
            now: chrono::Utc::now(),
            action: "use".to_owned(),
            counter_party_id: caller.participant_id().to_owned(),
            counter_party_attributes: caller.attributes().clone(),
            purpose: None,
            agreement_signed_at: None,
            use_count: None,
        }
    }

    /// Whether the connector-wide admission policy lets this caller deal with us at all.
    pub(crate) fn admits(&self, caller: &VerifiedCaller) -> bool {
        let Some(admission) = &self.settings().admission else {
            return true;
        };
        match admission.evaluate(&self.context_for(caller)) {
            Decision::Permit { .. } => true,
            Decision::Deny { reasons } => {
                tracing::info!(
                    caller = caller.participant_id(),
                    ?reasons,
                    "admission policy refuses caller"
                );
                false
            }
        }
    }

    pub(crate) async fn load_policy(&self, id: &str) -> Result<Option<Policy>, EngineError> {
        let Some(definition) = self.store().policy_definition(id).await? else {
            return Ok(None);
        };
        match Policy::from_json(&definition.policy) {
            Ok(policy) => Ok(Some(policy)),
            Err(error) => {
                tracing::error!(policy = id, %error, "stored policy cannot be read; treated as denying");
                Ok(None)
            }
        }
    }

    /// The contract definitions whose access policy admits this caller, with their contract
    /// policies. A definition whose policies are missing or unreadable admits nobody.
    async fn visible_definitions(
        &self,
        caller: &VerifiedCaller,
    ) -> Result<Vec<(ContractDefinition, Policy)>, EngineError> {
        if !self.admits(caller) {
            return Ok(Vec::new());
        }
        let context = self.context_for(caller);
        let mut visible = Vec::new();
        for definition in self.store().contract_definitions(Page::ALL).await? {
            let Some(access) = self.load_policy(&definition.access_policy_id).await? else {
                continue;
            };
            if let Decision::Deny { reasons } = access.evaluate(&context) {
                tracing::debug!(definition = %definition.id, caller = caller.participant_id(), ?reasons, "access policy hides definition");
                continue;
            }
            let Some(contract) = self.load_policy(&definition.contract_policy_id).await? else {
                continue;
            };
            visible.push((definition, contract));
        }
        Ok(visible)
    }

    fn entry_for(
        asset: Asset,
        definitions: &[(ContractDefinition, Policy)],
    ) -> Option<CatalogEntry> {
        let offers: Vec<CatalogOffer> = definitions
            .iter()
            .filter(|(definition, _)| definition.assets.selects(&asset.id))
            .map(|(definition, policy)| CatalogOffer {
                id: OfferId {
                    contract_definition_id: definition.id.clone(),
                    asset_id: asset.id.clone(),
                    nonce: new_id(),
                },
                policy: offer_rules(policy),
            })
            .collect();
        if offers.is_empty() {
            return None;
        }
        Some(CatalogEntry { asset, offers })
    }

    /// The datasets this caller may see, filtered and paginated. Returns the page and whether
    /// more follow.
    pub async fn catalog(
        &self,
        caller: &VerifiedCaller,
        query: &CatalogQuery,
    ) -> Result<(Vec<CatalogEntry>, bool), EngineError> {
        let criteria: Vec<Criterion> = query
            .filter
            .iter()
            .map(parse_criterion)
            .collect::<Result<_, _>>()?;
        let definitions = self.visible_definitions(caller).await?;
        let mut entries = Vec::new();
        let mut skipped = 0;
        let mut more = false;
        for asset in self.store().assets(Page::ALL).await? {
            if !matches(&criteria, &asset) {
                continue;
            }
            let Some(entry) = Self::entry_for(asset, &definitions) else {
                continue;
            };
            if skipped < query.offset {
                skipped += 1;
                continue;
            }
            if entries.len() as u32 >= query.limit {
                more = true;
                break;
            }
            entries.push(entry);
        }
        Ok((entries, more))
    }

    /// One dataset, if this caller may see it.
    pub async fn dataset(
        &self,
        caller: &VerifiedCaller,
        id: &str,
    ) -> Result<CatalogEntry, EngineError> {
        let asset = self.store().asset(id).await?.ok_or(EngineError::NotFound)?;
        let definitions = self.visible_definitions(caller).await?;
        Self::entry_for(asset, &definitions).ok_or(EngineError::NotFound)
    }

    /// Resolves an offer id a consumer quotes back to the terms it stands for, checking that
    /// this caller may see it. Unknown and invisible offers look the same to the caller.
    pub(crate) async fn resolve_offer(
        &self,
        caller: &VerifiedCaller,
        offer_id: &str,
    ) -> Result<(OfferId, Policy), EngineError> {
        let unknown =
            || EngineError::BadRequest(format!("offer {offer_id} is not known to this provider"));
        if !self.admits(caller) {
            return Err(unknown());
        }
        let offer = OfferId::decode(offer_id).ok_or_else(unknown)?;
        let definition = self
            .store()
            .contract_definition(&offer.contract_definition_id)
            .await?
            .ok_or_else(unknown)?;
        if !definition.assets.selects(&offer.asset_id)
            || self.store().asset(&offer.asset_id).await?.is_none()
        {
            return Err(unknown());
        }
        let access = self
            .load_policy(&definition.access_policy_id)
            .await?
            .ok_or_else(unknown)?;
        if !access.evaluate(&self.context_for(caller)).is_permit() {
            return Err(unknown());
        }
        let contract = self
            .load_policy(&definition.contract_policy_id)
            .await?
            .ok_or_else(unknown)?;
        Ok((offer, contract))
    }
}

/// The rules of a policy as an offer carries them: the policy's JSON without identity fields,
/// which the offer supplies.
pub(crate) fn offer_rules(policy: &Policy) -> Value {
    let mut json = policy.to_json();
    if let Some(object) = json.as_object_mut() {
        for key in ["@id", "@type", "target", "assigner", "assignee", "@context"] {
            object.remove(key);
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("cathode%", "cathode-batch-7"));
        assert!(like("%batch%", "cathode-batch-7"));
        assert!(like("%-7", "cathode-batch-7"));
        assert!(!like("anode%", "cathode-batch-7"));
        assert!(like("exact", "exact"));
        assert!(!like("exact", "exactly"));
    }
}
