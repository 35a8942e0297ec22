# Sourced by scripts/image-build.sh, scripts/image-test.sh and scripts/base-images.sh: picks the
# container engine and gives the commands the flags this host needs.
#
#   source scripts/container-engine.sh
#   engine_init                # sets ENGINE=docker|podman (installs podman when there is neither)
#   ce ARGS...                 # the engine with its global flags (podman: runc, cgroupfs, file events)
#   ce_build ARGS... CONTEXT   # `build` that keeps the HEALTHCHECK (podman: --format docker) and
#                              # uses the host's network (podman: --network host)
#
# The engine: $CONTAINER_ENGINE when set (docker or podman); otherwise docker when `docker info`
# reaches an engine, otherwise podman — installed from Debian (podman, runc) when missing.
# Podman is run as root (rootful) with:
#   --runtime runc             crun refuses hosts with cgroups in hybrid mode
#   --cgroup-manager cgroupfs  no systemd needed
#   --events-backend file      no journald needed
# ($PODMAN_GLOBAL_FLAGS replaces these). On a host with no /etc/containers/storage.conf and no
# container store yet, it writes a storage.conf with the vfs driver (overlay fails on some of
# these machines; vfs works everywhere, at the price of disk: every layer is a full copy).
# $PODMAN_STORAGE_DRIVER picks another driver for that file. An existing storage.conf or store
# is left as it is.

engine_log() { printf '%s: %s\n' "${ENGINE_LOG_PREFIX:-container-engine}" "$*" >&2; }
engine_die() { engine_log "$*"; exit 2; }

# apt-get install of the packages not installed yet (root, or through sudo).
engine_apt_install() {
  local missing=() package sudo=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || engine_die "run as root or install: ${missing[*]}"
    sudo=(sudo)
  fi
  engine_log "installing missing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A package list older than the mirror's packages would fail the install: update first.
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

podman_storage_setup() {
  local conf=/etc/containers/storage.conf driver=${PODMAN_STORAGE_DRIVER:-vfs}
  [ -n "${CONTAINERS_STORAGE_CONF:-}" ] && return 0
  [ -e "$conf" ] && return 0
  if [ -e /var/lib/containers/storage/libpod/bolt_state.db ] || [ -d /var/lib/containers/storage/overlay-images ]; then
    engine_log "note: no $conf, but a container store exists already: keeping its driver"
    return 0
  fi
  engine_log "writing $conf (driver \"$driver\")"
  mkdir -p /etc/containers
  cat >"$conf" <<EOF
# Written by Dossier's scripts/container-engine.sh: no storage.conf existed on this host.
[storage]
driver = "$driver"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
EOF
}

engine_init() {
  [ -n "${ENGINE:-}" ] && return 0
  case "${CONTAINER_ENGINE:-}" in
    docker)
      docker info >/dev/null 2>&1 || engine_die "CONTAINER_ENGINE=docker, but 'docker info' reaches no engine"
      ENGINE=docker ;;
    podman) ENGINE=podman ;;
    "")
      if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi ;;
    *) engine_die "CONTAINER_ENGINE must be docker or podman, not '$CONTAINER_ENGINE'" ;;
  esac
  ENGINE_FLAGS=()
  BUILD_FLAGS=()
  if [ "$ENGINE" = podman ]; then
    [ "$(id -u)" -eq 0 ] || engine_die "podman is used rootful here: run as root (or use docker)"
    engine_apt_install podman runc
    podman_storage_setup
    read -r -a ENGINE_FLAGS <<<"${PODMAN_GLOBAL_FLAGS:---runtime runc --cgroup-manager cgroupfs --events-backend file}"
    # Docker image format: the OCI format has no HEALTHCHECK. Host network: the bridge needs
    # nothing a build does not, and some hosts cannot set up networking for build containers.
    BUILD_FLAGS=(--format docker --network host)
  fi
  export ENGINE
  engine_log "engine: $ENGINE ($("$ENGINE" --version 2>/dev/null | head -n1))"
}

ce() { "$ENGINE" ${ENGINE_FLAGS[@]+"${ENGINE_FLAGS[@]}"} "$@"; }
ce_build() { ce build ${BUILD_FLAGS[@]+"${BUILD_FLAGS[@]}"} "$@"; }

# True when the image is in the local store.
ce_has_image() { ce image inspect "$1" >/dev/null 2>&1; }

# The image's size in bytes (podman: the unpacked layers, as `podman images` shows).
ce_image_size() { ce image inspect --format '{{.Size}}' "$1"; }

# The host's mirrors of git hosts (git config url.<base>.insteadOf): the local directories a
# build must see at the same path so that its git, configured the same way, reaches them.
engine_git_mirror_dirs() {
  git config --get-regexp '^url\..*\.insteadof$' 2>/dev/null | while read -r key _; do
    local base=${key#url.}
    base=${base%.insteadof}
    base=${base%/}
    [[ "$base" == /* && -d "$base" ]] && echo "$base"
  done | sort -u
}

human_size() { numfmt --to=iec --suffix=B "$1" 2>/dev/null || echo "$1 bytes"; }
