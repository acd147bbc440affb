//! # gravity-protocol
//!
//! The parts of Gravity's protocol that several parties must compute byte for byte the same,
//! in one `no_std` crate used by the runtime (market pallet), the provider node, the task SDK
//! (compiled to `wasm32v1-none`) and the benchmarks:
//!
//! - [`content`]: **content ids** (BLAKE3 hash + size) and their text form, the names data
//!   travels under between nodes (no dependencies);
//! - [`input`]: the **task input framing** — how a provider node packs a task's parameter and
//!   data into the input the sandbox hands to a task, and how a task (through
//!   `gravity-task-sdk`) reads it back (no dependencies);
//! - [`partition`]: the **partitioned map output** layout, so that a reducer fetches only its
//!   partition of each map output (no dependencies);
//! - [`result`] (feature `hashing`, on by default): the **task seed**, the **failure result**,
//!   the round-bound **result digest** a provider reveals and the **commitment** it seals.
//!
//! ## Task input
//! Every task's input is
//!
//! ```text
//! param: u32 LE ‖ data
//! ```
//!
//! - `param` is the tile index of a render task, the partition of a reduce task, 0 otherwise;
//! - `data` is the task's input content (the scene of a render job, the split of a map task, the
//!   input of a batch task), or for a **reduce** task
//!
//! ```text
//! reducers: u32 LE ‖ n: u32 LE ‖ n × (len: u32 LE ‖ map output)
//! ```
//!   with the outputs of the `n` map tasks in task order.
//!
//! ```
//! use gravity_protocol::input::{encode, encode_reduce, TaskInput};
//! let raw = encode(7, b"scene");
//! let input = TaskInput::parse(&raw).unwrap();
//! assert_eq!((input.param(), input.data()), (7, &b"scene"[..]));
//!
//! let raw = encode_reduce(1, 2, [&b"a\t1\n"[..], &b"b\t2\n"[..]]);
//! let reduce = TaskInput::parse(&raw).unwrap().reduce().unwrap();
//! assert_eq!((reduce.partition(), reduce.reducers(), reduce.len()), (1, 2, 2));
//! let outputs: Result<Vec<&[u8]>, _> = reduce.map_outputs().collect();
//! assert_eq!(outputs.unwrap(), [&b"a\t1\n"[..], &b"b\t2\n"[..]]);
//! ```
#![no_std]

extern crate alloc;

pub mod content;
pub mod input;
pub mod partition;
#[cfg(feature = "hashing")]
pub mod result;
