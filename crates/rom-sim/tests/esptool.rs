//! The real esptool (Python, installed with `pip install esptool`) talks to simulated boards as
//! an independent second client, with and without its flasher stub.

mod common;

use std::path::Path;
use std::process::Command as Process;

use common::*;
use rom_sim::{BoardConfig, Command, LoaderState, SimBoard, SimChip};

const MIB: u32 = 1024 * 1024;

/// The installed esptool and the spelling its major version uses for options and commands.
struct Esptool {
    major: u32,
}

impl Esptool {
    /// Finds esptool, failing the test with an install hint when it is missing.
    fn find() -> Esptool {
        let output =
            Process::new("python3").args(["-m", "esptool", "version"]).output().unwrap_or_else(|e| {
                panic!("failed to run python3 ({e}); install Python 3 and run `pip install esptool`")
            });
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "esptool is not installed: run `pip install esptool` ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let version = text.lines().last().unwrap_or_default().trim().to_owned();
        let major = version
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .unwrap_or_else(|| panic!("unexpected `esptool version` output: {text}"));
        Esptool { major }
    }

    /// Returns a command or option value in the spelling of this version: esptool 5 uses
    /// dashes (`write-flash`, `no-reset`), esptool 4 underscores.
    fn spell(&self, name: &str) -> String {
        if self.major >= 5 { name.to_owned() } else { name.replace('-', "_") }
    }

    /// Runs one esptool command against the board and returns its combined output. The board
    /// is never reset, because a pseudo-terminal has no DTR or RTS lines.
    fn run(&self, board: &SimBoard, use_stub: bool, command: &str, args: &[&str]) -> String {
        let mut process = Process::new("python3");
        process
            .args(["-m", "esptool", "--port"])
            .arg(board.port_path())
            .args(["--before", &self.spell("no-reset")])
            .args(["--after", &self.spell("no-reset")]);
        if !use_stub {
            process.arg("--no-stub");
        }
        process.arg(self.spell(command)).args(args);

        let output = process.output().expect("python3 runs");
        let text =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(
            output.status.success(),
            "esptool {command} failed on {} ({}):\n{text}",
            board.chip(),
            if use_stub { "stub" } else { "ROM" }
        );
        text
    }
}

fn esptool_chip_name(chip: SimChip) -> &'static str {
    match chip {
        SimChip::Esp32 => "ESP32",
        SimChip::Esp32c3 => "ESP32-C3",
        SimChip::Esp32s3 => "ESP32-S3",
    }
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

fn write_file(dir: &Path, name: &str, data: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path.to_string_lossy().into_owned()
}

/// Reads the chip type, MAC and flash ID, writes two images and verifies them, then compares
/// the simulated flash with the files.
fn esptool_round_trip(chip: SimChip, use_stub: bool) {
    let esptool = Esptool::find();
    let mut config = BoardConfig::new(chip);
    config.flash_size = 8 * MIB;
    config.mac = [0x02, 0x11, 0x22, 0x33, 0x44, chip as u8];
    let board = SimBoard::start(config.clone()).unwrap();

    let output = esptool.run(&board, use_stub, "chip-id", &[]);
    let detected =
        output.lines().find_map(|line| line.trim().strip_prefix("Detecting chip type...")).map(str::trim);
    assert_eq!(detected, Some(esptool_chip_name(chip)), "{output}");

    let output = esptool.run(&board, use_stub, "read-mac", &[]);
    assert!(output.contains(&format!("MAC:                {}", mac_string(config.mac))), "{output}");

    let output = esptool.run(&board, use_stub, "flash-id", &[]);
    assert!(output.contains("Manufacturer: ef"), "{output}");
    assert!(output.contains("Device: 4017"), "{output}");
    assert!(output.contains("Detected flash size: 8MB"), "{output}");

    let dir = tempfile::tempdir().unwrap();
    let table = partition_table();
    let random = incompressible(30_000, chip as u64 + 11);
    let table_path = write_file(dir.path(), "partitions.bin", &table);
    let random_path = write_file(dir.path(), "random.bin", &random);
    let files = ["0x8000", table_path.as_str(), "0x10000", random_path.as_str()];

    let output = esptool.run(&board, use_stub, "write-flash", &files);
    assert_eq!(count(&output, "Hash of data verified."), 2, "{output}");
    assert_eq!(board.read_flash(0x8000, table.len() as u32), table);
    assert_eq!(board.read_flash(0x10000, random.len() as u32), random);

    let output = esptool.run(&board, use_stub, "verify-flash", &files);
    assert_eq!(count(&output, "Verification successful (digest matched)."), 2, "{output}");

    // The ROM reads 64 bytes per READ_FLASH_SLOW; the stub streams READ_FLASH blocks.
    let read_path = dir.path().join("read.bin");
    let read_arg = read_path.to_string_lossy().into_owned();
    esptool.run(&board, use_stub, "read-flash", &["0x10000", "1000", read_arg.as_str()]);
    assert_eq!(std::fs::read(&read_path).unwrap(), random[..1000]);

    // With the stub, esptool's no-reset exit reboots the stub back into the ROM.
    assert_eq!(board.state(), LoaderState::Rom);
    let log = board.command_log();
    let stub_used = log.iter().any(|entry| entry.state == LoaderState::Stub);
    assert_eq!(stub_used, use_stub);
    let compressed = log.iter().any(|entry| entry.command == Command::FlashDeflData);
    assert_eq!(compressed, use_stub, "esptool compresses only for the stub");
}

#[test]
fn esptool_esp32_stub() {
    esptool_round_trip(SimChip::Esp32, true);
}

#[test]
fn esptool_esp32_rom() {
    esptool_round_trip(SimChip::Esp32, false);
}

#[test]
fn esptool_esp32c3_stub() {
    esptool_round_trip(SimChip::Esp32c3, true);
}

#[test]
fn esptool_esp32c3_rom() {
    esptool_round_trip(SimChip::Esp32c3, false);
}

#[test]
fn esptool_esp32s3_stub() {
    esptool_round_trip(SimChip::Esp32s3, true);
}

#[test]
fn esptool_esp32s3_rom() {
    esptool_round_trip(SimChip::Esp32s3, false);
}

#[test]
fn esptool_corrupt_flash_fails_md5() {
    let esptool = Esptool::find();
    let mut config = BoardConfig::new(SimChip::Esp32c3);
    config.faults.push("corrupt-flash".parse().unwrap());
    let board = SimBoard::start(config).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let table_path = write_file(dir.path(), "partitions.bin", &partition_table());
    let mut process = Process::new("python3");
    process
        .args(["-m", "esptool", "--port"])
        .arg(board.port_path())
        .args(["--before", &esptool.spell("no-reset")])
        .args(["--after", &esptool.spell("no-reset")])
        .arg(esptool.spell("write-flash"))
        .args(["0x8000", table_path.as_str()]);
    let output = process.output().unwrap();
    let text =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("MD5 of file does not match data in flash"), "{text}");
}

#[test]
fn esptool_rom_compressed_write() {
    // esptool compresses for the ROM only when asked; the ROM inflates FLASH_DEFL_DATA itself.
    let esptool = Esptool::find();
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, bootloader) = bootloader(SimChip::Esp32c3);
    let path = write_file(dir.path(), "image.bin", &bootloader);

    let output = esptool.run(&board, false, "write-flash", &["--compress", "0x10000", &path]);
    assert!(output.contains("Hash of data verified."), "{output}");
    assert_eq!(board.read_flash(0x10000, bootloader.len() as u32), bootloader);

    let log = board.command_log();
    assert!(log.iter().any(|entry| entry.command == Command::FlashDeflData));
    assert!(log.iter().all(|entry| entry.state == LoaderState::Rom));
}
