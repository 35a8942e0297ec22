#!/usr/bin/env bash
# Installs the Debian packages Dossier needs, if any is missing (apt-get, as root or via sudo).
set -euo pipefail

# python3-venv: the FHIR validator of the export tests (scripts/fhir-validate.sh).
packages=(librocksdb-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libssl-dev pkg-config openssl gcc make valgrind python3 python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing Debian packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root or install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
