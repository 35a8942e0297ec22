#!/usr/bin/env bash
# Measures dossierd's memory while a patient exports a large record: deposits COUNT documents of
# SIZE_MIB each (uploads), resets the server's peak RSS (/proc/PID/clear_refs), exports with
# `dossier record export`, and prints the peak RSS during the export and the export's time.
#
#   scripts/export-memory.sh [BIN_DIR] [COUNT] [SIZE_MIB]    (default .build/debug 16 128: 2 GiB)
# BLOCK_CACHE_MB sets dossierd --block-cache-mb (256 by default): contents are read through it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug}
count=${2:-16}
size=${3:-128}
certs=${CERTS:-certs/dev}
patient=1985010112345
work=$(mktemp -d /tmp/dossier-export-memory.XXXXXX)
pid=
cleanup() {
  [ -z "$pid" ] || { kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
openssl rand -hex 32 >"$work/master.key"
openssl rand -hex 32 >"$work/log-signing.key"
chmod 0600 "$work"/*.key
port=$((20000 + RANDOM % 20000))
"$bin/dossierd" serve --host 127.0.0.1 --port "$port" --metrics-port $((port + 1)) --data-dir "$work/data" \
  --key-store "$work/keys" --cert "$certs/server.pem" --key "$certs/server.key" --client-ca "$certs/ca.pem" \
  --master-key "$work/master.key" --log-signing-key "$work/log-signing.key" --max-document-bytes $((size << 20)) --block-cache-mb "${BLOCK_CACHE_MB:-256}" >"$work/server.log" 2>&1 &
pid=$!
as() {
  local who=$1; shift
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$certs/ca.pem DOSSIER_CERT=$certs/$who.pem DOSSIER_KEY=$certs/$who.key \
    "$bin/dossier" "$@" --timeout 120
}
for _ in $(seq 1 150); do as operator-helpdesk health >/dev/null 2>&1 && break; sleep 0.1; done
as operator-helpdesk record open "$patient" --skip-objection-period >/dev/null
as patient-alice access grant "$patient" gp-1001 --extended --write >/dev/null
head -c $((size << 20)) /dev/urandom >"$work/content"
for i in $(seq 1 "$count"); do
  # A different content each time (the client unique id comes from the SHA-256).
  printf '%08d' "$i" | dd of="$work/content" bs=8 count=1 conv=notrunc status=none
  as professional-gp doc deposit "$patient" "$work/content" --title "Study $i" --class imaging \
    --type "http://loinc.org|24627-2" --mime application/dicom >/dev/null 2>&1
done
rm -f "$work/content"
rss() { awk '/^'"$1"':/ {print int($2 / 1024)}' "/proc/$pid/status"; }
echo "export-memory: $count documents of $size MiB deposited; server RSS $(rss VmRSS) MiB"
echo 5 >"/proc/$pid/clear_refs"
echo "export-memory: peak RSS reset to $(rss VmHWM) MiB"
start=$(date +%s.%N)
as patient-alice record export "$patient" -o "$work/record.zip"
end=$(date +%s.%N)
echo "export-memory: export of $(( $(stat -c %s "$work/record.zip") >> 20 )) MiB in $(echo "$end - $start" | bc) s; server peak RSS during the export $(rss VmHWM) MiB (now $(rss VmRSS) MiB)"
