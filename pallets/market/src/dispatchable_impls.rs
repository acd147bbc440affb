//! The logic behind each call but `submit_job` (`submit_impls`): cancel, commit, reveal,
//! decline, deliver, batch.

use crate::*;
use frame_support::pallet_prelude::*;
use gravity_primitives::{ContentId, JobId, ProviderRegistry, TaskIndex};
use sp_runtime::traits::Saturating;

/// The commitment a provider seals (`gravity_protocol::result::commitment`, with the provider's
/// SCALE-encoded account id).
pub fn commitment_of<AccountId: Encode>(
	digest: &sp_core::H256,
	fuel_used: u64,
	provider: &AccountId,
	job: JobId,
	task: TaskIndex,
	salt: &[u8; 32],
) -> sp_core::H256 {
	sp_core::H256(gravity_protocol::result::commitment(
		&digest.0,
		fuel_used,
		&provider.encode(),
		job,
		task,
		salt,
	))
}

/// The digest a replica of `round` reveals for `output` (`gravity_protocol::result::result_digest`).
pub fn digest_of(output: &ContentId, fuel_used: u64, job: JobId, task: TaskIndex, round: u8) -> sp_core::H256 {
	sp_core::H256(gravity_protocol::result::result_digest(output, fuel_used, job, task, round))
}

impl<T: Config> Pallet<T> {

	pub(crate) fn do_cancel_job(who: T::AccountId, job_id: JobId) -> DispatchResult {
		let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(job.requester == who, Error::<T>::NotRequester);
		ensure!(job.accepts_work(), Error::<T>::JobNotActive);
		Self::end_job(job_id, JobStatus::Cancelled);
		Ok(())
	}

	/// Find the open replica of `who` in `task`.
	fn open_replica(task: &TaskOf<T>, who: &T::AccountId) -> Option<usize> {
		task.replicas.iter().position(|r| &r.provider == who && r.is_open())
	}

	fn active_job(job_id: JobId) -> Result<JobOf<T>, DispatchError> {
		let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(job.status == JobStatus::Active, Error::<T>::JobNotActive);
		Ok(job)
	}

	pub(crate) fn do_commit(
		who: T::AccountId,
		job_id: JobId,
		task_idx: TaskIndex,
		commitment: sp_core::H256,
	) -> DispatchResult {
		let mut job = Self::active_job(job_id)?;
		let mut task = Tasks::<T>::get(job_id, task_idx).ok_or(Error::<T>::UnknownTask)?;
		ensure!(T::Providers::is_provider(&who), Error::<T>::NotProvider);
		// An open replica may commit even when its job is ending (cancelled or expired): the
		// work it was assigned before is owed (`in_flight`).
		let i = Self::open_replica(&task, &who).ok_or(Error::<T>::NotAssigned)?;
		ensure!(task.phase == TaskPhase::Committing, Error::<T>::NotCommitPhase);
		let now = frame_system::Pallet::<T>::block_number();
		let rep = &mut task.replicas[i];
		ensure!(rep.commitment.is_none(), Error::<T>::AlreadyCommitted);
		ensure!(now <= rep.commit_deadline, Error::<T>::CommitWindowClosed);
		rep.commitment = Some(commitment);
		rep.committed_at = Some(now);
		job.committed_open = job.committed_open.saturating_add(1);
		job.assigned_open = job.assigned_open.saturating_sub(1);
		Self::deposit_event(Event::Committed { job: job_id, task: task_idx, provider: who, commitment });
		Self::maybe_open_reveals(job_id, task_idx, &mut task, now);
		Tasks::<T>::insert(job_id, task_idx, task);
		Jobs::<T>::insert(job_id, job);
		Ok(())
	}

	pub(crate) fn do_decline(who: T::AccountId, job_id: JobId, task_idx: TaskIndex) -> DispatchResult {
		let mut job = Self::active_job(job_id)?;
		let mut task = Tasks::<T>::get(job_id, task_idx).ok_or(Error::<T>::UnknownTask)?;
		let i = Self::open_replica(&task, &who).ok_or(Error::<T>::NotAssigned)?;
		ensure!(task.replicas[i].commitment.is_none(), Error::<T>::AlreadyCommitted);
		let now = frame_system::Pallet::<T>::block_number();
		Self::close_replica(&mut job, job_id, task_idx, &mut task.replicas[i], ReplicaOutcome::Declined);
		Self::deposit_event(Event::ReplicaDeclined { job: job_id, task: task_idx, provider: who });
		if task.phase == TaskPhase::Committing {
			if job.ending.is_some() && !Self::in_flight(&task) {
				Self::wind_down(&mut job, job_id, task_idx, &mut task);
			} else {
				Self::refill(&mut job, job_id, task_idx, &mut task, now);
			}
		}
		Tasks::<T>::insert(job_id, task_idx, task);
		Self::maybe_end(job_id, &mut job);
		Jobs::<T>::insert(job_id, job);
		Ok(())
	}

	pub(crate) fn do_reveal(
		who: T::AccountId,
		job_id: JobId,
		task_idx: TaskIndex,
		digest: sp_core::H256,
		fuel_used: u64,
		salt: [u8; 32],
	) -> DispatchResult {
		let job = Self::active_job(job_id)?;
		let mut task = Tasks::<T>::get(job_id, task_idx).ok_or(Error::<T>::UnknownTask)?;
		ensure!(T::Providers::is_provider(&who), Error::<T>::NotProvider);
		let i = Self::open_replica(&task, &who).ok_or(Error::<T>::NotAssigned)?;
		let now = frame_system::Pallet::<T>::block_number();
		let TaskPhase::Revealing { until } = task.phase else {
			return Err(Error::<T>::NotRevealPhase.into())
		};
		ensure!(now <= until, Error::<T>::NotRevealPhase);
		let rep = &mut task.replicas[i];
		let sealed = rep.commitment.ok_or(Error::<T>::NotCommitted)?;
		ensure!(rep.reveal.is_none(), Error::<T>::AlreadyRevealed);
		ensure!(
			commitment_of(&digest, fuel_used, &who, job_id, task_idx, &salt) == sealed,
			Error::<T>::RevealMismatch
		);
		ensure!(fuel_used <= job.fuel_cap, Error::<T>::FuelAboveCap);
		rep.reveal = Some(Reveal { digest, fuel_used, at: now });
		Self::deposit_event(Event::Revealed { job: job_id, task: task_idx, provider: who, digest, fuel_used });
		let all_revealed = task
			.replicas
			.iter()
			.filter(|r| r.is_open() && r.commitment.is_some())
			.all(|r| r.reveal.is_some());
		if all_revealed {
			// Settle at the start of the next block: keeps `reveal` cheap and flat (settlement
			// is bounded per block by `MaxDeadlinesPerBlock`).
			Self::settle_next_block(job_id, task_idx, &mut task, now);
		}
		Tasks::<T>::insert(job_id, task_idx, task);
		Ok(())
	}

	/// Returns the number of replicas judged (the weight depends on it).
	pub(crate) fn do_deliver(job_id: JobId, task_idx: TaskIndex, output: ContentId) -> Result<u32, DispatchError> {
		let mut job = Self::active_job(job_id)?;
		let mut task = Tasks::<T>::get(job_id, task_idx).ok_or(Error::<T>::UnknownTask)?;
		let (TaskPhase::Delivering { .. }, Some((digest, fuel))) = (task.phase, task.agreed) else {
			return Err(Error::<T>::NotDeliveryPhase.into())
		};
		ensure!(digest_of(&output, fuel, job_id, task_idx, task.round) == digest, Error::<T>::DeliveryMismatch);
		// Delivered already, to be judged at the start of the next block (below).
		ensure!(task.result.is_none(), Error::<T>::NotDeliveryPhase);
		let now = frame_system::Pallet::<T>::block_number();
		let judged = task.replicas.iter().filter(|r| r.is_open()).count() as u32;
		if judged > T::MaxReplicas::get() {
			// More replicas than a call is charged for (a disputed task has up to twice as
			// many): the output is recorded now and judged at the start of the next block,
			// within `on_initialize`'s budget (`DeadlineWork::Judged`).
			task.result = Some((output, fuel));
			Self::push_deadline(now.saturating_add(1u32.into()), job_id, task_idx);
			Tasks::<T>::insert(job_id, task_idx, task);
			return Ok(0)
		}
		Self::judge(&mut job, job_id, task_idx, &mut task, output, fuel, now);
		Tasks::<T>::insert(job_id, task_idx, task);
		Jobs::<T>::insert(job_id, job);
		Ok(judged)
	}

	/// The weight of a `batch`: the sum of its actions' weights as single calls (each action
	/// runs the same code; the batch saves the per-transaction base weight and signature of
	/// each). A `deliver` is counted at `MaxReplicas` judged and refunded after (a task with
	/// more, after a dispute, is judged in `on_initialize`).
	pub fn batch_weight(actions: &[ProviderAction]) -> Weight {
		actions.iter().fold(Weight::zero(), |w, a| w.saturating_add(Self::action_weight(a, None)))
	}

	fn action_weight(action: &ProviderAction, judged: Option<u32>) -> Weight {
		match action {
			ProviderAction::Commit { .. } => T::WeightInfo::commit().max(T::WeightInfo::commit_last()),
			ProviderAction::Reveal { .. } => T::WeightInfo::reveal(),
			ProviderAction::Deliver { .. } =>
				T::WeightInfo::deliver(judged.unwrap_or(T::MaxReplicas::get())),
			ProviderAction::Decline { .. } => T::WeightInfo::decline(),
		}
	}

	/// Apply each action as its own call would, in a storage layer of its own: a failed
	/// action is rolled back and reported, the rest stand.
	pub(crate) fn do_batch(
		who: T::AccountId,
		actions: BoundedVec<ProviderAction, T::MaxBatchActions>,
	) -> DispatchResultWithPostInfo {
		ensure!(!actions.is_empty(), Error::<T>::EmptyBatch);
		let mut failed = 0u32;
		let mut weight = Weight::zero();
		for (index, action) in actions.into_iter().enumerate() {
			let result = frame_support::storage::with_storage_layer(|| match action.clone() {
				ProviderAction::Commit { job, task, commitment } =>
					Self::do_commit(who.clone(), job, task, commitment).map(|_| None),
				ProviderAction::Reveal { job, task, digest, fuel_used, salt } =>
					Self::do_reveal(who.clone(), job, task, digest, fuel_used, salt).map(|_| None),
				ProviderAction::Deliver { job, task, output } =>
					Self::do_deliver(job, task, output).map(Some),
				ProviderAction::Decline { job, task } => Self::do_decline(who.clone(), job, task).map(|_| None),
			});
			match result {
				Ok(judged) => weight.saturating_accrue(Self::action_weight(&action, judged)),
				Err(error) => {
					failed = failed.saturating_add(1);
					weight.saturating_accrue(Self::action_weight(&action, None));
					Self::deposit_event(Event::BatchActionFailed { who: who.clone(), index: index as u32, error });
				},
			}
		}
		let pays_fee = if failed == 0 { Pays::No } else { Pays::Yes };
		Ok(frame_support::dispatch::PostDispatchInfo { actual_weight: Some(weight), pays_fee })
	}

}
