//! The runtime API of the content store.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use gravity_primitives::ContentId;
use scale_info::TypeInfo;

/// A stored blob as `ContentApi::get` returns it.
///
/// A struct, not a bare `Vec<u8>`, on purpose: @polkadot/api (checked with 16.5.6) decodes a
/// runtime API result whose type is `Option<Bytes>` wrongly. `api.call` builds the result type
/// from the `Bytes` that `state_call` returned, and `Option`'s constructor takes a value that is
/// already a `Bytes` as its inner value (`types-codec/base/Option.js`, `decodeOption`: "value
/// instanceof Type → use as is"), so `get` read as `Some(<the whole SCALE encoding>)`: 3 bytes too
/// many in front of a blob, and a 1-byte "value" for a missing one. With `Option<Blob>`,
/// `api.call.contentApi.get(id)` decodes properly: `isNone`, or `.unwrap().bytes`.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Blob {
	/// The blob's bytes.
	pub bytes: Vec<u8>,
}

sp_api::decl_runtime_apis! {
	/// Read blobs by content id.
	pub trait ContentApi {
		/// The blob stored under `id`, if any.
		fn get(id: ContentId) -> Option<Blob>;
	}
}
