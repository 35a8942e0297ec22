#!/usr/bin/env bash
# The base images of Docker/Dockerfile, in the local image store: the runtime base
# (RUNTIME_IMAGE, debian:bookworm-slim) and, unless --runtime-only, the builder (SWIFT_IMAGE,
# swift:6.3-bookworm) — the names are the Dockerfile's ARG defaults.
#
#   scripts/base-images.sh [--runtime-only] [--rebuild]
#
# An image already in the store is used as it is (--rebuild makes the local ones again). A
# missing one is pulled; where no registry answers, it is made here, under the same name:
#   - debian:bookworm-slim: `debootstrap --variant=minbase bookworm` from the host's Debian
#     mirror (/etc/apt/sources.list*), slimmed like the official image (no docs, man pages,
#     locales; apt keeps no caches), imported with `import` (about 2.5 minutes);
#   - swift:6.3-bookworm: on that base, the Debian packages of the official image and the
#     host's Swift toolchain (the directory above the `bin/` holding `swift`, or
#     $SWIFT_TOOLCHAIN_USR) copied into /usr, as the official image unpacks it; plus an
#     /etc/gitconfig with the host's `url.<mirror>.insteadOf` settings, so that the image's git
#     reaches a local package mirror the way the host's git does. With podman the mirror
#     directories are mounted read-only into the build (scripts/image-build.sh); with docker,
#     which cannot mount into a build, they are copied into this image.
# Local images are tagged with their full names (docker.io/library/…), which the Dockerfile's
# short names resolve to: the Dockerfile is the same for registry images and local ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE_LOG_PREFIX=base-images
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh

runtime_only=0 rebuild=0
for arg in "$@"; do
  case "$arg" in
    --runtime-only) runtime_only=1 ;;
    --rebuild) rebuild=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) engine_die "unknown argument $arg" ;;
  esac
done

engine_init

arg_default() { sed -nE "s/^[[:space:]]*ARG[[:space:]]+$1=\"?([^\"[:space:]]+)\"?.*/\1/p" Docker/Dockerfile | head -n1; }
runtime_image=$(arg_default RUNTIME_IMAGE)
swift_image=$(arg_default SWIFT_IMAGE)
[ -n "$runtime_image" ] && [ -n "$swift_image" ] || engine_die "no ARG RUNTIME_IMAGE=… / SWIFT_IMAGE=… in Docker/Dockerfile"

# docker.io/library/NAME:TAG for a short name (what a pull of NAME:TAG would store).
full_name() {
  case "$1" in
    */*/*) echo "$1" ;;
    */*) case "${1%%/*}" in *.*|*:*|localhost) echo "$1" ;; *) echo "docker.io/$1" ;; esac ;;
    *) echo "docker.io/library/$1" ;;
  esac
}

# The first URI of the host's apt sources serving SUITE (one-line .list and deb822 .sources).
apt_uri() {
  local suite=$1 file
  {
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$file" ] || continue
      awk -v suite="$suite" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) print $i }' "$file"
    done
    for file in /etc/apt/sources.list.d/*.sources; do
      [ -f "$file" ] || continue
      awk -v suite="$suite" '
        BEGIN { RS = ""; FS = "\n" }
        {
          types = ""; uris = ""; suites = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^[ \t]*#/) continue
            split($i, kv, ":"); key = tolower(kv[1]); value = substr($i, length(kv[1]) + 2)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            if (key == "types") types = value; else if (key == "uris") uris = value
            else if (key == "suites") suites = value; else if (key == "enabled") enabled = tolower(value)
          }
          if (enabled == "no" || (" " types " ") !~ / deb /) next
          if ((" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1] }
        }' "$file"
    done
  } | head -n1
}

make_debian() {
  local name=$1 root mirror security started=$SECONDS
  engine_apt_install debootstrap
  mirror=$(apt_uri bookworm); mirror=${mirror:-http://deb.debian.org/debian}
  security=$(apt_uri bookworm-security); security=${security:-http://deb.debian.org/debian-security}
  root=$(mktemp -d /var/tmp/dossier-debootstrap.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  engine_log "making $name: debootstrap --variant=minbase bookworm from $mirror"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
    tail -n 30 "$root.log" >&2; rm -f "$root.log"; engine_die "debootstrap failed"
  fi
  rm -f "$root.log"

  # The official image's apt sources (deb822), its dpkg excludes and apt settings.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# Slim image: no documentation, manual pages or translations (as debian:bookworm-slim).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  (
    cd "$root"
    rm -rf usr/share/man/* usr/share/info/* usr/share/groff/* usr/share/lintian/* usr/share/linda/*
    find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    find usr/share/doc -mindepth 1 -type d -empty -delete
    find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/ldconfig/aux-cache
    find var/log -type f -delete
    rm -rf tmp/* var/tmp/* root/.bash_history
    # The engine provides these at run time.
    rm -f etc/resolv.conf etc/hostname etc/hosts
    : >etc/machine-id 2>/dev/null || true
  )
  chmod 0755 "$root"   # mktemp made it 0700: it becomes the image's /
  tar --numeric-owner --xattrs --acls -C "$root" -cf - . |
    ce import --change 'CMD ["bash"]' - "$name" >"$root.log" 2>&1 || {
    cat "$root.log" >&2; rm -f "$root.log"; engine_die "importing $name failed"
  }
  rm -f "$root.log"
  rm -rf "$root"
  trap - EXIT
  engine_log "made $name in $((SECONDS - started)) s ($(human_size "$(ce_image_size "$name")"))"
}

make_swift() {
  local name=$1 toolchain_usr ctx started=$SECONDS swift_bin version wanted
  swift_bin=$(command -v swift || true)
  toolchain_usr=${SWIFT_TOOLCHAIN_USR:-}
  if [ -z "$toolchain_usr" ]; then
    [ -n "$swift_bin" ] || engine_die "no Swift toolchain on this host (swift not in PATH; set SWIFT_TOOLCHAIN_USR): cannot make $name"
    toolchain_usr=$(dirname "$(dirname "$(readlink -f "$swift_bin")")")
  fi
  [ -x "$toolchain_usr/bin/swift" ] && [ -d "$toolchain_usr/lib/swift" ] ||
    engine_die "$toolchain_usr is not a Swift toolchain's usr/ (no bin/swift, lib/swift)"
  version=$("$toolchain_usr/bin/swift" --version 2>/dev/null | sed -nE 's/.*Swift version ([0-9]+\.[0-9]+).*/\1/p' | head -n1)
  wanted=$(sed -nE 's/^[^:]*:([0-9]+\.[0-9]+).*/\1/p' <<<"$1")
  [ -z "$wanted" ] || [ "$version" = "$wanted" ] ||
    engine_log "warning: the toolchain in $toolchain_usr is Swift $version, the image is named $name"

  ctx=$(mktemp -d /var/tmp/dossier-swift-image.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" EXIT
  # The host's rewrites of git URLs, for the image's git.
  : >"$ctx/gitconfig"
  git config --get-regexp '^url\..*\.insteadof$' 2>/dev/null | while read -r key value; do
    git config --file "$ctx/gitconfig" --add "$key" "$value"
  done
  # The mirrors are owned by another user than the builder's root on some hosts.
  git config --file "$ctx/gitconfig" --add safe.directory '*'

  # Docker cannot mount a directory into a build (podman can: scripts/image-build.sh does):
  # for docker, the mirrors go into the image.
  local contexts=(--build-context "toolchain=$toolchain_usr") copies="" dir index=0
  if [ "$ENGINE" = docker ]; then
    while IFS= read -r dir; do
      [ -n "$dir" ] || continue
      contexts+=(--build-context "mirror$index=$dir")
      copies+="COPY --from=mirror$index . $dir/"$'\n'
      index=$((index + 1))
    done < <(engine_git_mirror_dirs)
  fi

  # The official image (swiftlang/swift-docker, 6.x/debian/12): these packages, then the
  # toolchain unpacked into /usr. ca-certificates: git and curl over https for real URLs.
  # The toolchain goes last and nothing runs after it: with the vfs driver every layer is a
  # full copy of the image (4 GB from the toolchain on), so one layer holds it.
  cat >"$ctx/Dockerfile" <<EOF
FROM $runtime_image
RUN export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \\
 && apt-get -q update \\
 && apt-get -q install -y --no-install-recommends binutils ca-certificates git gnupg2 libc6-dev \\
        libcurl4-openssl-dev libedit2 libgcc-12-dev libncurses6 libpython3-dev libsqlite3-0 libstdc++-12-dev \\
        libxml2-dev libz3-dev pkg-config tzdata unzip zlib1g-dev \\
 && rm -rf /var/lib/apt/lists/*
COPY gitconfig /etc/gitconfig
$copies
COPY --from=toolchain . /usr/
EOF
  engine_log "making $name from $toolchain_usr (Swift $version) on $runtime_image"
  ce_build "${contexts[@]}" --label "org.opencontainers.image.description=Swift $version toolchain from $toolchain_usr, assembled locally by Dossier's scripts/base-images.sh" \
    -t "$name" -f "$ctx/Dockerfile" "$ctx" >"$ctx/build.log" 2>&1 || {
    tail -n 30 "$ctx/build.log" >&2; engine_die "building $name failed"
  }
  rm -rf "$ctx"
  trap - EXIT
  # Every file of the toolchain must be readable by others (the official image makes sure with
  # chmod -R o+r; here it would copy 4 GB once more): check the toolchain instead, and the image.
  [ -z "$(find "$toolchain_usr" ! -perm -o+r -print -quit)" ] ||
    engine_log "warning: files of $toolchain_usr are not readable by others: non-root builds will fail"
  ce run --rm --network none --entrypoint swift "$name" --version >/dev/null 2>&1 ||
    ce run --rm --network none --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --entrypoint swift "$name" --version >/dev/null ||
    engine_die "$name: swift --version fails in the image"
  engine_log "made $name in $((SECONDS - started)) s ($(human_size "$(ce_image_size "$name")"))"
}

stale=()   # images replaced by --rebuild: removed at the end (children first)
ensure() {
  local short=$1 maker=$2 name
  name=$(full_name "$short")
  if ce_has_image "$name"; then
    if [ "$rebuild" -eq 0 ]; then
      engine_log "$short: in the local store"
      return 0
    fi
    stale=("$(ce image inspect --format '{{.Id}}' "$name")" ${stale[@]+"${stale[@]}"})
  fi
  if [ "$rebuild" -eq 0 ]; then
    engine_log "$short: pulling"
    if timeout 600 "$ENGINE" ${ENGINE_FLAGS[@]+"${ENGINE_FLAGS[@]}"} pull "$name" >/dev/null 2>&1; then
      engine_log "$short: pulled"
      return 0
    fi
    engine_log "$short: no registry answers: making it locally"
  fi
  "$maker" "$name"
}

ensure "$runtime_image" make_debian
[ "$runtime_only" -eq 1 ] || ensure "$swift_image" make_swift
for id in ${stale[@]+"${stale[@]}"}; do
  ce_has_image "$id" || continue   # gone with its child
  ce rmi "$id" >/dev/null 2>&1 || engine_log "note: the replaced image $id is still in use: not removed"
done
