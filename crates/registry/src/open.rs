//! Opening a registry from the one setting a user gives: a file path or a server URL.

use std::path::Path;

use factory_core::OperatorToken;

use crate::http::HttpOptions;
use crate::{HttpRegistry, Registry, RegistryError, SqliteRegistry};

/// Opens the registry that `spec` names: an `http://` or `https://` URL opens the registry
/// server with the operator token, and anything else is the path of a SQLite file.
///
/// A URL without a token fails with [`RegistryError::NotAuthorised`], because every API
/// request needs one.
pub fn open_registry(spec: &str, token: Option<OperatorToken>) -> Result<Box<dyn Registry>, RegistryError> {
    let is_url = spec.starts_with("http://") || spec.starts_with("https://");
    if !is_url {
        return Ok(Box::new(SqliteRegistry::open(Path::new(spec))?));
    }

    let Some(token) = token else {
        return Err(RegistryError::NotAuthorised {
            url: spec.to_owned(),
            detail: "no operator token was given; set NODE_FACTORY_TOKEN to your operator token, which an admin of the server creates".to_owned(),
        });
    };
    Ok(Box::new(HttpRegistry::with_options(spec, token, HttpOptions::from_env()?)?))
}
