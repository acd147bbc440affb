//! The queue of replicas waiting for a provider, and the deadline indexes the tick reads: task
//! deadlines (`DeadlineAt`, one entry per task and block, never searched for) and job deadlines
//! (`JobDeadlines`, bounded per block). Leaves: nothing here calls into another logic file.

use crate::*;
use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{JobId, TaskIndex};
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
	/// Queue one more replica of `task` of `job`, waiting from now.
	pub(crate) fn enqueue(job: JobId, task: TaskIndex) {
		Self::enqueue_since(job, task, frame_system::Pallet::<T>::block_number());
	}

	/// Queue one more replica of `task` of `job`, waiting since block `since` (a deferred
	/// entry goes back with the block it was first queued).
	pub(crate) fn enqueue_since(job: JobId, task: TaskIndex, since: BlockNumberFor<T>) {
		let tail = QueueTail::<T>::get();
		Queue::<T>::insert(tail, (job, task, since));
		QueueTail::<T>::put(tail.saturating_add(1));
	}

	/// Record a task deadline at block `at` (always there, one write: nothing is searched for
	/// or lost). Returns `at`.
	pub(crate) fn push_deadline(
		at: BlockNumberFor<T>,
		job: JobId,
		task: TaskIndex,
	) -> BlockNumberFor<T> {
		DeadlineAt::<T>::insert(at, (job, task), ());
		at
	}

	/// A job deadline slot at or after `at` with room (bounded search).
	pub(crate) fn free_job_deadline_slot(at: BlockNumberFor<T>) -> Option<BlockNumberFor<T>> {
		let mut b = at;
		for _ in 0..16u32 {
			if (JobDeadlines::<T>::decode_len(b).unwrap_or(0) as u32) < T::MaxDeadlinesPerBlock::get() {
				return Some(b)
			}
			b = b.saturating_add(1u32.into());
		}
		None
	}
}
