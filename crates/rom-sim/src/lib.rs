//! A simulated ESP serial bootloader on a Linux pseudo-terminal.
//!
//! [`SimBoard::start`] opens a pseudo-terminal pair and serves the ESP32, ESP32-C3 or ESP32-S3
//! ROM loader protocol on the master side. Code under test opens [`SimBoard::port_path`] like a
//! USB serial adapter and talks to it with the real `espflash` crate or the real `esptool`. After
//! a stub upload (MEM_BEGIN, MEM_DATA, MEM_END with an entry point) the board replies as the
//! flasher stub does. Nothing uploaded is executed.
//!
//! The board keeps a NOR flash image, a log of every command and its reply, and can inject the
//! faults listed in [`Fault`]. Hosts must connect without resetting the chip
//! (`ResetBeforeOperation::NoReset` in espflash, `--before no-reset` in esptool), because a
//! pseudo-terminal has no DTR or RTS lines.
//!
//! ```no_run
//! use rom_sim::{BoardConfig, SimBoard, SimChip};
//!
//! let board = SimBoard::start(BoardConfig::new(SimChip::Esp32c3))?;
//! println!("simulated ESP32-C3 on {}", board.port_path().display());
//! # Ok::<(), rom_sim::SimError>(())
//! ```
//!
//! # What the two host tools send
//!
//! The simulator is checked against espflash 4.7.0 and esptool 5.6, which differ in places. It
//! accepts what either sends:
//!
//! - esptool 5.6 uploads esp-flasher-stub, not the legacy stub that espflash uploads. It sends
//!   20-byte FLASH_BEGIN and FLASH_DEFL_BEGIN requests to its stub, while the legacy stub checks
//!   for 16 bytes. espflash sends 16 bytes except for uncompressed writes on the ESP32-C3/S3.
//! - esptool never sends FLASH_END to the ROM after a write, because the ROM leaves the loader on
//!   that command. espflash sends FLASH_END with flag 0 after every ROM-mode write, so the
//!   default [`RomFlashEnd::LeaveLoader`] ends a ROM session after one write.
//! - esptool reads an SFDP header (SPI command 0x5A) before the JEDEC ID and compares the ROM's
//!   MD5 text with a lowercase hex digest. It sends 8-byte READ_FLASH_SLOW requests where
//!   espflash sends 16, and uploads ESP32-S3 RAM blocks of 0x800 bytes when the port has no USB
//!   IDs.
//! - For the ESP32, esptool derives CHANGE_BAUDRATE's rate from the ROM's crystal calibration
//!   (RTCCALICFG1 and the CK8M eFuse byte) and espflash from UART_CLKDIV, so both are modelled.

mod board;
mod chip;
mod command;
mod config;
mod download;
mod error;
mod fault;
mod flash;
mod loader;
mod log;
mod registers;
mod reply;
mod slip;

pub use board::SimBoard;
pub use chip::SimChip;
pub use command::Command;
pub use config::{BoardConfig, RomFlashEnd};
pub use error::SimError;
pub use fault::Fault;
pub use log::{LoaderState, LoggedCommand, Outcome};
