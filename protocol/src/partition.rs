//! **Partitioned map outputs**: how a map task of a map-reduce job lays out its output so that
//! reducer `r` fetches only partition `r` of it, as a verified byte range, from the providers
//! that computed it (the shuffle of G-PMR, over the network instead of a cluster file system).
//!
//! A map task of a map-reduce job with `R` reducers gets `param = R` and writes
//!
//! ```text
//! parts: u32 LE = R ‖ R × end: u64 LE ‖ partition 0 ‖ … ‖ partition R-1
//! ```
//!
//! where `end[i]` is where partition `i` ends, counted from the first byte after the header
//! (so partition `i` is `header_len(R) + end[i-1] .. header_len(R) + end[i]`, `end[-1] = 0`).
//! A reducer's node fetches the header (the first [`header_len`] bytes), then the range of its
//! partition, and hands the reduce task `encode_reduce(r, R, [partition r of each map output])`.
//!
//! A map output that is not a valid layout for `R` partitions (a failure result, a task that
//! ignores the layout) is handed to every reducer whole: every honest node does the same, so
//! the reducers' results stay deterministic.
//!
//! ```
//! use gravity_protocol::partition::*;
//! let out = encode(&[&b"a\t1\n"[..], &b""[..], &b"b\t2\n"[..]]);
//! let ends = parse_header(&out[..header_len(3) as usize], 3, out.len() as u64).unwrap();
//! assert_eq!(range(&ends, 3, 1).unwrap(), 32..32);
//! assert_eq!(part(&out, 3, 2), Some(&b"b\t2\n"[..]));
//! ```

use alloc::vec::Vec;
use core::ops::Range;

/// Most partitions a layout may declare (a reducer count above this is not a layout).
pub const MAX_PARTS: u32 = 1 << 16;

/// Bytes of the header of a layout with `parts` partitions.
pub const fn header_len(parts: u32) -> u64 {
	4 + 8 * parts as u64
}

/// Lay out `parts` as one partitioned output.
pub fn encode(parts: &[&[u8]]) -> Vec<u8> {
	let data: usize = parts.iter().map(|p| p.len()).sum();
	let mut out = Vec::with_capacity(header_len(parts.len() as u32) as usize + data);
	out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
	let mut end = 0u64;
	for p in parts {
		end += p.len() as u64;
		out.extend_from_slice(&end.to_le_bytes());
	}
	for p in parts {
		out.extend_from_slice(p);
	}
	out
}

/// Why bytes are not a partitioned output for the expected number of partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
	/// Shorter than the header.
	Short,
	/// The header declares another number of partitions.
	Parts,
	/// The ends decrease, or the last one is not the end of the output.
	Ends,
}

/// Read the partition ends from the first [`header_len`]`(parts)` bytes of an output of `size`
/// bytes that should hold `parts` partitions.
pub fn parse_header(head: &[u8], parts: u32, size: u64) -> Result<Vec<u64>, LayoutError> {
	if parts == 0 || parts > MAX_PARTS {
		return Err(LayoutError::Parts)
	}
	let need = header_len(parts);
	if (head.len() as u64) < need || size < need {
		return Err(LayoutError::Short)
	}
	if u32::from_le_bytes([head[0], head[1], head[2], head[3]]) != parts {
		return Err(LayoutError::Parts)
	}
	let mut ends = Vec::with_capacity(parts as usize);
	let mut last = 0u64;
	for i in 0..parts as usize {
		let at = 4 + 8 * i;
		let mut b = [0u8; 8];
		b.copy_from_slice(&head[at..at + 8]);
		let end = u64::from_le_bytes(b);
		if end < last {
			return Err(LayoutError::Ends)
		}
		ends.push(end);
		last = end;
	}
	if last != size - need {
		return Err(LayoutError::Ends)
	}
	Ok(ends)
}

/// The byte range of partition `r` in the output, from its parsed `ends`.
pub fn range(ends: &[u64], parts: u32, r: u32) -> Option<Range<u64>> {
	let start = if r == 0 { 0 } else { *ends.get(r as usize - 1)? };
	let end = *ends.get(r as usize)?;
	let base = header_len(parts);
	Some(base + start..base + end)
}

/// Partition `r` of a whole output in memory, if it is a valid layout for `parts` partitions.
pub fn part(output: &[u8], parts: u32, r: u32) -> Option<&[u8]> {
	let ends = parse_header(output, parts, output.len() as u64).ok()?;
	let range = range(&ends, parts, r)?;
	output.get(range.start as usize..range.end as usize)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn round_trip_and_empty_parts() {
		let out = encode(&[&b"xy"[..], &b""[..], &b"z"[..]]);
		assert_eq!(out.len() as u64, header_len(3) + 3);
		let ends = parse_header(&out, 3, out.len() as u64).unwrap();
		assert_eq!(ends, [2, 2, 3]);
		assert_eq!(range(&ends, 3, 0), Some(28..30));
		assert_eq!(part(&out, 3, 0), Some(&b"xy"[..]));
		assert_eq!(part(&out, 3, 1), Some(&b""[..]));
		assert_eq!(part(&out, 3, 2), Some(&b"z"[..]));
		assert_eq!(range(&ends, 3, 3), None);
		assert_eq!(part(&out, 2, 0), None);
	}

	#[test]
	fn what_is_not_a_layout_is_named() {
		let out = encode(&[&b"ab"[..], &b"c"[..]]);
		assert_eq!(parse_header(&out[..5], 2, out.len() as u64), Err(LayoutError::Short));
		assert_eq!(parse_header(&out, 3, out.len() as u64), Err(LayoutError::Short));
		assert_eq!(parse_header(&out, 1, out.len() as u64), Err(LayoutError::Parts));
		assert_eq!(parse_header(&out, 0, out.len() as u64), Err(LayoutError::Parts));
		// Size that does not match the last end (bytes added or cut).
		assert_eq!(parse_header(&out, 2, out.len() as u64 + 1), Err(LayoutError::Ends));
		// Decreasing ends.
		let mut bad = out.clone();
		bad[4..12].copy_from_slice(&5u64.to_le_bytes());
		assert_eq!(parse_header(&bad, 2, bad.len() as u64), Err(LayoutError::Ends));
		// A failure result is not a layout.
		assert!(parse_header(b"gravity-failure\x01", 2, 16).is_err());
	}
}
