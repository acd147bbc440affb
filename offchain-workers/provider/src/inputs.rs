//! Input planning and fetching: what a replica's run needs, read from the chain at one block
//! ([`plan`]: the program unless it is compiled already, where the input comes from, the fuel
//! cap, the retention), and the fetch of that input into the content store over the data plane
//! ([`fetch_input`]; a reducer's partitions as verified byte ranges: [`map_partition`]).

use crate::worker::{Hash, ProviderRuntimeApi, LOG};
use gravity_data_swarm::DataService;
use gravity_executor::{input::TaskInput, Executor};
use gravity_primitives::{ContentId, JobId, TaskIndex};
use gravity_runtime::{opaque::Block, AccountId, BlockNumber, Runtime};
use pallet_gravity_content::runtime_api::ContentApi;
use pallet_gravity_market::{runtime_api::MarketApi, JobKind, Stage};
use pallet_gravity_providers::runtime_api::ProvidersApi;
use sc_network::PeerId;
use sp_api::ProvideRuntimeApi;
use std::sync::Arc;

/// Where a task's input comes from.
pub(crate) enum InputPlan {
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
pub(crate) struct RunPlan {
	pub program_id: ContentId,
	/// The program's bytes, read only when its module was not compiled here already (the run
	/// reads them from the chain itself if the module is evicted in between).
	pub program: Option<Vec<u8>>,
	pub input: InputPlan,
	pub fuel_cap: u64,
	/// Last block the job may need its data (`Windows::retention` with the chain's windows).
	pub retention: BlockNumber,
}

/// Fetch what `plan` needs into the content store and build the task's input.
pub(crate) async fn fetch_input(data: &DataService, plan: &InputPlan, keep_until: u64) -> Result<TaskInput, String> {
	let get = |id: ContentId, peers: Vec<PeerId>| {
		let data = data.clone();
		async move {
			data.get(id, peers).await.map_err(|e| format!("input {id} not fetched: {e}"))?;
			let _ = data.keep_until(&id, keep_until);
			data.open(&id).map_err(|e| format!("input {id}: {e}"))
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
			let data = data.clone();
			let (partition, reducers) = (*partition, *reducers);
			tokio::task::spawn_blocking(move || crate::reduce_input::write_reduce_input(&data, partition, reducers, &parts))
				.await
				.map_err(|e| e.to_string())?
		},
	}
}

/// Partition `r` of `reducers` of the map output `cid`: its header, then the byte range of the
/// partition, each fetched (verified) from `peers` unless here already; returns the range, now
/// readable in the store. An output that is not a partitioned layout for `reducers` (a failure
/// result, a map task that ignores the layout) is fetched and handed over whole, as every
/// honest node does.
async fn map_partition(
	data: &DataService,
	cid: ContentId,
	r: u32,
	reducers: u32,
	peers: Vec<PeerId>,
	keep_until: u64,
) -> Result<(ContentId, std::ops::Range<u64>), String> {
	use gravity_protocol::partition;
	let head_len = partition::header_len(reducers);
	if cid.length >= head_len {
		let head = data.get_range(cid, 0..head_len, peers.clone()).await.map_err(|e| format!("map output {cid}: {e}"))?;
		if let Ok(ends) = partition::parse_header(&head, reducers, cid.length) {
			let range = partition::range(&ends, reducers, r).ok_or_else(|| format!("map output {cid} has no partition {r}"))?;
			data.fetch_range(cid, range.clone(), peers).await.map_err(|e| format!("map output {cid}: {e}"))?;
			let _ = data.keep_until(&cid, keep_until);
			return Ok((cid, range))
		}
	}
	data.get(cid, peers).await.map_err(|e| format!("map output {cid} not fetched: {e}"))?;
	let _ = data.keep_until(&cid, keep_until);
	Ok((cid, 0..cid.length))
}

/// The peer ids (registered endpoints) of `providers`, and `source` first when given.
pub(crate) fn peers_of<'a, C>(client: &C, at: Hash, source: Option<&[u8]>, providers: impl Iterator<Item = &'a AccountId>) -> Vec<PeerId>
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

/// What running a task needs, if its program is on chain (or compiled here already): the
/// program's bytes unless `executor` has its module cached, where the input comes from (the
/// job's source and the task's other providers for an input; the providers that computed each
/// map output for a reducer) and the fuel cap.
pub(crate) fn plan<C>(
	client: &C,
	at: Hash,
	job_id: JobId,
	task: &pallet_gravity_market::TaskOf<Runtime>,
	me: &AccountId,
	executor: &Executor,
) -> Option<RunPlan>
where
	C: ProvideRuntimeApi<Block>,
	C::Api: ProviderRuntimeApi,
{
	let api = client.runtime_api();
	let get = |id: ContentId| api.get(at, id).ok().flatten().map(|b| b.bytes);
	let job = api.job(at, job_id).ok().flatten()?;
	let program = if executor.is_cached(task.program.root) {
		None
	} else {
		Some(get(task.program).or_else(|| {
			log::debug!(target: LOG, "job {job_id}: program {:?} not available", task.program);
			None
		})?)
	};
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
		// The windows as the chain runs them (a runtime API call: the configuration is storage,
		// not a constant this node could compute with).
		retention: api.windows(at).ok()?.retention(job.deadline),
	})
}
