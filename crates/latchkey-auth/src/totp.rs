//! TOTP (RFC 6238) with `totp-rs`: HMAC-SHA-1, 6 digits, 30 s steps, one
//! step of clock skew either way. [`check`] returns the matched step so the
//! store can accept each step once (`latchkey_store::Proof::TotpStep`).
//!
//! Secrets are 160 random bits (RFC 4226's recommendation), sealed at rest
//! with the master key exactly as signing keys are (AES-256-GCM,
//! `latchkey_tokens::seal`), bound to their user (`totp:<user id>` as the
//! associated data) so a sealed secret moved to another row fails to open.

use std::sync::Arc;

use latchkey_core::{Timestamp, UserId};
use latchkey_store::TotpFactor;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::error::AuthError;

/// Length of a TOTP secret in bytes (160 bits).
pub const SECRET_LEN: usize = 20;
/// Seconds per step.
pub const STEP_SECS: u64 = 30;

/// The master key that seals TOTP secrets at rest (the one that seals
/// signing keys). Never printed.
#[derive(Clone)]
pub struct SealingKey(Arc<Zeroizing<[u8; 32]>>);

impl SealingKey {
    pub fn new(key: Zeroizing<[u8; 32]>) -> Self {
        Self(Arc::new(key))
    }

    /// `plain` sealed (AES-256-GCM) and bound to `aad`, as base64 text
    /// (outbox bodies, which hold single-use links and codes).
    pub fn seal_text(&self, plain: &str, aad: &str) -> Result<String, AuthError> {
        use base64::Engine as _;
        let sealed = latchkey_tokens::seal(&self.0, plain.as_bytes(), aad.as_bytes())
            .map_err(|e| AuthError::Internal(format!("sealing: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// The text [`seal_text`](Self::seal_text) sealed with `aad`.
    pub fn open_text(&self, sealed: &str, aad: &str) -> Result<String, AuthError> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| AuthError::Internal("a sealed text is not base64".into()))?;
        let plain = latchkey_tokens::open(&self.0, &bytes, aad.as_bytes())
            .map_err(|e| AuthError::Internal(format!("opening a sealed text: {e}")))?;
        String::from_utf8(plain.to_vec())
            .map_err(|_| AuthError::Internal("a sealed text is not UTF-8".into()))
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

fn aad(user: UserId) -> String {
    format!("totp:{user}")
}

/// A new pending factor for `user` holding `secret`, sealed when a key is
/// given.
pub fn new_factor(
    user: UserId,
    secret: &[u8; SECRET_LEN],
    key: Option<&SealingKey>,
    now: Timestamp,
) -> Result<TotpFactor, AuthError> {
    let (stored, sealed) = match key {
        Some(k) => (
            latchkey_tokens::seal(&k.0, secret, aad(user).as_bytes())
                .map_err(|e| AuthError::Internal(format!("sealing a TOTP secret: {e}")))?,
            true,
        ),
        None => (secret.to_vec(), false),
    };
    Ok(TotpFactor {
        user_id: user,
        secret: stored,
        sealed,
        created_at: now,
        confirmed_at: None,
        last_step: None,
    })
}

/// The factor's secret in the clear (wiped when dropped).
pub fn open_secret(
    factor: &TotpFactor,
    key: Option<&SealingKey>,
) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    if !factor.sealed {
        return Ok(Zeroizing::new(factor.secret.clone()));
    }
    let key = key.ok_or_else(|| {
        AuthError::Internal("TOTP secrets are sealed; the master key is not set".into())
    })?;
    latchkey_tokens::open(&key.0, &factor.secret, aad(factor.user_id).as_bytes())
        .map_err(|e| AuthError::Internal(format!("opening a TOTP secret: {e}")))
}

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> Result<Totp, AuthError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(issuer.map(|i| i.replace(':', "")))
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(|e| AuthError::Internal(format!("TOTP parameters: {e}")))
}

/// The RFC 6238 step `code` matches at `now` (the current step or one
/// either side), if any. Anything but six ASCII digits matches nothing.
pub fn check(secret: &[u8], code: &str, now: Timestamp) -> Option<i64> {
    let t = totp(secret, None, "").ok()?;
    let seconds = u64::try_from(now.unix_seconds()).ok()?;
    t.check(code, seconds).and_then(|s| i64::try_from(s).ok())
}

/// The step `now` falls in.
pub fn step_at(now: Timestamp) -> i64 {
    now.unix_seconds().div_euclid(STEP_SECS as i64)
}

/// The base32 form of `secret` (what authenticator apps take by hand).
pub fn base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

/// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…` for an authenticator
/// app (as a QR code).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, AuthError> {
    totp(secret, Some(issuer), account)?
        .to_url()
        .map_err(|e| AuthError::Internal(format!("otpauth URI: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 secret, and its 8-digit codes whose
    /// last six digits are the 6-digit codes.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn at_secs(s: i64) -> Timestamp {
        Timestamp::from_unix_millis(s * 1000)
    }

    #[test]
    fn rfc_6238_vectors_match_their_step() {
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(check(RFC_SECRET, code, at_secs(time)), Some(time / 30));
        }
    }

    #[test]
    fn the_window_is_one_step_either_side_at_its_exact_edges() {
        // The code of step 41152263 (1234567890 / 30).
        let step = 1_234_567_890 / 30;
        let first = step * 30;
        // Valid from the first second of the previous step …
        assert_eq!(check(RFC_SECRET, "005924", at_secs(first - 30)), Some(step));
        assert_eq!(check(RFC_SECRET, "005924", at_secs(first - 31)), None);
        // … to the last millisecond of the next one.
        let end_of_next = Timestamp::from_unix_millis((first + 60) * 1000 - 1);
        assert_eq!(check(RFC_SECRET, "005924", end_of_next), Some(step));
        assert_eq!(check(RFC_SECRET, "005924", at_secs(first + 60)), None);
    }

    #[test]
    fn anything_but_six_digits_matches_nothing() {
        for code in ["", "05924", "0059240", "+05924", "00592a", " 005924"] {
            assert_eq!(check(RFC_SECRET, code, at_secs(1_234_567_890)), None);
        }
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user() {
        let key = SealingKey::new(Zeroizing::new([3; 32]));
        let alice = UserId::from_random([1; 16]);
        let f = new_factor(alice, &[9; SECRET_LEN], Some(&key), at_secs(0)).unwrap();
        assert!(f.sealed);
        assert_ne!(f.secret, vec![9; SECRET_LEN]);
        assert_eq!(*open_secret(&f, Some(&key)).unwrap(), vec![9; SECRET_LEN]);
        let mut moved = f.clone();
        moved.user_id = UserId::from_random([2; 16]);
        assert!(open_secret(&moved, Some(&key)).is_err());
        assert!(open_secret(&f, None).is_err());
        let plain = new_factor(alice, &[9; SECRET_LEN], None, at_secs(0)).unwrap();
        assert!(!plain.sealed);
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_secret() {
        let uri = otpauth_uri(RFC_SECRET, "latchkey", "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/latchkey:alice?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", base32(RFC_SECRET))));
        assert!(uri.contains("issuer=latchkey"));
    }
}
