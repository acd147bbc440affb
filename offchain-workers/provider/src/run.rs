//! Running one replica: fetch its input into the content store, run it in the sandbox on a
//! blocking thread, keep its output in the content store, and seal a [`Record`] of it. Every
//! way this can end without a result is one [`RunError`], and the caller (the event loop) has
//! one failure path: try again at a later block, or give the replica up (a free decline).

use crate::{
	inputs::{fetch_input, RunPlan},
	state::Record,
	worker::{Hash, ProviderRuntimeApi, LOG},
};
use gravity_data_swarm::DataService;
use gravity_executor::{Executor, Failure, Limits, Program};
use gravity_primitives::{JobId, TaskIndex};
use gravity_runtime::opaque::Block;
use pallet_gravity_content::runtime_api::ContentApi;
use sp_api::ProvideRuntimeApi;
use std::{
	sync::Arc,
	time::{Duration, Instant},
};

/// Why a run ended without a result to seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunError {
	/// The input was not fetched (yet). Tried again at a later block until the decline point,
	/// then given up.
	Input(String),
	/// The blocking thread that runs the task failed (it panicked or was cancelled): tried again
	/// at a later block.
	Thread(String),
	/// Not run here ([`Failure::Aborted`]: past its CPU time, still running when its result
	/// was due, or its program unreadable). Not a result: given up.
	Aborted(String),
	/// The output could not be kept in the content store, or was not the result: a sealed
	/// result must be deliverable, so given up.
	Output(String),
}

impl RunError {
	/// Whether the replica is given up (declined, for free) rather than tried again at a later
	/// block; `past_decline_point`: the fetch's time ran out.
	pub(crate) fn gives_up(&self, past_decline_point: bool) -> bool {
		match self {
			RunError::Input(_) => past_decline_point,
			RunError::Thread(_) => false,
			RunError::Aborted(_) | RunError::Output(_) => true,
		}
	}
}

impl core::fmt::Display for RunError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			RunError::Input(e) => write!(f, "{e}"),
			RunError::Thread(e) => write!(f, "the task's thread failed: {e}"),
			RunError::Aborted(e) => write!(f, "not run here: {e}"),
			RunError::Output(e) => write!(f, "output not kept: {e}"),
		}
	}
}

/// A sealed result, with how long the run took (for the log).
pub(crate) struct Sealed {
	pub record: Record,
	pub run_ms: u128,
}

/// One replica's run: everything it needs, owned, so it can run on its own task.
pub(crate) struct Run<C> {
	pub client: Arc<C>,
	/// The block the plan was read at (the program is read there on a compile-cache miss).
	pub at: Hash,
	pub job_id: JobId,
	pub task_idx: TaskIndex,
	pub plan: RunPlan,
	pub executor: Executor,
	pub data: DataService,
	/// The sandbox's limits, with the job's fuel cap and the time the result is due.
	pub limits: Limits,
	/// Until when (Unix seconds) the input and output are kept in the content store.
	pub keep_until: u64,
	/// How long the input may take to fetch (until the decline point).
	pub fetch_budget: Duration,
}

impl<C> Run<C>
where
	C: ProvideRuntimeApi<Block> + Send + Sync + 'static,
	C::Api: ProviderRuntimeApi,
{
	/// Fetch, run, keep the output, and seal: the record to write (once) before anything is
	/// sent, or why there is none.
	pub(crate) async fn execute(self) -> Result<Sealed, RunError> {
		let Run { client, at, job_id, task_idx, plan, executor, data, limits, keep_until, fetch_budget } = self;
		let input = tokio::time::timeout(fetch_budget, fetch_input(&data, &plan.input, keep_until))
			.await
			.unwrap_or_else(|_| Err("input not fetched by the decline point".into()))
			.map_err(RunError::Input)?;
		log::info!(target: LOG, "job {job_id} task {task_idx}: running ({} bytes in)", input.len());
		let program_id = plan.program_id;
		let program = plan.program;
		let (result, stats) = tokio::task::spawn_blocking(move || {
			let seed = gravity_protocol::result::task_seed(job_id, task_idx);
			// The program's bytes: read at planning time, or from the chain now if the module
			// was evicted from the compile cache since.
			let load = || client.runtime_api().get(at, program_id).ok().flatten().map(|b| b.bytes);
			let program = match &program {
				Some(bytes) => Program::Bytes(bytes),
				None => Program::Load(&load),
			};
			executor.run_program(program_id.root, program, input, seed, &limits)
		})
		.await
		.map_err(|e| RunError::Thread(e.to_string()))?;
		if let Err(Failure::Aborted(why)) = &result.outcome {
			return Err(RunError::Aborted(why.clone()))
		}
		// The output into the content store first: a sealed result is always deliverable.
		let expected = result.output_id();
		let output = data.put_bytes(result.deliverable()).await.map_err(|e| RunError::Output(e.to_string()))?;
		if output != expected {
			return Err(RunError::Output(format!("stored output {output} is not the result {expected}")))
		}
		if let Err(e) = data.keep_until(&output, keep_until) {
			log::warn!(target: LOG, "job {job_id} task {task_idx}: output {output}: {e}");
		}
		let record = Record {
			output,
			fuel_used: result.fuel_used,
			salt: rand::random(),
			failure: result.outcome.as_ref().err().map(|f| f.to_string()),
		};
		Ok(Sealed { record, run_ms: stats.total_ns / 1_000_000 })
	}
}

/// When a fetch that fails is given up rather than tried again: half a second before its
/// budget ends (a later block would be past the decline point).
pub(crate) fn give_up_at(started: Instant, fetch_budget: Duration) -> Instant {
	started + fetch_budget.saturating_sub(Duration::from_millis(500))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn what_is_retried_and_what_is_given_up() {
		let input = RunError::Input("no peer has it".into());
		assert!(!input.gives_up(false), "a fetch is tried again until the decline point");
		assert!(input.gives_up(true), "and given up at it");
		assert!(!RunError::Thread("panicked".into()).gives_up(true), "a failed thread is tried again");
		for e in [RunError::Aborted("past its CPU time".into()), RunError::Output("disk full".into())] {
			assert!(e.gives_up(false), "{e}: not a result, declined at once");
		}
	}
}
