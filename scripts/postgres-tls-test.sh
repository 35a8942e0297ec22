#!/usr/bin/env bash
# dossierd to PostgreSQL as in production (issue 18): TLS with the server's certificate verified
# (sslmode=verify-full, sslrootcert) and a password read from a file, for a role the cluster
# lets in only over TLS with SCRAM (scripts/postgres-cluster.sh tls). Checks that
#   - `dossierd config check` reaches the primary and reports the TLS version in use,
#   - the refusals are clear: no TLS (pg_hba), a certificate from another CA, a wrong password,
#     a missing password file; the password never appears in what dossierd prints,
#   - `dossierd migrate` and the README scenario (scripts/unprivileged-test.sh, dossierd and the
#     CLI as an unprivileged user) work through that connection; as the role cannot connect
#     without TLS, every call that succeeded went over TLS.
#
#   scripts/postgres-tls-test.sh CLUSTER_DIR PORT [BIN_DIR]   (scripts/postgres-test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${1:?usage: postgres-tls-test.sh CLUSTER_DIR PORT [BIN_DIR]}
port=${2:?usage: postgres-tls-test.sh CLUSTER_DIR PORT [BIN_DIR]}
bin=${3:-.build/debug}
certs=${CERTS:-certs/dev}
role=dossier_app
schema=tls_$$  # a fresh deployment on each run
work=$(mktemp -d /tmp/dossier-pg-tls.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
fail() { echo "postgres-tls-test: FAILED: $*" >&2; exit 1; }

password=$(openssl rand -hex 24)
printf '%s\n' "$password" >"$work/password"
chmod 0644 "$work/password"  # read by the unprivileged dossierd below (a test password)
ca=$(bash scripts/postgres-cluster.sh tls "$cluster" "$role" "$work/password")
bash scripts/dev-keys.sh "$work/keys" >/dev/null

base="postgres://$role@127.0.0.1:$port/dossier_test"
verified="$base?sslmode=verify-full&sslrootcert=$ca"
common=(--data-dir "$work/data" --key-store "$work/keystore" --master-key "$work/keys/master.key"
  --log-signing-key "$work/keys/log-signing.key" --cert "$certs/server.pem" --key "$certs/server.key"
  --client-ca "$certs/ca.pem" --storage postgres)

# check URL PASSWORD_FLAGS... : runs config check, its output in $work/check.out, its status returned.
check() {
  local url=$1; shift
  local status=0
  env -u PGPASSWORD "$bin/dossierd" config check "${common[@]}" --postgres-url "$url" "$@" >"$work/check.out" 2>&1 || status=$?
  if grep -qF "$password" "$work/check.out"; then fail "config check printed the password"; fi
  return "$status"
}
refused() {
  local why=$1 expected=$2; shift 2
  if check "$@"; then fail "config check accepted $why"; fi
  grep -q -- "$expected" "$work/check.out" || fail "config check refused $why without saying '$expected': $(grep error "$work/check.out")"
  echo "postgres-tls-test: $why refused: $(grep -o -- "$expected.\{0,40\}" "$work/check.out" | head -n 1)"
}

"$bin/dossierd" migrate "${common[@]}" --postgres-url "$verified&schema=$schema" --postgres-password-file "$work/password" \
  >"$work/migrate.out" 2>&1 || { cat "$work/migrate.out" >&2; fail "dossierd migrate over TLS"; }
check "$verified&schema=$schema" --postgres-password-file "$work/password" || { cat "$work/check.out" >&2; fail "config check over TLS"; }
grep -q "^  tls: TLSv1\.[23] " "$work/check.out" || fail "config check did not report TLS: $(cat "$work/check.out")"
echo "postgres-tls-test: config check: $(grep '^  tls:' "$work/check.out" | sed 's/^ *//'), certificate verified, password from a file"
PGPASSWORD=$password env "$bin/dossierd" config check "${common[@]}" --postgres-url "$verified&schema=$schema" >"$work/check.out" 2>&1 \
  || { cat "$work/check.out" >&2; fail "config check with the password in PGPASSWORD"; }
echo "postgres-tls-test: config check: password from PGPASSWORD"
check "$base?sslmode=require&schema=$schema" --postgres-password-file "$work/password" \
  || { cat "$work/check.out" >&2; fail "config check with sslmode=require"; }
echo "postgres-tls-test: config check: sslmode=require (encrypted, certificate not verified)"

refused "a connection without TLS" "no encryption" "$base?sslmode=disable&schema=$schema" --postgres-password-file "$work/password"
refused "a server certificate from another CA" "CERTIFICATE_VERIFY_FAILED" "$base?sslmode=verify-full&sslrootcert=$PWD/$certs/ca.pem&schema=$schema" \
  --postgres-password-file "$work/password"
echo wrong >"$work/wrong"
refused "a wrong password" "password authentication failed" "$verified&schema=$schema" --postgres-password-file "$work/wrong"
refused "a missing password file" "error: postgres: postgres-password-file: cannot read" "$verified&schema=$schema" --postgres-password-file "$work/missing"
refused "no password" "asks for a password and none was given" "$verified&schema=$schema"

DOSSIER_TEST_SERVER_FLAGS="--storage postgres --postgres-url $verified&schema=$schema --postgres-password-file $work/password" \
  bash scripts/unprivileged-test.sh "$bin"
echo "postgres-tls-test: OK"
