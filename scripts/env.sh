# Sourced by the other scripts: one persistent cargo target dir and the Wasm toolchain.
# shellcheck shell=bash
GRAVITY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GRAVITY_ROOT
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
	if [ -n "${CI:-}" ] || [ -d /var/tmp/gravity-target ]; then
		export CARGO_TARGET_DIR=/var/tmp/gravity-target
	else
		export CARGO_TARGET_DIR="$GRAVITY_ROOT/target"
	fi
fi
if [ -z "${WASM_BUILD_TOOLCHAIN:-}" ] && [ -s "$GRAVITY_ROOT/.wasm-toolchain" ]; then
	tc="$(tr -d '[:space:]' < "$GRAVITY_ROOT/.wasm-toolchain")"
	[ -n "$tc" ] && export WASM_BUILD_TOOLCHAIN="$tc"
fi
# An empty WASM_BUILD_TOOLCHAIN would name no toolchain at all.
[ -n "${WASM_BUILD_TOOLCHAIN:-}" ] || unset WASM_BUILD_TOOLCHAIN
# The runtime's Wasm build must find this workspace's Cargo.lock (the target dir may be elsewhere).
export WASM_BUILD_WORKSPACE_HINT="$GRAVITY_ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
GRAVITY_NODE="$CARGO_TARGET_DIR/release/gravity-node"
export GRAVITY_NODE
