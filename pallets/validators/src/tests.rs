use crate::{mock::*, pallet::*, types::*, Error, Event};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::InspectHold, Currency, KeyOwnerProofSystem},
};
use sp_core::crypto::key_types::DUMMY;
use sp_runtime::{DispatchError, Perbill};
use sp_staking::offence::{OffenceError, ReportOffence};

fn bond_of(who: u64) -> u64 {
	Balances::balance_on_hold(&RuntimeHoldReason::Validators(HoldReason::ValidatorBond), &who)
}

fn set_keys(who: u64) {
	assert_ok!(Session::set_keys(RuntimeOrigin::signed(who), keys(who), proof(who, who)));
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

fn registered(who: u64, bond: u64) {
	set_keys(who);
	assert_ok!(Validators::register(RuntimeOrigin::signed(who), bond));
}

fn admitted(who: u64) {
	registered(who, 200);
	assert_ok!(Validators::admit(RuntimeOrigin::root(), who));
}

fn equivocation(offender: u64, slot: u64) -> Equivocation {
	Equivocation {
		session: Session::current_index(),
		set_size: Session::validators().len() as u32,
		offender,
		slot,
	}
}

/// Everything in the mock: free, held, and the treasury's.
fn total() -> u64 {
	Balances::total_issuance()
}

#[test]
fn genesis_validators_are_bonded_and_in_the_session() {
	new_test_ext().execute_with(|| {
		assert_eq!(Session::validators(), vec![1, 2, 3]);
		assert_eq!(Admitted::<Test>::get().into_inner(), vec![1, 2, 3]);
		for v in 1..=3 {
			assert_eq!(bond_of(v), 500);
			assert_eq!(Members::<Test>::get(v).unwrap().status, Status::Validator);
		}
		assert_eq!(SessionLength::<Test>::get(), SESSION);
	});
}

#[test]
fn registering_without_keys_fails_and_changes_nothing() {
	new_test_ext().execute_with(|| {
		let free = Balances::free_balance(4);
		assert_noop!(Validators::register(RuntimeOrigin::signed(4), 200), Error::<Test>::NoSessionKeys);
		assert_eq!(Balances::free_balance(4), free);
	});
}

#[test]
fn keys_owned_by_another_account_cannot_be_set_nor_registered_with() {
	new_test_ext().execute_with(|| {
		// 5 presents keys 4 generated (a proof of possession signed for owner 4).
		assert_noop!(
			Session::set_keys(RuntimeOrigin::signed(5), keys(4), proof(4, 4)),
			pallet_session::Error::<Test>::InvalidProof
		);
		set_keys(4);
		// Even with a valid proof for itself, 5 cannot take keys another account holds.
		assert_noop!(
			Session::set_keys(RuntimeOrigin::signed(5), keys(4), proof(4, 5)),
			pallet_session::Error::<Test>::DuplicatedKey
		);
		assert_noop!(Validators::register(RuntimeOrigin::signed(5), 200), Error::<Test>::NoSessionKeys);
	});
}

#[test]
fn bad_registrations_are_refused_with_named_errors() {
	new_test_ext().execute_with(|| {
		set_keys(4);
		assert_noop!(Validators::register(RuntimeOrigin::signed(4), 99), Error::<Test>::BondTooLow);
		assert_noop!(
			Validators::register(RuntimeOrigin::signed(4), 5_000),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(Validators::register(RuntimeOrigin::signed(4), 200));
		assert_noop!(
			Validators::register(RuntimeOrigin::signed(4), 200),
			Error::<Test>::AlreadyRegistered
		);
		// A genesis validator is registered too.
		assert_noop!(
			Validators::register(RuntimeOrigin::signed(1), 200),
			Error::<Test>::AlreadyRegistered
		);
		registered(5, 200);
		registered(6, 200);
		set_keys(7);
		assert_noop!(
			Validators::register(RuntimeOrigin::signed(7), 200),
			Error::<Test>::TooManyCandidates
		);
	});
}

#[test]
fn only_the_admin_admits_rejects_and_removes() {
	new_test_ext().execute_with(|| {
		registered(4, 200);
		assert_noop!(Validators::admit(RuntimeOrigin::signed(1), 4), DispatchError::BadOrigin);
		assert_noop!(Validators::reject(RuntimeOrigin::signed(1), 4), DispatchError::BadOrigin);
		assert_noop!(Validators::remove(RuntimeOrigin::signed(4), 1), DispatchError::BadOrigin);
		assert_noop!(Validators::admit(RuntimeOrigin::root(), 5), Error::<Test>::NotCandidate);
		assert_noop!(Validators::admit(RuntimeOrigin::root(), 1), Error::<Test>::NotCandidate);
	});
}

#[test]
fn an_admitted_validator_is_in_the_session_two_rotations_later() {
	new_test_ext().execute_with(|| {
		admitted(4);
		assert_eq!(last_event(), RuntimeEvent::Validators(Event::ValidatorAdmitted { who: 4, session: 0 }));
		assert!(Candidates::<Test>::get().is_empty());
		next_session(); // session 1: set planned for session 2
		assert_eq!(Session::validators(), vec![1, 2, 3]);
		next_session(); // session 2
		assert_eq!(Session::validators(), vec![1, 2, 3, 4]);
		assert_eq!(bond_of(4), 200);
	});
}

#[test]
fn the_set_is_full_at_max_validators() {
	new_test_ext().execute_with(|| {
		admitted(4);
		admitted(5);
		registered(6, 200);
		assert_noop!(Validators::admit(RuntimeOrigin::root(), 6), Error::<Test>::TooManyValidators);
	});
}

#[test]
fn a_candidate_that_purged_its_keys_is_not_admitted() {
	new_test_ext().execute_with(|| {
		registered(4, 200);
		assert_ok!(Session::purge_keys(RuntimeOrigin::signed(4)));
		assert_noop!(Validators::admit(RuntimeOrigin::root(), 4), Error::<Test>::NoSessionKeys);
	});
}

#[test]
fn withdrawn_and_rejected_candidates_get_their_bonds_back() {
	new_test_ext().execute_with(|| {
		registered(4, 200);
		registered(5, 300);
		assert_ok!(Validators::withdraw_candidacy(RuntimeOrigin::signed(4)));
		assert_eq!(last_event(), RuntimeEvent::Validators(Event::CandidacyWithdrawn { who: 4, bond: 200 }));
		assert_ok!(Validators::reject(RuntimeOrigin::root(), 5));
		assert_eq!(last_event(), RuntimeEvent::Validators(Event::CandidateRejected { who: 5, bond: 300 }));
		assert_eq!((bond_of(4), bond_of(5)), (0, 0));
		assert!(Candidates::<Test>::get().is_empty());
		assert!(!Members::<Test>::contains_key(4));
		assert_noop!(Validators::withdraw_candidacy(RuntimeOrigin::signed(4)), Error::<Test>::NotCandidate);
		// A validator is not a candidate.
		assert_noop!(Validators::withdraw_candidacy(RuntimeOrigin::signed(1)), Error::<Test>::NotCandidate);
	});
}

#[test]
fn leaving_below_min_validators_is_refused() {
	new_test_ext().execute_with(|| {
		assert_ok!(Validators::leave(RuntimeOrigin::signed(3)));
		assert_noop!(Validators::leave(RuntimeOrigin::signed(2)), Error::<Test>::TooFewValidators);
		assert_noop!(Validators::remove(RuntimeOrigin::root(), 2), Error::<Test>::TooFewValidators);
		assert_noop!(Validators::leave(RuntimeOrigin::signed(3)), Error::<Test>::NotValidator);
		assert_noop!(Validators::leave(RuntimeOrigin::signed(7)), Error::<Test>::NotValidator);
	});
}

#[test]
fn a_leaving_validator_gets_its_bond_back_after_the_bonding_sessions() {
	new_test_ext().execute_with(|| {
		let before = Balances::free_balance(3);
		assert_ok!(Validators::leave(RuntimeOrigin::signed(3)));
		// Session 0 now; it may author through session 1; 3 sessions of bonding after that.
		let unbonds_at = 2 + 3;
		assert_eq!(
			last_event(),
			RuntimeEvent::Validators(Event::ValidatorLeaving { who: 3, cause: LeaveCause::Left, unbonds_at })
		);
		assert_noop!(Validators::withdraw_bond(RuntimeOrigin::signed(3)), Error::<Test>::StillBonded);
		next_session();
		next_session();
		assert_eq!(Session::validators(), vec![1, 2]);
		run_to_session(unbonds_at - 1);
		assert_noop!(Validators::withdraw_bond(RuntimeOrigin::signed(3)), Error::<Test>::StillBonded);
		next_session();
		assert_ok!(Validators::withdraw_bond(RuntimeOrigin::signed(3)));
		assert_eq!(last_event(), RuntimeEvent::Validators(Event::BondReturned { who: 3, amount: 500 }));
		assert_eq!(Balances::free_balance(3), before + 500);
		assert!(!Members::<Test>::contains_key(3));
		assert_noop!(Validators::withdraw_bond(RuntimeOrigin::signed(3)), Error::<Test>::NotLeaving);
		assert_noop!(Validators::withdraw_bond(RuntimeOrigin::signed(1)), Error::<Test>::NotLeaving);
	});
}

#[test]
fn an_equivocation_slashes_disables_and_removes_the_offender() {
	new_test_ext().execute_with(|| {
		admitted(4);
		run_to_session(2);
		assert_eq!(Session::validators(), vec![1, 2, 3, 4]);
		let issuance = total();
		let treasury = Balances::free_balance(TREASURY);
		assert_ok!(Offences::report_offence(vec![1], equivocation(4, 1)));
		// One offender of four: (3·1/4)² = 56.25 % of the 200 bond.
		let fraction = Perbill::from_rational(3u32, 4u32).square();
		let slash = fraction * 200u64;
		assert_eq!(slash, 112);
		assert_eq!(bond_of(4), 200 - slash);
		assert_eq!(Balances::free_balance(TREASURY), treasury + slash);
		assert_eq!(total(), issuance, "a slash moves money, it creates or burns none");
		let record = Members::<Test>::get(4).unwrap();
		assert_eq!(record.slashed, slash);
		assert!(matches!(record.status, Status::Leaving { cause: LeaveCause::Offence, .. }));
		// Disabled at once (one of four is within the one-third limit) …
		assert_eq!(Session::disabled_validators(), vec![3]);
		// … and out of the set from the next planned session.
		assert_eq!(Admitted::<Test>::get().into_inner(), vec![1, 2, 3]);
		next_session();
		next_session();
		assert_eq!(Session::validators(), vec![1, 2, 3]);
		assert!(Session::disabled_validators().is_empty());
		assert!(System::events().iter().any(|e| matches!(
			e.event,
			RuntimeEvent::Validators(Event::ValidatorSlashed { who: 4, amount: 112, offence_session: 2, to: TREASURY, .. })
		)));
	});
}

#[test]
fn a_duplicate_report_slashes_nothing_more() {
	new_test_ext().execute_with(|| {
		admitted(4);
		run_to_session(2);
		assert_ok!(Offences::report_offence(vec![1], equivocation(4, 1)));
		let bond = bond_of(4);
		assert_eq!(
			Offences::report_offence(vec![2], equivocation(4, 1)),
			Err(OffenceError::DuplicateReport)
		);
		assert_eq!(bond_of(4), bond);
	});
}

#[test]
fn a_second_offender_of_the_same_slot_raises_the_first_ones_slash_by_the_difference_only() {
	new_test_ext().execute_with(|| {
		admitted(4);
		admitted(5);
		run_to_session(2);
		assert_eq!(Session::validators().len(), 5);
		assert_ok!(Offences::report_offence(vec![1], equivocation(4, 7)));
		// 1 of 5: (3/5)² = 36 % of 200.
		assert_eq!(bond_of(4), 200 - 72);
		assert_ok!(Offences::report_offence(vec![1], equivocation(5, 7)));
		// Now 2 of 5 for both: (6/5)² capped at 100 %: 4 pays the remaining 64 % of its
		// original bond (128 of it) — here all that is left; 5 pays 100 %.
		let f1 = Perbill::from_rational(3u32, 5u32).square();
		let extra = Perbill::from_parts(1_000_000_000 - f1.deconstruct()) * 128u64;
		assert_eq!(bond_of(4), 128 - extra);
		assert_eq!(bond_of(5), 0);
	});
}

#[test]
fn offences_of_unknown_or_gone_validators_and_of_earlier_sessions_are_no_ops() {
	new_test_ext().execute_with(|| {
		let issuance_treasury = Balances::free_balance(TREASURY);
		// Never registered.
		assert_ok!(Offences::report_offence(vec![1], equivocation(8, 1)));
		// Registered at session 2, reported for session 1.
		run_to_session(2);
		registered(6, 200);
		assert_ok!(Offences::report_offence(
			vec![1],
			Equivocation { session: 1, set_size: 3, offender: 6, slot: 2 }
		));
		assert_eq!(bond_of(6), 200);
		// A candidate never authored.
		assert_ok!(Offences::report_offence(vec![1], equivocation(6, 3)));
		assert_eq!(bond_of(6), 200);
		// Left and withdrew its bond: gone.
		assert_ok!(Validators::leave(RuntimeOrigin::signed(3)));
		run_to_session(2 + 2 + 3);
		assert_ok!(Validators::withdraw_bond(RuntimeOrigin::signed(3)));
		assert_ok!(Offences::report_offence(
			vec![1],
			Equivocation { session: 3, set_size: 3, offender: 3, slot: 4 }
		));
		assert_eq!(Balances::free_balance(TREASURY), issuance_treasury);
		assert!(!Members::<Test>::contains_key(3));
	});
}

#[test]
fn a_leaving_validator_stays_slashable_for_what_it_did_while_in_the_set() {
	new_test_ext().execute_with(|| {
		admitted(4);
		run_to_session(2);
		assert_ok!(Validators::leave(RuntimeOrigin::signed(4)));
		run_to_session(4);
		assert_eq!(Session::validators(), vec![1, 2, 3]);
		assert_ok!(Offences::report_offence(
			vec![1],
			Equivocation { session: 2, set_size: 4, offender: 4, slot: 1 }
		));
		assert_eq!(bond_of(4), 200 - 112);
	});
}

#[test]
fn an_offender_is_kept_when_removing_it_would_go_below_min_validators() {
	new_test_ext().execute_with(|| {
		assert_ok!(Validators::leave(RuntimeOrigin::signed(3)));
		run_to_session(2);
		assert_eq!(Session::validators(), vec![1, 2]);
		assert_ok!(Offences::report_offence(vec![1], equivocation(2, 1)));
		assert!(System::events()
			.iter()
			.any(|e| e.event == RuntimeEvent::Validators(Event::OffenderKept { who: 2 })));
		// (3/2)² caps at 100 %: the whole bond is slashed, the validator stays.
		assert_eq!(bond_of(2), 0);
		assert_eq!(Admitted::<Test>::get().into_inner(), vec![1, 2]);
		assert_eq!(Members::<Test>::get(2).unwrap().status, Status::Validator);
	});
}

#[test]
fn key_ownership_proofs_for_sessions_older_than_the_bonding_window_no_longer_check() {
	new_test_ext().execute_with(|| {
		run_to_session(1);
		let key = (DUMMY, 2u64.to_le_bytes().to_vec());
		let proof = Historical::prove(key.clone()).expect("2 is a validator of session 1");
		assert_eq!(Historical::check_proof(key.clone(), proof.clone()), Some((2, ())));
		run_to_session(1 + 3 + 1);
		assert_eq!(Historical::check_proof(key, proof), None);
	});
}

#[test]
fn authorship_is_counted_for_registered_validators_only() {
	new_test_ext().execute_with(|| {
		use pallet_authorship::EventHandler;
		<Validators as EventHandler<u64, u64>>::note_author(1);
		<Validators as EventHandler<u64, u64>>::note_author(1);
		<Validators as EventHandler<u64, u64>>::note_author(8);
		assert_eq!(Members::<Test>::get(1).unwrap().blocks_authored, 2);
		assert!(!Members::<Test>::contains_key(8));
	});
}

#[test]
fn money_is_conserved_through_a_whole_life() {
	new_test_ext().execute_with(|| {
		let issuance = total();
		let start = Balances::total_balance(&4) + Balances::total_balance(&TREASURY);
		admitted(4);
		run_to_session(2);
		assert_ok!(Offences::report_offence(vec![1], equivocation(4, 1)));
		run_to_session(2 + 2 + 3);
		assert_ok!(Validators::withdraw_bond(RuntimeOrigin::signed(4)));
		assert_ok!(Session::purge_keys(RuntimeOrigin::signed(4)));
		assert_eq!(Balances::total_balance(&4) + Balances::total_balance(&TREASURY), start);
		assert_eq!(bond_of(4), 0);
		assert_eq!(total(), issuance);
	});
}
