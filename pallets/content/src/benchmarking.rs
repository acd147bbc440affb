//! Benchmarks of the content store.

use super::*;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_system::RawOrigin;
use sp_runtime::traits::Saturating;

fn funded<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	let need = Pallet::<T>::deposit_for(T::MaxBlobSize::get()).saturating_mul(4u32.into());
	T::Currency::set_balance(&who, need);
	who
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn put(n: Linear<1, { T::MaxBlobSize::get() }>) {
		let who = funded::<T>();
		let data: frame_support::BoundedVec<u8, T::MaxBlobSize> = frame_support::BoundedVec::truncate_from(vec![7u8; n as usize]);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), data);
		assert_eq!(Blobs::<T>::iter().count(), 1);
	}

	#[benchmark]
	fn remove() {
		let who = funded::<T>();
		let id = Pallet::<T>::do_put(who.clone(), vec![7u8; 100]).unwrap();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), id);
		assert!(Blobs::<T>::get(id).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
