//! Domain types and rules of Node Factory: chips, identifiers, OTA tokens, registrations and
//! hardware metadata. This crate does no I/O; every other crate builds on it.

mod chip;
mod error;
mod ids;
mod metadata;
mod registration;
mod secret;
mod text;
mod urls;

pub use chip::Chip;
pub use error::CoreError;
pub use ids::{DownloadId, NodeId};
pub use metadata::{ConfigKey, ConfigValue, HardwareMetadata, MAX_METADATA_BYTES, Strip};
pub use registration::{Assignment, MAX_HOUSE_SLUG_LENGTH, Registration, RegistrationStatus};
pub use secret::{OPERATOR_TOKEN_PREFIX, OTA_TOKEN_PREFIX, OperatorToken, OtaToken, TokenHash};
pub use text::{MAX_ECHOED_CHARS, truncate_for_message};
pub use urls::{DEFAULT_PUBLIC_URL, firmware_folder, manifest_url, validate_public_url};
