# Shared by scripts/bench.sh and scripts/bench-store.sh (sourced).
# Needs DURATION, CONNECTIONS and CLIENT_CORE set.

# A process's CPU time so far (user + system), in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# One wrk run against a pinned server: prints "req/s µs/req non-2xx
# requests".
measure() { # pid, then wrk arguments
    local pid=$1; shift
    local before after out rps total non2xx
    before=$(ticks "$pid")
    out=$(taskset -c "$CLIENT_CORE" wrk -t1 -c "$CONNECTIONS" -d "$DURATION" "$@")
    after=$(ticks "$pid")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    awk -v r="$rps" -v t="$total" -v d="$((after - before))" -v hz="$HZ" -v n="${non2xx:-0}" \
        'BEGIN { printf "%.0f %.2f %d %d\n", r, d / hz * 1e6 / t, n, t }'
}


# For the scripts that restart one pinned latchkey on a SQLite file
# between phases (bench-store.sh, bench-session-cache.sh). `restartable
# NAME` checks the tools, builds (unless NO_BUILD is set), makes $dir and
# removes it (and stops the server) on exit; `start` and `stop` then run
# the server on $PORT (answering at $BASE) over "$dir/store.db", with
# SERVE_ARGS (an array) added to `latchkey serve`.
restartable() {
    NAME=$1
    for tool in wrk taskset curl python3; do
        command -v "$tool" >/dev/null || { echo "$NAME: $tool is not installed" >&2; exit 2; }
    done
    [ -n "${NO_BUILD:-}" ] || cargo build --release --quiet -p latchkey
    dir=$(mktemp -d)
    pid=
    trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$dir"' EXIT
}
start() {
    taskset -c 0 ./target/release/latchkey serve "${SERVE_ARGS[@]}" --listen "127.0.0.1:$PORT" \
        --database "sqlite://$dir/store.db" >>"$dir/latchkey.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do curl -sf "$BASE/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "$NAME: latchkey did not come up" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
