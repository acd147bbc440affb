//! The sandbox's behaviour on good and bad programs.

use gravity_executor::{program_hash, Executor, Failure, Limits};
use std::sync::Arc;

const ECHO: &str = r#"
(module
  (import "gravity" "input_len" (func $len (result i32)))
  (import "gravity" "input_read" (func $read (param i32 i32 i32) (result i32)))
  (import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (drop (call $read (i32.const 0) (i32.const 0) (call $len)))
    (drop (call $write (i32.const 0) (call $len)))
    (i32.const 0)))
"#;

fn run(wat_src: &str, input: &[u8], limits: Limits) -> gravity_executor::TaskResult {
	let wasm = wat::parse_str(wat_src).unwrap();
	let ex = Executor::new(8).unwrap();
	ex.run(program_hash(&wasm), &wasm, Arc::new(input.to_vec()), [7; 32], &limits).0
}

#[test]
fn echo_returns_input_and_reports_fuel() {
	let r = run(ECHO, b"hello gravity", Limits::default());
	assert_eq!(r.outcome, Ok(b"hello gravity".to_vec()));
	assert!(r.fuel_used > 0);
	// Same program, same input: same fuel, same hash.
	let r2 = run(ECHO, b"hello gravity", Limits::default());
	assert_eq!(r, r2);
	assert_eq!(r.output_hash(), sp_crypto_hashing::blake2_256(b"hello gravity"));
}

#[test]
fn malformed_wasm_is_a_failure_result() {
	let ex = Executor::new(8).unwrap();
	let bad = b"\0asm\x01\0\0\0garbage".to_vec();
	let (r, _) = ex.run(program_hash(&bad), &bad, Arc::new(vec![]), [0; 32], &Limits::default());
	assert_eq!(r.outcome, Err(Failure::InvalidModule));
	assert_eq!(r.fuel_used, 0);
}

#[test]
fn forbidden_import_is_a_failure_result() {
	let src = r#"(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
		(memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#;
	let r = run(src, b"", Limits::default());
	assert_eq!(r.outcome, Err(Failure::ForbiddenImport("wasi_snapshot_preview1::clock_time_get".into())));
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
	let src = r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (loop (br 0)) (i32.const 0)))"#;
	let limits = Limits { fuel_cap: 1_000_000, ..Limits::default() };
	let r = run(src, b"", limits);
	assert_eq!(r.outcome, Err(Failure::OutOfFuel));
	assert_eq!(r.fuel_used, 1_000_000);
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
	// Grow by 64 KiB pages until refused, then trap like an allocator would.
	let src = r#"(module (memory (export "memory") 1)
		(func (export "run") (result i32)
		  (loop (if (i32.ne (memory.grow (i32.const 16)) (i32.const -1)) (then (br 1))))
		  unreachable))"#;
	let limits = Limits { max_memory_bytes: 4 << 20, ..Limits::default() };
	let r = run(src, b"", limits);
	assert_eq!(r.outcome, Err(Failure::MemoryLimit));
}

#[test]
fn oversized_output_is_a_failure_result() {
	let src = r#"(module (import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
		(memory (export "memory") 1)
		(func (export "run") (result i32) (drop (call $write (i32.const 0) (i32.const 65536))) (i32.const 0)))"#;
	let limits = Limits { max_output_bytes: 1000, ..Limits::default() };
	let r = run(src, b"", limits);
	assert_eq!(r.outcome, Err(Failure::OutputTooLarge));
}

#[test]
fn trap_and_task_error_are_failure_results() {
	let r = run(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) unreachable))"#, b"", Limits::default());
	assert_eq!(r.outcome, Err(Failure::Trap("unreachable".into())));
	let r = run(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 3)))"#, b"", Limits::default());
	assert_eq!(r.outcome, Err(Failure::TaskError(3)));
	let r = run(r#"(module (func (export "run") (result i32) (i32.const 0)))"#, b"", Limits::default());
	assert_eq!(r.outcome, Err(Failure::BadExports));
	// Failure hashes differ by reason and never collide with a success hash.
	let a = run(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 3)))"#, b"", Limits::default());
	let b = run(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 4)))"#, b"", Limits::default());
	assert_ne!(a.output_hash(), b.output_hash());
}

#[test]
fn nan_results_are_canonical() {
	// 0/0 produces a NaN whose bits could differ by CPU; canonicalization makes them fixed.
	let src = r#"(module (import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
		(memory (export "memory") 1)
		(func (export "run") (result i32)
		  (f64.store (i32.const 0) (f64.div (f64.const 0) (f64.const 0)))
		  (drop (call $write (i32.const 0) (i32.const 8))) (i32.const 0)))"#;
	let r = run(src, b"", Limits::default());
	let bits = u64::from_le_bytes(r.outcome.unwrap().try_into().unwrap());
	assert_eq!(bits, 0x7ff8_0000_0000_0000);
}

#[test]
fn the_executor_survives_bad_programs_and_keeps_serving() {
	let ex = Executor::new(2).unwrap();
	let good = wat::parse_str(ECHO).unwrap();
	for bad in [&b"not wasm"[..], &b"\0asm"[..]] {
		let (r, _) = ex.run(program_hash(bad), bad, Arc::new(vec![]), [0; 32], &Limits::default());
		assert!(r.outcome.is_err());
		let (r, _) = ex.run(program_hash(&good), &good, Arc::new(b"ok".to_vec()), [0; 32], &Limits::default());
		assert_eq!(r.outcome, Ok(b"ok".to_vec()));
	}
	// Second run of the same program comes from the cache.
	let (_, stats) = ex.run(program_hash(&good), &good, Arc::new(b"x".to_vec()), [0; 32], &Limits::default());
	assert!(!stats.compiled);
}
