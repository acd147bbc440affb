//! Types of the market: jobs, tasks, replicas, escrow.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, BoundedVec};
use gravity_primitives::{ContentId, JobId, Outcome, PeerIdBytes, Requirements, TaskIndex};
use scale_info::TypeInfo;
use sp_runtime::traits::Saturating;

/// What kind of job, and how its tasks are derived.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq,
	Debug,
)]
pub enum JobKind {
	/// Independent tasks: one task per input.
	Batch,
	/// A map stage (one task per input, parameter `reducers`: it writes its output in
	/// `reducers` partitions, `gravity_protocol::partition`), then `reducers` reduce tasks
	/// running `reduce_program`, scheduled automatically once every map output is verified.
	/// Reduce task `r` gets partition `r` of every map output, fetched by its provider from the
	/// providers that computed them.
	MapReduce { reduce_program: ContentId, reducers: u32 },
	/// Render an image (or `frames` frames) of `width × height` pixels split into square tiles of
	/// `tile` pixels; the single input is the scene. Task `i` renders tile `i % tiles` of frame
	/// `i / tiles`.
	Render { width: u32, height: u32, tile: u32, frames: u32 },
}

/// How many providers run each task and how many must agree.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq,
	Debug,
)]
pub struct ReplicationPolicy {
	/// Replicas assigned at first.
	pub initial: u8,
	/// Most replicas a task may ever have (no-shows included).
	pub max: u8,
	/// Agreeing results needed to verify a task.
	pub quorum: u8,
	/// Allow single-replica tasks for highly reputed providers (with random spot checks).
	pub adaptive: bool,
}

impl ReplicationPolicy {
	/// Does a task under this policy still verify when any one of its first round's replicas
	/// declines, misses a deadline or reveals a wrong result, the others being honest?
	///
	/// - `quorum ≥ 2`: a round is never decided by one replica (with quorum 1 a tie between a
	///   liar and an honest replica is decided by a fresh round of one, which an accomplice
	///   could be);
	/// - and either `initial > quorum`: the `initial − 1` honest replicas reach the quorum on
	///   their own (and, being at least 2, outnumber a single liar), a decline or a commit
	///   no-show without room to replace it is settled with them;
	/// - or `max − initial ≥ quorum`: after the bad replica there is room for a fresh round
	///   of `quorum` replicas (and so for any replacement).
	///
	/// `{2,2,2}` dies on one decline, `{2,3,2}` on one wrong reveal; `{3,3,2}`, `{2,4,2}` and
	/// `{3,4,2}` survive either. Tested for every policy up to `MaxReplicas` in
	/// `attack_one_bad_replica_fails_no_task_at_any_accepted_policy`.
	pub fn survives_one_bad_replica(&self) -> bool {
		self.quorum >= 2 &&
			(self.initial > self.quorum || self.max.saturating_sub(self.initial) >= self.quorum)
	}

	/// Most fresh replicas a dispute of a task under this policy draws (`dispute_impls`):
	/// `2 × quorum + 1`, at most `max_replicas`. The escrow holds them in reserve for every
	/// task (`submit_job`), and a task may have this many replicas beyond `max`.
	pub fn escalation(&self, max_replicas: u32) -> u8 {
		let e = (self.quorum as u32).saturating_mul(2).saturating_add(1).min(max_replicas);
		e.min(u8::MAX as u32) as u8
	}
}

/// The storage bound of a task's replicas: `max` of its policy, plus a dispute's fresh
/// replicas, each at most `MaxReplicas`.
pub struct ReplicaBound<MaxReplicas>(core::marker::PhantomData<MaxReplicas>);

impl<MaxReplicas> core::fmt::Debug for ReplicaBound<MaxReplicas> {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str("ReplicaBound")
	}
}

impl<MaxReplicas: Get<u32>> Get<u32> for ReplicaBound<MaxReplicas> {
	fn get() -> u32 {
		MaxReplicas::get().saturating_mul(2)
	}
}

/// Everything a requester asks of a job: the one argument of `submit_job` (one form in
/// polkadot.js apps).
#[derive(
	Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct JobSpec<Balance, BlockNumber> {
	/// Content id of the task program (Wasm), stored on chain (`content.put`).
	pub program: ContentId,
	/// The network peer id (bytes) of a node that holds the inputs, usually the requester's
	/// own node after `gravity_put`; providers fetch from it and from each other. `None` when
	/// every input is on chain or already held by providers.
	pub source: Option<PeerIdBytes>,
	/// Batch, map-reduce (one map task per input, then reducers) or render.
	pub kind: JobKind,
	/// One content id per task (batch, map); the scene (render). At most `MaxTasksPerJob`.
	/// Inputs live off chain: the chain does not check that they exist. A provider that cannot
	/// fetch one declines its replica, and the task is reassigned or refunded.
	pub inputs: alloc::vec::Vec<ContentId>,
	/// What a provider must have (architecture, memory, GPU, reputation).
	pub requirements: Requirements,
	/// How many providers run each task and how many must agree.
	pub replication: ReplicationPolicy,
	/// Paid per unit of fuel a verified result used.
	pub price_per_fuel: Balance,
	/// Most fuel a task may use (at most the configured `max_fuel_cap`).
	pub fuel_cap: u64,
	/// Block by which the job must be done; unfinished work is refunded.
	pub deadline: BlockNumber,
}

/// Which stage a task belongs to.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
	/// Batch tasks, render tiles and map tasks.
	Map,
	/// Reduce tasks of a map-reduce job.
	Reduce,
}

/// Lifecycle of a job.
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobStatus {
	Active,
	/// Every task verified; unspent escrow returned.
	Completed,
	/// A task failed without quorum (map-reduce map stage) or every task ended and some failed.
	Failed,
	/// Cancelled by the requester; unspent escrow returned.
	Cancelled,
	/// The deadline passed before the job finished; unspent escrow returned.
	Expired,
}

/// The money of one job. Invariant: `held = locked - paid - refunded`, held from the requester
/// under `HoldReason::JobEscrow`.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct Escrow<Balance> {
	pub locked: Balance,
	pub paid: Balance,
	pub refunded: Balance,
	/// `queue_deposit` × replicas queued at submission, held from the requester under
	/// `HoldReason::QueueDeposit` (not escrow) until the job ends, then returned.
	pub queue_deposit: Balance,
	/// Queue deposit forfeited to the treasury for tasks nobody could run (every replica
	/// declined, none committed: `DepositForfeited`).
	pub forfeited: Balance,
	/// Paid to the requester out of the bonds of the losers of its tasks' disputes: what the
	/// disputes' fresh replicas cost it, at most (`ProviderPenalized::to_requester`). Not part
	/// of `locked`: it reaches the requester's free balance.
	pub compensated: Balance,
}

impl<Balance: Saturating + Copy> Escrow<Balance> {
	/// What is still held for this job.
	pub fn held(&self) -> Balance {
		self.locked.saturating_sub(self.paid).saturating_sub(self.refunded)
	}
}

/// A job as stored.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Job<AccountId, Balance, BlockNumber> {
	pub requester: AccountId,
	pub kind: JobKind,
	/// Content id of the (map / batch / render) program (on chain; its size is in the id).
	pub program: ContentId,
	/// Peer id of a node the inputs can be fetched from (`submit_job`'s `source`).
	pub source: Option<PeerIdBytes>,
	pub requirements: Requirements,
	pub replication: ReplicationPolicy,
	pub price_per_fuel: Balance,
	pub fuel_cap: u64,
	pub deadline: BlockNumber,
	pub created_at: BlockNumber,
	pub status: JobStatus,
	pub stage: Stage,
	/// Tasks created so far (map + reduce).
	pub tasks: u32,
	/// Tasks of the first stage.
	pub map_tasks: u32,
	pub verified: u32,
	pub failed: u32,
	pub escrow: Escrow<Balance>,
	/// For map-reduce: the content id of the manifest of the verified map outputs (the SCALE
	/// encoding of their ids in task order), the input every reducer is given.
	pub reduce_input: Option<ContentId>,
	/// Set when the job was cancelled or expired while replicas were open (working or holding
	/// sealed results): the status it ends with once those are settled. Meanwhile only the
	/// tasks with an open replica go on.
	pub ending: Option<JobStatus>,
	/// Open replicas (of all its tasks) that have committed and are not settled yet.
	pub committed_open: u32,
	/// Open replicas (of all its tasks) that have not committed yet: assigned, and working.
	pub assigned_open: u32,
}

impl<AccountId, Balance, BlockNumber> Job<AccountId, Balance, BlockNumber> {
	/// Active and not ending: takes new replicas and commitments.
	pub fn accepts_work(&self) -> bool {
		self.status == JobStatus::Active && self.ending.is_none()
	}
}

/// Why a task failed.
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FailReason {
	/// No result reached the quorum within the job's maximum replicas.
	NoQuorum,
	/// Not enough replicas left for a quorum (no-shows and declines used them up).
	NotEnoughReplicas,
	/// No eligible provider was found for a queued replica `max_deferrals` times, or none took
	/// it within `max_placement_wait` blocks (the providers that match were all busy).
	Unplaceable,
	/// Replicas agreed on a result but none delivered its output within the delivery window.
	Undelivered,
}

/// Where a task is in its life.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum TaskPhase<BlockNumber> {
	/// Waiting for (more) replicas to be assigned and to commit.
	Committing,
	/// Every replica of the current round committed: reveals accepted until `until`.
	Revealing { until: BlockNumber },
	/// A round agreed on a result digest: its output must be stored and named (`deliver`) by
	/// `until`; then every replica is judged against it and paid or penalized.
	Delivering { until: BlockNumber },
	Verified,
	Failed,
	/// The job ended (cancelled / expired / failed) before this task did.
	Abandoned,
}

/// A revealed result.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reveal<BlockNumber> {
	/// `gravity_protocol::result::result_digest(output, fuel_used, job, task, round)`: bound to
	/// the replica's round, so it cannot be copied into a later round.
	pub digest: sp_core::H256,
	pub fuel_used: u64,
	pub at: BlockNumber,
}

/// How a replica ended.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplicaOutcome {
	/// Agreed with the verified result: paid, reputation up.
	Agreed,
	/// Revealed a result outside the quorum: slashed, reputation down.
	Dissented,
	/// Missed its commit or reveal deadline, or agreed on a result nobody delivered: slashed,
	/// reputation down.
	NoShow,
	/// Closed without judgement (the job ended, or the task failed without quorum).
	Released,
	/// Given back by the provider before committing (`decline`): no pay, no penalty.
	Declined,
}

impl From<Outcome> for ReplicaOutcome {
	fn from(o: Outcome) -> Self {
		match o {
			Outcome::Agreed => Self::Agreed,
			Outcome::Dissented => Self::Dissented,
			Outcome::NoShow => Self::NoShow,
		}
	}
}

/// One provider's part in a task: the audit record of what it was given, what it sealed, what
/// it revealed, what it was paid and what it lost.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Replica<AccountId, Balance, BlockNumber> {
	pub provider: AccountId,
	/// The round of the task this replica belongs to (its digest is bound to it).
	pub round: u8,
	pub assigned_at: BlockNumber,
	pub commit_deadline: BlockNumber,
	pub commitment: Option<sp_core::H256>,
	pub committed_at: Option<BlockNumber>,
	pub reveal: Option<Reveal<BlockNumber>>,
	pub paid: Balance,
	pub slashed: Balance,
	/// Set when the replica is settled.
	pub outcome: Option<ReplicaOutcome>,
	/// The provider was trusted to run it alone (`check_pending` when assigned): its value
	/// counts in the provider's `SoloValue` until the replica is closed.
	pub alone: bool,
}

impl<A, B, N> Replica<A, B, N> {
	/// Still running (not settled).
	pub fn is_open(&self) -> bool {
		self.outcome.is_none()
	}
}

/// A task as stored: also its permanent audit record.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
#[scale_info(skip_type_params(MaxReplicas))]
pub struct Task<AccountId, Balance, BlockNumber, MaxReplicas: Get<u32>> {
	pub stage: Stage,
	pub program: ContentId,
	pub input: ContentId,
	/// Tile index (render), partition (reduce), number of reducers (map task of a map-reduce
	/// job), 0 otherwise.
	pub param: u32,
	pub phase: TaskPhase<BlockNumber>,
	/// Replicas this task wants right now.
	pub wanted: u8,
	pub quorum: u8,
	/// Assignment requests waiting in the queue for this task.
	pub queued: u8,
	/// Times a queued replica of this task found no eligible provider.
	pub deferrals: u8,
	/// Single replica thanks to adaptive replication (decided after its commit, see
	/// `check_pending`).
	pub trusted: bool,
	/// The only replica runs on a trusted provider and the choice between running it alone and
	/// spot-checking it is drawn in the block after it commits: until then nobody, the provider
	/// included, can tell a solo run from a spot check.
	pub check_pending: bool,
	/// Current round: 0, then one more each time a round ends without a quorum. Only replicas
	/// of the current round decide it.
	pub round: u8,
	/// The digest and fuel the current round agreed on (set in `Delivering`).
	pub agreed: Option<(sp_core::H256, u64)>,
	/// Fresh replicas drawn for this task's dispute (0: no dispute). A task is disputed at
	/// most once: the dispute's round decides by a strict majority of these, and the task may
	/// have this many replicas beyond its policy's `max`.
	pub escalation: u8,
	pub replicas: BoundedVec<Replica<AccountId, Balance, BlockNumber>, MaxReplicas>,
	/// The verified result: the delivered output's content id and the agreed fuel.
	pub result: Option<(ContentId, u64)>,
	pub settled_at: Option<BlockNumber>,
}

/// One entry of the assignment queue: `task` of `job` needs one more replica; the block is
/// when the entry was first queued (a deferred entry keeps it: no entry waits longer than
/// `max_placement_wait`).
pub type QueueEntry<BlockNumber> = (JobId, TaskIndex, BlockNumber);

/// One step of a provider's work on a task, for `batch`: the same checks, effects, events and
/// errors as the call of the same name.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq,
	Debug,
)]
pub enum ProviderAction {
	/// `commit(job, task, commitment)`.
	Commit { job: JobId, task: TaskIndex, commitment: sp_core::H256 },
	/// `reveal(job, task, digest, fuel_used, salt)`.
	Reveal { job: JobId, task: TaskIndex, digest: sp_core::H256, fuel_used: u64, salt: [u8; 32] },
	/// `deliver(job, task, output)`.
	Deliver { job: JobId, task: TaskIndex, output: ContentId },
	/// `decline(job, task)`.
	Decline { job: JobId, task: TaskIndex },
}

/// The market's windows, in blocks (`MarketApi::windows`, [`ConfigRecord::windows`]).
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq,
	Debug,
)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Windows<BlockNumber> {
	/// Blocks from assignment to the last block a commitment is accepted.
	pub commit: BlockNumber,
	/// Blocks reveals are accepted once the reveal phase opens.
	pub reveal: BlockNumber,
	/// Blocks the agreeing replicas of a round have to store the output and name it
	/// (`deliver`) before they are no-shows and the task fails (refunded).
	pub delivery: BlockNumber,
}

impl<BlockNumber: sp_runtime::traits::AtLeast32BitUnsigned + Copy> Windows<BlockNumber> {
	/// The last block a job with `deadline` may still need its data (and its outputs must be
	/// kept) under these windows: a task sealed before the deadline may still reveal and deliver
	/// after it. One formula for the chain (`Pallet::retention`) and the provider nodes.
	pub fn retention(&self, deadline: BlockNumber) -> BlockNumber {
		deadline
			.saturating_add(self.commit)
			.saturating_add(self.reveal)
			.saturating_add(self.delivery)
			.saturating_add(2u32.into())
	}
}

/// The market's governed configuration: what operators change without a runtime upgrade, set
/// by `configure` (the runtime's `AdminOrigin`) within the bounds `configure` checks (the
/// market README lists them). A change applies from the next use: deadlines already set keep
/// the windows they were set with; payouts, penalties and draws after the change use the new
/// values.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq,
	Debug,
)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ConfigRecord<BlockNumber, Balance> {
	/// The commit, reveal and delivery windows. Commit ≥ 4 blocks and at most half of
	/// [`ROOM_HISTORY`](crate::ROOM_HISTORY) (the no-room rule looks back over a commit window
	/// and its extension), reveal and delivery ≥ 2 blocks, and the three together at most half
	/// of `MaxJobDuration`.
	pub windows: Windows<BlockNumber>,
	/// The longest a queued replica waits for a provider, busy ones included: an entry still
	/// unplaced this many blocks after it was queued fails its task (`Unplaceable`, its escrow
	/// share refunded). Every queue entry, and so every task, ends within a bound whatever the
	/// providers do: a cartel that keeps its class busy cannot hold the queue, or an honest
	/// provider's committed sibling, hostage. At least the commit window, at most
	/// `MaxJobDuration`.
	pub max_placement_wait: BlockNumber,
	/// Times a queued replica may find no provider that matches and is online before its task
	/// fails (and its share of escrow is refunded). Deferrals because matching providers are
	/// all busy (at their declared concurrency) do not count: that is load, not an unservable
	/// job. At least 1.
	pub max_deferrals: u8,
	/// Deposit per replica a job queues at submission, held from the requester until the job
	/// ends and then returned: queue space costs capital in proportion to its use. Not zero.
	pub queue_deposit: Balance,
	/// Share of every payment to a provider that goes to the payout policy's beneficiary (the
	/// treasury). At most 50 %.
	pub protocol_fee: sp_runtime::Perbill,
	/// Probability that a would-be solo task is replicated after all (drawn after its commit);
	/// it is also the `p` of the cheating inequality `V ≤ p·S` (a lower rate lets less value
	/// run alone; zero, none).
	pub spot_check_rate: sp_runtime::Perbill,
	/// Share of its bond a provider loses for a dissent or a no-show (to the penalty policy's
	/// beneficiary, the treasury). At least 1 %.
	pub slash_fraction: sp_runtime::Perbill,
	/// Largest fuel cap a job may set: what the slowest accepted device runs well inside one
	/// commit window (shorten the window, lower this with it), so that no provider is a no-show
	/// for a job it could not finish. At least 1, at most the hard bound `MaxFuelCap`.
	pub max_fuel_cap: u64,
}

/// How many closed replicas a provider's work log keeps ([`ProviderWork::recent`]).
pub const WORK_LOG_LEN: u32 = 32;

/// One closed replica in a provider's work log: which task, how it ended, what it was paid and
/// what it lost. The task's own record (`Tasks`) has the rest (commitment, reveal, fuel).
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct WorkEntry<Balance, BlockNumber> {
	pub job: JobId,
	pub task: TaskIndex,
	/// The task's round the replica belonged to.
	pub round: u8,
	pub outcome: ReplicaOutcome,
	/// Paid to the provider (after the protocol fee).
	pub paid: Balance,
	/// Taken from the provider's bond.
	pub slashed: Balance,
	/// The block in which the replica was closed.
	pub at: BlockNumber,
}

/// What the market keeps per provider, in one record read and written wherever a replica is
/// assigned or closed (so the log costs no extra storage access): the replicas it holds now
/// (its load), its newest closed replicas, and lifetime totals that outlive the log.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
#[scale_info(skip_type_params(MaxOpen))]
pub struct ProviderWork<Balance, BlockNumber, MaxOpen: Get<u32>> {
	/// The replicas the provider holds now, as `(job, task)` (its load).
	pub open: BoundedVec<(JobId, TaskIndex), MaxOpen>,
	/// The newest closed replicas, oldest first, at most [`WORK_LOG_LEN`].
	pub recent: BoundedVec<WorkEntry<Balance, BlockNumber>, frame_support::traits::ConstU32<WORK_LOG_LEN>>,
	/// Everything the provider was ever paid for replicas (after the protocol fee).
	pub earned: Balance,
	/// Everything ever taken from its bond for replicas.
	pub slashed: Balance,
	/// Replicas it ever closed, whatever their outcome.
	pub closed: u32,
}

impl<Balance: Default, BlockNumber, MaxOpen: Get<u32>> Default for ProviderWork<Balance, BlockNumber, MaxOpen> {
	fn default() -> Self {
		Self {
			open: BoundedVec::new(),
			recent: BoundedVec::new(),
			earned: Balance::default(),
			slashed: Balance::default(),
			closed: 0,
		}
	}
}

impl<Balance: Saturating + Copy, BlockNumber, MaxOpen: Get<u32>> ProviderWork<Balance, BlockNumber, MaxOpen> {
	/// Record a closed replica: the totals grow, the entry goes last in the log and the oldest
	/// entry leaves it once the log is full.
	pub fn log(&mut self, entry: WorkEntry<Balance, BlockNumber>) {
		self.earned = self.earned.saturating_add(entry.paid);
		self.slashed = self.slashed.saturating_add(entry.slashed);
		self.closed = self.closed.saturating_add(1);
		if self.recent.len() as u32 >= WORK_LOG_LEN {
			self.recent.remove(0);
		}
		// Cannot fail: there is room now.
		let _ = self.recent.try_push(entry);
	}
}
