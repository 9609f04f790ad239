//! The progress events of a flash job.

use factory_core::Chip;
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// Progress of one flash job, delivered in order through the job's callback. Sizes are in bytes.
///
/// A successful job emits, in this order:
///
/// 1. `Connecting` once, before the port is opened.
/// 2. `Connected` once the chip, its MAC, revision and flash size are known.
/// 3. `Erasing` then `Erased`, only when the job erases the whole flash first.
/// 4. For each region, in offset order (`index` counts from 0), either
///    `RegionStarted`, one or more `Written` with `bytes` rising to `total` (which equals the
///    region's `size`), then `Verifying` and `Verified` when verification is on, then
///    `RegionFinished`; or only `RegionSkipped`, when skipping unchanged regions is on and the
///    flash already holds the region.
/// 5. `Recorded`, emitted by the workflow after it stored the result in the registry; the flasher
///    itself never emits it.
///
/// A failing job ends with `Failed`, and the flasher emits nothing after it. `Failed` may come at
/// any point, also before `Connecting` when the plan check fails. When the job had reached the
/// board, the workflow then stores the failed attempt and emits `Recorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FlashEvent {
    /// The job is about to open the port and sync with the bootloader.
    Connecting { port: String },
    /// The bootloader replied. `revision` looks like `v0.4`; `mac` like `aa:bb:cc:dd:ee:ff`.
    Connected { chip: Chip, revision: Option<String>, mac: String, flash_size: u64 },
    /// Erasing the whole flash has started.
    Erasing,
    /// The whole flash is erased.
    Erased,
    /// Writing of region `index` has started. `name` is the image's file name, such as
    /// `bootloader.bin`, or the ELF's name for images converted from an ELF.
    RegionStarted { index: usize, offset: u32, size: u32, name: String },
    /// `bytes` of the region's `total` bytes are written. With the flasher stub the data travels
    /// compressed, so `bytes` is estimated from the share of compressed packets sent. The last
    /// event of a region always has `bytes == total`.
    Written { index: usize, bytes: u32, total: u32 },
    /// The flash already held region `index` (same MD5), so it was not written.
    RegionSkipped { index: usize, offset: u32 },
    /// Region `index` is written and, when verification is on, verified.
    RegionFinished { index: usize },
    /// The board is computing the MD5 digest of region `index`.
    Verifying { index: usize },
    /// The board's digest of region `index` matches the image.
    Verified { index: usize },
    /// The workflow stored the job's result in the registry.
    Recorded,
    /// The job failed with this error code; see [`crate::FlashError`] for the message.
    Failed { code: ErrorCode },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_a_tag() {
        let event = FlashEvent::Written { index: 2, bytes: 1024, total: 4096 };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(json, r#"{"event":"written","index":2,"bytes":1024,"total":4096}"#);

        let event = FlashEvent::Failed { code: ErrorCode::WrongChip };
        assert_eq!(serde_json::to_string(&event).unwrap(), r#"{"event":"failed","code":"wrong_chip"}"#);

        let event = FlashEvent::Connected {
            chip: Chip::Esp32c3,
            revision: Some("v0.4".into()),
            mac: "aa:bb:cc:dd:ee:ff".into(),
            flash_size: 4 * 1024 * 1024,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<FlashEvent>(&json).unwrap(), event);
    }
}
