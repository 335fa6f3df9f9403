#!/usr/bin/env bash
# Hot paths per store backend: SQLite, PostgreSQL, PostgreSQL + Redis, one
# node and three nodes. Needs wrk, a PostgreSQL at $PG (default the local
# trust-auth one) and redis-server.
#
#   scripts/bench-backends.sh            # 6 s per scenario
#   DURATION=10s scripts/bench-backends.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-6s}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet
BIN=./target/release/latchkey
dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

redis_port=16390
redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
pids+=($!)
schema="lk_bench_$$"
psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null
trap 'psql "$PG" -qc "DROP SCHEMA IF EXISTS '"$schema"' CASCADE" >/dev/null 2>&1; cleanup' EXIT
pg_url="$PG?options=-c%20search_path%3D$schema"

start_node() { # port database [redis]
    # One issuer for every node: it is the `iss` of every token.
    # The load comes from one address: lift the per-address limits.
    local env=(LATCHKEY_LOG=warn LATCHKEY_ISSUER=http://latchkey.bench
        LATCHKEY_RATE_LIMITS__REGISTER__PER_ADDRESS=1000000
        LATCHKEY_RATE_LIMITS__TOKEN_REFRESH__PER_ADDRESS=1000000000)
    [ -n "${3:-}" ] && env+=("LATCHKEY_REDIS_URL=$3")
    env "${env[@]}" $BIN serve --listen "127.0.0.1:$1" --database "$2" > "$dir/node-$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.1; done
    echo "node on $1 did not start" >&2; exit 1
}
stop_nodes() {
    for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done
    pids=("${pids[0]}")
    sleep 0.5
}

json='content-type: application/json'
user=0
prepare() { # base → sets cookie, access, refresh tokens (one per wrk connection)
    user=$((user + 1))
    creds="{\"username\":\"bench$user\",\"password\":\"correct horse battery staple\"}"
    curl -sf "$1/v1/register" -H "$json" -d "$creds" >/dev/null
    cookie=$(curl -sf -D - -o /dev/null "$1/v1/session/login" -H "$json" -d "$creds" \
        | sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip')
    access=$(curl -sf "$1/v1/token/login" -H "$json" -d "$creds" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    refresh=()
    for _ in 1 2; do
        refresh+=("$(curl -sf "$1/v1/token/login" -H "$json" -d "$creds" \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')")
    done
}

cat > "$dir/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
function init(args) wrk.body = args[1] end
LUA
# One rotation chain per connection: each response's refresh token is the
# next request's (connections = threads, so no two requests share a token).
cat > "$dir/refresh.lua" <<'LUA'
local n = 0
local tokens = {}
function setup(thread) n = n + 1; thread:set("id", n) end
function init(args) token = args[id] end
function request()
  return wrk.format("POST", nil, {["content-type"] = "application/json"},
    '{"refresh_token":"' .. token .. '"}')
end
function response(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then token = t end
end
LUA

rps() { awk '/Requests\/sec/ {print $2}'; }
bad() { awk '/Non-2xx/ {n += $5} END {print n + 0}'; }
p50() { awk '$1=="50%" {print $2}'; }

scenario() { # label base
    local b=$2 out
    prepare "$b"
    out=$(wrk --latency -t1 -c32 -d "$DURATION" -H "cookie: $cookie" "$b/v1/session")
    printf '| %s | session check | %s | %s | %s |\n' "$1" "$(rps <<<"$out")" "$(p50 <<<"$out")" "$(bad <<<"$out")"
    out=$(wrk --latency -t1 -c32 -d "$DURATION" -H "authorization: Bearer $access" "$b/v1/me")
    printf '| %s | bearer check | %s | %s | %s |\n' "$1" "$(rps <<<"$out")" "$(p50 <<<"$out")" "$(bad <<<"$out")"
    out=$(wrk --latency -t2 -c2 -d "$DURATION" -s "$dir/login.lua" "$b/v1/token/login" -- "$creds")
    printf '| %s | login (2 conns) | %s | %s | %s |\n' "$1" "$(rps <<<"$out")" "$(p50 <<<"$out")" "$(bad <<<"$out")"
    out=$(wrk --latency -t2 -c2 -d "$DURATION" -s "$dir/refresh.lua" "$b/v1/token/refresh" -- "${refresh[@]}")
    printf '| %s | refresh (2 chains) | %s | %s | %s |\n' "$1" "$(rps <<<"$out")" "$(p50 <<<"$out")" "$(bad <<<"$out")"
}

echo "| backend | scenario | req/s | p50 | non-2xx |"
echo "| --- | --- | ---: | ---: | ---: |"
start_node 18101 "sqlite://$dir/bench.db"
scenario "SQLite, 1 node" http://127.0.0.1:18101
stop_nodes
start_node 18102 "$pg_url"
scenario "PostgreSQL, 1 node" http://127.0.0.1:18102
stop_nodes
start_node 18103 "$pg_url" "redis://127.0.0.1:$redis_port"
scenario "PostgreSQL + Redis, 1 node" http://127.0.0.1:18103
stop_nodes

# Three nodes, one wrk per node at once; the table gives the sum.
for port in 18111 18112 18113; do start_node $port "$pg_url" "redis://127.0.0.1:$redis_port"; done
prepare http://127.0.0.1:18111
for path in "session check|/v1/session|cookie: $cookie" "bearer check|/v1/me|authorization: Bearer $access"; do
    IFS='|' read -r label route header <<<"$path"
    total=0
    for port in 18111 18112 18113; do
        wrk -t1 -c16 -d "$DURATION" -H "$header" "http://127.0.0.1:$port$route" > "$dir/wrk-$port.txt" &
    done
    wait $(jobs -p | tail -n 3) 2>/dev/null || true
    for port in 18111 18112 18113; do
        total=$(python3 -c "print(round($total + $(rps < "$dir/wrk-$port.txt")))")
    done
    printf '| PostgreSQL + Redis, 3 nodes (sum) | %s | %s | - | %s |\n' "$label" "$total" \
        "$(cat "$dir"/wrk-*.txt | bad)"
done
