#!/usr/bin/env bash
# Load test of the market against a real node: one `gravity-node --dev` producing blocks, and
# `tests/load/load.mjs` acting as many providers (one account each, no node each) and a
# requester that keeps jobs of 1,024 tasks queued, plus one user transfer per block.
#
#   scripts/load-test.sh                      # 96 providers, 40 measured blocks
#   PROVIDERS=128 BLOCKS=60 scripts/load-test.sh
#
# Prints a line per block and a summary (verified tasks per block, block fullness, the largest
# mandatory weight = on_initialize, whether every block included the transfer); the per-block
# figures go to $OUT (default /tmp/gravity-load.json). Builds nothing: run scripts/build.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=env.sh
source scripts/env.sh
[ -x "$GRAVITY_NODE" ] || { echo "no node binary at $GRAVITY_NODE: run scripts/build.sh first" >&2; exit 1; }
[ -d node_modules/@polkadot/api ] || npm ci --no-audit --no-fund
base="$(mktemp -d /tmp/gravity-load.XXXXXX)"
port="${RPC_PORT:-9955}"
"$GRAVITY_NODE" --dev --base-path "$base" --rpc-port "$port" --port 0 --no-prometheus --no-telemetry \
	--no-mdns --pool-limit 65536 --pool-kbytes 204800 --rpc-max-connections 100 \
	> "$base/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null; rm -rf "$base"' EXIT
for _ in $(seq 1 120); do
	grep -q "Running JSON-RPC server" "$base/node.log" && break
	sleep 0.5
done
node tests/load/load.mjs "ws://127.0.0.1:$port" --providers "${PROVIDERS:-96}" --blocks "${BLOCKS:-40}" \
	--out "${OUT:-/tmp/gravity-load.json}"
