//! Settlement: quorum, payments out of escrow, penalties, stage transitions, job ends.

use crate::*;
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{ContentId, JobId, Outcome, ProviderRegistry, TaskIndex};
use sp_runtime::traits::{Saturating, UniqueSaturatedInto, Zero};

impl<T: Config> Pallet<T> {
	/// Penalize a replica: reputation down, part of the bond to the slash beneficiary.
	pub(crate) fn penalize(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		outcome: Outcome,
	) {
		let slashed =
			T::Providers::slash(&rep.provider, T::SlashFraction::get(), &T::SlashBeneficiary::get());
		T::Providers::record_outcome(&rep.provider, outcome);
		rep.slashed = slashed;
		Self::close_replica(job, job_id, task_idx, rep, outcome.into());
		Self::deposit_event(Event::ProviderPenalized {
			job: job_id,
			task: task_idx,
			provider: rep.provider.clone(),
			outcome,
			slashed,
		});
	}

	/// Pay replica `i` for `fuel` units out of the job's escrow.
	fn pay(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, rep: &mut ReplicaOf<T>, fuel: u64) {
		let fuel_b: BalanceOf<T> = (fuel.min(job.fuel_cap) as u128).unique_saturated_into();
		let want = fuel_b.saturating_mul(job.price_per_fuel).min(job.escrow.held());
		let amount = if want.is_zero() {
			want
		} else {
			T::Currency::transfer_on_hold(
				&HoldReason::JobEscrow.into(),
				&job.requester,
				&rep.provider,
				want,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Polite,
			)
			.unwrap_or_else(|e| {
				log::error!(target: "gravity-market", "escrow payment failed: {e:?}");
				Zero::zero()
			})
		};
		job.escrow.paid = job.escrow.paid.saturating_add(amount);
		rep.paid = amount;
		T::Providers::record_outcome(&rep.provider, Outcome::Agreed);
		Self::close_replica(job, job_id, task_idx, rep, ReplicaOutcome::Agreed);
		Self::deposit_event(Event::ProviderPaid {
			job: job_id,
			task: task_idx,
			provider: rep.provider.clone(),
			amount,
		});
	}

	/// Close replicas without paying or penalizing them (job ended, or no quorum possible).
	pub(crate) fn release_open(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		for rep in task.replicas.iter_mut() {
			// No evidence either way: no reputation change, no slash.
			Self::close_replica(job, job_id, task_idx, rep, ReplicaOutcome::Released);
		}
	}

	/// Settle a task at the end of its reveal phase (or when all revealed).
	pub(crate) fn settle(
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
	) {
		let Some(mut job) = Jobs::<T>::get(job_id) else { return };
		if job.status != JobStatus::Active {
			Self::abandon(&mut job, job_id, task_idx, task);
			Jobs::<T>::insert(job_id, job);
			return
		}
		// Committed but did not reveal in time.
		for rep in task.replicas.iter_mut() {
			if rep.is_open() && rep.reveal.is_none() {
				Self::penalize(&mut job, job_id, task_idx, rep, Outcome::NoShow);
			}
		}
		// Tally the open reveals (this and earlier rounds) by (output, fuel).
		let mut groups: Vec<((ContentId, u64), u8)> = Vec::new();
		for rep in task.replicas.iter().filter(|r| r.is_open()) {
			if let Some(rv) = rep.reveal {
				let key = (rv.output, rv.fuel_used);
				match groups.iter_mut().find(|(k, _)| *k == key) {
					Some((_, n)) => *n = n.saturating_add(1),
					None => groups.push((key, 1)),
				}
			}
		}
		groups.sort_by(|a, b| b.1.cmp(&a.1));
		let best = groups.first().copied();
		let unique = groups.get(1).map_or(true, |second| Some(second.1) < best.map(|b| b.1));

		match best {
			Some((key, n)) if n >= task.quorum && unique => {
				for rep in task.replicas.iter_mut().filter(|r| r.is_open()) {
					match rep.reveal {
						Some(rv) if (rv.output, rv.fuel_used) == key =>
							Self::pay(&mut job, job_id, task_idx, rep, rv.fuel_used),
						_ => Self::penalize(&mut job, job_id, task_idx, rep, Outcome::Dissented),
					}
				}
				task.phase = TaskPhase::Verified;
				task.result = Some(key);
				task.settled_at = Some(now);
				job.verified = job.verified.saturating_add(1);
				if task.stage == Stage::Map {
					if let JobKind::MapReduce { .. } = job.kind {
						MapOutputs::<T>::mutate(job_id, |v| {
							if let Some(slot) = v.as_mut().and_then(|v| v.get_mut(task_idx as usize)) {
								*slot = key.0;
							}
						});
					}
				}
				Self::deposit_event(Event::TaskVerified {
					job: job_id,
					task: task_idx,
					output: key.0,
					fuel_used: key.1,
					agreeing: n,
				});
			},
			_ => {
				let have = task.replicas.len() as u8;
				let best_n = best.map_or(0, |b| b.1);
				if have < job.replication.max {
					let k = task
						.quorum
						.saturating_sub(best_n)
						.max(1)
						.min(job.replication.max.saturating_sub(have));
					let open = task.replicas.iter().filter(|r| r.is_open()).count() as u8;
					task.wanted = open.saturating_add(k);
					task.phase = TaskPhase::Committing;
					task.queued = task.queued.saturating_add(k);
					for _ in 0..k {
						Self::enqueue(job_id, task_idx);
					}
					Self::deposit_event(Event::ReplicasAdded { job: job_id, task: task_idx, count: k });
				} else {
					Self::release_open(&mut job, job_id, task_idx, task);
					task.phase = TaskPhase::Failed;
					task.settled_at = Some(now);
					job.failed = job.failed.saturating_add(1);
					Self::deposit_event(Event::TaskFailed {
						job: job_id,
						task: task_idx,
						reason: FailReason::NoQuorum,
					});
				}
			},
		}
		Self::after_task_settled(job_id, &mut job);
		Self::maybe_end(job_id, &mut job);
		Jobs::<T>::insert(job_id, job);
	}

	/// The job ended before this task did: close it without pay or penalty.
	pub(crate) fn abandon(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		if matches!(task.phase, TaskPhase::Committing | TaskPhase::Revealing { .. }) {
			Self::release_open(job, job_id, task_idx, task);
			task.phase = TaskPhase::Abandoned;
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
		Self::after_task_settled(job_id, job);
	}

	/// After a task settled: next stage, or the end of the job.
	pub(crate) fn after_task_settled(job_id: JobId, job: &mut JobOf<T>) {
		if job.verified.saturating_add(job.failed) < job.tasks {
			return
		}
		match (&job.kind, job.stage) {
			(JobKind::MapReduce { reduce_program, reducers }, Stage::Map)
				if job.failed == 0 && job.ending.is_none() =>
			{
				let outputs = MapOutputs::<T>::get(job_id).unwrap_or_default();
				let manifest = ContentId::from(sp_io::hashing::blake2_256(&outputs.encode()));
				let (program, reducers) = (*reduce_program, *reducers);
				let r = job.replication;
				for p in 0..reducers {
					let idx = job.map_tasks.saturating_add(p);
					Self::create_task(job_id, idx, Stage::Reduce, program, manifest, p, &r);
				}
				job.tasks = job.tasks.saturating_add(reducers);
				job.stage = Stage::Reduce;
				job.reduce_input = Some(manifest);
				Self::deposit_event(Event::ReduceScheduled { job: job_id, input: manifest, reducers });
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
		Self::deposit_event(Event::JobFinished {
			job: job_id,
			status,
			paid: job.escrow.paid,
			refunded: job.escrow.refunded,
		});
	}
}
