//! **Content ids**: how every party names a piece of data.
//!
//! A content id is the BLAKE3 hash of the bytes (the plain `blake3::hash`, i.e. the root of the
//! BLAKE3 tree) together with their size. Transfers verify every slice against the root with a
//! verified-streaming outboard (a bao tree of 16 KiB chunk groups, [`CHUNK_GROUP_LOG`] = 4, the
//! chunking iroh-blobs uses), so a content id is all a receiver needs to trust a byte it got
//! from a stranger.
//!
//! Text form: `<64 lowercase hex digits of the hash>:<size in bytes, decimal>`.
//!
//! ```
//! use gravity_protocol::content::ContentId;
//! let id = ContentId { root: [0xab; 32], length: 1234 };
//! let text = id.to_string();
//! assert_eq!(text.parse::<ContentId>(), Ok(id));
//! assert!("abc:12".parse::<ContentId>().is_err());
//! ```

use core::{fmt, str::FromStr};

/// log2 of the chunks (1 KiB each) in a chunk group: outboards keep one hash pair per 16 KiB.
pub const CHUNK_GROUP_LOG: u8 = 4;
/// Bytes in a chunk group (16 KiB): the unit of a verified slice.
pub const CHUNK_GROUP_BYTES: u64 = 1024 << CHUNK_GROUP_LOG;

/// The longest content the chain accepts as a job input (64 GiB: the runtime's
/// `MaxContentLength`) and the longest a node's content store takes or downloads. Larger data is
/// split into several inputs.
pub const MAX_CONTENT_LENGTH: u64 = 64 << 30;

/// The id of a piece of content: its BLAKE3 root and its length. The one content id of every
/// Gravity crate: on chain (with the `scale` feature it is SCALE-encoded and described in the
/// runtime's metadata as `{ root: [u8; 32], length: u64 }`), in the node's content store and on
/// the swarm's wire. The field names are not `hash` and `size` because polkadot.js codecs have
/// properties of those names, which would hide the fields.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
#[cfg_attr(
	feature = "scale",
	derive(
		codec::Encode,
		codec::Decode,
		codec::DecodeWithMemTracking,
		codec::MaxEncodedLen,
		scale_info::TypeInfo
	)
)]
pub struct ContentId {
	/// `blake3::hash(bytes)`: the root of the BLAKE3 tree every slice is verified against.
	pub root: [u8; 32],
	/// Length of the bytes.
	pub length: u64,
}

impl ContentId {
	/// Number of chunk groups (slices of [`CHUNK_GROUP_BYTES`]) the content has.
	pub fn groups(&self) -> u64 {
		self.length.div_ceil(CHUNK_GROUP_BYTES)
	}

	/// The id of `bytes`: what `content.put` gives an on-chain blob and what a node's content
	/// store gives the same bytes off chain.
	#[cfg(feature = "hashing")]
	pub fn of(bytes: &[u8]) -> Self {
		ContentId { root: *blake3::hash(bytes).as_bytes(), length: bytes.len() as u64 }
	}
}

impl fmt::Display for ContentId {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		for b in self.root {
			write!(f, "{b:02x}")?;
		}
		write!(f, ":{}", self.length)
	}
}

/// Why a text is not a content id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParseIdError {
	/// No `:` between hash and size.
	NoSize,
	/// The hash is not 64 hex digits.
	BadHash,
	/// The size is not a decimal number of bytes.
	BadSize,
}

impl fmt::Display for ParseIdError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(match self {
			Self::NoSize => "a content id is <64 hex digits>:<size in bytes>, and this one has no ':<size>'",
			Self::BadHash => "the hash part of a content id must be exactly 64 hex digits (BLAKE3)",
			Self::BadSize => "the size part of a content id must be a decimal number of bytes",
		})
	}
}

impl FromStr for ContentId {
	type Err = ParseIdError;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		let (hex, size) = s.trim().split_once(':').ok_or(ParseIdError::NoSize)?;
		if hex.len() != 64 {
			return Err(ParseIdError::BadHash)
		}
		let mut root = [0u8; 32];
		for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
			let digit = |c: u8| match c {
				b'0'..=b'9' => Ok(c - b'0'),
				b'a'..=b'f' => Ok(c - b'a' + 10),
				b'A'..=b'F' => Ok(c - b'A' + 10),
				_ => Err(ParseIdError::BadHash),
			};
			root[i] = digit(pair[0])? << 4 | digit(pair[1])?;
		}
		let length = size.parse::<u64>().map_err(|_| ParseIdError::BadSize)?;
		Ok(ContentId { root, length })
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::string::ToString;

	#[test]
	fn text_form_round_trips_and_rejects_garbage() {
		let id = ContentId { root: [7; 32], length: u64::MAX };
		assert_eq!(id.to_string().parse::<ContentId>(), Ok(id));
		let hex = "07".repeat(32);
		assert_eq!(hex.parse::<ContentId>(), Err(ParseIdError::NoSize));
		assert_eq!(alloc::format!("{}:x", hex).parse::<ContentId>(), Err(ParseIdError::BadSize));
		assert_eq!(alloc::format!("{}:-1", hex).parse::<ContentId>(), Err(ParseIdError::BadSize));
		assert_eq!(alloc::format!("{}zz:1", &hex[..62]).parse::<ContentId>(), Err(ParseIdError::BadHash));
		assert_eq!(alloc::format!("{}:1", &hex[..60]).parse::<ContentId>(), Err(ParseIdError::BadHash));
		assert_eq!(ContentId { root: [0; 32], length: 0 }.groups(), 0);
		assert_eq!(ContentId { root: [0; 32], length: 16 * 1024 + 1 }.groups(), 2);
	}
}
