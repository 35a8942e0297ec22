#!/usr/bin/env bash
# Runs the Swift test suites (bounded to 20 minutes) and fails when any test server logged a
# line holding a sample patient id or a document marker (Tests/DossierTestSupport/PrivacyWatch.swift).
# The test runner's summary line stays the last line of the output.
set -uo pipefail
cd "$(dirname "$0")/.."
output=$(mktemp)
trap 'rm -f "$output"' EXIT
timeout 1200 "${SWIFT:-swift}" test --skip-build 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
if grep -q "LOG-PRIVACY-VIOLATION" "$output"; then
    echo "error: a test server logged a patient id or a document marker (see LOG-PRIVACY-VIOLATION above)" >&2
    status=1
fi
exit "$status"
