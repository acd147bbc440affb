//! Weights of the content store's calls.
//!
//! PROVISIONAL until generated from `benchmarking.rs`: reads/writes counted from the code,
//! ref-time estimated (dominated by hashing and writing `n` bytes).

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// The weight of each call.
pub trait WeightInfo {
	/// `n` bytes.
	fn put(n: u32) -> Weight;
	fn remove() -> Weight;
}

impl WeightInfo for () {
	fn put(n: u32) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(3_000, 1).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(3, 4))
	}
	fn remove() -> Weight {
		Weight::from_parts(40_000_000, 4_000).saturating_add(RocksDbWeight::get().reads_writes(3, 4))
	}
}
