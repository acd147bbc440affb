//! Settlement: quorum, payments out of escrow, penalties, stage transitions, job ends.

use crate::*;
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{ContentId, JobId, Outcome, ProviderRegistry, TaskIndex};
use crate::policy::{Payout, Penalty};
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
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

	/// Move `amount` of the job's escrow to `to`; returns what moved.
	fn pay_out(job: &JobOf<T>, to: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
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

	/// Close replicas without paying or penalizing them (job ended, or no quorum possible).
	pub(crate) fn release_open(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		for rep in task.replicas.iter_mut() {
			// No evidence either way: no reputation change, no slash.
			Self::close_replica(job, job_id, task_idx, rep, ReplicaOutcome::Released);
		}
	}

	/// Tally the current round at the end of its reveal phase (or when all revealed): a quorum
	/// on one digest moves the task to delivery; otherwise a fresh round, or failure.
	pub(crate) fn settle(
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
	) {
		let Some(mut job) = Jobs::<T>::get(job_id) else { return };
		if job.status != JobStatus::Active {
			Self::abandon(&mut job, job_id, task_idx, task);
			Jobs::<T>::insert(job_id, job);
			return
		}
		// Committed but did not reveal in time. A replica of an earlier round still without a
		// reveal is one that was spot-checked (every other earlier replica revealed, or was
		// closed, when its round settled): withholding the reveal of a checked result is
		// treated as the dissent it hides, trust wiped, not as a no-show.
		let round = task.round;
		for rep in task.replicas.iter_mut() {
			if rep.is_open() && rep.reveal.is_none() {
				let outcome = if rep.round < round { Outcome::Dissented } else { Outcome::NoShow };
				Self::penalize(&mut job, job_id, task_idx, rep, outcome);
			}
		}
		// Only this round's sealed results decide it: earlier digests are bound to their own
		// rounds and are judged at delivery against the output this round agrees on.
		let mut groups: Vec<((sp_core::H256, u64), u8)> = Vec::new();
		for rep in task.replicas.iter().filter(|r| r.is_open() && r.round == round) {
			if let Some(rv) = rep.reveal {
				let key = (rv.digest, rv.fuel_used);
				match groups.iter_mut().find(|(k, _)| *k == key) {
					Some((_, n)) => *n = n.saturating_add(1),
					None => groups.push((key, 1)),
				}
			}
		}
		groups.sort_by(|a, b| b.1.cmp(&a.1));
		let best = groups.first().copied();
		let unique = groups.get(1).map_or(true, |second| Some(second.1) < best.map(|b| b.1));

		// Two results in one round: a majority of one round is not the last word
		// (`dispute_impls`). A disputed task's own round decides by a strict majority; a task
		// every eligible provider already runs is decided by them as below.
		if groups.len() > 1 && Self::dispute(&job, job_id, task_idx, task) {
			Jobs::<T>::insert(job_id, job);
			return
		}
		match best {
			Some((key, n)) if n >= task.quorum && unique => {
				let deliver_by =
					Self::push_deadline(now.saturating_add(T::DeliveryWindow::get()), job_id, task_idx);
				task.phase = TaskPhase::Delivering { until: deliver_by };
				task.agreed = Some(key);
				Self::deposit_event(Event::TaskAgreed {
					job: job_id,
					task: task_idx,
					round,
					digest: key.0,
					fuel_used: key.1,
					agreeing: n,
					deliver_by,
				});
			},
			_ => {
				let room = Self::room(&job, task);
				// A fresh round must reach the quorum on its own sealed results. A task that ran
				// alone on trust (quorum 1) and got no result from it goes back to its policy's
				// quorum: an untrusted replacement never decides alone (issue 20.5).
				if task.quorum < job.replication.quorum {
					task.quorum = job.replication.quorum;
				}
				let k = task.quorum;
				// A dispute's round is the last: without its majority the task fails.
				if room >= k && round < u8::MAX && task.escalation == 0 {
					let round = Self::next_round(job_id, task_idx, task, k, k);
					Self::deposit_event(Event::ReplicasAdded { job: job_id, task: task_idx, count: k, round });
				} else {
					Self::fail_task(&mut job, job_id, task_idx, task, now, FailReason::NoQuorum);
				}
			},
		}
		Self::maybe_end(job_id, &mut job);
		Jobs::<T>::insert(job_id, job);
	}

	/// The agreed output was delivered: judge every open replica of every round against it
	/// (its digest recomputed for its own round), pay or penalize, and verify the task; or, if
	/// a result revealed in an earlier round is not this output, dispute the task first.
	pub(crate) fn judge(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		output: ContentId,
		fuel: u64,
		now: BlockNumberFor<T>,
	) {
		let agrees = |rep: &ReplicaOf<T>| {
			rep.reveal.is_some_and(|rv| {
				rv.fuel_used == fuel && digest_of(&output, fuel, job_id, task_idx, rep.round) == rv.digest
			})
		};
		// A revealed result of an earlier round that is not this output: disputed before
		// anyone is paid or penalized (`dispute_impls`), unless every eligible provider already
		// took part. Replicas that never revealed were penalized when their round was tallied.
		let disagreed = task.replicas.iter().any(|r| r.is_open() && r.reveal.is_some() && !agrees(r));
		if disagreed && Self::dispute(job, job_id, task_idx, task) {
			return
		}
		let agreeing = Self::judge_replicas(job, job_id, task_idx, task, fuel, agrees);
		task.phase = TaskPhase::Verified;
		task.result = Some((output, fuel));
		task.settled_at = Some(now);
		job.verified = job.verified.saturating_add(1);
		if task.stage == Stage::Map {
			if let JobKind::MapReduce { .. } = job.kind {
				MapOutputs::<T>::mutate(job_id, |v| {
					if let Some(slot) = v.as_mut().and_then(|v| v.get_mut(task_idx as usize)) {
						*slot = output;
					}
				});
			}
		}
		Self::deposit_event(Event::TaskVerified { job: job_id, task: task_idx, output, fuel_used: fuel, agreeing });
		Self::judge_declines(job, job_id, task_idx, task);
		Self::after_task_settled(job_id, job);
		Self::maybe_end(job_id, job);
	}

	/// Nobody delivered the agreed output in time: the replicas that agreed on it are no-shows,
	/// the others are released, the task fails (its escrow share is refunded).
	pub(crate) fn undelivered(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
	) {
		let round = task.round;
		if let Some((digest, fuel)) = task.agreed {
			for rep in task.replicas.iter_mut().filter(|r| r.is_open() && r.round == round) {
				if rep.reveal.map_or(false, |rv| (rv.digest, rv.fuel_used) == (digest, fuel)) {
					Self::penalize(job, job_id, task_idx, rep, Outcome::NoShow);
				}
			}
		}
		Self::fail_task(job, job_id, task_idx, task, now, FailReason::Undelivered);
		Self::maybe_end(job_id, job);
	}

	/// The job ended before this task did: close it without pay or penalty.
	pub(crate) fn abandon(job: &mut JobOf<T>, job_id: JobId, task_idx: TaskIndex, task: &mut TaskOf<T>) {
		if matches!(task.phase, TaskPhase::Committing | TaskPhase::Revealing { .. }) {
			Self::release_open(job, job_id, task_idx, task);
			task.phase = TaskPhase::Abandoned;
		}
	}

	/// A task ended (verified or failed): judge the declines of its replicas (issue 20.4). If
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
			let share = T::QueueDeposit::get().saturating_mul(BalanceOf::<T>::from(job.replication.initial as u32));
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

	/// Fail a task that cannot get enough replicas.
	pub(crate) fn fail_task(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
		reason: FailReason,
	) {
		Self::release_open(job, job_id, task_idx, task);
		task.phase = TaskPhase::Failed;
		task.settled_at = Some(now);
		job.failed = job.failed.saturating_add(1);
		Self::deposit_event(Event::TaskFailed { job: job_id, task: task_idx, reason });
		Self::judge_declines(job, job_id, task_idx, task);
		Self::after_task_settled(job_id, job);
	}

	/// After a task settled: next stage, or the end of the job.
	pub(crate) fn after_task_settled(job_id: JobId, job: &mut JobOf<T>) {
		if job.verified.saturating_add(job.failed) < job.tasks {
			return
		}
		match (&job.kind, job.stage) {
			(JobKind::MapReduce { .. }, Stage::Map) if job.failed == 0 && job.ending.is_none() => {
				// Creating up to `MaxReducers` tasks is too heavy for the call that delivered the
				// last map output: it happens at the start of the next block (bounded per block).
				let now = frame_system::Pallet::<T>::block_number();
				let mut at = now.saturating_add(1u32.into());
				for _ in 0..16u32 {
					if ReduceStarts::<T>::mutate(at, |v| v.try_push(job_id).is_ok()) {
						return
					}
					at = at.saturating_add(1u32.into());
				}
				// Sixteen full blocks of reduce starts ahead: start it now rather than never.
				Self::start_reduce(job_id, job);
			},
			_ => {
				let status = match job.ending {
					// Ending with the reduce stage never started: the job did not complete.
					Some(ending) if job.stage == Stage::Map && matches!(job.kind, JobKind::MapReduce { .. }) =>
						ending,
					_ if job.failed == 0 => JobStatus::Completed,
					_ => JobStatus::Failed,
				};
				Self::finish_job(job_id, job, status);
			},
		}
	}

	/// Every map output of a map-reduce job is verified: create its reduce tasks. Their input
	/// is the manifest of the map outputs.
	pub(crate) fn start_reduce(job_id: JobId, job: &mut JobOf<T>) {
		let JobKind::MapReduce { reduce_program, reducers } = job.kind else { return };
		if !job.accepts_work() || job.stage != Stage::Map {
			return
		}
		let outputs = MapOutputs::<T>::get(job_id).unwrap_or_default();
		let manifest = ContentId::of(&outputs.encode());
		let r = job.replication;
		for p in 0..reducers {
			let idx = job.map_tasks.saturating_add(p);
			Self::create_task(job_id, idx, Stage::Reduce, reduce_program, manifest, p, &r);
		}
		job.tasks = job.tasks.saturating_add(reducers);
		job.stage = Stage::Reduce;
		job.reduce_input = Some(manifest);
		Self::deposit_event(Event::ReduceScheduled { job: job_id, input: manifest, reducers });
	}

	/// End a job now: refund what is still held and the queue deposit, record the status.
	pub(crate) fn finish_job(job_id: JobId, job: &mut JobOf<T>, status: JobStatus) {
		let held = job.escrow.held();
		let refunded = if held.is_zero() {
			held
		} else {
			T::Currency::release(&HoldReason::JobEscrow.into(), &job.requester, held, Precision::BestEffort)
				.unwrap_or_else(|e| {
					log::error!(target: "gravity-market", "escrow refund failed: {e:?}");
					Zero::zero()
				})
		};
		job.escrow.refunded = job.escrow.refunded.saturating_add(refunded);
		let deposit = job.escrow.queue_deposit;
		if !deposit.is_zero() {
			let released =
				T::Currency::release(&HoldReason::QueueDeposit.into(), &job.requester, deposit, Precision::BestEffort)
					.unwrap_or_else(|e| {
						log::error!(target: "gravity-market", "queue deposit release failed: {e:?}");
						Zero::zero()
					});
			job.escrow.queue_deposit = deposit.saturating_sub(released);
		}
		job.status = status;
		DataHolders::<T>::remove(job_id);
		Self::deposit_event(Event::JobFinished {
			job: job_id,
			status,
			paid: job.escrow.paid,
			refunded: job.escrow.refunded,
		});
	}
}
