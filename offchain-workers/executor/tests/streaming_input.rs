//! A task's input read in place from a file of the node's content store. In a test binary of
//! its own, so that the node-memory measurement sees no other test's allocations.

use gravity_executor::{program_hash, Executor, Failure, Limits};
use std::sync::Arc;

/// Reads its input in 64 KiB pieces and outputs the wrapping sum of its bytes (u64 LE): a task
/// that never holds its input.
const SUM_IN_PIECES: &str = r#"
(module
  (import "gravity" "input_len" (func $len (result i32)))
  (import "gravity" "input_read" (func $read (param i32 i32 i32) (result i32)))
  (import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "run") (result i32)
    (local $off i32) (local $n i32) (local $i i32) (local $sum i64)
    (block $done
      (loop $next
        (local.set $n (call $read (i32.const 0) (local.get $off) (i32.const 65536)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $i (i32.const 0))
        (loop $byte
          (local.set $sum (i64.add (local.get $sum) (i64.load8_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $byte (i32.lt_u (local.get $i) (local.get $n))))
        (local.set $off (i32.add (local.get $off) (local.get $n)))
        (br $next)))
    (i64.store (i32.const 65536) (local.get $sum))
    (drop (call $write (i32.const 65536) (i32.const 8)))
    (i32.const 0)))
"#;

fn rss_bytes() -> u64 {
	let status = std::fs::read_to_string("/proc/self/status").unwrap();
	let kb: u64 = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
	kb * 1024
}

#[test]
fn a_task_reads_a_store_file_in_pieces_without_the_node_holding_it() {
	use gravity_executor::TaskInput;
	let path = std::env::temp_dir().join(format!("gravity-stream-input-{}", std::process::id()));
	let size = 256u64 << 20;
	{
		use std::io::Write;
		let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
		let block: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
		for _ in 0..size >> 20 {
			f.write_all(&block).unwrap();
		}
	}
	let expected: u64 = {
		let block: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
		block.iter().map(|b| *b as u64).sum::<u64>() * (size >> 20) + 7 + 9
	};
	let wasm = wat::parse_str(SUM_IN_PIECES).unwrap();
	let ex = Executor::new(8).unwrap();
	let limits = Limits { fuel_cap: 100_000_000_000, ..Limits::default() };
	let file = Arc::new(std::fs::File::open(&path).unwrap());
	let before = rss_bytes();
	let input = TaskInput::with_file(vec![7, 9], file.clone(), size).unwrap();
	let (r, _) = ex.run(program_hash(&wasm), &wasm, input, [0; 32], &limits);
	let grew = rss_bytes().saturating_sub(before);
	assert_eq!(r.outcome, Ok(expected.to_le_bytes().to_vec()));
	assert!(grew < 64 << 20, "the node's memory grew by {} MiB for a 256 MiB input", grew >> 20);
	// The same bytes in memory give the same result and fuel: where the input lives is not
	// part of the result.
	let small = 1u64 << 20;
	let mut bytes = vec![7, 9];
	bytes.extend_from_slice(&std::fs::read(&path).unwrap()[..small as usize]);
	let from_file = ex.run(program_hash(&wasm), &wasm, TaskInput::with_file(vec![7, 9], file.clone(), small).unwrap(), [0; 32], &limits).0;
	let from_memory = ex.run(program_hash(&wasm), &wasm, Arc::new(bytes), [0; 32], &limits).0;
	assert_eq!(from_file, from_memory);
	// A file shorter than its id says (this machine's fault): aborted, never a result.
	let r = ex.run(program_hash(&wasm), &wasm, TaskInput::with_file(vec![], file, size + 1).unwrap(), [0; 32], &limits).0;
	assert!(matches!(r.outcome, Err(Failure::Aborted(ref why)) if why.contains("input")), "{r:?}");
	let _ = std::fs::remove_file(&path);
}
