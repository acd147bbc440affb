//! What a provider does next for one of its replicas: a pure function of what the chain says
//! about the replica and what the node holds locally, tested on its own. The event loop
//! (`worker.rs`) gathers the [`Situation`] at every new best block and carries out the [`Step`].

use pallet_gravity_market::TaskPhase;
use sp_core::H256;

/// What is known about one replica of ours at a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Situation {
	/// The task's phase on chain.
	pub phase: TaskPhase<u32>,
	/// Our replica's commitment on chain.
	pub committed: Option<H256>,
	/// Our replica has revealed on chain.
	pub revealed: bool,
	/// The round agreed on the digest and fuel we revealed (we are among those who deliver).
	pub agreed_with_us: bool,
	/// Our delivery slot has come (agreeing replicas deliver one after another).
	pub delivery_slot_open: bool,
	/// The commitment our local record seals for this replica's round (`None`: no record,
	/// the task has not run here yet, or the record was lost).
	pub local: Option<H256>,
	/// The task is running here now.
	pub running: bool,
	/// This node runs as many tasks as it may.
	pub at_capacity: bool,
	/// This machine could not run the task (`Failure::Aborted`).
	pub unable: bool,
	/// Long enough since assignment that missing data means declining rather than waiting.
	pub past_decline_point: bool,
	/// So close to the commit deadline ([`GIVE_UP_BEFORE`] blocks) that a replica without a
	/// result must be declined whatever the node is doing (running it, fetching, compiling,
	/// or busy with others): a no-show is slashed, a decline is free.
	pub out_of_time: bool,
}

/// Blocks before a replica's commit deadline from which a replica without a result is declined
/// whatever the node is doing. A run's own deadline is [`RUN_ENDS_BEFORE`] blocks before the
/// commit deadline, so a run that overruns is aborted before this point; this is the backstop
/// for everything else (a fetch, a compile worker, a full node).
pub const GIVE_UP_BEFORE: u32 = 3;

/// Blocks before a replica's commit deadline by which its run must have ended (the executor's
/// `Limits::deadline`): one block to see it and decline before [`GIVE_UP_BEFORE`].
pub const RUN_ENDS_BEFORE: u32 = 4;

/// The block from which the agreeing replica in `position` (replica order among those that
/// agreed) delivers, for a delivery window ending at `until` (the deadline block, handled before
/// that block's extrinsics) of `window` blocks. Agreeing replicas go one after another, two
/// blocks apart, so that the first delivery (which settles the task for all of them) is not
/// sent by everyone at once; every position's slot opens by `until − 2`, so its delivery can be
/// in a block before the deadline (until 2026-12-04 positions 2 and later opened at or after
/// `until − 1` with the 5-block window, and were slashed as no-shows for a slot that never
/// came when the first two did not deliver).
pub fn delivery_slot_opens(until: u32, window: u32, position: u32) -> u32 {
	until.saturating_sub(window).saturating_add(position.saturating_mul(2).min(window.saturating_sub(2)))
}

/// The action for a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
	/// Nothing to do now.
	Wait,
	/// Fetch the task's data and run it; if the data is missing, decline when
	/// `decline_if_missing`, else try again at the next block.
	Run { decline_if_missing: bool },
	/// Give the replica back (`market.decline`, free).
	Decline,
	/// Seal the local result (`market.commit`).
	Commit,
	/// Open the sealed result (`market.reveal`).
	Reveal,
	/// Store the output unless it is stored, then name it (`market.deliver`).
	Deliver,
	/// The chain holds a sealed result this node cannot open (no record, or a record that seals
	/// something else): never reveal a guess; log it.
	CannotReveal,
}

/// Blocks between the declines of replicas of one task that must give up at the same time.
pub const DECLINE_SPACING: u32 = 2;

/// The block from which a replica that has had to decline since block `since` sends its
/// `market.decline`: the replicas of a task that give up together (e.g. none could fetch the
/// same input by the decline point) decline one after another, in the order of the task's open
/// uncommitted replicas (`position`), [`DECLINE_SPACING`] blocks apart. The chain may fail the
/// task on the first decline and release the others; a later one then sees its replica gone
/// and sends nothing, instead of a decline that fails and costs its sender a fee. Never later
/// than two blocks before the replica's commit deadline (a replica still open then is a
/// no-show, which is slashed).
///
/// Checked against the protocol, not only here: with every replica declining in the block it
/// gave up (the rule before this one), the e2e test "an input nobody holds"
/// (`tests/e2e/compute.test.js`), which allows no failed call, fails with
/// `market.decline failed` (`JobNotActive`: the first decline failed the task and the job);
/// with this rule it passes (both runs on 2026-11-29).
pub fn decline_from(since: u32, position: u32, commit_deadline: u32) -> u32 {
	since.saturating_add(position.saturating_mul(DECLINE_SPACING)).min(commit_deadline.saturating_sub(2)).max(since)
}

/// The next step for one replica.
pub fn decide(s: &Situation) -> Step {
	match (&s.phase, s.committed, s.local) {
		(TaskPhase::Committing, None, Some(_)) => Step::Commit,
		(TaskPhase::Committing, None, None) if s.unable || s.out_of_time => Step::Decline,
		// Busy with others at the decline point: it cannot start in time; give it back.
		(TaskPhase::Committing, None, None) if s.at_capacity && !s.running && s.past_decline_point => Step::Decline,
		(TaskPhase::Committing, None, None) if s.running || s.at_capacity => Step::Wait,
		(TaskPhase::Committing, None, None) => Step::Run { decline_if_missing: s.past_decline_point },
		(TaskPhase::Revealing { .. }, Some(sealed), Some(ours)) if !s.revealed =>
			if sealed == ours {
				Step::Reveal
			} else {
				Step::CannotReveal
			},
		(TaskPhase::Revealing { .. }, Some(_), None) if !s.revealed => Step::CannotReveal,
		(TaskPhase::Delivering { .. }, Some(_), Some(_)) if s.agreed_with_us && s.delivery_slot_open => Step::Deliver,
		_ => Step::Wait,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn at(phase: TaskPhase<u32>) -> Situation {
		Situation {
			phase,
			committed: None,
			revealed: false,
			agreed_with_us: false,
			delivery_slot_open: false,
			local: None,
			running: false,
			at_capacity: false,
			unable: false,
			past_decline_point: false,
			out_of_time: false,
		}
	}

	#[test]
	fn a_replica_without_a_result_is_declined_in_time_whatever_the_node_is_doing() {
		let s = at(TaskPhase::Committing);
		// Running (a long task, a slow fetch or compile): wait, until it is out of time.
		assert_eq!(decide(&Situation { running: true, past_decline_point: true, ..s.clone() }), Step::Wait);
		assert_eq!(decide(&Situation { running: true, out_of_time: true, ..s.clone() }), Step::Decline);
		// Full with other tasks: wait until the decline point, then give it back.
		assert_eq!(decide(&Situation { at_capacity: true, ..s.clone() }), Step::Wait);
		assert_eq!(decide(&Situation { at_capacity: true, past_decline_point: true, ..s.clone() }), Step::Decline);
		assert_eq!(decide(&Situation { at_capacity: true, out_of_time: true, ..s.clone() }), Step::Decline);
		// A result in time is committed, even late.
		assert_eq!(decide(&Situation { local: Some(A), out_of_time: true, ..s.clone() }), Step::Commit);
		// Once committed, nothing to decline.
		assert_eq!(decide(&Situation { committed: Some(A), local: Some(A), out_of_time: true, ..s }), Step::Wait);
	}

	#[test]
	fn replicas_that_give_up_together_decline_one_after_another_before_the_deadline() {
		// Unable since block 105, commit deadline 110.
		assert_eq!(decline_from(105, 0, 110), 105, "the first declines at once");
		assert_eq!(decline_from(105, 1, 110), 107, "the second waits to see the first");
		assert_eq!(decline_from(105, 2, 110), 108, "never later than two blocks before the deadline");
		assert_eq!(decline_from(105, 7, 110), 108);
		// Already past that point: at once (a late decline beats a no-show).
		assert_eq!(decline_from(109, 3, 110), 109);
		// Spread over a long window.
		assert_eq!(decline_from(50, 3, 200), 56);
	}

	const A: H256 = H256::repeat_byte(0xa);
	const B: H256 = H256::repeat_byte(0xb);

	#[test]
	fn a_new_replica_runs_then_commits_once() {
		let s = at(TaskPhase::Committing);
		assert_eq!(decide(&s), Step::Run { decline_if_missing: false });
		assert_eq!(decide(&Situation { past_decline_point: true, ..s.clone() }), Step::Run { decline_if_missing: true });
		assert_eq!(decide(&Situation { running: true, ..s.clone() }), Step::Wait);
		assert_eq!(decide(&Situation { at_capacity: true, ..s.clone() }), Step::Wait);
		assert_eq!(decide(&Situation { unable: true, ..s.clone() }), Step::Decline);
		// Done locally: commit; committed on chain: nothing more in this phase (also after a
		// restart, when the record is read back from disk).
		assert_eq!(decide(&Situation { local: Some(A), ..s.clone() }), Step::Commit);
		assert_eq!(decide(&Situation { local: Some(A), committed: Some(A), ..s.clone() }), Step::Wait);
		// Committed on chain, record lost: never run again to commit something else.
		assert_eq!(decide(&Situation { committed: Some(A), ..s }), Step::Wait);
	}

	#[test]
	fn reveals_only_what_it_sealed() {
		let s = Situation { committed: Some(A), ..at(TaskPhase::Revealing { until: 9 }) };
		assert_eq!(decide(&Situation { local: Some(A), ..s.clone() }), Step::Reveal);
		assert_eq!(decide(&Situation { local: Some(A), revealed: true, ..s.clone() }), Step::Wait);
		assert_eq!(decide(&Situation { local: Some(B), ..s.clone() }), Step::CannotReveal);
		assert_eq!(decide(&Situation { local: None, ..s.clone() }), Step::CannotReveal);
		// Reveals open while we never committed (a later round's replica of ours): nothing.
		assert_eq!(decide(&Situation { committed: None, local: Some(A), ..s }), Step::Wait);
	}

	#[test]
	fn delivers_in_its_slot_when_its_result_was_agreed() {
		let s = Situation {
			committed: Some(A),
			revealed: true,
			local: Some(A),
			..at(TaskPhase::Delivering { until: 20 })
		};
		assert_eq!(decide(&s), Step::Wait, "a dissenting replica does not deliver");
		let agreed = Situation { agreed_with_us: true, ..s };
		assert_eq!(decide(&agreed), Step::Wait, "not our slot yet");
		assert_eq!(decide(&Situation { delivery_slot_open: true, ..agreed.clone() }), Step::Deliver);
		assert_eq!(decide(&Situation { delivery_slot_open: true, local: None, ..agreed }), Step::Wait);
	}

	#[test]
	fn nothing_to_do_once_the_task_is_over() {
		for phase in [TaskPhase::Verified, TaskPhase::Failed, TaskPhase::Abandoned] {
			let s = Situation { committed: Some(A), revealed: true, local: Some(A), agreed_with_us: true, delivery_slot_open: true, ..at(phase) };
			assert_eq!(decide(&s), Step::Wait);
		}
	}

	#[test]
	fn every_agreeing_replica_gets_a_delivery_slot_that_can_land_before_the_deadline() {
		// With slots two blocks apart in a 5-block window, positions 2 and later used to open at
		// `until − 1` or after: a delivery sent then lands at `until`, when the deadline has
		// already been handled.
		for window in [3u32, 5, 8, 20] {
			let until = 1000;
			for position in 0..16 {
				let opens = delivery_slot_opens(until, window, position);
				assert!(opens >= until - window, "not before the window starts");
				assert!(opens <= until - 2, "window {window}, position {position}: opens at {opens}, too late for {until}");
			}
			assert_eq!(delivery_slot_opens(until, window, 0), until - window);
			assert!(delivery_slot_opens(until, window, 1) > delivery_slot_opens(until, window, 0), "staggered");
		}
	}
}
