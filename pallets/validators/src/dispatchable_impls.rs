//! The calls: register, admit or reject, leave, withdraw the bond.

use crate::{pallet::*, types::*};
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::Precision,
		ValidatorRegistration,
	},
};
use sp_runtime::traits::Zero;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_register(who: T::AccountId, bond: BalanceOf<T>) -> DispatchResult {
		ensure!(!Members::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
		ensure!(T::KeysRegistration::is_registered(&who), Error::<T>::NoSessionKeys);
		ensure!(bond >= T::MinBond::get(), Error::<T>::BondTooLow);
		let mut candidates = Candidates::<T>::get();
		candidates.try_push(who.clone()).map_err(|_| Error::<T>::TooManyCandidates)?;
		T::Currency::hold(&HoldReason::ValidatorBond.into(), &who, bond)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Candidates::<T>::put(candidates);
		Members::<T>::insert(
			&who,
			ValidatorRecord {
				bond,
				status: Status::Candidate,
				registered_at: CurrentSession::<T>::get(),
				slashed: Zero::zero(),
				last_offence: None,
				blocks_authored: 0,
			},
		);
		Self::deposit_event(Event::CandidateRegistered { who, bond });
		Ok(())
	}

	/// A candidate leaves the queue: by its own choice, or rejected by the `AdminOrigin`.
	pub(crate) fn do_drop_candidate(who: T::AccountId, rejected: bool) -> DispatchResult {
		let record = Members::<T>::get(&who).ok_or(Error::<T>::NotCandidate)?;
		ensure!(record.status == Status::Candidate, Error::<T>::NotCandidate);
		Candidates::<T>::mutate(|c| c.retain(|a| a != &who));
		Members::<T>::remove(&who);
		let bond = Self::release_all(&who);
		Self::deposit_event(if rejected {
			Event::CandidateRejected { who, bond }
		} else {
			Event::CandidacyWithdrawn { who, bond }
		});
		Ok(())
	}

	pub(crate) fn do_admit(who: T::AccountId) -> DispatchResult {
		let mut record = Members::<T>::get(&who).ok_or(Error::<T>::NotCandidate)?;
		ensure!(record.status == Status::Candidate, Error::<T>::NotCandidate);
		// Keys purged since registering: the session pallet would skip it, so do not admit it.
		ensure!(T::KeysRegistration::is_registered(&who), Error::<T>::NoSessionKeys);
		let mut set = Admitted::<T>::get();
		set.try_push(who.clone()).map_err(|_| Error::<T>::TooManyValidators)?;
		Admitted::<T>::put(set);
		SetChanged::<T>::put(true);
		Candidates::<T>::mutate(|c| c.retain(|a| a != &who));
		record.status = Status::Validator;
		Members::<T>::insert(&who, record);
		Self::deposit_event(Event::ValidatorAdmitted { who, session: CurrentSession::<T>::get() });
		Ok(())
	}

	pub(crate) fn do_leave(who: T::AccountId, cause: LeaveCause) -> DispatchResult {
		let mut record = Members::<T>::get(&who).ok_or(Error::<T>::NotValidator)?;
		ensure!(record.status == Status::Validator, Error::<T>::NotValidator);
		let mut set = Admitted::<T>::get();
		ensure!(
			set.len() as u32 > T::MinValidators::get(),
			Error::<T>::TooFewValidators
		);
		set.retain(|a| a != &who);
		Admitted::<T>::put(set);
		SetChanged::<T>::put(true);
		let unbonds_at = Self::unbonds_at();
		record.status = Status::Leaving { unbonds_at, cause };
		Members::<T>::insert(&who, record);
		Self::deposit_event(Event::ValidatorLeaving { who, cause, unbonds_at });
		Ok(())
	}

	pub(crate) fn do_withdraw_bond(who: T::AccountId) -> DispatchResult {
		let record = Members::<T>::get(&who).ok_or(Error::<T>::NotLeaving)?;
		let Status::Leaving { unbonds_at, .. } = record.status else {
			return Err(Error::<T>::NotLeaving.into())
		};
		ensure!(CurrentSession::<T>::get() >= unbonds_at, Error::<T>::StillBonded);
		Members::<T>::remove(&who);
		let amount = Self::release_all(&who);
		Self::deposit_event(Event::BondReturned { who, amount });
		Ok(())
	}

	/// The session from which a validator leaving now gets its bond back: it may author
	/// until the end of the next session (the set is queued one session ahead), and stays
	/// slashable for `BondingSessions` sessions after that.
	pub(crate) fn unbonds_at() -> sp_staking::SessionIndex {
		CurrentSession::<T>::get()
			.saturating_add(2)
			.saturating_add(T::BondingSessions::get())
	}

	/// Release everything held for `who`'s bond; returns the amount.
	pub(crate) fn release_all(who: &T::AccountId) -> BalanceOf<T> {
		let reason = HoldReason::ValidatorBond.into();
		let held = T::Currency::balance_on_hold(&reason, who);
		T::Currency::release(&reason, who, held, Precision::BestEffort).unwrap_or_default()
	}

	pub(crate) fn do_build_genesis(
		validators: &[(T::AccountId, BalanceOf<T>)],
		session_length: u64,
	) {
		if session_length > 0 {
			SessionLength::<T>::put(session_length);
		}
		let mut set = BoundedVec::<T::AccountId, T::MaxValidators>::new();
		for (who, bond) in validators {
			assert!(*bond >= T::MinBond::get(), "genesis validator bond below MinBond");
			T::Currency::hold(&HoldReason::ValidatorBond.into(), who, *bond)
				.expect("genesis validators can pay their bonds");
			set.try_push(who.clone()).expect("genesis validators fit MaxValidators");
			Members::<T>::insert(
				who,
				ValidatorRecord {
					bond: *bond,
					status: Status::Validator,
					registered_at: 0,
					slashed: Zero::zero(),
					last_offence: None,
					blocks_authored: 0,
				},
			);
		}
		Admitted::<T>::put(set);
	}
}
