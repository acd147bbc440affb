//! The index: what the store knows beside the files (pins, retention, last access).
//!
//! `index.json` is a snapshot; `index.log` a journal of the changes since, one JSON line per
//! changed or removed entry. A change appends its lines (it does not rewrite the index, which
//! made every put cost a write of the whole store's index); the journal is folded into a new
//! snapshot when it grows longer than the index. A torn last line (a crash mid-append) is
//! ignored; a damaged index loses pins and retention, never data (`Store::open` adopts the
//! files again).

use crate::{hex, now_ms, StoreError};
use std::{collections::BTreeMap, io::Write, path::PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Meta {
	pub size: u64,
	#[serde(default)]
	pub pinned: bool,
	#[serde(default)]
	pub keep_until: u64,
	#[serde(default)]
	pub last_access: u64,
}

impl Meta {
	pub fn fresh(size: u64) -> Self {
		Meta { size, pinned: false, keep_until: 0, last_access: now_ms() }
	}
}

/// One journal line: an entry's new value, or its removal (`m` absent).
#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
	h: String,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	m: Option<Meta>,
}

pub(crate) struct MetaFile {
	path: PathBuf,
	pub entries: BTreeMap<[u8; 32], Meta>,
	/// What the snapshot and the journal on disk say.
	persisted: BTreeMap<[u8; 32], Meta>,
	/// Lines in the journal.
	journal_lines: usize,
}

fn parse_hash(k: &str) -> Option<[u8; 32]> {
	format!("{k}:0").parse::<crate::ContentId>().ok().map(|id| id.root)
}

impl MetaFile {
	pub fn load(path: PathBuf) -> Result<Self, StoreError> {
		let mut entries = BTreeMap::new();
		match std::fs::read(&path) {
			Ok(bytes) => {
				let raw: BTreeMap<String, Meta> = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
					log::warn!(target: "gravity-data", "{}: unreadable ({e}); pins and retention are reset", path.display());
					BTreeMap::new()
				});
				for (k, m) in raw {
					if let Some(h) = parse_hash(&k) {
						entries.insert(h, m);
					}
				}
			},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {},
			Err(e) => return Err(StoreError::io(&path, e)),
		}
		let journal = path.with_extension("log");
		let mut journal_lines = 0;
		match std::fs::read_to_string(&journal) {
			Ok(text) =>
				for line in text.lines() {
					journal_lines += 1;
					let Ok(l) = serde_json::from_str::<Line>(line) else { continue };
					let Some(h) = parse_hash(&l.h) else { continue };
					match l.m {
						Some(m) => entries.insert(h, m),
						None => entries.remove(&h),
					};
				},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {},
			Err(e) => return Err(StoreError::io(&journal, e)),
		}
		Ok(MetaFile { path, persisted: entries.clone(), entries, journal_lines })
	}

	/// Persist what changed since the last save: appended to the journal, or a new snapshot
	/// when the journal has grown longer than the index.
	pub fn save(&mut self) -> Result<(), StoreError> {
		let changed: Vec<([u8; 32], Option<Meta>)> = self
			.entries
			.iter()
			.filter(|(h, m)| self.persisted.get(*h) != Some(*m))
			.map(|(h, m)| (*h, Some(m.clone())))
			.chain(self.persisted.keys().filter(|h| !self.entries.contains_key(*h)).map(|h| (*h, None)))
			.collect();
		let n = changed.len();
		if n == 0 {
			return Ok(())
		}
		let mut lines = String::new();
		for (h, m) in &changed {
			lines.push_str(&serde_json::to_string(&Line { h: hex(h), m: m.clone() }).unwrap_or_default());
			lines.push('\n');
		}
		if self.journal_lines + n > self.entries.len().max(1024) {
			return self.snapshot()
		}
		let journal = self.path.with_extension("log");
		let mut f = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&journal)
			.map_err(|e| StoreError::write(&journal, e))?;
		f.write_all(lines.as_bytes()).map_err(|e| StoreError::write(&journal, e))?;
		self.journal_lines += n;
		for (h, m) in changed {
			match m {
				Some(m) => self.persisted.insert(h, m),
				None => self.persisted.remove(&h),
			};
		}
		Ok(())
	}

	/// Write the whole index atomically (a new file renamed over the old one) and empty the
	/// journal.
	pub fn snapshot(&mut self) -> Result<(), StoreError> {
		let raw: BTreeMap<String, &Meta> = self.entries.iter().map(|(h, m)| (hex(h), m)).collect();
		let bytes = serde_json::to_vec_pretty(&raw).map_err(|e| StoreError::io(&self.path, std::io::Error::other(e)))?;
		let tmp = self.path.with_extension("json.new");
		std::fs::write(&tmp, bytes).map_err(|e| StoreError::write(&self.path, e))?;
		std::fs::rename(&tmp, &self.path).map_err(|e| StoreError::write(&self.path, e))?;
		let journal = self.path.with_extension("log");
		match std::fs::remove_file(&journal) {
			Ok(()) => {},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {},
			Err(e) => return Err(StoreError::write(&journal, e)),
		}
		self.journal_lines = 0;
		self.persisted = self.entries.clone();
		Ok(())
	}
}
