//! Benchmarks of the registry's calls, each in its most expensive case (full lists).

use super::*;
use crate::pallet::{Admitted, Candidates, Members, Pallet as ValidatorsPallet};
use codec::{Decode, Encode};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, EnsureOrigin, Get};
use frame_system::RawOrigin;
use pallet_session::SessionInterface;
use sp_runtime::traits::TrailingZeroInput;

type KeysOf<T> = <<T as Config>::Session as SessionInterface>::Keys;

/// A funded account with session keys (derived from its id: distinct for distinct accounts).
fn account_with_keys<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, T::MinBond::get() * 10u32.into());
	let seed = (name, index).encode();
	let keys = KeysOf::<T>::decode(&mut TrailingZeroInput::new(&sp_io_hash(&seed)))
		.expect("keys decode from an infinite input");
	T::Session::set_keys(&who, keys).expect("fresh keys");
	who
}

fn sp_io_hash(data: &[u8]) -> alloc::vec::Vec<u8> {
	// Distinct 32-byte prefixes for every key of the tuple.
	let mut out = alloc::vec::Vec::new();
	for i in 0u8..8 {
		let mut block = data.to_vec();
		block.push(i);
		out.extend(sp_runtime::traits::BlakeTwo256::hash_of(&block).as_ref());
	}
	out
}

use sp_runtime::traits::Hash as _;

/// Fill the candidate queue to one below its bound; returns nothing.
fn fill_candidates<T: Config>() {
	let n = Candidates::<T>::get().len() as u32;
	for i in n..T::MaxCandidates::get().saturating_sub(1) {
		let who = account_with_keys::<T>("candidate", i);
		ValidatorsPallet::<T>::do_register(who, T::MinBond::get()).expect("room");
	}
}

/// Admit validators until the set is one below its bound.
fn fill_validators<T: Config>() {
	let n = Admitted::<T>::get().len() as u32;
	for i in n..T::MaxValidators::get().saturating_sub(1) {
		let who = account_with_keys::<T>("validator", i);
		ValidatorsPallet::<T>::do_register(who.clone(), T::MinBond::get()).expect("room");
		ValidatorsPallet::<T>::do_admit(who).expect("room");
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		fill_candidates::<T>();
		let who = account_with_keys::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinBond::get());
		assert!(Members::<T>::contains_key(&who));
	}

	#[benchmark]
	fn withdraw_candidacy() {
		fill_candidates::<T>();
		let who = account_with_keys::<T>("caller", 0);
		ValidatorsPallet::<T>::do_register(who.clone(), T::MinBond::get()).expect("room");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Members::<T>::contains_key(&who));
	}

	#[benchmark]
	fn admit() -> Result<(), BenchmarkError> {
		fill_candidates::<T>();
		fill_validators::<T>();
		let who = account_with_keys::<T>("caller", 0);
		ValidatorsPallet::<T>::do_register(who.clone(), T::MinBond::get()).expect("room");
		let origin =
			<T::AdminOrigin as EnsureOrigin<T::RuntimeOrigin>>::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, who.clone());
		assert!(Admitted::<T>::get().contains(&who));
		Ok(())
	}

	#[benchmark]
	fn reject() -> Result<(), BenchmarkError> {
		fill_candidates::<T>();
		let who = account_with_keys::<T>("caller", 0);
		ValidatorsPallet::<T>::do_register(who.clone(), T::MinBond::get()).expect("room");
		let origin =
			<T::AdminOrigin as EnsureOrigin<T::RuntimeOrigin>>::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, who.clone());
		assert!(!Members::<T>::contains_key(&who));
		Ok(())
	}

	#[benchmark]
	fn leave() {
		fill_validators::<T>();
		let who = account_with_keys::<T>("caller", 0);
		ValidatorsPallet::<T>::do_register(who.clone(), T::MinBond::get()).expect("room");
		ValidatorsPallet::<T>::do_admit(who.clone()).expect("room");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Admitted::<T>::get().contains(&who));
	}

	#[benchmark]
	fn withdraw_bond() {
		fill_validators::<T>();
		let who = account_with_keys::<T>("caller", 0);
		ValidatorsPallet::<T>::do_register(who.clone(), T::MinBond::get()).expect("room");
		ValidatorsPallet::<T>::do_admit(who.clone()).expect("room");
		ValidatorsPallet::<T>::do_leave(who.clone(), LeaveCause::Left).expect("above minimum");
		let unbonds_at = ValidatorsPallet::<T>::unbonds_at();
		CurrentSession::<T>::put(unbonds_at);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Members::<T>::contains_key(&who));
	}

	impl_benchmark_test_suite!(ValidatorsPallet, crate::mock::new_test_ext(), crate::mock::Test);
}
