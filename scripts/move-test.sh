#!/usr/bin/env bash
# Moving a deployment from the embedded RocksDB to PostgreSQL (docs/OPERATIONS.md, section 16):
# a populated server on RocksDB (documents of several sizes, grants, an access log) is stopped,
# `dossierd move-to-postgres` copies and verifies it, and the server started on PostgreSQL with
# the same key store serves every document byte-identical and a log that verifies.
#
#   scripts/move-test.sh BIN_DIR POSTGRES_URL      (scripts/postgres-test.sh runs it)
#
# Run as root: dossierd, its move and the CLI run as uid 65534 with no capabilities, as ops run
# them (scripts/unprivileged-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:?usage: move-test.sh BIN_DIR POSTGRES_URL}
url=${2:?usage: move-test.sh BIN_DIR POSTGRES_URL}
certs=${CERTS:-certs/dev}
work=$(mktemp -d /tmp/dossier-move.XXXXXX)
port=$((20000 + RANDOM % 20000))
patient=1985010112345
server_pid=
trap '[ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "move-test: FAILED: $*" >&2; tail -n 20 "$work/server.log" >&2 || true; exit 1; }

# Everything the unprivileged user touches is its own, in the work directory.
uid=${UNPRIVILEGED_UID:-65534}
as_user=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs)
chmod 0711 "$work"
install -d -m 0755 "$work/bin"
install -m 0755 "$bin/dossierd" "$bin/dossier" "$work/bin/"
bin=$work/bin
install -d -m 0700 "$work/certs"
cp "$certs"/*.pem "$certs"/*.key "$work/certs/"
certs=$work/certs
bash scripts/dev-keys.sh "$work/keys" >/dev/null
chmod 0700 "$work/keys"
chmod 0600 "$certs"/* "$work/keys"/*
install -d -m 0700 "$work/out" "$work/data" "$work/keystore"
chown -R "$uid:$uid" "$certs" "$work/keys" "$work/out" "$work/data" "$work/keystore"
common=(--port "$port" --metrics-port 0 --data-dir "$work/data" --key-store "$work/keystore" --master-key "$work/keys/master.key"
  --log-signing-key "$work/keys/log-signing.key" --cert "$certs/server.pem" --key "$certs/server.key" --client-ca "$certs/ca.pem"
  --log-level warning)
as() {
  local who=$1; shift
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$certs/ca.pem DOSSIER_CERT=$certs/$who.pem DOSSIER_KEY=$certs/$who.key \
    "${as_user[@]}" "$bin/dossier" "$@" --timeout 10
}
start() {
  "${as_user[@]}" "$bin/dossierd" "${common[@]}" "$@" >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do as operator-helpdesk health >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "dossierd did not start"
}
stop() { kill -TERM "$server_pid"; wait "$server_pid" || fail "dossierd exited $? on SIGTERM"; server_pid=; }

start
as operator-helpdesk record open $patient --skip-objection-period >/dev/null
as patient-alice access grant $patient gp-1001 --extended --write >/dev/null
for size in 10 70000 3500000; do  # one piece, two pieces, an upload of several chunks
  head -c "$size" /dev/urandom >"$work/doc-$size"
  chmod 0644 "$work/doc-$size"
  as professional-gp doc deposit $patient "$work/doc-$size" --title "Move $size" --class report \
    --type "http://loinc.org|11488-4" --client-id "move-$size" --json >"$work/deposit-$size.json" 2>/dev/null || fail "deposit of $size bytes"
done
as professional-gp doc find $patient --json >"$work/before.json"
as patient-alice log verify $patient | grep -q '^VERIFIED' || fail "the log does not verify before the move"
stop

"${as_user[@]}" "$bin/dossierd" move-to-postgres "${common[@]}" --storage postgres --postgres-url "$url" >"$work/move.out" 2>"$work/move.err" \
  || { cat "$work/move.out" "$work/move.err" >&2; fail "move-to-postgres"; }
grep -q "every family identical" "$work/move.out" || fail "move-to-postgres said: $(cat "$work/move.out")"
echo "move-test: $(cat "$work/move.out")"

start --storage postgres --postgres-url "$url"
for size in 10 70000 3500000; do
  id=$(grep -o '"document_id": *"[^"]*"' "$work/deposit-$size.json" | head -1 | sed 's/.*: *"//; s/"$//')
  [ -n "$id" ] || fail "no document id for the $size-byte deposit"
  as professional-gp doc download $patient "$id" -o "$work/out/back-$size" >/dev/null 2>&1 || fail "download of $size bytes on PostgreSQL"
  cmp -s "$work/doc-$size" "$work/out/back-$size" || fail "the $size-byte document differs after the move"
done
as professional-gp doc find $patient --json >"$work/after.json"
[ "$(grep -c document_id "$work/before.json")" = "$(grep -c document_id "$work/after.json")" ] || fail "the search finds other documents"
as patient-alice log verify $patient | grep -q '^VERIFIED' || fail "the log does not verify after the move"
as patient-alice access list $patient | grep -q gp-1001 || fail "the grant is gone"
stop
echo "move-test: OK (3 documents byte-identical, grant kept, log verified on PostgreSQL; dossierd and the CLI as uid $uid)"
