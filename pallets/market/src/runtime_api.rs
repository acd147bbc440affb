//! The runtime API of the market: what clients and provider nodes read.

use crate::{Job, Task};
use alloc::vec::Vec;
use codec::Codec;
use gravity_primitives::{JobId, TaskIndex};

sp_api::decl_runtime_apis! {
	/// Read access to jobs, tasks and assignments.
	/// `ReplicaBound` is the bound of a task's replicas (`ReplicaBoundOf<Runtime>`).
	pub trait MarketApi<AccountId, Balance, BlockNumber, ReplicaBound>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
		ReplicaBound: frame_support::traits::Get<u32>,
	{
		/// The tasks currently assigned to `provider`, with their job and task records.
		fn assignments(provider: AccountId) -> Vec<(JobId, TaskIndex, Task<AccountId, Balance, BlockNumber, ReplicaBound>)>;
		/// A job.
		fn job(job: JobId) -> Option<Job<AccountId, Balance, BlockNumber>>;
		/// A task of a job.
		fn task(job: JobId, task: TaskIndex) -> Option<Task<AccountId, Balance, BlockNumber, ReplicaBound>>;
		/// The verified outputs of a job's tasks, by task index (`None`: not verified).
		fn outputs(job: JobId) -> Vec<Option<(gravity_primitives::ContentId, u64)>>;
		/// The market's windows in blocks, as the chain runs them now (provider nodes pace
		/// themselves by these, not by constants compiled into them).
		fn windows() -> crate::Windows<BlockNumber>;
		/// What submitting `spec` now would hold from its requester, `(escrow budget, queue
		/// deposit)`, or the error `submit_job` would fail with (every check but the
		/// requester's balance): clients check a job, and show its cost, before anything is
		/// signed.
		fn quote(spec: crate::JobSpec<Balance, BlockNumber>) -> Result<(Balance, Balance), sp_runtime::DispatchError>;
	}
}

impl<T: crate::Config> crate::Pallet<T> {
	/// For the runtime API: the tasks `provider` holds.
	pub fn api_assignments(
		provider: &T::AccountId,
	) -> Vec<(JobId, TaskIndex, crate::TaskOf<T>)> {
		crate::ProviderTasks::<T>::get(provider)
			.open
			.into_iter()
			.filter_map(|(j, t)| crate::Tasks::<T>::get(j, t).map(|task| (j, t, task)))
			.collect()
	}

	/// For the runtime API: the windows of the configuration in force.
	pub fn api_windows() -> crate::Windows<frame_system::pallet_prelude::BlockNumberFor<T>> {
		crate::Configuration::<T>::get().windows
	}

	/// For the runtime API: verified outputs by task index.
	pub fn api_outputs(job: JobId) -> Vec<Option<(gravity_primitives::ContentId, u64)>> {
		let n = crate::Jobs::<T>::get(job).map_or(0, |j| j.tasks);
		(0..n).map(|i| crate::Tasks::<T>::get(job, i).and_then(|t| t.result)).collect()
	}
}
