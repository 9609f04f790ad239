//! Flash jobs against simulated boards over a real pseudo-terminal with the real espflash: ELF
//! plans and build folders for every chip, with and without the stub, read back byte for byte.

mod common;

use common::*;
use factory_core::Chip;
use flasher::{FlashEvent, FlashOptions, FlashPlan, ImageRegion, PlannedRegion};
use rom_sim::SimBoard;
use sha2::{Digest, Sha256};

/// Asserts that the board holds each region byte for byte, and that the report's digests are
/// those of the images.
fn assert_board_holds(board: &SimBoard, regions: &[ImageRegion], report: &flasher::FlashReport) {
    assert_eq!(report.regions.len(), regions.len());
    for (region, reported) in regions.iter().zip(&report.regions) {
        let stored = board.read_flash(region.offset, region.size());
        assert!(stored == region.data, "flash at {:#x} differs from {}", region.offset, region.label);
        assert_eq!(reported.offset, region.offset);
        assert_eq!(reported.size, region.size());
        assert_eq!(reported.sha256, format!("{:x}", Sha256::digest(&stored)));
        assert!(!reported.skipped);
    }
}

fn flash_elf_case(chip: Chip, use_stub: bool) {
    let board = board(chip, &[]);
    let plan = elf_plan(chip);
    let options = sim_options(chip, use_stub);

    let (result, events) = run_job(&port_of(&board), &plan, &options);
    let report = result.unwrap_or_else(|failure| panic!("{chip} stub={use_stub}: {failure}"));

    assert_eq!(report.chip, chip);
    assert_eq!(report.mac, mac_string(board.mac()));
    assert_eq!(report.flash_size, 4 * 1024 * 1024);

    // The final images depend on the board's flash size and crystal, so they are compared with
    // what espflash itself makes for this board.
    let expected = espflash_elf_regions(chip);
    assert_eq!(expected.len(), 3, "bootloader, partition table, app");
    assert_eq!(expected[0].0, chip.bootloader_offset());
    assert_eq!(report.regions.len(), expected.len());
    for ((offset, data), reported) in expected.iter().zip(&report.regions) {
        let stored = board.read_flash(*offset, data.len() as u32);
        assert!(&stored == data, "flash at {offset:#x} differs from espflash's image");
        assert_eq!(reported.offset, *offset);
        assert_eq!(reported.size as usize, data.len());
        assert_eq!(reported.sha256, format!("{:x}", Sha256::digest(data)));
    }

    let sizes: Vec<(u32, u32)> = expected.iter().map(|(offset, data)| (*offset, data.len() as u32)).collect();
    assert_event_order(&events, &sizes, Expected { erase: false, verify: true, skipped: false });
}

#[test]
fn elf_esp32_with_stub() {
    flash_elf_case(Chip::Esp32, true);
}

#[test]
fn elf_esp32_without_stub() {
    flash_elf_case(Chip::Esp32, false);
}

#[test]
fn elf_esp32c3_with_stub() {
    flash_elf_case(Chip::Esp32c3, true);
}

#[test]
fn elf_esp32c3_without_stub() {
    flash_elf_case(Chip::Esp32c3, false);
}

#[test]
fn elf_esp32s3_with_stub() {
    flash_elf_case(Chip::Esp32s3, true);
}

#[test]
fn elf_esp32s3_without_stub() {
    flash_elf_case(Chip::Esp32s3, false);
}

fn flash_build_folder_case(chip: Chip, use_stub: bool) {
    let folder = build_folder(
        &flasher_args_json(chip),
        &[
            ("bootloader/bootloader.bin", bootloader_bin(chip)),
            (
                "partition_table/partition-table.bin",
                read_data("partition-bins/espidfpart_factory_app_two_ota.bin"),
            ),
            ("node.bin", app_bin(chip)),
        ],
    );
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();
    let options = sim_options(chip, use_stub);
    let checked = plan.check(&options.expectations()).unwrap();
    assert_eq!(checked.chip(), Some(chip));

    let board = board(chip, &[]);
    let (result, events) = run_job(&port_of(&board), &plan, &options);
    let report = result.unwrap_or_else(|failure| panic!("{chip} stub={use_stub}: {failure}"));

    // The plan's regions are the files themselves, so compare the board with the files on disk.
    for (relative, offset) in [
        ("bootloader/bootloader.bin", chip.bootloader_offset()),
        ("partition_table/partition-table.bin", 0x8000),
        ("node.bin", 0x10000),
    ] {
        let file = std::fs::read(folder.path().join(relative)).unwrap();
        assert!(board.read_flash(offset, file.len() as u32) == file, "{relative} at {offset:#x}");
    }
    assert_board_holds(&board, checked.regions(), &report);

    // Nothing beyond the images was touched: the sector after the partition table stays erased.
    assert!(board.read_flash(0x9000, 0x1000).iter().all(|byte| *byte == 0xFF));

    let sizes: Vec<(u32, u32)> =
        checked.regions().iter().map(|region| (region.offset, region.size())).collect();
    assert_event_order(&events, &sizes, Expected { erase: false, verify: true, skipped: false });
}

#[test]
fn build_folder_esp32_with_stub() {
    flash_build_folder_case(Chip::Esp32, true);
}

#[test]
fn build_folder_esp32_without_stub() {
    flash_build_folder_case(Chip::Esp32, false);
}

#[test]
fn build_folder_esp32c3_with_stub() {
    flash_build_folder_case(Chip::Esp32c3, true);
}

#[test]
fn build_folder_esp32c3_without_stub() {
    flash_build_folder_case(Chip::Esp32c3, false);
}

#[test]
fn build_folder_esp32s3_with_stub() {
    flash_build_folder_case(Chip::Esp32s3, true);
}

#[test]
fn build_folder_esp32s3_without_stub() {
    flash_build_folder_case(Chip::Esp32s3, false);
}

#[test]
fn odd_length_image_is_padded() {
    let folder = tempfile::tempdir().unwrap();
    let image: Vec<u8> = (0..1001u32).map(|value| (value * 7) as u8).collect();
    write_file(folder.path(), "odd.bin", &image);
    let plan = FlashPlan::from_regions(vec![PlannedRegion {
        offset: 0x20000,
        path: folder.path().join("odd.bin"),
        role: None,
    }]);

    let board = board(Chip::Esp32c3, &[]);
    let (result, events) = run_job(&port_of(&board), &plan, &sim_options(Chip::Esp32c3, false));
    let report = result.unwrap();

    assert_eq!(report.regions[0].size, 1001);
    assert_eq!(board.read_flash(0x20000, 1001), image);
    assert_eq!(board.read_flash(0x20000 + 1001, 3), vec![0xFF; 3]);
    assert_event_order(&events, &[(0x20000, 1001)], Expected { erase: false, verify: true, skipped: false });
}

#[test]
fn unchanged_regions_are_skipped() {
    let chip = Chip::Esp32s3;
    let board = board(chip, &[]);
    let plan = elf_plan(chip);
    let options = FlashOptions { skip_unchanged: true, ..sim_options(chip, true) };
    let expected = espflash_elf_regions(chip);
    let sizes: Vec<(u32, u32)> = expected.iter().map(|(offset, data)| (*offset, data.len() as u32)).collect();

    let (first, events) = run_job(&port_of(&board), &plan, &options);
    assert!(first.unwrap().regions.iter().all(|region| !region.skipped));
    assert_event_order(&events, &sizes, Expected { erase: false, verify: true, skipped: false });

    let (second, events) = run_job(&port_of(&board), &plan, &options);
    let report = second.unwrap();
    assert!(report.regions.iter().all(|region| region.skipped), "{report:?}");
    assert_eq!(report.regions[2].sha256, format!("{:x}", Sha256::digest(&expected[2].1)));
    assert_event_order(&events, &sizes, Expected { erase: false, verify: true, skipped: true });
}

#[test]
fn erase_all_clears_old_data() {
    let chip = Chip::Esp32c3;
    let board = board(chip, &[]);
    let folder = tempfile::tempdir().unwrap();
    write_file(folder.path(), "old.bin", &[0x5A; 0x2000]);
    let old_plan =
        FlashPlan::from_region_args(&[format!("0x200000:{}", folder.path().join("old.bin").display())])
            .unwrap();
    let (old, _) = run_job(&port_of(&board), &old_plan, &sim_options(chip, true));
    old.unwrap();
    assert_eq!(board.read_flash(0x200000, 4), vec![0x5A; 4]);

    let plan = elf_plan(chip);
    let options = FlashOptions { erase_all: true, ..sim_options(chip, true) };
    let (result, events) = run_job(&port_of(&board), &plan, &options);
    result.unwrap();

    assert!(
        board.read_flash(0x200000, 0x2000).iter().all(|byte| *byte == 0xFF),
        "old data survived the erase"
    );
    let sizes: Vec<(u32, u32)> =
        espflash_elf_regions(chip).iter().map(|(offset, data)| (*offset, data.len() as u32)).collect();
    assert_event_order(&events, &sizes, Expected { erase: true, verify: true, skipped: false });
}

#[test]
fn faster_baud_and_no_verify() {
    let chip = Chip::Esp32;
    let board = board(chip, &[]);
    let plan = elf_plan(chip);
    let options = FlashOptions { baud: Some(921_600), verify: false, ..sim_options(chip, true) };
    let (result, events) = run_job(&port_of(&board), &plan, &options);
    result.unwrap();

    let log = board.command_log();
    let position = |command| log.iter().position(|entry| entry.command == command);
    let baud_change = position(rom_sim::Command::ChangeBaudrate).expect("a baud change");
    let stub_upload = position(rom_sim::Command::MemBegin).expect("a stub upload");
    assert!(baud_change < stub_upload, "the ROM switched the rate before the stub went out");
    assert_eq!(log[baud_change].state, rom_sim::LoaderState::Rom);
    assert_eq!(log.iter().filter(|entry| entry.command == rom_sim::Command::ChangeBaudrate).count(), 1);
    assert!(!log.iter().any(|entry| entry.command == rom_sim::Command::SpiFlashMd5), "verification was off");
    assert!(!events.iter().any(|event| matches!(event, FlashEvent::Verifying { .. })));

    for (offset, data) in espflash_elf_regions(chip) {
        assert!(board.read_flash(offset, data.len() as u32) == data, "flash at {offset:#x}");
    }
}
