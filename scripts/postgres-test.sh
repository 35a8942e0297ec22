#!/usr/bin/env bash
# The PostgreSQL backend in `make test` (issue 18, decision 0009): a throw-away PostgreSQL 15
# cluster (scripts/postgres-cluster.sh; installed with apt when missing), then against it
#   - the engine's own tests (DossierPostgresTests),
#   - the storage, record, access, document, access-log, notification and story suites — the
#     same tests as on RocksDB, their servers given PostgreSQL by TestStorage
#     (DOSSIER_TEST_STORAGE=postgres),
#   - the README scenario with dossierd and the CLI as an unprivileged user,
#   - the crash test (SIGKILL of dossierd mid-write; nothing acknowledged lost),
#   - the short failover test (scripts/ha-test.sh: primary killed, standby promoted).
#
#   scripts/postgres-test.sh [BIN_DIR]            (default .build/debug; after swift build --build-tests)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-.build/debug}
dir=$(mktemp -d /tmp/dossier-pg-test.XXXXXX)
chmod 0755 "$dir"
port=$((30000 + RANDOM % 20000))
trap 'bash scripts/postgres-cluster.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

url=$(bash scripts/postgres-cluster.sh start "$dir" "$port")
echo "postgres-test: cluster on 127.0.0.1:$port ($(/usr/lib/postgresql/15/bin/postgres --version))"

suites="DossierPostgresTests|DossierStoreTests|RecordsTests|AccessTests|AccessLogTests|AccessLogChainTests|AccessLogRetentionTests"
suites+="|DocumentLifecycleTests|DocumentStoriesTests|DocumentUploadTests|PipelinedUploadTests|NotificationsTests"
suites+="|NotificationPreferencesTests|EmergencyAccessTests|PresenceCodeTests|ExportStoriesTests|RectificationTests|LeakTests"
suites+="|StatisticsTests|PurgeTests|MasterKeyRotationTests"
output=$(mktemp)
status=0
DOSSIER_TEST_STORAGE=postgres DOSSIER_TEST_POSTGRES_URL=$url DOSSIER_TEST_POSTGRES_DIR=$dir \
  timeout 1200 "${SWIFT:-swift}" test --skip-build --filter "$suites" >"$output" 2>&1 || status=$?
grep -E "^(✘|✔ Test run|✘ Test run)|LOG-PRIVACY-VIOLATION" "$output" | tail -n 40
if [ "$status" -ne 0 ] || grep -q "LOG-PRIVACY-VIOLATION" "$output"; then
  echo "postgres-test: FAILED: the suites on PostgreSQL (full output below)" >&2
  tail -n 200 "$output" >&2
  rm -f "$output"
  exit 1
fi
rm -f "$output"

flags="--storage postgres --postgres-url $url --postgres-migrate"
# Each run in a schema of its own: a fresh deployment.
DOSSIERD_EXTRA_FLAGS="${flags/sslmode=disable/sslmode=disable&schema=unprivileged}" bash scripts/unprivileged-test.sh "$bin"
DOSSIERD_EXTRA_FLAGS="${flags/sslmode=disable/sslmode=disable&schema=crash}" bash scripts/crash-test.sh 3 2
if [ -f scripts/ha-test.sh ]; then bash scripts/ha-test.sh "$bin" short; fi
echo "postgres-test: OK"
