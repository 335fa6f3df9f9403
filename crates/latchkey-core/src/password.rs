//! Password policy and hashing.
//!
//! Hashing is argon2id at OWASP's parameters (m = 19456 KiB, t = 2, p = 1).
//! It is CPU- and memory-heavy on purpose, so callers run it off their async
//! threads and bound how many run at once; this module only computes.
//!
//! A hash works in a [`Scratch`]: argon2id's 19 MiB of blocks, which a
//! caller that hashes often keeps and hands back in. Freshly allocated,
//! those blocks are 4,864 pages the kernel must fault in and zero — about
//! as much CPU as the hash itself — so reusing one doubles the logins a
//! core can check. The argon2 crate does the hashing
//! (`hash_password_into_with_memory`); only the PHC string around it is
//! put together here, as the crate's own `PasswordHasher` would.

use std::fmt;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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
        Self::compute_in(password, salt, &mut Scratch::new())
    }

    /// [`compute`](Self::compute), working in `scratch`.
    pub fn compute_in(password: &Password, salt: [u8; 16], scratch: &mut Scratch) -> Self {
        let params = Params::DEFAULT;
        let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
        let phc = scratch
            .with_blocks(params.block_count(), |blocks| {
                hasher(params.clone()).hash_password_into_with_memory(
                    password.as_bytes(),
                    &salt,
                    &mut out,
                    blocks,
                )
            })
            .map_err(drop)
            .and_then(|()| {
                Ok(argon2::PasswordHash {
                    algorithm: Algorithm::Argon2id.ident(),
                    version: Some(Version::V0x13.into()),
                    params: ParamsString::try_from(&params).map_err(drop)?,
                    salt: Some(Salt::new(&salt).map_err(drop)?),
                    hash: Some(Output::new(&out).map_err(drop)?),
                })
            });
        match phc {
            Ok(phc) => Self(phc.to_string()),
            // Unreachable with fixed, valid parameters and a 16-byte salt;
            // an unusable hash that verifies nothing is the safe answer.
            Err(()) => Self(String::from("!invalid")),
        }
    }

    /// Verifies in constant time with respect to the hash output. A stored
    /// hash that does not parse verifies nothing.
    pub fn verify(&self, password: &Password) -> bool {
        self.verify_in(password, &mut Scratch::new())
    }

    /// [`verify`](Self::verify), working in `scratch`. The stored hash's
    /// own algorithm, version and parameters are used (a hash made with
    /// older ones still verifies, and `needs_rehash` says so).
    pub fn verify_in(&self, password: &Password, scratch: &mut Scratch) -> bool {
        let Ok(phc) = argon2::PasswordHash::new(&self.0) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return false;
        };
        let algorithm = Algorithm::try_from(phc.algorithm.as_str());
        let version = Version::try_from(phc.version.unwrap_or(Version::default().into()));
        let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&phc))
        else {
            return false;
        };
        let mut out = vec![0_u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let hashed = scratch.with_blocks(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks)
        });
        // `Output`'s equality is constant-time.
        hashed.is_ok() && Output::new(&out).is_ok_and(|computed| &computed == expected)
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

fn hasher(params: Params) -> Argon2<'static> {
    // Params::DEFAULT is m=19456 KiB, t=2, p=1: OWASP's minimum for argon2id.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The memory argon2id works in (19 MiB at today's parameters), kept
/// between hashes by a caller that hashes often. Its contents after a
/// hash are that hash's working state: keep a `Scratch` inside the
/// process, never log or send it. Every hash overwrites all the blocks it
/// uses before reading them, so a reused scratch needs no clearing.
#[derive(Default)]
pub struct Scratch(Vec<Block>);

impl Scratch {
    /// No memory yet: the first hash allocates it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held.
    pub fn len_bytes(&self) -> usize {
        self.0.len() * Block::SIZE
    }

    /// Runs `hash` in `count` blocks: the ones held, grown to today's
    /// parameters at most. A stored hash that asks for more (older or
    /// foreign parameters) gets memory of its own for that one hash, so
    /// no stored value can make a kept scratch grow without bound.
    fn with_blocks<R>(&mut self, count: usize, hash: impl FnOnce(&mut [Block]) -> R) -> R {
        if count > Params::DEFAULT.block_count() {
            return hash(&mut vec![Block::new(); count]);
        }
        if self.0.len() < count {
            self.0.resize(count, Block::new());
        }
        hash(&mut self.0[..count])
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scratch({} bytes)", self.len_bytes())
    }
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

    /// What the argon2 crate's own `PasswordHasher` makes of `password`
    /// and `salt` at `params` (the path hashes took before `Scratch`).
    fn crates_own(password: &str, salt: [u8; 16], params: Params) -> String {
        use argon2::password_hash::PasswordHasher as _;
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_else(|e| panic!("argon2: {e}"))
    }

    #[test]
    fn a_hash_made_in_a_reused_scratch_is_the_argon2_crates_own_phc_string() {
        let mut scratch = Scratch::new();
        for (password, salt) in [
            ("correct horse battery", [3; 16]),
            ("an other one", [4; 16]),
        ] {
            let ours =
                PasswordHash::compute_in(&Password::presented(password.into()), salt, &mut scratch);
            assert_eq!(ours.as_str(), crates_own(password, salt, Params::DEFAULT));
        }
        assert_eq!(scratch.len_bytes(), 19456 * 1024);
    }

    #[test]
    fn a_reused_scratch_verifies_hashes_of_other_parameters_and_refuses_wrong_passwords() {
        let mut scratch = Scratch::new();
        let pw = Password::presented("correct horse battery".into());
        // Warm the scratch with another password's hash: what it holds
        // must not change the next answer.
        let _ = PasswordHash::compute_in(
            &Password::presented("warm".repeat(3)),
            [5; 16],
            &mut scratch,
        );
        let smaller = Params::new(8192, 1, 1, None).unwrap_or_else(|e| panic!("{e}"));
        let larger = Params::new(32768, 1, 1, None).unwrap_or_else(|e| panic!("{e}"));
        for params in [Params::DEFAULT, smaller, larger] {
            let stored =
                PasswordHash::from_stored(crates_own("correct horse battery", [6; 16], params));
            assert!(stored.verify_in(&pw, &mut scratch), "{}", stored.as_str());
            assert!(!stored.verify_in(
                &Password::presented("correct horse batterz".into()),
                &mut scratch
            ));
        }
        // The larger hash had memory of its own: the kept scratch did not grow.
        assert_eq!(scratch.len_bytes(), 19456 * 1024);
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
