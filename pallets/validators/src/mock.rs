//! A test runtime with the real session, historical and offences pallets around the registry.

use crate::{self as pallet_gravity_validators, AlwaysIdentified};
use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64, Hooks},
};
use sp_core::crypto::key_types::DUMMY;
use sp_runtime::{
	impl_opaque_keys,
	testing::{TestSignature, UintAuthorityId},
	traits::OpaqueKeys,
	BuildStorage, KeyTypeId, Perbill,
};
use sp_staking::{
	offence::{Kind, Offence},
	SessionIndex,
};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Validators: pallet_gravity_validators,
		Session: pallet_session,
		Historical: pallet_session::historical,
		Offences: pallet_offences,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

impl_opaque_keys! {
	pub struct MockKeys {
		pub dummy: UintAuthorityId,
	}
}

/// The session keys of validator `id`, and the proof that account `owner` holds them.
pub fn keys(id: u64) -> MockKeys {
	MockKeys { dummy: UintAuthorityId(id) }
}
pub fn proof(id: u64, owner: u64) -> Vec<u8> {
	TestSignature(id, owner.encode()).encode()
}

pub struct TestSessionHandler;
impl pallet_session::SessionHandler<u64> for TestSessionHandler {
	const KEY_TYPE_IDS: &'static [KeyTypeId] = &[DUMMY];
	fn on_genesis_session<K: OpaqueKeys>(_: &[(u64, K)]) {}
	fn on_new_session<K: OpaqueKeys>(_: bool, _: &[(u64, K)], _: &[(u64, K)]) {}
	fn on_disabled(_: u32) {}
}

/// Blocks per session in the mock.
pub const SESSION: u64 = 10;

impl pallet_session::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = u64;
	type ValidatorIdOf = sp_runtime::traits::ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<ConstU64<SESSION>, ConstU64<0>>;
	type NextSessionRotation = pallet_session::PeriodicSessions<ConstU64<SESSION>, ConstU64<0>>;
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Test, Validators>;
	type SessionHandler = TestSessionHandler;
	type Keys = MockKeys;
	type DisablingStrategy = pallet_session::disabling::UpToLimitDisablingStrategy<3>;
	type WeightInfo = ();
	type Currency = Balances;
	type KeyDeposit = ConstU64<1>;
}

impl pallet_session::historical::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = AlwaysIdentified;
}

impl pallet_offences::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type IdentificationTuple = pallet_session::historical::IdentificationTuple<Self>;
	type OnOffenceHandler = Validators;
}

pub const TREASURY: u64 = 999;
parameter_types! {
	pub const Treasury: u64 = TREASURY;
}

impl crate::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type AdminOrigin = frame_system::EnsureRoot<u64>;
	type Session = Session;
	type KeysRegistration = Session;
	type SlashBeneficiary = Treasury;
	type MinBond = ConstU64<100>;
	type MinValidators = ConstU32<2>;
	type MaxValidators = ConstU32<5>;
	type MaxCandidates = ConstU32<3>;
	type BondingSessions = ConstU32<3>;
	type DefaultSessionLength = ConstU64<SESSION>;
	type WeightInfo = ();
}

/// An equivocation as BABE and GRANDPA report it: fraction min(1, (3k/n)²).
pub struct Equivocation {
	pub session: SessionIndex,
	pub set_size: u32,
	pub offender: u64,
	pub slot: u64,
}
impl Offence<(u64, ())> for Equivocation {
	const ID: Kind = *b"test:equivocatio";
	type Slot = u64;
	fn offenders(&self) -> Vec<(u64, ())> {
		vec![(self.offender, ())]
	}
	fn session_index(&self) -> SessionIndex {
		self.session
	}
	fn validator_set_count(&self) -> u32 {
		self.set_size
	}
	fn slot(&self) -> u64 {
		self.slot
	}
	fn slash_fraction(&self, offenders: u32) -> Perbill {
		let x = Perbill::from_rational(3 * offenders, self.set_size);
		x.square()
	}
}

/// Accounts 1, 2 and 3 are the genesis validators (bond 500 each, keys 1, 2, 3); 1..=9 hold
/// 1,000 each; the treasury holds 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=9).map(|a| (a, 1_000)).chain([(TREASURY, 1)]).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	crate::GenesisConfig::<Test> {
		validators: vec![(1, 500), (2, 500), (3, 500)],
		session_length: 0,
	}
	.assimilate_storage(&mut t)
	.unwrap();
	pallet_session::GenesisConfig::<Test> {
		keys: (1..=3).map(|a| (a, a, keys(a))).collect(),
		non_authority_keys: vec![],
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Run blocks until session `index` has started.
pub fn run_to_session(index: SessionIndex) {
	while Session::current_index() < index {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Session::on_initialize(next);
	}
}

/// Run to the next session.
pub fn next_session() {
	run_to_session(Session::current_index() + 1)
}
