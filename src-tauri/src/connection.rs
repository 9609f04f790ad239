//! Opening the registry that the settings name: a SQLite file, or a registry server reached
//! with the operator token from the OS keyring and, for a self-signed server, an extra CA
//! certificate. Everything here blocks (SQLite, the keyring, HTTP), so call it from blocking
//! threads.

use std::sync::Arc;
use std::time::Duration;

use factory_core::OperatorToken;
use registry::http::{CA_CERT_VARIABLE, HttpOptions};
use registry::{HttpRegistry, Registry, RegistryError, ServerInfo, SqliteRegistry};

use crate::dto::ServerSummary;
use crate::error::{CommandError, CommandResult};
use crate::settings::{RegistrySettings, validate_server_url};
use crate::token_store::TokenStore;

/// The largest CA certificate file read; a bundle of a few hundred certificates fits.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Opens the registry of `settings`. No request reaches a server until the first call.
pub fn open(settings: &RegistrySettings, tokens: &TokenStore) -> CommandResult<Arc<dyn Registry>> {
    match settings {
        RegistrySettings::Embedded { path } => Ok(Arc::new(SqliteRegistry::open(path.as_ref())?)),
        RegistrySettings::Remote { url, ca_certificate } => {
            let token = stored_token(url, tokens)?;
            let options = with_ca_certificate(HttpOptions::default(), ca_certificate.as_deref())?;
            Ok(Arc::new(open_server(url, token, options)?))
        }
    }
}

/// Returns the stored token of the server at `url`, or `not_authorised` when there is none.
pub fn stored_token(url: &str, tokens: &TokenStore) -> CommandResult<OperatorToken> {
    tokens.load(url)?.ok_or_else(|| {
        CommandError::new(
            "not_authorised",
            format!("no operator token is stored for the registry server {url}; paste your operator token in Settings"),
        )
    })
}

/// Options for checking a server's health: one attempt that gives up after a few seconds, so
/// the app notices an unreachable server quickly and a check never overlaps the next one.
pub fn health_options() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(3),
        read_timeout: Duration::from_secs(4),
        read_deadline: Duration::from_secs(4),
        max_attempts: 1,
        ..HttpOptions::default()
    }
}

/// Adds the certificates of the PEM file at `path` to `options`, when a path is given.
pub fn with_ca_certificate(mut options: HttpOptions, path: Option<&str>) -> CommandResult<HttpOptions> {
    if let Some(path) = path {
        options.extra_root_certificates.push(read_ca_certificate(path)?);
    }
    Ok(options)
}

/// Reads a PEM file of CA certificates and checks that it contains at least one.
pub fn read_ca_certificate(path: &str) -> CommandResult<Vec<u8>> {
    let invalid = |reason: String| {
        CommandError::new("ca_certificate_invalid", format!("CA certificate file {path} {reason}"))
    };
    let size = std::fs::metadata(path).map_err(|error| invalid(format!("cannot be read: {error}")))?.len();
    if size > MAX_CA_FILE_BYTES {
        return Err(invalid(format!(
            "has {size} bytes, more than a certificate bundle ({MAX_CA_FILE_BYTES})"
        )));
    }
    let pem = std::fs::read(path).map_err(|error| invalid(format!("cannot be read: {error}")))?;
    if !pem.windows(27).any(|window| window == b"-----BEGIN CERTIFICATE-----") {
        return Err(invalid("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned()));
    }
    Ok(pem)
}

/// Makes the HTTP client of the server at `url`.
pub fn open_server(url: &str, token: OperatorToken, options: HttpOptions) -> CommandResult<HttpRegistry> {
    HttpRegistry::with_options(url, token, options).map_err(|error| match error {
        // The client names the command line's environment variable; the app has a setting.
        RegistryError::InvalidInput { field, reason } if field == CA_CERT_VARIABLE => CommandError::new(
            "ca_certificate_invalid",
            format!("the CA certificate file is invalid: {reason}"),
        ),
        other => other.into(),
    })
}

/// Asks the server at `url` for its facts with `token`, or with the stored token when `token`
/// is `None`. Used by the Test connection button, before the settings are saved.
pub fn test_connection(
    settings: &RegistrySettings,
    token: Option<OperatorToken>,
    tokens: &TokenStore,
) -> CommandResult<ServerSummary> {
    let RegistrySettings::Remote { url, ca_certificate } = settings else {
        return Err(CommandError::invalid(
            "only a registry server can be tested; choose Registry server first",
        ));
    };
    let url = validate_server_url(url)?;
    let token = match token {
        Some(token) => token,
        None => stored_token(&url, tokens)?,
    };
    let options = with_ca_certificate(health_options(), ca_certificate.as_deref())?;
    let info = fetch_server_info(&open_server(&url, token, options)?)?;
    Ok(ServerSummary::from(&info))
}

/// Calls `server_info` on a server's client, which always has server facts.
pub fn fetch_server_info(registry: &HttpRegistry) -> CommandResult<ServerInfo> {
    registry.server_info()?.ok_or_else(|| {
        CommandError::new(
            "bad_response",
            format!("the registry server at {} sent no server facts", registry.base_url()),
        )
    })
}

/// Returns the public URL written into firmware and manifest URLs: the server's, or the
/// settings' for a registry file.
pub fn public_url(registry: &dyn Registry, settings_public_url: &str) -> CommandResult<String> {
    Ok(registry.server_info()?.map(|info| info.public_url).unwrap_or_else(|| settings_public_url.to_owned()))
}

/// Parses an operator token typed in Settings.
pub fn parse_operator_token(text: &str) -> CommandResult<OperatorToken> {
    OperatorToken::parse(text.trim()).map_err(|_| {
        CommandError::invalid(format!(
            "the operator token is not valid: expected the text that `node-factory operators add` printed, starting with {}",
            OperatorToken::PREFIX
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_certificate_must_hold_pem() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let error = read_ca_certificate(path.to_str().unwrap()).unwrap_err();
        assert_eq!(error.code, "ca_certificate_invalid");
        assert!(error.message.contains("ca.pem"), "{}", error.message);

        let missing = read_ca_certificate("/nonexistent/ca.pem").unwrap_err();
        assert_eq!(missing.code, "ca_certificate_invalid");
    }

    #[test]
    fn test_connection_without_token_names_settings() {
        let settings =
            RegistrySettings::Remote { url: "http://127.0.0.1:9".to_owned(), ca_certificate: None };
        let error = test_connection(&settings, None, &TokenStore::in_memory()).unwrap_err();
        assert_eq!(error.code, "not_authorised");
        assert!(error.message.contains("Settings"), "{}", error.message);
    }

    #[test]
    fn operator_token_parse_rejects_other_text() {
        assert_eq!(parse_operator_token("ulota_abc").unwrap_err().code, "invalid_input");
        let token = OperatorToken::generate();
        assert_eq!(parse_operator_token(&format!(" {} ", token.expose_secret())).unwrap(), token);
    }
}
