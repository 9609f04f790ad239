//! The stub's READ_FLASH stream: data frames, each acknowledged by the host, then an MD5 frame.

use md5::{Digest, Md5};

use crate::flash::FlashMemory;
use crate::slip;

/// Sends one block at a time and waits for its acknowledgement before the next. espflash 4.7.0
/// flushes its input queue when it writes an acknowledgement, so a block sent ahead of time
/// would be lost.
#[derive(Debug)]
pub(super) struct ReadFlashJob {
    next_offset: u32,
    remaining: u32,
    block: u32,
    sent: u32,
    hasher: Md5,
    digest_sent: bool,
}

impl ReadFlashJob {
    /// Starts a stream of `len` bytes at `offset`; the caller has checked that the range exists.
    pub(super) fn new(offset: u32, len: u32, block: u32) -> Self {
        ReadFlashJob {
            next_offset: offset,
            remaining: len,
            block,
            sent: 0,
            hasher: Md5::new(),
            digest_sent: false,
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.digest_sent
    }

    /// Returns the next data frame, or the digest frame once all data is out.
    pub(super) fn next_frame(&mut self, flash: &FlashMemory) -> Vec<u8> {
        if self.remaining == 0 {
            self.digest_sent = true;
            let digest = std::mem::take(&mut self.hasher).finalize();
            return slip::encode(&digest);
        }
        let len = self.remaining.min(self.block);
        let data = flash.read(self.next_offset, len).unwrap_or_else(|_| vec![0xff; len as usize]);
        self.hasher.update(&data);
        self.next_offset += len;
        self.remaining -= len;
        self.sent += len;
        slip::encode(&data)
    }

    /// Handles an acknowledgement carrying the host's received byte count.
    pub(super) fn acknowledge(&mut self, acked: u32, flash: &FlashMemory) -> Option<Vec<u8>> {
        if acked != self.sent {
            tracing::debug!(acked, sent = self.sent, "READ_FLASH acknowledgement count differs");
        }
        if self.digest_sent {
            return None;
        }
        Some(self.next_frame(flash))
    }
}
