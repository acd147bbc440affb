//! Storage types of the provider registry.

use codec::{Decode, Encode, MaxEncodedLen};

use gravity_primitives::{Capabilities, ClassKey};
use scale_info::TypeInfo;
use sp_runtime::{traits::Saturating, Perbill};

/// Whether a provider takes new work.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum ProviderStatus<BlockNumber> {
	/// In its capability class index: can be assigned tasks.
	Online,
	/// Registered but takes no new tasks (it keeps the ones it holds).
	Offline,
	/// Deregistered: the bond can be withdrawn from block `until` on.
	Unbonding { until: BlockNumber },
}

/// A registered provider.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct ProviderInfo<Balance, BlockNumber> {
	/// What the machine offers.
	pub capabilities: Capabilities,
	/// The bond held from the provider's free balance.
	pub bond: Balance,
	pub status: ProviderStatus<BlockNumber>,
	pub registered_at: BlockNumber,
	pub last_heartbeat: BlockNumber,
	/// Position in the capability-class index while online.
	pub slot: Option<(ClassKey, u32)>,
}

/// Fixed-point scale of the Beta counters (1.000 = one result).
pub const SCALE: u64 = 1_000;

/// A provider's reputation: a Beta score `(s+1)/(s+f+2)` over counters that decay with time,
/// plus lifetime totals that never decay.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct Reputation<BlockNumber> {
	/// Decayed successes, × [`SCALE`].
	pub successes: u64,
	/// Decayed failures, × [`SCALE`].
	pub failures: u64,
	/// Block at which the decay was last applied.
	pub updated_at: BlockNumber,
	pub lifetime_agreed: u32,
	/// Verified work paid by others, × [`SCALE`] per full `ReputationUnit` of value, since the
	/// provider last changed its capabilities or was caught dissenting (not decayed). Adaptive
	/// replication trusts a provider alone only after enough of it.
	pub trusted_work: u64,
	pub lifetime_dissented: u32,
	pub lifetime_no_show: u32,
	/// Decayed count of declines of tasks others went on to run, × [`SCALE`] (the free
	/// allowance is counted against it).
	pub declines: u64,
	/// Every such decline, never decayed.
	pub lifetime_declined: u32,
}

impl<BlockNumber> Reputation<BlockNumber> {
	/// The Beta score `(s+1)/(s+f+2)`.
	pub fn score(&self) -> Perbill {
		let num = self.successes.saturating_add(SCALE);
		let den = self.successes.saturating_add(self.failures).saturating_add(2 * SCALE);
		Perbill::from_rational(num, den)
	}
}

/// Apply `periods` decay periods with factor `keep` to a counter.
pub fn decay(value: u64, keep: Perbill, periods: u32) -> u64 {
	if periods == 0 {
		return value
	}
	keep.saturating_pow(periods as usize).mul_floor(value)
}

