#!/usr/bin/env bash
# Start/stop a private Docker engine for NanoGridBot's tests and CI.
#
#   scripts/engine.sh start    install docker.io if missing, start dockerd, wait until it answers
#   scripts/engine.sh stop     stop the daemon started by `start` (by its pidfile)
#   scripts/engine.sh status   exit 0 when the engine answers
#   scripts/engine.sh env      print `export DOCKER_HOST=...` (eval "$(scripts/engine.sh env)")
#
# The daemon gets its own data root, exec root, pidfile and socket, and it never touches the host
# firewall or routing (no bridge, no iptables, no ip forwarding, no masquerading): containers run
# with `--network none`. Idempotent: `start` on a running engine does nothing.
set -euo pipefail

NGB_ENGINE_DIR="${NGB_ENGINE_DIR:-/run/ngb-docker}"
NGB_ENGINE_DATA="${NGB_ENGINE_DATA:-/var/lib/ngb-docker}"
SOCK="$NGB_ENGINE_DIR/docker.sock"
PIDFILE="$NGB_ENGINE_DIR/dockerd.pid"
LOG="$NGB_ENGINE_DIR/dockerd.log"
export DOCKER_HOST="unix://$SOCK"

log() { echo "engine: $*" >&2; }

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_engine() {
  if command -v dockerd >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "dockerd is missing and apt-get is not available: install a container engine yourself"
    return 1
  fi
  log "installing docker.io with apt (service start blocked)"
  local blocker=/usr/sbin/policy-rc.d created=0
  if [[ ! -e "$blocker" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$blocker"
    chmod 755 "$blocker"
    created=1
  fi
  # shellcheck disable=SC2064
  trap "[[ $created == 1 ]] && rm -f '$blocker'" EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >&2 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >&2; }
  [[ $created == 1 ]] && rm -f "$blocker"
  trap - EXIT
  # A service manager may have started a default daemon anyway: leave it alone, we use our own socket.
}

start() {
  if running_pid >/dev/null && answers; then
    log "already running (pid $(running_pid), $DOCKER_HOST)"
    return 0
  fi
  install_engine
  mkdir -p "$NGB_ENGINE_DIR" "$NGB_ENGINE_DATA"
  local driver="${NGB_ENGINE_STORAGE_DRIVER:-}"
  local args=(
    --data-root "$NGB_ENGINE_DATA"
    --exec-root "$NGB_ENGINE_DIR/exec"
    --pidfile "$PIDFILE"
    -H "unix://$SOCK"
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
    --containerd-namespace ngb --containerd-plugins-namespace ngb-plugins
  )
  [[ -n "$driver" ]] && args+=(--storage-driver "$driver")
  if pid="$(running_pid)"; then
    log "daemon pid $pid exists but does not answer yet"
  else
    rm -f "$PIDFILE" "$SOCK"
    log "starting dockerd ($DOCKER_HOST, log $LOG)"
    setsid nohup dockerd "${args[@]}" >"$LOG" 2>&1 </dev/null &
  fi
  local deadline=$((SECONDS + 30))
  until answers; do
    if ((SECONDS > deadline)); then
      log "dockerd did not answer within 30 s; last log lines:"
      tail -n 20 "$LOG" >&2 || true
      return 1
    fi
    if [[ -z "$driver" ]] && grep -q 'overlay2.*not supported\|driver not supported' "$LOG" 2>/dev/null; then
      log "overlay2 unsupported here, retrying with vfs"
      NGB_ENGINE_STORAGE_DRIVER=vfs start
      return $?
    fi
    sleep 0.2
  done
  log "ready: $(docker version --format 'server {{.Server.Version}}')"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    log "stopping dockerd pid $pid"
    kill "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
  else
    log "not running"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
  if answers; then
    echo "running ($DOCKER_HOST)"
  else
    echo "not running ($DOCKER_HOST)"
    exit 1
  fi
  ;;
env) echo "export DOCKER_HOST=unix://$SOCK" ;;
*)
  echo "usage: $0 start|stop|status|env" >&2
  exit 2
  ;;
esac
