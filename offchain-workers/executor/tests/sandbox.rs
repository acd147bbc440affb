//! The sandbox's behaviour on good and bad programs.

use gravity_executor::{program_hash, Executor, Failure, Limits, Program};
use std::sync::Arc;

#[path = "support/hostile.rs"]
mod hostile;

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
	assert_eq!(r.output_id(), gravity_protocol::content::ContentId::of(b"hello gravity"));
	assert_eq!(r.output_id().root, *blake3::hash(b"hello gravity").as_bytes());
}

#[test]
fn a_program_loader_is_called_only_on_a_cache_miss() {
	use std::sync::atomic::{AtomicU32, Ordering};
	let wasm = wat::parse_str(ECHO).unwrap();
	let hash = program_hash(&wasm);
	let ex = Executor::new(8).unwrap();
	let loads = AtomicU32::new(0);
	let load = || {
		loads.fetch_add(1, Ordering::SeqCst);
		Some(wasm.clone())
	};
	assert!(!ex.is_cached(hash));
	let (first, stats) = ex.run_program(hash, Program::Load(&load), Arc::new(b"abc".to_vec()), [7; 32], &Limits::default());
	assert!(stats.compiled);
	assert!(ex.is_cached(hash));
	let (second, stats) = ex.run_program(hash, Program::Load(&load), Arc::new(b"abc".to_vec()), [7; 32], &Limits::default());
	assert!(!stats.compiled);
	assert_eq!(loads.load(Ordering::SeqCst), 1, "read once, to compile");
	// The same result (output and fuel) as a run given the bytes: the compile price is charged
	// whether the module was cached or not.
	assert_eq!(first, second);
	assert_eq!(first, run(ECHO, b"abc", Limits::default()));
	// A loader that cannot read the program: not a result (the replica is declined), not a
	// failure every replica would agree on.
	let other = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#).unwrap();
	let (r, _) = ex.run_program(program_hash(&other), Program::Load(&|| None), Arc::new(vec![]), [7; 32], &Limits::default());
	assert!(matches!(r.outcome, Err(Failure::Aborted(_))), "{:?}", r.outcome);
	assert!(!ex.is_cached(program_hash(&other)));
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
	assert_ne!(a.output_id(), b.output_id());
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

/// Recursion without end: `run` calls `$down`, which calls itself. `$down` keeps `locals`
/// extra i64 locals live (a bigger native frame per call).
fn recursion(locals: usize) -> Vec<u8> {
	let decl = "(local i64)".repeat(locals);
	let touch: String = (0..locals).map(|i| format!("(local.set {} (i64.add (local.get {}) (local.get 0)))", i + 1, i + 1)).collect();
	let sum: String = (0..locals).map(|i| format!("(i64.add (local.get {}) ", i + 1)).collect::<String>() + "(i64.const 0)" + &")".repeat(locals);
	wat::parse_str(format!(
		r#"(module (memory (export "memory") 1)
		  (func $down (param i64) (result i64) {decl} {touch}
		    (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) {sum}))
		  (func (export "run") (result i32) (drop (call $down (i64.const 0))) (i32.const 0)))"#
	))
	.unwrap()
}

#[test]
fn stack_exhaustion_is_the_same_failure_with_the_same_fuel_whatever_the_native_stack() {
	let limits = Limits { fuel_cap: 5_000_000_000, ..Limits::default() };
	for locals in [0, 40] {
		let wasm = recursion(locals);
		let results: Vec<_> = [8usize << 20, 32 << 20, gravity_executor::NATIVE_STACK_BYTES]
			.into_iter()
			.map(|native| {
				let ex = Executor::for_stack_test(native, true).unwrap();
				ex.run(program_hash(&wasm), &wasm, Arc::new(vec![]), [0; 32], &limits).0
			})
			.collect();
		assert_eq!(results[0].outcome, Err(Failure::Trap("stack overflow".into())), "{locals} locals");
		assert!(results[0].fuel_used > 0 && results[0].fuel_used < limits.fuel_cap);
		for r in &results[1..] {
			assert_eq!(r, &results[0], "{locals} locals: the native stack changed the result");
		}
		// Without the instrumented limit the depth, hence the fuel, follows the native stack:
		// what made honest x86 and ARM providers disagree.
		let native: Vec<_> = [1usize << 20, 4 << 20]
			.into_iter()
			.map(|n| {
				let ex = Executor::for_stack_test(n, false).unwrap();
				ex.run(program_hash(&wasm), &wasm, Arc::new(vec![]), [0; 32], &limits).0
			})
			.collect();
		assert_eq!(native[0].outcome, Err(Failure::Trap("stack overflow".into())));
		assert_ne!(native[0].fuel_used, native[1].fuel_used, "{locals} locals");
	}
}

#[test]
fn every_way_out_of_a_function_gives_its_stack_back() {
	// A million calls in a loop that leave by `return`, by a branch to the function's label
	// (`br`, `br_if`, `br_table`), by falling off the end, with one result or two: if any of
	// them kept its cost, the counter would pass the limit long before the end.
	let src = r#"(module (memory (export "memory") 1)
	  (func $ret (param i32) (result i32) (if (local.get 0) (then (return (i32.const 1)))) (i32.const 2))
	  (func $br (param i32) (result i32) (i32.const 3) (br_if 0 (local.get 0)) (drop) (i32.const 4))
	  (func $table (param i32) (result i32) (block (result i32) (i32.const 5) (local.get 0) (br_table 0 1)))
	  (func $two (param i32) (result i32 i64) (i32.const 6) (i64.const 7) (br 0))
	  (func (export "run") (result i32) (local $i i32)
	    (loop $l
	      (drop (call $ret (i32.and (local.get $i) (i32.const 1))))
	      (drop (call $br (i32.and (local.get $i) (i32.const 1))))
	      (drop (call $table (i32.and (local.get $i) (i32.const 1))))
	      (drop (drop (call $two (local.get $i))))
	      (local.set $i (i32.add (local.get $i) (i32.const 1)))
	      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))
	    (i32.const 0)))"#;
	let r = run(src, b"", Limits::default());
	assert_eq!(r.outcome, Ok(vec![]));
}

#[test]
fn a_module_may_not_use_the_stack_counter_name() {
	let src = r#"(module (memory (export "memory") 1) (global (export "__gravity_stack_depth") i32 (i32.const 0))
	  (func (export "run") (result i32) (i32.const 0)))"#;
	assert_eq!(run(src, b"", Limits::default()).outcome, Err(Failure::InvalidModule));
}

fn compile_once(wasm: &[u8]) -> (gravity_executor::TaskResult, gravity_executor::RunStats) {
	let ex = Executor::new(1).unwrap();
	ex.run(program_hash(wasm), wasm, Arc::new(vec![]), [0; 32], &Limits::default())
}

/// One function of `n` conditional branches (`br_if`) and no other control structure but one
/// block.
fn br_ifs(n: usize) -> Vec<u8> {
	let body = "(br_if 0 (i32.const 0))".repeat(n);
	wat::parse_str(format!(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (block {body}) (i32.const 0)))"#)).unwrap()
}

#[test]
fn hostile_modules_are_rejected_before_compilation() {
	use hostile::dense_module;
	use std::time::Instant;
	// The hostile-module attacks: one huge function with tens of thousands of locals and dense
	// branching (Cranelift took > 8 GiB), and ~100k functions in 2 MiB (25 s to compile).
	let cases = [
		("50,000 locals", dense_module(1, 50_000, 5_000), "locals of one function"),
		("100,000 functions", dense_module(100_000, 1, 0), "functions"),
		("12,000 branches", dense_module(1, 64, 12_000), "blocks, loops, ifs, br_ifs and br_table targets"),
		// `br_if` is a branch too (it used not to be counted).
		("12,000 br_ifs", br_ifs(12_000), "blocks, loops, ifs, br_ifs and br_table targets"),
	];
	for (name, wasm, limit) in cases {
		let t = Instant::now();
		let (r, _) = compile_once(&wasm);
		let took = t.elapsed();
		match r.outcome {
			Err(Failure::ModuleTooComplex(what)) => assert!(what.starts_with(limit), "{name}: {what}"),
			other => panic!("{name}: {other:?}"),
		}
		assert_eq!(r.fuel_used, 0);
		assert!(took.as_secs() < 5, "{name}: rejecting took {took:?}");
		println!("{name} ({} bytes): rejected in {} ms", wasm.len(), took.as_millis());
	}
}

/// The worst modules the limits let through: the most locals and branches in one function, and
/// the most functions in the most code.
pub fn worst_within_limits() -> [(&'static str, Vec<u8>); 2] {
	use gravity_executor::prepare::ModuleLimits;
	use hostile::dense_module;
	let l = ModuleLimits::TASK;
	[
		("one dense function", dense_module(1, l.max_locals, l.max_branches)),
		("10,000 functions", dense_module(l.max_functions - 1, 4, 10)),
	]
}

#[test]
fn the_worst_modules_within_the_limits_compile_in_bounded_time_and_pay_for_it() {
	use gravity_executor::{compile_fuel, prepare};
	use std::time::Instant;
	for (name, wasm) in worst_within_limits() {
		let t = Instant::now();
		let (r, stats) = compile_once(&wasm);
		let took = t.elapsed();
		assert_eq!(r.outcome, Ok(vec![]), "{name}");
		assert!(stats.compiled);
		// The compile price is charged to the run, the same whoever runs it.
		let options = prepare::Options { nans: true, stack_limit: None, meter_bulk: true, limits: prepare::ModuleLimits::TASK };
		let p = prepare::prepare(&wasm, &options).unwrap();
		let price = compile_fuel(p.functions, p.code_bytes, p.complexity);
		assert!(r.fuel_used >= price && r.fuel_used < price + 100, "{name}: {} fuel", r.fuel_used);
		println!("{name}: {} bytes, compiled in {} ms, compile price {price} fuel", wasm.len(), took.as_millis());
		assert!(took.as_secs() < 30, "{name}: compiling took {took:?}");
	}
}

