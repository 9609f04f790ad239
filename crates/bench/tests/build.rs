//! Building with the stand-in `idf.py`, which behaves like ESP-IDF's: it reads the job's
//! sdkconfig, prints a build log, writes a build folder and fails on a broken sdkconfig.

use std::path::{Path, PathBuf};

use bench::build::{BuildFolder, find_idf, run_build};
use factory_core::{Chip, NodeId};
use tempfile::TempDir;

fn stand_in_idf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/idf.py")
}

fn project_with_sdkconfig(folder: &TempDir, sdkconfig: &str) -> PathBuf {
    let project = folder.path().join("ultranode");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("sdkconfig"), sdkconfig).unwrap();
    project
}

#[test]
fn build_writes_flasher_args_and_streams_log() {
    let folder = TempDir::new().unwrap();
    let project =
        project_with_sdkconfig(&folder, "CONFIG_IDF_TARGET=\"esp32c3\"\nCONFIG_UL_NODE_ID=\"abc\"\n");
    let node_id: NodeId = "abcdefgh12345678".parse().unwrap();
    let tool = find_idf(Some(&stand_in_idf())).unwrap();
    let job = BuildFolder::create(&folder.path().join("jobs"), &project, &node_id, Chip::Esp32c3).unwrap();
    let mut lines = Vec::new();

    run_build(&tool, &project, &job, Chip::Esp32c3, &mut |line| lines.push(line.to_owned())).unwrap();

    assert!(job.build_dir.join("flasher_args.json").is_file());
    assert!(lines.iter().any(|line| line.contains("Project build complete")), "{lines:?}");
    assert!(job.root.file_name().unwrap().to_str().unwrap().starts_with("abcdefgh12345678-"));
    assert_eq!(std::fs::read(project.join("sdkconfig")).unwrap(), std::fs::read(&job.sdkconfig).unwrap());

    job.remove();
    assert!(!job.root.exists());
}

#[test]
fn build_folder_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let folder = TempDir::new().unwrap();
    let project = project_with_sdkconfig(&folder, "CONFIG_IDF_TARGET=\"esp32\"\n");
    let job = BuildFolder::create(
        &folder.path().join("jobs"),
        &project,
        &"abcdefgh12345678".parse().unwrap(),
        Chip::Esp32,
    )
    .unwrap();

    let mode = std::fs::metadata(&job.root).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn project_without_sdkconfig_starts_from_target() {
    let folder = TempDir::new().unwrap();
    let project = folder.path().join("empty-project");
    std::fs::create_dir_all(&project).unwrap();

    let job = BuildFolder::create(
        &folder.path().join("jobs"),
        &project,
        &"abcdefgh12345678".parse().unwrap(),
        Chip::Esp32s3,
    )
    .unwrap();

    assert_eq!(std::fs::read_to_string(&job.sdkconfig).unwrap(), "CONFIG_IDF_TARGET=\"esp32s3\"\n");
}

#[test]
fn broken_sdkconfig_fails_with_last_lines() {
    let folder = TempDir::new().unwrap();
    let project = project_with_sdkconfig(&folder, "CONFIG_IDF_TARGET=\"esp32c3\"\nthis line is garbage\n");
    let tool = find_idf(Some(&stand_in_idf())).unwrap();
    let job = BuildFolder::create(
        &folder.path().join("jobs"),
        &project,
        &"abcdefgh12345678".parse().unwrap(),
        Chip::Esp32c3,
    )
    .unwrap();

    let error = run_build(&tool, &project, &job, Chip::Esp32c3, &mut |_| {}).unwrap_err();

    assert_eq!(error.code(), "build_failed");
    let message = error.to_string();
    assert!(message.contains("exit status 2"), "{message}");
    assert!(message.contains("malformed sdkconfig line"), "{message}");
    assert!(!job.build_dir.join("flasher_args.json").exists());
}

#[test]
fn target_mismatch_fails_build() {
    let folder = TempDir::new().unwrap();
    let project = project_with_sdkconfig(&folder, "CONFIG_IDF_TARGET=\"esp32s3\"\n");
    let tool = find_idf(Some(&stand_in_idf())).unwrap();
    let job = BuildFolder::create(
        &folder.path().join("jobs"),
        &project,
        &"abcdefgh12345678".parse().unwrap(),
        Chip::Esp32s3,
    )
    .unwrap();

    let error = run_build(&tool, &project, &job, Chip::Esp32c3, &mut |_| {}).unwrap_err();

    assert!(error.to_string().contains("set-target esp32c3"), "{error}");
}

#[test]
fn missing_idf_names_places_searched() {
    let folder = TempDir::new().unwrap();

    let error = find_idf(Some(&folder.path().join("no-esp-idf"))).err();

    // The machine running the tests may have idf.py on PATH; only without it is this an error.
    if let Some(error) = error {
        assert_eq!(error.code(), "idf_not_found");
        assert!(error.to_string().contains("no-esp-idf/tools/idf.py"), "{error}");
        assert!(error.to_string().contains("export.sh"), "{error}");
    }
}
