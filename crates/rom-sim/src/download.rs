//! Flash downloads: the state between a BEGIN command and its END, for the ROM and the stub.

use flate2::{Decompress, FlushDecompress, Status};

use crate::flash::{FlashMemory, SECTOR_SIZE};
use crate::reply::Failure;

/// The stub erases 64 KiB blocks when it can, as the legacy stub does with SPI_FLASH_BE.
const SECTORS_PER_BLOCK: u32 = 16;
/// Size of the stub's inflate output buffer; decompressed data reaches the flash in pieces of at
/// most this size.
const INFLATE_CHUNK: usize = 32 * 1024;

/// A streaming zlib inflater fed with blocks that split the stream at arbitrary byte positions.
pub(crate) struct Inflater {
    state: Decompress,
    finished: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("total_in", &self.state.total_in())
            .field("total_out", &self.state.total_out())
            .field("finished", &self.finished)
            .finish()
    }
}

impl Inflater {
    pub(crate) fn new() -> Self {
        Inflater { state: Decompress::new(true), finished: false }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Inflates `input`, handing each decompressed piece to `sink`. Bytes after the end of the
    /// stream are ignored.
    pub(crate) fn feed(
        &mut self,
        mut input: &[u8],
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), flate2::DecompressError> {
        let mut out = vec![0u8; INFLATE_CHUNK];
        while !self.finished {
            let in_before = self.state.total_in();
            let out_before = self.state.total_out();
            let status = self.state.decompress(input, &mut out, FlushDecompress::None)?;
            let consumed = (self.state.total_in() - in_before) as usize;
            let produced = (self.state.total_out() - out_before) as usize;

            input = &input[consumed..];
            if produced > 0 {
                sink(&out[..produced]);
            }
            if status == Status::StreamEnd {
                self.finished = true;
            }
            // Stop when the inflater can make no progress, or when the input is used up and the
            // output buffer was not filled (a full buffer may hide more pending output).
            let stalled = consumed == 0 && produced == 0;
            if stalled || (input.is_empty() && produced < out.len()) {
                break;
            }
        }
        Ok(())
    }
}

/// Applies the `corrupt-flash` fault to one program operation: clears the lowest set bit of the
/// first non-zero byte. Clearing a bit always changes a freshly erased NOR cell, so the MD5 check
/// that follows fails.
fn program(
    flash: &mut FlashMemory,
    offset: u32,
    data: &[u8],
    corrupt_pending: &mut bool,
) -> Result<(), Failure> {
    let position = if *corrupt_pending { data.iter().position(|&byte| byte != 0) } else { None };
    let result = match position {
        Some(index) => {
            let mut corrupted = data.to_vec();
            corrupted[index] &= corrupted[index] - 1;
            *corrupt_pending = false;
            flash.program(offset, &corrupted)
        }
        None => flash.program(offset, data),
    };
    result.map_err(|_| Failure::FlashWrite)
}

/// A ROM download. The ROM erases the whole announced area when the download begins, writes plain
/// block `seq` at `offset + seq * block_size` (padding included), and writes inflated data one
/// byte after another.
#[derive(Debug)]
pub(crate) struct RomDownload {
    offset: u32,
    blocks: u32,
    block_size: u32,
    next_seq: u32,
    inflate: Option<(Inflater, u32)>,
    corrupt_pending: bool,
}

impl RomDownload {
    pub(crate) fn begin(
        flash: &mut FlashMemory,
        erase_size: u32,
        blocks: u32,
        block_size: u32,
        offset: u32,
        compressed: bool,
        corrupt: bool,
    ) -> Result<Self, Failure> {
        // NOTE: the ROM's real block-size limit is not published; 0x4000 matches the stub's.
        if block_size == 0 || block_size > 0x4000 {
            return Err(Failure::BadBlockSize);
        }
        flash.erase_covering(offset, erase_size).map_err(|_| Failure::FlashWrite)?;
        Ok(RomDownload {
            offset,
            blocks,
            block_size,
            next_seq: 0,
            inflate: compressed.then(|| (Inflater::new(), offset)),
            corrupt_pending: corrupt,
        })
    }

    pub(crate) fn is_compressed(&self) -> bool {
        self.inflate.is_some()
    }

    /// Writes one plain block. A block may arrive again with the same sequence number after a
    /// lost reply; programming it twice changes nothing.
    pub(crate) fn write_block(
        &mut self,
        flash: &mut FlashMemory,
        seq: u32,
        data: &[u8],
    ) -> Result<(), Failure> {
        if seq >= self.blocks {
            return Err(Failure::InvalidMessage);
        }
        if data.len() as u32 > self.block_size {
            return Err(Failure::BadBlockSize);
        }
        let at = seq
            .checked_mul(self.block_size)
            .and_then(|delta| self.offset.checked_add(delta))
            .ok_or(Failure::FlashWrite)?;
        program(flash, at, data, &mut self.corrupt_pending)
    }

    /// Inflates one compressed block; blocks must arrive in order because they split one stream.
    pub(crate) fn write_compressed(
        &mut self,
        flash: &mut FlashMemory,
        seq: u32,
        data: &[u8],
    ) -> Result<(), Failure> {
        if seq != self.next_seq || seq >= self.blocks {
            return Err(Failure::InvalidMessage);
        }
        let Some((inflater, position)) = self.inflate.as_mut() else {
            return Err(Failure::NotInFlashMode);
        };

        let mut outcome = Ok(());
        let corrupt_pending = &mut self.corrupt_pending;
        inflater
            .feed(data, |piece| {
                if outcome.is_ok() {
                    outcome = program(flash, *position, piece, corrupt_pending);
                    *position += piece.len() as u32;
                }
            })
            .map_err(|_| Failure::Inflate)?;
        outcome?;
        self.next_seq += 1;
        Ok(())
    }
}

/// A stub download, following the legacy flasher stub (`stub_write_flash.c`).
///
/// BEGIN records the offset and the byte count. Writes go out one after another and are cut off
/// at that count, so padding is dropped, and sectors are erased lazily just ahead of each write.
/// Errors found while writing are reported in the reply to the next data or end command, because
/// the stub acknowledges each block before it processes it.
#[derive(Debug)]
pub(crate) struct StubDownload {
    next_write: u32,
    remaining: u32,
    next_erase_sector: u32,
    remaining_erase_sectors: u32,
    last_error: Option<Failure>,
    inflater: Option<Inflater>,
    corrupt_pending: bool,
}

impl StubDownload {
    pub(crate) fn begin(total_size: u32, offset: u32, compressed: bool, corrupt: bool) -> Self {
        let span = u64::from(offset % SECTOR_SIZE) + u64::from(total_size);
        StubDownload {
            next_write: offset,
            remaining: total_size,
            next_erase_sector: offset / SECTOR_SIZE,
            remaining_erase_sectors: span.div_ceil(u64::from(SECTOR_SIZE)) as u32,
            last_error: None,
            inflater: compressed.then(Inflater::new),
            corrupt_pending: corrupt,
        }
    }

    pub(crate) fn is_compressed(&self) -> bool {
        self.inflater.is_some()
    }

    /// Returns the error a previous block left behind, which the next acknowledgement reports.
    pub(crate) fn deferred_error(&self) -> Option<Failure> {
        self.last_error
    }

    /// Ends the download: fails if bytes are still missing, else reports any deferred error.
    pub(crate) fn finish(&self) -> Result<(), Failure> {
        if self.remaining > 0 {
            return Err(Failure::NotEnoughData);
        }
        self.last_error.map_or(Ok(()), Err)
    }

    fn erase_ahead(&mut self, flash: &mut FlashMemory, last_sector: u32) {
        while self.remaining_erase_sectors > 0 && self.next_erase_sector <= last_sector {
            let block_erase = self.remaining_erase_sectors >= SECTORS_PER_BLOCK
                && self.next_erase_sector.is_multiple_of(SECTORS_PER_BLOCK);
            let count = if block_erase { SECTORS_PER_BLOCK } else { 1 };
            if flash.erase_sectors(self.next_erase_sector, count).is_err() {
                self.last_error = Some(Failure::FlashWrite);
            }
            self.next_erase_sector += count;
            self.remaining_erase_sectors -= count;
        }
    }

    /// Writes decompressed or plain bytes at the write pointer, trimmed to the announced size.
    pub(crate) fn write_plain(&mut self, flash: &mut FlashMemory, data: &[u8]) {
        let len = (data.len() as u32).min(self.remaining);
        if len == 0 {
            return;
        }
        let last_sector = self.next_write.saturating_add(len) / SECTOR_SIZE;
        self.erase_ahead(flash, last_sector);
        if let Err(failure) =
            program(flash, self.next_write, &data[..len as usize], &mut self.corrupt_pending)
        {
            self.last_error = Some(failure);
        }
        self.next_write = self.next_write.saturating_add(len);
        self.remaining -= len;
    }

    /// Inflates one block of the zlib stream and writes the result.
    pub(crate) fn write_compressed(&mut self, flash: &mut FlashMemory, data: &[u8]) {
        // Once every byte is written only the 4-byte Adler-32 trailer may still arrive.
        if self.remaining == 0 && data.len() > 4 {
            self.last_error = Some(Failure::TooMuchData);
            return;
        }
        let Some(mut inflater) = self.inflater.take() else {
            self.last_error = Some(Failure::NotInFlashMode);
            return;
        };
        if inflater.feed(data, |piece| self.write_plain(flash, piece)).is_err() {
            self.last_error = Some(Failure::Inflate);
        }
        if inflater.is_finished() && self.remaining > 0 {
            self.last_error = Some(Failure::NotEnoughData);
        }
        self.inflater = Some(inflater);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::ZlibEncoder;

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn inflater_accepts_arbitrary_splits() {
        let data = sample(100_000);
        let stream = zlib(&data);
        for split in [1, 3, 1000, stream.len()] {
            let mut inflater = Inflater::new();
            let mut out = Vec::new();
            for piece in stream.chunks(split) {
                inflater.feed(piece, |p| out.extend_from_slice(p)).unwrap();
            }
            assert!(inflater.is_finished(), "split {split}");
            assert_eq!(out, data, "split {split}");
        }
    }

    #[test]
    fn inflater_rejects_garbage() {
        let mut inflater = Inflater::new();
        assert!(inflater.feed(&[0xff; 32], |_| {}).is_err());
    }

    #[test]
    fn stub_plain_cuts_padding_and_erases_lazily() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        flash.program(0, &vec![0; 4 * SECTOR_SIZE as usize]).unwrap();

        let data = sample(5000);
        let mut download = StubDownload::begin(5000, SECTOR_SIZE, false, false);
        let mut padded = data.clone();
        padded.resize(0x4000, 0xff);
        download.write_plain(&mut flash, &padded);
        download.finish().unwrap();

        let contents = flash.contents();
        let start = SECTOR_SIZE as usize;
        assert_eq!(&contents[start..start + 5000], &data[..]);
        // The rest of the second written sector is erased, the sectors outside stay untouched.
        assert!(contents[start + 5000..3 * start].iter().all(|&b| b == 0xff));
        assert!(contents[..start].iter().all(|&b| b == 0));
        assert!(contents[3 * start..].iter().all(|&b| b == 0));
    }

    #[test]
    fn stub_compressed_round_trip() {
        let mut flash = FlashMemory::new(64 * SECTOR_SIZE, true);
        let data = sample(70_000);
        let stream = zlib(&data);
        let mut download = StubDownload::begin(data.len() as u32, 0x10000, true, false);
        for block in stream.chunks(0x4000) {
            assert_eq!(download.deferred_error(), None);
            download.write_compressed(&mut flash, block);
        }
        download.finish().unwrap();
        assert_eq!(flash.read(0x10000, data.len() as u32).unwrap(), data);
    }

    #[test]
    fn stub_finish_reports_missing_data() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        let mut download = StubDownload::begin(100, 0, false, false);
        download.write_plain(&mut flash, &[1; 50]);
        assert_eq!(download.finish(), Err(Failure::NotEnoughData));
    }

    #[test]
    fn stub_reports_inflate_error_later() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        let mut download = StubDownload::begin(100, 0, true, false);
        download.write_compressed(&mut flash, &[0xff; 16]);
        assert_eq!(download.deferred_error(), Some(Failure::Inflate));
    }

    #[test]
    fn stub_rejects_data_past_stream() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        let data = sample(64);
        let mut download = StubDownload::begin(64, 0, true, false);
        download.write_compressed(&mut flash, &zlib(&data));
        download.write_compressed(&mut flash, &[0; 8]);
        assert_eq!(download.deferred_error(), Some(Failure::TooMuchData));
    }

    #[test]
    fn stub_write_past_end_fails() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, true);
        let mut download = StubDownload::begin(16, SECTOR_SIZE - 8, false, false);
        download.write_plain(&mut flash, &[0; 16]);
        assert_eq!(download.finish(), Err(Failure::FlashWrite));
    }

    #[test]
    fn rom_plain_places_blocks_by_sequence() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        flash.program(0, &vec![0; 4 * SECTOR_SIZE as usize]).unwrap();
        let mut download =
            RomDownload::begin(&mut flash, 2 * SECTOR_SIZE, 8, 0x400, SECTOR_SIZE, false, false).unwrap();
        download.write_block(&mut flash, 1, &[0xab; 0x400]).unwrap();

        let contents = flash.contents();
        let start = SECTOR_SIZE as usize;
        assert!(contents[start..start + 0x400].iter().all(|&b| b == 0xff));
        assert!(contents[start + 0x400..start + 0x800].iter().all(|&b| b == 0xab));
        assert!(contents[start + 0x800..3 * start].iter().all(|&b| b == 0xff));
        assert!(contents[3 * start..].iter().all(|&b| b == 0));
    }

    #[test]
    fn rom_plain_rejects_bad_sequence_and_block_size() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        let mut download = RomDownload::begin(&mut flash, 0x800, 2, 0x400, 0, false, false).unwrap();
        assert_eq!(download.write_block(&mut flash, 2, &[0; 0x400]), Err(Failure::InvalidMessage));
        assert_eq!(download.write_block(&mut flash, 0, &[0; 0x401]), Err(Failure::BadBlockSize));
    }

    #[test]
    fn rom_compressed_requires_order() {
        let mut flash = FlashMemory::new(16 * SECTOR_SIZE, true);
        let data = sample(3000);
        let stream = zlib(&data);
        let blocks = stream.len().div_ceil(0x400) as u32;
        let mut download = RomDownload::begin(&mut flash, 0x1000, blocks, 0x400, 0, true, false).unwrap();
        assert_eq!(download.write_compressed(&mut flash, 1, &stream[..10]), Err(Failure::InvalidMessage));
        for (seq, block) in stream.chunks(0x400).enumerate() {
            download.write_compressed(&mut flash, seq as u32, block).unwrap();
        }
        assert_eq!(flash.read(0, 3000).unwrap(), data);
    }

    #[test]
    fn corruption_changes_exactly_one_byte() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, true);
        let data = vec![0, 0, 0x81, 0x7f];
        let mut download = StubDownload::begin(4, 0, false, true);
        download.write_plain(&mut flash, &data);
        assert_eq!(flash.read(0, 4).unwrap(), vec![0, 0, 0x80, 0x7f]);
    }
}
