//! Settings shared by the workflows: the firmware folder and the public URL.

use std::path::PathBuf;

use factory_core::DEFAULT_PUBLIC_URL;

/// The settings every workflow shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchSettings {
    /// The folder that contains one `<download ID>/` folder of OTA images per node.
    pub firmware_dir: PathBuf,
    /// The base of the manifest URL written into firmware, without a trailing slash.
    pub public_url: String,
}

impl Default for BenchSettings {
    fn default() -> Self {
        BenchSettings { firmware_dir: default_firmware_dir(), public_url: DEFAULT_PUBLIC_URL.to_owned() }
    }
}

fn data_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("node-factory")
}

/// `<platform data dir>/node-factory/firmware`, for example
/// `~/.local/share/node-factory/firmware` on Linux.
pub fn default_firmware_dir() -> PathBuf {
    data_dir().join("firmware")
}

/// `<platform data dir>/node-factory/registry.sqlite3`.
pub fn default_registry_path() -> PathBuf {
    data_dir().join("registry.sqlite3")
}
