//! The error every command returns: a stable code, a message and an operator hint.

use bench::BenchError;
use registry::RegistryError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An error as the front end receives it. The UI switches on `code`, never on `message`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommandError {
    pub code: String,
    pub message: String,
    /// The operator's next step, from the crate that failed or from [`hint_for`], when one is known.
    pub hint: Option<String>,
    /// A token the failed operation minted before it failed. It exists nowhere else, so the
    /// UI shows it once like any new token.
    pub recovered_token: Option<String>,
}

impl std::fmt::Debug for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandError")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("recovered_token", &self.recovered_token.as_ref().map(|_| "…redacted"))
            .finish()
    }
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> CommandError {
        CommandError {
            code: code.to_owned(),
            message: message.into(),
            hint: hint_for(code).map(str::to_owned),
            recovered_token: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> CommandError {
        CommandError::new("invalid_input", message)
    }
}

/// Returns the operator hint for one of the app's own error codes. Messages already name the
/// value that failed, and a hint names the next step at the bench. The flasher and bench crates
/// supply the hints of their own codes.
pub fn hint_for(code: &str) -> Option<&'static str> {
    let hint = match code {
        "registration_not_found" => {
            "Search the Registrations screen for the node ID, or mint new registrations."
        }
        "database_failed" => "Check the registry file in Settings: it must be on a writable, non-full disk.",
        "schema_too_new" => "Install the newest Node Factory, or point Settings at another registry file.",
        "remote_registry_unavailable" => "Use an embedded registry file in Settings for now.",
        "settings_write_failed" => "Check that the app's config folder is writable.",
        "file_not_found" => {
            "Pick the project folder that contains sdkconfig, or run idf.py reconfigure in it."
        }
        "target_mismatch" => {
            "Run idf.py set-target for the registration's chip in the project, or pick a registration for the project's chip."
        }
        "token_mismatch" => {
            "Paste the token from the export row of this node ID, or choose to rotate the token."
        }
        "no_target_chip" => "Run idf.py set-target in the project, or mint registrations with a target chip.",
        "token_required" => "Paste the OTA token from the export file, or choose to rotate the token.",
        "simulator_failed" => "Check that the system has free pseudo-terminals (/dev/ptmx).",
        _ => return None,
    };
    Some(hint)
}

impl From<RegistryError> for CommandError {
    fn from(error: RegistryError) -> CommandError {
        CommandError::new(error.code(), error.to_string())
    }
}

impl From<BenchError> for CommandError {
    fn from(error: BenchError) -> CommandError {
        let mut converted = CommandError::new(error.code(), error.to_string());
        if let Some(hint) = error.hint() {
            converted.hint = Some(hint.to_owned());
        }
        converted.recovered_token = error.recovered_token().map(|token| token.expose_secret().to_owned());
        converted
    }
}

impl From<factory_core::CoreError> for CommandError {
    fn from(error: factory_core::CoreError) -> CommandError {
        CommandError::invalid(error.to_string())
    }
}

/// A blocking task that panicked or was cancelled. Only reached through a bug.
impl From<tauri::Error> for CommandError {
    fn from(error: tauri::Error) -> CommandError {
        CommandError::new("internal", error.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_table_covers_operator_codes() {
        for code in ["registration_not_found", "token_mismatch", "target_mismatch", "settings_write_failed"] {
            assert!(hint_for(code).is_some(), "{code}");
        }
        assert_eq!(hint_for("no_such_code"), None);
    }

    #[test]
    fn registry_error_keeps_code() {
        let node_id = factory_core::NodeId::generate();
        let error = CommandError::from(RegistryError::NotFound { node_id: node_id.clone() });
        assert_eq!(error.code, "registration_not_found");
        assert!(error.message.contains(node_id.as_str()));
        assert!(error.hint.is_some());
    }
}
