//! Benchmarks of the market's calls and of its per-block work.

use super::*;
use crate::dispatchable_impls::{commitment_of, digest_of};
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::Mutate,
	Get, Hooks, Randomness,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use gravity_primitives::{
	Arch, Capabilities, ContentId, ContentStore, DeviceClass, JobId, ProviderRegistry, Requirements,
	TaskIndex,
};
use sp_runtime::{traits::Saturating, Perbill};

fn caps() -> Capabilities {
	Capabilities {
		device: DeviceClass::Server,
		arch: Arch::X86_64,
		cores: 8,
		memory_mib: 4096,
		gpu_model: Default::default(),
		gpu_score: 0,
		bandwidth_mbps: 100,
		region: Default::default(),
		max_concurrent: 4,
	}
}

fn req() -> Requirements {
	Requirements { arch: Arch::Any, min_memory_mib: 0, gpu: false, min_reputation: Perbill::zero() }
}

fn requester<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&who, BalanceOf::<T>::from(u32::MAX).saturating_mul(1_000_000u32.into()));
	who
}

fn providers<T: Config>(n: u32) -> Vec<T::AccountId> {
	(0..n)
		.map(|i| {
			let p: T::AccountId = account("provider", i, 0);
			T::Providers::register_for_benchmark(&p, caps());
			p
		})
		.collect()
}

/// What a valid submission needs: the program, reduce program and `inputs` inputs stored, and
/// one online provider that matches.
fn market_ready<T: Config>(inputs: u32) {
	for id in [cid(1), cid(2)] {
		T::Content::insert_for_benchmark(&id);
	}
	for i in 0..inputs {
		T::Content::insert_for_benchmark(&content_id(i));
	}
	if T::Providers::class_sizes(&[caps().class()]).iter().all(|s| *s == 0) {
		T::Providers::register_for_benchmark(&account("ready", 0, 0), caps());
	}
}

fn max_replicas<T: Config>() -> u8 {
	T::MaxReplicas::get().min(u8::MAX as u32) as u8
}

fn policy<T: Config>(n: u8) -> ReplicationPolicy {
	ReplicationPolicy { initial: n, max: n, quorum: n, adaptive: false }
}

fn submit<T: Config>(who: &T::AccountId, kind: JobKind, inputs: u32, replicas: u8) -> JobId {
	submit_with::<T>(who, kind, inputs, policy::<T>(replicas))
}

/// Submit a job whose tasks run under `policy`. `submit_job` accepts only policies that survive
/// one bad replica, and a benchmark wants rounds of up to `MaxReplicas` replicas with a quorum
/// of all of them (more work than any accepted policy's round): a policy it would refuse is
/// submitted as an accepted one with the most replicas (escrow for all of them) and the job,
/// its tasks and its queue entries are then given `policy`.
fn submit_with<T: Config>(who: &T::AccountId, kind: JobKind, inputs: u32, policy: ReplicationPolicy) -> JobId {
	market_ready::<T>(inputs);
	let deadline = frame_system::Pallet::<T>::block_number().saturating_add(1_000u32.into());
	let program = cid(1);
	let most = max_replicas::<T>();
	let accepted = if policy.survives_one_bad_replica() {
		policy
	} else {
		ReplicationPolicy { initial: policy.initial.clamp(3, most), max: most, quorum: 2, adaptive: policy.adaptive }
	};
	let tail = QueueTail::<T>::get();
	let spec = JobSpec {
		program,
		source: Some(source()),
		kind,
		inputs: (0..inputs).map(content_id).collect(),
		requirements: req(),
		replication: accepted,
		price_per_fuel: 1u32.into(),
		fuel_cap: 1_000,
		deadline,
	};
	let job = Pallet::<T>::do_submit_job(who.clone(), spec)
	.expect("benchmark job is valid");
	if accepted != policy {
		for i in tail..QueueTail::<T>::get() {
			Queue::<T>::remove(i);
		}
		QueueTail::<T>::put(tail);
		let mut j = Jobs::<T>::get(job).unwrap();
		j.replication = policy;
		for t in 0..j.tasks {
			Tasks::<T>::mutate(job, t, |task| {
				let task = task.as_mut().unwrap();
				task.wanted = policy.initial;
				task.quorum = policy.quorum;
				task.queued = policy.initial;
			});
			for _ in 0..policy.initial {
				Pallet::<T>::enqueue(job, t);
			}
		}
		Jobs::<T>::insert(job, j);
	}
	job
}

/// Give `task` one replica on each of `ps` (bypassing the random draw).
fn assign<T: Config>(job: JobId, task: TaskIndex, ps: &[T::AccountId]) {
	let now = frame_system::Pallet::<T>::block_number();
	let mut t = Tasks::<T>::get(job, task).unwrap();
	for p in ps {
		ProviderTasks::<T>::mutate(p, |w| w.open.try_push((job, task)).unwrap());
		let deadline =
			Pallet::<T>::push_deadline(now.saturating_add(Configuration::<T>::get().windows.commit), job, task);
		t.replicas
			.try_push(Replica {
				provider: p.clone(),
				round: 0,
				assigned_at: now,
				commit_deadline: deadline,
				commitment: None,
				committed_at: None,
				reveal: None,
				paid: Default::default(),
				slashed: Default::default(),
				outcome: None,
				alone: false,
			})
			.unwrap();
	}
	t.queued = 0;
	Tasks::<T>::insert(job, task, t);
	Jobs::<T>::mutate(job, |j| {
		if let Some(j) = j.as_mut() {
			j.assigned_open = j.assigned_open.saturating_add(ps.len() as u32);
		}
	});
	// The queue entries for these replicas are served: drop them.
	QueueHead::<T>::put(QueueTail::<T>::get());
}

/// A distinct content id per index (`H256::from_low_u64_be` is std-only).
fn content_id(i: u32) -> ContentId {
	let mut bytes = [0u8; 32];
	bytes[28..].copy_from_slice(&i.to_be_bytes());
	// Large enough for data locality (`LOCALITY_MIN_BYTES`): assignment tries the holders first.
	ContentId { root: bytes, length: 1 << 30 }
}

/// The content id whose hash is `b` repeated.
fn cid(b: u8) -> ContentId {
	ContentId { root: [b; 32], length: 64 }
}

/// A source peer id of the longest length recorded.
fn source() -> gravity_primitives::PeerIdBytes {
	frame_support::BoundedVec::truncate_from(alloc::vec![7u8; gravity_primitives::MAX_PEER_ID_BYTES as usize])
}

fn salt(i: usize) -> [u8; 32] {
	[i as u8; 32]
}

fn out() -> ContentId {
	cid(0x77)
}

fn digest(job: JobId, task: TaskIndex) -> sp_core::H256 {
	digest_of(&out(), 500, job, task, 0)
}

fn commit_all<T: Config>(job: JobId, task: TaskIndex, ps: &[T::AccountId]) {
	for (i, p) in ps.iter().enumerate() {
		let c = commitment_of(&digest(job, task), 500, p, job, task, &salt(i));
		Pallet::<T>::do_commit(p.clone(), job, task, c).unwrap();
	}
}

/// A one-task batch job whose `MaxReplicas` replicas, one per provider, all committed `out()`.
fn committed_job<T: Config>() -> (JobId, Vec<T::AccountId>) {
	let who = requester::<T>();
	let r = max_replicas::<T>();
	let ps = providers::<T>(r as u32);
	let job = submit::<T>(&who, JobKind::Batch, 1, r);
	assign::<T>(job, 0, &ps);
	commit_all::<T>(job, 0, &ps);
	(job, ps)
}

/// Commit and reveal `out()` on every replica of `ps`, then run the tally: the task waits for
/// delivery.
fn agree<T: Config>(job: JobId, task: TaskIndex, ps: &[T::AccountId]) -> BlockNumberFor<T> {
	commit_all::<T>(job, task, ps);
	for (i, p) in ps.iter().enumerate() {
		Pallet::<T>::do_reveal(p.clone(), job, task, digest(job, task), 500, salt(i)).unwrap();
	}
	let TaskPhase::Revealing { until } = Tasks::<T>::get(job, task).unwrap().phase else {
		panic!("settlement scheduled")
	};
	frame_system::Pallet::<T>::set_block_number(until);
	Pallet::<T>::tick_one_deadline_for_benchmark(job, task, until);
	let TaskPhase::Delivering { until } = Tasks::<T>::get(job, task).unwrap().phase else {
		panic!("agreed")
	};
	until
}

/// A map-reduce job of one map task and `MaxReducers` reducers whose map task's `r`
/// replicas agreed on `out()`, which is stored: the next step is its delivery.
fn agreed_map_job<T: Config>(who: &T::AccountId, r: u8) -> JobId {
	let ps = providers::<T>(r as u32);
	let kind = JobKind::MapReduce { reduce_program: cid(2), reducers: T::MaxReducers::get() };
	let job = submit::<T>(who, kind, 1, r);
	assign::<T>(job, 0, &ps);
	agree::<T>(job, 0, &ps);
	T::Content::insert_for_benchmark(&out());
	job
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// A batch job of `n` inputs → `n` tasks, each queued `MaxReplicas` times (the worst case
	/// for `n` tasks of any kind: `{MaxReplicas, MaxReplicas, 2}` is the accepted policy with the
	/// most initial replicas).
	#[benchmark]
	fn submit_job(n: Linear<1, { T::MaxTasksPerJob::get() }>) {
		let who = requester::<T>();
		market_ready::<T>(n);
		let inputs: Vec<ContentId> = (0..n).map(content_id).collect();
		let deadline = frame_system::Pallet::<T>::block_number().saturating_add(1_000u32.into());
		let spec = JobSpec {
			program: cid(1),
			source: Some(source()),
			kind: JobKind::Batch,
			inputs,
			requirements: req(),
			replication: ReplicationPolicy { initial: max_replicas::<T>(), max: max_replicas::<T>(), quorum: 2, adaptive: false },
			price_per_fuel: BalanceOf::<T>::from(1u32),
			fuel_cap: 1_000u64,
			deadline,
		};
		#[extrinsic_call]
		_(RawOrigin::Signed(who), spec);
		assert_eq!(Jobs::<T>::get(0).unwrap().tasks, n);
	}

	#[benchmark]
	fn cancel_job() {
		let who = requester::<T>();
		let job = submit::<T>(&who, JobKind::Batch, 1, 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job);
		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Cancelled);
	}

	#[benchmark]
	fn commit() {
		let who = requester::<T>();
		let r = max_replicas::<T>();
		let ps = providers::<T>(r as u32);
		let job = submit::<T>(&who, JobKind::Batch, 1, r);
		assign::<T>(job, 0, &ps);
		let c = commitment_of(&sp_core::H256(out().root), 500, &ps[0], job, 0, &salt(0));
		#[extrinsic_call]
		commit(RawOrigin::Signed(ps[0].clone()), job, 0, c);
		assert!(Tasks::<T>::get(job, 0).unwrap().replicas[0].commitment.is_some());
	}

	#[benchmark]
	fn commit_last() {
		let who = requester::<T>();
		let r = max_replicas::<T>();
		let ps = providers::<T>(r as u32);
		let job = submit::<T>(&who, JobKind::Batch, 1, r);
		assign::<T>(job, 0, &ps);
		let last = ps.len() - 1;
		commit_all::<T>(job, 0, &ps[..last]);
		let c = commitment_of(&sp_core::H256(out().root), 500, &ps[last], job, 0, &salt(last));
		#[extrinsic_call]
		commit(RawOrigin::Signed(ps[last].clone()), job, 0, c);
		assert!(matches!(Tasks::<T>::get(job, 0).unwrap().phase, TaskPhase::Revealing { .. }));
	}

	/// Declining one of `MaxReplicas - 1` replicas, the others committed: a replacement is
	/// queued (the costlier path).
	#[benchmark]
	fn decline() {
		let who = requester::<T>();
		let r = max_replicas::<T>().max(2);
		let ps = providers::<T>(r as u32 - 1);
		let policy = ReplicationPolicy { initial: r - 1, max: r, quorum: 1, adaptive: false };
		let job = submit_with::<T>(&who, JobKind::Batch, 1, policy);
		assign::<T>(job, 0, &ps);
		let last = ps.len() - 1;
		commit_all::<T>(job, 0, &ps[..last]);
		#[extrinsic_call]
		decline(RawOrigin::Signed(ps[last].clone()), job, 0);
		let t = Tasks::<T>::get(job, 0).unwrap();
		assert_eq!(t.replicas[last].outcome, Some(ReplicaOutcome::Declined));
		assert_eq!(t.queued, 1);
	}

	#[benchmark]
	fn reveal() {
		let who = requester::<T>();
		let r = max_replicas::<T>().max(2);
		let ps = providers::<T>(r as u32);
		let job = submit::<T>(&who, JobKind::Batch, 1, r);
		assign::<T>(job, 0, &ps);
		commit_all::<T>(job, 0, &ps);
		#[extrinsic_call]
		reveal(RawOrigin::Signed(ps[0].clone()), job, 0, digest(job, 0), 500u64, salt(0));
		assert!(Tasks::<T>::get(job, 0).unwrap().replicas[0].reveal.is_some());
	}

	#[benchmark]
	fn tick_base() {
		let now: BlockNumberFor<T> = 10u32.into();
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
	}

	#[benchmark]
	fn tick_job_deadline() {
		let who = requester::<T>();
		let job = submit::<T>(&who, JobKind::Batch, 1, 1);
		QueueHead::<T>::put(QueueTail::<T>::get());
		let at = Jobs::<T>::get(job).unwrap().deadline;
		#[block]
		{
			Pallet::<T>::on_initialize(at);
		}
		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Expired);
	}

	/// Delivering the output of the last map task of a map-reduce job: its `r` replicas judged
	/// and paid, and the reduce stage queued for the next block (the worst case of `deliver`
	/// with `r` replicas).
	#[benchmark]
	fn deliver(r: Linear<1, { T::MaxReplicas::get() }>) {
		let who = requester::<T>();
		let job = agreed_map_job::<T>(&who, r as u8);
		#[extrinsic_call]
		deliver(RawOrigin::Signed(who.clone()), job, 0, out());
		assert_eq!(Tasks::<T>::get(job, 0).unwrap().phase, TaskPhase::Verified);
		let next = frame_system::Pallet::<T>::block_number() + 1u32.into();
		assert_eq!(ReduceStarts::<T>::get(next).into_inner(), alloc::vec![job]);
	}

	/// Starting the reduce stage of a map-reduce job: `MaxReducers` tasks created, each with
	/// `MaxReplicas` queue entries.
	#[benchmark]
	fn tick_reduce_start() {
		let who = requester::<T>();
		let job = agreed_map_job::<T>(&who, max_replicas::<T>());
		Pallet::<T>::do_deliver(job, 0, out()).unwrap();
		let mut j = Jobs::<T>::get(job).unwrap();
		#[block]
		{
			Pallet::<T>::start_reduce(job, &mut j);
		}
		assert_eq!(j.stage, Stage::Reduce);
		assert_eq!(j.tasks, 1 + T::MaxReducers::get());
	}

	/// The worst deadline: an agreed result nobody delivered. Every replica is penalized (a
	/// slash each), the task fails and the job ends with its refund.
	#[benchmark]
	fn tick_task_deadline() {
		let who = requester::<T>();
		let r = max_replicas::<T>();
		let ps = providers::<T>(r as u32);
		let job = submit::<T>(&who, JobKind::Batch, 1, r);
		assign::<T>(job, 0, &ps);
		let until = agree::<T>(job, 0, &ps);
		frame_system::Pallet::<T>::set_block_number(until);
		#[block]
		{
			Pallet::<T>::tick_one_deadline_for_benchmark(job, 0, until);
		}
		assert_eq!(Tasks::<T>::get(job, 0).unwrap().phase, TaskPhase::Failed);
		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Failed);
	}

	/// A deadline the task has moved past: every replica committed and the reveal phase is
	/// open, so a commit deadline finds nothing to do. It reads the task and the job and
	/// changes nothing.
	#[benchmark]
	fn tick_task_deadline_idle() {
		let (job, _) = committed_job::<T>();
		let at = frame_system::Pallet::<T>::block_number();
		assert!(matches!(Tasks::<T>::get(job, 0).unwrap().phase, TaskPhase::Revealing { until } if until > at));
		let before = Tasks::<T>::get(job, 0).unwrap();
		let worked;
		#[block]
		{
			worked = Pallet::<T>::task_deadline(job, 0, at);
		}
		assert_eq!(worked, crate::tick_impls::DeadlineWork::Idle);
		assert_eq!(codec::Encode::encode(&Tasks::<T>::get(job, 0).unwrap()), codec::Encode::encode(&before));
	}

	/// Tallying a round whose `MaxReplicas` replicas all revealed the same result: the task
	/// agrees and waits for delivery (a delivery deadline is scheduled).
	#[benchmark]
	fn tick_settle() {
		let (job, ps) = committed_job::<T>();
		for (i, p) in ps.iter().enumerate() {
			Pallet::<T>::do_reveal(p.clone(), job, 0, digest(job, 0), 500, salt(i)).unwrap();
		}
		let TaskPhase::Revealing { until } = Tasks::<T>::get(job, 0).unwrap().phase else {
			panic!("all revealed")
		};
		frame_system::Pallet::<T>::set_block_number(until);
		let work;
		#[block]
		{
			work = Pallet::<T>::task_deadline(job, 0, until);
		}
		assert_eq!(work, crate::tick_impls::DeadlineWork::Settled);
		assert!(matches!(Tasks::<T>::get(job, 0).unwrap().phase, TaskPhase::Delivering { .. }));
	}

	/// Drawing solo or spot check for a task whose only replica (on a trusted provider)
	/// committed: `s = 0` it runs alone (the reveals open), `s = 1` a spot check queueing
	/// `quorum = MaxReplicas - 1` checkers (the most an accepted policy can ask).
	#[benchmark]
	fn tick_decide(s: Linear<0, 1>) {
		let who = requester::<T>();
		let r = max_replicas::<T>();
		let ps = providers::<T>(1);
		let policy = ReplicationPolicy { initial: r, max: r, quorum: r - 1, adaptive: true };
		let job = submit_with::<T>(&who, JobKind::Batch, 1, policy);
		assign::<T>(job, 0, &ps);
		Tasks::<T>::mutate(job, 0, |t| {
			let t = t.as_mut().unwrap();
			t.wanted = 1;
			t.quorum = 1;
			t.check_pending = true;
		});
		commit_all::<T>(job, 0, &ps);
		let at = frame_system::Pallet::<T>::block_number() + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(at);
		let work;
		#[block]
		{
			work = Pallet::<T>::task_deadline_with(job, 0, at, Some(s == 0));
		}
		assert_eq!(work, crate::tick_impls::DeadlineWork::Decided { spot_check: s == 1 });
		let t = Tasks::<T>::get(job, 0).unwrap();
		if s == 1 {
			assert_eq!((t.wanted, t.queued, t.round), (r, r - 1, 1));
		} else {
			assert!(t.trusted && matches!(t.phase, TaskPhase::Revealing { .. }));
		}
	}

	/// Placing one replica with `p` providers registered: the cost must not grow with `p`.
	#[benchmark]
	fn tick_assign(p: Linear<10, 10_000>) {
		let who = requester::<T>();
		providers::<T>(p);
		let job = submit::<T>(&who, JobKind::Batch, 1, 1);
		let now = frame_system::Pallet::<T>::block_number();
		let local;
		#[block]
		{
			local = Pallet::<T>::place_replica(job, 0, now, now).1;
		}
		assert!(!local);
		assert_eq!(Tasks::<T>::get(job, 0).unwrap().replicas.len(), 1);
	}

	/// Placing the first replica of a task with a large input (data locality): the job's 4
	/// data holders are tried first and none can take it (the worst case), then the draw.
	#[benchmark]
	fn tick_assign_local(p: Linear<10, 10_000>) {
		let who = requester::<T>();
		providers::<T>(p);
		let job = submit::<T>(&who, JobKind::Batch, 1, 2);
		let holders: Vec<T::AccountId> = (0..crate::MAX_DATA_HOLDERS).map(|i| account("holder", i, 0)).collect();
		DataHolders::<T>::insert(job, frame_support::BoundedVec::truncate_from(holders));
		let now = frame_system::Pallet::<T>::block_number();
		let local;
		#[block]
		{
			local = Pallet::<T>::place_replica(job, 0, now, now).1;
		}
		assert!(local);
		assert_eq!(Tasks::<T>::get(job, 0).unwrap().replicas.len(), 1);
	}

	/// Serving a queue entry of a task that already has the replicas it wants (the spare entry
	/// of an adaptive task that runs alone): read and let go.
	#[benchmark]
	fn tick_assign_not_needed() {
		let who = requester::<T>();
		let ps = providers::<T>(1);
		let job = submit::<T>(&who, JobKind::Batch, 1, 1);
		assign::<T>(job, 0, &ps);
		Tasks::<T>::mutate(job, 0, |t| t.as_mut().unwrap().queued = 1);
		let now = frame_system::Pallet::<T>::block_number();
		let placed;
		#[block]
		{
			placed = Pallet::<T>::place_replica(job, 0, now, now).0;
		}
		assert!(placed == crate::assign_impls::Placement::NotNeeded);
		assert_eq!(Tasks::<T>::get(job, 0).unwrap().queued, 0);
	}

	/// Control for `tick_assign` (not a call's weight): the same storage reads as placing one
	/// replica — job, task, class sizes, randomness, one class slot, the provider's record,
	/// reputation and task list, the deadline slot — without the assignment. Whatever this grows
	/// with `p` is the cost of reading maps of `p` entries (a deeper trie), not assignment work.
	#[benchmark]
	fn tick_assign_storage_only(p: Linear<10, 10_000>) {
		let who = requester::<T>();
		providers::<T>(p);
		let job = submit::<T>(&who, JobKind::Batch, 1, 1);
		let now = frame_system::Pallet::<T>::block_number();
		let class = caps().class();
		let slot = p / 2;
		let found;
		#[block]
		{
			let j = Jobs::<T>::get(job);
			let t = Tasks::<T>::get(job, 0);
			let sizes = T::Providers::class_sizes(&[class]);
			let seed = T::Randomness::random(b"gravity/assign").0;
			let chosen = T::Providers::pick(&class, slot);
			let mut load = None;
			if let Some(c) = chosen.as_ref() {
				load = Some((
					T::Providers::is_eligible(c, &req()),
					T::Providers::reputation(c),
					Pallet::<T>::held(c),
				));
			}
			let d = DeadlineAt::<T>::contains_key(now.saturating_add(Configuration::<T>::get().windows.commit), (job, 0));
			found = core::hint::black_box((j.is_some(), t.is_some(), sizes, seed, chosen, load, d));
		}
		assert!(found.0 && found.1 && found.4.is_some());
	}

	/// Setting the governed configuration (one bounds check, one write, one event).
	#[benchmark]
	fn configure() -> Result<(), BenchmarkError> {
		let origin = <T::AdminOrigin as frame_support::traits::EnsureOrigin<T::RuntimeOrigin>>::try_successful_origin()
			.map_err(|_| BenchmarkError::Weightless)?;
		let mut c = Configuration::<T>::get();
		c.windows.reveal = c.windows.reveal.saturating_add(1u32.into());
		#[extrinsic_call]
		configure(origin as T::RuntimeOrigin, c);
		assert_eq!(Configuration::<T>::get(), c);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(0), crate::mock::Test);
}

impl<T: Config> Pallet<T> {
	/// Benchmarks only: process one task deadline.
	pub(crate) fn tick_one_deadline_for_benchmark(job: JobId, task: TaskIndex, now: BlockNumberFor<T>) {
		let _ = Self::task_deadline(job, task, now);
	}
}

