#![doc = include_str!("../README.md")]

mod error;
mod files;
mod meta;
mod partial;
#[doc(hidden)]
pub mod testing;

pub use error::{StoreError, WriteError};
pub use gravity_protocol::content::{ContentId, ParseIdError, CHUNK_GROUP_BYTES, CHUNK_GROUP_LOG};
pub use partial::Partial;

use bao_tree::{
	io::{outboard::PostOrderOutboard, sync::encode_ranges_validated},
	BaoTree, BlockSize, ChunkNum, ChunkRanges,
};
use files::{At, Sequential, TmpFile};
use meta::{Meta, MetaFile};
use std::{
	collections::{BTreeMap, HashMap},
	fs::File,
	io::{self, BufReader, BufWriter, Read, Write},
	path::{Path, PathBuf},
	sync::{Arc, Mutex},
	time::{SystemTime, UNIX_EPOCH},
};

/// The largest content a store takes or downloads: the chain's bound on a content length
/// (`gravity_protocol::content::MAX_CONTENT_LENGTH`, 64 GiB). A longer id is refused before
/// anything is allocated for it.
pub use gravity_protocol::content::MAX_CONTENT_LENGTH;

/// The bao tree geometry every Gravity node uses: chunk groups of 16 KiB.
pub const BLOCK_SIZE: BlockSize = BlockSize::from_chunk_log(CHUNK_GROUP_LOG);

/// The bao tree of content of `size` bytes.
pub fn tree(size: u64) -> BaoTree {
	BaoTree::new(size, BLOCK_SIZE)
}

/// The chunk ranges (1 KiB chunks) of chunk groups `groups` of `id`, clipped to its end.
pub fn group_ranges(id: &ContentId, groups: std::ops::Range<u64>) -> ChunkRanges {
	let chunks = tree(id.length).chunks().0;
	let per = 1u64 << CHUNK_GROUP_LOG;
	let start = groups.start.saturating_mul(per).min(chunks);
	let end = groups.end.saturating_mul(per).min(chunks);
	ChunkRanges::from(ChunkNum(start)..ChunkNum(end))
}

/// Content bytes in `ranges` of `id`.
pub(crate) fn ranges_len(id: &ContentId, ranges: &ChunkRanges) -> u64 {
	let chunks = tree(id.length).chunks().0;
	ranges
		.iter()
		.map(|r| match r {
			range_collections::range_set::RangeSetRange::Range(r) => (r.start.0.min(chunks), r.end.0.min(chunks)),
			range_collections::range_set::RangeSetRange::RangeFrom(r) => (r.start.0.min(chunks), chunks),
		})
		.map(|(s, e)| (e * 1024).min(id.length) - (s * 1024).min(id.length))
		.sum()
}

/// Where a piece of content stands in this store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
	/// Every byte is here and verified.
	Complete,
	/// A download that has `verified` bytes (in whole chunk groups) verified on disk; `None`
	/// when it has not been opened since the node started (it is counted when resumed).
	Partial { verified: Option<u64> },
	/// Not in this store.
	Absent,
}

/// One entry of [`Store::list`].
#[derive(Clone, Debug)]
pub struct Entry {
	pub id: ContentId,
	pub state: State,
	/// Pinned by the local user: never evicted.
	pub pinned: bool,
	/// Kept (not evicted) until this UNIX time, e.g. a job's data until the job is settled.
	pub keep_until: u64,
	/// Last time it was stored, read or served (UNIX milliseconds): eviction takes the oldest
	/// first.
	pub last_access: u64,
}

/// What [`Store::begin`] found.
pub enum Begin {
	/// Already complete: nothing to download.
	Complete,
	/// The download to fill (new, or resumed from what is verified on disk).
	Partial(Arc<Partial>),
}

/// The content store of a node: complete and partial content under one directory.
///
/// Layout: `complete/<hash>` and `complete/<hash>.obao` (the data and its post-order bao
/// outboard), `partial/<hash>-<size>` and `partial/<hash>-<size>.obao` (a download: sparse
/// files whose verified ranges are recomputed from the bytes when it is resumed), `tmp/` (puts
/// in progress; emptied at start), `index.json` and its journal `index.log` (pins, retention, last access; a change appends a line).
///
/// Downloads are keyed by the whole id, hash *and* size: a job that names `(root, length − 1)`
/// of real content opens a download of its own that can never verify, and the download of the
/// real `(root, length)` is not touched by it (keyed by hash alone, it would have been opened
/// at the wrong size and every honest peer's slice would have failed to verify).
pub struct Store {
	dir: PathBuf,
	budget: u64,
	/// Disk bytes never used (see [`Store::set_disk_reserve`]).
	reserve: u64,
	state: Mutex<Inner>,
}

struct Inner {
	meta: MetaFile,
	partials: HashMap<ContentId, Arc<Partial>>,
}

pub(crate) fn hex(hash: &[u8; 32]) -> String {
	hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// UNIX time in seconds (the unit of [`Store::keep_until`]).
pub fn now_secs() -> u64 {
	now()
}

pub(crate) fn now() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub(crate) fn now_ms() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Store {
	/// Open (or create) the store in `dir`. Unpinned content beyond `budget` bytes is evicted,
	/// least recently used first, whenever content is added.
	pub fn open(dir: impl Into<PathBuf>, budget: u64) -> Result<Self, StoreError> {
		let dir = dir.into();
		for sub in ["complete", "partial", "tmp"] {
			std::fs::create_dir_all(dir.join(sub)).map_err(|e| StoreError::io(&dir.join(sub), e))?;
		}
		// Puts that were cut off leave only temporary files: nothing half-written is ever
		// under `complete/`.
		if let Ok(rd) = std::fs::read_dir(dir.join("tmp")) {
			for e in rd.flatten() {
				let _ = std::fs::remove_file(e.path());
			}
		}
		let mut meta = MetaFile::load(dir.join("index.json"))?;
		// Entries whose files are gone (removed by hand) are forgotten; files without an entry
		// (index lost) are adopted.
		let on_disk = Self::scan(&dir)?;
		meta.entries.retain(|h, _| on_disk.contains_key(h));
		for (h, (size, _)) in &on_disk {
			meta.entries.entry(*h).or_insert(Meta { size: *size, ..Meta::fresh(*size) });
		}
		meta.snapshot()?;
		Ok(Store { dir, budget, reserve: 0, state: Mutex::new(Inner { meta, partials: HashMap::new() }) })
	}

	/// Content on disk: hash → (size, complete).
	fn scan(dir: &Path) -> Result<BTreeMap<[u8; 32], (u64, bool)>, StoreError> {
		let mut found = BTreeMap::new();
		let d = dir.join("partial");
		for e in std::fs::read_dir(&d).map_err(|e| StoreError::io(&d, e))?.flatten() {
			let name = e.file_name().to_string_lossy().to_string();
			if let Some(id) = Self::partial_id(&name) {
				found.insert(id.root, (id.length, false));
			} else if !name.ends_with(".obao") {
				// A download of the layout before ids were whole (`<hash>` with a `.size`
				// file): dropped, it is fetched again when needed.
				let _ = std::fs::remove_file(e.path());
			}
		}
		let d = dir.join("complete");
		for e in std::fs::read_dir(&d).map_err(|e| StoreError::io(&d, e))?.flatten() {
			let name = e.file_name().to_string_lossy().to_string();
			let Some(size) = Self::size_of(&d, &name) else { continue };
			let Ok(id) = format!("{name}:{size}").parse::<ContentId>() else { continue };
			found.insert(id.root, (size, true));
		}
		Ok(found)
	}

	/// The content size recorded beside the data file `name` (its `.size` file).
	fn size_of(d: &Path, name: &str) -> Option<u64> {
		if name.len() != 64 {
			return None
		}
		std::fs::read_to_string(d.join(format!("{name}.size"))).ok()?.trim().parse().ok()
	}

	/// The id of a download's data file name `<hash>-<size>`.
	fn partial_id(name: &str) -> Option<ContentId> {
		let (hash, size) = name.split_once('-')?;
		if hash.len() != 64 || !size.bytes().all(|b| b.is_ascii_digit()) {
			return None
		}
		format!("{hash}:{size}").parse().ok()
	}

	fn path(&self, sub: &str, hash: &[u8; 32], ext: &str) -> PathBuf {
		self.dir.join(sub).join(format!("{}{ext}", hex(hash)))
	}

	/// A download's files: named by the whole id.
	fn partial_path(&self, id: &ContentId, ext: &str) -> PathBuf {
		self.dir.join("partial").join(format!("{}-{}{ext}", hex(&id.root), id.length))
	}

	/// The directory of the store.
	pub fn dir(&self) -> &Path {
		&self.dir
	}

	/// Add the file at `src`: hash it (BLAKE3 with its outboard) while copying it in, in one
	/// pass. Nothing is visible until the copy and its outboard are complete and synced.
	pub fn put_file(&self, src: &Path) -> Result<ContentId, StoreError> {
		let file = File::open(src).map_err(|e| StoreError::Source { path: src.to_path_buf(), error: e })?;
		self.put_opened(file, src)
	}

	/// Add the file `file`, opened by the caller (e.g. without following links); `src` names it
	/// in errors.
	pub fn put_opened(&self, file: File, src: &Path) -> Result<ContentId, StoreError> {
		let size = file
			.metadata()
			.map_err(|e| StoreError::Source { path: src.to_path_buf(), error: e })?
			.len();
		if !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
			return Err(StoreError::Source {
				path: src.to_path_buf(),
				error: io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
			})
		}
		self.put_reader(BufReader::with_capacity(1 << 20, file), size)
			.map_err(|e| e.with_source(src))
	}

	/// Add `bytes`.
	pub fn put_bytes(&self, bytes: &[u8]) -> Result<ContentId, StoreError> {
		self.put_reader(bytes, bytes.len() as u64)
	}

	fn put_reader(&self, src: impl Read, size: u64) -> Result<ContentId, StoreError> {
		self.make_room(size)?;
		let tmp_data = TmpFile::create(&self.dir.join("tmp"))?;
		let tmp_ob = TmpFile::create(&self.dir.join("tmp"))?;
		let hash = {
			let mut data_out =
				BufWriter::with_capacity(1 << 20, Sequential { file: tmp_data.file(), writeback: Default::default() });
			let mut ob_out = BufWriter::with_capacity(1 << 16, tmp_ob.file());
			let tee = Tee { src, copy: &mut data_out, err: None };
			let mut tee = tee;
			let result = bao_tree::io::sync::outboard_post_order(&mut tee, tree(size), &mut ob_out);
			if let Some(e) = tee.err.take() {
				return Err(StoreError::write(&self.dir, e))
			}
			let hash = result.map_err(StoreError::read)?;
			data_out.flush().map_err(|e| StoreError::write(&self.dir, e))?;
			ob_out.flush().map_err(|e| StoreError::write(&self.dir, e))?;
			hash
		};
		let id = ContentId { root: *hash.as_bytes(), length: size };
		if self.state(&id) == State::Complete {
			self.touch(&id);
			return Ok(id)
		}
		tmp_data.sync().map_err(|e| StoreError::write(&self.dir, e))?;
		tmp_ob.sync().map_err(|e| StoreError::write(&self.dir, e))?;
		self.install(&id, "complete", tmp_data, tmp_ob)?;
		self.after_add(&id);
		Ok(id)
	}

	/// Move finished data and outboard files into `sub/` (size file first, data last: the data
	/// file's name is what makes the entry exist).
	fn install(&self, id: &ContentId, sub: &str, data: TmpFile, ob: TmpFile) -> Result<(), StoreError> {
		std::fs::write(self.path(sub, &id.root, ".size"), id.length.to_string())
			.map_err(|e| StoreError::write(&self.dir, e))?;
		ob.persist(&self.path(sub, &id.root, ".obao"))?;
		data.persist(&self.path(sub, &id.root, ""))?;
		Ok(())
	}

	fn after_add(&self, id: &ContentId) {
		let mut inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
		let e = inner.meta.entries.entry(id.root).or_insert_with(|| Meta::fresh(id.length));
		e.last_access = now_ms();
		let _ = inner.meta.save();
		drop(inner);
		let _ = self.evict(Some(id));
	}

	/// Where `id` stands in this store.
	pub fn state(&self, id: &ContentId) -> State {
		if self.is_complete(id) {
			return State::Complete
		}
		let inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
		if let Some(p) = inner.partials.get(id) {
			return State::Partial { verified: Some(p.verified_bytes()) }
		}
		match inner.meta.entries.get(&id.root) {
			Some(m) if m.size == id.length && self.partial_path(id, "").exists() => State::Partial { verified: None },
			_ => State::Absent,
		}
	}

	fn is_complete(&self, id: &ContentId) -> bool {
		Self::size_of(&self.dir.join("complete"), &hex(&id.root)) == Some(id.length) &&
			self.path("complete", &id.root, "").exists()
	}

	/// Start or resume the download of `id`. A resumed download finds what it already has by
	/// verifying the bytes on disk against the outboard.
	pub fn begin(&self, id: &ContentId) -> Result<Begin, StoreError> {
		if self.is_complete(id) {
			return Ok(Begin::Complete)
		}
		if id.length == 0 {
			// Nothing to fetch: the empty content has one id, and any other is a mistake.
			return if *id == ContentId::of(&[]) {
				self.put_bytes(&[])?;
				Ok(Begin::Complete)
			} else {
				Err(StoreError::NoSuchContent { id: *id })
			}
		}
		if id.length > MAX_CONTENT_LENGTH {
			return Err(StoreError::TooLarge { id: *id })
		}
		if let Some(p) = self.state.lock().unwrap_or_else(|p| p.into_inner()).partials.get(id) {
			return Ok(Begin::Partial(p.clone()))
		}
		if self.state(id) == State::Absent {
			// A new download: its full size must fit (a resumed one is counted already).
			self.make_room(id.length)?;
		}
		let mut inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
		let data = self.partial_path(id, "");
		let ob = self.partial_path(id, ".obao");
		let partial = Arc::new(Partial::open(*id, &data, &ob).map_err(|e| StoreError::write(&self.dir, e))?);
		inner.partials.insert(*id, partial.clone());
		// The index has one entry per hash: complete content names the size, else the download
		// begun last.
		let complete = Self::size_of(&self.dir.join("complete"), &hex(&id.root)).is_some();
		let e = inner.meta.entries.entry(id.root).or_insert_with(|| Meta::fresh(id.length));
		if !complete {
			e.size = id.length;
		}
		e.last_access = now_ms();
		let _ = inner.meta.save();
		Ok(Begin::Partial(partial))
	}

	/// Turn a download whose every chunk is verified into complete content.
	pub fn finish(&self, partial: &Partial) -> Result<(), StoreError> {
		if !partial.is_complete() {
			return Err(StoreError::Incomplete { id: partial.id(), verified: partial.verified_bytes() })
		}
		let id = partial.id();
		partial.sync().map_err(|e| StoreError::write(&self.dir, e))?;
		let rename = |ext: &str| {
			std::fs::rename(self.partial_path(&id, ext), self.path("complete", &id.root, ext))
				.map_err(|e| StoreError::write(&self.dir, e))
		};
		std::fs::write(self.path("complete", &id.root, ".size"), id.length.to_string())
			.map_err(|e| StoreError::write(&self.dir, e))?;
		rename(".obao")?;
		rename("")?;
		{
			let mut inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
			inner.partials.remove(&id);
			// Downloads of the same hash at another size can never verify: drop them.
			let stale: Vec<ContentId> = inner.partials.keys().filter(|k| k.root == id.root).copied().collect();
			for k in stale {
				inner.partials.remove(&k);
				let _ = std::fs::remove_file(self.partial_path(&k, ""));
				let _ = std::fs::remove_file(self.partial_path(&k, ".obao"));
			}
			if let Some(m) = inner.meta.entries.get_mut(&id.root) {
				m.size = id.length;
			}
		}
		self.after_add(&id);
		Ok(())
	}

	/// Encode chunk groups `groups` of `id` as a verified slice (parent hashes and data, in bao
	/// order) for a peer. The bytes are checked against the outboard while they are read, so a
	/// disk that rotted is not passed on.
	pub fn encode(&self, id: &ContentId, groups: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
		let mut out = Vec::new();
		self.encode_into(id, groups, &mut out)?;
		Ok(out)
	}

	/// [`Store::encode`], appending to `out` (a response buffer that starts with a header).
	pub fn encode_into(&self, id: &ContentId, groups: std::ops::Range<u64>, out: &mut Vec<u8>) -> Result<(), StoreError> {
		let ranges = group_ranges(id, groups);
		out.reserve(((ranges_len(id, &ranges)) as usize).saturating_add(64 * 1024));
		if self.is_complete(id) {
			let data = File::open(self.path("complete", &id.root, "")).map_err(|e| StoreError::io(&self.dir, e))?;
			let ob = File::open(self.path("complete", &id.root, ".obao")).map_err(|e| StoreError::io(&self.dir, e))?;
			let outboard = PostOrderOutboard { root: id.root.into(), tree: tree(id.length), data: At(&ob) };
			encode_ranges_validated(At(&data), outboard, &ranges, &mut *out)
				.map_err(|e| StoreError::Corrupt { id: *id, detail: e.to_string() })?;
			self.touch(id);
			return Ok(())
		}
		let partial = self.state.lock().unwrap_or_else(|p| p.into_inner()).partials.get(id).cloned();
		match partial {
			Some(p) if p.has(&ranges) => {
				p.encode(&ranges, out).map_err(|e| StoreError::Corrupt { id: *id, detail: e.to_string() })?;
				Ok(())
			},
			Some(_) => Err(StoreError::Missing { id: *id }),
			None => Err(StoreError::Unknown { id: *id }),
		}
	}

	/// The chunk groups of `id` this store can serve: all of them when complete, the verified
	/// ones of a download in progress, none otherwise.
	pub fn have(&self, id: &ContentId) -> Vec<std::ops::Range<u64>> {
		if self.is_complete(id) {
			return if id.groups() == 0 { vec![] } else { vec![0..id.groups()] }
		}
		let partial = self.state.lock().unwrap_or_else(|p| p.into_inner()).partials.get(id).cloned();
		partial.map(|p| p.verified_groups()).unwrap_or_default()
	}

	/// Open complete content for reading.
	pub fn open_data(&self, id: &ContentId) -> Result<File, StoreError> {
		if !self.is_complete(id) {
			return Err(match self.state(id) {
				State::Partial { verified } => StoreError::Incomplete { id: *id, verified: verified.unwrap_or(0) },
				_ => StoreError::Unknown { id: *id },
			})
		}
		self.touch(id);
		File::open(self.path("complete", &id.root, "")).map_err(|e| StoreError::io(&self.dir, e))
	}

	/// The chunk groups that hold the bytes `range` of `id` (what to fetch to read them).
	pub fn groups_of(id: &ContentId, range: std::ops::Range<u64>) -> std::ops::Range<u64> {
		let end = range.end.min(id.length);
		let start = range.start.min(end);
		if start == end {
			return 0..0
		}
		start / CHUNK_GROUP_BYTES..end.div_ceil(CHUNK_GROUP_BYTES)
	}

	/// The bytes `range` of `id`, from complete content or from the verified part of a
	/// download; `Incomplete` when some of them are not here (verified) yet.
	pub fn read_range(&self, id: &ContentId, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
		use std::os::unix::fs::FileExt;
		if range.start > range.end || range.end > id.length {
			return Err(StoreError::Io {
				path: self.dir.clone(),
				error: io::Error::other(format!("bytes {}..{} are outside the {} bytes of {id}", range.start, range.end, id.length)),
			})
		}
		if self.is_complete(id) {
			let file = self.open_data(id)?;
			let mut buf = vec![0u8; (range.end - range.start) as usize];
			file.read_exact_at(&mut buf, range.start).map_err(|e| StoreError::io(&self.dir, e))?;
			return Ok(buf)
		}
		let partial = self.state.lock().unwrap_or_else(|p| p.into_inner()).partials.get(id).cloned();
		match partial.filter(|p| p.id() == *id).and_then(|p| p.read_verified(range)) {
			Some(read) => read.map_err(|e| StoreError::io(&self.dir, e)),
			None => Err(StoreError::Incomplete { id: *id, verified: self.have(id).iter().map(|r| r.end - r.start).sum::<u64>() * CHUNK_GROUP_BYTES }),
		}
	}

	/// Copy complete content to `dest` (written beside it under a temporary name and renamed,
	/// so `dest` never holds a partial copy).
	pub fn export(&self, id: &ContentId, dest: &Path) -> Result<(), StoreError> {
		let mut src = self.open_data(id)?;
		let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
		let tmp = TmpFile::create(parent)
			.map_err(|_| StoreError::Dest { path: dest.to_path_buf(), error: io::Error::other("cannot create a file in its directory") })?;
		{
			let mut w = BufWriter::with_capacity(1 << 20, tmp.file());
			io::copy(&mut src, &mut w).map_err(|e| StoreError::Dest { path: dest.to_path_buf(), error: e })?;
			w.flush().map_err(|e| StoreError::Dest { path: dest.to_path_buf(), error: e })?;
		}
		tmp.persist(dest).map_err(|_| StoreError::Dest {
			path: dest.to_path_buf(),
			error: io::Error::other("cannot rename the finished copy into place"),
		})
	}

	/// Pin `id`: it is never evicted until unpinned.
	pub fn pin(&self, id: &ContentId, pinned: bool) -> Result<(), StoreError> {
		self.with_meta(id, |m| m.pinned = pinned)
	}

	/// Keep `id` (not evicted) until UNIX time `until`, e.g. a job's data until it is settled
	/// plus a window.
	pub fn keep_until(&self, id: &ContentId, until: u64) -> Result<(), StoreError> {
		self.with_meta(id, |m| m.keep_until = m.keep_until.max(until))
	}

	fn with_meta(&self, id: &ContentId, f: impl FnOnce(&mut Meta)) -> Result<(), StoreError> {
		let mut inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
		let m = inner
			.meta
			.entries
			.get_mut(&id.root)
			.filter(|m| m.size == id.length)
			.ok_or(StoreError::Unknown { id: *id })?;
		f(m);
		inner.meta.save()
	}

	fn touch(&self, id: &ContentId) {
		let mut inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
		if let Some(m) = inner.meta.entries.get_mut(&id.root) {
			m.last_access = now_ms();
		}
	}

	/// Everything in the store.
	pub fn list(&self) -> Vec<Entry> {
		let entries: Vec<(ContentId, Meta)> = {
			let inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
			inner.meta.entries.iter().map(|(h, m)| (ContentId { root: *h, length: m.size }, m.clone())).collect()
		};
		entries
			.into_iter()
			.map(|(id, m)| Entry {
				state: self.state(&id),
				id,
				pinned: m.pinned,
				keep_until: m.keep_until,
				last_access: m.last_access,
			})
			.collect()
	}

	/// Bytes the store holds or has promised: complete content, and every download counted at
	/// its full size (it will fill), so that the budget holds however downloads end.
	pub fn used(&self) -> u64 {
		self.list().iter().filter(|e| e.state != State::Absent).map(|e| e.id.length).sum()
	}

	/// The store's budget in bytes.
	pub fn budget(&self) -> u64 {
		self.budget
	}

	/// Bytes of the disk kept free for the rest of the node (the chain database above all):
	/// nothing is stored that would leave less.
	pub fn set_disk_reserve(&mut self, bytes: u64) {
		self.reserve = bytes;
	}

	/// Evict complete content that is neither pinned nor kept, and downloads nobody is running,
	/// least recently used first, until the store is within its budget. Returns what was
	/// evicted.
	pub fn gc(&self) -> Result<Vec<ContentId>, StoreError> {
		self.evict(None)
	}

	/// [`Store::gc`], sparing `spare` (what was just added).
	fn evict(&self, spare: Option<&ContentId>) -> Result<Vec<ContentId>, StoreError> {
		self.evict_to(self.budget, spare)
	}

	/// Evict (as [`Store::gc`]) until at most `target` bytes are used.
	fn evict_to(&self, target: u64, spare: Option<&ContentId>) -> Result<Vec<ContentId>, StoreError> {
		let mut used = self.used();
		let mut evicted = Vec::new();
		if used <= target {
			return Ok(evicted)
		}
		let t = now();
		let idle = |id: &ContentId| {
			let inner = self.state.lock().unwrap_or_else(|p| p.into_inner());
			// Only the store holds it: no download is writing to it.
			inner.partials.get(id).is_none_or(|p| Arc::strong_count(p) == 1)
		};
		let mut candidates: Vec<Entry> = self
			.list()
			.into_iter()
			.filter(|e| e.state != State::Absent && !e.pinned && e.keep_until <= t && Some(&e.id) != spare)
			.filter(|e| e.state == State::Complete || idle(&e.id))
			.collect();
		candidates.sort_by_key(|e| e.last_access);
		for e in candidates {
			if used <= target {
				break
			}
			if e.state == State::Complete {
				// Data file first: without it the entry no longer exists.
				let _ = std::fs::remove_file(self.path("complete", &e.id.root, ""));
				let _ = std::fs::remove_file(self.path("complete", &e.id.root, ".obao"));
				let _ = std::fs::remove_file(self.path("complete", &e.id.root, ".size"));
			} else {
				self.state.lock().unwrap_or_else(|p| p.into_inner()).partials.remove(&e.id);
				let _ = std::fs::remove_file(self.partial_path(&e.id, ""));
				let _ = std::fs::remove_file(self.partial_path(&e.id, ".obao"));
			}
			used -= e.id.length;
			evicted.push(e.id);
			self.state.lock().unwrap_or_else(|p| p.into_inner()).meta.entries.remove(&e.id.root);
		}
		self.state.lock().unwrap_or_else(|p| p.into_inner()).meta.save()?;
		if !evicted.is_empty() {
			log::info!(target: "gravity-data", "evicted {} item(s) to stay within the {} byte budget", evicted.len(), self.budget);
		}
		Ok(evicted)
	}

	/// Make room for `need` more bytes, evicting what may go; refuse when the budget or the
	/// disk (less its reserve) cannot take them. Called before anything is written, so work
	/// that does not fit is refused up front instead of failing half way.
	pub fn make_room(&self, need: u64) -> Result<(), StoreError> {
		if self.used().saturating_add(need) > self.budget {
			self.evict_to(self.budget.saturating_sub(need), None)?;
			let used = self.used();
			if used.saturating_add(need) > self.budget {
				return Err(StoreError::NoRoom { need, used, budget: self.budget })
			}
		}
		if let Some(free) = free_disk(&self.dir) {
			if free < need.saturating_add(self.reserve) {
				return Err(StoreError::DiskReserve { dir: self.dir.clone(), need, free, reserve: self.reserve })
			}
		}
		Ok(())
	}

	/// A new file in the store's `tmp/`, unlinked at once, with room made for `len` bytes
	/// ([`Store::make_room`]): scratch space (a reducer's input) that lives as long as its handle
	/// and that a crash cannot leave behind.
	pub fn scratch_file(&self, len: u64) -> Result<File, StoreError> {
		self.make_room(len)?;
		Ok(TmpFile::create(&self.dir.join("tmp"))?.into_unlinked())
	}
}

/// Bytes free on the file system of `dir` for this user, if it can be asked.
pub fn free_disk(dir: &Path) -> Option<u64> {
	use std::os::unix::ffi::OsStrExt;
	let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
	let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
	// SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs for the call.
	if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
		return None
	}
	Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}


/// Hash a file the way [`Store::put_file`] does, without storing it: its content id.
pub fn hash_file(path: &Path) -> Result<ContentId, StoreError> {
	let file = File::open(path).map_err(|e| StoreError::Source { path: path.to_path_buf(), error: e })?;
	let size = file.metadata().map_err(|e| StoreError::Source { path: path.to_path_buf(), error: e })?.len();
	let hash = bao_tree::io::sync::outboard_post_order(BufReader::with_capacity(1 << 20, file), tree(size), io::sink())
		.map_err(|e| StoreError::Source { path: path.to_path_buf(), error: e })?;
	Ok(ContentId { root: *hash.as_bytes(), length: size })
}

/// Reads `src` and writes what it read to `copy`; a write error is kept aside (and reported
/// as the store's, not the source's).
struct Tee<'a, R, W> {
	src: R,
	copy: &'a mut W,
	err: Option<io::Error>,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
	fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
		let n = self.src.read(buf)?;
		if let Err(e) = self.copy.write_all(&buf[..n]) {
			let msg = e.to_string();
			self.err = Some(e);
			return Err(io::Error::other(msg))
		}
		Ok(n)
	}
}

#[cfg(test)]
mod tests;
