//! Provisioning: writing a registration's identity into `sdkconfig` files.
//!
//! The order is what keeps a failure harmless. First every input and file is checked, with
//! nothing changed. Then the registry changes (token and download ID rotation). Then the
//! files are written, and last the registration is marked provisioned. A failure after the
//! registry changed returns the new token inside the error, because it exists nowhere else.

use std::path::{Path, PathBuf};

use chrono::Utc;
use factory_core::{Chip, DownloadId, NodeId, OtaToken, Registration, firmware_folder, manifest_url};
use registry::Registry;
use sdkconfig::{IDF_TARGET_KEY, NodeIdentity, PreparedPatch, SdkConfig, prepare_identity_patch};

use crate::{BenchError, BenchSettings};

/// The source of the OTA token written into the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The token printed when the registration was minted; it must match the stored hash.
    Provided(OtaToken),
    /// Mint a new token; the old one stops working.
    Rotate,
    /// Use the plaintext token an imported record still carries, erasing it from storage.
    /// Fails when the record has none.
    Legacy,
}

/// A provisioning request: the registration, the files and the credential changes.
#[derive(Debug, Clone)]
pub struct ProvisionRequest {
    pub node_id: NodeId,
    /// The `sdkconfig` files to patch; at least one.
    pub config_files: Vec<PathBuf>,
    pub token: TokenSource,
    /// Issue a new download ID and move the firmware folder's files to the new folder, to
    /// retire a leaked manifest URL.
    pub rotate_download_id: bool,
    /// Mark the registration provisioned once the files are written. Off when the files are
    /// only staged for a build that happens later.
    pub mark_provisioned: bool,
}

/// The result of provisioning.
#[derive(Debug, Clone)]
pub struct ProvisionOutcome {
    pub registration: Registration,
    /// The token minted by rotation; shown once, then gone.
    pub new_token: Option<OtaToken>,
    /// True when the record's legacy plaintext token was used and erased.
    pub used_legacy_token: bool,
    pub patched_files: Vec<PathBuf>,
    pub firmware_folder: PathBuf,
    pub manifest_url: String,
    /// The download ID before rotation, when it was rotated.
    pub previous_download_id: Option<DownloadId>,
    /// Things the operator should look at, such as a file without `CONFIG_IDF_TARGET`.
    pub warnings: Vec<String>,
}

/// Provisions `request.config_files` for one registration. See the module documentation for
/// the order of the steps.
pub fn provision(
    registry: &dyn Registry,
    settings: &BenchSettings,
    request: &ProvisionRequest,
) -> Result<ProvisionOutcome, BenchError> {
    let registration = registry.get(&request.node_id)?;
    let warnings = check_inputs(&registration, settings, request)?;

    let credentials = change_registry(registry, &registration, request)?;
    let after_change = |error: BenchError| BenchError::AfterRegistryChange {
        source: Box::new(error),
        committed: credentials.describe(),
        new_token: credentials.recoverable_token(),
    };

    let registration = registry.get(&request.node_id).map_err(|error| after_change(error.into()))?;
    let patches = prepare_all(&registration, settings, &credentials.token, &request.config_files)
        .map_err(after_change)?;
    for patch in &patches {
        patch.write().map_err(|error| after_change(error.into()))?;
    }
    let folder = prepare_firmware_folder(settings, &registration, credentials.previous_download_id.as_ref())
        .map_err(after_change)?;

    let registration = if request.mark_provisioned {
        registry.mark_provisioned(&request.node_id, Utc::now()).map_err(|error| after_change(error.into()))?
    } else {
        registration
    };
    tracing::info!(node_id = %request.node_id, files = patches.len(), "provisioned sdkconfig files");

    Ok(ProvisionOutcome {
        manifest_url: manifest_url(&settings.public_url, &registration.download_id),
        registration,
        new_token: credentials.new_token,
        used_legacy_token: credentials.used_legacy,
        patched_files: patches.iter().map(|patch| patch.path().to_owned()).collect(),
        firmware_folder: folder,
        previous_download_id: credentials.previous_download_id,
        warnings,
    })
}

/// Checks everything that can be checked without changing anything: the token, that every
/// file and folder to be written is writable, and a trial patch of every file with stand-in
/// credentials of the same shape as the real ones. Returns warnings for the operator.
fn check_inputs(
    registration: &Registration,
    settings: &BenchSettings,
    request: &ProvisionRequest,
) -> Result<Vec<String>, BenchError> {
    if request.config_files.is_empty() {
        return Err(BenchError::NoConfigFiles);
    }
    match &request.token {
        TokenSource::Provided(token) if !registration.token_hash.matches(token.expose_secret()) => {
            return Err(BenchError::TokenMismatch { node_id: registration.node_id.clone() });
        }
        TokenSource::Legacy if !registration.has_legacy_token => {
            return Err(BenchError::TokenRequired { node_id: registration.node_id.clone() });
        }
        _ => {}
    }

    let stand_in = OtaToken::generate();
    prepare_all(registration, settings, &stand_in, &request.config_files)?;
    for path in &request.config_files {
        check_writable(path)?;
    }
    check_firmware_dir(&settings.firmware_dir)?;
    Ok(request.config_files.iter().filter_map(|path| warning_for(path)).collect())
}

/// Fails when `path` is read-only or its folder does not accept new files, because the
/// atomic write needs both and a failure after the registry change costs more.
fn check_writable(path: &Path) -> Result<(), BenchError> {
    let metadata = std::fs::metadata(path).map_err(|source| BenchError::Io {
        action: "read the permissions of",
        path: path.to_owned(),
        source,
    })?;
    if metadata.permissions().readonly() {
        return Err(BenchError::ReadOnlyFile { path: path.to_owned() });
    }
    let folder = path.parent().filter(|folder| !folder.as_os_str().is_empty()).unwrap_or(Path::new("."));
    tempfile::NamedTempFile::new_in(folder).map(drop).map_err(|source| BenchError::Io {
        action: "create a file in",
        path: folder.to_owned(),
        source,
    })
}

/// Creates the firmware folder's parent when missing and checks that it accepts new folders.
fn check_firmware_dir(firmware_dir: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(firmware_dir).map_err(|source| BenchError::Io {
        action: "create the firmware folder",
        path: firmware_dir.to_owned(),
        source,
    })?;
    tempfile::TempDir::new_in(firmware_dir).map(drop).map_err(|source| BenchError::Io {
        action: "create a folder in",
        path: firmware_dir.to_owned(),
        source,
    })
}

/// Returns a warning for files that may not be the project's `sdkconfig`.
fn warning_for(path: &Path) -> Option<String> {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    if name.starts_with("sdkconfig.defaults") {
        return Some(format!(
            "{} is a defaults file, which ESP-IDF ignores once the project has an sdkconfig; patch the sdkconfig instead",
            path.display()
        ));
    }
    let key = IDF_TARGET_KEY.parse().expect("CONFIG_IDF_TARGET is a valid key");
    let has_target = SdkConfig::read(path).ok().and_then(|config| config.get(&key)).is_some();
    (!has_target).then(|| {
        format!(
            "{} has no CONFIG_IDF_TARGET, so its chip was not checked; make sure it is the project's sdkconfig",
            path.display()
        )
    })
}

/// The credentials after the registry change.
struct Credentials {
    token: OtaToken,
    new_token: Option<OtaToken>,
    used_legacy: bool,
    previous_download_id: Option<DownloadId>,
}

impl Credentials {
    /// Returns the token that the registry no longer stores in plaintext and the caller has not seen yet:
    /// a rotated one, or a legacy one that was just erased.
    fn recoverable_token(&self) -> Option<OtaToken> {
        self.new_token.clone().or_else(|| self.used_legacy.then(|| self.token.clone()))
    }

    fn describe(&self) -> String {
        let mut changes = Vec::new();
        if self.new_token.is_some() {
            changes.push("the OTA token was rotated");
        }
        if self.used_legacy {
            changes.push("the legacy token was erased from the registry");
        }
        if self.previous_download_id.is_some() {
            changes.push("the download ID was rotated");
        }
        if changes.is_empty() {
            changes.push("nothing");
        }
        changes.join(", ")
    }
}

fn change_registry(
    registry: &dyn Registry,
    registration: &Registration,
    request: &ProvisionRequest,
) -> Result<Credentials, BenchError> {
    let node_id = &registration.node_id;
    let mut credentials = match &request.token {
        TokenSource::Provided(token) => Credentials {
            token: token.clone(),
            new_token: None,
            used_legacy: false,
            previous_download_id: None,
        },
        TokenSource::Rotate => {
            let token = registry.rotate_token(node_id)?;
            Credentials {
                token: token.clone(),
                new_token: Some(token),
                used_legacy: false,
                previous_download_id: None,
            }
        }
        TokenSource::Legacy => {
            let token = registry
                .consume_legacy_token(node_id)?
                .ok_or_else(|| BenchError::TokenRequired { node_id: node_id.clone() })?;
            tracing::warn!(%node_id, "used and erased the legacy plaintext token; keep the token and pass it explicitly from now on");
            Credentials { token, new_token: None, used_legacy: true, previous_download_id: None }
        }
    };

    if request.rotate_download_id {
        match registry.rotate_download_id(node_id) {
            Ok(_) => credentials.previous_download_id = Some(registration.download_id.clone()),
            Err(error) if credentials.new_token.is_some() || credentials.used_legacy => {
                return Err(BenchError::AfterRegistryChange {
                    source: Box::new(error.into()),
                    committed: credentials.describe(),
                    new_token: credentials.recoverable_token(),
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(credentials)
}

fn prepare_all(
    registration: &Registration,
    settings: &BenchSettings,
    token: &OtaToken,
    files: &[PathBuf],
) -> Result<Vec<PreparedPatch>, BenchError> {
    let url = manifest_url(&settings.public_url, &registration.download_id);
    files
        .iter()
        .map(|path| {
            let target_chip = target_chip_for(registration, path)?;
            let identity = NodeIdentity {
                node_id: &registration.node_id,
                ota_manifest_url: &url,
                ota_token: token,
                target_chip,
                hardware_metadata: registration.hardware_metadata.as_ref(),
            };
            Ok(prepare_identity_patch(path, &identity)?)
        })
        .collect()
}

/// Returns the registration's chip, or else the one the project is configured for.
fn target_chip_for(registration: &Registration, path: &Path) -> Result<Chip, BenchError> {
    if let Some(chip) = registration.target_chip {
        return Ok(chip);
    }
    let config = SdkConfig::read(path)?;
    let key = IDF_TARGET_KEY.parse().expect("CONFIG_IDF_TARGET is a valid key");
    match config.get(&key) {
        Some(factory_core::ConfigValue::String(target)) => Ok(target.parse()?),
        _ => Err(BenchError::NoTargetChip { node_id: registration.node_id.clone(), path: path.to_owned() }),
    }
}

/// Makes sure `<firmware dir>/<download ID>/` exists. After a download ID rotation the old
/// folder is renamed to the new one, which moves its files in one step.
fn prepare_firmware_folder(
    settings: &BenchSettings,
    registration: &Registration,
    previous_download_id: Option<&DownloadId>,
) -> Result<PathBuf, BenchError> {
    let folder = firmware_folder(&settings.firmware_dir, &registration.download_id);
    let io_error = |action, path: &Path, source| BenchError::Io { action, path: path.to_owned(), source };

    if let Some(previous) = previous_download_id {
        let old_folder = firmware_folder(&settings.firmware_dir, previous);
        if old_folder.is_dir() && !folder.exists() {
            std::fs::rename(&old_folder, &folder)
                .map_err(|error| io_error("move the firmware folder to", &folder, error))?;
            tracing::info!(from = %old_folder.display(), to = %folder.display(), "moved firmware folder");
        }
    }
    std::fs::create_dir_all(&folder)
        .map_err(|error| io_error("create the firmware folder", &folder, error))?;
    Ok(folder)
}
