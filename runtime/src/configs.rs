//! The configuration of every pallet in the runtime.

use crate::*;
use frame_support::{
	derive_impl,
	traits::{ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::FungibleAdapter;
use frame_support::traits::Get;
use sp_runtime::{
	traits::AccountIdConversion,
	Perbill,
};

/// We allow `Normal` extrinsics to fill up the block up to 75%, the rest can be used
/// by Operational extrinsics.
pub const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;

	/// 2 seconds of compute in a 6 s block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(frame_support::dispatch::DispatchClass::Normal, |m| {
			*m = NORMAL_DISPATCH_RATIO * *m
		})
		.build();
	pub const SS58Prefix: u16 = SS58_PREFIX;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// The node stores state in ParityDb only (RocksDB is not compiled in).
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = frame_support::traits::ConstU32<16>;
	type SystemWeightInfo = frame_system::weights::SubstrateWeight<Runtime>;
}

impl pallet_babe::Config for Runtime {
	/// A BABE epoch is a session: its length is set in genesis (`Validators::SessionLength`).
	type EpochDuration = pallet_gravity_validators::SessionLengthOf<Runtime>;
	type ExpectedBlockTime = ConstU64<{ crate::MILLI_SECS_PER_BLOCK }>;
	/// The session pallet ends the epoch (and plans the next authority set).
	type EpochChangeTrigger = pallet_babe::ExternalTrigger;
	type DisabledValidators = Session;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<{ MAX_VALIDATORS }>;
	type MaxNominators = ConstU32<0>;
	type KeyOwnerProof = sp_session::MembershipProof;
	/// BABE's own report system, the two seals checked before a report enters the pool.
	type EquivocationReportSystem = crate::equivocation::BabeReports;
}

/// Randomness for the market: the VRF output of the parent block (`pallet_babe`), hashed with
/// the subject. Every block carries a VRF output (primary and secondary VRF slots), which its
/// author computes from its key, the slot and the epoch randomness and cannot choose; it can
/// only withhold its block (one bit of bias at the cost of the block reward and the slot). At
/// genesis (no parent VRF yet) the subject is hashed with the parent hash.
pub struct MarketRandomness;
impl frame_support::traits::Randomness<Hash, BlockNumber> for MarketRandomness {
	fn random(subject: &[u8]) -> (Hash, BlockNumber) {
		let (vrf, at) = pallet_babe::ParentBlockRandomness::<Runtime>::random(subject);
		let h = vrf.unwrap_or_else(|| {
			let parent = frame_system::Pallet::<Runtime>::parent_hash();
			<sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash_of(&(subject, parent))
		});
		(h, at)
	}
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<{ MAX_VALIDATORS }>;
	type MaxNominators = ConstU32<0>;
	/// Set ids are kept for the sessions in which an equivocation can still be reported.
	type MaxSetIdSessionEntries = ConstU64<{ VALIDATOR_BONDING_SESSIONS as u64 }>;
	type KeyOwnerProof = sp_session::MembershipProof;
	/// GRANDPA's own report system, the two votes checked before a report enters the pool.
	type EquivocationReportSystem = crate::equivocation::GrandpaReports;
}

/// The most validators in a session.
pub const MAX_VALIDATORS: u32 = 32;
/// Sessions a leaving validator's bond stays held and slashable, and how far back an
/// equivocation can be reported (the session history kept): 6 sessions (an hour on the
/// testnet, 6 minutes on dev and local chains).
pub const VALIDATOR_BONDING_SESSIONS: u32 = 6;

parameter_types! {
	/// An equivocation report stays valid in the pool for the bonding window, in blocks.
	pub ReportLongevity: u64 = VALIDATOR_BONDING_SESSIONS as u64
		* pallet_gravity_validators::SessionLengthOf::<Runtime>::get();
	/// A validator bonds at least 10,000 GRAV.
	pub const MinValidatorBond: Balance = 10_000 * UNIT;
}

impl pallet_authorship::Config for Runtime {
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Babe>;
	/// Counts each validator's blocks (`Validators::Members`).
	type EventHandler = Validators;
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = sp_runtime::traits::ConvertInto;
	/// Sessions end with BABE's epochs.
	type ShouldEndSession = Babe;
	type NextSessionRotation = Babe;
	/// The validator registry plans each session's set; the historical pallet keeps a root of
	/// each set and its keys, for key-ownership proofs in equivocation reports.
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Self, Validators>;
	type SessionHandler = <crate::SessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
	type Keys = crate::SessionKeys;
	/// An offender is disabled at once, up to a third of the set (BFT safety).
	type DisablingStrategy = pallet_session::disabling::UpToLimitDisablingStrategy<3>;
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	/// Setting keys holds 1 GRAV (released by `session.purgeKeys`).
	type KeyDeposit = ConstU128<UNIT>;
}

impl pallet_session::historical::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = pallet_gravity_validators::AlwaysIdentified;
}

impl pallet_offences::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type IdentificationTuple = pallet_session::historical::IdentificationTuple<Self>;
	type OnOffenceHandler = Validators;
}

impl pallet_gravity_validators::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	/// `sudo` today; a governance origin later.
	type AdminOrigin = frame_system::EnsureRoot<AccountId>;
	type Session = Session;
	type KeysRegistration = Session;
	/// Slashed bonds go to the treasury, like every slash in Gravity.
	type SlashBeneficiary = GravityTreasury;
	type MinBond = MinValidatorBond;
	/// Never an empty set; how many more a network needs is the admin's call.
	type MinValidators = ConstU32<1>;
	type MaxValidators = ConstU32<{ MAX_VALIDATORS }>;
	type MaxCandidates = ConstU32<64>;
	type BondingSessions = ConstU32<VALIDATOR_BONDING_SESSIONS>;
	/// Ten minutes of 6-second slots, unless the genesis config says otherwise.
	type DefaultSessionLength = ConstU64<100>;
	type WeightInfo = pallet_gravity_validators::weights::SubstrateWeight<Runtime>;
}

/// Unsigned transactions built in the runtime (equivocation reports).
impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extrinsic = UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<LocalCall> frame_system::offchain::CreateBare<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_bare(call: RuntimeCall) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_bare(call)
	}
}

impl pallet_timestamp::Config for Runtime {
	/// A timestamp: milliseconds since the unix epoch.
	type Moment = u64;
	type OnTimestampSet = Babe;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = pallet_timestamp::weights::SubstrateWeight<Runtime>;
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	/// 1 µGRAV a byte, times the congestion multiplier (`crate::fees`).
	type LengthToFee = crate::fees::LengthFee;
	/// Rises with the fullness of the `Normal` share, by weight or by length (`crate::fees`).
	type FeeMultiplierUpdate = crate::fees::CongestionFeeUpdate;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}


parameter_types! {
	/// A provider bonds at least 100 GRAV.
	pub const MinProviderBond: Balance = 100 * UNIT;
	/// Reputation counters keep 98 % per day.
	pub const ReputationDecayKeep: Perbill = Perbill::from_percent(98);
	/// Half a failure per decline past the free allowance.
	pub const DeclineCost: Perbill = Perbill::from_percent(50);
	/// Providers with a score of 0.9 or more may run tasks alone …
	pub const MarketTrustedReputation: Perbill = Perbill::from_percent(90);
	/// The market configuration this runtime's chains start with (and a chain upgraded from
	/// a runtime without one gets, `migrations::v2`); root changes it with `market.configure`.
	pub MarketGenesisConfiguration: pallet_gravity_market::ConfigRecordOf<Runtime> = market_configuration();
	/// `on_initialize` of the market uses at most 40 % of a block (deadlines and assignments of
	/// ≥ 500 tasks a block; the other 60 % hold their commits, reveals and deliveries and the
	/// users' transactions).
	pub const MarketTickShare: Perbill = Perbill::from_percent(40);
	/// No job may require a reputation above 95 % (the Beta score never reaches 100 %).
	pub const MarketMaxRequiredReputation: Perbill = Perbill::from_percent(95);
	/// Slashed bonds and protocol fees go to the Gravity treasury account (`PalletId`
	/// "grav/tsy"), never to the requester of the job nor to another provider.
	pub GravityTreasury: AccountId = frame_support::PalletId(*b"grav/tsy").into_account_truncating();
}

/// Largest fuel cap of a job: 15·10⁹ fuel units (≈ instructions). The slowest device a provider
/// may register runs ≥ 0.5·10⁹ a second in the sandbox, so a task at the cap ends within 30 s:
/// half the one-minute commit window, the other half for fetching and committing.
pub const MAX_FUEL_CAP: u64 = 15_000_000_000;

impl pallet_gravity_providers::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = MinProviderBond;
	type UnbondingPeriod = ConstU32<{ 1 * HOURS }>;
	type HeartbeatTimeout = ConstU32<{ 1 * HOURS }>;
	type DecayPeriod = ConstU32<{ DAYS }>;
	type DecayKeep = ReputationDecayKeep;
	type FreeDeclines = ConstU32<10>;
	type DeclineCost = DeclineCost;
	type MaxProvidersPerClass = ConstU32<100_000>;
	type MaxConcurrent = frame_support::traits::ConstU16<64>;
	/// The market keeps the one count of replicas each provider holds.
	type Load = Market;
	type WeightInfo = pallet_gravity_providers::weights::SubstrateWeight<Runtime>;
}

impl pallet_gravity_market::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = Providers;
	type Content = Content;
	type Randomness = MarketRandomness;
	type MaxTasksPerJob = ConstU32<1024>;
	type MaxReducers = ConstU32<64>;
	type MaxReplicas = ConstU32<8>;
	type MaxTasksPerProvider = ConstU32<64>;
	/// 7 days of 6-second blocks: the longest a job (and the retention of its data) may run.
	type MaxJobDuration = ConstU32<{ 7 * 24 * 600 }>;
	/// 40 % of the block for `on_initialize`; the rest stays for transactions.
	type TickShare = MarketTickShare;
	/// As many as fit in the tick share (≈ 0.65 ms each with database weights at 10,000
	/// providers: 1,024 take 662 ms of the 800 ms).
	type MaxAssignmentsPerBlock = ConstU32<1024>;
	type AssignmentTries = ConstU32<8>;
	/// Job deadlines and reduce starts per block (task deadlines are not bounded per block).
	type MaxDeadlinesPerBlock = ConstU32<4096>;
	/// A provider commits, reveals or delivers up to 256 replicas in one transaction.
	type MaxBatchActions = ConstU32<256>;
	type MaxQueueLen = ConstU32<65_536>;
	type MaxFuelCap = ConstU64<MAX_FUEL_CAP>;
	/// 64 GiB: far above the 1 GiB the data plane is measured with, far below what a downloader
	/// cannot track (65,536 pieces of 1 MiB).
	type MaxContentLength = ConstU64<{ 64 << 30 }>;
	type MaxRequiredReputation = MarketMaxRequiredReputation;
	/// `fuel × price`; the configured protocol fee to the treasury; one full reputation
	/// success per 0.1 GRAV of work paid by someone else.
	type Payout = pallet_gravity_market::policy::FeeAndValueCredit<
		pallet_gravity_market::ConfiguredProtocolFee<Runtime>,
		ConstU128<{ 100 * MILLI_UNIT }>,
		GravityTreasury,
	>;
	/// The configured share of the bond for a dissent or a no-show, to the treasury.
	type Penalty = pallet_gravity_market::policy::SlashTo<
		pallet_gravity_market::ConfiguredSlashFraction<Runtime>,
		GravityTreasury,
	>;
	/// Alone from 90 % reputation and 20 units of work paid by others, for tasks worth at most
	/// the configured spot-check rate of the stake at risk; that share of them spot-checked.
	type Trust = pallet_gravity_market::policy::SpotCheckedTrust<
		MarketTrustedReputation,
		ConstU32<20>,
		pallet_gravity_market::ConfiguredSpotCheckRate<Runtime>,
	>;
	type Candidates = ();
	/// Root (sudo today, governance later) sets the market configuration.
	type AdminOrigin = frame_system::EnsureRoot<AccountId>;
	type WeightInfo = pallet_gravity_market::weights::SubstrateWeight<Runtime>;
}

impl pallet_gravity_content::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	/// 2 MiB: small programs, inputs and outputs; large data goes through the swarm store.
	type MaxBlobSize = ConstU32<{ 2 * 1024 * 1024 }>;
	type DepositBase = ConstU128<{ 10 * MILLI_UNIT }>;
	type DepositPerByte = ConstU128<{ MICRO_UNIT / 10 }>;
	type WeightInfo = pallet_gravity_content::weights::SubstrateWeight<Runtime>;
}

/// The market configuration of this runtime's genesis presets: a one-minute commit window,
/// half a minute to reveal and half a minute to deliver; no queued replica waits more than 30
/// minutes for a provider, and a task fails after 4 fruitless placement tries (≤ one pass over
/// the queue for a task with 4 or more replicas queued); 0.01 GRAV of queue deposit per queued
/// replica, returned when the job ends (the whole 65,536-entry queue locks 655 GRAV of whoever
/// fills it); 5 % of every payment to the treasury (what farming reputation with one's own jobs
/// costs); 10 % of trusted solo runs spot-checked; 10 % of the bond for a dissent or a no-show;
/// jobs up to the hard bound `MAX_FUEL_CAP` of fuel per task (sized for the one-minute window).
pub fn market_configuration() -> pallet_gravity_market::ConfigRecordOf<Runtime> {
	pallet_gravity_market::ConfigRecord {
		windows: pallet_gravity_market::Windows { commit: MINUTES, reveal: 5, delivery: 5 },
		max_placement_wait: 30 * MINUTES,
		max_deferrals: 4,
		queue_deposit: 10 * MILLI_UNIT,
		protocol_fee: Perbill::from_percent(5),
		spot_check_rate: Perbill::from_percent(10),
		slash_fraction: Perbill::from_percent(10),
		max_fuel_cap: MAX_FUEL_CAP,
	}
}
