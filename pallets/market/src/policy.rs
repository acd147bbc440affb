//! The market's policies, behind `Config` seams (as `pallet-broker`'s `AdaptPrice`): pricing and
//! payout, penalties and their beneficiary, trust (who may run alone, how often it is checked)
//! and the choice among drawn candidates. Each is a small trait with a default implementation
//! and its own tests; assignment and settlement only orchestrate them.

use core::marker::PhantomData;
use frame_support::traits::Get;
use gravity_primitives::Outcome;
use sp_runtime::{
	traits::{AtLeast32BitUnsigned, UniqueSaturatedInto},
	Perbill,
};

/// Pricing and payout: what verified work is worth, how a payment splits between the provider
/// and the treasury, and how much reputation it earns.
pub trait Payout<AccountId, Balance> {
	/// The value of `fuel` units at `price` per unit, the fuel capped at `fuel_cap`.
	fn value(fuel: u64, fuel_cap: u64, price: Balance) -> Balance;
	/// What a job holds in escrow for `replicas` runs, each paid at most `value(fuel_cap,
	/// fuel_cap, price)`: the most it can pay. `None` when it does not fit the balance type (the
	/// job is refused). The one owner of both what is held and what is paid, so the two cannot
	/// drift apart.
	fn budget(fuel_cap: u64, price: Balance, replicas: u128) -> Option<Balance>;
	/// `(to the provider, protocol fee)` of a payment of `value`; the two add up to `value`.
	fn split(value: Balance) -> (Balance, Balance);
	/// Who receives the protocol fee.
	fn fee_beneficiary() -> AccountId;
	/// The share of one full reputation success that work of `value` earns; `self_paid` when the
	/// provider is the job's requester (such work earns nothing).
	fn credit(value: Balance, self_paid: bool) -> Perbill;
}

/// Default payout: `fuel × price`, a `Fee` share to `Treasury`, one full success per `Unit` of
/// value paid by someone else (less earns in proportion; a zero `Unit` makes any work a full one).
pub struct FeeAndValueCredit<Fee, Unit, Treasury>(PhantomData<(Fee, Unit, Treasury)>);

impl<AccountId, Balance, Fee, Unit, Treasury> Payout<AccountId, Balance>
	for FeeAndValueCredit<Fee, Unit, Treasury>
where
	Balance: AtLeast32BitUnsigned + Copy,
	Fee: Get<Perbill>,
	Unit: Get<Balance>,
	Treasury: Get<AccountId>,
{
	fn value(fuel: u64, fuel_cap: u64, price: Balance) -> Balance {
		let fuel: Balance = (fuel.min(fuel_cap) as u128).unique_saturated_into();
		fuel.saturating_mul(price)
	}

	fn budget(fuel_cap: u64, price: Balance, replicas: u128) -> Option<Balance> {
		let fuel: Balance = Balance::try_from(fuel_cap as u128).ok()?;
		let replicas: Balance = Balance::try_from(replicas).ok()?;
		fuel.checked_mul(&price)?.checked_mul(&replicas)
	}

	fn split(value: Balance) -> (Balance, Balance) {
		let fee = Fee::get().mul_floor(value);
		(value.saturating_sub(fee), fee)
	}

	fn fee_beneficiary() -> AccountId {
		Treasury::get()
	}

	fn credit(value: Balance, self_paid: bool) -> Perbill {
		let unit = Unit::get();
		if self_paid {
			Perbill::zero()
		} else if unit.is_zero() {
			Perbill::one()
		} else {
			Perbill::from_rational(value.min(unit), unit)
		}
	}
}

/// Penalties: the share of its bond a penalized provider loses, and who receives it.
pub trait Penalty<AccountId> {
	/// The share of the bond lost for `outcome` (`Dissented` or `NoShow`).
	fn slash_fraction(outcome: Outcome) -> Perbill;
	/// Who receives slashed bonds: never the requester (who could profit from jobs nobody can
	/// run), never another replica (who could profit from framing its co-replicas).
	fn beneficiary() -> AccountId;
}

/// Default penalty: `Fraction` of the bond for a dissent or a no-show, to `Beneficiary`.
pub struct SlashTo<Fraction, Beneficiary>(PhantomData<(Fraction, Beneficiary)>);

impl<AccountId, Fraction: Get<Perbill>, Beneficiary: Get<AccountId>> Penalty<AccountId>
	for SlashTo<Fraction, Beneficiary>
{
	fn slash_fraction(outcome: Outcome) -> Perbill {
		match outcome {
			Outcome::Agreed => Perbill::zero(),
			Outcome::Dissented | Outcome::NoShow => Fraction::get(),
		}
	}

	fn beneficiary() -> AccountId {
		Beneficiary::get()
	}
}

/// Trust in adaptive replication: who may run a task alone, and how often a solo run is
/// spot-checked.
pub trait TrustPolicy<Balance> {
	/// Probability that a would-be solo task is replicated after all (drawn after its commit).
	fn spot_check_rate() -> Perbill;
	/// May a provider with `reputation`, `trusted_work` units of work paid by others and
	/// `stake` at risk (what it loses if caught dissenting) run a task worth `value` alone?
	fn may_run_alone(value: Balance, reputation: Perbill, trusted_work: u32, stake: Balance) -> bool;
}

/// Default trust: a reputation of at least `MinReputation`, `MinWork` units of work paid by
/// others, and the cheating inequality `value ≤ p × stake` (`p` = `SpotRate`). With `c ≤ V` the
/// honest cost of a task worth `V`, skipping the work earns `(1 − p)·V − p·S` in expectation and
/// honest work `V − c`; cheating loses whenever `c < p·(V + S)`, which holds for every `c ≤ V`
/// when `V ≤ p·S`.
pub struct SpotCheckedTrust<MinReputation, MinWork, SpotRate>(PhantomData<(MinReputation, MinWork, SpotRate)>);

impl<Balance, MinReputation, MinWork, SpotRate> TrustPolicy<Balance>
	for SpotCheckedTrust<MinReputation, MinWork, SpotRate>
where
	Balance: AtLeast32BitUnsigned + Copy,
	MinReputation: Get<Perbill>,
	MinWork: Get<u32>,
	SpotRate: Get<Perbill>,
{
	fn spot_check_rate() -> Perbill {
		SpotRate::get()
	}

	fn may_run_alone(value: Balance, reputation: Perbill, trusted_work: u32, stake: Balance) -> bool {
		reputation >= MinReputation::get() &&
			trusted_work >= MinWork::get() &&
			value <= SpotRate::get().mul_floor(stake)
	}
}

/// What the draw knows about a candidate it landed on (the value object the candidate policy
/// judges, as `pallet-broker`'s `SalePerformance` is for its price adapter).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Candidate {
	/// The provider's reputation score.
	pub reputation: Perbill,
	/// A uniform roll in [0, 1) drawn for this candidate from the block's randomness.
	pub roll: Perbill,
	/// The candidate already has (or is fetching) the job's data: a data holder offered the
	/// first replica of a task with a large input.
	pub holds_data: bool,
}

/// The candidate policy's answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
	/// The candidate takes the replica.
	Take,
	/// Passed over: the draw goes on (the first free candidate passed over is the fallback).
	Pass,
}

/// The choice among drawn candidates: whether the candidate a draw landed on takes the replica.
pub trait CandidateChoice {
	/// Judge `candidate`.
	fn choose(candidate: Candidate) -> Verdict;
}

/// The default choice: take with probability equal to the reputation score (a Beta mean), so
/// reputed providers get more work and newcomers (score ½) still get some; a data holder is
/// judged like anyone else.
impl CandidateChoice for () {
	fn choose(candidate: Candidate) -> Verdict {
		if candidate.roll < candidate.reputation {
			Verdict::Take
		} else {
			Verdict::Pass
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::parameter_types;

	parameter_types! {
		pub const Fee: Perbill = Perbill::from_percent(5);
		pub const Unit: u64 = 1_000;
		pub const Treasury: u64 = 99;
		pub const Ten: Perbill = Perbill::from_percent(10);
		pub const Ninety: Perbill = Perbill::from_percent(90);
		pub const Twenty: u32 = 20;
	}
	type P = FeeAndValueCredit<Fee, Unit, Treasury>;
	type T = SpotCheckedTrust<Ninety, Twenty, Ten>;

	#[test]
	fn payout_caps_fuel_splits_exactly_and_credits_paid_value() {
		assert_eq!(<P as Payout<u64, u64>>::value(500, 400, 3), 1_200);
		assert_eq!(<P as Payout<u64, u64>>::value(u64::MAX, u64::MAX, u64::MAX), u64::MAX);
		for v in [0u64, 1, 19, 20, 1_000, 12_345] {
			let (to, fee) = <P as Payout<u64, u64>>::split(v);
			assert_eq!(to + fee, v, "nothing created or lost");
			assert_eq!(fee, v * 5 / 100);
		}
		assert_eq!(<P as Payout<u64, u64>>::fee_beneficiary(), 99);
		// What is held covers exactly the most that can be paid, and overflow is refused.
		for (cap, price, n) in [(400u64, 3u64, 1u128), (2_000_000_000, 1, 24 * 6), (7, 11, 0)] {
			let most = <P as Payout<u64, u64>>::value(cap, cap, price) * n as u64;
			assert_eq!(<P as Payout<u64, u64>>::budget(cap, price, n), Some(most));
		}
		assert_eq!(<P as Payout<u64, u64>>::budget(u64::MAX, 2, 1), None);
		assert_eq!(<P as Payout<u64, u64>>::budget(1, 1, u64::MAX as u128 + 1), None);
		assert_eq!(<P as Payout<u64, u64>>::credit(250, false), Perbill::from_percent(25));
		assert_eq!(<P as Payout<u64, u64>>::credit(5_000, false), Perbill::one());
		assert_eq!(<P as Payout<u64, u64>>::credit(0, false), Perbill::zero());
		assert_eq!(<P as Payout<u64, u64>>::credit(5_000, true), Perbill::zero(), "self-paid work earns nothing");
	}

	#[test]
	fn penalty_slashes_failures_only_and_pays_the_beneficiary() {
		type S = SlashTo<Ten, Treasury>;
		assert_eq!(<S as Penalty<u64>>::slash_fraction(Outcome::Dissented), Perbill::from_percent(10));
		assert_eq!(<S as Penalty<u64>>::slash_fraction(Outcome::NoShow), Perbill::from_percent(10));
		assert_eq!(<S as Penalty<u64>>::slash_fraction(Outcome::Agreed), Perbill::zero());
		assert_eq!(<S as Penalty<u64>>::beneficiary(), 99);
	}

	#[test]
	fn trust_needs_reputation_paid_work_and_the_inequality() {
		let ok = Perbill::from_percent(95);
		// stake 1_000, p = 10 %: tasks up to 100 may run alone.
		assert!(<T as TrustPolicy<u64>>::may_run_alone(100, ok, 20, 1_000));
		assert!(!<T as TrustPolicy<u64>>::may_run_alone(101, ok, 20, 1_000), "costlier tasks are replicated");
		assert!(!<T as TrustPolicy<u64>>::may_run_alone(1, Perbill::from_percent(89), 20, 1_000));
		assert!(!<T as TrustPolicy<u64>>::may_run_alone(1, ok, 19, 1_000));
		assert!(!<T as TrustPolicy<u64>>::may_run_alone(1, ok, 20, 0), "nothing at stake, nothing alone");
		// Whenever it allows a solo run, cheating pays less than honest work at every cost c ≤ V
		// (in tenths, p = 1/10): 9V − S < 10(V − c).
		for stake in [0u64, 10, 999, 1_000, 123_456] {
			for value in [0u64, 1, 50, 100, 101, 12_345] {
				if <T as TrustPolicy<u64>>::may_run_alone(value, ok, 20, stake) {
					for c in [0, value / 3, value] {
						assert!((9 * value as i128 - stake as i128) < 10 * (value as i128 - c as i128) || value == 0 && stake == 0);
					}
				}
			}
		}
		assert_eq!(<T as TrustPolicy<u64>>::spot_check_rate(), Perbill::from_percent(10));
	}

	#[test]
	fn candidates_are_taken_in_proportion_to_reputation() {
		let take = |reputation, roll, holds_data| <() as CandidateChoice>::choose(Candidate { reputation, roll, holds_data });
		let taken = (0..1_000u32)
			.filter(|i| take(Perbill::from_percent(70), Perbill::from_rational(*i, 1_000), false) == Verdict::Take)
			.count();
		assert_eq!(taken, 700);
		assert_eq!(take(Perbill::zero(), Perbill::zero(), false), Verdict::Pass);
		assert_eq!(take(Perbill::zero(), Perbill::zero(), true), Verdict::Pass, "holding data buys nothing by default");
		assert_eq!(take(Perbill::one(), Perbill::from_parts(999_999_999), false), Verdict::Take);
	}
}
