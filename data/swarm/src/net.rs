//! What the swarm needs from the network, as a small trait: the node implements it with
//! sc-network's request-response protocol ([`ScNet`]); unit tests with an in-memory network.

use futures::{future::BoxFuture, FutureExt};
use sc_network::{
	service::traits::NetworkService, IfDisconnected, PeerId, ProtocolName, ReputationChange,
};
use std::sync::Arc;

/// The network as the swarm sees it.
pub trait Net: Send + Sync + 'static {
	/// Send `payload` on `/gravity/blobs/1` to `peer`, wait for its answer.
	fn request(&self, peer: PeerId, payload: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>>;
	/// `peer` sent data that does not verify: drop it and lower its reputation.
	fn report_bad(&self, peer: PeerId);
	/// Peers connected now (candidates for any content).
	fn peers(&self) -> BoxFuture<'static, Vec<PeerId>>;
	/// This node.
	fn local_peer(&self) -> PeerId;
}

/// No network at all: every request fails and there are no peers. A [`crate::DataService`]
/// over it serves only what its store holds (`DataService::offline`: tools and tests).
pub struct NoNet(pub PeerId);

impl Net for NoNet {
	fn request(&self, peer: PeerId, _payload: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>> {
		async move { Err(format!("no network: cannot ask {peer}")) }.boxed()
	}
	fn report_bad(&self, _peer: PeerId) {}
	fn peers(&self) -> BoxFuture<'static, Vec<PeerId>> {
		async { Vec::new() }.boxed()
	}
	fn local_peer(&self) -> PeerId {
		self.0
	}
}

/// The reputation change for a peer that sent a slice that does not verify: fatal (the peer
/// is disconnected and banned for a while), since honest peers never do it.
pub const BAD_SLICE: ReputationChange = ReputationChange::new_fatal("sent a blob slice that does not verify");

/// [`Net`] on the node's own network (sc-network, litep2p or libp2p backend).
pub struct ScNet {
	pub network: Arc<dyn NetworkService>,
	pub protocol: ProtocolName,
	/// The connected peers (the node passes its sync service's peer list).
	pub connected: Arc<dyn Fn() -> BoxFuture<'static, Vec<PeerId>> + Send + Sync>,
}

impl Net for ScNet {
	fn request(&self, peer: PeerId, payload: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>> {
		let network = self.network.clone();
		let protocol = self.protocol.clone();
		async move {
			network
				.request(peer, protocol, payload, None, IfDisconnected::TryConnect)
				.await
				.map(|(response, _)| response)
				.map_err(|e| e.to_string())
		}
		.boxed()
	}

	fn report_bad(&self, peer: PeerId) {
		self.network.report_peer(peer, BAD_SLICE);
	}

	fn peers(&self) -> BoxFuture<'static, Vec<PeerId>> {
		(self.connected)()
	}

	fn local_peer(&self) -> PeerId {
		self.network.local_peer_id()
	}
}
