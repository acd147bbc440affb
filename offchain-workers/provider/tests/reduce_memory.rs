//! A reducer's input used to be assembled in memory (every map partition read into a `Vec`, then
//! copied again by the encoder), so one reducer over many large map outputs ran its provider out
//! of memory. It is now written to a file a few MiB at a time and read in place. This test
//! counts every heap byte the process allocates while the input of one reducer over 64 map
//! outputs of 8 MiB (512 MiB of reduce input) is written, and reads it back.

use gravity_data_store::{testing::TestDir, ContentId, Store};
use gravity_provider::reduce_input::write_reduce_input;
use std::{
	alloc::{GlobalAlloc, Layout, System},
	sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
	unsafe fn alloc(&self, l: Layout) -> *mut u8 {
		let n = NOW.fetch_add(l.size(), Relaxed) + l.size();
		PEAK.fetch_max(n, Relaxed);
		unsafe { System.alloc(l) }
	}
	unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
		NOW.fetch_sub(l.size(), Relaxed);
		unsafe { System.dealloc(p, l) }
	}
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn a_reducer_over_64_map_outputs_of_8_mib_holds_a_few_mib_not_the_input() {
	let dir = TestDir::new("reduce-memory");
	let store = std::sync::Arc::new(Store::open(dir.join("s"), u64::MAX).unwrap());
	let data = gravity_data_swarm::DataService::offline(store.clone());
	let mib = 1usize << 20;
	let mut parts: Vec<(ContentId, std::ops::Range<u64>)> = Vec::new();
	use std::hash::Hasher;
	let mut expected = std::hash::DefaultHasher::new();
	expected.write(&0u32.to_le_bytes());
	expected.write(&1u32.to_le_bytes());
	expected.write(&64u32.to_le_bytes());
	for k in 0..64u32 {
		let out: Vec<u8> = (0..8 * mib).map(|i| (i as u32 ^ k.wrapping_mul(2_654_435_761)) as u8).collect();
		let id = store.put_bytes(&out).unwrap();
		expected.write(&(out.len() as u32).to_le_bytes());
		expected.write(&out);
		parts.push((id, 0..out.len() as u64));
	}
	let base = NOW.load(Relaxed);
	PEAK.store(base, Relaxed);
	let input = write_reduce_input(&data, 0, 1, &parts).unwrap();
	let peak = PEAK.load(Relaxed) - base;
	assert_eq!(input.len(), 12 + 64 * (4 + 8 * mib as u64));
	eprintln!("writing a 512 MiB reduce input took at most {:.1} MiB of heap", peak as f64 / mib as f64);
	assert!(peak < 16 * mib, "peak heap {peak} bytes while writing a 512 MiB reduce input");
	// The task reads it in place: the same bytes as the in-memory encoding.
	let mut got = std::hash::DefaultHasher::new();
	let mut buf = vec![0u8; 4 * mib];
	let mut at = 0;
	while at < input.len() {
		let n = input.read_at(at, &mut buf).unwrap();
		got.write(&buf[..n]);
		at += n as u64;
	}
	assert_eq!(got.finish(), expected.finish());
}
