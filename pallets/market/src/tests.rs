//! Unit and property tests of the market on a mock runtime with the real provider registry.

use crate::{dispatchable_impls::{commitment_of, digest_of}, mock::*, *};
use frame_support::weights::Weight;
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::InspectHold, Currency},
};
use frame_support::BoundedVec;
use gravity_primitives::{ContentId, JobId, ProviderRegistry, Requirements, TaskIndex};
use sp_core::H256;
use sp_runtime::Perbill;

const PRICE: Balance = 3;
const CAP: u64 = 1_000;
/// Every mock blob is 4 bytes.
const PROGRAM_SIZE: u64 = 4;

fn cid(n: u8) -> ContentId {
	ContentId { root: [n; 32], length: PROGRAM_SIZE }
}

fn policy(initial: u8, max: u8, quorum: u8) -> ReplicationPolicy {
	ReplicationPolicy { initial, max, quorum, adaptive: false }
}

/// A `JobSpec` from its fields, in their order.
#[allow(clippy::too_many_arguments)]
fn job_spec(
	program: ContentId,
	source: Option<gravity_primitives::PeerIdBytes>,
	kind: JobKind,
	inputs: Vec<ContentId>,
	requirements: gravity_primitives::Requirements,
	replication: ReplicationPolicy,
	price_per_fuel: Balance,
	fuel_cap: u64,
	deadline: u64,
) -> JobSpecOf<Test> {
	JobSpec { program, source, kind, inputs, requirements, replication, price_per_fuel, fuel_cap, deadline }
}

fn submit(kind: JobKind, inputs: Vec<ContentId>, r: ReplicationPolicy) -> JobId {
	submit_deadline(kind, inputs, r, 200)
}

fn submit_deadline(kind: JobKind, inputs: Vec<ContentId>, r: ReplicationPolicy, deadline: u64) -> JobId {
	let id = NextJobId::<Test>::get();
	assert_ok!(Market::submit_job(
		RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA),
		None,
		kind,
		inputs,
		any_req(),
		r,
		PRICE,
		CAP,
		deadline)));
	id
}

fn batch(n: u8, r: ReplicationPolicy) -> JobId {
	submit(JobKind::Batch, (1..=n).map(cid).collect(), r)
}

fn open_providers(job: JobId, task: TaskIndex) -> Vec<AccountId> {
	Tasks::<Test>::get(job, task)
		.unwrap()
		.replicas
		.iter()
		.filter(|r| r.is_open())
		.map(|r| r.provider)
		.collect()
}

fn salt(p: AccountId) -> [u8; 32] {
	[p as u8; 32]
}

/// The digest `p` reveals for `out`: bound to the round of `p`'s open replica.
fn digest(p: AccountId, job: JobId, task: TaskIndex, out: ContentId, fuel: u64) -> H256 {
	let t = Tasks::<Test>::get(job, task).unwrap();
	let round = t.replicas.iter().find(|r| r.provider == p && r.is_open()).map_or(t.round, |r| r.round);
	digest_of(&out, fuel, job, task, round)
}

fn commit(p: AccountId, job: JobId, task: TaskIndex, out: ContentId, fuel: u64) {
	let c = commitment_of(&digest(p, job, task, out, fuel), fuel, &p, job, task, &salt(p));
	assert_ok!(Market::commit(RuntimeOrigin::signed(p), job, task, c));
}

fn reveal(p: AccountId, job: JobId, task: TaskIndex, out: ContentId, fuel: u64) {
	let d = digest(p, job, task, out, fuel);
	assert_ok!(Market::reveal(RuntimeOrigin::signed(p), job, task, d, fuel, salt(p)));
}

/// Name the stored output `out` of a task whose round agreed.
fn deliver(job: JobId, task: TaskIndex, out: ContentId) {
	assert_ok!(Market::deliver(RuntimeOrigin::signed(OTHER), job, task, out));
}

/// Every open replica of `task` computes `out` with `fuel`: those that have not committed
/// commit, the reveals open (after the solo / spot-check draw if one is pending), everyone
/// reveals and the round is tallied (the task then waits for delivery).
fn agree(job: JobId, task: TaskIndex, out: ContentId, fuel: u64) {
	let t = Tasks::<Test>::get(job, task).unwrap();
	for r in t.replicas.iter().filter(|r| r.is_open() && r.commitment.is_none()) {
		commit(r.provider, job, task, out, fuel);
	}
	if Tasks::<Test>::get(job, task).unwrap().check_pending {
		next_block();
	}
	let t = Tasks::<Test>::get(job, task).unwrap();
	if !matches!(t.phase, TaskPhase::Revealing { .. }) {
		return
	}
	for r in t.replicas.iter().filter(|r| r.is_open() && r.reveal.is_none()) {
		reveal(r.provider, job, task, out, fuel);
	}
	next_block();
}

/// `agree`, then `out` is delivered.
fn honest_round(job: JobId, task: TaskIndex, out: ContentId, fuel: u64) {
	agree(job, task, out, fuel);
	if matches!(Tasks::<Test>::get(job, task).unwrap().phase, TaskPhase::Delivering { .. }) {
		deliver(job, task, out);
	}
}

/// Deliver `out` for every task of `job` whose round agreed.
fn deliver_all(job: JobId, out: impl Fn(TaskIndex) -> ContentId) {
	for (t, task) in Tasks::<Test>::iter_prefix(job) {
		if matches!(task.phase, TaskPhase::Delivering { .. }) {
			deliver(job, t, out(t));
		}
	}
}

/// Settlement happens at the start of the block after the last reveal.
fn next_block() {
	run_to(System::block_number() + 1);
}

fn escrow_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Market(HoldReason::JobEscrow), &who)
}

fn deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Market(HoldReason::QueueDeposit), &who)
}

/// The escrow invariant: for every job `held = locked - paid - refunded`, and the requester's
/// escrow hold equals the sum over its jobs; nothing is held for finished jobs.
fn check_escrow() {
	let mut by_requester = std::collections::BTreeMap::<AccountId, (Balance, Balance)>::new();
	for (_, job) in Jobs::<Test>::iter() {
		let e = &job.escrow;
		assert!(e.paid + e.refunded <= e.locked, "paid + refunded exceed locked: {e:?}");
		if job.status != JobStatus::Active {
			assert_eq!(e.held(), 0, "finished job still holds escrow: {job:?}");
			assert_eq!(e.queue_deposit, 0, "finished job still holds its queue deposit: {job:?}");
		}
		let entry = by_requester.entry(job.requester).or_default();
		entry.0 += e.held();
		entry.1 += e.queue_deposit;
	}
	for (who, (held, deposit)) in by_requester {
		assert_eq!(escrow_held(who), held, "hold of {who} differs from its jobs' escrow");
		assert_eq!(deposit_held(who), deposit, "queue deposit of {who} differs from its jobs'");
	}
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| if let RuntimeEvent::Market(e) = r.event { Some(e) } else { None })
		.collect()
}

#[test]
fn batch_job_lifecycle_pays_and_refunds_exactly() {
	new_test_ext(3).execute_with(|| {
		let issuance = Balances::total_issuance();
		let job = batch(2, policy(2, 4, 2));
		// Each task: `max` replicas and a dispute's fresh round (2 × quorum + 1) in reserve.
		assert_eq!(policy(2, 4, 2).escalation(5), 5);
		let budget = 2 * (4 + 5) * CAP * PRICE;
		assert_eq!(escrow_held(REQUESTER), budget);
		// Queue deposit: 2 tasks × 2 initial replicas.
		assert_eq!(deposit_held(REQUESTER), 4 * QUEUE_DEPOSIT);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL - budget - 4 * QUEUE_DEPOSIT);
		check_escrow();

		run_to(2);
		for t in 0..2 {
			let ps = open_providers(job, t);
			assert_eq!(ps.len(), 2);
			assert_ne!(ps[0], ps[1], "one provider never holds two replicas of a task");
		}
		let before: Vec<Balance> = (1..=3).map(Balances::free_balance).collect();
		honest_round(job, 0, cid(0x10), 400);
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Verified);
		check_escrow();
		honest_round(job, 1, cid(0x11), 700);
		check_escrow();

		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Completed);
		let paid = 2 * 400 * PRICE + 2 * 700 * PRICE;
		assert_eq!(j.escrow.paid, paid);
		assert_eq!(j.escrow.refunded, budget - paid);
		assert_eq!(escrow_held(REQUESTER), 0);
		assert_eq!(deposit_held(REQUESTER), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL - paid);
		let gained: Balance =
			(1..=3).map(|p| Balances::free_balance(p) - before[(p - 1) as usize]).sum();
		assert_eq!(gained, paid);
		assert_eq!(Balances::total_issuance(), issuance);
		// Audit record: each replica's commitment, reveal and payment.
		let t = Tasks::<Test>::get(job, 1).unwrap();
		assert_eq!(t.result, Some((cid(0x11), 700)));
		for r in t.replicas.iter() {
			assert_eq!(r.outcome, Some(ReplicaOutcome::Agreed));
			assert_eq!(r.paid, 700 * PRICE);
			let d = digest_of(&cid(0x11), 700, job, 1, r.round);
			assert_eq!(r.reveal.unwrap().digest, d);
			assert_eq!(r.commitment, Some(commitment_of(&d, 700, &r.provider, job, 1, &salt(r.provider))));
		}
		// Loads released, reputation up.
		for p in 1..=3u64 {
			assert_eq!(<Market as gravity_primitives::ProviderLoad<_>>::load(&p), 0);
			assert!(ProviderTasks::<Test>::get(p).open.is_empty());
		}
		assert!(<Providers as ProviderRegistry<_, _>>::reputation(&t.replicas[0].provider) > Perbill::from_percent(50));
		let ev = events();
		assert!(ev.iter().any(|e| matches!(e, Event::JobFinished { status: JobStatus::Completed, .. })));
		assert_eq!(ev.iter().filter(|e| matches!(e, Event::ProviderPaid { .. })).count(), 4);
		assert_eq!(ev.iter().filter(|e| matches!(e, Event::TaskVerified { .. })).count(), 2);
	});
}

#[test]
fn attack_a_requester_whose_funds_are_locked_cannot_withhold_payment() {
	use frame_support::traits::{LockableCurrency, WithdrawReasons};
	new_test_ext(3).execute_with(|| {
		let issuance = Balances::total_issuance();
		let job = batch(1, policy(2, 4, 2));
		// The requester locks its whole balance (a vote or stake lock would do the same): with
		// `Fortitude::Polite` the frozen amount above its free balance would be taken out of
		// the escrow on hold, and every payment would move nothing.
		<Balances as LockableCurrency<AccountId>>::set_lock(*b"lockedup", &REQUESTER, INITIAL, WithdrawReasons::all());
		run_to(2);
		let before: Vec<Balance> = (1..=3).map(Balances::free_balance).collect();
		honest_round(job, 0, cid(0x10), 400);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Completed);
		assert_eq!(j.escrow.paid, 2 * 400 * PRICE);
		let gained: Balance = (1..=3).map(|p| Balances::free_balance(p) - before[(p - 1) as usize]).sum();
		assert_eq!(gained, 2 * 400 * PRICE, "both providers were paid in full");
		assert_eq!(escrow_held(REQUESTER), 0);
		assert_eq!(Balances::total_issuance(), issuance);
		check_escrow();
	});
}

#[test]
fn dissent_is_disputed_by_a_fresh_round_and_the_loser_pays_for_it() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		commit(ps[0], job, 0, cid(1), 100);
		commit(ps[1], job, 0, cid(2), 100);
		reveal(ps[0], job, 0, cid(1), 100);
		reveal(ps[1], job, 0, cid(2), 100);
		next_block();
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Committing);
		// A dispute: every provider not in the task (2 of the 5 a dispute of quorum 2 may
		// draw), decided by a strict majority of them; the two revealed ones wait to be judged.
		assert_eq!((t.round, t.wanted, t.escalation, t.quorum), (1, 4, 2, 2));
		assert!(events().iter().any(|e| matches!(e, Event::TaskDisputed { fresh: 2, quorum: 2, round: 1, .. })));
		next_block();
		let fresh: Vec<_> = open_providers(job, 0).into_iter().filter(|p| !ps.contains(p)).collect();
		assert_eq!(fresh.len(), 2);
		let bond_before = bond(ps[1]);
		let req_before = Balances::free_balance(REQUESTER);
		honest_round(job, 0, cid(1), 100);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Verified);
		assert_eq!(t.result, Some((cid(1), 100)));
		// The round-0 replica that computed the same output is judged against it and paid.
		let first = t.replicas.iter().find(|r| r.provider == ps[0]).unwrap();
		assert_eq!((first.outcome, first.paid), (Some(ReplicaOutcome::Agreed), 100 * PRICE));
		let dissenter = t.replicas.iter().find(|r| r.provider == ps[1]).unwrap();
		assert_eq!(dissenter.outcome, Some(ReplicaOutcome::Dissented));
		assert_eq!(dissenter.paid, 0);
		// The loser pays what the fresh round cost the requester (2 × 100 fuel, fee included),
		// here less than the penalty share of its bond: it loses the penalty share, of which
		// the requester gets the fresh round's cost and the treasury the rest.
		let cost = 2 * 100 * PRICE;
		assert!(cost < bond_before / 10);
		assert_eq!(dissenter.slashed, bond_before / 10);
		assert_eq!(bond(ps[1]), bond_before - bond_before / 10);
		assert!(events().iter().any(|e| matches!(e, Event::ProviderPenalized { to_requester, .. } if *to_requester == cost)));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.escrow.compensated, cost);
		assert_eq!(Balances::free_balance(TREASURY), 1 + bond_before / 10 - cost);
		assert_eq!(j.escrow.paid, 3 * 100 * PRICE);
		assert_eq!(
			Balances::free_balance(REQUESTER),
			req_before + j.escrow.refunded + 2 * QUEUE_DEPOSIT + cost
		);
		// What the requester paid for the task, net: the one round-0 replica that was right.
		assert_eq!(j.escrow.paid - j.escrow.compensated, 100 * PRICE);
		assert!(<Providers as ProviderRegistry<_, _>>::reputation(&ps[1]) < Perbill::from_percent(50));
		check_escrow();
	});
}

/// Round 0 split 1–1 between an honest provider and a liar. The round-0 digests are public;
/// replicas of round 1 must not be able to decide it with them.
fn split_round_zero(job: JobId) -> (AccountId, AccountId, Vec<AccountId>) {
	run_to(2);
	let ps = open_providers(job, 0);
	commit(ps[0], job, 0, cid(1), 100);
	commit(ps[1], job, 0, cid(2), 100);
	reveal(ps[0], job, 0, cid(1), 100);
	reveal(ps[1], job, 0, cid(2), 100);
	next_block();
	next_block();
	let fresh = open_providers(job, 0).into_iter().filter(|p| !ps.contains(p)).collect();
	(ps[0], ps[1], fresh)
}

#[test]
fn attack_copying_a_public_digest_into_a_later_round_earns_nothing() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		let (honest, _liar, fresh) = split_round_zero(job);
		// A lazy round-1 replica copies the honest round-0 digest instead of computing.
		let copier = fresh[0];
		let public = Tasks::<Test>::get(job, 0).unwrap().replicas.iter().find(|r| r.provider == honest).unwrap().reveal.unwrap();
		let c = commitment_of(&public.digest, public.fuel_used, &copier, job, 0, &salt(copier));
		assert_ok!(Market::commit(RuntimeOrigin::signed(copier), job, 0, c));
		commit(fresh[1], job, 0, cid(1), 100);
		assert_ok!(Market::reveal(RuntimeOrigin::signed(copier), job, 0, public.digest, 100, salt(copier)));
		reveal(fresh[1], job, 0, cid(1), 100);
		next_block();
		// The copied digest is bound to round 0: it does not match the round-1 digest of the
		// same output, so the round has no quorum; with no room for another round the task
		// fails and nobody, the copier included, is paid.
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Failed);
		assert!(t.replicas.iter().all(|r| r.paid == 0));
		assert_eq!(Jobs::<Test>::get(job).unwrap().escrow.paid, 0);
		check_escrow();
	});
}

#[test]
fn attack_colluder_in_a_later_round_cannot_frame_the_honest_provider() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		let (honest, liar, fresh) = split_round_zero(job);
		let bond = pallet_gravity_providers::Providers::<Test>::get(honest).unwrap().bond;
		// The liar's accomplice in round 1 sides with the liar's output. Before sealed rounds,
		// liar + accomplice made a quorum of 2 and the honest provider was slashed.
		commit(fresh[0], job, 0, cid(2), 100);
		commit(fresh[1], job, 0, cid(1), 100);
		reveal(fresh[0], job, 0, cid(2), 100);
		reveal(fresh[1], job, 0, cid(1), 100);
		next_block();
		let t = Tasks::<Test>::get(job, 0).unwrap();
		// Round 1 alone decides: 1–1, no quorum, no room left: failed, nobody judged.
		assert_eq!(t.phase, TaskPhase::Failed);
		assert_eq!(pallet_gravity_providers::Providers::<Test>::get(honest).unwrap().bond, bond);
		let h = t.replicas.iter().find(|r| r.provider == honest).unwrap();
		assert_eq!((h.outcome, h.slashed), (Some(ReplicaOutcome::Released), 0));
		assert!(t.replicas.iter().all(|r| r.slashed == 0));
		let _ = liar;
		check_escrow();
	});
}

#[test]
fn delivery_is_checked_against_the_agreed_digest_and_size() {
	new_test_ext(3).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		assert_noop!(Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(1)), Error::<Test>::NotDeliveryPhase);
		agree(job, 0, cid(1), 100);
		assert!(matches!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Delivering { .. }));
		assert!(events().iter().any(|e| matches!(e, Event::TaskAgreed { round: 0, agreeing: 2, .. })));
		// Nothing is paid before the output is delivered.
		assert!(Tasks::<Test>::get(job, 0).unwrap().replicas.iter().all(|r| r.is_open() && r.paid == 0));
		assert_noop!(Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(2)), Error::<Test>::DeliveryMismatch);
		// The right hash with another size does not match either: the size is sealed too.
		let resized = ContentId { length: 5, ..cid(1) };
		assert_noop!(Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, resized), Error::<Test>::DeliveryMismatch);
		// The right output, stored: verified and paid, and the call is free.
		let info = Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(1)).unwrap();
		assert_eq!(info.pays_fee, frame_support::dispatch::Pays::No);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.phase, t.result), (TaskPhase::Verified, Some((cid(1), 100))));
		assert!(t.replicas.iter().all(|r| r.paid == 100 * PRICE));
		assert_noop!(Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(1)), Error::<Test>::JobNotActive);
		check_escrow();
	});
}

#[test]
fn an_output_is_delivered_by_naming_it_whatever_its_size_and_stays_off_chain() {
	new_test_ext(3).execute_with(|| {
		// 40 MiB of output: far over the on-chain blob limit, never stored on chain.
		let out = ContentId { root: [0x42; 32], length: 40 << 20 };
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		agree(job, 0, out, 100);
		deliver(job, 0, out);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.phase, t.result), (TaskPhase::Verified, Some((out, 100))));
		assert!(!pallet_gravity_content::Blobs::<Test>::contains_key(out));
		assert!(pallet_gravity_content::PinnedUntil::<Test>::get(out).is_none());
		assert!(events().iter().any(|e| matches!(e, Event::TaskVerified { output, .. } if *output == out)));
		check_escrow();
	});
}

#[test]
fn an_undelivered_agreement_fails_the_task_and_penalizes_the_agreeing() {
	new_test_ext(3).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		agree(job, 0, cid(1), 100);
		let TaskPhase::Delivering { until } = Tasks::<Test>::get(job, 0).unwrap().phase else { panic!() };
		run_to(until);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Failed);
		assert!(events().iter().any(|e| matches!(e, Event::TaskFailed { reason: FailReason::Undelivered, .. })));
		assert!(t.replicas.iter().all(|r| r.outcome == Some(ReplicaOutcome::NoShow) && r.paid == 0));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.escrow.paid), (JobStatus::Failed, 0));
		check_escrow();
	});
}

#[test]
fn no_quorum_within_max_replicas_fails_and_refunds() {
	new_test_ext(4).execute_with(|| {
		let issuance = Balances::total_issuance();
		// Two rounds split 1–1: no room for a third.
		let job = batch(1, policy(2, 4, 2));
		let (_, _, fresh) = split_round_zero(job);
		commit(fresh[0], job, 0, cid(1), 100);
		commit(fresh[1], job, 0, cid(2), 100);
		reveal(fresh[0], job, 0, cid(1), 100);
		reveal(fresh[1], job, 0, cid(2), 100);
		next_block();
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Failed);
		assert!(t.replicas.iter().all(|r| r.outcome == Some(ReplicaOutcome::Released)));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Failed);
		assert_eq!(j.escrow.paid, 0);
		assert_eq!(j.escrow.refunded, j.escrow.locked);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL);
		assert_eq!(Balances::total_issuance(), issuance);
		check_escrow();
	});
}

/// Task 0 of `job` (two replicas wanted): the first provider commits, the second never does
/// and is a no-show at block 7 (deadline 2 + 5). Returns the two providers.
fn one_commits_one_no_shows(job: JobId) -> Vec<AccountId> {
	run_to(2);
	let ps = open_providers(job, 0);
	commit(ps[0], job, 0, cid(1), 10);
	run_to(7);
	ps
}

/// After [`one_commits_one_no_shows`]: the replacement drawn at block 8 commits, both reveal
/// and the output is delivered. Returns the replacement.
fn replacement_finishes(job: JobId, committed: AccountId) -> AccountId {
	run_to(8);
	let now = open_providers(job, 0);
	assert_eq!(now.len(), 2);
	let new = *now.iter().find(|p| **p != committed).unwrap();
	commit(new, job, 0, cid(1), 10);
	reveal(committed, job, 0, cid(1), 10);
	reveal(new, job, 0, cid(1), 10);
	next_block();
	deliver(job, 0, cid(1));
	new
}

#[test]
fn commit_no_show_is_penalized_and_replaced() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		let ps = one_commits_one_no_shows(job);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		let lazy = t.replicas.iter().find(|r| r.provider == ps[1]).unwrap();
		assert_eq!(lazy.outcome, Some(ReplicaOutcome::NoShow));
		assert!(lazy.slashed > 0);
		assert_eq!(<Market as gravity_primitives::ProviderLoad<_>>::load(&ps[1]), 0);
		let new = replacement_finishes(job, ps[0]);
		assert_ne!(new, ps[1]);
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Verified);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		check_escrow();
	});
}

#[test]
fn reveal_no_show_is_penalized_at_the_reveal_deadline() {
	new_test_ext(3).execute_with(|| {
		let job = batch(1, policy(3, 3, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		for p in &ps {
			commit(*p, job, 0, cid(7), 50);
		}
		let TaskPhase::Revealing { until } = Tasks::<Test>::get(job, 0).unwrap().phase else {
			panic!("reveal phase expected")
		};
		reveal(ps[0], job, 0, cid(7), 50);
		reveal(ps[1], job, 0, cid(7), 50);
		run_to(until as u64);
		deliver(job, 0, cid(7));
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Verified);
		let silent = t.replicas.iter().find(|r| r.provider == ps[2]).unwrap();
		assert_eq!(silent.outcome, Some(ReplicaOutcome::NoShow));
		assert_eq!(silent.paid, 0);
		check_escrow();
	});
}

#[test]
fn map_reduce_schedules_reduce_from_verified_map_outputs() {
	new_test_ext(3).execute_with(|| {
		let kind = JobKind::MapReduce { reduce_program: cid(0xBB), reducers: 2 };
		let job = submit(kind, vec![cid(1), cid(2), cid(3)], policy(2, 4, 2));
		assert_eq!(Jobs::<Test>::get(job).unwrap().escrow.locked, 5 * (4 + 5) * CAP * PRICE);
		run_to(2);
		for t in 0..3 {
			honest_round(job, t, cid(0x20 + t as u8), 10);
		}
		// The last map delivery queued the reduce stage for the next block.
		assert_eq!(Jobs::<Test>::get(job).unwrap().stage, Stage::Map);
		next_block();
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.stage, Stage::Reduce);
		assert_eq!(j.tasks, 5);
		let outputs: BoundedVec<ContentId, ConstU32Max> =
			BoundedVec::truncate_from(vec![cid(0x20), cid(0x21), cid(0x22)]);
		let manifest = ContentId::of(&codec::Encode::encode(&outputs));
		assert_eq!(j.reduce_input, Some(manifest));
		for r in 0..2u32 {
			let t = Tasks::<Test>::get(job, 3 + r).unwrap();
			assert_eq!((t.stage, t.program, t.input, t.param), (Stage::Reduce, cid(0xBB), manifest, r));
		}
		honest_round(job, 3, cid(0x30), 5);
		honest_round(job, 4, cid(0x31), 5);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Completed);
		assert_eq!(Market::api_outputs(job)[4], Some((cid(0x31), 5)));
		check_escrow();
	});
}
type ConstU32Max = frame_support::traits::ConstU32<64>;

#[test]
fn render_job_splits_into_tiles() {
	new_test_ext(6).execute_with(|| {
		let kind = JobKind::Render { width: 64, height: 60, tile: 16, frames: 2 };
		let job = submit(kind, vec![cid(0x5C)], policy(2, 4, 2));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.tasks, 4 * 4 * 2);
		for i in 0..32u32 {
			let t = Tasks::<Test>::get(job, i).unwrap();
			assert_eq!((t.input, t.param), (cid(0x5C), i));
		}
		// 64 replicas, 50 assigned per block: all placed by block 3.
		run_to(3);
		// Every provider commits, then reveals, within one block.
		for i in 0..32 {
			for p in open_providers(job, i) {
				commit(p, job, i, cid(i as u8), 1);
			}
		}
		for i in 0..32 {
			for p in open_providers(job, i) {
				reveal(p, job, i, cid(i as u8), 1);
			}
		}
		next_block();
		deliver_all(job, |i| cid(i as u8));
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		check_escrow();
	});
}

#[test]
fn cancel_refunds_unspent_and_releases_providers() {
	new_test_ext(3).execute_with(|| {
		// Cancelled before any replica was assigned: it ends at once and everything comes back.
		let early = batch(1, policy(2, 4, 2));
		assert_noop!(Market::cancel_job(RuntimeOrigin::signed(OTHER), early), Error::<Test>::NotRequester);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), early));
		let j = Jobs::<Test>::get(early).unwrap();
		assert_eq!((j.status, j.escrow.paid, j.escrow.refunded), (JobStatus::Cancelled, 0, j.escrow.locked));
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL);
		assert!(!events().iter().any(|e| matches!(e, Event::JobEnding { .. })));
		assert_noop!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), early), Error::<Test>::JobNotActive);
		check_escrow();
		let job = batch(2, policy(2, 4, 2));
		run_to(2);
		// The cancelled job's queue entries were dropped: nobody got a replica of it.
		assert!(open_providers(early, 0).is_empty());
		honest_round(job, 0, cid(1), 100);
		// Task 1 is assigned, its providers at work, nothing sealed yet: the cancel waits for
		// them (`attack_free_results_cancel_before_commit_still_pays_the_work_in_progress`).
		let ps = open_providers(job, 1);
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), job));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.ending, j.committed_open, j.assigned_open), (JobStatus::Active, Some(JobStatus::Cancelled), 0, 2));
		assert!(events().contains(&Event::JobEnding { job, status: JobStatus::Cancelled, committed: 0, assigned: 2 }));
		honest_round(job, 1, cid(2), 100);
		// Every task ended verified: the job completed, though it was cancelled meanwhile.
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Completed);
		assert_eq!(j.escrow.paid, 4 * 100 * PRICE);
		assert_eq!(j.escrow.refunded, j.escrow.locked - j.escrow.paid);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL - j.escrow.paid);
		check_escrow();
		// Further work on the job is refused; loads are back to zero.
		assert_noop!(
			Market::commit(RuntimeOrigin::signed(ps[1]), job, 1, H256::zero()),
			Error::<Test>::JobNotActive
		);
		assert_noop!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), job), Error::<Test>::JobNotActive);
		for p in 1..=3u64 {
			assert_eq!(<Market as gravity_primitives::ProviderLoad<_>>::load(&p), 0);
		}
	});
}

#[test]
fn an_expired_job_whose_last_replicas_never_commit_ends_and_refunds_everything() {
	new_test_ext(4).execute_with(|| {
		// Deadline 10: the replicas assigned at 2 never commit (deadline 7); their replacements
		// are at work when the job expires at 10, so it is ending. They never commit either:
		// no-shows, with no room left under `max`: the task fails and the job ends.
		let job = submit_deadline(JobKind::Batch, vec![cid(1)], policy(2, 4, 2), 10);
		run_to(9);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Active);
		run_to(10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().ending, Some(JobStatus::Expired));
		run_to(30);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Failed);
		assert!(events().contains(&Event::TaskFailed { job, task: 0, reason: FailReason::NotEnoughReplicas }));
		assert_eq!((escrow_held(REQUESTER), deposit_held(REQUESTER)), (0, 0));
		// Everything back, and not a planck more: the no-show's slash went to the treasury.
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL);
		assert!(Balances::free_balance(TREASURY) > 1);
		check_escrow();
		for p in 1..=4u64 {
			assert_eq!(<Market as gravity_primitives::ProviderLoad<_>>::load(&p), 0);
		}
	});
}

#[test]
fn requirements_filter_providers() {
	new_test_ext(3).execute_with(|| {
		let req = Requirements { gpu: true, ..any_req() };
		let go = || {
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, JobKind::Batch, vec![cid(2)], req.clone(), policy(2, 4, 2), 1, 1, 100))
		};
		// Nobody has a GPU yet: refused, not queued for good.
		assert_noop!(go(), Error::<Test>::NoEligibleProvider);
		let mut g = caps();
		g.gpu_model = b"rtx".to_vec().try_into().unwrap();
		for p in [9, 10] {
			assert_ok!(pallet_gravity_providers::Pallet::<Test>::register(RuntimeOrigin::signed(p), g.clone(), 10_000));
		}
		assert_ok!(go());
		run_to(4);
		let mut got = open_providers(0, 0);
		got.sort();
		assert_eq!(got, vec![9, 10], "only the GPU providers");
	});
}

/// Give provider `p` a record of `n` full units of work paid by others.
fn build_trust(p: AccountId, n: u32) {
	for _ in 0..n {
		<Providers as ProviderRegistry<_, _>>::record_outcome(&p, gravity_primitives::Outcome::Agreed, Perbill::one());
	}
}

/// A cheap adaptive job: 1 task, value 10 (price 1 × fuel cap 10).
fn cheap_adaptive_job() -> JobId {
	let id = NextJobId::<Test>::get();
	let r = ReplicationPolicy { initial: 2, max: 4, quorum: 2, adaptive: true };
	assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, 1, 10, 200)));
	id
}

/// Provider 1, trusted (the only provider yet), holds the only replica of a cheap adaptive job,
/// its solo run or spot check still to be drawn; providers 2..=`last` join only then. Returns
/// the job.
fn solo_job_then_providers(last: AccountId) -> JobId {
	set_spot_check_rate(Perbill::from_percent(10));
	build_trust(1, 30);
	let job = cheap_adaptive_job();
	run_to(2);
	assert_eq!(open_providers(job, 0), vec![1]);
	for p in 2..=last {
		assert_ok!(pallet_gravity_providers::Pallet::<Test>::register(RuntimeOrigin::signed(p), caps(), 10_000));
	}
	job
}

#[test]
fn attack_after_a_solo_replica_withholds_its_reveal_no_untrusted_replica_decides_alone() {
	new_test_ext(1).execute_with(|| {
		let job = solo_job_then_providers(4);
		commit(1, job, 0, cid(1), 10);
		// Drawn solo.
		set_spot_check_rate(Perbill::zero());
		next_block();
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.round, t.quorum, t.check_pending), (0, 1, false));
		// The solo replica never reveals: a no-show, and a fresh round at the policy's quorum
		// (2), not one untrusted replica deciding alone.
		for _ in 0..20 {
			if Tasks::<Test>::get(job, 0).unwrap().round == 1 {
				break
			}
			next_block();
		}
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.round, t.quorum), (1, 2));
		for _ in 0..4 {
			if open_providers(job, 0).len() == 2 {
				break
			}
			next_block();
		}
		let checkers = open_providers(job, 0);
		assert_eq!(checkers.len(), 2);
		assert!(!checkers.contains(&1));
		// One of them alone cannot verify it.
		commit(checkers[0], job, 0, cid(9), 10);
		commit(checkers[1], job, 0, cid(1), 10);
		reveal(checkers[0], job, 0, cid(9), 10);
		reveal(checkers[1], job, 0, cid(1), 10);
		for _ in 0..10 {
			next_block();
		}
		assert!(!matches!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Delivering { .. } | TaskPhase::Verified));
		assert!(!events().iter().any(|e| matches!(e, Event::TaskAgreed { .. })));
	});
}

#[test]
fn adaptive_replication_trusts_reputed_providers_with_spot_checks() {
	new_test_ext(3).execute_with(|| {
		set_spot_check_rate(Perbill::from_percent(10));
		build_trust(1, 30);
		let job = cheap_adaptive_job();
		run_to(2);
		// Providers 2 and 3 have no record: whichever is drawn first, provider 1 alone may run
		// it solo.
		let t = Tasks::<Test>::get(job, 0).unwrap();
		if open_providers(job, 0) == vec![1] {
			assert!(t.check_pending && !t.trusted);
			assert_eq!((t.wanted, t.quorum), (1, 1));
			honest_round(job, 0, cid(1), 10);
			let t = Tasks::<Test>::get(job, 0).unwrap();
			let solo = events().iter().find_map(|e| match e { Event::ReplicationDecided { solo, .. } => Some(*solo), _ => None }).unwrap();
			assert_eq!(t.trusted, solo);
			if !solo {
				honest_round(job, 0, cid(1), 10);
			}
			assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		} else {
			assert!(!t.check_pending);
			assert_eq!((t.wanted, t.quorum), (2, 2));
		}
		check_escrow();
	});
}

#[test]
fn attack_a_provider_cannot_tell_solo_from_spot_check_before_it_commits() {
	for (rate, solo) in [(Perbill::zero(), true), (Perbill::one(), false)] {
		new_test_ext(3).execute_with(|| {
			set_spot_check_rate(rate);
			for p in 1..=3 {
				build_trust(p, 30);
			}
			// With p = 0 the inequality allows no solo run at all; compare the two worlds with a
			// provider whose stake covers the task either way.
			set_spot_check_rate(Perbill::from_percent(10));
			let job = cheap_adaptive_job();
			run_to(2);
			set_spot_check_rate(rate);
			let t = Tasks::<Test>::get(job, 0).unwrap();
			let p = open_providers(job, 0)[0];
			// What the provider can see before committing is the same in both worlds.
			assert_eq!((t.wanted, t.quorum, t.trusted, t.check_pending), (1, 1, false, true));
			assert!(!events().iter().any(|e| matches!(e, Event::ReplicationDecided { .. })));
			commit(p, job, 0, cid(1), 10);
			// Still undecided in the block of the commit; drawn in the next one.
			assert!(Tasks::<Test>::get(job, 0).unwrap().check_pending);
			next_block();
			let t = Tasks::<Test>::get(job, 0).unwrap();
			assert!(!t.check_pending);
			assert!(events().iter().any(|e| matches!(e, Event::ReplicationDecided { solo: s, .. } if *s == solo)));
			if solo {
				assert!(t.trusted);
				assert!(matches!(t.phase, TaskPhase::Revealing { .. }));
			} else {
				// The spot check: a round of `quorum` (2) checkers that must agree without it.
				assert_eq!((t.wanted, t.quorum, t.trusted, t.round), (3, 2, false, 1));
				assert_eq!(open_providers(job, 0).len(), 3);
			}
		});
	}
}

#[test]
fn the_cheating_inequality_holds_at_every_price() {
	new_test_ext(1).execute_with(|| {
		set_spot_check_rate(Perbill::from_percent(10));
		build_trust(1, 30);
		let p = Perbill::from_percent(10);
		let bond = pallet_gravity_providers::Providers::<Test>::get(1).unwrap().bond;
		let stake = Configuration::<Test>::get().slash_fraction.mul_floor(bond);
		let mut solo_seen = 0;
		for price in [1u64, 2, 5, 9, 10, 11, 50, 1_000, 1_000_000] {
			let job = NextJobId::<Test>::get();
			let r = ReplicationPolicy { initial: 2, max: 4, quorum: 2, adaptive: true };
			assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, price, 10, 500)));
			let value = price * 10;
			let alone = Market::may_run_alone(&Jobs::<Test>::get(job).unwrap(), &1);
			assert_eq!(alone, value <= p.mul_floor(stake), "price {price}");
			if alone {
				solo_seen += 1;
				// Expected payoff of skipping the work, (1-p)V - pS, is below honest work's,
				// V - c, for every honest cost c up to V (all in units of 1/10 to stay exact).
				for c in [0, value / 2, value] {
					let cheat = 9 * value as i128 - (stake as i128);
					let honest = 10 * (value as i128 - c as i128);
					assert!(cheat < honest, "price {price} cost {c}: cheating pays");
				}
			}
		}
		assert!(solo_seen >= 3, "cheap tasks do run alone");
	});
}

#[test]
fn attack_reputation_from_own_jobs_and_free_results_earns_no_trust() {
	new_test_ext(2).execute_with(|| {
		// Provider 1 submits jobs to itself: paid work, but paid by itself.
		for _ in 0..3 {
			let job = NextJobId::<Test>::get();
			assert_ok!(Market::submit_job(RuntimeOrigin::signed(1), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), policy(2, 4, 2), PRICE, CAP, 200)));
			next_block();
			honest_round(job, 0, cid(1), CAP);
			assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		}
		assert_eq!(<Providers as ProviderRegistry<_, _>>::lifetime_successes(&1), 0);
		assert_eq!(<Providers as ProviderRegistry<_, _>>::reputation(&1), Perbill::from_percent(50));
		// Someone else's job with a constant fuel-0 result (an invalid program): agreed, paid
		// nothing, trusted nothing.
		let job = batch(1, policy(2, 4, 2));
		next_block();
		honest_round(job, 0, cid(0x66), 0);
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Verified);
		assert_eq!(<Providers as ProviderRegistry<_, _>>::reputation(&1), Perbill::from_percent(50));
		// Real work for someone else counts, in proportion to its value (3_000 = one unit).
		let job = batch(1, policy(2, 4, 2));
		next_block();
		honest_round(job, 0, cid(1), CAP);
		assert_eq!(<Providers as ProviderRegistry<_, _>>::lifetime_successes(&1), 1);
		assert!(<Providers as ProviderRegistry<_, _>>::reputation(&1) > Perbill::from_percent(50));
	});
}

#[test]
fn the_protocol_fee_goes_to_the_treasury_and_money_is_conserved() {
	new_test_ext(2).execute_with(|| {
		set_protocol_fee(Perbill::from_percent(5));
		let issuance = Balances::total_issuance();
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		let before: Vec<_> = ps.iter().map(|p| Balances::free_balance(p)).collect();
		honest_round(job, 0, cid(1), 100);
		let value = 100 * PRICE;
		let fee = value * 5 / 100;
		for (p, b) in ps.iter().zip(before) {
			assert_eq!(Balances::free_balance(p), b + value - fee);
		}
		assert_eq!(Balances::free_balance(TREASURY), 1 + 2 * fee);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.escrow.paid, 2 * value);
		assert!(events().iter().any(|e| matches!(e, Event::ProviderPaid { amount, fee: f, .. } if *amount == value - fee && *f == fee)));
		assert_eq!(Balances::total_issuance(), issuance);
		check_escrow();
	});
}

#[test]
fn the_program_is_named_by_hash_and_size_and_the_source_is_recorded() {
	new_test_ext(1).execute_with(|| {
		let go = |program: ContentId, source: Option<Vec<u8>>| {
			Market::submit_job(
				RuntimeOrigin::signed(REQUESTER), job_spec(program,
				source.map(BoundedVec::truncate_from),
				JobKind::Batch,
				vec![cid(1)],
				any_req(),
				policy(2, 4, 2),
				PRICE,
				CAP,
				200))
		};
		// The stored program's hash with another size is another id: not on chain.
		let wrong_size = ContentId { length: PROGRAM_SIZE + 1, ..cid(0xAA) };
		assert_noop!(go(wrong_size, None), Error::<Test>::ContentMissing);
		assert_noop!(go(cid(0xAA), Some(vec![])), Error::<Test>::EmptySource);
		let job = NextJobId::<Test>::get();
		assert_ok!(go(cid(0xAA), Some(b"peer".to_vec())));
		assert_eq!(Jobs::<Test>::get(job).unwrap().source.unwrap().into_inner(), b"peer".to_vec());
	});
}

#[test]
fn on_initialize_stays_within_its_share_and_carries_the_rest_over() {
	new_test_ext(5).execute_with(|| {
		use frame_support::traits::Hooks;
		// 30 one-task jobs, 2 replicas each: their commit deadlines in blocks 7 and 8 (50
		// assignments a block; one entry per task and block), nobody commits.
		let jobs: Vec<JobId> = (0..30).map(|_| batch(1, policy(2, 4, 2))).collect();
		run_to(3);
		assert_eq!(DeadlineAt::<Test>::iter_prefix(7).count() + DeadlineAt::<Test>::iter_prefix(8).count(), 30, "one entry per task and block (two replicas, one deadline)");
		// A share that holds about ten task deadlines.
		let max = <<Test as frame_system::Config>::BlockWeights as frame_support::traits::Get<frame_system::limits::BlockWeights>>::get().max_block;
		let ten = <() as WeightInfo>::tick_task_deadline().ref_time() * 10 + <() as WeightInfo>::tick_base().ref_time();
		TickShare::set(Perbill::from_rational(ten, max.ref_time()));
		let limit = Market::tick_limit();
		run_to(6);
		let mut blocks = 0;
		let mut heaviest = Weight::zero();
		loop {
			let b = System::block_number() + 1;
			System::set_block_number(b);
			let used = Market::on_initialize(b);
			heaviest = heaviest.max(used);
			assert!(used.all_lte(limit), "on_initialize used {used:?} of {limit:?} at block {b}");
			blocks += 1;
			if b >= 8 && IncompleteSince::<Test>::get().is_none() {
				break
			}
			if b >= 7 {
				assert!(IncompleteSince::<Test>::get().is_some(), "the rest waits for the next block");
			}
			assert!(blocks < 20, "the backlog must shrink");
		}
		// 30 deadlines, one per task (the two replicas' deadlines are one entry): each penalizes
		// both no-shows (charged in full, about ten a block). So about three blocks of work,
		// none lost.
		assert!((3..=5).contains(&blocks), "{blocks} blocks from block 7");
		assert_eq!(DeadlineAt::<Test>::iter_prefix(7).count() + DeadlineAt::<Test>::iter_prefix(8).count(), 0, "every entry taken");
		for job in jobs {
			// Both no-shows penalized (their replacements come after).
			let t = Tasks::<Test>::get(job, 0).unwrap();
			assert!(t.replicas.iter().take(2).all(|r| r.outcome == Some(ReplicaOutcome::NoShow)), "{t:?}");
		}
		assert!(heaviest.ref_time() > limit.ref_time() / 2, "the share was used");
		check_escrow();
	});
}

#[test]
fn each_deadline_is_charged_by_what_it_did() {
	use crate::tick_impls::DeadlineWork;
	new_test_ext(3).execute_with(|| {
		set_spot_check_rate(Perbill::from_percent(10));
		build_trust(1, 30);
		build_trust(2, 30);
		build_trust(3, 30);
		let job = cheap_adaptive_job();
		let plain = batch(2, policy(2, 4, 2));
		run_to(2);
		// A solo candidate committed: the next block draws solo or spot check.
		let p = open_providers(job, 0)[0];
		commit(p, job, 0, cid(1), 10);
		let now = System::block_number() + 1;
		System::set_block_number(now);
		assert!(matches!(Market::task_deadline(job, 0, now), DeadlineWork::Decided { .. }));
		// Nothing left to do at the same deadline again.
		assert_eq!(Market::task_deadline(job, 0, now), DeadlineWork::Idle);
		// A round whose replicas all revealed the same result: settled, waiting for delivery.
		let ps = open_providers(plain, 0);
		for q in &ps {
			commit(*q, plain, 0, cid(2), 10);
		}
		for q in &ps {
			reveal(*q, plain, 0, cid(2), 10);
		}
		let TaskPhase::Revealing { until } = Tasks::<Test>::get(plain, 0).unwrap().phase else { panic!() };
		System::set_block_number(until);
		assert_eq!(Market::task_deadline(plain, 0, until), DeadlineWork::Settled);
		// A round with a reveal no-show is penalized: the heavy kind.
		let ps = open_providers(plain, 1);
		for q in &ps {
			commit(*q, plain, 1, cid(3), 10);
		}
		reveal(ps[0], plain, 1, cid(3), 10);
		let TaskPhase::Revealing { until } = Tasks::<Test>::get(plain, 1).unwrap().phase else { panic!() };
		System::set_block_number(until);
		assert_eq!(Market::task_deadline(plain, 1, until), DeadlineWork::Heavy);
		// An agreement nobody delivers: heavy.
		let TaskPhase::Delivering { until } = Tasks::<Test>::get(plain, 0).unwrap().phase else { panic!() };
		System::set_block_number(until);
		assert_eq!(Market::task_deadline(plain, 0, until), DeadlineWork::Heavy);
		assert_eq!(Tasks::<Test>::get(plain, 0).unwrap().phase, TaskPhase::Failed);
	});
}

#[test]
fn a_deadline_is_never_lost_however_many_fall_in_one_block() {
	new_test_ext(3).execute_with(|| {
		// 64 blocks of 64 deadlines each (what the old per-block lists held), all before and
		// at the commit deadline the job's replicas will get: the old slot search gave up here
		// with a log line, and the task never ended.
		for b in 2..=80u64 {
			for k in 0..64u32 {
				Market::push_deadline(b, 999, k);
			}
		}
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		let deadline = t.replicas[0].commit_deadline;
		assert_eq!(deadline, 2 + 5, "recorded at its own block, not searched for");
		assert!(DeadlineAt::<Test>::contains_key(deadline, (job, 0)));
		// Nobody commits: the deadline comes, the no-shows are penalized, the task ends.
		run_to(deadline + 2);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert!(t.replicas.iter().take(2).all(|r| r.outcome == Some(ReplicaOutcome::NoShow)), "{t:?}");
		assert!(!matches!(t.phase, TaskPhase::Committing) || t.replicas.iter().all(|r| !r.is_open()));
		check_escrow();
	});
}

#[test]
fn a_unit_heavier_than_the_share_still_runs_one_per_block() {
	new_test_ext(3).execute_with(|| {
		use frame_support::traits::Hooks;
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		// A share too small for any unit of work: the backlog still moves, one unit a block.
		TickShare::set(Perbill::from_parts(1));
		run_to(6);
		System::set_block_number(7);
		Market::on_initialize(7);
		System::set_block_number(8);
		Market::on_initialize(8);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert!(t.replicas.iter().take(2).all(|r| r.outcome == Some(ReplicaOutcome::NoShow)), "{t:?}");
	});
}

#[test]
fn bad_submissions_are_named_errors_without_state_change() {
	new_test_ext(1).execute_with(|| {
		let go = |kind: JobKind, inputs: Vec<ContentId>, r: ReplicationPolicy, price: Balance, cap: u64, deadline: u64| {
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, kind, inputs, any_req(), r, price, cap, deadline))
		};
		let ok = policy(3, 3, 2);
		assert_noop!(go(JobKind::Batch, vec![], ok, 1, 1, 100), Error::<Test>::NoTasks);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], policy(2, 3, 2), 1, 1, 100), Error::<Test>::FragileReplication);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], policy(2, 3, 3), 1, 1, 100), Error::<Test>::QuorumExceedsReplicas);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], policy(2, 6, 2), 1, 1, 100), Error::<Test>::InvalidReplication);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], policy(0, 3, 0), 1, 1, 100), Error::<Test>::InvalidReplication);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], ok, Balance::MAX, u64::MAX, 100), Error::<Test>::BudgetOverflow);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], ok, 1, 1, 1), Error::<Test>::DeadlineInPast);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], ok, 0, 1, 100), Error::<Test>::ZeroPrice);
		assert_noop!(go(JobKind::Batch, vec![cid(1); 65], ok, 1, 1, 100), Error::<Test>::TooManyInputs);
		assert_noop!(go(JobKind::Batch, vec![cid(1)], ok, INITIAL, 1, 100), Error::<Test>::InsufficientBalance);
		let render = JobKind::Render { width: 0, height: 10, tile: 4, frames: 1 };
		assert_noop!(go(render, vec![cid(1)], ok, 1, 1, 100), Error::<Test>::InvalidJobKind);
		let render = JobKind::Render { width: 1000, height: 1000, tile: 10, frames: 1 };
		assert_noop!(go(render, vec![cid(1)], ok, 1, 1, 100), Error::<Test>::TooManyTasks);
		let render = JobKind::Render { width: 10, height: 10, tile: 10, frames: 1 };
		assert_noop!(go(render, vec![cid(1), cid(2)], ok, 1, 1, 100), Error::<Test>::TooManyInputs);
		let mr = JobKind::MapReduce { reduce_program: cid(1), reducers: 0 };
		assert_noop!(go(mr, vec![cid(1)], ok, 1, 1, 100), Error::<Test>::InvalidJobKind);
		assert_noop!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), 9), Error::<Test>::UnknownJob);
	});
}

#[test]
fn bad_commits_and_reveals_are_named_errors_without_state_change() {
	new_test_ext(3).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		let outsider = (1..=3).find(|p| !ps.contains(p)).unwrap();
		let c = commitment_of(&digest(ps[0], job, 0, cid(1), 5), 5, &ps[0], job, 0, &salt(ps[0]));
		assert_noop!(Market::commit(RuntimeOrigin::signed(9), job, 0, c), Error::<Test>::NotProvider);
		assert_noop!(Market::commit(RuntimeOrigin::signed(outsider), job, 0, c), Error::<Test>::NotAssigned);
		assert_noop!(Market::commit(RuntimeOrigin::signed(ps[0]), 7, 0, c), Error::<Test>::UnknownJob);
		assert_noop!(Market::commit(RuntimeOrigin::signed(ps[0]), job, 5, c), Error::<Test>::UnknownTask);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(ps[0]), job, 0, digest(ps[0], job, 0, cid(1), 5), 5, salt(ps[0])),
			Error::<Test>::NotRevealPhase
		);
		assert_ok!(Market::commit(RuntimeOrigin::signed(ps[0]), job, 0, c));
		assert_noop!(Market::commit(RuntimeOrigin::signed(ps[0]), job, 0, c), Error::<Test>::AlreadyCommitted);
		commit(ps[1], job, 0, cid(1), 5);
		// Reveal phase now.
		assert_noop!(Market::commit(RuntimeOrigin::signed(ps[1]), job, 0, c), Error::<Test>::NotCommitPhase);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(ps[0]), job, 0, digest(ps[0], job, 0, cid(2), 5), 5, salt(ps[0])),
			Error::<Test>::RevealMismatch
		);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(ps[0]), job, 0, H256(cid(1).root), 5, [9; 32]),
			Error::<Test>::RevealMismatch
		);
		// Another provider's commitment cannot be reused.
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(ps[1]), job, 0, digest(ps[1], job, 0, cid(1), 5), 5, salt(ps[0])),
			Error::<Test>::RevealMismatch
		);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(outsider), job, 0, digest(outsider, job, 0, cid(1), 5), 5, salt(outsider)),
			Error::<Test>::NotAssigned
		);
		reveal(ps[0], job, 0, cid(1), 5);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(ps[0]), job, 0, digest(ps[0], job, 0, cid(1), 5), 5, salt(ps[0])),
			Error::<Test>::AlreadyRevealed
		);
		// Past the reveal window.
		let TaskPhase::Revealing { until } = Tasks::<Test>::get(job, 0).unwrap().phase else { panic!() };
		System::set_block_number(until as u64 + 1);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(ps[1]), job, 0, digest(ps[1], job, 0, cid(1), 5), 5, salt(ps[1])),
			Error::<Test>::NotRevealPhase
		);
	});
}

#[test]
fn fuel_above_cap_is_rejected() {
	new_test_ext(2).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		let p = ps[0];
		commit(p, job, 0, cid(1), CAP + 1);
		commit(ps[1], job, 0, cid(1), 10);
		assert_noop!(
			Market::reveal(RuntimeOrigin::signed(p), job, 0, digest(p, job, 0, cid(1), CAP + 1), CAP + 1, salt(p)),
			Error::<Test>::FuelAboveCap
		);
	});
}

#[test]
fn provider_holding_tasks_cannot_deregister() {
	new_test_ext(2).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		assert_noop!(
			pallet_gravity_providers::Pallet::<Test>::deregister(RuntimeOrigin::signed(1)),
			pallet_gravity_providers::Error::<Test>::HasActiveTasks
		);
		honest_round(job, 0, cid(1), 1);
		assert_ok!(pallet_gravity_providers::Pallet::<Test>::deregister(RuntimeOrigin::signed(1)));
	});
}

#[test]
fn assignment_work_per_block_is_bounded() {
	new_test_ext(3).execute_with(|| {
		// 60 tasks × 2 replicas = 120 queue entries, 50 served per block.
		let job = batch(60, policy(2, 4, 2));
		run_to(2);
		let assigned = (0..60).map(|t| open_providers(job, t).len()).sum::<usize>();
		assert!(assigned <= 50, "more than MaxAssignmentsPerBlock in one block: {assigned}");
	});
}

#[test]
fn spare_entries_of_solo_tasks_do_not_use_up_the_assignments_of_a_block() {
	new_test_ext(6).execute_with(|| {
		set_spot_check_rate(Perbill::from_percent(10));
		for p in 1..=6 {
			build_trust(p, 30);
		}
		// 40 adaptive tasks of 2 initial replicas: 80 queue entries. Each first replica goes to
		// a trusted provider and runs alone, so each task's second entry is spare.
		let r = ReplicationPolicy { initial: 2, max: 4, quorum: 2, adaptive: true };
		let job = NextJobId::<Test>::get();
		assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, (0..40).map(cid).collect(), any_req(), r, 1, 10, 200)));
		assert_eq!(QueueTail::<Test>::get() - QueueHead::<Test>::get(), 80);
		run_to(2);
		// All 40 placed in one block (the cap is 50 placements), the spares let go.
		for t in 0..40 {
			let task = Tasks::<Test>::get(job, t).unwrap();
			assert_eq!((open_providers(job, t).len(), task.wanted, task.queued), (1, 1, 0), "task {t}");
		}
		assert_eq!(QueueHead::<Test>::get(), QueueTail::<Test>::get());
	});
}

// ---------------------------------------------------------------------------------------------
// Attacks on the market's economics: each test performs the attack and checks that it
// fails.
// ---------------------------------------------------------------------------------------------

fn bond(p: AccountId) -> Balance {
	pallet_gravity_providers::Providers::<Test>::get(p).unwrap().bond
}

fn reputation_of(p: AccountId) -> Perbill {
	<Providers as ProviderRegistry<_, _>>::reputation(&p)
}

#[test]
fn attack_bond_theft_no_show_slashes_go_to_the_treasury_never_the_requester() {
	new_test_ext(3).execute_with(|| {
		// A hostile requester's job that no provider can run: every replica is a no-show,
		// round after round, until the job's replicas are used up.
		let job = batch(2, policy(2, 5, 2));
		let bonds_before: Balance = (1..=3).map(bond).sum();
		run_to(80);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Failed);
		let slashed = bonds_before - (1..=3).map(bond).sum::<Balance>();
		assert!(slashed > 0, "the no-shows were slashed");
		let penalized: Balance = events()
			.iter()
			.filter_map(|e| if let Event::ProviderPenalized { slashed, .. } = e { Some(*slashed) } else { None })
			.sum();
		assert_eq!(penalized, slashed);
		assert_eq!(Balances::free_balance(TREASURY), 1 + slashed);
		// The requester ends with exactly what it had: nothing to gain from such jobs.
		assert_eq!(Balances::total_balance(&REQUESTER), INITIAL);
		check_escrow();
	});
}

#[test]
fn attack_bond_theft_missing_program_is_refused_at_submission() {
	new_test_ext(3).execute_with(|| {
		let missing = cid(MISSING_BYTE);
		let go = |program: ContentId, kind: JobKind, inputs: Vec<ContentId>| {
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(program, None, kind, inputs, any_req(), policy(2, 4, 2), PRICE, CAP, 100))
		};
		// Programs are read from the chain by every provider: they must be there.
		assert_noop!(go(missing, JobKind::Batch, vec![cid(1)]), Error::<Test>::ContentMissing);
		let mr = JobKind::MapReduce { reduce_program: missing, reducers: 1 };
		assert_noop!(go(cid(1), mr, vec![cid(1)]), Error::<Test>::ContentMissing);
		// Inputs live off chain: the chain cannot see them, so it does not refuse them. A
		// provider that cannot fetch one declines for free (`decline` tests).
		assert_ok!(go(cid(1), JobKind::Batch, vec![cid(1), missing]));
		let render = JobKind::Render { width: 8, height: 8, tile: 4, frames: 1 };
		assert_ok!(go(cid(1), render, vec![missing]));
	});
}

#[test]
fn attack_bond_theft_content_cannot_be_deleted_while_the_job_needs_it() {
	new_test_ext(3).execute_with(|| {
		assert_ok!(Content::put(RuntimeOrigin::signed(REQUESTER), BoundedVec::truncate_from(b"the program".to_vec())));
		let program = ContentId::of(b"the program");
		assert_ok!(Market::submit_job(
			RuntimeOrigin::signed(REQUESTER), job_spec(program,
			None,
			JobKind::Batch,
			vec![cid(1)],
			any_req(),
			policy(2, 4, 2),
			PRICE,
			CAP,
			100)));
		// Deleting the program after submitting (so that assigned providers become no-shows)
		// is refused while the job may still run: until its deadline plus one commit, one reveal
		// and one delivery window (and two blocks of settlement).
		assert_noop!(
			Content::remove(RuntimeOrigin::signed(REQUESTER), program),
			pallet_gravity_content::Error::<Test>::Pinned
		);
		let until = 100 + 5 + 3 + 3 + 2;
		assert_eq!(pallet_gravity_content::PinnedUntil::<Test>::get(program), Some(until));
		assert_eq!(pallet_gravity_content::PinnedUntil::<Test>::get(cid(1)), Some(until));
		run_to(until + 1);
		assert_ok!(Content::remove(RuntimeOrigin::signed(REQUESTER), program));
	});
}

#[test]
fn attack_bond_theft_unfinishable_fuel_cap_is_refused() {
	new_test_ext(3).execute_with(|| {
		let go = |cap: u64| {
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, JobKind::Batch, vec![cid(1)], any_req(), policy(2, 4, 2), 1, cap, 100))
		};
		assert_noop!(go(MAX_FUEL_CAP + 1), Error::<Test>::FuelCapTooHigh);
		assert_ok!(go(MAX_FUEL_CAP));
	});
}

#[test]
fn a_provider_declines_for_free_without_penalty_and_is_replaced() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		let outsider = (1..=4).find(|p| !ps.contains(p)).unwrap();
		let (b, r, free) = (bond(ps[1]), reputation_of(ps[1]), Balances::free_balance(ps[1]));
		assert_noop!(Market::decline(RuntimeOrigin::signed(outsider), job, 0), Error::<Test>::NotAssigned);
		commit(ps[0], job, 0, cid(1), 10);
		assert_noop!(Market::decline(RuntimeOrigin::signed(ps[0]), job, 0), Error::<Test>::AlreadyCommitted);
		let post = Market::decline(RuntimeOrigin::signed(ps[1]), job, 0).unwrap();
		assert_eq!(post.pays_fee, frame_support::dispatch::Pays::No);
		assert!(events().contains(&Event::ReplicaDeclined { job, task: 0, provider: ps[1] }));
		// Nothing lost: bond, reputation, balance; the replica is closed and its load gone.
		assert_eq!((bond(ps[1]), reputation_of(ps[1]), Balances::free_balance(ps[1])), (b, r, free));
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.replicas[1].outcome, Some(ReplicaOutcome::Declined));
		assert_eq!(t.queued, 1, "a replacement is queued");
		assert!(ProviderTasks::<Test>::get(ps[1]).open.is_empty());
		assert_noop!(Market::decline(RuntimeOrigin::signed(ps[1]), job, 0), Error::<Test>::NotAssigned);
		// The replacement is someone else and the task completes.
		next_block();
		let now = open_providers(job, 0);
		let new = *now.iter().find(|p| **p != ps[0]).unwrap();
		assert!(new != ps[1]);
		commit(new, job, 0, cid(1), 10);
		reveal(ps[0], job, 0, cid(1), 10);
		reveal(new, job, 0, cid(1), 10);
		next_block();
		deliver(job, 0, cid(1));
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		check_escrow();
	});
}

#[test]
fn declines_that_use_up_the_replicas_fail_the_task_and_the_requester_forfeits_its_deposit() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		// Every replica declines, replacements too, until the four of `max` are used up.
		for _ in 0..20 {
			next_block();
			for p in open_providers(job, 0) {
				// A decline that fails the task releases the replicas still open.
				if open_providers(job, 0).contains(&p) {
					assert_ok!(Market::decline(RuntimeOrigin::signed(p), job, 0));
				}
			}
			if Tasks::<Test>::get(job, 0).unwrap().phase != TaskPhase::Committing {
				break
			}
		}
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.replicas.len(), 4);
		assert!(t.replicas.iter().all(|r| matches!(r.outcome, Some(ReplicaOutcome::Declined | ReplicaOutcome::Released))));
		assert!(t.replicas.iter().filter(|r| r.outcome == Some(ReplicaOutcome::Declined)).count() >= 3);
		// Nobody could run it (no replica committed): the declines do not count against the
		// providers, and the requester forfeits the task's queue deposit to the treasury.
		assert!(!events().iter().any(|e| matches!(e, Event::DeclineCounted { .. })));
		assert!(events().contains(&Event::DepositForfeited { job, task: 0, amount: 2 * QUEUE_DEPOSIT }));
		assert_eq!(Balances::free_balance(TREASURY), 1 + 2 * QUEUE_DEPOSIT);
		for p in 1..=4 {
			assert_eq!(reputation_of(p), Perbill::from_percent(50));
		}
		assert_eq!(t.phase, TaskPhase::Failed);
		assert!(events().contains(&Event::TaskFailed { job, task: 0, reason: FailReason::NotEnoughReplicas }));
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Failed);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL - 2 * QUEUE_DEPOSIT);
		check_escrow();
	});
}

#[test]
fn valid_commits_and_reveals_are_free_and_invalid_ones_pay() {
	use frame_support::dispatch::Pays;
	new_test_ext(3).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		let outsider = (1..=3).find(|p| !ps.contains(p)).unwrap();
		for p in &ps {
			let c = commitment_of(&digest(*p, job, 0, cid(1), 10), 10, p, job, 0, &salt(*p));
			assert_eq!(Market::commit(RuntimeOrigin::signed(*p), job, 0, c).unwrap().pays_fee, Pays::No);
		}
		let bad = Market::commit(RuntimeOrigin::signed(outsider), job, 0, H256::zero()).unwrap_err();
		assert_eq!(bad.post_info.pays_fee, Pays::Yes);
		for p in &ps {
			let post = Market::reveal(RuntimeOrigin::signed(*p), job, 0, digest(*p, job, 0, cid(1), 10), 10, salt(*p)).unwrap();
			assert_eq!(post.pays_fee, Pays::No);
		}
		let bad = Market::reveal(RuntimeOrigin::signed(ps[0]), job, 0, digest(ps[0], job, 0, cid(1), 10), 10, salt(ps[0])).unwrap_err();
		assert_eq!(bad.post_info.pays_fee, Pays::Yes);
	});
}

/// The actions of provider `p` for every task of `job` where it holds an open replica.
fn actions_of(p: AccountId, job: JobId, tasks: u32, f: impl Fn(TaskIndex) -> ProviderAction) -> Vec<ProviderAction> {
	(0..tasks).filter(|t| open_providers(job, *t).contains(&p)).map(f).collect()
}

fn send_batch(p: AccountId, actions: Vec<ProviderAction>) -> frame_support::dispatch::PostDispatchInfo {
	Market::batch(RuntimeOrigin::signed(p), BoundedVec::truncate_from(actions)).unwrap()
}

#[test]
fn a_batch_commits_reveals_and_delivers_many_replicas_for_free() {
	use frame_support::dispatch::Pays;
	new_test_ext(4).execute_with(|| {
		let tasks = 6u32;
		let job = batch(tasks as u8, policy(2, 4, 2));
		run_to(2);
		let out = |t: TaskIndex| cid(0x40 + t as u8);
		for p in 1..=4u64 {
			let commits = actions_of(p, job, tasks, |t| ProviderAction::Commit {
				job,
				task: t,
				commitment: commitment_of(&digest(p, job, t, out(t), 10), 10, &p, job, t, &salt(p)),
			});
			if commits.is_empty() {
				continue
			}
			let n = commits.len() as u64;
			let post = send_batch(p, commits);
			assert_eq!(post.pays_fee, Pays::No);
			// Charged exactly its actions as single calls would be.
			let one = <() as WeightInfo>::commit().max(<() as WeightInfo>::commit_last());
			assert_eq!(post.actual_weight, Some(one.saturating_mul(n)));
		}
		for p in 1..=4u64 {
			let reveals = actions_of(p, job, tasks, |t| ProviderAction::Reveal {
				job,
				task: t,
				digest: digest(p, job, t, out(t), 10),
				fuel_used: 10,
				salt: salt(p),
			});
			if !reveals.is_empty() {
				assert_eq!(send_batch(p, reveals).pays_fee, Pays::No);
			}
		}
		next_block();
		let delivers: Vec<_> = (0..tasks).map(|t| ProviderAction::Deliver { job, task: t, output: out(t) }).collect();
		let post = send_batch(OTHER, delivers);
		assert_eq!(post.pays_fee, Pays::No);
		// Two replicas judged per task: refunded down from the declared `MaxReplicas`.
		assert_eq!(post.actual_weight, Some(<() as WeightInfo>::deliver(2).saturating_mul(tasks as u64)));
		for t in 0..tasks {
			let task = Tasks::<Test>::get(job, t).unwrap();
			assert_eq!(task.phase, TaskPhase::Verified);
			assert_eq!(task.result, Some((out(t), 10)));
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		let ev = events();
		assert_eq!(ev.iter().filter(|e| matches!(e, Event::Committed { .. })).count(), 2 * tasks as usize);
		assert_eq!(ev.iter().filter(|e| matches!(e, Event::Revealed { .. })).count(), 2 * tasks as usize);
		assert_eq!(ev.iter().filter(|e| matches!(e, Event::TaskVerified { .. })).count(), tasks as usize);
		assert!(!ev.iter().any(|e| matches!(e, Event::BatchActionFailed { .. })));
		check_escrow();
	});
}

#[test]
fn a_failed_batch_action_is_undone_alone_named_and_the_batch_pays() {
	use frame_support::dispatch::Pays;
	new_test_ext(3).execute_with(|| {
		let job = batch(2, policy(2, 4, 2));
		run_to(2);
		let p = open_providers(job, 0)[0];
		let c = |t| commitment_of(&digest(p, job, t, cid(1), 10), 10, &p, job, t, &salt(p));
		let mine = ProviderAction::Commit { job, task: 0, commitment: c(0) };
		// The second action is bad: a task of a job that does not exist.
		let bad = ProviderAction::Commit { job: 99, task: 0, commitment: c(0) };
		// The third repeats the first: already committed by then.
		let post = send_batch(p, vec![mine.clone(), bad, mine]);
		assert_eq!(post.pays_fee, Pays::Yes, "a batch with a failed action pays, as a failed call does");
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.replicas.iter().find(|r| r.provider == p).unwrap().commitment, Some(c(0)));
		let failed: Vec<_> = events()
			.into_iter()
			.filter_map(|e| match e {
				Event::BatchActionFailed { who, index, error } => Some((who, index, error)),
				_ => None,
			})
			.collect();
		assert_eq!(
			failed,
			vec![(p, 1, Error::<Test>::UnknownJob.into()), (p, 2, Error::<Test>::AlreadyCommitted.into())]
		);
		assert_eq!(events().iter().filter(|e| matches!(e, Event::Committed { .. })).count(), 1);
		// An empty batch is an error, not a free no-op.
		assert_noop!(Market::batch(RuntimeOrigin::signed(p), BoundedVec::default()), Error::<Test>::EmptyBatch);
		// A batch longer than `MaxBatchActions` does not decode as a call.
		let too_long: Vec<ProviderAction> = (0..17).map(|_| ProviderAction::Decline { job, task: 0 }).collect();
		let call = crate::Call::<Test>::batch { actions: BoundedVec::truncate_from(too_long.clone()) };
		let mut bytes = codec::Encode::encode(&call);
		// Re-encode with the full list in place of the truncated one.
		bytes.truncate(1);
		bytes.extend(codec::Encode::encode(&too_long));
		assert!(<crate::Call<Test> as codec::Decode>::decode(&mut &bytes[..]).is_err());
	});
}

#[test]
fn attack_queue_blocking_jobs_nobody_can_serve_are_refused() {
	new_test_ext(3).execute_with(|| {
		let go = |req: Requirements| {
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, JobKind::Batch, vec![cid(1)], req, policy(2, 4, 2), 1, 1, 100))
		};
		assert_noop!(go(Requirements { min_reputation: Perbill::one(), ..any_req() }), Error::<Test>::RequiredReputationTooHigh);
		assert_noop!(go(Requirements { arch: gravity_primitives::Arch::Aarch64, ..any_req() }), Error::<Test>::NoEligibleProvider);
		assert_noop!(go(Requirements { min_memory_mib: 1 << 30, ..any_req() }), Error::<Test>::NoEligibleProvider);
		assert_ok!(go(Requirements { min_reputation: Perbill::from_percent(95), ..any_req() }));
	});
}

#[test]
fn attack_queue_blocking_unplaceable_replicas_fail_refund_and_free_the_queue() {
	new_test_ext(3).execute_with(|| {
		// The attacker registers the only provider of a class, fills the queue with jobs only
		// that provider matches, then takes it offline: nothing can be placed.
		const SHILL: AccountId = 20;
		let mut arm = caps();
		arm.arch = gravity_primitives::Arch::Aarch64;
		assert_ok!(pallet_gravity_providers::Pallet::<Test>::register(RuntimeOrigin::signed(SHILL), arm, 10_000));
		let req = Requirements { arch: gravity_primitives::Arch::Aarch64, ..any_req() };
		let inputs: Vec<ContentId> = (0..64).map(cid).collect();
		let free_before = Balances::free_balance(OTHER);
		let mut jobs = vec![];
		for _ in 0..3 {
			jobs.push(NextJobId::<Test>::get());
			assert_ok!(Market::submit_job(RuntimeOrigin::signed(OTHER), job_spec(cid(1), None, JobKind::Batch, inputs.clone(), req.clone(), policy(5, 5, 4), 1, 1, 1_000)));
		}
		// 960 of the 1,000 queue places, paid for with a deposit per queued replica.
		assert_eq!(deposit_held(OTHER), 960 * QUEUE_DEPOSIT);
		assert_ok!(pallet_gravity_providers::Pallet::<Test>::go_offline(RuntimeOrigin::signed(SHILL)));
		let honest = || Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, JobKind::Batch, inputs.clone(), any_req(), policy(2, 4, 2), 1, 1, 1_000));
		assert_noop!(honest(), Error::<Test>::QueueFull);
		// Each task fails after `max_deferrals` (3) fruitless tries of its entries: the first pass
		// over the queue fails every task (2 of its 5 entries are re-queued), the second drops
		// the re-queued entries: (960 + 2 × 192) entries at 50 per block.
		run_to(2 + (960 + 2 * 192) / 50 + 1);
		for job in &jobs {
			let j = Jobs::<Test>::get(job).unwrap();
			assert_eq!(j.status, JobStatus::Failed);
			assert_eq!(j.failed, 64);
			for t in 0..64 {
				assert_eq!(Tasks::<Test>::get(job, t).unwrap().phase, TaskPhase::Failed);
			}
		}
		assert!(events().iter().filter(|e| matches!(e, Event::TaskFailed { reason: FailReason::Unplaceable, .. })).count() == 192);
		assert_eq!(QueueHead::<Test>::get(), QueueTail::<Test>::get(), "the queue is empty again");
		// Refunded in full, deposit included: the attack cost capital for its duration only.
		assert_eq!((escrow_held(OTHER), deposit_held(OTHER)), (0, 0));
		assert_eq!(Balances::free_balance(OTHER), free_before);
		assert_ok!(honest());
		check_escrow();
	});
}

#[test]
fn a_saturated_market_defers_without_failing_tasks() {
	new_test_ext(2).execute_with(|| {
		// Two providers that run 16 tasks each: 16 tasks take both, the other 4 wait, block
		// after block.
		let job = batch(20, policy(2, 4, 2));
		run_to(6);
		let waiting: Vec<TaskIndex> = (0..20).filter(|t| open_providers(job, *t).is_empty()).collect();
		assert_eq!(waiting.len(), 4);
		assert!(events().iter().filter(|e| matches!(e, Event::AssignmentDeferred { .. })).count() >= 4 * 4);
		for t in waiting {
			let task = Tasks::<Test>::get(job, t).unwrap();
			assert_eq!((task.phase, task.deferrals), (TaskPhase::Committing, 0), "busy is not unplaceable");
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Active);
	});
}

#[test]
fn attack_free_results_cancel_after_commit_still_pays_the_committed_work() {
	new_test_ext(3).execute_with(|| {
		let job = batch(3, policy(2, 4, 2));
		run_to(2);
		let (p0, p1) = (open_providers(job, 0), open_providers(job, 1));
		// Task 0: both replicas sealed; task 1: one did; task 2: none.
		commit(p0[0], job, 0, cid(1), 100);
		commit(p0[1], job, 0, cid(1), 100);
		commit(p1[0], job, 1, cid(2), 200);
		// The requester cancels as soon as the reveal phase opens, to read outputs for free.
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), job));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.ending, j.committed_open, j.assigned_open), (JobStatus::Active, Some(JobStatus::Cancelled), 3, 3));
		assert!(events().contains(&Event::JobEnding { job, status: JobStatus::Cancelled, committed: 3, assigned: 3 }));
		assert_noop!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), job), Error::<Test>::JobNotActive);
		// Task 2's providers are at work (`attack_free_results_cancel_before_commit_*`); here they
		// give up (a decline is free) and the task, with no open replica left, is abandoned.
		for p in open_providers(job, 2) {
			assert_ok!(Market::decline(RuntimeOrigin::signed(p), job, 2));
		}
		assert_eq!(Tasks::<Test>::get(job, 2).unwrap().phase, TaskPhase::Abandoned);
		// Task 0 settles and pays as usual; task 1's other replica may still commit.
		reveal(p0[0], job, 0, cid(1), 100);
		reveal(p0[1], job, 0, cid(1), 100);
		commit(p1[1], job, 1, cid(2), 200);
		reveal(p1[0], job, 1, cid(2), 200);
		reveal(p1[1], job, 1, cid(2), 200);
		next_block();
		// The ending job still takes the deliveries of its sealed work.
		deliver_all(job, |t| cid(t as u8 + 1));
		for (t, fuel) in [(0u32, 100u64), (1, 200)] {
			let task = Tasks::<Test>::get(job, t).unwrap();
			assert_eq!(task.phase, TaskPhase::Verified);
			for r in task.replicas.iter() {
				assert_eq!((r.outcome, r.paid), (Some(ReplicaOutcome::Agreed), fuel as Balance * PRICE));
			}
		}
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Cancelled);
		assert_eq!(j.escrow.paid, (2 * 100 + 2 * 200) * PRICE);
		run_to(10);
		let t2 = Tasks::<Test>::get(job, 2).unwrap();
		assert_eq!(t2.phase, TaskPhase::Abandoned);
		assert!(t2.replicas.iter().all(|r| r.outcome == Some(ReplicaOutcome::Declined) && r.slashed == 0));
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL - j.escrow.paid);
		check_escrow();
	});
}

/// A requester cancels while providers are computing, before anyone committed (or
/// lets the deadline pass then). Until 2026-12-05 the job ended at once and their work went
/// unpaid; now every replica assigned before the cancel may still commit in its window and is
/// settled and paid as usual, and the tasks nobody was working on are abandoned.
#[test]
fn attack_free_results_cancel_before_commit_still_pays_the_work_in_progress() {
	new_test_ext(4).execute_with(|| {
		let job = batch(2, policy(2, 4, 2));
		run_to(2);
		let (a, b) = (open_providers(job, 0), open_providers(job, 1));
		assert_eq!((a.len(), b.len()), (2, 2));
		// Nothing is sealed; the requester cancels.
		assert_ok!(Market::cancel_job(RuntimeOrigin::signed(REQUESTER), job));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.committed_open, j.assigned_open), (JobStatus::Active, 0, 4));
		// Task 0's providers finish within their window: committed, revealed, delivered, paid.
		run_to(4);
		honest_round(job, 0, cid(1), 300);
		let t0 = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t0.phase, TaskPhase::Verified);
		assert!(t0.replicas.iter().all(|r| r.outcome == Some(ReplicaOutcome::Agreed) && r.paid == 300 * PRICE));
		// Task 1: one provider commits, the other lets its deadline pass: a no-show like any
		// other (it could have committed or declined for free), replaced, and the task settles.
		commit(b[0], job, 1, cid(2), 200);
		run_to(7);
		let t1 = Tasks::<Test>::get(job, 1).unwrap();
		assert_eq!(t1.replicas.iter().find(|r| r.provider == b[1]).unwrap().outcome, Some(ReplicaOutcome::NoShow));
		for _ in 0..10 {
			if open_providers(job, 1).len() == 2 {
				break
			}
			next_block();
		}
		honest_round(job, 1, cid(2), 200);
		let t1 = Tasks::<Test>::get(job, 1).unwrap();
		assert_eq!(t1.phase, TaskPhase::Verified);
		assert_eq!(t1.replicas.iter().find(|r| r.provider == b[0]).unwrap().paid, 200 * PRICE);
		// Every task ended verified: the job completed, though it was cancelled meanwhile.
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.status, JobStatus::Completed);
		assert_eq!(j.escrow.paid, (2 * 300 + 2 * 200) * PRICE);
		assert_eq!((j.committed_open, j.assigned_open), (0, 0));
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL - j.escrow.paid);
		check_escrow();
	});
}

#[test]
fn attack_free_results_tight_deadline_still_pays_the_committed_work() {
	new_test_ext(3).execute_with(|| {
		// A tight deadline: one replica is a no-show, its replacement commits late, and the
		// reveals settle in the very block where the job expires.
		let job = submit_deadline(JobKind::Batch, vec![cid(1)], policy(2, 4, 2), 14);
		run_to(2);
		let first = open_providers(job, 0);
		commit(first[0], job, 0, cid(1), 100);
		run_to(7); // first[1] is a no-show at 7; its replacement is assigned in the same block
		let late = *open_providers(job, 0).iter().find(|p| !first.contains(p)).unwrap();
		run_to(11);
		commit(late, job, 0, cid(1), 100); // reveals open until 14
		run_to(13);
		reveal(first[0], job, 0, cid(1), 100);
		reveal(late, job, 0, cid(1), 100);
		run_to(14);
		deliver(job, 0, cid(1));
		let j = Jobs::<Test>::get(job).unwrap();
		// Every task ended verified: the job completed, though its deadline passed meanwhile.
		assert_eq!(j.status, JobStatus::Completed);
		assert!(events().contains(&Event::JobEnding { job, status: JobStatus::Expired, committed: 2, assigned: 0 }));
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Verified);
		for p in [first[0], late] {
			assert_eq!(t.replicas.iter().find(|r| r.provider == p).unwrap().paid, 100 * PRICE);
		}
		assert_eq!(j.escrow.paid, 2 * 100 * PRICE);
		check_escrow();
	});
}

#[test]
fn an_expiring_job_finishes_the_work_in_progress_then_ends() {
	new_test_ext(4).execute_with(|| {
		// No-shows at 7; their replacements, assigned from 8, are at work when the job expires
		// at 10: it is ending, and they may still commit within their windows and be paid.
		let job = submit_deadline(JobKind::Batch, vec![cid(1)], policy(2, 4, 2), 10);
		run_to(10);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.ending, j.committed_open, j.assigned_open), (JobStatus::Active, Some(JobStatus::Expired), 0, 2));
		assert!(events().contains(&Event::JobEnding { job, status: JobStatus::Expired, committed: 0, assigned: 2 }));
		honest_round(job, 0, cid(1), 50);
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.escrow.paid), (JobStatus::Completed, 2 * 50 * PRICE));
		check_escrow();
	});
}

/// Property test over random call sequences (a seeded generator, so any failure is
/// reproducible from the printed seed; no extra dependency that would change the node's features).
mod prop {
	use super::*;

	/// SplitMix64.
	struct Rng(u64);
	impl Rng {
		fn next(&mut self) -> u64 {
			self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
			let mut z = self.0;
			z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
			z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
			z ^ (z >> 31)
		}
		fn below(&mut self, n: u64) -> u64 {
			self.next() % n
		}
	}

	#[derive(Debug, Clone)]
	enum Op {
		Submit { tasks: u8, initial: u8, extra: u8, price: u8, reduce: bool },
		Cancel(u8),
		Honest(u8, u8),
		Dissent(u8, u8),
		Decline(u8, u8),
		Deliver(u8, u8),
		Advance(u8),
		/// Run the `n`-th task still in play (modulo their number) honestly to its end, a
		/// dispute included: up to 12 blocks of honest commits, reveals and deliveries.
		Drive(u8),
	}

	fn op(r: &mut Rng) -> Op {
		match r.below(8) {
			0 => Op::Submit {
				tasks: 1 + r.below(5) as u8,
				initial: 2 + r.below(3) as u8,
				extra: r.below(3) as u8,
				price: 1 + r.below(4) as u8,
				reduce: r.below(2) == 1,
			},
			1 => Op::Cancel(r.below(6) as u8),
			2 => Op::Honest(r.below(6) as u8, r.below(8) as u8),
			3 => Op::Dissent(r.below(6) as u8, r.below(8) as u8),
			4 => Op::Decline(r.below(6) as u8, r.below(8) as u8),
			5 => Op::Deliver(r.below(6) as u8, r.below(8) as u8),
			6 => Op::Drive(r.below(16) as u8),
			_ => Op::Advance(1 + r.below(7) as u8),
		}
	}

	/// Runs `ops`; returns how many disputed tasks were decided.
	fn run_sequence(ops: Vec<Op>) -> usize {
		new_test_ext(5).execute_with(|| {
			set_protocol_fee(Perbill::from_percent(5));
			let issuance = Balances::total_issuance();
			let all = || (1..=20).chain([REQUESTER, OTHER, TREASURY]);
			let total_before: Balance = all().map(|a| Balances::total_balance(&a)).sum();
			for op in ops {
				match op {
					Op::Submit { tasks, initial, extra, price, reduce } => {
						let kind = if reduce { JobKind::MapReduce { reduce_program: cid(9), reducers: 1 } } else { JobKind::Batch };
						// Quorum 2 with 2–4 initial replicas; a policy one bad replica would fail is
						// refused, so it is given room for a fresh round.
						let r = ReplicationPolicy { initial, max: (initial + extra).min(5), quorum: 2, adaptive: false };
						let r = if r.survives_one_bad_replica() { r } else { ReplicationPolicy { max: initial + 2, ..r } };
						let _ = Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, kind, (0..tasks).map(cid).collect(), any_req(), r, price as u64, 100, System::block_number() + 40));
					},
					Op::Cancel(j) => {
						let _ = Market::cancel_job(RuntimeOrigin::signed(REQUESTER), j as u64);
					},
					Op::Honest(j, t) | Op::Dissent(j, t) => {
						let (j, t) = (j as u64, t as u32);
						if Tasks::<Test>::get(j, t).is_none() {
							continue
						}
						let ps = open_providers(j, t);
						let dissent = matches!(op, Op::Dissent(..));
						let out = |i: usize| if dissent && i == 0 { cid(0xEE) } else { cid(t as u8) };
						for (i, p) in ps.iter().enumerate() {
							let c = commitment_of(&digest(*p, j, t, out(i), 10), 10, p, j, t, &salt(*p));
							let _ = Market::commit(RuntimeOrigin::signed(*p), j, t, c);
						}
						for (i, p) in ps.iter().enumerate() {
							let d = digest(*p, j, t, out(i), 10);
							let _ = Market::reveal(RuntimeOrigin::signed(*p), j, t, d, 10, salt(*p));
						}
					},
					Op::Decline(j, t) => {
						let (j, t) = (j as u64, t as u32);
						if let Some(task) = Tasks::<Test>::get(j, t) {
							if let Some(r) = task.replicas.iter().find(|r| r.is_open() && r.commitment.is_none()) {
								let _ = Market::decline(RuntimeOrigin::signed(r.provider), j, t);
							}
						}
					},
					Op::Deliver(j, t) => {
						// Whoever delivers names the honest output (the one `Honest` computes).
						let _ = Market::deliver(RuntimeOrigin::signed(OTHER), j as u64, t as u32, cid(t));
					},
					Op::Advance(n) => run_to(System::block_number() + n as u64),
					Op::Drive(n) => {
						let mut in_play: Vec<(JobId, TaskIndex)> = Tasks::<Test>::iter()
							.filter(|(_, _, t)| matches!(t.phase, TaskPhase::Committing | TaskPhase::Revealing { .. } | TaskPhase::Delivering { .. }))
							.map(|(j, t, _)| (j, t))
							.collect();
						in_play.sort();
						let Some(&(j, t)) = in_play.get(n as usize % in_play.len().max(1)) else { continue };
						for _ in 0..12 {
							let Some(task) = Tasks::<Test>::get(j, t) else { break };
							match task.phase {
								TaskPhase::Committing | TaskPhase::Revealing { .. } => {
									for p in open_providers(j, t) {
										let c = commitment_of(&digest(p, j, t, cid(t as u8), 10), 10, &p, j, t, &salt(p));
										let _ = Market::commit(RuntimeOrigin::signed(p), j, t, c);
									}
									for p in open_providers(j, t) {
										let d = digest(p, j, t, cid(t as u8), 10);
										let _ = Market::reveal(RuntimeOrigin::signed(p), j, t, d, 10, salt(p));
									}
								},
								TaskPhase::Delivering { .. } => {
									let _ = Market::deliver(RuntimeOrigin::signed(OTHER), j, t, cid(t as u8));
								},
								_ => break,
							}
							next_block();
						}
					},
				}
				// No slash reaches the requester beyond what its disputes' fresh rounds cost it:
				// what it has is what it started with, less what its jobs paid to providers and
				// forfeited, plus that compensation, which is never more than those rounds cost.
				let paid: Balance = Jobs::<Test>::iter().map(|(_, j)| j.escrow.paid + j.escrow.forfeited).sum();
				let compensated: Balance = Jobs::<Test>::iter().map(|(_, j)| j.escrow.compensated).sum();
				assert_eq!(Balances::total_balance(&REQUESTER), INITIAL - paid + compensated, "the requester gained or lost beyond payments, forfeits and compensation");
				for (j, job) in Jobs::<Test>::iter() {
					let mut fresh_cost: Balance = 0;
					for (t, task) in Tasks::<Test>::iter_prefix(j) {
						if task.escalation == 0 {
							assert!(task.replicas.len() <= job.replication.max as usize, "({j},{t}) over max without a dispute");
						}
						if let (true, Some((_, fuel))) = (task.escalation > 0, task.result) {
							let agreed = task.replicas.iter().filter(|r| r.round == task.round && r.outcome == Some(ReplicaOutcome::Agreed)).count();
							fresh_cost += agreed as Balance * fuel as Balance * job.price_per_fuel;
						}
					}
					assert!(job.escrow.compensated <= fresh_cost, "job {j}: compensated beyond what its disputes cost");
				}
				check_escrow();
				assert_eq!(Balances::total_issuance(), issuance);
				let total_now: Balance = all().map(|a| Balances::total_balance(&a)).sum();
				assert_eq!(total_now, total_before, "money created or destroyed");
				// Nothing can be forgotten: every task still in play has a
				// deadline at or after this block (or in a block whose deadlines wait for the next
				// `on_initialize`), or a replica in the queue.
				let now = System::block_number();
				let since = IncompleteSince::<Test>::get().unwrap_or(now);
				let live: std::collections::BTreeSet<(JobId, TaskIndex)> = DeadlineAt::<Test>::iter()
					.filter(|(b, _, _)| *b >= since.min(now))
					.map(|(_, entry, _)| entry)
					.collect();
				for (j, t, task) in Tasks::<Test>::iter() {
					let in_play = matches!(task.phase, TaskPhase::Committing | TaskPhase::Revealing { .. } | TaskPhase::Delivering { .. }) &&
						task.replicas.iter().any(|r| r.is_open());
					// A replica still queued is live too: it is placed or the task fails.
					if in_play && task.queued == 0 {
						assert!(live.contains(&(j, t)), "task ({j},{t}) has open replicas but no live deadline: {task:?}");
					}
				}
				// The one load count is exact: a provider's `ProviderTasks` are the tasks where it
				// holds an open replica.
				for p in 1..=5u64 {
					let mut open: Vec<(JobId, TaskIndex)> = Tasks::<Test>::iter()
						.filter(|(_, _, t)| t.replicas.iter().any(|r| r.provider == p && r.is_open()))
						.map(|(j, t, _)| (j, t))
						.collect();
					let work = ProviderTasks::<Test>::get(p);
					let mut held = work.open.clone().into_inner();
					open.sort();
					held.sort();
					assert_eq!(open, held, "load of provider {p}");
					assert_eq!(Market::held(&p) as usize, held.len(), "the load read from the record's prefix");
					// The work log is exact: its totals are the sums over every replica the
					// provider closed, and each logged entry is what the task's record says.
					let closed: Vec<_> = Tasks::<Test>::iter()
						.flat_map(|(j, t, task)| {
							task.replicas
								.into_iter()
								.filter(|r| r.provider == p && !r.is_open())
								.map(move |r| (j, t, r))
						})
						.collect();
					assert_eq!(work.closed as usize, closed.len(), "replicas closed by {p}");
					assert_eq!(work.earned, closed.iter().map(|(_, _, r)| r.paid).sum::<Balance>(), "earned by {p}");
					assert_eq!(work.slashed, closed.iter().map(|(_, _, r)| r.slashed).sum::<Balance>(), "slashed from {p}");
					assert_eq!(work.recent.len(), closed.len().min(WORK_LOG_LEN as usize));
					for e in work.recent.iter() {
						assert!(
							closed.iter().any(|(j, t, r)| (*j, *t, r.round, r.outcome, r.paid, r.slashed) ==
								(e.job, e.task, e.round, Some(e.outcome), e.paid, e.slashed)),
							"logged entry {e:?} of {p} matches a closed replica"
						);
					}
				}
				// A job's counts of open replicas (what decides when an ending job ends) are
				// exact, and so is every provider's value held alone.
				for (j, job) in Jobs::<Test>::iter() {
					let (mut committed, mut assigned) = (0u32, 0u32);
					for (_, task) in Tasks::<Test>::iter_prefix(j) {
						for r in task.replicas.iter().filter(|r| r.is_open()) {
							if r.commitment.is_some() { committed += 1 } else { assigned += 1 }
						}
					}
					assert_eq!((job.committed_open, job.assigned_open), (committed, assigned), "open replicas of job {j}");
				}
				for p in 1..=5u64 {
					let alone: Balance = Tasks::<Test>::iter()
						.filter_map(|(j, _, t)| {
							t.replicas.iter().any(|r| r.provider == p && r.is_open() && r.alone).then(|| {
								let job = Jobs::<Test>::get(j).unwrap();
								job.fuel_cap as Balance * job.price_per_fuel
							})
						})
						.sum();
					assert_eq!(SoloValue::<Test>::get(p), alone, "value provider {p} holds alone");
				}
			}
			// Everything ends: run past every deadline; nothing stays held or assigned. Every
			// queue entry is gone (none waits past `max_placement_wait`).
			run_to(System::block_number() + 100);
			assert_eq!(QueueHead::<Test>::get(), QueueTail::<Test>::get(), "a queue entry outlived its bound");
			check_escrow();
			assert_eq!((escrow_held(REQUESTER), deposit_held(REQUESTER)), (0, 0));
			for p in 1..=5u64 {
				assert!(ProviderTasks::<Test>::get(p).open.is_empty());
			}
			// Committed work is paid: every replica that revealed a verified result was paid
			// for it, whatever became of the job (cancelled and expired included).
			let mut decided = 0;
			for (j, task_idx, task) in Tasks::<Test>::iter() {
				if task.escalation > 0 && task.phase == TaskPhase::Verified {
					decided += 1;
				}

				let job = Jobs::<Test>::get(j).unwrap();
				assert_ne!(job.status, JobStatus::Active, "every job ended");
				assert_eq!((job.committed_open, job.assigned_open), (0, 0));
				if let Some((out, fuel)) = task.result {
					for r in task.replicas.iter().filter(|r| {
						r.reveal.is_some_and(|rv| (rv.digest, rv.fuel_used) == (digest_of(&out, fuel, j, task_idx, r.round), fuel))
					}) {
						let value = fuel as Balance * job.price_per_fuel;
						// Right is never punished: a vindicated dissenter included.
						assert_eq!((r.outcome, r.slashed), (Some(ReplicaOutcome::Agreed), 0));
						assert_eq!(r.paid, value - Configuration::<Test>::get().protocol_fee.mul_floor(value), "an agreeing replica unpaid: {task:?}");
					}
				}
			}
			decided
		})
	}

	#[test]
	fn escrow_and_money_are_conserved() {
		let cases: u64 = std::env::var("GRAVITY_PROP_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
		let (mut finished_jobs, mut disputes) = (0usize, 0usize);
		for seed in 0..cases {
			let mut r = Rng(seed);
			let n = 1 + r.below(40) as usize;
			let ops: Vec<Op> = (0..n).map(|_| op(&mut r)).collect();
			match std::panic::catch_unwind(|| run_sequence(ops.clone())) {
				Ok(decided) => disputes += decided,
				Err(e) => {
					eprintln!("failing seed {seed}: {ops:?}");
					std::panic::resume_unwind(e);
				},
			}
			finished_jobs += ops.iter().filter(|o| matches!(o, Op::Submit { .. })).count();
		}
		assert!(finished_jobs > cases as usize, "the generator must submit jobs");
		println!("disputed tasks decided over {cases} sequences: {disputes}");
		assert!(disputes > 0, "the generator must decide disputes");
	}
}

/// Providers given a replica, summed over `jobs` jobs of 10 tasks that all read `input` (a
/// render scene), 2 replicas each, on 20 providers: how many nodes must fetch the input.
fn fetchers(input: ContentId, jobs: u32) -> (usize, Vec<(AccountId, AccountId)>) {
	// Each job on a fresh market of 20 providers (holders are per job), at its own block so
	// that every job draws differently.
	let mut fetchers = 0;
	let mut pairs = vec![];
	for j in 0..jobs {
		new_test_ext(20).execute_with(|| {
			System::set_block_number(1 + 7 * j as u64);
			let job = submit_deadline(JobKind::Batch, vec![input; 10], policy(2, 4, 2), System::block_number() + 200);
			run_to(System::block_number() + 1);
			let mut who = std::collections::BTreeSet::new();
			for (_, t) in Tasks::<Test>::iter_prefix(job) {
				assert_eq!(t.replicas.len(), 2, "job {j}: every replica placed");
				pairs.push((t.replicas[0].provider, t.replicas[1].provider));
				who.extend(t.replicas.iter().map(|r| r.provider));
			}
			fetchers += who.len();
		});
	}
	(fetchers, pairs)
}

#[test]
fn data_locality_sends_a_large_input_to_fewer_providers() {
	let big = ContentId { root: [7; 32], length: 256 << 20 };
	let small = ContentId { root: [7; 32], length: 1 << 20 };
	let (near, pairs) = fetchers(big, 32);
	let (spread, _) = fetchers(small, 32);
	println!("providers fetching the input, 32 jobs × 10 tasks × 2 replicas on 20 providers: {near} with locality, {spread} without ({:.0} % fewer)", 100.0 * (spread - near) as f64 / spread as f64);
	// Without locality ≈ 32 × 20 × (1 − (19/20)^20) ≈ 410; with it, first replicas go to the
	// last 4 holders and only second replicas spread: ≈ 32 × 10 (measured: 292 against 424).
	assert!(near * 10 <= spread * 8, "locality saves at least 20 %: {near} vs {spread}");
	// The second replica of every task is still drawn at random: many distinct providers, never
	// the first replica's.
	assert!(pairs.iter().all(|(a, b)| a != b));
	let seconds: std::collections::BTreeSet<_> = pairs.iter().map(|p| p.1).collect();
	assert!(seconds.len() >= 15, "second replicas spread over {} providers", seconds.len());
}

/// Block filling: a filler keeps blocks full through a commit window. The blocks without room do
/// not count: the deadline moves, nobody is slashed, and the provider commits afterwards.
#[test]
fn attack_filling_a_commit_window_does_not_make_a_no_show() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		let bonds: Vec<_> = ps.iter().map(|p| <Providers as ProviderRegistry<_, _>>::bond(p)).collect();
		// Assigned at 2, deadline 7 (window 5). Blocks 2..=6 are all full.
		for _ in 2..7 {
			fill_block();
			next_block();
		}
		assert_eq!(System::block_number(), 7);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		for r in t.replicas.iter() {
			assert!(r.is_open(), "a replica of a window without room was closed: {:?}", r.outcome);
			assert_eq!(r.slashed, 0);
			// 5 blocks without room: moved to 2 + 2 × 5 = 12 (the longest extension).
			assert_eq!(r.commit_deadline, 12);
		}
		assert!(events().iter().any(|e| matches!(e, Event::CommitDeadlineExtended { crowded_blocks: 5, commit_deadline: 12, .. })));
		assert!(!events().iter().any(|e| matches!(e, Event::ProviderPenalized { .. })));
		// The filler stops; the providers commit in the extension and the job completes.
		run_to(9);
		honest_round(job, 0, cid(1), 10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		for (p, bond) in ps.iter().zip(bonds) {
			assert_eq!(<Providers as ProviderRegistry<_, _>>::bond(p), bond);
		}
		check_escrow();
	});
}

/// A lazy provider gains nothing from a few full blocks: it gets as many more blocks as it
/// lost, then it is a no-show like any other.
#[test]
fn a_lazy_provider_in_a_window_with_some_full_blocks_is_still_a_no_show() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		commit(ps[0], job, 0, cid(1), 10);
		// Two of the five blocks full.
		fill_block();
		next_block();
		fill_block();
		next_block();
		run_to(7);
		let lazy = |t: &TaskOf<Test>| t.replicas.iter().find(|r| r.provider == ps[1]).unwrap().clone();
		let r = lazy(&Tasks::<Test>::get(job, 0).unwrap());
		assert!(r.is_open());
		assert_eq!(r.commit_deadline, 9, "two blocks without room: two more blocks");
		run_to(9);
		let r = lazy(&Tasks::<Test>::get(job, 0).unwrap());
		assert_eq!(r.outcome, Some(ReplicaOutcome::NoShow));
		assert!(r.slashed > 0);
		check_escrow();
	});
}

/// A window that never has room, even with the longest extension: the replica is released
/// without penalty and replaced.
#[test]
fn a_window_that_never_had_room_releases_the_replica_without_penalty() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		let ps = open_providers(job, 0);
		commit(ps[0], job, 0, cid(1), 10);
		while System::block_number() < 12 {
			fill_block();
			next_block();
		}
		let t = Tasks::<Test>::get(job, 0).unwrap();
		let r = t.replicas.iter().find(|r| r.provider == ps[1]).unwrap();
		assert_eq!(r.outcome, Some(ReplicaOutcome::Released));
		assert_eq!(r.slashed, 0);
		assert!(events().iter().any(|e| matches!(e, Event::ReplicaReleasedNoRoom { provider, .. } if *provider == ps[1])));
		// Replaced: the task goes on with a new replica and completes.
		run_to(13);
		let now = open_providers(job, 0);
		assert_eq!(now.len(), 2);
		honest_round(job, 0, cid(1), 10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		check_escrow();
	});
}

#[test]
fn the_no_room_rule_counts_only_the_window_and_is_bounded() {
	use crate::room_impls::Room;
	new_test_ext(0).execute_with(|| {
		// Window 5, assigned at 10.
		CrowdedBlocks::<Test>::put(0);
		assert_eq!(Market::room_for_commit(10, 15), Room::Had);
		// The last two blocks (13, 14) crowded.
		CrowdedBlocks::<Test>::put(0b11);
		assert_eq!(Market::room_for_commit(10, 15), Room::Extend { to: 17, crowded: 2 });
		// Crowded blocks before the assignment do not count.
		CrowdedBlocks::<Test>::put(0b11 << 5);
		assert_eq!(Market::room_for_commit(10, 15), Room::Had);
		// Everything crowded: extended up to 2 × window after the assignment, then released.
		CrowdedBlocks::<Test>::put(u64::MAX);
		assert_eq!(Market::room_for_commit(10, 15), Room::Extend { to: 20, crowded: 5 });
		assert_eq!(Market::room_for_commit(10, 20), Room::Never);
		// A block is crowded at 90 % of its weight, not below.
		let max = <<Test as frame_system::Config>::BlockWeights as frame_support::traits::Get<frame_system::limits::BlockWeights>>::get().max_block;
		System::register_extra_weight_unchecked(max / 10 * 8, frame_support::dispatch::DispatchClass::Normal);
		assert!(!Market::block_is_crowded());
		System::register_extra_weight_unchecked(max / 10 * 2, frame_support::dispatch::DispatchClass::Normal);
		assert!(Market::block_is_crowded());
	});
}

/// Provider duties are operational: a block filled with ordinary transactions has room for them.
#[test]
fn provider_duties_are_operational_transactions() {
	use frame_support::dispatch::{DispatchClass, GetDispatchInfo};
	let calls = [
		Call::<Test>::commit { job: 0, task: 0, commitment: H256::zero() },
		Call::<Test>::reveal { job: 0, task: 0, digest: H256::zero(), fuel_used: 0, salt: [0; 32] },
		Call::<Test>::decline { job: 0, task: 0 },
		Call::<Test>::deliver { job: 0, task: 0, output: cid(1) },
		Call::<Test>::batch { actions: BoundedVec::truncate_from(vec![ProviderAction::Decline { job: 0, task: 0 }]) },
	];
	for call in calls {
		assert_eq!(call.get_dispatch_info().class, DispatchClass::Operational, "{call:?}");
	}
	let submit = Call::<Test>::cancel_job { job: 0 };
	assert_eq!(submit.get_dispatch_info().class, DispatchClass::Normal);
}

/// An input id of length 2⁶⁰ made a provider's downloader allocate for it; the
/// chain now refuses lengths over `MaxContentLength`.
#[test]
fn attack_an_input_of_absurd_length_is_refused_at_submission() {
	new_test_ext(3).execute_with(|| {
		let huge = ContentId { root: [1; 32], length: 1 << 60 };
		assert_noop!(
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![huge], any_req(), policy(2, 4, 2), PRICE, CAP, 200)),
			Error::<Test>::InputTooLarge
		);
		let at_bound = ContentId { root: [1; 32], length: MAX_CONTENT_LENGTH + 1 };
		assert_noop!(
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![at_bound], any_req(), policy(2, 4, 2), PRICE, CAP, 200)),
			Error::<Test>::InputTooLarge
		);
	});
}


// ---------------------------------------------------------------------------------------------
// The cheating inequality holds: a caught solo cheat always loses.
// ---------------------------------------------------------------------------------------------

/// A trusted provider 1 runs the only replica of a one-task adaptive job under `r` and commits
/// a junk result; the draw is a spot check; `quorum` fresh providers check it honestly. With
/// `withhold` the checked provider does not reveal. Returns the job.
fn caught_solo_cheat(r: ReplicationPolicy, withhold: bool) -> JobId {
	set_spot_check_rate(Perbill::from_percent(10));
	build_trust(1, 30);
	let job = NextJobId::<Test>::get();
	assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, 1, 10, 200)));
	run_to(2);
	assert_eq!(open_providers(job, 0), vec![1]);
	assert!(Tasks::<Test>::get(job, 0).unwrap().check_pending, "{r:?}");
	// The checkers join the network only now: the spot check has to find them.
	for p in 2..=(1 + r.quorum as u64) {
		assert_ok!(pallet_gravity_providers::Pallet::<Test>::register(RuntimeOrigin::signed(p), caps(), 10_000));
	}
	commit(1, job, 0, cid(0xEE), 10);
	set_spot_check_rate(Perbill::one());
	next_block();
	// The checkers are drawn at random, a few tries a block: all are placed within a few blocks.
	for _ in 0..4 {
		if open_providers(job, 0).len() as u8 == 1 + r.quorum {
			break
		}
		next_block();
	}
	let t = Tasks::<Test>::get(job, 0).unwrap();
	assert_eq!((t.round, t.quorum, open_providers(job, 0).len() as u8), (1, r.quorum, 1 + r.quorum), "{r:?}");
	for p in 2..=(1 + r.quorum as u64) {
		commit(p, job, 0, cid(1), 10);
	}
	assert!(matches!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Revealing { .. }), "{r:?}");
	if !withhold {
		reveal(1, job, 0, cid(0xEE), 10);
	}
	for p in 2..=(1 + r.quorum as u64) {
		reveal(p, job, 0, cid(1), 10);
	}
	for _ in 0..20 {
		if !matches!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Revealing { .. }) {
			break
		}
		next_block();
	}
	assert!(matches!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Delivering { .. }), "{r:?}");
	deliver(job, 0, cid(1));
	job
}

#[test]
fn attack_a_caught_solo_cheat_is_penalized_and_loses_its_trust_at_every_adaptive_policy() {
	let most = <<Test as Config>::MaxReplicas as frame_support::traits::Get<u32>>::get() as u8;
	let mut accepted = 0;
	for quorum in 1..=most {
		for initial in quorum..=most {
			for max in initial..=most {
				let r = ReplicationPolicy { initial, max, quorum, adaptive: true };
				// One replica: nothing to adapt. No room for a checked replica plus `quorum`
				// checkers: no spot check possible. Both refused.
				let refused = if initial < 2 {
					Some(Error::<Test>::AdaptiveWithOneReplica)
				} else if max <= quorum {
					Some(Error::<Test>::NoRoomForSpotCheck)
				} else if !r.survives_one_bad_replica() {
					Some(Error::<Test>::FragileReplication)
				} else {
					None
				};
				if let Some(error) = refused {
					new_test_ext(1).execute_with(|| {
						assert_noop!(
							Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, 1, 10, 200)),
							error
						);
					});
					continue
				}
				accepted += 1;
				for withhold in [false, true] {
					new_test_ext(1).execute_with(|| {
						let bond_before = bond(1);
						let job = caught_solo_cheat(r, withhold);
						let penalized: Vec<_> = events()
							.into_iter()
							.filter_map(|e| match e {
								Event::ProviderPenalized { provider, outcome, .. } => Some((provider, outcome)),
								_ => None,
							})
							.collect();
						// Withheld or junk, the checked result is a dissent: slashed, trust gone.
						assert_eq!(penalized, vec![(1, gravity_primitives::Outcome::Dissented)], "{r:?} withhold {withhold}");
						assert_eq!(bond(1), bond_before - Configuration::<Test>::get().slash_fraction.mul_floor(bond_before), "{r:?}");
						assert!(!Market::may_run_alone(&Jobs::<Test>::get(job).unwrap(), &1), "{r:?}");
						// The checkers are paid, the job completes, the escrow balances.
						let paid = events().iter().filter(|e| matches!(e, Event::ProviderPaid { .. })).count();
						assert_eq!(paid, r.quorum as usize, "{r:?}");
						assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
						check_escrow();
					});
				}
			}
		}
	}
	// Of the 35 policies with 1 ≤ quorum ≤ initial ≤ max ≤ MaxReplicas (5), the 12 that survive
	// one bad replica (quorum ≥ 2, and initial > quorum or max ≥ initial + quorum) are accepted,
	// and each was attacked twice.
	assert_eq!(accepted, 12);
}

#[test]
fn an_honest_solo_replica_that_is_spot_checked_is_paid_with_its_checkers() {
	new_test_ext(1).execute_with(|| {
		set_spot_check_rate(Perbill::from_percent(10));
		build_trust(1, 30);
		let r = ReplicationPolicy { initial: 2, max: 4, quorum: 2, adaptive: true };
		let job = NextJobId::<Test>::get();
		assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, 1, 10, 200)));
		run_to(2);
		for p in 2..=3 {
			assert_ok!(pallet_gravity_providers::Pallet::<Test>::register(RuntimeOrigin::signed(p), caps(), 10_000));
		}
		commit(1, job, 0, cid(1), 10);
		set_spot_check_rate(Perbill::one());
		next_block();
		honest_round(job, 0, cid(1), 10);
		assert!(!events().iter().any(|e| matches!(e, Event::ProviderPenalized { .. })));
		let mut paid: Vec<_> = events()
			.into_iter()
			.filter_map(|e| match e { Event::ProviderPaid { provider, .. } => Some(provider), _ => None })
			.collect();
		paid.sort();
		assert_eq!(paid, vec![1, 2, 3]);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		check_escrow();
	});
}

/// A job's deadline is how long providers keep its inputs and outputs; a deadline
/// centuries away made them keep a job's data forever. It is bounded by `MaxJobDuration`.
#[test]
fn attack_a_deadline_centuries_away_is_refused_at_submission() {
	new_test_ext(3).execute_with(|| {
		let now = System::block_number();
		let submit = |deadline| {
			Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), policy(2, 4, 2), PRICE, CAP, deadline))
		};
		let before = Balances::free_balance(REQUESTER);
		assert_noop!(submit(u64::MAX), Error::<Test>::DeadlineTooFar);
		assert_noop!(submit(now + MAX_JOB_DURATION + 1), Error::<Test>::DeadlineTooFar);
		assert_eq!(Balances::free_balance(REQUESTER), before, "nothing held for a refused job");
		assert_ok!(submit(now + MAX_JOB_DURATION));
	});
}

/// The windows were one block shorter than documented. What the code does, pinned:
/// a deadline is handled at the start of its block, before that block's transactions, so a
/// commit must be in one of the `CommitWindow − 1` blocks after the assignment block, and the
/// README says exactly that.
#[test]
fn a_commit_lands_in_the_blocks_before_its_deadline_and_not_in_the_deadline_block() {
	new_test_ext(3).execute_with(|| {
		let job = batch(2, policy(2, 4, 2));
		run_to(2);
		let t0 = Tasks::<Test>::get(job, 0).unwrap();
		let deadline = t0.replicas[0].commit_deadline;
		assert_eq!(deadline, 2 + Configuration::<Test>::get().windows.commit);
		let (late, early) = (t0.replicas[0].provider, t0.replicas[1].provider);
		// The last block before the deadline: the commit counts.
		run_to(deadline - 1);
		commit(early, job, 0, cid(7), 10);
		// The deadline block: the tick ran first, the late replica is a no-show already, and
		// its commit is refused.
		run_to(deadline);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		let r = t.replicas.iter().find(|r| r.provider == late && r.round == 0).unwrap();
		assert_eq!(r.outcome, Some(ReplicaOutcome::NoShow));
		assert!(Market::commit(RuntimeOrigin::signed(late), job, 0, H256::repeat_byte(1)).is_err());
		let e = t.replicas.iter().find(|r| r.provider == early).unwrap();
		assert!(e.commitment.is_some() && e.outcome.is_none(), "the commit one block before the deadline stands");
	});
}

/// What the one bad replica of `run_with_one_bad_replica` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bad {
	/// Gives the replica back before committing (free).
	Declines,
	/// Never commits.
	MissesCommit,
	/// Commits the right result and never reveals it.
	MissesReveal,
	/// Commits and reveals a made-up result.
	RevealsJunk,
}

/// A one-task batch job under `r` whose first assigned replica behaves as `bad` and every
/// other replica honestly (commits, reveals and delivers `cid(1)`), run until the task ends.
/// Returns the bad provider.
fn run_with_one_bad_replica(r: ReplicationPolicy, bad: Bad) -> (JobId, AccountId) {
	let job = batch(1, r);
	next_block();
	let villain = open_providers(job, 0)[0];
	let junk = cid(66);
	for _ in 0..200 {
		let t = Tasks::<Test>::get(job, 0).unwrap();
		match t.phase {
			TaskPhase::Committing =>
				for rep in t.replicas.iter().filter(|x| x.is_open() && x.commitment.is_none()) {
					match (rep.provider == villain, bad) {
						(true, Bad::Declines) => {
							assert_ok!(Market::decline(RuntimeOrigin::signed(villain), job, 0));
						},
						(true, Bad::MissesCommit) => {},
						(true, Bad::RevealsJunk) => commit(villain, job, 0, junk, 10),
						_ => commit(rep.provider, job, 0, cid(1), 10),
					}
				},
			TaskPhase::Revealing { .. } =>
				for rep in t.replicas.iter().filter(|x| x.is_open() && x.commitment.is_some() && x.reveal.is_none()) {
					match (rep.provider == villain, bad) {
						(true, Bad::MissesReveal) => {},
						(true, Bad::RevealsJunk) => reveal(villain, job, 0, junk, 10),
						_ => reveal(rep.provider, job, 0, cid(1), 10),
					}
				},
			TaskPhase::Delivering { .. } => deliver(job, 0, cid(1)),
			TaskPhase::Verified | TaskPhase::Failed | TaskPhase::Abandoned => break,
		}
		next_block();
	}
	(job, villain)
}

/// A competitor's Sybil drawn into a task declines, goes silent or reveals junk.
/// At every policy `submit_job` accepts (every combination up to the mock's `MaxReplicas`,
/// adaptive or not) the task still verifies, every honest replica is paid, and the bad one is
/// penalized (or, having declined, neither paid nor penalized). Every policy it refuses is one
/// `survives_one_bad_replica` rejects, and the policies that died before (`{2,2,2}` on a
/// decline, `{2,3,2}` on a junk reveal, quorum 1) are among them.
#[test]
fn attack_one_bad_replica_fails_no_task_at_any_accepted_policy() {
	let max_replicas = <<Test as Config>::MaxReplicas as frame_support::traits::Get<u32>>::get() as u8;
	let mut accepted = 0;
	for initial in 1..=max_replicas {
		for max in initial..=max_replicas {
			for quorum in 1..=initial {
				for adaptive in [false, true] {
					let r = ReplicationPolicy { initial, max, quorum, adaptive };
					let ok = new_test_ext(8).execute_with(|| {
						Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, PRICE, CAP, 200))
					});
					match ok {
						Ok(_) => assert!(r.survives_one_bad_replica(), "{r:?} accepted"),
						Err(e) => {
							assert!(!r.survives_one_bad_replica(), "{r:?} refused: {e:?}");
							continue
						},
					}
					accepted += 1;
					for bad in [Bad::Declines, Bad::MissesCommit, Bad::MissesReveal, Bad::RevealsJunk] {
						new_test_ext(8).execute_with(|| {
							let (job, villain) = run_with_one_bad_replica(r, bad);
							let t = Tasks::<Test>::get(job, 0).unwrap();
							assert_eq!(t.phase, TaskPhase::Verified, "{r:?} with a replica that {bad:?}");
							assert_eq!(t.result, Some((cid(1), 10)), "{r:?}, {bad:?}");
							for rep in t.replicas.iter() {
								if rep.provider == villain {
									let expected = match bad {
										Bad::Declines => ReplicaOutcome::Declined,
										Bad::MissesCommit | Bad::MissesReveal => ReplicaOutcome::NoShow,
										Bad::RevealsJunk => ReplicaOutcome::Dissented,
									};
									assert_eq!(rep.outcome, Some(expected), "{r:?}, {bad:?}");
									assert_eq!(rep.paid, 0);
									assert_eq!(rep.slashed > 0, bad != Bad::Declines, "{r:?}, {bad:?}");
								} else {
									assert_eq!(rep.outcome, Some(ReplicaOutcome::Agreed), "honest replica, {r:?}, {bad:?}");
									assert!(rep.paid > 0 && rep.slashed == 0, "{r:?}, {bad:?}");
								}
							}
							assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
							check_escrow();
						});
					}
				}
			}
		}
	}
	assert!(accepted >= 10, "only {accepted} policies accepted");
	new_test_ext(8).execute_with(|| {
		for (i, m, q) in [(2, 2, 2), (2, 3, 2), (1, 1, 1), (1, 3, 1), (3, 3, 1), (3, 3, 3), (3, 4, 3)] {
			assert_noop!(
				Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), policy(i, m, q), PRICE, CAP, 200)),
				Error::<Test>::FragileReplication
			);
		}
	});
}

/// Declining is free, so a saboteur (or a lazy provider) could decline wherever it
/// is drawn and be drawn again and again. A decline of a task that others went on to run counts
/// against the provider: the first `FreeDeclines` (2 in the mock) are free, every later one
/// costs half a failure in its reputation score, so it is drawn less and less. No money moves.
#[test]
fn attack_declining_every_task_others_run_costs_reputation_past_the_allowance() {
	new_test_ext(4).execute_with(|| {
		const DECLINER: AccountId = 1;
		let (bond_before, free_before) = (bond(DECLINER), Balances::free_balance(DECLINER));
		let mut declined = 0;
		for _ in 0..60 {
			let job = batch(1, policy(2, 4, 2));
			next_block();
			if open_providers(job, 0).contains(&DECLINER) {
				assert_ok!(Market::decline(RuntimeOrigin::signed(DECLINER), job, 0));
				declined += 1;
				next_block();
			}
			honest_round(job, 0, cid(1), 10);
			assert_eq!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Verified);
			if declined == 5 {
				break
			}
		}
		assert_eq!(declined, 5, "the decliner was drawn");
		let charged: Vec<bool> = events()
			.into_iter()
			.filter_map(|e| match e {
				Event::DeclineCounted { provider: DECLINER, charged, .. } => Some(charged),
				_ => None,
			})
			.collect();
		assert_eq!(charged, vec![false, false, true, true, true], "two free declines, then each one costs");
		// Three charged declines: 1.5 failures against its successes (none: it never ran one).
		assert_eq!(reputation_of(DECLINER), Perbill::from_rational(1_000u64, 1_500 + 2_000));
		for p in 2..=4 {
			assert!(reputation_of(p) > Perbill::from_percent(50), "the providers that ran the tasks gained");
		}
		assert_eq!(pallet_gravity_providers::Reputations::<Test>::get(DECLINER).lifetime_declined, 5);
		// Reputation only: no bond, no balance moved.
		assert_eq!((bond(DECLINER), Balances::free_balance(DECLINER)), (bond_before, free_before));
		assert!(!events().iter().any(|e| matches!(e, Event::DepositForfeited { .. })));
		check_escrow();
	});
}

/// Make `p` look busy for good (a replica of a job that does not exist fills its only slot):
/// what a cartel does by keeping its providers at their declared concurrency.
fn keep_busy(p: AccountId) {
	ProviderTasks::<Test>::mutate(p, |w| {
		w.open = BoundedVec::truncate_from((0..16u32).map(|t| (999u64, t)).collect::<Vec<_>>())
	});
}

/// Three providers alone in a capability class, at their declared concurrency,
/// fill the queue with jobs only they match. A deferral for busy providers is load, not an
/// unservable job, so it did not count: the entries were re-queued forever, every other
/// `submit_job` got `QueueFull`, and the tick spent itself on them. Now no entry waits longer
/// than `max_placement_wait` (20 blocks in the mock) after it was queued.
#[test]
fn attack_hostage_queue_busy_providers_hold_no_entry_past_the_placement_wait() {
	new_test_ext(3).execute_with(|| {
		let mut arm = caps();
		arm.arch = gravity_primitives::Arch::Aarch64;
		arm.max_concurrent = 1;
		for p in [18, 19, 20] {
			assert_ok!(pallets_register(p, arm.clone()));
			keep_busy(p);
		}
		let req = Requirements { arch: gravity_primitives::Arch::Aarch64, ..any_req() };
		let inputs: Vec<ContentId> = (0..64).map(cid).collect();
		let free_before = Balances::free_balance(OTHER);
		let mut jobs = vec![];
		for _ in 0..3 {
			jobs.push(NextJobId::<Test>::get());
			assert_ok!(Market::submit_job(RuntimeOrigin::signed(OTHER), job_spec(cid(1), None, JobKind::Batch, inputs.clone(), req.clone(), policy(5, 5, 4), 1, 1, 1_000)));
		}
		let honest = || Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(1), None, JobKind::Batch, inputs.clone(), any_req(), policy(2, 4, 2), 1, 1, 1_000));
		assert_noop!(honest(), Error::<Test>::QueueFull);
		// Each entry is deferred as busy (not counted toward `max_deferrals`) until it has waited
		// 20 blocks; then its task fails. 960 entries at 50 a block: two passes.
		run_to(2 + 2 * (960 / 50 + 1) + 20);
		assert_eq!(QueueHead::<Test>::get(), QueueTail::<Test>::get(), "the queue is empty again");
		for job in &jobs {
			let j = Jobs::<Test>::get(job).unwrap();
			assert_eq!((j.status, j.failed), (JobStatus::Failed, 64));
		}
		assert_eq!(events().iter().filter(|e| matches!(e, Event::TaskFailed { reason: FailReason::Unplaceable, .. })).count(), 192);
		// Nothing was ever placed or paid; the attacker's capital comes back, minus nothing.
		assert_eq!((escrow_held(OTHER), deposit_held(OTHER)), (0, 0));
		assert_eq!(Balances::free_balance(OTHER), free_before);
		assert_ok!(honest());
		check_escrow();
	});
}

/// An honest provider commits; the sibling replica its task needs is deferred
/// because the only other matching provider is busy, for good. The task used to wait forever,
/// the honest provider unpaid, unable to deregister (`HasActiveTasks`). Now the task fails when
/// the sibling has waited `max_placement_wait`, and the honest replica is released: no slash, no
/// reputation change, free to leave.
#[test]
fn attack_a_committed_replica_whose_sibling_is_never_placed_is_released_within_the_bound() {
	new_test_ext(2).execute_with(|| {
		keep_busy(2);
		let job = batch(1, policy(2, 4, 2));
		run_to(2);
		assert_eq!(open_providers(job, 0), vec![1]);
		commit(1, job, 0, cid(1), 10);
		let (b, r) = (bond(1), reputation_of(1));
		run_to(1 + 20);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.phase, TaskPhase::Failed);
		assert!(events().contains(&Event::TaskFailed { job, task: 0, reason: FailReason::Unplaceable }));
		assert_eq!((t.replicas[0].outcome, t.replicas[0].slashed), (Some(ReplicaOutcome::Released), 0));
		assert_eq!((bond(1), reputation_of(1)), (b, r));
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Failed);
		assert_ok!(pallet_gravity_providers::Pallet::<Test>::deregister(RuntimeOrigin::signed(1)));
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL);
		check_escrow();
	});
}

fn pallets_register(p: AccountId, c: gravity_primitives::Capabilities) -> frame_support::dispatch::DispatchResult {
	pallet_gravity_providers::Pallet::<Test>::register(RuntimeOrigin::signed(p), c, 10_000)
}

/// The cheating inequality `V ≤ p·S` held per task, so a trusted provider running
/// many solo tasks at once could skip them all and gain many times what one caught dissent
/// costs it. Now the value of every task a provider holds alone counts (`SoloValue`): their sum
/// must stay within `p·S`.
#[test]
fn attack_concurrent_solo_tasks_cannot_multiply_what_one_cheat_gains() {
	new_test_ext(1).execute_with(|| {
		set_spot_check_rate(Perbill::from_percent(10));
		build_trust(1, 30);
		// Each task is worth 60 (price 6 × fuel cap 10); the provider's stake at risk is 10 % of
		// its 10_000 bond and p = 10 %: p·S = 100, room for one such task alone, not two.
		let submit = || {
			let id = NextJobId::<Test>::get();
			let r = ReplicationPolicy { initial: 2, max: 4, quorum: 2, adaptive: true };
			assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), r, 6, 10, 200)));
			id
		};
		let (a, b) = (submit(), submit());
		run_to(2);
		let (ta, tb) = (Tasks::<Test>::get(a, 0).unwrap(), Tasks::<Test>::get(b, 0).unwrap());
		assert!(ta.check_pending && ta.wanted == 1 && ta.replicas[0].alone, "the first may run alone");
		assert!(!tb.check_pending && tb.wanted == 2 && !tb.replicas[0].alone, "a second at once would put 120 > p·S at stake");
		assert_eq!(SoloValue::<Test>::get(1), 60);
		// Once the first is settled, the provider may run a task alone again.
		set_spot_check_rate(Perbill::zero());
		honest_round(a, 0, cid(1), 10);
		assert_eq!(Tasks::<Test>::get(a, 0).unwrap().phase, TaskPhase::Verified);
		assert_eq!(SoloValue::<Test>::get(1), 0);
		assert!(!SoloValue::<Test>::contains_key(1));
		// (The spot-check rate is also `p` in `V ≤ p·S`: back to 10 %.)
		set_spot_check_rate(Perbill::from_percent(10));
		let c = submit();
		next_block();
		assert!(Tasks::<Test>::get(c, 0).unwrap().check_pending, "alone again: {:?} {:?}", Tasks::<Test>::get(c, 0), Market::may_run_alone(&Jobs::<Test>::get(c).unwrap(), &1));
	});
}

// ---------------------------------------------------------------------------------------------
// Disputes: a majority of one round is not the last word.
// ---------------------------------------------------------------------------------------------

/// Drive task 0 of `job` to its end: every replica computes `cid(1)` with `fuel`, except the
/// `liars`, who commit, reveal and try to deliver `junk`. Whoever delivers names the output
/// the task agreed on.
fn drive(job: JobId, liars: &[AccountId], fuel: u64) {
	let junk = cid(66);
	let out = |p: AccountId| if liars.contains(&p) { junk } else { cid(1) };
	for _ in 0..200 {
		let t = Tasks::<Test>::get(job, 0).unwrap();
		match t.phase {
			TaskPhase::Committing =>
				for rep in t.replicas.iter().filter(|x| x.is_open() && x.commitment.is_none()) {
					commit(rep.provider, job, 0, out(rep.provider), fuel);
				},
			TaskPhase::Revealing { .. } =>
				for rep in t.replicas.iter().filter(|x| x.is_open() && x.commitment.is_some() && x.reveal.is_none()) {
					reveal(rep.provider, job, 0, out(rep.provider), fuel);
				},
			TaskPhase::Delivering { .. } => {
				if Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(1)).is_err() {
					deliver(job, 0, junk);
				}
			},
			TaskPhase::Verified | TaskPhase::Failed | TaskPhase::Abandoned => break,
		}
		next_block();
	}
}

fn replica(job: JobId, p: AccountId) -> ReplicaOf<Test> {
	Tasks::<Test>::get(job, 0).unwrap().replicas.into_iter().find(|r| r.provider == p).unwrap()
}

/// Two identities of one owner drawn into a `{3,3,2}` task with one honest provider reveal the
/// same made-up output. They won 2–1 before: the made-up output was verified and paid, the
/// honest provider slashed. Now the split is disputed: five fresh providers decide by a strict
/// majority, the pair loses, pays for the fresh round and is slashed, and the honest provider is
/// paid and never slashed.
#[test]
fn attack_a_sybil_pair_that_outvotes_the_honest_replica_loses_the_dispute() {
	new_test_ext(10).execute_with(|| {
		let job = batch(1, policy(3, 3, 2));
		next_block();
		let round0 = open_providers(job, 0);
		assert_eq!(round0.len(), 3);
		let (pair, honest) = ([round0[0], round0[1]], round0[2]);
		let bonds: Vec<Balance> = round0.iter().map(|p| bond(*p)).collect();
		for p in round0.iter() {
			commit(*p, job, 0, if pair.contains(p) { cid(66) } else { cid(1) }, 10);
		}
		for p in round0.iter() {
			reveal(*p, job, 0, if pair.contains(p) { cid(66) } else { cid(1) }, 10);
		}
		next_block();
		// 2–1 is not a verdict: nothing is agreed, nothing can be delivered, nobody is judged.
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.phase, t.round, t.escalation, t.quorum, t.agreed), (TaskPhase::Committing, 1, 5, 3, None));
		assert!(events().contains(&Event::TaskDisputed { job, task: 0, round: 1, fresh: 5, quorum: 3 }));
		assert!(!events().iter().any(|e| matches!(e, Event::TaskAgreed { .. } | Event::ProviderPaid { .. } | Event::ProviderPenalized { .. })));
		assert_noop!(Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(66)), Error::<Test>::NotDeliveryPhase);
		drive(job, &pair, 10);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.phase, t.result), (TaskPhase::Verified, Some((cid(1), 10))));
		// The fresh round: five providers none of which was in the task.
		let fresh: Vec<_> = t.replicas.iter().filter(|r| r.round == 1).map(|r| r.provider).collect();
		assert_eq!(fresh.len(), 5);
		assert!(fresh.iter().all(|p| !round0.contains(p)));
		let value = 10 * PRICE;
		let h = replica(job, honest);
		assert_eq!((h.outcome, h.paid, h.slashed, bond(honest)), (Some(ReplicaOutcome::Agreed), value, 0, bonds[2]));
		for (i, p) in pair.iter().enumerate() {
			let r = replica(job, *p);
			assert_eq!((r.outcome, r.paid), (Some(ReplicaOutcome::Dissented), 0));
			assert_eq!(r.slashed, bonds[i] / 10);
			assert_eq!(bond(*p), bonds[i] - bonds[i] / 10);
			assert_eq!(<Providers as ProviderRegistry<_, _>>::lifetime_successes(p), 0);
		}
		// The requester paid the honest replica and the fresh round, and the pair paid it back
		// the fresh round: net, one replica's worth, less than an undisputed task at {3,3,2}.
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(j.escrow.paid, 6 * value);
		assert_eq!(j.escrow.compensated, 5 * value);
		assert_eq!(j.status, JobStatus::Completed);
		check_escrow();
	});
}

/// The same attack at every policy `submit_job` accepts: colluders hold every seat of the first
/// round but one and reveal one made-up output; the honest last seat is never outvoted.
#[test]
fn attack_colluders_outvoting_one_honest_replica_lose_at_every_accepted_policy() {
	let most = <<Test as Config>::MaxReplicas as frame_support::traits::Get<u32>>::get() as u8;
	let mut tried = 0;
	for initial in 2..=most {
		for max in initial..=most {
			for quorum in 2..=initial {
				for adaptive in [false, true] {
					let r = ReplicationPolicy { initial, max, quorum, adaptive };
					if !r.survives_one_bad_replica() || (adaptive && max <= quorum) {
						continue
					}
					tried += 1;
					new_test_ext(12).execute_with(|| {
						let job = batch(1, r);
						next_block();
						let round0 = open_providers(job, 0);
						assert_eq!(round0.len(), initial as usize, "{r:?}");
						let (liars, honest) = (round0[..round0.len() - 1].to_vec(), round0[round0.len() - 1]);
						drive(job, &liars, 10);
						let t = Tasks::<Test>::get(job, 0).unwrap();
						assert_eq!(t.result, Some((cid(1), 10)), "{r:?}");
						assert!(t.escalation > 0, "{r:?} decided without a dispute");
						assert_eq!((replica(job, honest).outcome, replica(job, honest).slashed), (Some(ReplicaOutcome::Agreed), 0), "{r:?}");
						for p in liars.iter() {
							let l = replica(job, *p);
							assert_eq!((l.outcome, l.paid), (Some(ReplicaOutcome::Dissented), 0), "{r:?}");
							assert!(l.slashed > 0, "{r:?}");
						}
						let j = Jobs::<Test>::get(job).unwrap();
						// The requester paid, net, no more than an honest task at the policy's
						// quorum would have cost.
						assert!(j.escrow.paid - j.escrow.compensated <= quorum as Balance * 10 * PRICE, "{r:?}: {:?}", j.escrow);
						check_escrow();
					});
				}
			}
		}
	}
	assert!(tried >= 10, "only {tried} policies");
}

/// A survivor of a round that lost a replica is outvoted by a pair drawn into the next round:
/// that pair's agreement is disputed when the output is delivered, before anyone is judged.
/// Before, the survivor was slashed as a dissenter and the pair paid.
#[test]
fn attack_a_pair_in_a_later_round_cannot_outvote_the_survivor_of_an_earlier_one() {
	new_test_ext(10).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		next_block();
		let round0 = open_providers(job, 0);
		let (survivor, silent) = (round0[0], round0[1]);
		commit(survivor, job, 0, cid(1), 10);
		commit(silent, job, 0, cid(1), 10);
		reveal(survivor, job, 0, cid(1), 10);
		// `silent` never reveals: a no-show, and a fresh round of 2 (no dispute: one result).
		for _ in 0..5 {
			next_block();
		}
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.round, t.escalation), (1, 0));
		next_block();
		let pair: Vec<_> = open_providers(job, 0).into_iter().filter(|p| *p != survivor).collect();
		assert_eq!(pair.len(), 2);
		for p in pair.iter() {
			commit(*p, job, 0, cid(66), 10);
		}
		for p in pair.iter() {
			reveal(*p, job, 0, cid(66), 10);
		}
		next_block();
		// Round 1 agrees on the made-up output and it is delivered: the survivor's result
		// disagrees with it, so the task is disputed instead of judged.
		deliver(job, 0, cid(66));
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.phase, t.round, t.escalation, t.result), (TaskPhase::Committing, 2, 5, None));
		assert!(!events().iter().any(|e| matches!(e, Event::ProviderPaid { .. } | Event::TaskVerified { .. })));
		drive(job, &pair, 10);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.result, Some((cid(1), 10)));
		assert_eq!((replica(job, survivor).outcome, replica(job, survivor).slashed), (Some(ReplicaOutcome::Agreed), 0));
		assert_eq!(replica(job, silent).outcome, Some(ReplicaOutcome::NoShow));
		for p in pair {
			assert_eq!(replica(job, p).outcome, Some(ReplicaOutcome::Dissented));
		}
		check_escrow();
	});
}

/// What a dispute's fresh round costs is paid by its losers, beyond the penalty share of their
/// bonds when the task is worth more, up to their whole bonds: here two liars owe 5 fresh
/// replicas × 10,000 and lose their whole bonds (10,000 each) to the requester; the treasury
/// gets nothing from them, and they drop out of the draw.
#[test]
fn the_losers_of_a_dispute_pay_for_its_fresh_round_up_to_their_whole_bonds() {
	new_test_ext(10).execute_with(|| {
		let id = NextJobId::<Test>::get();
		assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), policy(3, 3, 2), 10, 1_000, 200)));
		next_block();
		let round0 = open_providers(id, 0);
		let pair = [round0[0], round0[1]];
		let treasury = Balances::free_balance(TREASURY);
		drive(id, &pair, 1_000);
		let j = Jobs::<Test>::get(id).unwrap();
		assert_eq!(j.escrow.paid, 6 * 10_000);
		for p in pair {
			assert_eq!((replica(id, p).slashed, bond(p)), (10_000, 0));
			assert!(!<Providers as ProviderRegistry<_, _>>::is_eligible(&p, &any_req()));
		}
		assert_eq!(j.escrow.compensated, 20_000);
		assert_eq!(Balances::free_balance(TREASURY), treasury);
		let to_requester: Vec<Balance> = events()
			.iter()
			.filter_map(|e| if let Event::ProviderPenalized { to_requester, .. } = e { Some(*to_requester) } else { None })
			.collect();
		assert_eq!(to_requester, vec![10_000, 10_000]);
		check_escrow();
	});
}

/// A spot-checked solo result that the checkers contradict is disputed too, where providers
/// outside the task exist: the fresh round confirms the checkers, and the cheat pays for it on
/// top of its penalty (its trust is gone).
#[test]
fn a_caught_solo_cheat_pays_for_the_dispute_that_confirms_the_check() {
	new_test_ext(1).execute_with(|| {
		let job = solo_job_then_providers(9);
		commit(1, job, 0, cid(66), 10);
		set_spot_check_rate(Perbill::one());
		next_block();
		let before = bond(1);
		drive(job, &[1], 10);
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(t.result, Some((cid(1), 10)));
		assert!(events().iter().any(|e| matches!(e, Event::TaskDisputed { fresh: 5, .. })));
		let cheat = replica(job, 1);
		assert_eq!(cheat.outcome, Some(ReplicaOutcome::Dissented));
		assert_eq!(before - bond(1), before / 10);
		assert!(!Market::may_run_alone(&Jobs::<Test>::get(job).unwrap(), &1));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.escrow.paid, j.escrow.compensated), (7 * 10, 5 * 10));
		check_escrow();
	});
}

/// `deliver` is charged for judging `MaxReplicas` replicas; a disputed task can have twice as
/// many. Its delivered output is recorded and judged at the start of the next block, in
/// `on_initialize`'s budget; a second delivery meanwhile is refused.
#[test]
fn a_disputed_task_with_more_replicas_than_deliver_pays_for_is_judged_in_the_next_block() {
	new_test_ext(10).execute_with(|| {
		let job = batch(1, policy(3, 3, 2));
		next_block();
		let round0 = open_providers(job, 0);
		let pair = [round0[0], round0[1]];
		let out = |p: AccountId| if pair.contains(&p) { cid(66) } else { cid(1) };
		for _ in 0..50 {
			let t = Tasks::<Test>::get(job, 0).unwrap();
			match t.phase {
				TaskPhase::Committing =>
					for rep in t.replicas.iter().filter(|x| x.is_open() && x.commitment.is_none()) {
						commit(rep.provider, job, 0, out(rep.provider), 10);
					},
				TaskPhase::Revealing { .. } =>
					for rep in t.replicas.iter().filter(|x| x.is_open() && x.commitment.is_some() && x.reveal.is_none()) {
						reveal(rep.provider, job, 0, out(rep.provider), 10);
					},
				_ => break,
			}
			next_block();
		}
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert!(matches!(t.phase, TaskPhase::Delivering { .. }));
		assert_eq!(t.replicas.iter().filter(|r| r.is_open()).count(), 8);
		deliver(job, 0, cid(1));
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert!(matches!(t.phase, TaskPhase::Delivering { .. }));
		assert_eq!(t.result, Some((cid(1), 10)));
		assert!(t.replicas.iter().all(|r| r.is_open()));
		assert_noop!(Market::deliver(RuntimeOrigin::signed(OTHER), job, 0, cid(1)), Error::<Test>::NotDeliveryPhase);
		next_block();
		let t = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((t.phase, t.result), (TaskPhase::Verified, Some((cid(1), 10))));
		assert_eq!(t.replicas.iter().filter(|r| r.outcome == Some(ReplicaOutcome::Agreed)).count(), 6);
		check_escrow();
	});
}

/// `MarketApi::quote` (what clients show and check before signing): exactly what `submit_job`
/// then holds, and for a spec the chain refuses, the error `submit_job` fails with, changing
/// nothing either way.
#[test]
fn quote_is_what_submit_job_holds_and_refuses_what_it_refuses() {
	new_test_ext(3).execute_with(|| {
		let spec = job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1), cid(2), cid(3)], any_req(), policy(2, 4, 2), PRICE, CAP, 200);
		let (budget, deposit) = Market::api_quote(spec.clone()).expect("a valid spec is quoted");
		assert_eq!(NextJobId::<Test>::get(), 0, "quoting creates nothing");
		assert_eq!(escrow_held(REQUESTER), 0);
		assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), spec));
		assert_eq!(escrow_held(REQUESTER), budget);
		assert_eq!(deposit_held(REQUESTER), deposit);
		assert!(budget > 0 && deposit > 0);
		let too_much = job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), policy(2, 4, 2), PRICE, u64::MAX, 200);
		assert_eq!(Market::api_quote(too_much.clone()).map(|_| ()), Market::submit_job(RuntimeOrigin::signed(REQUESTER), too_much));
		let missing = job_spec(cid(MISSING_BYTE), None, JobKind::Batch, vec![cid(1)], any_req(), policy(2, 4, 2), PRICE, CAP, 200);
		assert_eq!(Market::api_quote(missing).map(|_| ()), Err(Error::<Test>::ContentMissing.into()));
	});
}

/// A provider's work log (`ProviderTasks`) tells its history from state alone: each closed
/// replica with its outcome, pay and slash (the same figures as the events, which a pruning
/// node forgets), and lifetime totals.
#[test]
fn the_work_log_records_pay_and_slashes_as_the_events_do() {
	new_test_ext(4).execute_with(|| {
		let job = batch(1, policy(2, 4, 2));
		let ps = one_commits_one_no_shows(job);
		let lazy = ProviderTasks::<Test>::get(ps[1]);
		let slashed = events()
			.iter()
			.find_map(|e| match e {
				Event::ProviderPenalized { provider, slashed, .. } if *provider == ps[1] => Some(*slashed),
				_ => None,
			})
			.expect("the no-show was penalized");
		assert!(slashed > 0);
		assert_eq!((lazy.closed, lazy.earned, lazy.slashed), (1, 0, slashed));
		assert_eq!(
			lazy.recent.to_vec(),
			vec![WorkEntry { job, task: 0, round: 0, outcome: ReplicaOutcome::NoShow, paid: 0, slashed, at: 7 }]
		);
		assert!(lazy.open.is_empty());
		let new = replacement_finishes(job, ps[0]);
		let now = System::block_number();
		for p in [ps[0], new] {
			let paid = events()
				.iter()
				.find_map(|e| match e {
					Event::ProviderPaid { provider, amount, .. } if *provider == p => Some(*amount),
					_ => None,
				})
				.expect("paid");
			let w = ProviderTasks::<Test>::get(p);
			assert_eq!((w.closed, w.earned, w.slashed), (1, paid, 0));
			assert_eq!(w.recent[0].outcome, ReplicaOutcome::Agreed);
			assert_eq!((w.recent[0].paid, w.recent[0].at), (paid, now));
		}
	});
}

#[test]
fn the_work_log_keeps_the_newest_entries_and_totals_beyond_them() {
	let mut w = ProviderWork::<Balance, u64, frame_support::traits::ConstU32<4>>::default();
	let n = WORK_LOG_LEN as u64 + 8;
	for i in 0..n {
		w.log(WorkEntry { job: i, task: 0, round: 0, outcome: ReplicaOutcome::Agreed, paid: i, slashed: 1, at: i });
	}
	assert_eq!(w.recent.len() as u32, WORK_LOG_LEN);
	assert_eq!(w.recent.first().unwrap().job, 8, "the oldest entries left first");
	assert_eq!(w.recent.last().unwrap().job, n - 1, "newest last");
	assert_eq!((w.closed as u64, w.earned, w.slashed), (n, (0..n).sum::<u64>(), n));
}

#[test]
fn the_load_is_read_from_the_records_prefix() {
	new_test_ext(3).execute_with(|| {
		assert_eq!(Market::held(&1), 0, "no record");
		ProviderTasks::<Test>::mutate(1, |w| {
			w.open = BoundedVec::truncate_from(vec![(1, 2), (3, 4), (5, 6)]);
			for i in 0..WORK_LOG_LEN as u64 {
				w.log(WorkEntry { job: i, task: 0, round: 0, outcome: ReplicaOutcome::Declined, paid: 0, slashed: 0, at: 1 });
			}
		});
		assert_eq!(Market::held(&1), 3);
		assert_eq!(<Market as gravity_primitives::ProviderLoad<_>>::load(&1), 3);
	});
}

/// The v0 → v1 migration keeps every provider's open list and starts its log empty; it runs
/// once (the storage version guards it).
#[test]
fn migration_to_v1_keeps_the_open_replicas() {
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	new_test_ext(3).execute_with(|| {
		StorageVersion::new(0).put::<Market>();
		type Old = BoundedVec<(JobId, TaskIndex), <Test as Config>::MaxTasksPerProvider>;
		crate::migrations::v1::old::ProviderTasks::<Test>::insert(7, Old::truncate_from(vec![(1, 2), (3, 4)]));
		crate::migrations::v1::old::ProviderTasks::<Test>::insert(8, Old::truncate_from(vec![]));
		crate::migrations::v1::MigrateToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Market::on_chain_storage_version(), StorageVersion::new(1));
		let w = ProviderTasks::<Test>::get(7);
		assert_eq!(w.open.to_vec(), vec![(1, 2), (3, 4)]);
		assert!(w.recent.is_empty());
		assert_eq!((w.closed, w.earned, w.slashed), (0, 0, 0));
		assert_eq!(Market::held(&7), 2);
		assert!(ProviderTasks::<Test>::contains_key(8));
		// A second run is a no-op: the record is not decoded as an old list again.
		ProviderTasks::<Test>::mutate(7, |w| w.closed = 5);
		crate::migrations::v1::MigrateToV1::<Test>::on_runtime_upgrade();
		assert_eq!(ProviderTasks::<Test>::get(7).closed, 5);
	});
}

// ---------------------------------------------------------------------------------------------
// The governed configuration.
// ---------------------------------------------------------------------------------------------

/// `configure` is root's alone, refuses every out-of-bounds record with the error that names
/// the bound (leaving the configuration as it was), and announces what it set.
#[test]
fn configure_is_admin_only_checked_and_announced() {
	new_test_ext(1).execute_with(|| {
		let good = test_configuration();
		assert_noop!(Market::configure(RuntimeOrigin::signed(REQUESTER), good), sp_runtime::DispatchError::BadOrigin);
		let bad = |f: &dyn Fn(&mut ConfigRecordOf<Test>), e: Error<Test>| {
			let mut c = good;
			f(&mut c);
			assert_noop!(Market::configure(RuntimeOrigin::root(), c), e);
		};
		bad(&|c| c.windows.commit = 3, Error::WindowTooShort);
		bad(&|c| c.windows.reveal = 1, Error::WindowTooShort);
		bad(&|c| c.windows.delivery = 0, Error::WindowTooShort);
		// The no-room rule remembers 64 blocks: a commit window and its extension must fit.
		bad(&|c| { c.windows.commit = 33; c.max_placement_wait = 40 }, Error::WindowTooLong);
		bad(&|c| c.windows.reveal = MAX_JOB_DURATION / 2, Error::WindowTooLong);
		bad(&|c| c.max_placement_wait = 4, Error::PlacementWaitOutOfBounds);
		bad(&|c| c.max_placement_wait = MAX_JOB_DURATION + 1, Error::PlacementWaitOutOfBounds);
		bad(&|c| c.max_deferrals = 0, Error::NoDeferrals);
		bad(&|c| c.queue_deposit = 0, Error::NoQueueDeposit);
		bad(&|c| c.protocol_fee = Perbill::from_percent(51), Error::ProtocolFeeTooHigh);
		bad(&|c| c.slash_fraction = Perbill::from_parts(9_999_999), Error::SlashFractionTooLow);
		bad(&|c| c.max_fuel_cap = 0, Error::FuelCapOutOfBounds);
		bad(&|c| c.max_fuel_cap = MAX_FUEL_CAP + 1, Error::FuelCapOutOfBounds);

		// The bounds themselves are accepted.
		let mut edge = good;
		edge.windows = Windows { commit: 32, reveal: 2, delivery: 2 };
		edge.max_placement_wait = 32;
		edge.max_deferrals = 1;
		edge.queue_deposit = 1;
		edge.protocol_fee = Perbill::from_percent(50);
		edge.slash_fraction = Perbill::from_percent(1);
		edge.max_fuel_cap = 1;
		assert_ok!(Market::configure(RuntimeOrigin::root(), ConfigRecord { max_fuel_cap: MAX_FUEL_CAP, ..edge }));
		assert_ok!(Market::configure(RuntimeOrigin::root(), edge));
		assert_eq!(Configuration::<Test>::get(), edge);
		assert_eq!(events().last(), Some(&Event::ConfigurationSet { configuration: edge }));
		assert_eq!(Market::api_windows(), edge.windows);
	});
}

/// A new commit window applies to the next assignment, not to one already made; the provider
/// nodes read it through the runtime API.
#[test]
fn configured_windows_apply_from_the_next_assignment() {
	new_test_ext(2).execute_with(|| {
		let first = batch(1, policy(2, 4, 2));
		run_to(2);
		let before = Tasks::<Test>::get(first, 0).unwrap().replicas[0].commit_deadline;
		assert_eq!(before, 2 + 5);
		let mut c = test_configuration();
		c.windows.commit = 9;
		assert_ok!(Market::configure(RuntimeOrigin::root(), c));
		let second = batch(1, policy(2, 4, 2));
		run_to(3);
		assert_eq!(Tasks::<Test>::get(first, 0).unwrap().replicas[0].commit_deadline, before, "a set deadline moved");
		for r in Tasks::<Test>::get(second, 0).unwrap().replicas.iter() {
			assert_eq!(r.commit_deadline, 3 + 9);
		}
		assert_eq!(Market::api_windows().commit, 9);
	});
}

/// A lower fuel cap limit refuses the jobs above it from then on.
#[test]
fn a_configured_fuel_cap_limit_refuses_jobs_above_it() {
	new_test_ext(2).execute_with(|| {
		batch(1, policy(2, 4, 2));
		assert_ok!(Market::configure(RuntimeOrigin::root(), ConfigRecord { max_fuel_cap: CAP - 1, ..test_configuration() }));
		let spec = job_spec(cid(0xAA), None, JobKind::Batch, vec![cid(1)], any_req(), policy(2, 4, 2), PRICE, CAP, 200);
		assert_noop!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), spec.clone()), Error::<Test>::FuelCapTooHigh);
		assert_ok!(Market::submit_job(RuntimeOrigin::signed(REQUESTER), JobSpec { fuel_cap: CAP - 1, ..spec }));
	});
}

/// A new queue deposit and protocol fee apply to new jobs and payments; a job submitted before
/// forfeits and gets back exactly what it held, money conserved.
#[test]
fn configured_deposit_and_fee_apply_to_new_jobs_and_payments() {
	new_test_ext(2).execute_with(|| {
		let issuance = Balances::total_issuance();
		let old = batch(2, policy(2, 4, 2));
		assert_eq!(deposit_held(REQUESTER), 4 * QUEUE_DEPOSIT);
		let mut c = test_configuration();
		c.queue_deposit = 50;
		c.protocol_fee = Perbill::from_percent(10);
		assert_ok!(Market::configure(RuntimeOrigin::root(), c));
		let new = batch(1, policy(2, 4, 2));
		assert_eq!(deposit_held(REQUESTER), 4 * QUEUE_DEPOSIT + 2 * 50);
		check_escrow();
		run_to(2);
		let ps = open_providers(new, 0);
		let before: Vec<_> = ps.iter().map(|p| Balances::free_balance(p)).collect();
		honest_round(new, 0, cid(1), 100);
		let value = 100 * PRICE;
		for (p, b) in ps.iter().zip(before) {
			assert_eq!(Balances::free_balance(p), b + value - value / 10, "the new fee applies");
		}
		// Every replica of the old job's first task declines: its task fails and forfeits its
		// share of the deposit held at submission (2 × 7), not at today's rate (2 × 50).
		for p in open_providers(old, 0) {
			assert_ok!(Market::decline(RuntimeOrigin::signed(p), old, 0));
		}
		for _ in 0..30 {
			next_block();
			if Tasks::<Test>::get(old, 0).unwrap().phase == TaskPhase::Failed {
				break
			}
			for p in open_providers(old, 0) {
				let _ = Market::decline(RuntimeOrigin::signed(p), old, 0);
			}
		}
		assert_eq!(Tasks::<Test>::get(old, 0).unwrap().phase, TaskPhase::Failed);
		assert_eq!(Jobs::<Test>::get(old).unwrap().escrow.forfeited, 2 * QUEUE_DEPOSIT);
		check_escrow();
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// A map-reduce job holds a queue deposit for its reducers too; a map task nobody could run
/// forfeits one task's share of it (`initial × rate`), not a share computed over the maps alone.
#[test]
fn a_map_task_nobody_could_run_forfeits_one_tasks_share_of_the_deposit() {
	new_test_ext(2).execute_with(|| {
		let issuance = Balances::total_issuance();
		let kind = JobKind::MapReduce { reduce_program: cid(0xBB), reducers: 2 };
		let job = submit(kind, vec![cid(1), cid(2)], policy(2, 4, 2));
		// 2 maps + 2 reducers, 2 initial replicas each.
		assert_eq!(deposit_held(REQUESTER), 8 * QUEUE_DEPOSIT);
		run_to(2);
		for _ in 0..30 {
			if Tasks::<Test>::get(job, 0).unwrap().phase == TaskPhase::Failed {
				break
			}
			for p in open_providers(job, 0) {
				let _ = Market::decline(RuntimeOrigin::signed(p), job, 0);
			}
			next_block();
		}
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().phase, TaskPhase::Failed);
		assert!(events().contains(&Event::DepositForfeited { job, task: 0, amount: 2 * QUEUE_DEPOSIT }));
		assert_eq!(Jobs::<Test>::get(job).unwrap().escrow.forfeited, 2 * QUEUE_DEPOSIT);
		check_escrow();
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// The v1 → v2 migration writes the runtime's configuration once; a record out of bounds is
/// not written.
#[test]
fn migration_to_v2_writes_the_initial_configuration() {
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	frame_support::parameter_types! {
		pub Initial: ConfigRecordOf<Test> = ConfigRecord { max_deferrals: 7, ..test_configuration() };
		pub Broken: ConfigRecordOf<Test> = ConfigRecord { max_deferrals: 0, ..test_configuration() };
	}
	new_test_ext(0).execute_with(|| {
		Configuration::<Test>::kill();
		StorageVersion::new(1).put::<Market>();
		crate::migrations::v2::MigrateToV2::<Test, Broken>::on_runtime_upgrade();
		assert!(!Configuration::<Test>::exists(), "an out-of-bounds record was written");
		StorageVersion::new(1).put::<Market>();
		crate::migrations::v2::MigrateToV2::<Test, Initial>::on_runtime_upgrade();
		assert_eq!(Market::on_chain_storage_version(), StorageVersion::new(2));
		assert_eq!(Configuration::<Test>::get().max_deferrals, 7);
		Configuration::<Test>::mutate(|c| c.max_deferrals = 2);
		crate::migrations::v2::MigrateToV2::<Test, Initial>::on_runtime_upgrade();
		assert_eq!(Configuration::<Test>::get().max_deferrals, 2, "a second run changed it");
	});
}
