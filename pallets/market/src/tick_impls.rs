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
			if Jobs::<T>::get(job_id).is_some_and(|j| j.status == JobStatus::Active) {
				Self::finish_job(job_id, JobStatus::Expired);
			}
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
			Self::abandon(job_id, task_idx, &mut task);
			Tasks::<T>::insert(job_id, task_idx, task);
			return
		}
		match task.phase {
			TaskPhase::Revealing { until } if now >= until => {
				Self::settle(job_id, task_idx, &mut task, now);
			},
			TaskPhase::Committing => {
				// Replicas that let their commit deadline pass: no-shows, to be replaced.
				let mut missed = 0u8;
				for rep in task.replicas.iter_mut() {
					if rep.is_open() && rep.commitment.is_none() && rep.commit_deadline <= now {
						Self::penalize(&mut job, job_id, task_idx, rep, Outcome::NoShow);
						missed = missed.saturating_add(1);
					}
				}
				if missed > 0 {
					let room = job.replication.max.saturating_sub(task.replicas.len() as u8);
					let open = task.replicas.iter().filter(|r| r.is_open()).count() as u8;
					let need = task.wanted.saturating_sub(open).saturating_sub(task.queued);
					let add = need.min(room);
					for _ in 0..add {
						Self::enqueue(job_id, task_idx);
					}
					task.queued = task.queued.saturating_add(add);
					if add < need {
						// Not enough replicas left: settle for fewer if a quorum is still possible.
						let reachable = open.saturating_add(task.queued);
						if reachable >= task.quorum {
							task.wanted = reachable;
						} else {
							Self::fail_task(&mut job, job_id, task_idx, &mut task, now);
						}
					}
					Self::maybe_open_reveals(job_id, task_idx, &mut task, now);
				}
				Jobs::<T>::insert(job_id, job);
			},
			_ => {},
		}
		Tasks::<T>::insert(job_id, task_idx, task);
	}
}
