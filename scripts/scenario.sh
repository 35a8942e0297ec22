#!/usr/bin/env bash
# The README's scenario, as the users run it with the `dossier` CLI against a running server:
# an operator opens a record, the patient grants a GP extended read-write access, the GP
# deposits a document, the patient finds it and downloads it byte-identical, a pharmacist
# without a grant is refused, and the refusal is in the patient's log.
#
#   scripts/scenario.sh SERVER CERTS_DIR [CLI]
#
# SERVER is host:port; CERTS_DIR holds ca.pem and the development client certificates
# (patient-alice, professional-gp, professional-pharmacist, operator-helpdesk; make certs);
# CLI defaults to .build/debug/dossier. The server's data must be fresh (the record is opened).
# Set SCENARIO_AS="setpriv --reuid=… --regid=… --clear-groups" to run every CLI call as another
# user, and SCENARIO_WORK to a directory that user may write to.
# The deposited file and its id stay in the work directory (scenario-report.bin,
# scenario-document-id) for a check after a restart.
# Prints one line per step and "scenario: OK" at the end; exits non-zero at the first failure.
set -euo pipefail

server=${1:?usage: scenario.sh SERVER CERTS_DIR [CLI]}
certs=${2:?usage: scenario.sh SERVER CERTS_DIR [CLI]}
cli=${3:-.build/debug/dossier}
read -r -a runner <<<"${SCENARIO_AS:-}"
work=${SCENARIO_WORK:-$(mktemp -d /tmp/dossier-scenario.XXXXXX)}
patient=1985010112345   # patient-alice of the development PKI

as() {
  local who=$1; shift
  DOSSIER_SERVER=$server DOSSIER_CA=$certs/ca.pem DOSSIER_CERT=$certs/$who.pem DOSSIER_KEY=$certs/$who.key \
    ${runner[@]+"${runner[@]}"} "$cli" "$@" --timeout 10
}
step() { printf 'scenario: %s\n' "$*"; }
fail() { printf 'scenario: FAILED: %s\n' "$*" >&2; exit 1; }

as operator-helpdesk health >/dev/null || fail "health"
step "health: SERVING"
as operator-helpdesk record open "$patient" --skip-objection-period >/dev/null || fail "record open"
step "record opened by the operator"
as patient-alice access grant "$patient" gp-1001 --extended --write >/dev/null || fail "access grant"
step "extended read-write grant to gp-1001 by the patient"

head -c 200000 /dev/urandom >"$work/scenario-report.bin"
chmod 0644 "$work/scenario-report.bin"
deposit=$(as professional-gp doc deposit "$patient" "$work/scenario-report.bin" --title "Blood count" \
  --class lab-result --type "http://loinc.org|11502-2" --json) || fail "doc deposit"
id=$(sed -n 's/.*"document_id": *"\([^"]*\)".*/\1/p' <<<"$deposit" | head -n1)
[ -n "$id" ] || fail "doc deposit answered no document id"
echo "$id" >"$work/scenario-document-id"
step "document deposited by the GP"

as patient-alice doc find "$patient" --json | grep -q "\"$id\"" || fail "doc find does not list the document"
step "the patient finds it"
rm -f "$work/scenario-copy.bin"
as patient-alice doc download "$patient" "$id" -o "$work/scenario-copy.bin" >/dev/null || fail "doc download"
cmp -s "$work/scenario-report.bin" "$work/scenario-copy.bin" || fail "the download differs from the deposit"
step "downloaded byte-identical"

if as professional-pharmacist record get "$patient" >/dev/null 2>&1; then fail "a pharmacist without a grant read the record"; fi
step "a pharmacist without a grant is refused"
as patient-alice log "$patient" --json | grep -q 'DENIED' || fail "the refusal is not in the patient's log"
as patient-alice log verify "$patient" >/dev/null || fail "the log does not verify"
step "the refusal is in the patient's log, which verifies"
echo "scenario: OK"
