//! # Gravity primitives
//!
//! What the Gravity pallets share without touching each other's storage:
//! - provider capabilities and the capability classes used to index providers ([`Capabilities`],
//!   [`ClassKey`]);
//! - the [`ProviderRegistry`] trait the market pallet calls to pick providers, record reputation
//!   outcomes and slash bonds (with [`Eligibility`]: eligible, busy, or not);
//! - the [`ProviderLoad`] trait the registry calls to learn how many replicas a provider holds
//!   (kept once, by the market);
//! - content ids ([`ContentId`], BLAKE3 + size) and the [`ContentStore`] trait the market calls
//!   to check that a job's programs are on chain and to pin them.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};

use scale_info::TypeInfo;
use sp_runtime::Perbill;

/// A content id: the BLAKE3 root of some bytes and their length. One scheme names on-chain
/// blobs (programs) and off-chain data (inputs, scenes, outputs) alike: the same bytes have the
/// same id wherever they are. It is the protocol crate's type (SCALE-encoded with its `scale`
/// feature), the one the node's data plane, the provider and the clients use; its text form is
/// `<64 hex>:<length>`.
pub use gravity_protocol::content::ContentId;

/// Longest network peer id the chain records, in bytes (a libp2p peer id is a multihash: 38
/// bytes for an Ed25519 key, as Substrate nodes have).
pub const MAX_PEER_ID_BYTES: u32 = 64;
/// A node's network peer id as bytes (`PeerId::to_bytes`): where data can be fetched from.
pub type PeerIdBytes = frame_support::BoundedVec<u8, frame_support::traits::ConstU32<MAX_PEER_ID_BYTES>>;

/// A signature by a node's network key (Ed25519) proving that the node agrees to be a
/// provider's data endpoint (`providers.set_endpoint`).
pub type EndpointProof = [u8; 64];

/// What a provider's node signs with its network key ([`EndpointProof`]) to be named the data
/// endpoint of `provider`: the SCALE encoding of a fixed context and the provider's account, so
/// that nobody can name another node's peer id (whose key it does not hold) as its own.
pub fn endpoint_proof_message<A: Encode>(provider: &A) -> Vec<u8> {
	(b"gravity/endpoint/v1", provider).encode()
}

/// The Ed25519 public key a peer id names, when it names one inline (an identity multihash of
/// the protobuf-encoded key, as Substrate and libp2p nodes with Ed25519 keys have): `0x00 0x24`
/// (identity, 36 bytes), `0x08 0x01` (key type Ed25519), `0x12 0x20` (32 bytes of key), the key.
pub fn peer_id_ed25519_key(peer_id: &[u8]) -> Option<[u8; 32]> {
	const PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
	let key = peer_id.strip_prefix(&PREFIX[..])?;
	key.try_into().ok()
}

/// A job id.
pub type JobId = u64;
/// Index of a task within its job.
pub type TaskIndex = u32;

/// CPU architecture of a provider machine.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq,
	Debug, PartialOrd, Ord,
)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum Arch {
	X86_64,
	Aarch64,
	Riscv64,
	/// Tasks are Wasm: a job that does not care about the host architecture says `Any`.
	Any,
}

impl Arch {
	/// The concrete architectures a provider can have (not `Any`).
	pub const CONCRETE: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Riscv64];
}

/// The kind of device a provider runs on.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq,
	Debug,
)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum DeviceClass {
	Phone,
	Pc,
	MiningBox,
	Server,
}

/// What a provider machine offers. Declared at registration, updatable.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq,
	Debug,
)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
	pub device: DeviceClass,
	pub arch: Arch,
	pub cores: u16,
	/// Memory in MiB.
	pub memory_mib: u32,
	/// GPU model name (empty: no GPU).
	pub gpu_model: frame_support::BoundedVec<u8, frame_support::traits::ConstU32<32>>,
	/// GPU benchmark score (0 when there is no GPU).
	pub gpu_score: u32,
	/// Bandwidth in Mbit/s.
	pub bandwidth_mbps: u32,
	/// Region code (ISO 3166-1 alpha-2 plus optional zone), free text.
	pub region: frame_support::BoundedVec<u8, frame_support::traits::ConstU32<8>>,
	/// Maximum number of task replicas the provider runs at once.
	pub max_concurrent: u16,
}

impl Capabilities {
	pub fn has_gpu(&self) -> bool {
		!self.gpu_model.is_empty()
	}
	/// The index class this provider belongs to.
	pub fn class(&self) -> ClassKey {
		ClassKey { arch: self.arch, gpu: self.has_gpu(), mem_tier: mem_tier(self.memory_mib) }
	}
}

/// What a job asks of the providers that run its tasks.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq,
	Debug,
)]
pub struct Requirements {
	pub arch: Arch,
	/// Minimum memory in MiB.
	pub min_memory_mib: u32,
	/// A GPU is required.
	pub gpu: bool,
	/// Minimum reputation score a provider must have.
	pub min_reputation: Perbill,
}

impl Requirements {
	/// Does a provider with these capabilities satisfy the requirements (reputation aside)?
	pub fn matched_by(&self, c: &Capabilities) -> bool {
		(self.arch == Arch::Any || self.arch == c.arch) &&
			c.memory_mib >= self.min_memory_mib &&
			(!self.gpu || c.has_gpu())
	}

	/// The capability classes that can hold a matching provider: at most
	/// `3 arches × 2 gpu × MEM_TIERS`, independent of how many providers exist.
	pub fn candidate_classes(&self) -> Vec<ClassKey> {
		let arches: &[Arch] =
			if self.arch == Arch::Any { &Arch::CONCRETE } else { core::slice::from_ref(&self.arch) };
		let gpus: &[bool] = if self.gpu { &[true] } else { &[false, true] };
		let min_tier = mem_tier(self.min_memory_mib);
		let mut out = Vec::new();
		for &arch in arches {
			for &gpu in gpus {
				for mem_tier in min_tier..MEM_TIERS {
					out.push(ClassKey { arch, gpu, mem_tier });
				}
			}
		}
		out
	}
}

/// Number of memory tiers: tier `t` holds machines with `2^t GiB ≤ memory < 2^(t+1) GiB`
/// (tier 0 also holds machines under 1 GiB; the last tier holds everything from 128 GiB).
pub const MEM_TIERS: u8 = 8;

/// Number of capability classes: concrete architectures × GPU or not × memory tiers.
pub const CLASS_COUNT: usize = Arch::CONCRETE.len() * 2 * MEM_TIERS as usize;

impl ClassKey {
	/// Position of the class in dense per-class arrays (`0..CLASS_COUNT`); `None` for a key no
	/// provider can have (`Arch::Any`, a tier past the last).
	pub fn index(&self) -> Option<usize> {
		let arch = Arch::CONCRETE.iter().position(|a| *a == self.arch)?;
		if self.mem_tier >= MEM_TIERS {
			return None
		}
		Some((arch * 2 + self.gpu as usize) * MEM_TIERS as usize + self.mem_tier as usize)
	}
}

/// The memory tier of an amount of memory in MiB.
pub fn mem_tier(memory_mib: u32) -> u8 {
	let gib = memory_mib / 1024;
	if gib == 0 {
		return 0
	}
	let t = (31 - gib.leading_zeros()) as u8; // floor(log2(gib))
	t.min(MEM_TIERS - 1)
}

/// A capability class: providers are indexed by it so that picking one costs the same
/// whatever the number of providers.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq,
	Debug, PartialOrd, Ord,
)]
pub struct ClassKey {
	pub arch: Arch,
	pub gpu: bool,
	pub mem_tier: u8,
}

/// How a replica's work ended, as far as reputation is concerned.
#[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
	/// Agreed with the verified result.
	Agreed,
	/// Revealed a result outside the quorum.
	Dissented,
	/// Missed a commit or reveal deadline.
	NoShow,
}

/// Whether a provider can take a replica now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Eligibility {
	/// Online, live, bonded, matching, reputed enough, with spare capacity.
	Eligible,
	/// Would be eligible but runs as many tasks as it declared it can: try again later.
	Busy,
	/// Unknown, offline, silent, under-bonded, not matching or not reputed enough.
	Ineligible,
}

/// The provider registry as the market sees it.
pub trait ProviderRegistry<AccountId, Balance> {
	/// The provider in slot `slot` (`< class size`) of class `class`'s index, if any.
	/// Cost: one read, independent of the number of providers.
	fn pick(class: &ClassKey, slot: u32) -> Option<AccountId>;
	/// Number of indexed (online) providers in each of `classes`, in order. Cost: one read,
	/// whatever the number of classes or providers.
	fn class_sizes(classes: &[ClassKey]) -> Vec<u32>;
	/// Could `who` take a replica of a job with requirements `req` now? Cost: one read.
	fn eligibility(who: &AccountId, req: &Requirements) -> Eligibility;
	/// Is `who` an online provider with spare capacity that satisfies `req`?
	fn is_eligible(who: &AccountId, req: &Requirements) -> bool {
		Self::eligibility(who, req) == Eligibility::Eligible
	}
	/// Is `who` a registered provider?
	fn is_provider(who: &AccountId) -> bool;
	/// Number of registered providers (what the cost of an assignment is charged at). Cost:
	/// one read.
	fn count() -> u32;
	/// Current reputation score of `who` (zero for an unknown account).
	fn reputation(who: &AccountId) -> Perbill;
	/// Verified work of `who` paid by others, in full `ReputationUnit`s, since it last changed
	/// its capabilities or was caught dissenting (what adaptive replication trusts).
	fn lifetime_successes(who: &AccountId) -> u32;
	/// The bond `who` has at stake (zero for an unknown account).
	fn bond(who: &AccountId) -> Balance;
	/// Record the outcome of a replica for the reputation of `who`. `credit` is the share of a
	/// full success an agreement earns (the value of the work, paid by someone else, over the
	/// market's `ReputationUnit`); it is ignored for other outcomes. A dissent also wipes the
	/// provider's accumulated trust.
	fn record_outcome(who: &AccountId, outcome: Outcome, credit: Perbill);
	/// Count a decline by `who` of a task that others went on to run (a decline nobody could
	/// have avoided, of a task nobody could run, is not counted). Past the registry's free
	/// allowance it lowers the reputation score; returns whether it did.
	fn record_decline(who: &AccountId) -> bool;
	/// Take `fraction` of the bond of `who` and pay it to `beneficiary`; returns the amount moved.
	fn slash(who: &AccountId, fraction: Perbill, beneficiary: &AccountId) -> Balance;
	/// Take up to `amount` of the bond of `who` (all of it at most) and pay it to
	/// `beneficiary`; returns the amount moved.
	fn slash_amount(who: &AccountId, amount: Balance, beneficiary: &AccountId) -> Balance;

	/// Benchmarks only: make `who` an online provider with `capabilities` (funding its bond).
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(who: &AccountId, capabilities: Capabilities);
}

/// How many task replicas a provider holds now: counted once, by the market (its
/// `ProviderTasks`), and read by the registry for eligibility (`Busy` at the declared
/// concurrency) and to refuse deregistration while work is held.
pub trait ProviderLoad<AccountId> {
	/// Replicas `who` holds. Cost: one read.
	fn load(who: &AccountId) -> u32;
}

/// No market: nobody holds anything (unit tests of the registry alone).
impl<AccountId> ProviderLoad<AccountId> for () {
	fn load(_: &AccountId) -> u32 {
		0
	}
}

/// The on-chain content store as the market sees it: does a blob exist, and keep it from being
/// removed while a job needs it. (Job inputs and outputs live off chain, in the nodes' content
/// stores; only programs must be on chain.)
pub trait ContentStore<BlockNumber> {
	/// Is a blob with this id stored on chain? Cost: one read.
	fn exists(id: &ContentId) -> bool;
	/// Refuse removal of `id` until block `until` has passed (keeps a later pin if there is one).
	/// Cost: one read and one write; a pin needs no release (it lapses by itself).
	fn pin_until(id: &ContentId, until: BlockNumber);

	/// Benchmarks only: make a blob with id `id` exist.
	#[cfg(feature = "runtime-benchmarks")]
	fn insert_for_benchmark(id: &ContentId);
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn class_indices_are_dense_and_distinct() {
		let mut seen = [false; CLASS_COUNT];
		for arch in Arch::CONCRETE {
			for gpu in [false, true] {
				for mem_tier in 0..MEM_TIERS {
					let i = ClassKey { arch, gpu, mem_tier }.index().expect("a provider's class has an index");
					assert!(!seen[i], "index {i} used twice");
					seen[i] = true;
				}
			}
		}
		assert!(seen.iter().all(|s| *s));
		assert_eq!(ClassKey { arch: Arch::Any, gpu: false, mem_tier: 0 }.index(), None);
		assert_eq!(ClassKey { arch: Arch::X86_64, gpu: false, mem_tier: MEM_TIERS }.index(), None);
	}
}
