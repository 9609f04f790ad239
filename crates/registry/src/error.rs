//! The one error type of every registry implementation.

use factory_core::{CoreError, NodeId};

/// A registry operation that failed. Each variant has a stable [`code`](RegistryError::code)
/// that front ends switch on, and a message that names the value and the next step.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no registration has node ID {node_id}; check the ID, or run `list` to see the registrations")]
    NotFound { node_id: NodeId },

    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    #[error(transparent)]
    Domain(#[from] CoreError),

    #[error("{what} already exists: {detail}")]
    Conflict { what: String, detail: String },

    #[error(
        "registry database {path} failed: {source}; check that the file is readable and writable and not on a full disk"
    )]
    Database {
        path: String,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "registry database {path} was written by a newer Node Factory (schema version {found}, this build knows {known}); update Node Factory"
    )]
    SchemaTooNew { path: String, found: i64, known: i64 },

    #[error("registry data is corrupt: {detail}")]
    Corrupt { detail: String },
}

impl RegistryError {
    /// A stable, machine-readable code for front ends and HTTP bodies.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::NotFound { .. } => "registration_not_found",
            RegistryError::InvalidInput { .. } | RegistryError::Domain(_) => "invalid_input",
            RegistryError::Conflict { .. } => "conflict",
            RegistryError::Database { .. } => "database_failed",
            RegistryError::SchemaTooNew { .. } => "schema_too_new",
            RegistryError::Corrupt { .. } => "data_corrupt",
        }
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> RegistryError {
        RegistryError::InvalidInput { field: field.to_owned(), reason: reason.into() }
    }
}
