#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the same
# figure whatever else the machine is doing, so it shows what a change did
# to one request's cost when wall-clock figures are too noisy to.
#
#   scripts/callgrind.sh                 # every path below
#   PATHS="healthz me refresh" scripts/callgrind.sh
#   TOP=40 scripts/callgrind.sh          # longer per-function listing
#
# Runs the release binary under callgrind with instrumentation off, signs in,
# turns collection on, sends requests over one connection with wrk for
# DURATION, turns it off and divides the instructions by the requests
# wrk completed. Then prints the functions with the most instructions of
# their own. Needs valgrind and wrk (apt-get install valgrind wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

PATHS=${PATHS:-"healthz me session verify floor"}
DURATION=${DURATION:-5s}
TOP=${TOP:-25}
PORT=18290
BASE="http://127.0.0.1:$PORT"
for tool in valgrind callgrind_control callgrind_annotate wrk; do
    command -v "$tool" >/dev/null || { echo "callgrind: $tool is not installed (apt-get install valgrind wrk)" >&2; exit 2; }
done
# LATCHKEY=path counts another build of latchkey (a copy of an earlier one).
LATCHKEY=${LATCHKEY:-./target/release/latchkey}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet -p latchkey -p latchkey-floor
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; if [ -n "${KEEP:-}" ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi; }
trap cleanup EXIT

wait_up() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "callgrind: $1 did not come up" >&2; exit 1; }

one() { # name, url, then curl/wrk header arguments
    local name=$1 url=$2; shift 2
    [ "$name" = refresh ] || curl -sf -o /dev/null "$@" "$url"
    callgrind_control -i on "$pid" >/dev/null 2>&1
    local out total
    out=$(wrk -t1 -c1 -d "$DURATION" "$@" "$url")
    callgrind_control -i off "$pid" >/dev/null 2>&1
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    callgrind_control -d "$name" "$pid" >/dev/null 2>&1
    local file
    file=$(ls -t "$dir"/callgrind.out.* | head -n 1)
    local ir
    ir=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n { gsub(",", "", $1); print $1; n = 1 }')
    awk -v n="$name" -v i="$ir" -v t="$total" 'BEGIN { printf "%-10s %8d requests  %10.0f instructions/request\n", n, t, i / t }'
    # Per function, per request: instructions of its own, then with callees.
    callgrind_annotate --inclusive=yes "$file" 2>/dev/null \
        | awk -v t="$total" '/file:function/ { on = 1; next } on && $1 ~ /^[0-9,]+$/ {
              ir = $1; gsub(",", "", ir); $1 = ""; $2 = ""; sub(/^ +/, "")
              sub(/ \[.*$/, ""); sub(/^[^:]*:/, "")
              if (++k <= top) printf "%9.0f  %s\n", ir / t, $0 }' top="$TOP" > "$dir/top.$name"
    callgrind_control -z "$pid" >/dev/null 2>&1
}

run_latchkey() {
    printf 'trusted_proxies = ["127.0.0.1"]\n\n[rate_limits.token_refresh]\nper_address = 100000000\n\n[forward_auth]\ndefault_policy = "signed_in"\n' > "$dir/latchkey.toml"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out.%p" \
        "$LATCHKEY" serve --config "$dir/latchkey.toml" --listen "127.0.0.1:$PORT" --database "sqlite://$dir/cg.db" \
        >"$dir/latchkey.log" 2>"$dir/valgrind.log" &
    pid=$!
    wait_up "$BASE/healthz"
    local json='content-type: application/json'
    local creds='{"username":"bench","password":"correct horse battery staple"}'
    curl -sf "$BASE/v1/register" -H "$json" -d "$creds" >/dev/null
    cookie=$(curl -sf -D - -o /dev/null "$BASE/v1/session/login" -H "$json" -d "$creds" \
        | sed -n 's/^set-cookie: \(__Host-lk_session=[^;]*\).*/\1/ip')
    access=$(curl -sf "$BASE/v1/token/login" -H "$json" -d "$creds" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

# Refresh: a chain of rotations, each answer's refresh token the next
# request's, over one connection.
refresh() {
    local token
    token=$(curl -sf "$BASE/v1/token/login" -H 'content-type: application/json' \
        -d '{"username":"bench","password":"correct horse battery staple"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
    printf '%s\n%s\n' "$token" "$token" > "$dir/refresh.tokens"
    REFRESH_TOKENS="$dir/refresh.tokens" one refresh "$BASE/v1/token/refresh" -s scripts/refresh-chain.lua
}

cookie=; access=
for p in $PATHS; do
    case $p in
        floor)
            [ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
            valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out.%p" \
                ./target/release/floor "127.0.0.1:$PORT" "$dir/tokens" >/dev/null 2>"$dir/valgrind.log" &
            pid=$!
            wait_up "$BASE/hello"
            one floor "$BASE/hello" ;;
        *)
            [ -z "$cookie" ] && run_latchkey
            case $p in
                healthz) one healthz "$BASE/healthz" ;;
                me) one me "$BASE/v1/me" -H "authorization: Bearer $access" ;;
                session) one session "$BASE/v1/session" -H "cookie: $cookie" ;;
                refresh) refresh ;;
                verify) one verify "$BASE/v1/verify" -H "cookie: $cookie" \
                    -H "x-forwarded-host: app.example.com" -H "x-forwarded-uri: /orders" \
                    -H "x-forwarded-method: GET" -H "x-forwarded-proto: https" ;;
            esac ;;
    esac
done
for p in $PATHS; do
    [ -f "$dir/top.$p" ] || continue
    echo; echo "== $p: instructions per request, by function with its callees"; cat "$dir/top.$p"
done
