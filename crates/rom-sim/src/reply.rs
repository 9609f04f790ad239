//! Reply frames and the failure codes they carry, in the ROM and stub formats.

/// Reason a request failed, independent of the loader that reports it.
///
/// The ROM and the stub report failures in different formats: the ROM sends
/// `[1, code, 0, 0]` and the stub sends `[code, 0]`. Codes come from the esptool 5.6 error table
/// and the legacy flasher stub (`stub_flasher.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request is malformed in a way only the ROM checks, such as a wrong SYNC pattern.
    InvalidMessage,
    /// The loader does not implement the command.
    Unsupported,
    /// The payload length does not fit the command.
    BadDataLen,
    /// The stub received a request longer than its 0x4000-byte block buffer.
    Oversized,
    /// The data checksum does not match.
    Checksum,
    /// The block size is larger than the loader accepts.
    BadBlockSize,
    /// A data or end command arrived without a matching begin.
    NotInFlashMode,
    /// The zlib stream is corrupt.
    Inflate,
    /// The download ended before all announced bytes arrived.
    NotEnoughData,
    /// More data arrived than the download announced.
    TooMuchData,
    /// A flash program or erase fell outside the flash.
    FlashWrite,
    /// A flash read fell outside the flash.
    FlashRead,
    /// A RAM download block exceeded the announced size.
    RamSize,
    /// The `error-on` fault knob rejected the request.
    Injected,
}

impl Failure {
    /// Returns the ROM error byte.
    ///
    /// The ROM's reasons for its codes are not published. For checks it must make (block size,
    /// order, missing begin) the simulator picks the closest entry of esptool's ROM error table.
    /// Those entries are 0x05 invalid message, 0x06 failed to act, 0x07 checksum, 0x08 flash
    /// write, 0x0A flash read length, 0x0B deflate and 0x0E invalid RAM size.
    fn rom_code(self) -> u8 {
        match self {
            Failure::InvalidMessage
            | Failure::Unsupported
            | Failure::BadDataLen
            | Failure::Oversized
            | Failure::BadBlockSize
            | Failure::TooMuchData => 0x05,
            Failure::NotInFlashMode | Failure::NotEnoughData | Failure::Injected => 0x06,
            Failure::Checksum => 0x07,
            Failure::FlashWrite => 0x08,
            Failure::FlashRead => 0x0a,
            Failure::Inflate => 0x0b,
            Failure::RamSize => 0x0e,
        }
    }

    /// Returns the two stub status bytes. The legacy stub collapses some failures that it
    /// computes with C's `||` into the code 0x01; the simulator reports the specific code that
    /// esp-flasher-stub sends instead.
    fn stub_status(self) -> [u8; 2] {
        match self {
            Failure::Oversized => [0xc0, 0xee],
            Failure::BadDataLen | Failure::RamSize => [0xc0, 0],
            Failure::Checksum => [0xc1, 0],
            Failure::BadBlockSize => [0xc2, 0],
            Failure::InvalidMessage => [0xc3, 0],
            Failure::FlashWrite | Failure::FlashRead | Failure::Injected => [0xc4, 0],
            Failure::NotInFlashMode => [0xc6, 0],
            Failure::Inflate => [0xc7, 0],
            Failure::NotEnoughData => [0xc8, 0],
            Failure::TooMuchData => [0xc9, 0],
            Failure::Unsupported => [0xff, 0],
        }
    }

    /// Returns the error byte as it appears on the wire for the given loader.
    pub(crate) fn code(self, format: StatusFormat) -> u8 {
        match format {
            StatusFormat::Rom => self.rom_code(),
            StatusFormat::Stub => self.stub_status()[0],
        }
    }
}

/// Status layout of a loader's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusFormat {
    /// ROM loader: `[status, error, 0, 0]`, status 1 on failure.
    Rom,
    /// Flasher stub: `[error, 0]`, error 0 on success.
    Stub,
}

/// The successful result of a request before it is framed.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub(crate) value: u32,
    pub(crate) data: Vec<u8>,
    /// Replaces the computed `len16`. The legacy stub sends 20 for GET_SECURITY_INFO, which
    /// leaves out its two status bytes.
    pub(crate) len_override: Option<u16>,
}

impl Answer {
    pub(crate) fn value(value: u32) -> Self {
        Answer { value, ..Answer::default() }
    }

    pub(crate) fn data(data: Vec<u8>) -> Self {
        Answer { data, ..Answer::default() }
    }
}

/// Builds the unescaped reply frame for `opcode`: `01 op len16 value32 data status`.
pub(crate) fn build(opcode: u8, format: StatusFormat, result: &Result<Answer, Failure>) -> Vec<u8> {
    let empty = Answer::default();
    let (answer, status) = match result {
        Ok(answer) => (answer, status_bytes(format, None)),
        Err(failure) => (&empty, status_bytes(format, Some(*failure))),
    };

    let computed_len = answer.data.len() + status.len();
    let len16 = answer.len_override.unwrap_or(computed_len as u16);

    let mut frame = Vec::with_capacity(8 + computed_len);
    frame.push(0x01);
    frame.push(opcode);
    frame.extend_from_slice(&len16.to_le_bytes());
    frame.extend_from_slice(&answer.value.to_le_bytes());
    frame.extend_from_slice(&answer.data);
    frame.extend_from_slice(&status);
    frame
}

fn status_bytes(format: StatusFormat, failure: Option<Failure>) -> Vec<u8> {
    match (format, failure) {
        (StatusFormat::Rom, None) => vec![0, 0, 0, 0],
        (StatusFormat::Rom, Some(failure)) => vec![1, failure.rom_code(), 0, 0],
        (StatusFormat::Stub, None) => vec![0, 0],
        (StatusFormat::Stub, Some(failure)) => failure.stub_status().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_rom_success_layout() {
        let frame = build(0x0a, StatusFormat::Rom, &Ok(Answer::value(0x1234_5678)));
        assert_eq!(frame, vec![1, 0x0a, 4, 0, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]);
    }

    #[test]
    fn reply_rom_failure_layout() {
        let frame = build(0xd0, StatusFormat::Rom, &Err(Failure::Unsupported));
        assert_eq!(frame, vec![1, 0xd0, 4, 0, 0, 0, 0, 0, 1, 0x05, 0, 0]);
    }

    #[test]
    fn reply_stub_success_layout() {
        let frame = build(0x02, StatusFormat::Stub, &Ok(Answer::default()));
        assert_eq!(frame, vec![1, 0x02, 2, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn reply_stub_failure_layout() {
        let frame = build(0x12, StatusFormat::Stub, &Err(Failure::NotEnoughData));
        assert_eq!(frame, vec![1, 0x12, 2, 0, 0, 0, 0, 0, 0xc8, 0]);
    }

    #[test]
    fn reply_len_override() {
        let answer = Answer { data: vec![0; 20], len_override: Some(20), ..Answer::default() };
        let frame = build(0x14, StatusFormat::Stub, &Ok(answer));
        assert_eq!(frame.len(), 30);
        assert_eq!(u16::from_le_bytes([frame[2], frame[3]]), 20);
    }
}
