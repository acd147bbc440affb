//! The runtime API of the provider registry.

use crate::{ProviderInfo, Reputation};
use codec::Codec;
use sp_runtime::Perbill;

sp_api::decl_runtime_apis! {
	/// Read access to providers and their reputation.
	pub trait ProvidersApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// A provider's registration (capabilities, bond, status, load).
		fn provider(who: AccountId) -> Option<ProviderInfo<Balance, BlockNumber>>;
		/// A provider's reputation with decay applied to now, and its current score.
		fn reputation(who: AccountId) -> (Perbill, Reputation<BlockNumber>);
		/// Blocks without a heartbeat after which a provider gets no new work
		/// (`HeartbeatTimeout`); provider nodes send one at half of it.
		fn heartbeat_timeout() -> BlockNumber;
		/// The network peer id (`PeerId::to_bytes`) a provider's node serves data from.
		fn endpoint(who: AccountId) -> Option<alloc::vec::Vec<u8>>;
	}
}
