//! Every rom-sim fault knob, a wrong board, busy and missing ports, and bad plans end in their
//! error code and hint, with the facts the job had learned.

mod common;

use std::time::{Duration, Instant};

use common::*;
use factory_core::Chip;
use flasher::{ErrorCode, FlashError, FlashEvent, FlashOptions, FlashPlan, PlannedRegion, PortInfo};
use rom_sim::{Command, Outcome};

/// Builds a raw plan of one partition table at 0x8000, which names no chip.
fn table_plan() -> FlashPlan {
    FlashPlan::from_regions(vec![PlannedRegion {
        offset: 0x8000,
        path: data_path("partition-bins/espidfpart_factory_app_two_ota.bin"),
        role: Some("partition-table".into()),
    }])
}

fn assert_failed_last(events: &[FlashEvent], code: ErrorCode) {
    assert_eq!(events.last(), Some(&FlashEvent::Failed { code }), "{events:?}");
    let failed = events.iter().filter(|event| matches!(event, FlashEvent::Failed { .. })).count();
    assert_eq!(failed, 1, "{events:?}");
}

fn wrote_flash(log: &[rom_sim::LoggedCommand]) -> bool {
    log.iter().any(|entry| {
        matches!(
            entry.command,
            Command::FlashBegin | Command::FlashDeflBegin | Command::EraseFlash | Command::EraseRegion
        )
    })
}

#[test]
fn silent_board_not_in_download_mode() {
    let board = board(Chip::Esp32c3, &["silent"]);
    let started = Instant::now();
    let (result, events) = run_job(&port_of(&board), &table_plan(), &sim_options(Chip::Esp32c3, true));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::NotInDownloadMode);
    assert!(failure.error.hint().contains("hold BOOT"), "{}", failure.error.hint());
    assert!(
        failure.error.to_string().contains(&board.port_path().display().to_string()),
        "{}",
        failure.error
    );
    assert!(failure.facts.is_none());
    assert!(failure.regions.is_empty());
    assert!(matches!(events[0], FlashEvent::Connecting { .. }));
    assert_failed_last(&events, ErrorCode::NotInDownloadMode);
    assert_eq!(events.len(), 2);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn short_sync_not_in_download_mode() {
    // When the machine is loaded, the board thread can answer one SYNC after espflash has given
    // up on it, and those four late replies plus the next SYNC's four make the eight espflash
    // waits for. A real chip answers within microseconds, so a job that synced is retried on a
    // fresh board; three syncs in a row would be a real defect.
    for attempt in 1..=3 {
        let board = board(Chip::Esp32s3, &["short-sync"]);
        let (result, events) = run_job(&port_of(&board), &table_plan(), &sim_options(Chip::Esp32s3, true));
        let Err(failure) = result else {
            eprintln!("attempt {attempt}: the short-sync board synced through late replies, retrying");
            continue;
        };

        assert_eq!(failure.error.code(), ErrorCode::NotInDownloadMode, "{}", failure.error);
        assert!(failure.facts.is_none());
        assert_failed_last(&events, ErrorCode::NotInDownloadMode);
        assert!(board.command_log().iter().all(|entry| entry.command == Command::Sync));
        return;
    }
    panic!("the short-sync board synced on three attempts");
}

#[test]
fn wrong_chip_knob_is_wrong_chip() {
    let board = board(Chip::Esp32c3, &["wrong-chip=esp32s3"]);
    let options = FlashOptions { registration: Some("n-7f3a".into()), ..sim_options(Chip::Esp32c3, true) };
    let (result, events) = run_job(&port_of(&board), &table_plan(), &options);
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::WrongChip);
    let message = failure.error.to_string();
    assert!(message.contains("has an ESP32-S3"), "{message}");
    assert!(message.contains("registration n-7f3a is for an ESP32-C3"), "{message}");
    assert!(failure.error.hint().contains("registration"), "{}", failure.error.hint());

    // The board is rejected right after detection, so no stub is uploaded and nothing is written.
    // The knob changes only the identity words, so the MAC read from the ESP32-S3 eFuse addresses
    // is not the board's. The healthy-board case below checks the MAC.
    let facts = failure.facts.expect("facts of the wrong board");
    assert_eq!(facts.chip, Chip::Esp32s3);
    assert_eq!(facts.flash_size, None);
    let log = board.command_log();
    assert!(!log.iter().any(|entry| entry.command == Command::MemBegin), "no stub upload");
    assert!(!wrote_flash(&log));
    assert_failed_last(&events, ErrorCode::WrongChip);
}

#[test]
fn expected_chip_mismatch_names_both() {
    let board = board(Chip::Esp32s3, &[]);
    let port = port_of(&board);
    let options = FlashOptions { registration: Some("k3x9".into()), ..sim_options(Chip::Esp32c3, false) };
    let (result, events) = run_job(&port, &table_plan(), &options);
    let failure = result.unwrap_err();

    assert_eq!(
        failure.error.to_string(),
        format!(
            "port {} has an ESP32-S3 but registration k3x9 is for an ESP32-C3; plug in an ESP32-C3 board or pick \
             another registration",
            port.path
        )
    );
    let facts = failure.facts.expect("facts of the wrong board");
    assert_eq!(facts.chip, Chip::Esp32s3);
    assert_eq!(facts.mac, mac_string(board.mac()));
    assert!(!wrote_flash(&board.command_log()));
    assert_failed_last(&events, ErrorCode::WrongChip);
}

#[test]
fn firmware_chip_guards_without_registration() {
    let board = board(Chip::Esp32, &[]);
    let options = FlashOptions { expected_chip: None, ..sim_options(Chip::Esp32, true) };
    let (result, _) = run_job(&port_of(&board), &elf_plan(Chip::Esp32c3), &options);
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::WrongChip);
    let message = failure.error.to_string();
    assert!(message.contains("has an ESP32 but the firmware is for an ESP32-C3"), "{message}");
    assert!(!wrote_flash(&board.command_log()));
}

#[test]
fn no_flash_is_no_flash_chip() {
    let board = board(Chip::Esp32, &["no-flash"]);
    let (result, events) = run_job(&port_of(&board), &table_plan(), &sim_options(Chip::Esp32, false));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::NoFlashChip);
    assert!(failure.error.to_string().contains("flash chip did not"), "{}", failure.error);
    assert_failed_last(&events, ErrorCode::NoFlashChip);
}

#[test]
fn error_on_defl_begin_is_device_error() {
    let board = board(Chip::Esp32c3, &["error-on=flash-defl-begin"]);
    let (result, events) = run_job(&port_of(&board), &table_plan(), &sim_options(Chip::Esp32c3, true));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::DeviceError);
    let message = failure.error.to_string();
    assert!(message.contains("FlashDeflBegin"), "{message}");
    assert!(message.contains("while writing region 0 at 0x8000"), "{message}");
    assert!(failure.facts.is_some(), "the job had connected");
    assert!(matches!(events[1], FlashEvent::Connected { .. }));
    assert_failed_last(&events, ErrorCode::DeviceError);
}

#[test]
fn error_on_rom_flash_begin_is_device_error() {
    let board = board(Chip::Esp32s3, &["error-on=flash-begin"]);
    let (result, _) = run_job(&port_of(&board), &table_plan(), &sim_options(Chip::Esp32s3, false));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::DeviceError);
    assert!(failure.error.to_string().contains("FlashBegin"), "{}", failure.error);
}

#[test]
fn error_on_erase_is_device_error() {
    let board = board(Chip::Esp32s3, &["error-on=erase-flash"]);
    let options = FlashOptions { erase_all: true, ..sim_options(Chip::Esp32s3, true) };
    let (result, events) = run_job(&port_of(&board), &table_plan(), &options);
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::DeviceError);
    assert!(failure.error.to_string().contains("while erasing the flash"), "{}", failure.error);
    assert_eq!(events[events.len() - 2], FlashEvent::Erasing);
    assert_failed_last(&events, ErrorCode::DeviceError);
}

fn corrupt_flash_case(chip: Chip, use_stub: bool) {
    let board = board(chip, &["corrupt-flash"]);
    let (result, events) = run_job(&port_of(&board), &table_plan(), &sim_options(chip, use_stub));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::VerifyFailed);
    let FlashError::VerifyFailed { index, offset, expected_md5, device_md5, nothing_written, .. } =
        &failure.error
    else {
        panic!("expected VerifyFailed, got {:?}", failure.error);
    };
    assert_eq!((*index, *offset), (0, 0x8000));
    let device_md5 = device_md5.as_deref().expect("the board's digest was read back");
    assert_ne!(device_md5, expected_md5);
    assert_eq!(device_md5.len(), 32);
    assert!(!nothing_written, "one flipped bit is not an erased flash");
    let message = failure.error.to_string();
    assert!(message.contains(expected_md5.as_str()), "{message}");
    assert!(message.contains(device_md5), "{message}");
    assert!(!message.contains("nothing was written"), "{message}");

    assert!(failure.regions.is_empty());
    assert_eq!(events[events.len() - 2], FlashEvent::Verifying { index: 0 });
    assert_failed_last(&events, ErrorCode::VerifyFailed);
}

#[test]
fn corrupt_flash_fails_verify_with_stub() {
    corrupt_flash_case(Chip::Esp32c3, true);
}

#[test]
fn corrupt_flash_fails_verify_without_stub() {
    corrupt_flash_case(Chip::Esp32, false);
}

/// Counts the requests a healthy board gets up to the compressed download of region `index`, so a
/// stall can be placed in the middle of that region. Every region of the plan must compress.
fn commands_through_region_begin(chip: Chip, plan: &FlashPlan, index: usize) -> u32 {
    let board = board(chip, &[]);
    let (result, _) = run_job(&port_of(&board), plan, &sim_options(chip, true));
    result.unwrap();
    let log = board.command_log();
    let begin = log
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.command == Command::FlashDeflBegin)
        .nth(index)
        .map(|(position, _)| position)
        .expect("a compressed download of the region");
    begin as u32 + 1
}

#[test]
fn stall_mid_write_board_stopped_answering() {
    let chip = Chip::Esp32c3;
    let folder = tempfile::tempdir().unwrap();
    // Four bits of noise per byte compress to about half, so the app needs several blocks.
    let mut state: u32 = 0x1234_5678;
    let noisy: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state & 0x0f) as u8
        })
        .collect();
    write_file(folder.path(), "app.bin", &noisy);
    let plan = FlashPlan::from_region_args(&[
        format!("0x8000:{}", data_path("partition-bins/espidfpart_factory_app_two_ota.bin").display()),
        format!("0x10000:{}", folder.path().join("app.bin").display()),
    ])
    .unwrap();

    // Reply to the region's begin and two data blocks, then go quiet like a pulled cable.
    let stall_at = commands_through_region_begin(chip, &plan, 1) + 2;
    let board = board(chip, &[&format!("stall-after={stall_at}")]);
    let (result, events) = run_job(&port_of(&board), &plan, &sim_options(chip, true));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::BoardStoppedAnswering);
    let message = failure.error.to_string();
    assert!(message.contains("while writing region 1 at 0x10000"), "{message}");
    assert!(failure.error.hint().contains("USB cable"), "{}", failure.error.hint());
    assert_eq!(failure.facts.as_ref().map(|facts| facts.mac.clone()), Some(mac_string(board.mac())));
    assert_eq!(failure.regions.len(), 1, "the partition table was complete");
    assert_eq!(failure.regions[0].offset, 0x8000);
    assert!(events.iter().any(|event| matches!(event, FlashEvent::Written { index: 1, .. })));
    assert_failed_last(&events, ErrorCode::BoardStoppedAnswering);
    assert_eq!(board.command_log().last().map(|entry| entry.outcome), Some(Outcome::NoReply));
}

#[test]
fn busy_port_is_port_busy() {
    let board = board(Chip::Esp32c3, &[]);
    let port = port_of(&board);
    let _holder = serialport::new(&port.path, 115_200).open_native().expect("first open succeeds");

    let (result, events) = run_job(&port, &table_plan(), &sim_options(Chip::Esp32c3, true));
    let failure = result.unwrap_err();
    assert_eq!(failure.error.code(), ErrorCode::PortBusy);
    assert!(failure.error.to_string().contains(&port.path), "{}", failure.error);
    assert_failed_last(&events, ErrorCode::PortBusy);
    assert!(board.command_log().is_empty());
}

#[test]
fn missing_port_is_port_gone() {
    let port = PortInfo::explicit("/dev/ttyUSB-node-factory-missing");
    let (result, events) = run_job(&port, &table_plan(), &sim_options(Chip::Esp32c3, true));
    let failure = result.unwrap_err();
    assert_eq!(failure.error.code(), ErrorCode::PortGone);
    assert!(failure.error.to_string().contains("/dev/ttyUSB-node-factory-missing"), "{}", failure.error);
    assert_eq!(events.len(), 2);
    assert_failed_last(&events, ErrorCode::PortGone);
}

#[test]
fn auto_reset_on_pty_not_in_download_mode() {
    // A pseudo-terminal has no DTR/RTS lines, so the automatic reset fails before any command.
    let board = board(Chip::Esp32c3, &[]);
    let options = FlashOptions { reset: flasher::ResetMode::Auto, ..sim_options(Chip::Esp32c3, true) };
    let (result, _) = run_job(&port_of(&board), &table_plan(), &options);
    let failure = result.unwrap_err();
    assert_eq!(failure.error.code(), ErrorCode::NotInDownloadMode);
    assert!(board.command_log().is_empty());
}

#[test]
fn missing_file_writes_nothing() {
    let board = board(Chip::Esp32c3, &[]);
    let plan = FlashPlan::from_region_args(&["0x10000:/nonexistent/node.bin"]).unwrap();
    let (result, events) = run_job(&port_of(&board), &plan, &sim_options(Chip::Esp32c3, true));
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::FileMissing);
    assert!(failure.error.to_string().contains("/nonexistent/node.bin"), "{}", failure.error);
    assert_eq!(events, vec![FlashEvent::Failed { code: ErrorCode::FileMissing }]);
    assert!(board.command_log().is_empty(), "the board was never contacted");
}

#[test]
fn erase_without_stub_writes_nothing() {
    let board = board(Chip::Esp32c3, &[]);
    let options = FlashOptions { erase_all: true, ..sim_options(Chip::Esp32c3, false) };
    let (result, events) = run_job(&port_of(&board), &table_plan(), &options);
    let failure = result.unwrap_err();

    assert_eq!(failure.error.code(), ErrorCode::PlanInvalid);
    assert_eq!(events, vec![FlashEvent::Failed { code: ErrorCode::PlanInvalid }]);
    assert!(board.command_log().is_empty());
}
