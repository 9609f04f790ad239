//! Conversions between the project's `Chip` and espflash's, which covers many more chips.

use espflash::target::Chip as EspflashChip;
use factory_core::Chip;

pub(crate) fn to_espflash_chip(chip: Chip) -> EspflashChip {
    match chip {
        Chip::Esp32 => EspflashChip::Esp32,
        Chip::Esp32c3 => EspflashChip::Esp32c3,
        Chip::Esp32s3 => EspflashChip::Esp32s3,
    }
}

/// Returns `None` for the chips espflash supports and Node Factory does not provision.
pub(crate) fn from_espflash_chip(chip: EspflashChip) -> Option<Chip> {
    match chip {
        EspflashChip::Esp32 => Some(Chip::Esp32),
        EspflashChip::Esp32c3 => Some(Chip::Esp32c3),
        EspflashChip::Esp32s3 => Some(Chip::Esp32s3),
        _ => None,
    }
}

/// Returns the marketing name of any chip espflash detects: "esp32c6" becomes "ESP32-C6".
pub(crate) fn espflash_chip_display_name(chip: EspflashChip) -> String {
    if let Some(ours) = from_espflash_chip(chip) {
        return ours.display_name().to_owned();
    }
    let name = chip.to_string();
    match name.strip_prefix("esp32") {
        Some(suffix) if !suffix.is_empty() => format!("ESP32-{}", suffix.to_ascii_uppercase()),
        _ => name.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chips_round_trip_through_espflash() {
        for chip in Chip::ALL {
            assert_eq!(from_espflash_chip(to_espflash_chip(chip)), Some(chip));
        }
        assert_eq!(from_espflash_chip(EspflashChip::Esp32c6), None);
    }

    #[test]
    fn display_names_cover_foreign_chips() {
        assert_eq!(espflash_chip_display_name(EspflashChip::Esp32c3), "ESP32-C3");
        assert_eq!(espflash_chip_display_name(EspflashChip::Esp32s2), "ESP32-S2");
        assert_eq!(espflash_chip_display_name(EspflashChip::Esp32c61), "ESP32-C61");
        assert_eq!(espflash_chip_display_name(EspflashChip::Esp32), "ESP32");
    }
}
