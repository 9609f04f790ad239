//! The record of every request a simulated board received.

use crate::Command;

/// The program that replies on the serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoaderState {
    /// The ROM serial bootloader.
    Rom,
    /// The flasher stub, after a RAM download with an entry point.
    Stub,
    /// Neither: the chip left the loader (ROM FLASH_END, RUN_USER_CODE) and stays silent.
    Exited,
}

/// Result of one request as the board handled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It replied with success status.
    Ok,
    /// It replied with failure status; `code` is the error byte (ROM `error`, stub first byte).
    Failed {
        /// The error code on the wire.
        code: u8,
    },
    /// It sent no reply (a fault knob, or the loader had exited).
    NoReply,
}

/// One request as the board received and handled it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoggedCommand {
    /// The command, from the request's opcode byte.
    pub command: Command,
    /// Length of the request payload in bytes (after the 8-byte header).
    pub payload_len: usize,
    /// The loader that received the request.
    pub state: LoaderState,
    /// The board's reply.
    pub outcome: Outcome,
}
