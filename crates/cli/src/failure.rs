//! Failure reports of commands: one line on stderr and an exit status.

use std::process::ExitCode;

use bench::BenchError;
use registry::RegistryError;

/// A command's failure, with what decides its exit status.
#[derive(Debug)]
pub struct Failure {
    message: String,
    invalid_input: bool,
    /// Lines printed after the error line, such as a token that would otherwise be lost.
    details: Vec<String>,
}

impl Failure {
    pub fn invalid(error: impl std::fmt::Display) -> Failure {
        Failure { message: error.to_string(), invalid_input: true, details: Vec::new() }
    }

    pub fn other(error: impl std::fmt::Display) -> Failure {
        Failure { message: error.to_string(), invalid_input: false, details: Vec::new() }
    }

    pub fn with_details(message: String, invalid_input: bool, details: Vec<String>) -> Failure {
        Failure { message, invalid_input, details }
    }

    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        for line in &self.details {
            eprintln!("{line}");
        }
        ExitCode::from(if self.invalid_input { 2 } else { 1 })
    }
}

impl From<BenchError> for Failure {
    fn from(error: BenchError) -> Failure {
        let message = match &error {
            BenchError::TokenRequired { node_id } => format!(
                "registration {node_id} needs its OTA token; pass --ota-token with the token printed by generate, or --rotate-token to mint a new one"
            ),
            BenchError::TokenMismatch { node_id } => format!(
                "the OTA token does not match registration {node_id}; pass the token printed by generate, or --rotate-token to mint a new one"
            ),
            other => other.to_string(),
        };

        let mut details = Vec::new();
        if let Some(token) = error.recovered_token() {
            // The token exists nowhere else now, so it has to reach the operator here.
            details.push(format!(
                "the registration's OTA token is now {} ; save it, it is not stored anywhere",
                token.expose_secret()
            ));
        }
        Failure { message, invalid_input: error.is_invalid_input(), details }
    }
}

impl From<RegistryError> for Failure {
    fn from(error: RegistryError) -> Failure {
        let invalid_input = matches!(
            error,
            RegistryError::NotFound { .. }
                | RegistryError::InvalidInput { .. }
                | RegistryError::Domain(_)
                | RegistryError::FileMissing { .. }
        );
        Failure { message: error.to_string(), invalid_input, details: Vec::new() }
    }
}
