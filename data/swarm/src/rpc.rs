//! The node's data RPC: `gravity_put`, `gravity_get`, `gravity_status`, `gravity_ls`,
//! `gravity_pin`, `gravity_unpin`, `gravity_dataStats`.
//!
//! All of them read or write the node's files or its disk, so all are **unsafe** methods:
//! refused on a public RPC endpoint (`--rpc-methods safe`, the default for `--rpc-external`),
//! like `author_insertKey`. Use them on the node's own machine (`--rpc-methods unsafe`, the
//! default for a local endpoint) or through `gravity-node data …`.

use crate::{ContentStatus, DataService, StatsSnapshot};
use gravity_data_store::ContentId;
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
	types::ErrorObjectOwned,
	Extensions,
};
use sc_network::PeerId;

/// The data RPC.
#[rpc(server)]
pub trait DataApi {
	/// Add a file of this node's disk (`path`) or bytes (`bytes`, 0x-hex) to the node's content
	/// store; returns the content id (`<blake3 hash>:<size>`).
	#[method(name = "gravity_put", with_extensions)]
	async fn put(&self, path: Option<String>, bytes: Option<String>) -> RpcResult<String>;

	/// Fetch content from peers (those given as peer ids, and the connected ones) into the
	/// store, waiting until it is complete; then copy it to `path` if one is given. Returns its
	/// status.
	#[method(name = "gravity_get", with_extensions)]
	async fn get(&self, id: String, path: Option<String>, peers: Option<Vec<String>>) -> RpcResult<ContentStatus>;

	/// Where content stands on this node (complete, downloading with progress, partial, failed
	/// with the reason, absent).
	#[method(name = "gravity_status", with_extensions)]
	fn status(&self, id: String) -> RpcResult<ContentStatus>;

	/// Everything in the node's store.
	#[method(name = "gravity_ls", with_extensions)]
	fn ls(&self) -> RpcResult<Vec<ContentStatus>>;

	/// Keep content on this node until unpinned (never evicted).
	#[method(name = "gravity_pin", with_extensions)]
	fn pin(&self, id: String) -> RpcResult<ContentStatus>;

	/// Let content be evicted again when the store is over its budget.
	#[method(name = "gravity_unpin", with_extensions)]
	fn unpin(&self, id: String) -> RpcResult<ContentStatus>;

	/// Bytes moved by this node since it started.
	#[method(name = "gravity_dataStats", with_extensions)]
	fn stats(&self) -> RpcResult<StatsSnapshot>;
}

/// The RPC's errors: invalid parameters (-32602) and failures of the request (1000).
fn invalid(msg: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(-32602, msg.into(), None::<()>)
}

fn failed(msg: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(1000, msg.into(), None::<()>)
}

fn parse_id(id: &str) -> RpcResult<ContentId> {
	id.parse::<ContentId>().map_err(|e| invalid(format!("'{id}' is not a content id: {e}")))
}

fn check(ext: &Extensions) -> RpcResult<()> {
	sc_rpc_api::check_if_safe(ext).map_err(Into::into)
}

fn unhex(s: &str) -> RpcResult<Vec<u8>> {
	let s = s.strip_prefix("0x").unwrap_or(s);
	if s.len() % 2 != 0 {
		return Err(invalid("bytes must be 0x-prefixed hex with an even number of digits"))
	}
	(0..s.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| invalid("bytes must be 0x-prefixed hex")))
		.collect()
}

#[async_trait]
impl DataApiServer for DataService {
	async fn put(&self, ext: &Extensions, path: Option<String>, bytes: Option<String>) -> RpcResult<String> {
		check(ext)?;
		let id = match (path, bytes) {
			(Some(path), None) => self.put_file(path.into()).await,
			(None, Some(hex)) => self.put_bytes(unhex(&hex)?).await,
			_ => return Err(invalid("give either `path` (a file on the node's machine) or `bytes` (0x-hex), not both")),
		}
		.map_err(|e| failed(e.to_string()))?;
		Ok(id.to_string())
	}

	async fn get(
		&self,
		ext: &Extensions,
		id: String,
		path: Option<String>,
		peers: Option<Vec<String>>,
	) -> RpcResult<ContentStatus> {
		check(ext)?;
		let id = parse_id(&id)?;
		let peers = peers
			.unwrap_or_default()
			.iter()
			.map(|p| p.parse::<PeerId>().map_err(|e| invalid(format!("'{p}' is not a peer id: {e}"))))
			.collect::<RpcResult<Vec<_>>>()?;
		DataService::get(self, id, peers).await.map_err(failed)?;
		if let Some(path) = path {
			let store = self.store().clone();
			tokio::task::spawn_blocking(move || store.export(&id, std::path::Path::new(&path)))
				.await
				.map_err(|e| failed(e.to_string()))?
				.map_err(|e| failed(e.to_string()))?;
		}
		Ok(self.status(&id))
	}

	fn status(&self, ext: &Extensions, id: String) -> RpcResult<ContentStatus> {
		check(ext)?;
		Ok(DataService::status(self, &parse_id(&id)?))
	}

	fn ls(&self, ext: &Extensions) -> RpcResult<Vec<ContentStatus>> {
		check(ext)?;
		Ok(self.list())
	}

	fn pin(&self, ext: &Extensions, id: String) -> RpcResult<ContentStatus> {
		check(ext)?;
		let id = parse_id(&id)?;
		self.store().pin(&id, true).map_err(|e| failed(e.to_string()))?;
		Ok(DataService::status(self, &id))
	}

	fn unpin(&self, ext: &Extensions, id: String) -> RpcResult<ContentStatus> {
		check(ext)?;
		let id = parse_id(&id)?;
		self.store().pin(&id, false).map_err(|e| failed(e.to_string()))?;
		Ok(DataService::status(self, &id))
	}

	fn stats(&self, ext: &Extensions) -> RpcResult<StatsSnapshot> {
		check(ext)?;
		Ok(DataService::stats(self))
	}
}
