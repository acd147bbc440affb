//! Fees that rise with congestion.
//!
//! Block space is what an attacker buys to keep provider duties out of blocks, so its price
//! must grow when blocks are full, as production chains do it. Two parts:
//!
//! - **[`CongestionFeeUpdate`]**, the fee multiplier's update after every block: the targeted
//!   fee adjustment of `pallet_transaction_payment` (`next = previous · (1 + v·d + v²·d²/2)`,
//!   `d` = fullness − target), with the fullness of the block's `Normal` share taken as the
//!   larger of its weight (time or proof size) and its **length**: the stock adjustment looks at
//!   weight only, and a block filled with bytes (one large, light transaction) would leave the
//!   price where it was. Target 25 %, `v` = 0.1: a block full to its `Normal` share raises fees by
//!   about 7.8 % (≈ ×2.1 over a 10-block commit window, ≈ ×90 over 60 blocks), an
//!   empty block lowers them by about 2.5 %, never below the base (multiplier 1).
//! - **[`LengthFee`]**: [`TRANSACTION_BYTE_FEE`] per byte, times the same multiplier (the stock
//!   `LengthToFee` is not multiplied). At the base price, filling the `Normal` share of a block
//!   (3.75 MiB) costs about 3.9 GRAV.

use crate::{configs::{RuntimeBlockLength, RuntimeBlockWeights}, Balance, Runtime, MICRO_UNIT};
use frame_support::{
	dispatch::DispatchClass,
	weights::{Weight, WeightToFee},
};
use pallet_transaction_payment::{Multiplier, MultiplierUpdate};
use sp_runtime::{
	traits::{Convert, One, Saturating},
	FixedPointNumber, PerThing, Perquintill,
};

/// The fee for one byte of a transaction at the base price: 1 µGRAV.
pub const TRANSACTION_BYTE_FEE: Balance = MICRO_UNIT;

/// The fullness the multiplier aims for.
pub fn target() -> Perquintill {
	Perquintill::from_percent(25)
}

/// How fast the multiplier moves.
pub fn variability() -> Multiplier {
	Multiplier::saturating_from_rational(1, 10)
}

/// The multiplier's bounds: never below the base price; at most a million times it.
pub fn min_multiplier() -> Multiplier {
	Multiplier::one()
}
/// See [`min_multiplier`].
pub fn max_multiplier() -> Multiplier {
	Multiplier::saturating_from_integer(1_000_000)
}

/// The fullness of the block being finalized: the larger of its `Normal` weight (the limiting
/// dimension) and its length, each against the `Normal` share.
pub fn normal_fullness() -> Perquintill {
	let weights = RuntimeBlockWeights::get();
	let max = weights.get(DispatchClass::Normal).max_total.unwrap_or(weights.max_block);
	let used = *frame_system::Pallet::<Runtime>::block_weight().get(DispatchClass::Normal);
	let time = Perquintill::from_rational(used.ref_time().min(max.ref_time()), max.ref_time().max(1));
	let proof = Perquintill::from_rational(used.proof_size().min(max.proof_size()), max.proof_size().max(1));
	let max_len = *RuntimeBlockLength::get().max.get(DispatchClass::Normal) as u64;
	let len = (frame_system::Pallet::<Runtime>::block_size() as u64).min(max_len);
	let length = Perquintill::from_rational(len, max_len.max(1));
	time.max(proof).max(length)
}

/// The next multiplier after a block of fullness `s`.
pub fn next_multiplier(previous: Multiplier, s: Perquintill) -> Multiplier {
	let previous = previous.max(min_multiplier());
	let target = target();
	let positive = s >= target;
	let diff_parts = if positive { s.deconstruct() - target.deconstruct() } else { target.deconstruct() - s.deconstruct() };
	let diff = Multiplier::saturating_from_rational(diff_parts, Perquintill::ACCURACY);
	let v = variability();
	let first = v.saturating_mul(diff);
	let second = v.saturating_mul(v).saturating_mul(diff).saturating_mul(diff) / Multiplier::saturating_from_integer(2);
	if positive {
		previous.saturating_add(first.saturating_add(second).saturating_mul(previous))
	} else {
		previous.saturating_sub(first.saturating_sub(second).saturating_mul(previous))
	}
	.clamp(min_multiplier(), max_multiplier())
}

/// The fee multiplier's update after each block (see the module docs).
pub struct CongestionFeeUpdate;
impl Convert<Multiplier, Multiplier> for CongestionFeeUpdate {
	fn convert(previous: Multiplier) -> Multiplier {
		next_multiplier(previous, normal_fullness())
	}
}
impl MultiplierUpdate for CongestionFeeUpdate {
	fn min() -> Multiplier {
		min_multiplier()
	}
	fn max() -> Multiplier {
		max_multiplier()
	}
	fn target() -> Perquintill {
		target()
	}
	fn variability() -> Multiplier {
		variability()
	}
}

/// The length part of a fee: [`TRANSACTION_BYTE_FEE`] a byte times the fee multiplier.
pub struct LengthFee;
impl WeightToFee for LengthFee {
	type Balance = Balance;
	fn weight_to_fee(weight: &Weight) -> Balance {
		let bytes = weight.ref_time() as Balance;
		let base = bytes.saturating_mul(TRANSACTION_BYTE_FEE);
		pallet_transaction_payment::NextFeeMultiplier::<Runtime>::get().saturating_mul_int(base)
	}
}
