#!/usr/bin/env bash
# Generate the Gravity pallets' weights from their benchmarks (frame-benchmarking), on this
# machine, into pallets/*/src/weights.rs.
#
#   scripts/benchmark.sh               # build with runtime-benchmarks, run every pallet
#   STEPS=50 REPEAT=20 scripts/benchmark.sh   # more samples (slower)
#   PALLETS=market scripts/benchmark.sh        # one pallet
#
# The build enables `runtime-benchmarks` (frame-benchmarking-cli and a benchmarking runtime),
# which the default build leaves out. Afterwards `scripts/build.sh` puts the ordinary node binary
# back in place.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=env.sh
source scripts/env.sh
# frame-benchmarking-cli brings a test runtime we do not use; its Wasm build cannot find its
# package in this workspace's metadata, so it is skipped.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1
cargo build --release --workspace --features gravity-node/runtime-benchmarks
node_bin="$CARGO_TARGET_DIR/release/gravity-node"
for pallet in ${PALLETS:-providers market content validators}; do
	echo "== pallet_gravity_$pallet"
	"$node_bin" benchmark pallet --chain dev --pallet "pallet_gravity_$pallet" --extrinsic '*' \
		--steps "${STEPS:-10}" --repeat "${REPEAT:-3}" \
		--template .maintain/frame-weight-template.hbs \
		--output "pallets/$pallet/src/weights.rs" | tee "/tmp/bench-$pallet.txt"
done
