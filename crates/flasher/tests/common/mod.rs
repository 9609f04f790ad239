//! Helpers shared by the flasher's integration tests: real test data, simulated boards, build
//! folders and an event-order checker.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use factory_core::Chip;
use flasher::{
    ElfImage, FlashEvent, FlashFailure, FlashOptions, FlashPlan, FlashReport, PlanExpectations, PortInfo,
    ResetMode, flash,
};
use rom_sim::{BoardConfig, SimBoard, SimChip};
use tempfile::TempDir;

/// The real ESP-IDF inputs, which sit beside the repository checkout and are never copied into it.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

pub fn data_path(relative: &str) -> PathBuf {
    data_dir().join(relative)
}

pub fn read_data(relative: &str) -> Vec<u8> {
    let path = data_path(relative);
    fs::read(&path).unwrap_or_else(|error| panic!("failed to read test data {}: {error}", path.display()))
}

pub fn sim_chip(chip: Chip) -> SimChip {
    match chip {
        Chip::Esp32 => SimChip::Esp32,
        Chip::Esp32c3 => SimChip::Esp32c3,
        Chip::Esp32s3 => SimChip::Esp32s3,
    }
}

/// Starts a healthy board of `chip`, or one with the given fault knobs.
pub fn board(chip: Chip, knobs: &[&str]) -> SimBoard {
    let mut config = BoardConfig::new(sim_chip(chip));
    for knob in knobs {
        config.faults.push(knob.parse().unwrap_or_else(|error| panic!("bad knob {knob}: {error}")));
    }
    SimBoard::start(config).expect("simulated board starts")
}

pub fn port_of(board: &SimBoard) -> PortInfo {
    PortInfo::explicit(&board.port_path().to_string_lossy())
}

/// Options for a simulated board: no modem-line reset, the registration's chip, verification on.
pub fn sim_options(chip: Chip, use_stub: bool) -> FlashOptions {
    FlashOptions { reset: ResetMode::None, expected_chip: Some(chip), use_stub, ..FlashOptions::default() }
}

/// Runs a flash job and records its events.
pub fn run_job(
    port: &PortInfo,
    plan: &FlashPlan,
    options: &FlashOptions,
) -> (Result<FlashReport, FlashFailure>, Vec<FlashEvent>) {
    let mut events = Vec::new();
    let result = flash(port, plan, options, &mut |event| events.push(event.clone()));
    (result, events)
}

pub fn mac_string(mac: [u8; 6]) -> String {
    mac.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":")
}

pub fn elf_plan(chip: Chip) -> FlashPlan {
    FlashPlan::from_elf(ElfImage {
        path: data_path(&format!("firmware/{}.elf", chip.idf_target())),
        ..ElfImage::default()
    })
}

pub fn bootloader_bin(chip: Chip) -> Vec<u8> {
    read_data(&format!("firmware/bootloaders_{}-bootloader.bin", chip.idf_target()))
}

/// The app image espflash makes from the chip's test ELF, to stand in for an ESP-IDF app `.bin`.
pub fn app_bin(chip: Chip) -> Vec<u8> {
    let expectations = PlanExpectations { target_chip: Some(chip), ..PlanExpectations::default() };
    let checked = elf_plan(chip).check(&expectations).expect("test ELF converts");
    let app = checked.regions().iter().find(|region| region.offset == 0x10000).expect("an app at 0x10000");
    app.data.clone()
}

/// The images espflash itself makes from the chip's test ELF for a simulated board (4 MB flash,
/// 40 MHz crystal), as an oracle independent of the flasher's own conversion.
pub fn espflash_elf_regions(chip: Chip) -> Vec<(u32, Vec<u8>)> {
    use espflash::flasher::{FlashData, FlashSettings, FlashSize};
    use espflash::image_format::{ImageFormat, idf::IdfBootloaderFormat};
    use espflash::target::{Chip as EspflashChip, XtalFrequency};

    let espflash_chip = match chip {
        Chip::Esp32 => EspflashChip::Esp32,
        Chip::Esp32c3 => EspflashChip::Esp32c3,
        Chip::Esp32s3 => EspflashChip::Esp32s3,
    };
    let elf = read_data(&format!("firmware/{}.elf", chip.idf_target()));
    let flash_data = FlashData::new(
        FlashSettings::new(None, Some(FlashSize::_4Mb), None),
        0,
        None,
        espflash_chip,
        XtalFrequency::_40Mhz,
    );
    let format: ImageFormat<'_> = IdfBootloaderFormat::new(&elf, &flash_data, None, None, None, None)
        .expect("test ELF converts")
        .into();
    format.flash_segments().into_iter().map(|segment| (segment.addr, segment.data.into_owned())).collect()
}

/// Writes `files` (relative path and bytes) and a `flasher_args.json` with `json` into a fresh
/// build folder.
pub fn build_folder(json: &str, files: &[(&str, Vec<u8>)]) -> TempDir {
    let folder = tempfile::tempdir().expect("temp dir");
    for (relative, bytes) in files {
        write_file(folder.path(), relative, bytes);
    }
    write_file(folder.path(), "flasher_args.json", json.as_bytes());
    folder
}

pub fn write_file(folder: &Path, relative: &str, bytes: &[u8]) {
    let path = folder.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
}

/// A `flasher_args.json` in the ESP-IDF 5.x layout for a bootloader, a partition table and an app.
pub fn flasher_args_json(chip: Chip) -> String {
    let boot = format!("{:#x}", chip.bootloader_offset());
    format!(
        r#"{{
    "write_flash_args" : [ "--flash-mode", "dio", "--flash-size", "4MB", "--flash-freq", "40m" ],
    "flash_settings" : {{ "flash_mode": "dio", "flash_size": "4MB", "flash_freq": "40m" }},
    "flash_files" : {{
        "{boot}" : "bootloader/bootloader.bin",
        "0x8000" : "partition_table/partition-table.bin",
        "0x10000" : "node.bin"
    }},
    "bootloader" : {{ "offset" : "{boot}", "file" : "bootloader/bootloader.bin", "encrypted" : "false" }},
    "app" : {{ "offset" : "0x10000", "file" : "node.bin", "encrypted" : "false" }},
    "partition-table" : {{ "offset" : "0x8000", "file" : "partition_table/partition-table.bin", "encrypted" : "false" }},
    "extra_esptool_args" : {{ "after" : "hard-reset", "before" : "default-reset", "stub" : true, "chip" : "{chip}" }}
}}"#,
        chip = chip.idf_target()
    )
}

/// What a job's event stream should contain besides the per-region sizes.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub erase: bool,
    pub verify: bool,
    pub skipped: bool,
}

/// Asserts the documented event order for a successful job that wrote `regions` (offset, size):
/// Connecting, Connected, optional Erasing/Erased, then per region RegionStarted, Written events
/// rising to the region size, Verifying/Verified when verifying, RegionFinished; or RegionSkipped.
pub fn assert_event_order(events: &[FlashEvent], regions: &[(u32, u32)], expected: Expected) {
    let mut rest = events.iter().peekable();

    assert!(matches!(rest.next(), Some(FlashEvent::Connecting { .. })), "{events:?}");
    assert!(matches!(rest.next(), Some(FlashEvent::Connected { .. })), "{events:?}");
    if expected.erase {
        assert_eq!(rest.next(), Some(&FlashEvent::Erasing), "{events:?}");
        assert_eq!(rest.next(), Some(&FlashEvent::Erased), "{events:?}");
    }

    for (index, &(offset, size)) in regions.iter().enumerate() {
        if expected.skipped {
            assert_eq!(rest.next(), Some(&FlashEvent::RegionSkipped { index, offset }), "{events:?}");
            continue;
        }
        let Some(FlashEvent::RegionStarted {
            index: started,
            offset: started_offset,
            size: started_size,
            name,
        }) = rest.next()
        else {
            panic!("region {index} did not start with RegionStarted: {events:?}");
        };
        assert_eq!((*started, *started_offset, *started_size), (index, offset, size));
        assert!(!name.is_empty(), "region {index} has a name");

        let mut last_bytes = 0;
        let mut written_events = 0;
        while let Some(FlashEvent::Written { index: written_index, bytes, total }) = rest.peek() {
            assert_eq!(*written_index, index);
            assert_eq!(*total, size, "total equals the region size");
            assert!(*bytes > last_bytes, "bytes rise: {bytes} after {last_bytes}");
            last_bytes = *bytes;
            written_events += 1;
            rest.next();
        }
        assert!(written_events > 0, "region {index} reported no Written event");
        assert_eq!(last_bytes, size, "written bytes of region {index} add up to its size");

        if expected.verify {
            assert_eq!(rest.next(), Some(&FlashEvent::Verifying { index }));
            assert_eq!(rest.next(), Some(&FlashEvent::Verified { index }));
        }
        assert_eq!(rest.next(), Some(&FlashEvent::RegionFinished { index }));
    }
    assert_eq!(rest.next(), None, "no event after the last region");
}
