//! Downloading one piece of content from several peers at once.
//!
//! The content is cut into pieces of up to
//! [`MAX_GROUPS_PER_GET`](crate::wire::MAX_GROUPS_PER_GET) chunk groups (1 MiB), aligned to
//! 1 MiB, minus what is verified on disk already (a resumed download asks only for what it
//! lacks). Each peer is asked which groups it holds (HAVE, repeated every
//! [`FetchConfig::have_refresh`] for peers that are downloading too, so downloaders feed each
//! other), then for pieces (GET), up to [`FetchConfig::per_peer`] at once per peer. Which piece
//! goes to which peer is the [`crate::schedule`] module's choice: rarest first over a window
//! of at most [`WINDOW`] pieces, super-seeding limits for complete copies, end-game duplicates
//! once no piece is left unasked.
//!
//! Every slice is verified against the content id before it is written. A peer whose slice
//! does not verify (corrupt, cut short, padded) is dropped from the download and reported to
//! the network (fatal reputation change); a peer whose HAVE times out or errs three times in a
//! row, or whose GETs do six times in a row, is dropped from this download. The download
//! fails, with what it still lacks, only when no peer has made progress possible for
//! [`FetchConfig::stall_timeout`].
//!
//! A download is a `Download` driven by [`fetch_groups_from`]: each turn it refreshes its
//! peers from a [`PeerSource`] (every 2 s), asks who has what (`ask_who_has`), sends the GETs
//! the scheduler picks (`next_requests`) and handles one event (`on_have`, `on_got`,
//! `on_written`).

pub use crate::schedule::{candidates, merged, missing_pieces, Piece, WINDOW};

use crate::{
	net::Net,
	schedule::{clipped, mix, Peer, Scheduler},
	stats::Stats,
	wire::{decode_have, Request, Status},
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
				id.length
			),
			FetchError::TooSlow { id, missing, rate } => write!(
				f,
				"{id} arrived at {rate} bytes/s on average, too slowly to finish ({missing} bytes \
				 missing); the verified part is kept: ask again when better peers are connected"
			),
		}
	}
}

impl std::error::Error for FetchError {}

impl From<StoreError> for FetchError {
	fn from(e: StoreError) -> Self {
		FetchError::Store(e)
	}
}

impl FetchError {
	/// A blocking store step (`step`: `begin`, `finish`) that did not run to its end (its thread
	/// panicked or was cancelled): reported as the store's I/O error, naming the step.
	fn blocking(step: &'static str, e: tokio::task::JoinError) -> Self {
		FetchError::Store(StoreError::Io { path: step.into(), error: std::io::Error::other(e) })
	}
}

/// Why one request to a peer brought no answer. It never ends a download: the peer is asked
/// less, later, or dropped from it; it is logged as it reads here.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RequestError {
	/// No answer within `FetchConfig::request_timeout`.
	TimedOut,
	/// The network failed the request (the peer is gone, refused the protocol, …).
	Net(String),
}

impl std::fmt::Display for RequestError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			RequestError::TimedOut => f.write_str("timed out"),
			RequestError::Net(e) => f.write_str(e),
		}
	}
}

/// A peer's answer to a HAVE, read.
#[derive(Debug, PartialEq, Eq)]
enum HaveAnswer {
	/// It holds these groups (sorted and merged).
	Holds(Vec<Range<u64>>),
	/// It holds none (`Unknown`, any status other than `Ok` and `Busy`, or an empty answer).
	Nothing,
	/// It is too busy to answer now: ask again shortly.
	Busy,
	/// `Ok`, but the list of groups does not parse: a peer that sends garbage is dropped.
	Malformed,
}

impl HaveAnswer {
	/// Read the answer `bytes` to a HAVE for content of `groups` chunk groups.
	fn parse(bytes: &[u8], groups: u64) -> Self {
		match (bytes.first().copied().and_then(Status::from_byte), bytes.get(1..).unwrap_or(&[])) {
			(Some(Status::Ok), body) => match decode_have(body, groups) {
				Some(have) => HaveAnswer::Holds(merged(have)),
				None => HaveAnswer::Malformed,
			},
			(Some(Status::Busy), _) => HaveAnswer::Busy,
			_ => HaveAnswer::Nothing,
		}
	}
}

/// A peer's answer to a GET, read.
#[derive(Debug, PartialEq, Eq)]
enum GetAnswer {
	/// The whole answer (status byte `Ok` first, then the slice): to verify and write.
	Slice(Vec<u8>),
	/// It serves others, or sent this piece to another downloader a moment ago
	/// (super-seeding): take the piece elsewhere or later.
	Busy,
	/// It lost the content, never had it, or answered anything else: ask again what it holds.
	Lacks,
}

impl GetAnswer {
	/// Read the answer `bytes` to a GET.
	fn parse(bytes: Vec<u8>) -> Self {
		match bytes.first().copied().and_then(Status::from_byte) {
			Some(Status::Ok) => GetAnswer::Slice(bytes),
			Some(Status::Busy) => GetAnswer::Busy,
			_ => GetAnswer::Lacks,
		}
	}
}

/// Where a download finds peers to ask, as iroh-blobs' `ContentDiscovery` does: the seam for
/// another source (the chain as tracker, a DHT) without touching the download itself.
pub trait PeerSource: Send + Sync + 'static {
	/// Peers that may hold `id`, in the order to ask them: a download asks again every 2 s,
	/// adds the ones it does not know yet, up to `FetchConfig::max_peers` live ones, and skips
	/// this node.
	fn peers(&self, id: &ContentId) -> BoxFuture<'static, Vec<PeerId>>;
}

/// The peers a caller named, then the peers connected now ([`Net::peers`]): where every
/// download finds its peers today.
pub struct HintsAndConnected {
	/// Peers the caller named (`gravity_get(id, peers)`, a job naming where its data is).
	pub hints: Vec<PeerId>,
	/// The network whose connected peers follow.
	pub net: Arc<dyn Net>,
}

impl PeerSource for HintsAndConnected {
	fn peers(&self, _id: &ContentId) -> BoxFuture<'static, Vec<PeerId>> {
		let hints = self.hints.clone();
		let connected = self.net.peers();
		async move { hints.into_iter().chain(connected.await).collect::<Vec<PeerId>>() }.boxed()
	}
}

/// How often a download asks its [`PeerSource`] again, and checks its rate.
const REFRESH: Duration = Duration::from_secs(2);
/// Longest wait for an answer before a download looks around again (stall checks, due HAVEs).
const IDLE: Duration = Duration::from_millis(200);
/// How long a peer that answered a HAVE with `Busy` is left alone.
const HAVE_BUSY_BACKOFF: Duration = Duration::from_millis(250);
/// How long a peer whose HAVE failed is left alone.
const HAVE_FAILED_BACKOFF: Duration = Duration::from_secs(1);
/// HAVE failures in a row that drop a peer from a download.
const HAVE_FAILURES: u32 = 3;
/// How long a peer whose GET failed is left alone, per failure in a row.
const GET_FAILED_BACKOFF: Duration = Duration::from_millis(500);
/// GET failures in a row that drop a peer from a download.
const GET_FAILURES: u32 = 6;

/// One peer of a download: what the scheduler weighs, and the download's own bookkeeping of
/// its HAVEs and failures.
struct PeerState {
	/// What it holds, what it is sending and how much more it may be asked.
	sched: Peer,
	/// When it last answered a HAVE (`None`: ask it again now).
	have_at: Option<Instant>,
	/// A HAVE to it is in flight.
	asking_have: bool,
	/// Requests that failed in a row.
	failures: u32,
}

impl PeerState {
	/// A peer just found, allowed `per_peer` GETs in flight.
	fn new(per_peer: usize) -> Self {
		PeerState { sched: Peer::new(per_peer), have_at: None, asking_have: false, failures: 0 }
	}

	/// Whether to send it a HAVE at `now`: it never answered one, or it is downloading too and
	/// its answer is `refresh` old; and it is live, not asked already and not backing off.
	fn wants_have(&self, now: Instant, refresh: Duration) -> bool {
		let stale = match (&self.sched.have, self.have_at) {
			(None, _) => true,
			(Some(_), Some(at)) => !self.sched.complete && now.duration_since(at) >= refresh,
			_ => false,
		};
		stale && !self.sched.dropped && !self.asking_have && !self.sched.waiting(now)
	}
}

/// Something that happened to a download: an answer arrived, or a slice was verified.
enum Event {
	/// A peer answered a HAVE.
	Have(PeerId, Result<Vec<u8>, RequestError>),
	/// A peer answered a GET for a piece.
	Got(PeerId, Piece, Result<Vec<u8>, RequestError>),
	/// A piece a peer sent was verified and written (its content bytes), or not.
	Written(PeerId, Piece, Result<u64, WriteError>),
}

/// Send `req` to `peer`, waiting at most `timeout`; `done` turns the answer into an event. The
/// request starts when the event is first polled.
fn request(
	net: &Arc<dyn Net>,
	timeout: Duration,
	peer: PeerId,
	req: Request,
	done: impl FnOnce(Result<Vec<u8>, RequestError>) -> Event + Send + 'static,
) -> BoxFuture<'static, Event> {
	let (net, payload) = (net.clone(), req.encode());
	async move {
		let answer = match tokio::time::timeout(timeout, net.request(peer, payload)).await {
			Ok(answer) => answer.map_err(RequestError::Net),
			Err(_) => Err(RequestError::TimedOut),
		};
		done(answer)
	}
	.boxed()
}

/// One request for `piece` fewer in flight.
fn release(in_flight: &mut HashMap<Piece, usize>, piece: Piece) {
	if let Some(n) = in_flight.get_mut(&piece) {
		*n -= 1;
		if *n == 0 {
			in_flight.remove(&piece);
		}
	}
}

/// A download's random seed: from the content id, the clock and the process, so downloaders
/// of the same content (even in one process) order pieces and peers differently.
fn salt(id: &ContentId) -> u64 {
	let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
	mix(id.root.iter().fold(0u64, |a, b| a.rotate_left(8) ^ *b as u64) ^
		now.map(|d| d.as_nanos() as u64).unwrap_or(7) ^
		mix(std::process::id() as u64))
}

/// One download in progress: its peers, the pieces it still needs and the requests in flight.
/// [`fetch_groups_from`] drives it one step at a time; each step is a method.
struct Download {
	/// The content downloaded.
	id: ContentId,
	/// Where verified slices go.
	partial: Arc<Partial>,
	/// The network requests go over, and bad peers are reported to.
	net: Arc<dyn Net>,
	/// Where peers come from.
	source: Box<dyn PeerSource>,
	/// This download's progress, for `gravity_status`.
	progress: Arc<Progress>,
	/// The node's totals.
	stats: Arc<Stats>,
	/// How the download behaves.
	cfg: FetchConfig,
	/// This node: never asked.
	me: PeerId,
	/// Which piece to ask of which peer.
	scheduler: Scheduler,
	/// Pieces asked for and not verified yet (the download ends when none is left).
	needed: BTreeSet<Piece>,
	/// Every peer this download has known (dropped ones stay, marked).
	peers: HashMap<PeerId, PeerState>,
	/// GETs in flight or being verified, per piece (absent: none).
	in_flight: HashMap<Piece, usize>,
	/// Requests and writes in flight.
	events: FuturesUnordered<BoxFuture<'static, Event>>,
	/// When a peer last made progress possible (said it holds a needed piece) or a piece was
	/// written: the stall rule's clock.
	last_progress: Instant,
	/// When the peers were last refreshed.
	last_refresh: Option<Instant>,
	/// The rate check's period: when it began, and the bytes verified then.
	period: (Instant, u64),
}

impl Download {
	/// A download filling `partial` (the groups `want` of it, or all for `None`) with pieces
	/// from the peers of `source`, asked over `net`; it reports to `progress` and `stats`.
	fn new(
		partial: Arc<Partial>,
		want: Option<Range<u64>>,
		net: Arc<dyn Net>,
		source: Box<dyn PeerSource>,
		progress: Arc<Progress>,
		stats: Arc<Stats>,
		cfg: FetchConfig,
	) -> Self {
		let id = partial.id();
		progress.verified.store(partial.verified_bytes(), Relaxed);
		let mut needed = missing_pieces(id.groups(), &partial.verified_groups());
		if let Some(want) = &want {
			needed = clipped(needed, want);
		}
		let scheduler = Scheduler::new(salt(&id), id.groups(), cfg.per_peer);
		let me = net.local_peer();
		let period = (Instant::now(), partial.verified_bytes());
		Download {
			id,
			partial,
			net,
			source,
			progress,
			stats,
			cfg,
			me,
			scheduler,
			needed,
			peers: HashMap::new(),
			in_flight: HashMap::new(),
			events: FuturesUnordered::new(),
			last_progress: Instant::now(),
			last_refresh: None,
			period,
		}
	}

	/// Whether every piece asked for is verified.
	fn is_done(&self) -> bool {
		self.needed.is_empty()
	}

	/// Content bytes not verified yet.
	fn missing(&self) -> u64 {
		self.id.length - self.partial.verified_bytes()
	}

	/// The stall rule's error: nobody had what is missing.
	fn no_peers(&self) -> FetchError {
		FetchError::NoPeers { id: self.id, missing: self.missing(), asked: self.peers.len() }
	}

	/// Whether nothing made progress possible for `stall_timeout`.
	fn stalled(&self) -> bool {
		self.last_progress.elapsed() > self.cfg.stall_timeout
	}

	/// Whether it is time (at `now`) to look for peers again and check the rate.
	fn refresh_due(&self, now: Instant) -> bool {
		self.last_refresh.is_none_or(|t| now.duration_since(t) > REFRESH)
	}

	/// Where peers come from: add the [`PeerSource`]'s peers not known yet, in its order,
	/// while fewer than `max_peers` live peers are known (so HAVEs do not fan out to every
	/// connection); never this node.
	async fn refresh_peers(&mut self, now: Instant) {
		self.last_refresh = Some(now);
		let per_peer = self.cfg.per_peer;
		for p in self.source.peers(&self.id).await {
			if self.peers.values().filter(|s| !s.sched.dropped).count() >= self.cfg.max_peers {
				break
			}
			if p != self.me {
				self.peers.entry(p).or_insert_with(|| PeerState::new(per_peer));
			}
		}
	}

	/// Fail with [`FetchError::TooSlow`] when bytes arrived below `min_rate` over the last
	/// `stall_timeout` (nothing at all is the stall rule's to report, unless it lasts twice as
	/// long); otherwise start a new period once one is over.
	fn check_rate(&mut self) -> Result<(), FetchError> {
		let elapsed = self.period.0.elapsed();
		if elapsed <= self.cfg.stall_timeout {
			return Ok(())
		}
		let got = self.partial.verified_bytes().saturating_sub(self.period.1);
		let rate = (got as f64 / elapsed.as_secs_f64()) as u64;
		if rate < self.cfg.min_rate && (got > 0 || elapsed > 2 * self.cfg.stall_timeout) {
			return Err(FetchError::TooSlow { id: self.id, missing: self.missing(), rate })
		}
		self.period = (Instant::now(), self.partial.verified_bytes());
		Ok(())
	}

	/// Ask peers which pieces they have: a HAVE to each peer that never answered one, and
	/// again to downloaders whose answer is `have_refresh` old (what they hold grows).
	fn ask_who_has(&mut self, now: Instant) {
		let (id, timeout) = (self.id, self.cfg.request_timeout);
		for (pid, ps) in self.peers.iter_mut() {
			if !ps.wants_have(now, self.cfg.have_refresh) {
				continue
			}
			ps.asking_have = true;
			let pid = *pid;
			self.events.push(request(&self.net, timeout, pid, Request::Have(id), move |r| Event::Have(pid, r)));
		}
	}

	/// Send the GETs the scheduler picks for this round and count them in flight; publish how
	/// many peers hold some of the content.
	fn next_requests(&mut self, now: Instant) {
		self.progress.peers.store(self.peers.values().filter(|s| s.sched.holds_some()).count(), Relaxed);
		let view: Vec<(PeerId, &Peer)> = self.peers.iter().map(|(pid, s)| (*pid, &s.sched)).collect();
		let requests = self.scheduler.next_requests(now, &view, &self.needed, &self.in_flight);
		let (id, timeout) = (self.id, self.cfg.request_timeout);
		for (pid, piece) in requests {
			*self.in_flight.entry(piece).or_default() += 1;
			let ps = self.peers.get_mut(&pid).expect("scheduled peers are listed");
			ps.sched.gets += 1;
			ps.sched.sending.insert(piece);
			let req = Request::Get(id, piece.0..piece.1);
			self.events.push(request(&self.net, timeout, pid, req, move |r| Event::Got(pid, piece, r)));
		}
	}

	/// The next event, or `None` after [`IDLE`] without one (when nothing is in flight at all,
	/// after waiting that long). Fails with [`FetchError::NoPeers`] once the download has
	/// stalled with no GET in flight.
	async fn next_event(&mut self) -> Result<Option<Event>, FetchError> {
		if self.events.is_empty() {
			if self.stalled() {
				return Err(self.no_peers())
			}
			tokio::time::sleep(IDLE).await;
			return Ok(None)
		}
		let event = tokio::select! {
			e = self.events.next() => e,
			_ = tokio::time::sleep(IDLE) => None,
		};
		if event.is_none() && self.stalled() && !self.peers.values().any(|s| s.sched.gets > 0) {
			return Err(self.no_peers())
		}
		Ok(event)
	}

	/// A have-answer arrived from `pid`: note what it holds (a needed piece there is progress),
	/// or back off (busy, failed; dropped after [`HAVE_FAILURES`] failures in a row), or drop it
	/// (garbage).
	fn on_have(&mut self, pid: PeerId, answer: Result<Vec<u8>, RequestError>) {
		let groups = self.id.groups();
		let ps = self.peers.get_mut(&pid).expect("asked peers are listed");
		ps.asking_have = false;
		ps.have_at = Some(Instant::now());
		match answer.map(|bytes| HaveAnswer::parse(&bytes, groups)) {
			Ok(HaveAnswer::Holds(have)) => {
				ps.sched.complete = have.len() == 1 && have[0] == (0..groups);
				ps.sched.have = Some(have);
				if self.needed.iter().any(|p| ps.sched.holds(p)) {
					self.last_progress = Instant::now();
				}
				ps.failures = 0;
			},
			Ok(HaveAnswer::Malformed) => {
				log::debug!(target: "gravity-data", "{pid}: malformed HAVE answer; dropped");
				ps.sched.dropped = true;
			},
			Ok(HaveAnswer::Nothing) => ps.sched.have = Some(vec![]),
			Ok(HaveAnswer::Busy) => ps.sched.retry_at = Some(Instant::now() + HAVE_BUSY_BACKOFF),
			Err(e) => {
				log::debug!(target: "gravity-data", "{pid}: HAVE failed: {e}");
				ps.failures += 1;
				ps.sched.retry_at = Some(Instant::now() + HAVE_FAILED_BACKOFF);
				if ps.failures >= HAVE_FAILURES {
					ps.sched.dropped = true;
				}
			},
		}
	}

	/// Piece bytes arrived from `pid` (or its GET failed): a slice still needed goes to be
	/// verified and written; a refusal is remembered; a peer that lacks the piece is asked
	/// again what it holds.
	fn on_got(&mut self, pid: PeerId, piece: Piece, answer: Result<Vec<u8>, RequestError>) {
		let ps = self.peers.get_mut(&pid).expect("asked peers are listed");
		ps.sched.gets -= 1;
		ps.sched.sending.remove(&piece);
		let bytes = match answer {
			Ok(bytes) => bytes,
			Err(e) => return self.on_failed(pid, piece, e),
		};
		match GetAnswer::parse(bytes) {
			// A duplicate of an end-game piece that arrived second, or from a peer dropped since.
			GetAnswer::Slice(_) if !self.needed.contains(&piece) || ps.sched.dropped => {
				release(&mut self.in_flight, piece)
			},
			GetAnswer::Slice(bytes) => self.write(pid, piece, bytes),
			GetAnswer::Busy => {
				release(&mut self.in_flight, piece);
				ps.sched.refused.insert(piece, Instant::now());
			},
			GetAnswer::Lacks => {
				release(&mut self.in_flight, piece);
				ps.sched.have = Some(vec![]);
				ps.have_at = None;
			},
		}
	}

	/// A GET to `pid` failed (slow or gone): ask it for less, later; drop it after
	/// [`GET_FAILURES`] failures in a row.
	fn on_failed(&mut self, pid: PeerId, piece: Piece, e: RequestError) {
		let id = self.id;
		release(&mut self.in_flight, piece);
		let ps = self.peers.get_mut(&pid).expect("asked peers are listed");
		ps.failures += 1;
		ps.sched.limit = (ps.sched.limit / 2).max(1);
		ps.sched.retry_at = Some(Instant::now() + GET_FAILED_BACKOFF * ps.failures);
		log::debug!(target: "gravity-data", "{pid}: GET {piece:?} of {id} failed ({e}), {} in a row", ps.failures);
		if ps.failures >= GET_FAILURES {
			log::info!(target: "gravity-data", "{pid} failed {} requests in a row ({e}): not asked again for {id}", ps.failures);
			ps.sched.dropped = true;
		}
	}

	/// Verify and write the answer `bytes` (status byte first) for `piece` from `pid` on a
	/// blocking thread; [`Event::Written`] tells how it went.
	fn write(&mut self, pid: PeerId, piece: Piece, bytes: Vec<u8>) {
		let partial = self.partial.clone();
		self.events.push(
			async move {
				let written = tokio::task::spawn_blocking(move || partial.write(piece.0..piece.1, &bytes[1..]))
					.await
					.unwrap_or_else(|e| Err(WriteError::Invalid(format!("verification panicked: {e}"))));
				Event::Written(pid, piece, written)
			}
			.boxed(),
		);
	}

	/// A piece from `pid` was verified and written (or not): count it and let the peer ask for
	/// more; a slice that does not verify gets its sender dropped and reported; a failure of
	/// this node's store ends the download.
	fn on_written(
		&mut self,
		pid: PeerId,
		piece: Piece,
		written: Result<u64, WriteError>,
	) -> Result<(), FetchError> {
		release(&mut self.in_flight, piece);
		match written {
			Ok(n) => {
				if self.needed.remove(&piece) {
					self.stats.downloaded(n);
					self.progress.fetched.fetch_add(n, Relaxed);
					self.progress.verified.fetch_add(n, Relaxed);
				}
				self.last_progress = Instant::now();
				if let Some(ps) = self.peers.get_mut(&pid) {
					ps.failures = 0;
					ps.sched.limit = (ps.sched.limit + 1).min(self.cfg.per_peer);
				}
			},
			Err(WriteError::Invalid(why)) => self.reject(pid, &why),
			Err(WriteError::Local(e)) => return Err(FetchError::Store(e)),
		}
		Ok(())
	}

	/// `pid` sent a slice that does not verify (`why`): drop it from the download and report
	/// it to the network, once (a slice of a peer dropped already is ignored).
	fn reject(&mut self, pid: PeerId, why: &str) {
		if self.peers.get(&pid).is_some_and(|p| p.sched.dropped) {
			return
		}
		let id = self.id;
		log::warn!(target: "gravity-data", "{pid} sent a slice of {id} that does not verify ({why}): dropped and reported");
		self.stats.rejected();
		self.progress.rejected_peers.fetch_add(1, Relaxed);
		self.net.report_bad(pid);
		if let Some(ps) = self.peers.get_mut(&pid) {
			ps.sched.dropped = true;
		}
	}

	/// Once every piece asked for is here: make the content complete in `store` when all of it
	/// is verified (a download of part of it stays partial).
	async fn finish(self, store: &Arc<Store>) -> Result<(), FetchError> {
		if !self.partial.is_complete() {
			// Part of the content was asked for, and it is here.
			return Ok(())
		}
		let (store, partial) = (store.clone(), self.partial.clone());
		tokio::task::spawn_blocking(move || store.finish(&partial))
			.await
			.map_err(|e| FetchError::blocking("finish", e))?
			.map_err(FetchError::Store)
	}
}

/// Start or resume the download of `id` in `store` (on a blocking thread: a resume verifies
/// what is on disk).
async fn begin(store: &Arc<Store>, id: ContentId) -> Result<Begin, FetchError> {
	let store = store.clone();
	tokio::task::spawn_blocking(move || store.begin(&id))
		.await
		.map_err(|e| FetchError::blocking("begin", e))?
		.map_err(FetchError::Store)
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
/// Peers are `hints`, then the connected ones ([`HintsAndConnected`]).
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
	let source = Box::new(HintsAndConnected { hints, net: net.clone() });
	fetch_groups_from(store, net, source, id, want, progress, stats, cfg).await
}

/// [`fetch_groups`] with the peers of `source`: the driver of a download. Each turn it
/// refreshes the peers (every 2 s, with the rate check), asks who has what, sends the GETs
/// the scheduler picks, and handles one event, until every piece asked for is verified.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_groups_from(
	store: Arc<Store>,
	net: Arc<dyn Net>,
	source: Box<dyn PeerSource>,
	id: ContentId,
	want: Option<Range<u64>>,
	progress: Arc<Progress>,
	stats: Arc<Stats>,
	cfg: FetchConfig,
) -> Result<(), FetchError> {
	let partial = match begin(&store, id).await? {
		Begin::Complete => {
			progress.verified.store(id.length, Relaxed);
			return Ok(())
		},
		Begin::Partial(p) => p,
	};
	let mut download = Download::new(partial, want, net, source, progress, stats, cfg);
	while !download.is_done() {
		let now = Instant::now();
		if download.refresh_due(now) {
			download.refresh_peers(now).await;
			download.check_rate()?;
		}
		download.ask_who_has(now);
		download.next_requests(now);
		let Some(event) = download.next_event().await? else { continue };
		match event {
			Event::Have(pid, answer) => download.on_have(pid, answer),
			Event::Got(pid, piece, answer) => download.on_got(pid, piece, answer),
			Event::Written(pid, piece, written) => download.on_written(pid, piece, written)?,
		}
	}
	download.finish(&store).await
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn answers_are_read_as_before() {
		let groups = 130;
		let mut have = crate::wire::encode_have(&[64..130, 0..64]);
		assert_eq!(HaveAnswer::parse(&have, groups), HaveAnswer::Holds(vec![0..130]));
		have.pop();
		assert_eq!(HaveAnswer::parse(&have, groups), HaveAnswer::Malformed);
		assert_eq!(HaveAnswer::parse(&[Status::Busy as u8], groups), HaveAnswer::Busy);
		let nothing: [&[u8]; 5] =
			[&[Status::Unknown as u8], &[Status::Missing as u8], &[Status::Error as u8], &[9], &[]];
		for nothing in nothing {
			assert_eq!(HaveAnswer::parse(nothing, groups), HaveAnswer::Nothing);
		}
		assert_eq!(GetAnswer::parse(vec![Status::Ok as u8, 1, 2]), GetAnswer::Slice(vec![0, 1, 2]));
		assert_eq!(GetAnswer::parse(vec![Status::Busy as u8]), GetAnswer::Busy);
		let lacks = [vec![Status::Missing as u8], vec![Status::Unknown as u8], vec![Status::BadRequest as u8], vec![]];
		for lacks in lacks {
			assert_eq!(GetAnswer::parse(lacks), GetAnswer::Lacks);
		}
		assert_eq!(RequestError::TimedOut.to_string(), "timed out");
		assert_eq!(RequestError::Net("gone".into()).to_string(), "gone");
	}
}
