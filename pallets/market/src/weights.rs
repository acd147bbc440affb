//! Weights of the market's calls and of its per-block work.
//!
//! PROVISIONAL until generated from `benchmarking.rs` (see the pallet README, "Weights"):
//! storage reads and writes are counted from the code, ref-time figures are estimates.

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// The weight of each call and of each unit of `on_initialize` work.
pub trait WeightInfo {
	/// `i` inputs, `t` first-stage tasks.
	fn submit_job(i: u32, t: u32) -> Weight;
	fn cancel_job() -> Weight;
	/// A commit that does not open the reveal phase.
	fn commit() -> Weight;
	/// The last commit of a task: opens the reveal phase.
	fn commit_last() -> Weight;
	/// A reveal (the last one also schedules settlement for the next block).
	fn reveal() -> Weight;
	/// Fixed cost of `on_initialize`.
	fn tick_base() -> Weight;
	/// One job deadline.
	fn tick_job_deadline() -> Weight;
	/// One task deadline (worst case: settling a task with `MaxReplicas` replicas paid or
	/// slashed, ending the map stage and scheduling `MaxReducers` reduce tasks).
	fn tick_task_deadline() -> Weight;
	/// One assignment attempt with `p` registered providers (worst case: every candidate class
	/// and try examined); the benchmark shows the cost does not depend on `p`.
	fn tick_assign(p: u32) -> Weight;
}

impl WeightInfo for () {
	fn submit_job(i: u32, t: u32) -> Weight {
		Weight::from_parts(80_000_000, 8_000)
			.saturating_add(Weight::from_parts(200_000, 0).saturating_mul(i.into()))
			.saturating_add(Weight::from_parts(4_000_000, 600).saturating_mul(t.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(6, 8))
			.saturating_add(RocksDbWeight::get().writes(3).saturating_mul(t.into()))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(60_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn commit() -> Weight {
		Weight::from_parts(40_000_000, 8_000).saturating_add(RocksDbWeight::get().reads_writes(3, 2))
	}
	fn commit_last() -> Weight {
		Weight::from_parts(50_000_000, 8_000).saturating_add(RocksDbWeight::get().reads_writes(4, 3))
	}
	fn reveal() -> Weight {
		Weight::from_parts(45_000_000, 8_000).saturating_add(RocksDbWeight::get().reads_writes(3, 2))
	}
	fn tick_base() -> Weight {
		Weight::from_parts(5_000_000, 1_000).saturating_add(RocksDbWeight::get().reads_writes(4, 3))
	}
	fn tick_job_deadline() -> Weight {
		Weight::from_parts(60_000_000, 6_000).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn tick_task_deadline() -> Weight {
		Weight::from_parts(400_000_000, 40_000).saturating_add(RocksDbWeight::get().reads_writes(60, 60))
	}
	fn tick_assign(_p: u32) -> Weight {
		Weight::from_parts(150_000_000, 20_000).saturating_add(RocksDbWeight::get().reads_writes(80, 6))
	}
}
