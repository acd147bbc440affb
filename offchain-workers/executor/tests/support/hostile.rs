//! Generators of hostile task modules, for the tests and measurements of compile limits: what
//! an attacker who wants to stall or kill providers with compilation would upload. Test support
//! only, outside the library's API: the executor's tests and the node's compile-worker test
//! include this file (`#[path]`).

/// Unsigned LEB128, as the Wasm binary format writes counts and indices.
fn leb_u32(out: &mut Vec<u8>, mut v: u32) {
	while v >= 0x80 {
		out.push((v & 0x7f) as u8 | 0x80);
		v >>= 7;
	}
	out.push(v as u8);
}

fn section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
	out.push(id);
	leb_u32(out, content.len() as u32);
	out.extend_from_slice(content);
}

fn name(out: &mut Vec<u8>, s: &str) {
	leb_u32(out, s.len() as u32);
	out.extend_from_slice(s.as_bytes());
}

/// The body of a function with `locals` i64 locals and `ifs` conditional updates between them
/// (every local live across every branch: what makes register allocation costly), returning a
/// sum of some of them.
pub fn dense_body(locals: u32, ifs: u32) -> Vec<u8> {
	let locals = locals.max(1);
	let mut b = Vec::with_capacity(ifs as usize * 16 + 64);
	b.push(1); // one locals entry
	leb_u32(&mut b, locals);
	b.push(0x7e); // i64
	for k in 0..ifs {
		let (c, x, y, d) = (k % locals, (k * 3 + 1) % locals, (k * 5 + 2) % locals, (k * 7 + 3) % locals);
		b.push(0x20); // local.get c
		leb_u32(&mut b, c);
		b.extend_from_slice(&[0x42, 0x00, 0x52, 0x04, 0x40]); // i64.const 0; i64.ne; if
		b.push(0x20);
		leb_u32(&mut b, x);
		b.push(0x20);
		leb_u32(&mut b, y);
		b.push(0x7c); // i64.add
		b.push(0x21); // local.set d
		leb_u32(&mut b, d);
		b.push(0x0b); // end
	}
	b.extend_from_slice(&[0x42, 0x00]); // i64.const 0
	for i in 0..locals.min(64) {
		b.push(0x20);
		leb_u32(&mut b, i);
		b.push(0x7c);
	}
	b.push(0x0b);
	b
}

/// A valid task module with `functions` copies of [`dense_body`]`(locals, ifs)` and a `run`
/// that returns 0 (the dense functions are compiled, never called).
pub fn dense_module(functions: u32, locals: u32, ifs: u32) -> Vec<u8> {
	let mut m = b"\0asm\x01\0\0\0".to_vec();
	// Types: 0 = () -> i64, 1 = () -> i32.
	section(&mut m, 1, &[2, 0x60, 0, 1, 0x7e, 0x60, 0, 1, 0x7f]);
	let mut funcs = Vec::new();
	leb_u32(&mut funcs, functions + 1);
	funcs.extend(std::iter::repeat(0u8).take(functions as usize));
	funcs.push(1);
	section(&mut m, 3, &funcs);
	section(&mut m, 5, &[1, 0, 1]); // one memory of one page
	let mut exports = vec![2];
	name(&mut exports, "memory");
	exports.extend_from_slice(&[2, 0]);
	name(&mut exports, "run");
	exports.push(0);
	leb_u32(&mut exports, functions);
	section(&mut m, 7, &exports);
	let body = dense_body(locals, ifs);
	let run = [0u8, 0x41, 0x00, 0x0b]; // no locals; i32.const 0; end
	let mut code = Vec::with_capacity((body.len() + 4) * functions as usize + 16);
	leb_u32(&mut code, functions + 1);
	for _ in 0..functions {
		leb_u32(&mut code, body.len() as u32);
		code.extend_from_slice(&body);
	}
	leb_u32(&mut code, run.len() as u32);
	code.extend_from_slice(&run);
	section(&mut m, 10, &code);
	m
}
