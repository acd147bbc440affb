//! Talking to the chain: runtime API reads and signed transactions.

use codec::Encode;
use gravity_runtime::{
	opaque::Block, AccountId, Nonce, Runtime, RuntimeCall, SignedPayload, TxExtension,
	UncheckedExtrinsic,
};
use sc_transaction_pool_api::{TransactionPool, TransactionSource};
use sp_api::{Core, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::{crypto::KeyTypeId, sr25519};
use sp_keystore::KeystorePtr;
use sp_runtime::{generic::Era, traits::Block as BlockT, MultiSignature, OpaqueExtrinsic};
use std::sync::Arc;

/// Key type of provider keys in the node keystore (`gravity-node key insert --key-type grav`).
pub const KEY_TYPE: KeyTypeId = KeyTypeId(*b"grav");

/// Blocks the chain's nonce may stand still while transactions of ours are pending before we
/// assume one was dropped from the pool (a *nonce gap*) and fill it. Two: a duty is operational
/// and ordered first, so a pending one of ours that has not landed in two blocks was dropped;
/// waiting longer (it was 10, the whole commit window) made every later duty miss its deadline.
pub const RESYNC_AFTER: u32 = 2;

/// What a refusal from the transaction pool means for our nonce count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
	/// The pool already holds this very transaction (same nonce, same call): it was submitted;
	/// count on from it. Treating it as a refusal reset the count and made the next
	/// transactions collide with ones in the pool (an honest provider lost a bond that way).
	AlreadyInPool,
	/// The nonce is behind the chain (`Stale`) or the pool refused for good: start again from
	/// the chain's nonce.
	Resync,
	/// Refused for now: the pool is full (the nonce was not used; it is tried again), or a
	/// pending transaction of ours holds the nonce with an equal or higher priority (so it was
	/// not dropped after all; the count stands).
	Retry,
}

/// How to treat a pool error.
pub fn classify_refusal(e: &sc_transaction_pool_api::error::Error) -> Refusal {
	use sc_transaction_pool_api::error::Error as E;
	match e {
		E::AlreadyImported(_) => Refusal::AlreadyInPool,
		E::TooLowPriority { .. } | E::ImmediatelyDropped | E::TemporarilyBanned => Refusal::Retry,
		_ => Refusal::Resync,
	}
}

/// The nonce of the next transaction. Submissions run ahead of the chain (several per block);
/// if one of them is dropped from the pool, every later one waits in the pool's future queue
/// for good. So when the chain's nonce has not moved for `RESYNC_AFTER` blocks while we are
/// ahead of it, the next transaction takes the chain's nonce: it fills the gap and the waiting
/// ones become ready.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NonceTracker {
	next: Nonce,
	/// The chain nonce we are waiting on, and the block we first saw it stand still.
	waiting: Option<(Nonce, u32)>,
}

impl NonceTracker {
	/// The nonce to sign with, given the chain's nonce at block `now`.
	pub fn nonce_for(&mut self, chain_nonce: Nonce, now: u32) -> Nonce {
		if self.next <= chain_nonce {
			self.waiting = None;
			self.next = chain_nonce;
			return chain_nonce
		}
		match self.waiting {
			Some((n, since)) if n == chain_nonce => {
				if now.saturating_sub(since) >= RESYNC_AFTER {
					// Fill the gap with this transaction; the ones after it are still in the
					// pool, so the count goes on from where it was. (If they were lost too, the
					// chain stops at the next gap and it is filled the same way.)
					log::warn!(target: "gravity-provider", "nonce {chain_nonce} has not landed for {RESYNC_AFTER} blocks (ours ran to {}): filling the gap", self.next);
					self.waiting = Some((chain_nonce, now));
					return chain_nonce
				}
			},
			_ => self.waiting = Some((chain_nonce, now)),
		}
		self.next
	}

	/// The pool took a transaction with `nonce`.
	pub fn submitted(&mut self, nonce: Nonce) {
		self.next = self.next.max(nonce.saturating_add(1));
	}

	/// The pool refused a transaction signed with `nonce` (see [`Refusal`]).
	pub fn refused(&mut self, how: Refusal, nonce: Nonce, chain_nonce: Nonce) {
		match how {
			Refusal::AlreadyInPool => self.submitted(nonce),
			Refusal::Resync => self.next = chain_nonce,
			// The nonce was not used (or is held by a pending transaction of ours): the count
			// stands.
			Refusal::Retry => self.next = self.next.max(chain_nonce),
		}
	}
}

/// Signs and submits extrinsics for one provider key, tracking its nonce.
pub struct Submitter<C, P> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	pub keystore: KeystorePtr,
	pub public: sr25519::Public,
	pub account: AccountId,
	nonces: NonceTracker,
}

impl<C, P> Submitter<C, P>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce>,
	P: TransactionPool<Block = Block> + 'static,
{
	pub fn new(client: Arc<C>, pool: Arc<P>, keystore: KeystorePtr, public: sr25519::Public) -> Self {
		let account = AccountId::from(public.0);
		Self { client, pool, keystore, public, account, nonces: NonceTracker::default() }
	}

	/// Build, sign and submit `call` at block `at`.
	pub async fn submit(&mut self, at: <Block as BlockT>::Hash, call: RuntimeCall) -> Result<(), String> {
		use frame_system_rpc_runtime_api::AccountNonceApi;
		let api = self.client.runtime_api();
		let chain_nonce = api.account_nonce(at, self.account.clone()).map_err(|e| e.to_string())?;
		let now: u32 = self.client.info().best_number;
		let nonce = self.nonces.nonce_for(chain_nonce, now);
		let version = api.version(at).map_err(|e| e.to_string())?;
		let genesis = self.client.hash(0).map_err(|e| e.to_string())?.ok_or("no genesis")?;
		let tx_ext: TxExtension = (
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(Era::Immortal),
			frame_system::CheckNonce::<Runtime>::from(nonce),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
		);
		let payload = SignedPayload::from_raw(
			call.clone(),
			tx_ext.clone(),
			((), version.spec_version, version.transaction_version, genesis, genesis, (), (), ()),
		);
		let sig = payload
			.using_encoded(|p| self.keystore.sr25519_sign(KEY_TYPE, &self.public, p))
			.map_err(|e| format!("keystore: {e}"))?
			.ok_or("provider key not in the keystore")?;
		let xt = UncheckedExtrinsic::new_signed(
			call,
			self.account.clone().into(),
			MultiSignature::Sr25519(sig),
			tx_ext,
		);
		let opaque = OpaqueExtrinsic::try_from_encoded_extrinsic(&xt.encode()).map_err(|e| e.to_string())?;
		match self.pool.submit_one(at, TransactionSource::External, opaque).await {
			Ok(_) => {
				self.nonces.submitted(nonce);
				Ok(())
			},
			Err(e) => {
				use sc_transaction_pool_api::error::IntoPoolError;
				let text = format!("{e:?}");
				let how = match e.into_pool_error() {
					Ok(pool_error) => classify_refusal(&pool_error),
					Err(_) => Refusal::Resync,
				};
				self.nonces.refused(how, nonce, chain_nonce);
				if how == Refusal::AlreadyInPool {
					return Ok(())
				}
				Err(text)
			},
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn submissions_run_ahead_of_the_chain() {
		let mut t = NonceTracker::default();
		for expect in 0..3 {
			let n = t.nonce_for(0, 1);
			assert_eq!(n, expect);
			t.submitted(n);
		}
		// The chain caught up to 2: we go on from 3.
		assert_eq!(t.nonce_for(2, 2), 3);
	}

	#[test]
	fn a_dropped_transaction_is_a_gap_that_gets_filled() {
		let mut t = NonceTracker::default();
		for n in 5..9 {
			assert_eq!(t.nonce_for(5, 100), n);
			t.submitted(n);
		}
		// Nonce 5 was dropped from the pool: the chain stays at 5 while 6, 7, 8 wait.
		for b in 101..100 + RESYNC_AFTER {
			assert_eq!(t.nonce_for(5, b), 9, "not before {RESYNC_AFTER} blocks (block {b})");
		}
		let n = t.nonce_for(5, 100 + RESYNC_AFTER);
		assert_eq!(n, 5, "the next transaction fills the gap");
		t.submitted(n);
		// 6, 7, 8 are still in the pool: the one after goes on from 9, not 6.
		assert_eq!(t.nonce_for(5, 100 + RESYNC_AFTER), 9);
		t.submitted(9);
		// The gap filled, everything lands: the chain moves on and so do we.
		assert_eq!(t.nonce_for(10, 100 + RESYNC_AFTER + 1), 10);
	}

	#[test]
	fn a_transaction_already_in_the_pool_is_not_a_refusal() {
		use sc_transaction_pool_api::error::Error as E;
		let mut t = NonceTracker::default();
		for n in 0..3 {
			let next = t.nonce_for(0, 1).max(n);
			t.submitted(next);
		}
		assert_eq!(t.nonce_for(0, 1), 3);
		// The pool says nonce 3 is already there (a resubmission of the same transaction): the
		// count goes on from 4, it does not restart at the chain's 0 (which collided with 1, 2).
		let how = classify_refusal(&E::AlreadyImported(Box::new(())));
		assert_eq!(how, Refusal::AlreadyInPool);
		t.refused(how, 3, 0);
		assert_eq!(t.nonce_for(0, 1), 4);
		// A stale nonce resyncs with the chain; a full pool retries the same nonce.
		t.refused(classify_refusal(&E::InvalidTransaction(sp_runtime::transaction_validity::InvalidTransaction::Stale)), 4, 2);
		assert_eq!(t.nonce_for(2, 2), 2);
		t.submitted(2);
		t.submitted(3);
		t.refused(classify_refusal(&E::ImmediatelyDropped), 4, 2);
		assert_eq!(t.nonce_for(2, 2), 4);
	}

	#[test]
	fn a_gap_is_filled_within_two_blocks() {
		let mut t = NonceTracker::default();
		for n in 0..4 {
			t.submitted(n);
		}
		// Nonce 0 dropped: the chain stays at 0.
		assert_eq!(t.nonce_for(0, 10), 4, "the block it was due in");
		assert_eq!(t.nonce_for(0, 11), 4);
		assert_eq!(t.nonce_for(0, 12), 0, "filled two blocks later, well inside a commit window");
	}

	#[test]
	fn a_slow_but_moving_chain_is_not_a_gap() {
		let mut t = NonceTracker::default();
		for n in 0..20 {
			t.submitted(n);
		}
		// The chain lands one of ours every 5 blocks: never resync.
		for step in 0..10u32 {
			assert_eq!(t.nonce_for(step, step * 5), 20);
		}
	}
}
