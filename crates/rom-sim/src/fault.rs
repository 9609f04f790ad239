//! Fault knobs that make a simulated board misbehave the way broken hardware does.

use std::fmt;
use std::str::FromStr;

use crate::{Command, SimChip, SimError};

/// The valid knob spellings, listed in parse errors.
const VALID_KNOBS: &str = "silent, wrong-chip=CHIP, stall-after=N, error-on=COMMAND, \
                           corrupt-flash, no-flash, short-sync";

/// A way for the simulated board to fail. Each fault also parses from its knob text
/// (`stall-after=40`) and prints back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `silent`: the board never replies, like a board that is not in download mode.
    Silent,
    /// `wrong-chip=esp32s3`: the board reports another chip's magic value and chip ID. Only those
    /// identity words change: the MAC eFuses and the SPI controller stay where the real chip has
    /// them.
    WrongChip(SimChip),
    /// `stall-after=N`: the board replies to N commands and then stops, like a pulled cable.
    StallAfter(u32),
    /// `error-on=COMMAND`: every request with this opcode gets a failure status.
    ErrorOn(Command),
    /// `corrupt-flash`: each flash download flips a bit of one written byte, so the MD5 check fails.
    CorruptFlash,
    /// `no-flash`: no flash chip is fitted, so the JEDEC ID reads 0xFFFFFF and the flash reads as 0xFF.
    NoFlash,
    /// `short-sync`: the first SYNC gets four replies instead of the eight hosts wait for, and
    /// later SYNCs get none.
    ShortSync,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Silent => f.write_str("silent"),
            Fault::WrongChip(chip) => write!(f, "wrong-chip={chip}"),
            Fault::StallAfter(count) => write!(f, "stall-after={count}"),
            Fault::ErrorOn(command) => write!(f, "error-on={command}"),
            Fault::CorruptFlash => f.write_str("corrupt-flash"),
            Fault::NoFlash => f.write_str("no-flash"),
            Fault::ShortSync => f.write_str("short-sync"),
        }
    }
}

impl FromStr for Fault {
    type Err = SimError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid =
            |reason: String| SimError::InvalidKnob { text: text.to_owned(), reason, valid: VALID_KNOBS };

        let trimmed = text.trim();
        let (name, value) = match trimmed.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (trimmed, None),
        };

        let fault = match (name, value) {
            ("silent", None) => Fault::Silent,
            ("corrupt-flash", None) => Fault::CorruptFlash,
            ("no-flash", None) => Fault::NoFlash,
            ("short-sync", None) => Fault::ShortSync,
            ("wrong-chip", Some(chip)) => {
                Fault::WrongChip(chip.parse().map_err(|e: SimError| invalid(e.to_string()))?)
            }
            ("stall-after", Some(count)) => Fault::StallAfter(
                count.parse().map_err(|_| invalid(format!("`{count}` is not a command count")))?,
            ),
            ("error-on", Some(command)) => {
                Fault::ErrorOn(command.parse().map_err(|e: SimError| invalid(e.to_string()))?)
            }
            ("silent" | "corrupt-flash" | "no-flash" | "short-sync", Some(_)) => {
                return Err(invalid(format!("`{name}` takes no value")));
            }
            ("wrong-chip" | "stall-after" | "error-on", None) => {
                return Err(invalid(format!("`{name}` needs a value after `=`")));
            }
            _ => return Err(invalid(format!("unknown knob `{name}`"))),
        };
        Ok(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_parses_every_knob() {
        let cases = [
            ("silent", Fault::Silent),
            ("wrong-chip=esp32s3", Fault::WrongChip(SimChip::Esp32s3)),
            ("stall-after=12", Fault::StallAfter(12)),
            ("error-on=flash-begin", Fault::ErrorOn(Command::FlashBegin)),
            ("error-on=0x13", Fault::ErrorOn(Command::SpiFlashMd5)),
            ("corrupt-flash", Fault::CorruptFlash),
            ("no-flash", Fault::NoFlash),
            ("short-sync", Fault::ShortSync),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Fault>().unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn fault_display_round_trips() {
        let faults = [
            Fault::Silent,
            Fault::WrongChip(SimChip::Esp32),
            Fault::StallAfter(3),
            Fault::ErrorOn(Command::EraseFlash),
            Fault::ErrorOn(Command::Unknown(0x7e)),
            Fault::CorruptFlash,
            Fault::NoFlash,
            Fault::ShortSync,
        ];
        for fault in faults {
            assert_eq!(fault.to_string().parse::<Fault>().unwrap(), fault);
        }
    }

    #[test]
    fn fault_error_names_text_and_lists_knobs() {
        for text in ["loud", "stall-after=many", "wrong-chip=esp8266", "error-on", "silent=1"] {
            let message = text.parse::<Fault>().unwrap_err().to_string();
            assert!(message.contains(&format!("`{text}`")), "{message}");
            assert!(message.contains("short-sync"), "{message}");
        }
    }
}
