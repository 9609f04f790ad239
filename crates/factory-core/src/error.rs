//! The one error type for domain validation.

/// A value that breaks a domain rule. Each message names the value and says what a valid one
/// looks like, because these errors reach operators directly.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("invalid node ID {value:?}: expected 16 lowercase letters and digits")]
    InvalidNodeId { value: String },

    #[error("invalid download ID {value:?}: expected a UUID v4 as 32 lowercase hex digits")]
    InvalidDownloadId { value: String },

    #[error("invalid target chip {value:?}: expected esp32, esp32c3 or esp32s3")]
    InvalidChip { value: String },

    #[error("invalid OTA token: expected the {prefix} prefix followed by 43 URL-safe characters")]
    InvalidOtaToken { prefix: &'static str },

    #[error("invalid token hash {value:?}: expected 64 lowercase hex digits (a SHA-256 digest)")]
    InvalidTokenHash { value: String },

    #[error("invalid hardware metadata: {reason}")]
    InvalidMetadata { reason: String },

    #[error("invalid sdkconfig key {key:?}: expected CONFIG_ followed by A-Z, 0-9 or _")]
    InvalidConfigKey { key: String },

    #[error("invalid value for {key}: {reason}")]
    InvalidConfigValue { key: String, reason: String },

    #[error("invalid {field}: {reason}")]
    InvalidAssignment { field: &'static str, reason: String },

    #[error("invalid public URL {value:?}: {reason}")]
    InvalidPublicUrl { value: String, reason: String },
}
