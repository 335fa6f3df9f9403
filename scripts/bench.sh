#!/usr/bin/env bash
# latchkey's per-request cost beside the floor, in one run: bare axum
# (`examples/floor`: no auth, then jsonwebtoken HS256 and EdDSA) and
# latchkey's hot paths, each as a ratio to the floor measured minutes apart
# on the same machine. Needs `wrk` and `taskset` (apt-get install wrk).
#
#   scripts/bench.sh                 # 8 s per row, 3 interleaved rounds
#   DURATION=4s ROUNDS=1 scripts/bench.sh
#   LATCHKEY=/tmp/old/latchkey NO_BUILD=1 scripts/bench.sh   # another build
#   PARTS="refresh login" scripts/bench.sh   # some parts only
#
# PARTS names what to measure, all by default: rows (the table), bff,
# refresh, login, flood.
#
# Every server is pinned to core 0 (so it runs one worker thread) and wrk
# to core 1 (`wrk -t1 -c32`). "server µs/req" is the CPU time the server
# process spent (user + system, from /proc/PID/stat) divided by the
# requests wrk completed: what one request costs, whatever the load
# generator or the machine's other work did to the wall clock. The median
# of the rounds is printed. RSS is the server's resident set after its
# rows; "RSS at start" is read before the first request.
#
# Then, at one connection, the BFF's added latency: the example API with a
# bearer token, straight and through /bff/ with the session cookie.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
PARTS=" ${PARTS:-rows bff refresh login flood} "
part() { [[ $PARTS == *" $1 "* ]]; }
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
FLOOR_PORT=18190; LK_PORT=18191; QUIET_PORT=18192; UPSTREAM_PORT=18193
FLOOR="http://127.0.0.1:$FLOOR_PORT"; BASE="http://127.0.0.1:$LK_PORT"
QUIET="http://127.0.0.1:$QUIET_PORT"; UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT"

for tool in wrk taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk)" >&2; exit 2; }
done
# LATCHKEY=path measures another build of latchkey (a copy of an earlier
# one, say) beside this checkout's floor.
LATCHKEY=${LATCHKEY:-./target/release/latchkey}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet -p latchkey -p latchkey-floor -p latchkey-example-api \
    && cargo build --release --quiet -p latchkey-core --example argon2_rate
dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

wait_up() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done; echo "bench: $1 did not come up" >&2; exit 1; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
. scripts/bench-lib.sh

cat > "$dir/latchkey.toml" <<TOML
issuer = "$BASE"
trusted_proxies = ["127.0.0.1"]

[rate_limits.token_refresh]
per_address = 100000000

[forward_auth]
default_policy = "signed_in"

[bff.apis.orders]
url = "$UPSTREAM"
audience = "orders"
TOML

taskset -c "$SERVER_CORE" ./target/release/floor "127.0.0.1:$FLOOR_PORT" "$dir/tokens" >"$dir/floor.log" 2>&1 &
floor=$!; pids+=("$floor")
# The access log on, as shipped, to a file (what an operator's collector reads).
taskset -c "$SERVER_CORE" "$LATCHKEY" serve --config "$dir/latchkey.toml" --listen "127.0.0.1:$LK_PORT" \
    --database "sqlite://$dir/bench.db" >"$dir/latchkey.log" 2>&1 &
lk=$!; pids+=("$lk")
# The same with the access log off, to price the log line.
LATCHKEY_LOG=warn taskset -c "$SERVER_CORE" "$LATCHKEY" serve --listen "127.0.0.1:$QUIET_PORT" \
    --database "sqlite://$dir/quiet.db" >"$dir/quiet.log" 2>&1 &
quiet=$!; pids+=("$quiet")
RUST_LOG=warn taskset -c "$CLIENT_CORE" ./target/release/example-api --listen "127.0.0.1:$UPSTREAM_PORT" \
    --latchkey "$BASE" --audience orders >"$dir/example.log" 2>&1 &
pids+=("$!")
wait_up "$FLOOR/hello"; wait_up "$BASE/healthz"; wait_up "$QUIET/healthz"; wait_up "$UPSTREAM/healthz"
floor_start=$(rss_mb "$floor"); lk_start=$(rss_mb "$lk")

hs256=$(sed -n 1p "$dir/tokens"); eddsa=$(sed -n 2p "$dir/tokens")
json='content-type: application/json'
creds='{"username":"bench","password":"correct horse battery staple"}'
curl -sS --fail-with-body "$BASE/v1/register" -H "$json" -d "$creds" >/dev/null
cookie=$(curl -sf -D - -o /dev/null "$BASE/v1/session/login" -H "$json" -d "$creds" \
    | sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip')
access=$(curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# What a proxy sends /v1/verify about the request it is asking about.
forwarded=(-H "x-forwarded-host: app.example.com" -H "x-forwarded-uri: /orders" \
    -H "x-forwarded-method: GET" -H "x-forwarded-proto: https")
[ -n "$cookie" ] && [ -n "$access" ] || { echo "bench: could not sign in" >&2; exit 1; }
curl -sf -o /dev/null -H "authorization: Bearer $hs256" "$FLOOR/hs256"
curl -sf -o /dev/null -H "authorization: Bearer $eddsa" "$FLOOR/eddsa"
curl -sf -o /dev/null -H "authorization: Bearer $access" "$BASE/v1/me"
curl -sf -o /dev/null -H "cookie: $cookie" "$BASE/v1/session"
curl -sf -o /dev/null -H "cookie: $cookie" "${forwarded[@]}" "$BASE/v1/verify"

names=("axum hello (the floor)" "axum + jsonwebtoken HS256" "axum + jsonwebtoken EdDSA"
    "latchkey GET /healthz" "latchkey GET /healthz, access log off"
    "latchkey GET /v1/me (bearer, EdDSA)" "latchkey GET /v1/session (cookie)"
    "latchkey GET /v1/verify (cookie)")
row() { # index: one measurement of that row
    case $1 in
        0) measure "$floor" "$FLOOR/hello" ;;
        1) measure "$floor" -H "authorization: Bearer $hs256" "$FLOOR/hs256" ;;
        2) measure "$floor" -H "authorization: Bearer $eddsa" "$FLOOR/eddsa" ;;
        3) measure "$lk" "$BASE/healthz" ;;
        4) measure "$quiet" "$QUIET/healthz" ;;
        5) measure "$lk" -H "authorization: Bearer $access" "$BASE/v1/me" ;;
        6) measure "$lk" -H "cookie: $cookie" "$BASE/v1/session" ;;
        7) measure "$lk" -H "cookie: $cookie" "${forwarded[@]}" "$BASE/v1/verify" ;;
    esac
}
if part rows; then
for round in $(seq 1 "$ROUNDS"); do
    for i in "${!names[@]}"; do row "$i" >>"$dir/row.$i"; done
    echo "round $round of $ROUNDS done" >&2
done
floor_rss=$(rss_mb "$floor"); lk_rss=$(rss_mb "$lk"); quiet_rss=$(rss_mb "$quiet")

median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
floor_us=$(median "$dir/row.0" 2)
echo
echo "| row | req/s | server µs/req | × floor | floor + µs | non-2xx | RSS |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for i in "${!names[@]}"; do
    rps=$(median "$dir/row.$i" 1); us=$(median "$dir/row.$i" 2); bad=$(awk '{ s += $3 } END { print s }' "$dir/row.$i")
    case $i in 0|1|2) rss=$floor_rss ;; 4) rss=$quiet_rss ;; *) rss=$lk_rss ;; esac
    awk -v n="${names[$i]}" -v r="$rps" -v u="$us" -v f="$floor_us" -v b="$bad" -v m="$rss" \
        'BEGIN { printf "| %s | %d | %.1f | %.2f | %+.1f | %d | %s MB |\n", n, r, u, u / f, u - f, b, m }'
done
echo
echo "RSS at start: floor $floor_start MB, latchkey $lk_start MB; after the rows: latchkey $lk_rss MB"
fi

to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1; printf "%.1f", n * m }'
}
if part bff; then
# The BFF's added latency at one connection (p50 of wrk's latency).
p50() { to_us "$(taskset -c "$CLIENT_CORE" wrk --latency -t1 -c1 -d "$DURATION" "$@" | awk '$1=="50%" {print $2}')"; }
orders=$(curl -sf "$BASE/bff/orders/echo/token" -H "cookie: $cookie" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["authorization"][0].split(" ", 1)[1])')
direct=$(p50 -H "authorization: Bearer $orders" "$UPSTREAM/whoami")
bff=$(p50 -H "cookie: $cookie" "$BASE/bff/orders/whoami")
awk -v d="$direct" -v b="$bff" 'BEGIN { printf "BFF at 1 connection: direct p50 %.0f µs, through /bff/ with the cookie %.0f µs: added %.3f ms\n", d, b, (b - d) / 1000 }'
fi

if part refresh; then
# Refresh: rotations per second on SQLite. Each response's refresh token
# is the next request's (a queue of 64 families for wrk's 32 connections);
# a rotation commits to disk before it answers.
for _ in $(seq 1 64); do
    curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])'
done > "$dir/refresh.tokens"
ref=$(REFRESH_TOKENS="$dir/refresh.tokens" measure "$lk" -s scripts/refresh-chain.lua "$BASE/v1/token/refresh")
echo "$ref" | awk '{ printf "Refresh (POST /v1/token/refresh, 32 connections): %d/s, %.1f µs of server CPU each, %d non-2xx (goal: >= 2,000/s)\n", $1, $2, $3 }'
fi

cat > "$dir/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$creds'
wrk.headers["content-type"] = "application/json"
LUA
if part login; then
# Login against raw argon2id on the same core, and /healthz p99 while
# logins saturate that core.
raw=$(taskset -c "$SERVER_CORE" ./target/release/examples/argon2_rate 8 1 | awk '{ print $3 }' | tr -d '/s')
# Two connections, as one account's logins arrive; only successful
# logins count (a refused one costs no hash).
login=$(CONNECTIONS=2 measure "$lk" -s "$dir/login.lua" "$BASE/v1/token/login")
echo "$login" | awk -v raw="$raw" '{ ok = $1 * ($4 - $3) / $4; printf "Login (POST /v1/token/login, 2 connections): %.1f successful/s (%d refused); raw argon2id on the same core %.1f/s: %.2fx (goal: >= 0.9x)\n", ok, $3, raw, ok / raw }'
fi
if part flood; then
p99() { to_us "$(taskset -c "$CLIENT_CORE" wrk --latency -t1 -c1 -d "$DURATION" "$@" | awk '$1=="99%" {print $2}')"; }
idle=$(p99 "$BASE/healthz")
taskset -c "$CLIENT_CORE" wrk -t1 -c4 -d "$DURATION" -s "$dir/login.lua" "$BASE/v1/token/login" >/dev/null &
flood=$!
sleep 1
busy=$(p99 "$BASE/healthz")
wait "$flood" || true
awk -v i="$idle" -v b="$busy" 'BEGIN { printf "/healthz p99 at 1 connection: idle %.0f µs, under a login flood %.0f µs: %.2fx (goal: <= 2x)\n", i, b, b / i }'
fi
