//! State machine tests that feed request frames straight to the loader.

use md5::{Digest, Md5};

use super::*;
use crate::{Fault, Outcome};

fn request(opcode: u8, payload: &[u8], checksum: u32) -> Vec<u8> {
    let mut frame = vec![0x00, opcode];
    frame.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    frame.extend_from_slice(&checksum.to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn sync_payload() -> Vec<u8> {
    let mut payload = vec![0x07, 0x07, 0x12, 0x20];
    payload.extend([0x55; 32]);
    payload
}

/// Decodes every SLIP frame in the writes the loader returned.
fn frames(writes: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut decoder = slip::Decoder::new();
    writes.iter().flatten().filter_map(|&byte| decoder.push(byte)).collect()
}

fn loader(chip: SimChip, faults: Vec<Fault>) -> Loader {
    let mut config = BoardConfig::new(chip);
    config.faults = faults;
    Loader::new(&config).unwrap()
}

fn send(loader: &mut Loader, opcode: u8, payload: &[u8]) -> Vec<Vec<u8>> {
    frames(&loader.handle_frame(&request(opcode, payload, 0)))
}

fn data_request(opcode: u8, seq: u32, data: &[u8]) -> Vec<u8> {
    let mut payload = words(&[data.len() as u32, seq, 0, 0]);
    payload.extend_from_slice(data);
    request(opcode, &payload, request::data_checksum(data))
}

/// Uploads a pretend stub and returns the frames of the MEM_END exchange.
fn upload_stub(loader: &mut Loader) -> Vec<Vec<u8>> {
    send(loader, 0x05, &words(&[4, 1, 0x1800, 0x4038_0000]));
    frames(&loader.handle_frame(&data_request(0x07, 0, &[1, 2, 3, 4])));
    send(loader, 0x06, &words(&[0, 0x4038_0e9a]))
}

#[test]
fn rom_sync_sends_eight_replies() {
    let mut loader = loader(SimChip::Esp32, vec![]);
    let replies = send(&mut loader, 0x08, &sync_payload());
    assert_eq!(replies.len(), 8);
    for reply in &replies {
        assert_eq!(reply, &vec![1, 0x08, 4, 0, 0x07, 0x07, 0x12, 0x20, 0, 0, 0, 0]);
    }
}

#[test]
fn short_sync_sends_four_replies() {
    let mut loader = loader(SimChip::Esp32c3, vec![Fault::ShortSync]);
    assert_eq!(send(&mut loader, 0x08, &sync_payload()).len(), 4);
}

#[test]
fn rom_rejects_wrong_sync_pattern() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    let replies = send(&mut loader, 0x08, &[0x55; 36]);
    assert_eq!(replies, vec![vec![1, 0x08, 4, 0, 0, 0, 0, 0, 1, 0x05, 0, 0]]);
}

#[test]
fn length_mismatch_is_bad_data_len() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    let mut frame = request(0x0a, &words(&[0x4000_1000]), 0);
    frame[2] = 8;
    let replies = frames(&loader.handle_frame(&frame));
    assert_eq!(replies[0][8..], [1, 0x05, 0, 0]);
}

#[test]
fn read_reg_returns_magic() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    let replies = send(&mut loader, 0x0a, &words(&[0x4000_1000]));
    assert_eq!(replies[0][4..8], 0x1b31_506fu32.to_le_bytes());
}

#[test]
fn wrong_chip_changes_identity() {
    let mut loader = loader(SimChip::Esp32c3, vec![Fault::WrongChip(SimChip::Esp32)]);
    let replies = send(&mut loader, 0x0a, &words(&[0x4000_1000]));
    assert_eq!(replies[0][4..8], 0x00f0_1d83u32.to_le_bytes());
    let replies = send(&mut loader, 0x14, &[]);
    assert_eq!(replies[0][8..], [1, 0x05, 0, 0]);
}

#[test]
fn security_info_rom_and_stub_layouts() {
    let mut loader = loader(SimChip::Esp32s3, vec![]);
    let rom = send(&mut loader, 0x14, &[]);
    assert_eq!(rom[0].len(), 32);
    assert_eq!(u16::from_le_bytes([rom[0][2], rom[0][3]]), 24);
    assert_eq!(rom[0][20..24], 9u32.to_le_bytes());

    upload_stub(&mut loader);
    let stub = send(&mut loader, 0x14, &[]);
    assert_eq!(stub[0].len(), 30);
    assert_eq!(u16::from_le_bytes([stub[0][2], stub[0][3]]), 20);
}

#[test]
fn esp32_security_info_fails_in_rom_and_stub() {
    let mut loader = loader(SimChip::Esp32, vec![]);
    assert_eq!(send(&mut loader, 0x14, &[])[0][8..], [1, 0x05, 0, 0]);
    upload_stub(&mut loader);
    assert_eq!(send(&mut loader, 0x14, &[])[0][8..], [0xff, 0]);
}

#[test]
fn mem_end_with_entry_starts_stub() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    let replies = upload_stub(&mut loader);
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0], vec![1, 0x06, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(replies[1], b"OHAI".to_vec());
    assert_eq!(loader.state(), LoaderState::Stub);

    let sync = send(&mut loader, 0x08, &sync_payload());
    assert_eq!(sync.len(), 8);
    assert_eq!(sync[0], vec![1, 0x08, 2, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn mem_data_checks_checksum_and_order() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    send(&mut loader, 0x05, &words(&[8, 2, 4, 0x4038_0000]));
    let mut bad = data_request(0x07, 0, &[1, 2, 3, 4]);
    bad[4] ^= 1;
    assert_eq!(frames(&loader.handle_frame(&bad))[0][8..], [1, 0x07, 0, 0]);
    let skipped = data_request(0x07, 1, &[1, 2, 3, 4]);
    assert_eq!(frames(&loader.handle_frame(&skipped))[0][8..], [1, 0x05, 0, 0]);
}

#[test]
fn erase_needs_stub() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    assert_eq!(send(&mut loader, 0xd0, &[])[0][8..], [1, 0x05, 0, 0]);
    upload_stub(&mut loader);
    assert_eq!(send(&mut loader, 0xd0, &[])[0][8..], [0, 0]);
    assert_eq!(send(&mut loader, 0xd1, &words(&[0x1000, 0x800]))[0][8..], [0xc0, 0]);
}

#[test]
fn rom_flash_end_leaves_loader_by_default() {
    let mut loader = loader(SimChip::Esp32, vec![]);
    send(&mut loader, 0x02, &words(&[0x1000, 4, 0x400, 0]));
    let replies = send(&mut loader, 0x04, &words(&[0]));
    assert_eq!(replies[0][8..], [0, 0, 0, 0]);
    assert_eq!(loader.state(), LoaderState::Exited);
    assert!(send(&mut loader, 0x08, &sync_payload()).is_empty());
    assert_eq!(loader.log().last().unwrap().outcome, Outcome::NoReply);
}

#[test]
fn rom_flash_end_can_stay_in_loader() {
    let mut config = BoardConfig::new(SimChip::Esp32);
    config.rom_flash_end = RomFlashEnd::StayInLoader;
    let mut loader = Loader::new(&config).unwrap();
    send(&mut loader, 0x04, &words(&[0]));
    assert_eq!(loader.state(), LoaderState::Rom);
    assert_eq!(send(&mut loader, 0x08, &sync_payload()).len(), 8);
}

#[test]
fn rom_flash_begin_length_per_chip() {
    let mut esp32 = loader(SimChip::Esp32, vec![]);
    assert_eq!(send(&mut esp32, 0x02, &words(&[0, 0, 0x400, 0, 0]))[0][8..], [1, 0x05, 0, 0]);
    let mut c3 = loader(SimChip::Esp32c3, vec![]);
    assert_eq!(send(&mut c3, 0x02, &words(&[0, 0, 0x400, 0]))[0][8..], [1, 0x05, 0, 0]);
    assert_eq!(send(&mut c3, 0x02, &words(&[0, 0, 0x400, 0, 0]))[0][8..], [0, 0, 0, 0]);
}

#[test]
fn stub_flash_end_zero_reboots_to_rom() {
    let mut loader = loader(SimChip::Esp32s3, vec![]);
    upload_stub(&mut loader);
    send(&mut loader, 0x0f, &words(&[921_600, 115_200]));
    assert_eq!(loader.baud(), 921_600);
    send(&mut loader, 0x02, &words(&[0, 0, 0x4000, 0]));
    assert_eq!(send(&mut loader, 0x04, &words(&[0]))[0][8..], [0, 0]);
    assert_eq!(loader.state(), LoaderState::Rom);
    assert_eq!(loader.baud(), 115_200);
}

#[test]
fn stub_flash_end_without_begin_fails() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    upload_stub(&mut loader);
    assert_eq!(send(&mut loader, 0x12, &words(&[1]))[0][8..], [0xc6, 0]);
}

#[test]
fn stub_plain_write_and_md5() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    upload_stub(&mut loader);
    let data: Vec<u8> = (0..100u8).collect();
    send(&mut loader, 0x02, &words(&[100, 1, 0x4000, 0x2000, 0]));
    let mut block = data.clone();
    block.resize(0x4000, 0xff);
    assert_eq!(frames(&loader.handle_frame(&data_request(0x03, 0, &block)))[0][8..], [0, 0]);
    assert_eq!(send(&mut loader, 0x04, &words(&[1]))[0][8..], [0, 0]);
    assert_eq!(loader.flash().read(0x2000, 100).unwrap(), data);
    assert_eq!(loader.flash().read(0x2064, 1).unwrap(), vec![0xff]);

    let md5 = send(&mut loader, 0x13, &words(&[0x2000, 100, 0, 0]));
    assert_eq!(md5[0].len(), 26);
    assert_eq!(md5[0][8..24], Md5::digest(&data)[..]);
}

#[test]
fn rom_md5_is_lowercase_hex() {
    let mut loader = loader(SimChip::Esp32, vec![]);
    let md5 = send(&mut loader, 0x13, &words(&[0, 16, 0, 0]));
    assert_eq!(md5[0].len(), 44);
    let expected = format!("{:x}", Md5::digest([0xff; 16]));
    assert_eq!(std::str::from_utf8(&md5[0][8..40]).unwrap(), expected);
}

#[test]
fn stub_read_flash_waits_for_acknowledgements() {
    let mut loader = loader(SimChip::Esp32c3, vec![]);
    upload_stub(&mut loader);
    let first = send(&mut loader, 0xd2, &words(&[0, 0x1800, 0x1000, 64]));
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].len(), 0x1000);

    let second = frames(&loader.handle_frame(&0x1000u32.to_le_bytes()));
    assert_eq!(second[0].len(), 0x800);
    let digest = frames(&loader.handle_frame(&0x1800u32.to_le_bytes()));
    assert_eq!(digest[0], Md5::digest([0xff; 0x1800]).to_vec());
    assert!(loader.handle_frame(&0x1800u32.to_le_bytes()).is_empty());
}

#[test]
fn stall_after_stops_replying() {
    let mut loader = loader(SimChip::Esp32c3, vec![Fault::StallAfter(2)]);
    assert_eq!(send(&mut loader, 0x08, &sync_payload()).len(), 8);
    assert_eq!(send(&mut loader, 0x0a, &words(&[0])).len(), 1);
    assert!(send(&mut loader, 0x0a, &words(&[0])).is_empty());
}

#[test]
fn error_on_fails_that_command_only() {
    let mut loader = loader(SimChip::Esp32c3, vec![Fault::ErrorOn(Command::ReadReg)]);
    assert_eq!(send(&mut loader, 0x0a, &words(&[0]))[0][8..], [1, 0x06, 0, 0]);
    assert_eq!(send(&mut loader, 0x08, &sync_payload()).len(), 8);
}

#[test]
fn silent_board_logs_without_replying() {
    let mut loader = loader(SimChip::Esp32, vec![Fault::Silent]);
    assert!(send(&mut loader, 0x08, &sync_payload()).is_empty());
    assert_eq!(loader.log().len(), 1);
}
