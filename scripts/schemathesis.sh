#!/usr/bin/env bash
# Property-based tests of the OpenAPI document against the real server:
# schemathesis generates requests from GET /openapi.json and fails on any
# 5xx, any response the document does not declare (status, content type,
# body schema) and any other check of `--checks all`.
#
# Starts the already built binary (target/debug/latchkey, as `cargo test`
# leaves it; LATCHKEY_BIN to override) on a SQLite file in a temporary
# directory and a free port, creates a user, and runs schemathesis three
# times: anonymous, with a session cookie and its X-CSRF-Token, and with a
# bearer access token.
#
# Needs: schemathesis (pip install schemathesis==4.32.5), curl, python3.
# Bounds: SCHEMATHESIS_MAX_EXAMPLES (per operation, default 50) and
# SCHEMATHESIS_TIMEOUT (seconds per run, default 240).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${LATCHKEY_BIN:-target/debug/latchkey}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
run_timeout=${SCHEMATHESIS_TIMEOUT:-240}
[ -x "$bin" ] || { echo "no $bin: build it first (cargo build)" >&2; exit 1; }
# latchkey reads LATCHKEY_* as configuration and refuses keys it does not
# know, such as the test suite's LATCHKEY_TEST_* (set in CI): the server
# here is configured by its file alone.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^LATCHKEY_' || true)
command -v schemathesis >/dev/null || { echo "schemathesis is not installed" >&2; exit 1; }

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/latchkey.toml" <<'EOF'
# Throttling stays on (its 429s are part of the contract) but high enough
# that most generated requests reach the handlers behind the limits.
[login_limits]
per_account = 1000
per_address = 100000

[rate_limits.register]
per_address = 100000
[rate_limits.token_refresh]
per_address = 100000
[rate_limits.token_revoke]
per_address = 100000
[rate_limits.token_introspect]
per_address = 100000
[rate_limits.cookie_refresh]
per_address = 100000
[rate_limits.email_send]
per_address = 100000
[rate_limits.email_link]
per_address = 100000
[rate_limits.email_login]
per_address = 100000
[rate_limits.mfa_verify]
per_address = 100000
[rate_limits.passkey_options]
per_address = 100000
[rate_limits.passkey_login]
per_address = 100000
[rate_limits.oidc]
per_address = 100000
[rate_limits.admin]
per_address = 100000

# E-mail on (without it its routes answer 501, which schemathesis counts
# as a server error); nothing listens on port 1: messages only queue.
[email]
smtp_url = "smtp://127.0.0.1:1"
from = "schemathesis <no-reply@example.com>"
per_recipient = 100000

[tokens]
access_ttl = "1h"

[[introspection.clients]]
id = "schemathesis"
secret = "schemathesis-introspection-secret"
EOF

db="sqlite://$work/latchkey.db"
password="schemathesis-password-1"
printf '%s' "$password" | "$bin" --config "$work/latchkey.toml" --database "$db" \
    user add tester --password-stdin >/dev/null

"$bin" --config "$work/latchkey.toml" --database "$db" serve --listen 127.0.0.1:0 \
    >"$work/server.log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 100); do
    base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n 1 || true)
    [ -n "$base" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$base" ] || { echo "latchkey did not start" >&2; cat "$work/server.log" >&2; exit 1; }
echo "latchkey at $base"

login='{"username":"tester","password":"'"$password"'"}'
# A cookie session: the cookie from Set-Cookie, the CSRF token from the body.
session_body=$(curl -sS --fail -D "$work/session.headers" -H 'content-type: application/json' \
    -d "$login" "$base/v1/session/login")
cookie=$(grep -i '^set-cookie: __Host-lk_session=' "$work/session.headers" | head -n 1 \
    | sed -e 's/^[Ss]et-[Cc]ookie: //' -e 's/;.*//' | tr -d '\r')
csrf=$(printf '%s' "$session_body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
# A bearer access token.
access=$(curl -sS --fail -H 'content-type: application/json' -d "$login" "$base/v1/token/login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ -n "$cookie" ] && [ -n "$csrf" ] && [ -n "$access" ] || { echo "could not log in" >&2; exit 1; }

export PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
run() {
    local name=$1
    shift
    echo "==> schemathesis: $name"
    local start=$SECONDS rc=0
    timeout "$run_timeout" schemathesis --config-file scripts/schemathesis.toml \
        run "$base/openapi.json" \
        --checks all \
        --max-examples "$max_examples" \
        --seed 10 \
        --workers 1 \
        --request-timeout 10 \
        --max-redirects 0 \
        --suppress-health-check all \
        --output-sanitize true \
        --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-$work/report}" \
        "$@" || rc=$?
    echo "    $name: exit $rc after $((SECONDS - start)) s"
    return "$rc"
}

failed=0
run anonymous || failed=1
# Signing out and ending every session would end the one session the run
# uses, leaving nothing but 401s to test (both operations are still run
# anonymously and with the bearer token; the pages' sign-out forms need
# the form's own CSRF token, which the run cannot know, so they stay).
run "session cookie" \
    -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" \
    --exclude-operation-id session_logout \
    --exclude-operation-id end_all || failed=1
run "bearer token" -H "Authorization: Bearer $access" || failed=1

if grep -q '"level":"ERROR"' "$work/server.log"; then
    echo "the server logged errors:" >&2
    grep '"level":"ERROR"' "$work/server.log" >&2
    exit 1
fi
[ "$failed" = 0 ] || { echo "schemathesis: failures (see above)" >&2; exit 1; }
echo "schemathesis: all runs passed"
