//! Helpers shared by the phase files (calls, assignment, ticks, settlement): closing replicas,
//! refilling a task's replicas, winding down and ending jobs.

use crate::*;
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{JobId, TaskIndex};
use sp_runtime::traits::{Saturating, Zero};

/// The one count of a provider's load: the replicas it holds (`ProviderTasks`), read by the
/// provider registry for eligibility and deregistration.
impl<T: Config> gravity_primitives::ProviderLoad<T::AccountId> for Pallet<T> {
	fn load(who: &T::AccountId) -> u32 {
		Pallet::<T>::held(who)
	}
}

impl<T: Config> Pallet<T> {
	/// How many replicas `who` holds: the length of its `ProviderTasks` record's `open` list,
	/// read from the first bytes of the stored record (the list is its first field, so its
	/// SCALE length prefix starts the value) without decoding the work log behind it. One read.
	pub(crate) fn held(who: &T::AccountId) -> u32 {
		let key = ProviderTasks::<T>::hashed_key_for(who);
		let mut prefix = [0u8; 5];
		match sp_io::storage::read(&key, &mut prefix, 0) {
			None => 0,
			Some(_) => <codec::Compact<u32> as codec::Decode>::decode(&mut &prefix[..]).map(|c| c.0).unwrap_or(0),
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

	/// Replicas `task` may still be given: its policy's `max`, plus its dispute's fresh
	/// replicas, less those it has had.
	pub(crate) fn room(job: &JobOf<T>, task: &TaskOf<T>) -> u8 {
		job.replication.max.saturating_add(task.escalation).saturating_sub(task.replicas.len() as u8)
	}

	/// Does the task have an open replica: a provider working on it or a sealed result waiting
	/// to be settled? Such a task is finished even when its job is ending (cancelled or
	/// expired), replacement replicas included: the work started before is owed, and a
	/// requester cannot cancel to have providers compute for nothing.
	pub(crate) fn in_flight(task: &TaskOf<T>) -> bool {
		task.replicas.iter().any(|r| r.is_open())
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
}
