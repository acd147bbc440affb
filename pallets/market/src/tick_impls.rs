//! Work done at the start of every block, all of it bounded: the deadlines that fall in this
//! block (at most `MaxDeadlinesPerBlock` task and job entries) and the assignment queue (at
//! most `MaxAssignmentsPerBlock` entries).

use crate::{assign_impls::Placement, *};
use frame_support::{pallet_prelude::*, weights::Weight};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{JobId, Outcome, TaskIndex};

/// The provider count at which an assignment is charged: the top of the benchmarked range (the
/// benchmark shows the cost is flat in it).
const ASSIGN_WEIGHT_PROVIDERS: u32 = 10_000;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_tick(now: BlockNumberFor<T>) -> Weight {
		let mut weight = T::WeightInfo::tick_base();

		for job_id in JobDeadlines::<T>::take(now) {
			weight.saturating_accrue(T::WeightInfo::tick_job_deadline());
			// Sealed results are still settled and paid (see `end_job`).
			Self::end_job(job_id, JobStatus::Expired);
		}

		for (job_id, task_idx) in Deadlines::<T>::take(now) {
			weight.saturating_accrue(T::WeightInfo::tick_task_deadline());
			Self::task_deadline(job_id, task_idx, now);
		}

		let head = QueueHead::<T>::get();
		let tail = QueueTail::<T>::get();
		let n = tail.saturating_sub(head).min(T::MaxAssignmentsPerBlock::get() as u64);
		for pos in head..head.saturating_add(n) {
			weight.saturating_accrue(T::WeightInfo::tick_assign(ASSIGN_WEIGHT_PROVIDERS));
			let Some((job_id, task_idx)) = Queue::<T>::take(pos) else { continue };
			if Self::place_replica(job_id, task_idx, now) == Placement::Deferred {
				Self::enqueue(job_id, task_idx);
			}
		}
		QueueHead::<T>::put(head.saturating_add(n));
		weight
	}

	/// A commit or reveal deadline of `(job_id, task_idx)` falls now.
	pub(crate) fn task_deadline(job_id: JobId, task_idx: TaskIndex, now: BlockNumberFor<T>) {
		let Some(mut task) = Tasks::<T>::get(job_id, task_idx) else { return };
		let Some(mut job) = Jobs::<T>::get(job_id) else { return };
		if job.status != JobStatus::Active {
			Self::abandon(&mut job, job_id, task_idx, &mut task);
			Tasks::<T>::insert(job_id, task_idx, task);
			Jobs::<T>::insert(job_id, job);
			return
		}
		match task.phase {
			TaskPhase::Revealing { until } if now >= until => {
				Self::settle(job_id, task_idx, &mut task, now);
				Tasks::<T>::insert(job_id, task_idx, task);
				return
			},
			TaskPhase::Committing => {
				if job.ending.is_some() && !Self::in_flight(&task) {
					// The job is ending and nothing here is sealed: nobody may commit any more,
					// so nobody is a no-show; the task is abandoned.
					Self::wind_down(&mut job, job_id, task_idx, &mut task);
				} else {
					// Replicas that let their commit deadline pass: no-shows, to be replaced.
					let mut missed = 0u8;
					for rep in task.replicas.iter_mut() {
						if rep.is_open() && rep.commitment.is_none() && rep.commit_deadline <= now {
							Self::penalize(&mut job, job_id, task_idx, rep, Outcome::NoShow);
							missed = missed.saturating_add(1);
						}
					}
					if missed > 0 {
						Self::refill(&mut job, job_id, task_idx, &mut task, now);
					}
				}
			},
			_ => {},
		}
		Self::maybe_end(job_id, &mut job);
		Jobs::<T>::insert(job_id, job);
		Tasks::<T>::insert(job_id, task_idx, task);
	}
}
