//! Weights of the provider registry's calls.
//!
//! PROVISIONAL: these figures are not yet generated from a benchmark run (see the pallet
//! README, "Weights"). Each call's storage reads and writes are counted from the code; the
//! ref-time figures are conservative upper estimates.

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// The weight of each call.
pub trait WeightInfo {
	fn register() -> Weight;
	fn update_capabilities() -> Weight;
	fn heartbeat() -> Weight;
	fn go_offline() -> Weight;
	fn deregister() -> Weight;
	fn withdraw_bond() -> Weight;
}

impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(60_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(5, 6))
	}
	fn update_capabilities() -> Weight {
		Weight::from_parts(45_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(5, 6))
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(25_000_000, 4_000).saturating_add(RocksDbWeight::get().reads_writes(2, 3))
	}
	fn go_offline() -> Weight {
		Weight::from_parts(30_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(4, 4))
	}
	fn deregister() -> Weight {
		Weight::from_parts(30_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(4, 4))
	}
	fn withdraw_bond() -> Weight {
		Weight::from_parts(50_000_000, 4_000).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
}
