//! Configuration of a simulated board.

use std::fmt;
use std::str::FromStr;

use crate::{Fault, SimChip, SimError};

/// Behaviour of the ROM loader after it replies to FLASH_END or FLASH_DEFL_END.
///
/// A real ROM leaves the loader after that command: flag 0 reboots the chip and flag 1 jumps to
/// the application, and in both cases the loader stops replying. For that reason esptool 5.6
/// sends no ROM END command after a write. espflash 4.7.0 sends FLASH_END with flag 0 at the end
/// of every ROM-mode `write_bins_to_flash` and `load_image_to_flash`. It sends nothing more
/// unless the caller starts another operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RomFlashEnd {
    /// `leave-loader`: reply, then stay silent, like a chip that boots its application.
    #[default]
    LeaveLoader,
    /// `stay-in-loader`: reply and keep serving, which lets one ROM session run several writes.
    StayInLoader,
}

impl fmt::Display for RomFlashEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RomFlashEnd::LeaveLoader => "leave-loader",
            RomFlashEnd::StayInLoader => "stay-in-loader",
        })
    }
}

impl FromStr for RomFlashEnd {
    type Err = SimError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "leave-loader" => Ok(RomFlashEnd::LeaveLoader),
            "stay-in-loader" => Ok(RomFlashEnd::StayInLoader),
            _ => Err(SimError::InvalidRomFlashEnd { text: text.to_owned() }),
        }
    }
}

/// Everything that describes one simulated board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardConfig {
    /// The chip the board carries.
    pub chip: SimChip,
    /// Flash size in bytes: 2, 4, 8, 16 or 32 MiB. The JEDEC ID reports the matching capacity.
    pub flash_size: u32,
    /// The base MAC address stored in eFuse.
    pub mac: [u8; 6],
    /// Faults to inject; an empty list gives a healthy board.
    pub faults: Vec<Fault>,
    /// Baud rate at which to pace the wire (10 bits per byte, both directions), or `None` to move
    /// bytes as fast as the pseudo-terminal allows. CHANGE_BAUDRATE switches the paced rate.
    pub pacing_baud: Option<u32>,
    /// Behaviour of the ROM loader after FLASH_END.
    pub rom_flash_end: RomFlashEnd,
}

impl BoardConfig {
    /// Returns a healthy board of `chip` with 4 MiB of flash, the chip's default MAC and no pacing.
    pub fn new(chip: SimChip) -> Self {
        BoardConfig {
            chip,
            flash_size: 4 * 1024 * 1024,
            mac: chip.default_mac(),
            faults: Vec::new(),
            pacing_baud: None,
            rom_flash_end: RomFlashEnd::default(),
        }
    }

    /// Returns the JEDEC capacity code of the configured flash size (0x16 for 4 MiB).
    pub(crate) fn capacity_code(&self) -> Result<u8, SimError> {
        const MIB: u32 = 1024 * 1024;
        match self.flash_size {
            size if size == 2 * MIB => Ok(0x15),
            size if size == 4 * MIB => Ok(0x16),
            size if size == 8 * MIB => Ok(0x17),
            size if size == 16 * MIB => Ok(0x18),
            size if size == 32 * MIB => Ok(0x19),
            size => Err(SimError::UnsupportedFlashSize { size }),
        }
    }

    pub(crate) fn has_fault(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults() {
        let config = BoardConfig::new(SimChip::Esp32c3);
        assert_eq!(config.flash_size, 4 * 1024 * 1024);
        assert_eq!(config.mac, SimChip::Esp32c3.default_mac());
        assert!(config.faults.is_empty());
        assert_eq!(config.pacing_baud, None);
        assert_eq!(config.rom_flash_end, RomFlashEnd::LeaveLoader);
    }

    #[test]
    fn config_capacity_codes() {
        let mut config = BoardConfig::new(SimChip::Esp32);
        for (mib, code) in [(2, 0x15), (4, 0x16), (8, 0x17), (16, 0x18), (32, 0x19)] {
            config.flash_size = mib * 1024 * 1024;
            assert_eq!(config.capacity_code().unwrap(), code);
        }
        config.flash_size = 3 * 1024 * 1024;
        assert!(config.capacity_code().is_err());
    }

    #[test]
    fn rom_flash_end_round_trips() {
        for value in [RomFlashEnd::LeaveLoader, RomFlashEnd::StayInLoader] {
            assert_eq!(value.to_string().parse::<RomFlashEnd>().unwrap(), value);
        }
        assert!("reboot".parse::<RomFlashEnd>().is_err());
    }
}
