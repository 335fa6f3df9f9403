//! How a credential's holder signed in: the RFC 8176 `amr` values and the
//! OpenID Connect `auth_time`, as sessions and refresh families record
//! them and access tokens carry them.
//!
//! `mfa` is never a method of its own: it is added when the values name
//! methods of two different factors (something known, something held), or
//! kept when a single method already counted as two (a user-verified
//! passkey). A value whose factor is not known here (`fed`, `email`,
//! anything unrecognised) never makes a sign-in multi-factor.

use std::time::Duration;

use crate::Timestamp;

/// The `amr` value saying that more than one factor was used.
pub const MFA: &str = "mfa";

/// What kind of proof an `amr` value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// Something the user knows (`pwd`, `pin`).
    Knowledge,
    /// Something the user holds (`otp`, `hwk`, `swk`, `sms`).
    Possession,
    /// Something the user is (`fpt`, `face`, `iris`, `retina`, `vbm`).
    Inherence,
}

/// The factor of an RFC 8176 value, when it has a clear one.
pub fn factor(amr: &str) -> Option<Factor> {
    match amr {
        "pwd" | "pin" => Some(Factor::Knowledge),
        "otp" | "hwk" | "swk" | "sms" => Some(Factor::Possession),
        "fpt" | "face" | "iris" | "retina" | "vbm" => Some(Factor::Inherence),
        _ => None,
    }
}

/// Whether `values` name methods of at least two different factors.
pub fn spans_factors<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    let mut seen: Option<Factor> = None;
    for f in values.into_iter().filter_map(factor) {
        match seen {
            None => seen = Some(f),
            Some(first) if first != f => return true,
            Some(_) => {}
        }
    }
    false
}

/// The assurance of a sign-in: its `amr` values and when the last method
/// succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assurance {
    /// RFC 8176 values, each once, `mfa` (if present) last.
    pub amr: Vec<String>,
    /// When the holder last authenticated.
    pub auth_time: Timestamp,
}

impl Assurance {
    /// The assurance of methods `amr` used at `auth_time`; `mfa` is added
    /// when they span two factors (see [`normalize`]).
    pub fn new(amr: impl IntoIterator<Item = impl Into<String>>, auth_time: Timestamp) -> Self {
        Self {
            amr: normalize(amr.into_iter().map(Into::into)),
            auth_time,
        }
    }

    /// After a further authentication with `added` at `at`: the values of
    /// both (with `mfa` if together they span two factors) and `auth_time`
    /// moved to `at` (never backwards).
    #[must_use]
    pub fn merged(&self, added: &[String], at: Timestamp) -> Self {
        Self {
            amr: normalize(self.amr.iter().chain(added).cloned()),
            auth_time: self.auth_time.max(at),
        }
    }

    /// Whether the holder authenticated within `within` before `now`.
    pub fn is_recent(&self, now: Timestamp, within: Duration) -> bool {
        recent(self.auth_time, now, within)
    }

    /// The stored form: the values separated by single spaces.
    pub fn amr_text(&self) -> String {
        self.amr.join(" ")
    }

    /// The inverse of [`amr_text`](Self::amr_text).
    pub fn amr_from_text(text: &str) -> Vec<String> {
        text.split(' ')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Whether `auth_time` lies within `within` before `now` (a time in the
/// future does not count: a clock that jumped back proves nothing).
pub fn recent(auth_time: Timestamp, now: Timestamp, within: Duration) -> bool {
    auth_time <= now && now < auth_time.saturating_add(within)
}

/// Each value once, in first-seen order, `mfa` last: kept if any input had
/// it, added if the values span two factors.
pub fn normalize(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut mfa = false;
    for v in values {
        if v == MFA {
            mfa = true;
        } else if !v.is_empty() && !v.contains(' ') && !out.contains(&v) {
            out.push(v);
        }
    }
    if mfa || spans_factors(out.iter().map(String::as_str)) {
        out.push(MFA.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn two_factors_add_mfa_and_one_does_not() {
        assert_eq!(normalize(v(&["pwd"])), v(&["pwd"]));
        assert_eq!(normalize(v(&["pwd", "otp"])), v(&["pwd", "otp", "mfa"]));
        assert_eq!(normalize(v(&["otp", "hwk"])), v(&["otp", "hwk"]));
        assert_eq!(normalize(v(&["pwd", "fed"])), v(&["pwd", "fed"]));
        assert_eq!(normalize(v(&["pwd", "email"])), v(&["pwd", "email"]));
        assert_eq!(normalize(v(&["mfa", "hwk"])), v(&["hwk", "mfa"]));
    }

    #[test]
    fn merging_unions_values_and_moves_auth_time_forward() {
        let t = Timestamp::from_unix_millis(1_000);
        let a = Assurance::new(["pwd"], t);
        let later = Timestamp::from_unix_millis(5_000);
        let m = a.merged(&v(&["otp", "pwd"]), later);
        assert_eq!(m.amr, v(&["pwd", "otp", "mfa"]));
        assert_eq!(m.auth_time, later);
        assert_eq!(m.merged(&v(&["pwd"]), t).auth_time, later);
    }

    #[test]
    fn recent_is_exact_at_its_edge() {
        let t = Timestamp::from_unix_millis(10_000);
        let five = Duration::from_secs(300);
        let a = Assurance::new(["pwd"], t);
        assert!(a.is_recent(t, five));
        assert!(
            a.is_recent(
                t.saturating_add(five)
                    .saturating_sub(Duration::from_millis(1)),
                five
            )
        );
        assert!(!a.is_recent(t.saturating_add(five), five));
        assert!(!a.is_recent(t.saturating_sub(Duration::from_millis(1)), five));
    }

    #[test]
    fn the_stored_form_round_trips() {
        let a = Assurance::new(["pwd", "otp"], Timestamp::from_unix_millis(1));
        assert_eq!(a.amr_text(), "pwd otp mfa");
        assert_eq!(Assurance::amr_from_text(&a.amr_text()), a.amr);
        assert!(Assurance::amr_from_text("").is_empty());
    }
}
