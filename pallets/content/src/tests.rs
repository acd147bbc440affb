//! Tests of the content store.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use gravity_primitives::ContentId;

fn id_of(b: &[u8]) -> ContentId {
	ContentId::from(sp_io::hashing::blake2_256(b))
}

#[test]
fn put_get_remove_with_deposit() {
	new_test_ext().execute_with(|| {
		assert_ok!(Content::put(RuntimeOrigin::signed(1), b"scene".to_vec()));
		let id = id_of(b"scene");
		assert_eq!(Content::get(id), Some(b"scene".to_vec()));
		assert_eq!(Balances::balance_on_hold(&RuntimeHoldReason::Content(HoldReason::BlobDeposit), &1), 15);
		System::assert_last_event(Event::Stored { id, size: 5, owner: 1, deposit: 15 }.into());
		assert_noop!(Content::remove(RuntimeOrigin::signed(2), id), Error::<Test>::NotOwner);
		assert_ok!(Content::remove(RuntimeOrigin::signed(1), id));
		assert_eq!(Content::get(id), None);
		assert_eq!(Balances::free_balance(1), 10_000);
	});
}

#[test]
fn bad_puts_are_named_errors_without_state_change() {
	new_test_ext().execute_with(|| {
		assert_noop!(Content::put(RuntimeOrigin::signed(1), vec![]), Error::<Test>::Empty);
		assert_noop!(Content::put(RuntimeOrigin::signed(1), vec![0; 1025]), Error::<Test>::TooLarge);
		assert_noop!(Content::put(RuntimeOrigin::signed(3), vec![1; 100]), Error::<Test>::InsufficientBalance);
		assert_ok!(Content::put(RuntimeOrigin::signed(1), vec![7; 10]));
		assert_noop!(Content::put(RuntimeOrigin::signed(2), vec![7; 10]), Error::<Test>::AlreadyStored);
		assert_noop!(Content::remove(RuntimeOrigin::signed(1), id_of(b"nope")), Error::<Test>::UnknownContent);
	});
}

#[test]
fn a_pinned_blob_cannot_be_removed_until_its_pin_lapses() {
	use gravity_primitives::ContentStore;
	new_test_ext().execute_with(|| {
		assert_ok!(Content::put(RuntimeOrigin::signed(1), b"input".to_vec()));
		let id = id_of(b"input");
		assert!(<Content as ContentStore<u64>>::exists(&id));
		assert!(!<Content as ContentStore<u64>>::exists(&id_of(b"nope")));
		// Two jobs pin it; the later pin wins, an earlier one does not shorten it.
		<Content as ContentStore<u64>>::pin_until(&id, 20);
		<Content as ContentStore<u64>>::pin_until(&id, 10);
		assert_eq!(PinnedUntil::<Test>::get(id), Some(20));
		System::set_block_number(20);
		assert_noop!(Content::remove(RuntimeOrigin::signed(1), id), Error::<Test>::Pinned);
		System::set_block_number(21);
		assert_ok!(Content::remove(RuntimeOrigin::signed(1), id));
		assert_eq!(PinnedUntil::<Test>::get(id), None);
		assert_eq!(Balances::free_balance(1), 10_000);
	});
}
