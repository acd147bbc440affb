#!/usr/bin/env bash
# Run every test of Gravity: setup check, unit tests (pallets, runtime), the node build,
# the @polkadot/api end-to-end test against `gravity-node --dev`, and the local network test.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
bash "$HERE/setup.sh"
source "$HERE/env.sh"
cd "$GRAVITY_ROOT"
t0=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - t0 )) s)"; }

step "checks before building: every binary a script, client or test runs is built before it"
node --test tests/checks/

step "explorer: type-check and build (TypeScript, Vite)"
npx --no-install tsc -p clients/explorer
npx --no-install vite build clients/explorer --logLevel error

step "build the workspace: gravity-node (runtime compiled to Wasm), gravity-tasks, tools"
cargo build --release --locked --workspace

step "unit and property tests"
cargo test --release --locked --workspace

step "pallet benchmarks run on the mock runtimes (feature runtime-benchmarks)"
SKIP_WASM_BUILD=1 cargo test --release --locked -p pallet-gravity-providers -p pallet-gravity-market -p pallet-gravity-content -p pallet-gravity-validators \
	--features pallet-gravity-providers/runtime-benchmarks,pallet-gravity-market/runtime-benchmarks,pallet-gravity-content/runtime-benchmarks,pallet-gravity-validators/runtime-benchmarks

step "end-to-end: @polkadot/api against gravity-node --dev"
node --test --test-concurrency=1 tests/e2e/

step "local network: 2 validators + 3 provider full nodes, GRANDPA finality"
GRAVITY_NET_DIR="$(mktemp -d)/net" GRAVITY_P2P_BASE=31333 GRAVITY_RPC_BASE=19944 GRAVITY_PROM_BASE=19615 GRAVITY_DATA_RPC_BASE=19955 \
	bash scripts/local-network.sh --check

step "all tests passed"
