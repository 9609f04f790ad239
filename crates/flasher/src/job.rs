//! The flash job: check the plan, connect through espflash, refuse a wrong chip, optionally erase,
//! write, verify, and report what was written.

use std::borrow::Cow;
use std::fmt;

use espflash::command::{Command, CommandType};
use espflash::connection::{Connection, ResetAfterOperation, ResetBeforeOperation};
use espflash::flasher::Flasher;
use espflash::image_format::Segment;
use espflash::target::{Chip as EspflashChip, ProgressCallbacks, XtalFrequency};
use factory_core::Chip;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serialport::{SerialPort, UsbPortInfo};
use tracing::{debug, info, info_span, warn};

use crate::check::{ImageRegion, PlanExpectations, hex_digest};
use crate::chips::{espflash_chip_display_name, from_espflash_chip, to_espflash_chip};
use crate::classify::{Step, classify_espflash_error, classify_port_error};
use crate::error::{ChipSource, FlashError};
use crate::event::FlashEvent;
use crate::plan::FlashPlan;
use crate::ports::{Bridge, PortInfo};

/// The rate every ESP ROM loader starts at; espflash connects at this rate and only then switches
/// to [`FlashOptions::baud`].
const ROM_BAUD: u32 = 115_200;

/// The USB product ID of the USB-Serial-JTAG peripheral. espflash 4.7.0 switches to the JTAG reset
/// sequence and extra watchdog writes when it gets this ID, so it is passed on only for that bridge.
const USB_SERIAL_JTAG_PID: u16 = 0x1001;

/// The ROM loader writes flash in blocks of this size (espflash's `FLASH_WRITE_SIZE`).
const ROM_WRITE_BLOCK: u64 = 0x400;

/// The reset strategy that brings the board into the ROM loader and back out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetMode {
    /// Reset into download mode with the DTR/RTS lines (or the USB-Serial-JTAG sequence) before
    /// connecting, and reset into the new firmware afterwards. For real boards with an auto-reset
    /// circuit.
    #[default]
    Auto,
    /// Touch no modem line: the board must already be in download mode, and stays in the loader
    /// afterwards. For simulated boards (pseudo-terminals have no modem lines) and boards put in
    /// download mode by hand with the BOOT button.
    None,
}

/// Settings of one flash job. Fields left out of a serialized form take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlashOptions {
    /// How to reset the board before and after flashing.
    pub reset: ResetMode,
    /// Baud rate to switch to after connecting (through CHANGE_BAUDRATE), or `None` to stay at
    /// 115200. Faster rates shorten the write; long or poor cables may need a slower one.
    pub baud: Option<u32>,
    /// The registration's target chip. The job refuses a board with another chip before writing.
    pub expected_chip: Option<Chip>,
    /// The registration's node ID, used only to name the registration in messages and logs.
    pub registration: Option<String>,
    /// The `CONFIG_IDF_TARGET` of the firmware's project, when the caller read it; checked
    /// against the other chip evidence before connecting.
    pub idf_target: Option<Chip>,
    /// Erase the whole flash before writing, for a brand-new board's first flash so that no stale
    /// NVS or OTA data survives. Needs the stub, because the ROM loader rejects the erase command.
    pub erase_all: bool,
    /// Compare each region's MD5 digest with the board's after writing it. On by default; the
    /// registry records a board as flashed only after verification.
    pub verify: bool,
    /// Upload espflash's flasher stub first. The stub writes compressed data and can erase; turn it
    /// off only to work around a stub problem.
    pub use_stub: bool,
    /// Skip regions whose MD5 digest on the board already matches, to re-flash a board quickly.
    pub skip_unchanged: bool,
}

impl Default for FlashOptions {
    fn default() -> Self {
        FlashOptions {
            reset: ResetMode::Auto,
            baud: None,
            expected_chip: None,
            registration: None,
            idf_target: None,
            erase_all: false,
            verify: true,
            use_stub: true,
            skip_unchanged: false,
        }
    }
}

impl FlashOptions {
    /// Builds the expectations the plan check uses.
    pub fn expectations(&self) -> PlanExpectations {
        PlanExpectations {
            target_chip: self.expected_chip,
            registration: self.registration.clone(),
            idf_target: self.idf_target,
        }
    }
}

/// Facts about the board, read right after connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipFacts {
    pub chip: Chip,
    /// Silicon revision as ESP-IDF prints it, for example `v0.4`; `None` when the chip did not report it.
    pub revision: Option<String>,
    /// The factory MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// Detected flash size in bytes; `None` when the job stopped before detecting the flash, as
    /// it does for a board with the wrong chip.
    pub flash_size: Option<u64>,
}

/// One region as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionReport {
    /// Flash offset in bytes.
    pub offset: u32,
    /// Image length in bytes, without the 0xFF padding to a multiple of 4.
    pub size: u32,
    /// Lowercase hex SHA-256 of the image bytes.
    pub sha256: String,
    /// True when the board already held the region and it was not written.
    pub skipped: bool,
    /// The role or file name, for display.
    pub label: String,
}

/// The result of a successful flash job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashReport {
    pub chip: Chip,
    pub revision: Option<String>,
    pub mac: String,
    pub flash_size: u64,
    /// The regions in offset order.
    pub regions: Vec<RegionReport>,
}

/// A failed flash job: the error and what the job had learned before it, so the workflow can
/// still record the board's MAC and which regions were complete.
#[derive(Debug, Clone)]
pub struct FlashFailure {
    pub error: FlashError,
    /// The board's facts, when the job got as far as reading them.
    pub facts: Option<ChipFacts>,
    /// Regions written (and verified, when verification is on) or skipped before the failure.
    pub regions: Vec<RegionReport>,
}

impl fmt::Display for FlashFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for FlashFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Flashes `plan` onto the board at `port`, reporting progress through `on_event` in the order
/// documented on [`FlashEvent`]. Blocks until the job ends; call it from a blocking thread in async
/// code. The plan is checked before the port is opened, so a bad plan writes nothing.
#[expect(
    clippy::result_large_err,
    reason = "returned once per job that takes seconds; callers match on the failure's fields"
)]
pub fn flash(
    port: &PortInfo,
    plan: &FlashPlan,
    options: &FlashOptions,
    on_event: &mut dyn FnMut(&FlashEvent),
) -> Result<FlashReport, FlashFailure> {
    let span = info_span!(
        "flash_job",
        port = %port.path,
        node_id = options.registration.as_deref().unwrap_or("-")
    );
    let _entered = span.enter();

    let mut job = Job { port, options, emit: on_event, facts: None, completed: Vec::new() };
    match job.run(plan) {
        Ok(report) => {
            info!(chip = %report.chip, mac = %report.mac, regions = report.regions.len(), "flash job finished");
            Ok(report)
        }
        Err(error) => {
            let code = error.code();
            warn!(%code, %error, "flash job failed");
            (job.emit)(&FlashEvent::Failed { code });
            Err(FlashFailure { error, facts: job.facts, regions: job.completed })
        }
    }
}

struct Job<'a> {
    port: &'a PortInfo,
    options: &'a FlashOptions,
    emit: &'a mut dyn FnMut(&FlashEvent),
    facts: Option<ChipFacts>,
    completed: Vec<RegionReport>,
}

impl Job<'_> {
    fn run(&mut self, plan: &FlashPlan) -> Result<FlashReport, FlashError> {
        check_options(self.options)?;
        let checked = plan.check(&self.options.expectations())?;
        info!(plan = checked.describe(), "plan checked");

        (self.emit)(&FlashEvent::Connecting { port: self.port.path.clone() });
        let expected = self.expected_board_chip(checked.chip());
        let mut flasher = self.connect(expected)?;
        let (facts, flash_size, crystal) = self.read_facts(&mut flasher)?;
        self.facts = Some(facts.clone());
        (self.emit)(&FlashEvent::Connected {
            chip: facts.chip,
            revision: facts.revision.clone(),
            mac: facts.mac.clone(),
            flash_size,
        });

        let regions = checked.resolve_for_board(facts.chip, crystal, flash_size)?;

        if self.options.erase_all {
            (self.emit)(&FlashEvent::Erasing);
            flasher
                .erase_flash()
                .map_err(|error| classify_espflash_error(&self.port.path, Step::Erase, &error))?;
            (self.emit)(&FlashEvent::Erased);
            info!("flash erased");
        }

        self.write(&mut flasher, &regions)?;

        Ok(FlashReport {
            chip: facts.chip,
            revision: facts.revision,
            mac: facts.mac,
            flash_size,
            regions: std::mem::take(&mut self.completed),
        })
    }

    /// Returns the chip the board must have: the registration's, or without one the firmware's.
    fn expected_board_chip(&self, plan_chip: Option<Chip>) -> Option<(Chip, ChipSource)> {
        match (self.options.expected_chip, plan_chip) {
            (Some(expected), _) => {
                Some((expected, ChipSource::Registration { node_id: self.options.registration.clone() }))
            }
            (None, Some(plan_chip)) => Some((plan_chip, ChipSource::Firmware)),
            (None, None) => None,
        }
    }

    /// Opens the port and connects. espflash compares the detected chip with `expected` right
    /// after detecting it, before uploading the stub or probing the flash, so a wrong board is
    /// rejected before anything chip-specific is sent to it.
    fn connect(&mut self, expected: Option<(Chip, ChipSource)>) -> Result<Flasher, FlashError> {
        let path = self.port.path.clone();
        let mut serial = serialport::new(&path, ROM_BAUD)
            .open_native()
            .map_err(|error| classify_port_error(&path, &error))?;

        // Connection::new does not apply its baud argument, and a fresh pseudo-terminal runs at
        // 38400. espflash reads the port's rate for the ESP32 crystal estimate and CHANGE_BAUDRATE.
        serial.set_baud_rate(ROM_BAUD).map_err(|error| classify_port_error(&path, &error))?;

        let (before, after) = match self.options.reset {
            ResetMode::Auto if self.port.bridge == Some(Bridge::UsbSerialJtag) => {
                (ResetBeforeOperation::UsbReset, ResetAfterOperation::HardReset)
            }
            ResetMode::Auto => (ResetBeforeOperation::DefaultReset, ResetAfterOperation::HardReset),
            ResetMode::None => (ResetBeforeOperation::NoReset, ResetAfterOperation::NoResetNoStub),
        };
        let mut connection = Connection::new(serial, usb_port_info(self.port), after, before, ROM_BAUD);
        if let Some(baud) = self.options.baud.filter(|baud| *baud > ROM_BAUD) {
            connection = self.switch_rom_baud(connection, baud, after)?;
        }

        debug!(?before, ?after, use_stub = self.options.use_stub, "connecting");
        let attempt = Flasher::try_connect(
            connection,
            self.options.use_stub,
            self.options.verify,
            self.options.skip_unchanged,
            expected.as_ref().map(|(chip, _)| to_espflash_chip(*chip)),
            None,
        );
        let (error, mut connection) = match attempt {
            Ok(flasher) => return Ok(flasher),
            Err(failure) => *failure,
        };

        let (espflash::Error::ChipMismatch(_, detected), Some((expected, wanted_by))) = (&error, expected)
        else {
            return Err(classify_espflash_error(&path, Step::Connect, &error));
        };
        let detected = detected.parse::<EspflashChip>().ok();
        self.facts = detected.and_then(|chip| wrong_board_facts(chip, &mut connection));
        Err(FlashError::WrongChip {
            port: path,
            found: detected.map(espflash_chip_display_name).unwrap_or_else(|| "unrecognized chip".to_owned()),
            expected,
            wanted_by,
        })
    }

    /// Syncs with the ROM loader and switches it to `baud` before espflash connects, and
    /// returns a connection that will not reset the board again.
    ///
    /// espflash changes the rate only after it uploaded its stub and probed the flash at
    /// 115200 baud, which takes about half a second of a flash job. Asking the ROM loader
    /// first sends the stub at the fast rate too. The ROM loaders of the ESP32, ESP32-C3 and
    /// ESP32-S3 take CHANGE_BAUDRATE with the old rate given as 0, as espflash sends it to a
    /// board without the stub.
    // NOTE: this order has run against the simulated boards only; check it on real ESP32,
    // ESP32-C3 and ESP32-S3 boards, and on USB-Serial-JTAG ports, before relying on it.
    fn switch_rom_baud(
        &self,
        mut connection: Connection,
        baud: u32,
        after: ResetAfterOperation,
    ) -> Result<Connection, FlashError> {
        let path = &self.port.path;
        connection.begin().map_err(|error| classify_espflash_error(path, Step::Connect, &error))?;

        let change = Command::ChangeBaudrate { new_baud: baud, prior_baud: 0 };
        connection
            .with_timeout(CommandType::ChangeBaudrate.timeout(), |connection| connection.command(change))
            .and_then(|_| connection.set_baud(baud))
            .map_err(|error| classify_espflash_error(path, Step::Connect, &error))?;
        debug!(baud, "switched the ROM loader's baud rate");

        // The ROM answers at the old rate and then switches; give it the same pause espflash
        // gives after its own baud change, and drop anything sent during the switch.
        std::thread::sleep(std::time::Duration::from_millis(50));
        connection.flush().map_err(|error| classify_espflash_error(path, Step::Connect, &error))?;

        let serial = connection.into_serial();
        Ok(Connection::new(serial, usb_port_info(self.port), after, ResetBeforeOperation::NoReset, baud))
    }

    fn read_facts(&self, flasher: &mut Flasher) -> Result<(ChipFacts, u64, XtalFrequency), FlashError> {
        let path = &self.port.path;
        if flasher.secure_download_mode() {
            return Err(FlashError::DeviceError {
                port: path.clone(),
                during: "while connecting".to_owned(),
                detail:
                    "the board is in secure download mode, which hides its MAC address and blocks the MD5 \
                         check, so it cannot be provisioned here"
                        .to_owned(),
            });
        }

        let info =
            flasher.device_info().map_err(|error| classify_espflash_error(path, Step::ReadInfo, &error))?;
        let chip = from_espflash_chip(info.chip).ok_or_else(|| FlashError::UnsupportedChip {
            port: path.clone(),
            found: espflash_chip_display_name(info.chip),
        })?;
        let mac = info.mac_address.clone().ok_or_else(|| FlashError::DeviceError {
            port: path.clone(),
            during: "while reading the chip's details".to_owned(),
            detail: "the chip returned no MAC address".to_owned(),
        })?;

        let flash_size = u64::from(info.flash_size.size());
        let facts = ChipFacts {
            chip,
            revision: info.revision.map(format_revision),
            mac,
            flash_size: Some(flash_size),
        };
        info!(chip = %facts.chip, mac = %facts.mac, flash_size, "connected");
        Ok((facts, flash_size, info.crystal_frequency))
    }

    fn write(&mut self, flasher: &mut Flasher, regions: &[ImageRegion]) -> Result<(), FlashError> {
        // espflash's write_bins_to_flash sends each segment unpadded. The ROM and the stub expect
        // lengths that are multiples of 4, so each image is padded with erased-flash bytes.
        let padded: Vec<Vec<u8>> = regions.iter().map(|region| pad_to_word(&region.data)).collect();
        let segments: Vec<Segment<'_>> = regions
            .iter()
            .zip(&padded)
            .map(|(region, data)| Segment { addr: region.offset, data: Cow::Borrowed(data) })
            .collect();

        let mut progress = ProgressBridge::new(&mut *self.emit, regions, self.options.use_stub);
        let result = flasher.write_bins_to_flash(&segments, &mut progress);
        let outcome = progress.outcome();

        self.completed = outcome
            .finished
            .iter()
            .map(|&(index, skipped)| RegionReport {
                offset: regions[index].offset,
                size: regions[index].size(),
                sha256: regions[index].sha256_hex(),
                skipped,
                label: regions[index].label.clone(),
            })
            .collect();

        let Err(error) = result else {
            return Ok(());
        };
        let path = &self.port.path;
        let step = match regions.get(outcome.current) {
            Some(region) => Step::Write { index: outcome.current, offset: region.offset },
            None => Step::Finish,
        };
        if matches!(error, espflash::Error::VerifyFailed) && outcome.current < regions.len() {
            return Err(verify_failure(
                flasher,
                path,
                outcome.current,
                regions[outcome.current].offset,
                &padded[outcome.current],
            ));
        }
        Err(classify_espflash_error(path, step, &error))
    }
}

/// Reads the MAC and revision of a board with the wrong chip, so the failure can still name the
/// board. Returns `None` for a chip Node Factory does not provision or when a read fails.
fn wrong_board_facts(detected: EspflashChip, connection: &mut Connection) -> Option<ChipFacts> {
    let chip = from_espflash_chip(detected)?;
    let mac = detected.mac_address(connection).ok()?;
    let revision = detected.revision(connection).ok().map(format_revision);
    Some(ChipFacts { chip, revision, mac, flash_size: None })
}

/// Formats a silicon revision the way ESP-IDF prints it: `v0.4`.
fn format_revision((major, minor): (u32, u32)) -> String {
    format!("v{major}.{minor}")
}

fn check_options(options: &FlashOptions) -> Result<(), FlashError> {
    if options.erase_all && !options.use_stub {
        return Err(FlashError::plan_invalid(
            "flash options",
            "erasing the whole flash needs the flasher stub, because the ROM loader rejects the erase command; \
             turn the stub on or turn erasing off",
        ));
    }
    if options.baud == Some(0) {
        return Err(FlashError::plan_invalid(
            "flash options",
            "baud rate 0 is invalid; leave it unset to stay at 115200",
        ));
    }
    Ok(())
}

/// Builds the USB details espflash wants. A port without USB details (a pseudo-terminal, a
/// motherboard UART) gets zero IDs, and a product ID of 0x1001 is passed on only for the real
/// USB-Serial-JTAG bridge.
fn usb_port_info(port: &PortInfo) -> UsbPortInfo {
    match &port.usb {
        Some(usb) => UsbPortInfo {
            vid: usb.vid,
            pid: if usb.pid == USB_SERIAL_JTAG_PID && port.bridge != Some(Bridge::UsbSerialJtag) {
                0
            } else {
                usb.pid
            },
            serial_number: usb.serial_number.clone(),
            manufacturer: usb.manufacturer.clone(),
            product: usb.product.clone(),
        },
        None => UsbPortInfo { vid: 0, pid: 0, serial_number: None, manufacturer: None, product: None },
    }
}

fn pad_to_word(data: &[u8]) -> Vec<u8> {
    let mut padded = data.to_vec();
    padded.resize(data.len().next_multiple_of(4), 0xFF);
    padded
}

/// Reads the board's digest of the region that failed verification, to show both digests and to
/// tell "nothing was written" (the flash reads as erased) from a corrupted write. espflash returns
/// VerifyFailed before it ends the write, so the loader still responds.
fn verify_failure(
    flasher: &mut Flasher,
    port: &str,
    index: usize,
    offset: u32,
    written: &[u8],
) -> FlashError {
    let size = written.len() as u32;
    let expected_md5 = hex_digest(&Md5::digest(written));

    let device_md5 = match flasher.checksum_md5(offset, size) {
        Ok(digest) => Some(format!("{digest:032x}")),
        Err(error) => {
            warn!(%error, offset, "reading the digest back after a failed verification failed as well");
            None
        }
    };
    let nothing_written = device_md5.as_deref() == Some(erased_md5_hex(written.len()).as_str());
    FlashError::VerifyFailed {
        port: port.to_owned(),
        index,
        offset,
        size,
        expected_md5,
        device_md5,
        nothing_written,
    }
}

/// Computes the MD5 digest of `len` bytes of erased flash (0xFF), in lowercase hex.
fn erased_md5_hex(len: usize) -> String {
    hex_digest(&Md5::digest(vec![0xFFu8; len]))
}

/// The progress bridge's record of the write, read after the write returned.
struct ProgressOutcome {
    /// Index of the region espflash was on when the write returned (the region count when all
    /// regions finished).
    current: usize,
    /// Finished regions and whether each was skipped.
    finished: Vec<(usize, bool)>,
}

/// Turns espflash's packet-based progress callbacks into [`FlashEvent`]s. espflash reports the
/// segments in the order given, and calls `finish` once per segment, also for a skipped one (which
/// gets no `init`), so the finish count is the index of the current region.
struct ProgressBridge<'a> {
    emit: &'a mut dyn FnMut(&FlashEvent),
    regions: &'a [ImageRegion],
    use_stub: bool,
    current: usize,
    packets: u64,
    verifying: bool,
    finished: Vec<(usize, bool)>,
}

impl<'a> ProgressBridge<'a> {
    fn new(emit: &'a mut dyn FnMut(&FlashEvent), regions: &'a [ImageRegion], use_stub: bool) -> Self {
        ProgressBridge {
            emit,
            regions,
            use_stub,
            current: 0,
            packets: 0,
            verifying: false,
            finished: Vec::new(),
        }
    }

    fn outcome(self) -> ProgressOutcome {
        ProgressOutcome { current: self.current, finished: self.finished }
    }

    fn size(&self) -> u32 {
        self.regions.get(self.current).map(ImageRegion::size).unwrap_or(0)
    }

    /// Returns the file name of the current region's image, or its label when it has no file.
    fn name(&self) -> String {
        let Some(region) = self.regions.get(self.current) else {
            return String::new();
        };
        region
            .path
            .as_deref()
            .and_then(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| region.label.clone())
    }

    /// Computes the bytes of the current region written after `packets_sent` packets. The ROM path
    /// sends 1 KiB blocks of raw data, so that count is exact. The stub sends blocks of compressed
    /// data, so the share of packets sent is applied to the image size as an estimate.
    fn bytes_after(&self, packets_sent: u64) -> u32 {
        let size = u64::from(self.size());
        let bytes = if self.use_stub {
            size * packets_sent / self.packets.max(1)
        } else {
            packets_sent * ROM_WRITE_BLOCK
        };
        bytes.min(size) as u32
    }
}

impl ProgressCallbacks for ProgressBridge<'_> {
    fn init(&mut self, addr: u32, total: usize) {
        self.packets = total as u64;
        self.verifying = false;
        let event = FlashEvent::RegionStarted {
            index: self.current,
            offset: addr,
            size: self.size(),
            name: self.name(),
        };
        (self.emit)(&event);
    }

    fn update(&mut self, current: usize) {
        let event = FlashEvent::Written {
            index: self.current,
            bytes: self.bytes_after(current as u64),
            total: self.size(),
        };
        (self.emit)(&event);
    }

    fn verifying(&mut self) {
        self.verifying = true;
        (self.emit)(&FlashEvent::Verifying { index: self.current });
    }

    fn finish(&mut self, skipped: bool) {
        let index = self.current;
        if skipped {
            let offset = self.regions.get(index).map(|region| region.offset).unwrap_or(0);
            (self.emit)(&FlashEvent::RegionSkipped { index, offset });
        } else {
            if self.verifying {
                (self.emit)(&FlashEvent::Verified { index });
            }
            (self.emit)(&FlashEvent::RegionFinished { index });
        }
        self.finished.push((index, skipped));
        self.current += 1;
        self.verifying = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(offset: u32, len: usize) -> ImageRegion {
        ImageRegion { offset, data: vec![1; len], label: format!("r{offset:x}"), path: None }
    }

    #[test]
    fn padding_reaches_a_word() {
        assert_eq!(pad_to_word(&[1, 2, 3]), vec![1, 2, 3, 0xFF]);
        assert_eq!(pad_to_word(&[1, 2, 3, 4]), vec![1, 2, 3, 4]);
        assert_eq!(pad_to_word(&[1, 2, 3, 4, 5]).len(), 8);
    }

    #[test]
    fn bridge_reports_rom_blocks_exactly() {
        let regions = [region(0x0, 2500), region(0x8000, 100)];
        let mut events = Vec::new();
        let mut emit = |event: &FlashEvent| events.push(event.clone());
        let mut bridge = ProgressBridge::new(&mut emit, &regions, false);

        bridge.init(0x0, 3);
        for packet in 1..=3 {
            bridge.update(packet);
        }
        bridge.verifying();
        bridge.finish(false);
        bridge.finish(true);
        let outcome = bridge.outcome();

        assert_eq!(outcome.current, 2);
        assert_eq!(outcome.finished, vec![(0, false), (1, true)]);
        assert_eq!(
            events,
            vec![
                FlashEvent::RegionStarted { index: 0, offset: 0, size: 2500, name: "r0".to_owned() },
                FlashEvent::Written { index: 0, bytes: 1024, total: 2500 },
                FlashEvent::Written { index: 0, bytes: 2048, total: 2500 },
                FlashEvent::Written { index: 0, bytes: 2500, total: 2500 },
                FlashEvent::Verifying { index: 0 },
                FlashEvent::Verified { index: 0 },
                FlashEvent::RegionFinished { index: 0 },
                FlashEvent::RegionSkipped { index: 1, offset: 0x8000 },
            ]
        );
    }

    #[test]
    fn bridge_estimates_compressed_bytes() {
        let regions = [region(0x10000, 100_000)];
        let mut events = Vec::new();
        let mut emit = |event: &FlashEvent| events.push(event.clone());
        let mut bridge = ProgressBridge::new(&mut emit, &regions, true);

        bridge.init(0x10000, 3);
        for packet in 1..=3 {
            bridge.update(packet);
        }
        bridge.finish(false);

        let written: Vec<u32> = events
            .iter()
            .filter_map(|event| match event {
                FlashEvent::Written { bytes, .. } => Some(*bytes),
                _ => None,
            })
            .collect();
        assert_eq!(written, vec![33_333, 66_666, 100_000]);
        assert_eq!(events.last(), Some(&FlashEvent::RegionFinished { index: 0 }));
    }

    #[test]
    fn erased_digest_matches_known_value() {
        // The MD5 of 4096 bytes of 0xFF, as computed by Python's hashlib.
        assert_eq!(erased_md5_hex(4096), "6ae59e64850377ee5470c854761551ea");
    }

    #[test]
    fn erase_without_stub_is_rejected() {
        let options = FlashOptions { erase_all: true, use_stub: false, ..FlashOptions::default() };
        let error = check_options(&options).unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::PlanInvalid);
        assert!(error.to_string().contains("needs the flasher stub"), "{error}");
    }

    #[test]
    fn usb_info_hides_foreign_jtag_pid() {
        let mut port = PortInfo {
            path: "/dev/ttyACM0".into(),
            usb: Some(crate::UsbDetails {
                vid: 0x1234,
                pid: 0x1001,
                serial_number: None,
                manufacturer: None,
                product: None,
            }),
            bridge: None,
        };
        assert_eq!(usb_port_info(&port).pid, 0);

        port.usb.as_mut().unwrap().vid = 0x303a;
        port.bridge = Some(Bridge::UsbSerialJtag);
        assert_eq!(usb_port_info(&port).pid, 0x1001);

        let pty = PortInfo { path: "/dev/pts/3".into(), usb: None, bridge: None };
        assert_eq!(usb_port_info(&pty).pid, 0);
    }

    #[test]
    fn options_deserialize_with_defaults() {
        let options: FlashOptions =
            serde_json::from_str(r#"{ "reset": "none", "expected_chip": "esp32c3" }"#).unwrap();
        assert_eq!(options.reset, ResetMode::None);
        assert_eq!(options.expected_chip, Some(Chip::Esp32c3));
        assert!(options.verify);
        assert!(options.use_stub);
    }

    #[test]
    fn defaults_verify_and_use_stub() {
        let options = FlashOptions::default();
        assert!(options.verify);
        assert!(options.use_stub);
        assert!(!options.erase_all);
        assert_eq!(options.reset, ResetMode::Auto);
    }
}
