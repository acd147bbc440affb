//! The metadata the clients are typed from (`metadata/gravity.scale`: the `gravity` CLI's subxt
//! codegen, the explorer) is the built runtime's, byte for byte: read from the runtime Wasm the
//! node runs, through its `Metadata_metadata_at_version` API, as a node answers
//! `state_call`. After a change to any call, event, storage item, constant, type or runtime API,
//! regenerate it with
//!
//! ```text
//! GRAVITY_BLESS_METADATA=1 cargo test --release -p gravity-node --test metadata
//! ```
//!
//! and rebuild the clients.

use sc_executor::WasmExecutor;
use sp_core::traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode};

/// SCALE `Option<Vec<u8>>` → the bytes (a compact length prefix, then the bytes).
fn some_bytes(encoded: &[u8]) -> Vec<u8> {
	assert_eq!(encoded.first(), Some(&1), "the runtime has no metadata v{}", gravity_runtime::CLIENT_METADATA_VERSION);
	let rest = &encoded[1..];
	let (len, skip) = match rest[0] & 0b11 {
		0 => ((rest[0] >> 2) as usize, 1),
		1 => ((u16::from_le_bytes([rest[0], rest[1]]) >> 2) as usize, 2),
		2 => ((u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) >> 2) as usize, 4),
		_ => panic!("metadata longer than 2³⁰ bytes"),
	};
	assert_eq!(rest.len(), skip + len, "malformed Option<Vec<u8>>");
	rest[skip..].to_vec()
}

/// The metadata the runtime Wasm serves at the clients' version.
fn built_metadata() -> Vec<u8> {
	let wasm = gravity_runtime::WASM_BINARY.expect("the runtime Wasm is built (not SKIP_WASM_BUILD)");
	let executor = WasmExecutor::<sp_io::SubstrateHostFunctions>::builder().build();
	let fetch = WrappedRuntimeCode(wasm.into());
	let code = RuntimeCode { code_fetcher: &fetch, heap_pages: None, hash: <sp_core::Blake2Hasher as sp_core::Hasher>::hash(wasm).as_bytes().to_vec() };
	let mut ext = sp_io::TestExternalities::default();
	let mut ext = ext.ext();
	let version = gravity_runtime::CLIENT_METADATA_VERSION.to_le_bytes();
	let (out, _) = executor.call(&mut ext, &code, "Metadata_metadata_at_version", &version, CallContext::Offchain);
	some_bytes(&out.expect("Metadata_metadata_at_version runs"))
}

#[test]
fn the_checked_in_client_metadata_is_the_runtimes() {
	let built = built_metadata();
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata/gravity.scale");
	if std::env::var_os("GRAVITY_BLESS_METADATA").is_some() {
		std::fs::write(&path, &built).expect("write metadata/gravity.scale");
		return
	}
	let checked_in = std::fs::read(&path).unwrap_or_default();
	assert!(
		checked_in == built,
		"metadata/gravity.scale ({} bytes) is not the runtime's metadata ({} bytes): regenerate it with \
		 `GRAVITY_BLESS_METADATA=1 cargo test --release -p gravity-node --test metadata`, then rebuild \
		 the clients (clients/cli is typed from it)",
		checked_in.len(),
		built.len()
	);
	// The prefix every metadata blob starts with ("meta") and the version the clients use.
	assert_eq!(&built[..4], b"meta");
	assert_eq!(u32::from(built[4]), gravity_runtime::CLIENT_METADATA_VERSION);
}
