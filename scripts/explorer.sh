#!/usr/bin/env bash
# Build and serve Gravity's explorer (clients/explorer): a static web app that talks to a
# node's RPC. Arguments go to clients/explorer/serve.mjs:
#   scripts/explorer.sh [--port 8080] [--rpc ws://127.0.0.1:9944] [--data-rpc ws://127.0.0.1:9955] [--reverify]
# --data-rpc lets the page show job outputs (render tiles) read through that node's data RPC;
# --reverify lets it re-execute a verified task with the `gravity` CLI (built by scripts/build.sh).
# Both are off unless given, and answer only this loopback origin.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GRAVITY_ROOT"
[ -d node_modules/vite ] || bash scripts/setup.sh
# Built when missing or older than its sources (so a second explorer never rebuilds under a
# running one).
if [ ! -f clients/explorer/dist/index.html ] || [ -n "$(find clients/explorer/src clients/explorer/index.html clients/explorer/vite.config.ts clients/js/protocol.mjs package-lock.json -newer clients/explorer/dist/index.html -print -quit)" ]; then
	npx --no-install vite build clients/explorer --logLevel error
fi
exec node clients/explorer/serve.mjs --gravity "$CARGO_TARGET_DIR/release/gravity" "$@"
