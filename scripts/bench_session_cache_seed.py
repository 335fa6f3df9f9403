#!/usr/bin/env python3
"""Seeds a migrated latchkey SQLite database with SESSIONS live sessions of
one user, for scripts/bench-session-cache.sh, and prints each session's
cookie value (the unpadded base64url secret) on a line:

    bench_session_cache_seed.py DB SESSIONS > cookies

The secrets are random; the store keeps only their SHA-256, as latchkey
does."""

import base64
import hashlib
import os
import sqlite3
import sys
import time
import uuid


def main() -> None:
    db, sessions = sys.argv[1], int(sys.argv[2])
    now = int(time.time() * 1000)
    hour = 3_600_000
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    user = str(uuid.uuid4())
    con.execute(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, 'cached', '!seeded', ?)",
        (user, now))
    rows, out = [], sys.stdout
    for _ in range(sessions):
        secret = os.urandom(32)
        out.write(base64.urlsafe_b64encode(secret).rstrip(b"=").decode() + "\n")
        handle = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        rows.append((hashlib.sha256(secret).digest(), handle, user, now, now,
                     now + hour, now + 24 * hour, 0, "Mozilla/5.0 (X11; Linux x86_64) bench",
                     "127.0.0.1", "pwd", now))
    con.executemany(
        "INSERT INTO sessions (secret_hash, handle, user_id, created_at, last_seen_at, "
        "idle_expires_at, absolute_expires_at, persistent, user_agent, ip, amr, auth_time) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


if __name__ == "__main__":
    main()
