//! Work done at the start of every block, metered: the job and task deadlines and the reduce
//! starts that fell due (oldest first, carried over to the next block when they do not fit in
//! `TickShare` of the block), then the assignment queue (at most `MaxAssignmentsPerBlock`
//! entries, as far as the rest of the share allows).

use crate::{assign_impls::Placement, *};
use frame_support::{
	pallet_prelude::*,
	traits::Randomness,
	weights::{Weight, WeightMeter},
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{JobId, Outcome, ProviderRegistry, TaskIndex};
use crate::policy::TrustPolicy;
use sp_runtime::traits::Saturating;

/// What a task deadline did, which decides the benchmarked weight it is charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeadlineWork {
	/// The task had moved past it: two reads (`tick_task_deadline_idle`).
	Idle,
	/// A round whose replicas all revealed was tallied and agreed: it now waits for delivery
	/// (`tick_settle`).
	Settled,
	/// Solo or spot check was drawn for a task whose only replica committed
	/// (`tick_decide(spot_check)`).
	Decided { spot_check: bool },
	/// A delivered output of a task with more open replicas than `deliver` is charged for (a
	/// disputed task) was judged (`deliver(2 × MaxReplicas)`).
	Judged,
	/// Anything else: no-shows penalized and replaced, a fresh round, an undelivered
	/// agreement, a task abandoned (charged the worst of them, `tick_task_deadline`).
	Heavy,
}

/// A weight meter for `on_initialize` that always lets the first unit of work of a block run
/// (even past the limit, counted in full), so that a backlog shrinks whatever the limit.
pub(crate) struct TickMeter {
	meter: WeightMeter,
	over: Weight,
	worked: bool,
}

impl TickMeter {
	fn new(limit: Weight) -> Self {
		Self { meter: WeightMeter::with_limit(limit), over: Weight::zero(), worked: false }
	}

	/// Charge `w`, within the limit if possible.
	fn force(&mut self, w: Weight) {
		if self.meter.try_consume(w).is_err() {
			self.over.saturating_accrue(w);
		}
	}

	/// Charge `w` for bookkeeping if it fits (or nothing has run yet).
	fn overhead(&mut self, w: Weight) -> bool {
		if self.meter.try_consume(w).is_ok() {
			return true
		}
		if !self.worked {
			self.over.saturating_accrue(w);
			return true
		}
		false
	}

	/// Charge `w` for one unit of work if it fits (or it is the first of the block).
	fn work(&mut self, w: Weight) -> bool {
		let ok = self.overhead(w);
		self.worked |= ok;
		ok
	}

	/// Is there room for a unit that may cost up to `worst` (or is it the first of the block)?
	/// Charge what it really cost with `charge` afterwards.
	fn admit(&self, worst: Weight) -> bool {
		!self.worked || self.meter.can_consume(worst)
	}

	/// Charge one unit of work that was admitted.
	fn charge(&mut self, w: Weight) {
		self.worked = true;
		self.force(w);
	}

	fn consumed(&self) -> Weight {
		self.meter.consumed().saturating_add(self.over)
	}
}

impl<T: Config> Pallet<T> {
	/// The weight `on_initialize` may use: `TickShare` of the block.
	pub fn tick_limit() -> Weight {
		let max = <T as frame_system::Config>::BlockWeights::get().max_block;
		Weight::from_parts(
			T::TickShare::get().mul_floor(max.ref_time()),
			T::TickShare::get().mul_floor(max.proof_size()),
		)
	}

	/// Everything due by `now`, as far as `tick_limit` allows, oldest first; what does not fit
	/// waits for the next block (`IncompleteSince`), and then the assignment queue with what is
	/// left. Each unit of work is charged its benchmarked weight as it runs; at least one unit
	/// runs in every block, so a backlog always shrinks.
	pub(crate) fn do_tick(now: BlockNumberFor<T>) -> Weight {
		let mut meter = TickMeter::new(Self::tick_limit());
		meter.force(T::WeightInfo::tick_base());
		// `on_finalize`'s record of the block's room (a read and a write), and its reads at
		// commit deadlines (one storage value, read from the overlay after the first).
		meter.force(T::DbWeight::get().reads_writes(2, 1));
		let mut b = IncompleteSince::<T>::take().map_or(now, |since| since.min(now));
		while b <= now {
			if !Self::tick_block(b, now, &mut meter) {
				IncompleteSince::<T>::put(b);
				return meter.consumed()
			}
			b = b.saturating_add(1u32.into());
		}

		let head = QueueHead::<T>::get();
		let tail = QueueTail::<T>::get();
		// An assignment is charged at the number of registered providers (its benchmark is
		// linear in it, and nearly flat).
		// The provider count, and the queue head written back.
		if head < tail && !meter.overhead(T::DbWeight::get().reads_writes(1, 1)) {
			return meter.consumed()
		}
		let providers = if head < tail { <T::Providers as ProviderRegistry<_, _>>::count() } else { 0 };
		// Each entry is also taken from the queue (a read and a write).
		let take = T::DbWeight::get().reads_writes(1, 1);
		let assign = T::WeightInfo::tick_assign(providers).saturating_add(take);
		// A first replica of a task with a large input tries the job's data holders first.
		let assign_local = T::WeightInfo::tick_assign_local(providers).saturating_add(take);
		let not_needed = T::WeightInfo::tick_assign_not_needed().saturating_add(take);
		// At most `MaxAssignmentsPerBlock` placements, and as many spare entries (replicas an
		// adaptive task turned out not to need, charged as the read they are).
		let cap = T::MaxAssignmentsPerBlock::get() as u64;
		let (mut placed, mut spare) = (0u64, 0u64);
		let mut pos = head;
		while pos < tail && placed < cap && spare < cap && meter.admit(assign.max(assign_local)) {
			let entry = Queue::<T>::take(pos);
			pos = pos.saturating_add(1);
			let Some((job_id, task_idx, since)) = entry else {
				spare += 1;
				meter.charge(not_needed);
				continue
			};
			let (placement, holders_tried) = Self::place_replica(job_id, task_idx, now, since);
			let charge = if holders_tried { assign_local } else { assign };
			match placement {
				Placement::NotNeeded => {
					spare += 1;
					meter.charge(not_needed);
				},
				Placement::Deferred => {
					Self::enqueue_since(job_id, task_idx, since);
					placed += 1;
					meter.charge(charge);
				},
				Placement::Assigned | Placement::Dropped => {
					placed += 1;
					meter.charge(charge);
				},
			}
		}
		QueueHead::<T>::put(pos);
		meter.consumed()
	}

	/// Run the job deadlines, task deadlines and reduce starts that fell due in block `b`
	/// while the meter allows. Returns `false` when it stopped early (the rest is written back).
	fn tick_block(b: BlockNumberFor<T>, now: BlockNumberFor<T>, meter: &mut TickMeter) -> bool {
		// Reading (and clearing) the job deadlines and reduce starts of the block, and the end
		// of its task deadlines.
		if !meter.overhead(T::DbWeight::get().reads_writes(3, 2)) {
			return false
		}
		let jobs = JobDeadlines::<T>::take(b);
		for (i, job_id) in jobs.iter().enumerate() {
			if !meter.work(T::WeightInfo::tick_job_deadline()) {
				JobDeadlines::<T>::insert(b, BoundedVec::truncate_from(jobs[i..].to_vec()));
				return false
			}
			// Sealed results are still settled and paid (see `end_job`).
			Self::end_job(*job_id, JobStatus::Expired);
		}
		// Each entry is found (the next key) and removed: a read and a write. Entries are taken
		// out as they are handled, so what is left when the share runs out is found again in the
		// next block. Nothing handled here adds a deadline to this block (they are all later).
		let take = T::DbWeight::get().reads_writes(1, 1);
		loop {
			// Room for the worst case is needed; what it actually did is charged.
			let worst = T::WeightInfo::tick_task_deadline().max(T::WeightInfo::deliver(ReplicaBoundOf::<T>::get()));
			if !meter.admit(worst.saturating_add(take)) {
				return false
			}
			let Some((job_id, task_idx)) = DeadlineAt::<T>::iter_key_prefix(b).next() else { break };
			DeadlineAt::<T>::remove(b, (job_id, task_idx));
			let work = match Self::task_deadline(job_id, task_idx, now) {
				DeadlineWork::Idle => T::WeightInfo::tick_task_deadline_idle(),
				DeadlineWork::Settled => T::WeightInfo::tick_settle(),
				DeadlineWork::Decided { spot_check } => T::WeightInfo::tick_decide(spot_check as u32),
				DeadlineWork::Heavy => T::WeightInfo::tick_task_deadline(),
				DeadlineWork::Judged => T::WeightInfo::deliver(ReplicaBoundOf::<T>::get()),
			};
			meter.charge(work.saturating_add(take));
		}
		let starts = ReduceStarts::<T>::take(b);
		for (i, job_id) in starts.iter().enumerate() {
			if !meter.work(T::WeightInfo::tick_reduce_start()) {
				ReduceStarts::<T>::insert(b, BoundedVec::truncate_from(starts[i..].to_vec()));
				return false
			}
			if let Some(mut job) = Jobs::<T>::get(job_id) {
				Self::start_reduce(*job_id, &mut job);
				Jobs::<T>::insert(job_id, job);
			}
		}
		true
	}

	/// Adaptive replication, drawn in a block after the only replica (on a trusted provider)
	/// committed: with the `Trust` policy's spot-check rate it is spot-checked (a new round of
	/// `quorum` checkers whose agreement judges it), otherwise it runs alone. The draw uses this block's randomness,
	/// which did not exist when the provider sealed its result, so it could not know which
	/// case it was in (and cannot withdraw a sealed result). Returns whether it runs alone.
	pub(crate) fn decide_replication(
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		job: &JobOf<T>,
		now: BlockNumberFor<T>,
		forced: Option<bool>,
	) -> bool {
		let subject = (b"gravity/spot", job_id, task_idx).encode();
		let (seed, _) = T::Randomness::random(&subject);
		let roll = crate::draw::roll_at(&sp_io::hashing::blake2_256(&seed.encode()), 0);
		task.check_pending = false;
		let solo = forced.unwrap_or(roll >= T::Trust::spot_check_rate());
		Self::deposit_event(Event::ReplicationDecided { job: job_id, task: task_idx, solo });
		if solo {
			task.trusted = true;
		} else {
			// The checkers form a round of their own and must reach the job's quorum without
			// the checked replica, which is judged against what they agree on at delivery:
			// a junk result is a dissent (slashed, trust wiped) whatever the quorum, never a
			// tie. `submit_job` makes sure an adaptive policy has the room for them.
			let k = job.replication.quorum;
			let round = Self::next_round(job_id, task_idx, task, k, k);
			Self::deposit_event(Event::ReplicasAdded { job: job_id, task: task_idx, count: k, round });
		}
		Self::maybe_open_reveals(job_id, task_idx, task, now);
		solo
	}

	/// A commit, reveal or delivery deadline of `(job_id, task_idx)` falls now. Returns what it
	/// did (which decides its weight); a deadline the task has moved past (a commit deadline
	/// after everyone committed, say) only reads the task and the job.
	pub(crate) fn task_deadline(job_id: JobId, task_idx: TaskIndex, now: BlockNumberFor<T>) -> DeadlineWork {
		Self::task_deadline_with(job_id, task_idx, now, None)
	}

	/// `task_deadline`, with the solo/spot-check draw forced when `forced` is set (benchmarks
	/// measure the spot check, the heavier side of the draw).
	pub(crate) fn task_deadline_with(
		job_id: JobId,
		task_idx: TaskIndex,
		now: BlockNumberFor<T>,
		forced: Option<bool>,
	) -> DeadlineWork {
		let Some(mut task) = Tasks::<T>::get(job_id, task_idx) else { return DeadlineWork::Idle };
		let Some(mut job) = Jobs::<T>::get(job_id) else { return DeadlineWork::Idle };
		if job.status != JobStatus::Active {
			if !matches!(task.phase, TaskPhase::Committing | TaskPhase::Revealing { .. } | TaskPhase::Delivering { .. }) {
				return DeadlineWork::Idle
			}
			Self::abandon(&mut job, job_id, task_idx, &mut task);
			Tasks::<T>::insert(job_id, task_idx, task);
			Jobs::<T>::insert(job_id, job);
			return DeadlineWork::Heavy
		}
		let work = match task.phase {
			TaskPhase::Revealing { until } if now >= until => {
				let no_shows = task.replicas.iter().any(|r| r.is_open() && r.reveal.is_none());
				Self::settle(job_id, task_idx, &mut task, now);
				let agreed = matches!(task.phase, TaskPhase::Delivering { .. });
				Tasks::<T>::insert(job_id, task_idx, task);
				return if agreed && !no_shows { DeadlineWork::Settled } else { DeadlineWork::Heavy }
			},
			TaskPhase::Delivering { .. } if task.result.is_some() => {
				// Delivered in the block before, to be judged here (`do_deliver`).
				let Some((output, fuel)) = task.result.take() else { return DeadlineWork::Idle };
				Self::judge(&mut job, job_id, task_idx, &mut task, output, fuel, now);
				DeadlineWork::Judged
			},
			TaskPhase::Delivering { until } if now >= until => {
				Self::undelivered(&mut job, job_id, task_idx, &mut task, now);
				DeadlineWork::Heavy
			},
			TaskPhase::Committing => match Self::commit_deadline(&mut job, job_id, task_idx, &mut task, now, forced) {
				Some(work) => work,
				None => return DeadlineWork::Idle,
			},
			_ => return DeadlineWork::Idle,
		};
		Self::maybe_end(job_id, &mut job);
		Jobs::<T>::insert(job_id, job);
		Tasks::<T>::insert(job_id, task_idx, task);
		work
	}

	/// A deadline of a task still committing: replicas past their commit deadline are no-shows
	/// (or, for a window without room, moved or released: `room_impls`) and replaced; a
	/// committed solo replica's spot check is drawn. `None`: nothing was due (nothing written).
	fn commit_deadline(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
		forced: Option<bool>,
	) -> Option<DeadlineWork> {
		if job.ending.is_some() && !Self::in_flight(task) {
			// The job is ending and nothing here is sealed: nobody may commit any more,
			// so nobody is a no-show; the task is abandoned.
			Self::wind_down(job, job_id, task_idx, task);
			Some(DeadlineWork::Heavy)
		} else {
			// Replicas that let their commit deadline pass: no-shows, to be replaced.
			// A window without room (blocks filled by others) moves the deadline or
			// releases the replica instead (`room_impls`).
			let (mut missed, mut moved) = (0u8, false);
			for rep in task.replicas.iter_mut() {
				if rep.is_open() && rep.commitment.is_none() && rep.commit_deadline <= now {
					match Self::missed_commit(job, job_id, task_idx, rep, now) {
						crate::room_impls::Missed::NoShow => {
							Self::penalize(job, job_id, task_idx, rep, Outcome::NoShow);
							missed = missed.saturating_add(1);
						},
						crate::room_impls::Missed::Released => missed = missed.saturating_add(1),
						crate::room_impls::Missed::Moved => moved = true,
					}
				}
			}
			if missed > 0 {
				Self::refill(job, job_id, task_idx, task, now);
			}
			let decide = task.check_pending &&
				task.phase == TaskPhase::Committing &&
				task.replicas.iter().any(|r| {
					r.is_open() && r.committed_at.map_or(false, |at| at < now)
				});
			let mut spot_check = false;
			if decide {
				spot_check = !Self::decide_replication(job_id, task_idx, task, job, now, forced);
			}
			match (missed > 0 || moved, decide) {
				(false, false) => None,
				(false, true) => Some(DeadlineWork::Decided { spot_check }),
				(true, _) => Some(DeadlineWork::Heavy),
			}
		}
	}
}
