//! Fuel is time (metering version 2): bulk operations and host copies are charged by bytes, and
//! a run that fuel cannot stop in time is stopped by its time limit. Each bomb here ran for
//! minutes to hours on the executor before this change (one unit of fuel for a 64 MiB fill);
//! each test runs the bomb on a thread of its own and fails if it has not ended in time.

use gravity_executor::{program_hash, Executor, Failure, Limits, TaskInput, BYTES_PER_FUEL, HOST_CALL_FUEL};
use std::{
	sync::{mpsc, Arc},
	time::{Duration, Instant},
};

/// Run `wasm` on its own thread; `None` if it had not ended after `within`.
fn run_within(wasm: Vec<u8>, input: TaskInput, limits: Limits, within: Duration) -> Option<(gravity_executor::TaskResult, Duration)> {
	let (tx, rx) = mpsc::channel();
	std::thread::spawn(move || {
		let ex = Executor::new(4).unwrap();
		let t = Instant::now();
		let (r, _) = ex.run(program_hash(&wasm), &wasm, input, [1; 32], &limits);
		let _ = tx.send((r, t.elapsed()));
	});
	rx.recv_timeout(within).ok()
}

fn wasm(src: &str) -> Vec<u8> {
	wat::parse_str(src).unwrap()
}

/// A loop of 64 MiB `memory.fill`s (or `memory.copy`s), forever.
fn bulk_bomb(op: &str) -> Vec<u8> {
	wasm(&format!(
		r#"(module (memory (export "memory") 1025)
		(func (export "run") (result i32)
		  (loop ({op} (i32.const 0) (i32.const 65536) (i32.const 67108864)) (br 0))
		  (i32.const 0)))"#
	))
}

const FUEL: u64 = 1_000_000_000;

#[test]
fn a_bulk_memory_bomb_is_charged_by_bytes_and_ends_out_of_fuel_in_its_time() {
	for op in ["memory.fill", "memory.copy"] {
		let limits = Limits { fuel_cap: FUEL, ..Limits::default() };
		let (r, took) = run_within(bulk_bomb(op), Arc::new(vec![]).into(), limits, Duration::from_secs(30))
			.unwrap_or_else(|| panic!("a {op} bomb with {FUEL} fuel still ran after 30 s"));
		assert_eq!(r.outcome, Err(Failure::OutOfFuel), "{op}");
		assert_eq!(r.fuel_used, FUEL, "{op}");
		// 10^9 fuel pays for 4 GB at 4 bytes a unit: about a second, not hours.
		assert!(took < Duration::from_secs(20), "{op}: {took:?}");
	}
}

/// `fill(n)` once, then return.
fn fill_once(n: u32) -> Vec<u8> {
	wasm(&format!(
		r#"(module (memory (export "memory") 1025)
		(func (export "run") (result i32)
		  (memory.fill (i32.const 0) (i32.const 7) (i32.const {n})) (i32.const 0)))"#
	))
}

#[test]
fn bulk_operations_pay_for_their_length_exactly_and_deterministically() {
	let ex = Executor::new(4).unwrap();
	let fuel = |wasm: Vec<u8>| {
		let (r, _) = ex.run(program_hash(&wasm), &wasm, Arc::new(vec![]), [0; 32], &Limits::default());
		assert_eq!(r.outcome, Ok(vec![]));
		r.fuel_used
	};
	// 16 MiB and 64 MiB encode to constants of the same length: the two modules have the same
	// size and compile price, and differ only in what the fill does.
	let (sixteen, sixty_four) = (fuel(fill_once(16 << 20)), fuel(fill_once(64 << 20)));
	assert_eq!(sixty_four - sixteen, (48 << 20) / BYTES_PER_FUEL);
	// The same run twice: the same fuel.
	assert_eq!(fuel(fill_once(64 << 20)), sixty_four);
}

#[test]
fn a_bulk_operation_with_too_little_fuel_does_no_work() {
	// 64 MiB costs 16 M units; with 1 M the fill is refused before it starts.
	let limits = Limits { fuel_cap: 1_000_000, ..Limits::default() };
	let (r, took) = run_within(fill_once(64 << 20), Arc::new(vec![]).into(), limits, Duration::from_secs(10)).unwrap();
	assert_eq!(r.outcome, Err(Failure::OutOfFuel));
	assert_eq!(r.fuel_used, 1_000_000);
	assert!(took < Duration::from_secs(5));
}

#[test]
fn table_operations_are_charged_too() {
	// table.fill of 100,000 entries forever: charged per element, ends out of fuel.
	let src = r#"(module (memory (export "memory") 1) (table 100000 funcref)
		(func (export "run") (result i32)
		  (loop (table.fill 0 (i32.const 0) (ref.null func) (i32.const 100000)) (br 0))
		  (i32.const 0)))"#;
	let limits = Limits { fuel_cap: 50_000_000, ..Limits::default() };
	let (r, took) = run_within(wasm(src), Arc::new(vec![]).into(), limits, Duration::from_secs(30)).expect("a table.fill bomb still ran after 30 s");
	assert_eq!(r.outcome, Err(Failure::OutOfFuel));
	assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_host_copy_bomb_is_charged_by_bytes_and_ends_out_of_fuel_in_its_time() {
	// input_read of a 64 MiB input into memory, forever.
	let src = r#"(module
		(import "gravity" "input_read" (func $read (param i32 i32 i32) (result i32)))
		(memory (export "memory") 1025)
		(func (export "run") (result i32)
		  (loop (drop (call $read (i32.const 0) (i32.const 0) (i32.const 67108864))) (br 0))
		  (i32.const 0)))"#;
	let input: TaskInput = Arc::new(vec![5u8; 64 << 20]).into();
	let limits = Limits { fuel_cap: FUEL, ..Limits::default() };
	let (r, took) = run_within(wasm(src), input.clone(), limits, Duration::from_secs(30)).expect("an input_read bomb still ran after 30 s");
	assert_eq!(r.outcome, Err(Failure::OutOfFuel));
	assert_eq!(r.fuel_used, FUEL);
	assert!(took < Duration::from_secs(20), "{took:?}");

	// One read of the whole input costs what it copies.
	let once = |len: u32| {
		let src = format!(
			r#"(module
			(import "gravity" "input_read" (func $read (param i32 i32 i32) (result i32)))
			(memory (export "memory") 1025)
			(func (export "run") (result i32)
			  (drop (call $read (i32.const 0) (i32.const 0) (i32.const {len}))) (i32.const 0)))"#
		);
		let w = wasm(&src);
		let ex = Executor::new(1).unwrap();
		ex.run(program_hash(&w), &w, input.clone(), [0; 32], &Limits::default()).0
	};
	// 67108864 and 67108863 encode to the same length: the same compile price.
	let (all, less) = (once(67_108_864), once(67_108_863));
	assert_eq!(all.outcome, Ok(vec![]));
	assert_eq!(all.fuel_used - less.fuel_used, (64u64 << 20) / BYTES_PER_FUEL - ((64u64 << 20) - 1) / BYTES_PER_FUEL);
	assert!(all.fuel_used > (64 << 20) / BYTES_PER_FUEL + HOST_CALL_FUEL);
}

#[test]
fn output_writes_are_charged_by_bytes() {
	// 32 writes of 1 MiB: 8 M units of copying; with 4 M it ends out of fuel.
	let src = r#"(module
		(import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
		(memory (export "memory") 17)
		(func (export "run") (result i32) (local $i i32)
		  (loop (drop (call $write (i32.const 0) (i32.const 1048576)))
		    (local.set $i (i32.add (local.get $i) (i32.const 1)))
		    (br_if 0 (i32.lt_u (local.get $i) (i32.const 32))))
		  (i32.const 0)))"#;
	let few = Limits { fuel_cap: 4_000_000, ..Limits::default() };
	let (r, _) = run_within(wasm(src), Arc::new(vec![]).into(), few, Duration::from_secs(20)).unwrap();
	assert_eq!(r.outcome, Err(Failure::OutOfFuel));
	let (r, _) = run_within(wasm(src), Arc::new(vec![]).into(), Limits::default(), Duration::from_secs(20)).unwrap();
	assert_eq!(r.outcome.map(|o| o.len()), Ok(32 << 20));
	assert!(r.fuel_used > 32 * ((1 << 20) / BYTES_PER_FUEL + HOST_CALL_FUEL));
}

const SPIN: &str = r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (loop (br 0)) (i32.const 0)))"#;

#[test]
fn a_run_past_its_cpu_time_is_aborted_not_a_result() {
	// 15·10⁹ fuel (the chain's cap) of `loop br 0` is about a minute here; with 300 ms of CPU
	// time the run is aborted (a provider declines it), never committed as a result.
	let limits = Limits { fuel_cap: 15_000_000_000, cpu_time: Some(Duration::from_millis(300)), ..Limits::default() };
	let (r, took) = run_within(wasm(SPIN), Arc::new(vec![]).into(), limits, Duration::from_secs(20)).expect("still running after 20 s");
	assert!(matches!(&r.outcome, Err(Failure::Aborted(why)) if why.contains("CPU time")), "{:?}", r.outcome);
	assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_run_still_going_at_its_deadline_is_aborted() {
	let limits = Limits { fuel_cap: 15_000_000_000, deadline: Some(Instant::now() + Duration::from_millis(400)), ..Limits::default() };
	let (r, took) = run_within(wasm(SPIN), Arc::new(vec![]).into(), limits, Duration::from_secs(20)).expect("still running after 20 s");
	assert!(matches!(&r.outcome, Err(Failure::Aborted(why)) if why.contains("due")), "{:?}", r.outcome);
	assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn the_default_cpu_time_follows_the_fuel_cap() {
	assert_eq!(Limits::cpu_time_for(0), Duration::from_secs(1));
	// The chain's MaxFuelCap, at half the rate prices assume: a minute.
	assert_eq!(Limits::cpu_time_for(15_000_000_000), Duration::from_secs(61));
	// A short run well inside its default limit is not cut.
	let src = r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (local $i i32)
		(loop (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if 0 (i32.lt_u (local.get $i) (i32.const 10000000))))
		(i32.const 0)))"#;
	let (r, _) = run_within(wasm(src), Arc::new(vec![]).into(), Limits::default(), Duration::from_secs(20)).unwrap();
	assert_eq!(r.outcome, Ok(vec![]));
}

#[test]
fn a_bulk_operation_in_a_start_function_traps_the_same_everywhere() {
	let src = r#"(module (memory (export "memory") 1)
		(func $init (memory.fill (i32.const 0) (i32.const 1) (i32.const 100)))
		(start $init)
		(func (export "run") (result i32) (i32.const 0)))"#;
	let (r, _) = run_within(wasm(src), Arc::new(vec![]).into(), Limits::default(), Duration::from_secs(10)).unwrap();
	assert_eq!(r.outcome, Err(Failure::Trap("indirect call to null".into())));
}

#[test]
fn a_module_may_not_use_the_meter_name() {
	let src = r#"(module (memory (export "memory") 1) (table (export "__gravity_meter") 1 funcref)
		(func (export "run") (result i32) (i32.const 0)))"#;
	let (r, _) = run_within(wasm(src), Arc::new(vec![]).into(), Limits::default(), Duration::from_secs(10)).unwrap();
	assert_eq!(r.outcome, Err(Failure::InvalidModule));
}

#[test]
fn a_module_with_its_own_tables_keeps_them() {
	// call_indirect through the module's own table 0 still works next to the meter table.
	let src = r#"(module (memory (export "memory") 1)
		(type $t (func (result i32)))
		(table 2 funcref) (elem (i32.const 1) $seven)
		(func $seven (result i32) (i32.const 7))
		(func (export "run") (result i32)
		  (memory.fill (i32.const 0) (i32.const 0) (i32.const 8))
		  (i32.sub (call_indirect (type $t) (i32.const 1)) (i32.const 7))))"#;
	let (r, _) = run_within(wasm(src), Arc::new(vec![]).into(), Limits::default(), Duration::from_secs(10)).unwrap();
	assert_eq!(r.outcome, Ok(vec![]));
}

/// Time per unit of fuel for every operator class whose work a unit pays for: ordinary
/// operators (a counted loop), bulk fills and copies, table fills, and the host copies. Printed
/// as a table (the figures in `docs/benchmarks.md`, "Fuel and time"); each class must stay
/// within 20 ns a unit, which the executor's default time limit ([`Limits::cpu_time_for`], 4 ns
/// a unit) and the chain's prices (2 ns a unit) assume within a factor of 10. Before metering
/// version 2, a 64 MiB fill cost one unit: about 10 ms a unit.
#[test]
fn every_operator_class_spends_fuel_in_proportion_to_time() {
	let ex = Executor::new(8).unwrap();
	let classes: Vec<(&str, String, TaskInput)> = vec![
		(
			"ordinary operators (i32 loop)",
			r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (local $i i32) (local $x i32)
			  (loop (local.set $x (i32.add (local.get $x) (i32.mul (local.get $i) (i32.const 3))))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 50000000))))
			  (i32.and (local.get $x) (i32.const 0))))"#
				.into(),
			Arc::new(vec![]).into(),
		),
		(
			"memory.fill (64 MiB each)",
			r#"(module (memory (export "memory") 1025) (func (export "run") (result i32) (local $i i32)
			  (loop (memory.fill (i32.const 0) (local.get $i) (i32.const 67108864))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 16))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![]).into(),
		),
		(
			"memory.copy (64 MiB each)",
			r#"(module (memory (export "memory") 1025) (func (export "run") (result i32) (local $i i32)
			  (loop (memory.copy (i32.const 0) (i32.const 65536) (i32.const 67108864))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 16))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![]).into(),
		),
		(
			"memory.fill (256 B each)",
			r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (local $i i32)
			  (loop (memory.fill (i32.const 0) (local.get $i) (i32.const 256))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 1000000))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![]).into(),
		),
		(
			"table.fill (100,000 entries each)",
			r#"(module (memory (export "memory") 1) (table 100000 funcref) (func (export "run") (result i32) (local $i i32)
			  (loop (table.fill 0 (i32.const 0) (ref.null func) (i32.const 100000))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 200))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![]).into(),
		),
		(
			"input_read (64 MiB each)",
			r#"(module (import "gravity" "input_read" (func $read (param i32 i32 i32) (result i32)))
			  (memory (export "memory") 1025) (func (export "run") (result i32) (local $i i32)
			  (loop (drop (call $read (i32.const 0) (i32.const 0) (i32.const 67108864)))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 16))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![3u8; 64 << 20]).into(),
		),
		(
			"input_read (16 B each)",
			r#"(module (import "gravity" "input_read" (func $read (param i32 i32 i32) (result i32)))
			  (memory (export "memory") 1) (func (export "run") (result i32) (local $i i32)
			  (loop (drop (call $read (i32.const 0) (i32.const 0) (i32.const 16)))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 1000000))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![3u8; 64]).into(),
		),
		(
			"output_write (1 MiB each)",
			r#"(module (import "gravity" "output_write" (func $write (param i32 i32) (result i32)))
			  (memory (export "memory") 17) (func (export "run") (result i32) (local $i i32)
			  (loop (drop (call $write (i32.const 0) (i32.const 1048576)))
			        (local.set $i (i32.add (local.get $i) (i32.const 1)))
			        (br_if 0 (i32.lt_u (local.get $i) (i32.const 64))))
			  (i32.const 0)))"#
				.into(),
			Arc::new(vec![]).into(),
		),
	];
	println!("| operator class | fuel | time | ns per unit of fuel |");
	println!("|---|---|---|---|");
	for (name, src, input) in classes {
		let w = wasm(&src);
		let limits = Limits { fuel_cap: 15_000_000_000, ..Limits::default() };
		// Compile once (not timed), then the median of three runs.
		let _ = ex.run(program_hash(&w), &w, input.clone(), [0; 32], &limits);
		let mut runs: Vec<(Duration, u64)> = (0..3)
			.map(|_| {
				let t = Instant::now();
				let (r, _) = ex.run(program_hash(&w), &w, input.clone(), [0; 32], &limits);
				assert!(r.outcome.is_ok(), "{name}: {:?}", r.outcome);
				(t.elapsed(), r.fuel_used)
			})
			.collect();
		runs.sort();
		let (took, fuel) = runs[1];
		let per_unit = took.as_nanos() as f64 / fuel as f64;
		println!("| {name} | {fuel} | {:.1} ms | {per_unit:.2} |", took.as_secs_f64() * 1e3);
		assert!(per_unit < 20.0, "{name}: {per_unit:.2} ns a unit of fuel");
	}
}
