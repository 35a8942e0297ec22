#!/usr/bin/env bash
# Crash safety: drives deposits and grants through a real dossierd, kills it with SIGKILL at
# random moments, restarts it, and checks that every acknowledged write is there and that the
# record's access log still verifies.
#
#   scripts/crash-test.sh [ROUNDS] [WRITERS]      (defaults: 20 rounds, 4 concurrent writers)
#
# Needs the debug binaries (make build) and the development certificates (make certs).
# Prints one summary line: "crash-test: R kills, A acknowledged writes, L lost".
# DOSSIER_TEST_SERVER_FLAGS adds flags to dossierd (scripts/postgres-test.sh runs it on PostgreSQL:
# "--storage postgres --postgres-url … --postgres-migrate").
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-20}
writers=${2:-4}
bin=.build/debug
certs=${CERTS:-certs/dev}
port=${CRASH_TEST_PORT:-$((20000 + RANDOM % 20000))}
work=$(mktemp -d /tmp/dossier-crash.XXXXXX)
data=$work/data
patient=1985010112345
trap 'pkill -9 -f "dossierd --port $port" 2>/dev/null || true; rm -rf "$work"' EXIT

as() {
  local who=$1; shift
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$certs/ca.pem DOSSIER_CERT=$certs/$who.pem DOSSIER_KEY=$certs/$who.key \
    "$bin/dossier" "$@" --timeout 5
}

start() {
  "$bin/dossierd" --port "$port" --metrics-port 0 --data-dir "$data" --key-store "$work/keystore" \
    --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" --cert "$certs/server.pem" --key "$certs/server.key" \
    --client-ca "$certs/ca.pem" --log-level error ${DOSSIER_TEST_SERVER_FLAGS:-} >>"$work/server.log" 2>&1 &
  disown
  for _ in $(seq 1 100); do
    as operator-helpdesk health >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "crash-test: dossierd did not start" >&2
  cat "$work/server.log" >&2
  exit 2
}

bash scripts/dev-keys.sh "$work/keys" >/dev/null
head -c 20000 /dev/urandom >"$work/content.bin"
start
as operator-helpdesk record open $patient --skip-objection-period >/dev/null
as patient-alice access grant $patient gp-1001 --extended --write >/dev/null
: >"$work/acked"

writer() {
  local round=$1 id=$2 n=0
  while true; do
    n=$((n + 1))
    local cid="crash-$round-$id-$n"
    if as professional-gp doc deposit $patient "$work/content.bin" --title "Crash test" --class report \
        --type "http://loinc.org|11488-4" --client-id "$cid" >/dev/null 2>&1; then
      echo "$cid" >>"$work/acked"
    else
      return 0
    fi
  done
}

kills=0
for round in $(seq 1 "$rounds"); do
  pids=()
  for w in $(seq 1 "$writers"); do writer "$round" "$w" & pids+=($!); done
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + (r % 150) / 100 }')"
  pkill -9 -f "dossierd --port $port"
  kills=$((kills + 1))
  wait "${pids[@]}" 2>/dev/null || true
  start
done

# Every acknowledged deposit must be there.
source scripts/acknowledged.sh
count_lost "$work" $patient || echo "crash-test: the search failed: $(head -1 "$work/find.err")"

verify=$(as patient-alice log verify $patient 2>&1 || true)
grants=$(as patient-alice access list $patient 2>&1 | grep -c gp-1001 || true)
echo "$verify" | head -1
status=0
[ "$lost" -eq 0 ] || status=1
echo "$verify" | grep -q '^VERIFIED' || status=1
[ "$grants" -ge 1 ] || { echo "crash-test: the grant is gone"; status=1; }
echo "crash-test: $kills kills, $acked acknowledged writes, $lost lost, log $(echo "$verify" | head -1 | cut -d: -f1)"
exit $status
