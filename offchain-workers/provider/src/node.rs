//! The provider service inside a node, started by one call ([`start`]): the node's service
//! hands over its client, pool, keystore, off-chain storage, data plane and network, and gets
//! the service's future to spawn.

use crate::worker::{run, ProviderParams, ProviderRuntimeApi};
use gravity_data_swarm::DataService;
use gravity_runtime::opaque::Block;
use sc_client_api::BlockchainEvents;
use sc_network::service::traits::{NetworkService, NetworkSigner, NetworkStateInfo};
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::offchain::OffchainStorage;
use sp_keystore::KeystorePtr;
use std::{future::Future, sync::Arc};

/// How the node runs its provider service (`gravity-node --provider*`).
pub struct NodeOptions {
	/// A development key (`//Alice`, …) to put into the keystore as the provider key
	/// (`--provider-dev-key`); a real provider inserts its own with `gravity-node key insert`.
	pub dev_key: Option<String>,
	/// Tasks run at once at most (`--provider-max-tasks`); the declaration on chain is lowered
	/// to it when higher.
	pub max_tasks: usize,
}

/// Build the provider service of a node: the dev key inserted when given, hostile modules
/// compiled by `gravity-node compile-worker` in a process of its own (memory and time
/// limited), never in the node, and the node's network key as the signer of the endpoint proof.
/// Errors say what is missing.
pub fn start<C, P, S>(
	options: NodeOptions,
	client: Arc<C>,
	pool: Arc<P>,
	keystore: KeystorePtr,
	offchain_storage: Option<S>,
	data: DataService,
	network: Arc<dyn NetworkService>,
) -> Result<impl Future<Output = ()> + Send + 'static, String>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + BlockchainEvents<Block> + Send + Sync + 'static,
	C::Api: ProviderRuntimeApi,
	P: TransactionPool<Block = Block> + 'static,
	S: OffchainStorage + Clone + Send + 'static,
{
	if let Some(suri) = &options.dev_key {
		use sp_keystore::Keystore;
		keystore
			.sr25519_generate_new(crate::KEY_TYPE, Some(suri))
			.map_err(|e| format!("--provider-dev-key {suri}: {e}"))?;
	}
	let offchain_storage =
		offchain_storage.ok_or_else(|| "provider mode needs the off-chain storage of the database".to_string())?;
	let peer_id = network.local_peer_id().into();
	let params = ProviderParams {
		client,
		pool,
		keystore,
		offchain_storage,
		max_concurrent: options.max_tasks.max(1),
		limits: gravity_executor::Limits::default(),
		compile_worker: std::env::current_exe()
			.ok()
			.map(|exe| (exe, vec!["compile-worker".to_string()], gravity_executor::WorkerLimits::default())),
		data,
		peer_id,
		sign_with_network_key: Arc::new(move |message: Vec<u8>| {
			let signature = network.sign_with_local_identity(message).ok()?;
			signature.bytes.try_into().ok()
		}),
	};
	Ok(run(params))
}
