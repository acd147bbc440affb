//! The logic behind each call of the provider registry.

use crate::*;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::Precision,
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use gravity_primitives::{Arch, Capabilities, ClassKey, EndpointProof, PeerIdBytes, CLASS_COUNT};
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
	pub(crate) fn check_capabilities(c: &Capabilities) -> DispatchResult {
		ensure!(
			c.cores > 0 &&
				c.memory_mib > 0 &&
				c.max_concurrent > 0 &&
				c.max_concurrent <= T::MaxConcurrent::get() &&
				c.arch != Arch::Any,
			Error::<T>::InvalidCapabilities
		);
		Ok(())
	}

	pub(crate) fn do_register(
		who: T::AccountId,
		capabilities: Capabilities,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		ensure!(!Providers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
		ensure!(bond >= T::MinBond::get(), Error::<T>::BondTooLow);
		Self::check_capabilities(&capabilities)?;
		let class = capabilities.class();
		ensure!(Self::class_size(&class) < T::MaxProvidersPerClass::get(), Error::<T>::ClassFull);
		T::Currency::hold(&HoldReason::ProviderBond.into(), &who, bond)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		let now = frame_system::Pallet::<T>::block_number();
		let mut info = ProviderInfo {
			capabilities,
			bond,
			status: ProviderStatus::Online,
			registered_at: now,
			last_heartbeat: now,
			slot: None,
		};
		Self::index_insert(&who, &mut info)?;
		Providers::<T>::insert(&who, info);
		ProviderCount::<T>::mutate(|c| *c = c.saturating_add(1));
		Reputations::<T>::mutate(&who, |r| {
			if r.updated_at == Default::default() {
				r.updated_at = now;
			}
		});
		Self::deposit_event(Event::Registered { provider: who, bond, class });
		Ok(())
	}

	pub(crate) fn do_update_capabilities(
		who: T::AccountId,
		capabilities: Capabilities,
	) -> DispatchResult {
		Self::check_capabilities(&capabilities)?;
		Providers::<T>::try_mutate(&who, |maybe| -> DispatchResult {
			let info = maybe.as_mut().ok_or(Error::<T>::NotProvider)?;
			let was_indexed = info.slot.is_some();
			if was_indexed {
				Self::index_remove(&who, info);
			}
			let changed = info.capabilities != capabilities;
			let old = core::mem::replace(&mut info.capabilities, capabilities);
			if was_indexed {
				if let Err(e) = Self::index_insert(&who, info) {
					// Put the provider back where it was: no state change on error.
					info.capabilities = old;
					Self::index_insert(&who, info)?;
					return Err(e)
				}
			}
			if changed {
				// Trust was earned on the old machine: it does not carry over to a new one
				// (declaring what one never ran is how trust would otherwise be farmed).
				Reputations::<T>::mutate(&who, |r| {
					r.successes = 0;
					r.trusted_work = 0;
				});
			}
			Self::deposit_event(Event::CapabilitiesUpdated {
				provider: who.clone(),
				class: info.capabilities.class(),
			});
			Ok(())
		})
	}

	/// Returns whether the heartbeat was due (at least a quarter of `HeartbeatTimeout` after the
	/// previous one): a due heartbeat is free, an early one pays its fee.
	pub(crate) fn do_heartbeat(who: T::AccountId) -> Result<bool, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut due = false;
		Providers::<T>::try_mutate(&who, |maybe| -> DispatchResult {
			let info = maybe.as_mut().ok_or(Error::<T>::NotProvider)?;
			ensure!(!matches!(info.status, ProviderStatus::Unbonding { .. }), Error::<T>::Unbonding);
			if info.slot.is_none() {
				ensure!(info.bond >= T::MinBond::get(), Error::<T>::BondTooLow);
				Self::index_insert(&who, info)?;
			}
			due = now.saturating_sub(info.last_heartbeat) >= T::HeartbeatTimeout::get() / 4u32.into();
			info.status = ProviderStatus::Online;
			info.last_heartbeat = now;
			Ok(())
		})?;
		Self::deposit_event(Event::Heartbeat { provider: who });
		Ok(due)
	}

	pub(crate) fn do_go_offline(who: T::AccountId) -> DispatchResult {
		Providers::<T>::try_mutate(&who, |maybe| -> DispatchResult {
			let info = maybe.as_mut().ok_or(Error::<T>::NotProvider)?;
			ensure!(!matches!(info.status, ProviderStatus::Unbonding { .. }), Error::<T>::Unbonding);
			Self::index_remove(&who, info);
			info.status = ProviderStatus::Offline;
			Ok(())
		})?;
		Self::deposit_event(Event::WentOffline { provider: who });
		Ok(())
	}

	pub(crate) fn do_deregister(who: T::AccountId) -> DispatchResult {
		let until = frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		Providers::<T>::try_mutate(&who, |maybe| -> DispatchResult {
			let info = maybe.as_mut().ok_or(Error::<T>::NotProvider)?;
			ensure!(<T::Load as gravity_primitives::ProviderLoad<_>>::load(&who) == 0, Error::<T>::HasActiveTasks);
			ensure!(!matches!(info.status, ProviderStatus::Unbonding { .. }), Error::<T>::Unbonding);
			Self::index_remove(&who, info);
			info.status = ProviderStatus::Unbonding { until };
			Ok(())
		})?;
		Self::deposit_event(Event::Deregistered { provider: who, until });
		Ok(())
	}

	pub(crate) fn do_set_endpoint(who: T::AccountId, peer_id: PeerIdBytes, proof: EndpointProof) -> DispatchResult {
		ensure!(Providers::<T>::contains_key(&who), Error::<T>::NotProvider);
		ensure!(!peer_id.is_empty(), Error::<T>::EmptyEndpoint);
		let key = gravity_primitives::peer_id_ed25519_key(&peer_id).ok_or(Error::<T>::EndpointNotEd25519)?;
		let message = gravity_primitives::endpoint_proof_message(&who);
		let proven = sp_runtime::traits::Verify::verify(
			&sp_core::ed25519::Signature::from_raw(proof),
			&message[..],
			&sp_core::ed25519::Public::from_raw(key),
		);
		ensure!(proven, Error::<T>::EndpointNotProven);
		Endpoints::<T>::insert(&who, peer_id.clone());
		Self::deposit_event(Event::EndpointSet { provider: who, peer_id });
		Ok(())
	}

	pub(crate) fn do_withdraw_bond(who: T::AccountId) -> DispatchResult {
		let info = Providers::<T>::get(&who).ok_or(Error::<T>::NotProvider)?;
		let ProviderStatus::Unbonding { until } = info.status else {
			return Err(Error::<T>::NotUnbonding.into())
		};
		ensure!(frame_system::Pallet::<T>::block_number() >= until, Error::<T>::StillUnbonding);
		// A provider that is unbonding holds no tasks (checked at deregister, and no task is
		// assigned to a provider outside the index), so the whole bond is free to go.
		let held = <T::Currency as InspectHold<T::AccountId>>::balance_on_hold(&HoldReason::ProviderBond.into(), &who);
		let amount = info.bond.min(held);
		T::Currency::release(&HoldReason::ProviderBond.into(), &who, amount, Precision::BestEffort)?;
		Providers::<T>::remove(&who);
		Endpoints::<T>::remove(&who);
		ProviderCount::<T>::mutate(|c| *c = c.saturating_sub(1));
		Self::deposit_event(Event::BondWithdrawn { provider: who, amount });
		Ok(())
	}

	/// Put `who` into the index of its class; sets `info.slot`.
	pub(crate) fn index_insert(who: &T::AccountId, info: &mut ProviderInfoOf<T>) -> DispatchResult {
		if info.slot.is_some() {
			return Ok(())
		}
		let class = info.capabilities.class();
		let size = Self::class_size(&class);
		ensure!(size < T::MaxProvidersPerClass::get(), Error::<T>::ClassFull);
		ClassMembers::<T>::insert(class, size, who);
		Self::set_class_size(&class, size.saturating_add(1));
		info.slot = Some((class, size));
		Ok(())
	}

	/// Take `who` out of its class index (swap-remove: O(1)); clears `info.slot`.
	pub(crate) fn index_remove(who: &T::AccountId, info: &mut ProviderInfoOf<T>) {
		let Some((class, slot)) = info.slot.take() else { return };
		let size = Self::class_size(&class);
		let last = size.saturating_sub(1);
		if slot != last {
			if let Some(moved) = ClassMembers::<T>::get(class, last) {
				ClassMembers::<T>::insert(class, slot, &moved);
				if &moved != who {
					Providers::<T>::mutate(&moved, |m| {
						if let Some(m) = m.as_mut() {
							m.slot = Some((class, slot));
						}
					});
				}
			}
		}
		ClassMembers::<T>::remove(class, last);
		Self::set_class_size(&class, last);
	}

	/// The size of every class, by [`ClassKey::index`] (one read).
	pub(crate) fn class_size_table() -> [u32; CLASS_COUNT] {
		ClassSizes::<T>::get().unwrap_or([0; CLASS_COUNT])
	}

	/// `class`'s entry in a size table (0 for a class no provider can have).
	pub(crate) fn size_in(table: &[u32; CLASS_COUNT], class: &ClassKey) -> u32 {
		class.index().map_or(0, |i| table[i])
	}

	/// Number of indexed providers in `class`.
	pub fn class_size(class: &ClassKey) -> u32 {
		Self::size_in(&Self::class_size_table(), class)
	}

	fn set_class_size(class: &ClassKey, size: u32) {
		let Some(i) = class.index() else { return };
		ClassSizes::<T>::mutate(|sizes| sizes.get_or_insert([0; CLASS_COUNT])[i] = size);
	}

	/// Is the last heartbeat of `info` recent enough?
	pub(crate) fn is_live(info: &ProviderInfoOf<T>, now: BlockNumberFor<T>) -> bool {
		now.saturating_sub(info.last_heartbeat) <= T::HeartbeatTimeout::get()
	}
}
