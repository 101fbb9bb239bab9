//! What can go wrong when templates are loaded and when they are instantiated.

use std::path::PathBuf;

/// A template (or the shared clause file) that cannot be loaded. Every variant names the
/// file and the place inside it, because the people who read these fix TOML by hand.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{file}: not a valid template file: {message}")]
    Syntax { file: String, message: String },

    /// A title, label, clause or sentence lacks English or Japanese (or adds another language).
    #[error("{file}: {field}: incomplete languages: {reason}")]
    IncompleteLanguages {
        file: String,
        field: String,
        reason: String,
    },

    /// A template lists a clause id that neither it nor the shared clauses define, or a
    /// clause refers to an article that the template does not include.
    #[error("{file}: {place}: unknown clause {clause:?}")]
    UnknownClause {
        file: String,
        place: String,
        clause: String,
    },

    /// A placeholder names a parameter the template does not declare.
    #[error(
        "{file}: clause {clause:?} ({language}): placeholder {{{{{placeholder}}}}} names undeclared parameter {parameter:?}"
    )]
    UndeclaredParameter {
        file: String,
        clause: String,
        language: &'static str,
        placeholder: String,
        parameter: String,
    },

    /// A placeholder that is not well formed, or asks something its parameter cannot give.
    #[error("{file}: clause {clause:?} ({language}): {reason}")]
    BadPlaceholder {
        file: String,
        clause: String,
        language: &'static str,
        reason: String,
    },

    /// A parameter declaration that makes no sense: an unknown type, bounds the wrong way
    /// round, a default its own checks refuse.
    #[error("{file}: parameter {parameter:?}: {reason}")]
    InvalidParameter {
        file: String,
        parameter: String,
        reason: String,
    },

    /// The `[policy]` section refers to a parameter that is absent or of the wrong type.
    #[error("{file}: [policy]: {reason}")]
    InvalidPolicy { file: String, reason: String },

    /// An id, version or clause id that breaks the naming rules, or a name used twice.
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },

    /// Two files define the same template id and version.
    #[error("template {id}@{version} is defined twice ({first} and {second})")]
    Duplicate {
        id: String,
        version: String,
        first: String,
        second: String,
    },
}

/// A parameter value refused at instantiation. Every variant names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    #[error("unknown parameter {name:?}; this template declares {declared}")]
    Unknown { name: String, declared: String },

    #[error("parameter {name:?} is required and has no default")]
    Missing { name: String },

    #[error("parameter {name:?} must be {expected}, but {value:?} is not")]
    WrongType {
        name: String,
        expected: &'static str,
        value: String,
    },

    #[error("parameter {name:?}: {value:?} is out of range: {reason}")]
    OutOfRange {
        name: String,
        value: String,
        reason: String,
    },

    #[error("parameter {name:?}: {value:?} is not one of the allowed values {allowed}")]
    NotAllowed {
        name: String,
        value: String,
        allowed: String,
    },
}

/// Why no contract was produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantiateError {
    #[error(transparent)]
    Parameter(#[from] ParameterError),

    /// The derived policy was refused by the policy crate. Loading checks every template's
    /// policy section, so this points at a bug here, not at the caller's input.
    #[error("the derived ODRL policy does not parse: {0}")]
    Policy(#[from] tsunagu_policy::PolicyError),
}
