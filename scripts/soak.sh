#!/usr/bin/env bash
# The soak of issue 19: a release dossierd on a fresh data directory, then
# `dossier-bench --mode soak` (seven phases: idle, 4 KiB deposits, 64 KiB deposits, 8 MiB
# uploads with 8 chunks in flight, reads, a flood of 64 KiB deposits from many connections, idle)
# sampling the server's memory from its metrics endpoint. Prints the samples (a table line and a
# JSON line each), a report per phase (with the latency of a Health and a GetDocument probe) and
# the summary against block cache + memtables + in-flight budget + 512 MiB.
#
#   scripts/soak.sh [BIN_DIR]        (default .build/release)
#
# SOAK_MINUTES (default 7: one minute per phase), FLOOD_CONNECTIONS (256), and any extra dossierd
# flags in DOSSIERD_FLAGS (e.g. "--max-inflight-bytes 268435456").
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release}
minutes=${SOAK_MINUTES:-7}
phase=$(python3 -c "import sys; print(max(1.0, float(sys.argv[1]) * 60 / 7))" "$minutes")
port=$((20000 + RANDOM % 20000))
metrics=$((port + 1))
work=$(mktemp -d /tmp/dossier-soak.XXXXXX)
server=
trap '[ -n "$server" ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"' EXIT
bash scripts/dev-keys.sh "$work/keys" >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# shellcheck disable=SC2086
"$bin/dossierd" --port "$port" --metrics-port "$metrics" --log-level error --data-dir "$work/data" --key-store "$work/keystore" \
  --master-key "$work/keys/master.key" --log-signing-key "$work/keys/log-signing.key" \
  --cert certs/dev/server.pem --key certs/dev/server.key --client-ca certs/dev/ca.pem ${DOSSIERD_FLAGS:-} >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  "$bin/dossier-bench" --server "127.0.0.1:$port" --operation health --duration 0.1 --warmup 0 >/dev/null 2>&1 && break
  sleep 0.1
done
echo "== soak: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $minutes minutes ($phase s per phase), dossierd ${DOSSIERD_FLAGS:-with defaults}"
"$bin/dossier-bench" --mode soak --server "127.0.0.1:$port" --metrics "127.0.0.1:$metrics" \
  --phase-seconds "$phase" --flood-connections "${FLOOD_CONNECTIONS:-256}"
kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=
