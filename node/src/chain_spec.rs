//! Chain specifications, built from the runtime's genesis presets.

use gravity_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// Specialized `ChainSpec`: no extensions.
pub type ChainSpec = sc_service::GenericChainSpec;

/// The names `--chain` accepts besides a path to a chain-spec JSON file.
pub const KNOWN_CHAINS: &str = "dev, local";

fn properties() -> Properties {
	let mut p = Properties::new();
	p.insert("tokenSymbol".into(), gravity_runtime::TOKEN_SYMBOL.into());
	p.insert("tokenDecimals".into(), gravity_runtime::TOKEN_DECIMALS.into());
	p.insert("ss58Format".into(), gravity_runtime::SS58_PREFIX.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime Wasm was not built into this binary (built with SKIP_WASM_BUILD?): \
		 rebuild with `scripts/build.sh`"
			.to_string()
	})
}

/// `--dev`: a single validator (Alice) that authors and finalizes on its own.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Gravity Development")
		.with_id("gravity_dev")
		.with_protocol_id("grav")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// `--chain local`: validators Alice and Bob.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Gravity Local Testnet")
		.with_id("gravity_local")
		.with_protocol_id("grav")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
