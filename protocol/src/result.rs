//! Seeds, results, digests and commitments: what the chain checks and every replica of a task
//! computes alike. Content ids are BLAKE3 + size ([`crate::content`]); every other hash is
//! BLAKE2b-256; integers are little-endian; `provider` is the
//! SCALE encoding of the provider's account id (the 32 raw bytes of an `AccountId32`).
//!
//! ## Why a result is revealed as a round-bound digest
//! A task is decided in *rounds*. Replicas seal `commitment(digest, fuel, provider, job, task,
//! salt)` and later reveal `(digest, fuel, salt)`, where
//! `digest = result_digest(output, fuel, job, task, round)`. If a round ends without a quorum
//! its digests are public, but a digest is bound to its round: a replica of a later round who
//! did not compute the output cannot turn a round-1 digest into a round-2 digest (it would need
//! the output hash, which only the owners of the output know). So a later round is decided by
//! fresh sealed results that earlier reveals cannot leak into. Once a round agrees, one replica
//! delivers the output: it names its content id on chain, and keeps the bytes in its node's
//! content store for the requester to fetch over the data plane. The chain recomputes every
//! replica's digest for its own round from the named id and judges earlier rounds against it.
//!
//! ```
//! use gravity_protocol::{content::ContentId, result::*};
//! let out = ContentId::of(b"42");
//! let d1 = result_digest(&out, 7, 1, 0, 0);
//! let d2 = result_digest(&out, 7, 1, 0, 1);
//! assert_eq!(out.length, 2);
//! assert_ne!(d1, d2); // knowing round 0's digest does not give round 1's
//! let c = commitment(&d2, 7, &[1u8; 32], 1, 0, &[9u8; 32]);
//! assert_ne!(c, commitment(&d2, 7, &[2u8; 32], 1, 0, &[9u8; 32])); // bound to the provider
//! ```

use crate::content::ContentId;
use alloc::vec::Vec;
use sp_crypto_hashing::blake2_256;

/// The 32-byte seed a task reads through the sandbox's `seed` import:
/// `H("gravity/seed" ‖ job ‖ task)`. Every replica derives it from the task's identity alone.
pub fn task_seed(job: u64, task: u32) -> [u8; 32] {
	let mut data = Vec::with_capacity(24);
	data.extend_from_slice(b"gravity/seed");
	data.extend_from_slice(&job.to_le_bytes());
	data.extend_from_slice(&task.to_le_bytes());
	blake2_256(&data)
}

/// The bytes of a failure result: `"gravity-failure" ‖ reason`, with `reason` the executor's
/// SCALE-encoded failure. A failure is a result like any other: its output id is
/// `ContentId::of(failure_bytes(reason))`, it is delivered like an output (its bytes are kept for
/// the requester, who can read why its task failed), and it is paid for the fuel it burnt.
pub fn failure_bytes(encoded_reason: &[u8]) -> Vec<u8> {
	let mut data = Vec::with_capacity(15 + encoded_reason.len());
	data.extend_from_slice(b"gravity-failure");
	data.extend_from_slice(encoded_reason);
	data
}

/// What a replica reveals for round `round` of a task: `H("gravity/result" ‖ output hash ‖
/// output size ‖ fuel ‖ job ‖ task ‖ round)`, `output` being the content id of the output (or
/// failure) bytes. The size is bound too, so the id named at delivery is exactly the one sealed.
pub fn result_digest(output: &ContentId, fuel_used: u64, job: u64, task: u32, round: u8) -> [u8; 32] {
	let mut data = Vec::with_capacity(14 + 32 + 8 + 8 + 8 + 4 + 1);
	data.extend_from_slice(b"gravity/result");
	data.extend_from_slice(&output.root);
	data.extend_from_slice(&output.length.to_le_bytes());
	data.extend_from_slice(&fuel_used.to_le_bytes());
	data.extend_from_slice(&job.to_le_bytes());
	data.extend_from_slice(&task.to_le_bytes());
	data.push(round);
	blake2_256(&data)
}

/// What a replica seals: `H(digest ‖ fuel ‖ provider ‖ job ‖ task ‖ salt)`. The salt (32 random
/// bytes, kept until the reveal) stops anyone from guessing the digest from the commitment;
/// the provider's id stops a copied commitment from being revealed by another provider.
pub fn commitment(
	digest: &[u8; 32],
	fuel_used: u64,
	provider: &[u8],
	job: u64,
	task: u32,
	salt: &[u8; 32],
) -> [u8; 32] {
	let mut data = Vec::with_capacity(32 + 8 + provider.len() + 8 + 4 + 32);
	data.extend_from_slice(digest);
	data.extend_from_slice(&fuel_used.to_le_bytes());
	data.extend_from_slice(provider);
	data.extend_from_slice(&job.to_le_bytes());
	data.extend_from_slice(&task.to_le_bytes());
	data.extend_from_slice(salt);
	blake2_256(&data)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn seed_is_the_historical_encoding() {
		// The provider derived the seed as blake2_256(SCALE((b"gravity/seed", job, task))): a
		// fixed-size array encodes as its bytes, integers little-endian. Same bytes here.
		let mut expect = b"gravity/seed".to_vec();
		expect.extend_from_slice(&5u64.to_le_bytes());
		expect.extend_from_slice(&3u32.to_le_bytes());
		assert_eq!(task_seed(5, 3), blake2_256(&expect));
		assert_ne!(task_seed(5, 3), task_seed(3, 5));
	}

	#[test]
	fn every_field_changes_the_digest_and_commitment() {
		let o = ContentId::of(b"x");
		let d = result_digest(&o, 1, 2, 3, 0);
		for other in [
			result_digest(&ContentId::of(b"y"), 1, 2, 3, 0),
			result_digest(&ContentId { length: 2, ..o }, 1, 2, 3, 0),
			result_digest(&o, 9, 2, 3, 0),
			result_digest(&o, 1, 9, 3, 0),
			result_digest(&o, 1, 2, 9, 0),
			result_digest(&o, 1, 2, 3, 9),
		] {
			assert_ne!(d, other);
		}
		let c = commitment(&d, 1, &[7; 32], 2, 3, &[0; 32]);
		for other in [
			commitment(&[0; 32], 1, &[7; 32], 2, 3, &[0; 32]),
			commitment(&d, 2, &[7; 32], 2, 3, &[0; 32]),
			commitment(&d, 1, &[8; 32], 2, 3, &[0; 32]),
			commitment(&d, 1, &[7; 32], 9, 3, &[0; 32]),
			commitment(&d, 1, &[7; 32], 2, 9, &[0; 32]),
			commitment(&d, 1, &[7; 32], 2, 3, &[1; 32]),
		] {
			assert_ne!(c, other);
		}
	}

	#[test]
	fn failure_id_is_the_id_of_its_bytes() {
		let b = failure_bytes(&[1, 2]);
		assert_eq!(&b[..15], b"gravity-failure");
		assert_eq!(ContentId::of(&b).root, *blake3::hash(&b).as_bytes());
		assert_eq!(ContentId::of(&b).length, 17);
	}
}
