//! The provider's event loop, shaped like rust-libp2p's `file-sharing` example: [`EventLoop`]
//! owns the state (records, what was sent, what runs) and handles one event kind, a new best
//! block, by a handler per concern (heartbeat, expired uploads, each replica). What to do for a
//! replica is decided by the pure function [`crate::decide::decide`]; the handlers only gather
//! its [`Situation`] and carry out its [`Step`].

use crate::{
	chain::{Submitter, KEY_TYPE},
	decide::{decide, Situation, Step},
	state::{Record, Records},
};
use futures::StreamExt;
use gravity_executor::{Executor, Limits};
use gravity_primitives::{ContentId, JobId, TaskIndex};
use gravity_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce, Runtime, RuntimeCall};
use pallet_gravity_content::runtime_api::ContentApi;
use pallet_gravity_market::{runtime_api::MarketApi, JobKind, Stage, TaskPhase};
use pallet_gravity_providers::runtime_api::ProvidersApi;
use sc_client_api::BlockchainEvents;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{offchain::OffchainStorage, H256};
use sp_keystore::KeystorePtr;
use sp_runtime::traits::{Block as BlockT, Header as HeaderT};
use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
};

const LOG: &str = "gravity-provider";
type MaxReplicas = <Runtime as pallet_gravity_market::Config>::MaxReplicas;
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
}

/// Kinds of submissions, to avoid resubmitting the same one every block.
#[derive(Hash, PartialEq, Eq, Clone, Copy, Debug)]
enum Action {
	Commit,
	Reveal,
	Deliver,
	Heartbeat,
	Decline,
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
	// Every output the executor accepts must be deliverable on chain (one blob).
	let max_blob = <<Runtime as pallet_gravity_content::Config>::MaxBlobSize as sp_core::Get<u32>>::get() as usize;
	let limits = Limits { max_output_bytes: params.limits.max_output_bytes.min(max_blob), ..params.limits.clone() };
	let event_loop = EventLoop {
		client: params.client,
		max_concurrent: params.max_concurrent,
		submitter,
		account,
		records,
		executor,
		limits,
		running: Default::default(),
		unable: Default::default(),
		sent: HashMap::new(),
		intervals: Intervals::compiled(),
	};
	event_loop.run().await
}

/// The provider's state and its handlers.
struct EventLoop<C, P, S> {
	client: Arc<C>,
	max_concurrent: usize,
	submitter: Submitter<C, P>,
	account: AccountId,
	records: Records<S>,
	executor: Executor,
	limits: Limits,
	/// Tasks running on blocking threads now.
	running: Arc<Mutex<HashSet<(JobId, TaskIndex)>>>,
	/// Tasks this machine could not run (`Failure::Aborted`: not a result): declined.
	unable: Arc<Mutex<HashSet<(JobId, TaskIndex)>>>,
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
			if n.is_new_best {
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
		let api = self.client.runtime_api();
		let compiled = Intervals::compiled();
		self.intervals = Intervals {
			windows: api.windows(at).unwrap_or(compiled.windows),
			heartbeat_timeout: api.heartbeat_timeout(at).unwrap_or(compiled.heartbeat_timeout),
		};
		self.heartbeat(number, at).await;
		self.remove_expired_outputs(number, at).await;
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
		let every = self.intervals.heartbeat_every();
		if number.saturating_sub(info.last_heartbeat) >= every && self.due((0, 0, Action::Heartbeat)) {
			let call = RuntimeCall::Providers(pallet_gravity_providers::Call::heartbeat {});
			if let Err(e) = self.submitter.submit(at, call).await {
				log::warn!(target: LOG, "heartbeat not submitted: {e}");
			}
			self.sent.insert((0, 0, Action::Heartbeat), number);
		}
	}

	/// Outputs we stored whose retention is over: remove them, and the deposit comes back.
	async fn remove_expired_outputs(&mut self, number: BlockNumber, at: Hash) {
		let uploads = self.records.uploads();
		let (expired, kept): (Vec<_>, Vec<_>) = uploads.iter().partition(|(_, after)| number > *after);
		if expired.is_empty() {
			return
		}
		for (id, _) in &expired {
			let owned = self.client.runtime_api().get(at, *id).ok().flatten().is_some();
			if owned {
				let call = RuntimeCall::Content(pallet_gravity_content::Call::remove { id: *id });
				match self.submitter.submit(at, call).await {
					Ok(()) => log::info!(target: LOG, "output {id:?}: retention over, removed (deposit returned)"),
					Err(e) => log::warn!(target: LOG, "output {id:?}: removal not submitted: {e}"),
				}
			}
		}
		self.records.set_uploads(&kept);
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
			let digest = pallet_gravity_market::digest_of(&rec.output_hash, rec.fuel_used, job_id, task_idx, me.round);
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
					.unwrap_or(0) as BlockNumber * 2;
				number >= until.saturating_sub(self.intervals.windows.delivery).saturating_add(slot)
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
			(Step::Decline, _) => {
				let call = RuntimeCall::Market(pallet_gravity_market::Call::decline { job: job_id, task: task_idx });
				self.send(at, number, (job_id, task_idx, Action::Decline), call, "could not run here; declined").await;
			},
			(Step::Run { decline_if_missing }, _) => match fetch(&*self.client, at, job_id, &task) {
				Some((program, input, fuel_cap)) => self.spawn_run(job_id, task_idx, task.program.0, program, input, fuel_cap),
				None if decline_if_missing => {
					let call = RuntimeCall::Market(pallet_gravity_market::Call::decline { job: job_id, task: task_idx });
					self.send(at, number, (job_id, task_idx, Action::Decline), call, "data not available; declined").await;
				},
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

	/// Our round agreed with us and our slot came: store the output unless it is stored, then
	/// name it (same account, next nonce: lands right after the upload, in the same block).
	async fn deliver(&mut self, number: BlockNumber, at: Hash, job_id: JobId, task_idx: TaskIndex, rec: Record) {
		if !self.due((job_id, task_idx, Action::Deliver)) {
			return
		}
		let api = self.client.runtime_api();
		let stored = api.get(at, rec.output_hash).ok().flatten().is_some();
		if !stored {
			if let Some(out) = rec.output.clone() {
				let call = RuntimeCall::Content(pallet_gravity_content::Call::put { data: out });
				match self.submitter.submit(at, call).await {
					Ok(()) => {
						let remove_after = api
							.job(at, job_id)
							.ok()
							.flatten()
							.map(|j| pallet_gravity_market::Pallet::<Runtime>::retention(j.deadline))
							.unwrap_or(number);
						let mut ups = self.records.uploads();
						ups.push((rec.output_hash, remove_after));
						self.records.set_uploads(&ups);
					},
					Err(e) => log::warn!(target: LOG, "job {job_id} task {task_idx}: output upload not submitted: {e}"),
				}
			}
		}
		let call = RuntimeCall::Market(pallet_gravity_market::Call::deliver { job: job_id, task: task_idx, output: rec.output_hash });
		let done = format!("delivered {:?}", rec.output_hash);
		self.send(at, number, (job_id, task_idx, Action::Deliver), call, &done).await;
	}

	/// Run a task on a blocking thread; its record is written once, before anything is sent.
	fn spawn_run(&mut self, job_id: JobId, task_idx: TaskIndex, program_hash: [u8; 32], program: Vec<u8>, input: Vec<u8>, fuel_cap: u64) {
		// Only this loop inserts, so the capacity decided on still holds.
		self.running.lock().expect("lock").insert((job_id, task_idx));
		let (executor, running, unable, mut records) =
			(self.executor.clone(), self.running.clone(), self.unable.clone(), self.records.clone());
		let limits = Limits { fuel_cap, ..self.limits.clone() };
		log::info!(target: LOG, "job {job_id} task {task_idx}: running ({} bytes in)", input.len());
		tokio::task::spawn_blocking(move || {
			let seed = gravity_protocol::result::task_seed(job_id, task_idx);
			let (result, stats) = executor.run(program_hash, &program, Arc::new(input), seed, &limits);
			if let Err(gravity_executor::Failure::Aborted(why)) = &result.outcome {
				// Not a result: nothing is sealed; the replica is declined (free).
				log::warn!(target: LOG, "job {job_id} task {task_idx}: not run here: {why}");
				unable.lock().expect("lock").insert((job_id, task_idx));
				running.lock().expect("lock").remove(&(job_id, task_idx));
				return
			}
			let salt: [u8; 32] = rand::random();
			let rec = Record {
				output_hash: H256(result.output_hash()),
				fuel_used: result.fuel_used,
				salt,
				failure: result.outcome.as_ref().err().map(|f| f.to_string()),
				output: Some(result.deliverable()),
			};
			let rec = records.put_once(job_id, task_idx, &rec);
			log::info!(
				target: LOG,
				"job {job_id} task {task_idx}: done in {} ms, fuel {}, {}",
				stats.total_ns / 1_000_000,
				rec.fuel_used,
				rec.failure.clone().unwrap_or_else(|| "ok".into())
			);
			running.lock().expect("lock").remove(&(job_id, task_idx));
		});
	}
}

/// Program bytes, input bytes and fuel cap of a task, if all its content is available.
fn fetch<C>(
	client: &C,
	at: Hash,
	job_id: JobId,
	task: &pallet_gravity_market::TaskOf<Runtime>,
) -> Option<(Vec<u8>, Vec<u8>, u64)>
where
	C: ProvideRuntimeApi<Block>,
	C::Api: MarketApi<Block, AccountId, Balance, BlockNumber, MaxReplicas> + ContentApi<Block>,
{
	let api = client.runtime_api();
	let get = |id: ContentId| api.get(at, id).ok().flatten().map(|b| b.bytes);
	let job = api.job(at, job_id).ok().flatten()?;
	let program = get(task.program).or_else(|| {
		log::debug!(target: LOG, "job {job_id}: program {:?} not available yet", task.program);
		None
	})?;
	// The framing is `gravity_protocol::input`, which tasks read through `gravity-task-sdk`.
	let input = match task.stage {
		Stage::Map => gravity_protocol::input::encode(task.param, &get(task.input)?),
		Stage::Reduce => {
			let JobKind::MapReduce { reducers, .. } = job.kind else { return None };
			let outputs = api.outputs(at, job_id).ok()?;
			let mut maps = Vec::with_capacity(job.map_tasks as usize);
			for o in outputs.iter().take(job.map_tasks as usize) {
				let (id, _) = (*o)?;
				maps.push(get(id)?);
			}
			gravity_protocol::input::encode_reduce(task.param, reducers, maps.iter().map(Vec::as_slice))
		},
	};
	Some((program, input, job.fuel_cap))
}
