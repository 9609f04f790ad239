//! Helpers shared by the integration tests: test data, espflash connections, expected images.

#![allow(dead_code)]

use std::path::PathBuf;

use espflash::connection::{Connection, ResetAfterOperation, ResetBeforeOperation};
use espflash::flasher::{DeviceInfo, FlashData, FlashSettings, Flasher};
use espflash::image_format::{ImageFormat, Segment, idf::IdfBootloaderFormat};
use espflash::target::{Chip, ProgressCallbacks};
use rom_sim::{SimBoard, SimChip};
use serialport::UsbPortInfo;

/// Returns the shared test data folder, which sits beside the repository checkout.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Reads a file from the shared test data, failing the test with the path if it is missing.
pub fn read_data(relative: &str) -> Vec<u8> {
    let path = data_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("failed to read test data {}: {e}", path.display()))
}

pub fn espflash_chip(chip: SimChip) -> Chip {
    match chip {
        SimChip::Esp32 => Chip::Esp32,
        SimChip::Esp32c3 => Chip::Esp32c3,
        SimChip::Esp32s3 => Chip::Esp32s3,
    }
}

/// Returns the chip's second-stage bootloader from the test data and its flash address.
pub fn bootloader(chip: SimChip) -> (u32, Vec<u8>) {
    let address = if chip == SimChip::Esp32 { 0x1000 } else { 0x0 };
    (address, read_data(&format!("firmware/bootloaders_{}-bootloader.bin", chip.name())))
}

/// Returns a real ESP-IDF partition table binary.
pub fn partition_table() -> Vec<u8> {
    read_data("partition-bins/espidfpart_factory_app_two_ota.bin")
}

/// Returns `len` bytes that zlib cannot shrink, so espflash sends them uncompressed to the stub.
pub fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Formats a MAC address the way espflash reports it.
pub fn mac_string(mac: [u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// A progress sink that draws nothing.
pub struct NoProgress;

impl ProgressCallbacks for NoProgress {
    fn init(&mut self, _addr: u32, _total: usize) {}
    fn update(&mut self, _current: usize) {}
    fn verifying(&mut self) {}
    fn finish(&mut self, _skipped: bool) {}
}

/// Opens the board's port and connects espflash without touching DTR/RTS, which a
/// pseudo-terminal does not have. Verification is on, and the board stays in its loader after
/// each operation.
pub fn connect(
    board: &SimBoard,
    use_stub: bool,
    chip: Option<Chip>,
    baud: Option<u32>,
) -> Result<Flasher, espflash::Error> {
    connect_with(board, use_stub, chip, baud, ResetAfterOperation::NoResetNoStub)
}

/// Connects like [`connect`] with another after-operation, which espflash runs after each
/// write. Only `NoResetNoStub` and `NoReset` send nothing on the modem lines.
pub fn connect_with(
    board: &SimBoard,
    use_stub: bool,
    chip: Option<Chip>,
    baud: Option<u32>,
    after: ResetAfterOperation,
) -> Result<Flasher, espflash::Error> {
    let path = board.port_path().to_string_lossy().into_owned();
    // Connection::new does not apply its baud argument, and a fresh pty runs at 38400.
    let port = serialport::new(&path, 115_200)
        .open_native()
        .unwrap_or_else(|e| panic!("failed to open {path}: {e}"));
    // Any pid but 0x1001 (USB-Serial-JTAG), which would make espflash toggle DTR/RTS.
    let usb =
        UsbPortInfo { vid: 0x10c4, pid: 0xea60, serial_number: None, manufacturer: None, product: None };
    let connection = Connection::new(port, usb, after, ResetBeforeOperation::NoReset, 115_200);
    Flasher::connect(connection, use_stub, true, false, chip, baud)
}

/// Builds the ESP-IDF image espflash flashes for a chip's test ELF.
pub fn elf_image<'a>(elf: &'a [u8], info: &DeviceInfo) -> ImageFormat<'a> {
    let flash_data = FlashData::new(
        FlashSettings::new(None, Some(info.flash_size), None),
        0,
        None,
        info.chip,
        info.crystal_frequency,
    );
    IdfBootloaderFormat::new(elf, &flash_data, None, None, None, None)
        .expect("test ELF converts to an ESP-IDF image")
        .into()
}

/// Asserts that the board's flash contains every segment byte for byte.
pub fn assert_flash_holds(board: &SimBoard, segments: &[Segment<'_>]) {
    for segment in segments {
        let stored = board.read_flash(segment.addr, segment.data.len() as u32);
        assert!(
            stored == segment.data.as_ref(),
            "flash at {:#x} ({} bytes) differs from what was sent",
            segment.addr,
            segment.data.len()
        );
    }
}

/// Returns the error's source chain as one string, for matching espflash's private error types.
pub fn error_chain(error: &espflash::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
