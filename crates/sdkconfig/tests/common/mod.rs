//! Helpers shared by the integration tests: the real-world input files and sample identities.

#![allow(dead_code)]

use std::path::PathBuf;

use factory_core::{Chip, ConfigKey, DownloadId, HardwareMetadata, NodeId, OtaToken, manifest_url};
use serde_json::json;

/// Returns the folder of real-world inputs, which is kept outside the repository.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Returns the files of a data folder, sorted by name.
pub fn data_files(folder: &str) -> Vec<PathBuf> {
    let folder = data_dir().join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("failed to list {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

pub fn key(name: &str) -> ConfigKey {
    name.parse().unwrap()
}

/// The owned values behind a `NodeIdentity`, which borrows them.
pub struct IdentityParts {
    pub node_id: NodeId,
    pub url: String,
    pub token: OtaToken,
    pub chip: Chip,
    pub metadata: Option<HardwareMetadata>,
}

impl IdentityParts {
    /// Creates a fresh identity whose metadata has quotes, backslashes, non-ASCII text and one
    /// `sdkconfig` override.
    pub fn with_metadata(chip: Chip) -> IdentityParts {
        let metadata = json!({
            "target": chip.idf_target(),
            "label": "bench \"A\" \\ rack 3\\",
            "note": "grüße ✓ 💡 \u{2028}",
            "path": "C:\\firmware\\\"new\"",
            "strips": [{"index": 0, "gpio": 5, "leds": 60}],
            "sdkconfig": {"CONFIG_UL_LED_COUNT": 60},
        });
        IdentityParts {
            metadata: Some(HardwareMetadata::from_value(metadata).unwrap()),
            ..IdentityParts::without_metadata(chip)
        }
    }

    pub fn without_metadata(chip: Chip) -> IdentityParts {
        IdentityParts {
            node_id: NodeId::generate(),
            url: manifest_url("https://ota.example.com", &DownloadId::generate()),
            token: OtaToken::generate(),
            chip,
            metadata: None,
        }
    }

    pub fn identity(&self) -> sdkconfig::NodeIdentity<'_> {
        sdkconfig::NodeIdentity {
            node_id: &self.node_id,
            ota_manifest_url: &self.url,
            ota_token: &self.token,
            target_chip: self.chip,
            hardware_metadata: self.metadata.as_ref(),
        }
    }

    /// Returns the part of the token after its prefix, which must never appear in printed output.
    pub fn token_body(&self) -> &str {
        &self.token.expose_secret()[factory_core::OTA_TOKEN_PREFIX.len()..]
    }
}
