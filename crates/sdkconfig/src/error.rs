//! The one error type of the sdkconfig crate.

use std::io;
use std::path::PathBuf;

use factory_core::{Chip, CoreError, NodeId};

/// A failure to read, patch or write an sdkconfig file.
///
/// Messages name the file, key or value involved and say what to do next. No variant carries
/// a string value or file contents, so the OTA token never reaches a message or `Debug` output.
#[derive(Debug, thiserror::Error)]
pub enum SdkConfigError {
    #[error(
        "sdkconfig {path} not found; check the project folder, or run idf.py reconfigure in the project to create it"
    )]
    NotFound { path: PathBuf },

    #[error("failed to read sdkconfig {path}: {source}; check that the file is readable")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "sdkconfig {path} is not valid UTF-8 (invalid byte at offset {offset}); save it as UTF-8 or regenerate it with idf.py reconfigure"
    )]
    NotUtf8 { path: PathBuf, offset: usize },

    #[error(
        "invalid value for {key}: the string contains the control character {character} at position {position}; remove it, because an sdkconfig string must stay on one line and has no escape for it"
    )]
    ControlCharacter { key: String, character: String, position: usize },

    #[error(
        "invalid value for {key}: {value:?} is not a hex number; write 0x followed by hex digits, such as 0x1F"
    )]
    InvalidHex { key: String, value: String },

    #[error(
        "sdkconfig targets {file_target} but registration {node_id} is for {registration_target}; run idf.py set-target {registration_target} in the project, or pick a registration for {file_target}"
    )]
    TargetMismatch { file_target: String, node_id: NodeId, registration_target: Chip },

    #[error(
        "registration {node_id} has unusable hardware metadata: {reason}; fix the metadata in the registry"
    )]
    InvalidMetadata { node_id: NodeId, reason: CoreError },

    /// Wraps an error found while patching the contents of a file, to name that file.
    #[error("failed to patch {path}: {reason}")]
    Patch { path: PathBuf, reason: Box<SdkConfigError> },

    #[error("sdkconfig {path} changed after the patch was prepared; prepare the patch again")]
    ChangedSinceRead { path: PathBuf },

    #[error("failed to write {path}: {source}; check that the folder exists and is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
