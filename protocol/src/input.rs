//! Task input framing: `param: u32 LE ‖ data`, and the reduce layout of `data`.

use alloc::vec::Vec;

/// Bytes of the `param` header in front of every task input.
pub const PARAM_BYTES: usize = 4;
/// Bytes of the reduce header (`reducers`, `n`) at the start of a reduce task's data.
pub const REDUCE_HEADER_BYTES: usize = 8;

/// Why bytes are not a well-framed task input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
	/// Fewer than the 4 bytes of `param`.
	NoParam,
	/// A reduce task's data is shorter than its 8-byte header (`reducers`, `n`).
	NoReduceHeader,
	/// A map output's 4-byte length is cut off.
	TruncatedLength {
		/// Index of the map output whose length is cut off.
		index: u32,
	},
	/// A map output is shorter than its length says.
	TruncatedOutput {
		/// Index of the truncated map output.
		index: u32,
	},
	/// Bytes are left after the `n` map outputs.
	TrailingBytes,
}

impl core::fmt::Display for FramingError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::NoParam => write!(f, "task input shorter than its 4-byte parameter"),
			Self::NoReduceHeader => write!(f, "reduce input shorter than its 8-byte header (reducers, n)"),
			Self::TruncatedLength { index } => write!(f, "length of map output {index} is cut off"),
			Self::TruncatedOutput { index } => write!(f, "map output {index} is shorter than its length"),
			Self::TrailingBytes => write!(f, "bytes left after the last map output"),
		}
	}
}

/// A task's input: its parameter and its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskInput<'a> {
	param: u32,
	data: &'a [u8],
}

impl<'a> TaskInput<'a> {
	/// The input with parameter `param` and data `data` (what a test of a task passes).
	pub const fn new(param: u32, data: &'a [u8]) -> Self {
		Self { param, data }
	}

	/// Read a framed input (`param: u32 LE ‖ data`).
	pub fn parse(raw: &'a [u8]) -> Result<Self, FramingError> {
		let (head, data) = raw.split_at_checked(PARAM_BYTES).ok_or(FramingError::NoParam)?;
		let param = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
		Ok(Self { param, data })
	}

	/// The parameter: tile index (render), partition (reduce), 0 otherwise.
	pub const fn param(&self) -> u32 {
		self.param
	}

	/// The task's data (for a reduce task, the framed map outputs: see [`Self::reduce`]).
	pub const fn data(&self) -> &'a [u8] {
		self.data
	}

	/// Read the data as a reduce task's input. The whole layout is checked here, so iterating
	/// [`ReduceInput::map_outputs`] afterwards cannot fail.
	pub fn reduce(&self) -> Result<ReduceInput<'a>, FramingError> {
		let (head, mut rest) =
			self.data.split_at_checked(REDUCE_HEADER_BYTES).ok_or(FramingError::NoReduceHeader)?;
		let reducers = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
		let n = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
		let outputs = rest;
		for index in 0..n {
			let (len, tail) = rest.split_at_checked(4).ok_or(FramingError::TruncatedLength { index })?;
			let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
			rest = tail.get(len..).ok_or(FramingError::TruncatedOutput { index })?;
		}
		if !rest.is_empty() {
			return Err(FramingError::TrailingBytes)
		}
		Ok(ReduceInput { partition: self.param, reducers, n, outputs })
	}
}

/// A reduce task's input: which partition it reduces and the outputs of every map task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReduceInput<'a> {
	partition: u32,
	reducers: u32,
	n: u32,
	outputs: &'a [u8],
}

impl<'a> ReduceInput<'a> {
	/// The partition this reducer computes (`0..reducers`; a task should check it).
	pub const fn partition(&self) -> u32 {
		self.partition
	}
	/// How many reducers the job has.
	pub const fn reducers(&self) -> u32 {
		self.reducers
	}
	/// How many map outputs follow.
	pub const fn len(&self) -> u32 {
		self.n
	}
	/// Whether there are no map outputs.
	pub const fn is_empty(&self) -> bool {
		self.n == 0
	}
	/// The map outputs, in map task order. Every item is `Ok` for an input from
	/// [`TaskInput::reduce`], which checked the layout.
	pub fn map_outputs(&self) -> MapOutputs<'a> {
		MapOutputs { rest: self.outputs, left: self.n, index: 0 }
	}
}

/// Iterator over a reduce input's map outputs.
#[derive(Clone, Debug)]
pub struct MapOutputs<'a> {
	rest: &'a [u8],
	left: u32,
	index: u32,
}

impl<'a> Iterator for MapOutputs<'a> {
	type Item = Result<&'a [u8], FramingError>;
	fn next(&mut self) -> Option<Self::Item> {
		if self.left == 0 {
			return None
		}
		self.left -= 1;
		let index = self.index;
		self.index += 1;
		let Some((len, tail)) = self.rest.split_at_checked(4) else {
			self.left = 0;
			return Some(Err(FramingError::TruncatedLength { index }))
		};
		let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
		let Some((out, tail)) = tail.split_at_checked(len) else {
			self.left = 0;
			return Some(Err(FramingError::TruncatedOutput { index }))
		};
		self.rest = tail;
		Some(Ok(out))
	}
}

/// Frame `param ‖ data`: the input of a batch, map or render task.
pub fn encode(param: u32, data: &[u8]) -> Vec<u8> {
	let mut v = Vec::with_capacity(PARAM_BYTES + data.len());
	v.extend_from_slice(&param.to_le_bytes());
	v.extend_from_slice(data);
	v
}

/// Frame the input of reducer `partition` of `reducers` from the map outputs, in task order.
pub fn encode_reduce<'o>(partition: u32, reducers: u32, map_outputs: impl IntoIterator<Item = &'o [u8]> + Clone) -> Vec<u8> {
	let outputs = map_outputs.clone().into_iter();
	let (n, bytes) = outputs.fold((0u32, 0usize), |(n, b), o| (n + 1, b + 4 + o.len()));
	let mut v = Vec::with_capacity(PARAM_BYTES + REDUCE_HEADER_BYTES + bytes);
	v.extend_from_slice(&partition.to_le_bytes());
	v.extend_from_slice(&reducers.to_le_bytes());
	v.extend_from_slice(&n.to_le_bytes());
	for o in map_outputs {
		v.extend_from_slice(&(o.len() as u32).to_le_bytes());
		v.extend_from_slice(o);
	}
	v
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::vec;

	#[test]
	fn param_and_data_round_trip() {
		let raw = encode(0xdead_beef, b"hello");
		assert_eq!(&raw[..4], &[0xef, 0xbe, 0xad, 0xde]);
		let i = TaskInput::parse(&raw).unwrap();
		assert_eq!(i, TaskInput::new(0xdead_beef, b"hello"));
		assert_eq!(TaskInput::parse(&encode(3, b"")).unwrap().data(), b"");
	}

	#[test]
	fn short_inputs_are_framing_errors() {
		assert_eq!(TaskInput::parse(b"abc"), Err(FramingError::NoParam));
		assert_eq!(TaskInput::new(0, b"1234567").reduce(), Err(FramingError::NoReduceHeader));
	}

	#[test]
	fn reduce_round_trip() {
		let outs: [&[u8]; 3] = [b"x", b"", b"yz"];
		let raw = encode_reduce(2, 3, outs);
		let r = TaskInput::parse(&raw).unwrap().reduce().unwrap();
		assert_eq!((r.partition(), r.reducers(), r.len(), r.is_empty()), (2, 3, 3, false));
		let got: Vec<&[u8]> = r.map_outputs().map(Result::unwrap).collect();
		assert_eq!(got, outs);
		let empty = encode_reduce(0, 1, core::iter::empty::<&[u8]>());
		assert!(TaskInput::parse(&empty).unwrap().reduce().unwrap().is_empty());
	}

	#[test]
	fn malformed_reduce_inputs_are_named() {
		// n = 1 but no length.
		let mut raw = vec![0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
		assert_eq!(TaskInput::parse(&raw).unwrap().reduce(), Err(FramingError::TruncatedLength { index: 0 }));
		// Length 9, one byte of output.
		raw.extend_from_slice(&[9, 0, 0, 0, b'x']);
		assert_eq!(TaskInput::parse(&raw).unwrap().reduce(), Err(FramingError::TruncatedOutput { index: 0 }));
		// A complete input with a byte too many.
		let mut ok = encode_reduce(0, 1, [&b"x"[..]]);
		ok.push(0);
		assert_eq!(TaskInput::parse(&ok).unwrap().reduce(), Err(FramingError::TrailingBytes));
	}

	#[test]
	fn huge_length_does_not_overflow() {
		let raw = [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1];
		assert_eq!(TaskInput::parse(&raw).unwrap().reduce(), Err(FramingError::TruncatedOutput { index: 0 }));
	}
}
