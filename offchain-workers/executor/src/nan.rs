//! NaN canonicalization where NaN bits become observable.
//!
//! WebAssembly is deterministic except for the bits of NaN values: an arithmetic operation that
//! yields a NaN may give any sign and (for NaN inputs) payload, and x86 and ARM differ (x86's
//! default NaN is `0xfff8…`, ARM's `0x7ff8…`). A program can only *see* those bits through a few
//! operations; everywhere else a NaN behaves the same whatever its bits (comparisons are
//! unordered, conversions to integers trap or saturate to 0, arithmetic gives a NaN again).
//!
//! Cranelift's own option canonicalizes after *every* float operation (a compare and a select
//! each), which doubled the run time of float-heavy tasks. This pass instead rewrites the module
//! so that every NaN is made canonical at the points where its bits could leak:
//!
//! | observation point | rewritten |
//! |---|---|
//! | `f32.store`, `f64.store` (the bits land in memory) | the stored value |
//! | `i32.reinterpret_f32`, `i64.reinterpret_f64` | the operand |
//! | `f32.copysign`, `f64.copysign` (copies the sign bit of its 2nd operand) | the 2nd operand |
//! | `f32x4.splat`, `f64x2.splat`, `f32x4.replace_lane`, `f64x2.replace_lane` (a scalar enters a `v128`, which integer lanes can read) | the scalar |
//! | every `f32x4`/`f64x2` operation that can make a NaN (`add sub mul div min max sqrt ceil floor trunc nearest`, `demote`, `promote`) | its result, eagerly |
//!
//! Vectors are canonicalized eagerly because a `v128` is untyped: any integer or bitwise op can
//! read its lanes. Scalars cannot cross into the host either: the task ABI has no float
//! parameters or results. The canonical NaNs are `0x7fc0_0000` (f32) and `0x7ff8_0000_0000_0000`
//! (f64), the same as Cranelift's. The result: a program observes exactly the bits it would under
//! full canonicalization, on every CPU (tested against Cranelift's option in `tests/`).
//!
//! The rewrite is itself deterministic (the same module gives the same bytes), so fuel counts,
//! which include the few inserted instructions, are the same on every provider.

use wasmparser::{BinaryReader, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures};

const CANON_F32: u32 = 0x7fc0_0000;
const CANON_F64: u64 = 0x7ff8_0000_0000_0000;

/// What is inserted around one operator.
enum Fix {
	None,
	/// Canonicalize the f32 on top of the stack before the operator.
	BeforeF32,
	/// Canonicalize the f64 on top of the stack before the operator.
	BeforeF64,
	/// Canonicalize the f32x4 result after the operator.
	AfterF32x4,
	/// Canonicalize the f64x2 result after the operator.
	AfterF64x2,
}

fn fix_for(op: &Operator) -> Fix {
	use Operator::*;
	match op {
		F32Store { .. } | I32ReinterpretF32 | F32Copysign | F32x4Splat | F32x4ReplaceLane { .. } =>
			Fix::BeforeF32,
		F64Store { .. } | I64ReinterpretF64 | F64Copysign | F64x2Splat | F64x2ReplaceLane { .. } =>
			Fix::BeforeF64,
		F32x4Add | F32x4Sub | F32x4Mul | F32x4Div | F32x4Min | F32x4Max | F32x4Sqrt | F32x4Ceil |
		F32x4Floor | F32x4Trunc | F32x4Nearest | F32x4DemoteF64x2Zero => Fix::AfterF32x4,
		F64x2Add | F64x2Sub | F64x2Mul | F64x2Div | F64x2Min | F64x2Max | F64x2Sqrt | F64x2Ceil |
		F64x2Floor | F64x2Trunc | F64x2Nearest | F64x2PromoteLowF32x4 => Fix::AfterF64x2,
		_ => Fix::None,
	}
}

fn leb_u32(out: &mut Vec<u8>, mut v: u32) {
	loop {
		let byte = (v & 0x7f) as u8;
		v >>= 7;
		if v == 0 {
			out.push(byte);
			return
		}
		out.push(byte | 0x80);
	}
}

fn local(out: &mut Vec<u8>, opcode: u8, index: u32) {
	out.push(opcode);
	leb_u32(out, index);
}

const LOCAL_GET: u8 = 0x20;
const LOCAL_SET: u8 = 0x21;
const SELECT: u8 = 0x1b;
const SIMD: u8 = 0xfd;

/// `x` on the stack → `x` if not NaN, else the canonical NaN: `select(canon, x, x != x)`.
fn canon_scalar(out: &mut Vec<u8>, tmp: u32, f64: bool) {
	local(out, LOCAL_SET, tmp);
	if f64 {
		out.push(0x44); // f64.const
		out.extend_from_slice(&CANON_F64.to_le_bytes());
	} else {
		out.push(0x43); // f32.const
		out.extend_from_slice(&CANON_F32.to_le_bytes());
	}
	local(out, LOCAL_GET, tmp);
	local(out, LOCAL_GET, tmp);
	local(out, LOCAL_GET, tmp);
	out.push(if f64 { 0x62 } else { 0x5c }); // f64.ne / f32.ne
	out.push(SELECT);
}

/// `v` on the stack → `bitselect(v, canon, v == v)`: lanes equal to themselves (not NaN) keep
/// their bits, NaN lanes become the canonical NaN.
fn canon_vector(out: &mut Vec<u8>, tmp: u32, f64: bool) {
	local(out, LOCAL_SET, tmp);
	local(out, LOCAL_GET, tmp);
	out.push(SIMD);
	leb_u32(out, 12); // v128.const
	let mut lanes = [0u8; 16];
	if f64 {
		lanes[..8].copy_from_slice(&CANON_F64.to_le_bytes());
		lanes[8..].copy_from_slice(&CANON_F64.to_le_bytes());
	} else {
		for i in 0..4 {
			lanes[i * 4..i * 4 + 4].copy_from_slice(&CANON_F32.to_le_bytes());
		}
	}
	out.extend_from_slice(&lanes);
	local(out, LOCAL_GET, tmp);
	local(out, LOCAL_GET, tmp);
	out.push(SIMD);
	leb_u32(out, if f64 { 71 } else { 65 }); // f64x2.eq / f32x4.eq
	out.push(SIMD);
	leb_u32(out, 82); // v128.bitselect
}

/// The Wasm features a task module may use: WebAssembly 2.0 (anything else is an invalid
/// module, whatever wasmtime itself would accept).
fn features() -> WasmFeatures {
	WasmFeatures::WASM2
}

/// Validate `wasm` and rewrite it so that NaN bits are canonical wherever they are observable
/// (see the module docs). `Err` with the reason if the module is invalid.
pub fn canonicalize_observable_nans(wasm: &[u8]) -> Result<Vec<u8>, String> {
	Validator::new_with_features(features()).validate_all(wasm).map_err(|e| e.to_string())?;
	let err = |e: wasmparser::BinaryReaderError| e.to_string();

	let mut params_of_type: Vec<u32> = Vec::new();
	let mut func_types: Vec<u32> = Vec::new(); // type of every function, imports first
	let mut imported = 0usize;
	let mut out = wasm[..8].to_vec(); // magic + version
	let mut code = Vec::new();
	let mut bodies = 0u32;
	let mut code_written = false;
	for payload in Parser::new(0).parse_all(wasm) {
		let payload = payload.map_err(err)?;
		match &payload {
			Payload::TypeSection(reader) =>
				for group in reader.clone() {
					for sub in group.map_err(err)?.types() {
						let params = match &sub.composite_type.inner {
							wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
							_ => 0,
						};
						params_of_type.push(params);
					}
				},
			Payload::ImportSection(reader) => {
				for import in reader.clone() {
					if let TypeRef::Func(t) = import.map_err(err)?.ty {
						func_types.push(t);
					}
				}
				imported = func_types.len();
			},
			Payload::FunctionSection(reader) =>
				for t in reader.clone() {
					func_types.push(t.map_err(err)?);
				},
			Payload::CodeSectionEntry(body) => {
				let ty = *func_types.get(imported + bodies as usize).ok_or("function without a type")?;
				let params = *params_of_type.get(ty as usize).ok_or("unknown type index")?;
				let body_bytes = rewrite_body(wasm, body, params).map_err(err)?;
				leb_u32(&mut code, body_bytes.len() as u32);
				code.extend_from_slice(&body_bytes);
				bodies += 1;
				continue
			},
			_ => {},
		}
		if let Some((id, range)) = payload.as_section() {
			if id == 10 {
				// The code section: written, rewritten, once its bodies are done (below).
				continue
			}
			flush_code(&mut out, &mut code, bodies, &mut code_written);
			out.push(id);
			leb_u32(&mut out, (range.end - range.start) as u32);
			out.extend_from_slice(&wasm[range]);
		}
	}
	flush_code(&mut out, &mut code, bodies, &mut code_written);
	Ok(out)
}

fn flush_code(out: &mut Vec<u8>, code: &mut Vec<u8>, bodies: u32, done: &mut bool) {
	if *done || bodies == 0 {
		return
	}
	let mut content = Vec::with_capacity(code.len() + 5);
	leb_u32(&mut content, bodies);
	content.append(code);
	out.push(10);
	leb_u32(out, content.len() as u32);
	out.extend_from_slice(&content);
	*done = true;
}

/// One function body with its three scratch locals (f32, f64, v128) appended and the fixes
/// inserted.
fn rewrite_body(
	wasm: &[u8],
	body: &wasmparser::FunctionBody<'_>,
	params: u32,
) -> Result<Vec<u8>, wasmparser::BinaryReaderError> {
	let mut reader: BinaryReader<'_> = body.get_binary_reader();
	let declarations = reader.read_var_u32()?;
	let entries_start = reader.original_position();
	let mut locals = params;
	for entry in body.get_locals_reader()? {
		locals += entry?.0;
	}
	let mut ops = body.get_operators_reader()?;
	let ops_start = ops.original_position();
	let (tmp_f32, tmp_f64, tmp_v128) = (locals, locals + 1, locals + 2);

	let mut out = Vec::with_capacity(body.range().len() + 64);
	leb_u32(&mut out, declarations + 3);
	out.extend_from_slice(&wasm[entries_start..ops_start]);
	for ty in [0x7d, 0x7c, 0x7b] {
		// one f32, one f64, one v128
		out.push(1);
		out.push(ty);
	}
	while !ops.eof() {
		let start = ops.original_position();
		let op = ops.read()?;
		let end = ops.original_position();
		let fix = fix_for(&op);
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
