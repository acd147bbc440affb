//! A reducer's input, written to a file instead of assembled in memory.
//!
//! The reduce input is `partition ‖ reducers ‖ n ‖ (len ‖ bytes)×n`
//! (`gravity_protocol::input::encode_reduce`): the reducer's partition of every map output.
//! Assembled in a `Vec` (and copied again by the encoder), one reducer over 1,023 maps of 64 MiB
//! needed ≈ 64 GiB of memory and the provider was killed, and every replica it held became a
//! no-show. Here each partition is copied from the node's content store into an unlinked file a
//! few MiB at a time, and the task reads the file in place (`TaskInput::with_file`), like a map
//! task reads its input: memory stays a few MiB whatever the number and size of the maps. An
//! input beyond what the task ABI can address (2 GiB) or what the disk can take is refused
//! before anything is written, and the replica is declined.

use gravity_data_store::ContentId;
use gravity_data_swarm::DataService;
use gravity_executor::TaskInput;
use std::{
	io::{BufWriter, Write},
	ops::Range,
	sync::Arc,
};

/// Bytes copied at a time.
const STEP: u64 = 4 << 20;

/// The length of the reduce input over partitions of these lengths.
pub fn reduce_input_len(parts: &[(ContentId, Range<u64>)]) -> u64 {
	(gravity_protocol::input::PARAM_BYTES + gravity_protocol::input::REDUCE_HEADER_BYTES) as u64 +
		parts.iter().map(|(_, r)| 4 + (r.end - r.start)).sum::<u64>()
}

/// Write the reduce input of `partition` of `reducers` over `parts` (each a map output in the
/// node's content store, complete or with the range verified) to a new unlinked scratch file of
/// the store, and return it as a task input read in place. Blocking.
pub fn write_reduce_input(data: &DataService, partition: u32, reducers: u32, parts: &[(ContentId, Range<u64>)]) -> Result<TaskInput, String> {
	let total = reduce_input_len(parts);
	if total > gravity_executor::MAX_INPUT {
		return Err(format!(
			"the reduce input would be {total} bytes, beyond the {} bytes a task can address",
			gravity_executor::MAX_INPUT
		))
	}
	for (id, r) in parts {
		if r.end - r.start > u32::MAX as u64 || r.end > id.length {
			return Err(format!("partition {r:?} of {id} is not a partition of it"))
		}
	}
	let file = data.scratch_file(total).map_err(|e| format!("reduce input: {e}"))?;
	{
		let mut w = BufWriter::with_capacity(1 << 20, &file);
		let io = |e: std::io::Error| format!("reduce input: {e}");
		w.write_all(&partition.to_le_bytes()).map_err(io)?;
		w.write_all(&reducers.to_le_bytes()).map_err(io)?;
		w.write_all(&(parts.len() as u32).to_le_bytes()).map_err(io)?;
		for (id, r) in parts {
			w.write_all(&((r.end - r.start) as u32).to_le_bytes()).map_err(io)?;
			let mut at = r.start;
			while at < r.end {
				let end = (at + STEP).min(r.end);
				let bytes = data.read_range(id, at..end).map_err(|e| format!("map output {id}: {e}"))?;
				w.write_all(&bytes).map_err(io)?;
				at = end;
			}
		}
		w.flush().map_err(io)?;
	}
	TaskInput::with_file(Vec::new(), Arc::new(file), total)
}

#[cfg(test)]
mod tests {
	use super::*;
	use gravity_data_store::{testing::TestDir, Store};

	#[test]
	fn the_file_holds_exactly_what_the_in_memory_encoding_would() {
		let dir = TestDir::new("reduce-input");
		let store = Arc::new(Store::open(dir.join("s"), u64::MAX).unwrap());
		let data = DataService::offline(store.clone());
		let outputs: Vec<Vec<u8>> = (0..5u8).map(|k| (0..(100_000 + 37 * k as usize)).map(|i| (i as u8) ^ k).collect()).collect();
		let parts: Vec<(ContentId, Range<u64>)> = outputs
			.iter()
			.enumerate()
			.map(|(k, o)| (store.put_bytes(o).unwrap(), (k as u64 * 1000)..(o.len() as u64 - k as u64 * 7)))
			.collect();
		let input = write_reduce_input(&data, 2, 3, &parts).unwrap();
		let expected = gravity_protocol::input::encode_reduce(
			2,
			3,
			parts.iter().zip(&outputs).map(|((_, r), o)| &o[r.start as usize..r.end as usize]).collect::<Vec<_>>().into_iter(),
		);
		assert_eq!(input.len(), expected.len() as u64);
		let mut got = vec![0; expected.len()];
		assert_eq!(input.read_at(0, &mut got).unwrap(), expected.len());
		assert_eq!(got, expected);
		assert_eq!(std::fs::read_dir(dir.join("s/tmp")).unwrap().count(), 0, "unlinked");
	}

	#[test]
	fn an_input_beyond_the_abi_or_the_disk_is_refused_before_anything_is_written() {
		let dir = TestDir::new("reduce-input-big");
		let store = Arc::new(Store::open(dir.join("s"), u64::MAX).unwrap());
		let data = DataService::offline(store.clone());
		let id = store.put_bytes(b"x").unwrap();
		let huge = ContentId { root: [9; 32], length: 3 << 30 };
		let e = write_reduce_input(&data, 0, 1, &[(huge, 0..(3 << 30))]).err().unwrap();
		assert!(e.contains("beyond"), "{e}");
		let many: Vec<_> = (0..40).map(|_| (ContentId { root: [9; 32], length: 64 << 20 }, 0..(64u64 << 20))).collect();
		assert!(write_reduce_input(&data, 0, 1, &many).err().unwrap().contains("beyond"));
		assert!(write_reduce_input(&data, 0, 1, &[(id, 0..2)]).is_err(), "a range past the content");
		assert_eq!(std::fs::read_dir(dir.join("s/tmp")).unwrap().count(), 0);
	}
}
