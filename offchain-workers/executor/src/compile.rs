//! Compiling task modules in a separate process with a memory and a time limit.
//!
//! Cranelift's time and memory grow with a module's structure: the structural limits
//! ([`crate::prepare::ModuleLimits::TASK`]) bound them, and this module makes sure that even a
//! module that gets past them (or a compiler bug) cannot take the provider node down: the node
//! runs `gravity-node compile-worker`, which reads the module on stdin, prepares and compiles it
//! with the node's own engine settings and writes the compiled artifact on stdout. The worker
//! runs under `RLIMIT_AS` ([`WorkerLimits::memory_bytes`]) and is killed after
//! [`WorkerLimits::timeout`]. Its crash, kill or timeout is [`crate::Failure::Aborted`]: not a
//! result (another machine may manage), so the provider declines the replica at no cost and the
//! node carries on.
//!
//! The artifact is loaded with `Module::deserialize`, which checks that it was produced by the
//! same wasmtime with the same settings; the worker is this node's own binary.

use crate::{prepare, Failure};
use codec::{Decode, Encode};
use std::{
	io::{Read, Write},
	path::PathBuf,
	process::{Command, Stdio},
	time::{Duration, Instant},
};

/// The settings an engine is built with: the worker must compile exactly as the node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EngineSettings {
	pub metered: bool,
	/// 0 at observation, 1 every operation, 2 off (see [`crate::NanCanonicalization`]).
	pub nans: u8,
	pub native_stack: u64,
	pub stack_limit: bool,
}

/// How and where modules are compiled.
#[derive(Clone, Debug)]
pub enum CompileIn {
	/// In the calling process (tests, benchmarks, tools).
	Process,
	/// In a worker process: `program args…` (e.g. `gravity-node compile-worker`).
	Worker { program: PathBuf, args: Vec<String>, limits: WorkerLimits },
}

/// Limits of one compile worker.
#[derive(Clone, Debug)]
pub struct WorkerLimits {
	/// Address space of the worker (`RLIMIT_AS`).
	pub memory_bytes: u64,
	/// Wall-clock time before it is killed.
	pub timeout: Duration,
}

impl Default for WorkerLimits {
	/// 6 GiB of address space and 60 s. The worst module within the structural limits needs
	/// between 3 and 4 GiB of address space (1.2 GiB resident) and 5 s on the project's 2-core
	/// VM (`docs/benchmarks.md`, "Hostile modules"): 1.5× the memory, 12× the time.
	fn default() -> Self {
		WorkerLimits { memory_bytes: 6 << 30, timeout: Duration::from_secs(60) }
	}
}

/// What the worker sends back.
#[derive(Encode, Decode)]
enum Reply {
	/// The compiled module (`Module::serialize`) and the prepared module's measures.
	Compiled { artifact: Vec<u8>, functions: u32, code_bytes: u32, complexity: u64 },
	/// A deterministic failure (invalid, over a limit, forbidden import).
	Failed(Failure),
}

/// A compiled module and the measures its compile price is computed from.
pub(crate) struct Compiled {
	pub module: wasmtime::Module,
	pub functions: u32,
	pub code_bytes: u32,
	pub complexity: u64,
}

/// Compile `wasm` in this process with `engine` (built from `settings`).
pub(crate) fn compile_here(
	engine: &wasmtime::Engine,
	settings: &EngineSettings,
	wasm: &[u8],
) -> Result<Compiled, Failure> {
	let options = prepare::Options {
		nans: settings.nans == 0,
		stack_limit: settings.stack_limit.then_some(prepare::STACK_LIMIT),
		meter_bulk: settings.metered,
		limits: prepare::ModuleLimits::TASK,
	};
	let prepared = prepare::prepare(wasm, &options).map_err(|r| match r {
		prepare::Rejection::Invalid(_) => Failure::InvalidModule,
		prepare::Rejection::OverLimit(what) => Failure::ModuleTooComplex(what),
	})?;
	// Validation is deterministic (every machine agrees: `InvalidModule`, a result); a module
	// that validates but that this machine fails to compile (code generation out of memory or
	// over an implementation limit of this host) is `Aborted`: declined, never committed.
	wasmtime::Module::validate(engine, &prepared.wasm).map_err(|_| Failure::InvalidModule)?;
	let module = wasmtime::Module::new(engine, &prepared.wasm)
		.map_err(|e| Failure::Aborted(format!("this machine could not compile the module: {e}")))?;
	crate::check_imports(&module)?;
	Ok(Compiled { module, functions: prepared.functions, code_bytes: prepared.code_bytes, complexity: prepared.complexity })
}

/// Compile `wasm` in a worker process.
pub(crate) fn compile_in_worker(
	engine: &wasmtime::Engine,
	settings: &EngineSettings,
	wasm: &[u8],
	program: &PathBuf,
	args: &[String],
	limits: &WorkerLimits,
) -> Result<Compiled, Failure> {
	let aborted = |why: String| Failure::Aborted(format!("compile worker: {why}"));
	let mut command = Command::new(program);
	command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
	let memory = limits.memory_bytes;
	// SAFETY: `pre_exec` runs in the forked child before exec; `setrlimit` is async-signal-safe
	// and touches nothing of the parent.
	unsafe {
		use std::os::unix::process::CommandExt;
		command.pre_exec(move || {
			let lim = libc::rlimit { rlim_cur: memory as libc::rlim_t, rlim_max: memory as libc::rlim_t };
			if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
				return Err(std::io::Error::last_os_error())
			}
			Ok(())
		});
	}
	let mut child = command.spawn().map_err(|e| aborted(format!("cannot start {}: {e}", program.display())))?;
	let mut stdin = child.stdin.take().ok_or_else(|| aborted("no stdin".into()))?;
	let mut stdout = child.stdout.take().ok_or_else(|| aborted("no stdout".into()))?;
	let mut request = settings.encode();
	request.extend_from_slice(wasm);
	// Feed and drain on threads of their own so that neither pipe can block the other.
	let writer = std::thread::spawn(move || {
		let _ = stdin.write_all(&request);
	});
	let reader = std::thread::spawn(move || {
		let mut out = Vec::new();
		let _ = stdout.read_to_end(&mut out);
		out
	});
	let started = Instant::now();
	let status = loop {
		match child.try_wait() {
			Ok(Some(status)) => break status,
			Ok(None) if started.elapsed() >= limits.timeout => {
				let _ = child.kill();
				let _ = child.wait();
				let _ = writer.join();
				let _ = reader.join();
				return Err(aborted(format!("no result within {} s", limits.timeout.as_secs())))
			},
			Ok(None) => std::thread::sleep(Duration::from_millis(5)),
			Err(e) => return Err(aborted(e.to_string())),
		}
	};
	let _ = writer.join();
	let out = reader.join().map_err(|_| aborted("reader thread failed".into()))?;
	if !status.success() {
		return Err(aborted(format!("exited with {status} (out of memory or crashed)")))
	}
	match Reply::decode(&mut &out[..]).map_err(|_| aborted("unreadable reply".into()))? {
		Reply::Failed(f) => Err(f),
		Reply::Compiled { artifact, functions, code_bytes, complexity } => {
			// SAFETY: the artifact comes from this node's own binary, just now, through a pipe
			// nobody else holds; `deserialize` also checks the wasmtime version and settings.
			let module = unsafe { wasmtime::Module::deserialize(engine, &artifact) }
				.map_err(|e| aborted(format!("artifact not loadable: {e}")))?;
			Ok(Compiled { module, functions, code_bytes, complexity })
		},
	}
}

/// The compile worker's `main`: reads `EngineSettings ‖ wasm` on stdin, writes a `Reply` on
/// stdout. Exit code 0 whenever a reply was written.
pub fn worker_main() -> i32 {
	let mut input = Vec::new();
	if std::io::stdin().read_to_end(&mut input).is_err() {
		return 2
	}
	let mut rest = &input[..];
	let Ok(settings) = EngineSettings::decode(&mut rest) else { return 2 };
	let Ok(engine) = crate::engine(&settings) else { return 3 };
	let reply = match compile_here(&engine, &settings, rest) {
		Ok(c) => match c.module.serialize() {
			Ok(artifact) => Reply::Compiled { artifact, functions: c.functions, code_bytes: c.code_bytes, complexity: c.complexity },
			Err(_) => return 4,
		},
		Err(f) => Reply::Failed(f),
	};
	let mut stdout = std::io::stdout().lock();
	if stdout.write_all(&reply.encode()).and_then(|_| stdout.flush()).is_err() {
		return 5
	}
	0
}
