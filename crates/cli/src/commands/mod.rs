//! One module per subcommand.

pub mod flash;
pub mod generate;
pub mod list;
pub mod ports;
pub mod provision;
pub mod show;
pub mod sim_board;

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a time the way every command prints it.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}
