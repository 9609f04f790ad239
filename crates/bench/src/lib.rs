//! The workflows of Node Factory: minting, provisioning, and (later) building and flashing.
//!
//! The command line and the desktop app both call these functions, so each workflow and its
//! ordering rules exist once. A workflow talks to a `dyn Registry` and never learns whether
//! the registry is a local file or a remote server.

pub mod build;
mod error;
pub mod export;
pub mod flash;
pub mod job;
pub mod mint;
pub mod provision;
mod settings;

pub use error::BenchError;
pub use settings::{BenchSettings, default_firmware_dir, default_registry_path};
