//! The bearer-token endpoints: `/v1/token/*` and `/.well-known/jwks.json`.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::refresh::RefreshSecret;
use latchkey_core::revocation::Target;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use super::NO_STORE;
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::finish::{self, token_response};
use crate::json::AppJson;
use crate::login::{TokenPair, end_sessions, rotate, sign_in};
use crate::state::AppState;
use latchkey_auth::{EndSessions, Flavour};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenLoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `token=` as a form field or `{"token"}` as JSON (RFC 7009 / 7662 use
/// the form; JSON is accepted for convenience).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenParam {
    pub token: String,
}

impl<S: Send + Sync> FromRequest<S> for TokenParam {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            axum::Form::<TokenParam>::from_request(req, state)
                .await
                .map(|f| f.0)
                .map_err(|e| {
                    if crate::deadline::is_body_timeout(&e) {
                        return ApiError::RequestTimeout;
                    }
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge
                    } else {
                        ApiError::Invalid {
                            code: "invalid_request",
                            detail: "The form needs a `token` field.".into(),
                        }
                    }
                })
        } else {
            AppJson::<TokenParam>::from_request(req, state)
                .await
                .map(|j| j.0)
        }
    }
}

/// The RFC 7662 answer.
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

/// Log in for a bearer access token and a refresh token.
#[utoipa::path(post, path = "/v1/token/login", tag = "tokens", operation_id = "token_login",
    request_body = TokenLoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, description = "invalid_credentials; mfa_required (with mfa_token and methods)"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: Caller,
    AppJson(body): AppJson<TokenLoginRequest>,
) -> Result<Response, ApiError> {
    let principal = sign_in(
        &state,
        &client,
        &body.username,
        body.password,
        Flavour::Tokens,
        false,
    )
    .await?;
    finish::tokens(&state, &principal).await
}

/// Exchange a refresh token for a new pair (rotation).
#[utoipa::path(post, path = "/v1/token/refresh", tag = "tokens", operation_id = "token_refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair, description = "New pair; the presented refresh token is spent"),
        (status = 401, body = Problem, description = "invalid_grant: unknown, expired, revoked, or reused (the family is then revoked)"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    AppJson(body): AppJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let presented =
        RefreshSecret::parse(&body.refresh_token).map_err(|_| ApiError::InvalidGrant)?;
    let pair = rotate(&state, &presented).await?;
    Ok(token_response(pair))
}

/// Revoke a refresh token (its whole family) or an access token (RFC 7009).
#[utoipa::path(post, path = "/v1/token/revoke", tag = "tokens",
    request_body(content(
        (TokenParam = "application/x-www-form-urlencoded"),
        (TokenParam = "application/json"),
    )),
    responses(
        (status = 200, description = "Revoked, or was not a live token (RFC 7009 §2.2)"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    param: TokenParam,
) -> Result<Response, ApiError> {
    let token = param.token.trim();
    if let Ok(refresh) = RefreshSecret::parse(token) {
        if let Some(family) = state.store.family_of(&refresh.hash()).await? {
            end_sessions(&state, EndSessions::Family(&family.id)).await?;
        }
    } else if let Some(claims) = state.tokens.verify_for_revocation(token, state.clock.now()) {
        let at = state.revoke_at();
        let entry = latchkey_core::revocation::Revocation {
            target: Target::Jti(claims.jti.clone()),
            at: at.now,
            expires_at: latchkey_core::Timestamp::from_unix_millis(
                claims.exp.saturating_add(60).saturating_mul(1000),
            ),
        };
        state
            .store
            .add_revocations(std::slice::from_ref(&entry))
            .await?;
        state.deny(&[entry]);
        let user = latchkey_core::UserId::parse(&claims.sub).ok();
        let detail = serde_json::json!({ "token": "access" });
        state
            .auth
            .audit(latchkey_auth::audit::kind::TOKENS_REVOKED, user, detail)
            .await;
    }
    Ok((NO_STORE, axum::http::StatusCode::OK).into_response())
}

/// Is this access token active? For configured resource servers (RFC 7662).
#[utoipa::path(post, path = "/v1/token/introspect", tag = "tokens",
    request_body(content(
        (TokenParam = "application/x-www-form-urlencoded"),
        (TokenParam = "application/json"),
    )),
    responses(
        (status = 200, body = Introspection),
        (status = 401, body = Problem, description = "invalid_client"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("basic" = [])))]
pub async fn introspect(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    // The client is authenticated before its body is even read.
    authenticate_client(&state, req.headers())?;
    let param = TokenParam::from_request(req, &state).await?;
    // Every audience latchkey issues: upstreams (BFF APIs, forward auth)
    // introspect the tokens minted for them.
    let answer = match crate::bearer::verify_issued(&state, param.token.trim()) {
        Ok(auth) => {
            let c = auth.claims;
            Introspection {
                active: true,
                sub: Some(c.sub.clone()),
                exp: Some(c.exp),
                iat: Some(c.iat),
                jti: Some(c.jti.clone()),
                sid: Some(c.sid.clone()),
                iss: Some(c.iss.clone()),
                aud: Some(c.aud.clone()),
                token_type: Some("Bearer"),
            }
        }
        Err(_) => Introspection::default(),
    };
    Ok((NO_STORE, AppJson(answer)).into_response())
}

/// HTTP Basic client authentication against the configured clients, in
/// constant time with respect to the secret.
pub(crate) fn authenticate_client(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidClient)?;
    let (scheme, encoded) = value.split_once(' ').ok_or(ApiError::InvalidClient)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::InvalidClient);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| ApiError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(ApiError::InvalidClient)?;
    let presented = latchkey_core::sha256(secret.as_bytes());
    let mut ok = false;
    for client in &state.settings.introspection_clients {
        let expected = latchkey_core::sha256(client.secret.expose_secret().as_bytes());
        let same_secret: bool = presented.ct_eq(&expected).into();
        ok |= client.id == id && same_secret;
    }
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidClient)
    }
}

/// Public keys for verifying access tokens (never an HS256 secret).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300, must-revalidate"),
        )],
        axum::Json(state.tokens.jwks()),
    )
        .into_response()
}
