//! Builds the runtime to Wasm (`wasm32v1-none`) with substrate-wasm-builder.
//! `SKIP_WASM_BUILD=1` skips it for quick `cargo check` / clippy loops.
//!
//! It builds the runtime twice: as it is (`WASM_BINARY`, what the node's chain specs use), and
//! with the feature `next-version` (the same runtime one `spec_version` later,
//! `gravity_runtime_next.compact.compressed.wasm` beside the first under
//! `<target>/release/wbuild/gravity-runtime/`), which `tests/e2e/upgrade.test.js` installs with
//! `sudo.sudo(system.setCode(..))` on a running network. The second build shares every
//! dependency with the first; only the runtime crate itself is compiled again.
fn main() {
	#[cfg(feature = "std")]
	{
		// The upgrade first, so that the project the wasm builder leaves behind is the runtime's.
		substrate_wasm_builder::WasmBuilder::new()
			.with_current_project()
			.import_memory()
			.export_heap_base()
			.enable_feature("next-version")
			.set_file_name("gravity_runtime_next")
			.build();
		substrate_wasm_builder::WasmBuilder::build_using_defaults();
	}
}
