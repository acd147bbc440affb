//! `gravity-node data …`: the node's content store from the command line. Every command but
//! `hash` talks to a running node over its data RPC (`--data-rpc`, default
//! `http://127.0.0.1:9955`): a server of its own that the node runs only when started with
//! `--data-rpc-port`, on the loopback interface. The RPC takes no paths: this command reads and
//! writes your files, and moves large ones through the node's data exchange directory.

use jsonrpsee::{
	core::{
		client::{ClientT, Error as ClientError},
		params::ArrayParams,
	},
	types::error::METHOD_NOT_FOUND_CODE,
	ws_client::{WsClient, WsClientBuilder},
};
use serde_json::{json, Value};
use std::{
	io::Write,
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

#[derive(Debug, clap::Subcommand)]
pub enum DataCmd {
	/// Add a file to the node's content store; prints its content id (`<blake3>:<size>`).
	Put {
		path: PathBuf,
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// Fetch content from peers into the node's store (resuming what is there), showing
	/// progress; copy it to `--out` when done.
	Get {
		/// Content id (`<blake3>:<size>`).
		id: String,
		/// Where to write the content.
		#[arg(long)]
		out: Option<PathBuf>,
		/// Peer id of a node that holds it (repeatable); connected peers are asked too.
		#[arg(long = "peer")]
		peers: Vec<String>,
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// Where content stands on the node.
	Status {
		id: String,
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// List the node's content store.
	Ls {
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// Keep content on the node until unpinned.
	Pin {
		id: String,
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// Let content be evicted again.
	Unpin {
		id: String,
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// Bytes this node sent and received since it started.
	Stats {
		#[clap(flatten)]
		rpc: Rpc,
	},
	/// Hash a file without a node: its content id, and how fast it hashed.
	Hash { path: PathBuf },
}

#[derive(Debug, Clone, clap::Args)]
pub struct Rpc {
	/// The node's data RPC (the node runs it when started with `--data-rpc-port`).
	#[arg(long = "data-rpc", alias = "rpc-url", default_value = "http://127.0.0.1:9955")]
	pub rpc_url: String,
}

/// A connection to a node's data RPC: a JSON-RPC client (jsonrpsee, over the WebSocket the
/// node's data RPC serves on its port beside HTTP), one connection for the whole command.
pub struct DataRpc {
	url: String,
	client: WsClient,
	runtime: tokio::runtime::Runtime,
}

impl DataRpc {
	/// Connect to `url` (`http://host:port` as the node prints it, or `ws://host:port`).
	pub fn connect(url: &str) -> Result<Self, String> {
		let ws = if let Some(rest) = url.strip_prefix("http://") {
			format!("ws://{rest}")
		} else if url.starts_with("ws://") {
			url.to_string()
		} else {
			return Err(format!("--data-rpc {url}: give the address of the node's data RPC, e.g. http://127.0.0.1:9955"))
		};
		let runtime = tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()
			.map_err(|e| format!("cannot start an async runtime: {e}"))?;
		let client = runtime
			.block_on(
				WsClientBuilder::default()
					// `gravity_get` answers when the download is complete: as long as it takes.
					.request_timeout(Duration::from_secs(7 * 24 * 3600))
					.max_request_size(MAX_MESSAGE_BYTES)
					.max_response_size(MAX_MESSAGE_BYTES)
					.build(&ws),
			)
			.map_err(|e| {
				format!(
					"cannot reach the node's data RPC at {url} ({e}): is gravity-node running with \
					 --data-rpc-port, and is --data-rpc that port?"
				)
			})?;
		Ok(DataRpc { url: url.to_string(), client, runtime })
	}

	/// Call `method` with positional `params`; the node's error message when it refuses.
	pub fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, String> {
		self.runtime.block_on(self.request(method, params))
	}

	async fn request(&self, method: &str, params: Vec<Value>) -> Result<Value, String> {
		let mut array = ArrayParams::new();
		for p in params {
			array.insert(p).map_err(|e| format!("{method}: {e}"))?;
		}
		self.client.request::<Value, _>(method, array).await.map_err(|e| match e {
			ClientError::Call(e) if e.code() == METHOD_NOT_FOUND_CODE => format!(
				"{} has no {method}: it is not a node's data RPC (the chain RPC has no data methods). \
				 Start the node with --data-rpc-port <port> and give that port with --data-rpc",
				self.url
			),
			ClientError::Call(e) => e.message().to_string(),
			e => format!("data RPC {}: {e}", self.url),
		})
	}
}

/// Largest JSON-RPC message either way: a `gravity_put` of the per-call limit (8 MiB) in hex,
/// with room to spare.
const MAX_MESSAGE_BYTES: u32 = 64 << 20;

/// Add the file `path` to the node's store: as bytes when small, else through the node's data
/// exchange directory (linked there, or copied when on another file system, then removed).
fn put(rpc: &DataRpc, path: &Path) -> Result<String, String> {
	let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
	if !meta.is_file() {
		return Err(format!("{}: not a regular file", path.display()))
	}
	let info = rpc.call("gravity_dataInfo", vec![])?;
	let max = info.get("maxCallBytes").and_then(|v| v.as_u64()).unwrap_or(0);
	if meta.len() <= max {
		let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
		return str_of(rpc.call("gravity_put", vec![json!(hex(&bytes))])?)
	}
	let dir = PathBuf::from(info.get("ioDir").and_then(|v| v.as_str()).unwrap_or_default());
	let name = format!("put-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
	let staged = dir.join(&name);
	if std::fs::hard_link(path, &staged).is_err() {
		eprintln!("copying {} into the node's data exchange directory {}", path.display(), dir.display());
		std::fs::copy(path, &staged).map_err(|e| {
			format!(
				"cannot put {} into the node's data exchange directory {} ({e}): run this on the \
				 node's machine as a user that may write there",
				path.display(),
				dir.display()
			)
		})?;
	}
	let result = rpc.call("gravity_import", vec![json!(name)]);
	let _ = std::fs::remove_file(&staged);
	str_of(result?)
}

/// Read complete content `id` (`size` bytes) from the node into `out`, in parts (written beside
/// it and renamed, so `out` never holds a partial copy).
fn read_to(rpc: &DataRpc, id: &str, size: u64, out: &Path) -> Result<(), String> {
	let tmp = out.with_extension(format!("part-{}", std::process::id()));
	let mut f = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
	let step = 4u64 << 20;
	let mut at = 0;
	while at < size {
		let hexed = str_of(rpc.call("gravity_read", vec![json!(id), json!(at), json!(step.min(size - at))])?)?;
		let bytes = unhex(&hexed)?;
		if bytes.is_empty() {
			let _ = std::fs::remove_file(&tmp);
			return Err(format!("the node returned nothing for {id} at byte {at}"))
		}
		f.write_all(&bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
		at += bytes.len() as u64;
	}
	f.sync_all().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
	std::fs::rename(&tmp, out).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

fn str_of(v: Value) -> Result<String, String> {
	v.as_str().map(str::to_string).ok_or_else(|| format!("unexpected answer from the node: {v}"))
}

fn hex(bytes: &[u8]) -> String {
	let mut s = String::with_capacity(2 + 2 * bytes.len());
	s.push_str("0x");
	for b in bytes {
		s.push_str(&format!("{b:02x}"));
	}
	s
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
	let s = s.strip_prefix("0x").unwrap_or(s);
	(0..s.len() / 2)
		.map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| "the node answered bad hex".to_string()))
		.collect()
}

fn mib(bytes: u64) -> String {
	format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

fn show(status: &Value) -> String {
	let n = |k: &str| status.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
	let mut line = format!(
		"{}  {}  {} of {}",
		status.get("id").and_then(|v| v.as_str()).unwrap_or("?"),
		status.get("state").and_then(|v| v.as_str()).unwrap_or("?"),
		mib(n("verifiedBytes")),
		mib(n("size")),
	);
	if status.get("pinned").and_then(|v| v.as_bool()) == Some(true) {
		line.push_str("  pinned");
	}
	if n("peers") > 0 {
		line.push_str(&format!("  {} peer(s)", n("peers")));
	}
	if n("rejectedPeers") > 0 {
		line.push_str(&format!("  {} peer(s) dropped for bad data", n("rejectedPeers")));
	}
	if let Some(e) = status.get("error").and_then(|v| v.as_str()) {
		line.push_str(&format!("\n  last error: {e}"));
	}
	line
}

impl DataCmd {
	pub fn run(&self) -> Result<(), String> {
		match self {
			DataCmd::Put { path, rpc } => println!("{}", put(&DataRpc::connect(&rpc.rpc_url)?, path)?),
			DataCmd::Get { id, out, peers, rpc } => {
				id.parse::<gravity_protocol::content::ContentId>().map_err(|e| format!("'{id}': {e}"))?;
				let rpc = DataRpc::connect(&rpc.rpc_url)?;
				let started = Instant::now();
				let status = rpc.runtime.block_on(get_with_progress(&rpc, id, peers))?;
				println!("{}", show(&status));
				if let Some(out) = out {
					let size = status.get("size").and_then(|v| v.as_u64()).unwrap_or(0);
					read_to(&rpc, id, size, out)?;
				}
				eprintln!(
					"done in {:.1} s{}",
					started.elapsed().as_secs_f64(),
					out.as_ref().map(|o| format!("; written to {}", o.display())).unwrap_or_default()
				);
			},
			DataCmd::Status { id, rpc } => println!("{}", show(&DataRpc::connect(&rpc.rpc_url)?.call("gravity_status", vec![json!(id)])?)),
			DataCmd::Ls { rpc } => {
				let list = DataRpc::connect(&rpc.rpc_url)?.call("gravity_ls", vec![])?;
				let items = list.as_array().cloned().unwrap_or_default();
				if items.is_empty() {
					println!("(the content store is empty)");
				}
				for s in items {
					println!("{}", show(&s));
				}
			},
			DataCmd::Pin { id, rpc } => println!("{}", show(&DataRpc::connect(&rpc.rpc_url)?.call("gravity_pin", vec![json!(id)])?)),
			DataCmd::Unpin { id, rpc } => println!("{}", show(&DataRpc::connect(&rpc.rpc_url)?.call("gravity_unpin", vec![json!(id)])?)),
			DataCmd::Stats { rpc } => println!("{}", DataRpc::connect(&rpc.rpc_url)?.call("gravity_dataStats", vec![])?),
			DataCmd::Hash { path } => {
				let t = Instant::now();
				let id = gravity_data_store::hash_file(path).map_err(|e| e.to_string())?;
				let secs = t.elapsed().as_secs_f64();
				println!("{id}");
				eprintln!("hashed {} in {secs:.2} s: {:.0} MB/s", mib(id.length), id.length as f64 / secs / 1e6);
			},
		}
		Ok(())
	}
}

/// `gravity_get` (which answers when the content is complete), with the download's status
/// printed every second meanwhile, over the same connection.
async fn get_with_progress(rpc: &DataRpc, id: &str, peers: &[String]) -> Result<Value, String> {
	let get = rpc.request("gravity_get", vec![json!(id), json!(peers)]);
	let progress = async {
		loop {
			tokio::time::sleep(Duration::from_secs(1)).await;
			if let Ok(s) = rpc.request("gravity_status", vec![json!(id)]).await {
				if s.get("state").and_then(|v| v.as_str()) == Some("downloading") {
					eprintln!("{}", show(&s));
				}
			}
		}
	};
	tokio::select! {
		status = get => status,
		_ = progress => Err("the progress display stopped".into()),
	}
}
