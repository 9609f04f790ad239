//! Node IDs and download IDs: the two public identifiers of a registration.
//!
//! They have different lengths and alphabets on purpose (16 base-36 characters against
//! 32 hex digits), so a parser never takes one for the other.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CoreError, truncate_for_message};

const NODE_ID_LENGTH: usize = 16;
const NODE_ID_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The identifier a node uses for MQTT and telemetry: 16 characters of `[a-z0-9]`,
/// which carries 16 × log2(36) ≈ 82.7 bits of randomness.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

impl NodeId {
    /// Draws a new node ID from the thread-local CSPRNG (ChaCha seeded by the OS).
    pub fn generate() -> NodeId {
        let mut rng = rand::rng();
        let text = (0..NODE_ID_LENGTH)
            .map(|_| NODE_ID_ALPHABET[rng.random_range(0..NODE_ID_ALPHABET.len())] as char)
            .collect();
        NodeId(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeId {
    type Err = CoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = text.len() == NODE_ID_LENGTH
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(NodeId(text.to_owned()))
        } else {
            Err(CoreError::InvalidNodeId { value: truncate_for_message(text) })
        }
    }
}

/// The alias in a node's firmware URL, `<public URL>/firmware/<download ID>/manifest.json`.
/// It can be rotated without changing the node ID. A UUID v4 in simple form (32 hex digits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DownloadId(String);

impl DownloadId {
    pub fn generate() -> DownloadId {
        DownloadId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DownloadId {
    type Err = CoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let is_simple_hex = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let is_v4 =
            is_simple_hex && uuid::Uuid::parse_str(text).is_ok_and(|uuid| uuid.get_version_num() == 4);
        if is_v4 {
            Ok(DownloadId(text.to_owned()))
        } else {
            Err(CoreError::InvalidDownloadId { value: truncate_for_message(text) })
        }
    }
}

macro_rules! text_identifier {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

text_identifier!(NodeId);
text_identifier!(DownloadId);

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn node_id_generated_is_valid_and_distinct() {
        let ids: HashSet<NodeId> = (0..1000).map(|_| NodeId::generate()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.as_str().parse::<NodeId>().as_ref(), Ok(id));
        }
    }

    #[test]
    fn node_id_rejects_bad_text() {
        for text in
            ["", "abc", "ABCDEFGHIJKLMNOP", "abcd-efgh-ijkl-m", "abcdefghijklmnopq", "../../etc/passwd"]
        {
            assert!(text.parse::<NodeId>().is_err(), "{text}");
        }
    }

    #[test]
    fn download_id_generated_is_simple_uuid_v4() {
        let id = DownloadId::generate();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(id.as_str().parse::<DownloadId>().as_ref(), Ok(&id));
    }

    #[test]
    fn download_id_rejects_other_forms() {
        let hyphenated = uuid::Uuid::new_v4().hyphenated().to_string();
        let upper = DownloadId::generate().as_str().to_uppercase();
        let version_one = "6ba7b8109dad11d180b400c04fd430c8";
        for text in [hyphenated.as_str(), upper.as_str(), version_one, "..", ""] {
            assert!(text.parse::<DownloadId>().is_err(), "{text}");
        }
    }

    #[test]
    fn identifiers_are_never_confused() {
        let node_id = NodeId::generate();
        let download_id = DownloadId::generate();
        assert!(node_id.as_str().parse::<DownloadId>().is_err());
        assert!(download_id.as_str().parse::<NodeId>().is_err());
    }
}
