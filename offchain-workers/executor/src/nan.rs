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

use wasmparser::{Operator, WasmFeatures};

const CANON_F32: u32 = 0x7fc0_0000;
const CANON_F64: u64 = 0x7ff8_0000_0000_0000;

/// What is inserted around one operator.
pub(crate) enum Fix {
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

pub(crate) fn fix_for(op: &Operator) -> Fix {
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

pub(crate) fn leb_u32(out: &mut Vec<u8>, mut v: u32) {
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
pub(crate) fn canon_scalar(out: &mut Vec<u8>, tmp: u32, f64: bool) {
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
pub(crate) fn canon_vector(out: &mut Vec<u8>, tmp: u32, f64: bool) {
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
pub(crate) fn features() -> WasmFeatures {
	WasmFeatures::WASM2
}

/// Validate `wasm` and rewrite it so that NaN bits are canonical wherever they are observable
/// (see the module docs), nothing else. `Err` with the reason if the module is invalid. The
/// executor's own preparation ([`crate::prepare`]) applies this and the stack limit together.
pub fn canonicalize_observable_nans(wasm: &[u8]) -> Result<Vec<u8>, String> {
	let options = crate::prepare::Options { nans: true, stack_limit: None, meter_bulk: false, limits: crate::prepare::ModuleLimits::unlimited() };
	crate::prepare::prepare(wasm, &options).map(|p| p.wasm).map_err(|r| r.to_string())
}
