//! Weights for `pallet_gravity_validators`.
//!
//! NOT YET MEASURED: these are the storage accesses of each call (counted from the code and
//! checked by the benchmarks in `benchmarking.rs`, which run as unit tests) plus a 50 µs
//! allowance for computation, about twice what the measured calls of `pallet_gravity_providers`
//! of the same shape take. `scripts/benchmark.sh` (with `PALLETS=validators`) replaces this
//! file with measured figures.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_gravity_validators`.
pub trait WeightInfo {
	fn register() -> Weight;
	fn withdraw_candidacy() -> Weight;
	fn admit() -> Weight;
	fn reject() -> Weight;
	fn leave() -> Weight;
	fn withdraw_bond() -> Weight;
}

const COMPUTE: u64 = 50_000_000;
/// The largest `Validators`/`Candidates` list read and written (proof size).
const LISTS: u64 = 4_000;

/// Weights for `pallet_gravity_validators` using the Gravity node.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Members r/w, Session::NextKeys r, Candidates r/w, CurrentSession r, Holds r/w, Account r/w.
	fn register() -> Weight {
		Weight::from_parts(COMPUTE, LISTS).saturating_add(T::DbWeight::get().reads_writes(6, 4))
	}
	/// Members r/w, Candidates r/w, Holds r/w, Account r/w.
	fn withdraw_candidacy() -> Weight {
		Weight::from_parts(COMPUTE, LISTS).saturating_add(T::DbWeight::get().reads_writes(4, 4))
	}
	/// Members r/w, Session::NextKeys r, Validators r/w, SetChanged w, Candidates r/w, CurrentSession r.
	fn admit() -> Weight {
		Weight::from_parts(COMPUTE, 2 * LISTS).saturating_add(T::DbWeight::get().reads_writes(5, 4))
	}
	fn reject() -> Weight {
		Self::withdraw_candidacy()
	}
	/// Members r/w, Validators r/w, SetChanged w, CurrentSession r.
	fn leave() -> Weight {
		Weight::from_parts(COMPUTE, LISTS).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	/// Members r/w, CurrentSession r, Holds r/w, Account r/w.
	fn withdraw_bond() -> Weight {
		Weight::from_parts(COMPUTE, 0).saturating_add(T::DbWeight::get().reads_writes(4, 3))
	}
}

// For tests.
impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(COMPUTE, LISTS).saturating_add(RocksDbWeight::get().reads_writes(6, 4))
	}
	fn withdraw_candidacy() -> Weight {
		Weight::from_parts(COMPUTE, LISTS).saturating_add(RocksDbWeight::get().reads_writes(4, 4))
	}
	fn admit() -> Weight {
		Weight::from_parts(COMPUTE, 2 * LISTS).saturating_add(RocksDbWeight::get().reads_writes(5, 4))
	}
	fn reject() -> Weight {
		Self::withdraw_candidacy()
	}
	fn leave() -> Weight {
		Weight::from_parts(COMPUTE, LISTS).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn withdraw_bond() -> Weight {
		Weight::from_parts(COMPUTE, 0).saturating_add(RocksDbWeight::get().reads_writes(4, 3))
	}
}
