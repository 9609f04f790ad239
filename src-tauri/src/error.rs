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

/// The operator hints of the app's own error codes. Messages already name the value that
/// failed, and a hint names the next step at the bench. The flasher and bench crates supply
/// the hints of their own codes.
pub const HINTS: &[(&str, &str)] = &[
    ("registration_not_found", "Search the Registrations screen for the node ID, or mint new registrations."),
    ("database_failed", "Check the registry file in Settings: it must be on a writable, non-full disk."),
    ("schema_too_new", "Install the newest Node Factory, or point Settings at another registry file."),
    ("registry_file_missing", "Check the registry file in Settings, or mint registrations to create it."),
    ("registry_file_access", "Check the permissions of the registry file's folder and the free disk space."),
    ("download_id_not_found", "The download ID is mistyped or was rotated; search by node ID instead."),
    (
        "server_unreachable",
        "Check the server URL in Settings, that the registry server is running, and that this computer reaches its network. The app checks again every 5 seconds.",
    ),
    (
        "server_timed_out",
        "The server is running but slow or overloaded: wait a moment and try again, or ask its administrator to check its load.",
    ),
    (
        "bad_certificate",
        "Choose the server's CA certificate file in Settings for a self-signed server, and check that the URL's host name is the one the certificate names.",
    ),
    (
        "not_authorised",
        "Paste a current operator token in Settings; an admin creates one with `node-factory operators add`.",
    ),
    ("forbidden", "Your operator role does not allow this; ask an admin for an operator whose role does."),
    (
        "too_many_attempts",
        "The server is slowing down this computer after failed sign-ins: store a current operator token in Settings and wait a few minutes.",
    ),
    (
        "rejected",
        "Read the server's message; if it names no input of yours, update the app and the server to the same Node Factory version.",
    ),
    (
        "server_failed",
        "Retry later; if it keeps failing, give the server's administrator the request ID from the message.",
    ),
    ("bad_response", "Update the app and the server to the same Node Factory version."),
    (
        "idempotency_key_refused",
        "Mint a new batch: the earlier batch has changed since, so it cannot be sent again.",
    ),
    (
        "lease_not_held",
        "The card's reservation expired or was released: take the next registration on the card and flash again.",
    ),
    (
        "none_available",
        "Mint a batch for this chip on the Generate screen, or wait for another bench's reservation to expire.",
    ),
    (
        "firmware_move_failed",
        "The download ID was not rotated. Ask the server's administrator to fix the permissions of its firmware folder, then rotate again.",
    ),
    (
        "keyring_unavailable",
        "Start or unlock the desktop's keyring (GNOME Keyring or KWallet on Linux), then save the token again. The app never stores it in a file.",
    ),
    (
        "keyring_failed",
        "Open the desktop's keyring manager, remove the Node Factory entry of this server, and save the token again.",
    ),
    (
        "ca_certificate_invalid",
        "Choose the PEM file of the CA that signed the server's certificate, or clear the field.",
    ),
    (
        "chip_unknown",
        "Choose the board's chip on the card, or scan the node ID printed on the board's label.",
    ),
    ("settings_write_failed", "Check that the app's config folder is writable."),
    ("file_not_found", "Pick the project folder that contains sdkconfig, or run idf.py reconfigure in it."),
    (
        "target_mismatch",
        "Run idf.py set-target for the registration's chip in the project, or pick a registration for the project's chip.",
    ),
    ("token_mismatch", "Paste the token from the export row of this node ID, or choose to rotate the token."),
    ("no_target_chip", "Run idf.py set-target in the project, or mint registrations with a target chip."),
    ("token_required", "Paste the OTA token from the export file, or choose to rotate the token."),
    ("simulator_failed", "Check that the system has free pseudo-terminals (/dev/ptmx)."),
];

/// Returns the operator hint for one of the app's own error codes.
pub fn hint_for(code: &str) -> Option<&'static str> {
    HINTS.iter().find(|(known, _)| *known == code).map(|(_, hint)| *hint)
}

/// Returns the app's code for a registry error: the registry crate's code, split where that
/// code covers causes the operator fixes differently.
pub fn registry_code(error: &RegistryError) -> &str {
    match error {
        RegistryError::IdempotencyKeyRefused { .. } => "idempotency_key_refused",
        // The client reports a failed firmware move as a rejection carrying the server's code.
        RegistryError::Rejected { code, .. } if code == "firmware_move_failed" => "firmware_move_failed",
        // NOTE: the client folds TLS failures into `ServerUnreachable` and keeps only their
        // text, so an untrusted or mismatched certificate is recognised by rustls's wording
        // ("invalid peer certificate: UnknownIssuer").
        RegistryError::ServerUnreachable { detail, .. } if detail.contains("certificate") => {
            "bad_certificate"
        }
        other => other.code(),
    }
}

/// Returns the app's code for a workflow error, refining the codes of registry errors.
pub fn bench_code(error: &BenchError) -> &str {
    match error {
        BenchError::Registry(registry) => registry_code(registry),
        other => other.code(),
    }
}

impl From<RegistryError> for CommandError {
    fn from(error: RegistryError) -> CommandError {
        CommandError::new(registry_code(&error), error.to_string())
    }
}

impl From<BenchError> for CommandError {
    fn from(error: BenchError) -> CommandError {
        let mut converted = CommandError::new(bench_code(&error), error.to_string());
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
    fn hint_table_covers_remote_codes() {
        for code in [
            "server_unreachable",
            "server_timed_out",
            "bad_certificate",
            "not_authorised",
            "forbidden",
            "too_many_attempts",
            "rejected",
            "idempotency_key_refused",
            "lease_not_held",
            "none_available",
            "firmware_move_failed",
            "keyring_unavailable",
        ] {
            assert!(hint_for(code).is_some(), "{code}");
        }
    }

    #[test]
    fn registry_codes_are_refined() {
        let url = "https://registry.example".to_owned();
        let certificate = RegistryError::ServerUnreachable {
            url: url.clone(),
            detail: "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer"
                .to_owned(),
        };
        assert_eq!(CommandError::from(certificate).code, "bad_certificate");

        let refused =
            RegistryError::ServerUnreachable { url, detail: "Connection refused (os error 111)".to_owned() };
        let converted = CommandError::from(refused);
        assert_eq!(converted.code, "server_unreachable");
        assert!(converted.hint.unwrap().contains("Settings"));

        let moved = RegistryError::Rejected {
            status: 500,
            code: "firmware_move_failed".to_owned(),
            message: "cannot move the folder".to_owned(),
        };
        assert_eq!(CommandError::from(moved).code, "firmware_move_failed");

        let key = RegistryError::IdempotencyKeyRefused { key: "k".to_owned(), reason: "changed".to_owned() };
        assert_eq!(CommandError::from(key).code, "idempotency_key_refused");

        let bench = BenchError::Registry(RegistryError::Forbidden {
            url: "https://registry.example".to_owned(),
            detail: "operator sue has the support role".to_owned(),
        });
        let converted = CommandError::from(bench);
        assert_eq!(converted.code, "forbidden");
        assert!(converted.hint.is_some());
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
