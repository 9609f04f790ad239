//! Commands of the Settings screen: the settings file, the registry server's operator token in
//! the OS keyring, the connection test, and the registry's status.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use factory_core::OperatorToken;
use tauri::State;

use super::blocking;
use crate::connection;
use crate::dto::{EspIdfStatus, RegistryStatus, ServerSummary};
use crate::error::{CommandError, CommandResult};
use crate::settings::{self, RegistrySettings, Settings, validate_server_url};
use crate::state::AppState;
use crate::token_store::TokenStore;

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Saves the settings and applies them at once. With `operator_token`, the token is first
/// stored in the OS keyring for the settings' registry server; when that fails, nothing is
/// saved. The token never reaches the settings file.
#[tauri::command]
pub async fn save_settings(
    state: State<'_, AppState>,
    settings: Settings,
    operator_token: Option<String>,
) -> CommandResult<Settings> {
    let settings = settings.validated()?;
    let token = operator_token.as_deref().map(str::trim).filter(|text| !text.is_empty());
    let token = token.map(connection::parse_operator_token).transpose()?;
    let new_token = token.is_some();
    let active = Arc::clone(&state.registry);
    let config_dir = state.config_dir.clone();
    let saved = settings.clone();
    let path =
        blocking(move || persist_settings(&config_dir, active.tokens(), &saved, token.as_ref())).await?;
    tracing::info!(path = %path.display(), "saved settings");
    state.replace_settings(settings.clone(), new_token);
    Ok(settings)
}

/// Stores `token` in the keyring for the settings' registry server, then writes the settings
/// file, which never contains the token. Returns the file's path.
pub fn persist_settings(
    config_dir: &Path,
    tokens: &TokenStore,
    settings: &Settings,
    token: Option<&OperatorToken>,
) -> CommandResult<PathBuf> {
    if let Some(token) = token {
        let RegistrySettings::Remote { url, .. } = &settings.registry else {
            return Err(CommandError::invalid(
                "an operator token is only used with a registry server; choose Registry server first",
            ));
        };
        tokens.save(url, token)?;
        tracing::info!(%url, "stored the operator token in the OS keyring");
    }
    settings::save(config_dir, settings)
}

/// Returns whether an operator token is stored for the server at `url`. The token itself
/// never goes back to the window.
#[tauri::command]
pub async fn operator_token_stored(state: State<'_, AppState>, url: String) -> CommandResult<bool> {
    let active = Arc::clone(&state.registry);
    blocking(move || Ok(active.tokens().load(&validate_server_url(&url)?)?.is_some())).await
}

/// Removes the operator token of the server at `url` from the OS keyring. When that server is
/// the current registry, the app stops using the token at once.
#[tauri::command]
pub async fn remove_operator_token(state: State<'_, AppState>, url: String) -> CommandResult<()> {
    let active = Arc::clone(&state.registry);
    let url = validate_server_url(&url)?;
    let removed_url = url.clone();
    blocking(move || active.tokens().remove(&removed_url)).await?;
    tracing::info!(%url, "removed the operator token from the OS keyring");
    let current = state.settings();
    if matches!(&current.registry, RegistrySettings::Remote { url: current_url, .. } if *current_url == url) {
        state.replace_settings(current, true);
    }
    Ok(())
}

/// Asks a registry server for its version and the operator's name and role, with the
/// settings as typed (not yet saved) and `operator_token`, or the stored token without one.
#[tauri::command]
pub async fn test_connection(
    state: State<'_, AppState>,
    registry: RegistrySettings,
    operator_token: Option<String>,
) -> CommandResult<ServerSummary> {
    let token = operator_token.as_deref().map(str::trim).filter(|text| !text.is_empty());
    let token = token.map(connection::parse_operator_token).transpose()?;
    let active = Arc::clone(&state.registry);
    let location = registry.location().to_owned();
    let result = blocking(move || connection::test_connection(&registry, token, active.tokens())).await;
    match &result {
        Ok(server) => {
            tracing::info!(url = %location, operator = %server.operator, role = ?server.role, "connection test succeeded")
        }
        Err(error) => {
            tracing::warn!(url = %location, code = %error.code, "connection test failed: {}", error.message)
        }
    }
    result
}

/// Returns the registry's current status; changes arrive as the `registry-status-changed` event.
#[tauri::command]
pub fn registry_status(state: State<'_, AppState>) -> RegistryStatus {
    state.registry.status()
}

#[tauri::command]
pub async fn check_esp_idf(path: String) -> CommandResult<EspIdfStatus> {
    blocking(move || {
        let configured = Some(path.trim()).filter(|text| !text.is_empty()).map(Path::new);
        Ok(match bench::build::find_idf(configured) {
            Ok(tool) => EspIdfStatus {
                found: true,
                idf_py: Some(tool.script.display().to_string()),
                detail: format!("found {}", tool.script.display()),
            },
            Err(error) => EspIdfStatus { found: false, idf_py: None, detail: error.to_string() },
        })
    })
    .await
}
