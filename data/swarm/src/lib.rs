#![doc = include_str!("../README.md")]

pub mod fetch;
pub mod net;
pub mod node;
pub mod rpc;
pub mod schedule;
pub mod server;
pub mod stats;
pub mod wire;

pub use fetch::{FetchConfig, FetchError, HintsAndConnected, PeerSource, Progress};
pub use net::{Net, ScNet};
pub use server::ServeLimits;
pub use stats::{Stats, StatsSnapshot};

use gravity_data_store::{ContentId, State, Store, StoreError};
use sc_network::PeerId;
use std::{
	collections::HashMap,
	path::PathBuf,
	sync::{atomic::Ordering::Relaxed, Arc, Mutex},
	time::Duration,
};

/// The name of the protocol on the node's network.
pub const PROTOCOL: &str = "/gravity/blobs/1";

/// The request-response protocol config for a node's network: register it with
/// `FullNetworkConfiguration::add_request_response_protocol` and hand the receiver to
/// [`server::serve`].
pub fn protocol_config<B: sp_runtime::traits::Block, N: sc_network::NetworkBackend<B, B::Hash>>(
	request_timeout: Duration,
	queue: usize,
) -> (N::RequestResponseProtocolConfig, async_channel::Receiver<sc_network::request_responses::IncomingRequest>) {
	let (tx, rx) = async_channel::bounded(queue);
	let config = N::request_response_config(
		PROTOCOL.into(),
		Vec::new(),
		wire::MAX_REQUEST,
		wire::MAX_RESPONSE,
		request_timeout,
		Some(tx),
	);
	(config, rx)
}

/// What [`DataService::status`] reports about one piece of content.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentStatus {
	/// Content id (`<hash>:<size>`).
	pub id: String,
	pub size: u64,
	/// `complete`, `downloading`, `partial` (a download that is not running), `failed` or
	/// `absent`.
	pub state: &'static str,
	/// Bytes verified on this node.
	pub verified_bytes: u64,
	/// Bytes fetched by the download running now (after a resume, less than verified).
	pub fetched_bytes: u64,
	/// Peers known to hold some of it (while downloading).
	pub peers: usize,
	/// Peers dropped for sending slices that do not verify.
	pub rejected_peers: usize,
	pub pinned: bool,
	/// Why the last download failed.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub error: Option<String>,
}

struct Download {
	progress: Arc<Progress>,
	done: tokio::sync::watch::Sender<Option<Result<(), String>>>,
}

struct Inner {
	store: Arc<Store>,
	net: Arc<dyn Net>,
	stats: Arc<Stats>,
	config: FetchConfig,
	/// Downloads running, by whole id (hash and size: a wrong size for real content is a download
	/// of its own that can never verify, and never the real one).
	downloads: Mutex<HashMap<ContentId, Arc<Download>>>,
	/// Why recent downloads failed (at most [`MAX_FAILURES_KEPT`]).
	failures: Mutex<HashMap<ContentId, (Arc<Progress>, String)>>,
}

/// Failed downloads whose reason `status` reports: a bound, so that requests for ids that exist
/// nowhere cannot grow the node's memory.
pub const MAX_FAILURES_KEPT: usize = 1024;

/// The node's data plane: its content store, downloads from peers, and what they report. A
/// cheap handle: clone it for the RPC, the provider and the server.
#[derive(Clone)]
pub struct DataService {
	inner: Arc<Inner>,
}

impl DataService {
	pub fn new(store: Arc<Store>, net: Arc<dyn Net>, stats: Arc<Stats>, config: FetchConfig) -> Self {
		DataService {
			inner: Arc::new(Inner {
				store,
				net,
				stats,
				config,
				downloads: Default::default(),
				failures: Default::default(),
			}),
		}
	}

	/// A data service with no network (its own random peer id): it serves only what `store`
	/// holds, and every fetch of anything else fails for want of peers. For tools and tests.
	pub fn offline(store: Arc<Store>) -> Self {
		Self::new(store, Arc::new(net::NoNet(PeerId::random())), Arc::new(Stats::default()), FetchConfig::default())
	}

	// What the provider and the RPC ask of the store: the service keeps its store to itself, so
	// nothing outside the data plane can write, delete or rename what it holds. The methods
	// without `async` touch the disk: call them from a blocking thread when they may read much.

	/// Whether the whole of `id` is here, verified.
	pub fn is_complete(&self, id: &ContentId) -> bool {
		self.inner.store.state(id) == State::Complete
	}

	/// Keep `id` at least until block `until` (eviction passes it over until then).
	pub fn keep_until(&self, id: &ContentId, until: u64) -> Result<(), StoreError> {
		self.inner.store.keep_until(id, until)
	}

	/// Pin or unpin `id` (a pinned item is never evicted).
	pub fn pin(&self, id: &ContentId, pinned: bool) -> Result<(), StoreError> {
		self.inner.store.pin(id, pinned)
	}

	/// The complete bytes of `id`, opened read-only, for a task to read in place.
	pub fn open(&self, id: &ContentId) -> Result<std::fs::File, StoreError> {
		self.inner.store.open_data(id)
	}

	/// Bytes `range` of `id`: complete, or with that range verified here. Blocking.
	pub fn read_range(&self, id: &ContentId, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
		self.inner.store.read_range(id, range)
	}

	/// Add the already opened file `file` (read from `src`). Blocking.
	pub fn import(&self, file: std::fs::File, src: &std::path::Path) -> Result<ContentId, StoreError> {
		self.inner.store.put_opened(file, src)
	}

	/// Copy the complete `id` to the new file `dest`. Blocking.
	pub fn export(&self, id: &ContentId, dest: &std::path::Path) -> Result<(), StoreError> {
		self.inner.store.export(id, dest)
	}

	/// A new, already unlinked file of the store's disk with room made for `len` bytes (evicting
	/// what may go): scratch space that lives as long as its handle and leaves nothing after a
	/// crash. Blocking.
	pub fn scratch_file(&self, len: u64) -> Result<std::fs::File, StoreError> {
		self.inner.store.scratch_file(len)
	}

	pub fn stats(&self) -> StatsSnapshot {
		self.inner.stats.snapshot()
	}

	/// Add a local file (hashed and copied in on a blocking thread).
	pub async fn put_file(&self, path: PathBuf) -> Result<ContentId, StoreError> {
		let store = self.inner.store.clone();
		tokio::task::spawn_blocking(move || store.put_file(&path))
			.await
			.unwrap_or_else(|e| Err(StoreError::Io { path: "put".into(), error: std::io::Error::other(e) }))
	}

	/// Add bytes.
	pub async fn put_bytes(&self, bytes: Vec<u8>) -> Result<ContentId, StoreError> {
		let store = self.inner.store.clone();
		tokio::task::spawn_blocking(move || store.put_bytes(&bytes))
			.await
			.unwrap_or_else(|e| Err(StoreError::Io { path: "put".into(), error: std::io::Error::other(e) }))
	}

	/// Fetch `id` from `peers` and the connected peers, unless it is here already; wait until
	/// it is complete. Several callers for the same content share one download.
	pub async fn get(&self, id: ContentId, peers: Vec<PeerId>) -> Result<(), String> {
		if self.inner.store.state(&id) == State::Complete {
			return Ok(())
		}
		let mut done = {
			let mut downloads = self.inner.downloads.lock().unwrap_or_else(|p| p.into_inner());
			match downloads.get(&id) {
				Some(d) => d.done.subscribe(),
				None => {
					let (tx, rx) = tokio::sync::watch::channel(None);
					let download = Arc::new(Download { progress: Default::default(), done: tx });
					downloads.insert(id, download.clone());
					let this = self.clone();
					tokio::spawn(async move {
						let i = &this.inner;
						let fetching = fetch::fetch(
							i.store.clone(),
							i.net.clone(),
							id,
							peers,
							download.progress.clone(),
							i.stats.clone(),
							i.config.clone(),
						);
						// A download nobody waits for any more stops (a provider that gave up on
						// an input, a client that hung up): no peer can keep it, and the disk it
						// reserves, alive by trickling bytes.
						let result = tokio::select! {
							r = fetching => r.map_err(|e| e.to_string()),
							_ = download.done.closed() => Err(
								"stopped: nobody waits for it any more (what was verified is kept; ask again to resume)".to_string()
							),
						};
						let mut failures = i.failures.lock().unwrap_or_else(|p| p.into_inner());
						match &result {
							Ok(()) => {
								failures.remove(&id);
								log::info!(target: "gravity-data", "fetched {id}");
							},
							Err(e) => {
								if failures.len() >= MAX_FAILURES_KEPT {
									// Any one goes: this is only what `status` reports.
									if let Some(k) = failures.keys().next().copied() {
										failures.remove(&k);
									}
								}
								failures.insert(id, (download.progress.clone(), e.clone()));
								log::warn!(target: "gravity-data", "fetching {id} failed: {e}");
							},
						}
						drop(failures);
						i.downloads.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
						let _ = download.done.send(Some(result));
					});
					rx
				},
			}
		};
		loop {
			if let Some(result) = done.borrow().clone() {
				return result
			}
			if done.changed().await.is_err() {
				return done.borrow().clone().unwrap_or_else(|| Err("the download stopped".into()))
			}
		}
	}

	/// The bytes `range` of `id`: read here if they are (complete content, or the verified part
	/// of a download), otherwise only the chunk groups that hold them are fetched from `peers`
	/// and the connected peers, each slice verified against the id on arrival. This is how a
	/// reducer reads its partition of a map output without fetching the rest.
	pub async fn get_range(&self, id: ContentId, range: std::ops::Range<u64>, peers: Vec<PeerId>) -> Result<Vec<u8>, String> {
		self.fetch_range(id, range.clone(), peers).await?;
		self.inner.store.read_range(&id, range).map_err(|e| e.to_string())
	}

	/// [`DataService::get_range`] without reading: once it returns, the bytes `range` of `id`
	/// are verified in the store (`Store::read_range` reads them).
	pub async fn fetch_range(&self, id: ContentId, range: std::ops::Range<u64>, peers: Vec<PeerId>) -> Result<(), String> {
		let groups = Store::groups_of(&id, range.clone());
		let have = self.inner.store.have(&id);
		if groups.is_empty() || have.iter().any(|r| r.start <= groups.start && groups.end <= r.end) {
			return Ok(())
		}
		let i = &self.inner;
		let groups = Store::groups_of(&id, range.clone());
		fetch::fetch_groups(
			i.store.clone(),
			i.net.clone(),
			id,
			Some(groups),
			peers,
			Default::default(),
			i.stats.clone(),
			i.config.clone(),
		)
		.await
		.map_err(|e| e.to_string())
	}

	/// Where `id` stands on this node.
	pub fn status(&self, id: &ContentId) -> ContentStatus {
		let i = &self.inner;
		let state = i.store.state(id);
		let pinned = i.store.list().iter().any(|e| e.id == *id && e.pinned);
		let mut status = ContentStatus {
			id: id.to_string(),
			size: id.length,
			state: "absent",
			verified_bytes: 0,
			fetched_bytes: 0,
			peers: 0,
			rejected_peers: 0,
			pinned,
			error: None,
		};
		let running = i.downloads.lock().unwrap_or_else(|p| p.into_inner()).get(&id).map(|d| d.progress.clone());
		let failed = i.failures.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
		let fill = |s: &mut ContentStatus, p: &Progress| {
			s.fetched_bytes = p.fetched.load(Relaxed);
			s.peers = p.peers.load(Relaxed);
			s.rejected_peers = p.rejected_peers.load(Relaxed);
		};
		match state {
			State::Complete => {
				status.state = "complete";
				status.verified_bytes = id.length;
			},
			State::Partial { verified } => {
				status.state = "partial";
				status.verified_bytes = verified.unwrap_or(0);
			},
			State::Absent => {},
		}
		if state != State::Complete {
			if let Some(p) = running {
				status.state = "downloading";
				status.verified_bytes = p.verified.load(Relaxed);
				fill(&mut status, &p);
			} else if let Some((p, e)) = failed {
				status.state = "failed";
				fill(&mut status, &p);
				status.error = Some(e);
			}
		}
		status
	}

	/// Everything in the store.
	pub fn list(&self) -> Vec<ContentStatus> {
		self.inner.store.list().iter().map(|e| self.status(&e.id)).collect()
	}
}

#[cfg(test)]
mod tests;
