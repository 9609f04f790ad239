//! The register space a host can reach with READ_REG and WRITE_REG.
//!
//! Identity words (chip magic, MAC eFuses and a few calibration words) are fixed. Every other
//! address behaves like plain memory that reads 0 until written. The SPI controller's CMD register
//! is live: setting its USR bit runs the command byte held in USR2 against the simulated flash.

use std::collections::HashMap;

use crate::chip::{CHIP_DETECT_MAGIC_REG, SpiRegisters};

/// SPI_CMD bit that starts a user-defined command and reads back 1 while it runs.
const SPI_CMD_USR: u32 = 1 << 18;
/// SPI_USR bit that enables the command phase.
const SPI_USR_COMMAND: u32 = 1 << 31;

/// JEDEC "read identification".
const FLASH_RDID: u8 = 0x9f;
/// JEDEC "read SFDP", which esptool 5.x sends first to check that a flash chip is connected.
const FLASH_RDSFDP: u8 = 0x5a;
/// The SFDP header's first word, "SFDP" in little-endian order.
const SFDP_SIGNATURE: u32 = 0x5044_4653;

/// Crystal frequency of the simulated boards. espflash and esptool derive the ESP32 crystal from
/// UART_CLKDIV times the baud rate, so the divider follows the current rate.
const XTAL_HZ: u32 = 40_000_000;

#[derive(Debug)]
pub(crate) struct RegisterFile {
    fixed: HashMap<u32, u32>,
    written: HashMap<u32, u32>,
    spi: SpiRegisters,
    uart_clkdiv_reg: Option<u32>,
    /// The 24-bit JEDEC ID, or 0xFFFFFF when no flash chip is fitted.
    jedec_id: u32,
    baud: u32,
}

impl RegisterFile {
    pub(crate) fn new(
        profile: &crate::chip::ChipProfile,
        magic: u32,
        mac: [u8; 6],
        jedec_id: u32,
        baud: u32,
    ) -> Self {
        let mut fixed: HashMap<u32, u32> = profile.fixed_registers.iter().copied().collect();
        fixed.insert(CHIP_DETECT_MAGIC_REG, magic);

        let mut registers = RegisterFile {
            fixed,
            written: HashMap::new(),
            spi: profile.spi,
            uart_clkdiv_reg: profile.uart_clkdiv_reg,
            jedec_id,
            baud,
        };
        registers.place_mac(profile, mac);
        registers
    }

    /// Stores `mac` in the eFuse words where `profile`'s chip keeps it. A board that identifies
    /// as another chip also gets it there, so hosts read a real MAC rather than zeros.
    pub(crate) fn place_mac(&mut self, profile: &crate::chip::ChipProfile, mac: [u8; 6]) {
        let mac0 = u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]);
        // NOTE: on the ESP32 bits 16..24 of this word hold a CRC8 of the MAC. The simulator
        // leaves them 0; espflash 4.7.0 and esptool 5.6 read_mac do not check it.
        let mac1 = u32::from(u16::from_be_bytes([mac[0], mac[1]]));
        self.fixed.insert(profile.mac0_reg, mac0);
        self.fixed.insert(profile.mac1_reg, mac1);
    }

    /// Records the UART baud rate, which sets the UART clock divider.
    pub(crate) fn set_baud(&mut self, baud: u32) {
        self.baud = baud;
    }

    /// Forgets every written register, as a chip reset does.
    pub(crate) fn reset(&mut self) {
        self.written.clear();
    }

    pub(crate) fn read(&self, addr: u32) -> u32 {
        if let Some(value) = self.fixed.get(&addr) {
            return *value;
        }
        if Some(addr) == self.uart_clkdiv_reg {
            return (XTAL_HZ + self.baud / 2) / self.baud.max(1);
        }
        self.written.get(&addr).copied().unwrap_or(0)
    }

    /// Writes `value` under `mask`: bits outside the mask keep their old value. Writes to fixed
    /// identity words are ignored, as writes to ROM and eFuse read registers are on the chip.
    pub(crate) fn write(&mut self, addr: u32, value: u32, mask: u32) {
        if self.fixed.contains_key(&addr) {
            return;
        }
        let merged = (self.read(addr) & !mask) | (value & mask);

        if addr == self.spi.cmd && merged & SPI_CMD_USR != 0 {
            self.run_spi_command();
            // The command finishes at once, so the busy bit is already clear when polled.
            self.written.insert(addr, merged & !SPI_CMD_USR);
            return;
        }
        self.written.insert(addr, merged);
    }

    fn run_spi_command(&mut self) {
        if self.read(self.spi.usr) & SPI_USR_COMMAND == 0 {
            return;
        }
        let opcode = (self.read(self.spi.usr2) & 0xff) as u8;
        let result = match opcode {
            FLASH_RDID => Some(self.jedec_id),
            FLASH_RDSFDP if self.jedec_id == 0x00ff_ffff => Some(u32::MAX),
            // esptool shifts a 24-bit address into the top of SPI_ADDR.
            FLASH_RDSFDP if self.read(self.spi.addr) >> 8 == 0 => Some(SFDP_SIGNATURE),
            FLASH_RDSFDP => Some(0),
            _ => None,
        };
        if let Some(word) = result {
            self.written.insert(self.spi.w0, word);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimChip;

    fn registers(chip: SimChip) -> RegisterFile {
        let profile = chip.profile();
        RegisterFile::new(profile, profile.magic, chip.default_mac(), 0x1640ef, 115_200)
    }

    #[test]
    fn registers_unwritten_read_zero() {
        assert_eq!(registers(SimChip::Esp32c3).read(0x6000_1234), 0);
    }

    #[test]
    fn registers_write_reg_applies_mask() {
        let mut regs = registers(SimChip::Esp32c3);
        regs.write(0x6000_8000, 0xffff_0000, 0xffff_ffff);
        regs.write(0x6000_8000, 0x0000_1234, 0x0000_ff00);
        assert_eq!(regs.read(0x6000_8000), 0xffff_1200);
    }

    #[test]
    fn registers_identity_words_are_read_only() {
        let mut regs = registers(SimChip::Esp32s3);
        regs.write(CHIP_DETECT_MAGIC_REG, 0, u32::MAX);
        assert_eq!(regs.read(CHIP_DETECT_MAGIC_REG), 9);
    }

    #[test]
    fn registers_mac_words() {
        let regs = registers(SimChip::Esp32);
        let mac = SimChip::Esp32.default_mac();
        assert_eq!(regs.read(0x3ff5_a004), u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]));
        assert_eq!(regs.read(0x3ff5_a008), u32::from(mac[0]) << 8 | u32::from(mac[1]));
    }

    #[test]
    fn registers_uart_clkdiv_follows_baud() {
        let mut regs = registers(SimChip::Esp32);
        assert_eq!(regs.read(0x3ff4_0014), 347);
        regs.set_baud(921_600);
        assert_eq!(regs.read(0x3ff4_0014), 43);
    }

    #[test]
    fn registers_spi_rdid_sequence() {
        let mut regs = registers(SimChip::Esp32c3);
        let spi = SimChip::Esp32c3.profile().spi;
        regs.write(spi.usr, 0x9000_0000, u32::MAX);
        regs.write(spi.usr2, 0x7000_009f, u32::MAX);
        regs.write(spi.w0, 0, u32::MAX);
        regs.write(spi.cmd, SPI_CMD_USR, u32::MAX);
        assert_eq!(regs.read(spi.cmd) & SPI_CMD_USR, 0);
        assert_eq!(regs.read(spi.w0), 0x1640ef);
    }

    #[test]
    fn registers_spi_sfdp_signature() {
        let mut regs = registers(SimChip::Esp32);
        let spi = SimChip::Esp32.profile().spi;
        regs.write(spi.usr, 0xf000_0000, u32::MAX);
        regs.write(spi.usr2, 0x7000_005a, u32::MAX);
        regs.write(spi.addr, 0, u32::MAX);
        regs.write(spi.cmd, SPI_CMD_USR, u32::MAX);
        assert_eq!(regs.read(spi.w0), SFDP_SIGNATURE);
    }
}
