#!/usr/bin/env bash
# The PostgreSQL backend in `make test` (issue 18, decision 0009): a throw-away PostgreSQL 15
# cluster (scripts/postgres-cluster.sh; installed with apt when missing), then against it
#   - the engine's own tests (DossierPostgresTests),
#   - the storage, record, access, document, access-log, notification and story suites — the
#     same tests as on RocksDB, their servers given PostgreSQL by TestStorage
#     (DOSSIER_TEST_STORAGE=postgres),
#   - the README scenario with dossierd and the CLI as an unprivileged user,
#   - the crash test (SIGKILL of dossierd mid-write; nothing acknowledged lost),
#   - a move of a populated RocksDB deployment to PostgreSQL (scripts/move-test.sh),
#   - TLS with the certificate verified and a password (scripts/postgres-tls-test.sh),
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

# The engine's own tests first, alone: they stop the cluster and end every dossierd connection.
suites="DossierStoreTests|RecordsTests|AccessTests|AccessLogTests|AccessLogChainTests|AccessLogRetentionTests"
suites+="|DocumentLifecycleTests|DocumentStoriesTests|DocumentUploadTests|PipelinedUploadTests|NotificationsTests"
suites+="|NotificationPreferencesTests|EmergencyAccessTests|PresenceCodeTests|ExportStoriesTests|RectificationTests|LeakTests"
suites+="|StatisticsTests|StatisticsCountsTests|MasterKeyRotationTests|EncryptionAtRestTests|PurgeTests"
output=$(mktemp)
for filter in DossierPostgresTests "$suites"; do
  status=0
  DOSSIER_TEST_STORAGE=postgres DOSSIER_TEST_POSTGRES_URL=$url DOSSIER_TEST_POSTGRES_DIR=$dir \
    timeout 1200 "${SWIFT:-swift}" test --skip-build --filter "$filter" >"$output" 2>&1 || status=$?
  grep -E "^(✘|✔ Test run|✘ Test run)|LOG-PRIVACY-VIOLATION" "$output" | tail -n 40
  if [ "$status" -ne 0 ] || grep -q "LOG-PRIVACY-VIOLATION" "$output"; then
    echo "postgres-test: FAILED: the suites on PostgreSQL (output below)" >&2
    grep -n -A40 "Program crashed\|Fatal error" "$output" | grep -E "crashed|Fatal|at /work|at /[a-z]" | head -n 40 >&2 || true
    tail -n 200 "$output" >&2
    rm -f "$output"
    exit 1
  fi
done
rm -f "$output"

# Each run in a schema of its own: a fresh deployment (the URL ends with ?sslmode=disable).
DOSSIER_TEST_SERVER_FLAGS="--storage postgres --postgres-url $url&schema=unprivileged --postgres-migrate" \
  bash scripts/unprivileged-test.sh "$bin"
DOSSIER_TEST_SERVER_FLAGS="--storage postgres --postgres-url $url&schema=crash --postgres-migrate" bash scripts/crash-test.sh 3 2
bash scripts/move-test.sh "$bin" "$url&schema=moved"
bash scripts/postgres-tls-test.sh "$dir" "$port" "$bin"
bash scripts/ha-test.sh "$bin" short
echo "postgres-test: OK"
