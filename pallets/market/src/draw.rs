//! The draw of a provider for one replica, as pure functions: a seed, the candidate classes
//! with their sizes and a number of tries in, a choice out. Nothing here reads storage; what
//! the draw needs to know about the chain comes in as two functions (`pick`: who sits at a slot
//! of a class; `seen`: whether a candidate is eligible, busy or free, and its reputation), so the
//! draw is tested on its own (`tests` below) and `assign_impls` only orchestrates it.
//!
//! **Fairness.** Each try picks a class in proportion to its size, then a member uniformly, so
//! every matching provider is equally likely before the candidate policy (`CandidateChoice`)
//! weighs it; the first free candidate the policy passes over is kept as a fallback, so a
//! market of newcomers is never left unplaced because every roll was unlucky.
//!
//! **Determinism.** Every try hashes the encoded seed with the try's index (BLAKE2-256), and a
//! data holder's turn with `u32::MAX` and its position: the same seed gives the same choice on
//! every node. The seed itself comes from the parent block's VRF output (market README).

use crate::policy::{Candidate, CandidateChoice, Verdict};
use codec::Encode;
use sp_runtime::Perbill;

/// Bytes `at..at + 8` of a hash as a little-endian `u64`.
pub(crate) fn u64_at(h: &[u8; 32], at: usize) -> u64 {
	let mut b = [0u8; 8];
	b.copy_from_slice(&h[at..at + 8]);
	u64::from_le_bytes(b)
}

/// A uniform draw in [0, 1) from bytes `at..at + 8` of a hash (assignment, spot checks).
pub(crate) fn roll_at(h: &[u8; 32], at: usize) -> Perbill {
	Perbill::from_parts((u64_at(h, at) % 1_000_000_000) as u32)
}

/// What the draw learns about a candidate it landed on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Seen {
	/// Cannot take it: does not qualify, or already has a replica of the task.
	Ineligible,
	/// Qualifies but has no spare capacity (the market is saturated, the job not unplaceable).
	Busy,
	/// Qualifies and has room; the candidate policy decides on its reputation.
	Free { reputation: Perbill },
}

/// The outcome of a draw.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Drawn<A> {
	/// The provider chosen, if any.
	pub chosen: Option<A>,
	/// A matching provider was seen busy (a deferral then does not count toward
	/// `max_deferrals`).
	pub busy: bool,
}

/// The hash of try `index` of a draw from `seed` (the SCALE encoding of the seed and index).
fn try_hash(seed: &[u8], index: u32) -> [u8; 32] {
	let mut bytes = seed.to_vec();
	index.encode_to(&mut bytes);
	sp_io::hashing::blake2_256(&bytes)
}

/// Offer a replica to the job's data holders first (data locality), starting at one drawn from
/// `seed` and going round once: the first that is free and passes its own roll takes it.
pub(crate) fn draw_holder<A: Clone, C: CandidateChoice>(
	seed: &[u8],
	holders: &[A],
	mut seen: impl FnMut(&A) -> Seen,
) -> Option<A> {
	let n = holders.len();
	if n == 0 {
		return None
	}
	let h = try_hash(seed, u32::MAX);
	for k in 0..n {
		let p = &holders[(u64_at(&h, 0) as usize).wrapping_add(k) % n];
		let Seen::Free { reputation } = seen(p) else { continue };
		let hk = sp_io::hashing::blake2_256(&(h, k as u32).encode());
		if C::choose(Candidate { reputation, roll: roll_at(&hk, 16), holds_data: true }) == Verdict::Take {
			return Some(p.clone())
		}
	}
	None
}

/// Draw a provider for a replica: up to `tries` tries, each a class drawn in proportion to its
/// size from `classes` and a member of it drawn uniformly (`pick(class, slot)`), taken when it
/// is free and the candidate policy takes it. Falls back to the first free candidate passed
/// over. With no candidates (`classes` all empty) nothing is drawn.
pub(crate) fn draw<K, A: Clone, C: CandidateChoice>(
	seed: &[u8],
	classes: &[(K, u32)],
	tries: u32,
	mut pick: impl FnMut(&K, u32) -> Option<A>,
	mut seen: impl FnMut(&A) -> Seen,
) -> Drawn<A> {
	let total: u64 = classes.iter().map(|(_, s)| *s as u64).sum();
	let mut drawn = Drawn { chosen: None, busy: false };
	if total == 0 {
		return drawn
	}
	let mut fallback = None;
	for attempt in 0..tries {
		let h = try_hash(seed, attempt);
		let mut at = u64_at(&h, 0) % total;
		let mut class = None;
		for (c, s) in classes.iter() {
			if at < *s as u64 {
				class = Some((c, *s));
				break
			}
			at -= *s as u64;
		}
		let Some((class, size)) = class else { continue };
		let Some(p) = pick(class, (u64_at(&h, 8) % size as u64) as u32) else { continue };
		let reputation = match seen(&p) {
			Seen::Ineligible => continue,
			Seen::Busy => {
				drawn.busy = true;
				continue
			},
			Seen::Free { reputation } => reputation,
		};
		if C::choose(Candidate { reputation, roll: roll_at(&h, 16), holds_data: false }) == Verdict::Take {
			drawn.chosen = Some(p);
			return drawn
		}
		if fallback.is_none() {
			fallback = Some(p);
		}
	}
	drawn.chosen = fallback;
	drawn
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Takes every candidate.
	struct Always;
	impl CandidateChoice for Always {
		fn choose(_: Candidate) -> Verdict {
			Verdict::Take
		}
	}
	/// Takes nobody.
	struct Never;
	impl CandidateChoice for Never {
		fn choose(_: Candidate) -> Verdict {
			Verdict::Pass
		}
	}

	fn seed(i: u32) -> Vec<u8> {
		sp_io::hashing::blake2_256(&i.encode()).encode()
	}

	/// Two classes of 3 and 1 providers: ids 0..3 and 10.
	fn pick(class: &u8, slot: u32) -> Option<u32> {
		match class {
			0 if slot < 3 => Some(slot),
			1 if slot < 1 => Some(10),
			_ => None,
		}
	}
	const CLASSES: [(u8, u32); 2] = [(0, 3), (1, 1)];
	const FREE: Seen = Seen::Free { reputation: Perbill::from_percent(50) };

	#[test]
	fn every_provider_is_equally_likely_before_the_policy() {
		let mut count = std::collections::BTreeMap::<u32, u32>::new();
		for i in 0..4_000 {
			let d = draw::<_, _, Always>(&seed(i), &CLASSES, 1, pick, |_| FREE);
			*count.entry(d.chosen.expect("a free provider is always taken")).or_default() += 1;
		}
		assert_eq!(count.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2, 10]);
		for (p, n) in count {
			assert!((850..=1_150).contains(&n), "provider {p} drawn {n} times of 4,000");
		}
	}

	#[test]
	fn the_same_seed_gives_the_same_choice() {
		for i in 0..50 {
			let a = draw::<_, _, ()>(&seed(i), &CLASSES, 4, pick, |_| FREE);
			let b = draw::<_, _, ()>(&seed(i), &CLASSES, 4, pick, |_| FREE);
			assert_eq!(a, b);
		}
	}

	#[test]
	fn ineligible_and_busy_are_skipped_and_busy_is_reported() {
		// Only provider 10 is free; the others are busy: found within enough tries, busy seen.
		let seen = |p: &u32| if *p == 10 { FREE } else { Seen::Busy };
		let mut busy_seen = 0;
		for i in 0..40 {
			let d = draw::<_, _, Always>(&seed(i), &CLASSES, 64, pick, seen);
			assert_eq!(d.chosen, Some(10));
			busy_seen += d.busy as u32;
		}
		// A quarter of first tries land on 10 at once; the others see a busy provider first.
		assert!((20..40).contains(&busy_seen), "busy reported in {busy_seen} of 40 draws");
		// Nobody free: nothing chosen; busy only when a busy one was seen.
		let d = draw::<_, _, Always>(&seed(7), &CLASSES, 64, pick, |_| Seen::Busy);
		assert_eq!(d, Drawn { chosen: None, busy: true });
		let d = draw::<_, _, Always>(&seed(7), &CLASSES, 64, pick, |_| Seen::Ineligible);
		assert_eq!(d, Drawn { chosen: None, busy: false }, "ineligible is not busy");
	}

	#[test]
	fn a_passed_over_free_candidate_is_the_fallback() {
		let d = draw::<_, _, Never>(&seed(3), &CLASSES, 8, pick, |_| FREE);
		let first = {
			// The first try's candidate, computed independently.
			let h = try_hash(&seed(3), 0);
			let at = u64_at(&h, 0) % 4;
			let (class, size) = if at < 3 { (0u8, 3) } else { (1u8, 1) };
			pick(&class, (u64_at(&h, 8) % size) as u32).unwrap()
		};
		assert_eq!(d.chosen, Some(first));
	}

	#[test]
	fn no_candidates_or_no_tries_draw_nothing() {
		let empty: [(u8, u32); 2] = [(0, 0), (1, 0)];
		let mut picked = false;
		let d = draw::<_, _, Always>(&seed(1), &empty, 16, |_, _| { picked = true; Some(1u32) }, |_| FREE);
		assert_eq!(d, Drawn { chosen: None, busy: false });
		assert!(!picked, "nothing is picked from empty classes");
		assert_eq!(draw::<_, _, Always>(&seed(1), &CLASSES, 0, pick, |_| FREE).chosen, None);
	}

	#[test]
	fn the_default_policy_takes_in_proportion_to_reputation() {
		// With reputation 0 the default policy never takes, but the fallback still places.
		let zero = |_: &u32| Seen::Free { reputation: Perbill::zero() };
		let d = draw::<_, _, ()>(&seed(5), &CLASSES, 4, pick, zero);
		assert!(d.chosen.is_some(), "the fallback places the replica");
		// Over many draws of one try, reputation 30 % is taken about 30 % of the time.
		let taken = (0..2_000)
			.filter(|i| {
				let h = try_hash(&seed(*i), 0);
				<() as CandidateChoice>::choose(Candidate {
					reputation: Perbill::from_percent(30),
					roll: roll_at(&h, 16),
					holds_data: false,
				}) == Verdict::Take
			})
			.count();
		assert!((500..=700).contains(&taken), "taken {taken} of 2,000");
	}

	#[test]
	fn holders_are_tried_round_once_from_a_drawn_start() {
		let holders = [1u32, 2, 3];
		// Only holder 3 is free: found whatever the start.
		for i in 0..20 {
			let got = draw_holder::<_, Always>(&seed(i), &holders, |p| if *p == 3 { FREE } else { Seen::Busy });
			assert_eq!(got, Some(3));
		}
		// Nobody takes: nothing (no fallback among holders: the draw follows).
		assert_eq!(draw_holder::<_, Never>(&seed(1), &holders, |_| FREE), None);
		assert_eq!(draw_holder::<u32, Always>(&seed(1), &[], |_| FREE), None);
		// The start is spread over the holders.
		let starts: std::collections::BTreeSet<u32> =
			(0..60).filter_map(|i| draw_holder::<_, Always>(&seed(i), &holders, |_| FREE)).collect();
		assert_eq!(starts.len(), 3);
	}
}
