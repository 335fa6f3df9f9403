//! Identifiers. Each is a newtype with a private field and a `parse` (or
//! `from_random`) constructor, so a value of the type is always valid.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("username must be 1 to {max} characters", max = Username::MAX_LEN)]
    UsernameLength,
    #[error("username may contain only letters, digits and . _ - @ +")]
    UsernameCharacters,
    #[error("not a valid identifier")]
    Malformed,
}

/// A user's stable identifier (a random UUID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(uuid::Uuid);

impl UserId {
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        uuid::Uuid::try_parse(s)
            .map(Self)
            .map_err(|_| ParseError::Malformed)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A login name: 1–64 ASCII letters, digits or `._-@+`, case-insensitive and
/// kept in lower case so that `Alice` and `alice` are one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(ParseError::UsernameLength);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@+".contains(c);
        if !s.chars().all(allowed) {
            return Err(ParseError::UsernameCharacters);
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The public handle of a session: shown in listings and used to end a
/// session, never usable as a credential.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionHandle(String);

impl SessionHandle {
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        decode_exact::<16>(s).map(|_| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The 256-bit secret a browser holds in its session cookie. It is never
/// stored: the store keeps only its [`SessionSecretHash`]. `Debug` is
/// redacted so that it cannot reach a log by accident.
#[derive(Clone)]
pub struct SessionSecret([u8; 32]);

impl SessionSecret {
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the cookie form: exactly 43 characters of unpadded base64url.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        decode_exact::<32>(s).map(Self)
    }

    /// The cookie form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn hash(&self) -> SessionSecretHash {
        SessionSecretHash(sha256(&self.0))
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

/// SHA-256 of a session secret: what the store keeps and looks up by. A
/// plain hash suffices because the secret is 256 random bits (nothing to
/// guess), and it means a leaked database holds no usable session.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionSecretHash([u8; 32]);

impl SessionSecretHash {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Equality in constant time (for callers that compare hashes in memory).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SessionSecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecretHash(..)")
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Decodes unpadded base64url that must be exactly `N` bytes long, and in
/// canonical form (so one secret has exactly one spelling).
fn decode_exact<const N: usize>(s: &str) -> Result<[u8; N], ParseError> {
    if s.len() != (N * 4).div_ceil(3) {
        return Err(ParseError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| ParseError::Malformed)?;
    let out: [u8; N] = bytes.try_into().map_err(|_| ParseError::Malformed)?;
    if URL_SAFE_NO_PAD.encode(out) != s {
        return Err(ParseError::Malformed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_are_case_insensitive() {
        assert_eq!(
            Username::parse("Alice.Smith@Example.com").map(|u| u.to_string()),
            Ok("alice.smith@example.com".to_owned())
        );
    }

    #[test]
    fn usernames_refuse_empty_long_and_odd_characters() {
        assert_eq!(Username::parse(""), Err(ParseError::UsernameLength));
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(ParseError::UsernameLength)
        );
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        for bad in ["a b", "a\0b", "a/b", "ä", "a\nb", "<script>"] {
            assert_eq!(
                Username::parse(bad),
                Err(ParseError::UsernameCharacters),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn session_secret_round_trips_and_debug_is_redacted() {
        let s = SessionSecret::from_random([7; 32]);
        let encoded = s.encode();
        assert_eq!(encoded.len(), 43);
        let back = SessionSecret::parse(&encoded).map(|b| b.hash());
        assert!(back.is_ok_and(|h| h.ct_eq(&s.hash())));
        assert_eq!(format!("{s:?}"), "SessionSecret(..)");
        assert!(!format!("{:?}", s.hash()).contains('7'));
    }

    #[test]
    fn session_secret_refuses_non_canonical_forms() {
        let encoded = SessionSecret::from_random([0xff; 32]).encode();
        // Same bytes with padding, with a trailing character, or truncated.
        for bad in [
            format!("{encoded}="),
            format!("{encoded}A"),
            encoded[..42].to_owned(),
            encoded.replace('_', "/"),
        ] {
            assert!(SessionSecret::parse(&bad).is_err(), "{bad}");
        }
        // The last character carries 4 spare bits; a non-zero spare bit is
        // another spelling of the same bytes and must be refused.
        let mut tweaked = encoded.clone();
        tweaked.pop();
        tweaked.push('9');
        assert!(SessionSecret::parse(&tweaked).is_err());
    }

    #[test]
    fn hash_is_sha256_of_the_secret() {
        // SHA-256 of 32 zero bytes.
        let h = SessionSecret::from_random([0; 32]).hash();
        let hex: String = h.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }

    proptest! {
        #[test]
        fn any_random_secret_round_trips(bytes in any::<[u8; 32]>()) {
            let s = SessionSecret::from_random(bytes);
            let parsed = SessionSecret::parse(&s.encode()).map(|p| p.hash());
            prop_assert!(parsed.is_ok_and(|h| h.ct_eq(&s.hash())));
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = SessionSecret::parse(&s);
            let _ = SessionHandle::parse(&s);
            let _ = Username::parse(&s);
            let _ = UserId::parse(&s);
        }
    }
}
