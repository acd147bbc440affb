//! The runtime API of the content store.

use alloc::vec::Vec;
use gravity_primitives::ContentId;

sp_api::decl_runtime_apis! {
	/// Read blobs by content id.
	pub trait ContentApi {
		/// The bytes stored under `id`.
		fn get(id: ContentId) -> Option<Vec<u8>>;
	}
}
