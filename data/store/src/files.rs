//! Positioned reads and writes on a shared `File`, and temporary files renamed into place.

use crate::StoreError;
use positioned_io::{ReadAt, Size, WriteAt};
use std::{
	fs::File,
	io,
	os::unix::fs::FileExt,
	path::{Path, PathBuf},
	sync::atomic::{AtomicU64, Ordering},
};

/// A `&File` read and written at offsets (`pread`/`pwrite`): several verified slices of one
/// download are written at once through it.
#[derive(Clone, Copy)]
pub(crate) struct At<'a>(pub &'a File);

impl ReadAt for At<'_> {
	fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
		FileExt::read_at(self.0, buf, pos)
	}
}

impl WriteAt for At<'_> {
	fn write_at(&mut self, pos: u64, buf: &[u8]) -> io::Result<usize> {
		FileExt::write_at(self.0, buf, pos)
	}

	fn flush(&mut self) -> io::Result<()> {
		Ok(())
	}
}

impl Size for At<'_> {
	fn size(&self) -> io::Result<Option<u64>> {
		Ok(Some(self.0.metadata()?.len()))
	}
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file in a temporary directory, removed unless it is renamed into place.
pub(crate) struct TmpFile {
	path: PathBuf,
	file: Option<File>,
}

impl TmpFile {
	pub fn create(dir: &Path) -> Result<Self, StoreError> {
		let n = COUNTER.fetch_add(1, Ordering::Relaxed);
		let path = dir.join(format!(".gravity-tmp-{}-{n}", std::process::id()));
		let file = std::fs::OpenOptions::new()
			.read(true)
			.write(true)
			.create_new(true)
			.open(&path)
			.map_err(|e| StoreError::write(dir, e))?;
		Ok(TmpFile { path, file: Some(file) })
	}

	pub fn file(&self) -> &File {
		self.file.as_ref().expect("present until persisted")
	}

	pub fn sync(&self) -> io::Result<()> {
		self.file().sync_all()
	}

	/// Rename into `dest`.
	pub fn persist(mut self, dest: &Path) -> Result<(), StoreError> {
		self.file = None;
		std::fs::rename(&self.path, dest).map_err(|e| StoreError::write(dest, e))?;
		self.path = PathBuf::new();
		Ok(())
	}
}

impl Drop for TmpFile {
	fn drop(&mut self) {
		if !self.path.as_os_str().is_empty() {
			let _ = std::fs::remove_file(&self.path);
		}
	}
}
