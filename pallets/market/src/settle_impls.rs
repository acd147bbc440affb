//! Settlement: the tally of a round's sealed results (quorum, dispute, a fresh round or
//! failure), the judgement of every replica against a delivered output, and the no-shows of an
//! undelivered one. It decides; the lifecycle (`lifecycle_impls`) makes the transitions, and
//! `payout_impls` / `dispute_impls` move the money.

use crate::*;
use alloc::vec::Vec;
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{ContentId, JobId, Outcome, TaskIndex};

impl<T: Config> Pallet<T> {
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
			Some((key, n)) if n >= task.quorum && unique => Self::start_delivery(job_id, task_idx, task, key, n, now),
			_ => {
				let room = Self::room(&job, task);
				// A fresh round must reach the quorum on its own sealed results. A task that ran
				// alone on trust (quorum 1) and got no result from it goes back to its policy's
				// quorum: an untrusted replacement never decides alone.
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
		Self::verify_task(job, job_id, task_idx, task, (output, fuel), agreeing, now);
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
}
