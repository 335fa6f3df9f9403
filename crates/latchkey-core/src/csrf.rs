//! Anti-forgery tokens bound to a login.
//!
//! The token is `HMAC-SHA256(key, "latchkey-csrf-v1" || 0 || binding)`,
//! base64url. The binding is the session's public handle (or, for the
//! hybrid, the refresh family), so a token from one login is worthless for
//! another, and the server stores nothing extra. Verification recomputes and
//! compares in constant time.

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

const CONTEXT: &[u8] = b"latchkey-csrf-v1\0";

/// The server's CSRF key (32 random bytes, persisted in the store).
#[derive(Clone)]
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// The token for the login identified by `binding`.
    pub fn token(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.tag(binding))
    }

    /// Whether `presented` is the token for `binding`. Any malformed input
    /// is simply not valid.
    pub fn verify(&self, binding: &str, presented: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        let expected = self.tag(binding);
        bytes.len() == expected.len() && bool::from(bytes.ct_eq(&expected))
    }

    fn tag(&self, binding: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(CONTEXT);
        ctx.update(binding.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_verifies_only_for_its_binding_and_key() {
        let key = CsrfKey::from_bytes(&[9; 32]);
        let tok = key.token("session-a");
        assert_eq!(tok.len(), 43);
        assert!(key.verify("session-a", &tok));
        assert!(!key.verify("session-b", &tok));
        assert!(!CsrfKey::from_bytes(&[8; 32]).verify("session-a", &tok));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let key = CsrfKey::from_bytes(&[9; 32]);
        let tok = key.token("s");
        for bad in ["", "x", &tok[..42], &format!("{tok}A"), "!!!!"] {
            assert!(!key.verify("s", bad), "{bad:?}");
        }
    }

    #[test]
    fn matches_a_plain_hmac_sha256() {
        // Pinned so that the token format cannot change silently (tokens
        // already handed out would stop working).
        let key = CsrfKey::from_bytes(&[0; 32]);
        assert_eq!(
            key.token("h"),
            "Qe8zE1bVaF7czX9IVcCvDluwYebCLK4gha3r-MOw-3M"
        );
    }
}
