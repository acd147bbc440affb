#!/usr/bin/env bash
# Gravity: install everything a clean Debian machine needs to build and test the project.
#   system packages, a Wasm-capable Rust toolchain for the runtime, Node.js deps for the e2e test.
# Idempotent: a second run only checks and takes seconds.
set -euo pipefail

die() { echo "setup: $*" >&2; exit 1; }
say() { echo "setup: $*"; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || die "not root and no sudo: run this script as root (it installs Debian packages)"
	SUDO="sudo"
fi

# ---------- 1. system packages ----------
# chromium: the explorer's browser tests (driven by playwright-core; never a downloaded browser).
PKGS=(clang libclang-dev protobuf-compiler pkg-config libssl-dev make git curl nodejs npm chromium)
OFFLINE_RUST_PKGS=(rustc-web cargo-web rust-web-src lld-22)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# node/npm may come from elsewhere (nvm, nodesource): accept any working binaries.
if command -v node >/dev/null && command -v npm >/dev/null; then
	missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
filtered=(); for p in "${missing[@]}"; do [ -n "$p" ] && filtered+=("$p"); done; missing=("${filtered[@]+"${filtered[@]}"}")
if [ "${#missing[@]}" -gt 0 ]; then
	say "installing system packages: ${missing[*]}"
	$SUDO apt-get update -qq || die "apt-get update failed: check the network / Debian mirrors"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
		|| die "apt-get install ${missing[*]} failed"
fi

# ---------- 2. Rust with a wasm32v1-none target ----------
command -v cargo >/dev/null || die "no cargo on PATH: install Rust with rustup (https://rustup.rs) and rerun"

if rustup target list --installed 2>/dev/null | grep -qx wasm32v1-none; then
	say "rustup toolchain already has wasm32v1-none"
	rm -f "$ROOT/.wasm-toolchain"
	exit_rust=done
elif [ -f /usr/lib/rustlib/wasm32v1-none/lib/.gravity-sysroot-ok ] && rustup toolchain list | grep -q '^gravity-wasm'; then
	say "Debian wasm toolchain 'gravity-wasm' already prepared"
	exit_rust=done
else
	exit_rust=""
fi

if [ -z "$exit_rust" ]; then
	# Try rustup first, bounded: offline it hangs on "downloading component rust-std".
	if timeout 60 rustup target add wasm32v1-none >/dev/null 2>&1; then
		say "installed wasm32v1-none with rustup"
	else
		say "rustup cannot download wasm32v1-none here; building the Debian rustc-web toolchain (see shared/TOOLCHAIN.md)"
		need=()
		for p in "${OFFLINE_RUST_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
		if [ "${#need[@]}" -gt 0 ]; then
			$SUDO apt-get update -qq || die "apt-get update failed"
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
				|| die "apt-get install ${need[*]} failed: a Wasm-capable Rust toolchain is required"
		fi
		[ -x /usr/bin/rustc ] && [ -x /usr/lib/llvm-22/bin/wasm-ld ] || die "rustc-web / lld-22 not found after install"
		tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
		mkdir -p "$tmp/sysroot/src"
		cat > "$tmp/sysroot/Cargo.toml" <<'TOML'
[package]
name = "sysroot-builder"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"
[profile.release]
panic = "abort"
TOML
		printf '#![no_std]\n#[panic_handler]\nfn p(_: &core::panic::PanicInfo) -> ! { loop {} }\n' > "$tmp/sysroot/src/lib.rs"
		( cd "$tmp/sysroot" && CARGO_TARGET_DIR="$tmp/target" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
			RUSTFLAGS="-C embed-bitcode=yes" CARGO_TARGET_WASM32V1_NONE_LINKER=/usr/lib/llvm-22/bin/wasm-ld \
			/usr/bin/cargo build -q --release -Zbuild-std=core,alloc --target wasm32v1-none ) \
			|| die "building core/alloc for wasm32v1-none failed"
		$SUDO mkdir -p /usr/lib/rustlib/wasm32v1-none/lib
		$SUDO rm -f /usr/lib/rustlib/wasm32v1-none/lib/lib{core,alloc,compiler_builtins}-*.rlib
		for c in core alloc compiler_builtins; do
			$SUDO cp "$tmp"/target/wasm32v1-none/release/deps/lib${c}-*.rlib /usr/lib/rustlib/wasm32v1-none/lib/
		done
		$SUDO mkdir -p /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin
		$SUDO ln -sf /usr/lib/llvm-22/bin/lld /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
		rustup toolchain link gravity-wasm /usr >/dev/null
		$SUDO touch /usr/lib/rustlib/wasm32v1-none/lib/.gravity-sysroot-ok
		# Runtime crates built against an older sysroot would not link: drop the inner Wasm target dir.
		rm -rf "${CARGO_TARGET_DIR:-$ROOT/target}/release/wbuild/gravity-runtime/target" 2>/dev/null || true
		say "toolchain 'gravity-wasm' ready (rustc $(/usr/bin/rustc --version | cut -d' ' -f2))"
	fi
fi
if rustup toolchain list | grep -q '^gravity-wasm' && ! rustup target list --installed 2>/dev/null | grep -qx wasm32v1-none; then
	echo "gravity-wasm" > "$ROOT/.wasm-toolchain"
fi

# ---------- 3. Node.js packages (polkadot.js client, e2e tests, the explorer's build and browser tests) ----------
npm_missing=""
for m in @polkadot/api vite typescript playwright-core ws pngjs; do
	[ -d "$ROOT/node_modules/$m" ] || npm_missing="$npm_missing $m"
done
if [ -n "$npm_missing" ]; then
	say "installing npm packages (missing:$npm_missing)"
	( cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error ) || die "npm ci failed: check access to the npm registry"
fi
say "all set"
