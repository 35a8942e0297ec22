#!/usr/bin/env bash
# Development secrets next to the development certificates (never inside a data directory):
# DIR/master.key (wraps the records' keys) and DIR/log-signing.key (signs access-log
# checkpoints), 64 hex digits each, mode 0600. Existing files are kept: a new master key would
# not open the key store made with the old one.
#
#   scripts/dev-keys.sh DIR        (make certs runs it for certs/dev)
set -euo pipefail
dir=${1:?usage: dev-keys.sh DIR}
mkdir -p "$dir"
umask 077
for name in master log-signing; do
  if [ ! -f "$dir/$name.key" ]; then
    openssl rand -hex 32 >"$dir/$name.key"
    echo "made $dir/$name.key (development only; production keys come from your secret store)"
  fi
done
