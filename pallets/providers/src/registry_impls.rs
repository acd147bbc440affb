//! Reputation bookkeeping and the [`ProviderRegistry`] the market pallet uses.

use crate::*;
use alloc::vec::Vec;
use frame_support::traits::{
	fungible::MutateHold,
	tokens::{Fortitude, Precision, Restriction},
	Get,
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{ClassKey, Eligibility, Outcome, ProviderLoad, ProviderRegistry, Requirements};
use sp_runtime::{
	traits::{Saturating, UniqueSaturatedInto, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
	/// The reputation of `who` with the decay up to now applied.
	pub fn current_reputation(who: &T::AccountId) -> Reputation<BlockNumberFor<T>> {
		let mut r = Reputations::<T>::get(who);
		Self::apply_decay(&mut r, frame_system::Pallet::<T>::block_number());
		r
	}

	fn apply_decay(r: &mut Reputation<BlockNumberFor<T>>, now: BlockNumberFor<T>) {
		let period = T::DecayPeriod::get();
		if period.is_zero() || now <= r.updated_at {
			return
		}
		let elapsed = now.saturating_sub(r.updated_at);
		let periods: u32 = (elapsed / period).unique_saturated_into();
		if periods == 0 {
			return
		}
		let keep = T::DecayKeep::get();
		r.successes = decay(r.successes, keep, periods);
		r.failures = decay(r.failures, keep, periods);
		r.declines = decay(r.declines, keep, periods);
		// Advance by whole periods only, so partial periods are not lost.
		r.updated_at = r.updated_at.saturating_add(period.saturating_mul(periods.into()));
	}

	pub(crate) fn do_record_outcome(who: &T::AccountId, outcome: Outcome, credit: Perbill) {
		let now = frame_system::Pallet::<T>::block_number();
		let score = Reputations::<T>::mutate(who, |r| {
			Self::apply_decay(r, now);
			match outcome {
				Outcome::Agreed => {
					// Reputation grows with the value of verified work paid by someone else,
					// not with the number of agreements (a fuel-0 or self-paid result earns 0).
					let earned = credit.mul_floor(SCALE);
					r.successes = r.successes.saturating_add(earned);
					r.trusted_work = r.trusted_work.saturating_add(earned);
					r.lifetime_agreed = r.lifetime_agreed.saturating_add(1);
				},
				Outcome::Dissented => {
					// Caught with a wrong result: everything that made it trusted is gone.
					r.successes = 0;
					r.trusted_work = 0;
					r.failures = r.failures.saturating_add(SCALE);
					r.lifetime_dissented = r.lifetime_dissented.saturating_add(1);
				},
				Outcome::NoShow => {
					r.failures = r.failures.saturating_add(SCALE);
					r.lifetime_no_show = r.lifetime_no_show.saturating_add(1);
				},
			}
			if r.updated_at.is_zero() {
				r.updated_at = now;
			}
			r.score()
		});
		Self::deposit_event(Event::ReputationUpdated { provider: who.clone(), score });
	}

	/// A decline of a task others went on to run: counted; past the free allowance it costs
	/// `DeclineCost` of a failure. Returns whether it did.
	pub(crate) fn do_record_decline(who: &T::AccountId) -> bool {
		if !Providers::<T>::contains_key(who) {
			return false
		}
		let now = frame_system::Pallet::<T>::block_number();
		let (declines, charged, score) = Reputations::<T>::mutate(who, |r| {
			Self::apply_decay(r, now);
			r.declines = r.declines.saturating_add(SCALE);
			r.lifetime_declined = r.lifetime_declined.saturating_add(1);
			let charged = r.declines > (T::FreeDeclines::get() as u64).saturating_mul(SCALE);
			if charged {
				r.failures = r.failures.saturating_add(T::DeclineCost::get().mul_floor(SCALE));
			}
			if r.updated_at.is_zero() {
				r.updated_at = now;
			}
			(r.declines, charged, r.score())
		});
		Self::deposit_event(Event::DeclineRecorded { provider: who.clone(), declines, charged });
		if charged {
			Self::deposit_event(Event::ReputationUpdated { provider: who.clone(), score });
		}
		charged
	}

	pub(crate) fn do_slash(
		who: &T::AccountId,
		fraction: Perbill,
		beneficiary: &T::AccountId,
	) -> BalanceOf<T> {
		let Some(info) = Providers::<T>::get(who) else { return Zero::zero() };
		Self::do_slash_amount(who, fraction.mul_floor(info.bond), beneficiary)
	}

	/// Take up to `want` of the bond of `who` to `beneficiary`.
	pub(crate) fn do_slash_amount(
		who: &T::AccountId,
		want: BalanceOf<T>,
		beneficiary: &T::AccountId,
	) -> BalanceOf<T> {
		let Some(mut info) = Providers::<T>::get(who) else { return Zero::zero() };
		let want = want.min(info.bond);
		if want.is_zero() {
			return want
		}
		let moved = T::Currency::transfer_on_hold(
			&HoldReason::ProviderBond.into(),
			who,
			beneficiary,
			want,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero());
		info.bond = info.bond.saturating_sub(moved);
		// Below the minimum bond a provider takes no new work until it re-registers.
		if info.bond < T::MinBond::get() && info.slot.is_some() {
			Self::index_remove(who, &mut info);
			info.status = ProviderStatus::Offline;
		}
		Providers::<T>::insert(who, info);
		Self::deposit_event(Event::Slashed {
			provider: who.clone(),
			amount: moved,
			beneficiary: beneficiary.clone(),
		});
		moved
	}
}

impl<T: Config> ProviderRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn pick(class: &ClassKey, slot: u32) -> Option<T::AccountId> {
		ClassMembers::<T>::get(class, slot)
	}

	fn count() -> u32 {
		ProviderCount::<T>::get()
	}

	fn class_sizes(classes: &[ClassKey]) -> Vec<u32> {
		let table = Self::class_size_table();
		classes.iter().map(|c| Self::size_in(&table, c)).collect()
	}

	fn eligibility(who: &T::AccountId, req: &Requirements) -> Eligibility {
		let Some(info) = Providers::<T>::get(who) else { return Eligibility::Ineligible };
		let now = frame_system::Pallet::<T>::block_number();
		let qualified = info.status == ProviderStatus::Online &&
			info.slot.is_some() &&
			Self::is_live(&info, now) &&
			info.bond >= T::MinBond::get() &&
			req.matched_by(&info.capabilities) &&
			Self::current_reputation(who).score() >= req.min_reputation;
		let spare = T::Load::load(who) < info.capabilities.max_concurrent as u32;
		match (qualified, spare) {
			(true, true) => Eligibility::Eligible,
			(true, false) => Eligibility::Busy,
			(false, _) => Eligibility::Ineligible,
		}
	}

	fn is_provider(who: &T::AccountId) -> bool {
		Providers::<T>::contains_key(who)
	}

	fn reputation(who: &T::AccountId) -> Perbill {
		Self::current_reputation(who).score()
	}

	fn lifetime_successes(who: &T::AccountId) -> u32 {
		(Reputations::<T>::get(who).trusted_work / SCALE).min(u32::MAX as u64) as u32
	}

	fn bond(who: &T::AccountId) -> BalanceOf<T> {
		Providers::<T>::get(who).map(|i| i.bond).unwrap_or_default()
	}

	fn record_outcome(who: &T::AccountId, outcome: Outcome, credit: Perbill) {
		Self::do_record_outcome(who, outcome, credit)
	}

	fn record_decline(who: &T::AccountId) -> bool {
		Self::do_record_decline(who)
	}

	fn slash(who: &T::AccountId, fraction: Perbill, beneficiary: &T::AccountId) -> BalanceOf<T> {
		Self::do_slash(who, fraction, beneficiary)
	}

	fn slash_amount(who: &T::AccountId, amount: BalanceOf<T>, beneficiary: &T::AccountId) -> BalanceOf<T> {
		Self::do_slash_amount(who, amount, beneficiary)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(who: &T::AccountId, capabilities: gravity_primitives::Capabilities) {
		Self::bench_register(who, capabilities)
	}
}

