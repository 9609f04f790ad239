//! Provisioning: writing a registration's identity into `sdkconfig` files.
//!
//! The order is what keeps a failure harmless. First the operator's permissions, every input
//! and every file are checked, with nothing changed. Then the registry changes (token and
//! download ID rotation). Then the files are written, and last the registration is marked
//! provisioned. When a step after the first write fails, every written file gets its original
//! bytes back. A failure after the registry changed returns the new token inside the error,
//! because it exists nowhere else.
//!
//! With a registry server, the server is the authority on the public URL written into the
//! firmware and on the firmware folders, so this workflow creates and moves no local folder.

use std::path::{Path, PathBuf};

use chrono::Utc;
use factory_core::{Chip, DownloadId, NodeId, OtaToken, Registration, firmware_folder, manifest_url};
use registry::{Permission, Registry};
use sdkconfig::{NodeIdentity, PreparedPatch, SdkConfig, prepare_identity_patch};

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
    /// `<firmware dir>/<download ID>/` on this computer, or `None` with a registry server,
    /// which keeps the firmware folders itself.
    pub firmware_folder: Option<PathBuf>,
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
    registry.check_permissions(&required_permissions(request))?;
    let target = Target::of(registry, settings)?;
    let registration = registry.get(&request.node_id)?;
    let mut warnings = check_inputs(&registration, &target, request)?;
    warnings.extend(target.warning.clone());

    let credentials = change_registry(registry, &registration, request)?;
    let after_change = |error: BenchError| BenchError::AfterRegistryChange {
        source: Box::new(error),
        committed: credentials.describe(),
        new_token: credentials.recoverable_token(),
    };

    let registration = registry.get(&request.node_id).map_err(|error| after_change(error.into()))?;
    let patches = prepare_all(&registration, &target.public_url, &credentials.token, &request.config_files)
        .map_err(after_change)?;
    let mut written = WrittenFiles::default();
    let finished =
        write_and_finish(registry, request, &registration, &target, &credentials, &patches, &mut written);
    let (registration, folder) = match finished {
        Ok(finished) => finished,
        Err(error) => {
            written.restore();
            return Err(after_change(error));
        }
    };
    tracing::info!(node_id = %request.node_id, files = patches.len(), "provisioned sdkconfig files");

    Ok(ProvisionOutcome {
        manifest_url: manifest_url(&target.public_url, &registration.download_id),
        registration,
        new_token: credentials.new_token,
        used_legacy_token: credentials.used_legacy,
        patched_files: patches.iter().map(|patch| patch.path().to_owned()).collect(),
        firmware_folder: folder,
        previous_download_id: credentials.previous_download_id,
        warnings,
    })
}

/// Returns the permissions a provisioning request needs, so that a registry server can refuse
/// it before anything changes.
pub fn required_permissions(request: &ProvisionRequest) -> Vec<Permission> {
    let mut needed = vec![Permission::Read];
    match request.token {
        TokenSource::Provided(_) => {}
        TokenSource::Rotate => needed.push(Permission::Rotate),
        TokenSource::Legacy => needed.push(Permission::Provision),
    }
    if request.rotate_download_id {
        needed.push(Permission::Rotate);
    }
    if request.mark_provisioned {
        needed.push(Permission::Provision);
    }
    needed.dedup();
    needed
}

/// Where the firmware will look for updates, and where its folder lives.
struct Target {
    public_url: String,
    /// The local folder of `<download ID>/` folders, or `None` with a registry server.
    firmware_dir: Option<PathBuf>,
    /// Set when the settings name another public URL than the registry server.
    warning: Option<String>,
}

impl Target {
    fn of(registry: &dyn Registry, settings: &BenchSettings) -> Result<Target, BenchError> {
        let Some(server) = registry.server_info()? else {
            return Ok(Target {
                public_url: settings.public_url.clone(),
                firmware_dir: Some(settings.firmware_dir.clone()),
                warning: None,
            });
        };
        let warning = (settings.public_url != server.public_url).then(|| {
            format!(
                "the registry server's public URL {} is written into the firmware, not {}, because nodes download from the server",
                server.public_url, settings.public_url
            )
        });
        Ok(Target { public_url: server.public_url, firmware_dir: None, warning })
    }
}

/// Writes the files, prepares the local firmware folder and marks the registration
/// provisioned: the steps after which a failure restores the written files.
fn write_and_finish(
    registry: &dyn Registry,
    request: &ProvisionRequest,
    registration: &Registration,
    target: &Target,
    credentials: &Credentials,
    patches: &[PreparedPatch],
    written: &mut WrittenFiles,
) -> Result<(Registration, Option<PathBuf>), BenchError> {
    for patch in patches {
        written.write(patch)?;
    }
    let folder = match &target.firmware_dir {
        Some(firmware_dir) => Some(prepare_firmware_folder(
            firmware_dir,
            registration,
            credentials.previous_download_id.as_ref(),
        )?),
        None => None,
    };
    let registration = if request.mark_provisioned {
        registry.mark_provisioned(&request.node_id, Utc::now())?
    } else {
        registration.clone()
    };
    Ok((registration, folder))
}

/// The files written so far, with the bytes and permissions they had before.
#[derive(Default)]
struct WrittenFiles {
    originals: Vec<(PathBuf, Vec<u8>, std::fs::Permissions)>,
}

impl WrittenFiles {
    fn write(&mut self, patch: &PreparedPatch) -> Result<(), BenchError> {
        let path = patch.path();
        let io_error = |source| BenchError::Io { action: "read", path: path.to_owned(), source };
        let bytes = std::fs::read(path).map_err(io_error)?;
        let permissions = std::fs::metadata(path).map_err(io_error)?.permissions();
        patch.write()?;
        self.originals.push((path.to_owned(), bytes, permissions));
        Ok(())
    }

    /// Puts the original bytes back, newest write first. A file that cannot be restored is
    /// logged, because the error being returned matters more.
    fn restore(self) {
        for (path, bytes, permissions) in self.originals.into_iter().rev() {
            let restored =
                sdkconfig::write_atomically(&path, &bytes).map_err(|error| error.to_string()).and_then(
                    |()| std::fs::set_permissions(&path, permissions).map_err(|error| error.to_string()),
                );
            match restored {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "restored the file after a failed provisioning step")
                }
                Err(error) => tracing::error!(
                    path = %path.display(),
                    %error,
                    "cannot restore the file after a failed provisioning step; it still holds the new identity"
                ),
            }
        }
    }
}

/// Checks everything that can be checked without changing anything: the token, that every
/// file and folder to be written is writable, and a trial patch of every file with stand-in
/// credentials of the same shape as the real ones. Returns warnings for the operator.
fn check_inputs(
    registration: &Registration,
    target: &Target,
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
    prepare_all(registration, &target.public_url, &stand_in, &request.config_files)?;
    for path in &request.config_files {
        check_writable(path)?;
    }
    if let Some(firmware_dir) = &target.firmware_dir {
        check_firmware_dir(firmware_dir)?;
    }
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
    let has_target = SdkConfig::read(path).ok().and_then(|config| config.idf_target()).is_some();
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
    public_url: &str,
    token: &OtaToken,
    files: &[PathBuf],
) -> Result<Vec<PreparedPatch>, BenchError> {
    let url = manifest_url(public_url, &registration.download_id);
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
    match SdkConfig::read(path)?.idf_target() {
        Some(target) => Ok(target.parse()?),
        None => {
            Err(BenchError::NoTargetChip { node_id: registration.node_id.clone(), path: path.to_owned() })
        }
    }
}

/// Makes sure `<firmware dir>/<download ID>/` exists. After a download ID rotation the old
/// folder is renamed to the new one, which moves its files in one step.
///
/// NOTE: the embedded registry commits the rotation before the folder moves, because the
/// `Registry` trait has no step between the two. A failed move is reported with both folders
/// so the operator can move the files by hand; the registry server moves first instead.
fn prepare_firmware_folder(
    firmware_dir: &Path,
    registration: &Registration,
    previous_download_id: Option<&DownloadId>,
) -> Result<PathBuf, BenchError> {
    let folder = firmware_folder(firmware_dir, &registration.download_id);

    if let Some(previous) = previous_download_id {
        let old_folder = firmware_folder(firmware_dir, previous);
        if old_folder.is_dir() && !folder.exists() {
            std::fs::rename(&old_folder, &folder).map_err(|source| {
                tracing::error!(from = %old_folder.display(), to = %folder.display(), %source, "cannot move the firmware folder");
                BenchError::FirmwareMoveFailed { from: old_folder.clone(), to: folder.clone(), source }
            })?;
            tracing::info!(from = %old_folder.display(), to = %folder.display(), "moved firmware folder");
        }
    }
    std::fs::create_dir_all(&folder).map_err(|source| BenchError::Io {
        action: "create the firmware folder",
        path: folder.clone(),
        source,
    })?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use factory_core::Chip;
    use registry::{MintRequest, NodeMetadata, SqliteRegistry};

    use super::*;

    const SDKCONFIG: &str = "# comment\r\nCONFIG_IDF_TARGET=\"esp32c3\"\r\nCONFIG_FREERTOS_HZ=100\r\n";

    #[test]
    fn failed_marking_restores_files_and_keeps_token() {
        let folder = tempfile::TempDir::new().unwrap();
        let registry = SqliteRegistry::open(&folder.path().join("registry.sqlite3")).unwrap();
        let request = MintRequest {
            count: 1,
            target_chip: Some(Chip::Esp32c3),
            metadata: NodeMetadata::None,
            idempotency_key: None,
        };
        let minted = registry.mint_batch(&request).unwrap().remove(0);
        let node_id = minted.registration.node_id.clone();
        // A trigger makes the last step, marking the registration provisioned, fail.
        registry.with_connection(|connection| {
            connection
                .execute_batch(
                    "CREATE TRIGGER refuse_marking BEFORE UPDATE OF provisioned_at ON node_registrations \
                     BEGIN SELECT RAISE(ABORT, 'marking refused'); END;",
                )
                .unwrap()
        });
        let files = [folder.path().join("a.sdkconfig"), folder.path().join("b.sdkconfig")];
        for file in &files {
            std::fs::write(file, SDKCONFIG).unwrap();
        }
        let settings = BenchSettings {
            firmware_dir: folder.path().join("firmware"),
            public_url: "https://ota.example".to_owned(),
        };
        let request = ProvisionRequest {
            node_id: node_id.clone(),
            config_files: files.to_vec(),
            token: TokenSource::Rotate,
            rotate_download_id: false,
            mark_provisioned: true,
        };

        let error = provision(&registry, &settings, &request).unwrap_err();

        assert!(error.to_string().contains("marking refused"), "{error}");
        for file in &files {
            assert_eq!(std::fs::read_to_string(file).unwrap(), SDKCONFIG, "{} was restored", file.display());
        }
        let token = error.recovered_token().expect("the rotated token travels with the error");
        assert!(registry.get(&node_id).unwrap().token_hash.matches(token.expose_secret()));
        assert_eq!(registry.get(&node_id).unwrap().provisioned_at, None);
    }

    #[test]
    fn permissions_follow_request() {
        let request = |token, rotate_download_id, mark_provisioned| ProvisionRequest {
            node_id: NodeId::generate(),
            config_files: Vec::new(),
            token,
            rotate_download_id,
            mark_provisioned,
        };
        let provided = TokenSource::Provided(OtaToken::generate());
        assert_eq!(required_permissions(&request(provided.clone(), false, false)), [Permission::Read]);
        assert_eq!(
            required_permissions(&request(provided, false, true)),
            [Permission::Read, Permission::Provision]
        );
        assert_eq!(
            required_permissions(&request(TokenSource::Rotate, true, true)),
            [Permission::Read, Permission::Rotate, Permission::Provision]
        );
        assert_eq!(
            required_permissions(&request(TokenSource::Legacy, false, true)),
            [Permission::Read, Permission::Provision]
        );
    }
}
