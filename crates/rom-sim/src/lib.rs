//! A simulated ESP serial bootloader on a Linux pseudo-terminal.
//!
//! [`SimBoard::start`] opens a pseudo-terminal pair and serves the ESP32, ESP32-C3 or ESP32-S3
//! ROM loader protocol on the master side. Code under test opens [`SimBoard::port_path`] like a
//! USB serial adapter and talks to it with the real `espflash` crate or the real `esptool`. After
//! a stub upload (MEM_BEGIN, MEM_DATA, MEM_END with an entry point) the board answers as the
//! flasher stub does; nothing uploaded is executed.
//!
//! The board keeps a NOR flash image, a log of every command and its answer, and can inject the
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
