//! Block room: a commit window whose blocks were filled by others does not make a no-show.
//!
//! Provider duties (`commit`, `reveal`, `deliver`, `decline`, `batch`, and the registry's
//! `heartbeat`) are `Operational` transactions: ordinary (`Normal`) transactions can fill at
//! most their 75 % share of a block's weight and length, and the rest is left to duties, which
//! the transaction pool also orders first (an operational transaction's priority includes five
//! times its fee). Someone who wants a provider slashed must then fill the operational share
//! as well, with failing duty calls that pay their full fee. For that case, and for any other
//! block without room, the chain keeps a record of the last [`ROOM_HISTORY`] blocks: a block is
//! *crowded* when its transactions and hooks used 90 % or more of its weight (time or proof
//! size) or of its length. At a replica's commit deadline, the blocks of its window that were
//! crowded do not count: a replica is a no-show only if its window had as many blocks with
//! room as the commit window is long. Otherwise its deadline moves (by the missing blocks, at most to twice the
//! window after its assignment, `CommitDeadlineExtended`); if even that is not enough, it is
//! released without penalty and replaced (`ReplicaReleasedNoRoom`).

use crate::*;
use frame_support::{dispatch::DispatchClass, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{JobId, TaskIndex};
use sp_runtime::{traits::SaturatedConversion, Saturating};

/// Blocks whose room the chain remembers ([`CrowdedBlocks`] is one bit per block).
pub const ROOM_HISTORY: u32 = 64;

/// What the no-room rule says about a replica whose commit deadline has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Room<BlockNumber> {
	/// Its window had enough blocks with room: a no-show.
	Had,
	/// Too few blocks with room so far: the deadline moves to this block.
	Extend { to: BlockNumber, crowded: u32 },
	/// Too few blocks with room even with the longest extension: released without penalty.
	Never,
}

impl<T: Config> Pallet<T> {
	/// Whether the block being finalized left no room for a duty: 90 % or more of its weight
	/// (either dimension) or of its length used.
	pub(crate) fn block_is_crowded() -> bool {
		let max = T::BlockWeights::get().max_block;
		let used = frame_system::Pallet::<T>::block_weight();
		let total = used.total();
		let max_len = *T::BlockLength::get().max.get(DispatchClass::Operational);
		let len = frame_system::Pallet::<T>::block_size();
		// In u128: a dimension without a practical limit (proof size `u64::MAX`) must not
		// saturate into "full".
		let full = |used: u64, max: u64| u128::from(used) * 10 >= u128::from(max) * 9;
		full(total.ref_time(), max.ref_time()) ||
			full(total.proof_size(), max.proof_size()) ||
			full(len as u64, max_len as u64)
	}

	/// Record this block's room (`on_finalize`).
	pub(crate) fn note_block_room() {
		let crowded = Self::block_is_crowded();
		CrowdedBlocks::<T>::mutate(|bits| *bits = (*bits << 1) | crowded as u64);
	}

	/// How many of the blocks `from .. now` (the ones before `now`) were crowded; blocks older
	/// than [`ROOM_HISTORY`] count as having had room.
	pub(crate) fn crowded_between(from: BlockNumberFor<T>, now: BlockNumberFor<T>) -> u32 {
		let span: u64 = now.saturating_sub(from).saturated_into();
		let mask = if span >= ROOM_HISTORY as u64 { u64::MAX } else { (1u64 << span) - 1 };
		(CrowdedBlocks::<T>::get() & mask).count_ones()
	}

	/// The no-room rule for a replica assigned at `assigned_at` whose commit deadline is `now`.
	pub(crate) fn room_for_commit(assigned_at: BlockNumberFor<T>, now: BlockNumberFor<T>) -> Room<BlockNumberFor<T>> {
		let window = Self::config().windows.commit;
		let span = now.saturating_sub(assigned_at);
		let crowded = Self::crowded_between(assigned_at, now);
		let with_room = span.saturating_sub(crowded.into());
		if with_room >= window {
			return Room::Had
		}
		let limit = assigned_at.saturating_add(window.saturating_mul(2u32.into()));
		if now >= limit {
			return Room::Never
		}
		let to = now.saturating_add(window.saturating_sub(with_room)).min(limit);
		Room::Extend { to, crowded }
	}

	/// A replica missed its commit deadline `now`: a no-show, or, when its window had no room,
	/// moved or released here.
	pub(crate) fn missed_commit(
		job: &mut JobOf<T>,
		job_id: JobId,
		task_idx: TaskIndex,
		rep: &mut ReplicaOf<T>,
		now: BlockNumberFor<T>,
	) -> Missed {
		match Self::room_for_commit(rep.assigned_at, now) {
			Room::Had => Missed::NoShow,
			Room::Extend { to, crowded } => {
				let slot = Self::push_deadline(to, job_id, task_idx);
				rep.commit_deadline = slot;
				Self::deposit_event(Event::CommitDeadlineExtended {
					job: job_id,
					task: task_idx,
					provider: rep.provider.clone(),
					commit_deadline: slot,
					crowded_blocks: crowded,
				});
				Missed::Moved
			},
			Room::Never => {
				Self::close_replica(job, job_id, task_idx, rep, ReplicaOutcome::Released);
				Self::deposit_event(Event::ReplicaReleasedNoRoom { job: job_id, task: task_idx, provider: rep.provider.clone() });
				Missed::Released
			},
		}
	}
}

/// What became of a replica that missed its commit deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Missed {
	/// A no-show: to be penalized and replaced.
	NoShow,
	/// Its deadline moved (its window had no room).
	Moved,
	/// Released without penalty (no room even with the extension): to be replaced.
	Released,
}
