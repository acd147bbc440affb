//! # gravity-executor
//!
//! Runs Gravity task programs (WebAssembly) deterministically, so that replicas of a task on
//! x86-64 and ARM produce bit-identical results and a quorum can compare their hashes.
//!
//! ## Determinism
//! - wasmtime with Cranelift, **fuel metering** on: every run stops after `fuel_cap` units, and the
//!   fuel used is reported (it is the billing unit on chain);
//! - **NaN canonicalization**: every NaN a program can observe has the canonical bits, by a
//!   rewrite of the module at the points where NaN bits can leak ([`nan`]), which gives the
//!   same observable results as Cranelift's canonicalize-every-operation option at half its
//!   cost on float code; no threads, no relaxed SIMD, no multi-memory, no memory64;
//! - the Wasm features of WebAssembly 2.0 (SIMD included; validated before the rewrite): any
//!   other proposal (threads, relaxed SIMD, tail calls, GC, memory64, …) is an invalid module;
//! - a **memory cap** (`max_memory_bytes`) enforced by a resource limiter;
//! - **no host access** but the task ABI below: no clock, no randomness except the 32-byte seed
//!   the chain gives, no files, no network;
//! - a **deterministic stack limit**: the module is instrumented to count its stack use in
//!   logical units and trap at [`prepare::STACK_LIMIT`], long before the native stack (a run
//!   gets [`NATIVE_STACK_BYTES`] on a thread of its own) could overflow; so a stack overflow is
//!   the same failure at the same fuel on every machine ([`prepare`]).
//!
//! ## Fuel is time (metering version 2)
//! A unit of fuel must stand for a bounded amount of work, or a cheap job can hold a provider
//! for hours. wasmtime charges one unit per operator; the operators and host calls whose work
//! grows with a length are charged by bytes on top:
//! - `memory.fill|copy|init`, `table.fill|copy|init|grow`: [`BYTES_PER_FUEL`] bytes (or table
//!   elements) a unit, charged through the meter the module rewrite inserts before each one
//!   ([`prepare`], "Bulk operations charged by bytes");
//! - `input_read` and `output_write`: [`HOST_CALL_FUEL`] a call plus [`BYTES_PER_FUEL`] bytes a
//!   unit of what they copy; `seed` and `input_len`: [`HOST_CALL_FUEL`].
//!
//! The charge is taken before the work; a run that cannot pay ends [`Failure::OutOfFuel`], the
//! same on every machine. Measured ratios of time to fuel for each operator class are in
//! `docs/benchmarks.md` ("Fuel and time").
//!
//! A run also has a **time limit**, which is not part of the result: CPU time
//! ([`Limits::cpu_time`], by default [`Limits::cpu_time_for`] its fuel cap at
//! [`MIN_FUEL_PER_SECOND`]) and a wall-clock deadline ([`Limits::deadline`]: a provider passes
//! the last moment its commitment can still reach the chain). Both are checked every
//! [`TICK`] through wasmtime's epoch interruption; an overrun is [`Failure::Aborted`], so the
//! provider declines the replica (free) instead of running into its commit deadline.
//!
//! ## Hostile modules
//! Compilation is work nobody meters with fuel, so it is bounded three ways:
//! - **structural limits** ([`prepare::ModuleLimits::TASK`]: functions, locals per function,
//!   body and code bytes, operand-stack height, branches per function), checked before
//!   compilation, deterministically: a module over one is the failure result
//!   [`Failure::ModuleTooComplex`] on every replica; `gravity-node check-program <file>` tells a
//!   requester the same before uploading;
//! - **a compile worker**: provider nodes compile in a separate process
//!   (`gravity-node compile-worker`, [`compile`]) with a memory and a time limit; if it crashes
//!   or is killed the run is [`Failure::Aborted`] — not a result: the provider declines the
//!   replica (free) and goes on;
//! - **a compile price**: every run is charged [`compile_fuel`] (per function and per code byte)
//!   before its own fuel, whether the module was cached or not, so that every replica reports
//!   the same fuel.
//!
//! `tests/support/hostile.rs` (test support, not this crate's API) generates the modules the
//! tests attack with; the figures are in `docs/benchmarks.md` ("Hostile modules").
//!
//! ## Task ABI (version 1)
//! A task module exports `memory` and `run: () -> i32`, and may import only these functions from
//! module `gravity`:
//!
//! | import | signature | meaning |
//! |---|---|---|
//! | `input_len` | `() -> i32` | length of the input in bytes |
//! | `input_read` | `(ptr: i32, offset: i32, len: i32) -> i32` | copy input bytes `[offset, offset+len)` to `ptr`; returns bytes copied |
//! | `output_write` | `(ptr: i32, len: i32) -> i32` | append `len` bytes at `ptr` to the output; 0 ok, traps past `max_output_bytes` |
//! | `seed` | `(ptr: i32)` | write the 32-byte seed from the chain at `ptr` |
//!
//! The input ([`TaskInput`]) is bytes in memory or a header followed by a complete file of the
//! node's content store, which `input_read` copies from straight into the task's memory: a task
//! that reads its input in pieces never makes the node hold it (tested with a 256 MiB input in
//! `tests/streaming_input.rs`). A read error of that file is [`Failure::Aborted`], never a
//! result.
//!
//! `run` returns 0 on success; any other value is a task-reported failure.
//!
//! The input a provider node passes is `param: u32 LE` ‖ data: `param` is the tile index of a
//! render task, the partition of a reduce task, 0 otherwise; data is the task's input content
//! (for a reduce task: `reducers: u32 LE` ‖ `n: u32 LE` ‖ n × (`len: u32 LE` ‖ map output)). Rust tasks use the
//! `gravity-task-sdk` crate, which wraps all of this.
//!
//! ## Results
//! Every run ends in a [`TaskResult`]: `Ok` with the output bytes, or a deterministic
//! [`Failure`] (invalid module, module over a structural limit, forbidden import, trap — a stack
//! overflow included —, fuel exhausted, memory limit, output too large, task error), or
//! [`Failure::Aborted`] when this machine could not run it at all (never committed). The result a provider commits to is named by
//! [`TaskResult::output_id`], the content id (BLAKE3 + size) of the output for a success, of
//! `b"gravity-failure" ‖ SCALE(failure)` otherwise.
//! A failure is a result like any other: it is reported on chain, never a crash.

pub mod compile;
pub mod input;
pub mod nan;
pub mod prepare;

pub use compile::{CompileIn, WorkerLimits};
pub use input::{TaskInput, MAX_INPUT};
use compile::EngineSettings;

use codec::{Decode, Encode};
use parking_lot::Mutex;
use std::{
	collections::HashMap,
	sync::Arc,
	time::{Duration, Instant},
};
use wasmtime::{
	Caller, Config, Engine, Extern, Func, Linker, Memory, Module, OptLevel, Ref, ResourceLimiter, Store, Trap,
	UpdateDeadline,
};

/// Limits of one run.
#[derive(Clone, Debug)]
pub struct Limits {
	/// Fuel available to the run (the job's fuel cap).
	pub fuel_cap: u64,
	/// Largest linear memory, in bytes.
	pub max_memory_bytes: usize,
	/// Largest output, in bytes.
	pub max_output_bytes: usize,
	/// CPU time the run's thread may use; `None`: [`Limits::cpu_time_for`] the fuel cap.
	/// Overrun: [`Failure::Aborted`] (not a result).
	pub cpu_time: Option<Duration>,
	/// The moment by which the run must have ended whatever the machine is doing (a provider:
	/// the last moment its commitment can reach the chain). Overrun: [`Failure::Aborted`].
	pub deadline: Option<Instant>,
}

impl Default for Limits {
	fn default() -> Self {
		Self {
			fuel_cap: 10_000_000_000,
			max_memory_bytes: 256 << 20,
			max_output_bytes: 64 << 20,
			cpu_time: None,
			deadline: None,
		}
	}
}

impl Limits {
	/// The CPU time a run with `fuel_cap` may use by default: one second plus the cap at
	/// [`MIN_FUEL_PER_SECOND`] (half the rate the chain's prices and `MaxFuelCap` assume, so an
	/// honest run on a slow machine is not cut short).
	pub fn cpu_time_for(fuel_cap: u64) -> Duration {
		Duration::from_secs(1) + Duration::from_nanos(fuel_cap.saturating_mul(1_000_000_000 / MIN_FUEL_PER_SECOND))
	}
}

/// Bytes a bulk operation or a host copy moves per unit of fuel. Set from the measured copy and
/// fill rates against the rate of ordinary operators (`docs/benchmarks.md`, "Fuel and time").
pub const BYTES_PER_FUEL: u64 = 4;

/// Fuel every call of a task ABI function costs, on top of the bytes it copies.
pub const HOST_CALL_FUEL: u64 = 50;

/// The slowest fuel rate the executor's default time limit allows for (units a second).
pub const MIN_FUEL_PER_SECOND: u64 = 250_000_000;

/// The metering version: 2 since bulk operations and host copies are charged by bytes. A change
/// of any fuel rule changes the fuel replicas report, so it is a new version.
pub const METERING_VERSION: u32 = 2;

/// How often a run's time limits are checked (one epoch tick).
pub const TICK: Duration = Duration::from_millis(10);

/// Why a run produced no output. Deterministic: the same module and input give the same failure
/// on every machine.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Failure {
	/// The program is not valid WebAssembly (or uses a disabled feature).
	InvalidModule,
	/// The program imports something outside the task ABI (`module::name`).
	ForbiddenImport(String),
	/// The program does not export `memory` and `run: () -> i32`.
	BadExports,
	/// The program trapped (wasm trap code, e.g. "unreachable", "memory out of bounds").
	Trap(String),
	/// The run used all its fuel.
	OutOfFuel,
	/// The program tried to grow memory past the cap.
	MemoryLimit,
	/// The program wrote more output than allowed.
	OutputTooLarge,
	/// `run` returned this non-zero code.
	TaskError(i32),
	/// Not a result: this provider could not run the task (no thread for it, or its compile
	/// worker crashed or ran out of time or memory). Never committed; the provider declines
	/// the replica and another provider runs it.
	Aborted(String),
	/// The program is over a structural limit of task modules
	/// ([`prepare::ModuleLimits::TASK`]): which one, by how much.
	ModuleTooComplex(String),
}

impl core::fmt::Display for Failure {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Failure::InvalidModule => write!(f, "invalid wasm module"),
			Failure::ForbiddenImport(i) => write!(f, "forbidden import {i}"),
			Failure::BadExports => write!(f, "module must export `memory` and `run: () -> i32`"),
			Failure::Trap(t) => write!(f, "trap: {t}"),
			Failure::OutOfFuel => write!(f, "out of fuel"),
			Failure::MemoryLimit => write!(f, "memory limit exceeded"),
			Failure::OutputTooLarge => write!(f, "output too large"),
			Failure::TaskError(c) => write!(f, "task returned error code {c}"),
			Failure::Aborted(why) => write!(f, "not run on this machine: {why}"),
			Failure::ModuleTooComplex(what) => write!(f, "module over a structural limit: {what}"),
		}
	}
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskResult {
	pub outcome: Result<Vec<u8>, Failure>,
	/// Fuel consumed (the fuel cap when it ran out; 0 if the module never started).
	pub fuel_used: u64,
}

impl TaskResult {
	/// The content id of the result: of the output bytes, or of the failure bytes
	/// (`gravity_protocol::result::failure_bytes`).
	pub fn output_id(&self) -> gravity_protocol::content::ContentId {
		match &self.outcome {
			Ok(out) => gravity_protocol::content::ContentId::of(out),
			Err(_) => gravity_protocol::content::ContentId::of(&self.deliverable()),
		}
	}

	/// The bytes a provider stores to deliver this result: the output, or for a failure the
	/// failure bytes (so that the requester can read why its task failed). Their content id
	/// is `output_id`.
	pub fn deliverable(&self) -> Vec<u8> {
		match &self.outcome {
			Ok(out) => out.clone(),
			Err(f) => gravity_protocol::result::failure_bytes(&f.encode()),
		}
	}
}

/// Timing of one run (for benchmarks and logs; not part of the result).
#[derive(Clone, Debug, Default)]
pub struct RunStats {
	/// Module compiled for this run (cache miss).
	pub compiled: bool,
	pub compile_ns: u128,
	/// Instantiate + pass input + collect output, excluding `run`'s own execution.
	pub overhead_ns: u128,
	pub total_ns: u128,
}

struct HostState {
	input: TaskInput,
	/// Reading the input failed on this machine (a disk error): the run is aborted.
	input_error: Option<String>,
	output: Vec<u8>,
	max_output: usize,
	seed: [u8; 32],
	max_memory: usize,
	memory_denied: bool,
	output_overflow: bool,
	/// A charge by bytes could not be paid.
	out_of_fuel: bool,
	/// The run passed its CPU time or its deadline: why.
	overran: Option<String>,
}

impl ResourceLimiter for HostState {
	fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
		if desired > self.max_memory {
			self.memory_denied = true;
			return Ok(false)
		}
		Ok(true)
	}
	fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
		Ok(desired <= 100_000)
	}
}

/// The allowed imports (module `gravity`).
const ABI_IMPORTS: [&str; 4] = ["input_len", "input_read", "output_write", "seed"];

/// A task's program: its bytes, or a way to read them that the executor calls only when the
/// module is not in its cache (a provider reads a program from the chain only to compile it).
pub enum Program<'a> {
	/// The program's bytes.
	Bytes(&'a [u8]),
	/// Reads the program's bytes; `None` when they cannot be read.
	Load(&'a (dyn Fn() -> Option<Vec<u8>> + Sync)),
}

/// The deterministic task executor, with a compiled-module cache keyed by program hash.
/// Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Executor {
	engine: Engine,
	linker: Arc<Linker<HostState>>,
	cache: Arc<Mutex<HashMap<[u8; 32], (Module, u64)>>>,
	max_cached: usize,
	metered: bool,
	/// Native stack of a run's thread (and wasmtime's `max_wasm_stack` below it).
	native_stack: usize,
	/// How the engine is configured (NaNs, fuel, stack limit): what a compile worker must use.
	settings: EngineSettings,
	compile_in: CompileIn,
}

/// The wasmtime engine for `settings`.
pub(crate) fn engine(settings: &EngineSettings) -> Result<Engine, String> {
	let mut config = Config::new();
	config
		.consume_fuel(settings.metered)
		.cranelift_nan_canonicalization(settings.nans == 1)
		.cranelift_opt_level(OptLevel::Speed)
		.wasm_threads(false)
		.wasm_relaxed_simd(false)
		.wasm_multi_memory(false)
		.wasm_memory64(false)
		.wasm_simd(true)
		.wasm_bulk_memory(true)
		// Time limits (see "Fuel is time"): checked at loop heads and function entries.
		.epoch_interruption(true)
		// Far more than `STACK_LIMIT` logical units can use: the instrumented limit always
		// trips first (see `prepare`). Runs get a thread with this much stack.
		.max_wasm_stack(settings.native_stack as usize);
	Engine::new(&config).map_err(|e| format!("wasmtime engine: {e}"))
}

/// Fail a module that imports anything but the task ABI.
pub(crate) fn check_imports(module: &Module) -> Result<(), Failure> {
	for import in module.imports() {
		if import.module() != "gravity" || !ABI_IMPORTS.contains(&import.name()) {
			return Err(Failure::ForbiddenImport(format!("{}::{}", import.module(), import.name())))
		}
	}
	Ok(())
}

/// Fuel charged to every run for compiling its module, whether this provider had it cached or
/// not (every replica must report the same fuel): per function, per byte of code, and per
/// (local × branch) of each function, the product that makes Cranelift's register allocation
/// superlinear. See `docs/benchmarks.md` ("Hostile modules") for how the rates were set and
/// what they cover.
pub const COMPILE_FUEL_PER_FUNCTION: u64 = 2_000;
/// See [`COMPILE_FUEL_PER_FUNCTION`].
pub const COMPILE_FUEL_PER_CODE_BYTE: u64 = 20;
/// See [`COMPILE_FUEL_PER_FUNCTION`].
pub const COMPILE_FUEL_PER_LOCAL_BRANCH: u64 = 1;

/// The compile price of a prepared module.
pub fn compile_fuel(functions: u32, code_bytes: u32, complexity: u64) -> u64 {
	(functions as u64)
		.saturating_mul(COMPILE_FUEL_PER_FUNCTION)
		.saturating_add((code_bytes as u64).saturating_mul(COMPILE_FUEL_PER_CODE_BYTE))
		.saturating_add(complexity.saturating_mul(COMPILE_FUEL_PER_LOCAL_BRANCH))
}

/// Check a task program as every provider will (validity, ABI imports, structural limits) and
/// return its compile price in fuel, or the failure every replica would report.
pub fn check_program(wasm: &[u8]) -> Result<u64, Failure> {
	let executor = Executor::new(1).map_err(Failure::Aborted)?;
	let compiled = compile::compile_here(&executor.engine, &executor.settings, wasm)?;
	Ok(compile_fuel(compiled.functions, compiled.code_bytes, compiled.complexity))
}

/// Native stack a run may use: 2 KiB per logical stack unit ([`prepare::STACK_LIMIT`]), far
/// above what a unit (one value slot) can take in a Cranelift frame, so the logical limit is
/// always reached first. Only touched pages cost memory.
pub const NATIVE_STACK_BYTES: usize = 2048 * prepare::STACK_LIMIT as usize;

/// Stack above `max_wasm_stack` for the host side of a run (the ABI functions, wasmtime's
/// trampolines, the trap handler).
const HOST_STACK_BYTES: usize = 4 << 20;

/// Take `units` of fuel out of the run, before the work they pay for. A run that cannot pay
/// ends out of fuel (with nothing left). Without metering, free.
fn charge(c: &mut Caller<'_, HostState>, units: u64) -> wasmtime::Result<()> {
	let Ok(left) = c.get_fuel() else { return Ok(()) };
	if units > left {
		c.set_fuel(0)?;
		c.data_mut().out_of_fuel = true;
		return Err(Trap::OutOfFuel.into())
	}
	c.set_fuel(left - units)
}

/// The fuel of a host call that copies `bytes`.
fn copy_fuel(bytes: u64) -> u64 {
	HOST_CALL_FUEL.saturating_add(bytes / BYTES_PER_FUEL)
}

/// CPU time used by the calling thread.
fn thread_cpu_time() -> Duration {
	let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
	// SAFETY: `ts` is a valid timespec to write; the clock id is a constant Linux knows.
	if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
		return Duration::ZERO
	}
	Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Advance `engine`'s epoch every [`TICK`] for as long as the engine exists.
fn start_ticker(engine: &Engine) {
	let weak = engine.weak();
	let _ = std::thread::Builder::new().name("gravity-epoch".into()).spawn(move || loop {
		std::thread::sleep(TICK);
		match weak.upgrade() {
			Some(engine) => engine.increment_epoch(),
			None => return,
		}
	});
}

fn memory_of(caller: &mut Caller<'_, HostState>) -> Option<Memory> {
	match caller.get_export("memory") {
		Some(Extern::Memory(m)) => Some(m),
		_ => None,
	}
}

/// How NaN bit patterns are made deterministic (see [`nan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NanCanonicalization {
	/// Canonicalize where NaN bits become observable (stores, reinterprets, copysign, SIMD):
	/// the module is rewritten before compilation. Production setting.
	AtObservation,
	/// Cranelift's option: canonicalize after every float operation. Same observable results,
	/// about twice slower on float code; kept to test and measure against.
	EveryOperation,
	/// None. Not deterministic across CPUs: benchmarks only, never results for the chain.
	Off,
}

impl Executor {
	/// A new executor with a cache of at most `max_cached` compiled modules: fuel metering on,
	/// NaNs canonicalized where observable. The configuration providers run.
	pub fn new(max_cached: usize) -> Result<Self, String> {
		Self::with_options(max_cached, true, NanCanonicalization::AtObservation)
	}

	/// Benchmarks only: without fuel metering (to measure its cost).
	pub fn new_unmetered(max_cached: usize) -> Result<Self, String> {
		Self::with_options(max_cached, false, NanCanonicalization::AtObservation)
	}

	/// An executor with explicit fuel metering and NaN settings (tests and benchmarks; only
	/// [`Executor::new`]'s settings produce results for the chain).
	pub fn with_options(max_cached: usize, metered: bool, nans: NanCanonicalization) -> Result<Self, String> {
		Self::build(max_cached, metered, nans, NATIVE_STACK_BYTES, true)
	}

	/// Tests only: the production settings with `native_stack` bytes of native stack, and the
	/// deterministic stack limit on or off (off shows what it prevents: a stack overflow whose
	/// fuel depends on the native stack).
	pub fn for_stack_test(native_stack: usize, deterministic: bool) -> Result<Self, String> {
		Self::build(4, true, NanCanonicalization::AtObservation, native_stack, deterministic)
	}

	fn build(
		max_cached: usize,
		metered: bool,
		nans: NanCanonicalization,
		native_stack: usize,
		stack_limit: bool,
	) -> Result<Self, String> {
		let settings = EngineSettings {
			metered,
			nans: match nans {
				NanCanonicalization::AtObservation => 0,
				NanCanonicalization::EveryOperation => 1,
				NanCanonicalization::Off => 2,
			},
			native_stack: native_stack as u64,
			stack_limit,
		};
		let engine = engine(&settings)?;
		let mut linker = Linker::<HostState>::new(&engine);
		linker
			.func_wrap("gravity", "input_len", |mut c: Caller<'_, HostState>| -> wasmtime::Result<i32> {
				charge(&mut c, HOST_CALL_FUEL)?;
				Ok(c.data().input.len() as i32)
			})
			.and_then(|l| {
				l.func_wrap(
					"gravity",
					"input_read",
					|mut c: Caller<'_, HostState>, ptr: i32, offset: i32, len: i32| -> wasmtime::Result<i32> {
						let mem = memory_of(&mut c).ok_or_else(|| wasmtime::Error::msg("no memory"))?;
						let input = c.data().input.clone();
						let start = (offset as u32 as u64).min(input.len());
						let n = (len as u32 as u64).min(input.len() - start) as usize;
						charge(&mut c, copy_fuel(n as u64))?;
						let ptr = ptr as u32 as usize;
						// Straight from the input (memory or file) into the task's memory.
						let dest = mem
							.data_mut(&mut c)
							.get_mut(ptr..ptr.saturating_add(n))
							.filter(|d| d.len() == n)
							.ok_or(Trap::MemoryOutOfBounds)?;
						match input.read_at(start, dest) {
							Ok(got) => Ok(got as i32),
							Err(e) => {
								c.data_mut().input_error = Some(format!("reading the task's input: {e}"));
								Err(wasmtime::Error::msg("input read failed"))
							},
						}
					},
				)
			})
			.and_then(|l| {
				l.func_wrap(
					"gravity",
					"output_write",
					|mut c: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
						let mem = memory_of(&mut c).ok_or_else(|| wasmtime::Error::msg("no memory"))?;
						let len = len as u32 as usize;
						charge(&mut c, copy_fuel(len as u64))?;
						if c.data().output.len().saturating_add(len) > c.data().max_output {
							c.data_mut().output_overflow = true;
							return Err(wasmtime::Error::msg("output too large"))
						}
						let mut buf = vec![0u8; len];
						mem.read(&c, ptr as u32 as usize, &mut buf).map_err(|_| Trap::MemoryOutOfBounds)?;
						c.data_mut().output.extend_from_slice(&buf);
						Ok(0)
					},
				)
			})
			.and_then(|l| {
				l.func_wrap("gravity", "seed", |mut c: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
					charge(&mut c, HOST_CALL_FUEL)?;
					let mem = memory_of(&mut c).ok_or_else(|| wasmtime::Error::msg("no memory"))?;
					let seed = c.data().seed;
					mem.write(&mut c, ptr as u32 as usize, &seed).map_err(|_| Trap::MemoryOutOfBounds)?;
					Ok(())
				})
			})
			.map_err(|e| format!("linker: {e}"))?;
		start_ticker(&engine);
		Ok(Self {
			engine,
			linker: Arc::new(linker),
			cache: Default::default(),
			max_cached,
			metered,
			native_stack,
			settings,
			compile_in: CompileIn::Process,
		})
	}

	/// Compile modules in a worker process (`program args…`, e.g. `gravity-node
	/// compile-worker`) under `limits`, instead of in this process. What provider nodes do.
	pub fn with_compile_worker(mut self, program: std::path::PathBuf, args: Vec<String>, limits: WorkerLimits) -> Self {
		self.compile_in = CompileIn::Worker { program, args, limits };
		self
	}

	/// Compile (or fetch from the cache) the module whose bytes hash to `program_hash`, with
	/// its compile price in fuel. The program's bytes are read only on a cache miss.
	fn module(&self, program_hash: [u8; 32], program: &Program<'_>) -> Result<(Module, u64, bool), Failure> {
		if let Some((m, fuel)) = self.cache.lock().get(&program_hash) {
			return Ok((m.clone(), *fuel, false))
		}
		let loaded;
		let wasm: &[u8] = match program {
			Program::Bytes(bytes) => bytes,
			Program::Load(load) => {
				loaded = load().ok_or_else(|| Failure::Aborted("the program's bytes could not be read".into()))?;
				&loaded
			},
		};
		let compiled = match &self.compile_in {
			CompileIn::Process => compile::compile_here(&self.engine, &self.settings, wasm)?,
			CompileIn::Worker { program, args, limits } =>
				compile::compile_in_worker(&self.engine, &self.settings, wasm, program, args, limits)?,
		};
		let fuel = compile_fuel(compiled.functions, compiled.code_bytes, compiled.complexity);
		let mut cache = self.cache.lock();
		if cache.len() >= self.max_cached {
			// Evict an arbitrary entry; the cache is a speed-up, not a source of truth.
			if let Some(k) = cache.keys().next().copied() {
				cache.remove(&k);
			}
		}
		cache.insert(program_hash, (compiled.module.clone(), fuel));
		Ok((compiled.module, fuel, true))
	}

	/// Whether the module of `program_hash` is compiled and cached now (a caller may then skip
	/// reading the program's bytes: [`Program::Load`] covers an eviction in between).
	pub fn is_cached(&self, program_hash: [u8; 32]) -> bool {
		self.cache.lock().contains_key(&program_hash)
	}

	/// The run happens on a thread of its own with [`NATIVE_STACK_BYTES`] of stack.
	pub fn run(
		&self,
		program_hash: [u8; 32],
		wasm: &[u8],
		input: impl Into<TaskInput>,
		seed: [u8; 32],
		limits: &Limits,
	) -> (TaskResult, RunStats) {
		self.run_program(program_hash, Program::Bytes(wasm), input, seed, limits)
	}

	/// [`Executor::run`] with the program given as a [`Program`]: a loader is called only when
	/// the module is not cached, and a loader that cannot read it ends the run
	/// [`Failure::Aborted`] (not a result).
	pub fn run_program(
		&self,
		program_hash: [u8; 32],
		program: Program<'_>,
		input: impl Into<TaskInput>,
		seed: [u8; 32],
		limits: &Limits,
	) -> (TaskResult, RunStats) {
		let input = input.into();
		let spawned = std::thread::scope(|scope| {
			std::thread::Builder::new()
				.name("gravity-task".into())
				.stack_size(self.native_stack + HOST_STACK_BYTES)
				.spawn_scoped(scope, || self.run_here(program_hash, &program, input.clone(), seed, limits))
				.map(|handle| handle.join())
		});
		match spawned {
			Ok(Ok(done)) => done,
			// No thread (out of memory or address space) or a panic in the host side: this
			// machine could not run the task; nothing about the program is known.
			Ok(Err(_)) | Err(_) => (
				TaskResult { outcome: Err(Failure::Aborted("the task thread could not run".into())), fuel_used: 0 },
				RunStats::default(),
			),
		}
	}

	fn run_here(
		&self,
		program_hash: [u8; 32],
		program: &Program<'_>,
		input: TaskInput,
		seed: [u8; 32],
		limits: &Limits,
	) -> (TaskResult, RunStats) {
		let t0 = Instant::now();
		let mut stats = RunStats::default();
		let (module, compile_fuel) = match self.module(program_hash, program) {
			Ok((m, fuel, compiled)) => {
				stats.compiled = compiled;
				stats.compile_ns = t0.elapsed().as_nanos();
				(m, fuel)
			},
			Err(f) => return (TaskResult { outcome: Err(f), fuel_used: 0 }, stats),
		};
		// The compile price comes first out of the fuel cap.
		let compile_fuel = if self.metered { compile_fuel } else { 0 };
		if compile_fuel >= limits.fuel_cap && self.metered {
			return (TaskResult { outcome: Err(Failure::OutOfFuel), fuel_used: limits.fuel_cap }, stats)
		}
		let limits = &Limits { fuel_cap: limits.fuel_cap - compile_fuel, ..limits.clone() };
		let t1 = Instant::now();
		let state = HostState {
			input,
			input_error: None,
			output: Vec::new(),
			max_output: limits.max_output_bytes,
			seed,
			max_memory: limits.max_memory_bytes,
			memory_denied: false,
			output_overflow: false,
			out_of_fuel: false,
			overran: None,
		};
		let mut store = Store::new(&self.engine, state);
		store.limiter(|s| s as &mut dyn ResourceLimiter);
		// Time limits, checked every tick on this (the run's) thread.
		let cpu_limit = limits.cpu_time.unwrap_or_else(|| Limits::cpu_time_for(limits.fuel_cap));
		let deadline = limits.deadline;
		let cpu_at_start = thread_cpu_time();
		store.set_epoch_deadline(1);
		store.epoch_deadline_callback(move |mut ctx| {
			let cpu = thread_cpu_time().saturating_sub(cpu_at_start);
			let why = if cpu > cpu_limit {
				Some(format!("ran past its CPU time limit of {} ms", cpu_limit.as_millis()))
			} else if deadline.is_some_and(|d| Instant::now() >= d) {
				Some("still running when its result was due".to_string())
			} else {
				None
			};
			match why {
				Some(why) => {
					ctx.data_mut().overran = Some(why);
					Err(Trap::Interrupt.into())
				},
				None => Ok(UpdateDeadline::Continue(1)),
			}
		});
		if self.metered && store.set_fuel(limits.fuel_cap).is_err() {
			return (TaskResult { outcome: Err(Failure::OutOfFuel), fuel_used: 0 }, stats)
		}
		let metered = self.metered;
		let fuel_used = |store: &Store<HostState>| {
			if metered { compile_fuel + limits.fuel_cap.saturating_sub(store.get_fuel().unwrap_or(0)) } else { 0 }
		};
		let instance = match self.linker.instantiate(&mut store, &module) {
			Ok(i) => i,
			Err(e) => {
				let f = classify(&e, store.data());
				let used = fuel_used(&store);
				return (TaskResult { outcome: Err(f), fuel_used: used }, stats)
			},
		};
		let run = match (
			instance.get_memory(&mut store, "memory"),
			instance.get_typed_func::<(), i32>(&mut store, "run"),
		) {
			(Some(_), Ok(run)) => run,
			_ => return (TaskResult { outcome: Err(Failure::BadExports), fuel_used: fuel_used(&store) }, stats),
		};
		// The bulk meter (see `prepare`): bulk operations pay for their length through it.
		if let Some(table) = instance.get_table(&mut store, prepare::METER_EXPORT) {
			let meter = Func::wrap(&mut store, |mut c: Caller<'_, HostState>, len: i32| -> wasmtime::Result<()> {
				charge(&mut c, len as u32 as u64 / BYTES_PER_FUEL)
			});
			if table.set(&mut store, 0, Ref::Func(Some(meter))).is_err() {
				return (
					TaskResult { outcome: Err(Failure::Aborted("the bulk meter could not be installed".into())), fuel_used: 0 },
					stats,
				)
			}
		}
		let setup_ns = t1.elapsed().as_nanos();
		let ret = run.call(&mut store, ());
		let t3 = Instant::now();
		let used = fuel_used(&store);
		let outcome = match ret {
			Ok(0) => Ok(std::mem::take(&mut store.data_mut().output)),
			Ok(code) => Err(Failure::TaskError(code)),
			Err(e) => {
				// The instrumented stack limit traps with `unreachable` and leaves the counter
				// above the limit (nothing else can).
				let depth = instance.get_global(&mut store, prepare::DEPTH_EXPORT).map(|g| g.get(&mut store));
				let over = depth.and_then(|v| v.i32()).is_some_and(|d| d as u32 > prepare::STACK_LIMIT);
				if over && matches!(e.downcast_ref::<Trap>(), Some(Trap::UnreachableCodeReached)) {
					Err(Failure::Trap(trap_name(&Trap::StackOverflow).into()))
				} else {
					Err(classify(&e, store.data()))
				}
			},
		};
		let used = if outcome == Err(Failure::OutOfFuel) { compile_fuel + limits.fuel_cap } else { used };
		stats.overhead_ns = setup_ns + t3.elapsed().as_nanos();
		stats.total_ns = t0.elapsed().as_nanos();
		(TaskResult { outcome, fuel_used: used }, stats)
	}
}

fn classify(e: &wasmtime::Error, state: &HostState) -> Failure {
	if let Some(why) = &state.input_error {
		return Failure::Aborted(why.clone())
	}
	if let Some(why) = &state.overran {
		return Failure::Aborted(why.clone())
	}
	if state.out_of_fuel {
		return Failure::OutOfFuel
	}
	if state.output_overflow {
		return Failure::OutputTooLarge
	}
	match e.downcast_ref::<Trap>() {
		Some(Trap::OutOfFuel) => Failure::OutOfFuel,
		Some(_) if state.memory_denied => Failure::MemoryLimit,
		Some(t) => Failure::Trap(trap_name(t).into()),
		None if state.memory_denied => Failure::MemoryLimit,
		None => Failure::Trap("host error".into()),
	}
}

/// Stable names for trap codes (wasmtime's Display texts may change between versions).
fn trap_name(t: &Trap) -> &'static str {
	match t {
		Trap::StackOverflow => "stack overflow",
		Trap::MemoryOutOfBounds => "memory out of bounds",
		Trap::HeapMisaligned => "heap misaligned",
		Trap::TableOutOfBounds => "table out of bounds",
		Trap::IndirectCallToNull => "indirect call to null",
		Trap::BadSignature => "bad signature",
		Trap::IntegerOverflow => "integer overflow",
		Trap::IntegerDivisionByZero => "integer division by zero",
		Trap::BadConversionToInteger => "bad conversion to integer",
		Trap::UnreachableCodeReached => "unreachable",
		Trap::Interrupt => "interrupt",
		Trap::OutOfFuel => "out of fuel",
		_ => "other trap",
	}
}

/// blake2-256 of a program's bytes: its content id and cache key.
pub fn program_hash(wasm: &[u8]) -> [u8; 32] {
	sp_crypto_hashing::blake2_256(wasm)
}
