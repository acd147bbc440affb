//! Submission: a `JobSpec` is validated into a plan (what it will cost and hold, with every
//! refusal a named error and nothing changed), then its escrow and queue deposit are held, then
//! the job and its first tasks are created. Each step is its own function.

use crate::*;
use alloc::vec::Vec;
use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{ContentId, ContentStore, JobId, ProviderRegistry};
use sp_runtime::traits::{Saturating, Zero};

/// What a valid `JobSpec` will create and hold.
pub(crate) struct JobPlan<T: Config> {
	/// Tasks of the first stage.
	first: u32,
	/// The budget held in escrow: `tasks × (max + escalation) × fuel cap × price`.
	budget: BalanceOf<T>,
	/// `queue_deposit` × replicas queued at submission.
	queue_deposit: BalanceOf<T>,
	/// The block whose job deadlines will hold this job's (the deadline, or the next one with
	/// room).
	deadline_slot: BlockNumberFor<T>,
}

impl<T: Config> Pallet<T> {
	pub(crate) fn do_submit_job(who: T::AccountId, spec: JobSpecOf<T>) -> Result<JobId, DispatchError> {
		let plan = Self::plan_job(&spec)?;
		Self::hold_job_funds(&who, &plan)?;
		Ok(Self::create_job(who, spec, plan))
	}

	/// The programs a job runs: the program, and the reduce program of a map-reduce job.
	fn programs(spec: &JobSpecOf<T>) -> impl Iterator<Item = &ContentId> {
		let reduce = match &spec.kind {
			JobKind::MapReduce { reduce_program, .. } => Some(reduce_program),
			_ => None,
		};
		core::iter::once(&spec.program).chain(reduce)
	}

	/// For the runtime API: what submitting `spec` now would hold, `(escrow budget, queue
	/// deposit)`, or why it would be refused. Changes nothing.
	pub fn api_quote(spec: JobSpecOf<T>) -> Result<(BalanceOf<T>, BalanceOf<T>), DispatchError> {
		Self::plan_job(&spec).map(|plan| (plan.budget, plan.queue_deposit))
	}

	/// Validate `spec` and work out what it costs; changes nothing.
	pub(crate) fn plan_job(spec: &JobSpecOf<T>) -> Result<JobPlan<T>, DispatchError> {
		let inputs = &spec.inputs;
		let max_tasks = T::MaxTasksPerJob::get();
		ensure!(inputs.len() as u64 <= max_tasks as u64, Error::<T>::TooManyInputs);
		ensure!(inputs.iter().all(|i| i.length <= T::MaxContentLength::get()), Error::<T>::InputTooLarge);
		// Tasks of the first stage and tasks in all.
		let (first, total) = match &spec.kind {
			JobKind::Batch => (inputs.len() as u32, inputs.len() as u32),
			JobKind::MapReduce { reducers, .. } => {
				ensure!(
					*reducers >= 1 && *reducers <= T::MaxReducers::get(),
					Error::<T>::InvalidJobKind
				);
				(inputs.len() as u32, (inputs.len() as u32).saturating_add(*reducers))
			},
			JobKind::Render { width, height, tile, frames } => {
				ensure!(inputs.len() <= 1, Error::<T>::TooManyInputs);
				ensure!(*frames >= 1, Error::<T>::InvalidJobKind);
				let n = Self::render_tiles(*width, *height, *tile)
					.ok_or(Error::<T>::InvalidJobKind)?
					.checked_mul(*frames)
					.ok_or(Error::<T>::TooManyTasks)?;
				(if inputs.is_empty() { 0 } else { n }, if inputs.is_empty() { 0 } else { n })
			},
		};
		ensure!(first > 0, Error::<T>::NoTasks);
		ensure!(total <= max_tasks, Error::<T>::TooManyTasks);
		let r = spec.replication;
		ensure!(r.quorum >= 1 && r.initial >= 1, Error::<T>::InvalidReplication);
		ensure!(r.quorum <= r.initial, Error::<T>::QuorumExceedsReplicas);
		ensure!(
			r.initial <= r.max && (r.max as u32) <= T::MaxReplicas::get(),
			Error::<T>::InvalidReplication
		);
		// Adaptive replication lowers `initial` to one trusted replica, spot-checked at times by
		// `quorum` checkers added to it (`decide_replication`): it needs more than one replica
		// to lower, and room for the checkers.
		ensure!(!r.adaptive || r.initial >= 2, Error::<T>::AdaptiveWithOneReplica);
		ensure!(!r.adaptive || r.max > r.quorum, Error::<T>::NoRoomForSpotCheck);
		// One declining, absent or lying replica must not fail the task: a competitor's Sybil
		// drawn into it would otherwise sabotage the job for free.
		ensure!(r.survives_one_bad_replica(), Error::<T>::FragileReplication);
		ensure!(!spec.price_per_fuel.is_zero() && spec.fuel_cap > 0, Error::<T>::ZeroPrice);
		let now = frame_system::Pallet::<T>::block_number();
		let config = Self::config();
		ensure!(
			spec.deadline > now.saturating_add(config.windows.commit).saturating_add(config.windows.reveal),
			Error::<T>::DeadlineInPast
		);
		ensure!(spec.deadline <= now.saturating_add(T::MaxJobDuration::get()), Error::<T>::DeadlineTooFar);

		let budget = Self::job_budget(spec, total)?;

		// Nothing a provider could be penalized for without fault: the work fits a commit
		// window, some online provider can qualify, and the programs exist (and stay: pinned).
		ensure!(spec.fuel_cap <= config.max_fuel_cap, Error::<T>::FuelCapTooHigh);
		ensure!(
			spec.requirements.min_reputation <= T::MaxRequiredReputation::get(),
			Error::<T>::RequiredReputationTooHigh
		);
		ensure!(
			T::Providers::class_sizes(&spec.requirements.candidate_classes()).iter().any(|s| *s > 0),
			Error::<T>::NoEligibleProvider
		);
		// Programs must be on chain (providers read them from there). Inputs live off chain
		// and are not checked: a provider that cannot fetch one declines its replica for free.
		ensure!(Self::programs(spec).all(|id| T::Content::exists(id)), Error::<T>::ContentMissing);
		ensure!(spec.source.as_ref().is_none_or(|s| !s.is_empty()), Error::<T>::EmptySource);

		let queue_len = QueueTail::<T>::get().saturating_sub(QueueHead::<T>::get());
		let need = total as u64 * r.initial as u64;
		ensure!(
			queue_len.saturating_add(need) <= T::MaxQueueLen::get() as u64,
			Error::<T>::QueueFull
		);
		let deadline_slot = Self::free_job_deadline_slot(spec.deadline).ok_or(Error::<T>::QueueFull)?;
		let replicas = BalanceOf::<T>::try_from(need as u128).map_err(|_| Error::<T>::BudgetOverflow)?;
		let queue_deposit = config.queue_deposit.saturating_mul(replicas);
		Ok(JobPlan { first, budget, queue_deposit, deadline_slot })
	}

	/// Hold a planned job's escrow and queue deposit from `who`, or fail without holding either
	/// (a failure rolls the first hold back with the rest of the call).
	fn hold_job_funds(who: &T::AccountId, plan: &JobPlan<T>) -> DispatchResult {
		T::Currency::hold(&HoldReason::JobEscrow.into(), who, plan.budget)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		T::Currency::hold(&HoldReason::QueueDeposit.into(), who, plan.queue_deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Ok(())
	}

	/// Create a planned job whose funds are held: pin its programs, record it, create and queue
	/// its first tasks.
	fn create_job(who: T::AccountId, spec: JobSpecOf<T>, plan: JobPlan<T>) -> JobId {
		let now = frame_system::Pallet::<T>::block_number();
		// Keep the data until the job's last possible settlement.
		let pin = Self::retention(spec.deadline);
		let programs: Vec<ContentId> = Self::programs(&spec).copied().collect();
		// An input that happens to be on chain is kept too.
		let on_chain = spec.inputs.iter().filter(|id| T::Content::exists(id));
		for id in programs.iter().chain(on_chain) {
			T::Content::pin_until(id, pin);
		}

		let id = NextJobId::<T>::get();
		NextJobId::<T>::put(id.saturating_add(1));

		let JobSpec { program, source, kind, inputs, requirements, replication: r, price_per_fuel, fuel_cap, deadline } =
			spec;
		let first = plan.first;
		let scene = inputs.first().copied().unwrap_or_default();
		for i in 0..first {
			let (input, param) = match &kind {
				JobKind::Render { .. } => (scene, i),
				// A map task learns how many partitions to write its output in
				// (`gravity_protocol::partition`): reducer `r` fetches only partition `r`.
				JobKind::MapReduce { reducers, .. } => (inputs[i as usize], *reducers),
				JobKind::Batch => (inputs[i as usize], 0),
			};
			Self::create_task(id, i, Stage::Map, program, input, param, &r);
		}
		if let JobKind::MapReduce { .. } = kind {
			let zeros: BoundedVec<ContentId, T::MaxTasksPerJob> =
				BoundedVec::truncate_from(alloc::vec![ContentId::default(); first as usize]);
			MapOutputs::<T>::insert(id, zeros);
		}
		JobDeadlines::<T>::mutate(plan.deadline_slot, |v| {
			let _ = v.try_push(id);
		});
		Jobs::<T>::insert(
			id,
			JobOf::<T> {
				requester: who.clone(),
				kind,
				program,
				source,
				requirements,
				replication: r,
				price_per_fuel,
				fuel_cap,
				deadline,
				created_at: now,
				status: JobStatus::Active,
				stage: Stage::Map,
				tasks: first,
				map_tasks: first,
				verified: 0,
				failed: 0,
				escrow: Escrow { locked: plan.budget, queue_deposit: plan.queue_deposit, ..Default::default() },
				reduce_input: None,
				ending: None,
				committed_open: 0,
				assigned_open: 0,
			},
		);
		Self::deposit_event(Event::JobSubmitted { job: id, requester: who, tasks: first, budget: plan.budget });
		id
	}

	/// Number of first-stage tasks a job of `kind` with `inputs` inputs has (0 if invalid).
	pub fn task_count_hint(kind: &JobKind, inputs: usize) -> u32 {
		match kind {
			JobKind::Render { width, height, tile, frames } =>
				Self::render_tiles(*width, *height, *tile)
					.and_then(|t| t.checked_mul(*frames))
					.unwrap_or(0),
			JobKind::Batch | JobKind::MapReduce { .. } => inputs as u32,
		}
	}

	/// The `n` of `submit_job`'s weight: the larger of inputs and first-stage tasks, at most
	/// `MaxTasksPerJob` (a larger job is rejected with a named error before any work).
	pub fn submit_weight_units(kind: &JobKind, inputs: usize) -> u32 {
		let inputs = u32::try_from(inputs).unwrap_or(u32::MAX);
		Self::task_count_hint(kind, inputs as usize).max(inputs).min(T::MaxTasksPerJob::get())
	}

	/// Tiles per frame of a render job.
	pub fn render_tiles(width: u32, height: u32, tile: u32) -> Option<u32> {
		if width == 0 || height == 0 || tile == 0 {
			return None
		}
		width.div_ceil(tile).checked_mul(height.div_ceil(tile))
	}

	/// The last block a job with `deadline` may still need its data (and its outputs must be
	/// kept): a task sealed before the deadline may still reveal and deliver after it (with the
	/// windows in force at submission).
	pub fn retention(deadline: BlockNumberFor<T>) -> BlockNumberFor<T> {
		Self::config().windows.retention(deadline)
	}
}
