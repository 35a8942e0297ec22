#!/usr/bin/env bash
# What the container image's runtime stage copies, laid out under OUT_DIR as it lands in /:
#   usr/local/bin/dossierd                                  the release server binary, stripped
#   usr/local/bin/dossier -> dossierd                       the CLI: dossierd invoked as `dossier`
#                                                           (one binary: the CLI's own executable
#                                                           would repeat the Swift runtime, Foundation
#                                                           and ICU, some 80 MB)
#   usr/libexec/swift/linux/swift-backtrace-static         the Swift crash backtracer, stripped
#
#   scripts/stage-binaries.sh BIN_DIR OUT_DIR
#
# Run by the Dockerfile's build stage (BIN_DIR .build/release, OUT_DIR /out) and by
# scripts/image-test.sh on the host for the runtime-only build; one definition for both.
# Stripping drops the DWARF and the static symbol table (dossierd goes from about 187 MB
# to 91 MB); the dynamic symbol table stays, so a crash backtrace still names most functions,
# without file and line. The backtracer is the toolchain's, next to the `swift` in PATH
# (or $SWIFT_TOOLCHAIN_USR/libexec/…).
set -euo pipefail

bin=${1:?usage: stage-binaries.sh BIN_DIR OUT_DIR}
out=${2:?usage: stage-binaries.sh BIN_DIR OUT_DIR}
command -v strip >/dev/null || { echo "stage-binaries: needs strip (binutils)" >&2; exit 2; }

toolchain_usr=${SWIFT_TOOLCHAIN_USR:-}
if [ -z "$toolchain_usr" ]; then
  swift=$(command -v swift) || { echo "stage-binaries: no swift in PATH (set SWIFT_TOOLCHAIN_USR)" >&2; exit 2; }
  toolchain_usr=$(dirname "$(dirname "$(readlink -f "$swift")")")
fi
backtracer=$toolchain_usr/libexec/swift/linux/swift-backtrace-static

for file in "$bin/dossierd" "$backtracer"; do
  [ -f "$file" ] || { echo "stage-binaries: no $file" >&2; exit 2; }
done

install -d -m 0755 "$out/usr/local/bin" "$out/usr/libexec/swift/linux"
strip --strip-all -o "$out/usr/local/bin/dossierd" "$bin/dossierd"
ln -sfn dossierd "$out/usr/local/bin/dossier"
strip --strip-all -o "$out/usr/libexec/swift/linux/swift-backtrace-static" "$backtracer"
chmod 0755 "$out/usr/local/bin/dossierd" "$out/usr/libexec/swift/linux/swift-backtrace-static"
