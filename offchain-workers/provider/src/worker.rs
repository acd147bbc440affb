//! The provider loop.

use crate::{
	chain::{Submitter, KEY_TYPE},
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

/// Blocks to keep trying to fetch a task's data before declining the replica (`market.decline`:
/// no penalty) rather than let its commit window run out (a no-show, slashed): half the window.
fn decline_after() -> BlockNumber {
	<<Runtime as pallet_gravity_market::Config>::CommitWindow as sp_core::Get<BlockNumber>>::get() / 2
}

/// Blocks to wait before resubmitting an action the chain has not reflected yet.
const RESUBMIT_AFTER: u32 = 4;

/// Run the provider service until the node stops.
pub async fn run<C, P, S>(params: ProviderParams<C, P, S>)
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + BlockchainEvents<Block> + Send + Sync + 'static,
	C::Api: MarketApi<Block, AccountId, Balance, BlockNumber, MaxReplicas>
		+ ContentApi<Block>
		+ ProvidersApi<Block, AccountId, Balance, BlockNumber>
		+ frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce>,
	P: TransactionPool<Block = Block> + 'static,
	S: OffchainStorage + Clone + Send + 'static,
{
	let Some(public) = params.keystore.sr25519_public_keys(KEY_TYPE).into_iter().next() else {
		log::error!(target: LOG, "no provider key (type `grav`) in the keystore: insert one with `gravity-node key insert --key-type grav --scheme sr25519`; provider service not started");
		return
	};
	let executor = match Executor::new(32) {
		Ok(e) => e,
		Err(e) => {
			log::error!(target: LOG, "cannot start the task sandbox: {e}");
			return
		},
	};
	let mut submitter = Submitter::new(params.client.clone(), params.pool.clone(), params.keystore.clone(), public);
	let account = submitter.account.clone();
	let records = Records::new(params.offchain_storage.clone(), public.0);
	log::info!(target: LOG, "provider service started for {account} (max {} concurrent tasks)", params.max_concurrent);

	// Every output the executor accepts must be deliverable on chain (one blob).
	let max_blob = <<Runtime as pallet_gravity_content::Config>::MaxBlobSize as sp_core::Get<u32>>::get() as usize;
	let base_limits = Limits { max_output_bytes: params.limits.max_output_bytes.min(max_blob), ..params.limits.clone() };
	let mut records = records;

	let running: Arc<Mutex<HashSet<(JobId, TaskIndex)>>> = Default::default();
	let mut sent: HashMap<(JobId, TaskIndex, Action), BlockNumber> = HashMap::new();
	let mut blocks = params.client.import_notification_stream();
	while let Some(n) = blocks.next().await {
		if !n.is_new_best {
			continue
		}
		let number: BlockNumber = *n.header.number();
		let at = n.hash;
		sent.retain(|_, b| number.saturating_sub(*b) < RESUBMIT_AFTER);
		let due = |sent: &HashMap<(JobId, TaskIndex, Action), BlockNumber>, k| !sent.contains_key(&k);

		// Heartbeat at half the timeout.
		let api = params.client.runtime_api();
		if let Ok(Some(info)) = api.provider(at, account.clone()) {
			// Half the timeout: the chain takes a heartbeat for free from a quarter on.
			let every = <<Runtime as pallet_gravity_providers::Config>::HeartbeatTimeout as sp_core::Get<BlockNumber>>::get() / 2;
			if number.saturating_sub(info.last_heartbeat) >= every && due(&sent, (0, 0, Action::Heartbeat)) {
				let call = RuntimeCall::Providers(pallet_gravity_providers::Call::heartbeat {});
				if let Err(e) = submitter.submit(at, call).await {
					log::warn!(target: LOG, "heartbeat not submitted: {e}");
				}
				sent.insert((0, 0, Action::Heartbeat), number);
			}
		}

		// Outputs we stored whose retention is over: remove them, and the deposit comes back.
		let uploads = records.uploads();
		let (expired, kept): (Vec<_>, Vec<_>) = uploads.iter().partition(|(_, after)| number > *after);
		if !expired.is_empty() {
			for (id, _) in &expired {
				let owned = api.get(at, *id).ok().flatten().is_some();
				if owned {
					let call = RuntimeCall::Content(pallet_gravity_content::Call::remove { id: *id });
					match submitter.submit(at, call).await {
						Ok(()) => log::info!(target: LOG, "output {id:?}: retention over, removed (deposit returned)"),
						Err(e) => log::warn!(target: LOG, "output {id:?}: removal not submitted: {e}"),
					}
				}
			}
			records.set_uploads(&kept);
		}

		let assignments = match api.assignments(at, account.clone()) {
			Ok(a) => a,
			Err(e) => {
				log::warn!(target: LOG, "cannot read assignments: {e}");
				continue
			},
		};
		for (job_id, task_idx, task) in assignments {
			let Some(me) = task.replicas.iter().find(|r| r.provider == account && r.outcome.is_none()) else {
				continue
			};
			let rec = records.get(job_id, task_idx);
			// What this replica reveals: the result's digest for its own round.
			let sealed_by = |rec: &Record| {
				let digest = pallet_gravity_market::digest_of(&rec.output_hash, rec.fuel_used, job_id, task_idx, me.round);
				let commitment =
					pallet_gravity_market::commitment_of(&digest, rec.fuel_used, &account, job_id, task_idx, &rec.salt);
				(digest, commitment)
			};
			match (task.phase, me.commitment, rec) {
				(TaskPhase::Committing, None, Some(rec)) => {
					if due(&sent, (job_id, task_idx, Action::Commit)) {
						let (_, commitment) = sealed_by(&rec);
						let call = RuntimeCall::Market(pallet_gravity_market::Call::commit { job: job_id, task: task_idx, commitment });
						match submitter.submit(at, call).await {
							Ok(()) => log::info!(target: LOG, "job {job_id} task {task_idx}: committed (fuel {})", rec.fuel_used),
							Err(e) => log::warn!(target: LOG, "job {job_id} task {task_idx}: commit not submitted: {e}"),
						}
						sent.insert((job_id, task_idx, Action::Commit), number);
					}
				},
				(TaskPhase::Committing, None, None) => {
					let key = (job_id, task_idx);
					let busy = {
						let run = running.lock().expect("lock");
						run.contains(&key) || run.len() >= params.max_concurrent
					};
					if busy {
						continue
					}
					let Some((program, input, fuel_cap)) = fetch(&*params.client, at, job_id, &task) else {
						if number.saturating_sub(me.assigned_at) >= decline_after() &&
							due(&sent, (job_id, task_idx, Action::Decline))
						{
							let call = RuntimeCall::Market(pallet_gravity_market::Call::decline { job: job_id, task: task_idx });
							match submitter.submit(at, call).await {
								Ok(()) => log::warn!(target: LOG, "job {job_id} task {task_idx}: data not available; declined"),
								Err(e) => log::warn!(target: LOG, "job {job_id} task {task_idx}: decline not submitted: {e}"),
							}
							sent.insert((job_id, task_idx, Action::Decline), number);
						}
						continue
					};
					// Only this loop inserts, so the check above still holds.
					running.lock().expect("lock").insert(key);
					let (executor, running, mut records, limits) =
						(executor.clone(), running.clone(), records.clone(), base_limits.clone());
					let program_hash = task.program.0;
					log::info!(target: LOG, "job {job_id} task {task_idx}: running ({} bytes in)", input.len());
					tokio::task::spawn_blocking(move || {
						let limits = Limits { fuel_cap, ..limits };
						let seed = gravity_protocol::result::task_seed(job_id, task_idx);
						let (result, stats) = executor.run(program_hash, &program, Arc::new(input), seed, &limits);
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
				},
				(TaskPhase::Revealing { .. }, Some(sealed), Some(rec)) if me.reveal.is_none() => {
					let (digest, ours) = sealed_by(&rec);
					if ours != sealed {
						log::error!(target: LOG, "job {job_id} task {task_idx}: on-chain commitment is not ours; not revealing");
						continue
					}
					if due(&sent, (job_id, task_idx, Action::Reveal)) {
						let call = RuntimeCall::Market(pallet_gravity_market::Call::reveal {
							job: job_id,
							task: task_idx,
							digest,
							fuel_used: rec.fuel_used,
							salt: rec.salt,
						});
						match submitter.submit(at, call).await {
							Ok(()) => log::info!(target: LOG, "job {job_id} task {task_idx}: revealed (round {})", me.round),
							Err(e) => log::warn!(target: LOG, "job {job_id} task {task_idx}: reveal not submitted: {e}"),
						}
						sent.insert((job_id, task_idx, Action::Reveal), number);
					}
				},
				// Our round agreed with us: the output is delivered by one agreeing replica at a
				// time (slots two blocks apart, in replica order), the others only if it is still
				// missing when their slot comes. Outputs are never published before agreement,
				// so a later round cannot copy them.
				(TaskPhase::Delivering { until }, Some(_), Some(rec))
					if task.agreed.is_some_and(|a| me.reveal.is_some_and(|rv| (rv.digest, rv.fuel_used) == a)) =>
				{
					let slot = task
						.replicas
						.iter()
						.filter(|r| r.outcome.is_none() && r.round == task.round && r.reveal.is_some_and(|rv| Some((rv.digest, rv.fuel_used)) == task.agreed))
						.position(|r| r.provider == account)
						.unwrap_or(0) as BlockNumber * 2;
					let window = <<Runtime as pallet_gravity_market::Config>::DeliveryWindow as sp_core::Get<BlockNumber>>::get();
					let start = until.saturating_sub(window);
					if number < start.saturating_add(slot) || !due(&sent, (job_id, task_idx, Action::Deliver)) {
						continue
					}
					let stored = api.get(at, rec.output_hash).ok().flatten().is_some();
					if !stored {
						if let Some(out) = rec.output.clone() {
							let call = RuntimeCall::Content(pallet_gravity_content::Call::put { data: out });
							match submitter.submit(at, call).await {
								Ok(()) => {
									let remove_after = api
										.job(at, job_id)
										.ok()
										.flatten()
										.map(|j| pallet_gravity_market::Pallet::<Runtime>::retention(j.deadline))
										.unwrap_or(number);
									let mut ups = records.uploads();
									ups.push((rec.output_hash, remove_after));
									records.set_uploads(&ups);
								},
								Err(e) => log::warn!(target: LOG, "job {job_id} task {task_idx}: output upload not submitted: {e}"),
							}
						}
					}
					// Same account, next nonce: lands right after the upload, in the same block.
					let call = RuntimeCall::Market(pallet_gravity_market::Call::deliver { job: job_id, task: task_idx, output: rec.output_hash });
					match submitter.submit(at, call).await {
						Ok(()) => log::info!(target: LOG, "job {job_id} task {task_idx}: delivered {:?}", rec.output_hash),
						Err(e) => log::warn!(target: LOG, "job {job_id} task {task_idx}: delivery not submitted: {e}"),
					}
					sent.insert((job_id, task_idx, Action::Deliver), number);
				},
				(TaskPhase::Revealing { .. }, Some(_), None) => {
					log::error!(target: LOG, "job {job_id} task {task_idx}: committed on chain but no local record; cannot reveal");
				},
				_ => {},
			}
		}
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
