//! Per-chip identity and register layout of the simulated boards.

use std::fmt;
use std::str::FromStr;

use crate::SimError;

/// A chip family the simulator can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimChip {
    /// ESP32 (Xtensa LX6, chip detection by magic value only).
    Esp32,
    /// ESP32-C3 (RISC-V, chip ID 5).
    Esp32c3,
    /// ESP32-S3 (Xtensa LX7, chip ID 9).
    Esp32s3,
}

impl SimChip {
    /// Every simulated chip, in a fixed order.
    pub const ALL: [SimChip; 3] = [SimChip::Esp32, SimChip::Esp32c3, SimChip::Esp32s3];

    /// Returns the lowercase name that espflash and esptool use, such as `esp32c3`.
    pub fn name(self) -> &'static str {
        match self {
            SimChip::Esp32 => "esp32",
            SimChip::Esp32c3 => "esp32c3",
            SimChip::Esp32s3 => "esp32s3",
        }
    }

    /// Returns the MAC address a board of this chip has unless the configuration sets another.
    pub fn default_mac(self) -> [u8; 6] {
        match self {
            SimChip::Esp32 => [0x24, 0x0a, 0xc4, 0x5a, 0x00, 0x01],
            SimChip::Esp32c3 => [0x58, 0xcf, 0x79, 0x5a, 0x00, 0x02],
            SimChip::Esp32s3 => [0x7c, 0xdf, 0xa1, 0x5a, 0x00, 0x03],
        }
    }

    pub(crate) fn profile(self) -> &'static ChipProfile {
        match self {
            SimChip::Esp32 => &ESP32,
            SimChip::Esp32c3 => &ESP32C3,
            SimChip::Esp32s3 => &ESP32S3,
        }
    }
}

impl fmt::Display for SimChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SimChip {
    type Err = SimError;

    /// Parses `esp32`, `esp32c3` or `esp32s3`, ignoring case, dashes and underscores, so the
    /// marketing spelling `ESP32-C3` is accepted too.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized: String =
            text.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
        SimChip::ALL
            .into_iter()
            .find(|chip| chip.name() == normalized)
            .ok_or_else(|| SimError::UnknownChip { text: text.to_owned() })
    }
}

/// Address of the ROM word whose value differs between chip families.
pub(crate) const CHIP_DETECT_MAGIC_REG: u32 = 0x4000_1000;

/// Register offsets of the SPI controller that drives the flash chip.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpiRegisters {
    pub(crate) cmd: u32,
    pub(crate) addr: u32,
    pub(crate) usr: u32,
    pub(crate) usr2: u32,
    pub(crate) w0: u32,
}

impl SpiRegisters {
    const fn new(base: u32, usr: u32, usr2: u32, w0: u32) -> Self {
        SpiRegisters { cmd: base, addr: base + 0x04, usr: base + usr, usr2: base + usr2, w0: base + w0 }
    }
}

/// Identity and register layout of a chip family, as seen from the serial port.
#[derive(Debug)]
pub(crate) struct ChipProfile {
    /// Value of the word at [`CHIP_DETECT_MAGIC_REG`]. For the ESP32-C3 it is the ECO3 value, one
    /// of the four that espflash 4.7.0 accepts.
    pub(crate) magic: u32,
    /// Chip ID in the GET_SECURITY_INFO reply. `None` means the ROM lacks the command (ESP32).
    pub(crate) chip_id: Option<u32>,
    /// eFuse word with the low four MAC bytes (big-endian within the word).
    pub(crate) mac0_reg: u32,
    /// eFuse word whose low 16 bits hold the first two MAC bytes.
    pub(crate) mac1_reg: u32,
    pub(crate) spi: SpiRegisters,
    /// UART0 clock divider register, modelled only where a host reads it to estimate the crystal.
    pub(crate) uart_clkdiv_reg: Option<u32>,
    /// Length of the FLASH_BEGIN and FLASH_DEFL_BEGIN payload the ROM takes: the ESP32 ROM has no
    /// encryption flag word, later ROMs require it.
    pub(crate) rom_begin_len: usize,
    /// Fixed registers beyond the identity words, as (address, value).
    pub(crate) fixed_registers: &'static [(u32, u32)],
}

/// ESP32 fixed registers that esptool 5.x reads to compute the crystal frequency the ROM
/// calibrated: RTC_CALI value (RTCCALICFG1 >> 7) times 15625 times EFUSE_RD_CK8M_FREQ (eFuse word 4,
/// low byte) divided by 40. The values 1024 and 100 give exactly 40 MHz, so esptool's ESP32
/// CHANGE_BAUDRATE sends the rate it was asked for.
const ESP32_FIXED: &[(u32, u32)] = &[(0x3ff5_f06c, 1024 << 7), (0x3ff5_a010, 100)];

static ESP32: ChipProfile = ChipProfile {
    magic: 0x00f0_1d83,
    chip_id: None,
    mac0_reg: 0x3ff5_a004,
    mac1_reg: 0x3ff5_a008,
    spi: SpiRegisters::new(0x3ff4_2000, 0x1c, 0x24, 0x80),
    uart_clkdiv_reg: Some(0x3ff4_0014),
    rom_begin_len: 16,
    fixed_registers: ESP32_FIXED,
};

static ESP32C3: ChipProfile = ChipProfile {
    magic: 0x1b31_506f,
    chip_id: Some(5),
    mac0_reg: 0x6000_8844,
    mac1_reg: 0x6000_8848,
    spi: SpiRegisters::new(0x6000_2000, 0x18, 0x20, 0x58),
    uart_clkdiv_reg: None,
    rom_begin_len: 20,
    fixed_registers: &[],
};

static ESP32S3: ChipProfile = ChipProfile {
    magic: 0x0000_0009,
    chip_id: Some(9),
    mac0_reg: 0x6000_7044,
    mac1_reg: 0x6000_7048,
    spi: SpiRegisters::new(0x6000_2000, 0x18, 0x20, 0x58),
    uart_clkdiv_reg: None,
    rom_begin_len: 20,
    fixed_registers: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_parses_names_and_marketing_spelling() {
        assert_eq!("esp32".parse::<SimChip>().unwrap(), SimChip::Esp32);
        assert_eq!("esp32c3".parse::<SimChip>().unwrap(), SimChip::Esp32c3);
        assert_eq!("ESP32-S3".parse::<SimChip>().unwrap(), SimChip::Esp32s3);
    }

    #[test]
    fn chip_rejects_unknown_name() {
        let error = "esp8266".parse::<SimChip>().unwrap_err();
        assert!(error.to_string().contains("esp8266"), "{error}");
        assert!(error.to_string().contains("esp32c3"), "{error}");
    }

    #[test]
    fn chip_display_round_trips() {
        for chip in SimChip::ALL {
            assert_eq!(chip.to_string().parse::<SimChip>().unwrap(), chip);
        }
    }
}
