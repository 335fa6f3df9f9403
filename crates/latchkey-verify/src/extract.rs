//! Reading the token from a request, and the [`Claims`] extractor.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use latchkey_tokens::AccessClaims;

use crate::rejection::AuthRejection;
use crate::verifier::LatchkeyVerifier;

/// The verified claims of the request's bearer token.
///
/// Needs the verifier in the router's state (`LatchkeyVerifier:
/// FromRef<S>`; a router whose state *is* the verifier qualifies). Behind
/// [`crate::RequireLatchkeyLayer`] it takes the claims the layer verified
/// (found in a private extension type, so no other code can plant them)
/// instead of verifying and introspecting a second time. In a router
/// without that state, put the layer in front and take
/// `Extension<AccessClaims>`.
///
/// Refusals are [`AuthRejection`]s: `401` problem JSON with the RFC 6750
/// challenge, `400` for a token in the query string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims(pub AccessClaims);

/// Claims put in the request extensions by this crate's layer. Private,
/// so nothing else can plant claims the extractor would trust.
#[derive(Clone, Debug)]
pub(crate) struct Verified(pub(crate) Arc<AccessClaims>);

impl<S> FromRequestParts<S> for Claims
where
    S: Send + Sync,
    LatchkeyVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        if let Some(Verified(claims)) = parts.extensions.get::<Verified>() {
            return Ok(Self(AccessClaims::clone(claims)));
        }
        let token = bearer_token(&parts.headers, &parts.uri)?;
        authenticate(&LatchkeyVerifier::from_ref(state), token)
            .await
            .map(Self)
    }
}

/// Verifies `token`, mapping a refusal to its HTTP answer (and logging why
/// at debug level; the reason never contains the token).
pub(crate) async fn authenticate(
    verifier: &LatchkeyVerifier,
    token: &str,
) -> Result<AccessClaims, AuthRejection> {
    verifier.verify(token).await.map_err(|error| {
        tracing::debug!(reason = %error, "bearer token refused");
        AuthRejection::from(error)
    })
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), the only
/// place a token is read from.
///
/// A query string naming `access_token` is refused whatever else the
/// request carries. No header is [`AuthRejection::MissingToken`]; a
/// repeated header, another scheme, or an empty token is
/// [`AuthRejection::InvalidToken`].
pub fn bearer_token<'a>(headers: &'a HeaderMap, uri: &Uri) -> Result<&'a str, AuthRejection> {
    if uri.query().is_some_and(names_access_token) {
        return Err(AuthRejection::TokenInQuery);
    }
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthRejection::MissingToken)?;
    if values.next().is_some() {
        return Err(AuthRejection::InvalidToken);
    }
    let value = value.to_str().map_err(|_| AuthRejection::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthRejection::InvalidToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthRejection::InvalidToken);
    }
    Ok(token)
}

/// Whether a query string has a parameter named `access_token`, also when
/// the name is percent-encoded.
fn names_access_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        percent_decode(name) == b"access_token"
    })
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn token(auth: &[&str], uri: &str) -> Result<String, AuthRejection> {
        let mut headers = HeaderMap::new();
        for value in auth {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        bearer_token(&headers, &uri.parse().unwrap()).map(str::to_owned)
    }

    #[test]
    fn the_token_comes_from_the_bearer_header() {
        assert_eq!(token(&["Bearer abc"], "/"), Ok("abc".into()));
        assert_eq!(token(&["bearer  abc "], "/"), Ok("abc".into()));
        assert_eq!(token(&[], "/"), Err(AuthRejection::MissingToken));
        for bad in [
            &["Basic abc"][..],
            &["Bearer"],
            &["Bearer  "],
            &["Bearer a", "Bearer b"],
        ] {
            assert_eq!(token(bad, "/"), Err(AuthRejection::InvalidToken), "{bad:?}");
        }
    }

    #[test]
    fn a_token_in_the_query_is_refused_even_beside_a_header() {
        for uri in [
            "/?access_token=x",
            "/?a=1&access_token",
            "/?access%5Ftoken=x",
            "/?access%5ftoken=x",
        ] {
            assert_eq!(
                token(&["Bearer abc"], uri),
                Err(AuthRejection::TokenInQuery),
                "{uri}"
            );
        }
        assert_eq!(
            token(&["Bearer abc"], "/?my_access_token=x"),
            Ok("abc".into())
        );
    }
}
