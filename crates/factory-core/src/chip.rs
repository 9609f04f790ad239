//! The ESP chips Node Factory provisions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{CoreError, truncate_for_message};

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

    /// Returns the ESP-IDF target name, as in `IDF_TARGET=esp32c3`.
    pub fn idf_target(self) -> &'static str {
        match self {
            Chip::Esp32 => "esp32",
            Chip::Esp32c3 => "esp32c3",
            Chip::Esp32s3 => "esp32s3",
        }
    }

    /// Returns the marketing name printed on modules and shown to people.
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

    /// Says why `gpio` cannot drive an LED strip's data or enable line on this chip, or returns
    /// `None` when it can. The reserved pins are those of the common modules: the SPI flash
    /// pins, and on the ESP32 the input-only GPIO34 to GPIO39.
    pub fn output_gpio_problem(self, gpio: u32) -> Option<&'static str> {
        match (self, gpio) {
            (Chip::Esp32, 6..=11) => Some("is wired to the SPI flash on ESP32 modules"),
            (Chip::Esp32, 20 | 24 | 28..=31) => Some("does not exist on the ESP32"),
            (Chip::Esp32, 34..=39) => Some("is input-only on the ESP32"),
            (Chip::Esp32, 40..) => Some("does not exist on the ESP32, which has GPIO0 to GPIO39"),
            (Chip::Esp32c3, 12..=17) => Some("is wired to the SPI flash on ESP32-C3 modules"),
            (Chip::Esp32c3, 22..) => Some("does not exist on the ESP32-C3, which has GPIO0 to GPIO21"),
            (Chip::Esp32s3, 22..=25) => Some("does not exist on the ESP32-S3"),
            (Chip::Esp32s3, 26..=32) => Some("is wired to the SPI flash on ESP32-S3 modules"),
            (Chip::Esp32s3, 49..) => Some("does not exist on the ESP32-S3, which has GPIO0 to GPIO48"),
            _ => None,
        }
    }

    /// Returns the flash offset of the second-stage bootloader.
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
            .ok_or_else(|| CoreError::InvalidChip { value: truncate_for_message(text) })
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
    fn output_gpio_rules_per_chip() {
        let cases = [
            (Chip::Esp32, 5, true),
            (Chip::Esp32, 6, false),
            (Chip::Esp32, 33, true),
            (Chip::Esp32, 34, false),
            (Chip::Esp32, 45, false),
            (Chip::Esp32c3, 10, true),
            (Chip::Esp32c3, 12, false),
            (Chip::Esp32c3, 21, true),
            (Chip::Esp32c3, 22, false),
            (Chip::Esp32s3, 21, true),
            (Chip::Esp32s3, 23, false),
            (Chip::Esp32s3, 30, false),
            (Chip::Esp32s3, 48, true),
            (Chip::Esp32s3, 49, false),
        ];
        for (chip, gpio, usable) in cases {
            assert_eq!(chip.output_gpio_problem(gpio).is_none(), usable, "{chip} GPIO{gpio}");
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
