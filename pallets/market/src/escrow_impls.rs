//! What a job holds and what its tasks are worth, decided by the payout policy, and the queue
//! deposit a task nobody could run forfeits. Leaves: nothing here calls into another logic file.

use crate::*;
use crate::policy::Payout;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use gravity_primitives::{JobId, ProviderRegistry, TaskIndex};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// The most a task of `job` pays: what skipping its work saves.
	pub(crate) fn task_value(job: &JobOf<T>) -> BalanceOf<T> {
		T::Payout::value(job.fuel_cap, job.fuel_cap, job.price_per_fuel)
	}

	/// A task ended (verified or failed): judge the declines of its replicas. If
	/// any replica of it committed, the task could be run, and each decline counts against its
	/// provider's free allowance (`ProviderRegistry::record_decline`). If none did and some
	/// declined, nobody could run it (its data was nowhere, or the program could not finish on
	/// any machine drawn): the declines are not counted, and the requester forfeits the task's
	/// share of its queue deposit to the treasury, never to the decliners, who could otherwise
	/// farm it by declining on purpose. Bounded by the task's replicas (`2 × MaxReplicas`).
	pub(crate) fn judge_declines(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &TaskOf<T>) {
		let declined = || task.replicas.iter().filter(|r| r.outcome == Some(ReplicaOutcome::Declined));
		if declined().next().is_none() {
			return
		}
		if task.replicas.iter().any(|r| r.commitment.is_some()) {
			for rep in declined() {
				let charged = T::Providers::record_decline(&rep.provider);
				Self::deposit_event(Event::DeclineCounted {
					job: job_id,
					task: task_idx,
					provider: rep.provider.clone(),
					charged,
				});
			}
		} else if task.phase == TaskPhase::Failed {
			// One task's share of the deposit held at submission (`initial` replicas of each of
			// the job's tasks, reducers included, at the rate then in force): a later
			// `configure` changes what new jobs hold, never what this one owes.
			let reducers = match job.kind {
				JobKind::MapReduce { reducers, .. } => reducers,
				_ => 0,
			};
			let held_at_submission = job.escrow.queue_deposit.saturating_add(job.escrow.forfeited);
			let share = held_at_submission / BalanceOf::<T>::from(job.map_tasks.saturating_add(reducers).max(1));
			let amount = share.min(job.escrow.queue_deposit);
			if amount.is_zero() {
				return
			}
			let moved = T::Currency::transfer_on_hold(
				&HoldReason::QueueDeposit.into(),
				&job.requester,
				&T::Payout::fee_beneficiary(),
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|e| {
				log::error!(target: "gravity-market", "queue deposit forfeit failed: {e:?}");
				Zero::zero()
			});
			job.escrow.queue_deposit = job.escrow.queue_deposit.saturating_sub(moved);
			job.escrow.forfeited = job.escrow.forfeited.saturating_add(moved);
			Self::deposit_event(Event::DepositForfeited { job: job_id, task: task_idx, amount: moved });
		}
	}

	/// The escrow a job of `tasks` tasks holds: for every task, its most replicas (`max`, plus
	/// a dispute's fresh round) each paid the most the payout policy pays at the job's fuel cap
	/// and price. What a task does not use is refunded when the job ends.
	pub(crate) fn job_budget(spec: &JobSpecOf<T>, tasks: u32) -> Result<BalanceOf<T>, DispatchError> {
		let r = spec.replication;
		let per_task = r.max as u128 + r.escalation(T::MaxReplicas::get()) as u128;
		T::Payout::budget(spec.fuel_cap, spec.price_per_fuel, tasks as u128 * per_task)
			.ok_or_else(|| Error::<T>::BudgetOverflow.into())
	}
}
