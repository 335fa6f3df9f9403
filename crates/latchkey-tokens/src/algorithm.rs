//! The signature algorithms latchkey supports, and key identifiers.
//!
//! Only four JWS algorithms exist here (RFC 7518 / RFC 8037 names, which are
//! case-sensitive): `EdDSA` (Ed25519, the default), `ES256` (P-256),
//! `RS256` (RSA PKCS#1 v1.5, 2048-bit keys and up) and `HS256`. Anything
//! else, `none` included, cannot be named by a key and so can never verify.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::KeyError;

/// A JWS signature algorithm latchkey can sign and verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Ed25519 signatures (RFC 8037). The default.
    EdDSA,
    /// ECDSA with P-256 and SHA-256, signatures as fixed-width `r || s`.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256; keys are 2048 bits or more.
    RS256,
    /// HMAC-SHA-256 with a 32-byte (or longer) shared secret.
    HS256,
}

impl Algorithm {
    /// All supported algorithms, in order of preference.
    pub const ALL: [Algorithm; 4] = [Self::EdDSA, Self::ES256, Self::RS256, Self::HS256];

    /// Parses the exact JOSE name (`"EdDSA"`, `"ES256"`, `"RS256"`, `"HS256"`).
    ///
    /// Names are case-sensitive as RFC 7515 requires; `none` and every other
    /// name is [`KeyError::UnsupportedAlgorithm`].
    pub fn parse(name: &str) -> Result<Self, KeyError> {
        match name {
            "EdDSA" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "HS256" => Ok(Self::HS256),
            _ => Err(KeyError::UnsupportedAlgorithm),
        }
    }

    /// The JOSE name, as written in `alg`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
        }
    }

    /// Whether the key is a shared secret (and so must never be published).
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::HS256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A key identifier: 1 to 64 characters from `[A-Za-z0-9_-]`.
///
/// The `kid` of an incoming token is attacker-chosen and is used as a lookup
/// key, and latchkey's store may use it in paths or log lines; restricting
/// it to the base64url alphabet rules out traversal (`../`), separators,
/// control characters and oversized values before any lookup happens.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(String);

impl Kid {
    /// Longest accepted `kid`, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Accepts `[A-Za-z0-9_-]{1,64}` and nothing else.
    pub fn parse(value: &str) -> Result<Self, KeyError> {
        if Self::is_valid(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(KeyError::InvalidKid)
        }
    }

    /// A fresh random `kid`: 6 bytes from the OS random source, base64url
    /// (8 characters). A key set holds a handful of keys, and a new `kid`
    /// that is already taken is drawn again (`latchkey-auth`'s keyring), so
    /// 48 bits are plenty; every token carries it, so it is kept short.
    /// Longer kids of keys made before stay valid ([`Kid::parse`]).
    pub fn random() -> Result<Self, KeyError> {
        let mut bytes = [0u8; 6];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| KeyError::Random)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_valid(value: &str) -> bool {
        !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({})", self.0)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Kid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Kid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::parse(alg.as_str()).ok(), Some(alg));
        }
        for bad in ["none", "eddsa", "hs256", "HS512", "PS256", ""] {
            assert!(Algorithm::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kid_accepts_only_the_base64url_alphabet_up_to_64_chars() {
        for good in ["a", "key-2026_01", &"k".repeat(64)] {
            assert!(Kid::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            "a.b",
            "a b",
            "é",
            "k\0",
            &"k".repeat(65),
        ] {
            assert!(Kid::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn random_kids_are_valid_and_distinct() {
        let (a, b) = (Kid::random(), Kid::random());
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("OS random source failed");
        };
        assert_ne!(a, b);
        assert!(Kid::is_valid(a.as_str()));
    }
}
