//! Proven offences (BABE and GRANDPA equivocations, reported through `pallet_offences`):
//! slash the bond, disable at once, remove from the next planned session.

use crate::{pallet::*, types::*};
use frame_support::{
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
		Get,
	},
	weights::Weight,
};
use pallet_session::SessionInterface;
use sp_runtime::{traits::{Saturating, Zero}, Perbill};
use sp_staking::{
	offence::{OffenceDetails, OffenceSeverity, OnOffenceHandler},
	SessionIndex,
};

impl<T: Config> Pallet<T> {
	/// Handle one offender of an offence in session `session` at `fraction`. Returns the
	/// storage reads and writes it made. Never fails: an offender the registry does not know
	/// (never registered, or its bond already withdrawn), or whose offence precedes its
	/// registration, is left alone.
	pub(crate) fn punish(who: &T::AccountId, fraction: Perbill, session: SessionIndex) -> (u64, u64) {
		let Some(mut record) = Members::<T>::get(who) else { return (1, 0) };
		if session < record.registered_at || record.status == Status::Candidate {
			return (1, 0)
		}
		// `pallet_offences` reports every earlier offender of the same kind and time slot
		// again when a new one joins, with the (higher) fraction for all of them: slash only
		// the part of the fraction not slashed yet for that session.
		let already = match record.last_offence {
			Some((s, f)) if s == session => f,
			_ => Perbill::zero(),
		};
		let mut writes = 0;
		if fraction > already {
			let extra = Perbill::from_parts(fraction.deconstruct().saturating_sub(already.deconstruct()));
			let to = T::SlashBeneficiary::get();
			let amount = T::Currency::transfer_on_hold(
				&HoldReason::ValidatorBond.into(),
				who,
				&to,
				extra * record.bond,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero());
			record.bond = record.bond.saturating_sub(amount);
			record.slashed = record.slashed.saturating_add(amount);
			record.last_offence = Some((session, fraction));
			writes += 3; // the offender's and the beneficiary's balances, the record
			Self::deposit_event(Event::ValidatorSlashed {
				who: who.clone(),
				amount,
				fraction: extra,
				offence_session: session,
				to,
			});
		}
		// Disable it for the rest of the session (the session pallet's disabling strategy
		// keeps at most a third of the set disabled) …
		T::Session::report_offence(who.clone(), OffenceSeverity(fraction));
		writes += 1;
		// … and take it out of the next planned set.
		if record.status == Status::Validator {
			let mut set = Admitted::<T>::get();
			if set.len() as u32 > T::MinValidators::get() {
				set.retain(|a| a != who);
				Admitted::<T>::put(set);
				SetChanged::<T>::put(true);
				let unbonds_at = Self::unbonds_at();
				let cause = LeaveCause::Offence;
				record.status = Status::Leaving { unbonds_at, cause };
				Self::deposit_event(Event::ValidatorLeaving { who: who.clone(), cause, unbonds_at });
				writes += 2;
			} else {
				Self::deposit_event(Event::OffenderKept { who: who.clone() });
			}
		}
		Members::<T>::insert(who, record);
		(3, writes + 1)
	}
}

impl<T: Config> OnOffenceHandler<T::AccountId, (T::AccountId, ()), Weight> for Pallet<T> {
	fn on_offence(
		offenders: &[OffenceDetails<T::AccountId, (T::AccountId, ())>],
		slash_fraction: &[Perbill],
		session: SessionIndex,
	) -> Weight {
		let (mut reads, mut writes) = (0u64, 0u64);
		for (details, fraction) in offenders.iter().zip(slash_fraction.iter()) {
			let (r, w) = Self::punish(&details.offender.0, *fraction, session);
			reads = reads.saturating_add(r);
			writes = writes.saturating_add(w);
		}
		T::DbWeight::get().reads_writes(reads, writes)
	}
}
