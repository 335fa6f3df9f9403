//! Raising the assurance of a session or a refresh family after a further
//! authentication (step-up): `amr` gains the new values, `auth_time`
//! moves forward. One read and a conditional write, retried when another
//! writer got there first, so two step-ups at once lose neither's values
//! on any backend, without a lock.

use latchkey_core::{Assurance, Timestamp};
use sqlx::Pool;

use super::query::Arg;
use super::{Columns, Dialect, q};
use crate::{Result, StoreError};

/// How often a write that lost a race is retried before giving up.
const ATTEMPTS: usize = 8;

pub(super) const SESSION_READ: &str = "SELECT amr, auth_time FROM sessions WHERE secret_hash = $1";
pub(super) const SESSION_WRITE: &str = "UPDATE sessions SET amr = $1, auth_time = $2 \
     WHERE secret_hash = $3 AND amr = $4 AND auth_time = $5";
pub(super) const FAMILY_READ: &str =
    "SELECT amr, auth_time FROM refresh_families WHERE id = $1 AND revoked_at IS NULL";
pub(super) const FAMILY_WRITE: &str = "UPDATE refresh_families SET amr = $1, auth_time = $2 \
     WHERE id = $3 AND amr = $4 AND auth_time = $5 AND revoked_at IS NULL";

/// The assurance stored in `row` (columns `amr`, `auth_time`).
pub(super) fn assurance_from_row(row: &impl Columns) -> Result<Assurance> {
    Ok(Assurance {
        amr: Assurance::amr_from_text(&row.text("amr")?),
        auth_time: row.at("auth_time")?,
    })
}

/// Merges `added` at `at` into the row `read`/`write` find by `key`;
/// `None` if there is no such (live) row.
pub(super) async fn raise<D: Dialect>(
    pool: &Pool<D>,
    (read, write): (&'static str, &'static str),
    key: Arg<'_>,
    added: &[String],
    at: Timestamp,
) -> Result<Option<Assurance>> {
    for _ in 0..ATTEMPTS {
        let Some(row) = q(read).bind(key).fetch_optional(pool).await? else {
            return Ok(None);
        };
        let old_text = row.text("amr")?;
        let old = assurance_from_row(&row)?;
        let new = old.merged(added, at);
        let new_text = new.amr_text();
        let written = q(write)
            .bind(new_text.as_str())
            .bind(new.auth_time)
            .bind(key)
            .bind(old_text.as_str())
            .bind(old.auth_time)
            .execute(pool)
            .await?;
        if written > 0 {
            return Ok(Some(new));
        }
    }
    Err(StoreError::Conflict("assurance changed concurrently"))
}
