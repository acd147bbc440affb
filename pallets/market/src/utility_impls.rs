//! Queries shared by the logic files: a provider's load (one read), a task's room for more
//! replicas and whether it has work in flight. Leaves: nothing here calls into another logic
//! file, and nothing here writes.

use crate::*;

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

}
