#!/usr/bin/env bash
# CI check: the runtime stage of Docker/Dockerfile installs every Debian package the release
# binaries need, and its ENTRYPOINT runs a binary the build produces.
#
# Usage:
#   scripts/check-runtime-deps.sh [--dockerfile Docker/Dockerfile] [--package Package.swift]
#                                 [--makefile Makefile] [--allow-swift-runtime] [BINARY...]
#
# BINARY defaults to .build/release/dossierd and .build/release/dossier (make release).
#
# For each binary: `ldd`, then every resolved library is mapped to its Debian package
# (`dpkg -S`). A needed package is covered when it is
#   - listed in the runtime stage (the `# runtime-packages:` line and the `apt-get install`
#     line of the last stage, which must agree), or
#   - a (recursive) dependency of a listed package (`apt-cache depends`), or
#   - in the runtime base image: libc6, libgcc-s1, libstdc++6 (debian:bookworm-slim has them;
#     override with RUNTIME_BASE_PACKAGES="...").
# It fails when a package is not covered, when `ldd` prints "not found", when a library belongs
# to no package, or when the binary links the Swift runtime dynamically (libraries of a Swift
# toolchain, e.g. /opt/swift/usr/lib/swift/linux or /usr/lib/swift/linux): a release binary must
# be built with --static-swift-stdlib. `--allow-swift-runtime` reports those libraries
# separately instead of failing (for a debug binary).
#
# Run it on the machine that built the binaries, a Debian 12 like the runtime image: the
# library -> package mapping is only meaningful there.
#
# Exit status: 0 consistent, 1 inconsistent, 2 usage or input error.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

dockerfile=Docker/Dockerfile
package_manifest=Package.swift
makefile=Makefile
allow_swift_runtime=0
binaries=()

usage() {
    sed -n '/^# Usage:/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dockerfile) dockerfile="${2:?--dockerfile needs a path}"; shift 2 ;;
        --package) package_manifest="${2:?--package needs a path}"; shift 2 ;;
        --makefile) makefile="${2:?--makefile needs a path}"; shift 2 ;;
        --allow-swift-runtime) allow_swift_runtime=1; shift ;;
        -h|--help) usage 0 ;;
        -*) echo "check-runtime-deps: unknown option $1" >&2; usage 2 >&2 ;;
        *) binaries+=("$1"); shift ;;
    esac
done
[[ ${#binaries[@]} -gt 0 ]] || binaries=(.build/release/dossierd .build/release/dossier)

read -r -a base_packages <<<"${RUNTIME_BASE_PACKAGES:-libc6 libgcc-s1 libstdc++6}"

problems=()
problem() { problems+=("$*"); }
die() { echo "check-runtime-deps: $*" >&2; exit 2; }
contains() { local needle="$1"; shift; local item; for item in "$@"; do [[ "$item" == "$needle" ]] && return 0; done; return 1; }

for tool in ldd dpkg; do
    command -v "$tool" >/dev/null || die "needs $tool (run it on the Debian 12 machine that built the binaries)"
done
[[ -f "$dockerfile" ]] || die "no Dockerfile at $dockerfile"
[[ -f "$package_manifest" ]] || die "no package manifest at $package_manifest"
[[ -f "$makefile" ]] || die "no Makefile at $makefile"

if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
    [[ "$codename" == bookworm ]] ||
        echo "warning: this machine is '$codename', the runtime image is Debian 12 (bookworm): package names may differ" >&2
fi

# --- The Dockerfile ------------------------------------------------------------------------

# Logical lines (continuations joined, comment lines inside continuations dropped, as Docker
# does), each prefixed with its stage number (0 before the first FROM).
logical_lines() {
    awk '
        BEGIN { stage = 0; buf = "" }
        {
            line = $0
            sub(/\r$/, "", line)
            if (buf == "" && line ~ /^[ \t]*#/) { print stage "\t" line; next }  # a comment line
            if (buf != "" && line ~ /^[ \t]*(#.*)?$/) next                        # inside a continuation
            if (line ~ /\\[ \t]*$/) { sub(/\\[ \t]*$/, " ", line); buf = buf line; next }
            line = buf line; buf = ""
            if (line ~ /^[ \t]*[Ff][Rr][Oo][Mm][ \t]/) stage++
            print stage "\t" line
        }
        END { if (buf != "") print stage "\t" buf }
    ' "$dockerfile"
}

mapfile -t lines < <(logical_lines)
last_stage=0
for entry in "${lines[@]}"; do last_stage="${entry%%$'\t'*}"; done
[[ "$last_stage" -ge 2 ]] || problem "$dockerfile is not multi-stage (found $last_stage FROM lines)"

runtime_lines=()
build_lines=()
for entry in "${lines[@]}"; do
    stage="${entry%%$'\t'*}" text="${entry#*$'\t'}"
    if [[ "$stage" == "$last_stage" ]]; then runtime_lines+=("$text"); elif [[ "$stage" -ge 1 ]]; then build_lines+=("$text"); fi
done

# Packages on the "# runtime-packages:" line (anywhere in the file: it documents the last stage).
marker_packages=()
marker_seen=0
while IFS= read -r line; do
    marker_seen=1
    read -r -a words <<<"${line#*runtime-packages:}"
    marker_packages+=("${words[@]}")
done < <(grep -E '^[[:space:]]*#[[:space:]]*runtime-packages:' "$dockerfile" || true)

# Packages of every `apt-get install` / `apt install` in the runtime stage: the words after
# `install` up to the next shell operator, without options; `pkg=version` and `pkg:arch` are
# reduced to `pkg`.
install_packages=()
install_seen=0
for text in "${runtime_lines[@]}"; do
    [[ "$text" =~ ^[[:space:]]*[Rr][Uu][Nn][[:space:]] ]] || continue
    # Split shell operators off so that `pkg&&` or `pkg;` still separate.
    spaced="$(sed -e 's/&&/ \&\& /g' -e 's/||/ || /g' -e 's/;/ ; /g' -e 's/|/ | /g' <<<"$text")"
    read -r -a words <<<"$spaced"
    collecting=0 previous=""
    for word in "${words[@]}"; do
        if [[ $collecting -eq 1 ]]; then
            case "$word" in
                '&&'|'||'|';'|'|'|')') collecting=0 ;;
                -*) ;;
                *'$'*) problem "the runtime stage installs '$word': a variable cannot be checked, list packages literally" ;;
                *) word="${word%%=*}"; word="${word%%:*}"; install_packages+=("${word//[\"\']/}") ;;
            esac
        elif [[ "$word" == install && ( "$previous" == apt-get || "$previous" == apt || "$previous" == -* ) ]]; then
            collecting=1 install_seen=1
        fi
        [[ "$word" == -* && $collecting -eq 0 ]] || previous="$word"
    done
done

sorted() { printf '%s\n' "$@" | sed '/^$/d' | sort -u; }

if [[ $marker_seen -eq 0 && $install_seen -eq 0 ]]; then
    problem "the runtime stage of $dockerfile has neither a '# runtime-packages:' line nor an apt-get install"
elif [[ $marker_seen -eq 1 && $install_seen -eq 1 ]]; then
    if [[ "$(sorted "${marker_packages[@]}")" != "$(sorted "${install_packages[@]}")" ]]; then
        problem "the '# runtime-packages:' line ($(sorted "${marker_packages[@]}" | paste -sd' ')) and the runtime stage's apt-get install ($(sorted "${install_packages[@]}" | paste -sd' ')) disagree"
    fi
fi
mapfile -t listed < <(sorted "${marker_packages[@]}" "${install_packages[@]}")

# The runtime base image, for the report (ARG defaults substituted).
runtime_from=""
for text in "${runtime_lines[@]}"; do
    if [[ "$text" =~ ^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]+([^[:space:]]+) ]]; then runtime_from="${BASH_REMATCH[1]}"; break; fi
done
if [[ "$runtime_from" =~ ^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$ ]]; then
    arg="${BASH_REMATCH[1]}"
    default="$(sed -nE "s/^[[:space:]]*ARG[[:space:]]+$arg=\"?([^\"[:space:]]+)\"?.*/\1/p" "$dockerfile" | head -n1)"
    runtime_from="${default:-$runtime_from}"
fi
[[ "$runtime_from" == *bookworm* ]] ||
    echo "warning: the runtime stage is FROM '$runtime_from', not a Debian 12 (bookworm) image: the base packages assumed (${base_packages[*]}) may not hold" >&2

# The executables the build produces: `make release` = `swift build -c release`, which builds
# every executable product of Package.swift.
mapfile -t products < <(grep -oE '\.executable\([[:space:]]*name:[[:space:]]*"[^"]+"' "$package_manifest" | sed -E 's/.*"([^"]+)"/\1/' | sort -u)
[[ ${#products[@]} -gt 0 ]] || problem "no .executable products found in $package_manifest"
grep -qE '^release:' "$makefile" || problem "$makefile has no 'release' target"
build_runs_make_release=0
for text in "${build_lines[@]}"; do
    [[ "$text" =~ ^[[:space:]]*[Rr][Uu][Nn][[:space:]].*make[[:space:]]+([^[:space:]&|;]+[[:space:]]+)*release([[:space:]&|;]|$) ]] && build_runs_make_release=1
done
[[ $build_runs_make_release -eq 1 ]] || problem "no build stage of $dockerfile runs 'make release' (the target CI runs)"

# ENTRYPOINT: exec form ["a", "b"] or shell form; an init wrapper (tini, dumb-init) is skipped.
entrypoint_words=()
for text in "${runtime_lines[@]}"; do
    if [[ "$text" =~ ^[[:space:]]*[Ee][Nn][Tt][Rr][Yy][Pp][Oo][Ii][Nn][Tt][[:space:]]+(.*)$ ]]; then
        value="${BASH_REMATCH[1]}"
        entrypoint_words=()
        if [[ "$value" =~ ^\[ ]]; then
            mapfile -t entrypoint_words < <(grep -oE '"([^"\\]|\\.)*"' <<<"$value" | sed -E 's/^"(.*)"$/\1/')
        else
            read -r -a entrypoint_words <<<"$value"
        fi
    fi
done
entrypoint_binary=""
skip_wrapper=0
for word in "${entrypoint_words[@]}"; do
    base="${word##*/}"
    if [[ -z "$entrypoint_binary" ]]; then
        case "$base" in
            tini|tini-static|dumb-init|docker-init|catatonit) skip_wrapper=1; continue ;;
        esac
        if [[ $skip_wrapper -eq 1 && ( "$word" == -* ) ]]; then continue; fi
        entrypoint_binary="$base"
    fi
done
if [[ -z "$entrypoint_binary" ]]; then
    problem "the runtime stage of $dockerfile has no ENTRYPOINT"
elif ! contains "$entrypoint_binary" "${products[@]}"; then
    problem "ENTRYPOINT runs '$entrypoint_binary', which is not an executable product of $package_manifest (${products[*]})"
fi

# The HEALTHCHECK's program, when it names one of ours, must be a product too.
for text in "${runtime_lines[@]}"; do
    if [[ "$text" =~ ^[[:space:]]*[Hh][Ee][Aa][Ll][Tt][Hh][Cc][Hh][Ee][Cc][Kk][[:space:]].*[Cc][Mm][Dd][[:space:]]+(.*)$ ]]; then
        command_text="$(sed -E 's/^\[//; s/"//g; s/,/ /g' <<<"${BASH_REMATCH[1]}")"
        read -r -a words <<<"$command_text"
        for word in "${words[@]}"; do
            case "$word" in /bin/sh|sh|-c|exec) continue ;; esac
            if [[ "${word##*/}" == dossier* ]] && ! contains "${word##*/}" "${products[@]}"; then
                problem "HEALTHCHECK runs '${word##*/}', which is not an executable product of $package_manifest"
            fi
            break
        done
    fi
done

# --- The binaries ----------------------------------------------------------------------------

declare -A package_of=()        # library path -> package(s), or "" when none
declare -A needed_by=()         # package -> binaries needing it
declare -A swift_runtime=()     # library path -> binaries
checked_names=()

# dpkg -S of a path, trying the merged-/usr twin as well (/lib -> /usr/lib on Debian 12, but
# dpkg records the path the package ships).
packages_owning() {
    local path="$1" candidate output line
    local -a candidates=("$path")
    local real
    real="$(readlink -f "$path" 2>/dev/null || echo "$path")"
    [[ "$real" != "$path" ]] && candidates+=("$real")
    for candidate in "${candidates[@]}"; do
        case "$candidate" in
            /usr/lib/*|/usr/lib64/*|/usr/bin/*|/usr/sbin/*) candidates+=("${candidate#/usr}") ;;
            /lib/*|/lib64/*|/bin/*|/sbin/*) candidates+=("/usr$candidate") ;;
        esac
    done
    for candidate in "${candidates[@]}"; do
        if output="$(dpkg -S "$candidate" 2>/dev/null)"; then
            while IFS= read -r line; do
                [[ "$line" == "diversion by"* ]] && continue
                line="${line%%: /*}"
                tr ',' '\n' <<<"$line" | sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//; s/:.*$//'
            done <<<"$output"
            return 0
        fi
    done
    return 1
}

is_swift_runtime() {
    case "$1" in
        */lib/swift/linux/*|/opt/swift/*|*/usr/lib/swift/*) return 0 ;;
    esac
    return 1
}

for binary in "${binaries[@]}"; do
    if [[ ! -f "$binary" ]]; then
        echo "check-runtime-deps: no binary at $binary (build it with 'make release', or name another)" >&2
        exit 2
    fi
    name="${binary##*/}"
    checked_names+=("$name")
    if ! ldd_output="$(ldd "$binary" 2>&1)"; then
        if grep -q 'not a dynamic executable' <<<"$ldd_output"; then
            echo "$binary: statically linked, no shared libraries"
            continue
        fi
        die "ldd $binary failed: $ldd_output"
    fi
    while IFS= read -r line; do
        line="${line#"${line%%[![:space:]]*}"}"
        [[ -z "$line" ]] && continue
        if [[ "$line" == *"=> not found"* ]]; then
            problem "$binary: ldd cannot find ${line%% *} (install the package that provides it, on the build machine and in the runtime stage)"
            continue
        fi
        if [[ "$line" =~ =\>[[:space:]]+(/[^[:space:]]+) ]]; then
            path="${BASH_REMATCH[1]}"
        elif [[ "$line" =~ ^(/[^[:space:]]+) ]]; then
            path="${BASH_REMATCH[1]}"     # the dynamic loader
        else
            continue                      # linux-vdso.so.1 and the like: in the kernel
        fi
        if [[ -z "${package_of[$path]+set}" ]]; then
            package_of[$path]="$(packages_owning "$path" | sort -u | paste -sd' ' || true)"
        fi
        owners="${package_of[$path]}"
        if [[ -z "$owners" ]]; then
            if is_swift_runtime "$path"; then
                swift_runtime[$path]="${swift_runtime[$path]:+${swift_runtime[$path]} }$name"
            else
                problem "$binary: $path belongs to no Debian package (a library built or copied by hand cannot be installed in the runtime stage)"
            fi
            continue
        fi
        read -r -a owner_list <<<"$owners"
        for package in "${owner_list[@]}"; do
            read -r -a users <<<"${needed_by[$package]-}"
            contains "$name" "${users[@]}" || needed_by[$package]="${needed_by[$package]:+${needed_by[$package]} }$name"
        done
    done <<<"$ldd_output"
done

if [[ -n "$entrypoint_binary" ]] && ! contains "$entrypoint_binary" "${checked_names[@]}"; then
    problem "ENTRYPOINT runs '$entrypoint_binary' but no binary of that name was checked"
fi

# Which listed package brings which other package (recursive Depends/Pre-Depends).
declare -A brought_by=()
if command -v apt-cache >/dev/null; then
    for listed_package in "${listed[@]}"; do
        while IFS= read -r dependency; do
            dependency="${dependency%%:*}"
            [[ -z "$dependency" || "$dependency" == "$listed_package" || "$dependency" == \<* ]] && continue
            [[ -n "${brought_by[$dependency]-}" ]] || brought_by[$dependency]="$listed_package"
        done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "$listed_package" 2>/dev/null | grep -vE '^[[:space:]]' || true)
    done
else
    echo "warning: no apt-cache: every needed package must be listed itself" >&2
fi

# --- Report ----------------------------------------------------------------------------------

echo "runtime stage: FROM ${runtime_from:-?}; installs: ${listed[*]:-(nothing)}"
echo "entrypoint: ${entrypoint_words[*]:-(none)}   products: ${products[*]}"
echo "base image packages assumed: ${base_packages[*]}"
echo
echo "Debian packages the binaries need:"
missing=()
mapfile -t needed_packages < <(printf '%s\n' "${!needed_by[@]}" | sed '/^$/d' | sort)
for package in "${needed_packages[@]}"; do
    if contains "$package" "${listed[@]}"; then how="installed by the runtime stage"
    elif contains "$package" "${base_packages[@]}"; then how="in the base image"
    elif [[ -n "${brought_by[$package]-}" ]]; then how="dependency of ${brought_by[$package]}"
    else how="MISSING"; missing+=("$package")
    fi
    printf '  %-22s %-34s (%s)\n' "$package" "$how" "${needed_by[$package]}"
done

if [[ ${#swift_runtime[@]} -gt 0 ]]; then
    echo
    echo "Swift runtime libraries (from a Swift toolchain, in no Debian package):"
    mapfile -t swift_paths < <(printf '%s\n' "${!swift_runtime[@]}" | sort)
    for path in "${swift_paths[@]}"; do
        printf '  %-70s (%s)\n' "$path" "${swift_runtime[$path]}"
    done
    echo "  -> build with --static-swift-stdlib (see Makefile, release) so that the binary carries the"
    echo "     Swift runtime, or run it on an image that has it (swift:6.3-bookworm-slim)."
    if [[ $allow_swift_runtime -eq 0 ]]; then
        problem "the binaries link the Swift runtime dynamically (${#swift_runtime[@]} libraries): debian:bookworm-slim does not have it; build with --static-swift-stdlib, or pass --allow-swift-runtime for a debug binary"
    fi
fi

unused=()
for package in "${listed[@]}"; do
    [[ -n "${needed_by[$package]-}" ]] && continue
    needed_via=0
    for needed in "${needed_packages[@]}"; do
        contains "$needed" "${listed[@]}" "${base_packages[@]}" && continue
        [[ "${brought_by[$needed]-}" == "$package" ]] && needed_via=1
    done
    [[ $needed_via -eq 1 ]] || unused+=("$package")
done
if [[ ${#unused[@]} -gt 0 ]]; then
    echo
    echo "note: installed by the runtime stage but needed by no binary's libraries: ${unused[*]} (fine if used otherwise)"
fi

if [[ ${#missing[@]} -gt 0 ]]; then
    # Suggest the fewest packages: drop those another missing package depends on.
    suggested=()
    if command -v apt-cache >/dev/null; then
        declare -A implied=()
        for package in "${missing[@]}"; do
            while IFS= read -r dependency; do
                dependency="${dependency%%:*}"
                [[ "$dependency" != "$package" ]] && implied[$dependency]=1
            done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                --no-replaces --no-enhances "$package" 2>/dev/null | grep -vE '^[[:space:]]' || true)
        done
        for package in "${missing[@]}"; do [[ -n "${implied[$package]-}" ]] || suggested+=("$package"); done
    fi
    [[ ${#suggested[@]} -gt 0 ]] || suggested=("${missing[@]}")
    problem "the runtime stage does not install: ${missing[*]} — add ${suggested[*]} to the '# runtime-packages:' line and the apt-get install line of $dockerfile"
fi

echo
if [[ ${#problems[@]} -gt 0 ]]; then
    echo "FAILED: the runtime stage of $dockerfile is not consistent with the binaries:" >&2
    for message in "${problems[@]}"; do echo "  - $message" >&2; done
    exit 1
fi
echo "OK: the runtime stage of $dockerfile provides every library of ${binaries[*]}"
