//! A test runtime: balances, the real provider registry, the market.

use crate as pallet_gravity_market;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU16, ConstU32, ConstU64, Randomness},
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{Arch, Capabilities, DeviceClass, Requirements};
use sp_core::H256;
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type Balance = u64;
pub type AccountId = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Providers: pallet_gravity_providers,
		Content: pallet_gravity_content,
		Market: pallet_gravity_market,
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
	pub const MinBond: Balance = 1_000;
	pub const DecayKeep: Perbill = Perbill::from_percent(95);
	pub const DeclineCost: Perbill = Perbill::from_percent(50);
	pub const TrustedReputation: Perbill = Perbill::from_percent(90);
	pub const MaxRequiredReputation: Perbill = Perbill::from_percent(95);
	pub const Treasury: AccountId = TREASURY;
	/// One full reputation success per 3_000 of value (a full task at the tests' prices).
	pub static ReputationUnit: Balance = 3_000;
	pub static TickShare: Perbill = Perbill::from_percent(50);
}

impl pallet_gravity_content::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MaxBlobSize = ConstU32<1024>;
	type DepositBase = ConstU64<10>;
	type DepositPerByte = ConstU64<1>;
	type WeightInfo = ();
}

impl pallet_gravity_providers::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = MinBond;
	type UnbondingPeriod = ConstU64<10>;
	type HeartbeatTimeout = ConstU64<1_000>;
	type DecayPeriod = ConstU64<1_000>;
	type DecayKeep = DecayKeep;
	type FreeDeclines = frame_support::traits::ConstU32<2>;
	type DeclineCost = DeclineCost;
	type MaxProvidersPerClass = ConstU32<10_000>;
	type MaxConcurrent = ConstU16<16>;
	type Load = Market;
	type WeightInfo = ();
}

/// Deterministic "randomness" for tests: a hash of the subject and the block number.
pub struct TestRandomness;
impl Randomness<H256, BlockNumberFor<Test>> for TestRandomness {
	fn random(subject: &[u8]) -> (H256, BlockNumberFor<Test>) {
		let n = System::block_number();
		(H256(sp_io::hashing::blake2_256(&(subject, n).encode())), n)
	}
}
use codec::Encode;

impl pallet_gravity_market::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = Providers;
	type Content = Content;
	type Randomness = TestRandomness;
	type MaxTasksPerJob = ConstU32<64>;
	type MaxReducers = ConstU32<4>;
	type MaxReplicas = ConstU32<5>;
	type MaxTasksPerProvider = ConstU32<16>;
	type MaxJobDuration = ConstU64<MAX_JOB_DURATION>;
	type TickShare = TickShare;
	type MaxContentLength = ConstU64<MAX_CONTENT_LENGTH>;
	type MaxAssignmentsPerBlock = ConstU32<50>;
	type AssignmentTries = ConstU32<8>;
	type MaxDeadlinesPerBlock = ConstU32<64>;
	type MaxBatchActions = ConstU32<16>;
	type MaxQueueLen = ConstU32<1_000>;
	type MaxFuelCap = ConstU64<MAX_FUEL_CAP>;
	type MaxRequiredReputation = MaxRequiredReputation;
	type Payout = pallet_gravity_market::policy::FeeAndValueCredit<
		pallet_gravity_market::ConfiguredProtocolFee<Test>,
		ReputationUnit,
		Treasury,
	>;
	type Penalty = pallet_gravity_market::policy::SlashTo<pallet_gravity_market::ConfiguredSlashFraction<Test>, Treasury>;
	type Trust = pallet_gravity_market::policy::SpotCheckedTrust<
		TrustedReputation,
		ConstU32<5>,
		pallet_gravity_market::ConfiguredSpotCheckRate<Test>,
	>;
	type Candidates = ();
	type AdminOrigin = frame_system::EnsureRoot<AccountId>;
	type WeightInfo = ();
}

pub const REQUESTER: AccountId = 100;
/// Receives slashed bonds.
pub const TREASURY: AccountId = 999;
pub const MAX_FUEL_CAP: u64 = 1_000_000;
pub const MAX_CONTENT_LENGTH: u64 = 1 << 36;
pub const MAX_JOB_DURATION: u64 = 100_000;
pub const QUEUE_DEPOSIT: Balance = 7;

/// The tests' market configuration: commit 5, reveal 3, delivery 3 blocks; 20 blocks of
/// placement wait, 3 fruitless placement tries; no protocol fee and no spot checks unless a
/// test sets them (`set_protocol_fee`, `set_spot_check_rate`); 10 % slashed.
pub fn test_configuration() -> pallet_gravity_market::ConfigRecordOf<Test> {
	pallet_gravity_market::ConfigRecord {
		windows: pallet_gravity_market::Windows { commit: 5, reveal: 3, delivery: 3 },
		max_placement_wait: 20,
		max_deferrals: 3,
		queue_deposit: QUEUE_DEPOSIT,
		protocol_fee: Perbill::zero(),
		spot_check_rate: Perbill::zero(),
		slash_fraction: Perbill::from_percent(10),
		max_fuel_cap: MAX_FUEL_CAP,
	}
}

/// Change the configuration in force (as `configure` would, without its checks).
pub fn set_configuration(f: impl FnOnce(&mut pallet_gravity_market::ConfigRecordOf<Test>)) {
	pallet_gravity_market::Configuration::<Test>::mutate(f);
}

pub fn set_spot_check_rate(rate: Perbill) {
	set_configuration(|c| c.spot_check_rate = rate);
}

pub fn set_protocol_fee(fee: Perbill) {
	set_configuration(|c| c.protocol_fee = fee);
}
/// The one `[b; 32]`-rooted content id the mock's content store does not hold.
pub const MISSING_BYTE: u8 = 0xCC;
pub const OTHER: AccountId = 101;
pub const INITIAL: Balance = 1_000_000_000;

pub fn caps() -> Capabilities {
	Capabilities {
		device: DeviceClass::Server,
		arch: Arch::X86_64,
		cores: 16,
		memory_mib: 16 * 1024,
		gpu_model: Default::default(),
		gpu_score: 0,
		bandwidth_mbps: 1000,
		region: b"EU".to_vec().try_into().unwrap(),
		max_concurrent: 16,
	}
}

pub fn any_req() -> Requirements {
	Requirements { arch: Arch::Any, min_memory_mib: 0, gpu: false, min_reputation: Perbill::zero() }
}

/// Accounts 1..=n are funded; `providers` of them register.
pub fn new_test_ext(providers: u64) -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances: Vec<(AccountId, Balance)> = (1..=20).map(|a| (a, INITIAL)).collect();
	balances.push((TREASURY, 1));
	balances.push((REQUESTER, INITIAL));
	balances.push((OTHER, INITIAL));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut t)
		.unwrap();
	pallet_gravity_market::GenesisConfig::<Test> { configuration: test_configuration() }
		.assimilate_storage(&mut t)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| {
		System::set_block_number(1);
		// Every id rooted at `[b; 32]` is a stored blob, except `MISSING_BYTE`.
		for b in 0..=255u8 {
			if b != MISSING_BYTE {
				let blob = frame_support::BoundedVec::truncate_from(vec![b; 4]);
				let id = gravity_primitives::ContentId { root: [b; 32], length: 4 };
				pallet_gravity_content::Blobs::<Test>::insert(id, blob);
			}
		}
		for p in 1..=providers {
			pallet_gravity_providers::Pallet::<Test>::register(
				RuntimeOrigin::signed(p),
				caps(),
				10_000,
			)
			.unwrap();
		}
	});
	ext
}

/// Advance to block `n`, running the market's `on_finalize` for the block that ends and its
/// `on_initialize` at each new block (the block's weight record starts empty, as in a real block).
pub fn run_to(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		Market::on_finalize(System::block_number());
		frame_system::BlockWeight::<Test>::kill();
		let b = System::block_number() + 1;
		System::set_block_number(b);
		Market::on_initialize(b);
	}
}

/// Fill the current block's weight as a block filler would (its `on_finalize` records it as
/// crowded).
pub fn fill_block() {
	let max = <<Test as frame_system::Config>::BlockWeights as frame_support::traits::Get<frame_system::limits::BlockWeights>>::get().max_block;
	System::register_extra_weight_unchecked(max, frame_support::dispatch::DispatchClass::Normal);
}
