#!/usr/bin/env bash
# Is latchkey flat as the store grows? The session check, the bearer check
# and refresh on an empty SQLite store, then on one holding 1,000,000 live
# sessions, 100,000 live refresh families and 100,000 denylist entries
# (scripts/bench_store_seed.py), with the memory the denylist takes.
# Needs `wrk`, `taskset` and python3.
#
#   scripts/bench-store.sh
#   SESSIONS=200000 DURATION=4s scripts/bench-store.sh
#
# The server is pinned to core 0 and wrk to core 1, as in scripts/bench.sh;
# "µs/req" is the server's CPU time per request.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
SESSIONS=${SESSIONS:-1000000}
FAMILIES=${FAMILIES:-100000}
REVOCATIONS=${REVOCATIONS:-100000}
PORT=18391
BASE="http://127.0.0.1:$PORT"
CONNECTIONS=32; CLIENT_CORE=1
. scripts/bench-lib.sh
restartable bench-store
printf '[rate_limits.token_refresh]\nper_address = 100000000\n' > "$dir/latchkey.toml"
SERVE_ARGS=(--config "$dir/latchkey.toml")
json='content-type: application/json'
creds='{"username":"bench","password":"correct horse battery staple"}'
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }

rows() { # label: the three rows against the running server
    local cookie access
    cookie=$(curl -sf -D - -o /dev/null "$BASE/v1/session/login" -H "$json" -d "$creds" \
        | sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip')
    access=$(curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    for _ in $(seq 1 64); do
        curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])'
    done > "$dir/refresh.tokens"
    echo "$1 session $(measure "$pid" -H "cookie: $cookie" "$BASE/v1/session")" >> "$dir/results"
    echo "$1 bearer $(measure "$pid" -H "authorization: Bearer $access" "$BASE/v1/me")" >> "$dir/results"
    echo "$1 refresh $(REFRESH_TOKENS="$dir/refresh.tokens" measure "$pid" -s scripts/refresh-chain.lua "$BASE/v1/token/refresh")" >> "$dir/results"
}

start
empty_rss=$(rss_mb)
curl -sf "$BASE/v1/register" -H "$json" -d "$creds" >/dev/null
rows empty
stop
python3 scripts/bench_store_seed.py "$dir/store.db" "$SESSIONS" "$FAMILIES" "$REVOCATIONS"
start
full_rss=$(rss_mb)
rows full
echo
echo "| check | empty store: req/s | µs/req | full store: req/s | µs/req | full / empty (µs/req) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for check in session bearer refresh; do
    read -r _ _ er eu _ < <(grep "^empty $check " "$dir/results")
    read -r _ _ fr fu _ < <(grep "^full $check " "$dir/results")
    awk -v c="$check" -v er="$er" -v eu="$eu" -v fr="$fr" -v fu="$fu" \
        'BEGIN { printf "| %s | %d | %.1f | %d | %.1f | %.2f |\n", c, er, eu, fr, fu, fu / eu }'
done
echo
awk -v e="$empty_rss" -v f="$full_rss" -v n="$REVOCATIONS" \
    'BEGIN { printf "RSS at start: empty store %.1f MB, with %d denylist entries (and the seeded tables) %.1f MB: %.0f bytes per denylist entry at most\n", e, n, f, (f - e) * 1048576 / n }'
echo "non-2xx per row (check label req/s µs/req non-2xx):"; cat "$dir/results"
