//! Minting a batch of registrations, with metadata from a file.

use std::path::Path;

use factory_core::{Chip, HardwareMetadata};
use registry::{MintRequest, MintedRegistration, NodeMetadata, Registry};
use serde_json::Value;

use crate::BenchError;

/// Reads a metadata file: one JSON object applied to every node, or an array of objects
/// applied in order, whose length must equal `count`.
pub fn load_metadata_file(path: &Path, count: u32) -> Result<NodeMetadata, BenchError> {
    let reject = |reason: String| BenchError::MetadataFile { path: path.to_owned(), reason };

    let text = std::fs::read_to_string(path).map_err(|error| reject(format!("cannot be read ({error})")))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|error| reject(format!("is not valid JSON ({error})")))?;

    match value {
        Value::Object(_) => {
            let metadata = HardwareMetadata::from_value(value).map_err(|error| reject(error.to_string()))?;
            Ok(NodeMetadata::Same(metadata))
        }
        Value::Array(entries) => {
            if entries.len() != count as usize {
                return Err(reject(format!(
                    "holds a list of {} objects but {count} registrations were requested; give one object for all of them, or a list of exactly {count}",
                    entries.len()
                )));
            }
            let list = entries
                .into_iter()
                .enumerate()
                .map(|(position, entry)| {
                    HardwareMetadata::from_value(entry)
                        .map_err(|error| reject(format!("entry {position}: {error}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(NodeMetadata::PerNode(list))
        }
        _ => Err(reject("must hold a JSON object or a list of objects".to_owned())),
    }
}

/// Mints `count` registrations for `target_chip` with the given metadata.
pub fn mint(
    registry: &dyn Registry,
    count: u32,
    target_chip: Option<Chip>,
    metadata: NodeMetadata,
) -> Result<Vec<MintedRegistration>, BenchError> {
    let request = MintRequest { count, target_chip, metadata, idempotency_key: None };
    let minted = registry.mint_batch(&request)?;
    tracing::info!(count = minted.len(), "minted registrations");
    Ok(minted)
}
