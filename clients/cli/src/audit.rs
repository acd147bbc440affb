//! `gravity job audit`: prove the chain right or wrong about a job by re-executing it.
//!
//! For each verified task (or the one named): the program (from the chain), the input (from the
//! chain or the data plane) and the agreed output (from the providers that agreed) are kept in a
//! local directory (`--dir`); every local copy is checked against the id the chain recorded for
//! it, so a copy altered on this machine is found, not trusted. The task is run again in the
//! providers' sandby crate (`gravity-executor`, same metering, same limits, same seed), and its
//! output id, result digest and fuel compared with what the chain agreed. Every replica's reveal
//! is checked against the agreed result (its digest for its round) and its commitment against
//! its reveal (with the salt from its `reveal` extrinsic, in the block the record names). The
//! escrow is checked to add up. Exit 0 only when everything matches.

use crate::{
	chain::{gravity, runtime_types as rt, ss58, AtBlock, Chain},
	cli::Global,
	data::{hash_file, DataClient},
	error::{Error, Result},
	fail,
	job::{agreeing, endpoints, job, outcome_name, task, tasks, Job, Task},
	out::Out,
};
use clap::Args;
use gravity_executor::{program_hash, Executor, Limits};
use gravity_protocol::content::ContentId;
use rt::pallet_gravity_market::types as mt;
use serde_json::{json, Value};
use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	sync::Arc,
	time::Instant,
};
use subxt::utils::AccountId32;

#[derive(Args, Clone)]
pub struct AuditArgs {
	/// The job.
	pub job: u64,
	/// Only this task.
	pub task: Option<u32>,
	/// Where the local copies of programs, inputs and outputs are kept (and reused):
	/// default `gravity-audit-<job>` in the system's temporary directory.
	#[arg(long)]
	pub dir: Option<PathBuf>,
}

/// What the audit found wrong, one sentence each.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
	fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> bool {
		if !ok {
			self.0.push(what());
		}
		ok
	}
}

/// A local copy of content `id` at `path`: fetched if absent (by `fetch`), then checked against
/// `id`. `Err` only when it cannot be had at all; a copy that does not match is a finding.
async fn local_copy<F, Fut>(path: &Path, id: &ContentId, what: &str, findings: &mut Findings, fetch: F) -> Result<Option<Vec<u8>>>
where
	F: FnOnce() -> Fut,
	Fut: std::future::Future<Output = Result<Vec<u8>>>,
{
	if !path.exists() {
		let bytes = fetch().await?;
		if ContentId::of(&bytes) != *id {
			fail!("the {what} fetched for {id} does not match that id: the node served other bytes")
		}
		std::fs::write(path, &bytes).map_err(|e| Error(format!("cannot write {} ({e})", path.display())))?;
	}
	let local = hash_file(path)?;
	if !findings.check(local == *id, || {
		format!("the local copy of the {what} ({}) is not the content the chain names: {local} instead of {id} (altered after it was fetched)", path.display())
	}) {
		return Ok(None)
	}
	let bytes = std::fs::read(path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
	Ok(Some(bytes))
}

fn file_id(id: &ContentId) -> String {
	id.to_string()[..16].to_string()
}

async fn chain_blob(at: &AtBlock, id: &ContentId) -> Result<Option<Vec<u8>>> {
	Ok(crate::chain::try_read(at, gravity::storage().content().blobs(), (subxt::utils::Static(*id),)).await?.map(|b| b.0))
}

/// The salt of `provider`'s reveal of `job`/`task` from the block the record names.
async fn reveal_salt(chain: &Chain, block: u32, provider: &AccountId32, job_id: u64, task_id: u32) -> Option<[u8; 32]> {
	use gravity::market::calls as c;
	let at = chain.api.at_block(block as u64).await.ok()?;
	let exts = at.extrinsics().fetch().await.ok()?;
	for ext in exts.iter().filter_map(|e| e.ok()) {
		let by = ext.address_bytes().is_some_and(|a| a.len() == 33 && a[1..] == provider.0);
		if !by || ext.pallet_name() != "Market" {
			continue
		}
		if let Some(Ok(r)) = ext.decode_call_data_fields_as::<c::Reveal>() {
			if r.job == job_id && r.task == task_id {
				return Some(r.salt)
			}
		}
		if let Some(Ok(b)) = ext.decode_call_data_fields_as::<c::Batch>() {
			for a in b.actions.0 {
				if let mt::ProviderAction::Reveal { job, task, salt, .. } = a {
					if job == job_id && task == task_id {
						return Some(salt)
					}
				}
			}
		}
	}
	None
}

/// The escrow adds up: what was locked is the chain's formula, nothing is paid or refunded
/// twice, an ended job holds nothing, no agreeing replica was paid more than its fuel's worth.
fn check_escrow(j: &Job, ts: &BTreeMap<u32, Task>, max_replicas: u32, findings: &mut Findings) -> Value {
	let e = &j.escrow;
	let r = &j.replication;
	let escalation = ((r.quorum as u32) * 2 + 1).min(max_replicas) as u128;
	let formula = j.tasks as u128 * (r.max as u128 + escalation) * j.fuel_cap as u128 * j.price_per_fuel;
	findings.check(e.locked == formula, || format!("escrow locked {} is not tasks × (max + dispute) × fuel cap × price = {formula}", e.locked));
	let out = e.paid.saturating_add(e.refunded);
	findings.check(out <= e.locked, || format!("escrow paid {} + refunded {} exceed the {} locked", e.paid, e.refunded, e.locked));
	if !matches!(j.status, mt::JobStatus::Active) {
		findings.check(out == e.locked, || format!("the job ended but {} of its escrow is still held", e.locked.saturating_sub(out)));
	}
	let to_providers: u128 = ts.values().flat_map(|t| t.replicas.0.iter()).map(|x| x.paid).sum();
	findings.check(to_providers <= e.paid, || format!("providers were paid {to_providers}, more than the {} the escrow paid out", e.paid));
	for (i, t) in ts {
		for x in &t.replicas.0 {
			if let Some((_, fuel)) = &t.result {
				let worth = *fuel as u128 * j.price_per_fuel;
				findings.check(x.paid <= worth, || format!("task {i}: {} was paid {} for work worth {worth}", ss58(&x.provider), x.paid));
			}
			if x.paid > 0 {
				findings.check(matches!(x.outcome, Some(mt::ReplicaOutcome::Agreed)), || {
					format!("task {i}: {} was paid but its replica ended {}", ss58(&x.provider), outcome_name(&x.outcome))
				});
			}
		}
	}
	json!({ "locked": e.locked.to_string(), "paid": e.paid.to_string(), "refunded": e.refunded.to_string(), "toProviders": to_providers.to_string() })
}

pub async fn run(g: &Global, out: Out, args: AuditArgs) -> Result<()> {
	let audit_started = Instant::now();
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let id = args.job;
	let j = job(&at, id).await?;
	let all = tasks(&at, id).await?;
	let chosen: BTreeMap<u32, Task> = match args.task {
		Some(t) => BTreeMap::from([(t, task(&at, id, t).await?)]),
		None => all.clone(),
	};
	let verified: Vec<(u32, &Task)> = chosen.iter().filter(|(_, t)| t.result.is_some()).map(|(i, t)| (*i, t)).collect();
	if verified.is_empty() {
		fail!("job {id} has no verified task to audit{}: wait for it (`gravity job watch {id}`)", args.task.map(|t| format!(" (task {t} is not verified)")).unwrap_or_default())
	}
	let dir = args.dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("gravity-audit-{id}")));
	std::fs::create_dir_all(&dir).map_err(|e| Error(format!("cannot create {} ({e})", dir.display())))?;
	let data = DataClient::connect(&g.data_url).await?;
	let executor = Executor::new(4).map_err(|e| Error(format!("cannot start the sandbox: {e}")))?;
	let max_replicas: u32 = at
		.constants()
		.entry(gravity::constants().market().max_replicas())
		.map_err(|e| Error(format!("market.MaxReplicas: {e}")))?;
	let source_peer = j.source.as_ref().map(|s| bs58::encode(&s.0).into_string());
	// One-off setup (the chain and data connections, the job's records, the sandbox's engine),
	// reported apart from the per-task work.
	let setup_ms = audit_started.elapsed().as_millis() as u64;
	let mut findings = Findings::default();
	let mut rows = Vec::new();
	let bar = out.count_bar(verified.len() as u64, "re-executing");
	for (i, t) in verified {
		let before = findings.0.len();
		let (agreed_out, agreed_fuel) = t.result.as_ref().map(|(o, f)| (o.0, *f)).expect("verified");
		let program_id = t.program.0;
		let input_id = t.input.0;
		let agree = agreeing(t);
		let peers = endpoints(&at, agree.iter()).await?;
		// Time spent getting the program, the input and the output (from the chain or the data
		// plane, or checking a local copy), reported apart from the re-execution.
		let fetch_started = Instant::now();
		// The program, from the chain.
		let program = local_copy(&dir.join(format!("program-{}.wasm", file_id(&program_id))), &program_id, "program", &mut findings, || async {
			chain_blob(&at, &program_id).await?.ok_or_else(|| Error(format!("program {program_id} is no longer stored on chain")))
		})
		.await?;
		// The input: on chain, or from the job's source and the task's providers.
		let input = match t.stage {
			mt::Stage::Map => {
				let mut from: Vec<String> = source_peer.iter().cloned().collect();
				from.extend(endpoints(&at, t.replicas.0.iter().map(|r| &r.provider)).await?);
				let data = data.clone();
				let at = &at;
				let copy = local_copy(&dir.join(format!("input-{}.bin", file_id(&input_id))), &input_id, "input", &mut findings, || async move {
					if let Some(b) = chain_blob(at, &input_id).await? {
						return Ok(b)
					}
					data.fetch(&Out { json: true }, &input_id, &from).await?;
					data.read_bytes(&input_id).await
				})
				.await?;
				copy.map(|bytes| gravity_protocol::input::encode(t.param, &bytes))
			},
			mt::Stage::Reduce => {
				let mt::JobKind::MapReduce { reducers, .. } = &j.kind else { fail!("job {id} has a reduce task but is not map-reduce") };
				let mut parts = Vec::new();
				let mut complete = true;
				for m in 0..j.map_tasks {
					let Some(map) = all.get(&m) else { fail!("map task {m} of job {id} is missing") };
					let Some((o, _)) = &map.result else { fail!("map task {m} of job {id} has no verified output") };
					let oid = o.0;
					let from = endpoints(&at, agreeing(map).iter()).await?;
					let data = data.clone();
					match local_copy(&dir.join(format!("output-{m}.bin")), &oid, &format!("output of map task {m}"), &mut findings, || async move {
						data.fetch(&Out { json: true }, &oid, &from).await?;
						data.read_bytes(&oid).await
					})
					.await?
					{
						Some(b) => parts.push(b),
						None => complete = false,
					}
				}
				complete.then(|| {
					let slices: Vec<&[u8]> = parts
						.iter()
						.map(|o| gravity_protocol::partition::part(o, *reducers, t.param).unwrap_or(o.as_slice()))
						.collect();
					gravity_protocol::input::encode_reduce(t.param, *reducers, slices.iter().copied())
				})
			},
		};
		// The agreed output, from the providers that agreed.
		let output = {
			let data = data.clone();
			local_copy(&dir.join(format!("output-{i}.bin")), &agreed_out, &format!("output of task {i}"), &mut findings, || async move {
				data.fetch(&Out { json: true }, &agreed_out, &peers).await?;
				data.read_bytes(&agreed_out).await
			})
			.await?
		};
		let fetch_ms = fetch_started.elapsed().as_millis() as u64;
		// Re-execute.
		let mut rerun = Value::Null;
		if let (Some(program), Some(input)) = (&program, input) {
			let limits = Limits { fuel_cap: j.fuel_cap, ..Limits::default() };
			let started = Instant::now();
			let (result, _) = executor.run(program_hash(program), program, Arc::new(input), gravity_protocol::result::task_seed(id, i), &limits);
			let ms = started.elapsed().as_millis() as u64;
			let got = result.output_id();
			findings.check(got == agreed_out, || format!("task {i}: re-executed, the output is {got}, not the {agreed_out} the chain verified"));
			findings.check(result.fuel_used == agreed_fuel, || {
				format!("task {i}: re-executed, it used {} fuel, not the {agreed_fuel} the chain verified", result.fuel_used)
			});
			rerun = json!({ "output": got.to_string(), "fuel": result.fuel_used, "ms": ms, "failure": result.outcome.as_ref().err().map(|f| f.to_string()) });
		}
		if let Some(o) = &output {
			let _ = o;
		}
		// Every replica's reveal and commitment.
		let mut replicas = Vec::new();
		for r in &t.replicas.0 {
			let mut checks = json!({ "provider": ss58(&r.provider), "round": r.round, "outcome": outcome_name(&r.outcome) });
			if let Some(rv) = &r.reveal {
				let expected = gravity_protocol::result::result_digest(&agreed_out, agreed_fuel, id, i, r.round);
				let matches_agreed = rv.digest.0 == expected && rv.fuel_used == agreed_fuel;
				let agreed = matches!(r.outcome, Some(mt::ReplicaOutcome::Agreed));
				findings.check(matches_agreed == agreed, || {
					format!(
						"task {i}: {} revealed {} the agreed result but was judged {}",
						ss58(&r.provider),
						if matches_agreed { "exactly" } else { "other than" },
						outcome_name(&r.outcome)
					)
				});
				checks["revealMatchesAgreed"] = json!(matches_agreed);
				match (r.commitment, reveal_salt(&chain, rv.at, &r.provider, id, i).await) {
					(Some(c), Some(salt)) => {
						let again = gravity_protocol::result::commitment(&rv.digest.0, rv.fuel_used, &r.provider.0, id, i, &salt);
						findings.check(again == c.0, || format!("task {i}: {}'s reveal does not open its commitment", ss58(&r.provider)));
						checks["commitmentOpens"] = json!(again == c.0);
					},
					(None, _) => {
						findings.check(false, || format!("task {i}: {} revealed without a commitment on record", ss58(&r.provider)));
					},
					(Some(_), None) => checks["commitmentOpens"] = json!(null),
				}
			}
			replicas.push(checks);
		}
		let ok = findings.0.len() == before;
		let row = json!({ "task": i, "ok": ok, "program": program_id.to_string(), "input": input_id.to_string(), "output": agreed_out.to_string(), "fuel": agreed_fuel, "rerun": rerun, "fetchMs": fetch_ms, "replicas": replicas, "problems": findings.0[before..].to_vec() });
		out.event(row.clone(), || {
			let mut s = format!("task {i}: {} — output {agreed_out}, fuel {agreed_fuel}", if ok { "matches" } else { "MISMATCH" });
			if let Some(ms) = row["rerun"]["ms"].as_u64() {
				s.push_str(&format!(" (re-executed in {ms} ms)"));
			}
			for p in &findings.0[before..] {
				s.push_str(&format!("\n  ✗ {p}"));
			}
			s
		});
		rows.push(row);
		bar.inc(1);
	}
	bar.finish_and_clear();
	let escrow = check_escrow(&j, &all, max_replicas, &mut findings);
	let ok = findings.0.is_empty();
	let ms = audit_started.elapsed().as_millis() as u64;
	out.result(json!({ "job": id, "ok": ok, "tasks": rows.len(), "escrow": escrow, "problems": findings.0, "dir": dir.display().to_string(), "ms": ms, "setupMs": setup_ms }), || {
		if ok {
			format!("job {id}: audit passed: {} task(s) re-executed with the chain's output and fuel, every reveal and commitment checked, escrow adds up", rows.len())
		} else {
			format!("job {id}: audit FAILED: {} problem(s):\n  {}", findings.0.len(), findings.0.join("\n  "))
		}
	});
	if !ok {
		fail!("audit of job {id} found {} problem(s)", findings.0.len())
	}
	Ok(())
}
