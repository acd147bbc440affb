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

/// NaN bits at every observation point of `nan.rs`. Each case computes a NaN at run time (from a
/// mutable global, so nothing is folded at compile time) and writes what a program can see of it.
const NAN_CASES: &[(&str, &str)] = &[
	("f64.store", "(f64.store (i32.const 0) (f64.div (global.get $z) (global.get $z)))"),
	("i64.reinterpret_f64", "(i64.store (i32.const 0) (i64.reinterpret_f64 (f64.div (global.get $z) (global.get $z))))"),
	("f64.copysign", "(f64.store (i32.const 0) (f64.copysign (f64.const 1) (f64.div (global.get $z) (global.get $z))))"),
	("f32.store", "(f32.store (i32.const 0) (f32.div (f32.demote_f64 (global.get $z)) (f32.demote_f64 (global.get $z))))"),
	("i32.reinterpret_f32", "(i32.store (i32.const 0) (i32.reinterpret_f32 (f32.sqrt (f32.const -1))))"),
	("f32.copysign", "(f32.store (i32.const 0) (f32.copysign (f32.const 2) (f32.sqrt (f32.demote_f64 (f64.sub (global.get $z) (f64.const 1))))))"),
	("f64x2.div", "(v128.store (i32.const 0) (f64x2.div (f64x2.splat (global.get $z)) (f64x2.splat (global.get $z))))"),
	("f64x2.splat", "(v128.store (i32.const 0) (f64x2.splat (f64.div (global.get $z) (global.get $z))))"),
	("f64x2.replace_lane", "(v128.store (i32.const 0) (f64x2.replace_lane 1 (v128.const i64x2 0 0) (f64.div (global.get $z) (global.get $z))))"),
	("f32x4.sqrt", "(v128.store (i32.const 0) (f32x4.sqrt (f32x4.splat (f32.sub (f32.demote_f64 (global.get $z)) (f32.const 1)))))"),
	("f32x4.splat", "(v128.store (i32.const 0) (f32x4.splat (f32.div (f32.demote_f64 (global.get $z)) (f32.demote_f64 (global.get $z)))))"),
	// Through a call's parameter, a local, `select` and a return value, then stored.
	("call+local+select", "(local $t f64) (local.set $t (call $twice (f64.div (global.get $z) (global.get $z)))) (f64.store (i32.const 0) (select (local.get $t) (f64.const 5) (i32.const 1)))"),
];

fn nan_program(body: &str) -> Vec<u8> {
	wat::parse_str(format!(
		r#"(module (import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
		(memory (export "memory") 1)
		(global $z (mut f64) (f64.const 0))
		(func $twice (param $x f64) (result f64) (local $y f64) (local.set $y (f64.add (local.get $x) (local.get $x))) (local.get $y))
		(func (export "run") (result i32) {body}
		  (drop (call $write (i32.const 0) (i32.const 16))) (i32.const 0)))"#
	))
	.unwrap()
}

fn run_on(ex: &Executor, wasm: &[u8]) -> gravity_executor::TaskResult {
	ex.run(program_hash(wasm), wasm, Arc::new(vec![]), [0; 32], &Limits::default()).0
}

#[test]
fn observable_nans_are_canonical_and_match_full_canonicalization() {
	use gravity_executor::NanCanonicalization::*;
	let prod = Executor::new(64).unwrap();
	let every = Executor::with_options(64, true, EveryOperation).unwrap();
	let off = Executor::with_options(64, true, Off).unwrap();
	let mut differs_without = 0;
	for (name, body) in NAN_CASES {
		let wasm = nan_program(body);
		let p = run_on(&prod, &wasm).outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
		let e = run_on(&every, &wasm).outcome.unwrap();
		assert_eq!(p, e, "{name}: observation-point canonicalization differs from every-operation");
		// Every NaN pattern in the output is a canonical one (f32 words for the f32 cases).
		if name.starts_with("f32") || name.ends_with("_f32") {
			for (i, w) in p.chunks(4).enumerate() {
				let bits = u32::from_le_bytes(w.try_into().unwrap());
				if f32::from_bits(bits).is_nan() {
					assert_eq!(bits, 0x7fc0_0000, "{name}: word {i}");
				}
			}
		} else {
			for (i, w) in p.chunks(8).enumerate() {
				let bits = u64::from_le_bytes(w.try_into().unwrap());
				if f64::from_bits(bits).is_nan() {
					assert_eq!(bits, 0x7ff8_0000_0000_0000, "{name}: word {i}");
				}
			}
		}
		if run_on(&off, &wasm).outcome.unwrap() != p {
			differs_without += 1;
		}
	}
	// On x86-64 the CPU's own NaN is negative (0xfff8…), so without canonicalization most cases
	// show other bits: the test would notice the rewrite doing nothing.
	#[cfg(target_arch = "x86_64")]
	assert!(differs_without >= 8, "only {differs_without} cases differ without canonicalization");
	let _ = differs_without;
}

#[test]
fn copysign_of_a_nan_sign_is_positive() {
	let wasm = nan_program(NAN_CASES[2].1);
	let out = run_on(&Executor::new(4).unwrap(), &wasm).outcome.unwrap();
	assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 1.0);
}

#[test]
fn the_rewrite_keeps_modules_valid_and_rejects_invalid_ones() {
	let ok = nan_program(NAN_CASES[11].1);
	let rewritten = gravity_executor::nan::canonicalize_observable_nans(&ok).unwrap();
	wasmparser::Validator::new().validate_all(&rewritten).unwrap();
	// Deterministic: the same input gives the same bytes.
	assert_eq!(rewritten, gravity_executor::nan::canonicalize_observable_nans(&ok).unwrap());
	assert!(gravity_executor::nan::canonicalize_observable_nans(b"\0asm\x01\0\0\0garbage").is_err());
	// Threads are not a task feature.
	let shared = wat::parse_str("(module (memory 1 1 shared))").unwrap();
	assert!(gravity_executor::nan::canonicalize_observable_nans(&shared).is_err());
}
