//! The one error type of the workflows.

use std::path::PathBuf;

use factory_core::{CoreError, NodeId, OtaToken};
use registry::RegistryError;
use sdkconfig::SdkConfigError;

/// A workflow that failed. [`code`](BenchError::code) is stable for front ends, and
/// [`is_invalid_input`](BenchError::is_invalid_input) separates input mistakes from other failures.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Registry(#[from] RegistryError),

    #[error(transparent)]
    SdkConfig(#[from] SdkConfigError),

    #[error(transparent)]
    Domain(#[from] CoreError),

    #[error(
        "the OTA token does not match registration {node_id}; use the token printed when it was minted, or rotate the token"
    )]
    TokenMismatch { node_id: NodeId },

    #[error(
        "registration {node_id} needs its OTA token; give the token printed when it was minted, or rotate the token to mint a new one"
    )]
    TokenRequired { node_id: NodeId },

    #[error(
        "registration {node_id} has no target chip and {path} has no CONFIG_IDF_TARGET; set the chip in the registration's metadata or run idf.py set-target in the project"
    )]
    NoTargetChip { node_id: NodeId, path: PathBuf },

    #[error("{path} is read-only; make it writable (chmod u+w) and try again")]
    ReadOnlyFile { path: PathBuf },

    #[error(
        "failed to move the firmware folder {from} to {to}: {source}; move its files there by hand, because the node now downloads from the new folder"
    )]
    FirmwareMoveFailed {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no sdkconfig file was given; name at least one file to patch")]
    NoConfigFiles,

    #[error("metadata file {path}: {reason}")]
    MetadataFile { path: PathBuf, reason: String },

    #[error("ESP-IDF's idf.py was not found (looked at {}); install ESP-IDF and run its export.sh before starting Node Factory, or set the ESP-IDF folder in the settings", searched.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "))]
    IdfNotFound { searched: Vec<PathBuf> },

    #[error("idf.py build failed (exit status {}); the last lines it printed:\n{last_lines}", status.map(|code| code.to_string()).unwrap_or_else(|| "none, killed by a signal".to_owned()))]
    BuildFailed { status: Option<i32>, last_lines: String },

    #[error("failed to {action} {path}: {source}; check that the folder is writable")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The firmware's flash plan is invalid; nothing was written to the board.
    #[error(transparent)]
    Plan(Box<flasher::FlashError>),

    /// Flashing failed after the firmware was built.
    #[error(transparent)]
    Flash(Box<crate::flash::FlashJobError>),

    /// A step failed after the registry had already changed. The new token, when there is
    /// one, travels with the error so the caller can show it: it exists nowhere else.
    /// `Display` leaves the token out, so logging this error leaks nothing.
    #[error("{source} (the registry change before it was kept: {committed})")]
    AfterRegistryChange { source: Box<BenchError>, committed: String, new_token: Option<OtaToken> },
}

impl BenchError {
    pub fn code(&self) -> &'static str {
        match self {
            BenchError::Plan(error) => error.code().as_str(),
            BenchError::Flash(error) => error.code(),
            BenchError::Registry(error) => error.code(),
            BenchError::SdkConfig(SdkConfigError::TargetMismatch { .. }) => "target_mismatch",
            BenchError::SdkConfig(SdkConfigError::Patch { reason, .. })
                if matches!(**reason, SdkConfigError::TargetMismatch { .. }) =>
            {
                "target_mismatch"
            }
            BenchError::SdkConfig(SdkConfigError::NotFound { .. }) => "file_not_found",
            BenchError::SdkConfig(_) => "sdkconfig_invalid",
            BenchError::Domain(_) => "invalid_input",
            BenchError::TokenMismatch { .. } => "token_mismatch",
            BenchError::TokenRequired { .. } => "token_required",
            BenchError::NoTargetChip { .. } => "no_target_chip",
            BenchError::NoConfigFiles => "invalid_input",
            BenchError::MetadataFile { .. } => "metadata_invalid",
            BenchError::Io { .. } => "io_failed",
            BenchError::ReadOnlyFile { .. } => "file_read_only",
            BenchError::FirmwareMoveFailed { .. } => "firmware_move_failed",
            BenchError::IdfNotFound { .. } => "idf_not_found",
            BenchError::BuildFailed { .. } => "build_failed",
            BenchError::AfterRegistryChange { source, .. } => source.code(),
        }
    }

    /// True when the user can fix the failure by changing what they supplied.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            BenchError::Registry(error) => {
                matches!(
                    error,
                    RegistryError::NotFound { .. }
                        | RegistryError::InvalidInput { .. }
                        | RegistryError::Domain(_)
                )
            }
            BenchError::SdkConfig(error) => !matches!(
                error,
                SdkConfigError::Read { .. }
                    | SdkConfigError::Write { .. }
                    | SdkConfigError::ChangedSinceRead { .. }
            ),
            BenchError::Io { .. }
            | BenchError::IdfNotFound { .. }
            | BenchError::BuildFailed { .. }
            | BenchError::FirmwareMoveFailed { .. } => false,
            BenchError::Flash(_) => false,
            BenchError::AfterRegistryChange { source, .. } => source.is_invalid_input(),
            _ => true,
        }
    }

    /// Returns the operator hint for this error's code, when one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            BenchError::Plan(error) => Some(error.hint()),
            BenchError::Flash(error) => error.hint(),
            BenchError::AfterRegistryChange { source, .. } => source.hint(),
            other => hint_for(other.code()),
        }
    }

    /// Returns the token minted before the failure, if any.
    pub fn recovered_token(&self) -> Option<&OtaToken> {
        match self {
            BenchError::AfterRegistryChange { new_token, .. } => new_token.as_ref(),
            _ => None,
        }
    }
}

/// Operator hints of the workflow codes; the flasher keeps the hints of its own codes.
fn hint_for(code: &str) -> Option<&'static str> {
    let hint = match code {
        "idf_not_found" => {
            "Install ESP-IDF, then either start Node Factory from a shell where ESP-IDF's export.sh has run, or set the ESP-IDF folder in Settings."
        }
        "build_failed" => "Read the build log on the card, fix the project or its sdkconfig, and try again.",
        "target_mismatch" => {
            "Run `idf.py set-target CHIP` in the project for the registration's chip, or pick a registration for the project's chip."
        }
        "token_mismatch" | "token_required" => {
            "Use the OTA token printed when the registration was minted, or rotate the token to mint a new one."
        }
        "registration_not_found" => "Check the node ID, or pick a registration from the list.",
        "no_target_chip" => "Give the registration a target chip, or set CONFIG_IDF_TARGET in the project.",
        "file_not_found" => "Check the path; a project gets its sdkconfig from `idf.py reconfigure`.",
        _ => return None,
    };
    Some(hint)
}
