//! The provider's event loop, shaped like rust-libp2p's `file-sharing` example: [`EventLoop`]
//! owns the state (records, what was sent, what runs) and handles one event kind, a new best
//! block, by a handler per concern (heartbeat, expired uploads, each replica). What to do for a
//! replica is decided by the pure function [`crate::decide::decide`]; the handlers only gather
//! its [`Situation`] and carry out its [`Step`].

use crate::{
	chain::{Submitter, KEY_TYPE},
	decide::{decide, decline_from, Situation, Step, GIVE_UP_BEFORE, RUN_ENDS_BEFORE},
	state::{Record, Records},
};
use futures::StreamExt;
use gravity_data_swarm::DataService;
use gravity_executor::{input::TaskInput, Executor, Limits};
use gravity_primitives::{ContentId, JobId, TaskIndex};
use sc_network::PeerId;
use gravity_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce, Runtime, RuntimeCall};
use pallet_gravity_content::runtime_api::ContentApi;
use pallet_gravity_market::{runtime_api::MarketApi, JobKind, Stage, TaskPhase};
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
};

const LOG: &str = "gravity-provider";
/// The bound of a task's replicas as the runtime stores them.
type MaxReplicas = pallet_gravity_market::ReplicaBoundOf<Runtime>;
type Hash = <Block as BlockT>::Hash;

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
			windows: pallet_gravity_market::Windows {
				commit: <Runtime as pallet_gravity_market::Config>::CommitWindow::get(),
				reveal: <Runtime as pallet_gravity_market::Config>::RevealWindow::get(),
				delivery: <Runtime as pallet_gravity_market::Config>::DeliveryWindow::get(),
			},
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
			(Step::Run { decline_if_missing }, _) => match plan(&*self.client, at, job_id, &task, &self.account) {
				Some(plan) => {
					let decline_at = me.assigned_at.saturating_add(self.intervals.decline_after());
					self.spawn_run(number, job_id, task_idx, plan, decline_at, me.commit_deadline)
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
		let id = gravity_protocol::content::ContentId::from(rec.output);
		if self.data.store().state(&id) != gravity_data_store::State::Complete {
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
	/// before anything is sent. The fetch has until the decline point (block `decline_at`, half
	/// the commit window): a fetch that fails earlier is tried again at a later block, one that
	/// has not succeeded by then is given up and the replica declined (free), so an unreachable
	/// source never turns an honest provider into a slashed no-show.
	///
	/// The run itself must end [`RUN_ENDS_BEFORE`] blocks before the commit deadline (its CPU
	/// time is also limited by its fuel cap): one that does not is aborted and declined.
	fn spawn_run(
		&mut self,
		number: BlockNumber,
		job_id: JobId,
		task_idx: TaskIndex,
		plan: RunPlan,
		decline_at: BlockNumber,
		commit_deadline: BlockNumber,
	) {
		// Only this loop inserts, so the capacity decided on still holds.
		self.running.lock().expect("lock").insert((job_id, task_idx));
		let (executor, running, unable, mut records, data) =
			(self.executor.clone(), self.running.clone(), self.unable.clone(), self.records.clone(), self.data.clone());
		let run_ends_in = std::time::Duration::from_millis(
			u64::from(commit_deadline.saturating_sub(RUN_ENDS_BEFORE).saturating_sub(number))
				.saturating_mul(gravity_runtime::MILLI_SECS_PER_BLOCK),
		);
		let limits = Limits {
			fuel_cap: plan.fuel_cap,
			deadline: Some(std::time::Instant::now() + run_ends_in),
			..self.limits.clone()
		};
		// Keep job data (inputs fetched, outputs computed) for the job's retention, with an
		// hour of margin: until then the requester and other providers may fetch it from here.
		let keep_until = gravity_data_store::now_secs()
			.saturating_add(u64::from(plan.retention.saturating_sub(number)) * gravity_runtime::MILLI_SECS_PER_BLOCK / 1000)
			.saturating_add(3600);
		// Time left until the decline point (at least a few seconds, for a fetch that is only a
		// read of the store).
		let fetch_budget = std::time::Duration::from_millis(
			u64::from(decline_at.saturating_sub(number)).saturating_mul(gravity_runtime::MILLI_SECS_PER_BLOCK).max(3_000),
		);
		let give_up_at = std::time::Instant::now() + fetch_budget.saturating_sub(std::time::Duration::from_millis(500));
		tokio::spawn(async move {
			let done = |running: &Arc<Mutex<HashSet<(JobId, TaskIndex)>>>| {
				running.lock().expect("lock").remove(&(job_id, task_idx));
			};
			let fetched = tokio::time::timeout(fetch_budget, fetch_input(&data, &plan.input, keep_until))
				.await
				.unwrap_or_else(|_| Err("input not fetched by the decline point".into()));
			let input = match fetched {
				Ok(input) => input,
				Err(e) => {
					if std::time::Instant::now() >= give_up_at {
						log::warn!(target: LOG, "job {job_id} task {task_idx}: {e}; declining");
						unable.lock().expect("lock").insert((job_id, task_idx));
					} else {
						log::info!(target: LOG, "job {job_id} task {task_idx}: {e}; trying again");
					}
					done(&running);
					return
				},
			};
			log::info!(target: LOG, "job {job_id} task {task_idx}: running ({} bytes in)", input.len());
			let program_hash = plan.program_id.root.0;
			let program = plan.program;
			let ran = tokio::task::spawn_blocking(move || {
				let seed = gravity_protocol::result::task_seed(job_id, task_idx);
				executor.run(program_hash, &program, input, seed, &limits)
			})
			.await;
			let Ok((result, stats)) = ran else {
				done(&running);
				return
			};
			if let Err(gravity_executor::Failure::Aborted(why)) = &result.outcome {
				// Not a result: nothing is sealed; the replica is declined (free).
				log::warn!(target: LOG, "job {job_id} task {task_idx}: not run here: {why}");
				unable.lock().expect("lock").insert((job_id, task_idx));
				done(&running);
				return
			}
			// The output into the content store first: a sealed result is always deliverable.
			let expected = result.output_id();
			let stored = data.put_bytes(result.deliverable()).await;
			let output = match stored {
				Ok(id) if id == expected => id,
				Ok(id) => {
					log::error!(target: LOG, "job {job_id} task {task_idx}: stored output {id} is not the result {expected}; not sealing");
					unable.lock().expect("lock").insert((job_id, task_idx));
					done(&running);
					return
				},
				Err(e) => {
					log::warn!(target: LOG, "job {job_id} task {task_idx}: cannot keep the output ({e}); declining");
					unable.lock().expect("lock").insert((job_id, task_idx));
					done(&running);
					return
				},
			};
			if let Err(e) = data.store().keep_until(&output, keep_until) {
				log::warn!(target: LOG, "job {job_id} task {task_idx}: output {output}: {e}");
			}
			let salt: [u8; 32] = rand::random();
			let rec = Record {
				output: output.into(),
				fuel_used: result.fuel_used,
				salt,
				failure: result.outcome.as_ref().err().map(|f| f.to_string()),
			};
			let rec = records.put_once(job_id, task_idx, &rec);
			log::info!(
				target: LOG,
				"job {job_id} task {task_idx}: done in {} ms, fuel {}, output {output}, {}",
				stats.total_ns / 1_000_000,
				rec.fuel_used,
				rec.failure.clone().unwrap_or_else(|| "ok".into())
			);
			done(&running);
		});
	}
}

/// Where a task's input comes from.
enum InputPlan {
	/// On chain (a small input stored with `content.put`): framed with `param` in memory.
	OnChain { param: u32, bytes: Vec<u8> },
	/// Off chain: fetched into the content store from `peers` (and connected peers), then
	/// read by the task in place, behind the 4-byte `param` header.
	Fetch { param: u32, id: ContentId, peers: Vec<PeerId> },
	/// A reduce task: partition `partition` of every map output (each fetched from the
	/// providers that computed it, only the bytes of that partition: `gravity_protocol::partition`),
	/// framed as `gravity_protocol::input::encode_reduce`.
	Reduce { partition: u32, reducers: u32, maps: Vec<(ContentId, Vec<PeerId>)> },
}

/// Everything a run needs, read from the chain at one block.
struct RunPlan {
	program_id: ContentId,
	program: Vec<u8>,
	input: InputPlan,
	fuel_cap: u64,
	/// Last block the job may need its data (`Pallet::retention`).
	retention: BlockNumber,
}

/// Fetch what `plan` needs into the content store and build the task's input.
async fn fetch_input(data: &DataService, plan: &InputPlan, keep_until: u64) -> Result<TaskInput, String> {
	let get = |id: ContentId, peers: Vec<PeerId>| {
		let data = data.clone();
		async move {
			let cid = gravity_protocol::content::ContentId::from(id);
			data.get(cid, peers).await.map_err(|e| format!("input {cid} not fetched: {e}"))?;
			let _ = data.store().keep_until(&cid, keep_until);
			data.store().open_data(&cid).map_err(|e| format!("input {cid}: {e}"))
		}
	};
	match plan {
		InputPlan::OnChain { param, bytes } =>
			Ok(TaskInput::bytes(Arc::new(gravity_protocol::input::encode(*param, bytes)))),
		InputPlan::Fetch { param, id, peers } => {
			let file = get(*id, peers.clone()).await?;
			TaskInput::with_file(param.to_le_bytes().to_vec(), Arc::new(file), id.length)
		},
		InputPlan::Reduce { partition, reducers, maps } => {
			// Each partition verified into the store, then the input written to a file a few
			// MiB at a time and read in place: memory does not grow with the maps.
			let mut parts = Vec::with_capacity(maps.len());
			for (id, peers) in maps {
				parts.push(map_partition(data, *id, *partition, *reducers, peers.clone(), keep_until).await?);
			}
			let store = data.store().clone();
			let (partition, reducers) = (*partition, *reducers);
			tokio::task::spawn_blocking(move || crate::reduce_input::write_reduce_input(&store, partition, reducers, &parts))
				.await
				.map_err(|e| e.to_string())?
		},
	}
}

/// Partition `r` of `reducers` of the map output `id`: its header, then the byte range of the
/// partition, each fetched (verified) from `peers` unless here already; returns the range, now
/// readable in the store. An output that is not a partitioned layout for `reducers` (a failure
/// result, a map task that ignores the layout) is fetched and handed over whole, as every
/// honest node does.
async fn map_partition(
	data: &DataService,
	id: ContentId,
	r: u32,
	reducers: u32,
	peers: Vec<PeerId>,
	keep_until: u64,
) -> Result<(gravity_data_store::ContentId, std::ops::Range<u64>), String> {
	use gravity_protocol::partition;
	let cid = gravity_protocol::content::ContentId::from(id);
	let head_len = partition::header_len(reducers);
	if id.length >= head_len {
		let head = data.get_range(cid, 0..head_len, peers.clone()).await.map_err(|e| format!("map output {cid}: {e}"))?;
		if let Ok(ends) = partition::parse_header(&head, reducers, id.length) {
			let range = partition::range(&ends, reducers, r).ok_or_else(|| format!("map output {cid} has no partition {r}"))?;
			data.fetch_range(cid, range.clone(), peers).await.map_err(|e| format!("map output {cid}: {e}"))?;
			let _ = data.store().keep_until(&cid, keep_until);
			return Ok((cid, range))
		}
	}
	data.get(cid, peers).await.map_err(|e| format!("map output {cid} not fetched: {e}"))?;
	let _ = data.store().keep_until(&cid, keep_until);
	Ok((cid, 0..id.length))
}

/// The peer ids (registered endpoints) of `providers`, and `source` first when given.
fn peers_of<'a, C>(client: &C, at: Hash, source: Option<&[u8]>, providers: impl Iterator<Item = &'a AccountId>) -> Vec<PeerId>
where
	C: ProvideRuntimeApi<Block>,
	C::Api: ProviderRuntimeApi,
{
	let api = client.runtime_api();
	let mut peers: Vec<PeerId> = source.and_then(|s| PeerId::from_bytes(s).ok()).into_iter().collect();
	for p in providers {
		if let Some(peer) = api.endpoint(at, p.clone()).ok().flatten().and_then(|b| PeerId::from_bytes(&b).ok()) {
			if !peers.contains(&peer) {
				peers.push(peer);
			}
		}
	}
	peers
}

/// What running a task needs, if its program is on chain: the program, where the input comes
/// from (the job's source and the task's other providers for an input; the providers that
/// computed each map output for a reducer) and the fuel cap.
fn plan<C>(client: &C, at: Hash, job_id: JobId, task: &pallet_gravity_market::TaskOf<Runtime>, me: &AccountId) -> Option<RunPlan>
where
	C: ProvideRuntimeApi<Block>,
	C::Api: ProviderRuntimeApi,
{
	let api = client.runtime_api();
	let get = |id: ContentId| api.get(at, id).ok().flatten().map(|b| b.bytes);
	let job = api.job(at, job_id).ok().flatten()?;
	let program = get(task.program).or_else(|| {
		log::debug!(target: LOG, "job {job_id}: program {:?} not available", task.program);
		None
	})?;
	let source = job.source.as_ref().map(|s| &s[..]);
	let input = match task.stage {
		Stage::Map => match get(task.input) {
			Some(bytes) => InputPlan::OnChain { param: task.param, bytes },
			None => {
				let others = task.replicas.iter().map(|r| &r.provider).filter(|p| *p != me);
				InputPlan::Fetch { param: task.param, id: task.input, peers: peers_of(client, at, source, others) }
			},
		},
		Stage::Reduce => {
			let JobKind::MapReduce { reducers, .. } = job.kind else { return None };
			let outputs = api.outputs(at, job_id).ok()?;
			let mut maps = Vec::with_capacity(job.map_tasks as usize);
			for (i, o) in outputs.iter().take(job.map_tasks as usize).enumerate() {
				let (id, _) = (*o)?;
				let map = api.task(at, job_id, i as TaskIndex).ok().flatten()?;
				let agreed = map
					.replicas
					.iter()
					.filter(|r| r.outcome == Some(pallet_gravity_market::ReplicaOutcome::Agreed))
					.map(|r| &r.provider);
				maps.push((id, peers_of(client, at, None, agreed)));
			}
			InputPlan::Reduce { partition: task.param, reducers, maps }
		},
	};
	Some(RunPlan {
		program_id: task.program,
		program,
		input,
		fuel_cap: job.fuel_cap,
		retention: pallet_gravity_market::Pallet::<Runtime>::retention(job.deadline),
	})
}
