#!/usr/bin/env bash
# Memory after many password logins, against the release binary: RSS and
# peak after N logins (C at once), and RSS after an idle pause.
#
#   scripts/bench-memory.sh                       # SQLite, 1000 logins, 8 at once, 60 s idle
#   LOGINS=300 IDLE=10 scripts/bench-memory.sh
#   DATABASE=postgres://postgres@127.0.0.1:5432/test scripts/bench-memory.sh
#   BIN=./target/debug/latchkey scripts/bench-memory.sh   # another binary
#
# Prints one Markdown table row per run.
set -euo pipefail
cd "$(dirname "$0")/.."

LOGINS=${LOGINS:-1000}
CONCURRENCY=${CONCURRENCY:-8}
IDLE=${IDLE:-60}
PORT=${PORT:-18461}
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet -p latchkey
    BIN=./target/release/latchkey
fi
dir=$(mktemp -d)
pid=
schema=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "$schema" ] && psql "$DATABASE" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

db="sqlite://$dir/latchkey.db"
backend=sqlite
if [ -n "${DATABASE:-}" ]; then
    schema="lk_mem_$$"
    psql "$DATABASE" -qc "CREATE SCHEMA $schema" >/dev/null
    db="$DATABASE?options=-c%20search_path%3D$schema"
    backend=postgres
fi

LATCHKEY_LOG=warn $BIN serve --listen "127.0.0.1:$PORT" --database "$db" >"$dir/server.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk -v f="$1" '$1 == f { print int($2 / 1024) }' "/proc/$pid/status"; }
start_rss=$(rss VmRSS:)

curl -sf "$base/v1/register" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"correct horse battery staple"}' >/dev/null
t0=$(date +%s.%N)
python3 - "$base" "$LOGINS" "$CONCURRENCY" <<'PY'
import json, sys, threading, urllib.request
base, total, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
left, lock, bad = [total], threading.Lock(), [0]
body = json.dumps({"username": "bench", "password": "correct horse battery staple"}).encode()
def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        req = urllib.request.Request(base + "/v1/session/login", data=body,
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                r.read()
        except Exception:
            with lock:
                bad[0] += 1
threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads: t.start()
for t in threads: t.join()
if bad[0]:
    sys.exit(f"{bad[0]} logins failed")
PY
t1=$(date +%s.%N)
after_rss=$(rss VmRSS:)
peak=$(rss VmHWM:)
sleep "$IDLE"
idle_rss=$(rss VmRSS:)
secs=$(echo "$t1 - $t0" | bc)
printf '| %s | %d | %d | %d MiB | %d MiB | %d MiB | %d MiB (%ss) | %.1f s |\n' \
    "$backend" "$LOGINS" "$CONCURRENCY" "$start_rss" "$after_rss" "$peak" "$idle_rss" "$IDLE" "$secs"
