//! Commands of the Settings screen.

use std::path::{Path, PathBuf};

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
    blocking(move || Ok(find_idf_py(&path))).await
}

/// Looks for `idf.py` in the ESP-IDF folder `path`, or on the PATH when `path` is empty.
pub fn find_idf_py(path: &str) -> EspIdfStatus {
    let candidate: Option<PathBuf> = if path.trim().is_empty() {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths).map(|dir| dir.join("idf.py")).find(|file| file.is_file())
        })
    } else {
        Some(Path::new(path.trim()).join("tools").join("idf.py")).filter(|file| file.is_file())
    };

    match candidate {
        Some(file) => EspIdfStatus {
            found: true,
            idf_py: Some(file.display().to_string()),
            detail: format!("found {}", file.display()),
        },
        None if path.trim().is_empty() => EspIdfStatus {
            found: false,
            idf_py: None,
            detail: "idf.py is not on the PATH; install ESP-IDF and set its folder here".to_owned(),
        },
        None => EspIdfStatus {
            found: false,
            idf_py: None,
            detail: format!(
                "{} has no tools/idf.py; pick the ESP-IDF folder (the one that holds tools/)",
                path.trim()
            ),
        },
    }
}
