//! Bootloader command opcodes and their names.

use std::fmt;
use std::str::FromStr;

use crate::SimError;

/// A serial bootloader command, identified by its opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// 0x02: begin a plain flash download (erases in the ROM, erases lazily in the stub).
    FlashBegin,
    /// 0x03: one block of a plain flash download.
    FlashData,
    /// 0x04: end a plain flash download.
    FlashEnd,
    /// 0x05: begin a RAM download.
    MemBegin,
    /// 0x06: end a RAM download and optionally jump to an entry point.
    MemEnd,
    /// 0x07: one block of a RAM download.
    MemData,
    /// 0x08: synchronise with the loader.
    Sync,
    /// 0x09: write a 32-bit register with a mask.
    WriteReg,
    /// 0x0A: read a 32-bit register.
    ReadReg,
    /// 0x0B: set the SPI flash parameters (size, block, sector and page size).
    SpiSetParams,
    /// 0x0D: attach the SPI flash.
    SpiAttach,
    /// 0x0E: read up to 64 bytes of flash (ROM only).
    ReadFlashSlow,
    /// 0x0F: change the UART baud rate.
    ChangeBaudrate,
    /// 0x10: begin a zlib-compressed flash download.
    FlashDeflBegin,
    /// 0x11: one block of a zlib stream.
    FlashDeflData,
    /// 0x12: end a compressed flash download.
    FlashDeflEnd,
    /// 0x13: MD5 of a flash region.
    SpiFlashMd5,
    /// 0x14: read security flags and the chip ID.
    GetSecurityInfo,
    /// 0xD0: erase the whole flash (stub only).
    EraseFlash,
    /// 0xD1: erase a flash region (stub only).
    EraseRegion,
    /// 0xD2: stream flash contents to the host (stub only).
    ReadFlash,
    /// 0xD3: leave the stub and run the application (stub only).
    RunUserCode,
    /// Any other opcode.
    Unknown(u8),
}

/// Opcode and kebab-case name of every known command.
const TABLE: [(Command, u8, &str); 22] = [
    (Command::FlashBegin, 0x02, "flash-begin"),
    (Command::FlashData, 0x03, "flash-data"),
    (Command::FlashEnd, 0x04, "flash-end"),
    (Command::MemBegin, 0x05, "mem-begin"),
    (Command::MemEnd, 0x06, "mem-end"),
    (Command::MemData, 0x07, "mem-data"),
    (Command::Sync, 0x08, "sync"),
    (Command::WriteReg, 0x09, "write-reg"),
    (Command::ReadReg, 0x0a, "read-reg"),
    (Command::SpiSetParams, 0x0b, "spi-set-params"),
    (Command::SpiAttach, 0x0d, "spi-attach"),
    (Command::ReadFlashSlow, 0x0e, "read-flash-slow"),
    (Command::ChangeBaudrate, 0x0f, "change-baudrate"),
    (Command::FlashDeflBegin, 0x10, "flash-defl-begin"),
    (Command::FlashDeflData, 0x11, "flash-defl-data"),
    (Command::FlashDeflEnd, 0x12, "flash-defl-end"),
    (Command::SpiFlashMd5, 0x13, "spi-flash-md5"),
    (Command::GetSecurityInfo, 0x14, "get-security-info"),
    (Command::EraseFlash, 0xd0, "erase-flash"),
    (Command::EraseRegion, 0xd1, "erase-region"),
    (Command::ReadFlash, 0xd2, "read-flash"),
    (Command::RunUserCode, 0xd3, "run-user-code"),
];

impl Command {
    /// Returns the command for an opcode byte.
    pub fn from_opcode(opcode: u8) -> Command {
        TABLE
            .iter()
            .find(|(_, op, _)| *op == opcode)
            .map_or(Command::Unknown(opcode), |(command, _, _)| *command)
    }

    /// Returns the opcode byte.
    pub fn opcode(self) -> u8 {
        match self {
            Command::Unknown(opcode) => opcode,
            known => {
                TABLE
                    .iter()
                    .find(|(command, _, _)| *command == known)
                    .expect("every named command is in the table")
                    .1
            }
        }
    }

    /// Returns the kebab-case name, such as `flash-defl-data`, or `unknown` for other opcodes.
    pub fn name(self) -> &'static str {
        TABLE.iter().find(|(command, _, _)| *command == self).map_or("unknown", |(_, _, name)| name)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Unknown(opcode) => write!(f, "{opcode:#04x}"),
            known => f.write_str(known.name()),
        }
    }
}

impl FromStr for Command {
    type Err = SimError;

    /// Parses a kebab-case name (`flash-begin`), the esptool spelling (`FLASH_BEGIN`) or a hex
    /// opcode (`0x02`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || SimError::UnknownCommand { text: text.to_owned() };

        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            return u8::from_str_radix(hex, 16).map(Command::from_opcode).map_err(|_| unknown());
        }

        let normalized = text.to_ascii_lowercase().replace('_', "-");
        TABLE
            .iter()
            .find(|(_, _, name)| *name == normalized)
            .map(|(command, _, _)| *command)
            .ok_or_else(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_opcode_round_trips() {
        for opcode in 0..=255u8 {
            assert_eq!(Command::from_opcode(opcode).opcode(), opcode);
        }
    }

    #[test]
    fn command_parses_names_and_opcodes() {
        assert_eq!("flash-begin".parse::<Command>().unwrap(), Command::FlashBegin);
        assert_eq!("FLASH_DEFL_DATA".parse::<Command>().unwrap(), Command::FlashDeflData);
        assert_eq!("0x13".parse::<Command>().unwrap(), Command::SpiFlashMd5);
        assert_eq!("0x7f".parse::<Command>().unwrap(), Command::Unknown(0x7f));
    }

    #[test]
    fn command_rejects_unknown_name() {
        let error = "flash-everything".parse::<Command>().unwrap_err();
        assert!(error.to_string().contains("flash-everything"), "{error}");
    }

    #[test]
    fn command_display_round_trips() {
        for opcode in 0..=255u8 {
            let command = Command::from_opcode(opcode);
            assert_eq!(command.to_string().parse::<Command>().unwrap(), command);
        }
    }
}
