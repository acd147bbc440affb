//! `index.json`: what the store knows beside the files (pins, retention, last access).

use crate::{hex, now_ms, StoreError};
use std::{collections::BTreeMap, path::PathBuf};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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

pub(crate) struct MetaFile {
	path: PathBuf,
	pub entries: BTreeMap<[u8; 32], Meta>,
}

impl MetaFile {
	pub fn load(path: PathBuf) -> Result<Self, StoreError> {
		let mut entries = BTreeMap::new();
		match std::fs::read(&path) {
			Ok(bytes) => {
				// A damaged index loses pins, not data: the files are adopted again by `open`.
				let raw: BTreeMap<String, Meta> = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
					log::warn!(target: "gravity-data", "{}: unreadable ({e}); pins and retention are reset", path.display());
					BTreeMap::new()
				});
				for (k, m) in raw {
					if let Ok(id) = format!("{k}:{}", m.size).parse::<crate::ContentId>() {
						entries.insert(id.hash, m);
					}
				}
			},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {},
			Err(e) => return Err(StoreError::io(&path, e)),
		}
		Ok(MetaFile { path, entries })
	}

	/// Write the index atomically (a new file renamed over the old one).
	pub fn save(&self) -> Result<(), StoreError> {
		let raw: BTreeMap<String, &Meta> = self.entries.iter().map(|(h, m)| (hex(h), m)).collect();
		let bytes = serde_json::to_vec_pretty(&raw).map_err(|e| StoreError::io(&self.path, std::io::Error::other(e)))?;
		let tmp = self.path.with_extension("json.new");
		std::fs::write(&tmp, bytes).map_err(|e| StoreError::write(&self.path, e))?;
		std::fs::rename(&tmp, &self.path).map_err(|e| StoreError::write(&self.path, e))
	}
}
