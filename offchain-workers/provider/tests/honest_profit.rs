//! The arithmetic behind "an honest provider is in profit at the README's prices" (issue 9,
//! item 8), with the runtime's real fee schedule and the demo's real work.
//!
//! Runs the demo render job's 24 tiles in the sandbox for their fuel, prices them as the demo
//! does (1,000 plancks per fuel unit, 5 % protocol fee to the treasury), and charges the
//! provider, pessimistically, every fee an honest replica can meet: storing the tile's output
//! for delivery (`content.put`, paid) on every tile. Commit, reveal, deliver, decline and due
//! heartbeats are free when valid (`Pays::No`, checked in the market and providers unit tests);
//! the output deposit is held, not spent, and comes back when the provider node removes the
//! output after the job's retention.

use frame_support::dispatch::GetDispatchInfo;
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
				gravity_protocol::result::content_id(gravity_task_programs::RENDER).hash,
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
			// Delivering the output: one paid `content.put` of the tile's bytes.
			let put = RuntimeCall::Content(pallet_gravity_content::Call::put { data: result.deliverable() });
			let len = codec::Encode::encoded_size(&put) as u32 + SIGNED_OVERHEAD;
			let fee = pallet_transaction_payment::Pallet::<Runtime>::compute_fee(len, &put.get_dispatch_info(), 0);
			let deposit = pallet_gravity_content::Pallet::<Runtime>::deposit_for(result.deliverable().len() as u32);
			println!(
				"tile {tile:2}: fuel {:>11}  earned {earned:>14}  put fee {fee:>12}  deposit (returned) {deposit}",
				result.fuel_used
			);
			assert!(earned > fee, "tile {tile}: earns {earned}, pays {fee}");
			total_earned += earned;
			total_fees += fee;
		}
	});
	println!("24 tiles: earned {total_earned} plancks, fees {total_fees} ({:.2} % of earnings)", total_fees as f64 * 100.0 / total_earned as f64);
	assert!(total_fees * 10 < total_earned, "fees must stay under 10 % of earnings at the demo's prices");
}
