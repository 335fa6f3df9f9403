//! The strict checks of what a provider signs: the ID token (through
//! `openidconnect`'s verifier, tightened) and the back-channel logout token.
//! Both are pure: keys, expectations and `now` come in, claims come out.
//!
//! **Invariant:** the signing algorithm is an asymmetric one the key found
//! by `kid` in the provider's JWKS allows: never `none`, never an HMAC
//! (a verifier built without the client secret cannot check one, and the
//! allowed list names none).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, Nonce, SignatureVerificationError,
};
use serde_json::{Map, Value};

/// The only algorithms accepted from a provider.
pub const ASYMMETRIC: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The event a logout token must carry.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a token must match.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// Clock skew tolerated on `exp` and `iat`, in seconds.
    pub skew: i64,
    /// How old (`iat`) a token may be, in seconds.
    pub max_age: i64,
}

/// Why a token was refused. No variant quotes the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No key in the JWKS has the token's `kid`: the caller may fetch the
    /// JWKS again (rate limited) and retry once.
    #[error("no key matches the token")]
    NoMatchingKey,
    #[error("token refused: {0}")]
    Invalid(&'static str),
}

/// The claims latchkey uses from a verified ID token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityClaims {
    pub subject: String,
    /// The provider's session (`sid`), when it sends one.
    pub sid: Option<String>,
    /// All claims, for the configured username and e-mail mapping.
    pub claims: Map<String, Value>,
}

impl IdentityClaims {
    /// The string claim `name`, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

/// Checks `token` as an ID token for `expected` answering `nonce`.
pub fn id_token(
    keys: &CoreJsonWebKeySet,
    expected: &Expected<'_>,
    token: &str,
    nonce: &str,
    now: i64,
) -> Result<IdentityClaims, Refusal> {
    let parsed: CoreIdToken = token
        .parse()
        .map_err(|_| Refusal::Invalid("not a signed JWT"))?;
    let issuer =
        IssuerUrl::new(expected.issuer.to_owned()).map_err(|_| Refusal::Invalid("issuer"))?;
    let (skew, max_age) = (expected.skew, expected.max_age);
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(expected.client_id.to_owned()),
        issuer,
        keys.clone(),
    )
    .set_allowed_algs(ASYMMETRIC)
    .set_time_fn(move || at(now.saturating_sub(skew)))
    .set_issue_time_verifier_fn(move |iat| issued_in_bounds(iat.timestamp(), now, skew, max_age));
    let nonce = Nonce::new(nonce.to_owned());
    let claims = parsed.claims(&verifier, &nonce).map_err(|e| refusal(&e))?;
    let audiences = claims.audiences();
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != expected.client_id => {
            return Err(Refusal::Invalid("azp is another client"));
        }
        None if audiences.len() > 1 => {
            return Err(Refusal::Invalid("several audiences and no azp"));
        }
        _ => {}
    }
    let all = payload(token)?;
    Ok(IdentityClaims {
        subject: claims.subject().as_str().to_owned(),
        sid: all.get("sid").and_then(Value::as_str).map(str::to_owned),
        claims: all,
    })
}

fn issued_in_bounds(iat: i64, now: i64, skew: i64, max_age: i64) -> Result<(), String> {
    if iat > now.saturating_add(skew) {
        Err("issued in the future".into())
    } else if iat < now.saturating_sub(max_age) {
        Err("issued too long ago".into())
    } else {
        Ok(())
    }
}

fn refusal(e: &ClaimsVerificationError) -> Refusal {
    match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => Refusal::NoMatchingKey,
        ClaimsVerificationError::SignatureVerification(_) => Refusal::Invalid("signature"),
        ClaimsVerificationError::InvalidIssuer(_) => Refusal::Invalid("iss"),
        ClaimsVerificationError::InvalidAudience(_) => Refusal::Invalid("aud"),
        ClaimsVerificationError::Expired(_) => Refusal::Invalid("exp or iat"),
        ClaimsVerificationError::InvalidNonce(_) => Refusal::Invalid("nonce"),
        _ => Refusal::Invalid("claims"),
    }
}

/// The payload of a JWS already verified, as a JSON object.
fn payload(token: &str) -> Result<Map<String, Value>, Refusal> {
    let part = token
        .split('.')
        .nth(1)
        .ok_or(Refusal::Invalid("not a JWS"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Invalid("payload encoding"))?;
    serde_json::from_slice(&bytes).map_err(|_| Refusal::Invalid("payload JSON"))
}

/// What a verified back-channel logout token names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutClaims {
    pub jti: String,
    pub subject: Option<String>,
    pub sid: Option<String>,
    /// When the token expires (Unix seconds): how long its `jti` is kept.
    pub expires_at: i64,
}

/// Checks `token` as a back-channel logout token (OpenID Connect
/// Back-Channel Logout 1.0, section 2.6): signed like an ID token, `iss`,
/// `aud`, `iat`, `exp`, `jti`, the logout event, `sub` and/or `sid`, and
/// no `nonce` (so an ID token can never pass as one).
pub fn logout_token(
    keys: &CoreJsonWebKeySet,
    expected: &Expected<'_>,
    token: &str,
    now: i64,
) -> Result<LogoutClaims, Refusal> {
    let all = crate::jose::verify(keys, token)?;
    let text = |name: &str| all.get(name).and_then(Value::as_str).map(str::to_owned);
    if text("iss").as_deref() != Some(expected.issuer) {
        return Err(Refusal::Invalid("iss"));
    }
    let audience_ok = match all.get("aud") {
        Some(Value::String(aud)) => aud == expected.client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected.client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(Refusal::Invalid("aud"));
    }
    let number = |name: &str| all.get(name).and_then(Value::as_i64);
    let (Some(iat), Some(exp)) = (number("iat"), number("exp")) else {
        return Err(Refusal::Invalid("iat and exp are required"));
    };
    issued_in_bounds(iat, now, expected.skew, expected.max_age)
        .map_err(|_| Refusal::Invalid("iat"))?;
    if exp <= now.saturating_sub(expected.skew) {
        return Err(Refusal::Invalid("exp"));
    }
    let event = all
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err(Refusal::Invalid("events"));
    }
    if all.contains_key("nonce") {
        return Err(Refusal::Invalid("nonce is forbidden"));
    }
    let claims = LogoutClaims {
        jti: text("jti").ok_or(Refusal::Invalid("jti"))?,
        subject: text("sub"),
        sid: text("sid"),
        expires_at: exp,
    };
    if claims.subject.is_none() && claims.sid.is_none() {
        return Err(Refusal::Invalid("sub or sid is required"));
    }
    Ok(claims)
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
