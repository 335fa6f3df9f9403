//! Signing in through an OpenID Connect provider: the start (a pending
//! authorisation bound to the browser), the callback (the identity the
//! provider vouches for becomes a principal, a new user or a new link),
//! the user's linked identities, and back-channel logout.
//!
//! **Invariant:** an identity is found only by `(provider, sub)`; an
//! e-mail address never links or finds an account (account takeover).
//! A pending authorisation is taken once (by whichever node gets the
//! callback first), within 10 minutes, and only with the browser cookie
//! whose SHA-256 it stores.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::{Timestamp, UserId, Username, sha256};
use latchkey_oidc::{IdentityClaims, OidcError, Provider};
use latchkey_store::{Ceremony, FederatedLogin, LinkedIdentity, StoreError, User};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::error::AuthError;
use crate::passkeys::hex;
use crate::principal::{Authentication, Challenge, Method, Principal};
use crate::random;
use crate::second_factor::Flavour;
use crate::service::AuthService;

/// How long a pending authorisation waits for its callback.
pub const AUTHORISATION_TTL: Duration = Duration::from_secs(600);
/// Pending authorisations kept at most (all providers): the start is open
/// to strangers, so its storage is bounded.
pub const MAX_PENDING: u64 = 10_000;
/// The ceremony kind of a pending authorisation.
const KIND: &str = "oidc";
/// Attempts at a free username for a new user before a random suffix.
const NAME_TRIES: u32 = 5;

/// What the callback needs, stored under the SHA-256 of `state`.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    nonce: String,
    pkce_verifier: String,
    return_to: String,
    flavour: String,
    /// SHA-256 (hex) of the browser cookie's value.
    binding: String,
}

/// A started sign-in: where to send the browser, and the cookie value
/// that binds the callback to it.
pub struct Started {
    pub url: String,
    pub binding: String,
}

/// A finished callback.
pub struct Federated {
    /// The principal, or a challenge for the account's second factor.
    pub authentication: Authentication,
    pub flavour: Flavour,
    pub return_to: String,
    /// What to record once the credential exists.
    pub login: FederatedLogin,
    /// Whether the identity was linked to the signed-in user just now.
    pub linked: bool,
}

fn refused(e: OidcError) -> AuthError {
    match e {
        OidcError::Unavailable => AuthError::ProviderUnavailable,
        OidcError::Exchange => AuthError::FederationRefused("the provider refused the code"),
        OidcError::Token(_) => AuthError::FederationRefused("the ID token was refused"),
        OidcError::Config(_) => AuthError::FederationRefused("provider configuration"),
    }
}

impl AuthService {
    /// Starts a sign-in at `provider` ending as `flavour` at `return_to`;
    /// with `linking`, the identity will be linked to that (signed-in) user.
    pub async fn start_federated(
        &self,
        provider: &Provider,
        flavour: Flavour,
        return_to: String,
        linking: Option<UserId>,
    ) -> Result<Started, AuthError> {
        let authorization = provider.authorize().map_err(refused)?;
        let binding = URL_SAFE_NO_PAD.encode(random::<32>()?);
        let pending = Pending {
            provider: provider.config.name.clone(),
            nonce: authorization.nonce,
            pkce_verifier: authorization.pkce_verifier,
            return_to,
            flavour: flavour.as_str().into(),
            binding: hex(&sha256(binding.as_bytes())),
        };
        let now = self.clock.now();
        let ceremony = Ceremony {
            id: hex(&sha256(authorization.state.as_bytes())),
            kind: KIND.into(),
            user_id: linking,
            state: serde_json::to_string(&pending)
                .map_err(|e| AuthError::Internal(format!("pending authorisation: {e}")))?,
            expires_at: now.saturating_add(AUTHORISATION_TTL),
        };
        if !self.store.put_ceremony(&ceremony, MAX_PENDING, now).await? {
            tracing::warn!("too many provider sign-ins waiting; refused one");
            return Err(AuthError::Overloaded);
        }
        Ok(Started {
            url: authorization.url,
            binding,
        })
    }

    /// The callback: takes the pending authorisation `state` (bound to the
    /// browser by `binding`), exchanges `code` and decides who signed in.
    pub async fn finish_federated(
        &self,
        provider: &Provider,
        state: &str,
        code: &str,
        binding: Option<&str>,
        allow_registration: bool,
    ) -> Result<Federated, AuthError> {
        let (pending, linking) = self.take_pending(provider, state, binding).await?;
        let now = self.clock.now();
        let claims = provider
            .exchange(
                code,
                &pending.pkce_verifier,
                &pending.nonce,
                now.unix_seconds(),
            )
            .await
            .map_err(refused)?;
        let flavour = Flavour::parse(&pending.flavour)
            .ok_or(AuthError::FederationRefused("unknown flavour"))?;
        let (user, linked) = self
            .federated_user(provider, &claims, linking, allow_registration)
            .await?;
        let login = FederatedLogin {
            provider: provider.config.name.clone(),
            subject: claims.subject.clone(),
            sid: claims.sid.clone(),
            session: None,
            family: None,
            expires_at: now,
        };
        let mut authentication = self
            .federated_authentication(user, linking.is_some(), now)
            .await?;
        if let Authentication::Principal(p) = &mut authentication {
            p.federated = Some(login.clone());
        }
        tracing::info!(provider = %provider.config.name, linked, "provider sign-in");
        Ok(Federated {
            authentication,
            flavour,
            return_to: pending.return_to,
            login,
            linked,
        })
    }

    async fn take_pending(
        &self,
        provider: &Provider,
        state: &str,
        binding: Option<&str>,
    ) -> Result<(Pending, Option<UserId>), AuthError> {
        let invalid = AuthError::FederationRefused("unknown, used or expired state");
        let id = hex(&sha256(state.as_bytes()));
        let ceremony = self
            .store
            .take_ceremony(&id, KIND, self.clock.now())
            .await?
            .ok_or(invalid)?;
        let pending: Pending = serde_json::from_str(&ceremony.state)
            .map_err(|e| AuthError::Internal(format!("stored authorisation: {e}")))?;
        let presented = hex(&sha256(binding.unwrap_or("").as_bytes()));
        let bound: bool = presented
            .as_bytes()
            .ct_eq(pending.binding.as_bytes())
            .into();
        if !bound || binding.is_none() {
            return Err(AuthError::FederationRefused(
                "the browser is not the one that started",
            ));
        }
        if pending.provider != provider.config.name {
            return Err(AuthError::FederationRefused("another provider's state"));
        }
        Ok((pending, ceremony.user_id))
    }

    /// The user behind `claims`: the linked one, the signed-in one (now
    /// linked), or a new one. Whether a link was made.
    async fn federated_user(
        &self,
        provider: &Provider,
        claims: &IdentityClaims,
        linking: Option<UserId>,
        allow_registration: bool,
    ) -> Result<(User, bool), AuthError> {
        let name = &provider.config.name;
        let found = self
            .store
            .identity_by_subject(name, &claims.subject)
            .await?;
        match (found, linking) {
            (Some(identity), Some(me)) if identity.user_id != me => Err(AuthError::Conflict {
                code: "identity_linked",
                detail: "this provider identity is linked to another account".into(),
            }),
            (Some(identity), _) => Ok((self.existing_user(identity.user_id).await?, false)),
            (None, Some(me)) => {
                let user = self.existing_user(me).await?;
                let identity = self.identity(provider, claims, me)?;
                self.store.link_identity(&identity).await?;
                tracing::info!(user = %me, provider = %name, "provider identity linked");
                Ok((user, true))
            }
            (None, None) if !allow_registration => Err(AuthError::RegistrationDisabled),
            (None, None) => Ok((self.create_federated_user(provider, claims).await?, false)),
        }
    }

    async fn existing_user(&self, id: UserId) -> Result<User, AuthError> {
        // A disabled account signs in no way at all.
        self.store
            .user_by_id(id)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or(AuthError::FederationRefused("the account is gone"))
    }

    fn identity(
        &self,
        provider: &Provider,
        claims: &IdentityClaims,
        user: UserId,
    ) -> Result<LinkedIdentity, AuthError> {
        Ok(LinkedIdentity {
            id: URL_SAFE_NO_PAD.encode(random::<12>()?),
            user_id: user,
            provider: provider.config.name.clone(),
            subject: claims.subject.clone(),
            email: claims.text(&provider.config.email_claim).map(str::to_owned),
            created_at: self.clock.now(),
        })
    }

    /// A new user without a password, named after the mapped claim (made
    /// valid and unique), with the identity linked in the same write.
    async fn create_federated_user(
        &self,
        provider: &Provider,
        claims: &IdentityClaims,
    ) -> Result<User, AuthError> {
        let base = username_base(
            claims.text(&provider.config.username_claim),
            &provider.config.name,
        );
        for attempt in 0..=NAME_TRIES {
            let candidate = match attempt {
                0 => base.clone(),
                n if n < NAME_TRIES => format!("{base}-{}", n + 1),
                _ => format!("{base}-{}", hex(&random::<4>()?)),
            };
            let username = Username::parse(&candidate)
                .map_err(|_| AuthError::Internal("derived username is invalid".into()))?;
            let user = User {
                id: UserId::from_random(random()?),
                username,
                password_hash: None,
                created_at: self.clock.now(),
                disabled_at: None,
            };
            let identity = self.identity(provider, claims, user.id)?;
            match self.store.create_federated_user(&user, &identity).await {
                Ok(()) => {
                    tracing::info!(user = %user.id, provider = %provider.config.name, "user created from a provider identity");
                    return Ok(user);
                }
                Err(StoreError::Conflict("username taken")) => continue,
                // Linked meanwhile by a concurrent first sign-in: use it.
                Err(StoreError::Conflict(_)) => {
                    let linked = self
                        .store
                        .identity_by_subject(&provider.config.name, &claims.subject)
                        .await?
                        .ok_or(AuthError::FederationRefused("identity conflict"))?;
                    return self.existing_user(linked.user_id).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Internal("no free username".into()))
    }

    /// A principal with `amr` `fed`, or a challenge when the account has a
    /// second factor (not when linking: the user is signed in already).
    async fn federated_authentication(
        &self,
        user: User,
        linking: bool,
        now: Timestamp,
    ) -> Result<Authentication, AuthError> {
        let factors = if linking {
            Vec::new()
        } else {
            self.second_factors_of(user.id).await?
        };
        if factors.is_empty() {
            return Ok(Authentication::Principal(Principal::new(
                user,
                vec![Method::Federated],
                now,
            )));
        }
        Ok(Authentication::Challenge(Challenge {
            user_id: user.id,
            token: None,
            passed: vec![Method::Federated],
            accepts: factors,
        }))
    }
}

/// A valid username from a claim's value (or `provider-user`).
fn username_base(claim: Option<&str>, provider: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@+".contains(c);
    let cleaned: String = claim
        .unwrap_or("")
        .chars()
        .filter(|c| allowed(*c))
        .take(Username::MAX_LEN - 10)
        .collect();
    if cleaned.is_empty() {
        format!("{provider}-user")
    } else {
        cleaned.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_come_from_the_claim_cleaned_and_bounded() {
        assert_eq!(username_base(Some("Ada Lovelace"), "acme"), "adalovelace");
        assert_eq!(username_base(Some("äöü"), "acme"), "acme-user");
        assert_eq!(username_base(None, "acme"), "acme-user");
        assert!(username_base(Some(&"x".repeat(200)), "acme").len() <= Username::MAX_LEN - 10);
    }
}
