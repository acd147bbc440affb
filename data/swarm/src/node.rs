//! The data plane inside a node, started by one call ([`start`]): the content store opened with
//! its budget, the `/gravity/blobs/1` server, the downloader over the node's own network, and
//! the data RPC when the node serves one. The node's service hands over the pieces only it has
//! (the protocol's request receiver, the network, the connected peers, a spawner) and gets the
//! [`DataService`] the provider and the RPC use.

use crate::{rpc, server, DataService, FetchConfig, ScNet, ServeLimits, Stats, PROTOCOL};
use futures::future::BoxFuture;
use sc_network::{request_responses::IncomingRequest, service::traits::NetworkService, PeerId};
use std::{path::PathBuf, sync::Arc, time::Duration};

const LOG: &str = "gravity-data";

/// How the node's data plane is set up (from `gravity-node`'s `--data-*` flags).
pub struct NodeConfig {
	/// The content store's directory.
	pub dir: PathBuf,
	/// Bytes the store may hold (least recently used unpinned content goes first).
	pub budget: u64,
	/// Disk space the store always leaves free.
	pub disk_reserve: u64,
	/// Serving rate in bytes a second (`None`: unlimited).
	pub serve_rate: Option<u64>,
	/// How long one request may take.
	pub request_timeout: Duration,
	/// How long a download may go without progress before it gives up.
	pub give_up_after: Duration,
	/// Serve the data RPC on `127.0.0.1:port`, with files read and written only in the
	/// directory given.
	pub rpc: Option<(u16, PathBuf)>,
}

/// What only the node has.
pub struct NodeParts {
	/// The receiver of `/gravity/blobs/1` requests ([`crate::protocol_config`]).
	pub requests: async_channel::Receiver<IncomingRequest>,
	/// The node's network.
	pub network: Arc<dyn NetworkService>,
	/// The peers connected now (the node passes its sync service's peer list).
	pub connected: Arc<dyn Fn() -> BoxFuture<'static, Vec<PeerId>> + Send + Sync>,
	/// Spawns a named long-running task on the node's task manager.
	pub spawn: Box<dyn Fn(&'static str, BoxFuture<'static, ()>) + Send + Sync>,
}

/// Start the data plane: open the store, serve it, and (when asked) the data RPC. Errors say
/// what could not be opened or bound, and what to change.
pub fn start(config: NodeConfig, parts: NodeParts) -> Result<DataService, String> {
	let mut store = gravity_data_store::Store::open(&config.dir, config.budget)
		.map_err(|e| format!("content store {}: {e}", config.dir.display()))?;
	store.set_disk_reserve(config.disk_reserve);
	let store = Arc::new(store);
	let stats = Arc::new(Stats::default());
	let limits = ServeLimits { rate: config.serve_rate, ..Default::default() };
	(parts.spawn)("gravity-blobs-server", Box::pin(server::serve(store.clone(), parts.requests, limits, stats.clone())));
	let net = ScNet { network: parts.network, protocol: PROTOCOL.into(), connected: parts.connected };
	let fetch = FetchConfig {
		request_timeout: config.request_timeout,
		stall_timeout: config.give_up_after,
		..Default::default()
	};
	let service = DataService::new(store, Arc::new(net), stats, fetch);
	if let Some((port, io_dir)) = config.rpc {
		// Loopback only, refuses web pages, takes no paths (`rpc`).
		let (addr, handle) = rpc::start(rpc::DataRpc::new(service.clone(), io_dir.clone()), port)?;
		log::info!(target: LOG, "data RPC on http://{addr} (loopback only; files through {})", io_dir.display());
		(parts.spawn)("gravity-data-rpc", Box::pin(async move { handle.stopped().await }));
	}
	Ok(service)
}
