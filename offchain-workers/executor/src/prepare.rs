//! Preparing a task module before it is compiled: validation, structural limits, NaN
//! canonicalization ([`crate::nan`]) and the deterministic stack limit, in two passes over the
//! module (one that checks and measures, one that writes).
//!
//! ## Deterministic stack limit
//! How deep a program may recurse before wasmtime reports a stack overflow depends on native
//! frame sizes: x86-64 and ARM builds, or two Cranelift versions, overflow at different depths,
//! so honest replicas would report different fuel for the same failure and one side would be
//! slashed. As polkadot-sdk's executor does (its "deterministic stack limit"), the module is
//! instrumented so that *it* counts its stack use in logical units and traps before any native
//! limit can be reached:
//!
//! - every function has a cost: `1 + params + locals + its largest operand-stack height` (the
//!   height from the validator, exact for the function's code), in value slots;
//! - a mutable global holds the running total; a function adds its cost on entry and traps
//!   (`unreachable`) if the total passes [`STACK_LIMIT`]; it subtracts it again on every way out
//!   (`return`, a branch out of the body, falling off the end: the body is wrapped in a block so
//!   that every branch to the function's label lands on the subtraction);
//! - the global is exported as [`DEPTH_EXPORT`], so the executor can tell its trap from the
//!   program's own `unreachable` (the counter is above the limit only after this trap).
//!
//! The native stack the executor gives a run is sized so that [`STACK_LIMIT`] units always run
//! out first: a unit is one value slot (at most 16 bytes), and the executor allows
//! `NATIVE_STACK_BYTES / STACK_LIMIT` = 2 KiB of native stack per unit. The failure and the fuel
//! at which it happens are then the same on every machine (tested under different native stack
//! sizes in `tests/sandbox.rs`).
//!
//! ## Bulk operations charged by bytes
//! wasmtime's fuel charges one unit per operator, so `memory.fill`, `memory.copy` and
//! `memory.init` (and the table operations) cost one unit whatever their length: a loop of
//! 256 MiB fills spends about 12 fuel and 50 ms an iteration, a million times slower per unit
//! than the rate prices assume. With [`Options::meter_bulk`] (on whenever fuel is metered) the
//! rewrite appends a one-entry funcref table, exported as [`METER_EXPORT`], and a type
//! `(i32) -> ()`; before every bulk operation it copies the length (the operand on top of the
//! stack) through a scratch local into a `call_indirect` of that table's entry 0, leaving the
//! operands as they were. The executor puts its meter there, a host function that takes
//! `length / BYTES_PER_FUEL` units (crate root) out of the run's fuel, or ends the run out of
//! fuel, before the operation does any work. Nothing the module has moves: the type and the
//! table are appended, so no index changes. A bulk operation in a start function runs before
//! the executor can fill the table and traps (`indirect call to null`), the same on every
//! machine; `memory.grow` is not charged (its pages are bounded by the memory cap and paid for
//! by the operations that touch them).
//!
//! ## Structural limits
//! Compilation time and memory grow with a module's structure, not with the fuel it burns: a
//! valid module of a few hundred kilobytes with one huge function of tens of thousands of
//! locals can make Cranelift use gigabytes. [`ModuleLimits::TASK`] bounds the structure; a module
//! over a limit is rejected before compilation, deterministically, with the limit it broke (a
//! failure result every replica agrees on, and `gravity-tasks check` says the same to a
//! requester before upload).

use crate::nan::{canon_scalar, canon_vector, features, fix_for, leb_u32, Fix};
use std::{collections::BTreeMap, ops::Range};
use wasmparser::{
	BinaryReader, BinaryReaderError, Operator, Parser, Payload, RefType, TypeRef, ValType,
	ValidPayload, Validator,
};

/// Logical stack units a run may use (the same as polkadot-sdk's `logical_max`).
pub const STACK_LIMIT: u32 = 65_536;

/// Name of the exported stack counter. A module that exports this name itself is invalid.
pub const DEPTH_EXPORT: &str = "__gravity_stack_depth";

/// Name of the exported one-entry table through which bulk operations are charged (see "Bulk
/// operations charged by bytes"). A module that exports this name itself is invalid.
pub const METER_EXPORT: &str = "__gravity_meter";

/// Structural limits of a task module, checked before compilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleLimits {
	/// Functions defined by the module.
	pub max_functions: u32,
	/// Parameters and locals of one function.
	pub max_locals: u32,
	/// Bytes of one function body.
	pub max_body_bytes: u32,
	/// Bytes of the code section.
	pub max_code_bytes: u32,
	/// Largest operand-stack height in one function.
	pub max_operand_stack: u32,
	/// Control structures (`block`, `loop`, `if`), conditional branches (`br_if`) and `br_table`
	/// targets in one function.
	pub max_branches: u32,
}

impl ModuleLimits {
	/// The limits of Gravity task modules (task ABI version 1). Each is far above what the
	/// example programs (Rust, `opt-level = 3`, LTO) use; together they bound compilation as
	/// measured in `docs/benchmarks.md` ("Hostile modules").
	pub const TASK: ModuleLimits = ModuleLimits {
		max_functions: 10_000,
		max_locals: 2_048,
		max_body_bytes: 256 * 1024,
		max_code_bytes: 2 * 1024 * 1024,
		max_operand_stack: 1_024,
		max_branches: 8_192,
	};

	/// No limits (tests of the rewrite alone).
	pub fn unlimited() -> Self {
		ModuleLimits {
			max_functions: u32::MAX,
			max_locals: u32::MAX,
			max_body_bytes: u32::MAX,
			max_code_bytes: u32::MAX,
			max_operand_stack: u32::MAX,
			max_branches: u32::MAX,
		}
	}
}

/// What to do to a module.
#[derive(Clone, Debug)]
pub struct Options {
	/// Canonicalize NaNs where observable ([`crate::nan`]).
	pub nans: bool,
	/// Instrument the deterministic stack limit with this many units.
	pub stack_limit: Option<u32>,
	/// Charge bulk operations by their length: a call through the [`METER_EXPORT`] table
	/// before every `memory.fill|copy|init` and `table.fill|copy|init|grow`.
	pub meter_bulk: bool,
	/// Structural limits.
	pub limits: ModuleLimits,
}

/// Why a module was not prepared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
	/// Not valid WebAssembly 2.0 (or it exports [`DEPTH_EXPORT`]).
	Invalid(String),
	/// Valid, but over a structural limit (which, by how much).
	OverLimit(String),
}

impl core::fmt::Display for Rejection {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Rejection::Invalid(e) => write!(f, "invalid module: {e}"),
			Rejection::OverLimit(e) => write!(f, "module over a structural limit: {e}"),
		}
	}
}

/// A prepared module and the measures its compile price is computed from.
#[derive(Clone, Debug)]
pub struct Prepared {
	/// The rewritten module.
	pub wasm: Vec<u8>,
	/// Functions defined by the original module.
	pub functions: u32,
	/// Bytes of the original code section.
	pub code_bytes: u32,
	/// Σ over functions of locals × branches: what makes register allocation superlinear.
	pub complexity: u64,
}

/// Per defined function: its stack cost and result types.
struct FuncInfo {
	cost: u32,
	params: u32,
	ty: u32,
}

/// Everything the writing pass needs, from the checking pass.
#[derive(Default)]
struct Measured {
	/// Per type: number of params, result types.
	types: Vec<(u32, Vec<ValType>)>,
	/// Type of every function, imports first.
	func_types: Vec<u32>,
	imported_funcs: usize,
	imported_globals: u32,
	defined_globals: u32,
	imported_tables: u32,
	defined_tables: u32,
	funcs: Vec<FuncInfo>,
	code_bytes: u32,
	complexity: u64,
}

fn invalid(e: BinaryReaderError) -> Rejection {
	Rejection::Invalid(e.to_string())
}

fn over(what: &str, value: u64, limit: u32) -> Result<(), Rejection> {
	if value > limit as u64 {
		return Err(Rejection::OverLimit(format!("{what}: {value} (limit {limit})")))
	}
	Ok(())
}

/// Validate `wasm`, check it against `options.limits` and rewrite it as `options` asks.
pub fn prepare(wasm: &[u8], options: &Options) -> Result<Prepared, Rejection> {
	let m = measure(wasm, &options.limits)?;
	let out = write(wasm, &m, options)?;
	Ok(Prepared { wasm: out, functions: m.funcs.len() as u32, code_bytes: m.code_bytes, complexity: m.complexity })
}

/// The checking pass: validation (function by function, to learn each one's operand-stack
/// height), limits, and the facts the rewrite needs.
fn measure(wasm: &[u8], limits: &ModuleLimits) -> Result<Measured, Rejection> {
	let mut validator = Validator::new_with_features(features());
	let mut m = Measured::default();
	let mut allocs = wasmparser::FuncValidatorAllocations::default();
	for payload in Parser::new(0).parse_all(wasm) {
		let payload = payload.map_err(invalid)?;
		match &payload {
			Payload::TypeSection(reader) =>
				for group in reader.clone() {
					for sub in group.map_err(invalid)?.types() {
						match &sub.composite_type.inner {
							wasmparser::CompositeInnerType::Func(f) =>
								m.types.push((f.params().len() as u32, f.results().to_vec())),
							_ => m.types.push((0, Vec::new())),
						}
					}
				},
			Payload::ImportSection(reader) => {
				for import in reader.clone() {
					match import.map_err(invalid)?.ty {
						TypeRef::Func(t) => m.func_types.push(t),
						TypeRef::Global(_) => m.imported_globals += 1,
						TypeRef::Table(_) => m.imported_tables += 1,
						_ => {},
					}
				}
				m.imported_funcs = m.func_types.len();
			},
			Payload::FunctionSection(reader) => {
				over("functions", reader.count() as u64, limits.max_functions)?;
				for t in reader.clone() {
					m.func_types.push(t.map_err(invalid)?);
				}
			},
			Payload::GlobalSection(reader) => m.defined_globals = reader.count(),
			Payload::TableSection(reader) => m.defined_tables = reader.count(),
			Payload::ExportSection(reader) =>
				for export in reader.clone() {
					let name = export.map_err(invalid)?.name;
					if name == DEPTH_EXPORT || name == METER_EXPORT {
						return Err(Rejection::Invalid(format!("the export name {name} is reserved")))
					}
				},
			Payload::CodeSectionStart { size, .. } => {
				over("code section bytes", *size as u64, limits.max_code_bytes)?;
				m.code_bytes = *size;
			},
			_ => {},
		}
		if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
			let index = m.funcs.len();
			let ty = *m.func_types.get(m.imported_funcs + index).ok_or_else(|| Rejection::Invalid("function without a type".into()))?;
			let params = m.types.get(ty as usize).map_or(0, |t| t.0);
			over("function body bytes", body.range().len() as u64, limits.max_body_bytes)?;
			let mut locals = params as u64;
			for entry in body.get_locals_reader().map_err(invalid)? {
				locals += entry.map_err(invalid)?.0 as u64;
				over("locals of one function", locals, limits.max_locals)?;
			}
			let mut v = func.into_validator(core::mem::take(&mut allocs));
			v.read_locals(&mut body.get_binary_reader()).map_err(invalid)?;
			let mut ops = body.get_operators_reader().map_err(invalid)?;
			let (mut height, mut branches) = (0u32, 0u64);
			while !ops.eof() {
				let pos = ops.original_position();
				let op = ops.read().map_err(invalid)?;
				match &op {
					Operator::Block { .. } |
					Operator::Loop { .. } |
					Operator::If { .. } |
					Operator::BrIf { .. } => branches += 1,
					Operator::BrTable { targets } => branches += targets.len() as u64 + 1,
					_ => {},
				}
				v.op(pos, &op).map_err(invalid)?;
				height = height.max(v.operand_stack_height());
			}
			ops.finish().map_err(invalid)?;
			over("operand stack height of one function", height as u64, limits.max_operand_stack)?;
			over("blocks, loops, ifs, br_ifs and br_table targets of one function", branches, limits.max_branches)?;
			allocs = v.into_allocations();
			m.complexity = m.complexity.saturating_add(locals.saturating_mul(branches));
			// Scratch locals of the rewrite (3 for NaNs, 1 for the bulk meter) count too: they are
			// part of the frame.
			let cost = 1u64 + locals + SCRATCH_LOCALS as u64 + height as u64;
			m.funcs.push(FuncInfo { cost: cost.min(u32::MAX as u64) as u32, params, ty });
		}
	}
	Ok(m)
}

/// Scratch locals appended to every function: f32, f64, v128 (NaN fixes), i32 (bulk meter).
const SCRATCH_LOCALS: u32 = 4;

/// A section's content after its leading count, and the count.
fn counted(wasm: &[u8], range: &Range<usize>) -> Result<(u32, Range<usize>), Rejection> {
	let mut r = BinaryReader::new(&wasm[range.clone()], range.start);
	let count = r.read_var_u32().map_err(invalid)?;
	Ok((count, range.start + r.current_position()..range.end))
}

fn section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
	out.push(id);
	leb_u32(out, content.len() as u32);
	out.extend_from_slice(content);
}

/// A section re-written with `extra` entries appended to its vector.
fn extend_section(out: &mut Vec<u8>, wasm: &[u8], id: u8, range: &Range<usize>, extra: &[Vec<u8>]) -> Result<(), Rejection> {
	let (count, rest) = counted(wasm, range)?;
	let mut content = Vec::with_capacity(range.len() + 16);
	leb_u32(&mut content, count + extra.len() as u32);
	content.extend_from_slice(&wasm[rest]);
	for e in extra {
		content.extend_from_slice(e);
	}
	section(out, id, &content);
	Ok(())
}

fn valtype_byte(t: &ValType) -> Result<u8, Rejection> {
	Ok(match t {
		ValType::I32 => 0x7f,
		ValType::I64 => 0x7e,
		ValType::F32 => 0x7d,
		ValType::F64 => 0x7c,
		ValType::V128 => 0x7b,
		ValType::Ref(r) if *r == RefType::FUNCREF => 0x70,
		ValType::Ref(r) if *r == RefType::EXTERNREF => 0x6f,
		ValType::Ref(_) => return Err(Rejection::Invalid("reference type outside WebAssembly 2.0".into())),
	})
}

/// Section ids in their required order (`12`, data count, sits between element and code).
fn order(id: u8) -> u8 {
	match id {
		12 => 10,
		10 => 11,
		11 => 12,
		x if x < 10 => x,
		x => x + 10,
	}
}

/// The writing pass.
fn write(wasm: &[u8], m: &Measured, options: &Options) -> Result<Vec<u8>, Rejection> {
	let stack = options.stack_limit;
	let depth_global = m.imported_globals + m.defined_globals;
	// Block types for multi-value functions: a new type `() -> results` each, appended.
	let mut block_types: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
	let mut new_types: Vec<Vec<u8>> = Vec::new();
	// The bulk meter: a type `(i32) -> ()` and a one-entry funcref table, both appended (no
	// existing index moves), the table exported for the executor to fill.
	let meter = options.meter_bulk.then(|| {
		let ty = m.types.len() as u32;
		new_types.push(vec![0x60, 1, 0x7f, 0]);
		(ty, m.imported_tables + m.defined_tables)
	});
	let table_entry = vec![0x70, 0x01, 0x01, 0x01]; // funcref, min 1, max 1
	if stack.is_some() {
		for f in &m.funcs {
			let results = &m.types.get(f.ty as usize).map(|t| &t.1).ok_or_else(|| Rejection::Invalid("unknown type".into()))?;
			if results.len() > 1 {
				let bytes = results.iter().map(valtype_byte).collect::<Result<Vec<u8>, _>>()?;
				if !block_types.contains_key(&bytes) {
					let index = (m.types.len() + new_types.len()) as u32;
					let mut t = vec![0x60, 0];
					leb_u32(&mut t, bytes.len() as u32);
					t.extend_from_slice(&bytes);
					new_types.push(t);
					block_types.insert(bytes, index);
				}
			}
		}
	}
	let global_entry = vec![0x7f, 0x01, 0x41, 0x00, 0x0b]; // mut i32 = 0
	let export = |name: &str, kind: u8, index: u32| {
		let mut e = Vec::new();
		leb_u32(&mut e, name.len() as u32);
		e.extend_from_slice(name.as_bytes());
		e.push(kind);
		leb_u32(&mut e, index);
		e
	};
	let mut export_entries = Vec::new();
	if stack.is_some() {
		export_entries.push(export(DEPTH_EXPORT, 0x03, depth_global));
	}
	if let Some((_, table)) = meter {
		export_entries.push(export(METER_EXPORT, 0x01, table));
	}
	let rewriting = stack.is_some() || meter.is_some();

	let mut out = wasm[..8].to_vec();
	let (mut wrote_types, mut wrote_global, mut wrote_export) = (false, stack.is_none(), export_entries.is_empty());
	let mut wrote_table = meter.is_none();
	let mut code = Vec::new();
	let mut bodies = 0u32;
	let mut code_at: Option<usize> = None;
	for payload in Parser::new(0).parse_all(wasm) {
		let payload = payload.map_err(invalid)?;
		if let Payload::CodeSectionEntry(body) = &payload {
			let f = m.funcs.get(bodies as usize).ok_or_else(|| Rejection::Invalid("body without a function".into()))?;
			let results = &m.types[f.ty as usize].1;
			let block_type = match results.len() {
				0 => vec![0x40],
				1 => vec![valtype_byte(&results[0])?],
				_ => {
					let bytes = results.iter().map(valtype_byte).collect::<Result<Vec<u8>, _>>()?;
					let mut bt = Vec::new();
					sleb_u32(&mut bt, block_types[&bytes]);
					bt
				},
			};
			let rewritten =
				rewrite_body(wasm, body, f, options.nans, stack.map(|limit| (limit, depth_global, block_type)), meter)
					.map_err(invalid)?;
			leb_u32(&mut code, rewritten.len() as u32);
			code.extend_from_slice(&rewritten);
			bodies += 1;
			continue
		}
		let Some((id, range)) = payload.as_section() else { continue };
		if rewriting && id != 0 {
			// Sections we add to that the module does not have: written in their place, before
			// the first section that must come after them.
			if !wrote_types && order(id) > order(1) && !new_types.is_empty() {
				let mut content = Vec::new();
				leb_u32(&mut content, new_types.len() as u32);
				new_types.iter().for_each(|t| content.extend_from_slice(t));
				section(&mut out, 1, &content);
				wrote_types = true;
			}
			if !wrote_table && order(id) > order(4) {
				section(&mut out, 4, &[&[1u8][..], &table_entry].concat());
				wrote_table = true;
			}
			if !wrote_global && order(id) > order(6) {
				section(&mut out, 6, &[&[1u8][..], &global_entry].concat());
				wrote_global = true;
			}
			if !wrote_export && order(id) > order(7) {
				let mut content = Vec::new();
				leb_u32(&mut content, export_entries.len() as u32);
				export_entries.iter().for_each(|e| content.extend_from_slice(e));
				section(&mut out, 7, &content);
				wrote_export = true;
			}
		}
		match id {
			1 if rewriting => {
				extend_section(&mut out, wasm, 1, &range, &new_types)?;
				wrote_types = true;
			},
			4 if meter.is_some() => {
				extend_section(&mut out, wasm, 4, &range, &[table_entry.clone()])?;
				wrote_table = true;
			},
			6 if stack.is_some() => {
				extend_section(&mut out, wasm, 6, &range, &[global_entry.clone()])?;
				wrote_global = true;
			},
			7 if !export_entries.is_empty() => {
				extend_section(&mut out, wasm, 7, &range, &export_entries)?;
				wrote_export = true;
			},
			10 => code_at = Some(out.len()),
			_ => section(&mut out, id, &wasm[range]),
		}
	}
	if let Some(at) = code_at {
		let mut content = Vec::with_capacity(code.len() + 5);
		leb_u32(&mut content, bodies);
		content.append(&mut code);
		let mut sec = Vec::with_capacity(content.len() + 6);
		section(&mut sec, 10, &content);
		out.splice(at..at, sec);
	}
	Ok(out)
}

fn sleb_u32(out: &mut Vec<u8>, v: u32) {
	// A type index as a signed 33-bit LEB (block type): non-negative.
	let mut v = v as i64;
	loop {
		let byte = (v & 0x7f) as u8;
		v >>= 7;
		let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
		out.push(if done { byte } else { byte | 0x80 });
		if done {
			return
		}
	}
}

const GLOBAL_GET: u8 = 0x23;
const GLOBAL_SET: u8 = 0x24;
const I32_CONST: u8 = 0x41;

fn i32_const(out: &mut Vec<u8>, v: u32) {
	out.push(I32_CONST);
	// i32.const takes a signed LEB; the costs and the limit are below 2^31.
	sleb_u32(out, v);
}

/// `depth -= cost`.
fn leave(out: &mut Vec<u8>, global: u32, cost: u32) {
	out.push(GLOBAL_GET);
	leb_u32(out, global);
	i32_const(out, cost);
	out.push(0x6b); // i32.sub
	out.push(GLOBAL_SET);
	leb_u32(out, global);
}

/// One function body: scratch locals for the NaN fixes (f32, f64, v128) appended; the fixes
/// inserted; with a stack limit, the entry check, the body wrapped in a block and the exits
/// accounted.
fn rewrite_body(
	wasm: &[u8],
	body: &wasmparser::FunctionBody<'_>,
	f: &FuncInfo,
	nans: bool,
	stack: Option<(u32, u32, Vec<u8>)>,
	meter: Option<(u32, u32)>,
) -> Result<Vec<u8>, BinaryReaderError> {
	let mut reader: BinaryReader<'_> = body.get_binary_reader();
	let declarations = reader.read_var_u32()?;
	let entries_start = reader.original_position();
	let mut locals = f.params;
	for entry in body.get_locals_reader()? {
		locals += entry?.0;
	}
	let mut ops = body.get_operators_reader()?;
	let ops_start = ops.original_position();
	let (tmp_f32, tmp_f64, tmp_v128, tmp_i32) = (locals, locals + 1, locals + 2, locals + 3);

	let mut out = Vec::with_capacity(body.range().len() + 96);
	leb_u32(&mut out, declarations + SCRATCH_LOCALS);
	out.extend_from_slice(&wasm[entries_start..ops_start]);
	for ty in [0x7d, 0x7c, 0x7b, 0x7f] {
		// one f32, one f64, one v128, one i32
		out.push(1);
		out.push(ty);
	}
	if let Some((limit, global, block_type)) = &stack {
		// depth += cost; if depth > limit { unreachable }; block <results>
		out.push(GLOBAL_GET);
		leb_u32(&mut out, *global);
		i32_const(&mut out, f.cost);
		out.push(0x6a); // i32.add
		out.push(GLOBAL_SET);
		leb_u32(&mut out, *global);
		out.push(GLOBAL_GET);
		leb_u32(&mut out, *global);
		i32_const(&mut out, *limit);
		out.push(0x4b); // i32.gt_u
		out.extend_from_slice(&[0x04, 0x40, 0x00, 0x0b]); // if unreachable end
		out.push(0x02); // block
		out.extend_from_slice(block_type);
	}
	while !ops.eof() {
		let start = ops.original_position();
		let op = ops.read()?;
		let end = ops.original_position();
		let last = ops.eof();
		if let Some((_, global, _)) = &stack {
			if last {
				// The function's own `end`: close the wrapping block, account the exit, end.
				out.push(0x0b);
				leave(&mut out, *global, f.cost);
				out.extend_from_slice(&wasm[start..end]);
				continue
			}
			if matches!(op, Operator::Return) {
				leave(&mut out, *global, f.cost);
			}
		}
		if let Some((ty, table)) = meter {
			if is_bulk(&op) {
				charge_length(&mut out, tmp_i32, ty, table);
			}
		}
		let fix = if nans { fix_for(&op) } else { Fix::None };
		match fix {
			Fix::BeforeF32 => canon_scalar(&mut out, tmp_f32, false),
			Fix::BeforeF64 => canon_scalar(&mut out, tmp_f64, true),
			_ => {},
		}
		out.extend_from_slice(&wasm[start..end]);
		match fix {
			Fix::AfterF32x4 => canon_vector(&mut out, tmp_v128, false),
			Fix::AfterF64x2 => canon_vector(&mut out, tmp_v128, true),
			_ => {},
		}
	}
	Ok(out)
}

/// The operations whose work grows with an operand (the last one: a length in bytes or table
/// elements), which wasmtime's fuel charges as one unit whatever the length.
fn is_bulk(op: &Operator<'_>) -> bool {
	matches!(
		op,
		Operator::MemoryFill { .. } |
			Operator::MemoryCopy { .. } |
			Operator::MemoryInit { .. } |
			Operator::TableFill { .. } |
			Operator::TableCopy { .. } |
			Operator::TableInit { .. } |
			Operator::TableGrow { .. }
	)
}

/// Before a bulk operation, whose length is on top of the operand stack:
/// `local.tee $n; local.get $n; i32.const 0; call_indirect (type (i32) -> ()) $meter`: the
/// meter (a host function the executor puts in the table) is charged the length; the operands
/// stay as they were.
fn charge_length(out: &mut Vec<u8>, scratch: u32, ty: u32, table: u32) {
	out.push(0x22); // local.tee
	leb_u32(out, scratch);
	out.push(0x20); // local.get
	leb_u32(out, scratch);
	i32_const(out, 0);
	out.push(0x11); // call_indirect
	leb_u32(out, ty);
	leb_u32(out, table);
}
