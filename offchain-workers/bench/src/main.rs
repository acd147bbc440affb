//! `gravity-executor-bench`: the render kernel and the CPU kernel natively and in the sandbox
//! (with and without fuel metering), side by side in one run, plus per-task overhead.
//!
//! Run: `cargo run --release -p gravity-executor-bench` (figures: docs/benchmarks.md).

use gravity_executor::{program_hash, Executor, Limits, NanCanonicalization};
use gravity_protocol::input::{encode, TaskInput};
use std::{sync::Arc, time::Instant};

const SCENE: &str = include_str!("../../../tasks/render/scenes/demo.scene");
const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
	v.sort_by(|a, b| a.partial_cmp(b).unwrap());
	v[v.len() / 2]
}

fn main() {
	let scene = gravity_task_render::Scene::parse(SCENE).expect("demo scene parses");
	let (tx, ty) = scene.tiles();
	let inputs: Vec<Arc<Vec<u8>>> = (0..tx * ty)
		.map(|i| Arc::new(encode(i, SCENE.as_bytes())))
		.collect();
	let wasm = gravity_task_programs::RENDER;
	let hash = program_hash(wasm);
	let metered = Executor::new(4).unwrap();
	let unmetered = Executor::new_unmetered(4).unwrap();
	let limits = Limits::default();
	// Warm the module caches (compilation is measured separately).
	let t = Instant::now();
	let _ = metered.run(hash, wasm, inputs[0].clone(), [0; 32], &limits);
	let compile_ms = t.elapsed().as_secs_f64() * 1e3;
	let _ = unmetered.run(hash, wasm, inputs[0].clone(), [0; 32], &limits);

	let (mut native, mut sandbox, mut nofuel) = (vec![], vec![], vec![]);
	let mut fuel_total = 0u64;
	let mut overhead = vec![];
	for _ in 0..ROUNDS {
		let t = Instant::now();
		let mut native_tiles = vec![];
		for i in &inputs {
			native_tiles.push(gravity_task_render::render_task(TaskInput::parse(i).unwrap()).unwrap());
		}
		native.push(t.elapsed().as_secs_f64());

		let t = Instant::now();
		let mut wasm_tiles = vec![];
		fuel_total = 0;
		for i in &inputs {
			let (r, stats) = metered.run(hash, wasm, i.clone(), [0; 32], &limits);
			fuel_total += r.fuel_used;
			overhead.push(stats.overhead_ns as f64 / 1e6);
			wasm_tiles.push(r.outcome.expect("render task succeeds in the sandbox"));
		}
		sandbox.push(t.elapsed().as_secs_f64());
		assert_eq!(native_tiles, wasm_tiles, "sandbox and native tiles differ");

		let t = Instant::now();
		for i in &inputs {
			let (r, _) = unmetered.run(hash, wasm, i.clone(), [0; 32], &limits);
			r.outcome.expect("render task succeeds unmetered");
		}
		nofuel.push(t.elapsed().as_secs_f64());
	}
	let (n, s, u) = (median(native), median(sandbox), median(nofuel));
	// The other NaN settings, for comparison: Cranelift's canonicalize-every-operation option
	// (same observable results, asserted) and none at all (not deterministic, timing only).
	let mut other = vec![];
	for nans in [NanCanonicalization::EveryOperation, NanCanonicalization::Off] {
		let ex = Executor::with_options(4, true, nans).unwrap();
		let _ = ex.run(hash, wasm, inputs[0].clone(), [0; 32], &limits);
		let mut times = vec![];
		for _ in 0..ROUNDS {
			let t = Instant::now();
			let mut tiles = vec![];
			for i in &inputs {
				let (r, _) = ex.run(hash, wasm, i.clone(), [0; 32], &limits);
				tiles.push(r.outcome.expect("render task succeeds"));
			}
			times.push(t.elapsed().as_secs_f64());
			if nans == NanCanonicalization::EveryOperation {
				let reference: Vec<Vec<u8>> =
					inputs.iter().map(|i| gravity_task_render::render_task(TaskInput::parse(i).unwrap()).unwrap()).collect();
				assert_eq!(tiles, reference, "every-operation canonicalization changed the tiles");
			}
		}
		other.push(median(times));
	}
	let (every, c) = (other[0], other[1]);
	// The deterministic stack limit's cost: the same settings without the instrumentation.
	let plain = Executor::for_stack_test(gravity_executor::NATIVE_STACK_BYTES, false).unwrap();
	let _ = plain.run(hash, wasm, inputs[0].clone(), [0; 32], &limits);
	let mut times = vec![];
	for _ in 0..ROUNDS {
		let t = Instant::now();
		for i in &inputs {
			let (r, _) = plain.run(hash, wasm, i.clone(), [0; 32], &limits);
			r.outcome.expect("render task succeeds");
		}
		times.push(t.elapsed().as_secs_f64());
	}
	let no_stack_limit = median(times);


	// Per-task overhead on a near-empty task: instantiate from the cache, pass input, collect output.
	let cpu = gravity_task_programs::CPUBENCH;
	let cpu_hash = program_hash(cpu);
	let tiny = Arc::new(encode(0, &[1u32.to_le_bytes(), 0u32.to_le_bytes()].concat()));
	let _ = metered.run(cpu_hash, cpu, tiny.clone(), [0; 32], &limits);
	let mut tiny_total = vec![];
	for _ in 0..200 {
		let (r, stats) = metered.run(cpu_hash, cpu, tiny.clone(), [0; 32], &limits);
		assert!(r.outcome.is_ok());
		tiny_total.push(stats.total_ns as f64 / 1e6);
	}

	// CPU kernel, native vs sandbox.
	let cin = Arc::new(encode(0, &[128u32.to_le_bytes(), 200_000u32.to_le_bytes()].concat()));
	let t = Instant::now();
	let cn = gravity_task_cpubench::bench_task(TaskInput::parse(&cin).unwrap()).unwrap();
	let cpu_native = t.elapsed().as_secs_f64();
	let t = Instant::now();
	let (cr, _) = metered.run(cpu_hash, cpu, cin.clone(), [0; 32], &limits);
	let cpu_sandbox = t.elapsed().as_secs_f64();
	assert_eq!(cr.outcome.unwrap(), cn);

	let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
		.ok()
		.and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
		.unwrap_or_else(|| "unknown".into());
	println!("CPU: {cpu_model} ({} threads)", std::thread::available_parallelism().map_or(0, |n| n.get()));
	println!("render: {}x{} px, {} tiles, median of {ROUNDS} rounds", scene.width, scene.height, tx * ty);
	println!("| measure | value |");
	println!("|---|---|");
	println!("| native render, all tiles | {:.1} ms |", n * 1e3);
	println!("| sandbox render, fuel metering on | {:.1} ms |", s * 1e3);
	println!("| sandbox render, fuel metering off | {:.1} ms |", u * 1e3);
	println!("| sandbox / native (metered) | {:.2}x |", s / n);
	println!("| fuel-metering overhead (metered / unmetered) | {:.2}x |", s / u);
	println!("| sandbox render, metered, Cranelift's canonicalize-every-operation instead | {:.1} ms ({:.2}x native) |", every * 1e3, every / n);
	println!("| sandbox render, metered, no NaN canonicalization (not deterministic, not used) | {:.1} ms |", c * 1e3);
	println!("| NaN-canonicalization overhead (metered / metered without) | {:.2}x |", s / c);
	println!("| sandbox render, metered, without the deterministic stack limit | {:.1} ms |", no_stack_limit * 1e3);
	println!("| deterministic-stack-limit overhead (metered / metered without) | {:.2}x |", s / no_stack_limit);
	println!("| fuel used, all tiles (compile price included, charged per run) | {fuel_total} |");
	println!("| module compile (cache miss, once per program) | {compile_ms:.1} ms |");
	println!("| per-task overhead in render runs (instantiate + input + output), median | {:.3} ms |", median(overhead));
	println!("| whole near-empty task from cache, median of 200 | {:.3} ms |", median(tiny_total));
	println!("| cpubench 128x128 + 200k rounds: native / sandbox | {:.1} ms / {:.1} ms ({:.2}x) |", cpu_native * 1e3, cpu_sandbox * 1e3, cpu_sandbox / cpu_native);
	println!("outputs identical byte for byte: yes (asserted)");
}
