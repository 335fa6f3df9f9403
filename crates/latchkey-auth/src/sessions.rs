//! Ending sessions and refresh families: logging out here, one session
//! from a listing, everywhere, one hybrid or bearer login. Shared by the
//! JSON endpoints, the account page and the CLI.

use crate::audit::kind;
use latchkey_core::{SessionHandle, SessionSecretHash, UserId};
use latchkey_store::{Ended, Keep, RevokeAt, Store};

use crate::error::AuthError;
use crate::service::AuthService;

/// Which sessions to end.
#[derive(Clone, Copy, Debug)]
pub enum EndSessions<'a> {
    /// The session presenting this secret (logging out here).
    Presented(&'a SessionSecretHash),
    /// One session by handle; with `owner`, only if it is theirs.
    One {
        handle: &'a SessionHandle,
        owner: Option<UserId>,
    },
    /// Every session and family of the user, with a not-before (logging
    /// out everywhere).
    Everywhere(UserId),
    /// One refresh family (a hybrid or bearer login).
    Family(&'a str),
}

/// Ends `which`, recording revocations that live as `at` says. What ended
/// is returned so the caller's node can apply it to its denylist at once
/// (empty when nothing matched).
pub async fn end_sessions(
    store: &dyn Store,
    at: RevokeAt<'_>,
    which: EndSessions<'_>,
) -> Result<Ended, AuthError> {
    let ended = match which {
        EndSessions::Presented(secret) => store.delete_session_by_secret(secret, at).await?,
        EndSessions::One { handle, owner } => store.delete_session(handle, owner, at).await?,
        EndSessions::Everywhere(user) => {
            store
                .end_user_sessions(user, Keep::default(), at, true)
                .await?
        }
        EndSessions::Family(id) => store.revoke_family(id, at).await?,
    };
    Ok(ended)
}

impl AuthService {
    /// [`end_sessions`] with this service's store and revocation lifetime,
    /// recorded as a security event when anything ended.
    pub async fn end_sessions(&self, which: EndSessions<'_>) -> Result<Ended, AuthError> {
        let (what, user) = match which {
            EndSessions::Presented(_) => ("here", None),
            EndSessions::One { owner, .. } => ("one", owner),
            EndSessions::Everywhere(user) => ("everywhere", Some(user)),
            EndSessions::Family(_) => ("family", None),
        };
        let describe = self.describe(kind::SESSION_ENDED, user, move |ended| {
            (!ended.is_empty()).then(|| {
                serde_json::json!({
                    "which": what,
                    "sessions": ended.sessions.len(),
                    "families": ended.families.len(),
                })
            })
        });
        let at = self.revoke_at().recording(&describe);
        let ended = end_sessions(self.store.as_ref(), at, which).await?;
        self.log_change(&describe, &ended);
        Ok(ended)
    }
}
