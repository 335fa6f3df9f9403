-- Groups a user belongs to (forward auth's access rules, the `groups`
-- claim and `X-Latchkey-Groups`). A group exists while it has a member.
CREATE TABLE user_groups (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_id, group_name)
) STRICT;
