//! # gravity-task-sdk
//!
//! Write a Gravity task as a function from its [`Input`] to output bytes. The SDK reads the
//! input framing for you (see `gravity-protocol`): a task gets its **parameter** (the tile index
//! of a render task, the partition of a reduce task, 0 otherwise) and its **data** (the task's
//! input content), and a reduce task gets its map outputs one by one. Nobody parses bytes by
//! hand.
//!
//! ```
//! // src/lib.rs of a task crate (crate-type = ["cdylib", "rlib"]).
//! #![cfg_attr(target_arch = "wasm32", no_std)]
//! extern crate alloc;
//! use alloc::vec::Vec;
//! use gravity_task_sdk::Input;
//!
//! /// Upper-case the input; the parameter picks how many leading bytes to keep as they are.
//! pub fn shout(input: Input<'_>) -> Result<Vec<u8>, i32> {
//!     let keep = (input.param() as usize).min(input.data().len());
//!     let (head, tail) = input.data().split_at(keep);
//!     let mut out = head.to_vec();
//!     out.extend(tail.iter().map(u8::to_ascii_uppercase));
//!     Ok(out)
//! }
//! gravity_task_sdk::task!(shout);
//!
//! // Natively the same function is called directly: that is how tasks are tested, and how
//! // their Wasm results are compared with native ones.
//! assert_eq!(shout(Input::new(2, b"gravity")).unwrap(), b"grAVITY");
//! ```
//!
//! A reduce task reads the outputs of every map task of its job through [`Input::reduce`]:
//!
//! ```
//! extern crate alloc;
//! use gravity_task_sdk::{encode_reduce, Input};
//!
//! /// Reducer `r` of `R` sums the bytes of every map output whose length % R == r.
//! pub fn sum(input: Input<'_>) -> Result<alloc::vec::Vec<u8>, i32> {
//!     let reduce = input.reduce().map_err(|_| 2)?;
//!     if reduce.partition() >= reduce.reducers() {
//!         return Err(3);
//!     }
//!     let mut total = 0u64;
//!     for output in reduce.map_outputs() {
//!         let output = output.map_err(|_| 2)?;
//!         if output.len() as u32 % reduce.reducers() == reduce.partition() {
//!             total += output.iter().map(|&b| b as u64).sum::<u64>();
//!         }
//!     }
//!     Ok(total.to_le_bytes().to_vec())
//! }
//!
//! // What a provider node passes to reducer 0 of 2, built with the SDK's encoder:
//! let raw = encode_reduce(0, 2, [&[1u8, 2][..], &[5u8][..], &[3u8, 4][..]]);
//! let out = sum(Input::parse(&raw).unwrap()).unwrap();
//! assert_eq!(u64::from_le_bytes(out.try_into().unwrap()), 10);
//! ```
//!
//! Compiled for `wasm32v1-none`, [`task!`] exports `run` and wires the function to the task ABI
//! of `gravity-executor` (imports `gravity::{input_len, input_read, output_write, seed}`), and
//! this crate supplies the allocator and panic handler a `no_std` Wasm module needs. An input
//! whose framing is broken (shorter than the 4-byte parameter) never reaches the function: `run`
//! returns [`BAD_FRAMING`]. `Err(code)` from the function is a task-reported failure with that
//! code (0 is reported as 1).
//!
//! A task whose input may be larger than it wants to hold (a render scene of hundreds of MiB)
//! reads it in pieces through [`Stream`] and [`task_stream!`]: the node copies each piece from
//! its content store straight into the task's memory, so neither holds the whole input.
//!
//! ```
//! use gravity_task_sdk::{Stream, Source};
//! /// Count the lines that are not comments, reading 64 KiB at a time.
//! pub fn lines(input: Stream<impl Source>) -> Result<alloc::vec::Vec<u8>, i32> {
//!     let mut n = 0u32;
//!     input.for_each_line(|line| if !line.starts_with(b"#") { n += 1 });
//!     Ok(n.to_le_bytes().to_vec())
//! }
//! # extern crate alloc;
//! let raw = gravity_task_sdk::encode(0, b"a\n# b\nc");
//! assert_eq!(lines(Stream::new(&raw[..]).unwrap()).unwrap(), 2u32.to_le_bytes());
//! ```
//!
//! Tasks must be deterministic: no clock, no randomness except [`seed`], no host access.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

/// The partitioned map output layout: a map task of a map-reduce job gets the number of reducers
/// as its parameter and writes `partition::encode(&parts)`, so that each reducer fetches only its
/// partition over the network.
pub use gravity_protocol::partition;
pub use gravity_protocol::input::{
	encode, encode_reduce, FramingError, MapOutputs, ReduceInput, TaskInput as Input,
};

/// Where a [`Stream`] reads the framed input from: the task ABI in Wasm ([`Abi`]), a byte
/// slice natively (tests, and native runs compared with Wasm ones).
pub trait Source {
	/// Length of the framed input in bytes.
	fn len(&self) -> u64;
	/// Copy framed input bytes from `offset` into `buf`; returns how many (0 at the end).
	fn read(&self, offset: u64, buf: &mut [u8]) -> usize;
}

impl Source for &[u8] {
	fn len(&self) -> u64 {
		<[u8]>::len(self) as u64
	}
	fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
		let start = (offset as usize).min(<[u8]>::len(self));
		let n = buf.len().min(<[u8]>::len(self) - start);
		buf[..n].copy_from_slice(&self[start..start + n]);
		n
	}
}

/// The input through the task ABI (`input_len`, `input_read`), read in pieces.
#[cfg(target_arch = "wasm32")]
pub struct Abi;

#[cfg(target_arch = "wasm32")]
impl Source for Abi {
	fn len(&self) -> u64 {
		unsafe { wasm::input_len() as u64 }
	}
	fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
		let n = unsafe { wasm::input_read(buf.as_mut_ptr(), offset as i32, buf.len() as i32) };
		n.max(0) as usize
	}
}

/// A task's input read in pieces: its parameter, and its data through [`Stream::read`] or
/// [`Stream::for_each_line`], never all in memory at once.
pub struct Stream<S: Source> {
	source: S,
	param: u32,
}

/// Bytes [`Stream::for_each_line`] reads at a time.
pub const STREAM_CHUNK: usize = 64 * 1024;

impl<S: Source> Stream<S> {
	/// The input behind `source`; `None` when it is shorter than the 4-byte parameter.
	pub fn new(source: S) -> Option<Self> {
		let mut head = [0u8; 4];
		if source.len() < 4 || source.read(0, &mut head) != 4 {
			return None
		}
		Some(Stream { source, param: u32::from_le_bytes(head) })
	}

	/// The parameter (see [`Input::param`]).
	pub fn param(&self) -> u32 {
		self.param
	}

	/// Length of the data in bytes.
	pub fn len(&self) -> u64 {
		self.source.len() - 4
	}

	/// Whether the data is empty.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Copy data bytes from `offset` into `buf`; returns how many (0 at the end).
	pub fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
		self.source.read(offset.saturating_add(4), buf)
	}

	/// Call `f` with every line of the data (without its `\n`), reading [`STREAM_CHUNK`] bytes
	/// at a time. A line longer than a chunk is handed over in chunk-sized pieces.
	pub fn for_each_line(&self, mut f: impl FnMut(&[u8])) {
		let mut buf = alloc::vec![0u8; STREAM_CHUNK];
		let mut carry: Vec<u8> = Vec::new();
		let mut offset = 0u64;
		loop {
			let n = self.read(offset, &mut buf);
			if n == 0 {
				break
			}
			offset += n as u64;
			let mut rest = &buf[..n];
			while let Some(i) = rest.iter().position(|&b| b == b'\n') {
				if carry.is_empty() {
					f(&rest[..i]);
				} else {
					carry.extend_from_slice(&rest[..i]);
					f(&carry);
					carry.clear();
				}
				rest = &rest[i + 1..];
			}
			if carry.len() + rest.len() > STREAM_CHUNK {
				f(&carry);
				carry.clear();
			}
			carry.extend_from_slice(rest);
		}
		if !carry.is_empty() {
			f(&carry);
		}
	}
}

/// Run `f` on the input read in pieces and write its output: what the exported `run` of a
/// [`task_stream!`] task does.
#[cfg(target_arch = "wasm32")]
pub fn run_stream_task(f: fn(Stream<Abi>) -> Result<Vec<u8>, i32>) -> i32 {
	let Some(input) = Stream::new(Abi) else { return BAD_FRAMING };
	match f(input) {
		Ok(out) => {
			output(&out);
			0
		},
		Err(code) => if code == 0 { 1 } else { code },
	}
}

/// What `run` returns when the input's framing is broken (never the case for inputs a provider
/// node builds): the task function is not called.
pub const BAD_FRAMING: i32 = -1;

#[cfg(target_arch = "wasm32")]
mod wasm {
	#[link(wasm_import_module = "gravity")]
	extern "C" {
		pub fn input_len() -> i32;
		pub fn input_read(ptr: *mut u8, offset: i32, len: i32) -> i32;
		pub fn output_write(ptr: *const u8, len: i32) -> i32;
		pub fn seed(ptr: *mut u8);
	}

	/// A bump allocator over linear memory grown on demand. Tasks are short-lived: memory is
	/// returned when the instance is dropped. Reallocation in place when the block is the last.
	pub struct Bump;
	static mut NEXT: usize = 0;
	static mut END: usize = 0;

	unsafe impl core::alloc::GlobalAlloc for Bump {
		unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
			let align = layout.align().max(8);
			let start = (NEXT + align - 1) & !(align - 1);
			let new_next = match start.checked_add(layout.size()) {
				Some(n) => n,
				None => return core::ptr::null_mut(),
			};
			if NEXT == 0 || new_next > END {
				// Grow memory by enough 64 KiB pages.
				let need = if NEXT == 0 { layout.size() + align } else { new_next - END };
				let pages = need.div_ceil(65536).max(16);
				let old = core::arch::wasm32::memory_grow(0, pages);
				if old == usize::MAX {
					return core::ptr::null_mut()
				}
				if NEXT == 0 || old * 65536 != END {
					NEXT = old * 65536;
					END = NEXT + pages * 65536;
					return self.alloc(layout)
				}
				END += pages * 65536;
			}
			NEXT = new_next;
			start as *mut u8
		}
		unsafe fn dealloc(&self, _ptr: *mut u8, _layout: core::alloc::Layout) {}
		unsafe fn realloc(&self, ptr: *mut u8, layout: core::alloc::Layout, new_size: usize) -> *mut u8 {
			if ptr as usize + layout.size() == NEXT && ptr as usize + new_size <= END {
				NEXT = ptr as usize + new_size;
				return ptr
			}
			let new = self.alloc(core::alloc::Layout::from_size_align_unchecked(new_size, layout.align()));
			if !new.is_null() {
				core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
			}
			new
		}
	}

	#[global_allocator]
	static ALLOC: Bump = Bump;

	#[panic_handler]
	fn panic(_: &core::panic::PanicInfo) -> ! {
		core::arch::wasm32::unreachable()
	}
}

/// The task's raw input bytes (framed: see [`Input::parse`]).
#[cfg(target_arch = "wasm32")]
pub fn input() -> Vec<u8> {
	unsafe {
		let len = wasm::input_len() as usize;
		let mut buf = alloc::vec![0u8; len];
		wasm::input_read(buf.as_mut_ptr(), 0, len as i32);
		buf
	}
}

/// Append bytes to the task's output.
#[cfg(target_arch = "wasm32")]
pub fn output(bytes: &[u8]) {
	unsafe {
		wasm::output_write(bytes.as_ptr(), bytes.len() as i32);
	}
}

/// The 32-byte seed the chain gave this task (the only randomness a task may use).
#[cfg(target_arch = "wasm32")]
pub fn seed() -> [u8; 32] {
	let mut s = [0u8; 32];
	unsafe { wasm::seed(s.as_mut_ptr()) };
	s
}

/// Run `f` on the input and write its output: what the exported `run` does.
#[cfg(target_arch = "wasm32")]
pub fn run_task(f: fn(Input<'_>) -> Result<Vec<u8>, i32>) -> i32 {
	let raw = input();
	let Ok(input) = Input::parse(&raw) else { return BAD_FRAMING };
	match f(input) {
		Ok(out) => {
			output(&out);
			0
		},
		Err(code) => if code == 0 { 1 } else { code },
	}
}

/// Correctly rounded float functions that are single instructions in Wasm.
///
/// On `wasm32v1-none`, `core` has no `f64::sqrt`/`floor` on stable Rust and `libm` falls back
/// to software loops (its Wasm intrinsics need nightly), which made a square root cost dozens of
/// instructions in the sandbox against one `sqrtsd` natively. These functions use the Wasm SIMD
/// instructions (`f64x2.sqrt`, `f64x2.floor`, … on lane 0, stable `core::arch::wasm32`) when the
/// task is built with `-C target-feature=+simd128` (as `tasks/programs` builds every task), and
/// `libm` everywhere else. IEEE 754 defines `sqrt`, `floor`, `ceil` and `trunc` as exactly
/// rounded, so every path gives the same bits (NaN payloads aside, which the executor
/// canonicalizes); the render task's Wasm-vs-native byte comparison checks it.
pub mod math {
	#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
	mod imp {
		use core::arch::wasm32::*;
		#[inline(always)]
		pub fn sqrt(x: f64) -> f64 {
			f64x2_extract_lane::<0>(f64x2_sqrt(f64x2_splat(x)))
		}
		#[inline(always)]
		pub fn floor(x: f64) -> f64 {
			f64x2_extract_lane::<0>(f64x2_floor(f64x2_splat(x)))
		}
		#[inline(always)]
		pub fn ceil(x: f64) -> f64 {
			f64x2_extract_lane::<0>(f64x2_ceil(f64x2_splat(x)))
		}
		#[inline(always)]
		pub fn trunc(x: f64) -> f64 {
			f64x2_extract_lane::<0>(f64x2_trunc(f64x2_splat(x)))
		}
	}
	#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
	mod imp {
		pub use libm::{ceil, floor, sqrt, trunc};
	}
	pub use imp::{ceil, floor, sqrt, trunc};

	/// |x|, by clearing the sign bit (exact on every target).
	#[inline(always)]
	pub fn abs(x: f64) -> f64 {
		f64::from_bits(x.to_bits() & !(1u64 << 63))
	}

	#[cfg(test)]
	mod tests {
		#[test]
		fn exact_values() {
			assert_eq!(super::sqrt(2.0).to_bits(), 0x3ff6_a09e_667f_3bcd);
			assert_eq!(super::floor(-1.5), -2.0);
			assert_eq!(super::ceil(-1.5), -1.0);
			assert_eq!(super::trunc(-1.5), -1.0);
			assert_eq!(super::abs(-0.0).to_bits(), 0);
		}
	}
}

/// Export `run` for `f: fn(Input<'_>) -> Result<Vec<u8>, i32>` when compiled to Wasm (and
/// nothing natively, where `f` is called directly).
#[macro_export]
macro_rules! task {
	($f:path) => {
		#[cfg(target_arch = "wasm32")]
		#[no_mangle]
		pub extern "C" fn run() -> i32 {
			$crate::run_task($f)
		}
	};
}

/// Export `run` for a task that reads its input in pieces (`fn(Stream<Abi>) -> Result<Vec<u8>,
/// i32>`; write the function generic over [`Source`] to test it natively on a byte slice).
#[macro_export]
macro_rules! task_stream {
	($f:path) => {
		#[cfg(target_arch = "wasm32")]
		#[no_mangle]
		pub extern "C" fn run() -> i32 {
			$crate::run_stream_task($f)
		}
	};
}

/// Keep `Vec` used on native builds too.
pub type Output = Vec<u8>;
