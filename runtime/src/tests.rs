//! Checks of the runtime's weight figures (issue 3): the generated weights, the runtime's block
//! limits and database weights together; and of the randomness the market draws from.

use crate::{configs::RuntimeBlockWeights, Runtime};
use frame_support::{dispatch::DispatchClass, weights::Weight};
use pallet_gravity_market::weights::{SubstrateWeight, WeightInfo};

type MarketWeights = SubstrateWeight<Runtime>;

/// How many calls of weight `call` fit in the normal class of one block.
fn per_block(call: Weight) -> u64 {
	let weights = RuntimeBlockWeights::get();
	let normal = weights.get(DispatchClass::Normal);
	let room = normal.max_total.unwrap_or(weights.max_block);
	let each = call.saturating_add(normal.base_extrinsic);
	let by_time = room.ref_time() / each.ref_time().max(1);
	let by_proof = room.proof_size() / each.proof_size().max(1);
	by_time.min(by_proof)
}

#[test]
fn one_block_has_room_for_1000_commits_or_reveals() {
	let commits = per_block(MarketWeights::commit().max(MarketWeights::commit_last()));
	let reveals = per_block(MarketWeights::reveal());
	println!("per 6 s block (normal class): {commits} commits, {reveals} reveals");
	assert!(commits >= 1_000, "only {commits} commits fit in a block");
	assert!(reveals >= 1_000, "only {reveals} reveals fit in a block");
}

#[test]
fn assignment_weight_is_flat_from_10_to_10_000_providers() {
	let (few, many) = (MarketWeights::tick_assign(10), MarketWeights::tick_assign(10_000));
	println!("tick_assign: {} ps at 10 providers, {} ps at 10,000", few.ref_time(), many.ref_time());
	// Same storage operations at every `p`; the measured time rises by about a quarter, from the
	// deeper trie a read walks in maps of 10,000 entries (pallet README, "Weights"). Work that
	// looped over providers would add ≥ 8 µs per provider read: 80 ms at 10,000.
	assert!(many.ref_time() * 2 <= few.ref_time() * 3, "assignment grows with providers: {few:?} → {many:?}");
	assert_eq!(few.proof_size(), many.proof_size(), "assignment reads more state with more providers");
}

#[test]
fn market_randomness_is_the_parent_vrf_output_not_anything_an_author_can_choose() {
	use crate::configs::MarketRandomness;
	use frame_support::traits::Randomness;
	use sp_core::H256;
	sp_io::TestExternalities::default().execute_with(|| {
		// At genesis there is no VRF output yet: the parent hash stands in.
		frame_system::Pallet::<Runtime>::set_parent_hash(H256::repeat_byte(1));
		let genesis = MarketRandomness::random(b"subject").0;
		frame_system::Pallet::<Runtime>::set_parent_hash(H256::repeat_byte(2));
		assert_ne!(MarketRandomness::random(b"subject").0, genesis);
		// With a VRF output, an author who varies its block's contents (hence the block hash,
		// what `RandomnessCollectiveFlip` mixed) does not move the draw...
		pallet_babe::AuthorVrfRandomness::<Runtime>::put(Some([7u8; 32]));
		let drawn = MarketRandomness::random(b"subject").0;
		frame_system::Pallet::<Runtime>::set_parent_hash(H256::repeat_byte(3));
		assert_eq!(MarketRandomness::random(b"subject").0, drawn, "the block hash steers the draw");
		// ... only the VRF output does (a function of the author's key and slot, checked by
		// every importer), and each subject gets its own draw.
		pallet_babe::AuthorVrfRandomness::<Runtime>::put(Some([8u8; 32]));
		assert_ne!(MarketRandomness::random(b"subject").0, drawn);
		assert_ne!(MarketRandomness::random(b"other").0, MarketRandomness::random(b"subject").0);
	});
}

#[test]
fn on_initialize_keeps_to_a_quarter_of_the_block_and_every_unit_fits_in_it() {
	use frame_support::traits::Get;
	let limit = pallet_gravity_market::Pallet::<Runtime>::tick_limit();
	let block = RuntimeBlockWeights::get().max_block;
	// The stated share: a quarter of the block.
	assert_eq!(limit.ref_time(), block.ref_time() / 4);
	// The heaviest unit (with the base) fits, so the metered tick never has to force one.
	let units = [
		("task deadline", MarketWeights::tick_task_deadline()),
		("job deadline", MarketWeights::tick_job_deadline()),
		("reduce start", MarketWeights::tick_reduce_start()),
		("assignment", MarketWeights::tick_assign(10_000)),
	];
	for (name, w) in units {
		let with_base = w.saturating_add(MarketWeights::tick_base());
		assert!(with_base.all_lte(limit), "{name}: {with_base:?} does not fit in {limit:?}");
		println!("{name}: {} per block within the share", limit.ref_time() / w.ref_time().max(1));
	}
	// The assignment cap is what the share allows.
	let cap: u32 = <Runtime as pallet_gravity_market::Config>::MaxAssignmentsPerBlock::get();
	let cap = cap as u64;
	let all = MarketWeights::tick_assign(10_000).ref_time() * cap + MarketWeights::tick_base().ref_time();
	assert!(all <= limit.ref_time(), "{cap} assignments take {all} ps, more than the share {}", limit.ref_time());
}
