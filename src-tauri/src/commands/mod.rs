//! The Tauri commands. Each decodes its input, calls into a crate and maps the result; the
//! registry and serial work runs on blocking threads so the window stays responsive.

pub mod bench;
pub mod generate;
pub mod registrations;
pub mod settings;

use crate::error::{CommandError, CommandResult};

/// Runs blocking work (SQLite, file and serial I/O) off the async runtime's threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| CommandError::new("internal", format!("a background task failed: {error}")))?
}

pub fn parse_node_id(text: &str) -> CommandResult<factory_core::NodeId> {
    Ok(text.trim().parse()?)
}
