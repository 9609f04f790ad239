//! Each fault knob makes the real espflash 4.7.0 crate fail with the error a broken board gives.

mod common;

use std::borrow::Cow;
use std::time::{Duration, Instant};

use common::*;
use espflash::Error;
use espflash::image_format::Segment;
use espflash::target::Chip;
use rom_sim::{BoardConfig, Command, Fault, LoaderState, Outcome, SimBoard, SimChip};

fn board_with(chip: SimChip, knob: &str) -> SimBoard {
    let mut config = BoardConfig::new(chip);
    config.faults.push(knob.parse().unwrap());
    SimBoard::start(config).unwrap()
}

fn table_segment(table: &[u8]) -> [Segment<'_>; 1] {
    [Segment { addr: 0x8000, data: Cow::Borrowed(table) }]
}

#[test]
fn silent_board_fails_connect() {
    let board = board_with(SimChip::Esp32, "silent");
    let started = Instant::now();
    let error = connect(&board, true, None, None).unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{}", error_chain(&error));
    assert!(started.elapsed() < Duration::from_secs(10));

    let log = board.command_log();
    assert!(log.len() >= 8, "espflash retries SYNC: {log:?}");
    assert!(log.iter().all(|entry| entry.command == Command::Sync));
    assert!(log.iter().all(|entry| entry.outcome == Outcome::NoReply));
}

#[test]
fn short_sync_fails_connect() {
    let board = board_with(SimChip::Esp32c3, "short-sync");
    let error = connect(&board, false, None, None).unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{}", error_chain(&error));
    assert!(board.command_log().iter().all(|entry| entry.command == Command::Sync));
}

#[test]
fn wrong_chip_is_chip_mismatch() {
    let board = board_with(SimChip::Esp32c3, "wrong-chip=esp32s3");
    let error = connect(&board, true, Some(Chip::Esp32c3), None).unwrap_err();
    match error {
        Error::ChipMismatch(expected, detected) => {
            assert_eq!(expected, "esp32c3");
            assert_eq!(detected, "esp32s3");
        }
        other => panic!("expected ChipMismatch, got {}", error_chain(&other)),
    }
}

#[test]
fn wrong_chip_misleads_flash_detect() {
    // Only the identity changes, so espflash drives the SPI registers of the reported ESP32,
    // which an ESP32-S3 does not have, and the flash-ID command never completes.
    let board = board_with(SimChip::Esp32s3, "wrong-chip=esp32");
    let error = connect(&board, false, None, None).unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{}", error_chain(&error));
    assert!(error_chain(&error).contains("FlashDetect"), "{}", error_chain(&error));
}

#[test]
fn no_flash_is_flash_connect() {
    let board = board_with(SimChip::Esp32s3, "no-flash");
    let error = connect(&board, false, None, None).unwrap_err();
    assert!(matches!(error, Error::FlashConnect), "{}", error_chain(&error));
    let attaches = board.command_log().iter().filter(|entry| entry.command == Command::SpiAttach).count();
    assert_eq!(attaches, 2, "espflash tries both SPI pin sets");
}

#[test]
fn error_on_flash_data_is_rom_error() {
    let board = board_with(SimChip::Esp32, "error-on=flash-data");
    let mut flasher = connect(&board, false, None, None).unwrap();
    let table = partition_table();
    let error = flasher.write_bins_to_flash(&table_segment(&table), &mut NoProgress).unwrap_err();
    assert!(matches!(error, Error::RomError(_)), "{}", error_chain(&error));
    assert!(error_chain(&error).contains("FlashData"), "{}", error_chain(&error));
}

#[test]
fn error_on_defl_begin_is_rom_error() {
    let board = board_with(SimChip::Esp32c3, "error-on=flash-defl-begin");
    let mut flasher = connect(&board, true, None, None).unwrap();
    let table = partition_table();
    let error = flasher.write_bins_to_flash(&table_segment(&table), &mut NoProgress).unwrap_err();
    assert!(matches!(error, Error::RomError(_)), "{}", error_chain(&error));
    assert!(error_chain(&error).contains("FlashDeflBegin"), "{}", error_chain(&error));
}

#[test]
fn error_on_sync_fails_connect() {
    let board = board_with(SimChip::Esp32s3, "error-on=sync");
    let error = connect(&board, false, None, None).unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{}", error_chain(&error));
}

#[test]
fn corrupt_flash_stub_fails_verify() {
    let board = board_with(SimChip::Esp32s3, "corrupt-flash");
    let mut flasher = connect(&board, true, None, None).unwrap();
    let table = partition_table();
    let error = flasher.write_bins_to_flash(&table_segment(&table), &mut NoProgress).unwrap_err();
    assert!(matches!(error, Error::VerifyFailed), "{}", error_chain(&error));

    let stored = board.read_flash(0x8000, table.len() as u32);
    let differing = stored.iter().zip(&table).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 1, "exactly one byte is corrupted");
}

#[test]
fn corrupt_flash_rom_fails_verify() {
    let board = board_with(SimChip::Esp32, "corrupt-flash");
    let mut flasher = connect(&board, false, None, None).unwrap();
    let (address, bootloader) = bootloader(SimChip::Esp32);
    let error = flasher.write_bin_to_flash(address, &bootloader, &mut NoProgress).unwrap_err();
    assert!(matches!(error, Error::VerifyFailed), "{}", error_chain(&error));
}

/// Counts the requests a healthy board receives before its first compressed data block, so the
/// stall below lands in the middle of the write.
fn commands_before_first_data_block(chip: SimChip, segments: &[Segment<'_>]) -> u32 {
    let board = SimBoard::start(BoardConfig::new(chip)).unwrap();
    let mut flasher = connect(&board, true, None, None).unwrap();
    flasher.write_bins_to_flash(segments, &mut NoProgress).unwrap();
    board
        .command_log()
        .iter()
        .position(|entry| entry.command == Command::FlashDeflData)
        .expect("a compressed data block") as u32
}

#[test]
fn stall_mid_write_is_connection_error() {
    let chip = SimChip::Esp32c3;
    // Four bits of noise per byte compress to about half, so the write needs several blocks.
    let noisy: Vec<u8> = incompressible(200_000, 3).iter().map(|b| b & 0x0f).collect();
    let big = [Segment { addr: 0x10000, data: Cow::Owned(noisy) }];
    let before = commands_before_first_data_block(chip, &big);

    // Reply to the first two data blocks, then go quiet like a pulled cable.
    let mut config = BoardConfig::new(chip);
    config.faults.push(Fault::StallAfter(before + 2));
    let board = SimBoard::start(config).unwrap();
    let mut flasher = connect(&board, true, None, None).unwrap();
    let error = flasher.write_bins_to_flash(&big, &mut NoProgress).unwrap_err();
    assert!(matches!(error, Error::Connection(_) | Error::Flashing(_)), "{}", error_chain(&error));
    assert!(error_chain(&error).contains("FlashDeflData"), "{}", error_chain(&error));

    let log = board.command_log();
    let last = log.last().unwrap();
    assert_eq!(last.command, Command::FlashDeflData);
    assert_eq!(last.outcome, Outcome::NoReply);
    assert_eq!(board.state(), LoaderState::Stub);
}
