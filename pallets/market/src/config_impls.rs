//! The governed configuration (`Configuration`, `ConfigRecord`): its default, its bounds, the
//! `configure` call, and the `Get` adapters through which the payout, penalty and trust policies
//! read the protocol fee, the slash fraction and the spot-check rate from it.

use crate::*;
use frame_support::{pallet_prelude::*, traits::fungible::Inspect};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

/// Shortest commit window: a provider fetches, runs and commits in it.
pub const MIN_COMMIT_WINDOW: u32 = 4;
/// Shortest reveal and delivery windows.
pub const MIN_REVEAL_WINDOW: u32 = 2;
/// Largest protocol fee.
pub const MAX_PROTOCOL_FEE: Perbill = Perbill::from_percent(50);
/// Smallest slash fraction.
pub const MIN_SLASH_FRACTION: Perbill = Perbill::from_percent(1);

/// The configuration of a chain whose genesis did not set one: one-minute commit window at
/// six-second blocks, half a minute to reveal and to deliver, half an hour of placement wait,
/// four fruitless placement tries, a 5 % protocol fee, 10 % of solo runs spot-checked and 10 %
/// of the bond slashed, the hard bound as the largest fuel cap, and a queue deposit of the currency's existential deposit (at least 1).
/// The runtime's genesis presets set the chain's own values.
pub struct DefaultConfiguration<T>(PhantomData<T>);

impl<T: Config> Get<ConfigRecordOf<T>> for DefaultConfiguration<T> {
	fn get() -> ConfigRecordOf<T> {
		let blocks = |n: u32| -> BlockNumberFor<T> { n.into() };
		let existential = T::Currency::minimum_balance();
		ConfigRecord {
			windows: Windows { commit: blocks(10), reveal: blocks(5), delivery: blocks(5) },
			max_placement_wait: blocks(300),
			max_deferrals: 4,
			queue_deposit: if existential.is_zero() { 1u32.into() } else { existential },
			protocol_fee: Perbill::from_percent(5),
			spot_check_rate: Perbill::from_percent(10),
			slash_fraction: Perbill::from_percent(10),
			max_fuel_cap: T::MaxFuelCap::get(),
		}
	}
}

/// The protocol fee of the configuration in force (for `policy::FeeAndValueCredit`).
pub struct ConfiguredProtocolFee<T>(PhantomData<T>);
impl<T: Config> Get<Perbill> for ConfiguredProtocolFee<T> {
	fn get() -> Perbill {
		Configuration::<T>::get().protocol_fee
	}
}

/// The spot-check rate of the configuration in force (for `policy::SpotCheckedTrust`).
pub struct ConfiguredSpotCheckRate<T>(PhantomData<T>);
impl<T: Config> Get<Perbill> for ConfiguredSpotCheckRate<T> {
	fn get() -> Perbill {
		Configuration::<T>::get().spot_check_rate
	}
}

/// The slash fraction of the configuration in force (for `policy::SlashTo`).
pub struct ConfiguredSlashFraction<T>(PhantomData<T>);
impl<T: Config> Get<Perbill> for ConfiguredSlashFraction<T> {
	fn get() -> Perbill {
		Configuration::<T>::get().slash_fraction
	}
}

impl<T: Config> Pallet<T> {
	/// The configuration in force.
	pub(crate) fn config() -> ConfigRecordOf<T> {
		Configuration::<T>::get()
	}

	/// Check `c` against the bounds `configure` enforces (the errors say which).
	pub fn check_configuration(c: &ConfigRecordOf<T>) -> Result<(), Error<T>> {
		let w = c.windows;
		ensure!(
			w.commit >= MIN_COMMIT_WINDOW.into() &&
				w.reveal >= MIN_REVEAL_WINDOW.into() &&
				w.delivery >= MIN_REVEAL_WINDOW.into(),
			Error::<T>::WindowTooShort
		);
		let total = w.commit.saturating_add(w.reveal).saturating_add(w.delivery);
		let half_job = T::MaxJobDuration::get() / 2u32.into();
		ensure!(
			w.commit.saturating_mul(2u32.into()) <= BlockNumberFor::<T>::from(ROOM_HISTORY) && total <= half_job,
			Error::<T>::WindowTooLong
		);
		ensure!(
			c.max_placement_wait >= w.commit && c.max_placement_wait <= T::MaxJobDuration::get(),
			Error::<T>::PlacementWaitOutOfBounds
		);
		ensure!(c.max_deferrals >= 1, Error::<T>::NoDeferrals);
		ensure!(!c.queue_deposit.is_zero(), Error::<T>::NoQueueDeposit);
		ensure!(c.protocol_fee <= MAX_PROTOCOL_FEE, Error::<T>::ProtocolFeeTooHigh);
		ensure!(c.slash_fraction >= MIN_SLASH_FRACTION, Error::<T>::SlashFractionTooLow);
		ensure!(c.max_fuel_cap >= 1 && c.max_fuel_cap <= T::MaxFuelCap::get(), Error::<T>::FuelCapOutOfBounds);
		Ok(())
	}

	/// `configure`: check and store `configuration`.
	pub(crate) fn do_configure(configuration: ConfigRecordOf<T>) -> DispatchResult {
		Self::check_configuration(&configuration)?;
		Configuration::<T>::put(configuration);
		Self::deposit_event(Event::ConfigurationSet { configuration });
		Ok(())
	}
}
