//! Builds the runtime to Wasm (`wasm32v1-none`) with substrate-wasm-builder.
//! `SKIP_WASM_BUILD=1` skips it for quick `cargo check` / clippy loops.
fn main() {
	#[cfg(feature = "std")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
