//! Chain specifications, built from the runtime's genesis presets.

use gravity_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// Specialized `ChainSpec`: no extensions.
pub type ChainSpec = sc_service::GenericChainSpec;

/// The names `--chain` accepts besides a path to a chain-spec JSON file.
pub const KNOWN_CHAINS: &str = "dev, local, testnet-template";

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
///
/// Its genesis state is built up front through the runtime's `GenesisBuilder` API (preset
/// `development`), executed natively from the same runtime crate the Wasm is built from, and
/// handed to the node as a raw chain spec: a dev node then starts without first compiling the Wasm
/// runtime just to build genesis (≈ 3 s on 2 cores), so its first block comes within one slot.
/// Blocks are still executed by the on-chain Wasm (`:code`).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	raw_from_preset(
		"Gravity Development",
		"gravity_dev",
		"Development",
		sp_genesis_builder::DEV_RUNTIME_PRESET,
	)
}

fn raw_from_preset(name: &str, id: &str, chain_type: &str, preset: &str) -> Result<ChainSpec, String> {
	use gravity_runtime::{Block, Runtime};
	use sp_genesis_builder::runtime_decl_for_genesis_builder::GenesisBuilderV1;

	let code = wasm()?;
	let bytes = |v: Option<Vec<u8>>, what: &str| -> Result<serde_json::Value, String> {
		let v = v.ok_or_else(|| format!("the runtime has no genesis preset {what}"))?;
		serde_json::from_slice(&v).map_err(|e| format!("genesis preset {what}: {e}"))
	};
	let mut config = bytes(<Runtime as GenesisBuilderV1<Block>>::get_preset(&None), "(default)")?;
	let patch = bytes(<Runtime as GenesisBuilderV1<Block>>::get_preset(&Some(preset.into())), preset)?;
	sc_chain_spec::json_merge(&mut config, patch);
	let mut ext = sp_state_machine::BasicExternalities::default();
	ext.execute_with(|| <Runtime as GenesisBuilderV1<Block>>::build_state(config.to_string().into_bytes()))
		.map_err(|e| format!("building the {preset} genesis state: {e}"))?;
	let mut storage = ext.into_storages();
	storage.top.insert(sp_core::storage::well_known_keys::CODE.to_vec(), code.to_vec());
	let hex = |b: &[u8]| format!("0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
	let top: serde_json::Map<String, serde_json::Value> =
		storage.top.iter().map(|(k, v)| (hex(k), serde_json::Value::String(hex(v)))).collect();
	let spec = serde_json::json!({
		"name": name,
		"id": id,
		"chainType": chain_type,
		"bootNodes": [],
		"telemetryEndpoints": null,
		"protocolId": "grav",
		"properties": properties(),
		"codeSubstitutes": {},
		"genesis": { "raw": { "top": top, "childrenDefault": {} } },
	});
	ChainSpec::from_json_bytes(spec.to_string().into_bytes())
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

/// `--chain testnet-template`: the plain spec a public testnet is made from (ten-minute
/// sessions, no validators yet). It cannot start as it is: `deploy/testnet/make-testnet.mjs`
/// exports it, patches in the validators, providers, sudo key and boot nodes it generates, and
/// converts it to the raw spec the network's nodes share.
pub fn testnet_template_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Gravity Testnet")
		.with_id("gravity_testnet")
		.with_protocol_id("grav")
		.with_chain_type(ChainType::Live)
		.with_genesis_config_preset_name(gravity_runtime::genesis_config_presets::TESTNET_PRESET)
		.with_properties(properties())
		.build())
}
