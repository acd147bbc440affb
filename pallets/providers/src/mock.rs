//! A test runtime for the provider registry.

use crate as pallet_gravity_providers;
use frame_support::{derive_impl, parameter_types, traits::{ConstU32, ConstU64}};
use gravity_primitives::{Arch, Capabilities, DeviceClass};
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type Balance = u64;
pub type AccountId = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Registry: pallet_gravity_providers,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
	pub const MinBond: Balance = 100;
	pub const DecayKeep: Perbill = Perbill::from_percent(50);
	pub const DeclineCost: Perbill = Perbill::from_percent(50);
}

impl pallet_gravity_providers::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = MinBond;
	type UnbondingPeriod = ConstU64<10>;
	type HeartbeatTimeout = ConstU64<50>;
	type DecayPeriod = ConstU64<100>;
	type DecayKeep = DecayKeep;
	type FreeDeclines = frame_support::traits::ConstU32<2>;
	type DeclineCost = DeclineCost;
	type MaxProvidersPerClass = ConstU32<4>;
	type MaxConcurrent = frame_support::traits::ConstU16<8>;
	type Load = TestLoad;
	type WeightInfo = ();
}

pub fn caps(arch: Arch, memory_mib: u32, gpu: bool) -> Capabilities {
	Capabilities {
		device: DeviceClass::Pc,
		arch,
		cores: 8,
		memory_mib,
		gpu_model: if gpu { b"rtx4090".to_vec().try_into().unwrap() } else { Default::default() },
		gpu_score: if gpu { 1000 } else { 0 },
		bandwidth_mbps: 100,
		region: b"EU".to_vec().try_into().unwrap(),
		max_concurrent: 2,
	}
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=20).map(|a| (a, 1_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	// A keystore, as the benchmarking CLI has: the `set_endpoint` benchmark signs with a node key.
	ext.register_extension(sp_keystore::KeystoreExt::new(sp_keystore::testing::MemoryKeystore::new()));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

thread_local! {
	static LOADS: core::cell::RefCell<std::collections::BTreeMap<u64, u32>> = Default::default();
}

/// The market's load count, as the registry reads it: set by the tests.
pub struct TestLoad;
impl TestLoad {
	pub fn set(who: u64, load: u32) {
		LOADS.with(|l| l.borrow_mut().insert(who, load));
	}
}
impl gravity_primitives::ProviderLoad<u64> for TestLoad {
	fn load(who: &u64) -> u32 {
		LOADS.with(|l| l.borrow().get(who).copied().unwrap_or(0))
	}
}
