#!/usr/bin/env python3
"""Fills a latchkey SQLite database (already migrated: start latchkey on it
once first) with live state, for scripts/bench-store.sh:

    bench_store_seed.py DB SESSIONS FAMILIES REVOCATIONS

SESSIONS live sessions and FAMILIES live refresh families (each with one
unspent refresh token) spread over 1,000 users, and REVOCATIONS denylist
entries (`jti`) that expire in an hour. Secrets are random and thrown
away: these rows only make the tables and the denylist the size a busy
deployment's would be."""

import base64
import hashlib
import os
import sqlite3
import sys
import time
import uuid


def main() -> None:
    db, sessions, families, revocations = sys.argv[1], *map(int, sys.argv[2:5])
    now = int(time.time() * 1000)
    hour = 3_600_000
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    users = [str(uuid.uuid4()) for _ in range(1000)]
    con.executemany(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, '!seeded', ?)",
        [(u, f"seed{i}", now) for i, u in enumerate(users)],
    )

    def batches(n, make, size=50_000):
        for start in range(0, n, size):
            yield [make(i) for i in range(start, min(n, start + size))]

    def session(i):
        secret = os.urandom(32)
        handle = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        return (hashlib.sha256(secret).digest(), handle, users[i % 1000],
                now, now, now + hour, now + 24 * hour, 0, "seed", "127.0.0.1", "pwd", now)

    for rows in batches(sessions, session):
        con.executemany(
            "INSERT INTO sessions (secret_hash, handle, user_id, created_at, last_seen_at, "
            "idle_expires_at, absolute_expires_at, persistent, user_agent, ip, amr, auth_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for rows in batches(families, lambda i: (f"seedfam{i}", users[i % 1000], now, now + 24 * hour)):
        con.executemany(
            "INSERT INTO refresh_families (id, user_id, created_at, expires_at, amr, auth_time, "
            "kind, last_used_at) VALUES (?, ?, ?, ?, 'pwd', ?, 'tokens', ?)",
            [(f, u, c, e, c, c) for f, u, c, e in rows])
        con.executemany(
            "INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES (?, ?, ?)",
            [(os.urandom(32), f, c) for f, _, c, _ in rows])
    for rows in batches(revocations, lambda i: ("jti", os.urandom(12).hex(), now, now + hour)):
        con.executemany(
            "INSERT INTO revocations (kind, value, at, expires_at) VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


if __name__ == "__main__":
    main()
