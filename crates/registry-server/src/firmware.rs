//! The server's firmware folders: `<firmware dir>/<download ID>/` follows its registration's
//! download ID, and exists once the registration is provisioned.

use std::path::{Path, PathBuf};

use factory_core::{DownloadId, firmware_folder};
use registry::RegistryError;

/// A folder that [`move_folder`] renamed, so that a failed commit can move it back.
pub struct MovedFolder {
    from: PathBuf,
    to: PathBuf,
}

/// Renames the folder of `old` to the folder of `new` in one step, when it exists. A failure
/// is logged with both folders and returned naming both.
pub fn move_folder(
    firmware_dir: &Path,
    old: &DownloadId,
    new: &DownloadId,
) -> Result<Option<MovedFolder>, RegistryError> {
    let from = firmware_folder(firmware_dir, old);
    let to = firmware_folder(firmware_dir, new);
    if !from.exists() {
        return Ok(None);
    }
    match std::fs::rename(&from, &to) {
        Ok(()) => {
            tracing::info!(from = %from.display(), to = %to.display(), "moved firmware folder");
            Ok(Some(MovedFolder { from, to }))
        }
        Err(error) => {
            tracing::error!(from = %from.display(), to = %to.display(), %error, "cannot move the firmware folder; the download ID is not rotated");
            Err(RegistryError::FirmwareMoveFailed {
                from: from.display().to_string(),
                to: to.display().to_string(),
                detail: error.to_string(),
            })
        }
    }
}

impl MovedFolder {
    /// Moves the folder back after the rotation it belonged to failed to commit.
    pub fn undo(self) {
        match std::fs::rename(&self.to, &self.from) {
            Ok(()) => tracing::info!(folder = %self.from.display(), "moved the firmware folder back"),
            Err(error) => tracing::error!(
                from = %self.to.display(),
                to = %self.from.display(),
                %error,
                "cannot move the firmware folder back after a failed rotation; move it by hand"
            ),
        }
    }
}

/// Makes sure `<firmware dir>/<download ID>/` exists, where the operator publishes the node's
/// OTA files.
pub fn ensure_folder(firmware_dir: &Path, download_id: &DownloadId) -> Result<PathBuf, RegistryError> {
    let folder = firmware_folder(firmware_dir, download_id);
    std::fs::create_dir_all(&folder).map_err(|source| {
        tracing::error!(folder = %folder.display(), error = %source, "cannot create the firmware folder");
        RegistryError::FileAccess {
            action: "create the firmware folder",
            path: folder.display().to_string(),
            source,
        }
    })?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_folder_renames_with_files() {
        let dir = tempfile::TempDir::new().unwrap();
        let (old, new) = (DownloadId::generate(), DownloadId::generate());
        std::fs::create_dir(firmware_folder(dir.path(), &old)).unwrap();
        std::fs::write(firmware_folder(dir.path(), &old).join("latest.bin"), b"image").unwrap();

        let moved = move_folder(dir.path(), &old, &new).unwrap().expect("the folder existed");

        assert_eq!(std::fs::read(firmware_folder(dir.path(), &new).join("latest.bin")).unwrap(), b"image");
        assert!(!firmware_folder(dir.path(), &old).exists());
        moved.undo();
        assert!(firmware_folder(dir.path(), &old).join("latest.bin").is_file());
    }

    #[test]
    fn move_folder_failure_names_both_folders() {
        let dir = tempfile::TempDir::new().unwrap();
        let (old, new) = (DownloadId::generate(), DownloadId::generate());
        std::fs::create_dir(firmware_folder(dir.path(), &old)).unwrap();
        // A non-empty folder in the way makes the rename fail, even for root.
        std::fs::create_dir(firmware_folder(dir.path(), &new)).unwrap();
        std::fs::write(firmware_folder(dir.path(), &new).join("other.bin"), b"x").unwrap();

        let error = move_folder(dir.path(), &old, &new).err().expect("the rename fails");

        let message = error.to_string();
        assert_eq!(error.code(), "firmware_move_failed");
        assert!(message.contains(old.as_str()) && message.contains(new.as_str()), "{message}");
        assert!(firmware_folder(dir.path(), &old).is_dir(), "the old folder stays");
    }

    #[test]
    fn missing_folder_is_not_moved() {
        let dir = tempfile::TempDir::new().unwrap();
        assert!(move_folder(dir.path(), &DownloadId::generate(), &DownloadId::generate()).unwrap().is_none());
    }
}
