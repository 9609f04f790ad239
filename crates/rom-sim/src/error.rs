//! The crate's error type.

use std::path::PathBuf;

/// Errors from building a board configuration or starting a simulated board.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A chip name did not match any simulated chip.
    #[error("unknown chip `{text}`; valid chips: esp32, esp32c3, esp32s3")]
    UnknownChip {
        /// The text that failed to parse.
        text: String,
    },

    /// A fault knob did not parse.
    #[error("invalid fault knob `{text}`: {reason}; valid knobs: {valid}")]
    InvalidKnob {
        /// The knob text as given.
        text: String,
        /// The reason the text is invalid.
        reason: String,
        /// The list of valid knob spellings.
        valid: &'static str,
    },

    /// A command name or opcode did not parse.
    #[error(
        "unknown bootloader command `{text}`; use a name such as flash-begin or a hex opcode such as 0x02"
    )]
    UnknownCommand {
        /// The text that failed to parse.
        text: String,
    },

    /// The ROM FLASH_END behaviour did not parse.
    #[error("invalid ROM FLASH_END behaviour `{text}`; valid values: leave-loader, stay-in-loader")]
    InvalidRomFlashEnd {
        /// The text that failed to parse.
        text: String,
    },

    /// The configured flash size has no JEDEC capacity code in the simulator.
    #[error("unsupported flash size {size} bytes; use 2, 4, 8, 16 or 32 MiB")]
    UnsupportedFlashSize {
        /// The configured size in bytes.
        size: u32,
    },

    /// The configured pacing rate is zero.
    #[error("pacing baud rate must be greater than zero")]
    ZeroPacingBaud,

    /// Opening or configuring the pseudo-terminal failed.
    #[error("failed to open a pseudo-terminal for the simulated board: {0}")]
    Pty(#[from] serialport::Error),

    /// The pseudo-terminal has no slave path.
    #[error("the pseudo-terminal pair has no slave device path")]
    NoPtyPath,

    /// Starting the board thread failed.
    #[error("failed to start the simulated board thread for {port}: {source}")]
    Thread {
        /// The slave device path of the board.
        port: PathBuf,
        /// The error from the operating system.
        source: std::io::Error,
    },
}
