//! Checks of the runtime's weight figures: the generated weights, the runtime's block limits
//! and database weights together; and of the randomness the market draws from.

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
fn on_initialize_keeps_to_40_percent_of_the_block_and_every_unit_fits_in_it() {
	use frame_support::traits::Get;
	let limit = pallet_gravity_market::Pallet::<Runtime>::tick_limit();
	let block = RuntimeBlockWeights::get().max_block;
	// The stated share: 40 % of the block.
	assert_eq!(limit.ref_time(), block.ref_time() / 5 * 2);
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
	let take = <<Runtime as frame_system::Config>::DbWeight as Get<frame_support::weights::RuntimeDbWeight>>::get().reads_writes(1, 1);
	let all = MarketWeights::tick_assign(10_000).saturating_add(take).ref_time() * cap + MarketWeights::tick_base().ref_time();
	assert!(all <= limit.ref_time(), "{cap} assignments take {all} ps, more than the share {}", limit.ref_time());
}

/// The weights allow the load test's goal: 500 verified tasks in every block, with room left
/// for users. A task in the steady state of the load test (`tests/load/load.mjs`): its provider
/// is trusted, so it runs alone with a 10 % spot check (one more replica); each step is charged
/// what the market charges it (assignment at 1,000 providers, the solo/spot-check draw, the
/// tally, three deadlines that find nothing left to do; commit, reveal and delivery as actions
/// of a `market.batch`, one batch per provider per step and block).
#[test]
fn the_weights_allow_500_verified_tasks_a_block_with_room_for_users() {
	let w = |x: Weight| x.ref_time() as f64;
	let spot = 0.1;
	let replicas = 1.0 + spot;
	use frame_support::traits::Get;
	let take = <<Runtime as frame_system::Config>::DbWeight as Get<frame_support::weights::RuntimeDbWeight>>::get().reads_writes(1, 1);
	// Every task has `initial` = 2 queue entries; a solo task's second one is spare.
	let tick_per_task = replicas * w(MarketWeights::tick_assign(1_000).saturating_add(take)) +
		(2.0 - replicas) * w(MarketWeights::tick_assign_not_needed().saturating_add(take)) +
		(1.0 - spot) * w(MarketWeights::tick_decide(0)) +
		spot * w(MarketWeights::tick_decide(1)) +
		w(MarketWeights::tick_settle()) +
		3.0 * w(MarketWeights::tick_task_deadline_idle()) +
		// Each of those five deadlines is also found and removed (a read and a write).
		5.0 * w(take);
	let tx_per_task = replicas * w(MarketWeights::commit().max(MarketWeights::commit_last())) +
		replicas * w(MarketWeights::reveal()) +
		(1.0 - spot) * w(MarketWeights::deliver(1)) +
		spot * w(MarketWeights::deliver(2));
	let tasks = 500.0;
	let limit = w(pallet_gravity_market::Pallet::<Runtime>::tick_limit());
	let block = RuntimeBlockWeights::get();
	let base = w(block.get(DispatchClass::Normal).base_extrinsic);
	// 100 providers, three batches each (commit, reveal, deliver), plus 100 user transfers.
	let batches = 300.0 * base;
	let transfer = <pallet_balances::weights::SubstrateWeight<Runtime> as pallet_balances::WeightInfo>::transfer_keep_alive();
	let users = 100.0 * (base + w(transfer));
	let tick = tasks * tick_per_task;
	let txs = tasks * tx_per_task + batches + users;
	println!(
		"per task: on_initialize {:.0} us, transactions {:.0} us; 500 tasks: on_initialize {:.0} ms of {:.0} ms, transactions {:.0} ms",
		tick_per_task / 1e6, tx_per_task / 1e6, tick / 1e9, limit / 1e9, txs / 1e9
	);
	assert!(tick <= limit, "500 tasks need {tick} ps of on_initialize, the share is {limit}");
	let normal = w(block.get(DispatchClass::Normal).max_total.unwrap_or(block.max_block));
	let room = normal.min(w(block.max_block) - tick);
	assert!(txs <= room, "500 tasks need {txs} ps of transactions, {room} are left");
}

/// Against block filling: fees rise with congestion, by weight or by length, and fall back to
/// the base.
#[test]
fn fees_rise_with_full_blocks_by_weight_or_by_length_and_fall_back_to_the_base() {
	use crate::fees::{next_multiplier, normal_fullness, CongestionFeeUpdate, LengthFee, TRANSACTION_BYTE_FEE};
	use frame_support::weights::WeightToFee;
	use pallet_transaction_payment::Multiplier;
	use sp_runtime::{traits::Convert, FixedPointNumber, Perquintill};
	let one = Multiplier::saturating_from_integer(1);
	// Empty blocks: the base, never below.
	assert_eq!(next_multiplier(one, Perquintill::zero()), one);
	// A block full to its Normal share: +7.8 % (1 + 0.1 · 0.75 + 0.01 · 0.5625 / 2).
	let full = next_multiplier(one, Perquintill::one());
	assert_eq!(full, Multiplier::saturating_from_rational(10_778_125u64, 10_000_000u64));
	// A commit window (10 blocks) of full blocks: more than twice the price.
	let mut m = one;
	for _ in 0..10 {
		m = next_multiplier(m, Perquintill::one());
	}
	assert!(m > Multiplier::saturating_from_integer(2), "{m:?}");
	// Then it falls back, to the base and not below.
	for _ in 0..200 {
		m = next_multiplier(m, Perquintill::zero());
	}
	assert_eq!(m, one);

	sp_io::TestExternalities::default().execute_with(|| {
		// Fullness by length alone (a large, light transaction) counts.
		let normal_len = *crate::configs::RuntimeBlockLength::get().max.get(DispatchClass::Normal);
		frame_system::BlockSize::<Runtime>::put(normal_len);
		assert_eq!(normal_fullness(), Perquintill::one());
		assert_eq!(CongestionFeeUpdate::convert(one), full);
		frame_system::BlockSize::<Runtime>::kill();
		assert_eq!(normal_fullness(), Perquintill::zero());
		// By weight.
		let normal = RuntimeBlockWeights::get().get(DispatchClass::Normal).max_total.unwrap();
		frame_system::Pallet::<Runtime>::register_extra_weight_unchecked(normal, DispatchClass::Normal);
		assert_eq!(normal_fullness(), Perquintill::one());
		// The length fee is multiplied too.
		assert_eq!(LengthFee::weight_to_fee(&Weight::from_parts(1_000, 0)), 1_000 * TRANSACTION_BYTE_FEE);
		pallet_transaction_payment::NextFeeMultiplier::<Runtime>::put(Multiplier::saturating_from_integer(3));
		assert_eq!(LengthFee::weight_to_fee(&Weight::from_parts(1_000, 0)), 3_000 * TRANSACTION_BYTE_FEE);
	});
}

/// Filling the Normal share of a block by length costs GRAV, not micro-GRAV, at the base price.
#[test]
fn filling_a_block_by_length_costs_whole_grav() {
	use crate::fees::TRANSACTION_BYTE_FEE;
	let normal_len = *crate::configs::RuntimeBlockLength::get().max.get(DispatchClass::Normal) as u128;
	let cost = normal_len * TRANSACTION_BYTE_FEE;
	println!("filling one block's Normal length: {} mGRAV", cost / crate::MILLI_UNIT);
	assert!(cost >= 3 * crate::UNIT);
}

/// The state the `local_testnet` preset builds.
fn local_genesis() -> sp_io::TestExternalities {
	let json = crate::genesis_config_presets::get_preset(&sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET.into())
		.expect("the local preset exists");
	genesis_from(serde_json::from_slice(&json).expect("a JSON patch"))
		.expect("the local preset builds")
}

/// The state a preset patch builds over the default config, as the node applies it.
fn genesis_from(patch: serde_json::Value) -> Result<sp_io::TestExternalities, String> {
	// A preset is a patch over the default config, as the node applies it.
	fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
		match (base, patch) {
			(serde_json::Value::Object(b), serde_json::Value::Object(p)) =>
				for (k, v) in p {
					merge(b.entry(k).or_insert(serde_json::Value::Null), v);
				},
			(b, p) => *b = p,
		}
	}
	let mut config = serde_json::to_value(crate::RuntimeGenesisConfig::default()).expect("serializes");
	merge(&mut config, patch);
	let full = serde_json::to_vec(&config).expect("serializes");
	let mut ext = sp_io::TestExternalities::default();
	let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
		ext.execute_with(|| frame_support::genesis_builder_helper::build_state::<crate::RuntimeGenesisConfig>(full))
	}))
	.map_err(|_| "genesis build panicked".to_string())?;
	built.map_err(|e| e.to_string())?;
	Ok(ext)
}

/// The public-testnet template: nothing endowed but the treasury's existential deposit, no
/// validators, no sudo key, ten-minute sessions; with the validators, keys and sudo key that
/// `deploy/testnet/make-testnet.mjs` patches in, it builds a chain they run.
#[test]
fn the_testnet_template_has_no_dev_accounts_and_builds_once_validators_are_patched_in() {
	use sp_core::crypto::Ss58Codec;
	use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
	let json = crate::genesis_config_presets::get_preset(&crate::genesis_config_presets::TESTNET_PRESET.into())
		.expect("the testnet preset exists");
	let template: serde_json::Value = serde_json::from_slice(&json).expect("a JSON patch");
	assert!(crate::genesis_config_presets::preset_names()
		.contains(&crate::genesis_config_presets::TESTNET_PRESET.into()));
	assert_eq!(template["balances"]["balances"].as_array().map(|b| b.len()), Some(1), "only the treasury");
	assert!(template.get("sudo").is_none(), "no sudo key in the template");
	assert_eq!(template["validators"]["validators"].as_array().map(|v| v.len()), Some(0));
	assert_eq!(template["validators"]["sessionLength"], 100);
	// As make-testnet patches it (two validators with generated keys; here the dev ones).
	let (v1, v2) = (Sr25519Keyring::Ferdie, Sr25519Keyring::Eve);
	let mut patch = template.clone();
	let bond = crate::configs::MinValidatorBond::get();
	patch["balances"]["balances"].as_array_mut().unwrap().extend([
		serde_json::json!([v1.to_account_id().to_ss58check(), 2 * bond]),
		serde_json::json!([v2.to_account_id().to_ss58check(), 2 * bond]),
	]);
	patch["validators"]["validators"] = serde_json::json!([
		[v1.to_account_id().to_ss58check(), bond],
		[v2.to_account_id().to_ss58check(), bond],
	]);
	patch["session"] = serde_json::json!({ "keys": [
		[v1.to_account_id().to_ss58check(), v1.to_account_id().to_ss58check(),
			{ "babe": v1.public().to_ss58check(), "grandpa": Ed25519Keyring::Ferdie.public().to_ss58check() }],
		[v2.to_account_id().to_ss58check(), v2.to_account_id().to_ss58check(),
			{ "babe": v2.public().to_ss58check(), "grandpa": Ed25519Keyring::Eve.public().to_ss58check() }],
	]});
	patch["sudo"] = serde_json::json!({ "key": v1.to_account_id().to_ss58check() });
	genesis_from(patch).expect("the patched template builds").execute_with(|| {
		assert_eq!(crate::Session::validators(), vec![v1.to_account_id(), v2.to_account_id()]);
		assert_eq!(crate::Babe::authorities().len(), 2);
		assert_eq!(pallet_gravity_validators::SessionLength::<crate::Runtime>::get(), 100);
		assert_eq!(crate::Balances::free_balance(Sr25519Keyring::Alice.to_account_id()), 0, "no dev endowment");
		assert_eq!(pallet_sudo::Key::<crate::Runtime>::get(), Some(v1.to_account_id()));
	});
}

#[test]
fn the_genesis_validators_are_the_session_babe_and_grandpa_authorities() {
	use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
	local_genesis().execute_with(|| {
		let alice = Sr25519Keyring::Alice.to_account_id();
		let bob = Sr25519Keyring::Bob.to_account_id();
		assert_eq!(crate::Session::validators(), vec![alice.clone(), bob.clone()]);
		let babe: Vec<_> = crate::Babe::authorities().iter().map(|(k, _)| k.clone()).collect();
		assert_eq!(babe, vec![Sr25519Keyring::Alice.public().into(), Sr25519Keyring::Bob.public().into()]);
		let grandpa: Vec<_> = crate::Grandpa::grandpa_authorities().into_iter().map(|(k, _)| k).collect();
		assert_eq!(grandpa, vec![Ed25519Keyring::Alice.public().into(), Ed25519Keyring::Bob.public().into()]);
		assert_eq!(pallet_gravity_validators::SessionLength::<crate::Runtime>::get(), crate::DEV_SESSION_LENGTH);
		for who in [&alice, &bob] {
			let record = pallet_gravity_validators::Members::<crate::Runtime>::get(who).expect("registered");
			assert_eq!(record.bond, crate::configs::MinValidatorBond::get());
		}
	});
}

#[test]
fn key_ownership_proofs_name_the_genesis_validators_and_nobody_else() {
	use frame_support::traits::KeyOwnerProofSystem;
	use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
	local_genesis().execute_with(|| {
		let babe_key: sp_consensus_babe::AuthorityId = Sr25519Keyring::Bob.public().into();
		let proof = crate::Historical::prove((sp_consensus_babe::KEY_TYPE, babe_key.clone()))
			.expect("Bob's BABE key is in the session");
		assert_eq!(
			crate::Historical::check_proof((sp_consensus_babe::KEY_TYPE, babe_key), proof.clone()),
			Some((Sr25519Keyring::Bob.to_account_id(), ()))
		);
		// The same proof does not make Alice's key Bob's, nor does an outsider's key prove.
		let alice: sp_consensus_babe::AuthorityId = Sr25519Keyring::Alice.public().into();
		assert_eq!(crate::Historical::check_proof((sp_consensus_babe::KEY_TYPE, alice), proof), None);
		let dave: sp_consensus_grandpa::AuthorityId = Ed25519Keyring::Dave.public().into();
		let key = (sp_consensus_grandpa::KEY_TYPE, dave);
		// (A "proof" can be built for any key: it proves absence, and does not check.)
		let absent = crate::Historical::prove(key.clone()).expect("a proof of absence");
		assert_eq!(crate::Historical::check_proof(key, absent), None);
	});
}

/// Two headers Bob authored for one slot, sealed (or not) as `seal` says.
fn babe_equivocation(seal: impl Fn(&crate::Header, u8) -> Option<sp_consensus_babe::AuthoritySignature>)
	-> sp_consensus_babe::EquivocationProof<crate::Header> {
	use sp_consensus_babe::digests::{CompatibleDigestItem, PreDigest, SecondaryPlainPreDigest};
	use sp_runtime::{traits::Header as _, DigestItem};
	let slot = sp_consensus_babe::Slot::from(42u64);
	let header = |n: u8| {
		let mut h = crate::Header::new(
			1,
			Default::default(),
			sp_core::H256::repeat_byte(n),
			Default::default(),
			Default::default(),
		);
		h.digest_mut().push(DigestItem::babe_pre_digest(PreDigest::SecondaryPlain(SecondaryPlainPreDigest {
			authority_index: 1,
			slot,
		})));
		if let Some(sig) = seal(&h, n) {
			h.digest_mut().push(DigestItem::babe_seal(sig));
		}
		h
	};
	sp_consensus_babe::EquivocationProof {
		offender: sp_keyring::Sr25519Keyring::Bob.public().into(),
		slot,
		first_header: header(1),
		second_header: header(2),
	}
}

#[test]
#[allow(deprecated)]
fn a_babe_report_whose_headers_are_not_both_sealed_by_the_offender_is_refused_by_the_pool() {
	use frame_support::traits::KeyOwnerProofSystem;
	use sp_keyring::Sr25519Keyring;
	use sp_runtime::traits::Hash as _;
	use sp_runtime::transaction_validity::{InvalidTransaction, TransactionSource, TransactionValidityError};
	local_genesis().execute_with(|| {
		let bob: sp_consensus_babe::AuthorityId = Sr25519Keyring::Bob.public().into();
		let owner = crate::Historical::prove((sp_consensus_babe::KEY_TYPE, bob))
			.expect("Bob's BABE key is in the session");
		let signed_by = |who: Sr25519Keyring| {
			move |h: &crate::Header, _| {
				Some(who.sign(<crate::Header as sp_runtime::traits::Header>::Hashing::hash_of(h).as_ref()).into())
			}
		};
		let validate = |proof| {
			let call = pallet_babe::Call::<crate::Runtime>::report_equivocation_unsigned {
				equivocation_proof: alloc::boxed::Box::new(proof),
				key_owner_proof: owner.clone(),
			};
			crate::Babe::validate_unsigned(TransactionSource::Local, &call)
		};
		// The real thing: two headers for one slot, both sealed by Bob. Valid.
		assert!(validate(babe_equivocation(signed_by(Sr25519Keyring::Bob))).is_ok());
		let refused = Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof));
		// Headers without their seals (what sc-consensus-babe 0.60 reports from its import
		// queue): nothing proves Bob signed them. Refused, never included.
		assert_eq!(validate(babe_equivocation(|_, _| None)), refused);
		// Sealed by someone else (a forgery to get Bob slashed). Refused.
		assert_eq!(validate(babe_equivocation(signed_by(Sr25519Keyring::Charlie))), refused);
		// One header sealed by Bob, the other by Charlie. Refused.
		let mixed = move |h: &crate::Header, n: u8| {
			let who = if n == 1 { Sr25519Keyring::Bob } else { Sr25519Keyring::Charlie };
			Some(who.sign(<crate::Header as sp_runtime::traits::Header>::Hashing::hash_of(h).as_ref()).into())
		};
		assert_eq!(validate(babe_equivocation(mixed)), refused);
	});
}
