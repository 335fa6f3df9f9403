//! Password policy and hashing.
//!
//! Hashing is argon2id at OWASP's parameters (m = 19456 KiB, t = 2, p = 1).
//! It is CPU- and memory-heavy on purpose, so callers run it off their async
//! threads and bound how many run at once; this module only computes.

use std::fmt;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::Username;

/// A password the user typed. `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {min} characters", min = Password::MIN_CHARS)]
    TooShort,
    #[error("password must be at most {max} characters", max = Password::MAX_CHARS)]
    TooLong,
    #[error("password must not contain NUL characters")]
    ContainsNul,
    #[error("password must not be the username")]
    EqualsUsername,
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 256;

    /// Wraps a password presented at login. No policy is applied (a login
    /// with a password that breaks today's policy simply fails to verify),
    /// and nothing is ever truncated.
    pub fn presented(s: String) -> Self {
        Self(s)
    }

    /// Applies the policy for a *new* password: 8–256 characters (counted
    /// as Unicode scalar values, not bytes), no NUL, not the username.
    pub fn new_for(s: String, username: &Username) -> Result<Self, PasswordError> {
        let chars = s.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        if s.contains('\0') {
            return Err(PasswordError::ContainsNul);
        }
        if s.eq_ignore_ascii_case(username.as_str()) {
            return Err(PasswordError::EqualsUsername);
        }
        Ok(Self(s))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A PHC-format argon2id hash string, as stored. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read back from the store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hashes `password` with argon2id at OWASP parameters and the given
    /// 16-byte salt (from the OS random source, supplied by the caller).
    pub fn compute(password: &Password, salt: [u8; 16]) -> Self {
        let hashed = hasher().hash_password_with_salt(password.as_bytes(), &salt);
        match hashed {
            Ok(h) => Self(h.to_string()),
            // Unreachable with fixed, valid parameters and a 16-byte salt;
            // an unusable hash that verifies nothing is the safe answer.
            Err(_) => Self(String::from("!invalid")),
        }
    }

    /// Verifies in constant time with respect to the hash output. A stored
    /// hash that does not parse verifies nothing.
    pub fn verify(&self, password: &Password) -> bool {
        hasher()
            .verify_password(password.as_bytes(), self.0.as_str())
            .is_ok()
    }

    /// Whether the hash was made with other parameters than today's, so it
    /// should be recomputed at the next successful login.
    pub fn needs_rehash(&self) -> bool {
        !self.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

fn hasher() -> Argon2<'static> {
    // Params::DEFAULT is m=19456 KiB, t=2, p=1: OWASP's minimum for argon2id.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Username {
        Username::parse("alice").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn policy_counts_characters_not_bytes() {
        // 8 two-byte characters pass; 7 do not even though they are 14 bytes.
        assert!(Password::new_for("éééééééé".into(), &user()).is_ok());
        assert_eq!(
            Password::new_for("ééééééé".into(), &user()).map(|_| ()),
            Err(PasswordError::TooShort)
        );
        assert!(Password::new_for("é".repeat(256), &user()).is_ok());
        assert_eq!(
            Password::new_for("é".repeat(257), &user()).map(|_| ()),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn policy_refuses_nul_and_the_username() {
        assert_eq!(
            Password::new_for("abc\0defgh".into(), &user()).map(|_| ()),
            Err(PasswordError::ContainsNul)
        );
        let u = Username::parse("correcthorse").unwrap_or_else(|_| unreachable!());
        assert_eq!(
            Password::new_for("CorrectHorse".into(), &u).map(|_| ()),
            Err(PasswordError::EqualsUsername)
        );
    }

    #[test]
    fn hash_is_argon2id_at_owasp_parameters_and_verifies() {
        let pw = Password::presented("correct horse battery".into());
        let h = PasswordHash::compute(&pw, [1; 16]);
        assert!(h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!h.needs_rehash());
        assert!(h.verify(&pw));
        assert!(!h.verify(&Password::presented("correct horse battery ".into())));
        assert_eq!(format!("{h:?}"), "PasswordHash(..)");
        assert_eq!(format!("{pw:?}"), "Password(..)");
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        // 200 characters, differing only in the last one.
        let base = "x".repeat(199);
        let pw = Password::presented(format!("{base}a"));
        let h = PasswordHash::compute(&pw, [2; 16]);
        assert!(h.verify(&pw));
        assert!(!h.verify(&Password::presented(format!("{base}b"))));
        assert!(!h.verify(&Password::presented(base)));
    }

    #[test]
    fn garbage_stored_hash_verifies_nothing() {
        let h = PasswordHash::from_stored("not a hash".into());
        assert!(!h.verify(&Password::presented("anything at all".into())));
        assert!(h.needs_rehash());
    }
}
