//! Admin keys, the user listing, disabling and deleting users.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use super::accounts::user_from_row;
use super::sessions::end_in;
use super::{Columns, Dialect, SqlStore, commit, q};
use crate::admin::{Admin, AdminKeyRecord, UserQuery};
use crate::{Ended, Keep, Result, RevokeAt, User};

fn key_from_row(row: &impl Columns) -> Result<AdminKeyRecord> {
    Ok(AdminKeyRecord {
        id: row.text("id")?,
        name: row.text("name")?,
        key_hash: row.bytes("key_hash")?,
        scopes: row
            .text("scopes")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        created_at: row.at("created_at")?,
        last_used_at: row.opt_at("last_used_at")?,
        revoked_at: row.opt_at("revoked_at")?,
    })
}

/// `text` as a `LIKE` pattern matching it anywhere (`\` escapes).
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[async_trait]
impl<D: Dialect> Admin for SqlStore<D> {
    async fn create_admin_key(&self, k: &AdminKeyRecord) -> Result<()> {
        q(
            "INSERT INTO admin_keys (id, name, key_hash, scopes, created_at) \
           VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(k.id.as_str())
        .bind(k.name.as_str())
        .bind(k.key_hash.as_slice())
        .bind(k.scopes.join(" ").as_str())
        .bind(k.created_at)
        .unique("an admin key with this name exists")
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn admin_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<AdminKeyRecord>> {
        q("SELECT * FROM admin_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(key_from_row)
            .transpose()
    }

    async fn admin_keys(&self) -> Result<Vec<AdminKeyRecord>> {
        q("SELECT * FROM admin_keys ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn revoke_admin_key(&self, name: &str, at: Timestamp) -> Result<bool> {
        let n = q("UPDATE admin_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn touch_admin_key(&self, id: &str, at: Timestamp) -> Result<()> {
        q("UPDATE admin_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn list_users(&self, query: UserQuery<'_>) -> Result<Vec<User>> {
        let pattern = query.search.map(contains_pattern);
        q("SELECT * FROM users \
           WHERE ($1 IS NULL OR LOWER(username) LIKE $1 ESCAPE '\\') \
           AND ($2 IS NULL OR username > $2) \
           ORDER BY username LIMIT $3")
        .bind(pattern.as_deref())
        .bind(query.after)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn set_user_disabled(
        &self,
        user: UserId,
        disabled: bool,
        at: RevokeAt<'_>,
    ) -> Result<Option<Ended>> {
        let mut tx = self.begin().await?;
        let changed = q("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(at.now))
            .bind(&user.to_string())
            .execute(&mut tx)
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        let ended = if disabled {
            end_in(&mut tx, user, Keep::default(), at, true).await?
        } else {
            let ended = Ended::default();
            super::audit::record_change(&mut tx, at, &ended).await?;
            ended
        };
        commit(tx).await?;
        Ok(Some(ended))
    }

    async fn delete_user(&self, user: UserId, at: RevokeAt<'_>) -> Result<Option<Ended>> {
        let mut tx = self.begin().await?;
        // The revocations are recorded before the rows they name go (the
        // denylist has no reference to users, so they outlive them).
        let ended = end_in(&mut tx, user, Keep::default(), at, true).await?;
        let deleted = q("DELETE FROM users WHERE id = $1")
            .bind(&user.to_string())
            .execute(&mut tx)
            .await?;
        if deleted == 0 {
            return Ok(None);
        }
        commit(tx).await?;
        Ok(Some(ended))
    }
}
