//! Work done at the start of every block, all of it bounded: the deadlines that fall in this
//! block (at most `MaxDeadlinesPerBlock` task and job entries), the reduce stages to start (at
//! most `MaxDeadlinesPerBlock`) and the assignment queue (at most `MaxAssignmentsPerBlock`
//! entries).

use crate::{assign_impls::Placement, *};
use frame_support::{pallet_prelude::*, traits::Randomness, weights::Weight};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{JobId, Outcome, TaskIndex};
use crate::policy::TrustPolicy;
use sp_runtime::Perbill;

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

		for job_id in ReduceStarts::<T>::take(now) {
			weight.saturating_accrue(T::WeightInfo::tick_reduce_start());
			if let Some(mut job) = Jobs::<T>::get(job_id) {
				Self::start_reduce(job_id, &mut job);
				Jobs::<T>::insert(job_id, job);
			}
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

	/// Adaptive replication, drawn in a block after the only replica (on a trusted provider)
	/// committed: with the `Trust` policy's spot-check rate the task gets its policy's replicas and
	/// quorum (a spot check), otherwise it runs alone. The draw uses this block's randomness,
	/// which did not exist when the provider sealed its result, so it could not know which
	/// case it was in (and cannot withdraw a sealed result).
	pub(crate) fn decide_replication(
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		job: &JobOf<T>,
		now: BlockNumberFor<T>,
	) {
		let subject = (b"gravity/spot", job_id, task_idx).encode();
		let (seed, _) = T::Randomness::random(&subject);
		let h = sp_io::hashing::blake2_256(&seed.encode());
		let mut b = [0u8; 8];
		b.copy_from_slice(&h[..8]);
		let roll = Perbill::from_parts((u64::from_le_bytes(b) % 1_000_000_000) as u32);
		task.check_pending = false;
		let solo = roll >= T::Trust::spot_check_rate();
		if solo {
			task.trusted = true;
		} else {
			let open = task.replicas.iter().filter(|r| r.is_open()).count() as u8;
			task.wanted = job.replication.initial;
			task.quorum = job.replication.quorum;
			let add = task.wanted.saturating_sub(open);
			task.queued = task.queued.saturating_add(add);
			for _ in 0..add {
				Self::enqueue(job_id, task_idx);
			}
		}
		Self::deposit_event(Event::ReplicationDecided { job: job_id, task: task_idx, solo });
		Self::maybe_open_reveals(job_id, task_idx, task, now);
	}

	/// A commit, reveal or delivery deadline of `(job_id, task_idx)` falls now.
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
			TaskPhase::Delivering { until } if now >= until => {
				Self::undelivered(&mut job, job_id, task_idx, &mut task, now);
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
					if task.check_pending &&
						task.phase == TaskPhase::Committing &&
						task.replicas.iter().any(|r| {
							r.is_open() && r.committed_at.map_or(false, |at| at < now)
						}) {
						Self::decide_replication(job_id, task_idx, &mut task, &job, now);
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
