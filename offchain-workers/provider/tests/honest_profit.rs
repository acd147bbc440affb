//! The arithmetic behind "an honest provider is in profit at the README's prices", with the
//! runtime's real fee schedule and the demo's real work.
//!
//! Runs the demo render job's 24 tiles in the sandbox for their fuel, prices them as the demo
//! does (1,000 plancks per fuel unit, 5 % protocol fee to the treasury), and charges the
//! provider every fee an honest replica meets, as the chain charges it: its duties (`commit`,
//! `reveal`, `deliver` of an output named by id, kept off chain) are withdrawn before dispatch
//! and refunded when valid (`Pays::No`); the node's one-off calls (`set_endpoint`, and
//! `update_capabilities` to match `--provider-max-tasks`) are paid, here all within one job. The
//! fee per byte of the congestion-priced length fee is what made a paid per-tile `content.put`
//! of each output cost more than the tile earns: outputs are not put on chain, and this test
//! fails if a duty ever becomes paid.

use frame_support::dispatch::{GetDispatchInfo, Pays, PostDispatchInfo};
use gravity_executor::{Executor, Limits};
use gravity_runtime::{Runtime, RuntimeCall};

/// The runtime's payout policy (value, protocol fee).
type Payout = <Runtime as pallet_gravity_market::Config>::Payout;

/// The demo's price (clients/js/demo-render.mjs `DEMO_PRICE_PER_FUEL`).
const DEMO_PRICE_PER_FUEL: u128 = 1_000;
/// The demo's fuel cap.
const DEMO_FUEL_CAP: u64 = 2_000_000_000;
/// Bytes a signed extrinsic adds to its call (address, signature, extensions): generous.
const SIGNED_OVERHEAD: u32 = 200;

#[test]
fn an_honest_provider_earns_more_than_its_fees_at_the_demo_prices() {
	let scene = include_bytes!("../../../tasks/render/scenes/demo.scene");
	let executor = Executor::new(4).expect("sandbox");
	let limits = Limits { fuel_cap: DEMO_FUEL_CAP, ..Limits::default() };
	let (mut total_earned, mut total_fees) = (0u128, 0u128);
	sp_io::TestExternalities::default().execute_with(|| {
		for tile in 0..24u32 {
			let input = gravity_protocol::input::encode(tile, scene);
			let (result, _) = executor.run(
				gravity_protocol::content::ContentId::of(gravity_task_programs::RENDER).root,
				gravity_task_programs::RENDER,
				std::sync::Arc::new(input),
				gravity_protocol::result::task_seed(0, tile),
				&limits,
			);
			assert!(result.outcome.is_ok(), "tile {tile} renders");
			let value = <Payout as pallet_gravity_market::policy::Payout<gravity_runtime::AccountId, u128>>::value(
				result.fuel_used,
				DEMO_FUEL_CAP,
				DEMO_PRICE_PER_FUEL,
			);
			let (earned, _fee) = <Payout as pallet_gravity_market::policy::Payout<gravity_runtime::AccountId, u128>>::split(value);
			// The tile's duties, as charged after dispatch when valid.
			let output = gravity_primitives::ContentId::of(&result.deliverable());
			let duties = [
				RuntimeCall::Market(pallet_gravity_market::Call::commit { job: 0, task: tile, commitment: Default::default() }),
				RuntimeCall::Market(pallet_gravity_market::Call::reveal {
					job: 0,
					task: tile,
					digest: Default::default(),
					fuel_used: result.fuel_used,
					salt: [0; 32],
				}),
				RuntimeCall::Market(pallet_gravity_market::Call::deliver { job: 0, task: tile, output }),
			];
			let fee: u128 = duties.iter().map(|call| charged(call, Pays::No).1).sum();
			let upfront: u128 = duties.iter().map(|call| charged(call, Pays::No).0).max().unwrap_or(0);
			println!(
				"tile {tile:2}: fuel {:>11}  earned {earned:>14}  duty fees {fee}  (withdrawn before dispatch, at most {upfront})",
				result.fuel_used
			);
			assert_eq!(fee, 0, "tile {tile}: valid duties are free");
			assert!(upfront < earned, "tile {tile}: a duty's fee up front ({upfront}) is more than the tile earns ({earned})");
			total_earned += earned;
			total_fees += fee;
		}
	});
	// The node's one-off paid calls, pessimistically all charged to this one job.
	let once = sp_io::TestExternalities::default().execute_with(|| {
		let endpoint = RuntimeCall::Providers(pallet_gravity_providers::Call::set_endpoint {
			peer_id: vec![0u8; 38].try_into().expect("a peer id fits"),
			proof: [0; 64],
		});
		let capabilities = RuntimeCall::Providers(pallet_gravity_providers::Call::update_capabilities {
			capabilities: gravity_runtime::genesis_config_presets::dev_capabilities(),
		});
		charged(&endpoint, Pays::Yes).1 + charged(&capabilities, Pays::Yes).1
	});
	total_fees += once;
	println!("24 tiles: earned {total_earned} plancks, fees {total_fees} ({:.2} % of earnings)", total_fees as f64 * 100.0 / total_earned as f64);
	assert!(total_fees * 10 < total_earned, "fees must stay under 10 % of earnings at the demo's prices");
}

/// (withdrawn before dispatch, charged after it) for `call` signed, at the base fee multiplier,
/// when its dispatch says `pays`.
fn charged(call: &RuntimeCall, pays: Pays) -> (u128, u128) {
	let len = codec::Encode::encoded_size(call) as u32 + SIGNED_OVERHEAD;
	let info = call.get_dispatch_info();
	let before = pallet_transaction_payment::Pallet::<Runtime>::compute_fee(len, &info, 0);
	let post = PostDispatchInfo { actual_weight: None, pays_fee: pays };
	let after = pallet_transaction_payment::Pallet::<Runtime>::compute_actual_fee(len, &info, &post, 0);
	(before, after)
}
