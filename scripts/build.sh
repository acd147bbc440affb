#!/usr/bin/env bash
# Build, in release mode and in one cargo invocation, everything the scripts and clients run:
# gravity-node (with its runtime compiled to Wasm), gravity-tasks (the example task programs the
# demo uploads) and the rest of the workspace. The same `--workspace` selection as
# scripts/test.sh, so the test build reuses every artifact (one feature set, nothing twice).
# tests/checks/scripts-and-clients.test.js fails when a script or client uses a binary not built here.
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
cargo build --release --locked --workspace
echo "build: gravity-node and gravity-tasks ready in $CARGO_TARGET_DIR/release ($(( $(date +%s) - start )) s)"
