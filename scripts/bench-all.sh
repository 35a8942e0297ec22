#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one run, on both storage engines (decision 0009), with the
# limits each is compared to measured in the same run: containerd's Go ttrpc (calls and
# handshakes, scripts/go-reference-bench.sh) and a plain mutual-TLS stream on our stack for the
# transport; RocksDB's own db_bench (synced 4 KiB writes) for the embedded engine; pgbench's
# built-in TPC-B on the same throw-away cluster (scripts/postgres-cluster.sh: fsync and
# synchronous_commit on) for PostgreSQL. The same dossier-bench operations run on each backend.
#
# Usage:  make bench            (or: scripts/bench-all.sh; needs `make release` first)
#   DURATION=10  seconds per figure      SCALE=0  records for the scale figures (e.g. 100000;
#   0 skips them: loading takes minutes and ~13 KiB of content per document on disk)
#   BACKENDS="rocksdb postgres"  (default both; BACKENDS=rocksdb or BACKENDS=postgres for one)
#   PORT=7474  dossierd's port       PG_PORT=random  the throw-away PostgreSQL's port
#
# Installs rocksdb-tools (db_bench) if missing, and postgresql-15 (through postgres-cluster.sh).
# Prints each figure's human line and, at the end, a table of both backends side by side; all
# JSON lines go to bench-results.jsonl in the current directory (dossierd's with "backend").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10}"
SCALE="${SCALE:-0}"
PORT="${PORT:-7474}"
PG_PORT="${PG_PORT:-$((40000 + RANDOM % 20000))}"
BACKENDS="${BACKENDS:-rocksdb postgres}"
BACKENDS="${BACKENDS//,/ }"
PG_BIN=/usr/lib/postgresql/15/bin
BIN=.build/release
RESULTS="$PWD/bench-results.jsonl"
DATA="$(mktemp -d /tmp/dossier-bench-data.XXXXXX)"
PG_DIR=""        # the throw-away cluster (its own directory: it belongs to dossier-pg when root)
PG_URL=""
SERVER_PID=""
BACKEND=""       # the backend of the running dossierd, tagged onto its JSON lines
GROUP=0          # PostgreSQL: one fresh schema per group (bench1, bench2, ...)

say() { echo "bench: $*" >&2; }
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [[ -n "$PG_DIR" ]] && { bash scripts/postgres-cluster.sh stop "$PG_DIR" || true; rm -rf "$PG_DIR"; }
    rm -rf "$DATA"
}
trap cleanup EXIT

has_backend() { [[ " $BACKENDS " == *" $1 "* ]]; }
for backend in $BACKENDS; do
    case "$backend" in rocksdb | postgres) ;; *) say "BACKENDS: unknown backend '$backend' (rocksdb, postgres)"; exit 2 ;; esac
done

[[ -x "$BIN/dossierd" && -x "$BIN/dossier-bench" ]] || { say "run 'make release' first"; exit 2; }
if has_backend rocksdb && ! command -v db_bench >/dev/null; then
    say "installing rocksdb-tools (db_bench)"
    if [[ $EUID -eq 0 ]]; then apt-get install -y -q rocksdb-tools >/dev/null; else sudo apt-get install -y -q rocksdb-tools >/dev/null; fi
fi
: > "$RESULTS"

start_server() {  # on $BACKEND: RocksDB in a fresh data directory, PostgreSQL in a fresh schema
    [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
    rm -rf "$DATA/db"
    local storage=()
    if [[ "$BACKEND" == postgres ]]; then
        GROUP=$((GROUP + 1))
        rm -rf "$DATA/keystore-pg"   # the keys of the records of the schema before: gone with it
        storage=(--storage postgres --postgres-url "$PG_URL&schema=bench$GROUP" --postgres-migrate --key-store "$DATA/keystore-pg")
    else
        storage=(--key-store "$DATA/keystore")
    fi
    "$BIN/dossierd" --data-dir "$DATA/db" "${storage[@]}" \
        --master-key certs/dev/master.key --log-signing-key certs/dev/log-signing.key --port "$PORT" --log-level notice --metrics-port 0 \
        --cert certs/dev/server.pem --key certs/dev/server.key --client-ca certs/dev/ca.pem >"$DATA/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 50); do
        "$BIN/dossier-bench" --server "127.0.0.1:$PORT" --operation health --duration 0.1 --warmup 0 >/dev/null 2>&1 && return
        sleep 0.2
    done
    say "dossierd did not start"; cat "$DATA/server.log" >&2; exit 2
}

bench() {  # bench ARGS... : one dossier-bench run; human lines to stdout, JSON to $RESULTS
    local tag=""  # a dossierd figure's JSON line says on which backend, and which run
    [[ -n "$BACKEND" ]] && tag="\"backend\":\"$BACKEND\",\"run\":\"$*\","
    "$BIN/dossier-bench" --server "127.0.0.1:$PORT" --duration "$DURATION" "$@" | while IFS= read -r line; do
        if [[ "$line" == \{* ]]; then echo "{$tag${line#\{}" >>"$RESULTS"; else echo "  $line"; fi
    done
}
limit() {  # limit NAME RATE UNIT : an engine's own figure, also as a JSON line
    echo "{\"limit\":\"$1\",\"$3_per_s\":$2}" >>"$RESULTS"
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(swift --version 2>/dev/null | head -1)"
echo "== limits measured in this run"
if has_backend rocksdb; then
    rm -rf "$DATA/dbb"
    for threads in 1 16; do
        num=$(( threads == 1 ? 20000 : 5000 ))
        rate=$(db_bench --benchmarks=fillrandom --value_size=4096 --sync=1 --num=$num --threads=$threads \
            --compression_type=none --db="$DATA/dbb" 2>/dev/null | awk '/^fillrandom/ {print $5}')
        echo "  db_bench fillrandom 4 KiB sync=1, $threads thread(s): $rate ops/s   [RocksDB's limit]"
        limit "db_bench-fillrandom-4k-sync-${threads}t" "${rate:-0}" ops
        rm -rf "$DATA/dbb"
    done
    # The storage limit of uploads: synced 1 MiB writes into blob files, as the contents family.
    db_bench --benchmarks=fillrandom --value_size=1048576 --sync=1 --num=64 --threads=4 --enable_blob_files=true \
        --min_blob_size=4096 --compression_type=none --db="$DATA/dbb" 2>/dev/null \
        | awk '/^fillrandom/ {print "  db_bench fillrandom 1 MiB sync=1 blob files, 4 threads: " $5 " ops/s = " $(NF-1) " MB/s   [RocksDB'"'"'s limit]"}'
    rm -rf "$DATA/dbb"
fi
DURATION="$DURATION" bash scripts/go-reference-bench.sh 2>/dev/null | grep -E "^(go-|\{)" | while IFS= read -r line; do
    if [[ "$line" == \{* ]]; then echo "$line" >>"$RESULTS"; else echo "  $line"; fi
done
bench --mode tls-stream --large-size 64

dossierd_groups() {  # the dossierd figures on $BACKEND
    start_server
    for operation in health open-record get-record; do bench --operation "$operation"; done
    start_server
    for operation in deposit-4k deposit-64k deposit-1m; do bench --operation "$operation"; done
    start_server
    for operation in get-document read-4k read-content find overview list-log; do bench --operation "$operation"; done
    bench --mix deposit-4k=1,get-document=4,find=2,overview=1,list-log=1,health=1
    bench --mode handshake
    bench --mode large-document --window 16 --upload-window 8

    if (( SCALE > 0 )); then
        echo "== scale on $BACKEND: records loaded through the API, 10 documents each; p99 of random-record reads"
        start_server
        loaded=0
        for target in 10000 100000 1000000; do
            (( target > SCALE )) && break
            "$BIN/dossier-bench" --server "127.0.0.1:$PORT" --mode load --population "s-:$target" --load-from "$loaded" \
                --documents-per-record 10 | grep -v '^{' | sed 's/^/  /'
            loaded=$target
            echo "  on disk: $(on_disk) bytes for $target records"
            for operation in get-document find overview; do bench --operation "$operation" --population "s-:$target"; done
        done
    fi
}
on_disk() {  # bytes of the records: the data directory, or the schema's tables
    if [[ "$BACKEND" == postgres ]]; then
        "$PG_BIN/psql" "${PG_URL%%\?*}" -tAc "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bench$GROUP' AND c.relkind = 'r'"
    else
        du -sb "$DATA/db" | cut -f1
    fi
}

if has_backend rocksdb; then
    BACKEND=rocksdb
    echo "== dossierd on RocksDB (16 connections x 8 in flight, ${DURATION} s after 2 s warm-up, fresh data directory per group)"
    dossierd_groups
fi

if has_backend postgres; then
    PG_DIR="$(mktemp -d /tmp/dossier-bench-pg.XXXXXX)"
    PG_URL="$(bash scripts/postgres-cluster.sh start "$PG_DIR" "$PG_PORT")"
    echo "== PostgreSQL's limit: pgbench TPC-B on the same cluster ($("$PG_BIN/postgres" --version | awk '{print $NF}'), $PG_URL; fsync and synchronous_commit on)"
    # Over TCP on 127.0.0.1 as dossierd connects; scale 10, 16 clients (dossierd's pool size), 2 threads.
    pg=(-h 127.0.0.1 -p "$PG_PORT" -U dossier)
    "$PG_BIN/pgbench" "${pg[@]}" -i -s 10 -q dossier_test >"$DATA/pgbench-init.log" 2>&1 \
        || { say "pgbench -i failed"; cat "$DATA/pgbench-init.log" >&2; exit 2; }
    "$PG_BIN/pgbench" "${pg[@]}" -c 16 -j 2 -T "$DURATION" dossier_test >"$DATA/pgbench.log" 2>&1 \
        || { say "pgbench failed"; cat "$DATA/pgbench.log" >&2; exit 2; }
    tps=$(awk '/^tps/ {printf "%.0f", $3; exit}' "$DATA/pgbench.log")
    latency=$(awk '/^latency average/ {print $4; exit}' "$DATA/pgbench.log")
    echo "  pgbench TPC-B (5 statements a transaction), 16 clients x 2 threads, ${DURATION} s: $tps tps, latency average $latency ms   [PostgreSQL's limit]"
    limit pgbench-tpcb-16c "${tps:-0}" tps
    "$PG_BIN/psql" "${pg[@]}" -q -d dossier_test -c "DROP TABLE pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers" >/dev/null
    BACKEND=postgres
    echo "== dossierd on PostgreSQL (16 connections x 8 in flight, ${DURATION} s after 2 s warm-up, fresh schema per group, pool of 16 connections)"
    dossierd_groups
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
fi

echo "== side by side: dossierd on each backend (calls/s, p50/p99 ms; pg/rocks = PostgreSQL's rate / RocksDB's), and deposits against each engine's limit"
python3 - "$RESULTS" <<'EOF'
import json, sys
rows, limits, order = {}, {}, []
for line in open(sys.argv[1]):
    data = json.loads(line)
    if "limit" in data:
        limits[data["limit"]] = next(v for k, v in data.items() if k.endswith("_per_s"))
        continue
    if "backend" not in data:
        continue
    run = data["run"]
    name = "mix " + data["operation"] if run.startswith("--mix") else data["operation"]
    if "population" in run: name += " (scale " + run.split(":")[-1] + ")"
    rate = next(v for k, v in data.items() if k.endswith("_per_s") and k != "mb_per_s")
    if run.startswith("--mode large-document"): name, rate = name + " MB/s", float(data["mb_per_s"])
    if run.startswith("--mode handshake"): name += " conn/s"
    if name not in rows: order.append(name)
    rows.setdefault(name, {})[data["backend"]] = (rate, data["p50_us"] / 1000, data["p99_us"] / 1000)
def cell(v): return f"{v[0]:9.0f} {v[1]:7.1f} {v[2]:7.1f}" if v else f"{'-':>9} {'-':>7} {'-':>7}"
print(f"  {'operation':24} {'rocksdb/s':>9} {'p50':>7} {'p99':>7} {'postgres/s':>10} {'p50':>7} {'p99':>7} {'pg/rocks':>8}")
for name in order:
    r, p = rows[name].get("rocksdb"), rows[name].get("postgres")
    ratio = f"{p[0] / r[0]:8.2f}" if r and p and r[0] else f"{'-':>8}"
    print(f"  {name:24} {cell(r)}  {cell(p)} {ratio}")
db = limits.get("db_bench-fillrandom-4k-sync-16t"); pg = limits.get("pgbench-tpcb-16c")
dep = rows.get("deposit-4k", {})
if db and dep.get("rocksdb"):
    print(f"  RocksDB:    deposit-4k {dep['rocksdb'][0]:.0f}/s / db_bench 4 KiB sync 16 threads {db:.0f} ops/s = {dep['rocksdb'][0] / db:.2f}")
if pg and dep.get("postgres"):
    print(f"  PostgreSQL: deposit-4k {dep['postgres'][0]:.0f}/s / pgbench TPC-B {pg:.0f} tps = {dep['postgres'][0] / pg:.2f}")
EOF
say "JSON lines in $RESULTS"
