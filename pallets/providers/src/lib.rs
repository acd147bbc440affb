#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod dispatchable_impls;
mod registry_impls;
pub mod runtime_api;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use gravity_primitives::{Capabilities, ClassKey, EndpointProof, PeerIdBytes, CLASS_COUNT};
	use sp_runtime::Perbill;

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type ProviderInfoOf<T> = ProviderInfo<BalanceOf<T>, BlockNumberFor<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
		/// The currency bonds are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The smallest bond a provider may register with.
		#[pallet::constant]
		type MinBond: Get<BalanceOf<Self>>;
		/// Blocks between `deregister` and `withdraw_bond`.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// A provider whose last heartbeat is older than this is not assigned new work.
		#[pallet::constant]
		type HeartbeatTimeout: Get<BlockNumberFor<Self>>;
		/// Length of one reputation decay period, in blocks.
		#[pallet::constant]
		type DecayPeriod: Get<BlockNumberFor<Self>>;
		/// Share of the reputation counters kept after each decay period.
		#[pallet::constant]
		type DecayKeep: Get<Perbill>;
		/// Unjustified declines (of tasks others went on to run) a provider may make for free:
		/// a decayed count, like the reputation counters.
		#[pallet::constant]
		type FreeDeclines: Get<u32>;
		/// What each unjustified decline past `FreeDeclines` costs, as a share of one failure in
		/// the reputation score (a no-show costs a whole one).
		#[pallet::constant]
		type DeclineCost: Get<Perbill>;
		/// Upper bound on the number of providers in one capability class.
		#[pallet::constant]
		type MaxProvidersPerClass: Get<u32>;
		/// Upper bound on `Capabilities::max_concurrent`.
		#[pallet::constant]
		type MaxConcurrent: Get<u16>;
		/// How many replicas a provider holds (the market keeps the count).
		type Load: gravity_primitives::ProviderLoad<Self::AccountId>;
		/// Weights from the benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A provider's bond.
		#[codec(index = 0)]
		ProviderBond,
	}

	/// Registered providers.
	#[pallet::storage]
	pub type Providers<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ProviderInfoOf<T>>;

	/// Number of registered providers.
	#[pallet::storage]
	pub type ProviderCount<T> = StorageValue<_, u32, ValueQuery>;

	/// Capability-class index: class → slot → provider. Slots `0..` the class's size are filled.
	#[pallet::storage]
	pub type ClassMembers<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ClassKey, Twox64Concat, u32, T::AccountId>;

	/// Number of indexed providers in each class, by [`ClassKey::index`]. One value for all
	/// classes, so that assignment reads every candidate class's size in a single read.
	#[pallet::storage]
	pub type ClassSizes<T> = StorageValue<_, [u32; CLASS_COUNT], OptionQuery>;

	/// Reputation of every account that ever provided (kept after deregistration).
	#[pallet::storage]
	pub type Reputations<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Reputation<BlockNumberFor<T>>, ValueQuery>;

	/// Each provider's network peer id (`PeerId::to_bytes`): where its node serves data (job
	/// inputs it fetched, outputs it computed). The chain is the data plane's tracker: a
	/// provider fetches a job's inputs from the job's `source` and from the other providers of
	/// the job, and a requester fetches outputs from the providers that computed them. Set by
	/// the provider's node at start (`set_endpoint`), removed with the registration.
	#[pallet::storage]
	pub type Endpoints<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, PeerIdBytes>;

	/// Providers registered at genesis (dev and test networks).
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// `(account, capabilities, bond)`; each account must be endowed with the bond.
		pub providers: alloc::vec::Vec<(T::AccountId, Capabilities, BalanceOf<T>)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, caps, bond) in &self.providers {
				Pallet::<T>::do_register(who.clone(), caps.clone(), *bond)
					.expect("genesis provider must be valid and endowed");
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A provider registered and is online.
		Registered {
			/// The provider account.
			provider: T::AccountId,
			/// The bond held.
			bond: BalanceOf<T>,
			/// The capability class it was indexed under.
			class: ClassKey,
		},
		/// A provider changed its declared capabilities.
		CapabilitiesUpdated {
			/// The provider account.
			provider: T::AccountId,
			/// Its new class.
			class: ClassKey,
		},
		/// A provider sent a heartbeat (and is online).
		Heartbeat {
			/// The provider account.
			provider: T::AccountId,
		},
		/// A provider stopped taking new work.
		WentOffline {
			/// The provider account.
			provider: T::AccountId,
		},
		/// A provider deregistered; its bond unlocks at `until`.
		Deregistered {
			/// The provider account.
			provider: T::AccountId,
			/// First block at which `withdraw_bond` succeeds.
			until: BlockNumberFor<T>,
		},
		/// A provider took its bond back and left the registry.
		BondWithdrawn {
			/// The provider account.
			provider: T::AccountId,
			/// The amount released.
			amount: BalanceOf<T>,
		},
		/// A provider named the network peer id its node serves data from.
		EndpointSet {
			/// The provider account.
			provider: T::AccountId,
			/// Its node's peer id (`PeerId::to_bytes`).
			peer_id: PeerIdBytes,
		},
		/// Part of a bond was slashed and paid to `beneficiary`.
		Slashed {
			/// The provider account.
			provider: T::AccountId,
			/// Amount moved out of the bond.
			amount: BalanceOf<T>,
			/// Who received it.
			beneficiary: T::AccountId,
		},
		/// The reputation of a provider changed.
		ReputationUpdated {
			/// The provider account.
			provider: T::AccountId,
			/// The new score.
			score: Perbill,
		},
		/// A decline of a task that others went on to run was counted against a provider.
		DeclineRecorded {
			/// The provider account.
			provider: T::AccountId,
			/// Its decayed count of such declines (× 1,000) after this one.
			declines: u64,
			/// Past `FreeDeclines`: it cost `DeclineCost` of a failure in the reputation score.
			charged: bool,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a provider.
		AlreadyRegistered,
		/// The account is not a registered provider.
		NotProvider,
		/// The bond is below `MinBond`.
		BondTooLow,
		/// The free balance cannot cover the bond.
		InsufficientBalance,
		/// Declared capabilities are inconsistent (zero cores, zero memory, zero concurrency,
		/// concurrency above `MaxConcurrent`, architecture `Any`).
		InvalidCapabilities,
		/// The capability class is full (`MaxProvidersPerClass`).
		ClassFull,
		/// The provider still holds task replicas: finish them before leaving.
		HasActiveTasks,
		/// The provider is unbonding and cannot come back online; register again after withdrawing.
		Unbonding,
		/// The provider has not deregistered.
		NotUnbonding,
		/// The unbonding period has not ended yet.
		StillUnbonding,
		/// An empty peer id: pass the bytes of the node's peer id (`system_localPeerId`,
		/// base58-decoded).
		EmptyEndpoint,
		/// The peer id does not name an Ed25519 key inline (as every Substrate node's does):
		/// pass the bytes of the node's own peer id.
		EndpointNotEd25519,
		/// The proof is not a signature of `endpoint_proof_message(provider)` by the peer id's
		/// key: only the node that holds the key can be named (provider nodes sign it
		/// themselves at start).
		EndpointNotProven,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the caller as a provider with `capabilities`, holding `bond`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			capabilities: Capabilities,
			bond: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register(who, capabilities, bond)
		}

		/// Replace the caller's declared capabilities (moves it to its new class).
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update_capabilities())]
		pub fn update_capabilities(origin: OriginFor<T>, capabilities: Capabilities) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_update_capabilities(who, capabilities)
		}

		/// Prove liveness; brings an offline provider back online. Free when due (at least a
		/// quarter of `HeartbeatTimeout` after the previous one: at most 4 free ones per timeout,
		/// per bonded provider), paid when earlier.
		#[pallet::call_index(2)]
		#[pallet::weight((T::WeightInfo::heartbeat(), DispatchClass::Operational))]
		pub fn heartbeat(origin: OriginFor<T>) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let due = Self::do_heartbeat(who)?;
			Ok(if due { Pays::No } else { Pays::Yes }.into())
		}

		/// Stop taking new tasks (held tasks continue).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::go_offline())]
		pub fn go_offline(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_go_offline(who)
		}

		/// Leave: start the unbonding period. Fails while the provider holds tasks.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deregister(who)
		}

		/// After the unbonding period: release the bond and remove the provider record.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::withdraw_bond())]
		pub fn withdraw_bond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_bond(who)
		}

		/// Name the network peer id the caller's node serves data from (provider nodes do this
		/// themselves at start when it changed). Replaces the previous one. `proof` is the
		/// node's signature, with the key the peer id names, of
		/// `gravity_primitives::endpoint_proof_message(caller)`: nobody can name a node it does
		/// not run.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::set_endpoint())]
		pub fn set_endpoint(origin: OriginFor<T>, peer_id: PeerIdBytes, proof: EndpointProof) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_endpoint(who, peer_id, proof)
		}
	}
}
