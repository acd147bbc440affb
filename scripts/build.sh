#!/usr/bin/env bash
# Build gravity-node (with its runtime compiled to Wasm) in release mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GRAVITY_ROOT"
if ! command -v cargo >/dev/null; then
	echo "build: cargo not found: run scripts/setup.sh first" >&2; exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32v1-none && [ -z "${WASM_BUILD_TOOLCHAIN:-}" ]; then
	echo "build: no Wasm-capable Rust toolchain (wasm32v1-none): run scripts/setup.sh first" >&2; exit 1
fi
if ! command -v protoc >/dev/null || ! command -v clang >/dev/null; then
	echo "build: missing system packages (protoc / clang): run scripts/setup.sh first" >&2; exit 1
fi
start=$(date +%s)
cargo build --release --locked -p gravity-node
echo "build: gravity-node ready at $GRAVITY_NODE ($(( $(date +%s) - start )) s)"
