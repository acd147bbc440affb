#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod dispatchable_impls;
mod offence_impls;
mod session_impls;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use pallet::*;
pub use session_impls::{AlwaysIdentified, SessionLengthOf};
pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			ValidatorRegistration,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::Perbill;
	use sp_staking::SessionIndex;

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type ValidatorRecordOf<T> = ValidatorRecord<BalanceOf<T>>;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
		/// Holds validator bonds.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// Who admits, rejects and removes validators (`sudo` today, a governance origin later).
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// The session pallet: its validators, disabling and historical pruning.
		type Session: pallet_session::SessionInterface<
			ValidatorId = Self::AccountId,
			AccountId = Self::AccountId,
		>;
		/// Whether an account has session keys registered (the session pallet).
		type KeysRegistration: ValidatorRegistration<Self::AccountId>;
		/// Where slashed bonds go (the Gravity treasury).
		type SlashBeneficiary: Get<Self::AccountId>;
		/// The smallest bond a candidate may register with.
		#[pallet::constant]
		type MinBond: Get<BalanceOf<Self>>;
		/// `leave` and `remove` refuse to shrink the set below this many validators.
		#[pallet::constant]
		type MinValidators: Get<u32>;
		/// The largest set.
		#[pallet::constant]
		type MaxValidators: Get<u32>;
		/// The most candidates waiting for admission at once.
		#[pallet::constant]
		type MaxCandidates: Get<u32>;
		/// Sessions a bond stays held (and slashable) after its validator left the set. It is
		/// also how far back an equivocation can be reported: the session history older than
		/// this is pruned, so key-ownership proofs for it no longer check.
		#[pallet::constant]
		type BondingSessions: Get<SessionIndex>;
		/// Session length (in slots) when the genesis config does not set one.
		#[pallet::constant]
		type DefaultSessionLength: Get<u64>;
		/// Weights of the calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A validator's (or candidate's) bond.
		ValidatorBond,
	}

	/// Everyone who registered and has not withdrawn their bond yet.
	#[pallet::storage]
	pub type Members<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ValidatorRecordOf<T>, OptionQuery>;

	/// Candidates waiting for admission, oldest first.
	#[pallet::storage]
	pub type Candidates<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxCandidates>, ValueQuery>;

	/// The admitted set: what the next planned session will use.
	#[pallet::storage]
	pub type Admitted<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

	/// Whether `Admitted` changed since the last session was planned.
	#[pallet::storage]
	pub type SetChanged<T> = StorageValue<_, bool, ValueQuery>;

	/// The index of the session in progress (as `pallet_session` started it).
	#[pallet::storage]
	pub type CurrentSession<T> = StorageValue<_, SessionIndex, ValueQuery>;

	#[pallet::type_value]
	pub fn DefaultSessionLength<T: Config>() -> u64 {
		T::DefaultSessionLength::get()
	}

	/// Session (= BABE epoch) length in slots, fixed at genesis (a minute on dev and local
	/// chains, ten minutes on the testnet). Read through [`SessionLengthOf`].
	#[pallet::storage]
	pub type SessionLength<T> = StorageValue<_, u64, ValueQuery, DefaultSessionLength<T>>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The initial validators and their bonds (held at genesis; each needs session keys in
		/// `pallet_session`'s genesis).
		pub validators: alloc::vec::Vec<(T::AccountId, BalanceOf<T>)>,
		/// Session length in slots; 0 keeps `DefaultSessionLength`.
		pub session_length: u64,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			Pallet::<T>::do_build_genesis(&self.validators, self.session_length);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `who` registered as a candidate, holding `bond`.
		CandidateRegistered { who: T::AccountId, bond: BalanceOf<T> },
		/// `who` withdrew its candidacy; `bond` was released.
		CandidacyWithdrawn { who: T::AccountId, bond: BalanceOf<T> },
		/// The `AdminOrigin` rejected candidate `who`; `bond` was released.
		CandidateRejected { who: T::AccountId, bond: BalanceOf<T> },
		/// The `AdminOrigin` admitted `who` during session `session`: it is in the set planned
		/// at the next rotation and authors from session `session + 2`.
		ValidatorAdmitted { who: T::AccountId, session: SessionIndex },
		/// `who` left the set (`cause`); its bond is released from session `unbonds_at`.
		ValidatorLeaving { who: T::AccountId, cause: LeaveCause, unbonds_at: SessionIndex },
		/// `who` got `amount` of its bond back and left the registry.
		BondReturned { who: T::AccountId, amount: BalanceOf<T> },
		/// `who` was slashed `amount` (`fraction` of the offence in session `offence_session`),
		/// paid to `to`.
		ValidatorSlashed {
			who: T::AccountId,
			amount: BalanceOf<T>,
			fraction: Perbill,
			offence_session: SessionIndex,
			to: T::AccountId,
		},
		/// Offender `who` stays in the set because removing it would leave fewer than
		/// `MinValidators`; it was slashed and (within the disabling limit) disabled.
		OffenderKept { who: T::AccountId },
		/// The set planned for session `session` (the validators that author in it).
		ValidatorSetPlanned {
			session: SessionIndex,
			validators: BoundedVec<T::AccountId, T::MaxValidators>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account has no session keys: generate them on the validator's node
		/// (`gravity-node key rotate` or RPC `author_rotateKeysWithOwner`) and set them with
		/// `session.setKeys(keys, proof)` first.
		NoSessionKeys,
		/// The bond is below `MinBond`.
		BondTooLow,
		/// The account is already registered (as a candidate, a validator, or leaving with its
		/// bond held; `withdraw_bond` first).
		AlreadyRegistered,
		/// The free balance cannot cover the bond.
		InsufficientBalance,
		/// `MaxCandidates` candidates are already waiting; try again after admissions.
		TooManyCandidates,
		/// The account is not a candidate.
		NotCandidate,
		/// The account is not in the admitted set.
		NotValidator,
		/// The set already has `MaxValidators` validators.
		TooManyValidators,
		/// Leaving (or removing) would leave fewer than `MinValidators` validators.
		TooFewValidators,
		/// The account is not leaving: only a validator out of the set can withdraw its bond.
		NotLeaving,
		/// The bond is still held: it is released at the session named in `Status::Leaving`.
		StillBonded,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the caller as a candidate validator, holding `bond` (≥ `MinBond`). Its
		/// session keys must be set (`session.setKeys`) first.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(origin: OriginFor<T>, bond: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register(who, bond)
		}

		/// Withdraw the caller's candidacy before it is admitted; the bond is released.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::withdraw_candidacy())]
		pub fn withdraw_candidacy(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_drop_candidate(who, false)
		}

		/// Admit candidate `who` into the set (from the next planned session).
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::admit())]
		pub fn admit(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			Self::do_admit(who)
		}

		/// Reject candidate `who`; its bond is released.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::reject())]
		pub fn reject(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			Self::do_drop_candidate(who, true)
		}

		/// Leave the set: the caller stops being planned into sessions; its bond stays held
		/// for `BondingSessions` sessions (offences it committed can still be reported).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::leave())]
		pub fn leave(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_leave(who, LeaveCause::Left)
		}

		/// Remove validator `who` from the set, as if it had left.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::leave())]
		pub fn remove(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			Self::do_leave(who, LeaveCause::Removed)
		}

		/// Take back what is left of the caller's bond once its unbonding is over.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::withdraw_bond())]
		pub fn withdraw_bond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_bond(who)
		}
	}
}
