//! Commands of the Generate screen: minting a batch, importing metadata and exporting tokens.

use std::path::PathBuf;
use std::sync::Arc;

use factory_core::HardwareMetadata;
use registry::NodeMetadata;
use serde_json::Value;
use tauri::State;

use super::blocking;
use crate::connection;
use crate::dto::{ExportFormat, ImportedMetadata, MintInput, MintedBatch, MintedRow, RegistrationRow};
use crate::error::{CommandError, CommandResult};
use crate::export;
use crate::state::AppState;

/// The largest metadata file the import reads; real ones are a few kilobytes per node.
const MAX_METADATA_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Parses metadata text: one object for every node, or a list of one object per node.
fn parse_metadata(text: &str) -> CommandResult<(NodeMetadata, u32)> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        CommandError::invalid(format!("invalid hardware metadata: not valid JSON ({error})"))
    })?;
    match value {
        Value::Array(items) => {
            let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
            let list = items.into_iter().map(HardwareMetadata::from_value).collect::<Result<Vec<_>, _>>()?;
            Ok((NodeMetadata::PerNode(list), count))
        }
        other => Ok((NodeMetadata::Same(HardwareMetadata::from_value(other)?), 1)),
    }
}

#[tauri::command]
pub async fn mint_registrations(state: State<'_, AppState>, input: MintInput) -> CommandResult<MintedBatch> {
    let active = Arc::clone(&state.registry);
    let settings_public_url = state.settings().public_url;
    let metadata = match input.metadata_json.as_deref().map(str::trim) {
        None | Some("") => NodeMetadata::None,
        Some(text) => parse_metadata(text)?.0,
    };
    let target_chip = input.target_chip.map(Into::into);
    let count = input.count;

    let (minted, public_url) = blocking(move || {
        let registry = active.registry()?;
        let public_url = connection::public_url(registry.as_ref(), &settings_public_url)?;
        Ok((bench::mint::mint(registry.as_ref(), count, target_chip, metadata)?, public_url))
    })
    .await?;
    let batch_id = uuid::Uuid::new_v4().simple().to_string();
    let rows = minted
        .iter()
        .map(|entry| MintedRow {
            registration: RegistrationRow::from(&entry.registration),
            ota_token: entry.ota_token.expose_secret().to_owned(),
            ota_manifest_url: factory_core::manifest_url(&public_url, &entry.registration.download_id),
        })
        .collect();
    state.store_batch(batch_id.clone(), minted);
    Ok(MintedBatch { batch_id, rows })
}

#[tauri::command]
pub async fn export_batch(
    state: State<'_, AppState>,
    batch_id: String,
    path: String,
    format: ExportFormat,
) -> CommandResult<()> {
    let minted = state.batch(&batch_id)?;
    blocking(move || {
        let contents = export::render(&minted, format);
        export::write(&PathBuf::from(&path), &contents)?;
        tracing::info!(%batch_id, rows = minted.len(), %path, "exported minted batch");
        Ok(())
    })
    .await
}

#[tauri::command]
pub fn discard_batch(state: State<'_, AppState>, batch_id: String) {
    state.discard_batch(&batch_id);
}

#[tauri::command]
pub async fn read_metadata_file(path: String) -> CommandResult<ImportedMetadata> {
    blocking(move || {
        let read_failed = |error: std::io::Error| {
            CommandError::new("file_read_failed", format!("failed to read {path}: {error}"))
        };
        let size = std::fs::metadata(&path).map_err(read_failed)?.len();
        if size > MAX_METADATA_FILE_BYTES {
            return Err(CommandError::invalid(format!(
                "{path} has {size} bytes; metadata files may have at most {MAX_METADATA_FILE_BYTES}"
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(read_failed)?;
        let (_, node_count) = parse_metadata(&text)?;
        let value: Value = serde_json::from_str(&text).expect("parse_metadata accepted the JSON");
        Ok(ImportedMetadata {
            text: serde_json::to_string_pretty(&value).expect("JSON values always serialize"),
            node_count,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_list_counts_nodes() {
        let (metadata, count) = parse_metadata(r#"[{"target":"esp32"},{"target":"esp32"}]"#).unwrap();
        assert_eq!(count, 2);
        assert!(matches!(metadata, NodeMetadata::PerNode(list) if list.len() == 2));
    }

    #[test]
    fn metadata_rejects_invalid_objects() {
        for text in ["{", "[1]", r#"{"strips":[{"index":0,"gpio":99}]}"#] {
            assert_eq!(parse_metadata(text).unwrap_err().code, "invalid_input", "{text}");
        }
    }
}
