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

	/// Store `data`, or, when the same bytes are stored already, make `who` one more holder:
	/// either way `who` holds the blob and pays its deposit.
	pub(crate) fn do_put(who: T::AccountId, data: Vec<u8>) -> Result<ContentId, DispatchError> {
		ensure!(!data.is_empty(), Error::<T>::Empty);
		let len = data.len() as u32;
		let blob: BoundedVec<u8, T::MaxBlobSize> = data.try_into().map_err(|_| Error::<T>::TooLarge)?;
		let id = ContentId::of(&blob);
		ensure!(!Holders::<T>::contains_key(id, &who), Error::<T>::AlreadyStored);
		let deposit = Self::deposit_for(len);
		T::Currency::hold(&HoldReason::BlobDeposit.into(), &who, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		if !Blobs::<T>::contains_key(id) {
			Blobs::<T>::insert(id, blob);
		}
		Holders::<T>::insert(id, &who, deposit);
		HolderCount::<T>::mutate(id, |n| *n = n.saturating_add(1));
		Self::deposit_event(Event::Stored { id, size: len, owner: who, deposit });
		Ok(id)
	}

	/// `who` stops holding `id` and gets its deposit back; the last holder deletes the bytes,
	/// which a pin forbids until it lapses (another holder may leave a pinned blob: it stays).
	pub(crate) fn do_remove(who: T::AccountId, id: ContentId) -> DispatchResult {
		ensure!(Blobs::<T>::contains_key(id), Error::<T>::UnknownContent);
		let deposit = Holders::<T>::get(id, &who).ok_or(Error::<T>::NotOwner)?;
		let last = HolderCount::<T>::get(id) <= 1;
		if last {
			if let Some(until) = PinnedUntil::<T>::get(id) {
				ensure!(frame_system::Pallet::<T>::block_number() > until, Error::<T>::Pinned);
				PinnedUntil::<T>::remove(id);
			}
		}
		T::Currency::release(&HoldReason::BlobDeposit.into(), &who, deposit, Precision::BestEffort)?;
		Holders::<T>::remove(id, &who);
		if last {
			Blobs::<T>::remove(id);
			HolderCount::<T>::remove(id);
		} else {
			HolderCount::<T>::mutate(id, |n| *n = n.saturating_sub(1));
		}
		Self::deposit_event(Event::Removed { id, owner: who, deleted: last });
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
