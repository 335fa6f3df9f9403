//! Group membership.

use async_trait::async_trait;
use latchkey_core::UserId;

use super::{Columns, Dialect, SqlStore, q};
use crate::Result;
use crate::groups::Groups;

#[async_trait]
impl<D: Dialect> Groups for SqlStore<D> {
    async fn add_to_group(&self, user: UserId, group: &str) -> Result<bool> {
        let done = q(
            "INSERT INTO user_groups (user_id, group_name) VALUES ($1, $2) \
             ON CONFLICT (user_id, group_name) DO NOTHING",
        )
        .bind(&user.to_string())
        .bind(group)
        .execute(&self.pool)
        .await?;
        Ok(done == 1)
    }

    async fn remove_from_group(&self, user: UserId, group: &str) -> Result<bool> {
        let done = q("DELETE FROM user_groups WHERE user_id = $1 AND group_name = $2")
            .bind(&user.to_string())
            .bind(group)
            .execute(&self.pool)
            .await?;
        Ok(done == 1)
    }

    async fn groups_of(&self, user: UserId) -> Result<Vec<String>> {
        let mut names = q("SELECT group_name FROM user_groups WHERE user_id = $1")
            .bind(&user.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.text("group_name"))
            .collect::<Result<Vec<_>>>()?;
        // Byte order whatever the database's collation.
        names.sort();
        Ok(names)
    }
}
