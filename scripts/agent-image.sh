#!/usr/bin/env bash
# Build the agent image offline (no registry): imported base from local files, npm ci of the
# runner's dependencies, bundled runner, `docker build`. Steps already up to date are skipped.
# Extra arguments go to `ngb image build` (e.g. --force, --json, --image <tag>).
# Needs a running engine: `eval "$(scripts/engine.sh env)"` after `scripts/engine.sh start`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUN="${BUN:-node_modules/.bin/bun}"
[[ -x "$BUN" ]] || BUN="$(command -v bun)"
exec "$BUN" src/main.ts image build --offline "$@"
