//! Tests of the content store.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use gravity_primitives::ContentId;

fn id_of(b: &[u8]) -> ContentId {
	ContentId::of(b)
}

#[test]
fn an_on_chain_blob_has_the_id_the_data_plane_gives_the_same_bytes() {
	// BLAKE3 + size, computed in the runtime with pure-Rust BLAKE3: the id a node's content
	// store gives these bytes off chain (`gravity_protocol::result::content_id`).
	new_test_ext().execute_with(|| {
		let bytes = vec![42u8; 100_000];
		assert_ok!(Content::put(RuntimeOrigin::signed(1), bv(&bytes[..1000])));
		let id = id_of(&bytes[..1000]);
		assert_eq!(id.root, *blake3::hash(&bytes[..1000]).as_bytes());
		assert_eq!(id.length, 1000);
		assert_eq!(Content::get(id), Some(bytes[..1000].to_vec()));
		// Same hash, another size: another id, not stored.
		assert_eq!(Content::get(ContentId { length: 999, ..id }), None);
	});
}

#[test]
fn put_get_remove_with_deposit() {
	new_test_ext().execute_with(|| {
		assert_ok!(Content::put(RuntimeOrigin::signed(1), bv(b"scene")));
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
		assert_noop!(Content::put(RuntimeOrigin::signed(1), bv(&[])), Error::<Test>::Empty);
		// Over MaxBlobSize (1024): not even a call (the pool refuses it before inclusion).
		use codec::{Decode, Encode};
		let oversize = (0u8, vec![0u8; 1025]).encode();
		assert!(Call::<Test>::decode(&mut &oversize[..]).is_err());
		let fits = (0u8, vec![0u8; 1024]).encode();
		assert!(Call::<Test>::decode(&mut &fits[..]).is_ok());
		assert_noop!(Content::put(RuntimeOrigin::signed(3), bv(&[1; 100])), Error::<Test>::InsufficientBalance);
		assert_ok!(Content::put(RuntimeOrigin::signed(1), bv(&[7; 10])));
		assert_noop!(Content::put(RuntimeOrigin::signed(1), bv(&[7; 10])), Error::<Test>::AlreadyStored);
		assert_noop!(Content::remove(RuntimeOrigin::signed(1), id_of(b"nope")), Error::<Test>::UnknownContent);
	});
}

#[test]
fn a_pinned_blob_cannot_be_removed_until_its_pin_lapses() {
	use gravity_primitives::ContentStore;
	new_test_ext().execute_with(|| {
		assert_ok!(Content::put(RuntimeOrigin::signed(1), bv(b"input")));
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

/// A front-runner who puts the same bytes first used to become their only owner:
/// the honest uploader's `put` failed (`AlreadyStored`) and the squatter could remove the blob
/// whenever no job pinned it. Now the honest uploader holds it too, with its own deposit, and
/// the bytes stay while anyone holds them.
#[test]
fn attack_a_front_runner_cannot_take_content_away_from_its_uploader() {
	new_test_ext().execute_with(|| {
		let held = |a| Balances::balance_on_hold(&RuntimeHoldReason::Content(HoldReason::BlobDeposit), &a);
		let id = id_of(b"program");
		// The squatter saw the honest `put` in the pool and got in first.
		assert_ok!(Content::put(RuntimeOrigin::signed(2), bv(b"program")));
		assert_ok!(Content::put(RuntimeOrigin::signed(1), bv(b"program")));
		assert_eq!((held(1), held(2), HolderCount::<Test>::get(id)), (17, 17, 2));
		System::assert_last_event(Event::Stored { id, size: 7, owner: 1, deposit: 17 }.into());
		// The squatter leaves: the bytes stay, the uploader still holds them.
		assert_ok!(Content::remove(RuntimeOrigin::signed(2), id));
		System::assert_last_event(Event::Removed { id, owner: 2, deleted: false }.into());
		assert_eq!(Content::get(id), Some(b"program".to_vec()));
		assert_eq!((held(2), Balances::free_balance(2)), (0, 10_000));
		assert_noop!(Content::remove(RuntimeOrigin::signed(2), id), Error::<Test>::NotOwner);
		// A pin stops only the last holder.
		assert_ok!(Content::put(RuntimeOrigin::signed(2), bv(b"program")));
		use gravity_primitives::ContentStore;
		<Content as ContentStore<u64>>::pin_until(&id, 20);
		assert_ok!(Content::remove(RuntimeOrigin::signed(2), id));
		assert_noop!(Content::remove(RuntimeOrigin::signed(1), id), Error::<Test>::Pinned);
		System::set_block_number(21);
		assert_ok!(Content::remove(RuntimeOrigin::signed(1), id));
		System::assert_last_event(Event::Removed { id, owner: 1, deleted: true }.into());
		assert_eq!((Content::get(id), HolderCount::<Test>::get(id)), (None, 0));
		assert_eq!(Balances::free_balance(1), 10_000);
	});
}

fn bv(data: &[u8]) -> frame_support::BoundedVec<u8, <Test as crate::Config>::MaxBlobSize> {
	frame_support::BoundedVec::truncate_from(data.to_vec())
}
