//! `gravity job …`: submit from files, and every view of a job read from the chain's records
//! (`market.jobs`, `market.tasks`: each replica's assignment, commit, reveal, pay and penalty
//! blocks), which a node keeps whatever its pruning; `history` finds each step's extrinsic in the
//! block body the record names (block bodies are kept by default), never by scanning history.

use crate::{
	chain::{gravity, read, runtime_types as rt, ss58, try_read, AtBlock, Chain},
	cli::{Global, JobCmd, JobOptions, SubmitCmd},
	data::DataClient,
	error::{Context, Error, Result},
	fail,
	out::Out,
	render,
	units::grav,
};
use gravity_protocol::content::ContentId;
use rt::{gravity_primitives as gp, pallet_gravity_market::types as mt};
use serde_json::{json, Value};
use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	time::{Duration, Instant},
};
use subxt::utils::AccountId32;

pub type Job = mt::Job<AccountId32, u128, u32>;
pub type Task = mt::Task<AccountId32, u128, u32>;
pub type Replica = mt::Replica<AccountId32, u128, u32>;

/// A content id as the types generated from the metadata carry it: the protocol crate's
/// `ContentId` itself, SCALE-encoded as the runtime encodes it (`substitute_type` in `chain.rs`).
pub type ChainContentId = subxt::utils::Static<ContentId>;

pub fn status_name(s: &mt::JobStatus) -> &'static str {
	match s {
		mt::JobStatus::Active => "Active",
		mt::JobStatus::Completed => "Completed",
		mt::JobStatus::Failed => "Failed",
		mt::JobStatus::Cancelled => "Cancelled",
		mt::JobStatus::Expired => "Expired",
	}
}

pub fn phase_name(p: &mt::TaskPhase<u32>) -> &'static str {
	match p {
		mt::TaskPhase::Committing => "Committing",
		mt::TaskPhase::Revealing { .. } => "Revealing",
		mt::TaskPhase::Delivering { .. } => "Delivering",
		mt::TaskPhase::Verified => "Verified",
		mt::TaskPhase::Failed => "Failed",
		mt::TaskPhase::Abandoned => "Abandoned",
	}
}

pub fn outcome_name(o: &Option<mt::ReplicaOutcome>) -> &'static str {
	match o {
		None => "open",
		Some(mt::ReplicaOutcome::Agreed) => "Agreed",
		Some(mt::ReplicaOutcome::Dissented) => "Dissented",
		Some(mt::ReplicaOutcome::NoShow) => "NoShow",
		Some(mt::ReplicaOutcome::Released) => "Released",
		Some(mt::ReplicaOutcome::Declined) => "Declined",
	}
}

pub fn kind_json(k: &mt::JobKind) -> Value {
	match k {
		mt::JobKind::Batch => json!({ "kind": "batch" }),
		mt::JobKind::MapReduce { reduce_program, reducers } =>
			json!({ "kind": "mapReduce", "reduceProgram": reduce_program.0.to_string(), "reducers": reducers }),
		mt::JobKind::Render { width, height, tile, frames } =>
			json!({ "kind": "render", "width": width, "height": height, "tile": tile, "frames": frames }),
	}
}

/// A job's record, or an error naming the job.
pub async fn job(at: &AtBlock, id: u64) -> Result<Job> {
	match try_read(at, gravity::storage().market().jobs(), (id,)).await? {
		Some(v) => Ok(v),
		None => fail!("there is no job {id} on this chain (at block #{}): list jobs with `gravity job ls`", at.block_number()),
	}
}

/// Every task of a job, by index (one paged read of the job's tasks).
pub async fn tasks(at: &AtBlock, id: u64) -> Result<BTreeMap<u32, Task>> {
	let entry = at.storage().entry(gravity::storage().market().tasks()).context(|| "market.tasks".into())?;
	let mut it = entry.iter((id,)).await.context(|| format!("reading the tasks of job {id}"))?;
	let mut all = BTreeMap::new();
	while let Some(kv) = it.next().await {
		let kv = kv.context(|| format!("reading the tasks of job {id}"))?;
		let (_, index): (u64, u32) = kv.key().context(|| "task key".into())?.decode().context(|| "task key".into())?;
		let task: Task = kv.value().decode().context(|| format!("decoding task {index} of job {id}"))?;
		all.insert(index, task);
	}
	Ok(all)
}

/// One task, or an error naming it.
pub async fn task(at: &AtBlock, id: u64, index: u32) -> Result<Task> {
	match try_read(at, gravity::storage().market().tasks(), (id, index)).await? {
		Some(v) => Ok(v),
		None => fail!("job {id} has no task {index}: `gravity job describe {id}` shows how many it has"),
	}
}

/// The data endpoints (base58 peer ids) of `providers`.
pub async fn endpoints(at: &AtBlock, providers: impl IntoIterator<Item = &AccountId32>) -> Result<Vec<String>> {
	let mut out = Vec::new();
	for p in providers {
		if let Some(bytes) = try_read(at, gravity::storage().providers().endpoints(), (p.clone(),)).await? {
			out.push(bs58::encode(bytes.0).into_string());
		}
	}
	Ok(out)
}

/// The providers whose replicas agreed with a task's verified result.
pub fn agreeing(task: &Task) -> Vec<AccountId32> {
	task.replicas
		.0
		.iter()
		.filter(|r| matches!(r.outcome, Some(mt::ReplicaOutcome::Agreed)))
		.map(|r| r.provider.clone())
		.collect()
}

pub async fn run(g: &Global, out: Out, cmd: JobCmd) -> Result<()> {
	match cmd {
		JobCmd::Submit(cmd) => submit(g, out, cmd).await,
		JobCmd::Describe { job } => describe(g, out, job).await,
		JobCmd::Executions { job, task } => executions(g, out, job, task).await,
		JobCmd::History { job } => history(g, out, job).await,
		JobCmd::Watch { job, timeout } => watch(g, out, job, timeout).await,
		JobCmd::Get { job, out: dir } => get(g, out, job, &dir).await,
		JobCmd::Ls { mine, account, limit } => ls(g, out, mine, account, limit).await,
		JobCmd::Cancel { job } => cancel(g, out, job).await,
		JobCmd::Audit(_) => unreachable!("dispatched to audit"),
	}
}

// ---- submit ----------------------------------------------------------------------------------

/// A task program read and checked with the structural limits providers apply.
pub fn read_program(path: &Path) -> Result<Vec<u8>> {
	let wasm = std::fs::read(path).map_err(|e| Error(format!("{}: cannot read the program ({e})", path.display())))?;
	gravity_executor::check_program(&wasm).map_err(|f| {
		Error(format!("{}: not a task program providers will run: {f}", path.display()))
	})?;
	Ok(wasm)
}

/// Input files: each file given, and each file in each directory given (sorted by name).
pub fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
	let mut files = Vec::new();
	for p in paths {
		let meta = std::fs::metadata(p).map_err(|e| Error(format!("input {}: {e}", p.display())))?;
		if meta.is_dir() {
			let mut shards: Vec<PathBuf> = std::fs::read_dir(p)
				.map_err(|e| Error(format!("input directory {}: {e}", p.display())))?
				.filter_map(|e| e.ok().map(|e| e.path()))
				.filter(|p| p.is_file())
				.collect();
			shards.sort();
			if shards.is_empty() {
				fail!("input directory {} has no files", p.display())
			}
			files.extend(shards);
		} else {
			files.push(p.clone());
		}
	}
	Ok(files)
}

fn replication(opts: &JobOptions) -> Result<mt::ReplicationPolicy> {
	let parts: Vec<&str> = opts.replication.split('/').collect();
	let bad = || {
		Error(format!(
			"--replication {}: give initial/max/quorum, e.g. 2/4/2 (two replicas must agree, two more may run if they do not)",
			opts.replication
		))
	};
	let [i, m, q] = parts.as_slice() else { return Err(bad()) };
	let n = |s: &str| s.trim().parse::<u8>().map_err(|_| bad());
	Ok(mt::ReplicationPolicy { initial: n(i)?, max: n(m)?, quorum: n(q)?, adaptive: opts.adaptive })
}

/// A scene's `size W H` and `tile T` lines.
fn scene_dims(scene: &str) -> (Option<u32>, Option<u32>, Option<u32>) {
	let (mut w, mut h, mut t) = (None, None, None);
	for line in scene.lines() {
		let mut words = line.split_whitespace();
		match words.next() {
			Some("size") => {
				w = words.next().and_then(|v| v.parse().ok());
				h = words.next().and_then(|v| v.parse().ok());
			},
			Some("tile") => t = words.next().and_then(|v| v.parse().ok()),
			_ => {},
		}
	}
	(w, h, t)
}

async fn submit(g: &Global, out: Out, cmd: SubmitCmd) -> Result<()> {
	// Everything local first: nothing is signed or sent when a file is missing or a program
	// would be refused by providers.
	let (programs, input_paths, kind_of, opts): (Vec<Vec<u8>>, Vec<PathBuf>, Box<dyn Fn(&[ChainContentId]) -> mt::JobKind>, JobOptions) =
		match cmd {
			SubmitCmd::Batch { program, inputs, opts } =>
				(vec![read_program(&program)?], input_files(&inputs)?, Box::new(|_| mt::JobKind::Batch), opts),
			SubmitCmd::MapReduce { map, reduce, reducers, inputs, opts } => (
				vec![read_program(&map)?, read_program(&reduce)?],
				input_files(&inputs)?,
				Box::new(move |p: &[ChainContentId]| mt::JobKind::MapReduce { reduce_program: p[1].clone(), reducers }),
				opts,
			),
			SubmitCmd::Render { program, scene, width, height, tile, frames, opts } => {
				let text = std::fs::read_to_string(&scene)
					.map_err(|e| Error(format!("scene {}: cannot read it ({e})", scene.display())))?;
				let (sw, sh, st) = scene_dims(&text);
				let (width, height, tile) = match (width.or(sw), height.or(sh), tile.or(st)) {
					(Some(w), Some(h), Some(t)) => (w, h, t),
					_ => fail!(
						"scene {}: no `size W H` / `tile T` lines: give --width, --height and --tile",
						scene.display()
					),
				};
				if width == 0 || height == 0 || tile == 0 || frames == 0 {
					fail!("--width, --height, --tile and --frames must be at least 1")
				}
				(
					vec![read_program(&program)?],
					vec![scene],
					Box::new(move |_| mt::JobKind::Render { width, height, tile, frames }),
					opts,
				)
			},
		};
	let replication = replication(&opts)?;
	if opts.min_reputation > 99 {
		fail!("--min-reputation is a percentage below 100")
	}
	let mut input_ids = Vec::new();
	for p in &input_paths {
		input_ids.push(crate::data::hash_file(p)?);
	}
	let program_ids: Vec<ContentId> = programs.iter().map(|p| ContentId::of(p)).collect();
	let signer = crate::chain::signer(g)?;
	let who = signer.public_key().to_account_id();

	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let max_blob: u32 = at
		.constants()
		.entry(gravity::constants().content().max_blob_size())
		.context(|| "content.MaxBlobSize".into())?;
	for (p, id) in programs.iter().zip(&program_ids) {
		if p.len() as u64 > max_blob as u64 {
			fail!("a program of {} bytes is larger than the chain stores ({max_blob} bytes): make it smaller", id.length)
		}
	}
	let chain_programs: Vec<ChainContentId> = program_ids.iter().map(|id| subxt::utils::Static(*id)).collect();
	let source = bs58::decode(chain.local_peer_id().await?)
		.into_vec()
		.map_err(|_| Error("the node's peer id is not base58".into()))?;
	let spec = mt::JobSpec {
		program: chain_programs[0].clone(),
		source: Some(rt::bounded_collections::bounded_vec::BoundedVec(source)),
		kind: kind_of(&chain_programs),
		inputs: input_ids.iter().map(|id| subxt::utils::Static(*id)).collect(),
		requirements: gp::Requirements {
			arch: gp::Arch::Any,
			min_memory_mib: opts.min_memory_mib,
			gpu: false,
			min_reputation: rt::sp_arithmetic::per_things::Perbill(opts.min_reputation * 10_000_000),
		},
		replication,
		price_per_fuel: opts.price,
		fuel_cap: opts.fuel_cap,
		deadline: at.block_number() as u32 + opts.deadline_blocks,
	};

	// The chain's own checks and price, before anything is signed.
	let missing_programs = {
		let mut missing = Vec::new();
		for (bytes, id) in programs.iter().zip(&chain_programs) {
			let held = at
				.storage()
				.try_fetch(gravity::storage().content().blobs(), (id.clone(),))
				.await
				.context(|| "content.blobs".into())?;
			if held.is_none() {
				missing.push((bytes.clone(), id.clone()));
			}
		}
		missing
	};
	let (budget, deposit) = quote(&at, &spec, !missing_programs.is_empty()).await?;
	let free = crate::account::free_balance(&at, &who).await?;
	let need = budget.saturating_add(deposit);
	out.event(
		json!({ "step": "quote", "escrow": budget.to_string(), "queueDeposit": deposit.to_string(), "free": free.to_string(), "inputs": input_ids.len(), "programsToStore": missing_programs.len() }),
		|| {
			format!(
				"escrow {} (refunded for what the tasks do not use) + queue deposit {} (returned when the job ends); {} free",
				grav(budget),
				grav(deposit),
				grav(free)
			)
		},
	);
	if free < need {
		fail!(
			"{} has {} free, and this job holds {} (escrow {} + queue deposit {}): fund the account, or lower --price, \
			 --fuel-cap or --replication",
			ss58(&who),
			grav(free),
			grav(need),
			grav(budget),
			grav(deposit)
		)
	}
	if opts.dry_run {
		out.result(json!({ "dryRun": true, "escrow": budget.to_string(), "queueDeposit": deposit.to_string() }), || {
			"dry run: nothing was signed".into()
		});
		return Ok(())
	}

	// The inputs into the node's content store (providers fetch them from it).
	let data = DataClient::connect(&g.data_url).await?;
	for (p, id) in input_paths.iter().zip(&input_ids) {
		let stored = data.put_file(p).await?;
		if stored != *id {
			fail!("{} changed while it was being submitted ({id} then {stored}): try again", p.display())
		}
		out.event(json!({ "step": "input", "path": p.display().to_string(), "id": id.to_string() }), || {
			format!("input {} → {id}", p.display())
		});
	}
	// The programs on chain (providers read them from there).
	for (bytes, id) in missing_programs {
		let call = gravity::tx().content().put(rt::bounded_collections::bounded_vec::BoundedVec(bytes));
		chain.submit(&out, "content.put (program)", &call, &signer).await?;
		let _ = id;
	}
	if chain.wait == crate::cli::Wait::None {
		// The job must see its programs: wait for them even with --wait none.
	}
	let call = gravity::tx().market().submit_job(spec);
	let included = chain.submit(&out, "market.submit_job", &call, &signer).await?;
	let Some(included) = included else {
		out.result(json!({ "submitted": true }), || "submitted (not waiting: follow it with `gravity job ls --mine`)".into());
		return Ok(())
	};
	let ev = included
		.events
		.find_first::<gravity::market::events::JobSubmitted>()
		.ok_or_else(|| Error("the job was included but no JobSubmitted event was found".into()))?
		.context(|| "decoding JobSubmitted".into())?;
	out.result(
		json!({ "job": ev.job, "tasks": ev.tasks, "escrow": ev.budget.to_string(), "block": included.block, "blockHash": format!("{:?}", included.block_hash), "index": included.index }),
		|| ev.job.to_string(),
	);
	Ok(())
}

/// `MarketApi::quote`: the chain's checks of `spec` and what it holds. With `programs_pending`
/// the programs are not stored yet (they will be, before the job): `ContentMissing` is expected
/// then, and the escrow is computed here by the chain's formula.
async fn quote(at: &AtBlock, spec: &mt::JobSpec<u128, u32>, programs_pending: bool) -> Result<(u128, u128)> {
	let q = at
		.runtime_apis()
		.call(gravity::runtime_apis().market_api().quote(spec.clone()))
		.await
		.context(|| "MarketApi.quote".into())?;
	match q {
		Ok((budget, deposit)) => Ok((budget, deposit)),
		Err(e) => {
			let why = crate::chain::explain_api_error(at, &e);
			if programs_pending && why.starts_with("Market::ContentMissing") {
				return Ok(estimate(at, spec).await?)
			}
			fail!("the chain would refuse this job: {why}")
		},
	}
}

/// The chain's escrow formula (`plan_job`): tasks × (max + a dispute's fresh replicas) × fuel cap
/// × price, and the configured queue deposit × tasks × initial.
async fn estimate(at: &AtBlock, spec: &mt::JobSpec<u128, u32>) -> Result<(u128, u128)> {
	let max_replicas: u32 =
		at.constants().entry(gravity::constants().market().max_replicas()).context(|| "market.MaxReplicas".into())?;
	let queue_deposit: u128 = read(at, gravity::storage().market().configuration(), ()).await?.queue_deposit;
	let tasks: u128 = match &spec.kind {
		mt::JobKind::Batch => spec.inputs.len() as u128,
		mt::JobKind::MapReduce { reducers, .. } => spec.inputs.len() as u128 + *reducers as u128,
		mt::JobKind::Render { width, height, tile, frames } =>
			(width.div_ceil(*tile) as u128) * (height.div_ceil(*tile) as u128) * *frames as u128,
	};
	let r = &spec.replication;
	let escalation = ((r.quorum as u32) * 2 + 1).min(max_replicas) as u128;
	let budget = tasks * (r.max as u128 + escalation) * spec.fuel_cap as u128 * spec.price_per_fuel;
	Ok((budget, queue_deposit * tasks * r.initial as u128))
}

// ---- views -----------------------------------------------------------------------------------

fn escrow_json(j: &Job, tasks: &BTreeMap<u32, Task>) -> Value {
	let e = &j.escrow;
	let to_providers: u128 = tasks.values().flat_map(|t| t.replicas.0.iter()).map(|r| r.paid).sum();
	let slashed: u128 = tasks.values().flat_map(|t| t.replicas.0.iter()).map(|r| r.slashed).sum();
	let held = e.locked.saturating_sub(e.paid).saturating_sub(e.refunded);
	json!({
		"locked": e.locked.to_string(), "paid": e.paid.to_string(), "refunded": e.refunded.to_string(),
		"held": held.to_string(), "toProviders": to_providers.to_string(),
		"protocolFee": e.paid.saturating_sub(to_providers).to_string(),
		"queueDeposit": e.queue_deposit.to_string(), "forfeited": e.forfeited.to_string(),
		"compensated": e.compensated.to_string(), "slashedFromProviders": slashed.to_string(),
	})
}

pub fn describe_json(id: u64, j: &Job, tasks: &BTreeMap<u32, Task>, block: u64) -> Value {
	let mut phases: BTreeMap<&str, u32> = BTreeMap::new();
	let mut stages: BTreeMap<&str, u32> = BTreeMap::new();
	for t in tasks.values() {
		*phases.entry(phase_name(&t.phase)).or_default() += 1;
		*stages.entry(if matches!(t.stage, mt::Stage::Reduce) { "reduce" } else { "map" }).or_default() += 1;
	}
	json!({
		"job": id, "at": block, "status": status_name(&j.status),
		"ending": j.ending.as_ref().map(status_name),
		"requester": ss58(&j.requester), "kind": kind_json(&j.kind), "program": j.program.0.to_string(),
		"stage": if matches!(j.stage, mt::Stage::Reduce) { "reduce" } else { "map" },
		"tasks": j.tasks, "mapTasks": j.map_tasks, "verified": j.verified, "failed": j.failed,
		"phases": phases, "stages": stages,
		"replication": { "initial": j.replication.initial, "max": j.replication.max, "quorum": j.replication.quorum, "adaptive": j.replication.adaptive },
		"pricePerFuel": j.price_per_fuel.to_string(), "fuelCap": j.fuel_cap,
		"createdAt": j.created_at, "deadline": j.deadline,
		"escrow": escrow_json(j, tasks),
	})
}

async fn describe(g: &Global, out: Out, id: u64) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let j = job(&at, id).await?;
	let ts = tasks(&at, id).await?;
	let v = describe_json(id, &j, &ts, at.block_number());
	out.result(v.clone(), || {
		let e = &v["escrow"];
		let s = |k: &str| e[k].as_str().and_then(|x| x.parse::<u128>().ok()).unwrap_or(0);
		let phases: Vec<String> = v["phases"].as_object().map(|m| m.iter().map(|(k, n)| format!("{k} {n}")).collect()).unwrap_or_default();
		format!(
			"job {id} ({}) — {}{}\n  requester {}\n  program {}\n  tasks {} ({} verified, {} failed): {}\n  replication {}/{}/{}{}, price {} plancks/fuel, fuel cap {}\n  created #{}, deadline #{}\n  escrow: locked {}, paid {} ({} to providers, {} protocol fee), refunded {}, held {}\n  queue deposit {}{}",
			v["kind"]["kind"].as_str().unwrap_or("?"),
			status_name(&j.status),
			j.ending.as_ref().map(|s| format!(" (ending: {})", status_name(s))).unwrap_or_default(),
			ss58(&j.requester),
			j.program.0,
			j.tasks, j.verified, j.failed, phases.join(", "),
			j.replication.initial, j.replication.max, j.replication.quorum,
			if j.replication.adaptive { " adaptive" } else { "" },
			j.price_per_fuel, j.fuel_cap, j.created_at, j.deadline,
			grav(s("locked")), grav(s("paid")), grav(s("toProviders")), grav(s("protocolFee")), grav(s("refunded")), grav(s("held")),
			grav(s("queueDeposit")),
			if s("forfeited") > 0 { format!(", {} forfeited", grav(s("forfeited"))) } else { String::new() },
		)
	});
	Ok(())
}

pub fn replica_json(task: u32, r: &Replica) -> Value {
	json!({
		"task": task, "provider": ss58(&r.provider), "round": r.round, "alone": r.alone,
		"assignedAt": r.assigned_at, "commitDeadline": r.commit_deadline,
		"commitment": r.commitment.map(|c| format!("{c:?}")), "committedAt": r.committed_at,
		"revealedAt": r.reveal.as_ref().map(|x| x.at), "digest": r.reveal.as_ref().map(|x| format!("{:?}", x.digest)),
		"fuel": r.reveal.as_ref().map(|x| x.fuel_used),
		"outcome": outcome_name(&r.outcome), "paid": r.paid.to_string(), "slashed": r.slashed.to_string(),
	})
}

async fn executions(g: &Global, out: Out, id: u64, only: Option<u32>) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	job(&at, id).await?;
	let ts = match only {
		Some(i) => BTreeMap::from([(i, task(&at, id, i).await?)]),
		None => tasks(&at, id).await?,
	};
	let mut rows = Vec::new();
	for (i, t) in &ts {
		for r in &t.replicas.0 {
			let mut row = replica_json(*i, r);
			row["taskPhase"] = json!(phase_name(&t.phase));
			row["output"] = json!(t.result.as_ref().map(|(o, _)| o.0.to_string()));
			rows.push(row);
		}
	}
	out.result(json!({ "job": id, "at": at.block_number(), "replicas": rows }), || {
		let mut s = format!("{:>5} {:>3} {:<50} {:>7} {:>7} {:>7} {:>12} {:<10} {:>14} {:>14}\n", "task", "rnd", "provider", "assign", "commit", "reveal", "fuel", "outcome", "paid", "slashed");
		for r in &rows {
			let n = |k: &str| r[k].as_u64().map(|v| format!("#{v}")).unwrap_or_else(|| "-".into());
			s.push_str(&format!(
				"{:>5} {:>3} {:<50} {:>7} {:>7} {:>7} {:>12} {:<10} {:>14} {:>14}\n",
				r["task"], r["round"], r["provider"].as_str().unwrap_or(""), n("assignedAt"), n("committedAt"), n("revealedAt"),
				r["fuel"].as_u64().map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
				r["outcome"].as_str().unwrap_or(""),
				grav(r["paid"].as_str().and_then(|x| x.parse().ok()).unwrap_or(0)),
				grav(r["slashed"].as_str().and_then(|x| x.parse().ok()).unwrap_or(0)),
			));
		}
		s.trim_end().to_string()
	});
	Ok(())
}

/// The index of the extrinsic in block `number` signed by `signer` whose market call (or
/// `batch` action) names `job`/`task` (any task with `None`), with the call's name.
async fn find_extrinsic(
	chain: &Chain,
	cache: &mut BTreeMap<u64, Vec<(u32, Option<AccountId32>, String, Vec<(u64, Option<u32>)>)>>,
	number: u64,
	signer: Option<&AccountId32>,
	job: u64,
	task: Option<u32>,
	calls: &[&str],
) -> Option<(u32, String)> {
	if !cache.contains_key(&number) {
		let mut list = Vec::new();
		if let Ok(at) = chain.api.at_block(number).await {
			if let Ok(exts) = at.extrinsics().fetch().await {
				for ext in exts.iter().filter_map(|e| e.ok()) {
					if ext.pallet_name() != "Market" {
						continue
					}
					let who = ext.address_bytes().and_then(|a| (a.len() == 33 && a[0] == 0).then(|| AccountId32(a[1..].try_into().unwrap_or([0; 32]))));
					let targets = call_targets(&ext);
					list.push((ext.index() as u32, who, ext.call_name().to_string(), targets));
				}
			}
		}
		cache.insert(number, list);
	}
	cache.get(&number)?.iter().find_map(|(index, who, name, targets)| {
		let by = signer.is_none_or(|s| who.as_ref() == Some(s));
		let names = targets.iter().any(|(j, t)| *j == job && (task.is_none() || *t == task));
		(by && names && (calls.contains(&name.as_str()) || name == "batch")).then(|| (*index, name.clone()))
	})
}

/// The (job, task) pairs a market call acts on.
fn call_targets(ext: &subxt::extrinsics::Extrinsic<'_, crate::chain::Config, impl subxt::client::OnlineClientAtBlockT<crate::chain::Config>>) -> Vec<(u64, Option<u32>)> {
	use gravity::market::calls as c;
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::SubmitJob>() {
		let _ = x;
		return vec![]
	}
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::Commit>() {
		return vec![(x.job, Some(x.task))]
	}
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::Reveal>() {
		return vec![(x.job, Some(x.task))]
	}
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::Deliver>() {
		return vec![(x.job, Some(x.task))]
	}
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::Decline>() {
		return vec![(x.job, Some(x.task))]
	}
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::CancelJob>() {
		return vec![(x.job, None)]
	}
	if let Some(Ok(x)) = ext.decode_call_data_fields_as::<c::Batch>() {
		return x
			.actions
			.0
			.iter()
			.map(|a| match a.clone() {
				mt::ProviderAction::Commit { job, task, .. } |
				mt::ProviderAction::Reveal { job, task, .. } |
				mt::ProviderAction::Deliver { job, task, .. } |
				mt::ProviderAction::Decline { job, task } => (job, Some(task)),
			})
			.collect()
	}
	vec![]
}

async fn history(g: &Global, out: Out, id: u64) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let j = job(&at, id).await?;
	let ts = tasks(&at, id).await?;
	let finalized = chain.finalized_number().await?;
	let mut cache = BTreeMap::new();
	let mut steps: Vec<Value> = Vec::new();
	// Submission: the requester's submit_job in the block the job was created.
	let submit_index = {
		let number = j.created_at as u64;
		let mut found = None;
		if let Ok(b) = chain.api.at_block(number).await {
			if let Ok(exts) = b.extrinsics().fetch().await {
				for ext in exts.iter().filter_map(|e| e.ok()) {
					let by_requester = ext.address_bytes().is_some_and(|a| a.len() == 33 && a[1..] == j.requester.0);
					if ext.pallet_name() == "Market" && ext.call_name() == "submit_job" && by_requester {
						found = Some(ext.index() as u32);
					}
				}
			}
		}
		found
	};
	steps.push(json!({ "block": j.created_at, "index": submit_index, "step": "submitted", "by": ss58(&j.requester) }));
	for (i, t) in &ts {
		for r in &t.replicas.0 {
			let who = ss58(&r.provider);
			steps.push(json!({ "block": r.assigned_at, "index": null, "step": "assigned", "task": i, "round": r.round, "provider": who }));
			if let Some(b) = r.committed_at {
				let x = find_extrinsic(&chain, &mut cache, b as u64, Some(&r.provider), id, Some(*i), &["commit"]).await;
				steps.push(json!({ "block": b, "index": x.as_ref().map(|x| x.0), "call": x.map(|x| x.1), "step": "committed", "task": i, "provider": who }));
			}
			if let Some(rv) = &r.reveal {
				let x = find_extrinsic(&chain, &mut cache, rv.at as u64, Some(&r.provider), id, Some(*i), &["reveal"]).await;
				steps.push(json!({ "block": rv.at, "index": x.as_ref().map(|x| x.0), "call": x.map(|x| x.1), "step": "revealed", "task": i, "provider": who, "fuel": rv.fuel_used }));
			}
			if r.outcome.is_some() {
				if let Some(b) = t.settled_at {
					steps.push(json!({ "block": b, "index": null, "step": format!("settled: {}", outcome_name(&r.outcome)), "task": i, "provider": who, "paid": r.paid.to_string(), "slashed": r.slashed.to_string() }));
				}
			}
		}
		if let Some(b) = t.settled_at {
			let x = find_extrinsic(&chain, &mut cache, b as u64, None, id, Some(*i), &["deliver"]).await;
			steps.push(json!({ "block": b, "index": x.as_ref().map(|x| x.0), "call": x.map(|x| x.1), "step": format!("task {}", phase_name(&t.phase).to_lowercase()), "task": i, "output": t.result.as_ref().map(|(o, _)| o.0.to_string()) }));
		}
	}
	steps.sort_by_key(|s| (s["block"].as_u64().unwrap_or(0), s["index"].as_u64().unwrap_or(u64::MAX)));
	for s in &mut steps {
		let b = s["block"].as_u64().unwrap_or(0);
		s["finalized"] = json!(b <= finalized);
	}
	out.result(json!({ "job": id, "status": status_name(&j.status), "finalizedHead": finalized, "steps": steps }), || {
		let mut text = format!("job {id}: {} (finalized up to #{finalized})\n", status_name(&j.status));
		for s in &steps {
			let at = match s["index"].as_u64() {
				Some(i) => format!("#{}-{i}", s["block"]),
				None => format!("#{}", s["block"]),
			};
			let badge = if s["finalized"].as_bool() == Some(true) { "finalized" } else { "best" };
			let task = s["task"].as_u64().map(|t| format!(" task {t}")).unwrap_or_default();
			let who = s["provider"].as_str().or(s["by"].as_str()).map(|w| format!(" {w}")).unwrap_or_default();
			text.push_str(&format!("{at:>10} [{badge:>9}] {}{task}{who}\n", s["step"].as_str().unwrap_or("")));
		}
		text.trim_end().to_string()
	});
	Ok(())
}

async fn watch(g: &Global, out: Out, id: u64, timeout: u64) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let first = chain.best().await?;
	job(&first, id).await?;
	let started = Instant::now();
	let mut blocks = chain.api.stream_best_blocks().await.context(|| "subscribing to blocks".into())?;
	let mut last = None;
	loop {
		let remaining = Duration::from_secs(timeout).saturating_sub(started.elapsed());
		let next = tokio::time::timeout(remaining, blocks.next())
			.await
			.map_err(|_| Error(format!("job {id} did not end within {timeout} s (--timeout)")))?;
		let Some(block) = next else { fail!("the node stopped sending blocks") };
		let block = block.context(|| "reading a block".into())?;
		let at = block.at().await.context(|| "reading a block".into())?;
		let j = job(&at, id).await?;
		let state = (status_name(&j.status), j.verified, j.failed);
		if last != Some(state) {
			last = Some(state);
			out.event(
				json!({ "block": at.block_number(), "status": state.0, "verified": j.verified, "failed": j.failed, "tasks": j.tasks, "stage": if matches!(j.stage, mt::Stage::Reduce) { "reduce" } else { "map" } }),
				|| format!("#{} {}: {}/{} verified, {} failed", at.block_number(), state.0, j.verified, j.tasks, j.failed),
			);
		}
		if !matches!(j.status, mt::JobStatus::Active) {
			out.result(json!({ "job": id, "ended": status_name(&j.status), "block": at.block_number() }), || {
				format!("job {id} ended: {}", status_name(&j.status))
			});
			return Ok(())
		}
	}
}

async fn get(g: &Global, out: Out, id: u64, dir: &Path) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let j = job(&at, id).await?;
	let ts = tasks(&at, id).await?;
	let data = DataClient::connect(&g.data_url).await?;
	std::fs::create_dir_all(dir).map_err(|e| Error(format!("cannot create {} ({e})", dir.display())))?;
	let verified: Vec<(u32, &Task)> = ts.iter().filter(|(_, t)| t.result.is_some()).map(|(i, t)| (*i, t)).collect();
	if verified.is_empty() {
		fail!("job {id} has no verified output yet ({}): follow it with `gravity job watch {id}`", status_name(&j.status))
	}
	let bar = out.count_bar(verified.len() as u64, "outputs");
	let mut files = Vec::new();
	let mut outputs: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
	for (i, t) in &verified {
		let (o, _) = t.result.as_ref().expect("filtered");
		let oid = o.0;
		let peers = endpoints(&at, agreeing(t).iter()).await?;
		data.fetch(&Out { json: true }, &oid, &peers).await?;
		let bytes = data.read_bytes(&oid).await?;
		if ContentId::of(&bytes) != oid {
			fail!("the output of task {i} read from the node does not match its id {oid}")
		}
		let path = dir.join(format!("task-{i}.out"));
		std::fs::write(&path, &bytes).map_err(|e| Error(format!("cannot write {} ({e})", path.display())))?;
		files.push(path.display().to_string());
		outputs.insert(*i, bytes);
		bar.inc(1);
	}
	bar.finish_and_clear();
	let mut images = Vec::new();
	if let mt::JobKind::Render { width, height, tile, frames } = j.kind {
		let per_frame = width.div_ceil(tile) * height.div_ceil(tile);
		for f in 0..frames {
			let tiles: Vec<&[u8]> = (f * per_frame..(f + 1) * per_frame).filter_map(|i| outputs.get(&i).map(|v| v.as_slice())).collect();
			let rgb = render::assemble(width, height, &tiles)?;
			let path = dir.join(format!("frame-{f}.png"));
			render::write_png(&path, width, height, &rgb)?;
			images.push(json!({ "frame": f, "path": path.display().to_string(), "tiles": tiles.len(), "of": per_frame }));
		}
	}
	out.result(json!({ "job": id, "outputs": files, "images": images }), || {
		let mut s = format!("{} output(s) of job {id} in {}", files.len(), dir.display());
		for i in &images {
			s.push_str(&format!("\n{} ({} of {} tiles)", i["path"].as_str().unwrap_or(""), i["tiles"], i["of"]));
		}
		s
	});
	Ok(())
}

async fn ls(g: &Global, out: Out, mine: bool, account: Option<String>, limit: u64) -> Result<()> {
	let filter = match (mine, &account) {
		(true, Some(_)) => fail!("give --mine or --account, not both"),
		(true, None) => Some(crate::chain::signer(g)?.public_key().to_account_id()),
		(false, Some(a)) => Some(crate::chain::parse_account(a)?),
		(false, None) => None,
	};
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let entry = at.storage().entry(gravity::storage().market().jobs()).context(|| "market.jobs".into())?;
	let mut it = entry.iter(()).await.context(|| "reading jobs".into())?;
	let mut jobs: Vec<(u64, Job)> = Vec::new();
	while let Some(kv) = it.next().await {
		let kv = kv.context(|| "reading jobs".into())?;
		let (id,): (u64,) = kv.key().context(|| "job key".into())?.decode().context(|| "job key".into())?;
		let j: Job = kv.value().decode().context(|| format!("decoding job {id}"))?;
		if filter.as_ref().is_none_or(|f| *f == j.requester) {
			jobs.push((id, j));
		}
	}
	jobs.sort_by(|a, b| b.0.cmp(&a.0));
	jobs.truncate(limit as usize);
	let rows: Vec<Value> = jobs
		.iter()
		.map(|(id, j)| json!({ "job": id, "status": status_name(&j.status), "kind": kind_json(&j.kind)["kind"], "tasks": j.tasks, "verified": j.verified, "failed": j.failed, "requester": ss58(&j.requester), "createdAt": j.created_at }))
		.collect();
	out.result(json!({ "jobs": rows }), || {
		if rows.is_empty() {
			return "(no jobs)".into()
		}
		rows.iter()
			.map(|r| format!("{:>6} {:<10} {:<10} {}/{} verified, {} failed  #{}  {}", r["job"], r["status"].as_str().unwrap_or(""), r["kind"].as_str().unwrap_or(""), r["verified"], r["tasks"], r["failed"], r["createdAt"], r["requester"].as_str().unwrap_or("")))
			.collect::<Vec<_>>()
			.join("\n")
	});
	Ok(())
}

async fn cancel(g: &Global, out: Out, id: u64) -> Result<()> {
	let signer = crate::chain::signer(g)?;
	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let j = job(&at, id).await?;
	if j.requester != signer.public_key().to_account_id() {
		fail!("job {id} is {}'s: only its requester can cancel it", ss58(&j.requester))
	}
	if !matches!(j.status, mt::JobStatus::Active) {
		fail!("job {id} already ended ({})", status_name(&j.status))
	}
	let call = gravity::tx().market().cancel_job(id);
	let inc = chain.submit(&out, "market.cancel_job", &call, &signer).await?;
	out.result(json!({ "job": id, "cancelled": true, "block": inc.as_ref().map(|i| i.block) }), || {
		format!("job {id}: cancel requested (unspent escrow comes back once running replicas settle)")
	});
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn opts(replication: &str) -> JobOptions {
		JobOptions {
			price: 1,
			fuel_cap: 1,
			replication: replication.into(),
			adaptive: false,
			deadline_blocks: 10,
			min_memory_mib: 0,
			min_reputation: 0,
			dry_run: false,
		}
	}

	#[test]
	fn replication_and_scene_sizes_parse_and_garbage_is_refused() {
		let r = replication(&opts("2/4/2")).unwrap();
		assert_eq!((r.initial, r.max, r.quorum, r.adaptive), (2, 4, 2, false));
		for bad in ["2/4", "a/b/c", "2/4/2/1", "300/4/2", ""] {
			assert!(replication(&opts(bad)).is_err(), "{bad}");
		}
		assert_eq!(scene_dims("# demo\nsize 256 192\ntile 48\nsphere 0 0 0 1"), (Some(256), Some(192), Some(48)));
		assert_eq!(scene_dims("sphere 0 0 0 1"), (None, None, None));
	}

	#[test]
	fn input_directories_expand_to_their_files_sorted_and_missing_files_are_named() {
		let dir = std::env::temp_dir().join(format!("gravity-cli-inputs-{}", std::process::id()));
		std::fs::create_dir_all(dir.join("shards")).unwrap();
		for n in ["b", "a", "c"] {
			std::fs::write(dir.join("shards").join(n), n).unwrap();
		}
		std::fs::write(dir.join("one"), "1").unwrap();
		let files = input_files(&[dir.join("one"), dir.join("shards")]).unwrap();
		let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
		assert_eq!(names, ["one", "a", "b", "c"]);
		let e = input_files(&[dir.join("missing")]).unwrap_err().to_string();
		assert!(e.contains("missing"), "{e}");
		std::fs::create_dir_all(dir.join("empty")).unwrap();
		assert!(input_files(&[dir.join("empty")]).unwrap_err().to_string().contains("has no files"));
		std::fs::remove_dir_all(dir).unwrap();
	}

	#[test]
	fn a_program_providers_would_refuse_is_refused_before_anything_is_signed() {
		let dir = std::env::temp_dir().join(format!("gravity-cli-prog-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		std::fs::write(dir.join("bad.wasm"), b"not wasm").unwrap();
		let e = read_program(&dir.join("bad.wasm")).unwrap_err().to_string();
		assert!(e.contains("not a task program providers will run: invalid wasm module"), "{e}");
		// A module that imports outside the task ABI.
		let wasm = wat::parse_str(r#"(module (import "env" "clock" (func)) (memory (export "memory") 1) (func (export "run") (result i32) i32.const 0))"#).unwrap();
		std::fs::write(dir.join("import.wasm"), wasm).unwrap();
		let e = read_program(&dir.join("import.wasm")).unwrap_err().to_string();
		assert!(e.contains("forbidden import env::clock"), "{e}");
		std::fs::write(dir.join("render.wasm"), gravity_task_programs::RENDER).unwrap();
		assert!(read_program(&dir.join("render.wasm")).is_ok());
		assert!(read_program(&dir.join("absent.wasm")).unwrap_err().to_string().contains("cannot read the program"));
		std::fs::remove_dir_all(dir).unwrap();
	}
}
