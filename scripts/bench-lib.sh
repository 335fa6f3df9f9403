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

