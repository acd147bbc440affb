//! Unit tests of the provider registry.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use gravity_primitives::{Arch, Eligibility, Outcome, ProviderRegistry, Requirements};
use sp_runtime::Perbill;

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Registry(HoldReason::ProviderBond), &who)
}

fn any_req() -> Requirements {
	Requirements { arch: Arch::Any, min_memory_mib: 0, gpu: false, min_reputation: Perbill::zero() }
}

#[test]
fn register_holds_bond_and_indexes_by_class() {
	new_test_ext().execute_with(|| {
		let c = caps(Arch::X86_64, 8 * 1024, false);
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), c.clone(), 150));
		assert_eq!(held(1), 150);
		assert_eq!(Balances::free_balance(1), 850);
		assert_eq!(Pallet::<Test>::class_size(&c.class()), 1);
		assert_eq!(<Registry as ProviderRegistry<_, _>>::pick(&c.class(), 0), Some(1));
		assert!(<Registry as ProviderRegistry<_, _>>::is_eligible(&1, &any_req()));
		System::assert_last_event(
			Event::Registered { provider: 1, bond: 150, class: c.class() }.into(),
		);
	});
}

#[test]
fn register_errors_change_nothing() {
	new_test_ext().execute_with(|| {
		let c = caps(Arch::X86_64, 8 * 1024, false);
		assert_noop!(Registry::register(RuntimeOrigin::signed(1), c.clone(), 99), Error::<Test>::BondTooLow);
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(1), c.clone(), 5_000),
			Error::<Test>::InsufficientBalance
		);
		let mut bad = c.clone();
		bad.cores = 0;
		assert_noop!(Registry::register(RuntimeOrigin::signed(1), bad, 100), Error::<Test>::InvalidCapabilities);
		let mut bad = c.clone();
		bad.arch = Arch::Any;
		assert_noop!(Registry::register(RuntimeOrigin::signed(1), bad, 100), Error::<Test>::InvalidCapabilities);
		let mut bad = c.clone();
		bad.max_concurrent = 9;
		assert_noop!(Registry::register(RuntimeOrigin::signed(1), bad, 100), Error::<Test>::InvalidCapabilities);
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), c.clone(), 100));
		assert_noop!(Registry::register(RuntimeOrigin::signed(1), c.clone(), 100), Error::<Test>::AlreadyRegistered);
		// The class holds at most 4.
		for a in 2..=4 {
			assert_ok!(Registry::register(RuntimeOrigin::signed(a), c.clone(), 100));
		}
		assert_noop!(Registry::register(RuntimeOrigin::signed(5), c, 100), Error::<Test>::ClassFull);
	});
}

#[test]
fn swap_remove_keeps_the_index_dense() {
	new_test_ext().execute_with(|| {
		let c = caps(Arch::Aarch64, 4 * 1024, false);
		for a in 1..=4 {
			assert_ok!(Registry::register(RuntimeOrigin::signed(a), c.clone(), 100));
		}
		assert_ok!(Registry::go_offline(RuntimeOrigin::signed(2)));
		let class = c.class();
		assert_eq!(Pallet::<Test>::class_size(&class), 3);
		let mut members: Vec<_> = (0..3).map(|i| ClassMembers::<Test>::get(class, i).unwrap()).collect();
		members.sort();
		assert_eq!(members, vec![1, 3, 4]);
		// Every member's recorded slot points back at it.
		for a in [1, 3, 4] {
			let (k, s) = Providers::<Test>::get(a).unwrap().slot.unwrap();
			assert_eq!(ClassMembers::<Test>::get(k, s), Some(a));
		}
		assert!(Providers::<Test>::get(2).unwrap().slot.is_none());
		assert!(!<Registry as ProviderRegistry<_, _>>::is_eligible(&2, &any_req()));
		// Heartbeat brings it back.
		assert_ok!(Registry::heartbeat(RuntimeOrigin::signed(2)));
		assert_eq!(Pallet::<Test>::class_size(&class), 4);
		assert!(<Registry as ProviderRegistry<_, _>>::is_eligible(&2, &any_req()));
	});
}

#[test]
fn update_capabilities_moves_class() {
	new_test_ext().execute_with(|| {
		let c = caps(Arch::X86_64, 1024, false);
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), c.clone(), 100));
		let g = caps(Arch::X86_64, 64 * 1024, true);
		assert_ok!(Registry::update_capabilities(RuntimeOrigin::signed(1), g.clone()));
		assert_eq!(Pallet::<Test>::class_size(&c.class()), 0);
		assert_eq!(Pallet::<Test>::class_size(&g.class()), 1);
		let req = Requirements { arch: Arch::X86_64, min_memory_mib: 32 * 1024, gpu: true, min_reputation: Perbill::zero() };
		assert!(<Registry as ProviderRegistry<_, _>>::is_eligible(&1, &req));
		assert!(req.candidate_classes().contains(&g.class()));
		assert_noop!(Registry::update_capabilities(RuntimeOrigin::signed(2), g), Error::<Test>::NotProvider);
	});
}

#[test]
fn stale_heartbeat_makes_ineligible() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		System::set_block_number(52);
		assert!(!<Registry as ProviderRegistry<_, _>>::is_eligible(&1, &any_req()));
		assert_ok!(Registry::heartbeat(RuntimeOrigin::signed(1)));
		assert!(<Registry as ProviderRegistry<_, _>>::is_eligible(&1, &any_req()));
	});
}

#[test]
fn a_due_heartbeat_is_free_an_early_one_pays() {
	use frame_support::dispatch::Pays;
	new_test_ext().execute_with(|| {
		// Timeout 50: a heartbeat 12 or more blocks after the last one is due.
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		System::set_block_number(5);
		assert_eq!(Registry::heartbeat(RuntimeOrigin::signed(1)).unwrap().pays_fee, Pays::Yes, "4 blocks after registering");
		System::set_block_number(17);
		assert_eq!(Registry::heartbeat(RuntimeOrigin::signed(1)).unwrap().pays_fee, Pays::No, "12 blocks later: due");
		System::set_block_number(18);
		assert_eq!(Registry::heartbeat(RuntimeOrigin::signed(1)).unwrap().pays_fee, Pays::Yes, "spam pays");
		let err = Registry::heartbeat(RuntimeOrigin::signed(9)).unwrap_err();
		assert_eq!(err.post_info.pays_fee, Pays::Yes);
	});
}

#[test]
fn provider_with_tasks_cannot_unbond_then_unbonds_after_delay() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		TestLoad::set(1, 1);
		assert_noop!(Registry::deregister(RuntimeOrigin::signed(1)), Error::<Test>::HasActiveTasks);
		TestLoad::set(1, 0);
		assert_noop!(Registry::withdraw_bond(RuntimeOrigin::signed(1)), Error::<Test>::NotUnbonding);
		assert_ok!(Registry::deregister(RuntimeOrigin::signed(1)));
		assert_noop!(Registry::heartbeat(RuntimeOrigin::signed(1)), Error::<Test>::Unbonding);
		assert_noop!(Registry::withdraw_bond(RuntimeOrigin::signed(1)), Error::<Test>::StillUnbonding);
		System::set_block_number(11);
		assert_ok!(Registry::withdraw_bond(RuntimeOrigin::signed(1)));
		assert_eq!(held(1), 0);
		assert_eq!(Balances::free_balance(1), 1_000);
		assert!(Providers::<Test>::get(1).is_none());
		assert_eq!(ProviderCount::<Test>::get(), 0);
	});
}

#[test]
fn load_is_capped() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		let caps_of = |a| Providers::<Test>::get(a).unwrap().capabilities.max_concurrent as u32;
		TestLoad::set(1, caps_of(1) - 1);
		assert_eq!(<Registry as ProviderRegistry<_, _>>::eligibility(&1, &any_req()), Eligibility::Eligible);
		// At its declared concurrency (the market's count): busy, not ineligible.
		TestLoad::set(1, caps_of(1));
		assert_eq!(<Registry as ProviderRegistry<_, _>>::eligibility(&1, &any_req()), Eligibility::Busy);
		assert!(!<Registry as ProviderRegistry<_, _>>::is_eligible(&1, &any_req()));
	});
}

#[test]
fn beta_reputation_with_decay() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		let rep = |a| <Registry as ProviderRegistry<_, _>>::reputation(&a);
		let record = |o, c| <Registry as ProviderRegistry<_, _>>::record_outcome(&1, o, c);
		assert_eq!(rep(1), Perbill::from_percent(50)); // (0+1)/(0+0+2)
		for _ in 0..3 {
			record(Outcome::Agreed, Perbill::one());
		}
		assert_eq!(rep(1), Perbill::from_percent(80)); // (3+1)/(3+0+2)
		record(Outcome::NoShow, Perbill::zero());
		assert_eq!(rep(1), Perbill::from_rational(4u32, 6u32)); // (3+1)/(3+1+2)
		// One decay period halves both counters: s=1.5 f=0.5 → 2.5/4.
		System::set_block_number(101);
		assert_eq!(rep(1), Perbill::from_rational(2_500u32, 4_000u32));
		let r = Registry::current_reputation(&1);
		assert_eq!((r.lifetime_agreed, r.lifetime_dissented, r.lifetime_no_show), (3, 0, 1));
		// Lifetime totals and trusted work never decay.
		System::set_block_number(10_001);
		assert_eq!(rep(1), Perbill::from_percent(50));
		assert_eq!(<Registry as ProviderRegistry<_, _>>::lifetime_successes(&1), 3);
	});
}

#[test]
fn declines_of_tasks_others_run_are_free_up_to_the_allowance_then_cost_half_a_failure() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		let rep = |a| <Registry as ProviderRegistry<_, _>>::reputation(&a);
		let decline = || <Registry as ProviderRegistry<_, _>>::record_decline(&1);
		// `FreeDeclines` = 2 in the mock: free, the score does not move.
		assert!(!decline());
		assert!(!decline());
		assert_eq!(rep(1), Perbill::from_percent(50));
		System::assert_last_event(Event::DeclineRecorded { provider: 1, declines: 2_000, charged: false }.into());
		// The third costs `DeclineCost` (half) of a failure: (0+1)/(0+0.5+2).
		assert!(decline());
		assert_eq!(rep(1), Perbill::from_rational(1_000u32, 2_500u32));
		assert!(decline());
		assert_eq!(rep(1), Perbill::from_rational(1_000u32, 3_000u32));
		let r = Registry::current_reputation(&1);
		assert_eq!((r.declines, r.lifetime_declined, r.failures), (4_000, 4, 1_000));
		// The count decays like the other counters (the mock halves them every 100 blocks):
		// after two periods 1.0 is left, so the next two are free again.
		System::set_block_number(201);
		assert!(!decline());
		assert!(decline(), "1.0 + 1.0 is still the allowance, 3.0 is past it");
		// A bond is never touched, and an account that is no provider (any more) is not
		// recorded at all.
		assert_eq!(held(1), 100);
		assert!(!<Registry as ProviderRegistry<_, _>>::record_decline(&7));
		assert!(!Reputations::<Test>::contains_key(7));
	});
}

#[test]
fn reputation_grows_with_paid_value_not_with_agreements() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		let record = |o, c| <Registry as ProviderRegistry<_, _>>::record_outcome(&1, o, c);
		// A thousand free agreements (fuel-0 failure results, self-paid jobs) earn nothing.
		for _ in 0..1_000 {
			record(Outcome::Agreed, Perbill::zero());
		}
		assert_eq!(<Registry as ProviderRegistry<_, _>>::reputation(&1), Perbill::from_percent(50));
		assert_eq!(<Registry as ProviderRegistry<_, _>>::lifetime_successes(&1), 0);
		// Ten quarter-unit tasks are worth 2.5 units.
		for _ in 0..10 {
			record(Outcome::Agreed, Perbill::from_percent(25));
		}
		assert_eq!(<Registry as ProviderRegistry<_, _>>::lifetime_successes(&1), 2);
		assert_eq!(<Registry as ProviderRegistry<_, _>>::reputation(&1), Perbill::from_rational(3_500u32, 4_500u32));
	});
}

#[test]
fn one_caught_dissent_wipes_trust() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		for _ in 0..500 {
			<Registry as ProviderRegistry<_, _>>::record_outcome(&1, Outcome::Agreed, Perbill::one());
		}
		assert!(<Registry as ProviderRegistry<_, _>>::reputation(&1) > Perbill::from_percent(99));
		<Registry as ProviderRegistry<_, _>>::record_outcome(&1, Outcome::Dissented, Perbill::one());
		// (0+1)/(0+1+2): below any trust threshold, and no trusted work left.
		assert_eq!(<Registry as ProviderRegistry<_, _>>::reputation(&1), Perbill::from_rational(1u32, 3u32));
		assert_eq!(<Registry as ProviderRegistry<_, _>>::lifetime_successes(&1), 0);
		assert_eq!(Registry::current_reputation(&1).lifetime_agreed, 500);
	});
}

#[test]
fn changing_capabilities_resets_trust() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		for _ in 0..30 {
			<Registry as ProviderRegistry<_, _>>::record_outcome(&1, Outcome::Agreed, Perbill::one());
		}
		// Same capabilities again: nothing changes.
		assert_ok!(Registry::update_capabilities(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false)));
		assert_eq!(<Registry as ProviderRegistry<_, _>>::lifetime_successes(&1), 30);
		// A GPU appears: trust earned without it does not vouch for it.
		assert_ok!(Registry::update_capabilities(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, true)));
		assert_eq!(<Registry as ProviderRegistry<_, _>>::lifetime_successes(&1), 0);
		assert_eq!(<Registry as ProviderRegistry<_, _>>::reputation(&1), Perbill::from_percent(50));
	});
}

#[test]
fn slash_moves_bond_to_beneficiary_and_conserves_money() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 200));
		let issuance = Balances::total_issuance();
		let moved = <Registry as ProviderRegistry<_, _>>::slash(&1, Perbill::from_percent(60), &9);
		assert_eq!(moved, 120);
		assert_eq!(held(1), 80);
		assert_eq!(Balances::free_balance(9), 1_120);
		assert_eq!(Balances::total_issuance(), issuance);
		// Bond fell below the minimum: out of the index.
		let info = Providers::<Test>::get(1).unwrap();
		assert_eq!(info.bond, 80);
		assert!(info.slot.is_none());
		assert!(!<Registry as ProviderRegistry<_, _>>::is_eligible(&1, &any_req()));
		assert_noop!(Registry::heartbeat(RuntimeOrigin::signed(1)), Error::<Test>::BondTooLow);
	});
}

#[test]
fn mem_tiers_and_candidate_classes() {
	use gravity_primitives::{mem_tier, MEM_TIERS};
	assert_eq!(mem_tier(512), 0);
	assert_eq!(mem_tier(1024), 0);
	assert_eq!(mem_tier(2048), 1);
	assert_eq!(mem_tier(3 * 1024), 1);
	assert_eq!(mem_tier(1 << 30), MEM_TIERS - 1);
	let req = Requirements { arch: Arch::Any, min_memory_mib: 0, gpu: false, min_reputation: Perbill::zero() };
	assert_eq!(req.candidate_classes().len(), 3 * 2 * MEM_TIERS as usize);
	let req = Requirements { arch: Arch::X86_64, min_memory_mib: 16 * 1024, gpu: true, min_reputation: Perbill::zero() };
	assert_eq!(req.candidate_classes().len(), (MEM_TIERS - 4) as usize);
}

/// A node key, its peer id's bytes, and its proof naming `who`.
fn node(seed: u8) -> (sp_core::ed25519::Pair, gravity_primitives::PeerIdBytes) {
	use sp_core::Pair;
	let pair = sp_core::ed25519::Pair::from_seed(&[seed; 32]);
	let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
	bytes.extend_from_slice(pair.public().as_ref());
	(pair, gravity_primitives::PeerIdBytes::truncate_from(bytes))
}
fn prove(pair: &sp_core::ed25519::Pair, who: u64) -> [u8; 64] {
	use sp_core::Pair;
	pair.sign(&gravity_primitives::endpoint_proof_message(&who)).0
}

#[test]
fn a_provider_names_its_data_endpoint_and_it_leaves_with_the_registration() {
	new_test_ext().execute_with(|| {
		let (key_a, node_a) = node(1);
		let (key_b, node_b) = node(2);
		// Only providers, and not an empty id.
		assert_noop!(Registry::set_endpoint(RuntimeOrigin::signed(1), node_a.clone(), prove(&key_a, 1)), Error::<Test>::NotProvider);
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		let empty = gravity_primitives::PeerIdBytes::default();
		assert_noop!(Registry::set_endpoint(RuntimeOrigin::signed(1), empty, [0; 64]), Error::<Test>::EmptyEndpoint);
		assert_ok!(Registry::set_endpoint(RuntimeOrigin::signed(1), node_a.clone(), prove(&key_a, 1)));
		System::assert_last_event(Event::EndpointSet { provider: 1, peer_id: node_a.clone() }.into());
		// A new one replaces the old (a node that got a new key).
		assert_ok!(Registry::set_endpoint(RuntimeOrigin::signed(1), node_b.clone(), prove(&key_b, 1)));
		assert_eq!(Endpoints::<Test>::get(1), Some(node_b.clone()));
		// Kept while unbonding (its node may still serve outputs), gone with the registration.
		assert_ok!(Registry::deregister(RuntimeOrigin::signed(1)));
		assert!(Endpoints::<Test>::get(1).is_some());
		System::set_block_number(11);
		assert_ok!(Registry::withdraw_bond(RuntimeOrigin::signed(1)));
		assert_eq!(Endpoints::<Test>::get(1), None);
	});
}

#[test]
fn attack_a_provider_cannot_name_another_providers_node_as_its_endpoint() {
	new_test_ext().execute_with(|| {
		let (key_a, node_a) = node(1);
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 100));
		assert_ok!(Registry::register(RuntimeOrigin::signed(2), caps(Arch::X86_64, 1024, false), 100));
		assert_ok!(Registry::set_endpoint(RuntimeOrigin::signed(1), node_a.clone(), prove(&key_a, 1)));
		// Provider 2 copies provider 1's peer id (public on chain) and its proof (public in the
		// block): the proof names provider 1, not 2.
		assert_noop!(
			Registry::set_endpoint(RuntimeOrigin::signed(2), node_a.clone(), prove(&key_a, 1)),
			Error::<Test>::EndpointNotProven
		);
		// Its own key cannot sign for a peer id that names another key.
		let (key_m, _) = node(9);
		assert_noop!(
			Registry::set_endpoint(RuntimeOrigin::signed(2), node_a.clone(), prove(&key_m, 2)),
			Error::<Test>::EndpointNotProven
		);
		// A peer id that names no key inline (a hash of a larger key, or junk) cannot be proven.
		let junk = gravity_primitives::PeerIdBytes::truncate_from(b"node-1".to_vec());
		assert_noop!(Registry::set_endpoint(RuntimeOrigin::signed(2), junk, [7; 64]), Error::<Test>::EndpointNotEd25519);
		assert_eq!(Endpoints::<Test>::get(2), None);
		assert_eq!(Endpoints::<Test>::get(1), Some(node_a));
	});
}

#[test]
fn slash_amount_takes_at_most_the_bond_and_conserves_money() {
	new_test_ext().execute_with(|| {
		assert_ok!(Registry::register(RuntimeOrigin::signed(1), caps(Arch::X86_64, 1024, false), 200));
		let issuance = Balances::total_issuance();
		assert_eq!(<Registry as ProviderRegistry<_, _>>::slash_amount(&1, 50, &9), 50);
		assert_eq!(held(1), 150);
		// More than is left: all of it, no more.
		assert_eq!(<Registry as ProviderRegistry<_, _>>::slash_amount(&1, 1_000, &9), 150);
		assert_eq!((held(1), Providers::<Test>::get(1).unwrap().bond), (0, 0));
		assert_eq!(Balances::free_balance(9), 1_200);
		assert_eq!(<Registry as ProviderRegistry<_, _>>::slash_amount(&1, 10, &9), 0);
		// Nobody registered: nothing moves.
		assert_eq!(<Registry as ProviderRegistry<_, _>>::slash_amount(&5, 10, &9), 0);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}
