#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod dispatchable_impls;
pub mod runtime_api;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use pallet::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use gravity_primitives::ContentId;

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
		/// The currency deposits are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// Largest blob, in bytes.
		#[pallet::constant]
		type MaxBlobSize: Get<u32>;
		/// Deposit per blob.
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;
		/// Deposit per byte.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;
		/// Weights from the benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The storage deposit of a blob.
		#[codec(index = 0)]
		BlobDeposit,
	}

	/// Blobs by content id.
	#[pallet::storage]
	pub type Blobs<T: Config> =
		StorageMap<_, Identity, ContentId, BoundedVec<u8, T::MaxBlobSize>>;

	/// Every account that stored a blob, with the deposit held from it. Any account may put
	/// bytes that are already stored and so hold them too; the blob stays while anyone holds
	/// it, so nobody (a front-runner who stored the same bytes first, say) can take content
	/// away from another holder.
	#[pallet::storage]
	pub type Holders<T: Config> =
		StorageDoubleMap<_, Identity, ContentId, Blake2_128Concat, T::AccountId, BalanceOf<T>>;

	/// How many accounts hold each blob (`Holders` entries).
	#[pallet::storage]
	pub type HolderCount<T: Config> = StorageMap<_, Identity, ContentId, u32, ValueQuery>;

	/// Blobs a job needs: removal is refused until this block has passed (set by the market
	/// for a job's program and inputs, up to the job's deadline; lapses by itself).
	#[pallet::storage]
	pub type PinnedUntil<T: Config> = StorageMap<_, Identity, ContentId, BlockNumberFor<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A blob was stored, or an account became one more holder of stored bytes.
		Stored {
			/// Its content id: BLAKE3 hash and size of the bytes (the id the same bytes have off
			/// chain in a node's content store).
			id: ContentId,
			/// Its size in bytes.
			size: u32,
			/// The account that put it (now one of its holders).
			owner: T::AccountId,
			/// The deposit held from it.
			deposit: BalanceOf<T>,
		},
		/// An account stopped holding a blob and got its deposit back; the bytes are deleted
		/// when the last holder goes (`deleted`).
		Removed {
			/// Its content id.
			id: ContentId,
			/// The holder that removed it.
			owner: T::AccountId,
			/// It was the last holder: the blob is gone from chain state.
			deleted: bool,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The blob is larger than `MaxBlobSize`: job data belongs in the off-chain data plane
		/// (`gravity-node data put`, or the `gravity_put` RPC), only programs go on chain.
		TooLarge,
		/// You already hold a blob with this content id.
		AlreadyStored,
		/// No blob with this content id.
		UnknownContent,
		/// Only an account that holds a blob (stored it with `put`) may remove its hold.
		NotOwner,
		/// The free balance cannot cover the deposit.
		InsufficientBalance,
		/// Empty blobs are not stored.
		Empty,
		/// A job still needs this blob (its program or an input) and you are its last holder:
		/// remove it after the block in `PinnedUntil` (the job's retention: its deadline plus its last
		/// settlement windows).
		Pinned,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Store `data` under its content id (BLAKE3 hash and size), holding a deposit. For
		/// programs: job data (inputs, scenes, outputs) travels off chain (`gravity_put`).
		/// `data` is bounded by its type (`MaxBlobSize`): a larger one does not decode, so the
		/// transaction pool refuses it before inclusion and no block space is spent on it.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::put(data.len() as u32))]
		pub fn put(origin: OriginFor<T>, data: BoundedVec<u8, T::MaxBlobSize>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_put(who, data.into_inner()).map(|_| ())
		}

		/// Remove a blob you stored; its deposit is released.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::remove())]
		pub fn remove(origin: OriginFor<T>, id: ContentId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_remove(who, id)
		}
	}
}
