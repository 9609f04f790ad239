//! SLIP framing as the ESP serial bootloader uses it.
//!
//! Each frame starts and ends with 0xC0. Inside a frame 0xC0 is sent as DB DC and 0xDB as DB DD.

const END: u8 = 0xC0;
const ESC: u8 = 0xDB;
const ESC_END: u8 = 0xDC;
const ESC_ESC: u8 = 0xDD;

/// Largest frame the decoder buffers. The biggest legal request is a 0x4000-byte data block with its
/// 8-byte header and 16-byte data header, so anything longer is line noise.
const MAX_FRAME_LEN: usize = 0x4000 + 64;

/// Appends one SLIP frame carrying `payload` to `out`.
pub(crate) fn encode_into(out: &mut Vec<u8>, payload: &[u8]) {
    out.push(END);
    for &byte in payload {
        match byte {
            END => out.extend_from_slice(&[ESC, ESC_END]),
            ESC => out.extend_from_slice(&[ESC, ESC_ESC]),
            _ => out.push(byte),
        }
    }
    out.push(END);
}

/// Returns one SLIP frame carrying `payload`.
pub(crate) fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    encode_into(&mut out, payload);
    out
}

/// Streaming SLIP decoder fed one byte at a time.
///
/// Bytes before the first 0xC0 are dropped, and so are empty frames, so both
/// `C0 frame C0 C0 frame C0` and `C0 frame C0 frame C0` decode to two frames. An escape byte
/// followed by anything other than DC or DD yields that byte unchanged.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    frame: Vec<u8>,
    in_frame: bool,
    escaped: bool,
    overflowed: bool,
}

impl Decoder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds one byte and returns the frame it completes, if any.
    pub(crate) fn push(&mut self, byte: u8) -> Option<Vec<u8>> {
        if byte == END {
            let finished = self.in_frame && !self.frame.is_empty() && !self.overflowed;
            let frame = std::mem::take(&mut self.frame);
            self.escaped = false;
            self.overflowed = false;
            // Every END also opens the next frame, so a delimiter shared by two frames works.
            self.in_frame = true;
            return finished.then_some(frame);
        }

        if !self.in_frame || self.overflowed {
            return None;
        }

        let decoded = if self.escaped {
            self.escaped = false;
            match byte {
                ESC_END => END,
                ESC_ESC => ESC,
                other => other,
            }
        } else if byte == ESC {
            self.escaped = true;
            return None;
        } else {
            byte
        };

        if self.frame.len() == MAX_FRAME_LEN {
            self.overflowed = true;
            self.frame.clear();
            return None;
        }
        self.frame.push(decoded);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut decoder = Decoder::new();
        bytes.iter().filter_map(|&b| decoder.push(b)).collect()
    }

    #[test]
    fn encode_escapes_end_and_esc() {
        assert_eq!(
            encode(&[0x01, 0xC0, 0x02, 0xDB, 0x03]),
            vec![0xC0, 0x01, 0xDB, 0xDC, 0x02, 0xDB, 0xDD, 0x03, 0xC0]
        );
    }

    #[test]
    fn encode_empty_payload() {
        assert_eq!(encode(&[]), vec![0xC0, 0xC0]);
    }

    #[test]
    fn decode_round_trips_every_byte_value() {
        let payload: Vec<u8> = (0..=255u8).collect();
        assert_eq!(decode_all(&encode(&payload)), vec![payload]);
    }

    #[test]
    fn decode_back_to_back_frames() {
        let mut wire = encode(&[1, 2]);
        wire.extend(encode(&[3]));
        assert_eq!(decode_all(&wire), vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn decode_shared_delimiter() {
        let wire = [0xC0, 1, 2, 0xC0, 3, 0xC0];
        assert_eq!(decode_all(&wire), vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn decode_drops_bytes_before_first_frame() {
        let mut wire = b"boot banner\r\n".to_vec();
        wire.extend(encode(&[7, 8]));
        assert_eq!(decode_all(&wire), vec![vec![7, 8]]);
    }

    #[test]
    fn decode_drops_empty_frames() {
        assert!(decode_all(&[0xC0, 0xC0, 0xC0, 0xC0]).is_empty());
    }

    #[test]
    fn decode_invalid_escape_keeps_byte() {
        assert_eq!(decode_all(&[0xC0, 0xDB, 0x41, 0xC0]), vec![vec![0x41]]);
    }

    #[test]
    fn decode_discards_oversized_frame() {
        let mut wire = vec![0xC0];
        wire.extend(std::iter::repeat_n(0x11, MAX_FRAME_LEN + 1));
        wire.push(0xC0);
        wire.extend(encode(&[9]));
        assert_eq!(decode_all(&wire), vec![vec![9]]);
    }
}
