//! The logic of `put` and `remove`.

use crate::*;
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{fungible::MutateHold, tokens::Precision},
};
use gravity_primitives::ContentId;
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
	/// The deposit for a blob of `len` bytes.
	pub fn deposit_for(len: u32) -> BalanceOf<T> {
		T::DepositBase::get().saturating_add(T::DepositPerByte::get().saturating_mul(len.into()))
	}

	pub(crate) fn do_put(who: T::AccountId, data: Vec<u8>) -> Result<ContentId, DispatchError> {
		ensure!(!data.is_empty(), Error::<T>::Empty);
		let len = data.len() as u32;
		let blob: BoundedVec<u8, T::MaxBlobSize> = data.try_into().map_err(|_| Error::<T>::TooLarge)?;
		let id = ContentId::of(&blob);
		ensure!(!Blobs::<T>::contains_key(id), Error::<T>::AlreadyStored);
		let deposit = Self::deposit_for(len);
		T::Currency::hold(&HoldReason::BlobDeposit.into(), &who, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Blobs::<T>::insert(id, blob);
		Owners::<T>::insert(id, (who.clone(), deposit));
		Self::deposit_event(Event::Stored { id, size: len, owner: who, deposit });
		Ok(id)
	}

	pub(crate) fn do_remove(who: T::AccountId, id: ContentId) -> DispatchResult {
		let (owner, deposit) = Owners::<T>::get(id).ok_or(Error::<T>::UnknownContent)?;
		ensure!(owner == who, Error::<T>::NotOwner);
		if let Some(until) = PinnedUntil::<T>::get(id) {
			ensure!(frame_system::Pallet::<T>::block_number() > until, Error::<T>::Pinned);
			PinnedUntil::<T>::remove(id);
		}
		T::Currency::release(&HoldReason::BlobDeposit.into(), &who, deposit, Precision::BestEffort)?;
		Blobs::<T>::remove(id);
		Owners::<T>::remove(id);
		Self::deposit_event(Event::Removed { id, owner: who });
		Ok(())
	}

	/// Pin `id` until `until` (keeps a later pin).
	pub fn pin(id: ContentId, until: frame_system::pallet_prelude::BlockNumberFor<T>) {
		PinnedUntil::<T>::mutate(id, |p| {
			if p.map_or(true, |p| p < until) {
				*p = Some(until);
			}
		});
	}

	/// The bytes of a blob (runtime API).
	pub fn get(id: ContentId) -> Option<Vec<u8>> {
		Blobs::<T>::get(id).map(|b| b.into_inner())
	}
}

impl<T: Config> gravity_primitives::ContentStore<frame_system::pallet_prelude::BlockNumberFor<T>> for Pallet<T> {
	fn exists(id: &ContentId) -> bool {
		Blobs::<T>::contains_key(id)
	}

	fn pin_until(id: &ContentId, until: frame_system::pallet_prelude::BlockNumberFor<T>) {
		Self::pin(*id, until)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn insert_for_benchmark(id: &ContentId) {
		let blob: BoundedVec<u8, T::MaxBlobSize> = BoundedVec::truncate_from(alloc::vec![1u8; 64]);
		Blobs::<T>::insert(id, blob);
	}
}
