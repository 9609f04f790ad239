//! Atomic writes: owner-only permissions, correct contents, no temporary file left behind, and
//! failures that leave the original file untouched.

#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::IdentityParts;
use factory_core::Chip;
use sdkconfig::{SdkConfigError, prepare_identity_patch, write_atomically};

const ORIGINAL: &str = "CONFIG_IDF_TARGET=\"esp32c3\"\nCONFIG_A=y\n";

/// Returns the sorted names of the entries in `folder`.
fn entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn project_file(mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("sdkconfig");
    fs::write(&path, ORIGINAL).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    (folder, path)
}

#[test]
fn write_atomically_sets_owner_only_mode() {
    let (folder, path) = project_file(0o644);

    write_atomically(&path, b"CONFIG_NEW=y\n").unwrap();

    assert_eq!(fs::read_to_string(&path).unwrap(), "CONFIG_NEW=y\n");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(entries(folder.path()), ["sdkconfig"]);
}

#[test]
fn write_atomically_creates_new_file() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("sdkconfig");

    write_atomically(&path, b"CONFIG_NEW=y").unwrap();

    assert_eq!(fs::read(&path).unwrap(), b"CONFIG_NEW=y");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(entries(folder.path()), ["sdkconfig"]);
}

#[test]
fn prepared_patch_write_replaces_file() {
    let (folder, path) = project_file(0o664);
    let parts = IdentityParts::with_metadata(Chip::Esp32c3);
    let patch = prepare_identity_patch(&path, &parts.identity()).unwrap();

    patch.write().unwrap();

    assert_eq!(fs::read(&path).unwrap(), patch.contents());
    assert!(String::from_utf8(fs::read(&path).unwrap()).unwrap().contains(parts.token.expose_secret()));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(entries(folder.path()), ["sdkconfig"]);
}

#[test]
fn write_into_missing_folder_fails_cleanly() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("missing").join("sdkconfig");

    let error = write_atomically(&path, b"CONFIG_NEW=y\n").unwrap_err();

    assert!(matches!(error, SdkConfigError::Write { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
    assert!(entries(folder.path()).is_empty());
}

#[test]
fn write_into_read_only_folder_fails_cleanly() {
    let (folder, path) = project_file(0o644);
    fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o555)).unwrap();

    // Root ignores folder permissions, so the check below would prove nothing there.
    let probe = folder.path().join("probe");
    if fs::write(&probe, b"").is_ok() {
        fs::remove_file(&probe).unwrap();
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: this user can write into read-only folders");
        return;
    }

    let result = write_atomically(&path, b"CONFIG_NEW=y\n");
    fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o755)).unwrap();

    let error = result.unwrap_err();
    assert!(matches!(error, SdkConfigError::Write { .. }), "{error:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), ORIGINAL);
    assert_eq!(entries(folder.path()), ["sdkconfig"]);
}

#[test]
fn failed_rename_leaves_no_temporary_file() {
    // Renaming a file over a non-empty folder fails for every user, root included, after the
    // temporary file has been written.
    let folder = tempfile::tempdir().unwrap();
    let target = folder.path().join("sdkconfig");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside"), b"kept").unwrap();

    let error = write_atomically(&target, b"CONFIG_NEW=y\n").unwrap_err();

    assert!(matches!(error, SdkConfigError::Write { .. }), "{error:?}");
    assert_eq!(entries(folder.path()), ["sdkconfig"]);
    assert_eq!(fs::read(target.join("inside")).unwrap(), b"kept");
}

#[test]
fn prepared_patch_rejects_changed_file() {
    let (folder, path) = project_file(0o644);
    let parts = IdentityParts::without_metadata(Chip::Esp32c3);
    let patch = prepare_identity_patch(&path, &parts.identity()).unwrap();
    let edited = format!("{ORIGINAL}CONFIG_EDITED=y\n");
    fs::write(&path, &edited).unwrap();

    let error = patch.write().unwrap_err();

    assert!(matches!(error, SdkConfigError::ChangedSinceRead { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
    assert_eq!(fs::read_to_string(&path).unwrap(), edited);
    assert_eq!(entries(folder.path()), ["sdkconfig"]);
}

#[test]
fn prepared_patch_fails_after_folder_removed() {
    let (folder, path) = project_file(0o644);
    let parts = IdentityParts::without_metadata(Chip::Esp32c3);
    let patch = prepare_identity_patch(&path, &parts.identity()).unwrap();
    fs::remove_dir_all(folder.path()).unwrap();

    let error = patch.write().unwrap_err();

    assert!(matches!(error, SdkConfigError::NotFound { .. }), "{error:?}");
    assert!(!folder.path().exists());
}
