//! NOR flash memory: programming can only clear bits and erasing sets whole sectors to 0xFF.

/// Smallest erasable unit.
pub(crate) const SECTOR_SIZE: u32 = 0x1000;

/// An access that runs past the end of the flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfRange;

/// The simulated SPI NOR flash.
#[derive(Debug)]
pub(crate) struct FlashMemory {
    bytes: Vec<u8>,
    /// False when no flash chip is fitted. Programs and erases then do nothing and reads return
    /// 0xFF, the level of a floating, pulled-up MISO line.
    present: bool,
}

impl FlashMemory {
    /// Returns an erased flash of `size` bytes.
    pub(crate) fn new(size: u32, present: bool) -> Self {
        FlashMemory { bytes: vec![0xff; size as usize], present }
    }

    pub(crate) fn size(&self) -> u32 {
        self.bytes.len() as u32
    }

    fn range(&self, offset: u32, len: u32) -> Result<std::ops::Range<usize>, OutOfRange> {
        let end = offset.checked_add(len).ok_or(OutOfRange)?;
        if end > self.size() {
            return Err(OutOfRange);
        }
        Ok(offset as usize..end as usize)
    }

    /// Erases every sector that overlaps `[offset, offset + len)`.
    pub(crate) fn erase_covering(&mut self, offset: u32, len: u32) -> Result<(), OutOfRange> {
        if len == 0 {
            return Ok(());
        }
        let first = offset - offset % SECTOR_SIZE;
        let end = offset.checked_add(len).ok_or(OutOfRange)?;
        let last = end.div_ceil(SECTOR_SIZE).checked_mul(SECTOR_SIZE).ok_or(OutOfRange)?;
        let range = self.range(first, last - first)?;
        if self.present {
            self.bytes[range].fill(0xff);
        }
        Ok(())
    }

    /// Erases `count` sectors starting at sector number `first`.
    pub(crate) fn erase_sectors(&mut self, first: u32, count: u32) -> Result<(), OutOfRange> {
        let offset = first.checked_mul(SECTOR_SIZE).ok_or(OutOfRange)?;
        let len = count.checked_mul(SECTOR_SIZE).ok_or(OutOfRange)?;
        self.erase_covering(offset, len)
    }

    /// Erases the whole chip.
    pub(crate) fn erase_all(&mut self) {
        if self.present {
            self.bytes.fill(0xff);
        }
    }

    /// Programs `data` at `offset`. Like a NOR page program, each stored bit becomes
    /// `old AND new`, so 0xFF padding leaves neighbouring data alone.
    pub(crate) fn program(&mut self, offset: u32, data: &[u8]) -> Result<(), OutOfRange> {
        let range = self.range(offset, data.len() as u32)?;
        if self.present {
            for (stored, new) in self.bytes[range].iter_mut().zip(data) {
                *stored &= new;
            }
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset` as they arrive over the SPI bus.
    pub(crate) fn read(&self, offset: u32, len: u32) -> Result<Vec<u8>, OutOfRange> {
        let range = self.range(offset, len)?;
        if self.present { Ok(self.bytes[range].to_vec()) } else { Ok(vec![0xff; range.len()]) }
    }

    /// Returns the stored bytes of `[offset, offset + len)` clipped to the end of the flash.
    pub(crate) fn stored(&self, offset: u32, len: u32) -> Vec<u8> {
        let start = (offset as usize).min(self.bytes.len());
        let end = start.saturating_add(len as usize).min(self.bytes.len());
        self.bytes[start..end].to_vec()
    }

    /// Returns every stored byte.
    pub(crate) fn contents(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nor_new_flash_is_erased() {
        let flash = FlashMemory::new(2 * SECTOR_SIZE, true);
        assert!(flash.contents().iter().all(|&b| b == 0xff));
    }

    #[test]
    fn nor_program_ands_with_old_contents() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, true);
        flash.program(0, &[0xf0, 0x0f, 0xaa]).unwrap();
        flash.program(0, &[0x3c, 0xff, 0x55]).unwrap();
        assert_eq!(flash.read(0, 3).unwrap(), vec![0x30, 0x0f, 0x00]);
    }

    #[test]
    fn nor_padding_keeps_neighbours() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, true);
        flash.program(4, &[1, 2, 3, 4]).unwrap();
        flash.program(0, &[9, 9, 9, 9, 0xff, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!(flash.read(0, 8).unwrap(), vec![9, 9, 9, 9, 1, 2, 3, 4]);
    }

    #[test]
    fn nor_erase_covers_whole_sectors() {
        let mut flash = FlashMemory::new(3 * SECTOR_SIZE, true);
        flash.program(0, &vec![0; 3 * SECTOR_SIZE as usize]).unwrap();
        flash.erase_covering(SECTOR_SIZE + 10, 20).unwrap();
        let contents = flash.contents();
        let sector = SECTOR_SIZE as usize;
        assert!(contents[..sector].iter().all(|&b| b == 0));
        assert!(contents[sector..2 * sector].iter().all(|&b| b == 0xff));
        assert!(contents[2 * sector..].iter().all(|&b| b == 0));
    }

    #[test]
    fn nor_erase_sectors_by_number() {
        let mut flash = FlashMemory::new(4 * SECTOR_SIZE, true);
        flash.program(0, &vec![0; 4 * SECTOR_SIZE as usize]).unwrap();
        flash.erase_sectors(1, 2).unwrap();
        let erased: Vec<bool> = flash
            .contents()
            .chunks(SECTOR_SIZE as usize)
            .map(|sector| sector.iter().all(|&b| b == 0xff))
            .collect();
        assert_eq!(erased, vec![false, true, true, false]);
    }

    #[test]
    fn nor_erase_all() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, true);
        flash.program(100, &[0]).unwrap();
        flash.erase_all();
        assert_eq!(flash.read(100, 1).unwrap(), vec![0xff]);
    }

    #[test]
    fn nor_rejects_access_past_end() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, true);
        assert_eq!(flash.program(SECTOR_SIZE - 1, &[0, 0]), Err(OutOfRange));
        assert_eq!(flash.read(SECTOR_SIZE, 1), Err(OutOfRange));
        assert_eq!(flash.erase_covering(SECTOR_SIZE, 1), Err(OutOfRange));
        assert_eq!(flash.read(u32::MAX, 2), Err(OutOfRange));
    }

    #[test]
    fn nor_absent_chip_reads_ones_and_ignores_writes() {
        let mut flash = FlashMemory::new(SECTOR_SIZE, false);
        flash.program(0, &[0, 0]).unwrap();
        assert_eq!(flash.read(0, 2).unwrap(), vec![0xff, 0xff]);
        assert_eq!(flash.stored(0, 2), vec![0xff, 0xff]);
    }
}
