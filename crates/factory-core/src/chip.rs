//! The ESP chips Node Factory provisions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// A target chip. The lowercase name (`esp32c3`) is what ESP-IDF's `IDF_TARGET`,
/// `CONFIG_IDF_TARGET` and the registry use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chip {
    Esp32,
    Esp32c3,
    Esp32s3,
}

impl Chip {
    pub const ALL: [Chip; 3] = [Chip::Esp32, Chip::Esp32c3, Chip::Esp32s3];

    /// The ESP-IDF target name, as in `IDF_TARGET=esp32c3`.
    pub fn idf_target(self) -> &'static str {
        match self {
            Chip::Esp32 => "esp32",
            Chip::Esp32c3 => "esp32c3",
            Chip::Esp32s3 => "esp32s3",
        }
    }

    /// The marketing name printed on modules and shown to people.
    pub fn display_name(self) -> &'static str {
        match self {
            Chip::Esp32 => "ESP32",
            Chip::Esp32c3 => "ESP32-C3",
            Chip::Esp32s3 => "ESP32-S3",
        }
    }

    /// The chip ID that ESP-IDF writes at bytes 12-13 of an image header and into
    /// `CONFIG_IDF_FIRMWARE_CHIP_ID`.
    pub fn image_chip_id(self) -> u16 {
        match self {
            Chip::Esp32 => 0x0000,
            Chip::Esp32c3 => 0x0005,
            Chip::Esp32s3 => 0x0009,
        }
    }

    pub fn from_image_chip_id(id: u16) -> Option<Chip> {
        Chip::ALL.into_iter().find(|chip| chip.image_chip_id() == id)
    }

    /// The flash offset of the second-stage bootloader.
    pub fn bootloader_offset(self) -> u32 {
        match self {
            Chip::Esp32 => 0x1000,
            Chip::Esp32c3 | Chip::Esp32s3 => 0x0,
        }
    }
}

impl fmt::Display for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.idf_target())
    }
}

impl FromStr for Chip {
    type Err = CoreError;

    /// Accepts the ESP-IDF name in any case and the marketing spelling with a dash
    /// (`esp32c3`, `ESP32-C3`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let folded: String =
            text.trim().chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
        Chip::ALL
            .into_iter()
            .find(|chip| chip.idf_target() == folded)
            .ok_or_else(|| CoreError::InvalidChip { value: text.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_parses_idf_and_marketing_names() {
        for (text, chip) in [
            ("esp32", Chip::Esp32),
            ("ESP32-C3", Chip::Esp32c3),
            ("esp32s3", Chip::Esp32s3),
            ("Esp32_S3", Chip::Esp32s3),
        ] {
            assert_eq!(text.parse::<Chip>(), Ok(chip), "{text}");
        }
    }

    #[test]
    fn chip_rejects_unknown_names() {
        for text in ["", "esp32c6", "esp8266", "esp32s"] {
            assert!(text.parse::<Chip>().is_err(), "{text}");
        }
    }

    #[test]
    fn chip_image_ids_round_trip() {
        for chip in Chip::ALL {
            assert_eq!(Chip::from_image_chip_id(chip.image_chip_id()), Some(chip));
        }
        assert_eq!(Chip::from_image_chip_id(2), None);
    }
}
