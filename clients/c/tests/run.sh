#!/usr/bin/env bash
# Integration tests of the Dossier C client: starts a dossierd on a free local port with an
# empty data directory, runs tests/dossier_client_test.c against it, stops the server.
#
# Environment:
#   DOSSIERD                  the server binary (default: <repo>/.build/debug/dossierd)
#   DOSSIER_C_TEST_BIN        the test program (default: clients/c/build/tests/dossier-client-test,
#                             built with `make tests` if missing)
#   DOSSIER_C_TEST_WRAPPER    a command to run it under, e.g. "valgrind --leak-check=full
#                             --error-exitcode=1" (make valgrind-check sets it)
#   DOSSIER_C_CERTS           a directory made by certs/make-dev-certs.sh (default: a fresh one
#                             in a temporary directory)
#   DOSSIER_C_DOCUMENT_TESTS  0 to skip the Documents tests
#   DOSSIER_C_PORT            the port to use (default: a free one)
#   DOSSIER_C_KEEP            1 to keep the temporary directory (server log, data)
#
# Last line: "C client: N passed, M failed". Exit status: 0 all passed, 1 a test failed (or
# the test program crashed / reported memory errors), 2 the tests could not be set up.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
C_DIR="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$C_DIR/../.." && pwd)"

setup_failed() {
    echo "run.sh: $*" >&2
    echo "C client: 0 passed, 1 failed (setup: $*)"
    exit 2
}

DOSSIERD="${DOSSIERD:-$ROOT/.build/debug/dossierd}"
[[ -x "$DOSSIERD" ]] || setup_failed "no dossierd at $DOSSIERD (build it, or set DOSSIERD)"

TEST_BIN="${DOSSIER_C_TEST_BIN:-$C_DIR/build/tests/dossier-client-test}"
if [[ ! -x "$TEST_BIN" ]]; then
    make -C "$C_DIR" tests >&2 || setup_failed "cannot build the test program"
fi
[[ -x "$TEST_BIN" ]] || setup_failed "no test program at $TEST_BIN"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/dossier-c-test.XXXXXX")" || setup_failed "mktemp failed"
( umask 077 && openssl rand -hex 32 >"$WORK/master.key" && openssl rand -hex 32 >"$WORK/log-signing.key" ) ||
    setup_failed "cannot make the server's keys"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    if [[ "${DOSSIER_C_KEEP:-0}" == 1 ]]; then
        echo "run.sh: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# --- certificates ---
CERTS="${DOSSIER_C_CERTS:-}"
if [[ -z "$CERTS" ]]; then
    CERTS="$WORK/certs"
    "$ROOT/certs/make-dev-certs.sh" "$CERTS" >"$WORK/certs.log" 2>&1 ||
        { cat "$WORK/certs.log" >&2; setup_failed "certs/make-dev-certs.sh failed"; }
fi
for f in ca server patient-alice professional-gp foreign-gp outside-profile-no-uri; do
    [[ -f "$CERTS/$f.pem" && -f "$CERTS/$f.key" ]] || setup_failed "$CERTS/$f.pem/.key missing"
done

# --- server ---
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    return 1
}

PORT=""
for attempt in 1 2 3; do
    PORT="${DOSSIER_C_PORT:-$(pick_port)}" || setup_failed "no free port"
    rm -rf "$WORK/data"
    "$DOSSIERD" --host 127.0.0.1 --port "$PORT" --metrics-port 0 --data-dir "$WORK/data" --key-store "$WORK/keystore" \
        --master-key "$WORK/master.key" --log-signing-key "$WORK/log-signing.key" \
        --cert "$CERTS/server.pem" --key "$CERTS/server.key" --client-ca "$CERTS/ca.pem" \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    up=0
    for _ in $(seq 1 200); do # 20 s
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
        if port_in_use "$PORT"; then up=1; break; fi
        sleep 0.1
    done
    if ((up)); then break; fi
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
    echo "run.sh: dossierd did not come up on port $PORT (attempt $attempt):" >&2
    tail -n 20 "$WORK/server.log" >&2
    [[ -z "${DOSSIER_C_PORT:-}" ]] || break
done
[[ -n "$SERVER_PID" ]] || setup_failed "dossierd did not start"
echo "run.sh: dossierd $DOSSIERD on 127.0.0.1:$PORT" >&2

# --- tests ---
WRAPPER=()
if [[ -n "${DOSSIER_C_TEST_WRAPPER:-}" ]]; then
    read -r -a WRAPPER <<<"$DOSSIER_C_TEST_WRAPPER"
fi
"${WRAPPER[@]}" "$TEST_BIN" --certs "$CERTS" --port "$PORT" --host 127.0.0.1 \
    2>&1 | tee "$WORK/test.log"
status=${PIPESTATUS[0]}

# --- stop the server (graceful: SIGTERM) ---
kill -TERM "$SERVER_PID" 2>/dev/null
server_status=0
for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: warning: dossierd did not stop within 10 s of SIGTERM" >&2
    server_status=1
else
    wait "$SERVER_PID"
    server_status=$?
    ((server_status == 0)) || echo "run.sh: warning: dossierd exited with status $server_status" >&2
fi
SERVER_PID=""

# --- summary: always the last line, and consistent with the exit status ---
summary="$(grep -E '^C client: [0-9]+ passed, [0-9]+ failed$' "$WORK/test.log" | tail -n 1)"
passed="$(sed -n 's/^C client: \([0-9]*\) passed.*/\1/p' <<<"$summary")"
failed="$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$summary")"
if [[ -z "$summary" ]]; then
    echo "run.sh: the test program ended without a summary (status $status)" >&2
    tail -n 30 "$WORK/server.log" >&2
    echo "C client: 0 passed, 1 failed (test program crashed, status $status)"
    exit 1
fi
if ((status != 0)) && ((failed == 0)); then
    echo "run.sh: the test program exited with status $status (memory errors or leaks?)" >&2
    echo "C client: $passed passed, 1 failed (test program exited with status $status)"
    exit 1
fi
if ((failed > 0)); then
    echo "run.sh: server log (last lines):" >&2
    tail -n 30 "$WORK/server.log" >&2
    exit 1
fi
exit 0
