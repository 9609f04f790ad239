//! Commands of the Settings screen.

use std::path::Path;

use tauri::State;

use super::blocking;
use crate::dto::EspIdfStatus;
use crate::error::CommandResult;
use crate::settings::{self, Settings};
use crate::state::AppState;

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

#[tauri::command]
pub async fn save_settings(state: State<'_, AppState>, settings: Settings) -> CommandResult<Settings> {
    let settings = settings.validated()?;
    let config_dir = state.config_dir.clone();
    let saved = settings.clone();
    let path = blocking(move || settings::save(&config_dir, &saved)).await?;
    tracing::info!(path = %path.display(), "saved settings");
    state.replace_settings(settings.clone());
    Ok(settings)
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
