//! One handler per bootloader command.
//!
//! Where the legacy flasher stub (the one espflash 4.7.0 uploads), esp-flasher-stub (the one
//! esptool 5.6 uploads) and the two host tools disagree, the handlers accept what either host
//! sends, and a comment marks each such place.

use md5::{Digest, Md5};

use super::read_flash::ReadFlashJob;
use super::request::{Request, data_checksum};
use super::{After, Download, Loader, MemDownload, Step};
use crate::download::{RomDownload, StubDownload};
use crate::reply::{Answer, Failure};
use crate::{Command, LoaderState};

/// The SYNC payload: 07 07 12 20 followed by 32 bytes of 0x55.
const SYNC_PATTERN_HEAD: [u8; 4] = [0x07, 0x07, 0x12, 0x20];
/// The value the ROM puts in its SYNC replies. Hosts take any non-zero value as the ROM's.
const ROM_SYNC_VALUE: u32 = 0x2012_0707;
/// Largest RAM download block the ROM takes (esptool's ESP_RAM_BLOCK).
const ROM_RAM_BLOCK: u32 = 0x1800;
/// The stub's receive buffer holds one 0x4000-byte block.
const STUB_MAX_BLOCK: u32 = 0x4000;
/// The ROM's READ_FLASH_SLOW returns this many bytes whatever length was asked for.
const READ_FLASH_SLOW_LEN: u32 = 64;
/// Length of the GET_SECURITY_INFO data: flags, crypt count, seven key purposes, chip ID, ECO.
const SECURITY_INFO_LEN: u16 = 20;

type Handled = Result<Answer, Failure>;

fn expect_len(request: &Request<'_>, lengths: &[usize]) -> Result<(), Failure> {
    if lengths.contains(&request.payload.len()) { Ok(()) } else { Err(Failure::BadDataLen) }
}

impl Loader {
    fn is_stub(&self) -> bool {
        self.state == LoaderState::Stub
    }

    pub(super) fn execute(&mut self, request: &Request<'_>) -> Step {
        if usize::from(request.declared_len) != request.payload.len() {
            return Step::new(Err(Failure::BadDataLen));
        }
        // The legacy stub rejects anything longer than one block plus its data header.
        if self.is_stub() && request.payload.len() > (STUB_MAX_BLOCK + 16) as usize {
            return Step::new(Err(Failure::Oversized));
        }

        match request.command {
            Command::Sync => Step::new(self.sync(request)),
            Command::ReadReg => Step::new(self.read_reg(request)),
            Command::WriteReg => Step::new(self.write_reg(request)),
            Command::GetSecurityInfo => Step::new(self.security_info(request)),
            Command::MemBegin => Step::new(self.mem_begin(request)),
            Command::MemData => Step::new(self.mem_data(request)),
            Command::MemEnd => self.mem_end(request),
            Command::SpiAttach => Step::new(self.spi_attach(request)),
            Command::SpiSetParams => Step::new(expect_len(request, &[24]).map(|()| Answer::default())),
            Command::ChangeBaudrate => self.change_baudrate(request),
            Command::FlashBegin => Step::new(self.flash_begin(request, false)),
            Command::FlashDeflBegin => Step::new(self.flash_begin(request, true)),
            Command::FlashData => Step::new(self.flash_data(request, false)),
            Command::FlashDeflData => Step::new(self.flash_data(request, true)),
            Command::FlashEnd | Command::FlashDeflEnd => self.flash_end(request),
            Command::SpiFlashMd5 => Step::new(self.flash_md5(request)),
            Command::EraseFlash if self.is_stub() => Step::new(self.erase_flash(request)),
            Command::EraseRegion if self.is_stub() => Step::new(self.erase_region(request)),
            Command::ReadFlash if self.is_stub() => self.read_flash(request),
            Command::ReadFlashSlow if !self.is_stub() => Step::new(self.read_flash_slow(request)),
            Command::RunUserCode if self.is_stub() => {
                Step { result: Ok(Answer::default()), after: After::Exit, reply: false }
            }
            _ => Step::new(Err(Failure::Unsupported)),
        }
    }

    fn sync(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[36])?;
        if self.is_stub() {
            // The stub replies with value 0, which esptool takes as the sign of a running stub.
            return Ok(Answer::value(0));
        }
        let pattern_ok = request.payload[..4] == SYNC_PATTERN_HEAD
            && request.payload[4..].iter().all(|&byte| byte == 0x55);
        if !pattern_ok {
            return Err(Failure::InvalidMessage);
        }
        Ok(Answer::value(ROM_SYNC_VALUE))
    }

    fn read_reg(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[4])?;
        Ok(Answer::value(self.registers.read(request.word(0))))
    }

    /// Writes registers: the ROM takes one (address, value, mask, delay) entry, the stub any number.
    fn write_reg(&mut self, request: &Request<'_>) -> Handled {
        let len = request.payload.len();
        let valid = if self.is_stub() { len.is_multiple_of(16) } else { len == 16 };
        if !valid {
            return Err(Failure::BadDataLen);
        }
        for entry in 0..len / 16 {
            let (addr, value, mask) =
                (request.word(entry * 4), request.word(entry * 4 + 1), request.word(entry * 4 + 2));
            self.registers.write(addr, value, mask);
        }
        Ok(Answer::default())
    }

    /// Returns the security info. The ESP32 ROM lacks GET_SECURITY_INFO (invalid message) and so
    /// does its legacy stub (not implemented). Later chips return 20 bytes. Their legacy stub
    /// declares `len16 = 20`, which leaves out its two status bytes, and the simulator copies that.
    fn security_info(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[0])?;
        let chip_id = self.chip_id.ok_or(Failure::Unsupported)?;

        let mut data = Vec::with_capacity(usize::from(SECURITY_INFO_LEN));
        data.extend_from_slice(&0u32.to_le_bytes()); // flags: no secure boot, no secure download
        data.push(0); // flash_crypt_cnt
        data.extend_from_slice(&[0; 7]); // key purposes
        data.extend_from_slice(&chip_id.to_le_bytes());
        data.extend_from_slice(&0u32.to_le_bytes()); // eco_version
        Ok(Answer { data, len_override: self.is_stub().then_some(SECURITY_INFO_LEN), ..Answer::default() })
    }

    fn mem_begin(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[16])?;
        let (size, blocks, block_size) = (request.word(0), request.word(1), request.word(2));
        if block_size == 0 || (!self.is_stub() && block_size > ROM_RAM_BLOCK) {
            return Err(Failure::BadBlockSize);
        }
        self.mem = Some(MemDownload { size, blocks, block_size, received: 0, next_seq: 0 });
        Ok(Answer::default())
    }

    fn mem_data(&mut self, request: &Request<'_>) -> Handled {
        if request.payload.len() < 16 {
            return Err(Failure::BadDataLen);
        }
        let data = &request.payload[16..];
        if request.word(0) as usize != data.len() {
            return Err(Failure::BadDataLen);
        }
        if data_checksum(data) != request.checksum {
            return Err(Failure::Checksum);
        }
        let seq = request.word(1);
        let mem = self.mem.as_mut().ok_or(Failure::NotInFlashMode)?;
        if seq != mem.next_seq || seq >= mem.blocks {
            return Err(Failure::InvalidMessage);
        }
        if data.len() as u32 > mem.block_size {
            return Err(Failure::BadBlockSize);
        }
        // Hosts pad a final block shorter than a word up to four bytes.
        let received = mem.received + data.len() as u32;
        if received > mem.size.saturating_add(3) {
            return Err(Failure::RamSize);
        }
        mem.received = received;
        mem.next_seq += 1;
        Ok(Answer::default())
    }

    /// An entry point with `no_entry == 0` starts the uploaded program. The simulator executes
    /// nothing: any program started this way is taken to be the flasher stub, which greets the
    /// host with OHAI. A MEM_END sent to the stub restarts it and greets again.
    fn mem_end(&mut self, request: &Request<'_>) -> Step {
        if let Err(failure) = expect_len(request, &[8]) {
            return Step::new(Err(failure));
        }
        if self.mem.take().is_none() {
            return Step::new(Err(Failure::NotInFlashMode));
        }
        let (no_entry, entry) = (request.word(0), request.word(1));
        let after = if no_entry == 0 && entry != 0 { After::StartStub } else { After::Nothing };
        Step::then(Ok(Answer::default()), after)
    }

    /// Checks SPI_ATTACH: the ROM takes the pin word plus a 4-byte "legacy" word, the stub the pin
    /// word alone.
    fn spi_attach(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[if self.is_stub() { 4 } else { 8 }])?;
        Ok(Answer::default())
    }

    /// Switches the UART to the new baud rate once the reply has gone out at the old one.
    fn change_baudrate(&mut self, request: &Request<'_>) -> Step {
        if let Err(failure) = expect_len(request, &[8]) {
            return Step::new(Err(failure));
        }
        match request.word(0) {
            0 => Step::new(Err(Failure::InvalidMessage)),
            baud => Step::then(Ok(Answer::default()), After::SetBaud(baud)),
        }
    }

    /// FLASH_BEGIN and FLASH_DEFL_BEGIN. The ESP32 ROM takes 16 bytes and later ROMs 20 (with the
    /// encryption flag). The legacy stub checks for 16 bytes, while esptool 5.6 sends 20 to its
    /// stub and espflash 4.7.0 sends 20 to the stub for uncompressed writes on the ESP32-C3/S3,
    /// so the simulated stub takes both, as esp-flasher-stub does.
    fn flash_begin(&mut self, request: &Request<'_>, compressed: bool) -> Handled {
        let lengths: &[usize] = if self.is_stub() { &[16, 20] } else { &[self.profile.rom_begin_len] };
        expect_len(request, lengths)?;
        let (size, blocks, block_size, offset) =
            (request.word(0), request.word(1), request.word(2), request.word(3));
        let corrupt = self.faults.corrupt_flash;

        let download = if self.is_stub() {
            if block_size > STUB_MAX_BLOCK {
                return Err(Failure::BadBlockSize);
            }
            Download::Stub(StubDownload::begin(size, offset, compressed, corrupt))
        } else {
            Download::Rom(RomDownload::begin(
                &mut self.flash,
                size,
                blocks,
                block_size,
                offset,
                compressed,
                corrupt,
            )?)
        };
        self.download = Some(download);
        Ok(Answer::default())
    }

    /// FLASH_DATA and FLASH_DEFL_DATA: `len, seq, 0, 0` followed by the data.
    fn flash_data(&mut self, request: &Request<'_>, compressed: bool) -> Handled {
        if request.payload.len() < 16 {
            return Err(Failure::BadDataLen);
        }
        let data = &request.payload[16..];
        let seq = request.word(1);

        let download = self.download.as_mut().ok_or(Failure::NotInFlashMode)?;
        let kind_matches = match download {
            Download::Rom(rom) => rom.is_compressed() == compressed,
            Download::Stub(stub) => stub.is_compressed() == compressed,
        };
        if !kind_matches {
            return Err(Failure::NotInFlashMode);
        }
        if request.word(0) as usize != data.len() {
            return Err(Failure::BadDataLen);
        }
        if data_checksum(data) != request.checksum {
            return Err(Failure::Checksum);
        }

        match download {
            Download::Rom(rom) if compressed => rom.write_compressed(&mut self.flash, seq, data)?,
            Download::Rom(rom) => rom.write_block(&mut self.flash, seq, data)?,
            Download::Stub(stub) => {
                // The legacy stub ignores the sequence number and acknowledges a block before
                // writing it, so the acknowledgement carries the previous block's error.
                if let Some(failure) = stub.deferred_error() {
                    return Err(failure);
                }
                if compressed {
                    stub.write_compressed(&mut self.flash, data);
                } else {
                    stub.write_plain(&mut self.flash, data);
                }
            }
        }
        Ok(Answer::default())
    }

    /// FLASH_END and FLASH_DEFL_END end either kind of download: espflash 4.7.0 sends
    /// FLASH_DEFL_END to the stub even when the last segment went out uncompressed.
    ///
    /// Flag 0 requests a reboot and flag 1 the application. The stub reboots into the ROM
    /// for flag 0 and stays for flag 1. The ROM leaves the loader for either flag unless the
    /// board is configured with [`RomFlashEnd::StayInLoader`](crate::RomFlashEnd).
    fn flash_end(&mut self, request: &Request<'_>) -> Step {
        if let Err(failure) = expect_len(request, &[4]) {
            return Step::new(Err(failure));
        }
        let reboot = request.word(0) == 0;

        if !self.is_stub() {
            self.download = None;
            let after = match self.rom_flash_end {
                crate::RomFlashEnd::LeaveLoader => After::Exit,
                crate::RomFlashEnd::StayInLoader => After::Nothing,
            };
            return Step::then(Ok(Answer::default()), after);
        }

        let result = match &self.download {
            None | Some(Download::Rom(_)) => Err(Failure::NotInFlashMode),
            Some(Download::Stub(stub)) => stub.finish(),
        };
        // Like the legacy stub, a download missing data stays open; any other end closes it.
        if result != Err(Failure::NotEnoughData) {
            self.download = None;
        }
        let after = if reboot { After::RebootToRom } else { After::Nothing };
        Step::then(result.map(|()| Answer::default()), after)
    }

    /// The ROM returns the digest as 32 lowercase hex characters (esptool compares the text with
    /// Python's `hexdigest()`), the stub as 16 raw bytes.
    fn flash_md5(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[16])?;
        let (offset, len) = (request.word(0), request.word(1));
        let data = self.flash.read(offset, len).map_err(|_| Failure::FlashRead)?;
        let digest = Md5::digest(&data);

        let reply = if self.is_stub() {
            digest.to_vec()
        } else {
            digest.iter().map(|byte| format!("{byte:02x}")).collect::<String>().into_bytes()
        };
        Ok(Answer::data(reply))
    }

    fn erase_flash(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[0])?;
        self.flash.erase_all();
        Ok(Answer::default())
    }

    fn erase_region(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[8])?;
        let (offset, len) = (request.word(0), request.word(1));
        let sector = crate::flash::SECTOR_SIZE;
        if !offset.is_multiple_of(sector) || !len.is_multiple_of(sector) {
            return Err(Failure::BadDataLen);
        }
        self.flash.erase_covering(offset, len).map_err(|_| Failure::FlashWrite)?;
        Ok(Answer::default())
    }

    /// READ_FLASH: `offset, len, block, max_in_flight`. The data follows the reply; see
    /// [`ReadFlashJob`].
    fn read_flash(&mut self, request: &Request<'_>) -> Step {
        if let Err(failure) = expect_len(request, &[16]) {
            return Step::new(Err(failure));
        }
        let (offset, len, block) = (request.word(0), request.word(1), request.word(2));
        if block == 0 || block > STUB_MAX_BLOCK {
            return Step::new(Err(Failure::BadBlockSize));
        }
        if self.flash.read(offset, len).is_err() {
            return Step::new(Err(Failure::FlashRead));
        }
        self.read_job = Some(ReadFlashJob::new(offset, len, block));
        Step::then(Ok(Answer::default()), After::StartReadFlash)
    }

    /// READ_FLASH_SLOW: `offset, len` (esptool) or `offset, len, block, in_flight` (espflash).
    /// The ROM always returns 64 bytes.
    fn read_flash_slow(&mut self, request: &Request<'_>) -> Handled {
        expect_len(request, &[8, 16])?;
        let (offset, len) = (request.word(0), request.word(1));
        if len > READ_FLASH_SLOW_LEN || self.flash.read(offset, len).is_err() {
            return Err(Failure::FlashRead);
        }
        let available = self.flash.size() - offset;
        let mut data =
            self.flash.read(offset, READ_FLASH_SLOW_LEN.min(available)).map_err(|_| Failure::FlashRead)?;
        data.resize(READ_FLASH_SLOW_LEN as usize, 0xff);
        Ok(Answer::data(data))
    }
}
