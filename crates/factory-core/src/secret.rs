//! OTA bearer tokens, operator API tokens and the SHA-256 digests the registry stores
//! instead of them.
//!
//! A token's `Debug` and `Display` print a redacted form, so a token that ends up in a log
//! line, a panic message or an error chain does not leak. The plaintext is reachable only
//! through `expose_secret`, which makes each place that lets a secret leave the process
//! easy to find.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{CoreError, truncate_for_message};

/// Prefix of every OTA token. A recognisable prefix lets secret scanners find leaked tokens.
pub const OTA_TOKEN_PREFIX: &str = "ulota_";

/// Prefix of every operator API token of the registry server.
pub const OPERATOR_TOKEN_PREFIX: &str = "ulop_";

/// Random bytes per token: 256 bits.
const TOKEN_BYTES: usize = 32;

/// Length of 32 bytes in unpadded URL-safe base64.
const TOKEN_BODY_LENGTH: usize = 43;

macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident, $prefix:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Draws 256 bits from the OS-seeded CSPRNG.
            pub fn generate() -> Self {
                let mut bytes = [0u8; TOKEN_BYTES];
                rand::rng().fill_bytes(&mut bytes);
                Self(format!("{}{}", $prefix, URL_SAFE_NO_PAD.encode(bytes)))
            }

            /// Checks the shape of a token that a person or a peer supplied.
            pub fn parse(text: &str) -> Result<Self, CoreError> {
                let body = text.strip_prefix($prefix).unwrap_or("");
                let valid = body.len() == TOKEN_BODY_LENGTH
                    && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if valid {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(CoreError::InvalidOtaToken { prefix: $prefix })
                }
            }

            /// Wraps a token minted by an older system, which used no prefix. It must still be
            /// non-empty printable ASCII without spaces, because it ends up in a quoted
            /// `sdkconfig` string and an HTTP header.
            pub fn from_legacy(text: &str) -> Result<Self, CoreError> {
                let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
                if valid {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(CoreError::InvalidOtaToken { prefix: $prefix })
                }
            }

            /// Returns the plaintext. Call it only where the secret is meant to leave the process.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            pub fn hash(&self) -> TokenHash {
                TokenHash::of(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}…redacted)", stringify!($name), $prefix)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}…redacted", $prefix)
            }
        }

        /// Serializes the plaintext: only the one-time mint and rotate responses carry it.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

secret_token!(
    /// The bearer token a node presents to download its firmware updates.
    OtaToken,
    OTA_TOKEN_PREFIX
);

secret_token!(
    /// The API token an operator presents to the registry server.
    OperatorToken,
    OPERATOR_TOKEN_PREFIX
);

/// The SHA-256 digest of a token, as 64 lowercase hex digits: what the registry stores.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes any token text. Legacy tokens from older systems have no prefix, so this takes
    /// plain text rather than a parsed token.
    pub fn of(token_text: &str) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(token_text.as_bytes())))
    }

    pub fn parse(text: &str) -> Result<TokenHash, CoreError> {
        let valid = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(TokenHash(text.to_owned()))
        } else {
            Err(CoreError::InvalidTokenHash { value: truncate_for_message(text) })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares the digest of `token_text` with this one in constant time, so response
    /// timing reveals nothing about how many leading digits matched.
    pub fn matches(&self, token_text: &str) -> bool {
        let candidate = TokenHash::of(token_text);
        bool::from(self.0.as_bytes().ct_eq(candidate.0.as_bytes()))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.0)
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TokenHash::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ota_token_has_prefix_and_parses_back() {
        let token = OtaToken::generate();
        assert!(token.expose_secret().starts_with(OTA_TOKEN_PREFIX));
        assert_eq!(token.expose_secret().len(), OTA_TOKEN_PREFIX.len() + TOKEN_BODY_LENGTH);
        assert_eq!(OtaToken::parse(token.expose_secret()), Ok(token));
    }

    #[test]
    fn ota_token_debug_and_display_are_redacted() {
        let token = OtaToken::generate();
        let body = &token.expose_secret()[OTA_TOKEN_PREFIX.len()..];
        for printed in [format!("{token:?}"), format!("{token}"), format!("{:?}", Some(&token))] {
            assert!(!printed.contains(body), "{printed}");
            assert!(printed.contains("redacted"), "{printed}");
        }
    }

    #[test]
    fn ota_token_rejects_bad_shapes() {
        let operator = OperatorToken::generate();
        for text in ["", "ulota_", "ulota_short", "abc", operator.expose_secret()] {
            assert!(OtaToken::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn token_hash_matches_only_its_token() {
        let token = OtaToken::generate();
        let hash = token.hash();
        assert_eq!(hash.as_str().len(), 64);
        assert!(hash.matches(token.expose_secret()));
        assert!(!hash.matches(OtaToken::generate().expose_secret()));
        assert!(!hash.as_str().contains(&token.expose_secret()[6..]));
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        // SHA-256 of the empty string, a published test vector.
        assert_eq!(
            TokenHash::of("").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
