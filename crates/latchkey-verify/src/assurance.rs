//! Demanding how the caller signed in: an `amr` value (a second factor,
//! a hardware key) or a sign-in no older than some maximum age, read from
//! the token's `amr` and `auth_time` claims. A token that falls short is
//! refused as RFC 9470 asks: `401` with `WWW-Authenticate: Bearer
//! error="insufficient_user_authentication"` (and `max_age` when an age
//! was demanded), so the client knows to send its user through a fresh or
//! stronger sign-in rather than to refresh its token.
//!
//! ```
//! use std::time::Duration;
//! use latchkey_verify::AuthRequirement;
//!
//! // A second factor, within the last five minutes.
//! let sensitive = AuthRequirement::new().amr("mfa").max_age(Duration::from_secs(300));
//! ```

use std::time::Duration;

use latchkey_tokens::AccessClaims;

use crate::rejection::AuthRejection;

/// What a route demands of the sign-in behind a token. The default demands
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthRequirement {
    amr: Vec<String>,
    max_age: Option<u64>,
}

impl AuthRequirement {
    /// Demands nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also demands that `amr` holds `value` (RFC 8176: `mfa`, `otp`,
    /// `hwk`, …). Every value demanded must be present.
    #[must_use]
    pub fn amr(mut self, value: impl Into<String>) -> Self {
        self.amr.push(value.into());
        self
    }

    /// Also demands a sign-in (`auth_time`) at most `age` before now, in
    /// whole seconds (rounded up); a token without `auth_time` falls short.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        let secs = age.as_secs() + u64::from(age.subsec_nanos() > 0);
        self.max_age = Some(secs);
        self
    }

    /// Whether `claims` meet the requirement at `now` (seconds since the
    /// Unix epoch).
    pub fn check(&self, claims: &AccessClaims, now: i64) -> Result<(), AuthRejection> {
        let refused = AuthRejection::InsufficientUserAuthentication {
            max_age: self.max_age,
        };
        if !self.amr.iter().all(|want| claims.amr.contains(want)) {
            return Err(refused);
        }
        if let Some(max_age) = self.max_age {
            let Some(auth_time) = claims.auth_time else {
                return Err(refused);
            };
            let age = now.saturating_sub(auth_time);
            if age > i64::try_from(max_age).unwrap_or(i64::MAX) {
                return Err(refused);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims(amr: &[&str], auth_time: Option<i64>) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: "u".into(),
            aud: "a".into(),
            exp: NOW + 300,
            iat: NOW,
            nbf: None,
            jti: "j".into(),
            sid: "s".into(),
            amr: amr.iter().map(|v| (*v).to_owned()).collect(),
            auth_time,
            groups: Vec::new(),
        }
    }

    #[test]
    fn nothing_demanded_lets_any_token_through() {
        assert_eq!(
            AuthRequirement::new().check(&claims(&[], None), NOW),
            Ok(())
        );
    }

    #[test]
    fn every_demanded_amr_value_must_be_present() {
        let need = AuthRequirement::new().amr("mfa").amr("hwk");
        let short = AuthRejection::InsufficientUserAuthentication { max_age: None };
        assert_eq!(need.check(&claims(&["pwd"], Some(NOW)), NOW), Err(short));
        assert_eq!(need.check(&claims(&["hwk"], Some(NOW)), NOW), Err(short));
        assert_eq!(need.check(&claims(&["hwk", "mfa"], None), NOW), Ok(()));
    }

    #[test]
    fn max_age_is_exact_at_its_edge_and_needs_auth_time() {
        let need = AuthRequirement::new().max_age(Duration::from_secs(300));
        let short = AuthRejection::InsufficientUserAuthentication { max_age: Some(300) };
        assert_eq!(need.check(&claims(&["pwd"], Some(NOW - 300)), NOW), Ok(()));
        assert_eq!(
            need.check(&claims(&["pwd"], Some(NOW - 301)), NOW),
            Err(short)
        );
        assert_eq!(need.check(&claims(&["pwd"], None), NOW), Err(short));
        let rounded = AuthRequirement::new().max_age(Duration::from_millis(1_500));
        assert_eq!(
            rounded.check(&claims(&[], Some(NOW - 2)), NOW),
            Ok(()),
            "1.5 s rounds up to 2"
        );
    }
}
