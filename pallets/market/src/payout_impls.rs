//! Closing a replica with money: paying an agreed replica out of escrow, penalizing a dissenter
//! or a no-show. Calls only the lifecycle (`close_replica`) and the policies.

use crate::*;
use crate::policy::{Payout, Penalty};
use frame_support::traits::{
	fungible::MutateHold,
	tokens::{Fortitude, Precision, Restriction},
};
use gravity_primitives::{JobId, Outcome, ProviderRegistry, TaskIndex};
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
	/// Move `amount` of the job's escrow to `to`; returns what moved.
	pub(crate) fn pay_out(job: &JobOf<T>, to: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount
		}
		T::Currency::transfer_on_hold(
			&HoldReason::JobEscrow.into(),
			&job.requester,
			to,
			amount,
			Precision::BestEffort,
			Restriction::Free,
			// The escrow is the provider's, not the requester's to keep: a lock or freeze on the
			// requester's account (which `Polite` would honour out of held funds) must not
			// withhold a payment.
			Fortitude::Force,
		)
		.unwrap_or_else(|e| {
			log::error!(target: "gravity-market", "escrow payment failed: {e:?}");
			Zero::zero()
		})
	}

	/// Pay a replica for `fuel` units out of the job's escrow (less the protocol fee, which goes
	/// to the treasury) and credit its reputation with the value of the work, if someone else
	/// paid for it. Returns what left the escrow (payment and fee).
	pub(crate) fn pay(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		fuel: u64,
	) -> BalanceOf<T> {
		let value = T::Payout::value(fuel, job.fuel_cap, job.price_per_fuel).min(job.escrow.held());
		let (to_provider, fee) = T::Payout::split(value);
		let fee = Self::pay_out(job, &T::Payout::fee_beneficiary(), fee);
		let amount = Self::pay_out(job, &rep.provider, to_provider);
		job.escrow.paid = job.escrow.paid.saturating_add(amount).saturating_add(fee);
		rep.paid = amount;
		let credit = T::Payout::credit(value, rep.provider == job.requester);
		T::Providers::record_outcome(&rep.provider, Outcome::Agreed, credit);
		Self::close_replica(job, job_id, task_idx, rep, ReplicaOutcome::Agreed);
		Self::deposit_event(Event::ProviderPaid {
			job: job_id,
			task: task_idx,
			provider: rep.provider.clone(),
			amount,
			fee,
		});
		amount.saturating_add(fee)
	}

	/// Penalize a replica: reputation down, part of the bond to the slash beneficiary.
	pub(crate) fn penalize(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		outcome: Outcome,
	) {
		let slashed =
			T::Providers::slash(&rep.provider, T::Penalty::slash_fraction(outcome), &T::Penalty::beneficiary());
		Self::penalized(job, job_id, task_idx, rep, outcome, slashed, Zero::zero());
	}

	/// Record a penalty whose bond was taken (`slashed`, of which `to_requester` went to the
	/// requester): reputation down, the replica closed, the event.
	pub(crate) fn penalized(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		outcome: Outcome,
		slashed: BalanceOf<T>,
		to_requester: BalanceOf<T>,
	) {
		T::Providers::record_outcome(&rep.provider, outcome, Perbill::zero());
		rep.slashed = slashed;
		Self::close_replica(job, job_id, task_idx, rep, outcome.into());
		Self::deposit_event(Event::ProviderPenalized {
			job: job_id,
			task: task_idx,
			provider: rep.provider.clone(),
			outcome,
			slashed,
			to_requester,
		});
	}
}
