//! `gravity-node data …`: the node's content store from the command line. Every command but
//! `hash` talks to a running node over its data RPC (`--data-rpc`, default
//! `http://127.0.0.1:9955`): a server of its own that the node runs only when started with
//! `--data-rpc-port`, on the loopback interface. The RPC takes no paths: this command reads and
//! writes your files, and moves large ones through the node's data exchange directory.

use serde_json::{json, Value};
use std::{
	io::{Read, Write},
	net::TcpStream,
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


/// One JSON-RPC call over HTTP/1.1 (no client library: the node's RPC server speaks plain
/// HTTP on its RPC port).
pub fn call(url: &str, method: &str, params: Value) -> Result<Value, String> {
	let rest = url
		.strip_prefix("http://")
		.ok_or_else(|| format!("--data-rpc {url}: give an http:// address of the node's data RPC, e.g. http://127.0.0.1:9955"))?;
	let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
	let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
	let mut stream = TcpStream::connect(host)
		.map_err(|e| {
			format!(
				"cannot reach the node's data RPC at {url} ({e}): is gravity-node running with \
				 --data-rpc-port, and is --data-rpc that port?"
			)
		})?;
	write!(
		stream,
		"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
		body.len()
	)
	.map_err(|e| format!("RPC {url}: {e}"))?;
	let mut raw = Vec::new();
	stream.read_to_end(&mut raw).map_err(|e| format!("RPC {url}: {e}"))?;
	let text = String::from_utf8_lossy(&raw);
	let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("RPC {url}: not an HTTP answer"))?;
	let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_string() };
	let v: Value = serde_json::from_str(&body)
		.map_err(|_| format!("RPC {url} answered: {} {}", head.lines().next().unwrap_or(""), body.trim()))?;
	if let Some(e) = v.get("error") {
		let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("error");
		if msg.contains("Method not found") {
			return Err(format!(
				"{url} has no {method}: it is not a node's data RPC (the chain RPC has no data methods). \
				 Start the node with --data-rpc-port <port> and give that port with --data-rpc"
			))
		}
		return Err(msg.to_string())
	}
	Ok(v.get("result").cloned().unwrap_or(Value::Null))
}

fn dechunk(body: &str) -> String {
	let mut out = String::new();
	let mut rest = body;
	while let Some((size, after)) = rest.split_once("\r\n") {
		let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
		if n == 0 || after.len() < n {
			break
		}
		out.push_str(&after[..n]);
		rest = after[n..].trim_start_matches("\r\n");
	}
	out
}

/// Add the file `path` to the node's store: as bytes when small, else through the node's data
/// exchange directory (linked there, or copied when on another file system, then removed).
fn put(url: &str, path: &Path) -> Result<String, String> {
	let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
	if !meta.is_file() {
		return Err(format!("{}: not a regular file", path.display()))
	}
	let info = call(url, "gravity_dataInfo", json!([]))?;
	let max = info.get("maxCallBytes").and_then(|v| v.as_u64()).unwrap_or(0);
	if meta.len() <= max {
		let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
		return str_of(call(url, "gravity_put", json!([hex(&bytes)]))?)
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
	let result = call(url, "gravity_import", json!([name]));
	let _ = std::fs::remove_file(&staged);
	str_of(result?)
}

/// Read complete content `id` (`size` bytes) from the node into `out`, in parts (written beside
/// it and renamed, so `out` never holds a partial copy).
fn read_to(url: &str, id: &str, size: u64, out: &Path) -> Result<(), String> {
	let tmp = out.with_extension(format!("part-{}", std::process::id()));
	let mut f = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
	let step = 4u64 << 20;
	let mut at = 0;
	while at < size {
		let hexed = str_of(call(url, "gravity_read", json!([id, at, step.min(size - at)]))?)?;
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
			DataCmd::Put { path, rpc } => println!("{}", put(&rpc.rpc_url, path)?),
			DataCmd::Get { id, out, peers, rpc } => {
				id.parse::<gravity_protocol::content::ContentId>().map_err(|e| format!("'{id}': {e}"))?;
				let (url, id2) = (rpc.rpc_url.clone(), id.clone());
				let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
				let done2 = done.clone();
				let started = Instant::now();
				let progress = std::thread::spawn(move || {
					while !done2.load(std::sync::atomic::Ordering::Relaxed) {
						std::thread::sleep(Duration::from_secs(1));
						if let Ok(s) = call(&url, "gravity_status", json!([id2])) {
							if s.get("state").and_then(|v| v.as_str()) == Some("downloading") {
								eprintln!("{}", show(&s));
							}
						}
					}
				});
				let result = call(&rpc.rpc_url, "gravity_get", json!([id, peers]));
				done.store(true, std::sync::atomic::Ordering::Relaxed);
				let _ = progress.join();
				let status = result?;
				println!("{}", show(&status));
				if let Some(out) = out {
					let size = status.get("size").and_then(|v| v.as_u64()).unwrap_or(0);
					read_to(&rpc.rpc_url, id, size, out)?;
				}
				eprintln!(
					"done in {:.1} s{}",
					started.elapsed().as_secs_f64(),
					out.as_ref().map(|o| format!("; written to {}", o.display())).unwrap_or_default()
				);
			},
			DataCmd::Status { id, rpc } => println!("{}", show(&call(&rpc.rpc_url, "gravity_status", json!([id]))?)),
			DataCmd::Ls { rpc } => {
				let list = call(&rpc.rpc_url, "gravity_ls", json!([]))?;
				let items = list.as_array().cloned().unwrap_or_default();
				if items.is_empty() {
					println!("(the content store is empty)");
				}
				for s in items {
					println!("{}", show(&s));
				}
			},
			DataCmd::Pin { id, rpc } => println!("{}", show(&call(&rpc.rpc_url, "gravity_pin", json!([id]))?)),
			DataCmd::Unpin { id, rpc } => println!("{}", show(&call(&rpc.rpc_url, "gravity_unpin", json!([id]))?)),
			DataCmd::Stats { rpc } => println!("{}", call(&rpc.rpc_url, "gravity_dataStats", json!([]))?),
			DataCmd::Hash { path } => {
				let t = Instant::now();
				let id = gravity_data_store::hash_file(path).map_err(|e| e.to_string())?;
				let secs = t.elapsed().as_secs_f64();
				println!("{id}");
				eprintln!("hashed {} in {secs:.2} s: {:.0} MB/s", mib(id.size), id.size as f64 / secs / 1e6);
			},
		}
		Ok(())
	}
}
