//! Refresh tokens: opaque 256-bit secrets in families, rotated on every use
//! (RFC 9700 §4.14).
//!
//! The successor of a refresh token is *derived* from it:
//! `next = HMAC-SHA256(refresh_key, "latchkey-refresh-v1" || 0 || token)`.
//! So when a spent token comes back within the grace window, the server
//! can hand out the very same successor again without ever having stored a
//! refresh token in the clear — the store keeps only SHA-256 hashes.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::id::{ParseError, sha256};
use crate::{SessionSecret, Timestamp};

/// A refresh token as the client holds it. `Debug` is redacted.
#[derive(Clone)]
pub struct RefreshSecret([u8; 32]);

/// SHA-256 of a refresh token: what the store keeps.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RefreshHash([u8; 32]);

/// The server key successors are derived with (32 bytes, kept in the store).
#[derive(Clone)]
pub struct RefreshKey(hmac::Key);

impl RefreshSecret {
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the wire form: 43 characters of canonical unpadded base64url.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        // Same wire form as a session secret.
        SessionSecret::parse(s).map(|_| ())?;
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| ParseError::Malformed)?;
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| ParseError::Malformed)
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn hash(&self) -> RefreshHash {
        RefreshHash(sha256(&self.0))
    }

    /// The token that replaces this one at rotation.
    pub fn successor(&self, key: &RefreshKey) -> Self {
        let mut ctx = hmac::Context::with_key(&key.0);
        ctx.update(b"latchkey-refresh-v1\0");
        ctx.update(&self.0);
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        Self(out)
    }
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(..)")
    }
}

impl RefreshHash {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RefreshHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshHash(..)")
    }
}

impl RefreshKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }
}

impl fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshKey(..)")
    }
}

/// The state of a presented refresh token, as read inside the store's
/// transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenState {
    /// When it was rotated, if it was.
    pub spent_at: Option<Timestamp>,
    /// Whether its successor has been rotated in turn. A token presented
    /// after its successor was used is a stolen one (SuperTokens' rule):
    /// grace never applies then, however recent the rotation.
    pub successor_spent: bool,
    pub family_expires_at: Timestamp,
    pub family_revoked: bool,
}

/// What to do with a presented refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Fresh: spend it and issue its successor.
    Rotate,
    /// Spent moments ago (two tabs refreshing at once) and its successor
    /// not used yet: hand out the same successor again, issued at
    /// `issued_at`.
    Grace { issued_at: Timestamp },
    /// Spent outside the grace window, or after its successor was used:
    /// someone replays a stolen token. Revoke the family and its session.
    Reuse,
    /// The family's absolute lifetime is over.
    Expired,
    /// The family was revoked (logout, reuse, an administrator).
    Revoked,
}

pub fn decide(state: TokenState, now: Timestamp, grace: Duration) -> Decision {
    if state.family_revoked {
        return Decision::Revoked;
    }
    if now >= state.family_expires_at {
        return Decision::Expired;
    }
    match state.spent_at {
        None => Decision::Rotate,
        Some(spent) if !state.successor_spent && now < spent.saturating_add(grace) => {
            Decision::Grace { issued_at: spent }
        }
        Some(_) => Decision::Reuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000 + ms)
    }

    const G: Duration = Duration::from_secs(10);

    fn state(spent: Option<i64>) -> TokenState {
        TokenState {
            spent_at: spent.map(t),
            successor_spent: false,
            family_expires_at: t(100_000),
            family_revoked: false,
        }
    }

    #[test]
    fn fresh_token_rotates_and_grace_ends_exactly() {
        assert_eq!(decide(state(None), t(0), G), Decision::Rotate);
        assert_eq!(
            decide(state(Some(0)), t(9_999), G),
            Decision::Grace { issued_at: t(0) }
        );
        assert_eq!(decide(state(Some(0)), t(10_000), G), Decision::Reuse);
    }

    #[test]
    fn i9_04_refresh_grace_cannot_walk_the_chain() {
        // Spent at 0, its successor spent at 1: presenting it again is
        // reuse at once, even at the first millisecond of the window.
        let mut s = state(Some(0));
        s.successor_spent = true;
        for now in [1, 2, 9_999, 10_000] {
            assert_eq!(decide(s, t(now), G), Decision::Reuse, "at {now}");
        }
        // The successor still unspent: grace up to the last millisecond.
        s.successor_spent = false;
        assert_eq!(decide(s, t(9_999), G), Decision::Grace { issued_at: t(0) });
        assert_eq!(decide(s, t(10_000), G), Decision::Reuse);
        // Revocation and expiry still come first.
        s.successor_spent = true;
        s.family_revoked = true;
        assert_eq!(decide(s, t(1), G), Decision::Revoked);
    }

    #[test]
    fn family_lifetime_is_absolute_and_revocation_wins() {
        assert_eq!(decide(state(None), t(99_999), G), Decision::Rotate);
        assert_eq!(decide(state(None), t(100_000), G), Decision::Expired);
        let mut s = state(None);
        s.family_revoked = true;
        assert_eq!(decide(s, t(0), G), Decision::Revoked);
    }

    #[test]
    fn successor_is_deterministic_keyed_and_distinct() {
        let k = RefreshKey::from_bytes(&[1; 32]);
        let r = RefreshSecret::from_random([2; 32]);
        assert_eq!(r.successor(&k).encode(), r.successor(&k).encode());
        assert_ne!(r.successor(&k).encode(), r.encode());
        let other = RefreshKey::from_bytes(&[3; 32]);
        assert_ne!(r.successor(&k).encode(), r.successor(&other).encode());
        assert_eq!(format!("{r:?}"), "RefreshSecret(..)");
    }

    #[test]
    fn wire_form_round_trips_and_refuses_garbage() {
        let r = RefreshSecret::from_random([9; 32]);
        let back = RefreshSecret::parse(&r.encode()).map(|b| b.hash());
        assert_eq!(back.ok(), Some(r.hash()));
        assert!(RefreshSecret::parse("short").is_err());
        assert!(RefreshSecret::parse(&format!("{}=", r.encode())).is_err());
    }
}
