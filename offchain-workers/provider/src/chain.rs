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

/// Signs and submits extrinsics for one provider key, tracking its nonce.
pub struct Submitter<C, P> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	pub keystore: KeystorePtr,
	pub public: sr25519::Public,
	pub account: AccountId,
	next_nonce: Nonce,
}

impl<C, P> Submitter<C, P>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce>,
	P: TransactionPool<Block = Block> + 'static,
{
	pub fn new(client: Arc<C>, pool: Arc<P>, keystore: KeystorePtr, public: sr25519::Public) -> Self {
		let account = AccountId::from(public.0);
		Self { client, pool, keystore, public, account, next_nonce: 0 }
	}

	/// Build, sign and submit `call` at block `at`.
	pub async fn submit(&mut self, at: <Block as BlockT>::Hash, call: RuntimeCall) -> Result<(), String> {
		use frame_system_rpc_runtime_api::AccountNonceApi;
		let api = self.client.runtime_api();
		let chain_nonce = api.account_nonce(at, self.account.clone()).map_err(|e| e.to_string())?;
		let nonce = self.next_nonce.max(chain_nonce);
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
				self.next_nonce = nonce + 1;
				Ok(())
			},
			Err(e) => {
				// Resynchronise with the chain on the next submission.
				self.next_nonce = chain_nonce;
				Err(format!("{e:?}"))
			},
		}
	}
}
