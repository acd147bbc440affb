//! The data plane between real `gravity-node` processes on loopback: `/gravity/blobs/1` on the
//! nodes' own network (litep2p), driven through the nodes' data RPC (`--data-rpc-port`) and the
//! `gravity-node data` CLI.
//! Several seeders, a seeder killed mid-transfer, a seeder whose disk rotted and one that froze,
//! a downloader killed half way and restarted, and bad input.

use serde_json::{json, Value};
use std::{
	io::{Read, Write},
	net::{TcpListener, TcpStream},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

const NODE: &str = env!("CARGO_BIN_EXE_gravity-node");

fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One JSON-RPC call over HTTP; `Err` carries the error message.
fn rpc(port: u16, method: &str, params: Value) -> Result<Value, String> {
	let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
	let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
	write!(s, "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
		.map_err(|e| e.to_string())?;
	let mut raw = String::new();
	s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
	let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
	let v: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {raw}"))?;
	match v.get("error") {
		Some(e) => Err(e["message"].as_str().unwrap_or("?").to_string()),
		None => Ok(v["result"].clone()),
	}
}

struct Node {
	name: String,
	args: Vec<String>,
	child: Option<Child>,
	rpc: u16,
	/// The data RPC's port.
	data: u16,
	dir: PathBuf,
}

impl Node {
	fn start(dir: &Path, name: &str, bootnode: Option<&str>, extra: &[&str]) -> Node {
		let rpc = free_port();
		let data = free_port();
		let mut args: Vec<String> = [
			"--chain", "dev", "--no-prometheus", "--no-telemetry", "--no-mdns",
		]
		.iter()
		.map(|s| s.to_string())
		.collect();
		args.extend(["--base-path".into(), dir.join(name).display().to_string()]);
		// Plain TCP (a node that is not a validator listens on WebSocket only by default).
		let p2p = free_port();
		args.extend(["--listen-addr".into(), format!("/ip4/127.0.0.1/tcp/{p2p}"), "--rpc-port".into(), rpc.to_string()]);
		args.extend(["--data-rpc-port".into(), data.to_string()]);
		if let Some(b) = bootnode {
			args.extend(["--bootnodes".into(), b.to_string()]);
		}
		args.extend(extra.iter().map(|s| s.to_string()));
		let mut node = Node { name: name.into(), args, child: None, rpc, data, dir: dir.to_path_buf() };
		node.spawn();
		node
	}

	fn spawn(&mut self) {
		let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(format!("{}.log", self.name))).unwrap();
		let child = Command::new(NODE)
			.args(&self.args)
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.unwrap();
		self.child = Some(child);
		let t = Instant::now();
		while rpc(self.rpc, "system_health", json!([])).is_err() {
			assert!(t.elapsed() < Duration::from_secs(60), "{} did not start: see {}", self.name, self.dir.display());
			std::thread::sleep(Duration::from_millis(200));
		}
	}

	fn peer_id(&self) -> String {
		rpc(self.rpc, "system_localPeerId", json!([])).unwrap().as_str().unwrap().to_string()
	}

	fn p2p_addr(&self) -> String {
		let listen = self.args.iter().position(|a| a == "--listen-addr").map(|i| self.args[i + 1].clone()).unwrap();
		format!("{listen}/p2p/{}", self.peer_id())
	}

	fn wait_peers(&self, n: u64) {
		let t = Instant::now();
		while rpc(self.rpc, "system_health", json!([])).unwrap()["peers"].as_u64().unwrap_or(0) < n {
			assert!(t.elapsed() < Duration::from_secs(60), "{} has fewer than {n} peers", self.name);
			std::thread::sleep(Duration::from_millis(200));
		}
	}

	fn kill(&mut self) {
		if let Some(mut c) = self.child.take() {
			let _ = c.kill();
			let _ = c.wait();
		}
	}

	/// Put a file through the node's data exchange directory (linked in, imported, removed).
	fn put(&self, path: &Path) -> String {
		let staged = self.dir.join(&self.name).join("data-io").join("staged.bin");
		std::fs::hard_link(path, &staged).unwrap();
		let id = rpc(self.data, "gravity_import", json!(["staged.bin"])).unwrap().as_str().unwrap().to_string();
		std::fs::remove_file(&staged).unwrap();
		id
	}

	fn data_url(&self) -> String {
		format!("http://127.0.0.1:{}", self.data)
	}

	fn status(&self, id: &str) -> Value {
		rpc(self.data, "gravity_status", json!([id])).unwrap()
	}

	fn stats(&self) -> Value {
		rpc(self.data, "gravity_dataStats", json!([])).unwrap()
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.kill();
	}
}

/// One test's network at a time: thirteen nodes on a 2-core machine at once would make the
/// rate-limited transfers measure the scheduler.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn workdir(name: &str) -> PathBuf {
	let d = std::env::temp_dir().join(format!("gravity-data-plane-{name}-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&d);
	std::fs::create_dir_all(&d).unwrap();
	d
}

/// A file of `mib` MiB of pseudo-random bytes.
fn make_file(path: &Path, mib: usize, seed: u64) -> Vec<u8> {
	let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	let bytes: Vec<u8> = (0..mib << 20)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect();
	std::fs::write(path, &bytes).unwrap();
	bytes
}

fn get_in_background(node: &Node, id: &str, out: &Path, extra: &[&str]) -> std::thread::JoinHandle<std::process::Output> {
	let mut cmd = Command::new(NODE);
	cmd.args(["data", "get", id, "--out"]).arg(out).args(["--data-rpc", &node.data_url()]);
	cmd.args(extra);
	std::thread::spawn(move || cmd.output().unwrap())
}

#[test]
fn content_moves_from_several_seeders_and_a_seeder_killed_mid_transfer_is_routed_around() {
	let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
	let dir = workdir("seeders");
	let src = dir.join("input.bin");
	let bytes = make_file(&src, 48, 1);
	// Seeders limited to 8 MiB/s each, so the transfer lasts long enough to kill one.
	let limit = ["--data-serve-rate", "8"];
	let a = Node::start(&dir, "a", None, &limit);
	let boot = a.p2p_addr();
	let b = Node::start(&dir, "b", Some(&boot), &limit);
	let mut c = Node::start(&dir, "c", Some(&boot), &limit);
	let d = Node::start(&dir, "d", Some(&boot), &[]);
	// `gravity-node data put` through the CLI on one seeder, RPC on the others: same id.
	let out = Command::new(NODE)
		.args(["data", "put"])
		.arg(&src)
		.args(["--data-rpc", &a.data_url()])
		.output()
		.unwrap();
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
	assert_eq!(b.put(&src), id);
	assert_eq!(c.put(&src), id);
	d.wait_peers(3);
	let dest = dir.join("fetched.bin");
	let t = Instant::now();
	let get = get_in_background(&d, &id, &dest, &[]);
	// Kill one seeder once a quarter has arrived.
	while d.status(&id)["verifiedBytes"].as_u64().unwrap_or(0) < (bytes.len() / 4) as u64 {
		assert!(t.elapsed() < Duration::from_secs(60), "no progress: {}", d.status(&id));
		std::thread::sleep(Duration::from_millis(50));
	}
	c.kill();
	let out = get.join().unwrap();
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	let secs = t.elapsed().as_secs_f64();
	assert_eq!(std::fs::read(&dest).unwrap(), bytes);
	assert_eq!(d.status(&id)["state"], "complete");
	eprintln!("48 MiB from 3 (then 2) seeders at 8 MiB/s each: {secs:.1} s");
	// Equal seeders share the work: each survivor sent at least a fifth of the file.
	let up = |n: &Node| n.stats()["uploadedBytes"].as_u64().unwrap();
	let fifth = bytes.len() as u64 / 5;
	assert!(up(&a) >= fifth && up(&b) >= fifth, "the seeders were not used together: {} {}", up(&a), up(&b));
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_seeder_whose_disk_rotted_or_that_froze_is_dropped_and_the_bytes_are_right() {
	// The faults a real node can have, made the way they happen: bytes on its disk changed under
	// it, and a process that stops answering (SIGSTOP). A peer that lies on the wire is not a
	// real `gravity-node` (its server checks its own bytes against the outboard as it reads
	// them); the downloader against such peers is tested in-process (`data/swarm/src/tests.rs`).
	let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
	let dir = workdir("faults");
	let src = dir.join("input.bin");
	let bytes = make_file(&src, 24, 2);
	let a = Node::start(&dir, "honest", None, &["--data-serve-rate", "12"]);
	let boot = a.p2p_addr();
	let rotten = Node::start(&dir, "rotten", Some(&boot), &[]);
	let frozen = Node::start(&dir, "frozen", Some(&boot), &[]);
	let d = Node::start(&dir, "downloader", Some(&boot), &["--data-request-timeout", "3"]);
	let id = a.put(&src);
	for n in [&rotten, &frozen] {
		assert_eq!(n.put(&src), id);
	}
	// Rot: one byte in every 16 KiB of the rotten node's copy flipped on disk, under the running node.
	let copy = stored_copy(&dir.join("rotten"), bytes.len() as u64);
	{
		use std::os::unix::fs::FileExt;
		let f = std::fs::OpenOptions::new().write(true).open(&copy).unwrap();
		for at in (0..bytes.len()).step_by(16 << 10) {
			f.write_all_at(&[bytes[at] ^ 0x5a], at as u64).unwrap();
		}
	}
	d.wait_peers(3);
	let pid = frozen.child.as_ref().unwrap().id().to_string();
	assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
	let t = Instant::now();
	let dest = dir.join("fetched.bin");
	let out = get_in_background(&d, &id, &dest, &[]).join().unwrap();
	let secs = t.elapsed().as_secs_f64();
	let _ = Command::new("kill").args(["-CONT", &pid]).status();
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	assert_eq!(std::fs::read(&dest).unwrap(), bytes, "nothing unverified was stored");
	assert_eq!(d.status(&id)["state"], "complete");
	eprintln!("24 MiB from one honest seeder at 12 MiB/s beside a rotten and a frozen one: {secs:.1} s");
	// The rotten node refused to serve what its outboard does not vouch for, and said so.
	let log = std::fs::read_to_string(dir.join("rotten.log")).unwrap();
	assert!(log.contains(&format!("cannot serve {id}")), "the rotten node did not report its corrupt copy");
	assert_eq!(d.stats()["rejectedSlices"].as_u64(), Some(0), "no bad slice reached the downloader: {}", d.stats());
	// The frozen and the rotten peers cost the download at most a few timeouts, not the file.
	assert!(secs < 60.0, "24 MiB took {secs:.1} s");
	let _ = std::fs::remove_dir_all(&dir);
}

/// The content store's copy of a file of `len` bytes under a node's base path (its data file
/// in the store's `complete/` directory).
fn stored_copy(base: &Path, len: u64) -> PathBuf {
	fn walk(d: &Path, len: u64, found: &mut Vec<PathBuf>) {
		for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
			let p = e.path();
			if p.is_dir() {
				walk(&p, len, found);
			} else if p.parent().and_then(|d| d.file_name()) == Some(std::ffi::OsStr::new("complete")) &&
				p.extension().is_none() &&
				e.metadata().map(|m| m.len() == len).unwrap_or(false)
			{
				found.push(p);
			}
		}
	}
	let mut found = vec![];
	walk(base, len, &mut found);
	assert_eq!(found.len(), 1, "one stored copy under {}: {found:?}", base.display());
	found.pop().unwrap()
}

#[test]
fn a_downloader_killed_half_way_resumes_and_refetches_at_most_one_percent() {
	let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
	let dir = workdir("resume");
	let src = dir.join("input.bin");
	let bytes = make_file(&src, 64, 3);
	let a = Node::start(&dir, "seed", None, &["--data-serve-rate", "16"]);
	let boot = a.p2p_addr();
	let mut d = Node::start(&dir, "downloader", Some(&boot), &[]);
	let id = a.put(&src);
	d.wait_peers(1);
	let dest = dir.join("fetched.bin");
	let first = get_in_background(&d, &id, &dest, &[]);
	let t = Instant::now();
	let seen = loop {
		let v = d.status(&id)["verifiedBytes"].as_u64().unwrap_or(0);
		if v >= (bytes.len() / 2) as u64 {
			break v
		}
		assert!(t.elapsed() < Duration::from_secs(60), "no progress: {}", d.status(&id));
		std::thread::sleep(Duration::from_millis(20));
	};
	d.kill();
	let before = first.join().unwrap();
	assert!(!before.status.success(), "the first get must fail with its node");
	d.spawn();
	d.wait_peers(1);
	let status = d.status(&id);
	assert_eq!(status["state"], "partial", "{status}");
	let out = get_in_background(&d, &id, &dest, &[]).join().unwrap();
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	assert_eq!(std::fs::read(&dest).unwrap(), bytes);
	let fetched = d.stats()["downloadedBytes"].as_u64().unwrap();
	let size = bytes.len() as u64;
	eprintln!("{seen} of {size} bytes verified when the node was killed; {fetched} fetched after the restart");
	// Everything verified before the kill is kept: at most 1 % of the file is fetched again.
	assert!(fetched <= size - seen + size / 100, "re-fetched {} bytes it had", fetched.saturating_sub(size - seen));
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_gets_clear_errors() {
	let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
	let dir = workdir("bad");
	let a = Node::start(&dir, "a", None, &["--data-give-up-after", "3"]);
	let e = rpc(a.data, "gravity_status", json!(["abc"])).unwrap_err();
	assert!(e.contains("is not a content id"), "{e}");
	let e = rpc(a.data, "gravity_import", json!(["missing.bin"])).unwrap_err();
	assert!(e.contains("missing.bin") && e.contains("No such file"), "{e}");
	let e = rpc(a.data, "gravity_import", json!([dir.join("input.bin").display().to_string()])).unwrap_err();
	assert!(e.contains("not a plain file name"), "{e}");
	// Nobody has it: a clear failure, reported by status too.
	let unknown = format!("{}:1000000", "ab".repeat(32));
	let e = rpc(a.data, "gravity_get", json!([unknown, null])).unwrap_err();
	assert!(e.contains("no peer had the missing"), "{e}");
	assert_eq!(a.status(&unknown)["state"], "failed");
	// An id longer than the chain accepts is refused at once.
	let e = rpc(a.data, "gravity_get", json!([format!("{}:{}", "ab".repeat(32), 1u64 << 60), null])).unwrap_err();
	assert!(e.contains("longer than any content the chain accepts"), "{e}");
	// The chain RPC has no data methods, and the CLI says what to do when pointed at it.
	let e = rpc(a.rpc, "gravity_ls", json!([])).unwrap_err();
	assert!(e.contains("Method not found"), "{e}");
	let out = Command::new(NODE).args(["data", "ls", "--data-rpc", &format!("http://127.0.0.1:{}", a.rpc)]).output().unwrap();
	assert!(!out.status.success());
	assert!(String::from_utf8_lossy(&out.stderr).contains("--data-rpc-port"), "{}", String::from_utf8_lossy(&out.stderr));
	// `data put` of a file larger than one call goes through the exchange directory and leaves
	// nothing there; `data get --out` reads it back in parts.
	let src = dir.join("big.bin");
	let bytes = make_file(&src, 9, 7);
	let out = Command::new(NODE).args(["data", "put"]).arg(&src).args(["--data-rpc", &a.data_url()]).output().unwrap();
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
	assert_eq!(std::fs::read_dir(dir.join("a/data-io")).unwrap().count(), 0);
	let dest = dir.join("back.bin");
	let out = get_in_background(&a, &id, &dest, &[]).join().unwrap();
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	assert_eq!(std::fs::read(&dest).unwrap(), bytes);
	let _ = std::fs::remove_dir_all(&dir);
}
