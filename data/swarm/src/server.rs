//! Serving `/gravity/blobs/1`: answer HAVE and GET from the store, bounded so that strangers
//! cannot drain the node (requests in flight per peer and in all, bytes per second).

use crate::{
	stats::Stats,
	wire::{encode_have, Request, Status},
};
use gravity_data_store::{Store, StoreError};
use sc_network::{
	request_responses::{IncomingRequest, OutgoingResponse},
	PeerId,
};
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

/// How much a node serves.
#[derive(Clone, Debug)]
pub struct ServeLimits {
	/// Requests of one peer served at once; more are answered `Busy`.
	pub per_peer: usize,
	/// Requests served at once in all; more wait.
	pub concurrent: usize,
	/// Bytes per second sent in all (`None`: unlimited).
	pub rate: Option<u64>,
}

impl Default for ServeLimits {
	fn default() -> Self {
		ServeLimits { per_peer: 8, concurrent: 32, rate: None }
	}
}

/// Paces bytes to a rate: each response reserves its time on a virtual clock and waits for it
/// (bursts of up to 50 ms are let through).
pub struct RateLimiter {
	rate: f64,
	next: Mutex<Instant>,
}

impl RateLimiter {
	pub fn new(bytes_per_second: u64) -> Self {
		RateLimiter { rate: bytes_per_second.max(1) as f64, next: Mutex::new(Instant::now()) }
	}

	/// How long to wait before sending `bytes`.
	pub fn reserve(&self, bytes: usize) -> Duration {
		let now = Instant::now();
		let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
		let start = (*next).max(now.checked_sub(Duration::from_millis(50)).unwrap_or(now));
		*next = start + Duration::from_secs_f64(bytes as f64 / self.rate);
		next.saturating_duration_since(now + Duration::from_millis(50))
	}
}

/// Super-seeding: a piece of a content sent to one peer in the last [`SeedPolicy::WINDOW`] is
/// refused (`Busy`) to any other peer, so that downloader takes it from the peer that got it
/// (downloads in progress serve what they verified), or asks this node for a piece nobody has
/// yet. A node with several downloaders of the same content then sends each piece about once
/// and spends its upload on distinct pieces; a lone downloader is never refused. (Until
/// 2026-11-29 the rule ended once every piece had gone out once; the downloaders, whose view of
/// each other is up to a HAVE refresh old, then pulled a second copy from the origin in about
/// one run in six of the in-memory swarm test. Kept for the whole download: 1.00–1.08 copies.)
///
/// A refusal is a hint to look elsewhere, not a wall: a peer refused a piece that asks for it
/// again at least [`SeedPolicy::RETRY`] later is served. A claim that is never passed on (a
/// stranger asking 16 KiB of every piece every 2.5 s to hold them all, and sharing nothing)
/// delays other downloaders by at most that, instead of denying them the content.
#[derive(Default)]
pub struct SeedPolicy {
	sent: Mutex<HashMap<[u8; 32], SentPieces>>,
}

#[derive(Default)]
struct SentPieces {
	/// piece start group → (last time sent, to whom); only entries younger than the window
	/// matter, older ones are dropped once there are many.
	last: HashMap<u64, (Instant, PeerId)>,
	/// (piece, peer) → when that peer was first refused the piece while it was claimed.
	refused: HashMap<(u64, PeerId), Instant>,
}

impl SeedPolicy {
	/// How long a piece sent to one peer is refused to others.
	pub const WINDOW: Duration = Duration::from_secs(3);

	/// A peer refused a piece is served when it asks again this much later.
	pub const RETRY: Duration = Duration::from_millis(1500);

	/// Entries kept per content before those older than the window are dropped.
	const PRUNE_AT: usize = 4096;

	/// Whether to serve `request` from `peer` now; records it when served.
	pub fn admit(&self, peer: PeerId, request: &Request) -> bool {
		let Request::Get(id, groups) = request else { return true };
		let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
		if sent.len() > 1024 {
			sent.clear();
		}
		let entry = sent.entry(id.root).or_default();
		let piece = groups.start / crate::wire::MAX_GROUPS_PER_GET;
		let now = Instant::now();
		if entry.refused.len() >= Self::PRUNE_AT {
			entry.refused.retain(|_, at| now.duration_since(*at) < Self::WINDOW);
		}
		if let Some((at, to)) = entry.last.get(&piece) {
			if *to != peer && now.duration_since(*at) < Self::WINDOW {
				match entry.refused.get(&(piece, peer)) {
					Some(first) if now.duration_since(*first) >= Self::RETRY => {
						entry.refused.remove(&(piece, peer));
					},
					Some(_) => return false,
					None => {
						entry.refused.insert((piece, peer), now);
						return false
					},
				}
			}
		}
		if entry.last.len() >= Self::PRUNE_AT {
			entry.last.retain(|_, (at, _)| now.duration_since(*at) < Self::WINDOW);
		}
		entry.last.insert(piece, (now, peer));
		true
	}
}

/// Answer one request from `store` (blocking: reads and hashes from disk).
pub fn answer(store: &Store, request: &Request) -> (Vec<u8>, u64) {
	match request {
		Request::Have(id) => {
			let have = store.have(id);
			if have.is_empty() {
				(vec![Status::Unknown as u8], 0)
			} else {
				(encode_have(&have), 0)
			}
		},
		Request::Get(id, groups) => {
			let mut slice = vec![Status::Ok as u8];
			match store.encode_into(id, groups.clone(), &mut slice) {
				Ok(()) => {
					let content = (groups.end * gravity_data_store::CHUNK_GROUP_BYTES).min(id.length) -
						groups.start * gravity_data_store::CHUNK_GROUP_BYTES;
					(slice, content)
				},
				Err(StoreError::Unknown { .. }) => (vec![Status::Unknown as u8], 0),
				Err(StoreError::Missing { .. }) => (vec![Status::Missing as u8], 0),
				Err(e) => {
					log::warn!(target: "gravity-data", "cannot serve {id}: {e}");
					(vec![Status::Error as u8], 0)
				},
			}
		},
	}
}

/// Serve the requests arriving on `requests` until the channel closes.
pub async fn serve(
	store: Arc<Store>,
	requests: async_channel::Receiver<IncomingRequest>,
	limits: ServeLimits,
	stats: Arc<Stats>,
) {
	let in_flight: Arc<Mutex<HashMap<PeerId, usize>>> = Default::default();
	let slots = Arc::new(tokio::sync::Semaphore::new(limits.concurrent.max(1)));
	let limiter = limits.rate.map(|r| Arc::new(RateLimiter::new(r)));
	let policy = SeedPolicy::default();
	while let Ok(incoming) = requests.recv().await {
		let IncomingRequest { peer, payload, pending_response } = incoming;
		let reply = |bytes: Vec<u8>| OutgoingResponse { result: Ok(bytes), reputation_changes: vec![], sent_feedback: None };
		let Some(request) = Request::decode(&payload) else {
			let _ = pending_response.send(reply(vec![Status::BadRequest as u8]));
			continue
		};
		{
			let mut map = in_flight.lock().unwrap_or_else(|p| p.into_inner());
			let n = map.entry(peer).or_default();
			if *n >= limits.per_peer {
				let _ = pending_response.send(reply(vec![Status::Busy as u8]));
				continue
			}
			*n += 1;
		}
		if !policy.admit(peer, &request) {
			let _ = pending_response.send(reply(vec![Status::Busy as u8]));
			if let Some(n) = in_flight.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&peer) {
				*n -= 1;
			}
			continue
		}
		let (store, stats, slots, limiter, in_flight) =
			(store.clone(), stats.clone(), slots.clone(), limiter.clone(), in_flight.clone());
		tokio::spawn(async move {
			let permit = slots.acquire_owned().await;
			let answered = tokio::task::spawn_blocking(move || answer(&store, &request)).await;
			let (bytes, content) = answered.unwrap_or_else(|_| (vec![Status::Error as u8], 0));
			drop(permit);
			if let Some(l) = &limiter {
				let wait = l.reserve(bytes.len());
				if !wait.is_zero() {
					tokio::time::sleep(wait).await;
				}
			}
			stats.served(content);
			let _ = pending_response.send(reply(bytes));
			let mut map = in_flight.lock().unwrap_or_else(|p| p.into_inner());
			if let Some(n) = map.get_mut(&peer) {
				*n -= 1;
				if *n == 0 {
					map.remove(&peer);
				}
			}
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_limiter_paces_to_its_rate() {
		let l = RateLimiter::new(10_000_000);
		let mut total = Duration::ZERO;
		for _ in 0..10 {
			total = l.reserve(1_000_000);
		}
		// 10 MB at 10 MB/s: the last reservation waits about one second less the burst.
		assert!(total > Duration::from_millis(850) && total < Duration::from_millis(1000), "{total:?}");
	}
}
