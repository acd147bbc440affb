//! Storage migrations of the market.
//!
//! - [`v1::MigrateToV1`]: `ProviderTasks` held a provider's open `(job, task)` list; since
//!   version 1 it holds a [`ProviderWork`](crate::ProviderWork) record: that list, then the
//!   provider's work log and lifetime totals (which start empty: the chain did not keep them
//!   before). Add `pallet_gravity_market::migrations::v1::MigrateToV1<Runtime>` to the runtime's
//!   migrations for the upgrade that brings storage version 1.
//! - [`v2::MigrateToV2`]: the windows, placement limits, queue deposit, protocol fee, spot-check
//!   rate and slash fraction were `Config` constants; since version 2 they are the governed
//!   [`Configuration`](crate::Configuration), which the migration writes from the runtime's
//!   values (`Initial`), so the upgrade changes none of them.

use crate::*;
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use gravity_primitives::{JobId, TaskIndex};

pub mod v1 {
	use super::*;

	/// Version 0 of `ProviderTasks`: the open `(job, task)` list alone (the tests write it).
	#[cfg(test)]
	pub(crate) mod old {
		use super::*;

		#[frame_support::storage_alias]
		pub type ProviderTasks<T: Config> = StorageMap<
			Pallet<T>,
			Blake2_128Concat,
			<T as frame_system::Config>::AccountId,
			BoundedVec<(JobId, TaskIndex), <T as Config>::MaxTasksPerProvider>,
			ValueQuery,
		>;
	}

	/// Rewrites every `ProviderTasks` value into a `ProviderWork` record with the same open
	/// list. One read and one write per provider holding a record (a provider that never held
	/// a replica has none); run once, at the upgrade.
	pub struct UncheckedMigrateToV1<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV1<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut count = 0u64;
			ProviderTasks::<T>::translate::<BoundedVec<(JobId, TaskIndex), T::MaxTasksPerProvider>, _>(|_, open| {
				count = count.saturating_add(1);
				Some(ProviderWorkOf::<T> { open, ..Default::default() })
			});
			log::info!(target: "gravity-market", "migrated {count} ProviderTasks records to v1 (ProviderWork)");
			T::DbWeight::get().reads_writes(count, count)
		}
	}

	/// [`UncheckedMigrateToV1`] run only when the on-chain storage version is 0, which it
	/// then sets to 1.
	pub type MigrateToV1<T> =
		VersionedMigration<0, 1, UncheckedMigrateToV1<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;
}

pub mod v2 {
	use super::*;

	/// Writes `Initial` (checked as `configure` checks it; an out-of-bounds record is not
	/// written and the pallet's default stays in force) as the governed configuration. One
	/// write; run once, at the upgrade.
	pub struct UncheckedMigrateToV2<T, Initial>(core::marker::PhantomData<(T, Initial)>);

	impl<T: Config, Initial: Get<ConfigRecordOf<T>>> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV2<T, Initial> {
		fn on_runtime_upgrade() -> Weight {
			let initial = Initial::get();
			match Pallet::<T>::check_configuration(&initial) {
				Ok(()) => Configuration::<T>::put(initial),
				Err(e) => log::error!(target: "gravity-market", "v2: the initial configuration is out of bounds ({e:?}); the default stays"),
			}
			T::DbWeight::get().writes(1)
		}
	}

	/// [`UncheckedMigrateToV2`] run only when the on-chain storage version is 1, which it then
	/// sets to 2.
	pub type MigrateToV2<T, Initial> = VersionedMigration<
		1,
		2,
		UncheckedMigrateToV2<T, Initial>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
