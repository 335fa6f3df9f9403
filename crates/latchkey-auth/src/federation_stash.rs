//! A provider sign-in waiting for the account's second factor is kept
//! beside its pending login, so the credential the second step issues is
//! recorded as the provider session's (and a back-channel logout ends it);
//! and the recording itself.

use latchkey_core::Timestamp;
use latchkey_store::{Ceremony, FederatedLogin};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::federation::MAX_PENDING;
use crate::passkeys::hex;
use crate::second_factor::{MFA_TOKEN_TTL, token_hash};
use crate::service::AuthService;

/// The ceremony kind of a provider sign-in waiting for a second step.
const STASH: &str = "oidc-mfa";

/// A provider sign-in kept while its second step is pending.
#[derive(Serialize, Deserialize)]
struct Stashed {
    provider: String,
    subject: String,
    sid: Option<String>,
}

impl From<&FederatedLogin> for Stashed {
    fn from(l: &FederatedLogin) -> Self {
        Self {
            provider: l.provider.clone(),
            subject: l.subject.clone(),
            sid: l.sid.clone(),
        }
    }
}

impl AuthService {
    /// Keeps `login` beside the pending login behind `mfa_token` (a
    /// provider sign-in waiting for the account's second factor): the
    /// credential its second step issues is recorded as the provider's.
    pub async fn stash_federated_login(
        &self,
        mfa_token: &str,
        login: &FederatedLogin,
    ) -> Result<(), AuthError> {
        let hash = token_hash(mfa_token).ok_or(AuthError::InvalidMfaToken)?;
        let now = self.clock.now();
        let stashed = Ceremony {
            id: hex(&hash),
            kind: STASH.into(),
            user_id: None,
            state: serde_json::to_string(&Stashed::from(login))
                .map_err(|e| AuthError::Internal(format!("stashed sign-in: {e}")))?,
            expires_at: now.saturating_add(MFA_TOKEN_TTL),
        };
        if !self.store.put_ceremony(&stashed, MAX_PENDING, now).await? {
            return Err(AuthError::Overloaded);
        }
        Ok(())
    }

    /// The provider sign-in stashed beside the pending login `hash`, taken.
    pub(crate) async fn take_stashed_login(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<FederatedLogin>, AuthError> {
        let now = self.clock.now();
        let Some(c) = self.store.take_ceremony(&hex(hash), STASH, now).await? else {
            return Ok(None);
        };
        let s: Stashed = serde_json::from_str(&c.state)
            .map_err(|e| AuthError::Internal(format!("stashed sign-in: {e}")))?;
        Ok(Some(FederatedLogin {
            provider: s.provider,
            subject: s.subject,
            sid: s.sid,
            session: None,
            family: None,
            expires_at: now,
        }))
    }

    /// Records that `login` started session `session` or family `family`,
    /// living until `expires_at`.
    pub async fn record_federated_login(
        &self,
        mut login: FederatedLogin,
        session: Option<String>,
        family: Option<String>,
        expires_at: Timestamp,
    ) -> Result<(), AuthError> {
        login.session = session;
        login.family = family;
        login.expires_at = expires_at;
        Ok(self.store.record_federated_login(&login).await?)
    }
}
