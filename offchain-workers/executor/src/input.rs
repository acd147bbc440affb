//! A task's input as the sandbox reads it: bytes in memory, or a short header followed by a
//! file of the node's content store read in place. A task that reads its input in pieces
//! (`input_read` with an offset) never makes the node hold the whole input: each call copies
//! straight from the file into the task's memory.

use std::{fs::File, os::unix::fs::FileExt, sync::Arc};

/// The input of one run: `head ‖ file[..file_len]`.
#[derive(Clone, Debug)]
pub struct TaskInput {
	head: Arc<Vec<u8>>,
	file: Option<(Arc<File>, u64)>,
}

/// The task ABI addresses the input with `i32` offsets and lengths.
pub const MAX_INPUT: u64 = i32::MAX as u64;

impl TaskInput {
	/// An input held in memory.
	pub fn bytes(bytes: Arc<Vec<u8>>) -> Self {
		TaskInput { head: bytes, file: None }
	}

	/// `head` followed by the first `len` bytes of `file` (complete, verified content of the
	/// node's store: it must not change while the task runs). Refused beyond the 2 GiB the
	/// task ABI can address, so the provider declines such a task instead of running it.
	pub fn with_file(head: Vec<u8>, file: Arc<File>, len: u64) -> Result<Self, String> {
		let total = head.len() as u64 + len;
		if total > MAX_INPUT {
			return Err(format!("an input of {total} bytes is beyond the {MAX_INPUT} bytes the task ABI can address"))
		}
		Ok(TaskInput { head: Arc::new(head), file: Some((file, len)) })
	}

	/// Length in bytes.
	pub fn len(&self) -> u64 {
		self.head.len() as u64 + self.file.as_ref().map(|f| f.1).unwrap_or(0)
	}

	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Copy bytes `offset..` into `dest` (as many as fit and exist); returns how many. An I/O
	/// error reading the file is an error of this machine, not of the task.
	pub fn read_at(&self, offset: u64, dest: &mut [u8]) -> std::io::Result<usize> {
		let len = self.len();
		let start = offset.min(len);
		let n = (dest.len() as u64).min(len - start) as usize;
		let mut done = 0;
		let head = self.head.len() as u64;
		if start < head {
			let k = ((head - start) as usize).min(n);
			dest[..k].copy_from_slice(&self.head[start as usize..start as usize + k]);
			done = k;
		}
		if let Some((file, _)) = &self.file {
			while done < n {
				let at = start + done as u64 - head;
				let got = file.read_at(&mut dest[done..n], at)?;
				if got == 0 {
					return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the input file is shorter than its content id says"))
				}
				done += got;
			}
		}
		Ok(done)
	}
}

impl From<Arc<Vec<u8>>> for TaskInput {
	fn from(bytes: Arc<Vec<u8>>) -> Self {
		TaskInput::bytes(bytes)
	}
}

impl From<Vec<u8>> for TaskInput {
	fn from(bytes: Vec<u8>) -> Self {
		TaskInput::bytes(Arc::new(bytes))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_file_input_reads_like_the_same_bytes_in_memory() {
		let path = std::env::temp_dir().join(format!("gravity-input-test-{}", std::process::id()));
		let body: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
		std::fs::write(&path, &body).unwrap();
		let head = vec![1, 2, 3, 4];
		let file = TaskInput::with_file(head.clone(), Arc::new(File::open(&path).unwrap()), 90_000).unwrap();
		let mem = TaskInput::bytes(Arc::new([&head[..], &body[..90_000]].concat()));
		assert_eq!(file.len(), mem.len());
		for (offset, len) in [(0u64, 2usize), (2, 10), (4, 5000), (89_990, 100), (90_004, 10), (200_000, 5), (0, 90_004)] {
			let (mut a, mut b) = (vec![0; len], vec![0; len]);
			let (na, nb) = (file.read_at(offset, &mut a).unwrap(), mem.read_at(offset, &mut b).unwrap());
			assert_eq!((na, &a[..na]), (nb, &b[..nb]), "at {offset}+{len}");
		}
		let _ = std::fs::remove_file(&path);
		assert!(TaskInput::with_file(vec![], Arc::new(File::open("/dev/null").unwrap()), MAX_INPUT + 1).is_err());
	}
}
