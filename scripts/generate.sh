#!/usr/bin/env bash
# Regenerates, from scratch, all code generated from proto/ (the single source of truth of the
# API); `make generate` runs it from the repository root. Outputs:
#
#   Sources/DossierProto/Generated/  Swift messages (protoc-gen-swift, public) for every proto
#                                    but proto/dossier/storage/ and the well-known types (they
#                                    are in the SwiftProtobuf runtime), plus the service glue of
#                                    protoc-gen-dossier (Tools/protoc-gen-dossier).
#   Sources/DossierStore/Generated/  Swift messages (internal) for proto/dossier/storage/, if any.
#   clients/c/generated/             protobuf-c code for proto/dossier/v1, proto/ttrpc,
#                                    proto/google/rpc and everything they import (well-known
#                                    types included), keeping the directory structure.
#
# Each output folder gets a GENERATED.sha256 stamp that scripts/check-generated.sh verifies.
#
# Needs: swift (6.x), protoc (3.21+), protoc-c (protobuf-c-compiler); cc and pkg-config for the
# compile check of the C output (skipped when missing). Builds protoc-gen-swift and
# protoc-gen-dossier in release mode under .build-tools/ (the first run takes a few minutes).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=scripts/check-generated.sh
source scripts/check-generated.sh

# The swift-protobuf of the plugins; the runtime in Package.swift must be exactly the same.
SWIFT_PROTOBUF_VERSION=1.39.0
SCRATCH=$ROOT/.build-tools/protoc-gen-dossier

log() { printf 'generate: %s\n' "$*" >&2; }
die() { printf 'generate: error: %s\n' "$*" >&2; exit 1; }

# --- Tools -----------------------------------------------------------------------------------

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
for tool in swift protoc protoc-c; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (apt-get install protobuf-compiler protobuf-c-compiler; Swift 6 toolchain)"
done

pinned=$(grep -o 'swift-protobuf\.git", exact: "[^"]*"' "$DOSSIER_GENERATOR_DIR/Package.swift" | sed 's/.*exact: "\(.*\)"/\1/')
[[ "$pinned" == "$SWIFT_PROTOBUF_VERSION" ]] ||
    die "$DOSSIER_GENERATOR_DIR/Package.swift pins swift-protobuf '$pinned', this script expects $SWIFT_PROTOBUF_VERSION"
runtime=$(grep -o 'swift-protobuf\.git", exact: "[^"]*"' Package.swift 2>/dev/null | sed 's/.*exact: "\(.*\)"/\1/' || true)
[[ -z "$runtime" || "$runtime" == "$SWIFT_PROTOBUF_VERSION" ]] ||
    die "Package.swift pins the swift-protobuf runtime at $runtime but the plugins use $SWIFT_PROTOBUF_VERSION"

protoc_c_version=$(protoc-c --version 2>&1 | sed -n 's/^protobuf-c \([0-9][0-9.]*\).*/\1/p' | head -n 1)
[[ -n "$protoc_c_version" ]] || die "cannot tell the version of protoc-c ($(protoc-c --version 2>&1 | head -n 1))"
TOOLS="swift-protobuf $SWIFT_PROTOBUF_VERSION, protoc-c $protoc_c_version"

# Where protoc finds google/protobuf/*.proto (the well-known types).
wkt_include=
for dir in "${PROTOC_INCLUDE:-}" "$(dirname "$(command -v protoc)")/../include" /usr/include /usr/local/include; do
    if [[ -n "$dir" && -f "$dir/google/protobuf/descriptor.proto" ]]; then
        wkt_include=$(cd "$dir" && pwd)
        break
    fi
done
[[ -n "$wkt_include" ]] || die "google/protobuf/*.proto not found; set PROTOC_INCLUDE to the directory holding google/protobuf/"

build_product() {
    local product=$1 log_file=$ROOT/.build-tools/build-$1.log
    log "building $product (release)"
    mkdir -p "$ROOT/.build-tools"
    if ! swift build -c release --package-path "$DOSSIER_GENERATOR_DIR" --scratch-path "$SCRATCH" \
        --product "$product" >"$log_file" 2>&1; then
        cat "$log_file" >&2
        die "building $product failed (log: $log_file)"
    fi
}
# protoc-gen-swift comes from the very swift-protobuf checkout the plugin depends on.
build_product protoc-gen-swift
build_product protoc-gen-dossier
bin_path=$(swift build -c release --package-path "$DOSSIER_GENERATOR_DIR" --scratch-path "$SCRATCH" --show-bin-path)
PROTOC_GEN_SWIFT=$bin_path/protoc-gen-swift
PROTOC_GEN_DOSSIER=$bin_path/protoc-gen-dossier
[[ "$("$PROTOC_GEN_SWIFT" --version)" == "protoc-gen-swift $SWIFT_PROTOBUF_VERSION" ]] ||
    die "$PROTOC_GEN_SWIFT is '$("$PROTOC_GEN_SWIFT" --version)', expected swift-protobuf $SWIFT_PROTOBUF_VERSION"

# --- Inputs ----------------------------------------------------------------------------------

[[ -d proto ]] || die "no proto/ directory in $ROOT"
# Paths relative to proto/, sorted.
list_protos() { (cd proto && find "$@" -type f -name '*.proto' 2>/dev/null | sed 's|^\./||' | sort); }

mapfile -t swift_protos < <(list_protos . | grep -v -e '^dossier/storage/' -e '^google/protobuf/' || true)
mapfile -t storage_protos < <(list_protos dossier/storage)
c_roots=()
for dir in dossier/v1 ttrpc google/rpc; do
    if [[ -d "proto/$dir" ]]; then
        mapfile -t -O "${#c_roots[@]}" c_roots < <(list_protos "$dir")
    fi
done
((${#swift_protos[@]} > 0)) || die "no .proto files under proto/"

PROTOC=(protoc -I "$ROOT/proto" -I "$wkt_include")

STAGE=$(mktemp -d "$ROOT/.build-tools/generate.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# The files in $@ and everything they import, transitively (paths as protoc names them).
with_imports() {
    "${PROTOC[@]}" --include_imports --descriptor_set_out="$STAGE/imports.pb" "$@"
    "${PROTOC[@]}" --decode=google.protobuf.FileDescriptorSet google/protobuf/descriptor.proto \
        <"$STAGE/imports.pb" | sed -n 's/^  name: "\(.*\)"$/\1/p' | sort -u
}

# --- Generate into a staging folder ----------------------------------------------------------

mkdir -p "$STAGE/swift" "$STAGE/store" "$STAGE/c"

log "Swift messages and services: ${#swift_protos[@]} file(s) -> $DOSSIER_SWIFT_OUT/"
"${PROTOC[@]}" \
    --plugin=protoc-gen-swift="$PROTOC_GEN_SWIFT" \
    --swift_out="$STAGE/swift" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    --plugin=protoc-gen-dossier="$PROTOC_GEN_DOSSIER" \
    --dossier_out="$STAGE/swift" \
    "${swift_protos[@]}"

if ((${#storage_protos[@]} > 0)); then
    log "Swift storage messages: ${#storage_protos[@]} file(s) -> $DOSSIER_STORE_OUT/"
    store_opts=Visibility=Internal,FileNaming=PathToUnderscores
    # Storage messages that use API messages import them from DossierProto.
    mapfile -t api_imports < <(with_imports "${storage_protos[@]}" | grep -v -e '^dossier/storage/' -e '^google/protobuf/' || true)
    if ((${#api_imports[@]} > 0)); then
        {
            echo 'mapping {'
            echo '  module_name: "DossierProto"'
            printf '  proto_file_path: "%s"\n' "${api_imports[@]}"
            echo '}'
        } >"$STAGE/store-module-mappings.asciipb"
        store_opts+=,ProtoPathModuleMappings=$STAGE/store-module-mappings.asciipb
        log "  note: storage protos import ${api_imports[*]}; DossierStore must depend on DossierProto"
    fi
    "${PROTOC[@]}" \
        --plugin=protoc-gen-swift="$PROTOC_GEN_SWIFT" \
        --swift_out="$STAGE/store" --swift_opt="$store_opts" \
        "${storage_protos[@]}"
fi

if ((${#c_roots[@]} > 0)); then
    mapfile -t c_protos < <(with_imports "${c_roots[@]}")
    log "protobuf-c: ${#c_protos[@]} file(s) (imports included) -> $DOSSIER_C_OUT/"
    protoc-c -I "$ROOT/proto" -I "$wkt_include" --c_out="$STAGE/c" "${c_protos[@]}"

    # The C output must compile as is.
    if command -v cc >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1 &&
        pkg-config --exists libprotobuf-c; then
        mkdir -p "$STAGE/c-objects"
        # shellcheck disable=SC2046
        while IFS= read -r c_file; do
            cc -c -Wall -Werror -I "$STAGE/c" $(pkg-config --cflags libprotobuf-c) \
                -o "$STAGE/c-objects/$(echo "$c_file" | tr / _).o" "$STAGE/c/$c_file" ||
                die "generated C does not compile: $c_file"
        done < <(cd "$STAGE/c" && find . -name '*.c' | sed 's|^\./||' | sort)
    else
        log "  note: cc, pkg-config or libprotobuf-c-dev missing: C compile check skipped"
    fi
fi

# --- Replace the outputs ---------------------------------------------------------------------

replace_output() {
    local from=$1 to=$2
    rm -rf "$to"
    mkdir -p "$(dirname "$to")"
    mv "$from" "$to"
    dossier_write_stamp "$to" "$TOOLS"
}
replace_output "$STAGE/swift" "$DOSSIER_SWIFT_OUT"
if ((${#storage_protos[@]} > 0)); then
    replace_output "$STAGE/store" "$DOSSIER_STORE_OUT"
else
    rm -rf "$DOSSIER_STORE_OUT"
fi
replace_output "$STAGE/c" "$DOSSIER_C_OUT"

for dir in $(dossier_output_dirs); do
    log "$dir/: $(find "$dir" -type f ! -name "$DOSSIER_STAMP_NAME" | wc -l) file(s)"
done
log "done ($TOOLS)"
