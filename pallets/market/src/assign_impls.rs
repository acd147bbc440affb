//! Assignment: the queue of replicas to place, and the bounded, randomized, reputation-weighted
//! choice of a provider for one replica.
//!
//! Cost of placing one replica: one read each of the job, the task and the class sizes (all
//! classes in one value), then at most `MAX_DATA_HOLDERS` + `AssignmentTries` candidates, each
//! a constant number of reads. Nothing depends on the number of providers or jobs.
//!
//! **Data locality.** For a task whose input is large (`LOCALITY_MIN_BYTES`, known from the
//! input's content id), of a job with a quorum of at least 2 and no adaptive replication, the
//! first replica is offered first to a provider that already has (or is fetching) the job's
//! data (`DataHolders`: the last providers given one of its replicas), starting at a random one
//! of them; it takes it when it is eligible, has room and passes the reputation roll. Every
//! other replica is drawn at random as before, so a result is never agreed by preferred
//! providers alone, and a full holder falls back to the draw, so a job still spreads as wide as
//! its holders' capacity requires. What it saves is measured in
//! `tests::data_locality_sends_a_large_input_to_fewer_providers`.

use crate::*;
use alloc::vec::Vec;
use frame_support::{pallet_prelude::*, traits::Randomness};
use frame_system::pallet_prelude::BlockNumberFor;
use crate::draw::{self, Drawn, Seen};
use crate::policy::{Penalty, TrustPolicy};
use gravity_primitives::{Eligibility, JobId, Outcome, ProviderRegistry, TaskIndex};
use sp_runtime::traits::Saturating;

/// What became of a queue entry.
#[derive(PartialEq, Eq, Debug)]
pub(crate) enum Placement {
	/// A provider got the replica.
	Assigned,
	/// The entry is no longer needed (task settled, job ended).
	Dropped,
	/// The task has all the replicas it wants (a spare entry of an adaptive task that runs
	/// alone): nothing was done but reading it (`tick_assign_not_needed`).
	NotNeeded,
	/// No eligible provider now: try again later.
	Deferred,
}

/// Whether a queue entry still needs a provider.
enum EntryNeed {
	/// Yes: the task is committing and short of replicas, with room for one more.
	Wanted,
	/// The task already has the replicas it wants (a spare entry of an adaptive task that runs
	/// alone): nothing to do.
	Spare,
	/// The task or its job no longer takes replicas (settled, ended, winding down, or no room).
	Gone,
}

impl<T: Config> Pallet<T> {
	/// May `provider` run a task of `job` alone (subject to a spot check)? The `Trust` policy
	/// decides from the value at stake — this task's (`fuel_cap × price`) plus that of every
	/// task the provider already holds alone (`SoloValue`): the gain of skipping them all at
	/// once — the provider's reputation and work paid by others, and its stake at risk (the
	/// `Penalty` share of its bond for a dissent).
	pub(crate) fn may_run_alone(job: &JobOf<T>, provider: &T::AccountId) -> bool {
		let value = Self::task_value(job).saturating_add(SoloValue::<T>::get(provider));
		let stake = T::Penalty::slash_fraction(Outcome::Dissented).mul_floor(T::Providers::bond(provider));
		T::Trust::may_run_alone(
			value,
			T::Providers::reputation(provider),
			T::Providers::lifetime_successes(provider),
			stake,
		)
	}

	/// Try to give one more replica of `(job_id, task_idx)`, queued since block `since`, to a
	/// provider. Also says whether the job's data holders were tried first (data locality:
	/// `tick_assign_local` is charged).
	pub(crate) fn place_replica(
		job_id: JobId,
		task_idx: TaskIndex,
		now: BlockNumberFor<T>,
		since: BlockNumberFor<T>,
	) -> (Placement, bool) {
		let mut holders_tried = false;
		let placed = Self::place(job_id, task_idx, now, since, &mut holders_tried);
		(placed, holders_tried)
	}

	fn place(
		job_id: JobId,
		task_idx: TaskIndex,
		now: BlockNumberFor<T>,
		since: BlockNumberFor<T>,
		holders_tried: &mut bool,
	) -> Placement {
		let Some(mut job) = Jobs::<T>::get(job_id) else { return Placement::Dropped };
		let Some(mut task) = Tasks::<T>::get(job_id, task_idx) else { return Placement::Dropped };
		task.queued = task.queued.saturating_sub(1);
		match Self::entry_need(&job, &task) {
			EntryNeed::Wanted => {},
			EntryNeed::Spare => {
				Tasks::<T>::insert(job_id, task_idx, task);
				return Placement::NotNeeded
			},
			EntryNeed::Gone => {
				if job.status != JobStatus::Active {
					Self::abandon(&mut job, job_id, task_idx, &mut task);
				} else if job.ending.is_some() && !Self::in_flight(&task) {
					Self::wind_down(&mut job, job_id, task_idx, &mut task);
				}
				Tasks::<T>::insert(job_id, task_idx, task);
				Jobs::<T>::insert(job_id, job);
				return Placement::Dropped
			},
		}
		let local = task.input.length >= LOCALITY_MIN_BYTES && task.quorum >= 2 && !job.replication.adaptive;
		let drawn = Self::find_provider(&job, job_id, task_idx, &task, local, holders_tried);
		match drawn.chosen {
			Some(provider) => Self::assign_replica(job, job_id, task_idx, task, provider, now, local),
			None => Self::defer_or_fail(job, job_id, task_idx, task, now, since, drawn.busy),
		}
	}

	/// Does a queue entry of `task` still need a provider?
	fn entry_need(job: &JobOf<T>, task: &TaskOf<T>) -> EntryNeed {
		let ending_idle = job.ending.is_some() && !Self::in_flight(task);
		if job.status != JobStatus::Active || ending_idle || task.phase != TaskPhase::Committing {
			return EntryNeed::Gone
		}
		let open = task.replicas.iter().filter(|r| r.is_open()).count();
		if open >= task.wanted as usize {
			EntryNeed::Spare
		} else if Self::room(job, task) == 0 {
			EntryNeed::Gone
		} else {
			EntryNeed::Wanted
		}
	}

	/// Draw a provider for the next replica of a task (`draw.rs`): a job's data holders first
	/// for a task with a large input (`local`; sets `holders_tried`), then the draw among the
	/// providers of the job's candidate classes. The seed is the block's randomness for this
	/// replica (job, task, replica number).
	fn find_provider(
		job: &JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &TaskOf<T>,
		local: bool,
		holders_tried: &mut bool,
	) -> Drawn<T::AccountId> {
		let subject = (b"gravity/assign", job_id, task_idx, task.replicas.len() as u32).encode();
		let seed = T::Randomness::random(&subject).0.encode();
		let seen = |p: &T::AccountId| {
			if task.replicas.iter().any(|r| r.provider == *p) {
				return Seen::Ineligible
			}
			match T::Providers::eligibility(p, &job.requirements) {
				Eligibility::Ineligible => Seen::Ineligible,
				Eligibility::Busy => Seen::Busy,
				Eligibility::Eligible if Self::held(p) >= T::MaxTasksPerProvider::get() => Seen::Busy,
				Eligibility::Eligible => Seen::Free { reputation: T::Providers::reputation(p) },
			}
		};
		if local && task.replicas.is_empty() {
			*holders_tried = true;
			let holders = DataHolders::<T>::get(job_id);
			if let Some(p) = draw::draw_holder::<_, T::Candidates>(&seed, &holders, seen) {
				return Drawn { chosen: Some(p), busy: false }
			}
		}
		let classes = job.requirements.candidate_classes();
		let sizes: Vec<u32> = T::Providers::class_sizes(&classes);
		let classes: Vec<_> = classes.into_iter().zip(sizes).collect();
		draw::draw::<_, _, T::Candidates>(&seed, &classes, T::AssignmentTries::get(), |c, slot| T::Providers::pick(c, slot), seen)
	}

	/// Nobody could take the replica now. A deferral counts toward `max_deferrals` unless a
	/// matching provider was only busy (or the task is in a dispute, whose fresh providers were
	/// counted when it was drawn); too many deferrals, or `max_placement_wait` blocks waited since
	/// `since`, fail the task (its escrow share refunded, its open replicas released) rather
	/// than let it hold queue space, or a committed sibling, for good.
	fn defer_or_fail(
		mut job: JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		mut task: TaskOf<T>,
		now: BlockNumberFor<T>,
		since: BlockNumberFor<T>,
		busy: bool,
	) -> Placement {
		if !busy && task.escalation == 0 {
			task.deferrals = task.deferrals.saturating_add(1);
		}
		Self::deposit_event(Event::AssignmentDeferred { job: job_id, task: task_idx });
		let config = Self::config();
		let waited_out = now.saturating_sub(since) >= config.max_placement_wait;
		if task.deferrals >= config.max_deferrals || waited_out {
			Self::fail_task(&mut job, job_id, task_idx, &mut task, now, FailReason::Unplaceable);
			// An ending job whose last open replica this released ends now.
			Self::maybe_end(job_id, &mut job);
			Tasks::<T>::insert(job_id, task_idx, task);
			Jobs::<T>::insert(job_id, job);
			return Placement::Dropped
		}
		task.queued = task.queued.saturating_add(1);
		Tasks::<T>::insert(job_id, task_idx, task);
		Placement::Deferred
	}

	/// Give the next replica of a task to `provider`: it holds it (`ProviderTasks`), a first
	/// replica of an adaptive job on a trusted provider may run alone (whether it does, or is
	/// spot-checked, is drawn after it commits: `decide_replication`), its commit deadline is
	/// recorded, and a data holder of a `local` task is remembered.
	#[allow(clippy::too_many_arguments)]
	fn assign_replica(
		mut job: JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		mut task: TaskOf<T>,
		provider: T::AccountId,
		now: BlockNumberFor<T>,
		local: bool,
	) -> Placement {
		if ProviderTasks::<T>::try_mutate(&provider, |w| w.open.try_push((job_id, task_idx))).is_err() {
			task.queued = task.queued.saturating_add(1);
			Tasks::<T>::insert(job_id, task_idx, task);
			return Placement::Deferred
		}
		let alone = task.replicas.is_empty() &&
			job.replication.adaptive &&
			task.wanted > 1 &&
			Self::may_run_alone(&job, &provider);
		if alone {
			task.wanted = 1;
			task.quorum = 1;
			task.check_pending = true;
			SoloValue::<T>::mutate(&provider, |v| *v = v.saturating_add(Self::task_value(&job)));
		}
		let commit_deadline = Self::push_deadline(now.saturating_add(Self::config().windows.commit), job_id, task_idx);
		let replica = ReplicaOf::<T> {
			provider: provider.clone(),
			round: task.round,
			assigned_at: now,
			commit_deadline,
			commitment: None,
			committed_at: None,
			reveal: None,
			paid: Default::default(),
			slashed: Default::default(),
			outcome: None,
			alone,
		};
		if task.replicas.try_push(replica).is_err() {
			// Cannot happen: len < max + escalation ≤ 2 × MaxReplicas was checked (`room`).
			ProviderTasks::<T>::mutate(&provider, |w| w.open.retain(|e| *e != (job_id, task_idx)));
			Tasks::<T>::insert(job_id, task_idx, task);
			return Placement::Dropped
		}
		if local {
			DataHolders::<T>::mutate(job_id, |h| {
				if !h.contains(&provider) {
					if h.is_full() {
						h.remove(0);
					}
					let _ = h.try_push(provider.clone());
				}
			});
		}
		Self::deposit_event(Event::ReplicaAssigned {
			job: job_id,
			task: task_idx,
			provider,
			commit_deadline,
			round: task.round,
		});
		Tasks::<T>::insert(job_id, task_idx, task);
		job.assigned_open = job.assigned_open.saturating_add(1);
		Jobs::<T>::insert(job_id, job);
		Placement::Assigned
	}
}
