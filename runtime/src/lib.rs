//! # Gravity runtime
//!
//! The FRAME runtime of the Gravity compute network. It is compiled to Wasm (`wasm32v1-none`)
//! by `build.rs`; the node executes that Wasm blob, never a native shortcut.
//!
//! Layout:
//! - [`configs`]: the `Config` of every pallet and the runtime constants;
//! - [`apis`]: the runtime APIs the node, RPC clients and off-chain workers call;
//! - [`genesis_config_presets`]: the `development` and `local_testnet` genesis presets, and the
//!   `testnet` template a public network is made from.
//!
//! Token: **GRAV**, 12 decimals, SS58 prefix [`SS58_PREFIX`].
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`/`runtime` expand to a lot of code.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;

pub mod apis;
pub mod configs;
pub mod equivocation;
pub mod fees;
pub mod genesis_config_presets;
#[cfg(test)]
mod tests;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use frame_support::{construct_runtime, parameter_types};
pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Opaque types: what the node (which does not know the runtime's types) needs to handle blocks.
pub mod opaque {
	use super::*;
	use sp_runtime::{generic, traits::Hash as HashT};

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The session keys of a validator: BABE (block authoring, VRF randomness) and GRANDPA
	/// (finality).
	pub struct SessionKeys {
		pub babe: Babe,
		pub grandpa: Grandpa,
	}
}

/// The runtime version. Bump `spec_version` on every change of runtime logic (and the one of
/// the `next-version` build below with it).
#[cfg(not(feature = "next-version"))]
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("gravity"),
	impl_name: alloc::borrow::Cow::Borrowed("gravity"),
	authoring_version: 1,
	spec_version: 109,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// The same runtime one `spec_version` later (feature `next-version`, built beside the runtime
/// by `build.rs`): the code `tests/e2e/upgrade.test.js` installs with `system.setCode`. The
/// version macro reads literals only, hence the second declaration.
#[cfg(feature = "next-version")]
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("gravity"),
	impl_name: alloc::borrow::Cow::Borrowed("gravity"),
	authoring_version: 1,
	spec_version: 110,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// The SS58 address prefix of Gravity accounts.
pub const SS58_PREFIX: u16 = 7007;
/// Token symbol.
pub const TOKEN_SYMBOL: &str = "GRAV";
/// Token decimals.
pub const TOKEN_DECIMALS: u8 = 12;

/// The metadata version the clients are typed from (`metadata/gravity.scale`, checked against
/// this runtime by a test).
pub const CLIENT_METADATA_VERSION: u32 = 16;

/// Target block time: 6 s, on every network (dev included).
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;
/// BABE slot duration equals the block time.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Session (= BABE epoch) length in slots on the dev and local chains: one minute, so that
/// validators join and leave quickly in tests. The testnet's sessions last ten minutes
/// (`Validators::DefaultSessionLength`). Set in genesis (`validators.sessionLength`).
pub const DEV_SESSION_LENGTH: u64 = 10;

/// BABE: a primary (VRF-won) slot with probability 1/4 per authority, and a *secondary VRF*
/// slot, assigned round-robin, for every slot nobody won. Both kinds carry a VRF output, so
/// every block has fresh randomness that its author cannot choose (`ParentBlockRandomness`).
pub const BABE_GENESIS_EPOCH_CONFIG: sp_consensus_babe::BabeEpochConfiguration =
	sp_consensus_babe::BabeEpochConfiguration {
		c: (1, 4),
		allowed_slots: sp_consensus_babe::AllowedSlots::PrimaryAndSecondaryVRFSlots,
	};

// Time measured in blocks.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
pub const HOURS: BlockNumber = MINUTES * 60;
pub const DAYS: BlockNumber = HOURS * 24;

/// One GRAV: 10^12 plancks.
pub const UNIT: Balance = 1_000_000_000_000;
pub const MILLI_UNIT: Balance = 1_000_000_000;
pub const MICRO_UNIT: Balance = 1_000_000;
/// The existential deposit.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Signature of a transaction.
pub type Signature = MultiSignature;
/// An account id: the public key of the signature scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account (plancks of GRAV).
pub type Balance = u128;
/// Index of a transaction in the chain.
pub type Nonce = u32;
/// A hash of some data used by the chain.
pub type Hash = sp_core::H256;
/// An index to a block.
pub type BlockNumber = u32;
/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A Block signed with a Justification.
pub type SignedBlock = generic::SignedBlock<Block>;
/// BlockId type as expected by this runtime.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions: exactly the standard FRAME set, so @polkadot/api and any
/// other standard client sign for Gravity without custom configuration.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Runtime migrations applied on upgrade. Each is guarded by its pallet's storage version, so a
/// chain started from this runtime's genesis (already at that version) skips it.
type Migrations = (
	// spec 107: `market.ProviderTasks` holds the provider's work log and lifetime totals.
	pallet_gravity_market::migrations::v1::MigrateToV1<Runtime>,
	// spec 108: the market's governed configuration (`market.Configuration`), from the values
	// that were constants before.
	pallet_gravity_market::migrations::v2::MigrateToV2<Runtime, configs::MarketGenesisConfiguration>,
	// spec 109: one `ContentId` type (the protocol crate's); its encoding is unchanged, so no
	// storage moves, only the metadata's type path.
);

/// Executive: handles dispatch to the various pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Babe = pallet_babe;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	// Validators: the registry plans sessions (declared before `Session`, whose genesis asks
	// it for the first set), offences are proven against the historical session roots.
	#[runtime::pallet_index(7)]
	pub type Authorship = pallet_authorship;

	#[runtime::pallet_index(8)]
	pub type Validators = pallet_gravity_validators;

	#[runtime::pallet_index(9)]
	pub type Session = pallet_session;

	#[runtime::pallet_index(10)]
	pub type Historical = pallet_session::historical;

	#[runtime::pallet_index(11)]
	pub type Offences = pallet_offences;


	// The Gravity compute market.
	#[runtime::pallet_index(20)]
	pub type Providers = pallet_gravity_providers;

	#[runtime::pallet_index(21)]
	pub type Market = pallet_gravity_market;

	#[runtime::pallet_index(22)]
	pub type Content = pallet_gravity_content;
}
