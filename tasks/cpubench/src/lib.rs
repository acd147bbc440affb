//! # CPU benchmark kernel
//!
//! Input: `param: u32 LE` (ignored) ‖ `n: u32 LE` (matrix size, ≤ 512) ‖ `rounds: u32 LE`. Output: 32 bytes, a checksum of
//! an `n × n` f64 matrix product and `rounds` rounds of integer mixing. Used to score providers
//! and as a steady workload for executor benchmarks.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec::Vec;

/// The kernel.
pub fn bench(n: u32, rounds: u32) -> [u8; 32] {
	let n = n.min(512) as usize;
	let a: Vec<f64> = (0..n * n).map(|i| ((i * 7 + 3) % 101) as f64 / 101.0).collect();
	let b: Vec<f64> = (0..n * n).map(|i| ((i * 13 + 5) % 97) as f64 / 97.0).collect();
	let mut c = alloc::vec![0f64; n * n];
	for i in 0..n {
		for k in 0..n {
			let aik = a[i * n + k];
			for j in 0..n {
				c[i * n + j] += aik * b[k * n + j];
			}
		}
	}
	let mut h = [0x9e37_79b9_7f4a_7c15u64, 0xbf58_476d_1ce4_e5b9, 0x94d0_49bb_1331_11eb, 0x2545_f491_4f6c_dd1d];
	for (i, x) in c.iter().enumerate() {
		h[i % 4] ^= x.to_bits();
		h[i % 4] = h[i % 4].rotate_left(23).wrapping_mul(0x2127_599b_f432_5c37);
	}
	for r in 0..rounds as u64 {
		for i in 0..4 {
			h[i] = (h[i] ^ (h[(i + 1) % 4] >> 31) ^ r).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(17);
		}
	}
	let mut out = [0u8; 32];
	for i in 0..4 {
		out[i * 8..(i + 1) * 8].copy_from_slice(&h[i].to_le_bytes());
	}
	out
}

/// The task.
/// Data: `n: u32 LE` ‖ `rounds: u32 LE`.
pub fn bench_task(input: gravity_task_sdk::Input<'_>) -> Result<Vec<u8>, i32> {
	let d = input.data();
	if d.len() < 8 {
		return Err(2)
	}
	let n = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
	let rounds = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
	Ok(bench(n, rounds).to_vec())
}

gravity_task_sdk::task!(bench_task);

#[cfg(test)]
mod tests {
	#[test]
	fn deterministic() {
		assert_eq!(super::bench(16, 100), super::bench(16, 100));
		assert_ne!(super::bench(16, 100), super::bench(16, 101));
	}
}
