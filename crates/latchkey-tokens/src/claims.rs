//! The claims of a latchkey access token, and the rules applied to them.
//!
//! Claims are read from the verified payload by hand rather than through
//! a serde derive, so each failure has its own [`TokenError`] and the types
//! are exact: times must be JSON integers that fit an `i64` (a string, a
//! float, `null` or a huge number is [`TokenError::InvalidClaim`], never
//! "absent"), strings must be strings, and `aud` is a string or an array of
//! strings. Claims latchkey does not know are ignored (RFC 7519 §4).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TokenError;
use crate::json::{Object, ObjectError, parse_object};

/// The claims latchkey puts in an access token (RFC 9068 §2.2).
///
/// `exp`, `iat` and `nbf` are seconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: latchkey's configured `issuer` URL.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// Audience. A token may carry an array; after verification this is
    /// the expected audience that matched.
    pub aud: String,
    /// Expiry: the token is refused from this second on (plus leeway).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before; latchkey omits it (it equals `iat`), other issuers may not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id, for revocation.
    pub jti: String,
    /// The session this token belongs to.
    pub sid: String,
    /// How its holder signed in: RFC 8176 values (`pwd`, `otp`, `hwk`,
    /// `swk`, `mfa`, …). Absent (empty) in tokens of other issuers and of
    /// versions before it; when present, an array of strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// When its holder last authenticated (OpenID Connect `auth_time`,
    /// seconds since the Unix epoch); raised by step-up. When present, an
    /// integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The user's groups, in tokens minted for upstreams that asked for
    /// them (forward auth, BFF APIs with `groups_claim`). Absent (empty)
    /// otherwise; when present, an array of strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// What a verifier requires of a token's claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// Required `iss`, compared exactly.
    pub issuer: String,
    /// Audience that `aud` must be, or contain.
    pub audience: String,
    /// Further audiences accepted in place of `audience` (an issuer
    /// recognising every token it mints). Empty by default.
    pub other_audiences: Vec<String>,
    /// Allowed clock difference, in seconds, applied to `exp`, `nbf` and
    /// `iat`. Default 0: the issuer and verifier share a clock. Resource
    /// servers on other machines may want a few seconds.
    pub leeway_secs: u32,
}

impl Expectations {
    /// Expect this issuer and audience, with no leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            other_audiences: Vec::new(),
            leeway_secs: 0,
        }
    }

    /// The same expectations, also accepting each of `audiences`.
    #[must_use]
    pub fn with_other_audiences(mut self, audiences: impl IntoIterator<Item = String>) -> Self {
        self.other_audiences.extend(audiences);
        self
    }

    /// The same expectations with `leeway_secs` of clock difference allowed.
    #[must_use]
    pub fn with_leeway(mut self, leeway_secs: u32) -> Self {
        self.leeway_secs = leeway_secs;
        self
    }
}

/// Parses a verified payload and checks it against `expected` at `now`.
pub(crate) fn check_claims(
    payload: &[u8],
    expected: &Expectations,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let mut object = parse_object(payload).map_err(|error| match error {
        ObjectError::Malformed => TokenError::MalformedClaims,
        ObjectError::Duplicate => TokenError::DuplicateClaim,
    })?;
    let iss = string(&mut object, "iss")?;
    let sub = string(&mut object, "sub")?;
    let aud = object.take("aud").ok_or(TokenError::MissingClaim("aud"))?;
    let exp = integer(&mut object, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    let iat = integer(&mut object, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    let nbf = integer(&mut object, "nbf")?;
    let jti = string(&mut object, "jti")?;
    let sid = string(&mut object, "sid")?;
    let amr = strings(&mut object, "amr")?;
    let auth_time = integer(&mut object, "auth_time")?;
    let groups = strings(&mut object, "groups")?;

    if iss != expected.issuer {
        return Err(TokenError::WrongIssuer);
    }
    let matched = matched_audience(&aud, expected)?;
    let leeway = i64::from(expected.leeway_secs);
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    let latest = now.saturating_add(leeway);
    if nbf.is_some_and(|nbf| nbf > latest) {
        return Err(TokenError::NotYetValid);
    }
    if iat > latest {
        return Err(TokenError::IssuedInFuture);
    }
    let aud = matched.to_owned();
    Ok(AccessClaims {
        iss,
        sub,
        aud,
        exp,
        iat,
        nbf,
        jti,
        sid,
        amr,
        auth_time,
        groups,
    })
}

fn string(object: &mut Object, name: &'static str) -> Result<String, TokenError> {
    match object.take(name) {
        None => Err(TokenError::MissingClaim(name)),
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// An optional array-of-strings claim: absent is empty; present means a
/// JSON array whose every entry is a string.
fn strings(object: &mut Object, name: &'static str) -> Result<Vec<String>, TokenError> {
    match object.take(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(entries)) => entries
            .into_iter()
            .map(|entry| match entry {
                Value::String(value) => Ok(value),
                _ => Err(TokenError::InvalidClaim(name)),
            })
            .collect(),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// An optional integer claim: absent is `None`; present means a JSON
/// integer within `i64`.
fn integer(object: &mut Object, name: &'static str) -> Result<Option<i64>, TokenError> {
    match object.take(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(TokenError::InvalidClaim(name)),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// The first expected audience (`audience`, then `other_audiences`) that
/// `aud` names.
fn matched_audience<'e>(aud: &Value, expected: &'e Expectations) -> Result<&'e str, TokenError> {
    let candidates = std::iter::once(&expected.audience).chain(&expected.other_audiences);
    for candidate in candidates {
        match check_audience(aud, candidate) {
            Err(TokenError::WrongAudience) => {}
            Err(other) => return Err(other),
            Ok(()) => return Ok(candidate),
        }
    }
    Err(TokenError::WrongAudience)
}

/// `aud` is a string equal to the audience, or an array of strings that
/// contains it (RFC 7519 §4.1.3).
fn check_audience(aud: &Value, audience: &str) -> Result<(), TokenError> {
    let found = match aud {
        Value::String(single) => single == audience,
        Value::Array(many) => {
            let mut found = false;
            for entry in many {
                let entry = entry.as_str().ok_or(TokenError::InvalidClaim("aud"))?;
                found |= entry == audience;
            }
            found
        }
        _ => return Err(TokenError::InvalidClaim("aud")),
    };
    if found {
        Ok(())
    } else {
        Err(TokenError::WrongAudience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn check(payload: Value, leeway: u32) -> Result<AccessClaims, TokenError> {
        let expected = Expectations::new("https://issuer", "api").with_leeway(leeway);
        check_claims(payload.to_string().as_bytes(), &expected, NOW)
    }

    fn claims() -> Value {
        serde_json::json!({
            "iss": "https://issuer", "sub": "u1", "aud": "api",
            "exp": NOW + 300, "iat": NOW, "jti": "j1", "sid": "s1",
        })
    }

    fn with(name: &str, value: Value) -> Value {
        let mut claims = claims();
        claims[name] = value;
        claims
    }

    #[test]
    fn expiry_edges_are_exact() {
        assert!(check(with("exp", (NOW + 1).into()), 0).is_ok());
        assert_eq!(
            check(with("exp", NOW.into()), 0).err(),
            Some(TokenError::Expired)
        );
        assert!(check(with("exp", NOW.into()), 1).is_ok());
        assert_eq!(
            check(with("exp", (NOW - 1).into()), 1).err(),
            Some(TokenError::Expired)
        );
        assert!(check(with("exp", i64::MAX.into()), u32::MAX).is_ok());
    }

    #[test]
    fn not_before_and_issued_at_edges_are_exact() {
        assert!(check(with("nbf", NOW.into()), 0).is_ok());
        assert_eq!(
            check(with("nbf", (NOW + 1).into()), 0).err(),
            Some(TokenError::NotYetValid)
        );
        assert!(check(with("nbf", (NOW + 5).into()), 5).is_ok());
        assert_eq!(
            check(with("iat", (NOW + 1).into()), 0).err(),
            Some(TokenError::IssuedInFuture)
        );
        assert!(check(with("iat", (NOW + 5).into()), 5).is_ok());
    }

    #[test]
    fn time_claims_must_be_integers() {
        for bad in [
            serde_json::json!(1.5),
            serde_json::json!(null),
            serde_json::json!(u64::MAX),
        ] {
            assert_eq!(
                check(with("iat", bad), 0).err(),
                Some(TokenError::InvalidClaim("iat"))
            );
        }
    }

    #[test]
    fn other_audiences_are_accepted_and_reported_as_matched() {
        let expected = Expectations::new("https://issuer", "api")
            .with_other_audiences(["edge".to_owned(), "orders".to_owned()]);
        let run =
            |aud: Value| check_claims(with("aud", aud).to_string().as_bytes(), &expected, NOW);
        assert_eq!(
            run("api".into()).map(|c| c.aud).ok().as_deref(),
            Some("api")
        );
        assert_eq!(
            run("orders".into()).map(|c| c.aud).ok().as_deref(),
            Some("orders")
        );
        let both = serde_json::json!(["orders", "api"]);
        assert_eq!(run(both).map(|c| c.aud).ok().as_deref(), Some("api"));
        assert_eq!(run("other".into()).err(), Some(TokenError::WrongAudience));
        assert_eq!(
            run(serde_json::json!(["x", 1])).err(),
            Some(TokenError::InvalidClaim("aud"))
        );
    }

    #[test]
    fn amr_and_auth_time_are_read_exactly() {
        let mut both = with("amr", serde_json::json!(["pwd", "otp", "mfa"]));
        both["auth_time"] = (NOW - 60).into();
        let read = check(both, 0).unwrap();
        assert_eq!(read.amr, ["pwd", "otp", "mfa"]);
        assert_eq!(read.auth_time, Some(NOW - 60));
        let neither = check(claims(), 0).unwrap();
        assert!(neither.amr.is_empty());
        assert_eq!(neither.auth_time, None);
        for bad in [
            serde_json::json!("pwd"),
            serde_json::json!(["pwd", 1]),
            serde_json::json!(null),
            serde_json::json!({"pwd": true}),
        ] {
            assert_eq!(
                check(with("amr", bad), 0).err(),
                Some(TokenError::InvalidClaim("amr"))
            );
        }
        for bad in [
            serde_json::json!(1.5),
            serde_json::json!("1800000000"),
            serde_json::json!(null),
            serde_json::json!(u64::MAX),
        ] {
            assert_eq!(
                check(with("auth_time", bad), 0).err(),
                Some(TokenError::InvalidClaim("auth_time"))
            );
        }
    }

    #[test]
    fn audience_arrays_must_hold_only_strings() {
        assert!(check(with("aud", serde_json::json!(["x", "api"])), 0).is_ok());
        let wrong = check(with("aud", serde_json::json!([])), 0);
        assert_eq!(wrong.err(), Some(TokenError::WrongAudience));
        let mixed = check(with("aud", serde_json::json!(["api", 1])), 0);
        assert_eq!(mixed.err(), Some(TokenError::InvalidClaim("aud")));
    }
}
