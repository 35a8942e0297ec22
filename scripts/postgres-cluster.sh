#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the PostgreSQL engine's tests (DossierPostgresTests).
#
#   scripts/postgres-cluster.sh start DIR PORT   # prints the URL for DOSSIER_TEST_POSTGRES_URL
#   scripts/postgres-cluster.sh stop DIR
#   scripts/postgres-cluster.sh tls DIR ROLE PASSWORD_FILE   # prints the CA's path
#
# start installs Debian's postgresql-15 when its initdb is missing, makes a cluster in DIR/data
# (superuser "dossier", trust authentication, TCP on 127.0.0.1 only, the unix socket in DIR,
# fsync and synchronous_commit on: commits are as durable as in production), starts it and
# creates the database dossier_test. Run again, it reuses what is there. PostgreSQL refuses to
# run as root: as root the cluster belongs to the system user dossier-pg (made when missing),
# so DIR's parent directories must be searchable by it (/tmp/... is). stop is immediate: the
# cluster is for tests, its data is not worth a checkpoint.
#
# tls turns TLS on in a started cluster (a throw-away CA and a server certificate for 127.0.0.1
# and localhost, made in DIR/tls) and makes a login ROLE, with the password in PASSWORD_FILE,
# that may only connect over TLS with SCRAM-SHA-256 (pg_hba: hostssl scram, every other way
# rejected) and may create schemas in dossier_test: how a production deployment connects.
#
#   export DOSSIER_TEST_POSTGRES_URL=$(scripts/postgres-cluster.sh start /tmp/dossier-pg 54329)
#   export DOSSIER_TEST_POSTGRES_DIR=/tmp/dossier-pg   # optional: also stop and start it under a test
#   swift test --filter DossierPostgresTests
#   scripts/postgres-cluster.sh stop /tmp/dossier-pg
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
SUPERUSER=dossier
DATABASE=dossier_test
OS_USER=dossier-pg

usage() {
  echo "usage: $0 start DIR PORT | stop DIR | tls DIR ROLE PASSWORD_FILE" >&2
  exit 2
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

fail() {
  echo "postgres-cluster: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then tail -n 20 "$2" >&2; fi
  exit 1
}

install_postgres() {
  [ -x "$BIN/initdb" ] && return 0
  [ "$(id -u)" -eq 0 ] || fail "$BIN/initdb is missing; install postgresql-15 (as root: apt-get install postgresql-15)"
  {
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15
  } >/tmp/postgres-cluster-install.log 2>&1 || fail "installing postgresql-15 failed" /tmp/postgres-cluster-install.log
  [ -x "$BIN/initdb" ] || fail "postgresql-15 is installed but $BIN/initdb is not there"
}

start() {
  local dir=$1 port=$2
  case "$port" in '' | *[!0-9]*) fail "PORT must be a number, not '$port'" ;; esac
  [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] || fail "PORT must be from 1024 to 65535"
  install_postgres
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    id -u "$OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"
    chown "$OS_USER" "$dir"
    as_owner test -w "$dir" || fail "$OS_USER cannot write $dir (are its parent directories searchable by others?)"
  fi
  local data=$dir/data log=$dir/setup.log
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$BIN/initdb" -D "$data" -U "$SUPERUSER" -A trust -E UTF8 --locale=C.UTF-8 >"$log" 2>&1 \
      || as_owner "$BIN/initdb" -D "$data" -U "$SUPERUSER" -A trust -E UTF8 --locale=C >"$log" 2>&1 \
      || fail "initdb failed" "$log"
    as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
# Loopback only, no passwords: a test cluster.
local all all trust
host all all 127.0.0.1/32 trust
EOF
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# scripts/postgres-cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 200
EOF
  fi
  # The port is set on each start, so a second start on another port moves the cluster.
  if ! as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$data" -w -t 60 -l "$dir/server.log" -o "-p $port" start >"$log" 2>&1 \
      || fail "the server did not start" "$dir/server.log"
  fi
  local exists
  exists=$(as_owner "$BIN/psql" -h "$dir" -p "$port" -U "$SUPERUSER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" 2>>"$log") \
    || fail "cannot reach the server on port $port (is it running on another port? stop it first)" "$log"
  if [ "$exists" != 1 ]; then
    as_owner "$BIN/createdb" -h "$dir" -p "$port" -U "$SUPERUSER" "$DATABASE" >>"$log" 2>&1 \
      || fail "createdb failed" "$log"
  fi
  echo "postgres://$SUPERUSER@127.0.0.1:$port/$DATABASE?sslmode=disable"
}

stop() {
  local dir=$1
  [ -f "$dir/data/PG_VERSION" ] || return 0
  if as_owner "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || fail "pg_ctl stop failed"
  fi
}

tls() {
  local dir=$1 role=$2 password_file=$3
  [ -f "$dir/data/PG_VERSION" ] || fail "no cluster in $dir (start it first)"
  dir=$(cd "$dir" && pwd)
  case "$role" in '' | *[!a-z0-9_]*) fail "ROLE must be lower-case letters, digits and _, not '$role'" ;; esac
  [ -r "$password_file" ] || fail "cannot read $password_file"
  local data=$dir/data certs=$dir/tls log=$dir/setup.log port
  port=$(as_owner sed -n 4p "$data/postmaster.pid")
  [ -n "$port" ] || fail "the cluster in $dir is not running"
  mkdir -p "$certs"
  if [ ! -f "$certs/ca.pem" ]; then
    {
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=Dossier test PostgreSQL CA" -keyout "$certs/ca.key" -out "$certs/ca.pem"
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
        -keyout "$certs/server.key" -out "$certs/server.csr"
      openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial -days 2 \
        -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n') -out "$certs/server.pem"
    } >>"$log" 2>&1 || fail "making the test certificates failed" "$log"
    chmod 0755 "$certs"
    chmod 0644 "$certs/ca.pem" "$certs/server.pem"
    chmod 0600 "$certs/server.key"
    if [ "$(id -u)" -eq 0 ]; then chown "$OS_USER" "$certs/server.key"; fi
    as_owner cp "$certs/server.pem" "$certs/server.key" "$data/"
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# scripts/postgres-cluster.sh tls
ssl = on
ssl_cert_file = 'server.pem'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
EOF
  fi
  # The role's lines go first: pg_hba.conf is read top down, the first match decides.
  if ! as_owner grep -q "^hostssl $DATABASE $role " "$data/pg_hba.conf"; then
    local rest
    rest=$(as_owner cat "$data/pg_hba.conf")
    printf '%s\n' "# $role: TLS and SCRAM only (scripts/postgres-cluster.sh tls)" \
      "hostssl $DATABASE $role 127.0.0.1/32 scram-sha-256" "host all $role all reject" "local all $role reject" \
      "$rest" | as_owner tee "$data/pg_hba.conf" >/dev/null
  fi
  as_owner "$BIN/psql" -h "$dir" -p "$port" -U "$SUPERUSER" -d "$DATABASE" -v ON_ERROR_STOP=1 -q \
    -v role="$role" -v password="$(head -n 1 "$password_file")" >>"$log" 2>&1 <<'SQL' || fail "making the role $role failed" "$log"
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS missing \gset
\if :missing
CREATE ROLE :"role" LOGIN;
\endif
SET password_encryption = 'scram-sha-256';
ALTER ROLE :"role" PASSWORD :'password';
GRANT CONNECT, CREATE ON DATABASE dossier_test TO :"role";
SQL
  as_owner "$BIN/pg_ctl" -D "$data" reload >>"$log" 2>&1 || fail "pg_ctl reload failed" "$log"
  # A reload is asynchronous: wait until TLS answers.
  for _ in $(seq 1 50); do
    if as_owner "$BIN/psql" "host=127.0.0.1 port=$port user=$SUPERUSER dbname=$DATABASE sslmode=require" -tAc \
      "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>/dev/null | grep -q '^t$'; then
      echo "$certs/ca.pem"
      return 0
    fi
    sleep 0.1
  done
  fail "TLS did not come up after the reload" "$dir/server.log"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  tls) [ $# -eq 4 ] || usage; tls "$2" "$3" "$4" ;;
  *) usage ;;
esac
