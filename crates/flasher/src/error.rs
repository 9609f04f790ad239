//! The one error type of the flasher, its stable codes and the operator hint for each code.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use factory_core::Chip;
use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. User interfaces switch on the code (never on the
/// message text), and the serialized form (`"wrong_chip"`) is what crosses process boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No reply to the bootloader's SYNC request on the port.
    NotInDownloadMode,
    /// The board carries another chip than the registration or the caller expects.
    WrongChip,
    /// The chip replied but its SPI flash chip did not.
    NoFlashChip,
    /// The board replied at first and then went silent.
    BoardStoppedAnswering,
    /// The MD5 digest read back from the flash differs from the image.
    VerifyFailed,
    /// The operating system denied access to the port.
    PortPermissionDenied,
    /// Another program has the port open.
    PortBusy,
    /// The port does not exist (any more).
    PortGone,
    /// The flash plan or the job options are malformed.
    PlanInvalid,
    /// A file the plan names cannot be read.
    FileMissing,
    /// Two regions of the plan cover the same flash bytes.
    RegionsOverlap,
    /// A region ends past the end of the flash.
    ImageTooLarge,
    /// The firmware was built for another chip than the registration's.
    PlanChipMismatch,
    /// The ROM loader or the flasher stub returned an error status.
    DeviceError,
    /// Anything else.
    Unknown,
}

/// Each code with its wire spelling and the operator hint. This is the only place hints live, so
/// the command line, the desktop app and the logs all give the same advice.
const CODE_TABLE: [(ErrorCode, &str, &str); 15] = [
    (
        ErrorCode::NotInDownloadMode,
        "not_in_download_mode",
        "Put the board in download mode: hold BOOT, press and release RESET (or unplug and replug \
         the USB cable while holding BOOT), release BOOT, then try again.",
    ),
    (
        ErrorCode::WrongChip,
        "wrong_chip",
        "Plug in a board with the chip the registration is for, or pick a registration for the chip \
         on this board.",
    ),
    (
        ErrorCode::NoFlashChip,
        "no_flash_chip",
        "The chip answered but its flash chip did not. Check that the module is seated and \
         soldered correctly, or set this board aside as faulty.",
    ),
    (
        ErrorCode::BoardStoppedAnswering,
        "board_stopped_answering",
        "Check the USB cable and the board's power supply (a short data cable straight into the \
         computer or a powered hub), then flash again. The flash may be partly written.",
    ),
    (
        ErrorCode::VerifyFailed,
        "verify_failed",
        "Flash the board again. If verification fails a second time, the flash chip is probably \
         faulty: set the board aside.",
    ),
    (
        ErrorCode::PortPermissionDenied,
        "port_permission_denied",
        "On Linux add your user to the `dialout` group (`sudo usermod -aG dialout $USER`) and log in \
         again. On other systems check that no other user or security tool owns the port.",
    ),
    (
        ErrorCode::PortBusy,
        "port_busy",
        "Close the other program that has the port open (a serial monitor, an IDE, another flash \
         job), then try again.",
    ),
    (ErrorCode::PortGone, "port_gone", "Replug the board, refresh the port list and pick its port again."),
    (
        ErrorCode::PlanInvalid,
        "plan_invalid",
        "Fix the named file or value, or rebuild the firmware so the build folder is complete.",
    ),
    (
        ErrorCode::FileMissing,
        "file_missing",
        "Rebuild the firmware (`idf.py build`) so that every file the plan names exists, or \
         correct the path.",
    ),
    (
        ErrorCode::RegionsOverlap,
        "regions_overlap",
        "Move one of the two regions or remove it from the plan; check the partition table \
         offsets.",
    ),
    (
        ErrorCode::ImageTooLarge,
        "image_too_large",
        "Use a board with more flash, or shrink the image or the partition table so that it fits.",
    ),
    (
        ErrorCode::PlanChipMismatch,
        "plan_chip_mismatch",
        "Rebuild the firmware for the registration's chip (`idf.py set-target CHIP`, then \
         `idf.py build`), or pick a registration for the firmware's chip.",
    ),
    (
        ErrorCode::DeviceError,
        "device_error",
        "Reset the board into download mode and try again. If the same command fails again, try \
         again with the flasher stub switched the other way.",
    ),
    (
        ErrorCode::Unknown,
        "unknown",
        "Try again. If it happens again, keep the log of this flash job and report it.",
    ),
];

impl ErrorCode {
    /// Every code, in the order of the code table.
    pub const ALL: [ErrorCode; 15] = {
        let mut all = [ErrorCode::Unknown; 15];
        let mut index = 0;
        while index < CODE_TABLE.len() {
            all[index] = CODE_TABLE[index].0;
            index += 1;
        }
        all
    };

    /// Returns the stable wire spelling, for example `"wrong_chip"`.
    pub fn as_str(self) -> &'static str {
        self.entry().1
    }

    /// Returns the next step for the person at the bench.
    pub fn hint(self) -> &'static str {
        self.entry().2
    }

    fn entry(self) -> &'static (ErrorCode, &'static str, &'static str) {
        CODE_TABLE.iter().find(|entry| entry.0 == self).expect("every error code has a row in CODE_TABLE")
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CODE_TABLE
            .iter()
            .find(|entry| entry.1 == text)
            .map(|entry| entry.0)
            .ok_or_else(|| UnknownErrorCode { text: text.to_owned() })
    }
}

/// A code string that is not in the code table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a flasher error code")]
pub struct UnknownErrorCode {
    pub text: String,
}

/// Everything that can go wrong while planning or running a flash job.
///
/// Messages name the port, file or value involved; [`FlashError::hint`] gives the next step.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FlashError {
    #[error(
        "no answer from the ESP bootloader on port {port}, so the board is not in download mode \
         ({detail})"
    )]
    NotInDownloadMode { port: String, detail: String },

    #[error(
        "port {port} has an {found} but {wanted_by} is for an {}; plug in an {} board or {}",
        .expected.display_name(),
        .expected.display_name(),
        .wanted_by.alternative(.found)
    )]
    WrongChip {
        port: String,
        /// The detected chip's marketing name, for example "ESP32-C3".
        found: String,
        expected: Chip,
        /// The source of `expected`: the registration, or the firmware when no registration was given.
        wanted_by: ChipSource,
    },

    #[error(
        "port {port} has an {found}, which Node Factory does not provision; plug in an ESP32, ESP32-C3 or \
         ESP32-S3 board"
    )]
    UnsupportedChip {
        port: String,
        /// The detected chip's marketing name, or "unrecognized chip (…)".
        found: String,
    },

    #[error("the chip on port {port} answered but its flash chip did not (the flash ID reads as 0xFFFFFF)")]
    NoFlashChip { port: String },

    #[error("the board on port {port} stopped answering {during} ({detail})")]
    BoardStoppedAnswering {
        port: String,
        /// The step that was running, for example "while writing region 2 at 0x10000".
        during: String,
        detail: String,
    },

    #[error(
        "verification of region {index} at {offset:#x} ({size} bytes) failed on port {port}: \
         expected MD5 {expected_md5}, the board returned {}{}",
        .device_md5.as_deref().unwrap_or("no digest"),
        if *.nothing_written { "; the flash there reads as erased, so nothing was written" } else { "" }
    )]
    VerifyFailed {
        port: String,
        index: usize,
        offset: u32,
        size: u32,
        expected_md5: String,
        /// The digest the board returned, or `None` when reading it back failed as well.
        device_md5: Option<String>,
        /// True when the device digest is the MD5 of `size` bytes of 0xFF.
        nothing_written: bool,
    },

    #[error("permission denied opening port {port} ({detail})")]
    PortPermissionDenied { port: String, detail: String },

    #[error("port {port} is busy: another program has it open ({detail})")]
    PortBusy { port: String, detail: String },

    #[error("port {port} is gone ({detail})")]
    PortGone { port: String, detail: String },

    #[error("invalid flash plan: {location}: {detail}")]
    PlanInvalid {
        /// The file, field or option at fault, for example "build/flasher_args.json: flash_files".
        location: String,
        detail: String,
    },

    #[error("cannot read {role} file {} ({detail}); nothing was written", .path.display())]
    FileMissing { path: PathBuf, role: String, detail: String },

    #[error("flash regions overlap: {first} and {second}")]
    RegionsOverlap {
        /// The first region, described as "FILE at START..END".
        first: String,
        second: String,
    },

    #[error(
        "{region} ends at {end:#x}, past the end of the {flash_size_label} flash ({flash_size_source})",
        flash_size_label = size_label(*.flash_size)
    )]
    ImageTooLarge {
        /// The region, described as "FILE at START..END".
        region: String,
        end: u64,
        flash_size: u64,
        /// The source of the flash size: the plan's declared size or the connected board.
        flash_size_source: String,
    },

    #[error(
        "{evidence} says the firmware is for an {}, but {expected_source} is for an {}; build the \
         firmware for {} or pick another registration",
        .plan_chip.display_name(),
        .expected.display_name(),
        .expected.idf_target()
    )]
    PlanChipMismatch {
        plan_chip: Chip,
        /// The source of the firmware's chip, for example "the bootloader header of FILE".
        evidence: String,
        expected: Chip,
        /// The source of the expected chip, for example "the registration" or "CONFIG_IDF_TARGET".
        expected_source: String,
    },

    #[error("the bootloader on port {port} returned an error {during} ({detail})")]
    DeviceError { port: String, during: String, detail: String },

    #[error("flash job on port {port} failed {during} ({detail})")]
    Unknown { port: String, during: String, detail: String },

    #[error("listing the serial ports failed ({detail})")]
    PortListFailed { detail: String },
}

impl FlashError {
    /// Returns the stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            FlashError::NotInDownloadMode { .. } => ErrorCode::NotInDownloadMode,
            FlashError::WrongChip { .. } | FlashError::UnsupportedChip { .. } => ErrorCode::WrongChip,
            FlashError::NoFlashChip { .. } => ErrorCode::NoFlashChip,
            FlashError::BoardStoppedAnswering { .. } => ErrorCode::BoardStoppedAnswering,
            FlashError::VerifyFailed { .. } => ErrorCode::VerifyFailed,
            FlashError::PortPermissionDenied { .. } => ErrorCode::PortPermissionDenied,
            FlashError::PortBusy { .. } => ErrorCode::PortBusy,
            FlashError::PortGone { .. } => ErrorCode::PortGone,
            FlashError::PlanInvalid { .. } => ErrorCode::PlanInvalid,
            FlashError::FileMissing { .. } => ErrorCode::FileMissing,
            FlashError::RegionsOverlap { .. } => ErrorCode::RegionsOverlap,
            FlashError::ImageTooLarge { .. } => ErrorCode::ImageTooLarge,
            FlashError::PlanChipMismatch { .. } => ErrorCode::PlanChipMismatch,
            FlashError::DeviceError { .. } => ErrorCode::DeviceError,
            FlashError::Unknown { .. } | FlashError::PortListFailed { .. } => ErrorCode::Unknown,
        }
    }

    /// Returns the operator hint for this error's code.
    pub fn hint(&self) -> &'static str {
        self.code().hint()
    }

    pub(crate) fn plan_invalid(location: impl Into<String>, detail: impl Into<String>) -> FlashError {
        FlashError::PlanInvalid { location: location.into(), detail: detail.into() }
    }
}

/// The source of a chip expectation that the board does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChipSource {
    /// The registration being flashed, with its node ID when the caller passed it.
    Registration { node_id: Option<String> },
    /// The firmware, when the job has no registration's chip to compare with.
    Firmware,
}

impl ChipSource {
    /// Suggests the other way out besides plugging in the right board.
    fn alternative(&self, found: &str) -> String {
        match self {
            ChipSource::Registration { .. } => "pick another registration".to_owned(),
            ChipSource::Firmware => format!("pick firmware built for the {found}"),
        }
    }
}

impl fmt::Display for ChipSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChipSource::Registration { node_id: Some(node_id) } => write!(f, "registration {node_id}"),
            ChipSource::Registration { node_id: None } => f.write_str("the registration"),
            ChipSource::Firmware => f.write_str("the firmware"),
        }
    }
}

/// Formats a byte count as the MiB or KiB figure people use for flash sizes.
pub(crate) fn size_label(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KB", bytes / KIB)
    } else {
        format!("{bytes} byte")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn code_table_has_each_code_once() {
        let codes: HashSet<ErrorCode> = CODE_TABLE.iter().map(|entry| entry.0).collect();
        let names: HashSet<&str> = CODE_TABLE.iter().map(|entry| entry.1).collect();
        assert_eq!(codes.len(), CODE_TABLE.len());
        assert_eq!(names.len(), CODE_TABLE.len());
        assert_eq!(ErrorCode::ALL.len(), CODE_TABLE.len());
    }

    #[test]
    fn code_string_matches_serde_and_parses_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.as_str().parse::<ErrorCode>().unwrap(), code);
            assert!(!code.hint().is_empty(), "{code}");
        }
        assert!("wrong-chip".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn permission_hint_names_dialout() {
        assert!(ErrorCode::PortPermissionDenied.hint().contains("dialout"));
        assert!(ErrorCode::NotInDownloadMode.hint().contains("BOOT"));
        assert!(ErrorCode::BoardStoppedAnswering.hint().contains("USB cable"));
    }

    #[test]
    fn wrong_chip_message_names_both_chips() {
        let error = FlashError::WrongChip {
            port: "/dev/ttyUSB0".into(),
            found: Chip::Esp32c3.display_name().into(),
            expected: Chip::Esp32s3,
            wanted_by: ChipSource::Registration { node_id: Some("k3x9".into()) },
        };
        assert_eq!(
            error.to_string(),
            "port /dev/ttyUSB0 has an ESP32-C3 but registration k3x9 is for an ESP32-S3; plug in an \
             ESP32-S3 board or pick another registration"
        );
        assert_eq!(error.code(), ErrorCode::WrongChip);
    }

    #[test]
    fn verify_message_says_nothing_written() {
        let error = FlashError::VerifyFailed {
            port: "/dev/pts/3".into(),
            index: 2,
            offset: 0x10000,
            size: 16,
            expected_md5: "aa".into(),
            device_md5: Some("bb".into()),
            nothing_written: true,
        };
        let message = error.to_string();
        assert!(message.contains("0x10000"), "{message}");
        assert!(message.contains("expected MD5 aa, the board returned bb"), "{message}");
        assert!(message.contains("nothing was written"), "{message}");
    }

    #[test]
    fn size_label_uses_mb_and_kb() {
        assert_eq!(size_label(4 * 1024 * 1024), "4 MB");
        assert_eq!(size_label(3072), "3 KB");
        assert_eq!(size_label(100), "100 byte");
    }
}
