//! Which piece to ask of which peer: the download's piece scheduler, pure and synchronous.
//!
//! A download ([`crate::fetch`]) keeps, for every peer, what it holds and what it is sending
//! ([`Peer`]); once a round it hands that, the pieces still needed and the requests in flight
//! to [`Scheduler::next_requests`], which answers with the GETs to send. Nothing here touches
//! the network, the store or the clock (the round's `now` is an input), so the choice is the
//! same for the same inputs and is tested on its own.
//!
//! The rules, in the order they apply:
//!
//! - **Window.** A round weighs at most [`WINDOW`] pieces: those not in flight that some live
//!   peer holds, from the download's own starting point ([`Scheduler::pivot`]) on. Once every
//!   needed piece is in flight, the round weighs all of them (end game).
//! - **Rarest first.** A peer is given the piece it holds with the fewest live holders, then
//!   the fewest requests in flight, ties broken by a per-download random order (downloaders of
//!   the same content spread out).
//! - **Per-peer limits.** A peer never has more than its own limit ([`Peer::limit`], at most
//!   `per_peer`) in flight, and is never asked while it backs off ([`Peer::retry_at`]), for a
//!   piece it answered `Busy` for less than [`REFUSED_FOR`] ago, or for a piece it is sending.
//! - **Super-seeding.** While some downloader holds a piece of the window, a peer with a
//!   complete copy (a seed) gets one request at a time and is not asked for the pieces the
//!   downloaders hold: its upload goes to what nobody else has yet.
//! - **End game.** Only when no needed piece is left unasked is a piece asked of a second peer
//!   (never of a third, never twice of one peer), so one slow peer does not hold up the end.

use crate::wire::MAX_GROUPS_PER_GET;
use sc_network::PeerId;
use std::{
	collections::{BTreeSet, HashMap},
	ops::Range,
	time::{Duration, Instant},
};

/// A piece: chunk groups `start..end`.
pub type Piece = (u64, u64);

/// Most pieces weighed for rarest-first in one round of a download. Content up to 1 GiB fits
/// whole (every needed piece is weighed, as the swarm tests and benchmarks measure); beyond it a
/// round weighs this many pieces from the download's own starting point on, so a round costs
/// the same for a 100 GB scene as for a 1 GB one instead of growing with the pieces left (which
/// made the bookkeeping, not the network, the limit of large downloads).
pub const WINDOW: usize = 1024;

/// How long a piece a peer answered `Busy` for is not asked of that peer again: it serves
/// others, or sent the piece to another downloader a moment ago (super-seeding), so the piece
/// is taken elsewhere or later.
pub const REFUSED_FOR: Duration = Duration::from_millis(500);

/// The pieces still missing: the complement of `have` in `0..groups`, cut at 1 MiB boundaries.
pub fn missing_pieces(groups: u64, have: &[Range<u64>]) -> BTreeSet<Piece> {
	let mut out = BTreeSet::new();
	let mut at = 0;
	let push_gap = |s: u64, e: u64, out: &mut BTreeSet<Piece>| {
		let mut s = s;
		while s < e {
			let boundary = (s / MAX_GROUPS_PER_GET + 1) * MAX_GROUPS_PER_GET;
			let end = boundary.min(e);
			out.insert((s, end));
			s = end;
		}
	};
	for r in have {
		if r.start > at {
			push_gap(at, r.start.min(groups), &mut out);
		}
		at = at.max(r.end);
	}
	if at < groups {
		push_gap(at, groups, &mut out);
	}
	out
}

/// The pieces of `pieces` that overlap the chunk groups `want`, clipped to them: what a
/// download of part of the content (a byte range) asks for.
pub fn clipped(pieces: BTreeSet<Piece>, want: &Range<u64>) -> BTreeSet<Piece> {
	pieces
		.into_iter()
		.map(|(s, e)| (s.max(want.start), e.min(want.end)))
		.filter(|(s, e)| s < e)
		.collect()
}

/// Ranges sorted by start with overlapping and touching ones merged (a peer's HAVE answer may
/// come in any order).
pub fn merged(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
	ranges.sort_by_key(|r| r.start);
	let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
	for r in ranges {
		match out.last_mut() {
			Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
			_ => out.push(r),
		}
	}
	out
}

/// Up to `max` pieces of `needed` that pass `wanted`, in order from `pivot` on, wrapping
/// around to the start. Stops at `max`: a round's cost does not grow with `needed`, except
/// when few needed pieces pass (e.g. no peer has said what it holds yet).
pub fn candidates(needed: &BTreeSet<Piece>, pivot: Piece, max: usize, wanted: impl Fn(&Piece) -> bool) -> Vec<Piece> {
	needed.range(pivot..).chain(needed.range(..pivot)).filter(|p| wanted(p)).take(max).copied().collect()
}

/// A 64-bit finalizer (MurmurHash3's): spreads a seed into a well-mixed value, for the
/// per-download random orders of pieces and peers.
pub(crate) fn mix(mut x: u64) -> u64 {
	x ^= x >> 33;
	x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
	x ^= x >> 33;
	x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
	x ^ (x >> 33)
}

/// One peer as the scheduler sees it: what it holds, what it is sending and how much more it
/// may be asked. The download keeps it up to date from the peer's answers.
#[derive(Clone, Debug, Default)]
pub struct Peer {
	/// Groups it holds (sorted and merged), once it answered a HAVE.
	pub have: Option<Vec<Range<u64>>>,
	/// Whether its last HAVE answer named the whole content (a seed).
	pub complete: bool,
	/// Dropped from this download: never asked again, and not counted as a holder.
	pub dropped: bool,
	/// GETs in flight to it.
	pub gets: usize,
	/// GETs allowed in flight: halved on each failure, grown back on success (clamped to
	/// `1..=per_peer` when used).
	pub limit: usize,
	/// Not asked anything before this (it answered `Busy`, or failed).
	pub retry_at: Option<Instant>,
	/// Pieces it answered `Busy` for, and when: not asked of it again for [`REFUSED_FOR`].
	pub refused: HashMap<Piece, Instant>,
	/// Pieces it is sending now: never asked of it twice at once (an end-game duplicate from
	/// the peer already sending the piece only costs that peer's upload).
	pub sending: BTreeSet<Piece>,
}

impl Peer {
	/// A peer not asked anything yet, allowed `limit` GETs in flight.
	pub fn new(limit: usize) -> Self {
		Peer { limit, ..Default::default() }
	}

	/// Whether it holds all of piece `p` (`have` is sorted and merged: a binary search).
	pub fn holds(&self, p: &Piece) -> bool {
		self.have.as_ref().is_some_and(|h| {
			let i = h.partition_point(|r| r.end <= p.0);
			h.get(i).is_some_and(|r| r.start <= p.0 && p.1 <= r.end)
		})
	}

	/// Whether it backs off at `now` (asked nothing until `retry_at`).
	pub fn waiting(&self, now: Instant) -> bool {
		self.retry_at.is_some_and(|t| t > now)
	}

	/// Whether it is live and said it holds something: what `Progress::peers` counts.
	pub fn holds_some(&self) -> bool {
		!self.dropped && self.have.as_ref().is_some_and(|h| !h.is_empty())
	}

	/// Whether it may be asked for pieces at `now` at all: live, answered a HAVE, and not
	/// backing off.
	fn askable(&self, now: Instant) -> bool {
		!self.dropped && self.have.is_some() && !self.waiting(now)
	}
}

/// What stays fixed across one download's rounds: its random order, its starting point and
/// the most GETs in flight per peer.
#[derive(Clone, Copy, Debug)]
pub struct Scheduler {
	/// The per-download random seed: breaks ties between pieces and orders peers, so
	/// downloaders of the same content ask in different orders.
	pub salt: u64,
	/// Where the download starts looking for pieces (downloaders of the same content start at
	/// different points, so their windows differ).
	pub pivot: Piece,
	/// Most GETs in flight to one peer (`FetchConfig::per_peer`).
	pub per_peer: usize,
}

impl Scheduler {
	/// The scheduler of a download of content with `groups` chunk groups, seeded by `salt`
	/// (its starting point is a piece boundary picked by the salt).
	pub fn new(salt: u64, groups: u64, per_peer: usize) -> Self {
		let pivot = (mix(salt) % groups.max(1) / MAX_GROUPS_PER_GET * MAX_GROUPS_PER_GET, 0);
		Scheduler { salt, pivot, per_peer }
	}

	/// Where `peer` comes in this download's order of peers (lower first).
	fn rank(&self, peer: &PeerId) -> u64 {
		mix(self.salt ^ peer.to_bytes().iter().fold(0u64, |a, b| a.rotate_left(5) ^ *b as u64))
	}

	/// The GETs to send now, as `(peer, piece)` in the order to send them: each peer in this
	/// download's order is given pieces until its limit is reached or nothing fits it.
	/// `in_flight` counts the GETs already sent for each piece (absent: none); the caller sends
	/// the answer's requests and counts them into `in_flight`, [`Peer::gets`] and
	/// [`Peer::sending`].
	pub fn next_requests(
		&self,
		now: Instant,
		peers: &[(PeerId, &Peer)],
		needed: &BTreeSet<Piece>,
		in_flight: &HashMap<Piece, usize>,
	) -> Vec<(PeerId, Piece)> {
		let round = Round::new(self, now, peers, needed, in_flight);
		let mut order: Vec<(PeerId, &Peer)> = peers.to_vec();
		order.sort_by_key(|(id, _)| self.rank(id));
		// The in-flight counts as this round's requests add to them.
		let mut asked = in_flight.clone();
		let mut out = Vec::new();
		for (id, peer) in order {
			let limit = round.limit(peer, self.per_peer);
			let (mut gets, mut sent) = (peer.gets, Vec::<Piece>::new());
			while gets < limit && peer.askable(now) {
				let Some(piece) = round.pick(peer, &asked, &sent) else { break };
				*asked.entry(piece).or_default() += 1;
				gets += 1;
				sent.push(piece);
				out.push((id, piece));
			}
		}
		out
	}
}

/// What one round weighs, fixed when it begins (requests handed out during the round change
/// only the in-flight counts).
struct Round {
	/// When the round runs: refusals and back-offs are weighed against it.
	now: Instant,
	/// The download's random seed ([`Scheduler::salt`]).
	salt: u64,
	/// Every needed piece is in flight: pieces may be asked of a second peer.
	end_game: bool,
	/// The pieces weighed this round.
	window: Vec<Piece>,
	/// Live holders of each piece of the window.
	availability: HashMap<Piece, usize>,
	/// Pieces of the window some live downloader (a peer without a complete copy) holds.
	at_downloaders: BTreeSet<Piece>,
}

impl Round {
	/// The round for `peers` at `now`: its window (at most [`WINDOW`] pieces not in flight
	/// that some live peer holds, from the pivot on; once every piece is in flight, the few
	/// still needed), how many hold each, and which of them downloaders hold.
	fn new(
		s: &Scheduler,
		now: Instant,
		peers: &[(PeerId, &Peer)],
		needed: &BTreeSet<Piece>,
		in_flight: &HashMap<Piece, usize>,
	) -> Self {
		let live = || peers.iter().map(|(_, p)| *p).filter(|p| !p.dropped);
		let end_game = needed.len() <= in_flight.len() && needed.iter().all(|p| in_flight.contains_key(p));
		let window: Vec<Piece> = if end_game {
			needed.iter().copied().collect()
		} else {
			candidates(needed, s.pivot, WINDOW, |p| !in_flight.contains_key(p) && live().any(|h| h.holds(p)))
		};
		let availability = window.iter().map(|p| (*p, live().filter(|h| h.holds(p)).count())).collect();
		// Pieces some other downloader holds: those are not asked of complete copies (seeds),
		// which then spend their upload on what nobody else has yet.
		let at_downloaders =
			window.iter().filter(|p| live().any(|h| !h.complete && h.holds(p))).copied().collect();
		Round { now, salt: s.salt, end_game, window, availability, at_downloaders }
	}

	/// Most GETs in flight to `peer` this round. In a swarm a seed gets one request at a time
	/// from each downloader: its upload is the scarce resource, and fewer requests in flight
	/// mean fewer downloaders asking it for the same piece at once.
	fn limit(&self, peer: &Peer, per_peer: usize) -> usize {
		if peer.complete && !self.at_downloaders.is_empty() {
			1
		} else {
			peer.limit.clamp(1, per_peer)
		}
	}

	/// The next piece to ask of `peer`, given the in-flight counts `asked` and the pieces
	/// `sent` to it this round: an unasked one, or in the end game one asked once.
	fn pick(&self, peer: &Peer, asked: &HashMap<Piece, usize>, sent: &[Piece]) -> Option<Piece> {
		self.pick_at_most(peer, asked, sent, 0)
			.or_else(|| if self.end_game { self.pick_at_most(peer, asked, sent, 1) } else { None })
	}

	/// The rarest piece of the window that `peer` holds and may be asked for, among those in
	/// flight at most `max_asked` times (fewest holders, then fewest requests, then the
	/// download's random order).
	fn pick_at_most(
		&self,
		peer: &Peer,
		asked: &HashMap<Piece, usize>,
		sent: &[Piece],
		max_asked: usize,
	) -> Option<Piece> {
		let asked_for = |p: &Piece| asked.get(p).copied().unwrap_or(0);
		self.window
			.iter()
			.filter(|p| asked_for(*p) <= max_asked && peer.holds(p))
			.filter(|p| !(peer.complete && self.at_downloaders.contains(*p)))
			.filter(|p| !peer.sending.contains(*p) && !sent.contains(*p))
			.filter(|p| peer.refused.get(*p).is_none_or(|t| self.now.duration_since(*t) > REFUSED_FOR))
			.min_by_key(|p| (self.availability[*p], asked_for(*p), mix(self.salt ^ p.0)))
			.copied()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Piece `i` of content cut into whole 1 MiB pieces.
	fn piece(i: u64) -> Piece {
		(i * MAX_GROUPS_PER_GET, (i + 1) * MAX_GROUPS_PER_GET)
	}

	/// Pieces `0..n`.
	fn pieces(n: u64) -> BTreeSet<Piece> {
		(0..n).map(piece).collect()
	}

	/// A peer that answered a HAVE naming pieces `held`, allowed `limit` GETs in flight.
	fn holding(held: &[u64], limit: usize) -> Peer {
		let have = merged(held.iter().map(|i| piece(*i).0..piece(*i).1).collect());
		Peer { have: Some(have), limit, ..Default::default() }
	}

	/// The requests of one round.
	fn round(
		s: &Scheduler,
		peers: &[(PeerId, Peer)],
		needed: &BTreeSet<Piece>,
		in_flight: &HashMap<Piece, usize>,
	) -> Vec<(PeerId, Piece)> {
		let view: Vec<(PeerId, &Peer)> = peers.iter().map(|(id, p)| (*id, p)).collect();
		s.next_requests(Instant::now(), &view, needed, in_flight)
	}

	/// Requests per piece.
	fn per_piece(requests: &[(PeerId, Piece)]) -> HashMap<Piece, usize> {
		let mut n: HashMap<Piece, usize> = HashMap::new();
		for (_, p) in requests {
			*n.entry(*p).or_default() += 1;
		}
		n
	}

	#[test]
	fn the_rarest_piece_a_peer_holds_is_asked_first() {
		// Pieces 0 and 1 are held by three peers, piece 2 by `a` alone. The other two back off
		// (they still count as holders, but are asked nothing this round).
		let s = Scheduler::new(7, 3 * MAX_GROUPS_PER_GET, 8);
		let later = Some(Instant::now() + Duration::from_secs(60));
		let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
		let peers = vec![
			(a, holding(&[0, 1, 2], 1)),
			(b, Peer { retry_at: later, ..holding(&[0, 1], 8) }),
			(c, Peer { retry_at: later, ..holding(&[0, 1], 8) }),
		];
		assert_eq!(round(&s, &peers, &pieces(3), &HashMap::new()), vec![(a, piece(2))]);
		// With room for more, it takes the rest too, the rarer ones first.
		let peers = vec![(a, holding(&[0, 1, 2, 3], 4)), (b, Peer { retry_at: later, ..holding(&[0, 1], 8) })];
		let asked: Vec<Piece> = round(&s, &peers, &pieces(4), &HashMap::new()).into_iter().map(|(_, p)| p).collect();
		assert_eq!(asked.len(), 4);
		assert_eq!(asked[2..].iter().copied().collect::<BTreeSet<Piece>>(), BTreeSet::from([piece(0), piece(1)]));
	}

	#[test]
	fn a_peer_is_never_asked_for_a_piece_it_lacks() {
		let ids: Vec<PeerId> = (0..6).map(|_| PeerId::random()).collect();
		let peers: Vec<(PeerId, Peer)> = vec![
			(ids[0], holding(&[0, 1, 2, 3], 8)),
			(ids[1], holding(&[4, 5, 6, 7, 8, 9], 2)),
			(ids[2], holding(&[1, 3, 5, 7, 9, 11], 8)),
			(ids[3], holding(&[], 8)),
			// No HAVE answer yet: asked nothing.
			(ids[4], Peer::new(8)),
			(ids[5], holding(&[12, 13], 8)),
		];
		let needed = pieces(14);
		let in_flight: HashMap<Piece, usize> = [(piece(5), 1)].into();
		for salt in 0..50 {
			let s = Scheduler::new(salt, 14 * MAX_GROUPS_PER_GET, 8);
			let requests = round(&s, &peers, &needed, &in_flight);
			assert!(!requests.is_empty());
			for (id, p) in &requests {
				let peer = &peers.iter().find(|(i, _)| i == id).unwrap().1;
				assert!(peer.holds(p), "{id} asked for {p:?}, which it lacks");
			}
			// Not the end game: nothing in flight is asked again, nothing twice.
			assert!(per_piece(&requests).iter().all(|(p, n)| *n == 1 && *p != piece(5)));
		}
	}

	#[test]
	fn a_peer_s_in_flight_limit_is_respected() {
		let s = Scheduler::new(1, 20 * MAX_GROUPS_PER_GET, 4);
		let all: Vec<u64> = (0..20).collect();
		let id = PeerId::random();
		// Its own limit, less what is in flight to it already.
		let peer = Peer { gets: 1, ..holding(&all, 3) };
		assert_eq!(round(&s, &[(id, peer)], &pieces(20), &HashMap::new()).len(), 2);
		// Its limit is clamped to `per_peer`, and to at least one.
		assert_eq!(round(&s, &[(id, holding(&all, 20))], &pieces(20), &HashMap::new()).len(), 4);
		assert_eq!(round(&s, &[(id, holding(&all, 0))], &pieces(20), &HashMap::new()).len(), 1);
		// Full already, backing off, or dropped: nothing.
		let later = Some(Instant::now() + Duration::from_secs(60));
		for idle in [
			Peer { gets: 3, ..holding(&all, 3) },
			Peer { retry_at: later, ..holding(&all, 3) },
			Peer { dropped: true, ..holding(&all, 3) },
		] {
			assert!(round(&s, &[(id, idle)], &pieces(20), &HashMap::new()).is_empty());
		}
		// A piece it refused a moment ago, or is sending, is not asked of it.
		let peer = Peer {
			refused: [(piece(0), Instant::now())].into(),
			sending: [piece(1)].into(),
			..holding(&[0, 1, 2], 8)
		};
		assert_eq!(round(&s, &[(id, peer)], &pieces(3), &HashMap::new()), vec![(id, piece(2))]);
	}

	#[test]
	fn a_seed_gets_one_request_and_not_what_a_downloader_holds() {
		let s = Scheduler::new(3, 3 * MAX_GROUPS_PER_GET, 8);
		let (seed, down) = (PeerId::random(), PeerId::random());
		let peers = vec![(seed, Peer { complete: true, ..holding(&[0, 1, 2], 8) }), (down, holding(&[0], 8))];
		let requests = round(&s, &peers, &pieces(3), &HashMap::new());
		let of_seed: Vec<Piece> = requests.iter().filter(|(id, _)| *id == seed).map(|(_, p)| *p).collect();
		assert_eq!(of_seed.len(), 1, "one at a time");
		assert_ne!(of_seed[0], piece(0), "the downloader's piece is asked of the downloader");
		assert!(requests.contains(&(down, piece(0))));
		// Alone, a seed gets its full limit.
		assert_eq!(round(&s, &peers[..1], &pieces(3), &HashMap::new()).len(), 3);
	}

	#[test]
	fn the_end_game_duplicates_only_once_every_piece_is_in_flight() {
		let s = Scheduler::new(5, 3 * MAX_GROUPS_PER_GET, 8);
		let (a, b) = (PeerId::random(), PeerId::random());
		let peers = vec![
			(a, Peer { gets: 2, sending: [piece(0), piece(1)].into(), ..holding(&[0, 1, 2], 8) }),
			(b, holding(&[0, 1, 2], 8)),
		];
		// One piece unasked: only it is asked, once.
		let in_flight: HashMap<Piece, usize> = [(piece(0), 1), (piece(1), 1)].into();
		let requests = round(&s, &peers, &pieces(3), &in_flight);
		assert_eq!(requests.len(), 1);
		assert_eq!(requests[0].1, piece(2));
		// All in flight: each is asked of one more peer, never of the peer sending it.
		let in_flight: HashMap<Piece, usize> = [(piece(0), 1), (piece(1), 1), (piece(2), 1)].into();
		let b_sending = Peer { gets: 1, sending: [piece(2)].into(), ..holding(&[0, 1, 2], 8) };
		let mut requests = round(&s, &[(a, peers[0].1.clone()), (b, b_sending)], &pieces(3), &in_flight);
		requests.sort_by_key(|(_, p)| *p);
		assert_eq!(requests, vec![(b, piece(0)), (b, piece(1)), (a, piece(2))]);
		// Never a third time.
		let twice: HashMap<Piece, usize> = [(piece(0), 2), (piece(1), 2), (piece(2), 2)].into();
		assert!(round(&s, &peers, &pieces(3), &twice).is_empty());
	}

	#[test]
	fn nothing_is_asked_when_nothing_is_needed_or_held() {
		let s = Scheduler::new(9, 4 * MAX_GROUPS_PER_GET, 8);
		let peers = vec![(PeerId::random(), holding(&[0, 1, 2, 3], 8))];
		assert!(round(&s, &peers, &BTreeSet::new(), &HashMap::new()).is_empty());
		let stale: HashMap<Piece, usize> = [(piece(1), 1)].into();
		assert!(round(&s, &peers, &BTreeSet::new(), &stale).is_empty());
		assert!(round(&s, &[], &pieces(4), &HashMap::new()).is_empty());
		let nobody = vec![(PeerId::random(), holding(&[], 8)), (PeerId::random(), Peer::new(8))];
		assert!(round(&s, &nobody, &pieces(4), &HashMap::new()).is_empty());
	}

	#[test]
	fn a_round_weighs_a_bounded_window_from_the_download_s_own_starting_point() {
		// 100,000 pieces (a 100 GB scene): a round takes WINDOW of them, not all.
		let needed = missing_pieces(100_000 * 64, &[]);
		let in_flight: BTreeSet<Piece> = [(64 * 500, 64 * 501), (64 * 503, 64 * 504)].into();
		let pivot = (64 * 500, 0);
		let w = candidates(&needed, pivot, WINDOW, |p| !in_flight.contains(p));
		assert_eq!(w.len(), WINDOW);
		assert_eq!(w[0], (64 * 501, 64 * 502), "starts at the pivot, skipping pieces in flight");
		assert_eq!(w[2], (64 * 504, 64 * 505));
		assert!(w.iter().all(|p| !in_flight.contains(p)));
		// It wraps around to the start, and takes only what passes.
		let w = candidates(&needed, (64 * 99_999, 0), 3, |_| true);
		assert_eq!(w, vec![(64 * 99_999, 64 * 100_000), (0, 64), (64, 128)]);
		let odd = candidates(&needed, (0, 0), 4, |p| (p.0 / 64) % 2 == 1);
		assert_eq!(odd, vec![(64, 128), (192, 256), (320, 384), (448, 512)]);
		// Content of 1 GiB or less is weighed whole.
		let small = missing_pieces(1024 * 64, &[]);
		assert_eq!(candidates(&small, (64 * 700, 0), WINDOW, |_| true).len(), small.len());
		// What a round costs with 5 seeds: weighing the window against weighing every piece (as
		// every round did before), printed for `docs/benchmarks.md`.
		let peers: Vec<Peer> = (0..5).map(|_| Peer { have: Some(vec![0..100_000 * 64]), ..Peer::new(8) }).collect();
		let weigh = |pieces: &[Piece]| -> usize {
			pieces.iter().map(|p| peers.iter().filter(|s| s.holds(p)).count()).sum()
		};
		let t = std::time::Instant::now();
		for _ in 0..20 {
			let w = candidates(&needed, pivot, WINDOW, |p| !in_flight.contains(p) && peers.iter().any(|s| s.holds(p)));
			std::hint::black_box(weigh(&w));
		}
		let windowed = t.elapsed() / 20;
		let all: Vec<Piece> = needed.iter().copied().collect();
		let t = std::time::Instant::now();
		for _ in 0..20 {
			std::hint::black_box(weigh(&all));
		}
		let whole = t.elapsed() / 20;
		println!("a round over 100,000 pieces and 5 peers: {windowed:?} with the window, {whole:?} weighing all");
		// A whole round over them asks only for pieces of its window.
		let s = Scheduler { salt: 1, pivot, per_peer: 8 };
		let view: Vec<(PeerId, &Peer)> = peers.iter().map(|p| (PeerId::random(), p)).collect();
		let requests = s.next_requests(Instant::now(), &view, &needed, &HashMap::new());
		assert_eq!(requests.len(), 5 * 8);
		assert_eq!(per_piece(&requests).len(), 5 * 8, "no piece twice");
		assert!(requests.iter().all(|(_, p)| p.0 >= pivot.0 && p.0 < pivot.0 + 64 * WINDOW as u64));
	}

	#[test]
	fn a_have_answer_in_any_order_is_merged_and_searched() {
		assert_eq!(merged(vec![70..80, 0..10, 5..20, 20..30, 90..95]), vec![0..30, 70..80, 90..95]);
		let ps = Peer { have: Some(merged(vec![128..256, 0..64, 512..640])), ..Default::default() };
		assert!(ps.holds(&(0, 64)));
		assert!(ps.holds(&(128, 192)) && ps.holds(&(192, 256)));
		assert!(!ps.holds(&(64, 128)), "a gap");
		assert!(!ps.holds(&(250, 260)), "runs past a range's end");
		assert!(ps.holds(&(576, 640)));
		assert!(!ps.holds(&(640, 704)));
		assert!(!Peer::default().holds(&(0, 64)), "no answer yet");
	}

	#[test]
	fn missing_pieces_are_the_gaps_cut_at_one_mebibyte() {
		let all: Vec<Piece> = missing_pieces(130, &[]).into_iter().collect();
		assert_eq!(all, vec![(0, 64), (64, 128), (128, 130)]);
		let some: Vec<Piece> = missing_pieces(130, &[0..10, 60..70, 129..130]).into_iter().collect();
		assert_eq!(some, vec![(10, 60), (70, 128), (128, 129)]);
		assert!(missing_pieces(130, &[0..130]).is_empty());
		assert!(missing_pieces(0, &[]).is_empty());
		// A range of groups keeps the pieces that overlap it, clipped.
		let range: Vec<Piece> = clipped(missing_pieces(130, &[0..10]), &(50..100)).into_iter().collect();
		assert_eq!(range, vec![(50, 64), (64, 100)]);
	}
}
