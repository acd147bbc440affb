//! # Word count: map and reduce
//!
//! **Map** data: UTF-8 text. Output: `word\tcount\n` lines sorted by word, words being maximal
//! runs of alphanumeric characters, lower-cased (ASCII only). In a map-reduce job the parameter
//! is the number of reducers `R > 0`, and the lines are split into `R` partitions (word `w` in
//! partition `fnv1a(w) % R`) in the layout of `gravity_task_sdk::partition`, so that reducer `r`
//! fetches only partition `r`; with parameter 0 the output is the lines alone.
//!
//! **Reduce** (reducer `r` of `R`, read with `gravity_task_sdk::Input::reduce`): the outputs of
//! every map task. Output: the summed counts of the words with `fnv1a(word) % R == r`, same line
//! format.
//!
//! The Wasm build of the crate exports the map with feature `map`, the reduce with `reduce`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::{collections::BTreeMap, string::String, vec::Vec};
use gravity_task_sdk::Input;

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

/// The map task.
pub fn map_task(input: Input<'_>) -> Result<Vec<u8>, i32> {
	let text = core::str::from_utf8(input.data()).map_err(|_| 3)?;
	let counts = count(text);
	let reducers = input.param();
	if reducers == 0 {
		return Ok(format(&counts))
	}
	if reducers > gravity_task_sdk::partition::MAX_PARTS {
		return Err(4)
	}
	let mut parts: Vec<BTreeMap<String, u64>> = (0..reducers).map(|_| BTreeMap::new()).collect();
	for (w, c) in counts {
		let r = partition(&w, reducers) as usize;
		parts[r].insert(w, c);
	}
	let parts: Vec<Vec<u8>> = parts.iter().map(format).collect();
	Ok(gravity_task_sdk::partition::encode(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>()))
}

/// The reduce task.
pub fn reduce_task(input: Input<'_>) -> Result<Vec<u8>, i32> {
	let input = input.reduce().map_err(|_| 2)?;
	let (r, reducers) = (input.partition(), input.reducers());
	if reducers == 0 || r >= reducers {
		return Err(4)
	}
	let mut total = BTreeMap::new();
	for output in input.map_outputs() {
		let part = parse(output.map_err(|_| 2)?).ok_or(3)?;
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

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn map_reduce_equals_direct_count() {
		let text = "the cat and The dog; the END. and";
		let halves = [&text[..12], &text[12..]];
		let maps: Vec<Vec<u8>> = halves
			.iter()
			.map(|h| map_task(Input::new(3, h.as_bytes())).unwrap())
			.collect();
		let mut merged = BTreeMap::new();
		for r in 0..3 {
			// Reducer r gets partition r of every map output, as its node fetches it.
			let parts: Vec<&[u8]> = maps.iter().map(|m| gravity_task_sdk::partition::part(m, 3, r).unwrap()).collect();
			for p in &parts {
				assert!(parse(p).unwrap().keys().all(|w| partition(w, 3) == r), "only words of partition {r}");
			}
			let raw = gravity_task_sdk::encode_reduce(r, 3, parts);
			let out = reduce_task(Input::parse(&raw).unwrap()).unwrap();
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
		assert_eq!(map_task(Input::new(0, b"\xff")), Err(3));
		// Partition 5 of 2 reducers.
		assert_eq!(reduce_task(Input::new(5, b"\x02\0\0\0\0\0\0\0")), Err(4));
		// One map output of 9 bytes announced, 1 present.
		assert_eq!(reduce_task(Input::new(0, b"\x01\0\0\0\x01\0\0\0\x09\0\0\0x")), Err(2));
		// A map output that is not `word\tcount` lines.
		let raw = gravity_task_sdk::encode_reduce(0, 1, [&b"no tab here\n"[..]]);
		assert_eq!(reduce_task(Input::parse(&raw).unwrap()), Err(3));
	}
}
