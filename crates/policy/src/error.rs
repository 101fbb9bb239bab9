//! Why a policy could not be read.

/// A policy document that cannot be turned into a [`crate::Policy`].
///
/// Every variant carries `path`, the place of the offending field written in the compact
/// spelling (for example `policy.permission[0].constraint[1].operator`), because the
/// people who read these messages fix JSON by hand and need to find the spot quickly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A value that must be a JSON object was something else.
    #[error("{path} must be a JSON object, but it is {found}")]
    NotAnObject { path: String, found: &'static str },

    /// The policy's `@type` is none of Set, Offer, Agreement or Policy.
    #[error("{path}: unknown policy type {value}; expected Set, Offer, Agreement or Policy")]
    UnknownPolicyType { path: String, value: String },

    /// A field that the rule or constraint cannot do without is absent (or null).
    #[error("{path}: required field \"{field}\" is missing")]
    MissingField { path: String, field: &'static str },

    /// A field is present but its value has the wrong shape.
    #[error("{path}: {reason}")]
    InvalidValue { path: String, reason: String },

    /// An atomic constraint names an operator outside ODRL's eq, neq, lt, lteq, gt, gteq,
    /// isA, isPartOf, isAllOf, isAnyOf and isNoneOf.
    #[error(
        "{path}: unknown operator {value}; expected one of eq, neq, lt, lteq, gt, gteq, isA, isPartOf, isAllOf, isAnyOf, isNoneOf"
    )]
    UnknownOperator { path: String, value: String },

    /// A long-form logical constraint (`{"operator": ..., "constraint": [...]}`) names an
    /// operator that is not a logical one.
    #[error("{path}: unknown logical operator {value}; expected and, or, xone or andSequence")]
    UnknownLogicalOperator { path: String, value: String },

    /// An object in a constraint list is neither atomic nor logical.
    #[error(
        "{path}: not a constraint: expected leftOperand/operator/rightOperand, or one of and, or, xone, andSequence"
    )]
    NotAConstraint { path: String },

    /// A logical constraint uses more than one of and, or, xone and andSequence at once,
    /// so its meaning would depend on which one we picked.
    #[error(
        "{path}: a logical constraint must use exactly one of and, or, xone, andSequence, but it uses {found}"
    )]
    AmbiguousLogicalConstraint { path: String, found: String },

    /// The policy uses an ODRL feature that this model cannot represent; ignoring it would
    /// silently widen what the policy allows.
    #[error("{path}: {feature} is not supported")]
    Unsupported { path: String, feature: &'static str },

    /// Constraints or duties are nested deeper than we are willing to follow.
    #[error("{path}: nested deeper than {max} levels")]
    TooDeep { path: String, max: usize },
}
