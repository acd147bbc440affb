//! The provider's event loop, shaped like rust-libp2p's `file-sharing` example: [`EventLoop`]
//! owns the state (records, what was sent, what runs) and handles one event kind, a new best
//! block, by a handler per concern (heartbeat, expired uploads, each replica). What to do for a
//! replica is decided by the pure function [`crate::decide::decide`]; the handlers only gather
//! its [`Situation`] and carry out its [`Step`].

use crate::{
	chain::{Submitter, KEY_TYPE},
	decide::{decide, decline_from, Situation, Step, GIVE_UP_BEFORE, RUN_ENDS_BEFORE},
	inputs::{plan, RunPlan},
	run::{Run, Sealed},
	state::{Record, Records},
};
use futures::StreamExt;
use gravity_data_swarm::DataService;
use gravity_executor::{Executor, Limits};
use gravity_primitives::{JobId, TaskIndex};
use sc_network::PeerId;
use gravity_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce, Runtime, RuntimeCall};
use pallet_gravity_content::runtime_api::ContentApi;
use pallet_gravity_market::{runtime_api::MarketApi, TaskPhase};
use pallet_gravity_providers::runtime_api::ProvidersApi;
use sc_client_api::BlockchainEvents;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::offchain::OffchainStorage;
use sp_keystore::KeystorePtr;
use sp_runtime::traits::{Block as BlockT, Header as HeaderT};
use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

pub(crate) const LOG: &str = "gravity-provider";
/// The bound of a task's replicas as the runtime stores them.
type MaxReplicas = pallet_gravity_market::ReplicaBoundOf<Runtime>;
pub(crate) type Hash = <Block as BlockT>::Hash;

/// What the provider service needs from the node.
pub struct ProviderParams<C, P, S> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	pub keystore: KeystorePtr,
	/// The node's persistent off-chain storage.
	pub offchain_storage: S,
	/// Tasks executed at once at most.
	pub max_concurrent: usize,
	/// Sandbox limits (the fuel cap of each task comes from its job).
	pub limits: Limits,
	/// Compile modules in this worker process (`program args…`) with these limits; `None`
	/// compiles in the node's own process.
	pub compile_worker: Option<(std::path::PathBuf, Vec<String>, gravity_executor::WorkerLimits)>,
	/// The node's data plane: job inputs are fetched into its content store, outputs are kept
	/// there and served to the requester.
	pub data: DataService,
	/// The node's network peer id, registered on chain (`providers.set_endpoint`) so that
	/// requesters and other providers know where to fetch from.
	pub peer_id: PeerId,
	/// Signs with the node's network key (the key `peer_id` names): the proof that this node
	/// agrees to be the provider's endpoint (`gravity_primitives::endpoint_proof_message`).
	pub sign_with_network_key: NetworkSigner,
}

/// See [`ProviderParams::sign_with_network_key`]: `None` when the key cannot sign.
pub type NetworkSigner = Arc<dyn Fn(Vec<u8>) -> Option<gravity_primitives::EndpointProof> + Send + Sync>;

/// Kinds of submissions, to avoid resubmitting the same one every block.
#[derive(Hash, PartialEq, Eq, Clone, Copy, Debug)]
enum Action {
	Commit,
	Reveal,
	Deliver,
	Heartbeat,
	Decline,
	Endpoint,
	/// Lowering the declared `max_concurrent` to what the node runs.
	Capacity,
}

/// The intervals the provider paces itself by, read from the chain at every block (so a runtime
/// upgrade that changes them is followed without rebuilding the node); the values compiled into
/// the node stand in only if the runtime does not answer.
#[derive(Clone, Copy, Debug)]
struct Intervals {
	windows: pallet_gravity_market::Windows<BlockNumber>,
	heartbeat_timeout: BlockNumber,
}

impl Intervals {
	fn compiled() -> Self {
		use sp_core::Get;
		Intervals {
			windows: gravity_runtime::configs::market_configuration().windows,
			heartbeat_timeout: <Runtime as pallet_gravity_providers::Config>::HeartbeatTimeout::get(),
		}
	}

	/// Blocks to keep trying to fetch a task's data before declining the replica
	/// (`market.decline`: no penalty) rather than let its commit window run out (a no-show,
	/// slashed): half the window.
	fn decline_after(&self) -> BlockNumber {
		self.windows.commit / 2
	}

	/// A heartbeat at half the timeout (the chain takes one for free from a quarter on).
	fn heartbeat_every(&self) -> BlockNumber {
		self.heartbeat_timeout / 2
	}
}

/// The runtime APIs the provider service reads (one name for the four).
pub trait ProviderRuntimeApi:
	MarketApi<Block, AccountId, Balance, BlockNumber, MaxReplicas>
	+ ContentApi<Block>
	+ ProvidersApi<Block, AccountId, Balance, BlockNumber>
	+ frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce>
{
}

impl<A> ProviderRuntimeApi for A where
	A: MarketApi<Block, AccountId, Balance, BlockNumber, MaxReplicas>
		+ ContentApi<Block>
		+ ProvidersApi<Block, AccountId, Balance, BlockNumber>
		+ frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce>
{
}

/// Blocks to wait before resubmitting an action the chain has not reflected yet.
const RESUBMIT_AFTER: u32 = 4;

/// Run the provider service until the node stops.
pub async fn run<C, P, S>(params: ProviderParams<C, P, S>)
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + BlockchainEvents<Block> + Send + Sync + 'static,
	C::Api: ProviderRuntimeApi,
	P: TransactionPool<Block = Block> + 'static,
	S: OffchainStorage + Clone + Send + 'static,
{
	let Some(public) = params.keystore.sr25519_public_keys(KEY_TYPE).into_iter().next() else {
		log::error!(target: LOG, "no provider key (type `grav`) in the keystore: insert one with `gravity-node key insert --key-type grav --scheme sr25519`; provider service not started");
		return
	};
	let executor = match Executor::new(32) {
		Ok(e) => match params.compile_worker.clone() {
			Some((program, args, limits)) => e.with_compile_worker(program, args, limits),
			None => e,
		},
		Err(e) => {
			log::error!(target: LOG, "cannot start the task sandbox: {e}");
			return
		},
	};
	let submitter = Submitter::new(params.client.clone(), params.pool.clone(), params.keystore.clone(), public);
	let account = submitter.account.clone();
	let records = Records::new(params.offchain_storage.clone(), public.0);
	log::info!(target: LOG, "provider service started for {account} (max {} concurrent tasks)", params.max_concurrent);
	// Outputs stay off chain, in the node's content store: every output the executor accepts
	// can be delivered.
	let limits = params.limits.clone();
	let event_loop = EventLoop {
		data: params.data,
		peer_id: params.peer_id,
		sign_with_network_key: params.sign_with_network_key,
		client: params.client,
		max_concurrent: params.max_concurrent,
		submitter,
		account,
		records,
		executor,
		limits,
		running: Default::default(),
		unable: Default::default(),
		decline_since: HashMap::new(),
		sent: HashMap::new(),
		intervals: Intervals::compiled(),
	};
	event_loop.run().await
}

/// The provider's state and its handlers.
struct EventLoop<C, P, S> {
	client: Arc<C>,
	data: DataService,
	peer_id: PeerId,
	sign_with_network_key: NetworkSigner,
	max_concurrent: usize,
	submitter: Submitter<C, P>,
	account: AccountId,
	records: Records<S>,
	executor: Executor,
	limits: Limits,
	/// Tasks fetching their data or running on blocking threads now.
	running: Arc<Mutex<HashSet<(JobId, TaskIndex)>>>,
	/// Tasks this machine could not run (`Failure::Aborted`: not a result): declined.
	unable: Arc<Mutex<HashSet<(JobId, TaskIndex)>>>,
	/// Since which block each replica that must be declined has had to be (see
	/// [`decline_from`]).
	decline_since: HashMap<(JobId, TaskIndex), BlockNumber>,
	/// What was submitted at which block, not to resubmit it before `RESUBMIT_AFTER`.
	sent: HashMap<(JobId, TaskIndex, Action), BlockNumber>,
	/// The chain's windows and heartbeat timeout, as of the last block.
	intervals: Intervals,
}

impl<C, P, S> EventLoop<C, P, S>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + BlockchainEvents<Block> + Send + Sync + 'static,
	C::Api: ProviderRuntimeApi,
	P: TransactionPool<Block = Block> + 'static,
	S: OffchainStorage + Clone + Send + 'static,
{
	/// The loop: one event kind, a new best block.
	async fn run(mut self) {
		let mut blocks = self.client.import_notification_stream();
		while let Some(n) = blocks.next().await {
			// Act on the chain's tip only: while a (re)started node catches up, every imported
			// block is "new best" for a moment, and acting on those stale states would resend
			// what later blocks already hold (a reveal that fails, and costs its fee).
			if n.is_new_best && self.client.info().best_hash == n.hash {
				self.on_best_block(*n.header.number(), n.hash).await;
			}
		}
	}

	fn due(&self, key: (JobId, TaskIndex, Action)) -> bool {
		!self.sent.contains_key(&key)
	}

	/// Submit `call` once per `RESUBMIT_AFTER` blocks for `key`, logging what happened.
	async fn send(&mut self, at: Hash, number: BlockNumber, key: (JobId, TaskIndex, Action), call: RuntimeCall, done: &str) {
		if !self.due(key) {
			return
		}
		match self.submitter.submit(at, call).await {
			Ok(()) => log::info!(target: LOG, "job {} task {}: {done}", key.0, key.1),
			Err(e) => log::warn!(target: LOG, "job {} task {}: {:?} not submitted: {e}", key.0, key.1, key.2),
		}
		self.sent.insert(key, number);
	}

	async fn on_best_block(&mut self, number: BlockNumber, at: Hash) {
		self.sent.retain(|_, b| number.saturating_sub(*b) < RESUBMIT_AFTER);
		// A replica decides to decline at most a commit window after its assignment.
		let keep = self.intervals.windows.commit.saturating_mul(2);
		self.decline_since.retain(|_, b| number.saturating_sub(*b) < keep);
		let api = self.client.runtime_api();
		let compiled = Intervals::compiled();
		self.intervals = Intervals {
			windows: api.windows(at).unwrap_or(compiled.windows),
			heartbeat_timeout: api.heartbeat_timeout(at).unwrap_or(compiled.heartbeat_timeout),
		};
		self.heartbeat(number, at).await;
		self.announce_endpoint(number, at).await;
		let assignments = match self.client.runtime_api().assignments(at, self.account.clone()) {
			Ok(a) => a,
			Err(e) => {
				log::warn!(target: LOG, "cannot read assignments: {e}");
				return
			},
		};
		for (job_id, task_idx, task) in assignments {
			self.on_replica(number, at, job_id, task_idx, task).await;
		}
	}

	/// A heartbeat at half the chain's timeout (it takes one for free from a quarter on).
	async fn heartbeat(&mut self, number: BlockNumber, at: Hash) {
		let Ok(Some(info)) = self.client.runtime_api().provider(at, self.account.clone()) else { return };
		// The chain assigns up to the declared number of tasks at once; this node runs
		// `max_concurrent`. A declaration above what the node runs would have replicas wait
		// for a slot and be declined at their decline point, so the node lowers it to match
		// (one `updateCapabilities`, everything else as declared).
		let declared = usize::from(info.capabilities.max_concurrent);
		if declared > self.max_concurrent && self.due((0, 0, Action::Capacity)) {
			let runs = u16::try_from(self.max_concurrent).unwrap_or(u16::MAX).max(1);
			log::info!(
				target: LOG,
				"this provider declares {declared} concurrent tasks on chain but the node runs {runs} (--provider-max-tasks): declaring {runs}"
			);
			let capabilities = gravity_primitives::Capabilities { max_concurrent: runs, ..info.capabilities.clone() };
			let call = RuntimeCall::Providers(pallet_gravity_providers::Call::update_capabilities { capabilities });
			if let Err(e) = self.submitter.submit(at, call).await {
				log::warn!(target: LOG, "capacity not declared: {e}");
			}
			self.sent.insert((0, 0, Action::Capacity), number);
		}
		let every = self.intervals.heartbeat_every();
		if number.saturating_sub(info.last_heartbeat) >= every && self.due((0, 0, Action::Heartbeat)) {
			let call = RuntimeCall::Providers(pallet_gravity_providers::Call::heartbeat {});
			if let Err(e) = self.submitter.submit(at, call).await {
				log::warn!(target: LOG, "heartbeat not submitted: {e}");
			}
			self.sent.insert((0, 0, Action::Heartbeat), number);
		}
	}

	/// Register this node's peer id on chain when the chain has another one (or none): the
	/// chain is the data plane's tracker.
	async fn announce_endpoint(&mut self, number: BlockNumber, at: Hash) {
		let api = self.client.runtime_api();
		if !matches!(api.provider(at, self.account.clone()), Ok(Some(_))) {
			return
		}
		let mine = self.peer_id.to_bytes();
		if api.endpoint(at, self.account.clone()).ok().flatten().as_deref() == Some(&mine[..]) ||
			!self.due((0, 0, Action::Endpoint))
		{
			return
		}
		let Ok(peer_id) = gravity_primitives::PeerIdBytes::try_from(mine) else {
			log::error!(target: LOG, "peer id {} is longer than the chain records", self.peer_id);
			return
		};
		let Some(proof) = (self.sign_with_network_key)(gravity_primitives::endpoint_proof_message(&self.account)) else {
			log::error!(target: LOG, "the network key of {} cannot sign the endpoint proof (not Ed25519?)", self.peer_id);
			self.sent.insert((0, 0, Action::Endpoint), number);
			return
		};
		let call = RuntimeCall::Providers(pallet_gravity_providers::Call::set_endpoint { peer_id, proof });
		match self.submitter.submit(at, call).await {
			Ok(()) => log::info!(target: LOG, "data endpoint {} registered on chain", self.peer_id),
			Err(e) => log::warn!(target: LOG, "data endpoint not submitted: {e}"),
		}
		self.sent.insert((0, 0, Action::Endpoint), number);
	}

	/// One replica of ours: gather its situation, decide, act.
	async fn on_replica(
		&mut self,
		number: BlockNumber,
		at: Hash,
		job_id: JobId,
		task_idx: TaskIndex,
		task: pallet_gravity_market::TaskOf<Runtime>,
	) {
		let account = self.account.clone();
		let Some(me) = task.replicas.iter().find(|r| r.provider == account && r.outcome.is_none()) else { return };
		let rec = self.records.get(job_id, task_idx);
		// What this replica reveals: the result's digest for its own round.
		let sealed_by = |rec: &Record| {
			let digest = pallet_gravity_market::digest_of(&rec.output, rec.fuel_used, job_id, task_idx, me.round);
			let commitment =
				pallet_gravity_market::commitment_of(&digest, rec.fuel_used, &account, job_id, task_idx, &rec.salt);
			(digest, commitment)
		};
		let agreed_with_us = task.agreed.is_some_and(|a| me.reveal.is_some_and(|rv| (rv.digest, rv.fuel_used) == a));
		// Agreeing replicas deliver one after another, two blocks apart, in replica order.
		let delivery_slot_open = match task.phase {
			TaskPhase::Delivering { until } => {
				let slot = task
					.replicas
					.iter()
					.filter(|r| r.outcome.is_none() && r.round == task.round && r.reveal.is_some_and(|rv| Some((rv.digest, rv.fuel_used)) == task.agreed))
					.position(|r| r.provider == account)
					.unwrap_or(0) as BlockNumber;
				number >= crate::decide::delivery_slot_opens(until, self.intervals.windows.delivery, slot)
			},
			_ => false,
		};
		let key = (job_id, task_idx);
		let (running, at_capacity) = {
			let run = self.running.lock().expect("lock");
			(run.contains(&key), run.len() >= self.max_concurrent)
		};
		let situation = Situation {
			phase: task.phase,
			committed: me.commitment,
			revealed: me.reveal.is_some(),
			agreed_with_us,
			delivery_slot_open,
			local: rec.as_ref().map(|r| sealed_by(r).1),
			running,
			at_capacity,
			unable: self.unable.lock().expect("lock").contains(&key),
			past_decline_point: number.saturating_sub(me.assigned_at) >= self.intervals.decline_after(),
			out_of_time: number.saturating_add(GIVE_UP_BEFORE) >= me.commit_deadline,
		};
		match (decide(&situation), rec) {
			(Step::Wait, _) => {},
			(Step::Commit, Some(rec)) => {
				let (_, commitment) = sealed_by(&rec);
				let call = RuntimeCall::Market(pallet_gravity_market::Call::commit { job: job_id, task: task_idx, commitment });
				self.send(at, number, (job_id, task_idx, Action::Commit), call, &format!("committed (fuel {})", rec.fuel_used)).await;
			},
			(Step::Reveal, Some(rec)) => {
				let (digest, _) = sealed_by(&rec);
				let call = RuntimeCall::Market(pallet_gravity_market::Call::reveal {
					job: job_id,
					task: task_idx,
					digest,
					fuel_used: rec.fuel_used,
					salt: rec.salt,
				});
				self.send(at, number, (job_id, task_idx, Action::Reveal), call, &format!("revealed (round {})", me.round)).await;
			},
			(Step::Deliver, Some(rec)) => self.deliver(number, at, job_id, task_idx, rec).await,
			(Step::Decline, _) => self.decline(number, at, job_id, task_idx, &task, "could not run here; declined").await,
			(Step::Run { decline_if_missing }, _) => match plan(&*self.client, at, job_id, &task, &self.account, &self.executor) {
				Some(plan) => {
					let decline_at = me.assigned_at.saturating_add(self.intervals.decline_after());
					self.spawn_run(number, at, job_id, task_idx, plan, decline_at, me.commit_deadline)
				},
				None if decline_if_missing =>
					self.decline(number, at, job_id, task_idx, &task, "program not available; declined").await,
				None => {},
			},
			(Step::CannotReveal, rec) => log::error!(
				target: LOG,
				"job {job_id} task {task_idx}: {}; not revealing",
				if rec.is_some() { "on-chain commitment is not ours" } else { "committed on chain but no local record" }
			),
			// A step that needs the record was decided with one: cannot happen.
			(Step::Commit | Step::Reveal | Step::Deliver, None) => {},
		}
	}

	/// Give our replica back, in its turn among the task's replicas that give up together
	/// ([`decline_from`]).
	async fn decline(
		&mut self,
		number: BlockNumber,
		at: Hash,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &pallet_gravity_market::TaskOf<Runtime>,
		done: &str,
	) {
		let account = self.account.clone();
		let Some(me) = task.replicas.iter().find(|r| r.provider == account && r.is_open()) else { return };
		let since = *self.decline_since.entry((job_id, task_idx)).or_insert(number);
		let position = task
			.replicas
			.iter()
			.filter(|r| r.is_open() && r.commitment.is_none())
			.position(|r| r.provider == account)
			.unwrap_or(0) as BlockNumber;
		let from = decline_from(since, position, me.commit_deadline);
		if number < from {
			log::debug!(target: LOG, "job {job_id} task {task_idx}: declining at block {from} (replica {position} giving up)");
			return
		}
		let call = RuntimeCall::Market(pallet_gravity_market::Call::decline { job: job_id, task: task_idx });
		self.send(at, number, (job_id, task_idx, Action::Decline), call, done).await;
	}

	/// Our round agreed with us and our slot came: name the output, which this node keeps in its
	/// content store (put there before the commitment was sealed) and serves to the requester.
	async fn deliver(&mut self, number: BlockNumber, at: Hash, job_id: JobId, task_idx: TaskIndex, rec: Record) {
		if !self.due((job_id, task_idx, Action::Deliver)) {
			return
		}
		let id = rec.output;
		if !self.data.is_complete(&id) {
			// Only if someone deleted it behind the node's back: naming an output nobody can
			// fetch would be paid for work the requester never gets.
			log::error!(target: LOG, "job {job_id} task {task_idx}: output {id} is no longer in the content store; not delivering");
			self.sent.insert((job_id, task_idx, Action::Deliver), number);
			return
		}
		let call = RuntimeCall::Market(pallet_gravity_market::Call::deliver { job: job_id, task: task_idx, output: rec.output });
		let done = format!("delivered {id}");
		self.send(at, number, (job_id, task_idx, Action::Deliver), call, &done).await;
	}

	/// Fetch a task's input (unless it is on chain or here already), then run it on a blocking
	/// thread; the output goes into the content store and then the record is written, once,
	/// before anything is sent ([`crate::run::Run`]). The fetch has until the decline point
	/// (block `decline_at`, half the commit window): a fetch that fails earlier is tried again
	/// at a later block, one that has not succeeded by then is given up and the replica
	/// declined (free), so an unreachable source never turns an honest provider into a slashed
	/// no-show.
	///
	/// The run itself must end [`RUN_ENDS_BEFORE`] blocks before the commit deadline (its CPU
	/// time is also limited by its fuel cap): one that does not is aborted and declined.
	#[allow(clippy::too_many_arguments)]
	fn spawn_run(
		&mut self,
		number: BlockNumber,
		at: Hash,
		job_id: JobId,
		task_idx: TaskIndex,
		plan: RunPlan,
		decline_at: BlockNumber,
		commit_deadline: BlockNumber,
	) {
		// Only this loop inserts, so the capacity decided on still holds.
		self.running.lock().expect("lock").insert((job_id, task_idx));
		let ms = |blocks: BlockNumber| u64::from(blocks).saturating_mul(gravity_runtime::MILLI_SECS_PER_BLOCK);
		let run_ends_in = Duration::from_millis(ms(commit_deadline.saturating_sub(RUN_ENDS_BEFORE).saturating_sub(number)));
		let limits = Limits { fuel_cap: plan.fuel_cap, deadline: Some(Instant::now() + run_ends_in), ..self.limits.clone() };
		// Keep job data (inputs fetched, outputs computed) for the job's retention, with an
		// hour of margin: until then the requester and other providers may fetch it from here.
		let keep_until = gravity_data_store::now_secs()
			.saturating_add(ms(plan.retention.saturating_sub(number)) / 1000)
			.saturating_add(3600);
		// Time left until the decline point (at least a few seconds, for a fetch that is only a
		// read of the store).
		let fetch_budget = Duration::from_millis(ms(decline_at.saturating_sub(number)).max(3_000));
		let give_up_at = crate::run::give_up_at(Instant::now(), fetch_budget);
		let run = Run {
			client: self.client.clone(),
			at,
			job_id,
			task_idx,
			plan,
			executor: self.executor.clone(),
			data: self.data.clone(),
			limits,
			keep_until,
			fetch_budget,
		};
		let (running, unable, mut records) = (self.running.clone(), self.unable.clone(), self.records.clone());
		tokio::spawn(async move {
			match run.execute().await {
				Ok(Sealed { record, run_ms }) => {
					let rec = records.put_once(job_id, task_idx, &record);
					log::info!(
						target: LOG,
						"job {job_id} task {task_idx}: done in {run_ms} ms, fuel {}, output {}, {}",
						rec.fuel_used,
						rec.output,
						rec.failure.clone().unwrap_or_else(|| "ok".into())
					);
				},
				Err(e) if e.gives_up(Instant::now() >= give_up_at) => {
					log::warn!(target: LOG, "job {job_id} task {task_idx}: {e}; declining");
					unable.lock().expect("lock").insert((job_id, task_idx));
				},
				Err(e) => log::info!(target: LOG, "job {job_id} task {task_idx}: {e}; trying again"),
			}
			running.lock().expect("lock").remove(&(job_id, task_idx));
		});
	}
}
