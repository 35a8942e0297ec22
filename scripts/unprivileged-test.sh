#!/usr/bin/env bash
# The server and the CLI as ops run them: an unprivileged user with no capabilities and no
# way to gain any. Starts dossierd as uid/gid 65534 (nobody) on a data directory that user
# owns, runs the README's scenario (scripts/scenario.sh) through the CLI as the same user,
# scrapes the metrics, stops the server with SIGTERM and checks it drained and exited 0.
#
#   scripts/unprivileged-test.sh [BIN_DIR]        (default .build/debug)
#
# Run as root (it switches users with setpriv). Prints "unprivileged-test: OK" at the end.
# DOSSIER_TEST_SERVER_FLAGS adds flags to dossierd (scripts/postgres-test.sh: the records in PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-.build/debug}
certs=${CERTS:-certs/dev}
uid=${UNPRIVILEGED_UID:-65534}
[ "$(id -u)" -eq 0 ] || { echo "unprivileged-test: run as root (it switches to uid $uid)" >&2; exit 2; }
command -v setpriv >/dev/null || { echo "unprivileged-test: needs setpriv (util-linux)" >&2; exit 2; }

work=$(mktemp -d /tmp/dossier-unprivileged.XXXXXX)
port=$((20000 + RANDOM % 20000))
metrics_port=$((port + 1))
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Everything the unprivileged user touches lives in the work directory: the binaries (the
# checkout may sit in a directory only root can enter), the certificates and keys (0600, its
# own), the data directory (created by the server itself).
install -d -m 0755 "$work/bin"
install -m 0755 "$bin/dossierd" "$bin/dossier" "$work/bin/"
install -d -m 0700 "$work/certs" "$work/keys" "$work/cli"
cp "$certs"/*.pem "$certs"/*.key "$work/certs/"
chmod 0600 "$work/certs"/*
openssl rand -hex 32 >"$work/keys/master.key"
openssl rand -hex 32 >"$work/keys/log-signing.key"
chmod 0600 "$work/keys"/*
chown -R "$uid:$uid" "$work/certs" "$work/keys" "$work/cli"
chown "$uid:$uid" "$work"

as_user=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs)

cd "$work"
"${as_user[@]}" env -i PATH=/usr/bin:/bin HOME="$work" "$work/bin/dossierd" serve --host 127.0.0.1 --port "$port" \
  --metrics-port "$metrics_port" --data-dir "$work/data" --key-store "$work/keystore" --cert certs/server.pem --key certs/server.key \
  --client-ca certs/ca.pem --master-key keys/master.key --log-signing-key keys/log-signing.key \
  --backup-dir "$work/backups" ${DOSSIER_TEST_SERVER_FLAGS:-} >"$work/server.log" 2>&1 &
server_pid=$!
cd - >/dev/null

health() {
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$work/certs/ca.pem DOSSIER_CERT=$work/certs/operator-helpdesk.pem \
    DOSSIER_KEY=$work/certs/operator-helpdesk.key "${as_user[@]}" "$work/bin/dossier" health --timeout 2 >/dev/null 2>&1
}
for _ in $(seq 1 150); do
  health && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if ! health; then
  echo "unprivileged-test: FAILED: no successful call to dossierd running as uid $uid" >&2
  echo "--- server log" >&2; cat "$work/server.log" >&2
  echo "--- a health call" >&2
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$work/certs/ca.pem DOSSIER_CERT=$work/certs/operator-helpdesk.pem \
    DOSSIER_KEY=$work/certs/operator-helpdesk.key "${as_user[@]}" "$work/bin/dossier" health --timeout 2 >&2 || true
  exit 1
fi
echo "unprivileged-test: dossierd serving as uid $(ps -o uid= -p "$server_pid" | tr -d ' ')"

SCENARIO_AS="${as_user[*]}" SCENARIO_WORK="$work/cli" bash scripts/scenario.sh "127.0.0.1:$port" "$work/certs" "$work/bin/dossier"

metrics=$("${as_user[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$metrics_port; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3")
grep -q '^dossier_calls_total{.*code="OK"}' <<<"$metrics" || { echo "unprivileged-test: FAILED: no calls in the metrics" >&2; exit 1; }
echo "unprivileged-test: metrics scraped"

# On PostgreSQL there is no data directory: only the key store is checked.
owners=$( { find "$work/data" "$work/keystore" ! -uid "$uid" 2>/dev/null || true; } | head -n 3)
[ -z "$owners" ] || { echo "unprivileged-test: FAILED: files in the data directory not owned by $uid: $owners" >&2; exit 1; }

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" -eq 0 ] || { echo "unprivileged-test: FAILED: dossierd exited $status after SIGTERM" >&2; cat "$work/server.log" >&2; exit 1; }
grep -q "stopped" "$work/server.log" || { echo "unprivileged-test: FAILED: no 'stopped' line" >&2; exit 1; }
echo "unprivileged-test: stopped with exit 0 after SIGTERM"
echo "unprivileged-test: OK"
