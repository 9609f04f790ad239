//! The one error type of every registry implementation.

use factory_core::{Chip, CoreError, DownloadId, NodeId};

/// A registry operation that failed. Each variant has a stable [`code`](RegistryError::code)
/// that front ends switch on, and a message that names the value and the next step.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no registration has node ID {node_id}; check the ID, or run `list` to see the registrations")]
    NotFound { node_id: NodeId },

    #[error("no registration has download ID {download_id}; the ID is mistyped or was rotated")]
    DownloadIdNotFound { download_id: DownloadId },

    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    #[error(transparent)]
    Domain(#[from] CoreError),

    #[error("{what} already exists: {detail}")]
    Conflict { what: String, detail: String },

    #[error("cannot use idempotency key {key:?}: {reason}")]
    IdempotencyKeyRefused { key: String, reason: String },

    #[error("no {chip} registration is available; mint a batch for {chip}, or wait for a lease to expire")]
    NoneAvailable { chip: Chip },

    #[error(
        "the lease on registration {node_id} is not held under this lease ID; it expired or was released, so reserve a registration again"
    )]
    LeaseNotHeld { node_id: NodeId },

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

    #[error(
        "registry file {path} does not exist; check the registry path, or mint registrations first to create it"
    )]
    FileMissing { path: String },

    #[error("cannot {action} {path}: {source}; check the folder's permissions and free disk space")]
    FileAccess {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "cannot move the firmware folder {from} to {to}: {detail}; the download ID was not rotated, so fix the firmware folder's permissions and rotate again"
    )]
    FirmwareMoveFailed { from: String, to: String, detail: String },

    #[error("registry data is corrupt: {detail}")]
    Corrupt { detail: String },

    #[error(
        "cannot reach the registry server at {url}: {detail}; check the URL, that the server is running, and that this computer can reach it"
    )]
    ServerUnreachable { url: String, detail: String },

    #[error("the registry server at {url} refused the operator token: {detail}")]
    NotAuthorised { url: String, detail: String },

    #[error("the registry server at {url} does not allow this: {detail}")]
    Forbidden { url: String, detail: String },

    #[error(
        "the registry server at {url} is turning away this computer after repeated failed sign-ins: {detail}; check that NODE_FACTORY_TOKEN holds a current operator token"
    )]
    TooManyAttempts { url: String, detail: String },

    #[error(
        "the registry server at {url} did not answer in time ({detail}); check that the server is running and not overloaded, then try again"
    )]
    ServerTimedOut { url: String, detail: String },

    #[error("the registry server rejected the request ({status} {code}): {message}")]
    Rejected { status: u16, code: String, message: String },

    #[error(
        "the registry server at {url} failed with status {status}{}; retry later, and give the server's administrator the request ID",
        request_id.as_deref().map(|id| format!(" (request ID {id})")).unwrap_or_default()
    )]
    ServerFailed { url: String, status: u16, request_id: Option<String> },

    #[error(
        "the registry server at {url} sent a response this client cannot read: {detail}; check that client and server are the same Node Factory version"
    )]
    BadResponse { url: String, detail: String },
}

impl RegistryError {
    /// A stable, machine-readable code for front ends and HTTP bodies.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::NotFound { .. } => "registration_not_found",
            RegistryError::DownloadIdNotFound { .. } => "download_id_not_found",
            RegistryError::InvalidInput { .. } | RegistryError::Domain(_) => "invalid_input",
            RegistryError::Conflict { .. } | RegistryError::IdempotencyKeyRefused { .. } => "conflict",
            RegistryError::NoneAvailable { .. } => "none_available",
            RegistryError::LeaseNotHeld { .. } => "lease_not_held",
            RegistryError::Database { .. } => "database_failed",
            RegistryError::SchemaTooNew { .. } => "schema_too_new",
            RegistryError::Corrupt { .. } => "data_corrupt",
            RegistryError::FirmwareMoveFailed { .. } => "firmware_move_failed",
            RegistryError::FileMissing { .. } => "registry_file_missing",
            RegistryError::FileAccess { .. } => "registry_file_access",
            RegistryError::ServerUnreachable { .. } => "server_unreachable",
            RegistryError::NotAuthorised { .. } => "not_authorised",
            RegistryError::Forbidden { .. } => "forbidden",
            RegistryError::TooManyAttempts { .. } => "too_many_attempts",
            RegistryError::ServerTimedOut { .. } => "server_timed_out",
            RegistryError::Rejected { .. } => "rejected",
            RegistryError::ServerFailed { .. } => "server_failed",
            RegistryError::BadResponse { .. } => "bad_response",
        }
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> RegistryError {
        RegistryError::InvalidInput { field: field.to_owned(), reason: reason.into() }
    }

    /// Whether the error is a SQLite unique-constraint violation, which the server reports
    /// as a conflict rather than a failure.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            RegistryError::Database { source: rusqlite::Error::SqliteFailure(failure, _), .. }
                if failure.code == rusqlite::ErrorCode::ConstraintViolation
                    && failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        )
    }
}
