//! `gravity data …`: a node's content store through its data RPC (`gravity_*`, a JSON-RPC
//! server the node runs on loopback when started with `--data-rpc-port`). The RPC takes no
//! paths: small content moves as hex in the call, larger files through the node's data exchange
//! directory (so the node must run on this machine for `put` of large files).

use crate::{
	cli::{DataCmd, Global},
	error::{Error, Result},
	fail,
	out::Out,
};
use gravity_protocol::content::ContentId;
use serde_json::{json, Value};
use std::{
	io::{Read, Seek, Write},
	path::{Path, PathBuf},
	time::Duration,
};
use subxt::rpcs::{rpc_params, RpcClient};

/// Most bytes one `gravity_read` is asked for.
const READ_STEP: u64 = 4 << 20;

#[derive(Clone)]
pub struct DataClient {
	rpc: RpcClient,
	pub url: String,
	pub io_dir: PathBuf,
	pub max_call_bytes: u64,
}

pub fn hex(bytes: &[u8]) -> String {
	let mut s = String::with_capacity(2 + 2 * bytes.len());
	s.push_str("0x");
	for b in bytes {
		use std::fmt::Write;
		let _ = write!(s, "{b:02x}");
	}
	s
}

pub fn unhex(s: &str) -> std::result::Result<Vec<u8>, ()> {
	let s = s.strip_prefix("0x").unwrap_or(s);
	if s.len() % 2 != 0 {
		return Err(())
	}
	(0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| ())).collect()
}

pub fn parse_id(text: &str) -> Result<ContentId> {
	text.parse::<ContentId>().map_err(|e| Error(format!("'{text}' is not a content id: {e}")))
}

impl DataClient {
	pub async fn connect(url: &str) -> Result<Self> {
		let rpc = RpcClient::from_insecure_url(url).await.map_err(|e| {
			Error(format!(
				"cannot reach the node's data RPC at {url} ({e}): start the node with --data-rpc-port (the local \
				 network's node 0 has it on 9955) and point --data-url / GRAVITY_DATA_URL at it"
			))
		})?;
		let mut client = DataClient { rpc, url: url.to_string(), io_dir: PathBuf::new(), max_call_bytes: 0 };
		let info = client.call("gravity_dataInfo", rpc_params![]).await?;
		client.io_dir = PathBuf::from(info.get("ioDir").and_then(|v| v.as_str()).unwrap_or_default());
		client.max_call_bytes = info.get("maxCallBytes").and_then(|v| v.as_u64()).unwrap_or(0);
		Ok(client)
	}

	pub async fn call(&self, method: &str, params: subxt::rpcs::client::RpcParams) -> Result<Value> {
		self.rpc.request::<Value>(method, params).await.map_err(|e| {
			let text = e.to_string();
			if text.contains("Method not found") {
				Error(format!(
					"{} has no {method}: it is not a node's data RPC (the chain RPC has none): give the port of \
					 --data-rpc-port with --data-url",
					self.url
				))
			} else {
				Error(format!("the node's data RPC ({method}): {}", text.replace("ErrorObject", "")))
			}
		})
	}

	/// Add the file at `path` to the store; returns its content id.
	pub async fn put_file(&self, path: &Path) -> Result<ContentId> {
		let meta = std::fs::metadata(path).map_err(|e| Error(format!("{}: cannot read it ({e})", path.display())))?;
		if !meta.is_file() {
			fail!("{}: not a regular file", path.display())
		}
		if meta.len() <= self.max_call_bytes {
			let bytes = std::fs::read(path).map_err(|e| Error(format!("{}: cannot read it ({e})", path.display())))?;
			return self.put_bytes(&bytes).await
		}
		let name = format!(
			"put-{}-{}",
			std::process::id(),
			std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
		);
		let staged = self.io_dir.join(&name);
		if std::fs::hard_link(path, &staged).is_err() {
			std::fs::copy(path, &staged).map_err(|e| {
				Error(format!(
					"cannot put {} into the node's data exchange directory {} ({e}): run this on the node's machine \
					 as a user that may write there",
					path.display(),
					self.io_dir.display()
				))
			})?;
		}
		let result = self.call("gravity_import", rpc_params![name]).await;
		let _ = std::fs::remove_file(&staged);
		id_of(result?)
	}

	pub async fn put_bytes(&self, bytes: &[u8]) -> Result<ContentId> {
		id_of(self.call("gravity_put", rpc_params![hex(bytes)]).await?)
	}

	/// Fetch `id` into the node's store from `peers` (base58 peer ids) and its connected peers,
	/// with a progress bar; returns its status.
	pub async fn fetch(&self, out: &Out, id: &ContentId, peers: &[String]) -> Result<Value> {
		let bar = out.bytes_bar(id.length, &format!("fetching {}", short(id)));
		let watcher = {
			let (me, id, bar) = (self.clone(), id.to_string(), bar.clone());
			tokio::spawn(async move {
				loop {
					tokio::time::sleep(Duration::from_millis(500)).await;
					if let Ok(s) = me.call("gravity_status", rpc_params![id.clone()]).await {
						bar.set_position(s.get("verifiedBytes").and_then(|v| v.as_u64()).unwrap_or(0));
					}
				}
			})
		};
		let status = self.call("gravity_get", rpc_params![id.to_string(), peers.to_vec()]).await;
		watcher.abort();
		bar.finish_and_clear();
		let status = status?;
		if status.get("state").and_then(|v| v.as_str()) != Some("complete") {
			fail!("{id} could not be fetched: {}", show(&status))
		}
		Ok(status)
	}

	/// Read complete content `id` from the node into `out`, resuming a partial copy
	/// (`<out>.partial`) left by an earlier try; the whole file is checked against the id before
	/// it is renamed to `out`.
	pub async fn read_to(&self, ui: &Out, id: &ContentId, out: &Path) -> Result<()> {
		let partial = PathBuf::from(format!("{}.partial", out.display()));
		let mut file = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.read(true)
			.open(&partial)
			.map_err(|e| Error(format!("cannot write {} ({e})", partial.display())))?;
		let mut at = file.metadata().map(|m| m.len()).unwrap_or(0);
		if at > id.length {
			file.set_len(0).map_err(|e| Error(format!("{}: {e}", partial.display())))?;
			at = 0;
		}
		let bar = ui.bytes_bar(id.length, &format!("reading {}", short(id)));
		bar.set_position(at);
		while at < id.length {
			let want = READ_STEP.min(self.max_call_bytes.max(1)).min(id.length - at);
			let hexed = self.call("gravity_read", rpc_params![id.to_string(), at, want]).await?;
			let bytes = unhex(hexed.as_str().unwrap_or_default()).map_err(|_| Error("the node answered bad hex".into()))?;
			if bytes.is_empty() {
				fail!("the node returned nothing for {id} at byte {at}: try again (the partial copy is kept)")
			}
			file.write_all(&bytes).map_err(|e| Error(format!("cannot write {} ({e})", partial.display())))?;
			at += bytes.len() as u64;
			bar.set_position(at);
		}
		bar.finish_and_clear();
		file.flush().map_err(|e| Error(format!("{}: {e}", partial.display())))?;
		// Check the whole copy: a resumed file is only as good as its first part.
		file.rewind().map_err(|e| Error(format!("{}: {e}", partial.display())))?;
		let got = hash_reader(&mut file).map_err(|e| Error(format!("{}: {e}", partial.display())))?;
		if got != *id {
			let _ = std::fs::remove_file(&partial);
			fail!("the bytes read for {id} hash to {got}: the partial copy was removed, run the command again")
		}
		std::fs::rename(&partial, out).map_err(|e| Error(format!("cannot write {} ({e})", out.display())))
	}

	/// The bytes of complete content `id` on the node (for outputs and small inputs).
	pub async fn read_bytes(&self, id: &ContentId) -> Result<Vec<u8>> {
		let mut all = Vec::with_capacity(id.length as usize);
		while (all.len() as u64) < id.length {
			let at = all.len() as u64;
			let want = READ_STEP.min(self.max_call_bytes.max(1)).min(id.length - at);
			let hexed = self.call("gravity_read", rpc_params![id.to_string(), at, want]).await?;
			let bytes = unhex(hexed.as_str().unwrap_or_default()).map_err(|_| Error("the node answered bad hex".into()))?;
			if bytes.is_empty() {
				fail!("the node returned nothing for {id} at byte {at}")
			}
			all.extend_from_slice(&bytes);
		}
		Ok(all)
	}
}

/// The content id of what `reader` yields.
pub fn hash_reader(reader: &mut impl Read) -> std::io::Result<ContentId> {
	let mut hasher = blake3_hasher();
	let mut buf = vec![0u8; 1 << 20];
	let mut size = 0u64;
	loop {
		let n = reader.read(&mut buf)?;
		if n == 0 {
			break
		}
		hasher.update(&buf[..n]);
		size += n as u64;
	}
	Ok(ContentId { root: *hasher.finalize().as_bytes(), length: size })
}

fn blake3_hasher() -> blake3::Hasher {
	blake3::Hasher::new()
}

/// The content id of the file at `path`.
pub fn hash_file(path: &Path) -> Result<ContentId> {
	let mut f = std::fs::File::open(path).map_err(|e| Error(format!("{}: cannot read it ({e})", path.display())))?;
	hash_reader(&mut f).map_err(|e| Error(format!("{}: {e}", path.display())))
}

fn id_of(v: Value) -> Result<ContentId> {
	parse_id(v.as_str().ok_or_else(|| Error(format!("unexpected answer from the node: {v}")))?)
}

fn short(id: &ContentId) -> String {
	let s = id.to_string();
	format!("{}…", &s[..12])
}

fn mib(bytes: u64) -> String {
	format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// A content status in one line.
pub fn show(status: &Value) -> String {
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
	if let Some(e) = status.get("error").and_then(|v| v.as_str()) {
		line.push_str(&format!("  (last error: {e})"));
	}
	line
}

pub async fn run(g: &Global, out: Out, cmd: DataCmd) -> Result<()> {
	let data = DataClient::connect(&g.data_url).await?;
	match cmd {
		DataCmd::Put { path } => {
			let id = data.put_file(&path).await?;
			out.result(json!({ "id": id.to_string(), "size": id.length, "path": path.display().to_string() }), || id.to_string());
		},
		DataCmd::Get { id, out: target, peers } => {
			let cid = parse_id(&id)?;
			let status = data.fetch(&out, &cid, &peers).await?;
			if let Some(target) = &target {
				data.read_to(&out, &cid, target).await?;
			}
			out.result(
				json!({ "id": id, "status": status, "out": target.as_ref().map(|t| t.display().to_string()) }),
				|| match &target {
					Some(t) => format!("{}\nwritten to {}", show(&status), t.display()),
					None => show(&status),
				},
			);
		},
		DataCmd::Status { id } => {
			parse_id(&id)?;
			let s = data.call("gravity_status", rpc_params![id]).await?;
			out.result(s.clone(), || show(&s));
		},
		DataCmd::Ls => {
			let list = data.call("gravity_ls", rpc_params![]).await?;
			out.result(list.clone(), || {
				let items = list.as_array().cloned().unwrap_or_default();
				if items.is_empty() {
					"(the content store is empty)".into()
				} else {
					items.iter().map(show).collect::<Vec<_>>().join("\n")
				}
			});
		},
		DataCmd::Pin { id } => {
			parse_id(&id)?;
			let s = data.call("gravity_pin", rpc_params![id]).await?;
			out.result(s.clone(), || show(&s));
		},
		DataCmd::Unpin { id } => {
			parse_id(&id)?;
			let s = data.call("gravity_unpin", rpc_params![id]).await?;
			out.result(s.clone(), || show(&s));
		},
	}
	Ok(())
}
