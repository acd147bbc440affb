//! # Word count: map and reduce
//!
//! **Map** input: `param: u32 LE` ‖ UTF-8 text. Output: `word\tcount\n` lines sorted by word,
//! words being maximal runs of alphanumeric characters, lower-cased (ASCII only).
//!
//! **Reduce** input (what a provider node builds for reducer `r` of `R`):
//! `r: u32 LE` ‖ `R: u32 LE` ‖ `n: u32 LE` ‖ n × (`len: u32 LE` ‖ map output). Output: the
//! summed counts of the words with `fnv1a(word) % R == r`, same line format.
//!
//! The Wasm build of the crate exports the map with feature `map`, the reduce with `reduce`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::{collections::BTreeMap, string::String, vec::Vec};

fn fnv1a(s: &str) -> u32 {
	let mut h = 0x811c_9dc5u32;
	for b in s.bytes() {
		h ^= b as u32;
		h = h.wrapping_mul(0x0100_0193);
	}
	h
}

/// Which reducer a word goes to.
pub fn partition(word: &str, reducers: u32) -> u32 {
	fnv1a(word) % reducers.max(1)
}

/// Count the words of `text`.
pub fn count(text: &str) -> BTreeMap<String, u64> {
	let mut m = BTreeMap::new();
	for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
		*m.entry(w.to_ascii_lowercase()).or_insert(0) += 1;
	}
	m
}

/// Serialize counts as `word\tcount\n` lines.
pub fn format(m: &BTreeMap<String, u64>) -> Vec<u8> {
	let mut out = String::new();
	for (w, c) in m {
		out.push_str(w);
		out.push('\t');
		out.push_str(&alloc::format!("{c}"));
		out.push('\n');
	}
	out.into_bytes()
}

/// Parse `word\tcount\n` lines.
pub fn parse(bytes: &[u8]) -> Option<BTreeMap<String, u64>> {
	let text = core::str::from_utf8(bytes).ok()?;
	let mut m = BTreeMap::new();
	for line in text.lines().filter(|l| !l.is_empty()) {
		let (w, c) = line.split_once('\t')?;
		*m.entry(String::from(w)).or_insert(0) += c.parse::<u64>().ok()?;
	}
	Some(m)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
	Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The map task.
pub fn map_task(input: &[u8]) -> Result<Vec<u8>, i32> {
	let text = core::str::from_utf8(input.get(4..).ok_or(2)?).map_err(|_| 3)?;
	Ok(format(&count(text)))
}

/// The reduce task.
pub fn reduce_task(input: &[u8]) -> Result<Vec<u8>, i32> {
	let r = u32_at(input, 0).ok_or(2)?;
	let reducers = u32_at(input, 4).ok_or(2)?;
	let n = u32_at(input, 8).ok_or(2)?;
	if reducers == 0 || r >= reducers {
		return Err(4)
	}
	let mut at = 12usize;
	let mut total = BTreeMap::new();
	for _ in 0..n {
		let len = u32_at(input, at).ok_or(2)? as usize;
		at += 4;
		let part = parse(input.get(at..at + len).ok_or(2)?).ok_or(3)?;
		at += len;
		for (w, c) in part {
			if partition(&w, reducers) == r {
				*total.entry(w).or_insert(0) += c;
			}
		}
	}
	Ok(format(&total))
}

#[cfg(feature = "map")]
gravity_task_sdk::task!(map_task);
#[cfg(all(feature = "reduce", not(feature = "map")))]
gravity_task_sdk::task!(reduce_task);

/// Build the input of reducer `r` of `reducers` from map outputs (what provider nodes do).
pub fn reduce_input(r: u32, reducers: u32, map_outputs: &[Vec<u8>]) -> Vec<u8> {
	let mut v = Vec::new();
	v.extend_from_slice(&r.to_le_bytes());
	v.extend_from_slice(&reducers.to_le_bytes());
	v.extend_from_slice(&(map_outputs.len() as u32).to_le_bytes());
	for o in map_outputs {
		v.extend_from_slice(&(o.len() as u32).to_le_bytes());
		v.extend_from_slice(o);
	}
	v
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn map_reduce_equals_direct_count() {
		let text = "the cat and The dog; the END. and";
		let halves = [&text[..12], &text[12..]];
		let maps: Vec<Vec<u8>> = halves
			.iter()
			.map(|h| {
				let mut i = 0u32.to_le_bytes().to_vec();
				i.extend_from_slice(h.as_bytes());
				map_task(&i).unwrap()
			})
			.collect();
		let mut merged = BTreeMap::new();
		for r in 0..3 {
			let out = reduce_task(&reduce_input(r, 3, &maps)).unwrap();
			for (w, c) in parse(&out).unwrap() {
				assert!(merged.insert(w, c).is_none(), "a word in two partitions");
			}
		}
		// Splitting at byte 12 cuts no word here, so the counts must match exactly.
		assert_eq!(merged, count(text));
		assert_eq!(merged["the"], 3);
	}

	#[test]
	fn bad_inputs_are_errors() {
		assert_eq!(map_task(b"ab"), Err(2));
		assert_eq!(reduce_task(b"\x05\0\0\0\x02\0\0\0\0\0\0\0"), Err(4));
		assert_eq!(reduce_task(b"\0\0\0\0\x01\0\0\0\x01\0\0\0\x09\0\0\0x"), Err(2));
	}
}
