#!/usr/bin/env bash
# `make image-test`: the container image as operators run it, checked from outside.
#
#   scripts/image-test.sh [BIN_DIR]          (default .build/release: `make release`)
#
# 1. Builds only the runtime stage of Docker/Dockerfile, from the release binaries in BIN_DIR
#    (stripped and laid out by scripts/stage-binaries.sh, given to the build as the named context
#    `build`, which replaces the build stage): about a minute, no toolchain image needed. The
#    runtime base image is made locally when no registry answers (scripts/base-images.sh).
# 2. Runs it as docs/OPERATIONS.md section 12 says: the image's user 10001, --cap-drop ALL,
#    --read-only, no-new-privileges, the master key and log-signing key as secrets (podman) or
#    mounted files (docker), named volumes for the data and the key store, the certificates of CERTS
#    (certs/dev, make certs) plus a health-check certificate, mounted read-only, readable by uid 10001.
# 3. Checks: the HEALTHCHECK becomes healthy; `exec … dossier health`; the README's scenario
#    (scripts/scenario.sh) from the host's CLI of BIN_DIR, as an unprivileged user, through the
#    published port; the metrics through the published metrics port; `stop` drains and exits 0;
#    after `start` the deposited document downloads byte-identical; a missing master key and a
#    wrong master key are refused (exit 2, a message naming the master key); Docker/compose.yaml
#    comes up healthy, serves, stops with exit 0 and goes down (podman-compose or docker compose).
# 4. Removes its containers, volumes, secrets and image, also on failure; keeps the base images.
#
# Run as root (podman rootful; the CLI switches users with setpriv). Prints one line per check,
# then a summary and "image-test: OK". Settings: CERTS, IMAGE_TEST_KEEP_IMAGE=1 (keep the image),
# CONTAINER_ENGINE (docker|podman), IMAGE_TEST_SKIP_COMPOSE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE_LOG_PREFIX=image-test
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh

bin=${1:-.build/release}
certs=${CERTS:-certs/dev}
cli_uid=${UNPRIVILEGED_UID:-65534}
patient=1985010112345
started=$SECONDS
run_id=dossier-image-test-$$
image=localhost/dossier:image-test-$$

say() { printf 'image-test: %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { say "run as root (podman rootful; the CLI runs as uid $cli_uid through setpriv)" >&2; exit 2; }
for file in "$bin/dossierd" "$bin/dossier"; do
  [ -x "$file" ] || { say "no $file: build the release binaries first (make release), or name their directory" >&2; exit 2; }
done
[ -f "$certs/ca.pem" ] && [ -f "$certs/ca.key" ] && [ -f "$certs/server.pem" ] ||
  { say "no development PKI in $certs (make certs)" >&2; exit 2; }
command -v setpriv >/dev/null || { say "needs setpriv (util-linux)" >&2; exit 2; }

# --- Results, clean-up ---------------------------------------------------------------------

results=()
failures=0
step_started=$SECONDS
begin() { step_started=$SECONDS; }
pass() { results+=("PASS  $*  ($((SECONDS - step_started)) s)"); say "PASS  $*"; }
fail() { results+=("FAIL  $*  ($((SECONDS - step_started)) s)"); say "FAIL  $*" >&2; failures=$((failures + 1)); }
# A failure the later checks cannot go on from.
fatal() { fail "$@"; exit 1; }

work=
containers=()
volumes=()
secrets=()
compose_up=0

summary() {  # summary EXIT_STATUS
  local line
  echo
  echo "image-test: summary (${ENGINE:-no engine}${image_size:+; image $(human_size "$image_size"), $image_size bytes})"
  for line in ${results[@]+"${results[@]}"}; do echo "  $line"; done
  echo "image-test: total $((SECONDS - started)) s"
  if [ "$failures" -eq 0 ] && [ "${completed:-0}" -eq 1 ]; then
    echo "image-test: OK"
  elif [ "${completed:-0}" -eq 1 ]; then
    echo "image-test: FAILED ($failures of ${#results[@]} checks)"
  else
    echo "image-test: FAILED ($failures checks failed; $(case $1 in 130|143) echo interrupted ;; *) echo "stopped before the end, exit $1" ;; esac))"
  fi
}

exec 3>&1 4>&2   # the script's own output, for the summary: a signal may land inside a redirection
cleanup() {
  local status=$? name
  set +e
  exec 1>&3 2>&4
  if [ "$compose_up" -eq 1 ]; then compose down -t 40 -v >/dev/null 2>&1; fi
  for name in ${containers[@]+"${containers[@]}"}; do ce rm -f -v "$name" >/dev/null 2>&1; done
  for name in ${volumes[@]+"${volumes[@]}"}; do ce volume rm -f "$name" >/dev/null 2>&1; done
  for name in ${secrets[@]+"${secrets[@]}"}; do ce secret rm "$name" >/dev/null 2>&1; done
  if [ "${IMAGE_TEST_KEEP_IMAGE:-0}" != 1 ] && [ -n "${image_built:-}" ]; then ce rmi -f "$image" >/dev/null 2>&1; fi
  [ -z "$work" ] || rm -rf "$work"
  summary "$status"
  if [ "$status" -eq 0 ] && [ "$failures" -gt 0 ]; then status=1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

engine_init

# --- 1. The runtime stage from the release binaries ------------------------------------------

begin
bash scripts/base-images.sh --runtime-only
pass "runtime base image ready"

work=$(mktemp -d /var/tmp/dossier-image-test.XXXXXX)
chmod 0711 "$work"   # the unprivileged CLI user reaches its own directories in here

begin
bash scripts/stage-binaries.sh "$bin" "$work/stage/out"
if ce_build --build-context "build=$work/stage" -f Docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1; then
  image_built=1
  image_size=$(ce_image_size "$image")
  pass "runtime stage built from $bin ($(human_size "$image_size"))"
else
  tail -n 30 "$work/build.log" >&2
  fatal "building the runtime stage from $bin"
fi
if grep -q 'STEP.*make release' "$work/build.log"; then fail "the build stage ran: --build-context build=… did not replace it"; fi

begin
healthcheck=$(ce image inspect --format '{{json .Config.Healthcheck}}' "$image" 2>/dev/null || true)
user=$(ce image inspect --format '{{.Config.User}}' "$image")
if [[ "$healthcheck" == *"dossier health"* ]] && [ "$user" = 10001:10001 ]; then
  pass "image config: USER $user, HEALTHCHECK kept"
else
  fail "image config: USER '$user' (want 10001:10001), HEALTHCHECK '$healthcheck'"
fi

# --- 2. Certificates, keys, run flags ----------------------------------------------------------

# The container's certificates: server, client CA, and a health-check operator certificate
# issued for this run; readable by uid 10001 through its group, read-only.
install -d -m 0700 "$work/ca"
cp "$certs/ca.pem" "$certs/ca.key" "$work/ca/"
bash certs/issue-cert.sh --kind operator --id healthcheck --name "Health check" --dir "$work/ca" --out healthcheck >/dev/null
install -d -m 0750 -o root -g 10001 "$work/certs"
install -m 0640 -o root -g 10001 "$certs/server.pem" "$certs/server.key" "$certs/ca.pem" \
  "$work/ca/healthcheck.pem" "$work/ca/healthcheck.key" "$work/certs/"
rm -rf "$work/ca"

# The keys: 64 hex digits each (openssl rand -hex 32), readable by uid 10001 (compose and docker
# mount the files as they are).
install -d -m 0750 -o root -g 10001 "$work/keys"
for key in master log-signing wrong-master; do
  openssl rand -hex 32 >"$work/keys/$key.key"
  chown root:10001 "$work/keys/$key.key"
  chmod 0640 "$work/keys/$key.key"
done

# podman: secrets, mounted at /run/secrets/<target> for uid 10001. docker (no swarm): the files.
if [ "$ENGINE" = podman ]; then
  for key in master log-signing wrong-master; do
    ce secret create "$run_id-$key" "$work/keys/$key.key" >/dev/null
    secrets+=("$run_id-$key")
  done
fi
key_flags() {  # key_flags master|wrong-master|"" : the flags, one a line
  local master=$1
  if [ "$ENGINE" = podman ]; then
    # Podman 4.3 cannot place a secret on a --read-only root ("read-only file system"): a
    # tmpfs at /run/secrets takes them.
    printf '%s\n' --tmpfs /run/secrets
    [ -z "$master" ] || printf '%s\n' --secret "$run_id-$master,type=mount,target=dossier_master_key,uid=10001,gid=10001,mode=0400"
    printf '%s\n' --secret "$run_id-log-signing,type=mount,target=dossier_log_signing_key,uid=10001,gid=10001,mode=0400"
  else
    [ -z "$master" ] || printf '%s\n' -v "$work/keys/$master.key:/run/secrets/dossier_master_key:ro"
    printf '%s\n' -v "$work/keys/log-signing.key:/run/secrets/dossier_log_signing_key:ro"
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port_pair() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 20000))
    if port_free "$port" && port_free $((port + 1)); then echo "$port"; return 0; fi
  done
  return 1
}

# Open files: the docs' 65536, or the host's hard limit when lower (a container cannot go
# above it). Podman (rootful) also sets the process limit to 1048576 unless told otherwise,
# which hosts without CAP_SYS_RESOURCE refuse ("error setting rlimit"): find one that runs.
begin
hard=$(ulimit -Hn)
nofile=65536
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then nofile=$hard; fi
limit_flags=(--ulimit "nofile=$nofile:$nofile")
nproc_flags=()
if [ "$ENGINE" = podman ]; then
  probe_ok=0
  hard_nproc=$(ulimit -Hu)
  for nproc in "" "$hard_nproc" "$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)" 4096; do
    [ "$nproc" != unlimited ] || continue
    flags=(${nproc:+--ulimit "nproc=$nproc:$nproc"})
    if ce run --rm --entrypoint /bin/true "${limit_flags[@]}" ${flags[@]+"${flags[@]}"} "$image" >"$work/probe.log" 2>&1; then
      probe_ok=1; nproc_flags=(${flags[@]+"${flags[@]}"}); break
    fi
  done
  [ "$probe_ok" -eq 1 ] || { cat "$work/probe.log" >&2; fatal "no ulimit setting lets a container start"; }
fi
limit_flags+=(${nproc_flags[@]+"${nproc_flags[@]}"})
pass "limits for runs: ${limit_flags[*]}"

port=$(free_port_pair) || fatal "no free port pair"
metrics_port=$((port + 1))
volume=$run_id-data
keys_volume=$run_id-keys
for name in "$volume" "$keys_volume"; do
  ce volume create "$name" >/dev/null
  volumes+=("$name")
done

# The run of docs/OPERATIONS.md section 12.
run_server() {  # run_server NAME master|wrong-master|"" [PUBLISH=1]
  local name=$1 master=$2 publish=${3:-1} flags=()
  mapfile -t flags < <(key_flags "$master")
  if [ "$publish" -eq 1 ]; then flags+=(-p "127.0.0.1:$port:7443" -p "127.0.0.1:$metrics_port:9464"); fi
  [ "$ENGINE" = docker ] && flags+=(--health-interval 2s)   # docker runs the first check only after the interval
  containers+=("$name")
  ce run -d --name "$name" --stop-timeout 40 \
    -v "$volume:/var/lib/dossier" -v "$keys_volume:/var/lib/dossier-keys" -v "$work/certs:/etc/dossier/certs:ro" \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true \
    "${limit_flags[@]}" "${flags[@]}" "$image" >"$work/run-$name.log" 2>&1 ||
    { cat "$work/run-$name.log" >&2; return 1; }
}

state() { ce inspect --format "{{.State.$2}}" "$1" 2>/dev/null; }

# Healthy: podman runs the HEALTHCHECK on demand (no systemd timers here); docker on its own.
wait_healthy() {  # wait_healthy NAME [SECONDS]
  local name=$1 deadline=$((SECONDS + ${2:-90}))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(state "$name" Running)" = true ] || return 1
    if [ "$ENGINE" = podman ]; then
      ce healthcheck run "$name" >/dev/null 2>&1 && return 0
    else
      [ "$(docker inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null)" = healthy ] && return 0
    fi
    sleep 1
  done
  return 1
}

# --- 3. The server container -----------------------------------------------------------------

server=$run_id-server
begin
run_server "$server" master || fatal "docker/podman run of the image"
if wait_healthy "$server" 90; then
  pass "HEALTHCHECK healthy ($([ "$ENGINE" = podman ] && echo 'podman healthcheck run' || echo 'docker inspect'))"
else
  ce logs "$server" 2>&1 | tail -n 30 >&2
  fatal "the container did not become healthy"
fi

begin
if out=$(ce exec "$server" dossier health 2>&1) && grep -q SERVING <<<"$out"; then
  pass "exec dossier health: $(head -n1 <<<"$out")"
else
  fail "exec dossier health: $out"
fi

begin
uid_in=$(ce exec "$server" cat /proc/1/status 2>/dev/null | awk '/^Uid:/ { print $2 }')
caps_in=$(ce exec "$server" cat /proc/1/status 2>/dev/null | awk '/^CapBnd:/ { print $2 }')
nnp_in=$(ce exec "$server" cat /proc/1/status 2>/dev/null | awk '/^NoNewPrivs:/ { print $2 }')
if ce exec "$server" touch /usr/local/bin/probe >/dev/null 2>&1; then ro=writable; else ro=read-only; fi
if [ "$uid_in" = 10001 ] && [ "$caps_in" = 0000000000000000 ] && [ "$nnp_in" = 1 ] && [ "$ro" = read-only ]; then
  pass "dossierd runs as uid 10001, no capabilities, no-new-privileges, read-only root"
else
  fail "hardening: uid '$uid_in', CapBnd '$caps_in', NoNewPrivs '$nnp_in', root file system $ro"
fi

# The host's CLI, as an unprivileged user: binaries, certificates and work directory its own.
as_user=(setpriv --reuid="$cli_uid" --regid="$cli_uid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs)
install -d -m 0755 "$work/bin"
install -m 0755 "$bin/dossier" "$work/bin/"
install -d -m 0700 -o "$cli_uid" -g "$cli_uid" "$work/cli-certs" "$work/cli"
cp "$certs"/*.pem "$work/cli-certs/"
for key in "$certs"/*.key; do
  case "${key##*/}" in master.key|log-signing.key|ca.key|*-ca.key) ;; *) cp "$key" "$work/cli-certs/" ;; esac
done
chown -R "$cli_uid:$cli_uid" "$work/cli-certs"
chmod 0600 "$work/cli-certs"/*
cli() {  # cli CERT_NAME ARGS...
  local who=$1; shift
  DOSSIER_SERVER=127.0.0.1:$port DOSSIER_CA=$work/cli-certs/ca.pem DOSSIER_CERT=$work/cli-certs/$who.pem \
    DOSSIER_KEY=$work/cli-certs/$who.key "${as_user[@]}" "$work/bin/dossier" "$@" --timeout 10
}

begin
if SCENARIO_AS="${as_user[*]}" SCENARIO_WORK="$work/cli" \
    bash scripts/scenario.sh "127.0.0.1:$port" "$work/cli-certs" "$work/bin/dossier" 2>&1 | sed 's/^/  /'; then
  pass "README scenario through 127.0.0.1:$port, CLI as uid $cli_uid"
else
  fail "README scenario through 127.0.0.1:$port"
fi

begin
metrics=$( (exec 3<>"/dev/tcp/127.0.0.1/$metrics_port" && printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && cat <&3) 2>/dev/null || true)
if grep -q '^dossier_calls_total{.*code="OK"}' <<<"$metrics"; then
  pass "metrics scraped through 127.0.0.1:$metrics_port ($(grep -c '^dossier_' <<<"$metrics") dossier_ samples)"
else
  fail "metrics through 127.0.0.1:$metrics_port: no dossier_calls_total with code OK ($(head -c 200 <<<"$metrics"))"
fi

stop_and_check() {  # stop_and_check NAME WHAT
  local name=$1 what=$2 t0=$SECONDS code logs
  ce stop -t 40 "$name" >/dev/null 2>&1
  code=$(state "$name" ExitCode)
  logs=$(ce logs "$name" 2>&1)
  if [ "$code" = 0 ] && grep -q 'shutting down: draining calls' <<<"$logs" && grep -q '\bstopped\b' <<<"$logs"; then
    pass "$what: stop in $((SECONDS - t0)) s, exit 0, log: draining calls ... stopped"
  else
    fail "$what: exit code '$code' after stop; log tail: $(tail -n 3 <<<"$logs" | tr '\n' ' ')"
  fi
}
begin
stop_and_check "$server" "graceful stop"

begin
ce start "$server" >/dev/null 2>&1 || fail "start again"
if wait_healthy "$server" 90; then
  id=$(cat "$work/cli/scenario-document-id" 2>/dev/null || true)
  rm -f "$work/cli/after-restart.bin"
  if [ -n "$id" ] && cli patient-alice doc download "$patient" "$id" -o "$work/cli/after-restart.bin" >/dev/null 2>&1 &&
      cmp -s "$work/cli/scenario-report.bin" "$work/cli/after-restart.bin"; then
    pass "after start: the deposited document downloads byte-identical"
  else
    fail "after start: the document '${id:-?}' did not download byte-identical"
  fi
else
  ce logs "$server" 2>&1 | tail -n 20 >&2
  fail "after start: not healthy"
fi
begin
stop_and_check "$server" "second stop"
ce rm -v "$server" >/dev/null 2>&1 || true

# A server that must refuse to start: exit 2 and a message naming the master key.
expect_refusal() {  # expect_refusal WHAT master|wrong-master|"" NAME
  local what=$1 master=$2 name=$run_id-$3 code logs
  begin
  run_server "$name" "$master" 0 || { fail "$what: run"; return; }
  # Until it exits, or serves (then it took the key), for at most 60 s.
  local deadline=$((SECONDS + 60)) serving=0
  code=
  while [ $SECONDS -lt $deadline ]; do
    if [ "$(state "$name" Running)" != true ]; then code=$(state "$name" ExitCode); break; fi
    if [ "$ENGINE" = podman ]; then
      ce healthcheck run "$name" >/dev/null 2>&1 && { serving=1; break; }
    else
      [ "$(docker inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null)" = healthy ] && { serving=1; break; }
    fi
    sleep 1
  done
  logs=$(ce logs "$name" 2>&1)
  if [ -z "$code" ]; then
    ce stop -t 40 "$name" >/dev/null 2>&1
    fail "$what: not refused — dossierd $([ "$serving" -eq 1 ] && echo 'started and serves (healthy)' || echo 'still running after 60 s'); last log line: $(grep -v ' call \|"call"' <<<"$logs" | tail -n 1)"
  elif [ "$code" = 2 ] && grep -qiE 'master[ -]key' <<<"$logs"; then
    pass "$what: exit 2, $(grep -iE 'master[ -]key' <<<"$logs" | tail -n1 | cut -c1-160)"
  else
    fail "$what: exit $code (want 2 and a message naming the master key); log: $(tail -n 2 <<<"$logs" | tr '\n' ' ')"
  fi
  ce rm -f -v "$name" >/dev/null 2>&1 || true
}
expect_refusal "missing master key" "" no-key
expect_refusal "wrong master key" wrong-master wrong-key

# --- 4. Docker/compose.yaml --------------------------------------------------------------------

compose_cmd=()
if [ "${IMAGE_TEST_SKIP_COMPOSE:-0}" = 1 ]; then
  compose_cmd=()
elif [ "$ENGINE" = docker ]; then
  docker compose version >/dev/null 2>&1 && compose_cmd=(docker compose)
else
  engine_apt_install podman-compose
  # podman-compose passes its own flags to podman: the same global flags, and the process
  # limit the probe found (the compose file sets only open files).
  compose_cmd=(podman-compose --podman-args "${ENGINE_FLAGS[*]}")
  [ ${#nproc_flags[@]} -eq 0 ] || compose_cmd+=(--podman-run-args "${nproc_flags[*]}")
fi
project=$(tr -c 'a-z0-9\n' '_' <<<"dit$$")
compose() { "${compose_cmd[@]}" -p "$project" -f Docker/compose.yaml "$@"; }

if [ ${#compose_cmd[@]} -eq 0 ]; then
  begin
  if [ "${IMAGE_TEST_SKIP_COMPOSE:-0}" = 1 ]; then pass "compose: skipped (IMAGE_TEST_SKIP_COMPOSE=1)"; else fail "compose: no docker compose plugin"; fi
else
  begin
  port=$(free_port_pair) || fatal "no free port pair"
  metrics_port=$((port + 1))
  export DOSSIER_IMAGE=$image DOSSIER_CERTS_DIR=$work/certs DOSSIER_MASTER_KEY_FILE=$work/keys/master.key \
    DOSSIER_LOG_SIGNING_KEY_FILE=$work/keys/log-signing.key DOSSIER_PORT=$port DOSSIER_METRICS_PORT=$metrics_port \
    DOSSIER_NOFILE=$nofile
  compose_up=1
  if compose up -d >"$work/compose-up.log" 2>&1; then
    compose_container=$(ce ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}' 2>/dev/null | head -n1)
    [ -n "$compose_container" ] || compose_container=$(ce ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}' | head -n1)
    if [ -n "$compose_container" ] && wait_healthy "$compose_container" 90; then
      pass "compose up: $compose_container healthy"
      begin
      if out=$(cli operator-helpdesk health 2>&1) && grep -q SERVING <<<"$out" &&
          stats=$(cli operator-helpdesk stats 2>&1); then
        pass "compose: serves through 127.0.0.1:$port (health: $(head -n1 <<<"$out"); stats answered)"
      else
        fail "compose: through 127.0.0.1:$port: ${out:-} ${stats:-}"
      fi
      begin
      compose stop -t 40 >"$work/compose-stop.log" 2>&1 || true
      code=$(state "$compose_container" ExitCode)
      if [ "$code" = 0 ] && ce logs "$compose_container" 2>&1 | grep -q 'shutting down: draining calls'; then
        pass "compose stop: exit 0 after draining"
      else
        fail "compose stop: exit code '$code'"
      fi
    else
      ce logs "$compose_container" 2>&1 | tail -n 20 >&2 || true
      fail "compose up: not healthy"
    fi
  else
    sed 's/^/  /' "$work/compose-up.log" | tail -n 30 >&2
    fail "compose up"
  fi
  begin
  if compose down -t 40 -v >"$work/compose-down.log" 2>&1; then
    compose_up=0
    left=$(ce ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}' 2>/dev/null; ce volume ls --format '{{.Name}}' | grep "^${project}_" || true)
    if [ -z "$left" ]; then pass "compose down -v: nothing left"; else fail "compose down: left $left"; fi
  else
    tail -n 20 "$work/compose-down.log" >&2
    fail "compose down"
  fi
fi

completed=1
