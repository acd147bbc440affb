//! The lifecycle: every change of a task's `TaskPhase` and of a job's `JobStatus` or stage is
//! made here, and nowhere else. Calls, ticks, assignment and settlement decide *that* a
//! transition happens; this file *makes* it, with its bookkeeping (open replicas released,
//! escrow refunded, events). It calls only the leaves (`queue_impls`, `escrow_impls`,
//! `utility_impls`).
//!
//! Task: `Committing` → `Revealing` (`maybe_open_reveals`) → `Delivering` / `Verified`, or a
//! new sealed round (`next_round`), a dispute (`dispute`), `Failed` (`fail_task`) or
//! `Abandoned` (`abandon`). Job: `Active` → (map → reduce: `start_reduce`) → `Completed`,
//! `Failed`, `Cancelled` or `Expired` (`finish_job`, via `end_job` / `maybe_end` once no
//! committed work is open).

use crate::*;
use frame_support::{
	pallet_prelude::*,
	traits::{fungible::MutateHold, tokens::Precision},
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{ContentId, JobId, ProviderRegistry, TaskIndex};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Create task `idx` of `job` in its commit phase and queue its initial replicas.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn create_task(
		job: JobId,
		idx: TaskIndex,
		stage: Stage,
		program: gravity_primitives::ContentId,
		input: gravity_primitives::ContentId,
		param: u32,
		r: &ReplicationPolicy,
	) {
		Tasks::<T>::insert(
			job,
			idx,
			TaskOf::<T> {
				stage,
				program,
				input,
				param,
				phase: TaskPhase::Committing,
				wanted: r.initial,
				quorum: r.quorum,
				queued: r.initial,
				deferrals: 0,
				trusted: false,
				check_pending: false,
				round: 0,
				agreed: None,
				escalation: 0,
				replicas: Default::default(),
				result: None,
				settled_at: None,
			},
		);
		for _ in 0..r.initial {
			Self::enqueue(job, idx);
		}
	}

	/// Close an open replica with `outcome` (no money moves here): its provider no longer holds
	/// it, and a sealed result no longer waits for settlement.
	pub(crate) fn close_replica(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		outcome: ReplicaOutcome,
	) {
		if !rep.is_open() {
			return
		}
		if rep.commitment.is_some() {
			job.committed_open = job.committed_open.saturating_sub(1);
		} else {
			job.assigned_open = job.assigned_open.saturating_sub(1);
		}
		rep.outcome = Some(outcome);
		let entry = WorkEntryOf::<T> {
			job: job_id,
			task: task_idx,
			round: rep.round,
			outcome,
			paid: rep.paid,
			slashed: rep.slashed,
			at: frame_system::Pallet::<T>::block_number(),
		};
		ProviderTasks::<T>::mutate(&rep.provider, |w| {
			w.open.retain(|e| *e != (job_id, task_idx));
			w.log(entry);
		});
		if rep.alone {
			let value = Self::task_value(job);
			SoloValue::<T>::mutate_exists(&rep.provider, |v| {
				let left = v.unwrap_or_default().saturating_sub(value);
				*v = if left.is_zero() { None } else { Some(left) };
			});
		}
	}

	/// Close replicas without paying or penalizing them (job ended, or no quorum possible).
	pub(crate) fn release_open(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		for rep in task.replicas.iter_mut() {
			// No evidence either way: no reputation change, no slash.
			Self::close_replica(job, job_id, task_idx, rep, ReplicaOutcome::Released);
		}
	}

	/// The job ended before this task did: close it without pay or penalty.
	pub(crate) fn abandon(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		if matches!(task.phase, TaskPhase::Committing | TaskPhase::Revealing { .. }) {
			Self::release_open(job, job_id, task_idx, task);
			task.phase = TaskPhase::Abandoned;
		}
	}

	/// A committing task of an ending job: unless it is in flight, abandon it (it has no open
	/// replica, and gets no new one).
	pub(crate) fn wind_down(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		if task.phase != TaskPhase::Committing || Self::in_flight(task) {
			return
		}
		Self::release_open(job, job_id, task_idx, task);
		task.queued = 0;
		task.phase = TaskPhase::Abandoned;
	}

	/// Replicas of a committing task were closed without a result (no-shows, declines): queue
	/// replacements within the job's maximum, or settle for fewer replicas if a quorum is still
	/// possible, or fail the task.
	pub(crate) fn refill(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
	) {
		if task.check_pending {
			// The trusted provider that was to run it alone gave it back or missed its
			// deadline: the task goes back to its policy's full replication.
			task.check_pending = false;
			task.wanted = job.replication.initial;
			task.quorum = job.replication.quorum;
		}
		let room = Self::room(job, task);
		let open = task.replicas.iter().filter(|r| r.is_open()).count() as u8;
		// Only replicas of the current round can make its quorum.
		let open_now =
			task.replicas.iter().filter(|r| r.is_open() && r.round == task.round).count() as u8;
		// Entries already queued for this task count: they will be served.
		let need = task.wanted.saturating_sub(open).saturating_sub(task.queued);
		let add = need.min(room.saturating_sub(task.queued));
		for _ in 0..add {
			Self::enqueue(job_id, task_idx);
		}
		task.queued = task.queued.saturating_add(add);
		if add < need {
			if open_now.saturating_add(task.queued) >= task.quorum {
				task.wanted = open.saturating_add(task.queued);
			} else {
				Self::fail_task(job, job_id, task_idx, task, now, FailReason::NotEnoughReplicas);
				return
			}
		}
		Self::maybe_open_reveals(job_id, task_idx, task, now);
	}

	/// Start the next round of `task` in its commit phase: `count` more replicas queued, deciding
	/// by `quorum` agreeing results of the round alone (the open replicas of earlier rounds wait
	/// to be judged against its result). Returns the new round.
	pub(crate) fn next_round(job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>, count: u8, quorum: u8) -> u8 {
		let open = task.replicas.iter().filter(|r| r.is_open()).count() as u8;
		task.round = task.round.saturating_add(1);
		task.wanted = open.saturating_add(count);
		task.quorum = quorum;
		task.phase = TaskPhase::Committing;
		task.agreed = None;
		task.queued = task.queued.saturating_add(count);
		for _ in 0..count {
			Self::enqueue(job_id, task_idx);
		}
		task.round
	}

	/// Dispute `task`: draw its fresh round. Returns false (nothing changed) when it was
	/// disputed already or no eligible provider is left out of it: the caller decides it as an
	/// undisputed task.
	pub(crate) fn dispute(job: &JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) -> bool {
		if task.escalation > 0 || task.round == u8::MAX {
			return false
		}
		let total = T::Providers::class_sizes(&job.requirements.candidate_classes())
			.iter()
			.fold(0u32, |a, s| a.saturating_add(*s));
		let outside = total.saturating_sub(task.replicas.len() as u32);
		let fresh = (job.replication.escalation(T::MaxReplicas::get()) as u32).min(outside) as u8;
		if fresh == 0 {
			return false
		}
		task.escalation = fresh;
		task.check_pending = false;
		let quorum = fresh / 2 + 1;
		let round = Self::next_round(job_id, task_idx, task, fresh, quorum);
		Self::deposit_event(Event::TaskDisputed { job: job_id, task: task_idx, round, fresh, quorum });
		true
	}

	/// When every wanted replica is assigned and committed, open the reveal phase.
	pub(crate) fn maybe_open_reveals(
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
	) {
		if task.phase != TaskPhase::Committing {
			return
		}
		// Replicas revealed in an earlier round without quorum stay open: they count here.
		let open = task.replicas.iter().filter(|r| r.is_open()).count();
		let committed =
			task.replicas.iter().filter(|r| r.is_open() && r.commitment.is_some()).count();
		if open >= task.wanted as usize && committed == open && committed > 0 {
			if task.check_pending {
				// Solo or spot check is drawn in the next block, from randomness the provider
				// could not know when it committed (see `decide_replication`).
				Self::push_deadline(now.saturating_add(1u32.into()), job_id, task_idx);
				return
			}
			let until = now.saturating_add(Self::config().windows.reveal);
			let slot = Self::push_deadline(until, job_id, task_idx);
			task.phase = TaskPhase::Revealing { until: slot };
			Self::deposit_event(Event::RevealPhaseStarted { job: job_id, task: task_idx, until: slot });
		}
	}

	/// Fail a task that cannot get enough replicas.
	pub(crate) fn fail_task(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
		reason: FailReason,
	) {
		Self::release_open(job, job_id, task_idx, task);
		task.phase = TaskPhase::Failed;
		task.settled_at = Some(now);
		job.failed = job.failed.saturating_add(1);
		Self::deposit_event(Event::TaskFailed { job: job_id, task: task_idx, reason });
		Self::judge_declines(job, job_id, task_idx, task);
		Self::after_task_settled(job_id, job);
	}

	/// After a task settled: next stage, or the end of the job.
	pub(crate) fn after_task_settled(job_id: JobId, job: &mut JobOf<T>) {
		if job.verified.saturating_add(job.failed) < job.tasks {
			return
		}
		match (&job.kind, job.stage) {
			(JobKind::MapReduce { .. }, Stage::Map) if job.failed == 0 && job.ending.is_none() => {
				// Creating up to `MaxReducers` tasks is too heavy for the call that delivered the
				// last map output: it happens at the start of the next block (bounded per block).
				let now = frame_system::Pallet::<T>::block_number();
				let mut at = now.saturating_add(1u32.into());
				for _ in 0..16u32 {
					if ReduceStarts::<T>::mutate(at, |v| v.try_push(job_id).is_ok()) {
						return
					}
					at = at.saturating_add(1u32.into());
				}
				// Sixteen full blocks of reduce starts ahead: start it now rather than never.
				Self::start_reduce(job_id, job);
			},
			_ => {
				let status = match job.ending {
					// Ending with the reduce stage never started: the job did not complete.
					Some(ending) if job.stage == Stage::Map && matches!(job.kind, JobKind::MapReduce { .. }) =>
						ending,
					_ if job.failed == 0 => JobStatus::Completed,
					_ => JobStatus::Failed,
				};
				Self::finish_job(job_id, job, status);
			},
		}
	}

	/// Every map output of a map-reduce job is verified: create its reduce tasks. Their input
	/// is the manifest of the map outputs.
	pub(crate) fn start_reduce(job_id: JobId, job: &mut JobOf<T>) {
		let JobKind::MapReduce { reduce_program, reducers } = job.kind else { return };
		if !job.accepts_work() || job.stage != Stage::Map {
			return
		}
		let outputs = MapOutputs::<T>::get(job_id).unwrap_or_default();
		let manifest = ContentId::of(&outputs.encode());
		let r = job.replication;
		for p in 0..reducers {
			let idx = job.map_tasks.saturating_add(p);
			Self::create_task(job_id, idx, Stage::Reduce, reduce_program, manifest, p, &r);
		}
		job.tasks = job.tasks.saturating_add(reducers);
		job.stage = Stage::Reduce;
		job.reduce_input = Some(manifest);
		Self::deposit_event(Event::ReduceScheduled { job: job_id, input: manifest, reducers });
	}

	/// End a job with `status` (cancel or expiry): at once when no replica is open, or once the
	/// open replicas (working or holding sealed results) are settled, and paid for their work.
	pub(crate) fn end_job(job_id: JobId, status: JobStatus) {
		let Some(mut job) = Jobs::<T>::get(job_id) else { return };
		if !job.accepts_work() {
			return
		}
		if job.committed_open == 0 && job.assigned_open == 0 {
			Self::finish_job(job_id, &mut job, status);
		} else {
			job.ending = Some(status);
			Self::deposit_event(Event::JobEnding {
				job: job_id,
				status,
				committed: job.committed_open,
				assigned: job.assigned_open,
			});
		}
		Jobs::<T>::insert(job_id, job);
	}

	/// An ending job whose last open replica was settled ends now.
	pub(crate) fn maybe_end(job_id: JobId, job: &mut JobOf<T>) {
		if job.status == JobStatus::Active && job.committed_open == 0 && job.assigned_open == 0 {
			if let Some(status) = job.ending {
				Self::finish_job(job_id, job, status);
			}
		}
	}

	/// End a job now: refund what is still held and the queue deposit, record the status.
	pub(crate) fn finish_job(job_id: JobId, job: &mut JobOf<T>, status: JobStatus) {
		let held = job.escrow.held();
		let refunded = if held.is_zero() {
			held
		} else {
			T::Currency::release(&HoldReason::JobEscrow.into(), &job.requester, held, Precision::BestEffort)
				.unwrap_or_else(|e| {
					log::error!(target: "gravity-market", "escrow refund failed: {e:?}");
					Zero::zero()
				})
		};
		job.escrow.refunded = job.escrow.refunded.saturating_add(refunded);
		let deposit = job.escrow.queue_deposit;
		if !deposit.is_zero() {
			let released =
				T::Currency::release(&HoldReason::QueueDeposit.into(), &job.requester, deposit, Precision::BestEffort)
					.unwrap_or_else(|e| {
						log::error!(target: "gravity-market", "queue deposit release failed: {e:?}");
						Zero::zero()
					});
			job.escrow.queue_deposit = deposit.saturating_sub(released);
		}
		job.status = status;
		DataHolders::<T>::remove(job_id);
		Self::deposit_event(Event::JobFinished {
			job: job_id,
			status,
			paid: job.escrow.paid,
			refunded: job.escrow.refunded,
		});
	}

	/// Every committed replica of the round revealed: the reveal phase ends at the start of the
	/// next block, where the tally runs (keeps `reveal` cheap and flat; settlement is bounded
	/// per block by `MaxDeadlinesPerBlock`).
	pub(crate) fn settle_next_block(job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>, now: BlockNumberFor<T>) {
		let at = Self::push_deadline(now.saturating_add(1u32.into()), job_id, task_idx);
		task.phase = TaskPhase::Revealing { until: at };
	}

	/// A quorum of `agreeing` replicas sealed `agreed` (digest, fuel): the task waits for the
	/// output's delivery until the end of the delivery window.
	pub(crate) fn start_delivery(
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		agreed: (sp_core::H256, u64),
		agreeing: u8,
		now: BlockNumberFor<T>,
	) {
		let deliver_by = Self::push_deadline(now.saturating_add(Self::config().windows.delivery), job_id, task_idx);
		task.phase = TaskPhase::Delivering { until: deliver_by };
		task.agreed = Some(agreed);
		Self::deposit_event(Event::TaskAgreed {
			job: job_id,
			task: task_idx,
			round: task.round,
			digest: agreed.0,
			fuel_used: agreed.1,
			agreeing,
			deliver_by,
		});
	}

	/// The agreed output was delivered and every replica judged: the task is verified with
	/// `result` (output, fuel), a map task's output recorded for the reduce stage, its declines
	/// accounted, and the job moves on (next stage or end) when this was its last task.
	pub(crate) fn verify_task(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		result: (ContentId, u64),
		agreeing: u8,
		now: BlockNumberFor<T>,
	) {
		let (output, fuel) = result;
		task.phase = TaskPhase::Verified;
		task.result = Some(result);
		task.settled_at = Some(now);
		job.verified = job.verified.saturating_add(1);
		if task.stage == Stage::Map {
			if let JobKind::MapReduce { .. } = job.kind {
				MapOutputs::<T>::mutate(job_id, |v| {
					if let Some(slot) = v.as_mut().and_then(|v| v.get_mut(task_idx as usize)) {
						*slot = output;
					}
				});
			}
		}
		Self::deposit_event(Event::TaskVerified { job: job_id, task: task_idx, output, fuel_used: fuel, agreeing });
		Self::judge_declines(job, job_id, task_idx, task);
		Self::after_task_settled(job_id, job);
		Self::maybe_end(job_id, job);
	}
}
