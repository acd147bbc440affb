//! For tests of this crate and of crates built on it: a scratch folder that does not outlive
//! its test.

use std::path::{Path, PathBuf};

/// A fresh folder `gravity-<what>-<process id>` under the system's temp dir (emptied if a
/// crashed run left it), removed when dropped, passing or not: transfer tests write hundreds
/// of MB a run.
pub struct TestDir(PathBuf);

impl TestDir {
	pub fn new(what: &str) -> Self {
		let d = std::env::temp_dir().join(format!("gravity-{what}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&d);
		std::fs::create_dir_all(&d).expect("a folder under the temp dir");
		TestDir(d)
	}
}

impl std::ops::Deref for TestDir {
	type Target = Path;
	fn deref(&self) -> &Path {
		&self.0
	}
}

impl Drop for TestDir {
	fn drop(&mut self) {
		let _ = std::fs::remove_dir_all(&self.0);
	}
}
