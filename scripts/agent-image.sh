#!/usr/bin/env bash
# Build the agent image offline (no registry): imported base from local files, npm ci of the
# runner's dependencies, bundled runner, `docker build`. Steps already up to date are skipped.
# Extra arguments go to `ngb image build` (e.g. --force, --json, --image <tag>).
# Needs a running engine: `scripts/engine.sh start && eval "$(scripts/engine.sh env)"`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUN="${BUN:-node_modules/.bin/bun}"
[[ -x "$BUN" ]] || BUN="$(command -v bun)"

# The offline base takes its shell tools from busybox-static; install it when we can.
if ! command -v busybox >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "agent-image: installing busybox-static" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >&2; }
fi

exec "$BUN" src/main.ts image build --offline "$@"
