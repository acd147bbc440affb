//! Benchmarks of the provider registry.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::{Inspect, Mutate}, Get};
use frame_system::RawOrigin;
use gravity_primitives::{Arch, Capabilities, DeviceClass};
use sp_runtime::traits::Saturating;

pub(crate) fn bench_caps(memory_mib: u32) -> Capabilities {
	Capabilities {
		device: DeviceClass::Server,
		arch: Arch::X86_64,
		cores: 8,
		memory_mib,
		gpu_model: Default::default(),
		gpu_score: 0,
		bandwidth_mbps: 100,
		region: Default::default(),
		max_concurrent: 1,
	}
}

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	let amount = T::MinBond::get().saturating_mul(10u32.into()).max(T::Currency::minimum_balance());
	T::Currency::set_balance(&who, amount.saturating_add(T::Currency::minimum_balance()));
	who
}

/// Fill the class of `bench_caps(1024)` with `n` other providers (leaving room for two more).
fn fill_class<T: Config>(n: u32) {
	let n = n.min(T::MaxProvidersPerClass::get().saturating_sub(2));
	for i in 0..n {
		let who = funded::<T>("filler", i);
		Pallet::<T>::do_register(who, bench_caps(1024), T::MinBond::get()).expect("class has room");
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		fill_class::<T>(10);
		let caller = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), bench_caps(1024), T::MinBond::get());
		assert!(Providers::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn update_capabilities() {
		fill_class::<T>(10);
		let caller = funded::<T>("caller", 0);
		Pallet::<T>::do_register(caller.clone(), bench_caps(1024), T::MinBond::get()).unwrap();
		// Moving out of a non-last slot also moves the last member: the worst case.
		let last = funded::<T>("last", 0);
		Pallet::<T>::do_register(last, bench_caps(1024), T::MinBond::get()).unwrap();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), bench_caps(64 * 1024));
		assert_eq!(Providers::<T>::get(&caller).unwrap().capabilities.memory_mib, 64 * 1024);
	}

	#[benchmark]
	fn heartbeat() {
		let caller = funded::<T>("caller", 0);
		Pallet::<T>::do_register(caller.clone(), bench_caps(1024), T::MinBond::get()).unwrap();
		Pallet::<T>::do_go_offline(caller.clone()).unwrap();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert!(Providers::<T>::get(&caller).unwrap().slot.is_some());
	}

	#[benchmark]
	fn go_offline() {
		let caller = funded::<T>("caller", 0);
		Pallet::<T>::do_register(caller.clone(), bench_caps(1024), T::MinBond::get()).unwrap();
		let last = funded::<T>("last", 0);
		Pallet::<T>::do_register(last, bench_caps(1024), T::MinBond::get()).unwrap();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert!(Providers::<T>::get(&caller).unwrap().slot.is_none());
	}

	#[benchmark]
	fn deregister() {
		let caller = funded::<T>("caller", 0);
		Pallet::<T>::do_register(caller.clone(), bench_caps(1024), T::MinBond::get()).unwrap();
		let last = funded::<T>("last", 0);
		Pallet::<T>::do_register(last, bench_caps(1024), T::MinBond::get()).unwrap();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert!(matches!(Providers::<T>::get(&caller).unwrap().status, ProviderStatus::Unbonding { .. }));
	}

	#[benchmark]
	fn set_endpoint() {
		let caller = funded::<T>("caller", 0);
		Pallet::<T>::do_register(caller.clone(), bench_caps(1024), T::MinBond::get()).unwrap();
		// A node key from the host's keystore, its peer id, and its signature naming the caller.
		let key = sp_io::crypto::ed25519_generate(sp_core::crypto::KeyTypeId(*b"gvep"), None);
		let mut bytes = alloc::vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
		bytes.extend_from_slice(key.as_ref());
		let peer_id: gravity_primitives::PeerIdBytes = frame_support::BoundedVec::truncate_from(bytes);
		let message = gravity_primitives::endpoint_proof_message(&caller);
		let proof = sp_io::crypto::ed25519_sign(sp_core::crypto::KeyTypeId(*b"gvep"), &key, &message)
			.expect("the key was just generated in the keystore");
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), peer_id.clone(), proof.0);
		assert_eq!(Endpoints::<T>::get(&caller), Some(peer_id));
	}

	#[benchmark]
	fn withdraw_bond() {
		let caller = funded::<T>("caller", 0);
		Pallet::<T>::do_register(caller.clone(), bench_caps(1024), T::MinBond::get()).unwrap();
		Pallet::<T>::do_deregister(caller.clone()).unwrap();
		let later = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::UnbondingPeriod::get());
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));
		assert!(!Providers::<T>::contains_key(&caller));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

impl<T: Config> Pallet<T> {
	/// Benchmarks only: register `who` with `capabilities`, funding its bond.
	pub fn bench_register(who: &T::AccountId, capabilities: Capabilities) {
		let bond = T::MinBond::get();
		let need = bond.saturating_mul(2u32.into()).saturating_add(T::Currency::minimum_balance());
		if T::Currency::balance(who) < need {
			T::Currency::set_balance(who, need);
		}
		let _ = Self::do_register(who.clone(), capabilities, bond);
	}
}

