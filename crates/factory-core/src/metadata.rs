//! Hardware metadata: the JSON object attached to a registration.
//!
//! The tools understand three keys. `target` names the chip, `strips` lists the LED strips
//! to populate (`{index, gpio, enable_gpio?, leds?}`), and `sdkconfig` holds `CONFIG_*`
//! overrides for the firmware build. Every other key is kept exactly as given.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Chip, CoreError, truncate_for_message};

/// The largest metadata document of one registration, in bytes of JSON. Metadata travels in
/// every listing and is written into `sdkconfig`, so it is kept small.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The highest GPIO number of the supported chips (ESP32-S3 has GPIO0 to GPIO48).
const MAX_GPIO: u64 = 48;

/// Keys that carry a registration's identity. Metadata may not override them, because the
/// provisioning step writes them from the registry and a second source would contradict it.
const RESERVED_KEYS: [&str; 6] = [
    "CONFIG_UL_NODE_ID",
    "CONFIG_UL_OTA_MANIFEST_URL",
    "CONFIG_UL_OTA_BEARER_TOKEN",
    "CONFIG_UL_TARGET_CHIP",
    "CONFIG_UL_NODE_METADATA",
    "CONFIG_IDF_TARGET",
];

/// A validated metadata object, with the text it was parsed from.
#[derive(Clone, PartialEq)]
pub struct HardwareMetadata {
    text: String,
    value: Map<String, Value>,
}

/// One LED strip entry of the `strips` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strip {
    pub index: u32,
    pub gpio: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_gpio: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leds: Option<u32>,
}

impl HardwareMetadata {
    /// Parses and validates metadata that a person or a peer supplied.
    pub fn parse(text: &str) -> Result<HardwareMetadata, CoreError> {
        let value: Value =
            serde_json::from_str(text).map_err(|error| invalid(format!("not valid JSON ({error})")))?;
        Self::from_value_with_text(value, text.to_owned())
    }

    /// Validates a JSON value and keeps its compact text as the stored form.
    pub fn from_value(value: Value) -> Result<HardwareMetadata, CoreError> {
        let text = value.to_string();
        Self::from_value_with_text(value, text)
    }

    /// Reads metadata back from storage without the input checks, so that records written by
    /// older tools still load. Text that is not a JSON object is kept under the key `raw`.
    pub fn from_stored(text: &str) -> HardwareMetadata {
        let value = match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => Map::from_iter([("raw".to_owned(), other)]),
            Err(_) => Map::from_iter([("raw".to_owned(), Value::String(text.to_owned()))]),
        };
        HardwareMetadata { text: text.to_owned(), value }
    }

    fn from_value_with_text(value: Value, text: String) -> Result<HardwareMetadata, CoreError> {
        if text.len() > MAX_METADATA_BYTES {
            return Err(invalid(format!(
                "it is {} bytes of JSON, more than the limit of {MAX_METADATA_BYTES} bytes (16 KiB) per registration; keep only what the firmware and support staff need",
                text.len()
            )));
        }
        let Value::Object(map) = value else {
            return Err(invalid("expected a JSON object such as {\"target\": \"esp32c3\"}".to_owned()));
        };

        let metadata = HardwareMetadata { text, value: map };
        metadata.target()?;
        metadata.strips()?;
        metadata.sdkconfig_overrides()?;
        Ok(metadata)
    }

    /// Returns the text exactly as supplied, which is what the registry stores.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn as_object(&self) -> &Map<String, Value> {
        &self.value
    }

    /// Formats the metadata as compact JSON, the form written into `CONFIG_UL_NODE_METADATA`.
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(&self.value).expect("a JSON map always serializes")
    }

    pub fn target(&self) -> Result<Option<Chip>, CoreError> {
        match self.value.get("target") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => text
                .parse()
                .map(Some)
                .map_err(|_| invalid(format!("\"target\" is {text:?}; expected esp32, esp32c3 or esp32s3"))),
            Some(other) => {
                Err(invalid(format!("\"target\" is {other}; expected a string such as \"esp32c3\"")))
            }
        }
    }

    pub fn strips(&self) -> Result<Vec<Strip>, CoreError> {
        let Some(value) = self.value.get("strips") else {
            return Ok(Vec::new());
        };
        let strips: Vec<Strip> = serde_json::from_value(value.clone()).map_err(|error| {
            invalid(format!(
                "\"strips\" must be a list of {{\"index\", \"gpio\", \"enable_gpio\"?, \"leds\"?}} objects with non-negative integers ({error})"
            ))
        })?;

        for (position, strip) in strips.iter().enumerate() {
            let number = position + 1;
            check_gpio(number, "gpio", Some(strip.gpio))?;
            check_gpio(number, "enable_gpio", strip.enable_gpio)?;
            if strip.enable_gpio == Some(strip.gpio) {
                return Err(invalid(format!(
                    "strip {number} uses GPIO{} as both data and enable line",
                    strip.gpio
                )));
            }
            if strips[..position].iter().any(|earlier| earlier.index == strip.index) {
                return Err(invalid(format!("\"strips\" has index {} twice", strip.index)));
            }
            let earlier_pins =
                strips[..position].iter().flat_map(|earlier| [Some(earlier.gpio), earlier.enable_gpio]);
            for pin in earlier_pins.flatten() {
                if pin == strip.gpio || Some(pin) == strip.enable_gpio {
                    return Err(invalid(format!(
                        "strip {number} uses GPIO{pin}, which an earlier strip already uses"
                    )));
                }
            }
        }
        Ok(strips)
    }

    /// Checks that every strip pin can drive an output on `chip`.
    pub fn check_pins_for(&self, chip: Chip) -> Result<(), CoreError> {
        for (position, strip) in self.strips()?.iter().enumerate() {
            for (field, pin) in [("gpio", Some(strip.gpio)), ("enable_gpio", strip.enable_gpio)] {
                if let Some(problem) = pin.and_then(|pin| chip.output_gpio_problem(pin)) {
                    return Err(invalid(format!(
                        "strip {} has {field} {}, which {problem}; pick another pin",
                        position + 1,
                        pin.unwrap_or_default()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Returns the validated `sdkconfig` overrides, in the order given.
    pub fn sdkconfig_overrides(&self) -> Result<Vec<(ConfigKey, ConfigValue)>, CoreError> {
        let Some(value) = self.value.get("sdkconfig") else {
            return Ok(Vec::new());
        };
        let Value::Object(entries) = value else {
            return Err(invalid("\"sdkconfig\" must be an object of CONFIG_* keys and values".to_owned()));
        };

        entries
            .iter()
            .map(|(key, value)| {
                let key: ConfigKey = key.parse()?;
                if RESERVED_KEYS.contains(&key.as_str()) {
                    return Err(CoreError::InvalidConfigValue {
                        key: key.to_string(),
                        reason: "this key is written by provisioning from the registration and cannot be overridden in metadata".to_owned(),
                    });
                }
                let value = ConfigValue::from_json(&key, value)?;
                Ok((key, value))
            })
            .collect()
    }
}

fn check_gpio(strip_number: usize, field: &str, gpio: Option<u32>) -> Result<(), CoreError> {
    match gpio {
        Some(number) if u64::from(number) > MAX_GPIO => Err(invalid(format!(
            "strip {strip_number} has {field} {number}; GPIO numbers run from 0 to {MAX_GPIO}"
        ))),
        _ => Ok(()),
    }
}

fn invalid(reason: String) -> CoreError {
    CoreError::InvalidMetadata { reason }
}

impl fmt::Debug for HardwareMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HardwareMetadata({})", self.text)
    }
}

impl Serialize for HardwareMetadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HardwareMetadata {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        HardwareMetadata::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// An `sdkconfig` option name: `CONFIG_` followed by upper-case letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigKey(String);

impl ConfigKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ConfigKey {
    type Err = CoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.strip_prefix("CONFIG_").unwrap_or("");
        let valid = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(ConfigKey(text.to_owned()))
        } else {
            Err(CoreError::InvalidConfigKey { key: truncate_for_message(text) })
        }
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `sdkconfig` value of one of the Kconfig kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// `CONFIG_X=y`, or `# CONFIG_X is not set` for false.
    Bool(bool),
    Int(i64),
    /// Kept as written, with its `0x` prefix.
    Hex(String),
    /// Written quoted and escaped.
    String(String),
}

impl ConfigValue {
    /// Converts a JSON override value. Booleans and the strings `"y"`/`"n"` are bools,
    /// integers and strings of decimal digits are ints, strings starting with `0x` are hex,
    /// and every other string is a string.
    pub fn from_json(key: &ConfigKey, value: &Value) -> Result<ConfigValue, CoreError> {
        let reject =
            |reason: &str| CoreError::InvalidConfigValue { key: key.to_string(), reason: reason.to_owned() };

        match value {
            Value::Bool(flag) => Ok(ConfigValue::Bool(*flag)),
            Value::Number(number) => number
                .as_i64()
                .map(ConfigValue::Int)
                .ok_or_else(|| reject("expected a whole number that fits in 64 bits")),
            Value::String(text) => ConfigValue::from_text(text).map_err(|reason| reject(&reason)),
            _ => Err(reject("expected y/n, a boolean, an integer, a 0x hex number or a string")),
        }
    }

    /// Classifies a value typed as text, as in a form or on the command line.
    pub fn from_text(text: &str) -> Result<ConfigValue, String> {
        if text == "y" {
            return Ok(ConfigValue::Bool(true));
        }
        if text == "n" {
            return Ok(ConfigValue::Bool(false));
        }
        if let Some(digits) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{text:?} starts with 0x but is not a hex number"));
            }
            return Ok(ConfigValue::Hex(text.to_owned()));
        }
        let digits = text.strip_prefix('-').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(ConfigValue::Int)
                .map_err(|_| format!("{text:?} is not a 64-bit integer"));
        }
        if let Some(bad) = text.chars().find(|c| c.is_control()) {
            return Err(format!("strings may not contain control characters, found {:?}", bad));
        }
        Ok(ConfigValue::String(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_keeps_unknown_keys_and_text() {
        let text = r#"{"target":"esp32c3","vendor":{"batch":7},"strips":[{"index":0,"gpio":5}]}"#;
        let metadata = HardwareMetadata::parse(text).unwrap();
        assert_eq!(metadata.text(), text);
        assert_eq!(metadata.target(), Ok(Some(Chip::Esp32c3)));
        assert_eq!(metadata.as_object()["vendor"], json!({"batch": 7}));
        assert_eq!(metadata.to_compact_json(), text);
    }

    #[test]
    fn metadata_rejects_invalid_documents() {
        let cases = [
            ("[1,2]", "JSON object"),
            ("{", "not valid JSON"),
            (r#"{"target":"esp8266"}"#, "\"target\""),
            (r#"{"strips":[{"index":0}]}"#, "\"strips\""),
            (r#"{"strips":[{"index":0,"gpio":99}]}"#, "gpio 99"),
            (r#"{"strips":[{"index":1,"gpio":2},{"index":1,"gpio":3}]}"#, "index 1 twice"),
            (r#"{"strips":[{"index":0,"gpio":4,"enable_gpio":4}]}"#, "both data and enable"),
            (
                r#"{"strips":[{"index":0,"gpio":4},{"index":1,"gpio":5,"enable_gpio":4}]}"#,
                "strip 2 uses GPIO4",
            ),
            (r#"{"sdkconfig":{"LOG_LEVEL":"y"}}"#, "LOG_LEVEL"),
            (r#"{"sdkconfig":{"CONFIG_UL_NODE_ID":"x"}}"#, "cannot be overridden"),
            (r#"{"sdkconfig":{"CONFIG_A":"a\nb"}}"#, "control characters"),
            (r#"{"sdkconfig":{"CONFIG_A":[1]}}"#, "CONFIG_A"),
            (r#"{"sdkconfig":{"CONFIG_A":"0xZZ"}}"#, "hex"),
        ];
        for (text, expected) in cases {
            let error = HardwareMetadata::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn metadata_size_is_capped() {
        let fits = format!(r#"{{"note":"{}"}}"#, "x".repeat(MAX_METADATA_BYTES - 11));
        assert_eq!(fits.len(), MAX_METADATA_BYTES);
        assert!(HardwareMetadata::parse(&fits).is_ok());

        let too_big = format!(r#"{{"note":"{}"}}"#, "x".repeat(MAX_METADATA_BYTES));
        let error = HardwareMetadata::parse(&too_big).unwrap_err().to_string();
        assert!(error.contains("16384 bytes"), "{error}");
        let error = HardwareMetadata::from_value(serde_json::from_str(&too_big).unwrap()).unwrap_err();
        assert!(error.to_string().contains("16 KiB"), "{error}");
        assert_eq!(
            HardwareMetadata::from_stored(&too_big).text().len(),
            too_big.len(),
            "stored data still loads"
        );
    }

    #[test]
    fn overrides_are_classified() {
        let metadata = HardwareMetadata::parse(
            r#"{"sdkconfig":{"CONFIG_A":"y","CONFIG_B":false,"CONFIG_C":42,"CONFIG_D":"0x1F","CONFIG_E":"text \"q\"","CONFIG_F":"-7"}}"#,
        )
        .unwrap();
        let values: Vec<ConfigValue> =
            metadata.sdkconfig_overrides().unwrap().into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                ConfigValue::Bool(true),
                ConfigValue::Bool(false),
                ConfigValue::Int(42),
                ConfigValue::Hex("0x1F".to_owned()),
                ConfigValue::String("text \"q\"".to_owned()),
                ConfigValue::Int(-7),
            ]
        );
    }

    #[test]
    fn pins_checked_per_chip() {
        let metadata =
            HardwareMetadata::parse(r#"{"strips":[{"index":0,"gpio":5,"enable_gpio":22}]}"#).unwrap();
        assert!(metadata.check_pins_for(Chip::Esp32s3).is_err());
        assert!(metadata.check_pins_for(Chip::Esp32).is_ok());
        let error = metadata.check_pins_for(Chip::Esp32c3).unwrap_err().to_string();
        assert!(error.contains("strip 1 has enable_gpio 22"), "{error}");
        assert!(error.contains("GPIO0 to GPIO21"), "{error}");
    }

    #[test]
    fn config_key_checks_name() {
        assert!("CONFIG_UL_X1".parse::<ConfigKey>().is_ok());
        for text in ["CONFIG_", "config_x", "CONFIG_a", "CONFIG_X-Y", "X"] {
            assert!(text.parse::<ConfigKey>().is_err(), "{text}");
        }
    }

    #[test]
    fn stored_metadata_never_fails() {
        assert_eq!(HardwareMetadata::from_stored("not json").as_object()["raw"], json!("not json"));
        assert_eq!(HardwareMetadata::from_stored("[1]").as_object()["raw"], json!([1]));
    }
}
