#!/usr/bin/env bash
# Validates a Dossier export (ZIP) with the independent FHIR library fhir.resources (pinned:
# 6.4.0 is FHIR R4 4.0.1; it needs pydantic 1), installed once into a virtual environment
# under the build folder (git-ignored). Fails when the environment cannot be made.
#   scripts/fhir-validate.sh EXPORT.zip
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FHIR_RESOURCES_VERSION=6.4.0
PYDANTIC_VERSION=1.10.19
VENV=${FHIR_VENV:-$PWD/.build/fhir-venv}
[[ $# -eq 1 ]] || { echo "usage: $0 EXPORT.zip" >&2; exit 2; }
stamp="$VENV/.dossier-fhir-$FHIR_RESOURCES_VERSION-$PYDANTIC_VERSION"
if [[ ! -f "$stamp" ]]; then
    command -v python3 >/dev/null || { echo "fhir-validate: python3 is missing (scripts/install-deps.sh)" >&2; exit 1; }
    rm -rf "$VENV"
    python3 -m venv "$VENV" || { echo "fhir-validate: cannot make a virtual environment (apt-get install python3-venv)" >&2; exit 1; }
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "fhir.resources==$FHIR_RESOURCES_VERSION" "pydantic[email]==$PYDANTIC_VERSION" >&2
    touch "$stamp"
fi
exec "$VENV/bin/python" scripts/fhir_validate.py "$1"
