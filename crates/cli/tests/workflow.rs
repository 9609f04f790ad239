//! The command-line workflow end to end: the real binary, a real SQLite file and copies of
//! real sdkconfig files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

struct Workspace {
    folder: TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace { folder: TempDir::new().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_node-factory"))
            .args(args)
            .env("NODE_FACTORY_REGISTRY", self.path("registry.sqlite3"))
            .env("FIRMWARE_DIR", self.path("firmware"))
            .env("NODE_FACTORY_PUBLIC_URL", "https://ota.example.com")
            .env_remove("NODE_FACTORY_OTA_TOKEN")
            .output()
            .unwrap()
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Everything the registry holds, for before-and-after comparisons.
    fn registry_snapshot(&self) -> String {
        self.run_ok(&["list", "--format", "json"])
    }
}

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn copy_sdkconfig(workspace: &Workspace, name: &str) -> PathBuf {
    let target = workspace.path("sdkconfig");
    std::fs::write(&target, std::fs::read(shared_data().join("sdkconfig").join(name)).unwrap()).unwrap();
    target
}

fn generate_batch(workspace: &Workspace) -> Vec<Value> {
    std::fs::write(
        workspace.path("batch-metadata.json"),
        r#"{"target": "esp32c3", "strips": [{"index": 0, "gpio": 5, "enable_gpio": 4, "leds": 60}], "site": "line \"A\" \\ 2"}"#,
    )
    .unwrap();
    let metadata = workspace.path("batch-metadata.json");
    let stdout = workspace.run_ok(&["generate", "25", "--metadata-file", metadata.to_str().unwrap()]);
    serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone()
}

#[test]
fn generate_list_provision_show() {
    let workspace = Workspace::new();
    let minted = generate_batch(&workspace);
    assert_eq!(minted.len(), 25);
    for field in [
        "node_id",
        "download_id",
        "ota_token",
        "ota_token_hash",
        "created_at",
        "target_chip",
        "hardware_metadata",
    ] {
        assert!(minted[0].get(field).is_some(), "generate output lacks {field}");
    }

    let listing = workspace.run_ok(&["list"]);
    assert_eq!(listing.lines().count(), 26, "a header and 25 rows");
    assert_eq!(listing.matches("available").count(), 25);

    let node_id = minted[3]["node_id"].as_str().unwrap();
    let token = minted[3]["ota_token"].as_str().unwrap();
    let download_id = minted[3]["download_id"].as_str().unwrap();
    let sdkconfig = copy_sdkconfig(&workspace, "esp32c3_idf4.4.1_ads1256_CRLF.sdkconfig");
    let summary = workspace.run_ok(&[
        "provision",
        node_id,
        "--config",
        sdkconfig.to_str().unwrap(),
        "--ota-token",
        token,
    ]);

    assert!(summary.contains("provisioned"), "{summary}");
    assert!(
        summary.contains(&format!("https://ota.example.com/firmware/{download_id}/manifest.json")),
        "{summary}"
    );
    assert!(workspace.path("firmware").join(download_id).is_dir());
    let patched = std::fs::read_to_string(&sdkconfig).unwrap();
    assert!(patched.contains(&format!("CONFIG_UL_NODE_ID=\"{node_id}\"\r\n")));
    assert!(patched.contains(&format!("CONFIG_UL_OTA_BEARER_TOKEN=\"{token}\"\r\n")));
    assert!(patched.contains(r#"\"site\":\"line \\\"A\\\" \\\\ 2\""#), "metadata is escaped");

    let shown = workspace.run_ok(&["show", node_id]);
    assert!(shown.contains("status:          provisioned"), "{shown}");
    let provisioned = workspace.run_ok(&["list", "--status", "provisioned", "--format", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&provisioned).unwrap().as_array().unwrap().len(), 1);
}

#[test]
fn provision_unknown_node_changes_nothing() {
    let workspace = Workspace::new();
    generate_batch(&workspace);
    let sdkconfig = copy_sdkconfig(&workspace, "esp32c3_idf4.4.1_ads1256_CRLF.sdkconfig");
    let before_file = std::fs::read(&sdkconfig).unwrap();
    let before_registry = workspace.registry_snapshot();

    let output = workspace.run(&[
        "provision",
        "zzzzzzzzzzzzzzzz",
        "--config",
        sdkconfig.to_str().unwrap(),
        "--rotate-token",
    ]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no registration has node ID zzzzzzzzzzzzzzzz"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(&sdkconfig).unwrap(), before_file);
    assert_eq!(workspace.registry_snapshot(), before_registry);
    assert!(!workspace.path("firmware").exists());
}

#[test]
fn provision_wrong_token_changes_nothing() {
    let workspace = Workspace::new();
    let minted = generate_batch(&workspace);
    let sdkconfig = copy_sdkconfig(&workspace, "esp32c3_idf4.4.1_ads1256_CRLF.sdkconfig");
    let before_file = std::fs::read(&sdkconfig).unwrap();
    let before_registry = workspace.registry_snapshot();
    let node_id = minted[0]["node_id"].as_str().unwrap();
    let other_token = minted[1]["ota_token"].as_str().unwrap();

    let output = workspace.run(&[
        "provision",
        node_id,
        "--config",
        sdkconfig.to_str().unwrap(),
        "--ota-token",
        other_token,
    ]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(!stderr.contains(other_token), "the token is not echoed");
    assert_eq!(std::fs::read(&sdkconfig).unwrap(), before_file);
    assert_eq!(workspace.registry_snapshot(), before_registry);
}

#[test]
fn provision_target_mismatch_changes_nothing() {
    let workspace = Workspace::new();
    let minted = generate_batch(&workspace);
    let sdkconfig = copy_sdkconfig(&workspace, "esp32s3_idf5.3.1_fridge_calendar.sdkconfig");
    let before_file = std::fs::read(&sdkconfig).unwrap();
    let before_registry = workspace.registry_snapshot();
    let node_id = minted[0]["node_id"].as_str().unwrap();

    let output =
        workspace.run(&["provision", node_id, "--config", sdkconfig.to_str().unwrap(), "--rotate-token"]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("esp32s3") && stderr.contains("esp32c3") && stderr.contains("idf.py set-target"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&sdkconfig).unwrap(), before_file);
    assert_eq!(workspace.registry_snapshot(), before_registry);
}

#[test]
fn provision_rotations_print_new_token_and_move_folder() {
    let workspace = Workspace::new();
    let minted = generate_batch(&workspace);
    let node_id = minted[0]["node_id"].as_str().unwrap();
    let old_download = minted[0]["download_id"].as_str().unwrap();
    let old_folder = workspace.path("firmware").join(old_download);
    std::fs::create_dir_all(&old_folder).unwrap();
    std::fs::write(old_folder.join("latest.bin"), b"image").unwrap();
    let sdkconfig = copy_sdkconfig(&workspace, "esp32c3_idf4.4.1_ads1256_CRLF.sdkconfig");

    let summary = workspace.run_ok(&[
        "provision",
        node_id,
        "--config",
        sdkconfig.to_str().unwrap(),
        "--rotate-token",
        "--rotate-download",
        "--no-mark-provisioned",
    ]);

    let new_token = summary.lines().find_map(|line| line.strip_prefix("new OTA token:")).unwrap().trim();
    assert!(new_token.starts_with("ulota_"));
    assert!(std::fs::read_to_string(&sdkconfig).unwrap().contains(new_token));
    let shown: Value =
        serde_json::from_str(&workspace.run_ok(&["show", node_id, "--format", "json"])).unwrap();
    let new_download = shown["registration"]["download_id"].as_str().unwrap();
    assert_ne!(new_download, old_download);
    assert_eq!(shown["status"], "available");
    assert!(!old_folder.exists());
    assert_eq!(
        std::fs::read(workspace.path("firmware").join(new_download).join("latest.bin")).unwrap(),
        b"image"
    );

    let old_token = minted[0]["ota_token"].as_str().unwrap();
    let again = workspace.run(&[
        "provision",
        node_id,
        "--config",
        sdkconfig.to_str().unwrap(),
        "--ota-token",
        old_token,
    ]);
    assert_eq!(again.status.code(), Some(2), "the old token stopped working");
}

#[test]
fn provision_read_only_file_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;

    let workspace = Workspace::new();
    let minted = generate_batch(&workspace);
    let sdkconfig = copy_sdkconfig(&workspace, "esp32c3_idf4.4.1_ads1256_CRLF.sdkconfig");
    std::fs::set_permissions(&sdkconfig, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before_registry = workspace.registry_snapshot();
    let node_id = minted[0]["node_id"].as_str().unwrap();

    let output =
        workspace.run(&["provision", node_id, "--config", sdkconfig.to_str().unwrap(), "--rotate-token"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is read-only"));
    assert_eq!(workspace.registry_snapshot(), before_registry, "the token was not rotated");
}

#[test]
fn provision_warns_about_file_without_target() {
    let workspace = Workspace::new();
    let minted = generate_batch(&workspace);
    let notes = workspace.path("notes.txt");
    std::fs::write(&notes, "CONFIG_FOO=y\n").unwrap();
    let node_id = minted[0]["node_id"].as_str().unwrap();
    let token = minted[0]["ota_token"].as_str().unwrap();

    let output =
        workspace.run(&["provision", node_id, "--config", notes.to_str().unwrap(), "--ota-token", token]);

    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning: ") && stderr.contains("has no CONFIG_IDF_TARGET"), "{stderr}");
}

#[test]
fn read_commands_need_existing_registry() {
    let workspace = Workspace::new();

    let output = workspace.run(&["list"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
    assert!(!workspace.path("registry.sqlite3").exists());
}

#[test]
fn generate_rejects_bad_input() {
    let workspace = Workspace::new();
    std::fs::write(workspace.path("three.json"), "[{}, {}, {}]").unwrap();
    let three = workspace.path("three.json");

    let cases: [(&[&str], &str); 4] = [
        (&["generate", "0"], "0"),
        (&["generate", "-3"], "-3"),
        (&["generate", "2", "--target", "esp8266"], "esp8266"),
        (&["generate", "2", "--metadata-file", three.to_str().unwrap()], "list of 3 objects"),
    ];
    for (args, expected) in cases {
        let output = workspace.run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!workspace.path("registry.sqlite3").exists() || workspace.registry_snapshot().trim() == "[]");

    std::fs::write(workspace.path("pins.json"), r#"{"strips": [{"index": 0, "gpio": 22}]}"#).unwrap();
    let pins = workspace.path("pins.json");
    let output =
        workspace.run(&["generate", "1", "--target", "esp32c3", "--metadata-file", pins.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("GPIO0 to GPIO21"));
}

#[test]
fn generate_csv_is_spreadsheet_safe() {
    let workspace = Workspace::new();
    std::fs::write(workspace.path("meta.json"), r#"{"label": "=HYPERLINK(\"x\")"}"#).unwrap();
    let metadata = workspace.path("meta.json");

    let csv = workspace.run_ok(&[
        "generate",
        "2",
        "--format",
        "csv",
        "--metadata-file",
        metadata.to_str().unwrap(),
    ]);

    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("node_id,download_id,ota_token,ota_token_hash,created_at,target_chip,hardware_metadata")
    );
    assert_eq!(lines.count(), 2);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        assert!(
            record[2].starts_with("ulota_") || record[2].starts_with("'-"),
            "token cell {:?}",
            &record[2]
        );
        for cell in record.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "unsafe cell {cell:?}");
        }
    }
}
