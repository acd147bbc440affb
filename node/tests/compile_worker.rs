//! The provider's compile worker (`gravity-node compile-worker`): same results as compiling in
//! process, hostile modules refused, and a worker that crashes, runs out of memory or time is an
//! aborted run (declined by the provider), never a dead node.

use gravity_executor::{program_hash, Executor, Failure, Limits, WorkerLimits};
use hostile::dense_module;
use std::{process::Command, sync::Arc, time::Duration};

#[path = "../../offchain-workers/executor/tests/support/hostile.rs"]
mod hostile;

const NODE: &str = env!("CARGO_BIN_EXE_gravity-node");

fn in_worker(limits: WorkerLimits) -> Executor {
	Executor::new(4).unwrap().with_compile_worker(NODE.into(), vec!["compile-worker".into()], limits)
}

fn run(ex: &Executor, wasm: &[u8]) -> gravity_executor::TaskResult {
	ex.run(program_hash(wasm), wasm, Arc::new(b"gravity".to_vec()), [1; 32], &Limits::default()).0
}

#[test]
fn the_worker_compiles_exactly_what_the_node_would() {
	for wasm in [dense_module(3, 16, 40), gravity_task_programs::WORDCOUNT_MAP.to_vec(), gravity_task_programs::RENDER.to_vec()] {
		let here = run(&Executor::new(4).unwrap(), &wasm);
		let there = run(&in_worker(WorkerLimits::default()), &wasm);
		assert_eq!(here, there);
	}
	// A deterministic failure comes back as the same failure.
	let hostile = dense_module(1, 50_000, 100);
	let r = run(&in_worker(WorkerLimits::default()), &hostile);
	assert!(matches!(r.outcome, Err(Failure::ModuleTooComplex(ref w)) if w.starts_with("locals of one function")), "{r:?}");
	assert_eq!(r, run(&Executor::new(4).unwrap(), &hostile));
}

#[test]
fn a_worker_out_of_memory_or_time_is_an_aborted_run_and_the_node_goes_on() {
	let wasm = gravity_task_programs::RENDER.to_vec();
	let starved = in_worker(WorkerLimits { memory_bytes: 48 << 20, timeout: Duration::from_secs(60) });
	assert!(matches!(run(&starved, &wasm).outcome, Err(Failure::Aborted(_))));
	let hurried = in_worker(WorkerLimits { memory_bytes: 3 << 30, timeout: Duration::from_millis(1) });
	assert!(matches!(run(&hurried, &wasm).outcome, Err(Failure::Aborted(_))));
	let missing = Executor::new(4).unwrap().with_compile_worker("/nonexistent/gravity-node".into(), vec![], WorkerLimits::default());
	assert!(matches!(run(&missing, &wasm).outcome, Err(Failure::Aborted(_))));
	// This process is fine, and the same module compiles with the default limits.
	let r = run(&in_worker(WorkerLimits::default()), &wasm);
	assert!(!matches!(r.outcome, Err(Failure::Aborted(_))), "{r:?}");
	assert!(r.fuel_used > 0);
}

#[test]
fn the_worst_modules_within_the_limits_compile_inside_the_worker_limits() {
	use gravity_executor::prepare::ModuleLimits;
	let l = ModuleLimits::TASK;
	for (name, wasm) in [
		("one dense function", dense_module(1, l.max_locals, l.max_branches)),
		("10,000 functions", dense_module(l.max_functions - 1, 4, 10)),
	] {
		let t = std::time::Instant::now();
		let r = run(&in_worker(WorkerLimits::default()), &wasm);
		let took = t.elapsed();
		assert_eq!(r.outcome, Ok(vec![]), "{name}");
		// Peak memory of the biggest worker so far (this test's children).
		let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
		unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
		println!("{name}: {} bytes, compiled in the worker in {} ms, worker peak RSS ≤ {} MiB", wasm.len(), took.as_millis(), usage.ru_maxrss / 1024);
	}
}

#[test]
fn check_program_says_what_is_wrong_before_upload() {
	let dir = std::env::temp_dir().join(format!("gravity-check-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let good = dir.join("good.wasm");
	let bad = dir.join("bad.wasm");
	std::fs::write(&good, gravity_task_programs::RENDER).unwrap();
	std::fs::write(&bad, dense_module(1, 50_000, 10)).unwrap();
	let ok = Command::new(NODE).args(["check-program", good.to_str().unwrap()]).output().unwrap();
	assert!(ok.status.success(), "{ok:?}");
	assert!(String::from_utf8_lossy(&ok.stdout).contains("fuel for compiling it"));
	let no = Command::new(NODE).args(["check-program", bad.to_str().unwrap()]).output().unwrap();
	assert!(!no.status.success());
	let err = String::from_utf8_lossy(&no.stderr);
	assert!(err.contains("locals of one function: 50000 (limit 2048)"), "{err}");
	std::fs::remove_dir_all(&dir).unwrap();
}
