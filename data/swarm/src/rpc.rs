//! The node's data RPC: its own JSON-RPC server, off unless the operator turns it on
//! (`gravity-node --data-rpc-port`), listening on the loopback interface only, and refusing
//! every request that comes from a web page.
//!
//! Why a server of its own and not methods on the chain RPC: the chain RPC is often opened to
//! browsers (`--rpc-cors all`, and `--dev` allows every origin), and a WebSocket is not subject
//! to CORS at all, so any page the operator opens could drive methods that read and write the
//! node's disk. Here every request carrying an `Origin` header (browsers send one with every
//! WebSocket handshake and every cross-site request) is answered 403 before it reaches a
//! method, and nothing is listening unless asked for.
//!
//! No method takes a path. Files move through one directory the operator chooses, the data
//! exchange directory (`--data-io-dir`, by default `<base-path>/data-io`): `gravity_import`
//! adds a file of that directory by its plain name (links are not followed), `gravity_export`
//! writes a new file there (never over an existing one). Small content goes in and out as hex
//! (`gravity_put`, `gravity_read`).
//!
//! Methods: `gravity_put`, `gravity_import`, `gravity_get`, `gravity_read`, `gravity_export`,
//! `gravity_status`, `gravity_ls`, `gravity_pin`, `gravity_unpin`, `gravity_dataStats`,
//! `gravity_dataInfo`.

use crate::{ContentStatus, DataService, StatsSnapshot};
use futures::FutureExt;
use gravity_data_store::ContentId;
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
	server::{HttpBody, HttpRequest, HttpResponse, Server, ServerHandle},
	types::ErrorObjectOwned,
};
use sc_network::PeerId;
use std::{
	future::Future,
	net::{Ipv4Addr, SocketAddr},
	path::{Path, PathBuf},
	pin::Pin,
	task::{Context, Poll},
};

/// Most bytes `gravity_put` takes and `gravity_read` returns in one call (hex doubles them on
/// the wire). Larger content goes through the data exchange directory, or is read in parts.
pub const MAX_CALL_BYTES: u64 = 8 << 20;

/// What the node reports about its data RPC (`gravity_dataInfo`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DataInfo {
	/// The data exchange directory: `gravity_import` reads files from it, `gravity_export`
	/// writes them to it.
	pub io_dir: String,
	/// Most bytes one `gravity_put` takes or one `gravity_read` returns.
	pub max_call_bytes: u64,
}

/// The data RPC.
#[rpc(server)]
pub trait DataApi {
	/// Add bytes (0x-hex, at most [`MAX_CALL_BYTES`]) to the node's content store; returns the
	/// content id (`<blake3 hash>:<size>`).
	#[method(name = "gravity_put")]
	async fn put(&self, bytes: String) -> RpcResult<String>;

	/// Add the file `name` of the data exchange directory (a plain file name; links are not
	/// followed) to the content store; returns the content id.
	#[method(name = "gravity_import")]
	async fn import(&self, name: String) -> RpcResult<String>;

	/// Fetch content from peers (those given as peer ids, and the connected ones) into the
	/// store, waiting until it is complete. Returns its status.
	#[method(name = "gravity_get")]
	async fn get(&self, id: String, peers: Option<Vec<String>>) -> RpcResult<ContentStatus>;

	/// `length` bytes (at most [`MAX_CALL_BYTES`]) of complete content from `offset`, as 0x-hex.
	#[method(name = "gravity_read")]
	async fn read(&self, id: String, offset: u64, length: u64) -> RpcResult<String>;

	/// Write complete content to a new file `name` in the data exchange directory.
	#[method(name = "gravity_export")]
	async fn export(&self, id: String, name: String) -> RpcResult<String>;

	/// Where content stands on this node (complete, downloading with progress, partial, failed
	/// with the reason, absent).
	#[method(name = "gravity_status")]
	fn status(&self, id: String) -> RpcResult<ContentStatus>;

	/// Everything in the node's store.
	#[method(name = "gravity_ls")]
	fn ls(&self) -> RpcResult<Vec<ContentStatus>>;

	/// Keep content on this node until unpinned (never evicted).
	#[method(name = "gravity_pin")]
	fn pin(&self, id: String) -> RpcResult<ContentStatus>;

	/// Let content be evicted again when the store is over its budget.
	#[method(name = "gravity_unpin")]
	fn unpin(&self, id: String) -> RpcResult<ContentStatus>;

	/// Bytes moved by this node since it started.
	#[method(name = "gravity_dataStats")]
	fn stats(&self) -> RpcResult<StatsSnapshot>;

	/// The data exchange directory and the per-call limit.
	#[method(name = "gravity_dataInfo")]
	fn info(&self) -> RpcResult<DataInfo>;
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

fn tohex(bytes: &[u8]) -> String {
	let mut out = String::with_capacity(2 + bytes.len() * 2);
	out.push_str("0x");
	for b in bytes {
		out.push_str(&format!("{b:02x}"));
	}
	out
}

/// The file `name` of the exchange directory `dir`: a plain name (letters, digits, `.`, `_`,
/// `-`; not starting with `.`; at most 255 bytes), so that no call can name anything outside.
pub fn io_path(dir: &Path, name: &str) -> Result<PathBuf, String> {
	let plain = !name.is_empty() &&
		name.len() <= 255 &&
		!name.starts_with('.') &&
		name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
	if !plain {
		return Err(format!(
			"'{name}' is not a plain file name: the data RPC takes no paths, only names of files in \
			 the node's data exchange directory ({}), made of letters, digits, '.', '_' and '-'",
			dir.display()
		))
	}
	Ok(dir.join(name))
}

/// The data RPC's methods over the node's data service.
#[derive(Clone)]
pub struct DataRpc {
	service: DataService,
	io_dir: PathBuf,
}

impl DataRpc {
	pub fn new(service: DataService, io_dir: PathBuf) -> Self {
		DataRpc { service, io_dir }
	}

	fn complete(&self, id: &ContentId) -> RpcResult<()> {
		if self.service.is_complete(id) {
			Ok(())
		} else {
			Err(failed(format!("{id} is not complete on this node: fetch it first with gravity_get")))
		}
	}
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> RpcResult<T> {
	tokio::task::spawn_blocking(f).await.map_err(|e| failed(e.to_string()))?.map_err(failed)
}

#[async_trait]
impl DataApiServer for DataRpc {
	async fn put(&self, bytes: String) -> RpcResult<String> {
		if bytes.len() as u64 > 2 + 2 * MAX_CALL_BYTES {
			return Err(invalid(format!(
				"gravity_put takes at most {MAX_CALL_BYTES} bytes: put larger content into the data exchange \
				 directory ({}) and call gravity_import",
				self.io_dir.display()
			)))
		}
		let id = self.service.put_bytes(unhex(&bytes)?).await.map_err(|e| failed(e.to_string()))?;
		Ok(id.to_string())
	}

	async fn import(&self, name: String) -> RpcResult<String> {
		let path = io_path(&self.io_dir, &name).map_err(invalid)?;
		let service = self.service.clone();
		let id = blocking(move || {
			use std::os::unix::fs::OpenOptionsExt;
			let file = std::fs::OpenOptions::new()
				.read(true)
				.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
				.open(&path)
				.map_err(|e| format!("cannot open {} ({e}); links are not followed", path.display()))?;
			service.import(file, &path).map_err(|e| e.to_string())
		})
		.await?;
		Ok(id.to_string())
	}

	async fn get(&self, id: String, peers: Option<Vec<String>>) -> RpcResult<ContentStatus> {
		let id = parse_id(&id)?;
		let peers = peers
			.unwrap_or_default()
			.iter()
			.map(|p| p.parse::<PeerId>().map_err(|e| invalid(format!("'{p}' is not a peer id: {e}"))))
			.collect::<RpcResult<Vec<_>>>()?;
		self.service.get(id, peers).await.map_err(failed)?;
		Ok(self.service.status(&id))
	}

	async fn read(&self, id: String, offset: u64, length: u64) -> RpcResult<String> {
		let id = parse_id(&id)?;
		if length > MAX_CALL_BYTES {
			return Err(invalid(format!("gravity_read returns at most {MAX_CALL_BYTES} bytes a call: read in parts")))
		}
		self.complete(&id)?;
		let end = offset.saturating_add(length).min(id.length);
		let start = offset.min(end);
		let service = self.service.clone();
		let bytes = blocking(move || service.read_range(&id, start..end).map_err(|e| e.to_string())).await?;
		Ok(tohex(&bytes))
	}

	async fn export(&self, id: String, name: String) -> RpcResult<String> {
		let id = parse_id(&id)?;
		let path = io_path(&self.io_dir, &name).map_err(invalid)?;
		self.complete(&id)?;
		if std::fs::symlink_metadata(&path).is_ok() {
			return Err(invalid(format!("{} exists: gravity_export writes new files only", path.display())))
		}
		let service = self.service.clone();
		let shown = path.display().to_string();
		blocking(move || service.export(&id, &path).map_err(|e| e.to_string())).await?;
		Ok(shown)
	}

	fn status(&self, id: String) -> RpcResult<ContentStatus> {
		Ok(self.service.status(&parse_id(&id)?))
	}

	fn ls(&self) -> RpcResult<Vec<ContentStatus>> {
		Ok(self.service.list())
	}

	fn pin(&self, id: String) -> RpcResult<ContentStatus> {
		let id = parse_id(&id)?;
		self.service.pin(&id, true).map_err(|e| failed(e.to_string()))?;
		Ok(self.service.status(&id))
	}

	fn unpin(&self, id: String) -> RpcResult<ContentStatus> {
		let id = parse_id(&id)?;
		self.service.pin(&id, false).map_err(|e| failed(e.to_string()))?;
		Ok(self.service.status(&id))
	}

	fn stats(&self) -> RpcResult<StatsSnapshot> {
		Ok(self.service.stats())
	}

	fn info(&self) -> RpcResult<DataInfo> {
		Ok(DataInfo { io_dir: self.io_dir.display().to_string(), max_call_bytes: MAX_CALL_BYTES })
	}
}

/// Answers 403 to any request with an `Origin` header (a web page), before the RPC sees it.
#[derive(Clone)]
pub struct RefuseBrowsers<S>(S);

/// The body of the refusal.
pub const REFUSED_ORIGIN: &str = "the Gravity data RPC does not answer web pages (the request has an Origin header): \
	use `gravity-node data ...` or another client on this machine";

impl<S> tower::Layer<S> for RefuseBrowsersLayer {
	type Service = RefuseBrowsers<S>;
	fn layer(&self, inner: S) -> Self::Service {
		RefuseBrowsers(inner)
	}
}

/// The layer of [`RefuseBrowsers`].
#[derive(Clone, Copy, Default)]
pub struct RefuseBrowsersLayer;

impl<S, B> tower::Service<HttpRequest<B>> for RefuseBrowsers<S>
where
	S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
	S::Future: Send + 'static,
	S::Error: 'static,
{
	type Response = HttpResponse;
	type Error = S::Error;
	type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, S::Error>> + Send + 'static>>;

	fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
		self.0.poll_ready(cx)
	}

	fn call(&mut self, req: HttpRequest<B>) -> Self::Future {
		if req.headers().contains_key("origin") {
			log::warn!(target: "gravity-data", "data RPC: refused a request from a web page (Origin {:?})", req.headers().get("origin"));
			let refused = HttpResponse::builder()
				.status(403)
				.header("content-type", "text/plain")
				.body(HttpBody::from(REFUSED_ORIGIN))
				.expect("a static response is valid");
			return async move { Ok(refused) }.boxed()
		}
		self.0.call(req).boxed()
	}
}

/// Start the data RPC on `127.0.0.1:port` (0: any free port; call within a tokio runtime).
/// Returns the address it listens on and the handle that stops it.
pub fn start(rpc: DataRpc, port: u16) -> Result<(SocketAddr, ServerHandle), String> {
	std::fs::create_dir_all(&rpc.io_dir)
		.map_err(|e| format!("data exchange directory {}: {e}", rpc.io_dir.display()))?;
	let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
	let listener = std::net::TcpListener::bind(addr)
		.map_err(|e| format!("data RPC: cannot listen on {addr} ({e}): choose another --data-rpc-port"))?;
	listener.set_nonblocking(true).map_err(|e| e.to_string())?;
	let server = Server::builder()
		.max_request_body_size((2 * MAX_CALL_BYTES + (1 << 20)) as u32)
		.max_response_body_size((2 * MAX_CALL_BYTES + (1 << 20)) as u32)
		.max_connections(32)
		.set_http_middleware(tower::ServiceBuilder::new().layer(RefuseBrowsersLayer))
		.build_from_tcp(listener)
		.map_err(|e| format!("data RPC on {addr}: {e}"))?;
	let local = server.local_addr().map_err(|e| e.to_string())?;
	let handle = server.start(rpc.into_rpc());
	Ok((local, handle))
}
