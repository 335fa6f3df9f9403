#!/usr/bin/env bash
# Load test of the release binary on loopback: requests per second and
# latency for the hot paths. Needs `wrk` (apt-get install wrk).
#
#   scripts/bench.sh            # 10 s per scenario
#   DURATION=30s scripts/bench.sh
#
# The server and wrk share this machine's cores; figures are for
# comparing paths within one run, not absolute capacity.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PORT=${PORT:-18090}
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

LATCHKEY_LOG=warn ./target/release/latchkey serve --listen "127.0.0.1:$PORT" \
    --database "sqlite://$dir/bench.db" > "$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

json='content-type: application/json'
creds='{"username":"bench","password":"correct horse battery staple"}'
curl -sf "$BASE/v1/register" -H "$json" -d "$creds" >/dev/null
cookie=$(curl -sf -D - -o /dev/null "$BASE/v1/session/login" -H "$json" -d "$creds" \
    | sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip')
access=$(curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

run() { # name, then wrk arguments
    local name=$1; shift
    local out
    out=$(wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" "$@")
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '| %-34s | %10s | %8s | %8s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "| scenario | req/s | p50 | p99 | non-2xx |"
echo "| --- | ---: | ---: | ---: | ---: |"
run "GET /healthz (floor)" "$BASE/healthz"
run "GET /v1/session (cookie session)" -H "cookie: $cookie" "$BASE/v1/session"
run "GET /v1/me (bearer, cached verify)" -H "authorization: Bearer $access" "$BASE/v1/me"
run "GET /v1/me (cookie session)" -H "cookie: $cookie" "$BASE/v1/me"
cat > "$dir/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$creds'
wrk.headers["content-type"] = "application/json"
LUA
# Two connections: one argon2id hash per core at a time (more would only
# queue, and one account's burst is throttled by design).
CONNECTIONS=2 run "POST /v1/token/login (argon2id, 2 conns)" -s "$dir/login.lua" "$BASE/v1/token/login"
