//! A user's linked provider identities (list, unlink), and back-channel
//! logout: a provider ends what its session or subject started here.

use latchkey_core::{Timestamp, UserId};
use latchkey_oidc::Provider;
use latchkey_store::{Ended, LinkedIdentity};

use crate::error::AuthError;
use crate::service::AuthService;
use crate::sessions::{EndSessions, end_sessions};

impl AuthService {
    /// The user's linked identities, oldest first.
    pub async fn identities(&self, user: UserId) -> Result<Vec<LinkedIdentity>, AuthError> {
        Ok(self.store.identities_of(user).await?)
    }

    /// Unlinks identity `id` of `owner`, unless it is their last way in (no
    /// password, no passkey, no other identity): `Ok(false)` when there is
    /// no such identity of theirs.
    pub async fn unlink_identity(&self, owner: UserId, id: &str) -> Result<bool, AuthError> {
        let identities = self.store.identities_of(owner).await?;
        if !identities.iter().any(|i| i.id == id) {
            return Ok(false);
        }
        let user = self
            .store
            .user_by_id(owner)
            .await?
            .ok_or(AuthError::UnknownUser)?;
        let passkeys = self.store.passkeys_of(owner).await?;
        let other_ways =
            identities.len() > 1 || user.password_hash.is_some() || !passkeys.is_empty();
        if !other_ways {
            return Err(AuthError::Conflict {
                code: "last_way_in",
                detail: "this identity is the account's last way in; set a password or add a passkey first".into(),
            });
        }
        let unlinked = self.store.unlink_identity(id, owner).await?;
        if unlinked {
            tracing::info!(user = %owner, identity = %id, "provider identity unlinked");
        }
        Ok(unlinked)
    }

    /// OpenID Connect Back-Channel Logout: checks `logout_token` from
    /// `provider` (signature, claims, a `jti` never seen before) and ends
    /// every session and refresh family started through the provider
    /// session (`sid`) and/or subject (`sub`) it names, recording their
    /// revocations as logging out everywhere does.
    pub async fn backchannel_logout(
        &self,
        provider: &Provider,
        logout_token: &str,
    ) -> Result<Ended, AuthError> {
        let now = self.clock.now();
        let claims = provider
            .logout_token(logout_token, now.unix_seconds())
            .await
            .map_err(|e| match e {
                latchkey_oidc::OidcError::Unavailable => AuthError::ProviderUnavailable,
                _ => AuthError::FederationRefused("the logout token was refused"),
            })?;
        let name = &provider.config.name;
        let keep_until =
            Timestamp::from_unix_millis(claims.expires_at.saturating_mul(1000)).max(now);
        if !self
            .store
            .use_logout_token(name, &claims.jti, keep_until)
            .await?
        {
            return Err(AuthError::FederationRefused(
                "the logout token was used already",
            ));
        }
        let logins = self
            .store
            .federated_logins(name, claims.subject.as_deref(), claims.sid.as_deref(), now)
            .await?;
        let mut ended = Ended::default();
        let at = self.revoke_at();
        for login in &logins {
            let one = match (&login.session, &login.family) {
                (Some(handle), _) => match latchkey_core::SessionHandle::parse(handle) {
                    Ok(handle) => {
                        let which = EndSessions::One {
                            handle: &handle,
                            owner: None,
                        };
                        end_sessions(self.store.as_ref(), at, which).await?
                    }
                    Err(_) => continue,
                },
                (None, Some(family)) => {
                    end_sessions(self.store.as_ref(), at, EndSessions::Family(family)).await?
                }
                (None, None) => continue,
            };
            ended.sessions.extend(one.sessions);
            ended.families.extend(one.families);
            ended.revocations.extend(one.revocations);
        }
        tracing::info!(provider = %name, ended = ended.sessions.len() + ended.families.len(), "back-channel logout");
        Ok(ended)
    }
}
