//! Counters of what a node moved, for `gravity_dataStats` and the benchmarks.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Totals since the node started.
#[derive(Default, Debug)]
pub struct Stats {
	uploaded: AtomicU64,
	downloaded: AtomicU64,
	rejected: AtomicU64,
	served: AtomicU64,
}

/// A copy of [`Stats`].
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
	/// Content bytes sent to peers in verified slices.
	pub uploaded_bytes: u64,
	/// Content bytes received from peers and verified.
	pub downloaded_bytes: u64,
	/// Slices received that did not verify (their senders were dropped).
	pub rejected_slices: u64,
	/// Slices sent.
	pub slices_served: u64,
}

impl Stats {
	pub fn served(&self, content: u64) {
		if content > 0 {
			self.uploaded.fetch_add(content, Relaxed);
			self.served.fetch_add(1, Relaxed);
		}
	}

	pub fn downloaded(&self, content: u64) {
		self.downloaded.fetch_add(content, Relaxed);
	}

	pub fn rejected(&self) {
		self.rejected.fetch_add(1, Relaxed);
	}

	pub fn snapshot(&self) -> StatsSnapshot {
		StatsSnapshot {
			uploaded_bytes: self.uploaded.load(Relaxed),
			downloaded_bytes: self.downloaded.load(Relaxed),
			rejected_slices: self.rejected.load(Relaxed),
			slices_served: self.served.load(Relaxed),
		}
	}
}
