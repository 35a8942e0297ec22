#!/usr/bin/env bash
# GetStatistics on a populated deployment, before and after a change (decision 0010: maintained
# counts instead of a scan). Loads RECORDS records with DOCS documents each through the BEFORE
# server, then serves the same data with each server in turn and measures GetStatistics by one
# operator (one call at a time, DURATION seconds), and the AFTER server's start on data it has
# not counted yet (its one scan). On RocksDB each server gets its own copy of the loaded data
# directory; with POSTGRES_URL both serve the same schema, BEFORE first.
#
#   scripts/bench-statistics.sh BEFORE_BIN_DIR AFTER_BIN_DIR [RECORDS] [DOCS]
#
# BIN_DIR holds dossierd and dossier-bench (release builds; AFTER's dossier-bench is the client
# for both). RECORDS 20000, DOCS 2, DURATION 5 by default. Prints numbers only.
set -euo pipefail
cd "$(dirname "$0")/.."

before=${1:?usage: bench-statistics.sh BEFORE_BIN_DIR AFTER_BIN_DIR [RECORDS] [DOCS]}
after=${2:?usage: bench-statistics.sh BEFORE_BIN_DIR AFTER_BIN_DIR [RECORDS] [DOCS]}
records=${3:-20000}
docs=${4:-2}
duration=${DURATION:-5}
port=$((20000 + RANDOM % 20000))
work=$(mktemp -d /tmp/dossier-bench-stats.XXXXXX)
server=
trap '[ -n "$server" ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"' EXIT
bash scripts/dev-keys.sh "$work/keys" >/dev/null
client=$after/dossier-bench
postgres=()
[ -n "${POSTGRES_URL:-}" ] && postgres=(--storage postgres --postgres-url "$POSTGRES_URL&schema=bench_stats_$$" --postgres-migrate)

start() {  # start BIN_DIR DATA_DIR KEY_STORE: sets started_in, the seconds until the first answer
  local bin=$1 t0 t1
  t0=$(date +%s.%N)
  "$bin/dossierd" --port "$port" --metrics-port 0 --log-level error --data-dir "$2" --key-store "$3" "${postgres[@]}" \
    --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" \
    --cert certs/dev/server.pem --key certs/dev/server.key --client-ca certs/dev/ca.pem >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 6000); do
    if "$client" --server "127.0.0.1:$port" --operation health --duration 0.1 --warmup 0 >/dev/null 2>&1; then
      t1=$(date +%s.%N)
      started_in=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
      return
    fi
    sleep 0.1
  done
  echo "bench-statistics: $bin/dossierd did not start" >&2; cat "$work/server.log" >&2; exit 2
}
stop() { kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=; }
measure() {  # measure SIDE
  local line
  line=$("$client" --server "127.0.0.1:$port" --operation statistics --connections 1 --in-flight 1 --warmup 1 \
    --duration "$duration" | grep '^{')
  echo "$1 statistics $(sed -E 's/.*"calls_per_s":([0-9.]+).*"p50_us":([0-9]+).*"p99_us":([0-9]+).*/\1 calls\/s p50 \2 µs p99 \3 µs/' <<<"$line")"
}

echo "== $(nproc) cores; $records records × $docs documents; ${POSTGRES_URL:+PostgreSQL}${POSTGRES_URL:-RocksDB}; $duration s per side"
start "$before" "$work/data" "$work/keys.db"
"$client" --server "127.0.0.1:$port" --mode load --population "s:$records" --documents-per-record "$docs" --small-contents | tail -n 1
measure before
stop
if [ ${#postgres[@]} -eq 0 ]; then
  cp -a "$work/data" "$work/data-after"
  cp -a "$work/keys.db" "$work/keys-after.db"
  data=$work/data-after keys=$work/keys-after.db
else
  data=$work/data keys=$work/keys.db
fi
start "$after" "$data" "$keys"
echo "after: first start (counts the data once) $started_in s"
measure after
stop
start "$after" "$data" "$keys"
echo "after: next start $started_in s"
measure after
stop
