//! The downloader against an in-memory network of stores (the real network is tested with
//! node processes in `node/tests/data_plane.rs`).

use crate::{
	fetch::{fetch, FetchConfig, Progress},
	net::Net,
	server::{answer, Fault, RateLimiter, SeedPolicy},
	stats::Stats,
	wire::Request,
};
use futures::{future::BoxFuture, FutureExt};
use gravity_data_store::{testing::TestDir, ContentId, State, Store};
use sc_network::PeerId;
use std::{
	collections::HashMap,
	io::Read,
	sync::{Arc, Mutex},
	time::Duration,
};

struct Node {
	store: Arc<Store>,
	fault: Fault,
	limiter: Option<Arc<RateLimiter>>,
	stats: Arc<Stats>,
	policy: SeedPolicy,
}

#[derive(Default)]
struct MemNet {
	nodes: Mutex<HashMap<PeerId, Arc<Node>>>,
	reported: Mutex<Vec<PeerId>>,
}

struct View {
	net: Arc<MemNet>,
	me: PeerId,
}

impl Net for View {
	fn request(&self, peer: PeerId, payload: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>> {
		let node = self.net.nodes.lock().unwrap().get(&peer).cloned();
		let from = self.me;
		async move {
			let node = node.ok_or("not connected")?;
			let req = Request::decode(&payload).ok_or("bad request")?;
			let is_get = matches!(req, Request::Get(..));
			if node.fault == Fault::Stall && is_get {
				tokio::time::sleep(Duration::from_secs(3600)).await;
			}
			if !node.policy.admit(from, &req) {
				return Ok(vec![crate::wire::Status::Busy as u8])
			}
			let store = node.store.clone();
			let (mut bytes, content) = tokio::task::spawn_blocking(move || answer(&store, &req)).await.unwrap();
			if let Some(l) = &node.limiter {
				tokio::time::sleep(l.reserve(bytes.len())).await;
			}
			if is_get && bytes.len() > 1 {
				match node.fault {
					Fault::Corrupt => {
						let at = bytes.len() / 2;
						bytes[at] ^= 0x5a
					},
					Fault::Truncate => bytes.truncate(bytes.len() - 50),
					_ => {},
				}
			}
			node.stats.served(content);
			Ok(bytes)
		}
		.boxed()
	}

	fn report_bad(&self, peer: PeerId) {
		self.net.reported.lock().unwrap().push(peer);
	}

	fn peers(&self) -> BoxFuture<'static, Vec<PeerId>> {
		let me = self.me;
		let peers: Vec<PeerId> = self.net.nodes.lock().unwrap().keys().copied().filter(|p| *p != me).collect();
		async move { peers }.boxed()
	}

	fn local_peer(&self) -> PeerId {
		self.me
	}
}

fn data(len: usize, seed: u64) -> Vec<u8> {
	let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	(0..len)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect()
}

fn dir(name: &str) -> TestDir {
	TestDir::new(&format!("swarm-test-{name}"))
}

fn add(net: &Arc<MemNet>, store: Arc<Store>, fault: Fault, rate: Option<u64>) -> (PeerId, Arc<Stats>) {
	let id = PeerId::random();
	let stats = Arc::new(Stats::default());
	net.nodes.lock().unwrap().insert(
		id,
		Arc::new(Node { store, fault, limiter: rate.map(|r| Arc::new(RateLimiter::new(r))), stats: stats.clone(), policy: SeedPolicy::default() }),
	);
	(id, stats)
}

fn cfg() -> FetchConfig {
	FetchConfig {
		per_peer: 4,
		have_refresh: Duration::from_millis(100),
		request_timeout: Duration::from_secs(4),
		stall_timeout: Duration::from_secs(10),
	}
}

async fn download(net: &Arc<MemNet>, store: Arc<Store>, id: ContentId) -> (Result<(), String>, Arc<Progress>, Arc<Stats>) {
	let me = add(net, store.clone(), Fault::None, None).0;
	let progress = Arc::new(Progress::default());
	let stats = Arc::new(Stats::default());
	let view = Arc::new(View { net: net.clone(), me });
	let r = fetch(store, view, id, vec![], progress.clone(), stats.clone(), cfg()).await.map_err(|e| e.to_string());
	(r, progress, stats)
}

fn read_all(store: &Store, id: &ContentId) -> Vec<u8> {
	let mut v = Vec::new();
	store.open_data(id).unwrap().read_to_end(&mut v).unwrap();
	v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stalled_and_lying_peers_are_routed_around_and_the_bytes_are_right() {
	let d = dir("faults");
	let bytes = data(12 * 1024 * 1024 + 77, 1);
	let net = Arc::new(MemNet::default());
	let mut good = None;
	let mut liars = vec![];
	for (i, fault) in [Fault::None, Fault::Corrupt, Fault::Stall, Fault::Truncate].into_iter().enumerate() {
		let s = Arc::new(Store::open(d.join(format!("seed{i}")), u64::MAX).unwrap());
		let id = s.put_bytes(&bytes).unwrap();
		let (peer, _) = add(&net, s, fault, Some(40_000_000));
		if fault == Fault::None {
			good = Some(id);
		} else if fault != Fault::Stall {
			liars.push(peer);
		}
	}
	let id = good.unwrap();
	let store = Arc::new(Store::open(d.join("down"), u64::MAX).unwrap());
	let (r, progress, stats) = download(&net, store.clone(), id).await;
	r.unwrap();
	assert_eq!(read_all(&store, &id), bytes);
	let mut reported = net.reported.lock().unwrap().clone();
	reported.sort();
	liars.sort();
	assert_eq!(reported, liars, "both liars reported, nobody else");
	assert_eq!(progress.rejected_peers.load(std::sync::atomic::Ordering::Relaxed), 2);
	assert!(stats.snapshot().downloaded_bytes >= id.size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_limited_seeders_give_about_four_times_one() {
	let d = dir("four");
	let bytes = data(24 * 1024 * 1024, 2);
	let rate = 20_000_000;
	let time_with = |n: usize, tag: &str| {
		let net = Arc::new(MemNet::default());
		let mut id = None;
		for i in 0..n {
			let s = Arc::new(Store::open(d.join(format!("{tag}-seed{i}")), u64::MAX).unwrap());
			id = Some(s.put_bytes(&bytes).unwrap());
			add(&net, s, Fault::None, Some(rate));
		}
		(net, id.unwrap(), Arc::new(Store::open(d.join(format!("{tag}-down")), u64::MAX).unwrap()))
	};
	let (net1, id, s1) = time_with(1, "one");
	let t = std::time::Instant::now();
	download(&net1, s1, id).await.0.unwrap();
	let one = t.elapsed();
	let (net4, id, s4) = time_with(4, "four");
	let t = std::time::Instant::now();
	download(&net4, s4.clone(), id).await.0.unwrap();
	let four = t.elapsed();
	assert_eq!(read_all(&s4, &id), bytes);
	let speedup = one.as_secs_f64() / four.as_secs_f64();
	eprintln!("one seeder {one:?}, four {four:?}: {speedup:.2}x");
	assert!(speedup >= 3.0, "{speedup:.2}x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloaders_feed_each_other_and_the_origin_sends_little_more_than_one_copy() {
	let d = dir("swarm");
	let bytes = data(64 * 1024 * 1024, 3);
	let net = Arc::new(MemNet::default());
	let origin = Arc::new(Store::open(d.join("origin"), u64::MAX).unwrap());
	let id = origin.put_bytes(&bytes).unwrap();
	// The origin is slow (a home uplink); the downloaders are not.
	let (_, origin_stats) = add(&net, origin, Fault::None, Some(64_000_000));
	let mut tasks = vec![];
	for i in 0..8 {
		let net = net.clone();
		let s = Arc::new(Store::open(d.join(format!("down{i}")), u64::MAX).unwrap());
		tasks.push(tokio::spawn(async move {
			let r = download(&net, s.clone(), id).await.0;
			(r, s)
		}));
	}
	for t in tasks {
		let (r, s) = t.await.unwrap();
		r.unwrap();
		assert_eq!(read_all(&s, &id), bytes);
	}
	let sent = origin_stats.snapshot().uploaded_bytes as f64 / id.size as f64;
	eprintln!("origin sent {sent:.2} copies for 8 downloaders");
	assert!(sent <= 2.0, "{sent:.2}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_peer_with_the_content_is_a_clear_error_and_keeps_what_was_verified() {
	let d = dir("none");
	let net = Arc::new(MemNet::default());
	let other = Arc::new(Store::open(d.join("other"), u64::MAX).unwrap());
	other.put_bytes(b"something else").unwrap();
	add(&net, other, Fault::None, None);
	let store = Arc::new(Store::open(d.join("down"), u64::MAX).unwrap());
	let id = gravity_data_store::hash_bytes(&data(100_000, 9));
	let (r, _, _) = download(&net, store.clone(), id).await;
	let e = r.unwrap_err();
	assert!(e.contains("no peer had the missing 100000 of 100000 bytes"), "{e}");
	assert!(matches!(store.state(&id), State::Partial { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_range_fetches_only_the_groups_that_hold_it_verified_even_from_a_liar() {
	// A reducer reading its partition of a map output: bytes 5 MiB + 100 .. 6 MiB + 3 of 16 MiB,
	// from an honest seeder and one that corrupts every slice.
	let d = dir("range");
	let bytes = data(16 * 1024 * 1024, 9);
	let net = Arc::new(MemNet::default());
	let mut id = None;
	let mut seeders = vec![];
	for (i, fault) in [Fault::None, Fault::Corrupt].into_iter().enumerate() {
		let s = Arc::new(Store::open(d.join(format!("seed{i}")), u64::MAX).unwrap());
		id = Some(s.put_bytes(&bytes).unwrap());
		seeders.push(add(&net, s, fault, None));
	}
	let id = id.unwrap();
	let store = Arc::new(Store::open(d.join("down"), u64::MAX).unwrap());
	let me = add(&net, store.clone(), Fault::None, None).0;
	let view = Arc::new(View { net: net.clone(), me });
	let range = (5 << 20) + 100..(6 << 20) + 3;
	let groups = Store::groups_of(&id, range.clone());
	assert_eq!(groups, 320..385);
	let stats = Arc::new(Stats::default());
	crate::fetch::fetch_groups(store.clone(), view, id, Some(groups), vec![], Default::default(), stats.clone(), cfg())
		.await
		.unwrap();
	assert_eq!(store.read_range(&id, range.clone()).unwrap(), bytes[range.start as usize..range.end as usize]);
	// Only the groups of the range moved (and the liar's slices were rejected, not stored).
	let moved = stats.snapshot().downloaded_bytes;
	assert!(moved >= range.end - range.start && moved <= 65 * 16384 * 2, "fetched {moved} bytes for a range of about 1 MiB");
	assert!(matches!(store.state(&id), State::Partial { .. }), "a range leaves the content partial");
	assert!(store.read_range(&id, 0..10).is_err(), "bytes outside what was fetched are not readable");
	// The liar is reported if it was asked (it may not be: two pieces), the honest seeder never.
	assert!(net.reported.lock().unwrap().iter().all(|p| *p == seeders[1].0));
	// The rest can be fetched later; what is here is not fetched again.
	let (r, _, stats) = download(&net, store.clone(), id).await;
	r.unwrap();
	assert_eq!(read_all(&store, &id), bytes);
	assert!(stats.snapshot().downloaded_bytes <= id.size - (1 << 20) + 2 * 16384 * 65, "the range was not fetched twice");
}
