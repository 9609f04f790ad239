//! Parsing of request frames: `00 op len16 chk32 payload`, all little-endian.

use crate::Command;

/// Initial value of the XOR checksum over data payloads.
const CHECKSUM_SEED: u8 = 0xef;

#[derive(Debug)]
pub(super) struct Request<'a> {
    pub(super) command: Command,
    pub(super) declared_len: u16,
    pub(super) checksum: u32,
    pub(super) payload: &'a [u8],
}

impl<'a> Request<'a> {
    /// Parses a frame, or returns `None` for frames too short to hold a header or not marked as
    /// requests; the loaders ignore those.
    pub(super) fn parse(frame: &'a [u8]) -> Option<Self> {
        if frame.len() < 8 || frame[0] != 0x00 {
            return None;
        }
        Some(Request {
            command: Command::from_opcode(frame[1]),
            declared_len: u16::from_le_bytes([frame[2], frame[3]]),
            checksum: u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]),
            payload: &frame[8..],
        })
    }

    /// Returns little-endian word `index` of the payload; callers check the length first.
    pub(super) fn word(&self, index: usize) -> u32 {
        let at = index * 4;
        u32::from_le_bytes(self.payload[at..at + 4].try_into().expect("four bytes"))
    }
}

/// Returns the checksum hosts put in the header of data commands: 0xEF XOR every data byte.
pub(super) fn data_checksum(data: &[u8]) -> u32 {
    u32::from(data.iter().fold(CHECKSUM_SEED, |acc, byte| acc ^ byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parses_header() {
        let frame = [0x00, 0x0a, 4, 0, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x40];
        let request = Request::parse(&frame).unwrap();
        assert_eq!(request.command, Command::ReadReg);
        assert_eq!(request.declared_len, 4);
        assert_eq!(request.word(0), 0x4000_1000);
    }

    #[test]
    fn request_rejects_short_and_reply_frames() {
        assert!(Request::parse(&[0, 8, 0, 0]).is_none());
        assert!(Request::parse(&[1, 8, 0, 0, 0, 0, 0, 0]).is_none());
    }

    #[test]
    fn checksum_matches_esptool_definition() {
        assert_eq!(data_checksum(&[]), 0xef);
        assert_eq!(data_checksum(&[0xef]), 0);
        assert_eq!(data_checksum(&[1, 2, 4]), 0xef ^ 7);
    }
}
