#!/usr/bin/env bash
# Load test of the release binary on loopback: requests per second and
# latency for the hot paths. Needs `wrk` (apt-get install wrk).
#
#   scripts/bench-bff.sh            # 10 s per scenario
#   DURATION=30s scripts/bench-bff.sh
#
# The server and wrk share this machine's cores; figures are for
# comparing paths within one run, not absolute capacity.
#
# The second table puts the BFF and forward auth beside their baselines,
# in the same run: the example API (`example-api`, verifying every token
# against latchkey's JWKS) straight with a bearer token versus through
# `/bff/orders/` with the session cookie, and `GET /v1/verify` versus
# `/healthz`. Latency pairs run at 32 connections (saturated: p50 is
# mostly queueing) and at 1 connection (p50 is one request's own cost, so
# the difference is what the proxy adds). Then a 100 MiB upload through
# the BFF, with latchkey's peak resident set before and after it.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PORT=${PORT:-18090}
UPSTREAM_PORT=${UPSTREAM_PORT:-18091}
BASE="http://127.0.0.1:$PORT"
UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT"

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet -p latchkey -p latchkey-example-api
dir=$(mktemp -d)
pid=; upid=
cleanup() {
    for p in $pid $upid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

# The BFF's upstream is a table in the configuration file.
cat > "$dir/latchkey.toml" <<TOML
issuer = "$BASE"

[bff.apis.orders]
url = "$UPSTREAM"
audience = "orders"
timeout_ms = 60000
max_body_bytes = 209715200
TOML

LATCHKEY_LOG=warn ./target/release/latchkey serve --config "$dir/latchkey.toml" \
    --listen "127.0.0.1:$PORT" --database "sqlite://$dir/bench.db" > "$dir/server.log" 2>&1 &
pid=$!
RUST_LOG=warn ./target/release/example-api --listen "127.0.0.1:$UPSTREAM_PORT" \
    --latchkey "$BASE" --audience orders > "$dir/example.log" 2>&1 &
upid=$!
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -sf "$UPSTREAM/healthz" >/dev/null && break; sleep 0.1; done

json='content-type: application/json'
creds='{"username":"bench","password":"correct horse battery staple"}'
curl -sf "$BASE/v1/register" -H "$json" -d "$creds" >/dev/null
cookie=$(curl -sf -D - -o /dev/null "$BASE/v1/session/login" -H "$json" -d "$creds" \
    | sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip')
access=$(curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# wrk's latency ("512.00us", "1.02ms", "1.00s") in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1
        printf "%.1f", n * m
    }'
}

# Each run leaves its figures in RPS, P50 and P99 (microseconds).
RPS=0; P50=0; P99=0
run() { # name, then wrk arguments
    local name=$1; shift
    local out
    out=$(wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" "$@")
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    RPS=$rps; P50=$(to_us "$p50"); P99=$(to_us "$p99")
    printf '| %-34s | %10s | %8s | %8s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

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

# ---- the BFF and forward auth beside their baselines
echo
echo "| scenario | req/s | p50 | p99 | non-2xx |"
echo "| --- | ---: | ---: | ---: | ---: |"
# The direct path needs a token with the upstream's audience: the very one
# the BFF mints for this session (valid 5 minutes; fetched just before).
orders=$(curl -sf "$BASE/bff/orders/echo/token" -H "cookie: $cookie" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["authorization"][0].split(" ", 1)[1])')
run "GET /whoami direct (bearer)" -H "authorization: Bearer $orders" "$UPSTREAM/whoami"
d_rps=$RPS; d_p50=$P50; d_p99=$P99
run "GET /bff/orders/whoami (cookie)" -H "cookie: $cookie" "$BASE/bff/orders/whoami"
b_rps=$RPS; b_p50=$P50; b_p99=$P99
# With a bearer token instead of the cookie: no store read, the proxy alone.
run "GET /bff/orders/whoami (bearer)" -H "authorization: Bearer $access" "$BASE/bff/orders/whoami"
bb_rps=$RPS
# How the proxy reaches the upstream: pooled connections stay established;
# a connection per request would leave thousands in TIME-WAIT.
est=$(ss -Htn state established "( dport = :$UPSTREAM_PORT )" | wc -l)
tw=$(ss -Htn state time-wait "( dport = :$UPSTREAM_PORT )" | wc -l)
CONNECTIONS=1 run "GET /whoami direct, 1 conn" -H "authorization: Bearer $orders" "$UPSTREAM/whoami"
d1_p50=$P50; d1_p99=$P99; d1_rps=$RPS
CONNECTIONS=1 run "GET /bff/orders/whoami (cookie), 1 conn" -H "cookie: $cookie" "$BASE/bff/orders/whoami"
b1_p50=$P50; b1_p99=$P99; b1_rps=$RPS
CONNECTIONS=1 run "GET /bff/orders/whoami (bearer), 1 conn" -H "authorization: Bearer $access" "$BASE/bff/orders/whoami"
bb1_p50=$P50
CONNECTIONS=1 run "GET /v1/session (cookie), 1 conn" -H "cookie: $cookie" "$BASE/v1/session"
s1_p50=$P50
CONNECTIONS=1 run "GET /healthz, 1 conn" "$BASE/healthz"
h1_p50=$P50
run "GET /healthz" "$BASE/healthz"
h_rps=$RPS
run "GET /v1/verify (cookie session)" -H "cookie: $cookie" "$BASE/v1/verify"
v_rps=$RPS
run "GET /v1/verify (bearer)" -H "authorization: Bearer $access" "$BASE/v1/verify"
vb_rps=$RPS
echo
echo "ratio: bff(cookie)/direct req/s = $(calc %.2f "$b_rps / $d_rps") (goal >= 0.5); bff(bearer)/direct = $(calc %.2f "$bb_rps / $d_rps")"
echo "ratio: bff(cookie) added latency at 32 conns: p50 $(calc %+.3f "($b_p50 - $d_p50) / 1000") ms, p99 $(calc %+.3f "($b_p99 - $d_p99) / 1000") ms"
echo "ratio: bff(cookie) added latency at 1 conn: p50 $(calc %+.3f "($b1_p50 - $d1_p50) / 1000") ms (goal <= 0.3), p99 $(calc %+.3f "($b1_p99 - $d1_p99) / 1000") ms; req/s $(calc %.2f "$b1_rps / $d1_rps")x"
echo "ratio: bff(bearer) added p50 at 1 conn: $(calc %+.3f "($bb1_p50 - $d1_p50) / 1000") ms; a session read (/v1/session - /healthz, 1 conn): $(calc %+.3f "($s1_p50 - $h1_p50) / 1000") ms"
echo "ratio: verify(cookie)/healthz req/s = $(calc %.2f "$v_rps / $h_rps") (goal >= 0.8); verify(bearer)/healthz = $(calc %.2f "$vb_rps / $h_rps")"
echo "pool: after the 32-connection BFF runs, $est connections to the upstream established, $tw in TIME-WAIT"

# ---- 100 MiB through the BFF: streamed, latchkey's memory stays flat
csrf_login=$(curl -sf -D "$dir/login.h" "$BASE/v1/session/login" -H "$json" -d "$creds")
csrf=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["csrf_token"])' "$csrf_login")
upload_cookie=$(sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip' "$dir/login.h")
head -c 104857600 /dev/urandom > "$dir/blob"
want=$(sha256sum "$dir/blob" | cut -d' ' -f1)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
before=$(rss)
( peak=0
  while [ ! -e "$dir/upload.done" ]; do
      r=$(rss); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" > "$dir/rss.peak"
      sleep 0.01
  done ) &
sampler=$!
start=$(date +%s.%N)
# 100 MB/s, so that the sampler sees the upload for about a second.
got=$(curl -sf --limit-rate 100M -X POST -T "$dir/blob" "$BASE/bff/orders/upload" \
    -H "cookie: $upload_cookie" -H "x-csrf-token: $csrf" -H 'content-type: application/octet-stream' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
took=$(calc %.2f "$(date +%s.%N) - $start")
touch "$dir/upload.done"; wait "$sampler"
peak=$(cat "$dir/rss.peak")
rm -f "$dir/blob"
[ "$got" = "$want" ] && same=yes || same=NO
echo
echo "upload: 100 MiB through /bff/orders/upload in ${took} s (curl limited to 100 MB/s), sha256 equal: $same;" \
    "latchkey RSS $((before / 1024)) MiB before, at most $((peak / 1024)) MiB during"
