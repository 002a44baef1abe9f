#!/usr/bin/env bash
# The whole test suite, as the README gives it (`npm test`). Prepares what the tests use for real
# (scripts/test-prepare.sh: chromium, a private Docker engine, the agent image), builds the
# compiled binary dist/ngb that the end-to-end tests run (NGB_BIN), then runs `bun test` and the
# agent runner's own unit tests.
#   - Anything that cannot be prepared is reported and its tests are skipped — unless CI=true or
#     NGB_TEST_REQUIRE=1: then the run fails with one line, and so does any test that would skip.
#   - NGB_TEST_PREPARE=0 skips preparation entirely.
#   - Every test gets NGB_TEST_TIMEOUT_MS (default 30 s): bunfig.toml's `timeout` is ignored by
#     this Bun version, so it is passed as --timeout.
# Extra arguments go to `bun test` (e.g. `npm test -- ./src/store`); then the agent runner's
# tests are not run.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
TIMEOUT="${NGB_TEST_TIMEOUT_MS:-30000}"

note() { echo "test: $*" >&2; }

# The agent runner's own dependencies (the Claude Agent SDK): its unit and integration tests
# import them, with or without a container engine. Same pinned versions as its package-lock.json.
if [[ ! -d container/agent-runner/node_modules/@anthropic-ai/claude-agent-sdk ]]; then
  note "installing container/agent-runner dependencies"
  (cd container/agent-runner && bun install --production --frozen-lockfile --no-save >&2) ||
    { note "could not install the agent runner's dependencies"; exit 1; }
fi

if [[ "${NGB_TEST_PREPARE:-1}" != "0" ]]; then
  # shellcheck source=scripts/test-prepare.sh
  source scripts/test-prepare.sh
  note "building dist/ngb"
  bun run build >&2 || { note "build failed"; exit 1; }
  export NGB_BIN="${NGB_BIN:-dist/ngb}"
fi

if [[ $# -gt 0 ]]; then exec bun test --timeout "$TIMEOUT" "$@"; fi
bun test --timeout "$TIMEOUT" || exit $?
# container/** is outside the root's test paths (bunfig.toml): the agent runner's unit tests run
# in its own directory, with its own dependencies and the same preload.
cd container/agent-runner && exec bun test --timeout "$TIMEOUT" --preload ../../test/setup.ts
