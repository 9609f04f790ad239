//! Atomic, owner-only file writes for files that contain secrets.

use std::io::Write;
use std::path::Path;

use crate::SdkConfigError;

/// Replaces the file at `path` with `contents` so that readers see either the old or the new
/// file, never a part of it.
///
/// The contents go to a temporary file in the same folder, created with owner-only permissions
/// (0600 on Unix) because an sdkconfig with an identity contains the OTA token. The temporary file
/// is flushed to disk and then renamed over `path`. On any error the temporary file is deleted
/// and `path` is left as it was. The new file does not keep the old file's permissions.
// NOTE: when `path` is a symbolic link, the rename replaces the link with a regular file.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), SdkConfigError> {
    let write_error = |source| SdkConfigError::Write { path: path.to_owned(), source };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };

    let mut builder = tempfile::Builder::new();
    builder.prefix(".sdkconfig-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }

    // Dropping `temporary` on an early return deletes the file.
    let mut temporary = builder.tempfile_in(folder).map_err(write_error)?;
    temporary.write_all(contents).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary.persist(path).map_err(|error| write_error(error.error))?;

    // Syncing the folder makes the rename itself survive a power loss. The new file is already in
    // place at this point, so a failure here is not reported as a failed write.
    #[cfg(unix)]
    if let Ok(folder) = std::fs::File::open(folder) {
        let _ = folder.sync_all();
    }
    Ok(())
}
