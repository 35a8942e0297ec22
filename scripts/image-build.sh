#!/usr/bin/env bash
# `make image`: builds Docker/Dockerfile (build stage and runtime stage) into IMAGE.
#
#   scripts/image-build.sh [IMAGE]          (default dossier:dev; extra build flags in $IMAGE_BUILD_FLAGS)
#
# With docker when `docker info` reaches an engine, otherwise podman (installed from Debian when
# missing; scripts/container-engine.sh). The base images come from a registry, or are made here
# when none answers (scripts/base-images.sh). With podman, the host's git mirrors
# (`git config url.<dir>.insteadOf …`) are mounted read-only into the build, where the local
# Swift image's git reaches them the same way. Prints the duration and the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE_LOG_PREFIX=image
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh

image=${1:-dossier:dev}
started=$SECONDS
engine_init

if [ "$ENGINE" = podman ] && [ "$(ce info --format '{{.Store.GraphDriverName}}' 2>/dev/null)" = vfs ]; then
  free_gb=$(df -P --block-size=1G /var/lib/containers 2>/dev/null | awk 'NR == 2 { print $4 }')
  [ -z "$free_gb" ] || [ "$free_gb" -ge 30 ] ||
    engine_log "warning: ${free_gb} GB free for the container store; a full build with the vfs driver needs about 30 GB"
fi

bash scripts/base-images.sh

mounts=()
if [ "$ENGINE" = podman ]; then
  while IFS= read -r dir; do
    [ -n "$dir" ] && mounts+=(-v "$dir:$dir:ro")
  done < <(engine_git_mirror_dirs)
fi
read -r -a extra <<<"${IMAGE_BUILD_FLAGS:-}"

engine_log "building $image from Docker/Dockerfile${mounts[*]:+ (mounted: ${mounts[*]})}"
build_started=$SECONDS
ce_build ${mounts[@]+"${mounts[@]}"} ${extra[@]+"${extra[@]}"} -f Docker/Dockerfile -t "$image" .
size=$(ce_image_size "$image")
engine_log "built $image in $((SECONDS - build_started)) s ($((SECONDS - started)) s with the base images): $(human_size "$size") ($size bytes)"
