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
	fnv1a_bytes(s.as_bytes())
}

/// Which reducer a word goes to.
pub fn partition(word: &str, reducers: u32) -> u32 {
	fnv1a(word) % reducers.max(1)
}

/// Count the words of `text`.
///
/// One pass over the bytes: ASCII bytes are classified by a table, other characters decoded
/// and asked `char::is_alphanumeric`; a word is counted in place (or lower-cased into a
/// scratch buffer if it has upper-case letters) in an open-addressing table keyed by its bytes
/// (no allocation for a word seen before). Equal to
/// splitting on non-alphanumeric characters and counting the lower-cased words in a map (the
/// test `the_counter_equals_the_plain_definition` checks it), at a fraction of the fuel.
pub fn count(text: &str) -> BTreeMap<String, u64> {
	let bytes = text.as_bytes();
	let mut table = Table::default();
	let mut lower: Vec<u8> = Vec::with_capacity(64);
	let n = bytes.len();
	// The length of the character at `i` if it is alphanumeric (`i` is always at a character
	// boundary of valid UTF-8; `None` for a separator).
	let non_ascii = |i: usize| -> (bool, usize) {
		match text.get(i..).and_then(|t| t.chars().next()) {
			Some(c) => (c.is_alphanumeric(), c.len_utf8()),
			None => (false, 1),
		}
	};
	let mut i = 0;
	while i < n {
		let start = i;
		let mut upper = false;
		while i < n {
			match CLASS[bytes[i] as usize] {
				LOWER => i += 1,
				UPPER => {
					upper = true;
					i += 1
				},
				NON_ASCII => match non_ascii(i) {
					(true, len) => i += len,
					(false, _) => break,
				},
				_ => break,
			}
		}
		if i > start {
			let word = &bytes[start..i];
			if upper {
				lower.clear();
				lower.extend_from_slice(word);
				lower.make_ascii_lowercase();
				table.add(&lower);
			} else {
				table.add(word);
			}
		} else {
			// A separator: one ASCII byte or one non-alphanumeric character.
			i += if bytes[i] < 0x80 { 1 } else { non_ascii(i).1 };
		}
	}
	table.into_map()
}

const SEPARATOR: u8 = 0;
const LOWER: u8 = 1;
const UPPER: u8 = 2;
const NON_ASCII: u8 = 3;

/// What each byte is: an ASCII separator, a lower-case letter or digit, an upper-case letter,
/// or part of a non-ASCII character (decoded to decide).
static CLASS: [u8; 256] = {
	let mut t = [SEPARATOR; 256];
	let mut b = 0;
	while b < 256 {
		let c = b as u8;
		t[b] = if c >= 0x80 {
			NON_ASCII
		} else if c.is_ascii_uppercase() {
			UPPER
		} else if c.is_ascii_alphanumeric() {
			LOWER
		} else {
			SEPARATOR
		};
		b += 1;
	}
	t
};

/// Words and their counts: the words' bytes in one arena, an open-addressing index over them.
#[derive(Default)]
struct Table {
	arena: Vec<u8>,
	/// (start in the arena, length, hash, count)
	entries: Vec<(u32, u32, u32, u64)>,
	/// Entry index + 1 per slot, 0 for an empty slot; a power of two long.
	slots: Vec<u32>,
}

impl Table {
	fn add(&mut self, word: &[u8]) {
		if (self.entries.len() + 1) * 2 > self.slots.len() {
			self.grow();
		}
		let h = fnv1a_bytes(word);
		let mask = self.slots.len() - 1;
		let mut at = h as usize & mask;
		loop {
			match self.slots[at] {
				0 => {
					self.entries.push((self.arena.len() as u32, word.len() as u32, h, 1));
					self.arena.extend_from_slice(word);
					self.slots[at] = self.entries.len() as u32;
					return
				},
				e => {
					let entry = &mut self.entries[e as usize - 1];
					let (start, len) = (entry.0 as usize, entry.1 as usize);
					if entry.2 == h && &self.arena[start..start + len] == word {
						entry.3 += 1;
						return
					}
				},
			}
			at = (at + 1) & mask;
		}
	}

	fn grow(&mut self) {
		let size = (self.slots.len() * 2).max(1024);
		self.slots = alloc::vec![0; size];
		let mask = size - 1;
		for (k, e) in self.entries.iter().enumerate() {
			let mut at = e.2 as usize & mask;
			while self.slots[at] != 0 {
				at = (at + 1) & mask;
			}
			self.slots[at] = k as u32 + 1;
		}
	}

	fn into_map(self) -> BTreeMap<String, u64> {
		self.entries
			.iter()
			.map(|&(start, len, _, c)| {
				let w = &self.arena[start as usize..(start + len) as usize];
				(String::from(core::str::from_utf8(w).unwrap_or_default()), c)
			})
			.collect()
	}
}

fn fnv1a_bytes(s: &[u8]) -> u32 {
	let mut h = 0x811c_9dc5u32;
	for b in s {
		h ^= *b as u32;
		h = h.wrapping_mul(0x0100_0193);
	}
	h
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

	/// The definition: words are maximal runs of alphanumeric characters, lower-cased (ASCII).
	fn plain_count(text: &str) -> BTreeMap<String, u64> {
		let mut m = BTreeMap::new();
		for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
			*m.entry(w.to_ascii_lowercase()).or_insert(0) += 1;
		}
		m
	}

	#[test]
	fn the_counter_equals_the_plain_definition() {
		let samples = [
			"",
			"   ;;; ",
			"word",
			"The the THE tHe",
			"Ünïcödé wörds, ÜNÏCÖDÉ; naïve café CAFÉ Straße 東京 東京タワー ١٢٣ x²",
			"tab\tnew\nline\r\nend9 9end a1b2 __ x-y",
			"emoji 🙂🙂 between🙂words and\u{200b}zero\u{00a0}width",
		];
		for text in samples {
			assert_eq!(count(text), plain_count(text), "{text:?}");
		}
		// Many distinct words (the table grows several times) and pseudo-random text with
		// multi-byte characters mixed in.
		let mut x = 0x2545_f491_4f6c_dd1du64;
		let alphabet: Vec<char> = "abcdefgHIJK0123 ,.;é東🙂\n".chars().collect();
		let mut text = String::new();
		for _ in 0..200_000 {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			text.push(alphabet[(x % alphabet.len() as u64) as usize]);
		}
		let direct = plain_count(&text);
		assert!(direct.len() > 5_000, "{} distinct words", direct.len());
		assert_eq!(count(&text), direct);
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
