#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one run, with the limits it is compared to measured in the
# same run: RocksDB's own db_bench (synced 4 KiB writes), containerd's Go ttrpc (calls and
# handshakes, scripts/go-reference-bench.sh) and a plain mutual-TLS stream on our stack.
#
# Usage:  make bench            (or: scripts/bench-all.sh; needs `make release` first)
#   DURATION=10  seconds per figure      SCALE=0  records for the scale figures (e.g. 100000;
#   0 skips them: loading takes minutes and ~13 KiB of content per document on disk)
#
# Installs rocksdb-tools (db_bench) if missing. Prints each figure's human line; all JSON
# lines go to bench-results.jsonl in the current directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10}"
SCALE="${SCALE:-0}"
PORT="${PORT:-7474}"
BIN=.build/release
RESULTS="$PWD/bench-results.jsonl"
DATA="$(mktemp -d /tmp/dossier-bench-data.XXXXXX)"
SERVER_PID=""

say() { echo "bench: $*" >&2; }
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT

[[ -x "$BIN/dossierd" && -x "$BIN/dossier-bench" ]] || { say "run 'make release' first"; exit 2; }
if ! command -v db_bench >/dev/null; then
    say "installing rocksdb-tools (db_bench)"
    if [[ $EUID -eq 0 ]]; then apt-get install -y -q rocksdb-tools >/dev/null; else sudo apt-get install -y -q rocksdb-tools >/dev/null; fi
fi
: > "$RESULTS"

start_server() {
    [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
    rm -rf "$DATA/db"
    "$BIN/dossierd" --data-dir "$DATA/db" --key-store "$DATA/keystore" \
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
    "$BIN/dossier-bench" --server "127.0.0.1:$PORT" --duration "$DURATION" "$@" | while IFS= read -r line; do
        if [[ "$line" == \{* ]]; then echo "$line" >>"$RESULTS"; else echo "  $line"; fi
    done
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(swift --version 2>/dev/null | head -1)"
echo "== limits measured in this run"
rm -rf "$DATA/dbb"
for threads in 1 16; do
    num=$(( threads == 1 ? 20000 : 5000 ))
    db_bench --benchmarks=fillrandom --value_size=4096 --sync=1 --num=$num --threads=$threads \
        --compression_type=none --db="$DATA/dbb" 2>/dev/null | awk -v t=$threads '/^fillrandom/ {print "  db_bench fillrandom 4 KiB sync=1, " t " thread(s): " $5 " ops/s"}'
    rm -rf "$DATA/dbb"
done
# The storage limit of uploads: synced 1 MiB writes into blob files, as the contents family.
db_bench --benchmarks=fillrandom --value_size=1048576 --sync=1 --num=64 --threads=4 --enable_blob_files=true \
    --min_blob_size=4096 --compression_type=none --db="$DATA/dbb" 2>/dev/null \
    | awk '/^fillrandom/ {print "  db_bench fillrandom 1 MiB sync=1 blob files, 4 threads: " $5 " ops/s = " $(NF-1) " MB/s"}'
rm -rf "$DATA/dbb"
DURATION="$DURATION" bash scripts/go-reference-bench.sh 2>/dev/null | grep -E "^(go-|\{)" | while IFS= read -r line; do
    if [[ "$line" == \{* ]]; then echo "$line" >>"$RESULTS"; else echo "  $line"; fi
done
bench --mode tls-stream --large-size 64

echo "== dossierd (16 connections x 8 in flight, ${DURATION} s after 2 s warm-up, fresh data directory per group)"
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
    echo "== scale: records loaded through the API, 10 documents each; p99 of random-record reads"
    start_server
    loaded=0
    for target in 10000 100000 1000000; do
        (( target > SCALE )) && break
        "$BIN/dossier-bench" --server "127.0.0.1:$PORT" --mode load --population "s-:$target" --load-from "$loaded" \
            --documents-per-record 10 | grep -v '^{' | sed 's/^/  /'
        loaded=$target
        echo "  on disk: $(du -sb "$DATA/db" | cut -f1) bytes for $target records"
        for operation in get-document find overview; do bench --operation "$operation" --population "s-:$target"; done
    done
fi
say "JSON lines in $RESULTS"
