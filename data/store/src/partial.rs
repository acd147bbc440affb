//! A download in progress: sparse data and outboard files and the chunk ranges verified in
//! them. Every slice written is verified against the content id first; a slice that does not
//! verify changes nothing the store reports as verified.

use crate::{error::WriteError, files::{At, Writeback}, group_ranges, tree, ContentId, StoreError, CHUNK_GROUP_LOG};
use bao_tree::{
	io::{
		outboard::PostOrderOutboard,
		sync::{decode_ranges, encode_ranges_validated, valid_ranges},
		DecodeError,
	},
	ChunkNum, ChunkRanges, ChunkRangesRef,
};
use range_collections::range_set::RangeSetRange;
use std::{
	fs::File,
	io,
	path::Path,
	sync::{Mutex, RwLock},
};

/// A download of one piece of content.
pub struct Partial {
	id: ContentId,
	data: File,
	outboard: File,
	verified: RwLock<ChunkRanges>,
	/// Held while a slice is verified and written: one slice at a time per download (see `write`).
	writing: Mutex<()>,
	writeback: Writeback,
}

impl Partial {
	/// Open (or create) the download files and find what in them is already verified.
	pub(crate) fn open(id: ContentId, data_path: &Path, ob_path: &Path) -> io::Result<Self> {
		let open = |p: &Path| std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(p);
		let data = open(data_path)?;
		let outboard = open(ob_path)?;
		let t = tree(id.length);
		if data.metadata()?.len() != id.length {
			data.set_len(id.length)?;
		}
		if outboard.metadata()?.len() != t.outboard_size() {
			outboard.set_len(t.outboard_size())?;
		}
		let mut verified = ChunkRanges::empty();
		{
			let ob = PostOrderOutboard { root: id.root.into(), tree: t, data: At(&outboard) };
			for r in valid_ranges(ob, At(&data), &ChunkRanges::all()) {
				let r = r?;
				verified.union_with(&ChunkRanges::from(r));
			}
		}
		Ok(Partial {
			id,
			data,
			outboard,
			verified: RwLock::new(verified),
			writing: Mutex::new(()),
			writeback: Writeback::default(),
		})
	}

	pub fn id(&self) -> ContentId {
		self.id
	}

	fn verified(&self) -> std::sync::RwLockReadGuard<'_, ChunkRanges> {
		self.verified.read().unwrap_or_else(|p| p.into_inner())
	}

	/// Whether every chunk in `ranges` is verified here.
	pub fn has(&self, ranges: &ChunkRangesRef) -> bool {
		self.verified().is_superset(ranges)
	}

	/// Whether every chunk is verified.
	pub fn is_complete(&self) -> bool {
		self.has(&ChunkRanges::from(ChunkNum(0)..tree(self.id.length).chunks()))
	}

	/// Verified bytes.
	pub fn verified_bytes(&self) -> u64 {
		crate::ranges_len(&self.id, &self.verified())
	}

	/// Verified chunk groups, as ranges of group numbers (whole groups only).
	pub fn verified_groups(&self) -> Vec<std::ops::Range<u64>> {
		let chunks = tree(self.id.length).chunks().0;
		let per = 1u64 << CHUNK_GROUP_LOG;
		self.verified()
			.iter()
			.filter_map(|r| {
				let (s, e) = match r {
					RangeSetRange::Range(r) => (r.start.0, r.end.0.min(chunks)),
					RangeSetRange::RangeFrom(r) => (r.start.0, chunks),
				};
				// A group counts when all its chunks are verified (the last one may be short).
				let first = s.div_ceil(per);
				let last = if e == chunks { e.div_ceil(per) } else { e / per };
				(first < last).then_some(first..last)
			})
			.collect()
	}

	/// Verify the slice `encoded` (chunk groups `groups`, in bao order) against the content id
	/// and write it. Returns the bytes of content it carried.
	///
	/// Callers may call this from several threads at once (one per response in flight); the
	/// slices are still verified and written one at a time. Concurrent `pwrite`s into one file
	/// contend for its inode lock, and the kernel's waiters spin on it while its holder copies:
	/// measured with `perf` in the data bench on 2 threads, 12–21 % of the downloader's CPU went
	/// to `rwsem_spin_on_owner`/`rwsem_down_write_slowpath`, and serializing here took the
	/// downloader from 4.1–4.3 to 2.9–3.3 CPU s per GiB (307–313 → 353–385 MB/s in that bench).
	pub fn write(&self, groups: std::ops::Range<u64>, encoded: &[u8]) -> Result<u64, WriteError> {
		let ranges = group_ranges(&self.id, groups);
		let mut reader = io::Cursor::new(encoded);
		let ob = PostOrderOutboard { root: self.id.root.into(), tree: tree(self.id.length), data: At(&self.outboard) };
		let decoded = {
			let _one_at_a_time = self.writing.lock().unwrap_or_else(|p| p.into_inner());
			decode_ranges(&mut reader, &ranges, At(&self.data), ob)
		};
		match decoded {
			Ok(()) => {},
			// Reading from a byte slice fails only at its end: the peer sent too little.
			Err(DecodeError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof =>
				return Err(WriteError::Invalid("the slice is cut short".into())),
			Err(DecodeError::Io(e)) => return Err(WriteError::Local(StoreError::write(Path::new("partial"), e))),
			Err(e) => return Err(WriteError::Invalid(format!("{e}"))),
		}
		if reader.position() != encoded.len() as u64 {
			return Err(WriteError::Invalid(format!(
				"{} bytes more than the slice holds",
				encoded.len() as u64 - reader.position()
			)))
		}
		let bytes = crate::ranges_len(&self.id, &ranges);
		self.writeback.wrote(&self.data, bytes);
		self.verified.write().unwrap_or_else(|p| p.into_inner()).union_with(&ranges);
		Ok(bytes)
	}

	/// The bytes `range` of the content, if every chunk they touch is verified here.
	pub fn read_verified(&self, range: std::ops::Range<u64>) -> Option<io::Result<Vec<u8>>> {
		use std::os::unix::fs::FileExt;
		if range.end > self.id.length || range.start > range.end {
			return None
		}
		if range.is_empty() {
			return Some(Ok(Vec::new()))
		}
		let chunks = ChunkRanges::from(ChunkNum(range.start / 1024)..ChunkNum(range.end.div_ceil(1024)));
		if !self.has(&chunks) {
			return None
		}
		let mut buf = vec![0u8; (range.end - range.start) as usize];
		Some(self.data.read_exact_at(&mut buf, range.start).map(|()| buf))
	}

	/// Encode verified `ranges` for another peer (serving while downloading).
	pub(crate) fn encode(&self, ranges: &ChunkRangesRef, out: &mut Vec<u8>) -> Result<(), bao_tree::io::EncodeError> {
		let ob = PostOrderOutboard { root: self.id.root.into(), tree: tree(self.id.length), data: At(&self.outboard) };
		encode_ranges_validated(At(&self.data), ob, ranges, out)
	}

	pub(crate) fn sync(&self) -> io::Result<()> {
		self.data.sync_all()?;
		self.outboard.sync_all()
	}
}
