//! Turning a principal into a credential: a cookie session, a bearer pair
//! (access token + refresh family) or the hybrid (a bearer pair for
//! cookies, with its anti-forgery token). Also the refresh rotation, which
//! issues the next pair of a family.

use crate::audit::kind;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::refresh::RefreshSecret;
use latchkey_core::revocation::Revocation;
use latchkey_core::{Session, SessionHandle, SessionSecret, SessionSecretHash, Timestamp};
use latchkey_store::{Ended, Family, RefreshOutcome};

use crate::access::Subject;
use crate::error::AuthError;
use crate::principal::Principal;
use crate::random;
use crate::service::AuthService;

/// Where a login comes from, as a session records it.
#[derive(Clone, Debug, Default)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A new cookie session.
pub struct IssuedSession {
    /// The cookie value (never stored).
    pub secret: SessionSecret,
    pub session: Session,
    /// What ending the replaced session revoked (to apply on this node).
    pub replaced: Option<Ended>,
}

/// An access token and the refresh token that goes with it.
pub struct BearerPair {
    /// The family's id: the `sid` of its access tokens.
    pub family: String,
    pub access_token: String,
    /// The access token's `exp` (Unix seconds).
    pub expires_at: i64,
    pub refresh: RefreshSecret,
}

/// A bearer pair for cookies, with the anti-forgery token bound to it.
pub struct HybridLogin {
    pub pair: BearerPair,
    pub csrf_token: String,
}

/// What presenting a refresh token led to.
pub enum Refreshed {
    Issued(BearerPair),
    /// A spent token came back after its grace window: the family is
    /// revoked; these revocations must reach the denylist.
    Reused(Vec<Revocation>),
}

/// Whom the access tokens of `family` speak for.
fn subject_of(family: &Family) -> Subject<'_> {
    Subject {
        user: family.user_id,
        sid: &family.id,
        assurance: &family.assurance,
        groups: &[],
    }
}

/// The anti-forgery binding of a hybrid login (its family).
pub fn hybrid_binding(family: &str) -> String {
    format!("family:{family}")
}

impl AuthService {
    /// Starts a session for `principal`, ending the one the browser
    /// presented (`replacing`), if any: a login never reuses a session.
    pub async fn issue_session(
        &self,
        principal: &Principal,
        replacing: Option<SessionSecretHash>,
        remember: bool,
        device: Device,
    ) -> Result<IssuedSession, AuthError> {
        let replaced = match replacing {
            Some(old) => Some(
                self.store
                    .delete_session_by_secret(&old, self.revoke_at())
                    .await?,
            ),
            None => None,
        };
        let secret = SessionSecret::from_random(random()?);
        let session = Session {
            assurance: principal.assurance(),
            ..self.policy.sessions.start(
                SessionHandle::from_random(random()?),
                principal.user.id,
                self.clock.now(),
                remember,
                device.user_agent.as_deref(),
                device.ip,
            )
        };
        self.store.create_session(&secret.hash(), &session).await?;
        self.signed_in(principal, "session").await;
        if let Some(login) = &principal.federated {
            let handle = session.handle.as_str().to_owned();
            let until = session.absolute_expires_at;
            self.record_federated_login(login.clone(), Some(handle), None, until)
                .await?;
        }
        Ok(IssuedSession {
            secret,
            session,
            replaced,
        })
    }

    /// Creates a refresh family for `principal` and issues its first pair.
    pub async fn issue_bearer(&self, principal: &Principal) -> Result<BearerPair, AuthError> {
        let pair = self.new_family(principal, "tokens").await?;
        self.signed_in(principal, "tokens").await;
        Ok(pair)
    }

    /// The security event of a credential issued for `principal`.
    async fn signed_in(&self, principal: &Principal, flavour: &str) {
        let detail = serde_json::json!({ "flavour": flavour, "amr": principal.amr_values() });
        self.audit(kind::LOGIN_SUCCEEDED, Some(principal.user.id), detail)
            .await;
    }

    /// A new family of `kind` for `principal`, recording the device of
    /// the request being served (as a session records its own).
    async fn new_family(&self, principal: &Principal, kind: &str) -> Result<BearerPair, AuthError> {
        let now = self.clock.now();
        let origin = crate::audit::current_origin();
        let family = Family {
            id: URL_SAFE_NO_PAD.encode(random::<16>()?),
            user_id: principal.user.id,
            created_at: now,
            expires_at: now.saturating_add(self.tokens.settings().refresh_ttl),
            revoked_at: None,
            assurance: principal.assurance(),
            kind: kind.to_owned(),
            user_agent: crate::audit::bounded(&origin.user_agent),
            ip: origin.ip.map(|ip| ip.to_string()),
            last_used_at: now,
        };
        let secret = RefreshSecret::from_random(random()?);
        self.store.create_family(&family, &secret.hash()).await?;
        if let Some(login) = &principal.federated {
            let id = family.id.clone();
            self.record_federated_login(login.clone(), None, Some(id), family.expires_at)
                .await?;
        }
        self.pair(&family, secret, now)
    }

    /// As [`issue_bearer`](Self::issue_bearer), with the anti-forgery
    /// token that the hybrid's unsafe requests must carry.
    pub async fn issue_hybrid(&self, principal: &Principal) -> Result<HybridLogin, AuthError> {
        let pair = self.new_family(principal, "cookie_jwt").await?;
        self.signed_in(principal, "cookie_jwt").await;
        let csrf_token = self.csrf.token(&hybrid_binding(&pair.family));
        Ok(HybridLogin { pair, csrf_token })
    }

    /// Rotates `presented` and issues the family's next pair.
    pub async fn refresh(&self, presented: &RefreshSecret) -> Result<Refreshed, AuthError> {
        let successor = presented.successor(self.tokens.refresh_key());
        let grace = self.tokens.settings().refresh_grace;
        let outcome = self
            .store
            .refresh(
                &presented.hash(),
                &successor.hash(),
                self.revoke_at(),
                grace,
            )
            .await?;
        match outcome {
            RefreshOutcome::Rotated { family, issued_at }
            | RefreshOutcome::Grace { family, issued_at } => {
                Ok(Refreshed::Issued(self.pair(&family, successor, issued_at)?))
            }
            RefreshOutcome::Reused {
                family,
                revocations,
            } => {
                tracing::warn!(family = %family.id, user_id = %family.user_id, "refresh token reused: family revoked");
                let detail = serde_json::json!({ "family": family.id });
                self.audit(kind::REFRESH_REUSE_DETECTED, Some(family.user_id), detail)
                    .await;
                Ok(Refreshed::Reused(revocations))
            }
            RefreshOutcome::Expired | RefreshOutcome::Revoked | RefreshOutcome::Unknown => {
                Err(AuthError::InvalidGrant)
            }
        }
    }

    fn pair(
        &self,
        family: &Family,
        refresh: RefreshSecret,
        issued_at: Timestamp,
    ) -> Result<BearerPair, AuthError> {
        let (access_token, expires_at) = self
            .tokens
            .mint_once(subject_of(family), issued_at, &refresh.hash())
            .map_err(|e| AuthError::Internal(format!("signing failed: {e}")))?;
        Ok(BearerPair {
            family: family.id.clone(),
            access_token,
            expires_at,
            refresh,
        })
    }
}
