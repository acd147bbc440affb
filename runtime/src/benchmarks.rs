//! The pallets `gravity-node benchmark pallet` measures (feature `runtime-benchmarks`).

frame_benchmarking::define_benchmarks!(
	[pallet_gravity_providers, Providers]
	[pallet_gravity_market, Market]
	[pallet_gravity_content, Content]
	[pallet_gravity_validators, Validators]
);
