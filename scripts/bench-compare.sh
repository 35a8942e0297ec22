#!/usr/bin/env bash
# Paired before/after runs of dossier-bench on the same machine: for each operation, ROUNDS
# rounds, each running the BEFORE server then the AFTER server (order alternating between
# rounds), each on a fresh data directory, DURATION seconds after the usual warm-up. Prints one
# line per run and, per operation, the median throughput and latency of each side and the ratio.
#
#   scripts/bench-compare.sh BEFORE_BIN_DIR AFTER_BIN_DIR [OPERATION...]
#
# BIN_DIR holds dossierd and dossier-bench (release builds). Operations default to the issue 14
# set: deposit-4k get-document find overview list-log. ROUNDS (3) and DURATION (10) from the
# environment. A binary that knows --key-store gets one (it must: the key store is apart).
# POSTGRES_URL (a URL with a query, e.g. scripts/postgres-cluster.sh's) runs both sides on
# PostgreSQL, each run in a schema of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

before=${1:?usage: bench-compare.sh BEFORE_BIN_DIR AFTER_BIN_DIR [OPERATION...]}
after=${2:?usage: bench-compare.sh BEFORE_BIN_DIR AFTER_BIN_DIR [OPERATION...]}
shift 2
operations=("$@")
[ ${#operations[@]} -gt 0 ] || operations=(deposit-4k get-document find overview list-log)
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
port=$((20000 + RANDOM % 20000))
work=$(mktemp -d /tmp/dossier-compare.XXXXXX)
results=$work/results
schemas=0
server=
trap '[ -n "$server" ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"' EXIT
bash scripts/dev-keys.sh "$work/keys" >/dev/null

start() {  # start BIN_DIR
  local bin=$1 extra=()
  rm -rf "$work/data" "$work/keystore"
  # (the help is read whole first: grep -q closing the pipe early would fail it under pipefail)
  local help; help=$("$bin/dossierd" serve --help 2>&1 || true)
  [[ $help == *--key-store* ]] && extra=(--key-store "$work/keystore")
  # On PostgreSQL: a fresh schema per run, as a fresh data directory on RocksDB.
  if [ -n "${POSTGRES_URL:-}" ]; then
    schemas=$((schemas + 1))
    extra+=(--storage postgres --postgres-url "$POSTGRES_URL&schema=compare_$$_$schemas" --postgres-migrate)
  fi
  "$bin/dossierd" --port "$port" --metrics-port 0 --log-level error --data-dir "$work/data" "${extra[@]}" \
    --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" \
    --cert certs/dev/server.pem --key certs/dev/server.key --client-ca certs/dev/ca.pem >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    "$bin/dossier-bench" --server "127.0.0.1:$port" --operation health --duration 0.1 --warmup 0 >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "bench-compare: $bin/dossierd did not start" >&2; cat "$work/server.log" >&2; exit 2
}

stop() { kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=; }

run() {  # run SIDE BIN_DIR OPERATION
  local side=$1 bin=$2 operation=$3 line
  start "$bin"
  line=$("$bin/dossier-bench" --server "127.0.0.1:$port" --duration "$duration" --operation "$operation" | grep '^{')
  stop
  echo "$side $operation $line" >>"$results"
  echo "  $side $operation $(sed -E 's/.*"(calls|deposits|bytes)?_?per_s":([0-9]+).*"p50_us":([0-9]+).*"p99_us":([0-9]+).*/\2\/s p50 \3 µs p99 \4 µs/' <<<"$line")"
}

echo "== $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); before $before, after $after; $rounds rounds of $duration s"
for operation in "${operations[@]}"; do
  for round in $(seq 1 "$rounds"); do
    if (( round % 2 )); then run before "$before" "$operation"; run after "$after" "$operation"
    else run after "$after" "$operation"; run before "$before" "$operation"; fi
  done
done

echo "== medians (throughput per s, p50 µs, p99 µs) and after/before"
python3 - "$results" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, operation, payload = line.split(" ", 2)
    data = json.loads(payload)
    rate = next(v for k, v in data.items() if k.endswith("_per_s") and k != "mb_per_s")
    rows.setdefault(operation, {}).setdefault(side, []).append((rate, data["p50_us"], data["p99_us"]))
print(f"{'operation':14} {'before/s':>9} {'after/s':>9} {'ratio':>6} {'p50 b':>7} {'p50 a':>7} {'p99 b':>7} {'p99 a':>7}")
for operation, sides in rows.items():
    b = [statistics.median(x) for x in zip(*sides["before"])]
    a = [statistics.median(x) for x in zip(*sides["after"])]
    print(f"{operation:14} {b[0]:9.0f} {a[0]:9.0f} {a[0] / b[0]:6.2f} {b[1]:7.0f} {a[1]:7.0f} {b[2]:7.0f} {a[2]:7.0f}")
EOF
