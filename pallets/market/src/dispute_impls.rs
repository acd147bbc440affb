//! Disputes: a task whose results disagree is not decided by the round that disagreed. Before
//! anyone is paid or penalized, a fresh, larger round is drawn from every eligible provider not
//! yet in the task, and a strict majority of that round decides; every replica of every round
//! is then judged against its result, and the losers pay for the fresh round (as Polkadot's
//! disputes escalate from a backing group to all validators, and the losing side pays).
//!
//! - **When.** Two results in one round (`settle`), or a revealed result of an earlier round
//!   that is not the output a later round agreed on (`judge`: a spot-checked solo run, or a
//!   survivor of a round that lost replicas). Once per task.
//! - **How large.** `ReplicationPolicy::escalation` fresh replicas (`2 × quorum + 1`, at most
//!   `MaxReplicas`), fewer if fewer eligible providers are not in the task yet. When every
//!   eligible provider already took part, the whole eligible set has voted: the round's
//!   majority stands, as without a dispute (no vote could do better). The fresh replicas'
//!   placement does not count deferrals (the providers exist; they may be busy): it waits up to
//!   `max_placement_wait`, then the task fails `Unplaceable` (nobody paid or penalized).
//! - **Who pays.** The requester's escrow holds the fresh round in reserve for every task
//!   (`submit_job`) and pays its replicas like any other. Each loser is slashed the larger of
//!   the penalty share of its bond and its share of what the fresh round was paid (its whole
//!   bond at most); that share goes to the requester (`ProviderPenalized::to_requester`,
//!   `Escrow::compensated`), the rest to the slash beneficiary. The requester gets back at
//!   most what the dispute cost it, so it never gains from a slash.

use crate::*;
use crate::policy::Penalty;
use gravity_primitives::{JobId, Outcome, ProviderRegistry, TaskIndex};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {

	/// Penalize a replica that lost its task's dispute: the larger of the penalty share of its
	/// bond and `owed` (its share of what the dispute's fresh round was paid), its whole bond at
	/// most; up to `owed` of it to the requester, the rest to the slash beneficiary. Returns
	/// what went to the requester.
	pub(crate) fn penalize_loser(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		owed: BalanceOf<T>,
	) -> BalanceOf<T> {
		let bond = T::Providers::bond(&rep.provider);
		let share = T::Penalty::slash_fraction(Outcome::Dissented).mul_floor(bond);
		let total = share.max(owed).min(bond);
		let to_requester = if owed.is_zero() {
			Zero::zero()
		} else {
			T::Providers::slash_amount(&rep.provider, owed.min(total), &job.requester)
		};
		let rest = T::Providers::slash_amount(
			&rep.provider,
			total.saturating_sub(to_requester),
			&T::Penalty::beneficiary(),
		);
		job.escrow.compensated = job.escrow.compensated.saturating_add(to_requester);
		Self::penalized(job, job_id, task_idx, rep, Outcome::Dissented, to_requester.saturating_add(rest), to_requester);
		to_requester
	}

	/// Judge the open replicas of a task against its result: pay those that agree (`agrees`),
	/// penalize the others; of a disputed task, the losers also owe what its fresh round was
	/// paid. Returns how many agreed.
	pub(crate) fn judge_replicas(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		fuel: u64,
		agrees: impl Fn(&ReplicaOf<T>) -> bool,
	) -> u8 {
		let round = task.round;
		let mut agreeing = 0u8;
		let mut cost: BalanceOf<T> = Zero::zero();
		for rep in task.replicas.iter_mut().filter(|r| r.is_open()) {
			if agrees(rep) {
				agreeing = agreeing.saturating_add(1);
				let moved = Self::pay(job, job_id, task_idx, rep, fuel);
				if task.escalation > 0 && rep.round == round {
					cost = cost.saturating_add(moved);
				}
			}
		}
		let mut losers = task.replicas.iter().filter(|r| r.is_open()).count() as u32;
		for rep in task.replicas.iter_mut().filter(|r| r.is_open()) {
			// Ceiling division: the losers together owe the whole cost.
			let n: BalanceOf<T> = losers.max(1).into();
			let owed = cost.saturating_add(n.saturating_sub(1u32.into())) / n;
			let paid = Self::penalize_loser(job, job_id, task_idx, rep, owed.min(cost));
			cost = cost.saturating_sub(paid);
			losers = losers.saturating_sub(1);
		}
		agreeing
	}
}
