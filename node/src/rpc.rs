//! The node's custom RPC methods, on top of the standard ones (system, chain, state, author)
//! that `sc_service::spawn_tasks` installs: `system_accountNextIndex` (nonce) and
//! `payment_queryInfo` / `payment_queryFeeDetails`, and the data plane's `gravity_put`,
//! `gravity_get`, `gravity_status`, `gravity_ls`, `gravity_pin`, `gravity_unpin`,
//! `gravity_dataStats` (unsafe methods: refused on a public endpoint).

use std::sync::Arc;

use gravity_runtime::{opaque::Block, AccountId, Balance, Nonce};
use jsonrpsee::RpcModule;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};

/// Full client dependencies.
pub struct FullDeps<C, P> {
	/// The client instance to use.
	pub client: Arc<C>,
	/// Transaction pool instance.
	pub pool: Arc<P>,
	/// The node's data plane (`gravity_put`, `gravity_get`, … : unsafe methods).
	pub data: gravity_data_swarm::DataService,
}

/// Instantiate all full RPC extensions.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>,
	C: HeaderBackend<Block> + HeaderMetadata<Block, Error = BlockChainError> + 'static,
	C: Send + Sync + 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, data } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	module.merge(gravity_data_swarm::rpc::DataApiServer::into_rpc(data))?;

	Ok(module)
}
