#!/usr/bin/env bash
# Interoperability test: calls a real dossierd with containerd's own Go ttrpc client
# (Debian's golang-github-containerd-ttrpc-dev) over mutual TLS. See interop/go/README.md.
#
# Usage:  scripts/interop-go.sh [-v]        (arguments go to the Go program; -v shows answers)
#
#   DOSSIERD=path   the server binary to test (default .build/debug/dossierd; relative paths are
#                   taken from the repository root; it is not built here)
#
# Installs golang-go and golang-github-containerd-ttrpc-dev if missing (apt-get, as root or via
# sudo), builds interop/go in GOPATH mode into .build-interop/, makes development certificates
# and a fresh patient certificate in a temporary directory, starts dossierd on 127.0.0.1 with a
# free port and an empty data directory, runs the checks, stops the server with SIGTERM and
# requires it to exit 0. Exits with the Go program's status (1 if the server did not stop
# cleanly, 2 if the test could not be set up).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
cd "$ROOT"

readonly DOSSIERD="${DOSSIERD:-.build/debug/dossierd}"
readonly BUILD_DIR="$ROOT/.build-interop"
readonly READY_TIMEOUT=20  # seconds for dossierd to answer on its port
readonly STOP_TIMEOUT=40   # seconds for dossierd to exit after SIGTERM (its drain timeout is 30 s)

say() { echo "interop-go: $*" >&2; }
die() { say "$*"; exit 2; }

started=$SECONDS

# --- Packages -------------------------------------------------------------------------------

readonly PACKAGES=(golang-go golang-github-containerd-ttrpc-dev)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if (( ${#missing[@]} )); then
    say "installing ${missing[*]}"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null || die "run as root or install: ${missing[*]}"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        say "install failed; updating the package lists and retrying"
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi
command -v go >/dev/null || die "go is not on PATH after installing golang-go"
command -v openssl >/dev/null || die "openssl is needed for the certificates (apt-get install openssl)"
[[ -x "$DOSSIERD" ]] || die "no dossierd at $DOSSIERD (build it, or set DOSSIERD)"

# --- The Go program (GOPATH mode: Debian's Go sources plus interop/go) -----------------------

mkdir -p "$BUILD_DIR"
GO111MODULE=off GOPATH="/usr/share/gocode:$ROOT/interop/go" GOFLAGS="" GOPROXY=off \
    GOCACHE="$BUILD_DIR/gocache" \
    go build -o "$BUILD_DIR/dossier-interop" dossier-interop \
    || die "building interop/go failed"

# --- Certificates, port, server -------------------------------------------------------------

work="$(mktemp -d)"
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

show_server_log() {
    say "dossierd log (last 30 lines):"
    tail -n 30 "$work/dossierd.log" >&2 || true
}

log="$(bash certs/make-dev-certs.sh "$work/certs" 2>&1)" || { echo "$log" >&2; die "make-dev-certs.sh failed"; }
# A patient id the server has never seen, with a certificate of its own, so the run repeats.
patient_id="$(printf '9%04d%04d%04d' $((RANDOM % 10000)) $((RANDOM % 10000)) $((RANDOM % 10000)))"
log="$(bash certs/issue-cert.sh --dir "$work/certs" --kind patient --id "$patient_id" \
    --name "Interop Patient" 2>&1)" || { echo "$log" >&2; die "issue-cert.sh failed"; }

port_is_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 20000))
        port_is_open "$port" || { echo "$port"; return; }
    done
    return 1
}
port="$(free_port)" || die "found no free port"

bash scripts/dev-keys.sh "$work/keys" >/dev/null
"$DOSSIERD" --host 127.0.0.1 --port "$port" --metrics-port 0 --data-dir "$work/data" --key-store "$work/keystore" \
    --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" \
    --cert "$work/certs/server.pem" --key "$work/certs/server.key" \
    --client-ca "$work/certs/ca.pem" >"$work/dossierd.log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + READY_TIMEOUT))
until port_is_open "$port"; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        rc=0; wait "$server_pid" || rc=$?
        server_pid=""
        show_server_log
        die "dossierd exited with status $rc before listening on port $port"
    fi
    if (( SECONDS >= deadline )); then
        show_server_log
        die "dossierd did not answer on 127.0.0.1:$port within ${READY_TIMEOUT}s"
    fi
    sleep 0.1
done
say "dossierd $DOSSIERD (pid $server_pid) on 127.0.0.1:$port; patient id $patient_id"

# --- The checks -----------------------------------------------------------------------------

status=0
"$BUILD_DIR/dossier-interop" -addr "127.0.0.1:$port" -server-name localhost \
    -certs "$work/certs" -patient-id "$patient_id" "$@" || status=$?

# --- Graceful shutdown ----------------------------------------------------------------------

kill -TERM "$server_pid"
deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$server_pid" 2>/dev/null && (( SECONDS < deadline )); do
    sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
    say "FAIL dossierd still running ${STOP_TIMEOUT}s after SIGTERM; killing it"
    (( status )) || status=1
else
    server_rc=0; wait "$server_pid" || server_rc=$?
    server_pid=""
    if (( server_rc != 0 )); then
        say "FAIL dossierd exited with status $server_rc after SIGTERM (want 0: graceful shutdown)"
        (( status )) || status=1
    else
        say "dossierd stopped gracefully (exit 0) after SIGTERM"
    fi
fi
(( status == 0 )) || show_server_log

say "done in $((SECONDS - started))s (exit $status)"
exit "$status"
