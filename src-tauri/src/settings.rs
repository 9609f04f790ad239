//! The app's settings file: which registry to use, where firmware and ESP-IDF live, and the
//! serial defaults. Stored as JSON in the app's config folder and replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{CommandError, CommandResult};

const SETTINGS_FILE: &str = "settings.json";

/// Baud rates espflash and the ESP ROM loaders accept for the flash phase.
pub const BAUD_RATES: [u32; 6] = [115_200, 230_400, 460_800, 921_600, 1_500_000, 2_000_000];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Settings {
    pub registry: RegistrySettings,
    /// Where OTA images are published, one folder per download ID.
    pub firmware_dir: String,
    /// The base of each node's OTA manifest URL.
    pub public_url: String,
    /// The ESP-IDF folder (the one holding `tools/idf.py`); empty means `idf.py` on the PATH.
    pub esp_idf_path: String,
    /// The baud rate of the flash phase after the loader connected at 115200.
    pub default_baud: u32,
    pub reset_mode: ResetMode,
}

/// Which registry the app talks to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegistrySettings {
    /// A SQLite file on this computer.
    Embedded { path: String },
    /// A registry server shared by several benches. Its operator token is kept in the OS
    /// keyring, never in this file.
    Remote {
        url: String,
        /// A PEM file of extra CA certificates to trust, for a server with a self-signed
        /// certificate or one from a private CA; `null` trusts the platform's CA store only.
        #[serde(default)]
        ca_certificate: Option<String>,
    },
}

impl RegistrySettings {
    /// Returns the registry file's path or the server's URL.
    pub fn location(&self) -> &str {
        match self {
            RegistrySettings::Embedded { path } => path,
            RegistrySettings::Remote { url, .. } => url,
        }
    }
}

/// How the app puts a board into its serial bootloader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ResetMode {
    /// Reset into the bootloader with DTR and RTS, or with the USB-Serial-JTAG sequence on
    /// boards that use the chip's own USB port.
    Auto,
    /// No reset: the operator holds BOOT while plugging the board in.
    NoReset,
}

impl Settings {
    /// Settings for a first start: the same registry file and firmware folder as the
    /// command line uses by default.
    pub fn defaults() -> Settings {
        Settings {
            registry: RegistrySettings::Embedded {
                path: bench::default_registry_path().display().to_string(),
            },
            firmware_dir: bench::default_firmware_dir().display().to_string(),
            public_url: factory_core::DEFAULT_PUBLIC_URL.to_owned(),
            esp_idf_path: String::new(),
            default_baud: 460_800,
            reset_mode: ResetMode::Auto,
        }
    }

    /// The part of the settings the workflows use.
    pub fn bench_settings(&self) -> bench::BenchSettings {
        bench::BenchSettings {
            firmware_dir: PathBuf::from(&self.firmware_dir),
            public_url: self.public_url.clone(),
        }
    }

    /// Checks every field and returns the settings in normal form.
    pub fn validated(mut self) -> CommandResult<Settings> {
        self.public_url = factory_core::validate_public_url(self.public_url.trim())?;
        if !BAUD_RATES.contains(&self.default_baud) {
            return Err(CommandError::invalid(format!(
                "invalid baud rate {}: expected one of {}",
                self.default_baud,
                BAUD_RATES.map(|rate| rate.to_string()).join(", ")
            )));
        }
        if self.firmware_dir.trim().is_empty() {
            return Err(CommandError::invalid("the firmware folder is empty; pick a folder"));
        }
        match &mut self.registry {
            RegistrySettings::Embedded { path } if path.trim().is_empty() => {
                return Err(CommandError::invalid("the registry file is empty; pick a file"));
            }
            RegistrySettings::Remote { url, ca_certificate } => {
                *url = validate_server_url(url)?;
                *ca_certificate = ca_certificate
                    .as_deref()
                    .map(str::trim)
                    .filter(|path| !path.is_empty())
                    .map(str::to_owned);
                if let Some(path) = ca_certificate.as_deref() {
                    crate::connection::read_ca_certificate(path)?;
                }
            }
            RegistrySettings::Embedded { .. } => {}
        }
        Ok(self)
    }
}

/// Checks a registry server's URL and returns it without a trailing slash.
pub fn validate_server_url(url: &str) -> CommandResult<String> {
    factory_core::validate_public_url(url.trim()).map_err(|error| {
        CommandError::invalid(error.to_string().replace("public URL", "registry server URL"))
    })
}

/// Reads the settings file, or returns the defaults when there is none yet.
pub fn load(config_dir: &Path) -> CommandResult<Settings> {
    let path = config_dir.join(SETTINGS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
            CommandError::new(
                "settings_invalid",
                format!("settings file {} is not valid ({error}); fix or delete it", path.display()),
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Settings::defaults()),
        Err(error) => Err(CommandError::new(
            "settings_write_failed",
            format!("failed to read settings file {}: {error}", path.display()),
        )),
    }
}

/// Writes the settings through a temporary file renamed over the old one, so a crash leaves
/// either the old or the new file.
pub fn save(config_dir: &Path, settings: &Settings) -> CommandResult<PathBuf> {
    let path = config_dir.join(SETTINGS_FILE);
    let failed = |error: std::io::Error| {
        CommandError::new("settings_write_failed", format!("failed to write {}: {error}", path.display()))
    };

    std::fs::create_dir_all(config_dir).map_err(failed)?;
    let mut file = tempfile::NamedTempFile::new_in(config_dir).map_err(failed)?;
    let text = serde_json::to_string_pretty(settings).expect("settings always serialize");
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(&path).map_err(|error| failed(error.error))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_file() {
        let folder = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults();
        settings.default_baud = 921_600;
        save(folder.path(), &settings).unwrap();
        assert_eq!(load(folder.path()).unwrap(), settings);
    }

    #[test]
    fn settings_missing_file_gives_defaults() {
        let folder = tempfile::tempdir().unwrap();
        assert_eq!(load(folder.path()).unwrap(), Settings::defaults());
    }

    #[test]
    fn settings_validation_rejects_bad_fields() {
        let base = Settings::defaults();

        let bad_url = Settings { public_url: "ota.example.com".to_owned(), ..base.clone() };
        assert_eq!(bad_url.validated().unwrap_err().code, "invalid_input");

        let bad_baud = Settings { default_baud: 12_345, ..base.clone() };
        assert!(bad_baud.validated().unwrap_err().message.contains("12345"));

        let trailing = Settings { public_url: "https://ota.example.com/".to_owned(), ..base };
        assert_eq!(trailing.validated().unwrap().public_url, "https://ota.example.com");
    }
}
