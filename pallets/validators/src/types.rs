//! The records of the validator registry.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::Perbill;
use sp_staking::SessionIndex;

/// Why a validator is on its way out of the set.
#[derive(
	Clone, Copy, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum LeaveCause {
	/// It called `leave`.
	Left,
	/// The `AdminOrigin` called `remove`.
	Removed,
	/// A proven offence (an equivocation) removed it.
	Offence,
}

/// Where an account stands in the registry.
#[derive(
	Clone, Copy, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum Status {
	/// Bonded and waiting for the `AdminOrigin` to admit (or reject) it.
	Candidate,
	/// Admitted: in the set that the next planned session uses (it authors from the session
	/// after that, as `pallet_session` queues every set one session ahead).
	Validator,
	/// Out of the set; the bond stays held, and slashable for offences of the sessions it
	/// served, until `unbonds_at`, when `withdraw_bond` returns what is left.
	Leaving {
		/// The first session index at which `withdraw_bond` succeeds.
		unbonds_at: SessionIndex,
		/// Why it left.
		cause: LeaveCause,
	},
}

/// What the registry keeps about one account.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct ValidatorRecord<Balance> {
	/// The bond held now (what is left after slashes).
	pub bond: Balance,
	/// Where it stands.
	pub status: Status,
	/// The session in which it registered; offences of earlier sessions are not its own.
	pub registered_at: SessionIndex,
	/// Everything slashed from it so far (sent to the slash beneficiary).
	pub slashed: Balance,
	/// The session and fraction of the last offence it was slashed for: a second report of
	/// the same session slashes only the part of its fraction above this one.
	pub last_offence: Option<(SessionIndex, Perbill)>,
	/// Blocks it authored since it registered.
	pub blocks_authored: u32,
}
