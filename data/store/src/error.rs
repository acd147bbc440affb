//! What can go wrong in the store, said so that a person knows what to do.

use crate::ContentId;
use std::{fmt, io, path::{Path, PathBuf}};

/// An error of the content store.
#[derive(Debug)]
pub enum StoreError {
	/// The file to add cannot be read.
	Source { path: PathBuf, error: io::Error },
	/// The file to write (an export) cannot be written.
	Dest { path: PathBuf, error: io::Error },
	/// The store's disk is full: nothing was stored.
	DiskFull { dir: PathBuf },
	/// Any other I/O error in the store's own directory.
	Io { path: PathBuf, error: io::Error },
	/// This store has no such content.
	Unknown { id: ContentId },
	/// This store is downloading the content and does not have the asked part yet.
	Missing { id: ContentId },
	/// The content is not complete yet.
	Incomplete { id: ContentId, verified: u64 },
	/// No bytes have this id (an empty content with another hash than BLAKE3 of nothing).
	NoSuchContent { id: ContentId },
	/// The store's budget cannot take `need` more bytes, even after evicting what may go.
	NoRoom { need: u64, used: u64, budget: u64 },
	/// Storing `need` bytes would leave less than the disk reserve free.
	DiskReserve { dir: PathBuf, need: u64, free: u64, reserve: u64 },
	/// Longer than any content the chain accepts (`MAX_CONTENT_LENGTH`).
	TooLarge { id: ContentId },
	/// The bytes on disk do not match their hash (disk damage): they are not passed on.
	Corrupt { id: ContentId, detail: String },
}

impl StoreError {
	pub(crate) fn io(path: &Path, error: io::Error) -> Self {
		StoreError::Io { path: path.to_path_buf(), error }
	}

	pub(crate) fn write(path: &Path, error: io::Error) -> Self {
		if error.kind() == io::ErrorKind::StorageFull || error.raw_os_error() == Some(28) {
			StoreError::DiskFull { dir: path.to_path_buf() }
		} else {
			StoreError::io(path, error)
		}
	}

	pub(crate) fn read(error: io::Error) -> Self {
		StoreError::Io { path: PathBuf::from("<source>"), error }
	}

	/// Name the source file in a read error of a put.
	pub(crate) fn with_source(self, src: &Path) -> Self {
		match self {
			StoreError::Io { path, error } if path.as_os_str() == "<source>" =>
				StoreError::Source { path: src.to_path_buf(), error },
			e => e,
		}
	}
}

impl fmt::Display for StoreError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			StoreError::Source { path, error } => write!(f, "cannot read {}: {error}", path.display()),
			StoreError::Dest { path, error } => write!(f, "cannot write {}: {error}", path.display()),
			StoreError::DiskFull { dir } => write!(
				f,
				"the disk of the content store ({}) is full; nothing was stored. Free space, unpin \
				 content you no longer need, or lower --data-budget",
				dir.display()
			),
			StoreError::Io { path, error } => write!(f, "content store: {}: {error}", path.display()),
			StoreError::Unknown { id } => write!(f, "{id} is not in this node's content store"),
			StoreError::Missing { id } => write!(f, "this node has only part of {id} so far"),
			StoreError::Incomplete { id, verified } =>
				write!(f, "{id} is not complete here yet ({verified} of {} bytes verified)", id.length),
			StoreError::NoSuchContent { id } =>
				write!(f, "{id} names no content: a size of 0 has only the hash of empty content"),
			StoreError::NoRoom { need, used, budget } => write!(
				f,
				"no room in the content store for {need} more bytes: {used} of its {budget} byte budget \
				 are pinned, kept for jobs or being downloaded. Unpin content, or raise --data-budget-gib"
			),
			StoreError::DiskReserve { dir, need, free, reserve } => write!(
				f,
				"storing {need} bytes in {} would leave less than the {reserve} bytes kept free for the \
				 chain database ({free} free): free disk space or lower --data-budget-gib",
				dir.display()
			),
			StoreError::TooLarge { id } => write!(
				f,
				"{id} is longer than any content the chain accepts ({} bytes): check the id",
				crate::MAX_CONTENT_LENGTH
			),
			StoreError::Corrupt { id, detail } => write!(
				f,
				"the stored bytes of {id} do not match their hash ({detail}): the disk may be failing; \
				 remove it and fetch it again"
			),
		}
	}
}

impl std::error::Error for StoreError {}

/// Why a verified slice from a peer was not written.
#[derive(Debug)]
pub enum WriteError {
	/// The peer's bytes do not match the content id (or are cut short, or run on): the peer is
	/// at fault.
	Invalid(String),
	/// Writing to this node's disk failed: this node is at fault, not the peer.
	Local(StoreError),
}

impl fmt::Display for WriteError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			WriteError::Invalid(d) => write!(f, "the slice does not verify against the content id: {d}"),
			WriteError::Local(e) => e.fmt(f),
		}
	}
}
