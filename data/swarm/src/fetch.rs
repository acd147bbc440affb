//! Downloading one piece of content from several peers at once.
//!
//! The content is cut into pieces of up to [`MAX_GROUPS_PER_GET`] chunk groups (1 MiB), aligned
//! to 1 MiB, minus what is verified on disk already (a resumed download asks only for what it
//! lacks). Each peer is asked which groups it holds (HAVE, repeated every
//! [`FetchConfig::have_refresh`] for peers that are downloading too, so downloaders feed each
//! other), then for pieces (GET), up to [`FetchConfig::per_peer`] at once per peer. A peer is
//! given the **rarest** piece it holds (fewest holders among the known peers; ties broken by a
//! per-download random order, so downloaders of the same content spread out); a peer with a
//! complete copy is not asked for pieces another downloader already holds, so an origin spends
//! its upload on what nobody else has yet. Each round weighs at most [`WINDOW`] pieces (all of
//! them for content up to 1 GiB), from a per-download starting point on, so the bookkeeping per
//! request does not grow with the size of the content. When no piece is left unasked, idle
//! peers duplicate pieces still in flight (end game), so one slow peer does not hold up the end.
//!
//! Every slice is verified against the content id before it is written. A peer whose slice
//! does not verify (corrupt, cut short, padded) is dropped from the download and reported to
//! the network (fatal reputation change); a peer that times out or errs three times in a row
//! is dropped from this download. The download fails, with what it still lacks, only when no
//! peer has made progress possible for [`FetchConfig::stall_timeout`].

use crate::{
	net::Net,
	stats::Stats,
	wire::{decode_have, Request, Status, MAX_GROUPS_PER_GET},
};
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use gravity_data_store::{Begin, ContentId, Partial, Store, StoreError, WriteError};
use sc_network::PeerId;
use std::{
	collections::{BTreeSet, HashMap},
	ops::Range,
	sync::{
		atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
		Arc,
	},
	time::{Duration, Instant},
};

/// How a download behaves.
#[derive(Clone, Debug)]
pub struct FetchConfig {
	/// GETs in flight per peer.
	pub per_peer: usize,
	/// How often peers that are still downloading are asked again what they hold.
	pub have_refresh: Duration,
	/// One request's limit.
	pub request_timeout: Duration,
	/// Give up when no peer could be asked for anything missing for this long.
	pub stall_timeout: Duration,
	/// Most peers one download asks (the ones named first, then connected ones): HAVE requests
	/// do not fan out to every connection of a well-connected node.
	pub max_peers: usize,
	/// Give up when, over any period of `stall_timeout`, bytes arrive slower than this on
	/// average (bytes a second): a peer trickling a slice now and then cannot keep a download
	/// (and the disk it reserves) alive forever.
	pub min_rate: u64,
}

impl Default for FetchConfig {
	fn default() -> Self {
		FetchConfig {
			per_peer: 8,
			have_refresh: Duration::from_millis(1000),
			request_timeout: Duration::from_secs(20),
			stall_timeout: Duration::from_secs(60),
			max_peers: 32,
			min_rate: 8 << 10,
		}
	}
}

/// A download's progress, read by `gravity_status`.
#[derive(Default, Debug)]
pub struct Progress {
	/// Content bytes verified on disk.
	pub verified: AtomicU64,
	/// Content bytes fetched in this run of the download (what a resume did not re-fetch is
	/// not here).
	pub fetched: AtomicU64,
	/// Peers that hold some of the content.
	pub peers: AtomicUsize,
	/// Peers dropped for sending slices that do not verify.
	pub rejected_peers: AtomicUsize,
}

/// Why a download failed.
#[derive(Debug)]
pub enum FetchError {
	/// This node's store failed (e.g. its disk is full).
	Store(StoreError),
	/// No peer had (or would send) what is missing.
	NoPeers { id: ContentId, missing: u64, asked: usize },
	/// The peers sent too little for too long (below `FetchConfig::min_rate`).
	TooSlow { id: ContentId, missing: u64, rate: u64 },
}

impl std::fmt::Display for FetchError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			FetchError::Store(e) => e.fmt(f),
			FetchError::NoPeers { id, missing, asked } => write!(
				f,
				"no peer had the missing {missing} of {} bytes of {id} (asked {asked} peer(s)); \
				 the verified part is kept: ask again once a node that holds it is connected \
				 (pass its peer id), e.g. the node it was put on",
				id.size
			),
			FetchError::TooSlow { id, missing, rate } => write!(
				f,
				"{id} arrived at {rate} bytes/s on average, too slowly to finish ({missing} bytes \
				 missing); the verified part is kept: ask again when better peers are connected"
			),
		}
	}
}

/// A piece: chunk groups `start..end`.
pub type Piece = (u64, u64);

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

/// Most pieces weighed for rarest-first in one round of a download. Content up to 1 GiB fits
/// whole (every needed piece is weighed, as the swarm tests and benchmarks measure); beyond it a
/// round weighs this many pieces from the download's own starting point on, so a round costs
/// the same for a 100 GB scene as for a 1 GB one instead of growing with the pieces left (which
/// made the bookkeeping, not the network, the limit of large downloads).
pub const WINDOW: usize = 1024;

/// Up to `max` pieces of `needed` that pass `wanted`, in order from `pivot` on, wrapping
/// around to the start. Stops at `max`: a round's cost does not grow with `needed`, except
/// when few needed pieces pass (e.g. no peer has said what it holds yet).
pub fn candidates(needed: &BTreeSet<Piece>, pivot: Piece, max: usize, wanted: impl Fn(&Piece) -> bool) -> Vec<Piece> {
	needed.range(pivot..).chain(needed.range(..pivot)).filter(|p| wanted(p)).take(max).copied().collect()
}

#[derive(Default)]
struct PeerState {
	/// Groups it holds, once it answered a HAVE.
	have: Option<Vec<Range<u64>>>,
	complete: bool,
	have_at: Option<Instant>,
	asking_have: bool,
	gets: usize,
	/// GETs allowed in flight: halved on each failure, grown back on success.
	limit: usize,
	failures: u32,
	dropped: bool,
	retry_at: Option<Instant>,
	/// Pieces it answered `Busy` for, and when: not asked of it again for a while.
	refused: HashMap<Piece, Instant>,
	/// Pieces it is sending now: never asked of it twice at once (an end-game duplicate from
	/// the peer already sending the piece only costs that peer's upload).
	sending: BTreeSet<Piece>,
}

impl PeerState {
	/// Whether it holds all of piece `p` (`have` is sorted and merged: a binary search).
	fn holds(&self, p: &Piece) -> bool {
		self.have.as_ref().is_some_and(|h| {
			let i = h.partition_point(|r| r.end <= p.0);
			h.get(i).is_some_and(|r| r.start <= p.0 && p.1 <= r.end)
		})
	}
}

enum Event {
	Have(PeerId, Result<Vec<u8>, String>),
	Got(PeerId, Piece, Result<Vec<u8>, String>),
	Written(PeerId, Piece, Result<u64, WriteError>),
}

fn mix(mut x: u64) -> u64 {
	x ^= x >> 33;
	x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
	x ^= x >> 33;
	x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
	x ^ (x >> 33)
}

/// Download `id` into `store` from `hints` and the connected peers.
pub async fn fetch(
	store: Arc<Store>,
	net: Arc<dyn Net>,
	id: ContentId,
	hints: Vec<PeerId>,
	progress: Arc<Progress>,
	stats: Arc<Stats>,
	cfg: FetchConfig,
) -> Result<(), FetchError> {
	fetch_groups(store, net, id, None, hints, progress, stats, cfg).await
}

/// Download the chunk groups `want` of `id` (all of them for `None`) into `store`: a download
/// of part of the content stays a partial download (its verified part can be read with
/// `Store::read_range` and served to others); it becomes complete when every group is here.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_groups(
	store: Arc<Store>,
	net: Arc<dyn Net>,
	id: ContentId,
	want: Option<Range<u64>>,
	hints: Vec<PeerId>,
	progress: Arc<Progress>,
	stats: Arc<Stats>,
	cfg: FetchConfig,
) -> Result<(), FetchError> {
	let begun = {
		let store = store.clone();
		tokio::task::spawn_blocking(move || store.begin(&id))
			.await
			.map_err(|e| FetchError::Store(StoreError::Io { path: "begin".into(), error: std::io::Error::other(e) }))?
			.map_err(FetchError::Store)?
	};
	let partial: Arc<Partial> = match begun {
		Begin::Complete => {
			progress.verified.store(id.size, Relaxed);
			return Ok(())
		},
		Begin::Partial(p) => p,
	};
	progress.verified.store(partial.verified_bytes(), Relaxed);
	let mut needed = missing_pieces(id.groups(), &partial.verified_groups());
	if let Some(want) = &want {
		// Only the pieces (clipped) that overlap the groups asked for.
		needed = needed
			.into_iter()
			.map(|(s, e)| (s.max(want.start), e.min(want.end)))
			.filter(|(s, e)| s < e)
			.collect();
	}
	let salt = mix(id.hash.iter().fold(0u64, |a, b| a.rotate_left(8) ^ *b as u64) ^
		std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7) ^
		mix(std::process::id() as u64));
	// Where this download starts looking for pieces (downloaders of the same content start at
	// different points, so their windows differ).
	let pivot: Piece = (mix(salt) % id.groups().max(1) / MAX_GROUPS_PER_GET * MAX_GROUPS_PER_GET, 0);
	let me = net.local_peer();
	let mut peers: HashMap<PeerId, PeerState> = HashMap::new();
	let mut asked: HashMap<Piece, usize> = HashMap::new();
	let mut events: FuturesUnordered<BoxFuture<'static, Event>> = FuturesUnordered::new();
	let mut last_progress = Instant::now();
	let mut last_refresh: Option<Instant> = None;
	// The rate check's period: bytes verified when it began.
	let mut period = (Instant::now(), partial.verified_bytes());

	while !needed.is_empty() {
		let now = Instant::now();
		if last_refresh.is_none_or(|t| now.duration_since(t) > Duration::from_secs(2)) {
			last_refresh = Some(now);
			for p in hints.iter().copied().chain(net.peers().await) {
				if peers.values().filter(|s| !s.dropped).count() >= cfg.max_peers {
					break
				}
				if p != me {
					peers.entry(p).or_insert_with(|| PeerState { limit: cfg.per_peer, ..Default::default() });
				}
			}
			let elapsed = period.0.elapsed();
			if elapsed > cfg.stall_timeout {
				let got = partial.verified_bytes().saturating_sub(period.1);
				let rate = (got as f64 / elapsed.as_secs_f64()) as u64;
				// Nothing at all is the stall rule's to report (`NoPeers`), unless it lasts.
				if rate < cfg.min_rate && (got > 0 || elapsed > 2 * cfg.stall_timeout) {
					let missing = id.size - partial.verified_bytes();
					return Err(FetchError::TooSlow { id, missing, rate })
				}
				period = (Instant::now(), partial.verified_bytes());
			}
		}
		// Ask what peers hold.
		for (pid, ps) in peers.iter_mut() {
			let stale = match (&ps.have, ps.have_at) {
				(None, _) => true,
				(Some(_), Some(at)) => !ps.complete && now.duration_since(at) >= cfg.have_refresh,
				_ => false,
			};
			if ps.dropped || ps.asking_have || !stale || ps.retry_at.is_some_and(|t| t > now) {
				continue
			}
			ps.asking_have = true;
			let (net, pid, timeout) = (net.clone(), *pid, cfg.request_timeout);
			let req = Request::Have(id).encode();
			events.push(
				async move {
					let r = tokio::time::timeout(timeout, net.request(pid, req)).await;
					Event::Have(pid, r.unwrap_or_else(|_| Err("timed out".into())))
				}
				.boxed(),
			);
		}
		// Hand out pieces, rarest first.
		let holders = |p: &Piece, peers: &HashMap<PeerId, PeerState>| {
			peers.values().filter(|s| !s.dropped && s.holds(p)).count()
		};
		let mut order: Vec<PeerId> = peers.keys().copied().collect();
		order.sort_by_key(|p| mix(salt ^ p.to_bytes().iter().fold(0u64, |a, b| a.rotate_left(5) ^ *b as u64)));
		// The pieces weighed this round: at most `WINDOW` of those not in flight that some peer
		// holds, from this download's own starting point on; once every piece is in flight, the
		// few still needed (end game).
		let end_game = needed.len() <= asked.len() && needed.iter().all(|p| asked.contains_key(p));
		let window: Vec<Piece> = if end_game {
			needed.iter().copied().collect()
		} else {
			candidates(&needed, pivot, WINDOW, |p| {
				!asked.contains_key(p) && peers.values().any(|s| !s.dropped && s.holds(p))
			})
		};
		let availability: HashMap<Piece, usize> = window.iter().map(|p| (*p, holders(p, &peers))).collect();
		// Pieces some other downloader holds: those are not asked of complete copies (seeds),
		// which then spend their upload on what nobody else has yet.
		let at_downloaders: BTreeSet<Piece> = window
			.iter()
			.filter(|p| peers.values().any(|s| !s.dropped && !s.complete && s.holds(p)))
			.copied()
			.collect();
		progress.peers.store(peers.values().filter(|s| !s.dropped && s.have.as_ref().is_some_and(|h| !h.is_empty())).count(), Relaxed);
		for pid in order {
			loop {
				let ps = &peers[&pid];
				// In a swarm a seed gets one request at a time from each downloader: its upload
				// is the scarce resource, and fewer requests in flight mean fewer downloaders
				// asking it for the same piece at once.
				let limit = if ps.complete && !at_downloaders.is_empty() { 1 } else { ps.limit.clamp(1, cfg.per_peer) };
				if ps.dropped || ps.gets >= limit || ps.have.is_none() || ps.retry_at.is_some_and(|t| t > now) {
					break
				}
				let pick = |max_asked: usize| {
					window
						.iter()
						.filter(|p| asked.get(*p).copied().unwrap_or(0) <= max_asked && ps.holds(p))
						.filter(|p| !(ps.complete && at_downloaders.contains(*p)))
						.filter(|p| !ps.sending.contains(*p))
						.filter(|p| ps.refused.get(*p).is_none_or(|t| now.duration_since(*t) > Duration::from_millis(500)))
						.min_by_key(|p| (availability[*p], asked.get(*p).copied().unwrap_or(0), mix(salt ^ p.0)))
						.copied()
				};
				// End game: duplicate a piece in flight once nothing is left unasked.
				let Some(piece) = pick(0).or_else(|| if end_game { pick(1) } else { None }) else { break };
				*asked.entry(piece).or_default() += 1;
				let ps = peers.get_mut(&pid).expect("listed");
				ps.gets += 1;
				ps.sending.insert(piece);
				let (net, timeout) = (net.clone(), cfg.request_timeout);
				let req = Request::Get(id, piece.0..piece.1).encode();
				events.push(
					async move {
						let r = tokio::time::timeout(timeout, net.request(pid, req)).await;
						Event::Got(pid, piece, r.unwrap_or_else(|_| Err("timed out".into())))
					}
					.boxed(),
				);
			}
		}
		if events.is_empty() {
			if last_progress.elapsed() > cfg.stall_timeout {
				let missing = id.size - partial.verified_bytes();
				return Err(FetchError::NoPeers { id, missing, asked: peers.len() })
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
			continue
		}
		let event = tokio::select! {
			e = events.next() => e,
			_ = tokio::time::sleep(Duration::from_millis(200)) => None,
		};
		let Some(event) = event else {
			if last_progress.elapsed() > cfg.stall_timeout && !peers.values().any(|s| s.gets > 0) {
				let missing = id.size - partial.verified_bytes();
				return Err(FetchError::NoPeers { id, missing, asked: peers.len() })
			}
			continue
		};
		match event {
			Event::Have(pid, result) => {
				let ps = peers.get_mut(&pid).expect("asked");
				ps.asking_have = false;
				ps.have_at = Some(Instant::now());
				match result.as_deref().map(|b| (b.first().copied().and_then(Status::from_byte), b.get(1..).unwrap_or(&[]))) {
					Ok((Some(Status::Ok), body)) => match decode_have(body, id.groups()) {
						Some(have) => {
							let have = merged(have);
							ps.complete = have.len() == 1 && have[0] == (0..id.groups());
							ps.have = Some(have);
							if needed.iter().any(|p| ps.holds(p)) {
								last_progress = Instant::now();
							}
							ps.failures = 0;
						},
						None => {
							log::debug!(target: "gravity-data", "{pid}: malformed HAVE answer; dropped");
							ps.dropped = true;
						},
					},
					Ok((Some(Status::Unknown), _)) => ps.have = Some(vec![]),
					Ok((Some(Status::Busy), _)) => ps.retry_at = Some(Instant::now() + Duration::from_millis(250)),
					Ok(_) => ps.have = Some(vec![]),
					Err(e) => {
						log::debug!(target: "gravity-data", "{pid}: HAVE failed: {e}");
						ps.failures += 1;
						ps.retry_at = Some(Instant::now() + Duration::from_secs(1));
						if ps.failures >= 3 {
							ps.dropped = true;
						}
					},
				}
			},
			Event::Got(pid, piece, result) => {
				let ps = peers.get_mut(&pid).expect("asked");
				ps.gets -= 1;
				ps.sending.remove(&piece);
				let release = |asked: &mut HashMap<Piece, usize>| {
					if let Some(n) = asked.get_mut(&piece) {
						*n -= 1;
						if *n == 0 {
							asked.remove(&piece);
						}
					}
				};
				match result {
					Ok(bytes) if bytes.first() == Some(&(Status::Ok as u8)) => {
						if !needed.contains(&piece) || ps.dropped {
							// A duplicate of an end-game piece that arrived second.
							release(&mut asked);
							continue
						}
						let partial = partial.clone();
						events.push(
							async move {
								let written = tokio::task::spawn_blocking(move || partial.write(piece.0..piece.1, &bytes[1..]))
									.await
									.unwrap_or_else(|e| Err(WriteError::Invalid(format!("verification panicked: {e}"))));
								Event::Written(pid, piece, written)
							}
							.boxed(),
						);
					},
					Ok(bytes) => {
						release(&mut asked);
						match bytes.first().copied().and_then(Status::from_byte) {
							// Busy: it serves others, or sent this piece to another downloader
							// a moment ago (super-seeding); take it elsewhere or later.
							Some(Status::Busy) => {
								ps.refused.insert(piece, Instant::now());
								continue
							},
							// It lost the content, or never had it: ask again what it holds.
							_ => ps.have = Some(vec![]),
						}
						ps.have_at = None;
					},
					Err(e) => {
						release(&mut asked);
						// Slow or gone: ask it for less, later; give up on it after six failures
						// in a row.
						ps.failures += 1;
						ps.limit = (ps.limit / 2).max(1);
						ps.retry_at = Some(Instant::now() + Duration::from_millis(500) * ps.failures);
						log::debug!(target: "gravity-data", "{pid}: GET {piece:?} of {id} failed ({e}), {} in a row", ps.failures);
						if ps.failures >= 6 {
							log::info!(target: "gravity-data", "{pid} failed {} requests in a row ({e}): not asked again for {id}", ps.failures);
							ps.dropped = true;
						}
					},
				}
			},
			Event::Written(pid, piece, written) => {
				if let Some(n) = asked.get_mut(&piece) {
					*n -= 1;
					if *n == 0 {
						asked.remove(&piece);
					}
				}
				match written {
					Ok(n) => {
						if needed.remove(&piece) {
							stats.downloaded(n);
							progress.fetched.fetch_add(n, Relaxed);
							progress.verified.fetch_add(n, Relaxed);
						}
						last_progress = Instant::now();
						if let Some(ps) = peers.get_mut(&pid) {
							ps.failures = 0;
							ps.limit = (ps.limit + 1).min(cfg.per_peer);
						}
					},
					Err(WriteError::Invalid(_)) if peers.get(&pid).is_some_and(|p| p.dropped) => {},
					Err(WriteError::Invalid(why)) => {
						log::warn!(target: "gravity-data", "{pid} sent a slice of {id} that does not verify ({why}): dropped and reported");
						stats.rejected();
						progress.rejected_peers.fetch_add(1, Relaxed);
						net.report_bad(pid);
						if let Some(ps) = peers.get_mut(&pid) {
							ps.dropped = true;
						}
					},
					Err(WriteError::Local(e)) => return Err(FetchError::Store(e)),
				}
			},
		}
	}
	if !partial.is_complete() {
		// Part of the content was asked for, and it is here.
		return Ok(())
	}
	let finished = {
		let (store, partial) = (store.clone(), partial.clone());
		tokio::task::spawn_blocking(move || store.finish(&partial))
			.await
			.map_err(|e| FetchError::Store(StoreError::Io { path: "finish".into(), error: std::io::Error::other(e) }))?
	};
	finished.map_err(FetchError::Store)
}

#[cfg(test)]
mod tests {
	use super::*;

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
		let seed = PeerState { have: Some(vec![0..100_000 * 64]), complete: true, ..Default::default() };
		let peers: Vec<PeerState> = (0..5).map(|_| PeerState { have: seed.have.clone(), ..Default::default() }).collect();
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
	}

	#[test]
	fn a_have_answer_in_any_order_is_merged_and_searched() {
		assert_eq!(merged(vec![70..80, 0..10, 5..20, 20..30, 90..95]), vec![0..30, 70..80, 90..95]);
		let ps = PeerState { have: Some(merged(vec![128..256, 0..64, 512..640])), ..Default::default() };
		assert!(ps.holds(&(0, 64)));
		assert!(ps.holds(&(128, 192)) && ps.holds(&(192, 256)));
		assert!(!ps.holds(&(64, 128)), "a gap");
		assert!(!ps.holds(&(250, 260)), "runs past a range's end");
		assert!(ps.holds(&(576, 640)));
		assert!(!ps.holds(&(640, 704)));
		assert!(!PeerState::default().holds(&(0, 64)), "no answer yet");
	}

	#[test]
	fn missing_pieces_are_the_gaps_cut_at_one_mebibyte() {
		let all: Vec<Piece> = missing_pieces(130, &[]).into_iter().collect();
		assert_eq!(all, vec![(0, 64), (64, 128), (128, 130)]);
		let some: Vec<Piece> = missing_pieces(130, &[0..10, 60..70, 129..130]).into_iter().collect();
		assert_eq!(some, vec![(10, 60), (70, 128), (128, 129)]);
		assert!(missing_pieces(130, &[0..130]).is_empty());
		assert!(missing_pieces(0, &[]).is_empty());
	}
}
