//! The registry as `pallet_session`'s session manager, `pallet_authorship`'s event handler and
//! the source of the session length.

use crate::pallet::*;
use alloc::vec::Vec;
use core::marker::PhantomData;
use frame_support::traits::Get;
use pallet_session::SessionInterface;
use sp_runtime::traits::Convert;
use sp_staking::SessionIndex;

impl<T: Config> Pallet<T> {
	/// Plan the set of session `new_index`: the admitted set if it changed, else no change.
	/// Also prunes the session history older than `BondingSessions` (reports about those
	/// sessions can no longer be proven).
	pub(crate) fn plan_session(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		let window = T::BondingSessions::get();
		if new_index > window {
			T::Session::prune_up_to(new_index - window);
		}
		if !SetChanged::<T>::take() {
			return None
		}
		let validators = Admitted::<T>::get();
		if validators.is_empty() {
			// Never plan an empty set (the chain would stop); keep the current one.
			log::error!(target: "gravity-validators", "the admitted set is empty; keeping the current set");
			return None
		}
		Self::deposit_event(Event::ValidatorSetPlanned {
			session: new_index,
			validators: validators.clone(),
		});
		Some(validators.into_inner())
	}
}

impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Self::plan_session(new_index)
	}
	fn new_session_genesis(_new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Some(Admitted::<T>::get().into_inner())
	}
	fn start_session(start_index: SessionIndex) {
		CurrentSession::<T>::put(start_index);
	}
	fn end_session(_end_index: SessionIndex) {}
}

impl<T: Config> pallet_session::historical::SessionManager<T::AccountId, ()> for Pallet<T> {
	fn new_session(new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		Self::plan_session(new_index).map(|v| v.into_iter().map(|a| (a, ())).collect())
	}
	fn new_session_genesis(new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		<Self as pallet_session::SessionManager<_>>::new_session_genesis(new_index)
			.map(|v| v.into_iter().map(|a| (a, ())).collect())
	}
	fn start_session(start_index: SessionIndex) {
		<Self as pallet_session::SessionManager<_>>::start_session(start_index)
	}
	fn end_session(end_index: SessionIndex) {
		<Self as pallet_session::SessionManager<_>>::end_session(end_index)
	}
}

/// Counts the blocks each registered validator authors (`pallet_authorship`).
impl<T: Config> pallet_authorship::EventHandler<T::AccountId, frame_system::pallet_prelude::BlockNumberFor<T>>
	for Pallet<T>
{
	fn note_author(author: T::AccountId) {
		Members::<T>::mutate(&author, |r| {
			if let Some(r) = r {
				r.blocks_authored = r.blocks_authored.saturating_add(1);
			}
		});
	}
}

/// The session length in slots, as the genesis config set it: BABE's `EpochDuration` (the
/// session pallet ends a session when BABE's epoch ends).
pub struct SessionLengthOf<T>(PhantomData<T>);
impl<T: Config> Get<u64> for SessionLengthOf<T> {
	fn get() -> u64 {
		SessionLength::<T>::get()
	}
}

/// Validators carry no further identification than their account (`historical`'s
/// `FullIdentification = ()`): slashes are taken from the bond this pallet holds.
pub struct AlwaysIdentified;
impl<A> Convert<A, Option<()>> for AlwaysIdentified {
	fn convert(_: A) -> Option<()> {
		Some(())
	}
}
