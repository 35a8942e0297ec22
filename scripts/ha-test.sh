#!/usr/bin/env bash
# Failover without loss (issue 18): a PostgreSQL primary and a synchronous standby on loopback,
# dossierd given both (--postgres-url with two hosts) under a write load — deposits by several
# writers, grants changed, documents read — then the primary SIGKILLed at a random moment and the
# standby promoted (pg_ctl promote, what pg_auto_failover or Patroni would do). dossierd
# reconnects by itself. Checked: every acknowledged deposit is on the new primary, the record's
# access log verifies, the grant is there, calls during the switch failed UNAVAILABLE (never
# another answer). Measured: the time without a successful deposit.
#
#   scripts/ha-test.sh [BIN_DIR] [short|long]     (short: 1 failover, make test; long: 3, make ha-test)
#   HA_KEEP=1 keeps the work directory (server and PostgreSQL logs, answers) of a failed run.
#
# Run as root (PostgreSQL runs as the system user dossier-pg, as in scripts/postgres-cluster.sh;
# dossierd and the CLI as uid 65534 with no capabilities, as ops run them: scripts/unprivileged-test.sh).
# Prints "ha-test: F failovers, A acknowledged writes, L lost, U s unavailable (max), log VERIFIED".
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-.build/debug}
mode=${2:-short}
rounds=1
[ "$mode" = long ] && rounds=3
writers=3
certs=${CERTS:-certs/dev}
pgbin=/usr/lib/postgresql/15/bin
os_user=dossier-pg
work=$(mktemp -d /tmp/dossier-ha.XXXXXX)
chmod 0755 "$work"
port=$((20000 + RANDOM % 20000))
patient=1985010112345
server_pid=
as_pg() { runuser -u "$os_user" -- "$@"; }
cleanup() {
  local status=$?  # the test's verdict, not the clean-up's (a killed primary's pg_ctl stop fails)
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  for node in "$work"/node*; do
    # The killed primary's pid file stays behind: its stop fails, and that is fine.
    [ -f "$node/data/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$node/data" -m immediate stop >/dev/null 2>&1 || true
  done
  if [ "$status" -ne 0 ] && [ -n "${HA_KEEP:-}" ]; then echo "ha-test: kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
fail() { echo "ha-test: FAILED: $*" >&2; [ -f "$work/server.log" ] && tail -n 30 "$work/server.log" >&2; exit 1; }

pg_port() { echo $((port + 1 + $1)); }
sql() { as_pg "$pgbin/psql" -h 127.0.0.1 -p "$(pg_port "$1")" -U dossier -d postgres -tAc "$2"; }

# Node 0: the first primary, made by the test-cluster script, with replication allowed.
bash scripts/postgres-cluster.sh start "$work/node0" "$(pg_port 0)" >/dev/null
echo "host replication all 127.0.0.1/32 trust" | as_pg tee -a "$work/node0/data/pg_hba.conf" >/dev/null
sql 0 "SELECT pg_reload_conf()" >/dev/null

# Node N: a standby of node 0, streaming, named standbyN.
make_standby() {
  local n=$1 from=$2
  mkdir -p "$work/node$n"
  chown "$os_user" "$work/node$n"
  as_pg "$pgbin/pg_basebackup" -d "host=127.0.0.1 port=$(pg_port "$from") user=dossier application_name=standby$n" \
    -D "$work/node$n/data" -R -X stream -c fast >/dev/null 2>&1 || fail "pg_basebackup of node $n"
  as_pg sed -i "s|^unix_socket_directories.*|unix_socket_directories = '$work/node$n'|" "$work/node$n/data/postgresql.conf"
  as_pg "$pgbin/pg_ctl" -D "$work/node$n/data" -w -t 60 -l "$work/node$n/server.log" -o "-p $(pg_port "$n")" start >/dev/null \
    || fail "standby $n did not start"
}
# Makes standby N the synchronous one of primary P and waits until it is.
make_synchronous() {
  local primary=$1 n=$2
  sql "$primary" "ALTER SYSTEM SET synchronous_standby_names = 'standby$n'" >/dev/null
  sql "$primary" "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 100); do
    [ "$(sql "$primary" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby$n'")" = sync ] && return 0
    sleep 0.1
  done
  fail "standby $n never became synchronous"
}
make_standby 1 0
make_synchronous 0 1

# dossierd with every node's address; the first writable one serves.
hosts="127.0.0.1:$(pg_port 0)"
for n in $(seq 1 "$rounds"); do hosts+=",127.0.0.1:$(pg_port "$n")"; done
url="postgres://dossier@$hosts/dossier_test?sslmode=disable&connect_timeout=2"
# dossierd and the CLI as an unprivileged user: binaries, certificates and keys its own (0600),
# in the work directory (the checkout may sit where only root can enter).
uid=${UNPRIVILEGED_UID:-65534}
as_user=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs)
install -d -m 0755 "$work/bin"
install -m 0755 "$bin/dossierd" "$bin/dossier" "$work/bin/"
bin=$work/bin
install -d -m 0700 "$work/certs" "$work/keys"
cp "$certs"/*.pem "$certs"/*.key "$work/certs/"
certs=$work/certs
bash scripts/dev-keys.sh "$work/keys" >/dev/null
chmod 0600 "$certs"/* "$work/keys"/*
chown -R "$uid:$uid" "$certs" "$work/keys"
install -d -m 0700 -o "$uid" -g "$uid" "$work/data" "$work/keystore"
"${as_user[@]}" "$bin/dossierd" --port "$port" --metrics-port 0 --data-dir "$work/data" --key-store "$work/keystore" \
  --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" --cert "$certs/server.pem" --key "$certs/server.key" \
  --client-ca "$certs/ca.pem" --log-level "${HA_LOG_LEVEL:-warning}" --storage postgres --postgres-url "$url" --postgres-migrate --postgres-pool-size 8 \
  >>"$work/server.log" 2>&1 &
server_pid=$!

as() {
  local who=$1; shift
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$certs/ca.pem DOSSIER_CERT=$certs/$who.pem DOSSIER_KEY=$certs/$who.key \
    "${as_user[@]}" "$bin/dossier" "$@" --timeout "${CALL_TIMEOUT:-5}"
}
for _ in $(seq 1 150); do as operator-helpdesk health >/dev/null 2>&1 && break; sleep 0.1; done
as operator-helpdesk health >/dev/null 2>&1 || fail "dossierd did not start"
as operator-helpdesk record open $patient --skip-objection-period >/dev/null
as patient-alice access grant $patient gp-1001 --extended --write >/dev/null
head -c 20000 /dev/urandom >"$work/content.bin"
chmod 0644 "$work/content.bin"  # read by the CLI as the unprivileged user
: >"$work/acked"
: >"$work/answers"

# Each writer deposits until told to stop; every call's outcome goes to answers (time, code).
writer() {
  local id=$1 n=0
  while [ ! -f "$work/stop" ]; do
    n=$((n + 1))
    local cid="ha-$id-$n" out
    if out=$(as professional-gp doc deposit $patient "$work/content.bin" --title "HA test" --class report \
        --type "http://loinc.org|11488-4" --client-id "$cid" 2>&1); then
      echo "$cid" >>"$work/acked"
      echo "$(date +%s.%N) OK" >>"$work/answers"
    else
      echo "$(date +%s.%N) $(grep -oE 'UNAVAILABLE|INTERNAL|DEADLINE_EXCEEDED|PERMISSION_DENIED|NOT_FOUND|INVALID_ARGUMENT|FAILED_PRECONDITION|ALREADY_EXISTS|ABORTED|RESOURCE_EXHAUSTED|connection|timed out' <<<"$out" | head -1)" >>"$work/answers"
    fi
  done
}
# Grants changed and documents read alongside.
churner() {
  while [ ! -f "$work/stop" ]; do
    as patient-alice access grant $patient pharm-1 >/dev/null 2>&1 || true
    as professional-gp doc find $patient --page-size 5 >/dev/null 2>&1 || true
    as patient-alice access revoke $patient pharm-1 >/dev/null 2>&1 || true
  done
}

failovers=0
max_gap=0
primary=0
for round in $(seq 1 "$rounds"); do
  rm -f "$work/stop"
  pids=()
  for w in $(seq 1 "$writers"); do writer "$round$w" & pids+=($!); done
  churner & pids+=($!)
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 2 + (r % 300) / 100 }')"
  killed_at=$(date +%s.%N)
  # The host dies: the postmaster and every backend at once (a postmaster killed alone leaves
  # its backends running until they notice).
  postmaster=$(head -1 "$work/node$primary/data/postmaster.pid")
  kill -STOP "$postmaster"
  pkill -9 -P "$postmaster" || true
  kill -9 "$postmaster"
  as_pg "$pgbin/pg_ctl" -D "$work/node$round/data" -w -t 60 promote >/dev/null || fail "promotion of node $round"
  failovers=$((failovers + 1))
  primary=$round
  # The next standby (long mode) follows the new primary, synchronously.
  if [ "$round" -lt "$rounds" ]; then
    make_standby $((round + 1)) "$primary"
    make_synchronous "$primary" $((round + 1))
  fi
  sleep 3
  touch "$work/stop"
  wait "${pids[@]}" 2>/dev/null || true
  # The time without service: the longest wait between two successful deposits from the kill
  # on (the first one counted from the kill itself).
  gap=$(sort -n "$work/answers" | awk -v k="$killed_at" '$2 == "OK" && $1 > k { if (!seen || $1 - last > gap) gap = $1 - (seen ? last : k); last = $1; seen = 1 } END { if (seen) print gap }')
  [ -n "$gap" ] || fail "no deposit succeeded after failover $round (last answers: $(sort -n "$work/answers" | tail -3 | tr "\n" " "))"
  max_gap=$(awk -v a="$max_gap" -v b="$gap" 'BEGIN { print (b > a ? b : a) }')
  echo "ha-test: failover $round: service back after $(printf '%.2f' "$gap") s"
done

# Every acknowledged deposit is on the last primary.
# The first calls after a switch may meet a connection to the dead primary: count_lost retries
# UNAVAILABLE, as a client does.
source scripts/acknowledged.sh
count_lost "$work" $patient || fail "search after the failovers: $(head -3 "$work/find.err")"
# Failed calls said UNAVAILABLE (or timed out on the dead primary), never anything else.
odd=$(awk '$2 != "OK" && $2 != "UNAVAILABLE" && $2 != "DEADLINE_EXCEEDED" && $2 != "timed" { print }' "$work/answers" | head -5)
failed=$(awk '$2 != "OK"' "$work/answers" | wc -l)
verify=$(CALL_TIMEOUT=300 as patient-alice log verify $patient 2>&1 || true)  # the whole log: thousands of entries in long mode
grants=$(as patient-alice access list $patient 2>&1 | grep -c gp-1001 || true)
status=0
[ "$lost" -eq 0 ] || status=1
[ -z "$odd" ] || { echo "ha-test: calls answered otherwise than UNAVAILABLE during the switch:"; echo "$odd"; status=1; }
echo "$verify" | grep -q '^VERIFIED' || { echo "$verify" | head -3; status=1; }
[ "$grants" -ge 1 ] || { echo "ha-test: the grant is gone"; status=1; }
echo "ha-test: $failovers failovers, $acked acknowledged writes, $lost lost, $failed calls refused during the switches, $(printf '%.2f' "$max_gap") s unavailable (max), log $(echo "$verify" | head -1 | cut -d: -f1)"
exit $status
