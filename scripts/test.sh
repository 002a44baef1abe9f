#!/usr/bin/env bash
# The whole test suite, as the README gives it (`npm test`). Prepares what the tests use for real,
# then runs `bun test`:
#   - a private Docker engine (scripts/engine.sh) and the ngb-agent image built offline
#     (scripts/agent-image.sh), for the container and end-to-end tests;
#   - Debian's chromium, for the dashboard browser test;
#   - the compiled binary dist/ngb, which the end-to-end tests run (NGB_BIN).
# Anything that cannot be prepared here (not root, no apt) is reported, and the tests that need it
# are skipped with that reason printed. NGB_TEST_PREPARE=0 skips preparation entirely.
# Extra arguments go to `bun test` (e.g. `npm test -- src/store`).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

note() { echo "test: $*" >&2; }

# The agent runner's own dependencies (the Claude Agent SDK): its unit and integration tests
# import them, with or without a container engine. Same pinned versions as its package-lock.json.
if [[ ! -d container/agent-runner/node_modules/@anthropic-ai/claude-agent-sdk ]]; then
  note "installing container/agent-runner dependencies"
  (cd container/agent-runner && bun install --production --frozen-lockfile --no-save >&2) ||
    { note "could not install the agent runner's dependencies"; exit 1; }
fi

if [[ "${NGB_TEST_PREPARE:-1}" != "0" ]]; then
  can_install=0
  [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1 && can_install=1

  if [[ ! -x /usr/bin/chromium && $can_install == 1 ]]; then
    note "installing chromium (browser tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } ||
      note "could not install chromium: browser tests will be skipped"
  fi

  # systemd-analyze checks the unit `ngb service install` writes (test/service.test.ts fails without it).
  if ! command -v systemd-analyze >/dev/null 2>&1 && [[ $can_install == 1 ]]; then
    note "installing systemd (systemd-analyze verify for the service unit)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >/dev/null 2>&1; } ||
      note "could not install systemd: test/service.test.ts will fail"
  fi

  if [[ -z "${DOCKER_HOST:-}" ]] || ! docker version >/dev/null 2>&1; then
    if [[ $can_install == 1 ]] || command -v dockerd >/dev/null 2>&1; then
      if bash scripts/engine.sh start; then
        eval "$(bash scripts/engine.sh env)"
      else
        note "could not start a container engine: container tests will be skipped"
      fi
    else
      note "no container engine and no way to install one (need root + apt): container tests will be skipped"
    fi
  fi

  if docker version >/dev/null 2>&1 && [[ -f scripts/agent-image.sh ]]; then
    bash scripts/agent-image.sh || note "agent image build failed: end-to-end tests will be skipped"
  fi

  note "building dist/ngb"
  bun run build >&2 || { note "build failed"; exit 1; }
  export NGB_BIN="${NGB_BIN:-dist/ngb}"
fi

exec bun test "$@"
