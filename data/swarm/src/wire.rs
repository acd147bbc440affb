//! The `/gravity/blobs/1` wire format.
//!
//! Requests (at most [`MAX_REQUEST`] bytes):
//!
//! ```text
//! version: u8 = 1 ‖ kind: u8 ‖ hash: [u8; 32] ‖ size: u64 LE ‖ (GET only) first: u64 LE ‖ end: u64 LE
//! ```
//!
//! - kind 0, **HAVE**: which chunk groups of the content does the peer hold? Answer:
//!   `status ‖ n: u32 LE ‖ n × (start: u64 LE ‖ end: u64 LE)` (at most [`MAX_HAVE_RANGES`]).
//! - kind 1, **GET**: chunk groups `first..end` (at most [`MAX_GROUPS_PER_GET`], i.e. 1 MiB of
//!   content) as a verified slice. Answer: `status ‖ bao-encoded slice` (the parent hashes
//!   from the root down and the data, in pre-order), which the receiver checks against the
//!   content id alone.
//!
//! `status` is one byte: [`Status`].

use gravity_data_store::ContentId;
use std::ops::Range;

/// Largest request.
pub const MAX_REQUEST: u64 = 64;
/// Chunk groups (16 KiB) in one GET: 1 MiB of content per response.
pub const MAX_GROUPS_PER_GET: u64 = 64;
/// Largest response: one GET's content plus its parent hashes, with room to spare.
pub const MAX_RESPONSE: u64 = 2 * 1024 * 1024;
/// Most ranges in a HAVE answer.
pub const MAX_HAVE_RANGES: usize = 4096;

/// A request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
	Have(ContentId),
	Get(ContentId, Range<u64>),
}

/// The first byte of every response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
	Ok = 0,
	/// The peer has none of this content.
	Unknown = 1,
	/// The peer is downloading it and lacks the asked groups.
	Missing = 2,
	/// The peer serves too many requests of yours (or in all) right now: ask later or elsewhere.
	Busy = 3,
	/// The request is malformed or too large.
	BadRequest = 4,
	/// The peer failed to read its own copy.
	Error = 5,
}

impl Status {
	pub fn from_byte(b: u8) -> Option<Self> {
		Some(match b {
			0 => Status::Ok,
			1 => Status::Unknown,
			2 => Status::Missing,
			3 => Status::Busy,
			4 => Status::BadRequest,
			5 => Status::Error,
			_ => return None,
		})
	}
}

impl Request {
	pub fn encode(&self) -> Vec<u8> {
		let (kind, id) = match self {
			Request::Have(id) => (0u8, id),
			Request::Get(id, _) => (1u8, id),
		};
		let mut out = Vec::with_capacity(MAX_REQUEST as usize);
		out.push(1);
		out.push(kind);
		out.extend_from_slice(&id.root);
		out.extend_from_slice(&id.length.to_le_bytes());
		if let Request::Get(_, groups) = self {
			out.extend_from_slice(&groups.start.to_le_bytes());
			out.extend_from_slice(&groups.end.to_le_bytes());
		}
		out
	}

	/// Parse a request; `None` for anything malformed, oversized or out of range.
	pub fn decode(b: &[u8]) -> Option<Self> {
		let u64_at = |at: usize| -> Option<u64> { Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?)) };
		if b.first() != Some(&1) {
			return None
		}
		let hash: [u8; 32] = b.get(2..34)?.try_into().ok()?;
		let id = ContentId { root: hash, length: u64_at(34)? };
		match (b.get(1)?, b.len()) {
			(0, 42) => Some(Request::Have(id)),
			(1, 58) => {
				let (first, end) = (u64_at(42)?, u64_at(50)?);
				(first < end && end - first <= MAX_GROUPS_PER_GET && end <= id.groups())
					.then_some(Request::Get(id, first..end))
			},
			_ => None,
		}
	}
}

/// Encode a HAVE answer.
pub fn encode_have(ranges: &[Range<u64>]) -> Vec<u8> {
	let ranges = &ranges[..ranges.len().min(MAX_HAVE_RANGES)];
	let mut out = Vec::with_capacity(5 + 16 * ranges.len());
	out.push(Status::Ok as u8);
	out.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
	for r in ranges {
		out.extend_from_slice(&r.start.to_le_bytes());
		out.extend_from_slice(&r.end.to_le_bytes());
	}
	out
}

/// Decode the body of a HAVE answer (after the status byte), clipped to `groups`.
pub fn decode_have(b: &[u8], groups: u64) -> Option<Vec<Range<u64>>> {
	let n = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) as usize;
	if n > MAX_HAVE_RANGES || b.len() != 4 + 16 * n {
		return None
	}
	let mut out = Vec::with_capacity(n);
	for i in 0..n {
		let at = 4 + 16 * i;
		let s = u64::from_le_bytes(b[at..at + 8].try_into().ok()?);
		let e = u64::from_le_bytes(b[at + 8..at + 16].try_into().ok()?).min(groups);
		if s < e {
			out.push(s..e);
		}
	}
	Some(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn requests_round_trip_and_malformed_ones_are_refused() {
		let id = ContentId { root: [3; 32], length: 10 * 1024 * 1024 };
		for r in [Request::Have(id), Request::Get(id, 0..64), Request::Get(id, 600..640)] {
			assert_eq!(Request::decode(&r.encode()), Some(r));
		}
		// Too many groups, past the end, empty, wrong version, truncated, padded.
		for bad in [Request::Get(id, 0..65), Request::Get(id, 630..650), Request::Get(id, 5..5)] {
			assert_eq!(Request::decode(&bad.encode()), None, "{bad:?}");
		}
		let mut v = Request::Have(id).encode();
		v[0] = 2;
		assert_eq!(Request::decode(&v), None);
		let v = Request::Get(id, 0..1).encode();
		assert_eq!(Request::decode(&v[..57]), None);
		let mut long = v.clone();
		long.push(0);
		assert_eq!(Request::decode(&long), None);
		assert_eq!(Request::decode(&[]), None);
	}

	#[test]
	fn have_answers_round_trip_and_are_clipped() {
		let enc = encode_have(&[0..10, 20..30]);
		assert_eq!(enc[0], Status::Ok as u8);
		assert_eq!(decode_have(&enc[1..], 25), Some(vec![0..10, 20..25]));
		assert_eq!(decode_have(&enc[1..enc.len() - 1], 25), None);
	}
}
