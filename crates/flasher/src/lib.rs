//! Port discovery, flash plans and blocking flash jobs for ESP32, ESP32-C3 and ESP32-S3 boards,
//! built on espflash.
//!
//! A job runs in three stages:
//!
//! 1. [`list_ports`] or [`PortInfo::explicit`] finds the port.
//! 2. A [`FlashPlan`] comes from a build folder's `flasher_args.json`, an ELF or `ADDRESS:FILE`
//!    pairs; [`FlashPlan::check`] reads and checks it without touching a board.
//! 3. [`flash`] connects, refuses a board with the wrong chip, writes, verifies and returns a
//!    [`FlashReport`], reporting [`FlashEvent`]s on the way.
//!
//! The flasher reports; it never writes to the registry. Errors carry a stable [`ErrorCode`] and an
//! operator hint.

mod check;
mod chips;
mod classify;
mod error;
mod event;
mod job;
mod plan;
mod ports;

pub use check::{CheckedPlan, ImageRegion, PlanExpectations, SECTOR_SIZE};
pub use error::{ChipSource, ErrorCode, FlashError, UnknownErrorCode};
pub use event::FlashEvent;
pub use job::{ChipFacts, FlashFailure, FlashOptions, FlashReport, RegionReport, ResetMode, flash};
pub use plan::{
    ChipClaim, ElfImage, FLASHER_ARGS_FILE, FlashPlan, PlanContent, PlanSource, PlannedRegion,
    parse_flash_size, parse_offset,
};
pub use ports::{Bridge, PortInfo, PortListOptions, UsbDetails, fold_macos_twins, list_ports, select_ports};
