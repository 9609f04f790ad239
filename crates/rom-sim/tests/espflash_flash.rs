//! The real espflash 4.7.0 crate flashes simulated boards over a pseudo-terminal, with and
//! without the flasher stub, and the simulated flash must hold exactly what was sent.

mod common;

use std::borrow::Cow;

use common::*;
use espflash::connection::ResetAfterOperation;
use espflash::flasher::FlashSize;
use espflash::image_format::Segment;
use espflash::target::XtalFrequency;
use rom_sim::{BoardConfig, Command, LoaderState, Outcome, RomFlashEnd, SimBoard, SimChip};

const MIB: u32 = 1024 * 1024;

/// Flash size per chip, so each test also checks the JEDEC size detection.
fn flash_size(chip: SimChip) -> (u32, FlashSize) {
    match chip {
        SimChip::Esp32 => (4 * MIB, FlashSize::_4Mb),
        SimChip::Esp32c3 => (8 * MIB, FlashSize::_8Mb),
        SimChip::Esp32s3 => (16 * MIB, FlashSize::_16Mb),
    }
}

fn board_config(chip: SimChip) -> BoardConfig {
    let mut config = BoardConfig::new(chip);
    config.flash_size = flash_size(chip).0;
    config.mac = [0x02, 0x00, 0x5e, 0x10, 0x20, chip as u8];
    // The ROM leaves the loader after FLASH_END; these tests run two writes in one session.
    config.rom_flash_end = RomFlashEnd::StayInLoader;
    config
}

/// Connects, checks the detected identity, flashes the chip's ELF and a set of raw binaries,
/// and compares the simulated flash with every byte espflash sent.
fn flash_and_verify(chip: SimChip, use_stub: bool) {
    let config = board_config(chip);
    let board = SimBoard::start(config.clone()).unwrap();

    let mut flasher = connect(&board, use_stub, Some(espflash_chip(chip)), Some(460_800))
        .unwrap_or_else(|e| panic!("connect to {chip} failed: {}", error_chain(&e)));
    let info = flasher.device_info().unwrap();
    assert_eq!(info.chip, espflash_chip(chip));
    assert_eq!(info.mac_address, Some(mac_string(config.mac)));
    assert_eq!(info.flash_size, flash_size(chip).1);
    assert_eq!(info.revision, Some((0, 0)));
    assert_eq!(info.crystal_frequency, XtalFrequency::_40Mhz);
    let expected_state = if use_stub { LoaderState::Stub } else { LoaderState::Rom };
    assert_eq!(board.state(), expected_state);

    let elf = read_data(&format!("firmware/{}.elf", chip.name()));
    let image = elf_image(&elf, &info);
    let image_segments = image.clone().flash_segments();
    flasher
        .load_image_to_flash(&mut NoProgress, image)
        .unwrap_or_else(|e| panic!("flashing the {chip} ELF failed: {}", error_chain(&e)));
    assert_flash_holds(&board, &image_segments);

    let (boot_address, bootloader) = bootloader(chip);
    let table = partition_table();
    let random = incompressible(40_000, chip as u64 + 1);
    let bins = [
        Segment { addr: boot_address, data: Cow::Borrowed(&bootloader) },
        Segment { addr: 0x8000, data: Cow::Borrowed(&table) },
        Segment { addr: 0x20_0000, data: Cow::Borrowed(&random) },
    ];
    flasher
        .write_bins_to_flash(&bins, &mut NoProgress)
        .unwrap_or_else(|e| panic!("writing {chip} binaries failed: {}", error_chain(&e)));
    assert_flash_holds(&board, &bins);

    let log = board.command_log();
    let used = |command: Command| log.iter().any(|entry| entry.command == command);
    assert_eq!(used(Command::FlashDeflData), use_stub, "compressed writes only with the stub");
    assert!(used(Command::FlashData), "plain writes in both modes");
    assert!(used(Command::ChangeBaudrate));
    assert!(
        log.iter().all(|entry| entry.outcome == Outcome::Ok || entry.command == Command::GetSecurityInfo),
        "only chip detection may fail: {log:?}"
    );
}

#[test]
fn esp32_stub_flash() {
    flash_and_verify(SimChip::Esp32, true);
}

#[test]
fn esp32_rom_flash() {
    flash_and_verify(SimChip::Esp32, false);
}

#[test]
fn esp32c3_stub_flash() {
    flash_and_verify(SimChip::Esp32c3, true);
}

#[test]
fn esp32c3_rom_flash() {
    flash_and_verify(SimChip::Esp32c3, false);
}

#[test]
fn esp32s3_stub_flash() {
    flash_and_verify(SimChip::Esp32s3, true);
}

#[test]
fn esp32s3_rom_flash() {
    flash_and_verify(SimChip::Esp32s3, false);
}

#[test]
fn stub_erase_region_and_flash() {
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3)).unwrap();
    let mut flasher = connect(&board, true, None, None).unwrap();
    let table = partition_table();
    flasher.write_bin_to_flash(0x8000, &table, &mut NoProgress).unwrap();
    assert_eq!(board.read_flash(0x8000, table.len() as u32), table);

    flasher.erase_region(0x8000, 0x1000).unwrap();
    assert!(board.read_flash(0x8000, 0x1000).iter().all(|&b| b == 0xff));

    flasher.write_bin_to_flash(0x8000, &table, &mut NoProgress).unwrap();
    flasher.erase_flash().unwrap();
    assert!(board.flash_contents().iter().all(|&b| b == 0xff));
}

#[test]
fn rom_erase_is_rejected() {
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32s3)).unwrap();
    let mut flasher = connect(&board, false, None, None).unwrap();
    let error = flasher.erase_region(0x8000, 0x1000).unwrap_err();
    assert!(matches!(error, espflash::Error::RomError(_)), "expected RomError, got {}", error_chain(&error));
    assert!(error_chain(&error).contains("Invalid message received"), "{}", error_chain(&error));

    let error = flasher.erase_flash().unwrap_err();
    assert!(matches!(error, espflash::Error::RomError(_)), "{}", error_chain(&error));
}

#[test]
fn stub_checksum_matches_flash() {
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32s3)).unwrap();
    let mut flasher = connect(&board, true, None, None).unwrap();
    let random = incompressible(5000, 7);
    flasher.write_bin_to_flash(0x10000, &random, &mut NoProgress).unwrap();
    let digest = flasher.checksum_md5(0x10000, random.len() as u32).unwrap();
    let expected = md5_of(&random);
    assert_eq!(digest.to_be_bytes(), expected);
}

#[test]
fn rom_flash_end_leaves_loader() {
    // The default models a real ROM: after FLASH_END the chip runs its application.
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32)).unwrap();
    let mut flasher = connect(&board, false, None, None).unwrap();
    let table = partition_table();
    flasher.write_bin_to_flash(0x8000, &table, &mut NoProgress).unwrap();
    assert_eq!(board.read_flash(0x8000, table.len() as u32), table);
    assert_eq!(board.state(), LoaderState::Exited);

    let error = flasher.connection().read_reg(0x4000_1000).unwrap_err();
    assert!(matches!(error, espflash::Error::Connection(_)), "{}", error_chain(&error));
    assert_eq!(board.command_log().last().unwrap().outcome, Outcome::NoReply);

    // A reset with BOOT held brings the loader back, and the flash keeps what was written.
    drop(flasher);
    board.reset();
    let mut flasher = connect(&board, false, None, None).unwrap();
    let digest = flasher.checksum_md5(0x8000, table.len() as u32).unwrap();
    assert_eq!(digest.to_be_bytes(), md5_of(&table));
}

fn md5_of(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}

/// Flashes 16 KiB of incompressible data through a board paced at 115200 baud and returns how
/// long the write took. `baud` is the rate espflash switches to after connecting.
fn paced_write_time(baud: Option<u32>) -> std::time::Duration {
    let mut config = BoardConfig::new(SimChip::Esp32c3);
    config.pacing_baud = Some(115_200);
    config.rom_flash_end = RomFlashEnd::StayInLoader;
    let board = SimBoard::start(config).unwrap();
    let mut flasher = connect(&board, false, None, baud).unwrap();

    let data = incompressible(16 * 1024, 5);
    let started = std::time::Instant::now();
    flasher.write_bin_to_flash(0x10000, &data, &mut NoProgress).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(board.read_flash(0x10000, data.len() as u32), data);
    elapsed
}

#[test]
fn pacing_follows_baud_changes() {
    // 16 KiB at 10 bits per byte takes 1.42 s at 115200 baud and 0.18 s at 921600 baud.
    let slow = paced_write_time(None);
    assert!(slow.as_secs_f64() >= 1.4, "paced at 115200 baud, took {slow:?}");

    let fast = paced_write_time(Some(921_600));
    assert!(fast.as_secs_f64() < 1.0, "paced at 921600 baud, took {fast:?}");
}

#[test]
fn read_flash_stub_and_rom() {
    let random = incompressible(10_000, 9);
    let dir = tempfile::tempdir().unwrap();

    for use_stub in [true, false] {
        let mut config = BoardConfig::new(SimChip::Esp32);
        config.rom_flash_end = RomFlashEnd::StayInLoader;
        let board = SimBoard::start(config).unwrap();
        let mut flasher = connect(&board, use_stub, None, None).unwrap();
        flasher.write_bin_to_flash(0x3000, &random, &mut NoProgress).unwrap();

        let path = dir.path().join(format!("read-{use_stub}.bin"));
        if use_stub {
            flasher
                .read_flash(0x3000, random.len() as u32, 0x1000, 64, path.clone())
                .unwrap_or_else(|e| panic!("stub READ_FLASH failed: {}", error_chain(&e)));
        } else {
            // espflash 4.7.0 adds the bytes read so far to the offset cumulatively, so reads
            // past 128 bytes come from the wrong address; 128 bytes stay correct.
            flasher
                .read_flash_rom(0x3000, 128, 0x1000, 64, path.clone())
                .unwrap_or_else(|e| panic!("ROM READ_FLASH_SLOW failed: {}", error_chain(&e)));
        }
        let read = std::fs::read(&path).unwrap();
        let expected_len = if use_stub { random.len() } else { 128 };
        assert_eq!(read, random[..expected_len], "use_stub = {use_stub}");
    }
}

#[test]
fn no_reset_after_write_returns_to_rom() {
    // espflash's NoReset after-operation sends FLASH_BEGIN(0) and FLASH_END(0) to the stub
    // without waiting for replies, so the stub reboots into the ROM loader.
    let board = SimBoard::start(BoardConfig::new(SimChip::Esp32s3)).unwrap();
    let mut flasher = connect_with(&board, true, None, None, ResetAfterOperation::NoReset).unwrap();
    let table = partition_table();
    flasher.write_bin_to_flash(0x8000, &table, &mut NoProgress).unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while board.state() != LoaderState::Rom && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(board.state(), LoaderState::Rom);
    assert_eq!(board.read_flash(0x8000, table.len() as u32), table);
    let last = board.command_log().last().cloned().unwrap();
    assert_eq!(last.command, Command::FlashEnd);
    assert_eq!(last.outcome, Outcome::Ok);
}
