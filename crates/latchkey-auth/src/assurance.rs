//! Step-up and recent sign-ins: raising the assurance of a credential that
//! already exists after a further authentication, and asking whether a
//! sign-in is recent enough to stand in for the password.
//!
//! A session or refresh family records its `amr` and `auth_time` (see
//! `latchkey_core::assurance`); `reauthenticated` merges the new methods
//! in and moves `auth_time` to now, in the store, so every node and every
//! access token minted afterwards (a refresh, a BFF or forward-auth token)
//! carries the raised values.

use latchkey_core::{Assurance, SessionSecretHash, Timestamp};

use crate::error::AuthError;
use crate::principal::{Method, Principal};
use crate::service::AuthService;

/// The credential a step-up raises.
#[derive(Clone, Copy, Debug)]
pub enum Reauthenticate<'a> {
    /// A cookie session, by the hash of its secret.
    Session(&'a SessionSecretHash),
    /// A refresh family (bearer or hybrid), by id: the `sid` of its tokens.
    Family(&'a str),
}

impl AuthService {
    /// The holder of `credential` has just authenticated again with
    /// `methods` (`multi_factor`: one of them proved two factors, as a
    /// user-verified passkey does): merges their `amr` values into the
    /// credential's and sets its `auth_time` to now. The raised assurance,
    /// or `None` if the credential has ended.
    pub async fn reauthenticated(
        &self,
        credential: Reauthenticate<'_>,
        methods: &[Method],
        multi_factor: bool,
    ) -> Result<Option<Assurance>, AuthError> {
        let mut added: Vec<String> = methods.iter().map(|m| m.amr().to_owned()).collect();
        if multi_factor {
            added.push(latchkey_core::assurance::MFA.to_owned());
        }
        let now = self.clock.now();
        let raised = match credential {
            Reauthenticate::Session(secret) => {
                self.store
                    .reauthenticate_session(secret, &added, now)
                    .await?
            }
            Reauthenticate::Family(id) => self.store.reauthenticate_family(id, &added, now).await?,
        };
        Ok(raised)
    }

    /// Whether a sign-in at `auth_time` happened within
    /// [`AuthPolicy::recent_auth`](crate::AuthPolicy::recent_auth) of now:
    /// recent enough to stand in for the password (removing a second
    /// factor). A time ahead of the clock does not count.
    pub fn signed_in_recently(&self, auth_time: Timestamp) -> bool {
        latchkey_core::assurance::recent(auth_time, self.clock.now(), self.policy.recent_auth)
    }

    /// [`signed_in_recently`](Self::signed_in_recently) for what a session
    /// or refresh family records.
    pub fn recently_authenticated(&self, assurance: &Assurance) -> bool {
        self.signed_in_recently(assurance.auth_time)
    }

    /// [`signed_in_recently`](Self::signed_in_recently) for a principal.
    pub fn principal_is_recent(&self, principal: &Principal) -> bool {
        self.signed_in_recently(principal.auth_time)
    }

    /// [`signed_in_recently`](Self::signed_in_recently) for an access
    /// token's `auth_time` claim (seconds; absent is never recent).
    pub fn token_is_recent(&self, auth_time: Option<i64>) -> bool {
        auth_time
            .and_then(|s| s.checked_mul(1000))
            .is_some_and(|ms| self.signed_in_recently(Timestamp::from_unix_millis(ms)))
    }
}
