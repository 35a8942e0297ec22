#!/usr/bin/env bash
# Reference benchmark for BENCHMARKS.md: containerd's own Go ttrpc server and client (Debian's
# golang-github-containerd-ttrpc-dev) over mutual TLS 1.3, on this machine. See
# interop/go-bench/README.md.
#
# Usage:  scripts/go-reference-bench.sh
#
# Builds interop/go-bench in GOPATH mode into .build-interop/ (as scripts/interop-go.sh does),
# starts its ttrpc server on 127.0.0.1 with a free port, runs the call bench (long-lived
# connections) and the handshake bench (a new connection per call) against it, stops it with
# SIGTERM. Each bench prints a human line and a JSON line; a summary of the JSON lines ends
# the output. Settings from the environment:
#
#   DURATION=10 WARMUP=2     seconds measured, seconds of warm-up (each bench)
#   CONNECTIONS=16 INFLIGHT=8   call bench: connections x calls in flight per connection
#   WORKERS=16               handshake bench: concurrent workers
#   CERTS=certs/dev          ca.pem, server.pem/.key, professional-gp.pem/.key (made in a
#                            temporary directory by certs/make-dev-certs.sh when absent)
#   DOSSIERD=path            also run both benches, with the same Go client, against this
#                            dossierd binary (fresh data directory, --log-level notice);
#                            not built here. Unset: the Go server only.
#
# Exits 0 when every bench ran without errors, 1 when a call failed or a server did not stop
# cleanly, 2 when the run could not be set up.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
cd "$ROOT"

readonly DURATION="${DURATION:-10}" WARMUP="${WARMUP:-2}"
readonly CONNECTIONS="${CONNECTIONS:-16}" INFLIGHT="${INFLIGHT:-8}" WORKERS="${WORKERS:-16}"
CERTS="${CERTS:-certs/dev}"
readonly DOSSIERD="${DOSSIERD:-}"
readonly BUILD_DIR="$ROOT/.build-interop"
readonly BIN="$BUILD_DIR/go-bench"
readonly READY_TIMEOUT=20  # seconds for a server to answer on its port
readonly STOP_TIMEOUT=40   # seconds for a server to exit after SIGTERM (dossierd drains 30 s)

say() { echo "go-reference-bench: $*" >&2; }
die() { say "$*"; exit 2; }

# --- Packages and build (GOPATH mode: Debian's Go sources, no module download) ---------------

for package in golang-go golang-github-containerd-ttrpc-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || die "package $package is missing (apt-get install $package, or run scripts/interop-go.sh once)"
done
command -v go >/dev/null || die "go is not on PATH"
if [[ -n "$DOSSIERD" && ! -x "$DOSSIERD" ]]; then die "no dossierd at $DOSSIERD"; fi

mkdir -p "$BUILD_DIR"
GO111MODULE=off GOPATH="/usr/share/gocode" GOFLAGS="" GOPROXY=off GOCACHE="$BUILD_DIR/gocache" \
    go build -o "$BIN" ./interop/go-bench || die "building interop/go-bench failed"

# --- Certificates, servers ------------------------------------------------------------------

work="$(mktemp -d)"
bash "$(dirname "${BASH_SOURCE[0]}")/dev-keys.sh" "$work/keys" >/dev/null
server_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -f "$CERTS/ca.pem" || ! -f "$CERTS/server.key" || ! -f "$CERTS/professional-gp.key" ]]; then
    say "no development certificates in $CERTS; making a set in a temporary directory"
    log="$(bash certs/make-dev-certs.sh "$work/certs" 2>&1)" || { echo "$log" >&2; die "make-dev-certs.sh failed"; }
    CERTS="$work/certs"
fi
readonly CERTS

port_is_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' \
        2>/dev/null && return
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 20000))
        port_is_open "$port" || { echo "$port"; return; }
    done
    return 1
}

# start_server NAME LOG COMMAND...: runs COMMAND in the background (it must listen on $port)
# and waits until the port answers.
start_server() {
    local name="$1" log="$2"
    shift 2
    "$@" >"$log" 2>&1 &
    server_pid=$!
    local deadline=$((SECONDS + READY_TIMEOUT))
    until port_is_open "$port"; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            tail -n 30 "$log" >&2 || true
            die "$name exited before listening on port $port"
        fi
        if (( SECONDS >= deadline )); then
            tail -n 30 "$log" >&2 || true
            die "$name did not answer on 127.0.0.1:$port within ${READY_TIMEOUT}s"
        fi
        sleep 0.1
    done
    say "$name (pid $server_pid) on 127.0.0.1:$port"
}

# stop_server NAME LOG: SIGTERM, and the server must exit 0 within STOP_TIMEOUT.
stop_server() {
    local name="$1" log="$2" rc=0
    kill -TERM "$server_pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$server_pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
    if kill -0 "$server_pid" 2>/dev/null; then
        say "FAIL $name still running ${STOP_TIMEOUT}s after SIGTERM"
        status=1
        return
    fi
    wait "$server_pid" || rc=$?
    server_pid=""
    if (( rc != 0 )); then
        say "FAIL $name exited with status $rc after SIGTERM"
        tail -n 30 "$log" >&2 || true
        status=1
    fi
}

# run_benches TARGET: the call bench then the handshake bench against 127.0.0.1:$port.
run_benches() {
    local target="$1" rc
    local common=(-addr "127.0.0.1:$port" -certs "$CERTS" -server-name localhost
        -target "$target" -duration "$DURATION" -warmup "$WARMUP")
    say "$target: calls, $CONNECTIONS connections x $INFLIGHT in flight, ${WARMUP}s warm-up + ${DURATION}s"
    rc=0; "$BIN" -bench "${common[@]}" -connections "$CONNECTIONS" -inflight "$INFLIGHT" \
        | tee -a "$work/results" || rc=$?
    (( rc == 0 )) || { say "FAIL call bench against $target (exit $rc)"; status=1; }
    say "$target: handshakes, $WORKERS workers, ${WARMUP}s warm-up + ${DURATION}s"
    rc=0; "$BIN" -handshake "${common[@]}" -workers "$WORKERS" | tee -a "$work/results" || rc=$?
    (( rc == 0 )) || { say "FAIL handshake bench against $target (exit $rc)"; status=1; }
}

status=0
: >"$work/results"
say "$(nproc) cores; $(go version | cut -d' ' -f3); ttrpc $(dpkg-query -W -f='${Version}' golang-github-containerd-ttrpc-dev); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The reference: containerd's ttrpc server, called by containerd's ttrpc client.
port="$(free_port)" || die "found no free port"
start_server "go ttrpc server" "$work/go-server.log" \
    "$BIN" -serve -addr "127.0.0.1:$port" -certs "$CERTS"
run_benches go
stop_server "go ttrpc server" "$work/go-server.log"

# Optionally the same Go client against dossierd.
if [[ -n "$DOSSIERD" ]]; then
    port="$(free_port)" || die "found no free port"
    start_server "dossierd" "$work/dossierd.log" \
        "$DOSSIERD" --host 127.0.0.1 --port "$port" --metrics-port 0 --data-dir "$work/data" --key-store "$work/keystore" \
        --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" \
        --log-level notice --cert "$CERTS/server.pem" --key "$CERTS/server.key" --client-ca "$CERTS/ca.pem"
    run_benches dossierd
    stop_server "dossierd" "$work/dossierd.log"
fi

echo
echo "Results (JSON lines):"
grep '^{' "$work/results" || true
exit "$status"
