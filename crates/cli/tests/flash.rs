//! `node-factory flash` and `sim-board` end to end: the real binary, a real SQLite file and a
//! simulated board on a real pseudo-terminal.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rom_sim::{BoardConfig, Fault, SimBoard, SimChip};
use serde_json::Value;
use tempfile::TempDir;

fn node_factory(folder: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_node-factory"))
        .args(args)
        .env("NODE_FACTORY_REGISTRY", folder.path().join("registry.sqlite3"))
        .env("FIRMWARE_DIR", folder.path().join("firmware"))
        .output()
        .unwrap()
}

fn mint_one(folder: &TempDir, chip: &str) -> String {
    let output = node_factory(folder, &["generate", "1", "--target", chip]);
    assert!(output.status.success());
    let minted: Value = serde_json::from_slice(&output.stdout).unwrap();
    minted[0]["node_id"].as_str().unwrap().to_owned()
}

fn elf(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/firmware").join(name)
}

#[test]
fn flash_records_mac_and_provisions() {
    let folder = TempDir::new().unwrap();
    let node_id = mint_one(&folder, "esp32s3");
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32s3)).unwrap();
    let port = board.port_path().to_str().unwrap();

    let output = node_factory(
        &folder,
        &[
            "flash",
            &node_id,
            "--port",
            port,
            "--elf",
            elf("esp32s3.elf").to_str().unwrap(),
            "--reset",
            "none",
            "--erase-all",
        ],
    );

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mac = board.mac().iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":");
    assert!(stdout.contains(&format!("MAC:          {mac}")), "{stdout}");
    assert!(stdout.contains("status:       provisioned"), "{stdout}");
    let shown = node_factory(&folder, &["show", &node_id]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("success"), "{shown}");
    assert!(shown.contains(&mac), "{shown}");
}

#[test]
fn flash_wrong_chip_exits_one_with_hint() {
    let folder = TempDir::new().unwrap();
    let node_id = mint_one(&folder, "esp32s3");
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let port = board.port_path().to_str().unwrap();

    let output = node_factory(
        &folder,
        &[
            "flash",
            &node_id,
            "--port",
            port,
            "--image",
            &format!("0x10000:{}", elf("esp32s3.elf").display()),
            "--reset",
            "none",
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ESP32-C3"), "{stderr}");
    assert!(stderr.contains("ESP32-S3"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    let shown = String::from_utf8_lossy(&node_factory(&folder, &["show", &node_id]).stdout).into_owned();
    assert!(shown.contains("status:          available"), "{shown}");
    assert!(shown.contains("failed"), "{shown}");
    assert!(shown.contains("wrong_chip"), "{shown}");
}

#[test]
fn flash_missing_image_exits_two_and_touches_nothing() {
    let folder = TempDir::new().unwrap();
    let node_id = mint_one(&folder, "esp32c3");
    let mut config = BoardConfig::new(SimChip::Esp32c3);
    config.faults = vec![Fault::Silent];
    let board = SimBoard::start(config).unwrap();

    let output = node_factory(
        &folder,
        &[
            "flash",
            &node_id,
            "--port",
            board.port_path().to_str().unwrap(),
            "--image",
            "0x10000:/nonexistent/app.bin",
            "--reset",
            "none",
        ],
    );

    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/app.bin"));
    assert!(board.command_log().is_empty());
}

#[test]
fn flash_pty_with_auto_reset_suggests_none() {
    let folder = TempDir::new().unwrap();
    let node_id = mint_one(&folder, "esp32c3");
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();

    let output = node_factory(
        &folder,
        &[
            "flash",
            &node_id,
            "--port",
            board.port_path().to_str().unwrap(),
            "--elf",
            elf("esp32c3.elf").to_str().unwrap(),
        ],
    );

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pass --reset none"), "{stderr}");
}

#[test]
fn sim_board_prints_port_first() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_node-factory"))
        .args(["sim-board", "--chip", "esp32c3", "--flash-size", "8MB", "--fault", "corrupt-flash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(first_line.starts_with("/dev/pts/"), "{first_line:?}");
}
