#!/usr/bin/env bash
# Memory per cached session: how much latchkey's resident set grows when
# its session cache fills. Seeds SESSIONS live sessions with known
# secrets into a fresh SQLite store (scripts/bench_session_cache_seed.py),
# then checks them all through GET /v1/session and compares the RSS with
# a run of as many checks of one session. Needs `wrk`, `taskset`, python3.
#
#   scripts/bench-session-cache.sh
#   SESSIONS=50000 scripts/bench-session-cache.sh
#
# The cache holds 100,000 entries at most and each for 10 s at most
# (latchkey-http's state.rs), so the checks are made within 6 seconds and
# RSS is read right after them. "requests" shows whether every session
# was checked.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-100000}
PORT=18392
BASE="http://127.0.0.1:$PORT"
CONNECTIONS=8; CLIENT_CORE=1
. scripts/bench-lib.sh
restartable bench-session-cache
SERVE_ARGS=()
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

start; stop   # migrations
python3 scripts/bench_session_cache_seed.py "$dir/store.db" "$SESSIONS" > "$dir/cookies"
cat > "$dir/cycle.lua" <<'LUA'
local cookies, n, i = {}, 0, 0
for line in io.lines(os.getenv("COOKIES")) do n = n + 1; cookies[n] = line end
request = function()
  i = i % n + 1
  return wrk.format("GET", "/v1/session", { cookie = "__Host-lk_session=" .. cookies[i] })
end
LUA
head -n 1 "$dir/cookies" > "$dir/one"
run() { # cookies file, seconds: the cookies checked in turn, on 8 connections
    local out
    out=$(COOKIES="$1" taskset -c 1 wrk -t1 -c8 -d "$2s" -s "$dir/cycle.lua" "$BASE/v1/session")
    awk '/requests in/ {printf "%s requests", $1} /Non-2xx/ {printf ", %s non-2xx", $5}' <<<"$out"
}
start
one=$(run "$dir/one" 6); one_kb=$(rss_kb)
# 6 s: long enough to check 100,000 sessions once (a miss costs a store
# read), short enough that the first entries have not expired.
all=$(run "$dir/cookies" 6); all_kb=$(rss_kb)
echo "one session checked ($one): RSS $one_kb kB"
echo "$SESSIONS sessions checked ($all): RSS $all_kb kB"
awk -v a="$one_kb" -v b="$all_kb" -v n="$SESSIONS" \
    'BEGIN { printf "per cached session: %.0f bytes\n", (b - a) * 1024 / (n < 100000 ? n : 100000) }'
