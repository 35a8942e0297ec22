#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the PostgreSQL engine's tests (DossierPostgresTests).
#
#   scripts/postgres-cluster.sh start DIR PORT   # prints the URL for DOSSIER_TEST_POSTGRES_URL
#   scripts/postgres-cluster.sh stop DIR
#
# start installs Debian's postgresql-15 when its initdb is missing, makes a cluster in DIR/data
# (superuser "dossier", trust authentication, TCP on 127.0.0.1 only, the unix socket in DIR,
# fsync and synchronous_commit on: commits are as durable as in production), starts it and
# creates the database dossier_test. Run again, it reuses what is there. PostgreSQL refuses to
# run as root: as root the cluster belongs to the system user dossier-pg (made when missing),
# so DIR's parent directories must be searchable by it (/tmp/... is). stop is immediate: the
# cluster is for tests, its data is not worth a checkpoint.
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
  echo "usage: $0 start DIR PORT | stop DIR" >&2
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

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
