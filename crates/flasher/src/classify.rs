//! Maps serialport and espflash errors onto [`FlashError`]. espflash 4.7.0 keeps its inner error
//! types private, so errors are classified by the outer variant, the step that was running and the
//! text of the source chain. The texts are spelled out here once.

use std::io;

use espflash::Error as EspflashError;
use serialport::ErrorKind;

use crate::check::error_chain;
use crate::error::FlashError;

/// The step of a flash job an error came from, which decides what a timeout means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Opening the port and setting it up.
    Open,
    /// SYNC, chip detection, stub upload and flash detection.
    Connect,
    /// Reading MAC, revision, crystal and flash size.
    ReadInfo,
    /// Erasing the whole flash.
    Erase,
    /// Writing or verifying region `index`.
    Write { index: usize, offset: u32 },
    /// Ending the write and resetting the board after every region was written.
    Finish,
}

impl Step {
    fn during(self) -> String {
        match self {
            Step::Open => "while opening the port".to_owned(),
            Step::Connect => "while connecting".to_owned(),
            Step::ReadInfo => "while reading the chip's details".to_owned(),
            Step::Erase => "while erasing the flash".to_owned(),
            Step::Write { index, offset } => format!("while writing region {index} at {offset:#x}"),
            Step::Finish => {
                "after all regions were written, while ending the write and resetting the board".to_owned()
            }
        }
    }
}

// Display texts of espflash 4.7.0's private `ConnectionError` variants (src/error.rs).
const CONNECTION_FAILED: &str = "Failed to connect to the device";
const NO_SYNC_REPLY: &str = "getting no sync reply";
const WRONG_BOOT_MODE: &str = "Wrong boot mode detected";
const DEVICE_NOT_FOUND: &str = "Serial port not found";
const TIMEOUT: &str = "Timeout while running";
const STUB_HANDSHAKE: &str = "Invalid stub handshake";
const SERIAL_IO: &str = "IO error while using serial port";

// Texts of the errno values a USB serial device gives when it is unplugged (POLLHUP turns into
// EPIPE in serialport 4.10, reads of a removed device fail with EIO, ENODEV or ENXIO).
const UNPLUGGED: [&str; 4] = ["Broken pipe", "Input/output error", "No such device", "No such file"];

// Linux returns ENOTTY for the DTR/RTS ioctls on ports without modem lines, such as pseudo-terminals.
const NO_MODEM_LINES: [&str; 2] = ["Not a typewriter", "Inappropriate ioctl"];

/// Classifies an error from opening or configuring the port.
pub(crate) fn classify_port_error(port: &str, error: &serialport::Error) -> FlashError {
    let detail = error.to_string();
    let port = port.to_owned();
    let unplugged = UNPLUGGED.iter().any(|text| detail.contains(text));

    match error.kind() {
        ErrorKind::Io(io::ErrorKind::PermissionDenied) => FlashError::PortPermissionDenied { port, detail },
        ErrorKind::Io(io::ErrorKind::NotFound) => FlashError::PortGone { port, detail },
        // serialport reports EBUSY from TIOCEXCL and a lock held by another process as NoDevice.
        ErrorKind::NoDevice if !unplugged => FlashError::PortBusy { port, detail },
        _ if unplugged => FlashError::PortGone { port, detail },
        _ if detail.contains("busy") || detail.contains("lock") => FlashError::PortBusy { port, detail },
        _ => FlashError::Unknown { port, during: Step::Open.during(), detail },
    }
}

/// Classifies an espflash error raised during `step`. Verification failures are handled by the
/// job itself, because only it can read back the digests.
pub(crate) fn classify_espflash_error(port: &str, step: Step, error: &EspflashError) -> FlashError {
    let detail = error_chain(error);
    let port = port.to_owned();
    let during = step.during();

    match error {
        EspflashError::Connection(_) | EspflashError::Flashing(_) => classify_link_error(port, step, detail),
        EspflashError::RomError(_) => FlashError::DeviceError { port, during, detail },
        EspflashError::FlashConnect => FlashError::NoFlashChip { port },
        EspflashError::ChipDetectError(text) => {
            FlashError::UnsupportedChip { port, found: format!("unrecognized chip ({text})") }
        }
        EspflashError::VerifyFailed => FlashError::Unknown { port, during, detail },
        EspflashError::InvalidResponse(_)
        | EspflashError::IncorrectResponse
        | EspflashError::CorruptData(..)
        | EspflashError::DigestMismatch(..)
        | EspflashError::IncorrectDigestLength(_)
        | EspflashError::ReadMoreThanExpected => FlashError::DeviceError { port, during, detail },
        _ => FlashError::Unknown { port, during, detail },
    }
}

/// Classifies Connection and Flashing errors: the serial link failed or the board did not reply.
fn classify_link_error(port: String, step: Step, detail: String) -> FlashError {
    let during = step.during();

    if detail.contains(CONNECTION_FAILED)
        || detail.contains(NO_SYNC_REPLY)
        || detail.contains(WRONG_BOOT_MODE)
    {
        return FlashError::NotInDownloadMode { port, detail };
    }
    if NO_MODEM_LINES.iter().any(|text| detail.contains(text)) {
        let detail = format!(
            "{detail}; the port has no DTR/RTS lines to reset the board, so choose the reset mode \"none\" and put \
             the board in download mode by hand"
        );
        return match step {
            Step::Connect => FlashError::NotInDownloadMode { port, detail },
            _ => FlashError::Unknown { port, during, detail },
        };
    }
    if detail.contains(DEVICE_NOT_FOUND)
        || (detail.contains(SERIAL_IO) && UNPLUGGED.iter().any(|text| detail.contains(text)))
    {
        return FlashError::PortGone { port, detail };
    }
    if detail.contains(TIMEOUT) {
        return FlashError::BoardStoppedAnswering { port, during, detail };
    }
    if detail.contains(STUB_HANDSHAKE) {
        return FlashError::DeviceError { port, during, detail };
    }
    FlashError::Unknown { port, during, detail }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;
    use crate::ErrorCode;

    /// Stands in for espflash's private inner errors, which only show their text.
    #[derive(Debug)]
    struct Inner(&'static str);

    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Inner {}

    fn connection(text: &'static str) -> EspflashError {
        EspflashError::Connection(Box::new(Inner(text)))
    }

    fn flashing(text: &'static str) -> EspflashError {
        EspflashError::Flashing(Box::new(Inner(text)))
    }

    #[test]
    fn espflash_errors_map_to_codes() {
        let write = Step::Write { index: 2, offset: 0x10000 };
        let cases = [
            (Step::Connect, connection("Failed to connect to the device"), ErrorCode::NotInDownloadMode),
            (
                Step::Connect,
                connection("Download mode successfully detected, but getting no sync reply"),
                ErrorCode::NotInDownloadMode,
            ),
            (
                Step::Connect,
                connection("Wrong boot mode detected (0x13)! The chip needs to be in download mode."),
                ErrorCode::NotInDownloadMode,
            ),
            (
                Step::Connect,
                connection("IO error while using serial port: Not a typewriter"),
                ErrorCode::NotInDownloadMode,
            ),
            (
                Step::Connect,
                connection("Timeout while running ReadReg command"),
                ErrorCode::BoardStoppedAnswering,
            ),
            (Step::Connect, connection("Invalid stub handshake response received"), ErrorCode::DeviceError),
            (
                write,
                connection("Timeout while running FlashDeflData command"),
                ErrorCode::BoardStoppedAnswering,
            ),
            (write, flashing("Timeout while running FlashData command"), ErrorCode::BoardStoppedAnswering),
            (write, connection("IO error while using serial port: Broken pipe"), ErrorCode::PortGone),
            (write, connection("Serial port not found"), ErrorCode::PortGone),
            (write, connection("Received packet has invalid SLIP framing"), ErrorCode::Unknown),
            (
                Step::Finish,
                flashing("IO error while using serial port: Not a typewriter"),
                ErrorCode::Unknown,
            ),
            (
                write,
                EspflashError::RomError(Box::new(Inner("Error while running FlashBegin command"))),
                ErrorCode::DeviceError,
            ),
            (Step::Connect, EspflashError::FlashConnect, ErrorCode::NoFlashChip),
            (
                Step::Connect,
                EspflashError::ChipDetectError("unrecognized chip ID: 12".into()),
                ErrorCode::WrongChip,
            ),
            (write, EspflashError::InvalidResponse("short".into()), ErrorCode::DeviceError),
            (write, EspflashError::Cancelled, ErrorCode::Unknown),
        ];
        for (step, error, code) in cases {
            let classified = classify_espflash_error("/dev/ttyUSB0", step, &error);
            assert_eq!(classified.code(), code, "{step:?} {error:?}");
            assert!(classified.to_string().contains("/dev/ttyUSB0"), "{classified}");
        }
    }

    #[test]
    fn timeout_message_names_the_region() {
        let error = connection("Timeout while running FlashDeflData command");
        let classified =
            classify_espflash_error("/dev/pts/3", Step::Write { index: 2, offset: 0x10000 }, &error);
        let message = classified.to_string();
        assert!(message.contains("while writing region 2 at 0x10000"), "{message}");
        assert!(message.contains("FlashDeflData"), "{message}");
    }

    #[test]
    fn port_errors_map_to_codes() {
        let cases = [
            (
                serialport::Error::new(ErrorKind::Io(io::ErrorKind::PermissionDenied), "Permission denied"),
                ErrorCode::PortPermissionDenied,
            ),
            (
                serialport::Error::new(ErrorKind::Io(io::ErrorKind::NotFound), "No such file or directory"),
                ErrorCode::PortGone,
            ),
            (serialport::Error::new(ErrorKind::NoDevice, "Device or resource busy"), ErrorCode::PortBusy),
            (
                serialport::Error::new(
                    ErrorKind::NoDevice,
                    "Unable to acquire exclusive lock on serial port",
                ),
                ErrorCode::PortBusy,
            ),
            (serialport::Error::new(ErrorKind::Unknown, "No such device or address"), ErrorCode::PortGone),
            (
                serialport::Error::new(ErrorKind::Unknown, "Inappropriate ioctl for device"),
                ErrorCode::Unknown,
            ),
        ];
        for (error, code) in cases {
            let classified = classify_port_error("/dev/ttyACM0", &error);
            assert_eq!(classified.code(), code, "{error}");
            assert!(classified.to_string().contains("/dev/ttyACM0"), "{classified}");
        }
    }
}
