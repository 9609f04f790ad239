//! Plan checks on the real `flasher_args.json` files of ESP-IDF 4.0, 4.4 and 5.5 builds, placed in
//! temporary build folders together with real bootloader and partition-table images.

mod common;

use std::fs;

use common::*;
use factory_core::Chip;
use flasher::{ErrorCode, FlashPlan, PlanContent, PlanExpectations, PlannedRegion};
use tempfile::TempDir;

/// Builds a fake app image: the ESP image magic and chip ID, then filler. Apps are not checked for their
/// chip, so the contents only need the right size.
fn app_image(chip: Chip, len: usize) -> Vec<u8> {
    let mut image = vec![0x42; len];
    image[0] = 0xE9;
    image[12..14].copy_from_slice(&chip.image_chip_id().to_le_bytes());
    image
}

/// Copies a real `flasher_args.json` into a temporary build folder and creates every file it names.
/// These are the real bootloader of `chip`, a real partition table, an app image and, where named,
/// the OTA data image (8 KiB of erased flash, as ESP-IDF generates it).
fn real_build_folder(json_name: &str, chip: Chip) -> TempDir {
    let json = fs::read_to_string(data_path(&format!("flasher-args/{json_name}"))).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();

    let mut files = Vec::new();
    for (_, path) in parsed["flash_files"].as_object().unwrap() {
        let path = path.as_str().unwrap().to_owned();
        let bytes = if path.starts_with("bootloader/") {
            bootloader_bin(chip)
        } else if path.starts_with("partition_table/") {
            read_data("partition-bins/espidfpart_single_factory_no_ota.bin")
        } else if path == "ota_data_initial.bin" {
            vec![0xFF; 0x2000]
        } else {
            app_image(chip, 200_000)
        };
        files.push((path, bytes));
    }
    let folder = tempfile::tempdir().unwrap();
    for (path, bytes) in &files {
        write_file(folder.path(), path, bytes);
    }
    write_file(folder.path(), "flasher_args.json", json.as_bytes());
    folder
}

fn planned(plan: &FlashPlan) -> &[PlannedRegion] {
    match &plan.content {
        PlanContent::Regions(regions) => regions,
        PlanContent::Elf(_) => panic!("expected a region plan"),
    }
}

#[test]
fn idf40_schema_without_chip_field() {
    let folder = real_build_folder("esp32_idf4.0.1_bmp180.flasher_args.json", Chip::Esp32);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    assert_eq!(plan.declared_chip, None, "ESP-IDF 4.0 writes no chip field");
    assert_eq!(plan.flash_size, None, "flash size detect");
    assert_eq!(plan.flash_mode.as_deref(), Some("dio"));
    assert_eq!(plan.flash_freq.as_deref(), Some("40m"));

    let offsets: Vec<u32> = planned(&plan).iter().map(|region| region.offset).collect();
    assert_eq!(offsets, [0x1000, 0x8000, 0x10000]);
    let roles: Vec<Option<&str>> = planned(&plan).iter().map(|region| region.role.as_deref()).collect();
    assert_eq!(roles, [Some("bootloader"), Some("partition-table"), Some("app")]);
    assert_eq!(planned(&plan)[2].path, folder.path().join("ESP32-BMP180.bin"));

    // The chip comes from the bootloader header alone.
    let checked = plan.check(&PlanExpectations::default()).unwrap();
    assert_eq!(checked.chip(), Some(Chip::Esp32));
    assert_eq!(checked.regions().len(), 3);
    assert_eq!(checked.regions()[0].data, bootloader_bin(Chip::Esp32));
}

#[test]
fn idf44_schema_with_string_booleans() {
    let folder = real_build_folder("esp32c3_idf4.4.1_ads1256.flasher_args.json", Chip::Esp32c3);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    assert_eq!(plan.declared_chip.as_ref().map(|claim| claim.chip), Some(Chip::Esp32c3));
    assert_eq!(plan.flash_size, None);
    assert_eq!(plan.flash_freq.as_deref(), Some("80m"));
    let offsets: Vec<u32> = planned(&plan).iter().map(|region| region.offset).collect();
    assert_eq!(offsets, [0x0, 0x8000, 0x10000]);

    let expectations = PlanExpectations { target_chip: Some(Chip::Esp32c3), ..PlanExpectations::default() };
    let checked = plan.check(&expectations).unwrap();
    assert_eq!(checked.chip(), Some(Chip::Esp32c3));
}

#[test]
fn idf44_s3_schema_with_underscore_key() {
    let folder = real_build_folder("esp32s3_idf4.4dev_microlight.flasher_args.json", Chip::Esp32s3);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    let roles: Vec<Option<&str>> = planned(&plan).iter().map(|region| region.role.as_deref()).collect();
    assert_eq!(roles, [Some("bootloader"), Some("partition-table"), Some("app")]);
    let expectations = PlanExpectations {
        target_chip: Some(Chip::Esp32s3),
        registration: None,
        idf_target: Some(Chip::Esp32s3),
    };
    assert_eq!(plan.check(&expectations).unwrap().chip(), Some(Chip::Esp32s3));
}

#[test]
fn idf55_schema_includes_otadata() {
    let folder = real_build_folder("esp32_idf5.5.2_ota_mqtt.flasher_args.json", Chip::Esp32);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    assert_eq!(plan.flash_size, Some(4 * 1024 * 1024));
    let regions = planned(&plan);
    let offsets: Vec<u32> = regions.iter().map(|region| region.offset).collect();
    assert_eq!(offsets, [0x1000, 0x8000, 0xd000, 0x10000], "every flash_files entry");
    assert_eq!(regions[2].role.as_deref(), Some("otadata"));
    assert_eq!(regions[2].path, folder.path().join("ota_data_initial.bin"));

    let checked = plan.check(&PlanExpectations::default()).unwrap();
    assert_eq!(checked.regions().len(), 4);
    assert_eq!(checked.regions()[2].data, vec![0xFF; 0x2000]);
}

#[test]
fn project_folder_finds_build_subfolder() {
    let project = tempfile::tempdir().unwrap();
    let build = real_build_folder("esp32c3_idf4.4.1_ads1256.flasher_args.json", Chip::Esp32c3);
    fs::rename(build.path(), project.path().join("build")).unwrap();

    let plan = FlashPlan::from_build_folder(project.path()).unwrap();
    assert_eq!(planned(&plan)[0].path, project.path().join("build/bootloader/bootloader.bin"));
}

#[test]
fn missing_file_is_named() {
    let folder = real_build_folder("esp32_idf5.5.2_ota_mqtt.flasher_args.json", Chip::Esp32);
    fs::remove_file(folder.path().join("ota_data_initial.bin")).unwrap();
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    let error = plan.check(&PlanExpectations::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::FileMissing);
    let message = error.to_string();
    assert!(message.contains("otadata"), "{message}");
    assert!(message.contains("ota_data_initial.bin"), "{message}");
    assert!(message.contains("nothing was written"), "{message}");
}

#[test]
fn overlapping_regions_are_named() {
    let folder = tempfile::tempdir().unwrap();
    write_file(folder.path(), "big.bin", &[0x11; 0x9000]);
    write_file(folder.path(), "table.bin", &read_data("partition-bins/espidfpart_factory_app_two_ota.bin"));
    let plan = FlashPlan::from_region_args(&[
        format!("0x1000:{}", folder.path().join("big.bin").display()),
        format!("0x8000:{}", folder.path().join("table.bin").display()),
    ])
    .unwrap();

    let error = plan.check(&PlanExpectations::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::RegionsOverlap);
    let message = error.to_string();
    assert!(message.contains("big.bin at 0x1000..0xa000"), "{message}");
    assert!(message.contains("table.bin at 0x8000..0x8c00"), "{message}");
}

#[test]
fn app_larger_than_declared_flash() {
    let folder = real_build_folder("esp32_idf5.5.2_ota_mqtt.flasher_args.json", Chip::Esp32);
    // The plan declares 4 MB; an app at 0x10000 may be at most 0x3F0000 bytes.
    fs::write(folder.path().join("ESP32_OTA.bin"), app_image(Chip::Esp32, 0x3F_0001)).unwrap();
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    let error = plan.check(&PlanExpectations::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::ImageTooLarge);
    let message = error.to_string();
    assert!(message.contains("ESP32_OTA.bin"), "{message}");
    assert!(message.contains("4 MB flash"), "{message}");
    assert!(message.contains("flasher_args.json"), "{message}");
}

#[test]
fn chip_field_mismatch_names_both() {
    let folder = real_build_folder("esp32c3_idf4.4.1_ads1256.flasher_args.json", Chip::Esp32c3);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();
    let expectations = PlanExpectations {
        target_chip: Some(Chip::Esp32s3),
        registration: Some("k3x9".into()),
        idf_target: None,
    };

    let error = plan.check(&expectations).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanChipMismatch);
    let message = error.to_string();
    assert!(message.contains("the chip field of"), "{message}");
    assert!(message.contains("is for an ESP32-C3, but registration k3x9 is for an ESP32-S3"), "{message}");
    assert!(message.contains("build the firmware for esp32s3"), "{message}");
    assert!(error.hint().contains("idf.py set-target"), "{}", error.hint());
}

#[test]
fn bootloader_header_mismatch() {
    // ESP-IDF 4.0 wrote no chip field, so only the bootloader header says it is an ESP32 build.
    let folder = real_build_folder("esp32_idf4.0.1_bmp180.flasher_args.json", Chip::Esp32);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();
    let expectations = PlanExpectations { target_chip: Some(Chip::Esp32c3), ..PlanExpectations::default() };

    let error = plan.check(&expectations).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanChipMismatch);
    let message = error.to_string();
    assert!(message.contains("the bootloader header of bootloader"), "{message}");
    assert!(message.contains("is for an ESP32, but the registration is for an ESP32-C3"), "{message}");
}

#[test]
fn bootloader_contradicts_chip_field() {
    // A C3 build folder whose bootloader was replaced by an ESP32-S3 one.
    let folder = real_build_folder("esp32c3_idf4.4.1_ads1256.flasher_args.json", Chip::Esp32c3);
    fs::write(folder.path().join("bootloader/bootloader.bin"), bootloader_bin(Chip::Esp32s3)).unwrap();
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();

    let error = plan.check(&PlanExpectations::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanChipMismatch);
    let message = error.to_string();
    assert!(message.contains("ESP32-C3"), "{message}");
    assert!(message.contains("ESP32-S3"), "{message}");
}

#[test]
fn idf_target_mismatch() {
    let folder = real_build_folder("esp32s3_idf4.4dev_microlight.flasher_args.json", Chip::Esp32s3);
    let plan = FlashPlan::from_build_folder(folder.path()).unwrap();
    let expectations = PlanExpectations {
        target_chip: Some(Chip::Esp32s3),
        registration: None,
        idf_target: Some(Chip::Esp32),
    };

    let error = plan.check(&expectations).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanChipMismatch);
    let message = error.to_string();
    assert!(message.contains("CONFIG_IDF_TARGET says the firmware is for an ESP32,"), "{message}");
    assert!(message.contains("the registration is for an ESP32-S3"), "{message}");
}

#[test]
fn elf_metadata_gives_chip() {
    let plan = elf_plan(Chip::Esp32c3);
    let checked = plan.check(&PlanExpectations::default()).unwrap();
    assert_eq!(checked.chip(), Some(Chip::Esp32c3));
    let offsets: Vec<u32> = checked.regions().iter().map(|region| region.offset).collect();
    assert_eq!(offsets, [0x0, 0x8000, 0x10000]);

    let expectations = PlanExpectations { target_chip: Some(Chip::Esp32), ..PlanExpectations::default() };
    let error = plan.check(&expectations).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanChipMismatch);
    assert!(error.to_string().contains("CHIP_NAME metadata"), "{error}");
}

#[test]
fn elf_with_custom_bootloader_and_table() {
    let mut plan = FlashPlan::from_elf(flasher::ElfImage {
        path: data_path("firmware/esp32s3.elf"),
        bootloader: Some(data_path("firmware/bootloaders_esp32s3-bootloader.bin")),
        partition_table: Some(data_path("firmware/espflash_tests_partitions.csv")),
    });
    // The table's 4 MB factory partition needs a larger flash than the 4 MB espflash assumes.
    let error = plan.check(&PlanExpectations::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanInvalid);
    assert!(error.to_string().contains("does not fit"), "{error}");

    plan.flash_size = Some(8 * 1024 * 1024);
    let checked = plan.check(&PlanExpectations::default()).unwrap();
    let bootloader = &checked.regions()[0].data;
    let given = bootloader_bin(Chip::Esp32s3);
    assert_eq!(bootloader.len(), given.len());
    assert_eq!(bootloader[..2], given[..2], "magic and segment count of the given bootloader");
    assert_eq!(bootloader[12..14], given[12..14], "chip ID");
    assert_eq!(bootloader[3] >> 4, 3, "the header encodes the declared 8 MB flash");
}

#[test]
fn invalid_elf_is_plan_invalid() {
    let folder = tempfile::tempdir().unwrap();
    write_file(folder.path(), "broken.elf", b"\x7fELF not really");
    let plan = FlashPlan::from_elf(flasher::ElfImage {
        path: folder.path().join("broken.elf"),
        ..flasher::ElfImage::default()
    });
    let expectations = PlanExpectations { target_chip: Some(Chip::Esp32c3), ..PlanExpectations::default() };
    let error = plan.check(&expectations).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PlanInvalid);
    assert!(error.to_string().contains("broken.elf"), "{error}");
}
