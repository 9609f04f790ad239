//! Reads and patches ESP-IDF `sdkconfig` files, keeping every byte that a patch does not change.
//!
//! The rules follow ESP-IDF's config tool (esp-idf-kconfig, checked against version 3.14) as it
//! loads and writes these files:
//! - it removes trailing whitespace from each line, so CRLF line endings are harmless;
//! - `CONFIG_X=value` and `# CONFIG_X is not set` assign a value, and other lines are comments;
//! - a string value is the first quoted token, in which a backslash followed by any character
//!   stands for that character, and the tool writes `\` as `\\` first, then `"` as `\"`;
//! - the last user-set assignment of a key wins, and an assignment after a `# default:` line
//!   (with only comments or blank lines between) was inferred rather than set by the user;
//! - values in the block from `# Deprecated options for backward compatibility` to
//!   `# End of deprecated options` are ignored on load.
//!
//! Patching a node's identity happens in two phases: `prepare_identity_patch` reads a file and
//! computes the patched bytes, and `PreparedPatch::write` writes them, so a caller can check
//! every file of a batch before it changes any.

mod config;
mod error;
mod identity;
mod value;
mod write;

pub use config::{LineEnding, SdkConfig};
pub use error::SdkConfigError;
pub use identity::{
    IDF_TARGET_KEY, NODE_ID_KEY, NODE_METADATA_KEY, NodeIdentity, OTA_BEARER_TOKEN_KEY, OTA_MANIFEST_URL_KEY,
    PreparedPatch, TARGET_CHIP_KEY, prepare_identity_patch,
};
pub use write::write_atomically;
