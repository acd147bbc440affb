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
use crate::policy::{CandidateChoice, Payout, Penalty, TrustPolicy};
use gravity_primitives::{Eligibility, JobId, Outcome, ProviderRegistry, TaskIndex};
use sp_runtime::{traits::Saturating, Perbill};

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

fn u64_at(h: &[u8; 32], at: usize) -> u64 {
	let mut b = [0u8; 8];
	b.copy_from_slice(&h[at..at + 8]);
	u64::from_le_bytes(b)
}

/// A uniform draw in [0, 1) from bytes `at..at + 8` of a hash (assignment, spot checks).
pub(crate) fn roll_at(h: &[u8; 32], at: usize) -> Perbill {
	Perbill::from_parts((u64_at(h, at) % 1_000_000_000) as u32)
}

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

	/// Create task `idx` of `job` in its commit phase and queue its initial replicas.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn create_task(
		job: JobId,
		idx: TaskIndex,
		stage: Stage,
		program: gravity_primitives::ContentId,
		input: gravity_primitives::ContentId,
		param: u32,
		r: &ReplicationPolicy,
	) {
		Tasks::<T>::insert(
			job,
			idx,
			TaskOf::<T> {
				stage,
				program,
				input,
				param,
				phase: TaskPhase::Committing,
				wanted: r.initial,
				quorum: r.quorum,
				queued: r.initial,
				deferrals: 0,
				trusted: false,
				check_pending: false,
				round: 0,
				agreed: None,
				escalation: 0,
				replicas: Default::default(),
				result: None,
				settled_at: None,
			},
		);
		for _ in 0..r.initial {
			Self::enqueue(job, idx);
		}
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

	/// The most a task of `job` pays: what skipping its work saves.
	pub(crate) fn task_value(job: &JobOf<T>) -> BalanceOf<T> {
		T::Payout::value(job.fuel_cap, job.fuel_cap, job.price_per_fuel)
	}

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
		let open = task.replicas.iter().filter(|r| r.is_open()).count();
		let ending_idle = job.ending.is_some() && !Self::in_flight(&task);
		if job.status == JobStatus::Active &&
			!ending_idle &&
			task.phase == TaskPhase::Committing &&
			open >= task.wanted as usize
		{
			Tasks::<T>::insert(job_id, task_idx, task);
			return Placement::NotNeeded
		}
		if job.status != JobStatus::Active ||
			ending_idle ||
			task.phase != TaskPhase::Committing ||
			Self::room(&job, &task) == 0
		{
			if job.status != JobStatus::Active {
				Self::abandon(&mut job, job_id, task_idx, &mut task);
			} else if ending_idle {
				Self::wind_down(&mut job, job_id, task_idx, &mut task);
			}
			Tasks::<T>::insert(job_id, task_idx, task);
			Jobs::<T>::insert(job_id, job);
			return Placement::Dropped
		}

		let classes = job.requirements.candidate_classes();
		let sizes: Vec<u32> = T::Providers::class_sizes(&classes);
		let total: u64 = sizes.iter().map(|s| *s as u64).sum();
		let subject = (b"gravity/assign", job_id, task_idx, task.replicas.len() as u32).encode();
		let (seed, _) = T::Randomness::random(&subject);

		let mut chosen: Option<(T::AccountId, [u8; 32])> = None;
		let mut fallback: Option<(T::AccountId, [u8; 32])> = None;
		// A matching provider was seen but had no spare capacity: the market is saturated, not
		// the job unplaceable, and the deferral does not count toward `MaxDeferrals`.
		let mut busy = false;
		let local = task.input.length >= LOCALITY_MIN_BYTES && task.quorum >= 2 && !job.replication.adaptive;
		if local && task.replicas.is_empty() {
			*holders_tried = true;
			let holders = DataHolders::<T>::get(job_id);
			let h = sp_io::hashing::blake2_256(&(seed, u32::MAX).encode());
			let n = holders.len();
			for k in 0..n {
				let p = &holders[(u64_at(&h, 0) as usize).wrapping_add(k) % n];
				if T::Providers::eligibility(p, &job.requirements) != Eligibility::Eligible ||
					Self::held(p) >= T::MaxTasksPerProvider::get()
				{
					continue
				}
				// A roll of its own for each holder, weighted by its reputation as in the draw.
				let hk = sp_io::hashing::blake2_256(&(h, k as u32).encode());
				if T::Candidates::accept(T::Providers::reputation(p), roll_at(&hk, 16)) {
					chosen = Some((p.clone(), hk));
					break
				}
			}
		}
		if total > 0 && chosen.is_none() {
			for attempt in 0..T::AssignmentTries::get() {
				let h = sp_io::hashing::blake2_256(&(seed, attempt).encode());
				// Pick a class in proportion to its size, then a member uniformly: every
				// matching provider is equally likely before the reputation weighting.
				let mut at = u64_at(&h, 0) % total;
				let mut class = None;
				for (c, s) in classes.iter().zip(sizes.iter()) {
					if at < *s as u64 {
						class = Some((c, *s));
						break
					}
					at -= *s as u64;
				}
				let Some((class, size)) = class else { continue };
				let slot = (u64_at(&h, 8) % size as u64) as u32;
				let Some(p) = T::Providers::pick(class, slot) else { continue };
				if task.replicas.iter().any(|r| r.provider == p) {
					continue
				}
				match T::Providers::eligibility(&p, &job.requirements) {
					Eligibility::Ineligible => continue,
					Eligibility::Busy => {
						busy = true;
						continue
					},
					Eligibility::Eligible => {},
				}
				if Self::held(&p) >= T::MaxTasksPerProvider::get() {
					busy = true;
					continue
				}
				// The candidate policy decides (by default: with probability = reputation).
				let roll = roll_at(&h, 16);
				if T::Candidates::accept(T::Providers::reputation(&p), roll) {
					chosen = Some((p, h));
					break
				}
				if fallback.is_none() {
					fallback = Some((p, h));
				}
			}
		}
		let Some((provider, _)) = chosen.or(fallback) else {
			// A dispute's fresh providers exist (they were counted when it was drawn): only
			// `MaxPlacementWait` bounds their placement.
			if !busy && task.escalation == 0 {
				task.deferrals = task.deferrals.saturating_add(1);
			}
			Self::deposit_event(Event::AssignmentDeferred { job: job_id, task: task_idx });
			let waited_out = now.saturating_sub(since) >= T::MaxPlacementWait::get();
			if task.deferrals >= T::MaxDeferrals::get() || waited_out {
				// Nobody eligible, again and again, or nobody free for too long: fail the task
				// (its escrow share is refunded, its open replicas released) rather than let it
				// hold queue space, or a committed sibling, for good.
				Self::fail_task(&mut job, job_id, task_idx, &mut task, now, FailReason::Unplaceable);
				// An ending job whose last open replica this released ends now.
				Self::maybe_end(job_id, &mut job);
				Tasks::<T>::insert(job_id, task_idx, task);
				Jobs::<T>::insert(job_id, job);
				return Placement::Dropped
			}
			task.queued = task.queued.saturating_add(1);
			Tasks::<T>::insert(job_id, task_idx, task);
			return Placement::Deferred
		};
		if ProviderTasks::<T>::try_mutate(&provider, |w| w.open.try_push((job_id, task_idx))).is_err() {
			task.queued = task.queued.saturating_add(1);
			Tasks::<T>::insert(job_id, task_idx, task);
			return Placement::Deferred
		}

		// Adaptive replication: a first replica on a trusted provider may run alone. Whether it
		// does, or is spot-checked, is drawn only after it commits (`decide_replication`).
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

		let commit_deadline =
			Self::push_deadline(now.saturating_add(T::CommitWindow::get()), job_id, task_idx);
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
			// Cannot happen: len < max + escalation ≤ 2 × MaxReplicas was checked above.
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
