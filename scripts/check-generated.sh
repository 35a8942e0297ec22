#!/usr/bin/env bash
# Checks that the code generated from proto/ is up to date, without building or running protoc:
# recomputes the hash of the generator's inputs and of each output folder and compares them
# with the GENERATED.sha256 stamps that scripts/generate.sh (`make generate`) wrote.
#
#   scripts/check-generated.sh        exit 0 when everything is fresh, 1 (saying what) if not
#
# Also sourced by scripts/generate.sh for the hashing functions below, so that both scripts
# hash exactly the same way.
#
# Stamp format (one per output folder, `key value` lines, `#` comments):
#   inputs <sha256>      of the proto, generator and tools lines below
#   outputs <sha256>     of this folder's `file` lines below
#   tools <string>       e.g. "swift-protobuf 1.39.0, protoc-c 1.4.1"
#   proto <sha256>       of the sorted `sha256  path` lines of proto/**/*.proto
#   generator <sha256>   of the same for Tools/protoc-gen-dossier (less build dirs) and scripts/generate.sh
#   proto-file <sha256> <path>, generator-file <sha256> <path>, file <sha256> <path>: the manifests,
#   kept so that a mismatch can name the files that changed.
set -euo pipefail
export LC_ALL=C

DOSSIER_STAMP_NAME=GENERATED.sha256
DOSSIER_SWIFT_OUT=Sources/DossierProto/Generated
DOSSIER_STORE_OUT=Sources/DossierStore/Generated
DOSSIER_C_OUT=clients/c/generated
DOSSIER_STORAGE_PROTO=proto/dossier/storage
DOSSIER_GENERATOR_DIR=Tools/protoc-gen-dossier

# `sha256  path` for each file named on stdin (one per line, already sorted).
dossier_sha_lines() {
    local path
    while IFS= read -r path; do
        [[ -n "$path" ]] || continue
        printf '%s  %s\n' "$(sha256sum <"$path" | cut -d' ' -f1)" "$path"
    done
}

dossier_sha_of_stdin() { sha256sum | cut -d' ' -f1; }

# Manifest of every .proto under proto/, paths relative to the repository root.
dossier_proto_manifest() {
    [[ -d proto ]] || return 0
    find proto -type f -name '*.proto' | sort | dossier_sha_lines
}

# Manifest of the generator: the plugin package's sources (no build dirs, no Package.resolved,
# which is not committed) and the script that drives it.
dossier_generator_manifest() {
    {
        if [[ -d "$DOSSIER_GENERATOR_DIR" ]]; then
            find "$DOSSIER_GENERATOR_DIR" \( -name '.build*' -o -name '.swiftpm' \) -prune \
                -o -type f ! -name Package.resolved ! -name .DS_Store -print
        fi
        [[ ! -f scripts/generate.sh ]] || echo scripts/generate.sh
    } | sort | dossier_sha_lines
}

# Manifest of an output folder (paths relative to it), without its stamp.
dossier_output_manifest() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    (cd "$dir" && find . -type f ! -path "./$DOSSIER_STAMP_NAME" | sed 's|^\./||' | sort | dossier_sha_lines)
}

# inputs hash from the proto hash, generator hash and tools string.
dossier_inputs_hash() {
    printf 'proto %s\ngenerator %s\ntools %s\n' "$1" "$2" "$3" | dossier_sha_of_stdin
}

# Output folders that must exist (the store's only while proto/dossier/storage has protos).
dossier_output_dirs() {
    echo "$DOSSIER_SWIFT_OUT"
    if dossier_has_storage_protos; then echo "$DOSSIER_STORE_OUT"; fi
    echo "$DOSSIER_C_OUT"
}

dossier_has_storage_protos() {
    [[ -d "$DOSSIER_STORAGE_PROTO" ]] && [[ -n "$(find "$DOSSIER_STORAGE_PROTO" -type f -name '*.proto' -print -quit)" ]]
}

# Writes the stamp of output folder $1 for tools string $2.
dossier_write_stamp() {
    local dir=$1 tools=$2
    local proto_manifest generator_manifest output_manifest proto_hash generator_hash
    proto_manifest=$(dossier_proto_manifest)
    generator_manifest=$(dossier_generator_manifest)
    output_manifest=$(dossier_output_manifest "$dir")
    proto_hash=$(printf '%s' "$proto_manifest" | dossier_sha_of_stdin)
    generator_hash=$(printf '%s' "$generator_manifest" | dossier_sha_of_stdin)
    {
        echo "# Written by scripts/generate.sh (make generate); checked by scripts/check-generated.sh. Do not edit."
        echo "inputs $(dossier_inputs_hash "$proto_hash" "$generator_hash" "$tools")"
        echo "outputs $(printf '%s' "$output_manifest" | dossier_sha_of_stdin)"
        echo "tools $tools"
        echo "proto $proto_hash"
        echo "generator $generator_hash"
        [[ -z "$proto_manifest" ]] || printf '%s\n' "$proto_manifest" | sed 's/^\([0-9a-f]*\)  /proto-file \1 /'
        [[ -z "$generator_manifest" ]] || printf '%s\n' "$generator_manifest" | sed 's/^\([0-9a-f]*\)  /generator-file \1 /'
        [[ -z "$output_manifest" ]] || printf '%s\n' "$output_manifest" | sed 's/^\([0-9a-f]*\)  /file \1 /'
    } >"$dir/$DOSSIER_STAMP_NAME"
}

# Value of key $2 in stamp $1 (first match), empty if absent.
dossier_stamp_value() {
    sed -n "s/^$2 //p" "$1" | head -n 1
}

# Converts `prefix <sha> <path>` lines of a stamp back to `sha  path` manifest lines.
dossier_stamp_manifest() {
    sed -n "s/^$2 \([0-9a-f]*\) /\1  /p" "$1"
}

# Prints "  modified: p" / "  added: p" / "  removed: p" lines between manifests $1 (recorded)
# and $2 (current); $3 and $4 name the added/removed states; $5 prefixes paths.
dossier_manifest_diff() {
    local recorded=$1 current=$2 added=${3:-added} removed=${4:-removed} prefix=${5:-}
    join -j 2 -a 1 -a 2 -e MISSING -o 0,1.1,2.1 \
        <(printf '%s\n' "$recorded" | sed '/^$/d' | awk '{print $1, $2}' | sort -k 2,2) \
        <(printf '%s\n' "$current" | sed '/^$/d' | awk '{print $1, $2}' | sort -k 2,2) |
        while read -r path old new; do
            if [[ "$old" == MISSING ]]; then
                echo "  $added: $prefix$path"
            elif [[ "$new" == MISSING ]]; then
                echo "  $removed: $prefix$path"
            elif [[ "$old" != "$new" ]]; then
                echo "  modified: $prefix$path"
            fi
        done
}

dossier_check_main() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."

    local proto_manifest generator_manifest proto_hash generator_hash
    proto_manifest=$(dossier_proto_manifest)
    generator_manifest=$(dossier_generator_manifest)
    proto_hash=$(printf '%s' "$proto_manifest" | dossier_sha_of_stdin)
    generator_hash=$(printf '%s' "$generator_manifest" | dossier_sha_of_stdin)

    local -a problems=()
    local -A seen=()
    add_problem() {
        [[ -z "${seen[$1]:-}" ]] || return 0
        seen[$1]=1
        problems+=("$1")
    }

    local dir stamp tools message
    local checked=0
    while IFS= read -r dir; do
        stamp="$dir/$DOSSIER_STAMP_NAME"
        if [[ ! -f "$stamp" ]]; then
            if [[ "$dir" == "$DOSSIER_STORE_OUT" ]]; then
                add_problem "proto/ changed since the last \`make generate\`: $DOSSIER_STORAGE_PROTO/ has protos but $dir/ was never generated"
            else
                add_problem "$dir/ has no $DOSSIER_STAMP_NAME: it was never generated, or its stamp was deleted"
            fi
            continue
        fi
        checked=$((checked + 1))
        tools=$(dossier_stamp_value "$stamp" tools)

        # Inputs: proto/ and the generator.
        if [[ "$(dossier_stamp_value "$stamp" inputs)" != "$(dossier_inputs_hash "$proto_hash" "$generator_hash" "$tools")" ]]; then
            local stale_input=0
            if [[ "$(dossier_stamp_value "$stamp" proto)" != "$proto_hash" ]]; then
                stale_input=1
                message="proto/ changed since the last \`make generate\`:"
                message+=$'\n'"$(dossier_manifest_diff "$(dossier_stamp_manifest "$stamp" proto-file)" "$proto_manifest")"
                add_problem "$message"
            fi
            if [[ "$(dossier_stamp_value "$stamp" generator)" != "$generator_hash" ]]; then
                stale_input=1
                message="the generator ($DOSSIER_GENERATOR_DIR/ or scripts/generate.sh) changed since the last \`make generate\`:"
                message+=$'\n'"$(dossier_manifest_diff "$(dossier_stamp_manifest "$stamp" generator-file)" "$generator_manifest")"
                add_problem "$message"
            fi
            if [[ $stale_input == 0 ]]; then
                add_problem "$stamp was edited by hand (its inputs line does not match its own contents)"
            fi
        fi

        # Outputs: the folder's files.
        local output_manifest
        output_manifest=$(dossier_output_manifest "$dir")
        if [[ "$(dossier_stamp_value "$stamp" outputs)" != "$(printf '%s' "$output_manifest" | dossier_sha_of_stdin)" ]]; then
            message="generated files were edited by hand in $dir/:"
            local diff
            diff=$(dossier_manifest_diff "$(dossier_stamp_manifest "$stamp" file)" "$output_manifest" "added by hand" "deleted" "$dir/")
            [[ -n "$diff" ]] || diff="  (the file list in $stamp was edited)"
            message+=$'\n'"$diff"
            add_problem "$message"
        fi

        # The runtime must be the swift-protobuf the messages were generated with.
        local generated_with pinned
        generated_with=$(sed -n 's/^swift-protobuf \([^,]*\).*/\1/p' <<<"$tools")
        pinned=$(grep -o 'swift-protobuf\.git", exact: "[^"]*"' Package.swift 2>/dev/null | sed 's/.*exact: "\(.*\)"/\1/' || true)
        if [[ -n "$generated_with" && -n "$pinned" && "$generated_with" != "$pinned" ]]; then
            add_problem "Package.swift pins the swift-protobuf runtime at $pinned but the code was generated with swift-protobuf $generated_with: pin the same version in Package.swift and $DOSSIER_GENERATOR_DIR/Package.swift (and generate.sh), then \`make generate\`"
        fi
    done < <(dossier_output_dirs)

    if [[ -d "$DOSSIER_STORE_OUT" ]] && ! dossier_has_storage_protos; then
        add_problem "proto/ changed since the last \`make generate\`: $DOSSIER_STORAGE_PROTO/ has no protos any more but $DOSSIER_STORE_OUT/ is still there"
    fi

    if ((${#problems[@]} > 0)); then
        {
            echo "check-generated: the generated code is stale."
            local p
            for p in "${problems[@]}"; do
                echo "- $p"
            done
            echo "Run \`make generate\` (scripts/generate.sh) and commit the result; never edit generated files by hand."
        } >&2
        return 1
    fi
    echo "check-generated: $checked generated folder(s) up to date with proto/ and $DOSSIER_GENERATOR_DIR."
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    dossier_check_main "$@"
fi
