//! The state every request handler shares: the registry, the operators and the settings.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use registry::{AuditContext, SqliteRegistry};

use crate::ServeConfig;
use crate::auth::{FailureLimiter, Operator};
use crate::error::ApiError;
use crate::operators::OperatorStore;

/// The settings handlers read, taken from [`ServeConfig`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub firmware_dir: Option<PathBuf>,
    pub public_url: String,
    pub max_batch: u32,
    pub default_lease_seconds: u32,
    pub body_limit_bytes: usize,
    /// Peers whose X-Forwarded-For header names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<SqliteRegistry>,
    pub operators: Arc<OperatorStore>,
    pub limiter: Arc<FailureLimiter>,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// Opens (and migrates) the registry file named in the configuration.
    pub fn open(config: &crate::ServeConfig) -> anyhow::Result<AppState> {
        let scheme = if config.options.tls_cert.is_some() { "https" } else { "http" };
        let public_url = match &config.public_url {
            Some(url) => factory_core::validate_public_url(url)?,
            None => format!("{scheme}://{}", config.options.bind),
        };
        let registry =
            SqliteRegistry::open(&config.database)?.with_default_lease_seconds(config.options.lease_seconds);
        let operators = OperatorStore::open(&config.database)
            .with_context(|| format!("cannot open the operators of {}", config.database.display()))?;
        Ok(AppState {
            registry: Arc::new(registry),
            operators: Arc::new(operators),
            limiter: Arc::new(FailureLimiter::default()),
            settings: Arc::new(settings_from(config, public_url)),
        })
    }

    /// Runs a registry call on the blocking thread pool, with the audit log naming the
    /// operator and the request.
    pub async fn run<T: Send + 'static>(
        &self,
        actor: AuditContext,
        call: impl FnOnce(&SqliteRegistry) -> Result<T, registry::RegistryError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let registry = self.registry.acting_as(actor);
        tokio::task::spawn_blocking(move || call(&registry))
            .await
            .map_err(|error| ApiError::Internal { detail: format!("a registry task failed: {error}") })?
            .map_err(ApiError::from)
    }
}

fn settings_from(config: &ServeConfig, public_url: String) -> Settings {
    Settings {
        firmware_dir: config.firmware_dir.clone(),
        public_url,
        max_batch: config.options.max_batch,
        default_lease_seconds: config.options.lease_seconds,
        body_limit_bytes: config.options.body_limit_bytes,
        trusted_proxies: config.options.trusted_proxies.clone(),
    }
}

/// Builds the audit context of an authenticated request.
pub fn audit_context(operator: &Operator, request_id: &crate::context::RequestId) -> AuditContext {
    AuditContext { actor: operator.name.clone(), request_id: Some(request_id.0.clone()) }
}
