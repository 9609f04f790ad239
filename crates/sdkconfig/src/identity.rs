//! The identity patch: writing a node's registration into its firmware project's sdkconfig,
//! in two phases so that a caller can check every file before it writes any.

use std::fmt;
use std::path::{Path, PathBuf};

use factory_core::{Chip, ConfigKey, ConfigValue, HardwareMetadata, NodeId, OtaToken};

use crate::config::{parse_bytes, read_bytes};
use crate::{SdkConfig, SdkConfigError, write_atomically};

/// The node's ID, as used for MQTT and telemetry.
pub const NODE_ID_KEY: &str = "CONFIG_UL_NODE_ID";
/// The URL of the node's OTA manifest.
pub const OTA_MANIFEST_URL_KEY: &str = "CONFIG_UL_OTA_MANIFEST_URL";
/// The bearer token the node presents to download updates. A secret.
pub const OTA_BEARER_TOKEN_KEY: &str = "CONFIG_UL_OTA_BEARER_TOKEN";
/// The ESP-IDF target name of the registration's chip, such as `esp32c3`.
pub const TARGET_CHIP_KEY: &str = "CONFIG_UL_TARGET_CHIP";
/// The registration's hardware metadata as compact JSON, absent when it has none.
pub const NODE_METADATA_KEY: &str = "CONFIG_UL_NODE_METADATA";
/// The chip the ESP-IDF project is configured for.
pub const IDF_TARGET_KEY: &str = "CONFIG_IDF_TARGET";

/// The registration data that the identity patch writes into an sdkconfig file.
#[derive(Debug, Clone, Copy)]
pub struct NodeIdentity<'a> {
    pub node_id: &'a NodeId,
    pub ota_manifest_url: &'a str,
    pub ota_token: &'a OtaToken,
    /// The chip the registration is for. The file's `CONFIG_IDF_TARGET` must match it.
    pub target_chip: Chip,
    /// Written as `CONFIG_UL_NODE_METADATA`, and its `sdkconfig` overrides are applied. `None`
    /// removes a `CONFIG_UL_NODE_METADATA` left over from an earlier node.
    pub hardware_metadata: Option<&'a HardwareMetadata>,
}

impl SdkConfig {
    /// Sets the identity keys in memory: the node ID, OTA manifest URL, OTA token, target chip
    /// and metadata keys, then the metadata's `sdkconfig` overrides in the order given.
    ///
    /// Rejects a file whose `CONFIG_IDF_TARGET` names another chip than the registration, because
    /// firmware built for one chip does not boot on another. A file without `CONFIG_IDF_TARGET`
    /// is not checked. On error `self` is left as it was.
    pub fn apply_identity(&mut self, identity: &NodeIdentity<'_>) -> Result<(), SdkConfigError> {
        self.check_target(identity)?;
        let assignments = identity_assignments(identity)?;

        // Edit a copy, so that a value rejected halfway leaves no half-patched file behind.
        let mut patched = self.clone();
        for (key, value) in &assignments {
            match value {
                Some(value) => patched.set(key, value)?,
                None => {
                    patched.remove(key);
                }
            }
        }
        *self = patched;
        Ok(())
    }

    /// Returns the chip name the file's `CONFIG_IDF_TARGET` sets, such as `esp32c3`, or `None`
    /// when the file sets none.
    pub fn idf_target(&self) -> Option<String> {
        match self.get(&constant_key(IDF_TARGET_KEY)) {
            Some(ConfigValue::String(name)) => Some(name),
            _ => None,
        }
    }

    fn check_target(&self, identity: &NodeIdentity<'_>) -> Result<(), SdkConfigError> {
        let Some(file_target) = self.idf_target() else {
            return Ok(());
        };
        if file_target == identity.target_chip.idf_target() {
            return Ok(());
        }
        Err(SdkConfigError::TargetMismatch {
            file_target,
            node_id: identity.node_id.clone(),
            registration_target: identity.target_chip,
        })
    }
}

/// Lists the keys to set (`Some`) or remove (`None`), in the order they are applied.
fn identity_assignments(
    identity: &NodeIdentity<'_>,
) -> Result<Vec<(ConfigKey, Option<ConfigValue>)>, SdkConfigError> {
    let string = |text: &str| Some(ConfigValue::String(text.to_owned()));
    let mut assignments = vec![
        (constant_key(NODE_ID_KEY), string(identity.node_id.as_str())),
        (constant_key(OTA_MANIFEST_URL_KEY), string(identity.ota_manifest_url)),
        (constant_key(OTA_BEARER_TOKEN_KEY), string(identity.ota_token.expose_secret())),
        (constant_key(TARGET_CHIP_KEY), string(identity.target_chip.idf_target())),
    ];

    let Some(metadata) = identity.hardware_metadata else {
        assignments.push((constant_key(NODE_METADATA_KEY), None));
        return Ok(assignments);
    };

    assignments.push((constant_key(NODE_METADATA_KEY), string(&metadata.to_compact_json())));
    let overrides = metadata
        .sdkconfig_overrides()
        .map_err(|reason| SdkConfigError::InvalidMetadata { node_id: identity.node_id.clone(), reason })?;
    assignments.extend(overrides.into_iter().map(|(key, value)| (key, Some(value))));
    Ok(assignments)
}

fn constant_key(name: &'static str) -> ConfigKey {
    name.parse().expect("the key constants are valid sdkconfig names")
}

/// An identity patch that has been computed but not yet written.
///
/// `Debug` prints the path and sizes only, because the contents include the OTA token.
#[derive(Clone)]
pub struct PreparedPatch {
    path: PathBuf,
    original: Vec<u8>,
    patched: Vec<u8>,
}

/// Reads the sdkconfig file at `path` and computes its identity patch without writing anything.
/// Call `PreparedPatch::write` once every file of a batch has been prepared without error.
pub fn prepare_identity_patch(
    path: impl AsRef<Path>,
    identity: &NodeIdentity<'_>,
) -> Result<PreparedPatch, SdkConfigError> {
    let path = path.as_ref();
    let original = read_bytes(path)?;
    let mut config = parse_bytes(path, &original)?;

    config
        .apply_identity(identity)
        .map_err(|reason| SdkConfigError::Patch { path: path.to_owned(), reason: Box::new(reason) })?;
    Ok(PreparedPatch { path: path.to_owned(), original, patched: config.to_bytes() })
}

impl PreparedPatch {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the patched file contents, OTA token included.
    pub fn contents(&self) -> &[u8] {
        &self.patched
    }

    /// Returns whether writing would change the file.
    pub fn changes_file(&self) -> bool {
        self.original != self.patched
    }

    /// Writes the patched contents atomically with owner-only permissions (see
    /// `write_atomically`).
    ///
    /// Fails with `ChangedSinceRead`, and writes nothing, when the file no longer contains the
    /// bytes the patch was computed from, so that edits made in between (by `idf.py menuconfig`,
    /// say) are not lost. The check and the rename are not one atomic step, so an edit in that
    /// short gap is still overwritten.
    pub fn write(&self) -> Result<(), SdkConfigError> {
        let current = read_bytes(&self.path)?;
        if current != self.original {
            return Err(SdkConfigError::ChangedSinceRead { path: self.path.clone() });
        }
        write_atomically(&self.path, &self.patched)
    }
}

impl fmt::Debug for PreparedPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedPatch")
            .field("path", &self.path)
            .field("original_bytes", &self.original.len())
            .field("patched_bytes", &self.patched.len())
            .finish()
    }
}
