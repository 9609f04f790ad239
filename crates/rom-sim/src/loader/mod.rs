//! The serial bootloader state machine: it turns request frames into reply frames.
//!
//! Nothing here touches the pseudo-terminal, so the whole protocol logic runs in unit tests.

mod handlers;
mod read_flash;
mod request;

use tracing::debug;

use self::read_flash::ReadFlashJob;
use self::request::Request;
use crate::chip::ChipProfile;
use crate::download::{RomDownload, StubDownload};
use crate::flash::FlashMemory;
use crate::registers::RegisterFile;
use crate::reply::{self, Answer, Failure, StatusFormat};
use crate::{
    BoardConfig, Command, Fault, LoaderState, LoggedCommand, Outcome, RomFlashEnd, SimChip, SimError, slip,
};

/// The baud rate every ESP ROM loader starts at.
const ROM_BAUD: u32 = 115_200;
/// The stub's greeting, sent in its own frame once it runs.
const OHAI: &[u8] = b"OHAI";
/// Number of replies each loader sends to one SYNC request.
const SYNC_REPLIES: usize = 8;
/// Number of replies to the first SYNC with the `short-sync` fault.
const SHORT_SYNC_REPLIES: usize = 4;

/// A flash download in progress.
#[derive(Debug)]
enum Download {
    Rom(RomDownload),
    Stub(StubDownload),
}

/// A RAM download in progress. Nothing is stored or executed; the loader only checks the blocks.
#[derive(Debug)]
struct MemDownload {
    size: u32,
    blocks: u32,
    block_size: u32,
    received: u32,
    next_seq: u32,
}

/// Effect of a command that takes place once its reply is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    /// The uploaded stub starts and greets the host.
    StartStub,
    /// The stub streams flash contents to the host.
    StartReadFlash,
    /// The UART switches to a new baud rate.
    SetBaud(u32),
    /// The chip leaves the loader and stops replying.
    Exit,
    /// The stub reboots the chip into the ROM loader.
    RebootToRom,
}

/// The result of executing one request.
struct Step {
    result: Result<Answer, Failure>,
    after: After,
    /// False for commands that get no reply (RUN_USER_CODE).
    reply: bool,
}

impl Step {
    fn new(result: Result<Answer, Failure>) -> Self {
        Step { result, after: After::Nothing, reply: true }
    }

    fn then(result: Result<Answer, Failure>, after: After) -> Self {
        let after = if result.is_ok() { after } else { After::Nothing };
        Step { result, after, reply: true }
    }
}

/// Fault knobs resolved into the switches the state machine checks.
#[derive(Debug, Default)]
struct Faults {
    silent: bool,
    stall_after: Option<u32>,
    error_on: Vec<Command>,
    corrupt_flash: bool,
    short_sync: bool,
}

impl Faults {
    fn from_config(faults: &[Fault]) -> Self {
        let mut resolved = Faults::default();
        for fault in faults {
            match *fault {
                Fault::Silent => resolved.silent = true,
                Fault::StallAfter(count) => {
                    resolved.stall_after = Some(resolved.stall_after.map_or(count, |c| c.min(count)));
                }
                Fault::ErrorOn(command) => resolved.error_on.push(command),
                Fault::CorruptFlash => resolved.corrupt_flash = true,
                Fault::ShortSync => resolved.short_sync = true,
                // These two change the board's identity and flash chip, set up in `Loader::new`.
                Fault::WrongChip(_) | Fault::NoFlash => {}
            }
        }
        resolved
    }
}

/// One simulated chip: its loader state, registers and flash.
#[derive(Debug)]
pub(crate) struct Loader {
    profile: &'static ChipProfile,
    /// Chip ID reported by GET_SECURITY_INFO, which `wrong-chip` may change.
    chip_id: Option<u32>,
    state: LoaderState,
    registers: RegisterFile,
    flash: FlashMemory,
    download: Option<Download>,
    mem: Option<MemDownload>,
    read_job: Option<ReadFlashJob>,
    faults: Faults,
    rom_flash_end: RomFlashEnd,
    initial_baud: u32,
    baud: u32,
    answered: u32,
    log: Vec<LoggedCommand>,
}

impl Loader {
    pub(crate) fn new(config: &BoardConfig) -> Result<Self, SimError> {
        let capacity = config.capacity_code()?;
        let profile = config.chip.profile();
        let identity: SimChip = config
            .faults
            .iter()
            .find_map(|fault| match fault {
                Fault::WrongChip(chip) => Some(*chip),
                _ => None,
            })
            .unwrap_or(config.chip);

        let flash_present = !config.has_fault(Fault::NoFlash);
        // Winbond W25Q-series ID: manufacturer 0xEF, memory type 0x40, then the capacity code.
        let jedec_id = if flash_present { 0xef | 0x40 << 8 | u32::from(capacity) << 16 } else { 0x00ff_ffff };

        let initial_baud = match config.pacing_baud {
            Some(0) => return Err(SimError::ZeroPacingBaud),
            Some(baud) => baud,
            None => ROM_BAUD,
        };

        let mut registers =
            RegisterFile::new(profile, identity.profile().magic, config.mac, jedec_id, initial_baud);
        if identity != config.chip {
            registers.place_mac(identity.profile(), config.mac);
        }

        Ok(Loader {
            profile,
            chip_id: identity.profile().chip_id,
            state: LoaderState::Rom,
            registers,
            flash: FlashMemory::new(config.flash_size, flash_present),
            download: None,
            mem: None,
            read_job: None,
            faults: Faults::from_config(&config.faults),
            rom_flash_end: config.rom_flash_end,
            initial_baud,
            baud: initial_baud,
            answered: 0,
            log: Vec::new(),
        })
    }

    pub(crate) fn state(&self) -> LoaderState {
        self.state
    }

    /// Returns the UART baud rate the board uses now.
    pub(crate) fn baud(&self) -> u32 {
        self.baud
    }

    pub(crate) fn flash(&self) -> &FlashMemory {
        &self.flash
    }

    pub(crate) fn log(&self) -> &[LoggedCommand] {
        &self.log
    }

    fn format(&self) -> StatusFormat {
        match self.state {
            LoaderState::Stub => StatusFormat::Stub,
            LoaderState::Rom | LoaderState::Exited => StatusFormat::Rom,
        }
    }

    /// Handles one decoded frame and returns the bytes to send, one SLIP-encoded write each.
    pub(crate) fn handle_frame(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        if self.read_job.is_some() {
            if frame.len() == 4 {
                return self.continue_read_flash(frame);
            }
            debug!(len = frame.len(), "READ_FLASH aborted by a frame that is not an acknowledgement");
            self.read_job = None;
        }

        let Some(request) = Request::parse(frame) else {
            debug!(len = frame.len(), "ignoring a frame that is not a request");
            return Vec::new();
        };
        let state = self.state;

        if !self.answers() {
            self.record(&request, state, Outcome::NoReply);
            return Vec::new();
        }
        self.answered += 1;

        let step = if self.faults.error_on.contains(&request.command) {
            Step::new(Err(Failure::Injected))
        } else {
            self.execute(&request)
        };

        let format = self.format();
        let outcome = match (&step.result, step.reply) {
            (_, false) => Outcome::NoReply,
            (Ok(_), true) => Outcome::Ok,
            (Err(failure), true) => Outcome::Failed { code: failure.code(format) },
        };
        self.record(&request, state, outcome);

        let mut writes = Vec::new();
        if step.reply {
            writes.push(self.encode_reply(&request, format, &step.result));
        }
        self.apply(step.after, &mut writes);
        writes
    }

    /// Returns whether the board replies to requests at all right now.
    fn answers(&self) -> bool {
        let stalled = self.faults.stall_after.is_some_and(|limit| self.answered >= limit);
        self.state != LoaderState::Exited && !self.faults.silent && !stalled
    }

    /// Returns how many replies a board with the `short-sync` fault sends to this SYNC: part of
    /// the burst for the first SYNC and nothing afterwards. Replies to later SYNCs could
    /// otherwise arrive after the host gave up on one attempt and complete the next one, so
    /// that a slow host would sync after all.
    fn short_sync_replies(&self) -> usize {
        let syncs_so_far = self.log.iter().filter(|logged| logged.command == Command::Sync).count();
        if syncs_so_far <= 1 { SHORT_SYNC_REPLIES } else { 0 }
    }

    fn encode_reply(
        &self,
        request: &Request<'_>,
        format: StatusFormat,
        result: &Result<Answer, Failure>,
    ) -> Vec<u8> {
        let frame = reply::build(request.command.opcode(), format, result);
        // Both loaders reply to SYNC with a burst of identical frames.
        let copies = if request.command == Command::Sync && result.is_ok() {
            if self.faults.short_sync { self.short_sync_replies() } else { SYNC_REPLIES }
        } else {
            1
        };
        let mut bytes = Vec::new();
        for _ in 0..copies {
            slip::encode_into(&mut bytes, &frame);
        }
        bytes
    }

    fn apply(&mut self, after: After, writes: &mut Vec<Vec<u8>>) {
        match after {
            After::Nothing => {}
            After::StartStub => {
                self.state = LoaderState::Stub;
                self.download = None;
                writes.push(slip::encode(OHAI));
            }
            After::StartReadFlash => {
                if let Some(job) = self.read_job.as_mut() {
                    writes.push(job.next_frame(&self.flash));
                    if job.is_done() {
                        self.read_job = None;
                    }
                }
            }
            After::SetBaud(baud) => {
                self.baud = baud;
                self.registers.set_baud(baud);
            }
            After::Exit => {
                self.state = LoaderState::Exited;
                self.download = None;
            }
            After::RebootToRom => self.reset(),
        }
    }

    /// Restarts the chip in the ROM loader. The flash keeps its contents, and fault knobs stay
    /// in force.
    pub(crate) fn reset(&mut self) {
        self.state = LoaderState::Rom;
        self.download = None;
        self.mem = None;
        self.read_job = None;
        self.baud = self.initial_baud;
        self.registers.set_baud(self.initial_baud);
        self.registers.reset();
    }

    fn continue_read_flash(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        let Some(job) = self.read_job.as_mut() else {
            return Vec::new();
        };
        let acked = u32::from_le_bytes(frame.try_into().expect("four-byte frame"));
        let frame = job.acknowledge(acked, &self.flash);
        if job.is_done() {
            self.read_job = None;
        }
        frame.into_iter().collect()
    }

    fn record(&mut self, request: &Request<'_>, state: LoaderState, outcome: Outcome) {
        debug!(
            command = %request.command,
            payload_len = request.payload.len(),
            ?state,
            ?outcome,
            "bootloader command"
        );
        self.log.push(LoggedCommand {
            command: request.command,
            payload_len: request.payload.len(),
            state,
            outcome,
        });
    }
}

#[cfg(test)]
mod tests;
