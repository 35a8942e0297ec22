#!/usr/bin/env bash
# The export story with the shipped binaries (EHDS Art. 3 and 7): two dossierd (two services);
# on the first, the GP deposits a report and a 40 MiB image (through an upload), the patient
# exports her record with `dossier record export` (SHA-256 of every document checked), the FHIR
# library validates it (scripts/fhir-validate.sh), a pharmacist's and the operator's exports are
# refused; on the second, the operator imports it (`dossier record import`) and the patient's
# export from there holds the same documents byte for byte and the same DocumentReferences.
#
#   scripts/fhir-export-test.sh [BIN_DIR]        (default .build/debug; certificates: make certs)
#
# Prints "fhir-export-test: OK" at the end; exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-.build/debug}
certs=${CERTS:-certs/dev}
patient=1985010112345   # patient-alice of the development PKI
work=$(mktemp -d /tmp/dossier-fhir-export.XXXXXX)
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf 'fhir-export-test: %s\n' "$*"; }
fail() { printf 'fhir-export-test: FAILED: %s\n' "$*" >&2; exit 1; }

[ -f "$certs/ca.pem" ] || fail "no development certificates in $certs (make certs)"
openssl rand -hex 32 >"$work/master.key"
openssl rand -hex 32 >"$work/log-signing.key"
chmod 0600 "$work"/*.key

start() {
  local name=$1 port=$2
  "$bin/dossierd" serve --host 127.0.0.1 --port "$port" --metrics-port $((port + 2)) --data-dir "$work/$name-data" --key-store "$work/$name-keys" \
    --cert "$certs/server.pem" --key "$certs/server.key" --client-ca "$certs/ca.pem" \
    --master-key "$work/master.key" --log-signing-key "$work/log-signing.key" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    as "$port" operator-helpdesk health >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  fail "dossierd $name did not start"
}
as() {
  local port=$1 who=$2; shift 2
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$certs/ca.pem DOSSIER_CERT=$certs/$who.pem DOSSIER_KEY=$certs/$who.key \
    "$bin/dossier" "$@" --timeout 30
}

first=$((20000 + RANDOM % 20000))
second=$((first + 1))   # metrics on +2 and +3
start first "$first"
start second "$second"
step "two services on ports $first and $second"

as "$first" operator-helpdesk record open "$patient" --skip-objection-period >/dev/null || fail "record open"
as "$first" patient-alice access grant "$patient" gp-1001 --extended --write >/dev/null || fail "access grant"
printf 'Consultation of 7 December: well.\n' >"$work/report.txt"
head -c $((40 << 20)) /dev/urandom >"$work/ct.dcm"
as "$first" professional-gp doc deposit "$patient" "$work/report.txt" --title "Consultation" --class report \
  --type "http://loinc.org|11488-4" >/dev/null || fail "deposit the report"
as "$first" professional-gp doc deposit "$patient" "$work/ct.dcm" --title "CT thorax" --class imaging \
  --type "http://loinc.org|24627-2" --mime application/dicom >/dev/null 2>&1 || fail "deposit the 40 MiB image"
step "the GP deposited a report and a 40 MiB image"

as "$first" patient-alice record export "$patient" -o "$work/record.zip" || fail "export"
bash scripts/fhir-validate.sh "$work/record.zip" || fail "the FHIR library refused the export"
for who in professional-gp operator-helpdesk; do
  if as "$first" "$who" record export "$patient" -o "$work/refused.zip" 2>/dev/null; then fail "$who exported the record"; fi
  [ ! -e "$work/refused.zip" ] || fail "a refused export left a file"
done
step "the GP's and the operator's exports are refused"

as "$second" operator-helpdesk record open "$patient" --skip-objection-period >/dev/null || fail "record open (second service)"
as "$second" operator-helpdesk record import "$patient" -i "$work/record.zip" || fail "import"
as "$second" patient-alice record export "$patient" -o "$work/moved.zip" || fail "export from the second service"
python3 - "$work/record.zip" "$work/moved.zip" <<'PY' || fail "the moved record differs"
import json, sys, zipfile
a, b = (zipfile.ZipFile(path) for path in sys.argv[1:3])
documents = sorted(n for n in a.namelist() if n.startswith("documents/"))
assert documents == sorted(n for n in b.namelist() if n.startswith("documents/")), "not the same documents"
for name in documents:
    assert a.read(name) == b.read(name), f"{name} differs"
def references(archive):
    bundle = json.loads(archive.read("bundle.json"))
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
assert references(a) == references(b), "the DocumentReferences differ"
print(f"fhir-export-test: {len(documents)} documents byte-identical, DocumentReferences identical field by field")
PY
step "OK"
