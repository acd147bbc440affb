#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod assign_impls;
mod config_impls;
pub use config_impls::{ConfiguredProtocolFee, ConfiguredSlashFraction, ConfiguredSpotCheckRate};
pub mod policy;
mod dispatchable_impls;
mod draw;
mod escrow_impls;
mod lifecycle_impls;
mod payout_impls;
mod queue_impls;
pub use dispatchable_impls::{commitment_of, digest_of};
mod room_impls;
pub use room_impls::ROOM_HISTORY;
mod settle_impls;
mod submit_impls;
mod dispute_impls;
mod tick_impls;
mod utility_impls;
pub mod migrations;
pub mod runtime_api;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

/// Most providers recorded per job as holding its data ([`DataHolders`]).
pub const MAX_DATA_HOLDERS: u32 = 4;
/// Inputs from this size on make assignment prefer the providers that hold them (data
/// locality, [`DataHolders`]): below it, spreading tasks wide (parallelism) is worth more than
/// the bytes saved.
pub const LOCALITY_MIN_BYTES: u64 = 16 << 20;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			Randomness,
		},
	};
	use frame_system::pallet_prelude::*;
	use gravity_primitives::{
		ContentId, ContentStore, JobId, Outcome, ProviderRegistry, TaskIndex,
	};
	use sp_runtime::Perbill;

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type JobOf<T> = crate::types::Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	pub type TaskOf<T> = crate::types::Task<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		ReplicaBoundOf<T>,
	>;
	/// The storage bound of a task's replicas (`2 × MaxReplicas`: a policy's `max` plus a
	/// dispute's fresh replicas).
	pub type ReplicaBoundOf<T> = crate::types::ReplicaBound<<T as Config>::MaxReplicas>;
	pub type JobSpecOf<T> = crate::types::JobSpec<BalanceOf<T>, BlockNumberFor<T>>;
	pub type ReplicaOf<T> =
		crate::types::Replica<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	pub type ProviderWorkOf<T> =
		crate::types::ProviderWork<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxTasksPerProvider>;
	pub type ConfigRecordOf<T> = crate::types::ConfigRecord<BlockNumberFor<T>, BalanceOf<T>>;
	pub type WorkEntryOf<T> = crate::types::WorkEntry<BalanceOf<T>, BlockNumberFor<T>>;

	/// The in-code storage version: 1 since `ProviderTasks` holds a [`ProviderWork`] record
	/// (see [`crate::migrations`]).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
		/// The currency escrow is held and paid in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The provider registry (capabilities, load, reputation, bonds).
		type Providers: ProviderRegistry<Self::AccountId, BalanceOf<Self>>;
		/// The content store: a job's program and inputs must exist at submission and stay
		/// pinned until its deadline.
		type Content: ContentStore<BlockNumberFor<Self>>;
		/// On-chain randomness for assignment and spot checks.
		type Randomness: Randomness<Self::Hash, BlockNumberFor<Self>>;
		/// Most tasks one job may have (map + reduce, or render tiles × frames).
		#[pallet::constant]
		type MaxTasksPerJob: Get<u32>;
		/// Most reduce tasks of a map-reduce job.
		#[pallet::constant]
		type MaxReducers: Get<u32>;
		/// Most replicas of one task under its policy (`max`); a dispute may draw as many fresh
		/// ones again (the storage bound of `Task::replicas` is twice this).
		#[pallet::constant]
		type MaxReplicas: Get<u32>;
		/// Most tasks one provider holds at once (bound of `ProviderTasks`).
		#[pallet::constant]
		type MaxTasksPerProvider: Get<u32>;
		/// Most blocks from submission to a job's deadline. The deadline is also how long
		/// providers keep the job's inputs and outputs (`retention`), so this bounds what one job
		/// can make providers store, and for how long.
		#[pallet::constant]
		type MaxJobDuration: Get<BlockNumberFor<Self>>;
		/// Share of a block's weight `on_initialize` may use (deadlines, reduce starts,
		/// assignments); work beyond it waits for the next block.
		#[pallet::constant]
		type TickShare: Get<Perbill>;
		/// Largest length of a job's input content (bytes). A provider fetches and keeps what a
		/// job names: an unbounded length let one job make a downloader allocate for 2⁶⁰
		/// bytes. A hard bound, not a tunable.
		#[pallet::constant]
		type MaxContentLength: Get<u64>;
		/// Replicas assigned per block at most (bounded work in `on_initialize`).
		#[pallet::constant]
		type MaxAssignmentsPerBlock: Get<u32>;
		/// Candidates examined per replica before it is deferred to a later block.
		#[pallet::constant]
		type AssignmentTries: Get<u32>;
		/// Job deadlines and reduce starts that may fall in one block (bound of `JobDeadlines`
		/// and `ReduceStarts`; task deadlines are not bounded per block, see `DeadlineAt`).
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
		/// Longest assignment queue.
		#[pallet::constant]
		type MaxQueueLen: Get<u32>;
		/// Hard bound of the largest fuel cap a job may set (the configuration's `max_fuel_cap`,
		/// which must not exceed it): what the slowest accepted device runs well inside the
		/// runtime's commit window, so that no provider is a no-show for a job it could not
		/// finish.
		#[pallet::constant]
		type MaxFuelCap: Get<u64>;
		/// Highest `min_reputation` a job may require (the Beta score of any provider stays
		/// below 100 %: a higher requirement would make a job nobody can serve).
		#[pallet::constant]
		type MaxRequiredReputation: Get<Perbill>;
		/// Pricing and payout: the value of work, the protocol fee and its beneficiary, the
		/// reputation credit of paid work (`policy::FeeAndValueCredit` by default).
		type Payout: policy::Payout<Self::AccountId, BalanceOf<Self>>;
		/// Penalties: the bond share a dissenting or no-show provider loses and who receives it
		/// (`policy::SlashTo` by default; the runtime's treasury, never the requester).
		type Penalty: policy::Penalty<Self::AccountId>;
		/// Trust: who may run a task alone and how often solo runs are spot-checked
		/// (`policy::SpotCheckedTrust` by default: the cheating inequality).
		type Trust: policy::TrustPolicy<BalanceOf<Self>>;
		/// The choice among drawn candidates: `()` takes a candidate with probability equal to its
		/// reputation (`policy::CandidateChoice`).
		type Candidates: policy::CandidateChoice;
		/// Most actions in one `batch` call.
		#[pallet::constant]
		type MaxBatchActions: Get<u32>;
		/// Who may change the governed configuration (`configure`): root (sudo, later
		/// governance) in the runtime.
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Weights from the benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The budget of a job, held from its requester until paid out or refunded.
		#[codec(index = 0)]
		JobEscrow,
		/// `queue_deposit` per replica queued at submission, returned when the job ends.
		#[codec(index = 1)]
		QueueDeposit,
	}

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// Jobs.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOf<T>>;

	/// Tasks, with their replicas: the audit record of every task.
	#[pallet::storage]
	pub type Tasks<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, TaskIndex, TaskOf<T>>;

	/// Verified map outputs of a map-reduce job, by map task index (the reducers' input).
	#[pallet::storage]
	pub type MapOutputs<T: Config> =
		StorageMap<_, Twox64Concat, JobId, BoundedVec<ContentId, T::MaxTasksPerJob>>;

	/// Providers given a replica of a job whose input is large (at least
	/// [`LOCALITY_MIN_BYTES`]), most recent last, at most [`MAX_DATA_HOLDERS`]: they fetch (or
	/// hold) its data: the render scene, the map outputs they computed. Data locality: the
	/// first replica of such a job's task is offered to one of them before the random draw, so
	/// the data moves to fewer nodes; later replicas are always drawn at random, so no result is
	/// agreed by preferred providers alone. Removed when the job finishes.
	#[pallet::storage]
	pub type DataHolders<T: Config> = StorageMap<
		_,
		Twox64Concat,
		JobId,
		BoundedVec<T::AccountId, ConstU32<MAX_DATA_HOLDERS>>,
		ValueQuery,
	>;

	/// Each provider's work: the tasks it holds now (its load), its newest
	/// [`WORK_LOG_LEN`] closed replicas with their outcome, pay and slash, and its lifetime
	/// earnings, slashes and closed replicas. Clients read a provider's history here, whatever
	/// the node has pruned (events live only as long as the state of their block).
	#[pallet::storage]
	pub type ProviderTasks<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ProviderWorkOf<T>, ValueQuery>;

	/// The value (`fuel_cap × price`) of the tasks each provider holds alone on trust, summed
	/// until their replicas close. The cheating inequality bounds this sum, not each task: a
	/// trusted provider running many solo tasks at once must not gain more from skipping them
	/// all than one caught dissent costs it.
	#[pallet::storage]
	pub type SoloValue<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, BalanceOf<T>, ValueQuery>;

	/// Assignment queue: one entry per replica still to assign, served FIFO.
	#[pallet::storage]
	pub type Queue<T: Config> = StorageMap<_, Twox64Concat, u64, QueueEntry<BlockNumberFor<T>>>;

	/// Next queue entry to serve.
	#[pallet::storage]
	pub type QueueHead<T> = StorageValue<_, u64, ValueQuery>;

	/// Next free queue position.
	#[pallet::storage]
	pub type QueueTail<T> = StorageValue<_, u64, ValueQuery>;

	/// Task deadlines (commit, reveal, delivery, the next block's tally or draw) falling in a
	/// block, one entry per task. Not bounded per block by design: a deadline is always recorded
	/// at the block it is due with one write (never searched for, never lost; a second deadline
	/// of the same task in the same block is the same entry, and handles both), and
	/// `on_initialize` takes them out metered, leaving the rest for the next block.
	#[pallet::storage]
	pub type DeadlineAt<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Twox64Concat,
		(JobId, TaskIndex),
		(),
		OptionQuery,
	>;

	/// Job deadlines falling in a block.
	#[pallet::storage]
	pub type JobDeadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<JobId, T::MaxDeadlinesPerBlock>,
		ValueQuery,
	>;

	/// The oldest block whose deadlines or reduce starts were not all processed (the block's
	/// share of weight ran out): `on_initialize` goes on from there.
	#[pallet::storage]
	pub type IncompleteSince<T: Config> = StorageValue<_, BlockNumberFor<T>>;

	/// Which of the last [`ROOM_HISTORY`] blocks left no room for a provider duty (bit 0: the
	/// latest finished block, bit k: the block k before it), written in `on_finalize`. A commit
	/// window whose blocks had no room does not make a no-show (`room_impls`).
	#[pallet::storage]
	pub type CrowdedBlocks<T> = StorageValue<_, u64, ValueQuery>;

	/// Map-reduce jobs whose reduce stage starts in a block (their last map output was
	/// delivered in the block before).
	#[pallet::storage]
	pub type ReduceStarts<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<JobId, T::MaxDeadlinesPerBlock>,
		ValueQuery,
	>;

	/// The governed configuration: windows, placement limits, queue deposit, protocol fee,
	/// spot-check rate, slash fraction and largest fuel cap (`ConfigRecord`), set at genesis
	/// and by `configure`.
	#[pallet::storage]
	pub type Configuration<T: Config> =
		StorageValue<_, ConfigRecordOf<T>, ValueQuery, config_impls::DefaultConfiguration<T>>;

	/// The configuration a chain starts with (checked as `configure` checks it).
	#[pallet::genesis_config]
	pub struct GenesisConfig<T: Config> {
		/// The initial governed configuration.
		pub configuration: ConfigRecordOf<T>,
	}

	impl<T: Config> Default for GenesisConfig<T> {
		fn default() -> Self {
			Self { configuration: config_impls::DefaultConfiguration::<T>::get() }
		}
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			Pallet::<T>::check_configuration(&self.configuration)
				.expect("the genesis market configuration must be within the bounds `configure` checks");
			Configuration::<T>::put(self.configuration);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was accepted and its budget is held in escrow.
		JobSubmitted {
			/// The new job's id.
			job: JobId,
			/// Who pays.
			requester: T::AccountId,
			/// Number of tasks of its first stage.
			tasks: u32,
			/// The budget held: tasks × max replicas × fuel cap × price.
			budget: BalanceOf<T>,
		},
		/// A replica of a task went to a provider.
		ReplicaAssigned {
			/// The job.
			job: JobId,
			/// The task index within the job.
			task: TaskIndex,
			/// Who runs it.
			provider: T::AccountId,
			/// The last block at which its commitment is accepted.
			commit_deadline: BlockNumberFor<T>,
			/// The task's round this replica decides.
			round: u8,
		},
		/// A replica's commit window had blocks without room for its commitment (blocks filled
		/// by others): its deadline moved instead of a no-show penalty.
		CommitDeadlineExtended {
			/// The job.
			job: JobId,
			/// The task index within the job.
			task: TaskIndex,
			/// The replica's provider.
			provider: T::AccountId,
			/// The new last block at which its commitment is accepted.
			commit_deadline: BlockNumberFor<T>,
			/// Blocks of its window so far that had no room.
			crowded_blocks: u32,
		},
		/// A replica's commit window and its longest extension still had fewer blocks with room
		/// than the window's length: it was released without penalty and replaced.
		ReplicaReleasedNoRoom {
			/// The job.
			job: JobId,
			/// The task index within the job.
			task: TaskIndex,
			/// The replica's provider.
			provider: T::AccountId,
		},
		/// Adaptive replication chose, in the block after the only replica committed, whether
		/// it runs alone or is spot-checked by `initial - 1` more replicas.
		ReplicationDecided {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// `true`: runs alone; `false`: spot check.
			solo: bool,
		},
		/// No eligible provider was found this block; the replica stays queued.
		AssignmentDeferred {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
		},
		/// A provider sealed its result.
		Committed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The provider.
			provider: T::AccountId,
			/// `gravity_protocol::result::commitment(digest, fuel, provider, job, task, salt)`.
			commitment: sp_core::H256,
		},
		/// Every replica of the current round committed: reveals are open.
		RevealPhaseStarted {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// Last block at which reveals are accepted.
			until: BlockNumberFor<T>,
		},
		/// A provider revealed a result matching its commitment.
		Revealed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The provider.
			provider: T::AccountId,
			/// The round-bound result digest (`gravity_protocol::result::result_digest`).
			digest: sp_core::H256,
			/// Fuel the run used.
			fuel_used: u64,
		},
		/// A round reached its quorum on a digest: the output must be delivered by `deliver_by`.
		TaskAgreed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The round that agreed.
			round: u8,
			/// The agreed digest.
			digest: sp_core::H256,
			/// The agreed fuel.
			fuel_used: u64,
			/// Replicas of the round that agreed.
			agreeing: u8,
			/// Last block at which `deliver` is accepted.
			deliver_by: BlockNumberFor<T>,
		},
		/// The agreed output was delivered (its content id named): the task is verified and every
		/// replica judged against it. The bytes stay off chain, in the content stores of the
		/// replicas that agreed, until the requester fetches them (or the retention ends).
		TaskVerified {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The verified output's content id (BLAKE3 hash and size).
			output: ContentId,
			/// The agreed fuel.
			fuel_used: u64,
			/// How many replicas (of all rounds) agreed with it.
			agreeing: u8,
		},
		/// A provider was paid from escrow for a verified task.
		ProviderPaid {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The provider.
			provider: T::AccountId,
			/// What the provider received: fuel_used × price less the protocol fee.
			amount: BalanceOf<T>,
			/// The protocol fee that went to the treasury.
			fee: BalanceOf<T>,
		},
		/// A provider dissented or missed a deadline: reputation down, part of its bond to the
		/// `Penalty`'s beneficiary (never to the requester).
		ProviderPenalized {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The provider.
			provider: T::AccountId,
			/// Why.
			outcome: Outcome,
			/// Bond taken, in all (`to_requester` included).
			slashed: BalanceOf<T>,
			/// The part of `slashed` paid to the requester for the fresh replicas of the task's
			/// dispute, which this provider lost (the rest went to the slash beneficiary).
			to_requester: BalanceOf<T>,
		},
		/// The results of a task disagreed (in one round, or with the output another round
		/// agreed on): before anyone is paid or penalized, a fresh round is drawn from every
		/// eligible provider not yet in the task, and a strict majority of it decides. Every
		/// replica is then judged against its result; the losers pay for the fresh round.
		TaskDisputed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The dispute's round.
			round: u8,
			/// Fresh replicas drawn for it.
			fresh: u8,
			/// Agreeing results of the fresh round that decide the task (a strict majority).
			quorum: u8,
		},
		/// A round ended without a quorum: a fresh round of sealed replicas was requested
		/// (earlier reveals are judged against its result).
		ReplicasAdded {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// How many more.
			count: u8,
			/// The new round.
			round: u8,
		},
		/// The task ended without a verified result; its share of escrow is refunded with the
		/// job's remainder.
		TaskFailed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// Why.
			reason: FailReason,
		},
		/// A provider gave back a replica it had not committed: no slash, no reputation change.
		ReplicaDeclined {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The provider.
			provider: T::AccountId,
		},
		/// A provider's decline of a task that others went on to run (a replica committed) was
		/// counted against its free allowance.
		DeclineCounted {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The provider that declined.
			provider: T::AccountId,
			/// Past the allowance: it lowered the provider's reputation.
			charged: bool,
		},
		/// A task failed with every replica it had declined and none committed (its data
		/// was nowhere, or its program could not finish): the requester forfeits the task's
		/// share of the queue deposit to the treasury.
		DepositForfeited {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// What moved from the requester's queue deposit to the treasury.
			amount: BalanceOf<T>,
		},
		/// The job was cancelled or expired while replicas were open: the tasks holding them run
		/// to settlement as usual (their work is paid, their no-shows penalized), the others are
		/// abandoned, then the job ends with `JobFinished { status }`.
		JobEnding {
			/// The job.
			job: JobId,
			/// The status it will end with (`Cancelled` or `Expired`).
			status: JobStatus,
			/// Replicas with sealed results still to settle.
			committed: u32,
			/// Replicas assigned and working, not committed yet: they may still commit before
			/// their deadlines.
			assigned: u32,
		},
		/// Every map task is verified; the reduce stage started (at the start of the block after
		/// the last map output was delivered).
		ReduceScheduled {
			/// The job.
			job: JobId,
			/// Manifest id of the map outputs (input of every reducer).
			input: ContentId,
			/// Reduce tasks created.
			reducers: u32,
		},
		/// One action of a `batch` failed; its effects were undone, the other actions stand.
		BatchActionFailed {
			/// Who sent the batch.
			who: T::AccountId,
			/// Position of the action in the batch (from 0).
			index: u32,
			/// Why it failed (the error the single call would have returned).
			error: DispatchError,
		},
		/// The job ended; its unspent escrow and its queue deposit went back to the requester.
		JobFinished {
			/// The job.
			job: JobId,
			/// How it ended.
			status: JobStatus,
			/// Total paid to providers.
			paid: BalanceOf<T>,
			/// Total returned to the requester.
			refunded: BalanceOf<T>,
		},
		/// The governed configuration changed (`configure`); it applies from the next use.
		ConfigurationSet {
			/// The configuration now in force.
			configuration: ConfigRecordOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// A job needs at least one task.
		NoTasks,
		/// More tasks than `MaxTasksPerJob`: split the job.
		TooManyTasks,
		/// More inputs than `MaxTasksPerJob`, or inputs do not fit the job kind (render jobs
		/// take exactly one input: the scene).
		TooManyInputs,
		/// Replication: quorum must be ≥ 1 and ≤ initial replicas, initial ≤ max ≤ `MaxReplicas`.
		InvalidReplication,
		/// Quorum larger than the initial replicas.
		QuorumExceedsReplicas,
		/// One declining, absent or lying replica would fail a task under this policy, so a
		/// saboteur drawn into it could fail the job for free. Use a quorum of at least 2 and
		/// either more initial replicas than the quorum (`{3,3,2}`) or room for a fresh round
		/// (`max ≥ initial + quorum`, e.g. `{2,4,2}`).
		FragileReplication,
		/// tasks × max replicas × fuel cap × price does not fit in a balance.
		BudgetOverflow,
		/// The requester cannot cover the budget.
		InsufficientBalance,
		/// Price and fuel cap must be non-zero.
		ZeroPrice,
		/// The deadline is not after the current block (plus one commit and reveal window).
		DeadlineInPast,
		/// The deadline is further than `MaxJobDuration` blocks away: providers keep a job's data
		/// until its deadline, so it is bounded. Split long work into several jobs.
		DeadlineTooFar,
		/// Render geometry is zero or does not split into tiles; reducers out of range.
		InvalidJobKind,
		/// The assignment queue is full: try again later.
		QueueFull,
		/// No such job.
		UnknownJob,
		/// No such task.
		UnknownTask,
		/// Only the requester may do this.
		NotRequester,
		/// The job is no longer active.
		JobNotActive,
		/// The caller is not a registered provider.
		NotProvider,
		/// The caller holds no open replica of this task.
		NotAssigned,
		/// This replica already committed.
		AlreadyCommitted,
		/// The task is not taking commitments (reveal phase, or settled).
		NotCommitPhase,
		/// The commit deadline of this replica has passed.
		CommitWindowClosed,
		/// The task is not in its reveal phase (or the reveal window closed).
		NotRevealPhase,
		/// This replica did not commit.
		NotCommitted,
		/// This replica already revealed.
		AlreadyRevealed,
		/// The reveal does not hash to the commitment.
		RevealMismatch,
		/// The revealed fuel is above the job's fuel cap.
		FuelAboveCap,
		/// The fuel cap is above the configured `max_fuel_cap`: no provider could be sure to
		/// finish in its commit window. Split the work into more tasks.
		FuelCapTooHigh,
		/// `min_reputation` is above `MaxRequiredReputation`: no provider could ever qualify.
		RequiredReputationTooHigh,
		/// No online provider matches the job's requirements (arch, memory, GPU): relax them or
		/// wait for such providers to register.
		NoEligibleProvider,
		/// The program or the reduce program is not stored on chain: upload it first
		/// (`content.put`). (Inputs are not checked: they live off chain.)
		ContentMissing,
		/// `source` is empty: give the peer id bytes of a node holding the inputs, or `None`.
		EmptySource,
		/// The task is not waiting for its output to be delivered.
		NotDeliveryPhase,
		/// The output id, with the agreed fuel, does not hash to the agreed digest.
		DeliveryMismatch,
		/// A `batch` needs at least one action.
		EmptyBatch,
		/// An input is longer than `MaxContentLength`: split it into several inputs (one task
		/// each) or use a map-reduce job.
		InputTooLarge,
		/// An adaptive policy needs room for a spot check: `max` must exceed `quorum` (the
		/// checked replica plus `quorum` checkers).
		NoRoomForSpotCheck,
		/// An adaptive policy with one initial replica has nothing to adapt (it runs alone
		/// anyway, unchecked): ask for `initial ≥ 2`, or submit it with `adaptive: false`.
		AdaptiveWithOneReplica,
		/// `configure`: a window is shorter than its minimum (commit 4 blocks, reveal and
		/// delivery 2): providers could not meet it.
		WindowTooShort,
		/// `configure`: the commit window is longer than half of `ROOM_HISTORY` (the blocks
		/// whose room the no-room rule remembers), or the three windows together are longer
		/// than half of `MaxJobDuration` (no job could fit a round and a re-round).
		WindowTooLong,
		/// `configure`: `max_placement_wait` must be at least the commit window and at most
		/// `MaxJobDuration`.
		PlacementWaitOutOfBounds,
		/// `configure`: `max_deferrals` must be at least 1 (0 would fail every task whose first
		/// draw found no provider online).
		NoDeferrals,
		/// `configure`: a zero queue deposit would make the queue free to fill.
		NoQueueDeposit,
		/// `configure`: the protocol fee may be at most 50 % of a payment.
		ProtocolFeeTooHigh,
		/// `configure`: the slash fraction must be at least 1 % (a dissent or a no-show must
		/// cost something).
		SlashFractionTooLow,
		/// `configure`: `max_fuel_cap` must be at least 1 and at most the hard bound
		/// `MaxFuelCap`.
		FuelCapOutOfBounds,
	}

	#[pallet::extra_constants]
	impl<T: Config> Pallet<T> {
		/// How many closed replicas a provider's work log (`ProviderTasks`) keeps.
		#[allow(non_snake_case)]
		fn WorkLogLen() -> u32 {
			WORK_LOG_LEN
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Process this block's deadlines and serve the assignment queue (both bounded).
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::do_tick(now)
		}

		/// Note whether this block left room for provider duties (its weight, a read and a
		/// write, is charged in `on_initialize`).
		fn on_finalize(_now: BlockNumberFor<T>) {
			Self::note_block_room();
		}

		fn integrity_test() {
			assert!(T::MaxReplicas::get() >= 1 && T::MaxReplicas::get() <= u8::MAX as u32);
			assert!(T::MaxReducers::get() <= T::MaxTasksPerJob::get());
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Submit a job described by `spec` (its fields are documented on `JobSpec`). The whole
		/// budget (tasks × (max replicas + a dispute's fresh round) × fuel cap × price) is held in
		/// escrow now, with a queue deposit per queued replica, or the job is rejected with a
		/// named error and nothing held.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit_job(Pallet::<T>::submit_weight_units(&spec.kind, spec.inputs.len())))]
		pub fn submit_job(origin: OriginFor<T>, spec: JobSpecOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_submit_job(who, spec).map(|_| ())
		}

		/// Cancel a job. With no replica open it ends at once: unfinished tasks are abandoned,
		/// unspent escrow and the queue deposit return. Otherwise it is *ending* (`JobEnding`):
		/// tasks with an open replica (a provider working on it, or a sealed result) run to
		/// settlement as usual, every other task is abandoned, and then it ends the same way.
		/// Work started before a cancel is settled and paid like any other.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_job())]
		pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_job(who, job)
		}

		/// Seal a result: `commitment = gravity_protocol::result::commitment(digest, fuel_used,
		/// provider, job, task, salt)` with `digest = result_digest(output, fuel_used, job, task,
		/// round)` for the replica's round (see the crate docs of `gravity-protocol`).
		#[pallet::call_index(2)]
		#[pallet::weight((T::WeightInfo::commit().max(T::WeightInfo::commit_last()), DispatchClass::Operational))]
		pub fn commit(
			origin: OriginFor<T>,
			job: JobId,
			task: TaskIndex,
			commitment: sp_core::H256,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_commit(who, job, task, commitment)?;
			// The chain asked for this work: a valid commitment costs the provider nothing
			// (one per assigned replica, so it cannot be used to spam).
			Ok(Pays::No.into())
		}

		/// Open a sealed result: the round-bound digest, the fuel and the salt. When every
		/// replica of the round has revealed, the round is tallied at the start of the next
		/// block, in `on_initialize`.
		#[pallet::call_index(3)]
		#[pallet::weight((T::WeightInfo::reveal(), DispatchClass::Operational))]
		pub fn reveal(
			origin: OriginFor<T>,
			job: JobId,
			task: TaskIndex,
			digest: sp_core::H256,
			fuel_used: u64,
			salt: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_reveal(who, job, task, digest, fuel_used, salt)?;
			// Free when valid, as `commit`.
			Ok(Pays::No.into())
		}

		/// Give back a replica you were assigned and have not committed (you cannot fetch its
		/// data or cannot finish it in time). No slash and no reputation change; the task gets
		/// another provider, or fails and is refunded when it has no replicas left. Free when
		/// valid (at most once per assigned replica).
		#[pallet::call_index(4)]
		#[pallet::weight((T::WeightInfo::decline(), DispatchClass::Operational))]
		pub fn decline(origin: OriginFor<T>, job: JobId, task: TaskIndex) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_decline(who, job, task)?;
			Ok(Pays::No.into())
		}

		/// Name the output of a task whose round agreed (`TaskAgreed`): `output` is the content
		/// id (BLAKE3 hash and size) of the output (or failure) bytes, which the agreeing
		/// providers keep in their nodes' content stores and serve to the requester. The chain
		/// checks it against the agreed digest (only a replica that computed the output knows an
		/// id that matches), judges every replica of every round against it (pay or penalty) and
		/// verifies the task. Free when valid (it succeeds once per task).
		#[pallet::call_index(5)]
		#[pallet::weight((T::WeightInfo::deliver(T::MaxReplicas::get()), DispatchClass::Operational))]
		pub fn deliver(
			origin: OriginFor<T>,
			job: JobId,
			task: TaskIndex,
			output: ContentId,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let judged = Self::do_deliver(job, task, output)?;
			Ok(frame_support::dispatch::PostDispatchInfo { actual_weight: Some(T::WeightInfo::deliver(judged)), pays_fee: Pays::No })
		}

		/// Several `commit`, `reveal`, `deliver` and `decline` actions in one transaction (a
		/// provider working on many tasks sends one per block instead of one per task). Each
		/// action is checked and applied exactly as its own call, in order; an action that
		/// fails is undone alone and reported with `BatchActionFailed` (the others stand).
		/// Free when every action succeeds; otherwise the fee of the whole batch is paid, as a
		/// failed single call would pay its own.
		#[pallet::call_index(6)]
		#[pallet::weight((Pallet::<T>::batch_weight(actions), DispatchClass::Operational))]
		pub fn batch(
			origin: OriginFor<T>,
			actions: BoundedVec<ProviderAction, T::MaxBatchActions>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_batch(who, actions)
		}

		/// Set the governed configuration (`ConfigRecord`: windows, placement limits, queue
		/// deposit, protocol fee, spot-check rate, slash fraction, largest fuel cap) after
		/// checking it against its bounds; `AdminOrigin` only. It applies from the next use: deadlines already set keep
		/// their windows, held queue deposits are returned as held.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::configure())]
		pub fn configure(origin: OriginFor<T>, configuration: ConfigRecordOf<T>) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			Self::do_configure(configuration)
		}
	}
}
