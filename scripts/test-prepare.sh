#!/usr/bin/env bash
# Prepares what the test suite uses for real (sourced by scripts/test.sh; runnable on its own):
#   - Debian's chromium, for the dashboard browser test (CHROMIUM_PATH overrides /usr/bin/chromium);
#   - a private Docker engine (scripts/engine.sh) and the ngb-agent image built offline
#     (scripts/agent-image.sh), for the container and end-to-end tests.
# Anything that cannot be prepared is reported on one line. Normally the tests that need it are
# then skipped (with that reason printed); with CI=true or NGB_TEST_REQUIRE=1 it is a failure:
# exit 1 here, and the tests themselves fail instead of skipping (NGB_TEST_REQUIRE=1 is exported).
# Leaves DOCKER_HOST exported when sourced.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
note() { echo "test: $*" >&2; }

if [[ "${CI:-}" == "true" || "${CI:-}" == "1" || "${NGB_TEST_REQUIRE:-}" == "1" ]]; then
  NGB_TEST_REQUIRE=1
else
  NGB_TEST_REQUIRE=0
fi
export NGB_TEST_REQUIRE

# A prerequisite is missing: skip its tests, or fail the run when everything is required.
missing() {
  if [[ $NGB_TEST_REQUIRE == 1 ]]; then
    note "FAILED: $1 (required: CI=true or NGB_TEST_REQUIRE=1)"
    exit 1
  fi
  note "$1: $2 tests will be skipped"
}

can_install=0
[[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1 && can_install=1

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" && $can_install == 1 && -z "${CHROMIUM_PATH:-}" ]]; then
  note "installing chromium (browser tests)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }
fi
[[ -x "$chromium" ]] || missing "no chromium at $chromium and it could not be installed" "browser"

engine_ok=0
if [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null 2>&1 && docker version >/dev/null 2>&1; then
  engine_ok=1
elif [[ $can_install == 1 ]] || command -v dockerd >/dev/null 2>&1; then
  if bash scripts/engine.sh start; then
    eval "$(bash scripts/engine.sh env)"
    engine_ok=1
  else
    missing "could not start a container engine (scripts/engine.sh start failed)" "container"
  fi
else
  missing "no container engine (docker/dockerd) and no way to install one (need root + apt)" "container"
fi

if [[ $engine_ok == 1 ]]; then
  bash scripts/agent-image.sh || missing "the agent image could not be built (scripts/agent-image.sh)" "end-to-end"
fi

# systemd-analyze checks the unit `ngb service install` writes (test/service.test.ts).
if ! command -v systemd-analyze >/dev/null 2>&1 && [[ $can_install == 1 ]]; then
  note "installing systemd (systemd-analyze verify for the service unit)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >/dev/null 2>&1; }
fi
command -v systemd-analyze >/dev/null 2>&1 || missing "no systemd-analyze and it could not be installed" "service-unit"

# A second private engine with its own data root and socket stands in for a remote one
# (test/e2e/remote-engine*.test.ts): agents there reach nothing of this host's file system.
# The agent image is copied into it (docker save | docker load) when its id differs.
if [[ $engine_ok == 1 && "${NGB_TEST_REMOTE:-1}" != "0" ]]; then
  remote_dir="${NGB_TEST_REMOTE_ENGINE_DIR:-/run/ngb-docker-remote}"
  remote_data="${NGB_TEST_REMOTE_ENGINE_DATA:-/var/lib/ngb-docker-remote}"
  if NGB_ENGINE_DIR="$remote_dir" NGB_ENGINE_DATA="$remote_data" bash scripts/engine.sh start >/dev/null 2>&1; then
    remote_host="unix://$remote_dir/docker.sock"
    image="${NGB_TEST_AGENT_IMAGE:-ngb-agent:latest}"
    want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null)
    have=$(DOCKER_HOST="$remote_host" docker image inspect --format '{{.Id}}' "$image" 2>/dev/null)
    if [[ -n "$want" && "$want" != "$have" ]]; then
      note "copying $image to the second engine"
      docker save "$image" | DOCKER_HOST="$remote_host" docker load >/dev/null ||
        missing "could not copy the agent image to the second engine" "remote-engine"
    fi
    export NGB_TEST_REMOTE_DOCKER_HOST="$remote_host"
  else
    missing "could not start a second container engine (scripts/engine.sh with NGB_ENGINE_DIR)" "remote-engine"
  fi
fi
