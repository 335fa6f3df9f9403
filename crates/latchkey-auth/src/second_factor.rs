//! The second step of a login: a challenged password login becomes a
//! pending login behind an opaque, single-use `mfa_token` (5 minutes,
//! bound to the flavour and to the client), and a TOTP or recovery code
//! completes it.
//!
//! **Invariant:** the token is stored only as its SHA-256; a pending login
//! completes at most once (consumed in one transaction with its proof),
//! five wrong codes end it, and every second step is counted by the login
//! throttle like a password attempt, before any code is checked.

use crate::audit::kind;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::{UserId, sha256};
use latchkey_store::{Finished, PendingLogin, Proof, User};
use subtle::ConstantTimeEq as _;

use crate::error::AuthError;
use crate::issue::Device;
use crate::login::{Keys, throttle_keys};
use crate::principal::{Challenge, Method, Principal};
use crate::service::AuthService;
use crate::{random, recovery, totp};

/// How long an `mfa_token` lives.
pub const MFA_TOKEN_TTL: Duration = Duration::from_secs(300);
/// Wrong codes that end an `mfa_token`.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// Which login a pending login finishes as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `POST /v1/session/login`: a cookie session.
    Session,
    /// `POST /v1/token/login`: a bearer pair.
    Tokens,
    /// `POST /v1/cookie/login`: the hybrid cookies.
    CookieJwt,
    /// The `/login` form: a cookie session and a redirect.
    Page,
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Tokens => "tokens",
            Self::CookieJwt => "cookie_jwt",
            Self::Page => "page",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Session, Self::Tokens, Self::CookieJwt, Self::Page]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// A completed second step: the principal and how its login ends.
#[derive(Clone, Debug)]
pub struct SecondStep {
    pub principal: Principal,
    pub flavour: Flavour,
    pub remember: bool,
}

/// A live pending login, opened for its second step.
pub(crate) struct Opened {
    pub(crate) hash: [u8; 32],
    pub(crate) pending: PendingLogin,
    pub(crate) flavour: Flavour,
    pub(crate) user: User,
}

/// The methods of a login's first step (as its pending login recorded
/// them: `pwd`, `email`), then `method`.
fn first_steps(passed: &str, method: Method) -> Vec<Method> {
    let mut methods: Vec<Method> = passed
        .split_whitespace()
        .filter_map(|v| match v {
            "pwd" => Some(Method::Password),
            "email" => Some(Method::Email),
            "fed" => Some(Method::Federated),
            _ => None,
        })
        .collect();
    if methods.is_empty() {
        methods.push(Method::Password);
    }
    methods.push(method);
    methods
}

/// What binds a pending login to its client: the address and user agent.
fn client_binding(client: &Device) -> [u8; 32] {
    let ip = client.ip.as_deref().unwrap_or("");
    let ua = client.user_agent.as_deref().unwrap_or("");
    sha256(format!("{ip}\n{ua}").as_bytes())
}

pub(crate) fn token_hash(token: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    (bytes.len() == 32).then(|| sha256(&bytes))
}

impl AuthService {
    /// The second factors that can complete a login of `user` (empty: a
    /// password alone suffices). A passkey counts (`webauthn`) while passkeys
    /// are enabled.
    pub async fn second_factors_of(&self, user: UserId) -> Result<Vec<Method>, AuthError> {
        let active = self
            .store
            .totp_factor(user)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some());
        let mut methods = if active {
            vec![Method::Totp, Method::RecoveryCode]
        } else {
            Vec::new()
        };
        if self.webauthn.is_some() && !self.store.passkeys_of(user).await?.is_empty() {
            methods.push(Method::Passkey { hardware: false });
        }
        Ok(methods)
    }

    /// Stores `challenge` as a pending login that ends as `flavour`, bound
    /// to `client`, and sets its `mfa_token`.
    pub async fn start_pending_login(
        &self,
        challenge: &mut Challenge,
        flavour: Flavour,
        remember: bool,
        client: &Device,
    ) -> Result<String, AuthError> {
        let secret = random::<32>()?;
        let now = self.clock.now();
        let passed: Vec<&str> = challenge.passed.iter().map(|m| m.amr()).collect();
        let login = PendingLogin {
            user_id: challenge.user_id,
            flavour: flavour.as_str().into(),
            remember,
            client: client_binding(client).to_vec(),
            passed: passed.join(" "),
            attempts: 0,
            created_at: now,
            expires_at: now.saturating_add(MFA_TOKEN_TTL),
        };
        self.store
            .create_pending_login(&sha256(&secret), &login)
            .await?;
        let token = URL_SAFE_NO_PAD.encode(secret);
        challenge.token = Some(token.clone());
        Ok(token)
    }

    /// Completes the pending login behind `mfa_token` with `code` (a TOTP
    /// code or a recovery code) from `client`.
    pub async fn verify_second_factor(
        &self,
        mfa_token: &str,
        code: &str,
        client: &Device,
    ) -> Result<SecondStep, AuthError> {
        let opened = self.open_pending(mfa_token, client).await?;
        let keys = self.count_second_step(&opened.user, client).await?;
        let accepted = match self.classify(&opened.user, code).await? {
            Some((presented, method)) => self
                .consume_pending(&opened.hash, presented.proof())
                .await?
                .then_some(method),
            None => None,
        };
        self.conclude(opened, &keys, accepted).await
    }

    /// The live pending login behind `mfa_token`, bound to `client`.
    pub(crate) async fn open_pending(
        &self,
        mfa_token: &str,
        client: &Device,
    ) -> Result<Opened, AuthError> {
        let hash = token_hash(mfa_token).ok_or(AuthError::InvalidMfaToken)?;
        let pending = self
            .store
            .pending_login(&hash, self.clock.now())
            .await?
            .ok_or(AuthError::InvalidMfaToken)?;
        let bound = client_binding(client).ct_eq(pending.client.as_slice());
        let flavour = Flavour::parse(&pending.flavour);
        let (true, Some(flavour)) = (bool::from(bound), flavour) else {
            return Err(AuthError::InvalidMfaToken);
        };
        let user = self
            .store
            .user_by_id(pending.user_id)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or(AuthError::InvalidMfaToken)?;
        Ok(Opened {
            hash,
            pending,
            flavour,
            user,
        })
    }

    /// Counts a second step with the login throttle, before any proof is
    /// checked; the keys to settle on success.
    pub(crate) async fn count_second_step(
        &self,
        user: &User,
        client: &Device,
    ) -> Result<Keys, AuthError> {
        let address = client.ip.as_deref().and_then(|ip| ip.parse().ok());
        let keys = throttle_keys(Some(&user.username), address);
        self.count_attempt(&keys).await?;
        Ok(keys)
    }

    /// Consumes the pending login with `proof` (once): whether the proof
    /// was accepted.
    pub(crate) async fn consume_pending(
        &self,
        hash: &[u8; 32],
        proof: Proof<'_>,
    ) -> Result<bool, AuthError> {
        let now = self.clock.now();
        match self.store.finish_pending_login(hash, proof, now).await? {
            Finished::Done(_) => Ok(true),
            Finished::Refused => Ok(false),
            Finished::Gone => Err(AuthError::InvalidMfaToken),
        }
    }

    /// Ends a second step: a refusal is a strike against the pending login
    /// (five end it); an accepted method completes the login.
    pub(crate) async fn conclude(
        &self,
        opened: Opened,
        keys: &Keys,
        accepted: Option<Method>,
    ) -> Result<SecondStep, AuthError> {
        let Some(method) = accepted else {
            self.store
                .count_pending_failure(&opened.hash, MAX_CODE_ATTEMPTS)
                .await?;
            let detail = serde_json::json!({ "flavour": opened.flavour.as_str() });
            self.audit(kind::MFA_FAILED, Some(opened.user.id), detail)
                .await;
            return Err(AuthError::InvalidCode);
        };
        self.settle(keys).await?;
        used(&opened.user, method);
        let now = self.clock.now();
        // The first step was a password, an e-mailed code or a provider
        // sign-in (whose provider session is kept beside the pending login).
        let federated = if opened.pending.passed.split(' ').any(|m| m == "fed") {
            self.take_stashed_login(&opened.hash).await?
        } else {
            None
        };
        Ok(SecondStep {
            principal: Principal {
                federated,
                ..Principal::new(
                    opened.user,
                    first_steps(&opened.pending.passed, method),
                    now,
                )
            },
            flavour: opened.flavour,
            remember: opened.pending.remember,
        })
    }

    //// What `code` can prove for `user`, before the store accepts it once:
    /// a recovery code's hash, or the step a right TOTP code matched.
    /// `None` for a code that is wrong already.
    pub(crate) async fn classify(
        &self,
        user: &User,
        code: &str,
    ) -> Result<Option<(Presented, Method)>, AuthError> {
        let code = code.trim();
        if let Some(h) = recovery::hash(code) {
            return Ok(Some((Presented::Code(h), Method::RecoveryCode)));
        }
        let Some(factor) = self.store.totp_factor(user.id).await? else {
            return Ok(None);
        };
        if factor.confirmed_at.is_none() {
            return Ok(None);
        }
        let secret = totp::open_secret(&factor, self.sealing.as_ref())?;
        Ok(
            totp::check(&secret, code, self.clock.now())
                .map(|s| (Presented::Step(s), Method::Totp)),
        )
    }
}

/// A code that may prove a factor, for the store to accept once.
pub(crate) enum Presented {
    Step(i64),
    Code([u8; 32]),
}

impl Presented {
    pub(crate) fn proof(&self) -> Proof<'_> {
        match self {
            Self::Step(s) => Proof::TotpStep(*s),
            Self::Code(h) => Proof::RecoveryCode(h),
        }
    }
}

/// Logs what was used (a recovery code is worth an audit line).
pub(crate) fn used(user: &User, method: Method) {
    if method == Method::RecoveryCode {
        tracing::info!(user_id = %user.id, "recovery code used");
    }
}

#[cfg(test)]
mod tests;
