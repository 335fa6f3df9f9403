//! Every live login of a user, whatever its kind: cookie sessions, and
//! the refresh families of bearer and hybrid logins. The account page,
//! `GET /v1/sessions` and `latchkey sessions list` show them alike, and any
//! of them can be ended by its id.

use latchkey_core::{Timestamp, UserId};
use latchkey_store::{Ended, Store};

use crate::error::AuthError;
use crate::service::AuthService;
use crate::sessions::EndSessions;

/// One live login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLogin {
    /// A session's handle or a family's id (both public, neither a secret).
    pub id: String,
    pub user_id: UserId,
    /// `session`, `tokens` (bearer) or `cookie_jwt` (hybrid).
    pub kind: String,
    pub created_at: Timestamp,
    /// A session's last request, or a family's last refresh.
    pub last_used_at: Timestamp,
    /// When it ends unless used (a session) or at the latest (a family).
    pub expires_at: Timestamp,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// How its holder signed in (RFC 8176).
    pub amr: Vec<String>,
}

/// The live logins of `user` (everyone's with `None`) at `now`, most
/// recently used first (for the CLI, which has a store and no service).
pub async fn live_logins(
    store: &dyn Store,
    user: Option<UserId>,
    now: Timestamp,
) -> Result<Vec<LiveLogin>, AuthError> {
    let mut all: Vec<LiveLogin> = store
        .list_sessions(user, now)
        .await?
        .into_iter()
        .map(|s| LiveLogin {
            id: s.handle.to_string(),
            user_id: s.user_id,
            kind: "session".into(),
            created_at: s.created_at,
            last_used_at: s.last_seen_at,
            expires_at: s.idle_expires_at.min(s.absolute_expires_at),
            user_agent: s.user_agent,
            ip: s.ip,
            amr: s.assurance.amr,
        })
        .collect();
    let families = store.list_families(user, now).await?;
    all.extend(families.into_iter().map(|f| LiveLogin {
        id: f.id,
        user_id: f.user_id,
        kind: f.kind,
        created_at: f.created_at,
        last_used_at: f.last_used_at,
        expires_at: f.expires_at,
        user_agent: f.user_agent,
        ip: f.ip,
        amr: f.assurance.amr,
    }));
    // Stable: ties keep sessions (newest first) before families.
    all.sort_by_key(|l| std::cmp::Reverse(l.last_used_at));
    Ok(all)
}

impl AuthService {
    /// The live logins of `user` (everyone's with `None`), most recently
    /// used first.
    pub async fn live_logins(&self, user: Option<UserId>) -> Result<Vec<LiveLogin>, AuthError> {
        live_logins(self.store.as_ref(), user, self.clock.now()).await
    }

    /// Ends the login `id` of `owner` (with `None`, of anyone): a session
    /// by handle, else a refresh family. Empty when there is no such live
    /// login of theirs.
    pub async fn end_login(&self, owner: Option<UserId>, id: &str) -> Result<Ended, AuthError> {
        if let Ok(handle) = latchkey_core::SessionHandle::parse(id) {
            let ended = self
                .end_sessions(EndSessions::One {
                    handle: &handle,
                    owner,
                })
                .await?;
            if !ended.is_empty() {
                return Ok(ended);
            }
        }
        let now = self.clock.now();
        let theirs = self
            .store
            .list_families(owner, now)
            .await?
            .iter()
            .any(|f| f.id == id);
        if !theirs {
            return Ok(Ended::default());
        }
        self.end_sessions(EndSessions::Family(id)).await
    }
}
