//! Genesis presets: `development` (one validator, Alice) and `local_testnet` (Alice and Bob),
//! both with one-minute sessions; each genesis validator bonds `MinValidatorBond`; and `testnet`,
//! the template of a public network: ten-minute sessions, no dev accounts, no validators, no
//! providers and no sudo key until `deploy/testnet/make-testnet.mjs` patches in the ones it
//! generates (a genesis without validators cannot start, on purpose).
//! The node builds its chain specs from these presets through the `GenesisBuilder` runtime API.

use crate::{AccountId, BalancesConfig, RuntimeGenesisConfig, SessionKeys, SudoConfig, UNIT};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use gravity_primitives::{Arch, Capabilities, DeviceClass};
use serde_json::Value;
use sp_consensus_babe::AuthorityId as BabeId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Every endowed dev account starts with this many GRAV.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The machine a dev provider declares.
pub fn dev_capabilities() -> Capabilities {
	Capabilities {
		device: DeviceClass::Pc,
		arch: Arch::X86_64,
		cores: 2,
		memory_mib: 4096,
		gpu_model: Default::default(),
		gpu_score: 0,
		bandwidth_mbps: 1000,
		region: b"local".to_vec().try_into().expect("5 bytes fit"),
		max_concurrent: 8,
	}
}

/// Charlie, Dave and Eve are providers on the dev and local chains (run their nodes with
/// `--provider //Charlie` etc.).
pub fn dev_providers() -> Vec<Sr25519Keyring> {
	vec![Sr25519Keyring::Charlie, Sr25519Keyring::Dave, Sr25519Keyring::Eve]
}

fn testnet_genesis(
	initial_authorities: Vec<(AccountId, BabeId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	let initial_providers: Vec<(AccountId, Capabilities, u128)> = dev_providers()
		.into_iter()
		.map(|k| (k.to_account_id(), dev_capabilities(), 1_000 * UNIT))
		.collect();
	build_struct_json_patch!(RuntimeGenesisConfig {
		providers: pallet_gravity_providers::GenesisConfig { providers: initial_providers },
		balances: BalancesConfig {
			// The treasury starts with the existential deposit, so that any fee or slash,
			// however small, can be paid to it.
			balances: endowed_accounts
				.iter()
				.cloned()
				.map(|k| (k, ENDOWMENT))
				.chain([(crate::configs::GravityTreasury::get(), crate::EXISTENTIAL_DEPOSIT)])
				.collect::<Vec<_>>(),
		},
		// BABE and GRANDPA get their authorities from the session pallet's first set.
		babe: pallet_babe::GenesisConfig { epoch_config: crate::BABE_GENESIS_EPOCH_CONFIG },
		validators: pallet_gravity_validators::GenesisConfig {
			validators: initial_authorities
				.iter()
				.map(|x| (x.0.clone(), crate::configs::MinValidatorBond::get()))
				.collect::<Vec<_>>(),
			session_length: crate::DEV_SESSION_LENGTH,
		},
		session: pallet_session::GenesisConfig {
			keys: initial_authorities
				.iter()
				.map(|x| {
					(x.0.clone(), x.0.clone(), SessionKeys { babe: x.1.clone(), grandpa: x.2.clone() })
				})
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		market: pallet_gravity_market::GenesisConfig { configuration: crate::configs::market_configuration() },
	})
}

/// A well-known account and its dev session keys: sr25519 for BABE, ed25519 for GRANDPA
/// (the keys `--alice`, `--bob`, … insert into a node's keystore).
fn authority(sr: Sr25519Keyring, ed: Ed25519Keyring) -> (AccountId, BabeId, GrandpaId) {
	(sr.to_account_id(), sr.public().into(), ed.public().into())
}

/// `development`: Alice alone authors and finalizes.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		Sr25519Keyring::iter().map(|k| k.to_account_id()).collect(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `local_testnet`: Alice and Bob are validators.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			authority(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		Sr25519Keyring::iter().map(|k| k.to_account_id()).collect(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The name of the public-testnet template preset.
pub const TESTNET_PRESET: &str = "testnet";

/// `testnet`: what every public Gravity network shares before its own keys are patched in.
/// Sessions are the runtime's default length; the treasury holds the existential deposit so
/// that any fee or slash can be paid to it; nothing else is endowed.
pub fn testnet_template_genesis() -> Value {
	use frame_support::traits::Get;
	let session_length =
		<<crate::Runtime as pallet_gravity_validators::Config>::DefaultSessionLength as Get<u64>>::get();
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: vec![(crate::configs::GravityTreasury::get(), crate::EXISTENTIAL_DEPOSIT)],
		},
		babe: pallet_babe::GenesisConfig { epoch_config: crate::BABE_GENESIS_EPOCH_CONFIG },
		validators: pallet_gravity_validators::GenesisConfig {
			validators: Vec::new(),
			session_length,
		},
		market: pallet_gravity_market::GenesisConfig { configuration: crate::configs::market_configuration() },
	})
}

/// Provides the JSON representation of a predefined genesis config for the given `id`.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		TESTNET_PRESET => testnet_template_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
		PresetId::from(TESTNET_PRESET),
	]
}
