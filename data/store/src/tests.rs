use super::*;
use crate::testing::TestDir;

fn data(len: usize, seed: u64) -> Vec<u8> {
	let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	(0..len)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect()
}

fn tmpdir(name: &str) -> TestDir {
	TestDir::new(&format!("store-test-{name}"))
}

/// Copy `id` from `from` to `to` slice by slice, in the order `order` of 64-group pieces.
fn transfer(from: &Store, to: &Partial, order: impl IntoIterator<Item = u64>) {
	for piece in order {
		let groups = piece * 64..(piece + 1) * 64;
		let bytes = from.encode(&to.id(), groups.clone()).unwrap();
		to.write(groups, &bytes).unwrap();
	}
}

#[test]
fn the_id_is_the_plain_blake3_hash_and_size_and_content_round_trips() {
	let dir = tmpdir("roundtrip");
	let store = Store::open(dir.join("s"), u64::MAX).unwrap();
	for len in [0usize, 1, 1024, 16 * 1024, 16 * 1024 + 1, 3_000_000] {
		let bytes = data(len, len as u64);
		let id = store.put_bytes(&bytes).unwrap();
		assert_eq!(id, ContentId { root: *blake3::hash(&bytes).as_bytes(), length: len as u64 });
		assert_eq!(id, ContentId::of(&bytes));
		assert_eq!(store.state(&id), State::Complete);
		let out = dir.join(format!("out-{len}"));
		store.export(&id, &out).unwrap();
		assert_eq!(std::fs::read(&out).unwrap(), bytes);
		// put_file gives the same id, and hash_file too.
		assert_eq!(store.put_file(&out).unwrap(), id);
		assert_eq!(hash_file(&out).unwrap(), id);
	}
}

#[test]
fn slices_from_one_store_rebuild_the_content_in_another_in_any_order() {
	let dir = tmpdir("transfer");
	let a = Store::open(dir.join("a"), u64::MAX).unwrap();
	let b = Store::open(dir.join("b"), u64::MAX).unwrap();
	let bytes = data(5_000_000 + 123, 1);
	let id = a.put_bytes(&bytes).unwrap();
	let pieces = id.groups().div_ceil(64);
	let Begin::Partial(p) = b.begin(&id).unwrap() else { panic!("new download") };
	assert!(b.open_data(&id).is_err(), "nothing incomplete is handed to a reader");
	transfer(&a, &p, (0..pieces).rev());
	assert!(p.is_complete());
	assert_eq!(p.verified_bytes(), id.length);
	b.finish(&p).unwrap();
	assert_eq!(b.state(&id), State::Complete);
	let mut got = Vec::new();
	b.open_data(&id).unwrap().read_to_end(&mut got).unwrap();
	assert_eq!(got, bytes);
	// The copy serves as well as the origin.
	assert_eq!(b.encode(&id, 3..9).unwrap(), a.encode(&id, 3..9).unwrap());
}

#[test]
fn a_lying_cut_or_padded_slice_is_rejected_and_changes_nothing() {
	let dir = tmpdir("lies");
	let a = Store::open(dir.join("a"), u64::MAX).unwrap();
	let b = Store::open(dir.join("b"), u64::MAX).unwrap();
	let bytes = data(2_000_000, 2);
	let id = a.put_bytes(&bytes).unwrap();
	let Begin::Partial(p) = b.begin(&id).unwrap() else { panic!() };
	let good = a.encode(&id, 0..64).unwrap();
	// One flipped bit anywhere (a parent hash or the data).
	for at in [0usize, 100, good.len() / 2, good.len() - 1] {
		let mut bad = good.clone();
		bad[at] ^= 1;
		assert!(matches!(p.write(0..64, &bad), Err(WriteError::Invalid(_))), "flip at {at}");
	}
	assert!(matches!(p.write(0..64, &good[..good.len() - 10]), Err(WriteError::Invalid(_))));
	let mut long = good.clone();
	long.extend_from_slice(b"more");
	assert!(matches!(p.write(0..64, &long), Err(WriteError::Invalid(_))));
	// A true slice of other groups is not a slice of these.
	let other = a.encode(&id, 64..128).unwrap();
	assert!(matches!(p.write(0..64, &other), Err(WriteError::Invalid(_))));
	// A slice of other content with the same size is not this content.
	let fake = a.put_bytes(&data(2_000_000, 3)).unwrap();
	assert!(matches!(p.write(0..64, &a.encode(&fake, 0..64).unwrap()), Err(WriteError::Invalid(_))));
	assert!(b.have(&id).iter().all(|r| r.is_empty()), "nothing verified: {:?}", b.have(&id));
	assert!(!p.is_complete());
	assert!(matches!(b.finish(&p), Err(StoreError::Incomplete { .. })));
	// The true slice still goes in.
	assert_eq!(p.write(0..64, &good).unwrap(), 64 * 16 * 1024);
}

#[test]
fn a_download_resumes_from_what_is_verified_on_disk_after_a_restart() {
	let dir = tmpdir("resume");
	let a = Store::open(dir.join("a"), u64::MAX).unwrap();
	let bytes = data(8 * 1024 * 1024 + 5, 4);
	let id = a.put_bytes(&bytes).unwrap();
	let pieces = id.groups().div_ceil(64);
	{
		let b = Store::open(dir.join("b"), u64::MAX).unwrap();
		let Begin::Partial(p) = b.begin(&id).unwrap() else { panic!() };
		transfer(&a, &p, (0..pieces).step_by(2));
		// A corrupt write straight to disk (not through `write`) must not count after restart.
	}
	// Damage one verified group on disk behind the store's back.
	{
		use std::os::unix::fs::FileExt;
		let f = std::fs::OpenOptions::new().write(true).open(dir.join("b/partial").join(format!("{}-{}", hex(&id.root), id.length))).unwrap();
		f.write_at(b"rot", 20 * 16 * 1024 + 7).unwrap();
	}
	let b = Store::open(dir.join("b"), u64::MAX).unwrap();
	assert_eq!(b.state(&id), State::Partial { verified: None });
	let Begin::Partial(p) = b.begin(&id).unwrap() else { panic!() };
	let expected: u64 = (0..pieces).step_by(2).map(|k| (((k + 1) * 64 * 16384).min(id.length)) - k * 64 * 16384).sum();
	assert_eq!(p.verified_bytes(), expected - 16 * 1024, "all but the damaged group survive the restart");
	assert!(!b.have(&id).iter().any(|r| r.contains(&20)), "the damaged group is not offered");
	// Fetch only what is missing.
	let mut fetched = 0;
	for k in 0..pieces {
		let groups = k * 64..(k + 1) * 64;
		let missing: Vec<u64> = groups.clone().filter(|g| !b.have(&id).iter().any(|r| r.contains(g))).collect();
		for g in missing {
			let slice = a.encode(&id, g..g + 1).unwrap();
			fetched += p.write(g..g + 1, &slice).unwrap();
		}
	}
	assert_eq!(fetched, id.length - expected + 16 * 1024);
	b.finish(&p).unwrap();
	let mut got = Vec::new();
	b.open_data(&id).unwrap().read_to_end(&mut got).unwrap();
	assert_eq!(got, bytes);
}

#[test]
fn a_download_serves_what_it_verified_and_nothing_else() {
	let dir = tmpdir("serve-partial");
	let a = Store::open(dir.join("a"), u64::MAX).unwrap();
	let b = Store::open(dir.join("b"), u64::MAX).unwrap();
	let c = Store::open(dir.join("c"), u64::MAX).unwrap();
	let bytes = data(3 * 1024 * 1024, 5);
	let id = a.put_bytes(&bytes).unwrap();
	let Begin::Partial(pb) = b.begin(&id).unwrap() else { panic!() };
	transfer(&a, &pb, [1]);
	assert_eq!(b.have(&id), vec![64..128]);
	assert!(matches!(b.encode(&id, 0..64), Err(StoreError::Missing { .. })));
	assert!(matches!(c.encode(&id, 0..64), Err(StoreError::Unknown { .. })));
	let Begin::Partial(pc) = c.begin(&id).unwrap() else { panic!() };
	pc.write(64..128, &b.encode(&id, 64..128).unwrap()).unwrap();
	assert_eq!(c.have(&id), vec![64..128]);
}

#[test]
fn eviction_takes_the_least_recently_used_and_spares_pinned_and_kept_content() {
	let dir = tmpdir("gc");
	let store = Store::open(dir.join("s"), 3 * 1_000_000).unwrap();
	let ids: Vec<ContentId> = (0..3).map(|i| store.put_bytes(&data(1_000_000, 10 + i)).unwrap()).collect();
	store.pin(&ids[0], true).unwrap();
	store.keep_until(&ids[1], now() + 3600).unwrap();
	// ids[2] is unpinned and not kept: the next add must evict it, and only it.
	let new = store.put_bytes(&data(1_000_000, 20)).unwrap();
	assert_eq!(store.state(&ids[2]), State::Absent);
	for id in [ids[0], ids[1], new] {
		assert_eq!(store.state(&id), State::Complete);
	}
	// Pins survive a restart.
	drop(store);
	let store = Store::open(dir.join("s"), 1_000_000).unwrap();
	assert!(store.list().iter().any(|e| e.id == ids[0] && e.pinned));
	store.gc().unwrap();
	assert_eq!(store.state(&ids[0]), State::Complete, "pinned");
	assert_eq!(store.state(&ids[1]), State::Complete, "kept until a time to come");
	assert_eq!(store.state(&new), State::Absent, "evicted");
	store.pin(&ids[0], false).unwrap();
	store.gc().unwrap();
	assert_eq!(store.state(&ids[0]), State::Absent);
	assert!(matches!(store.pin(&new, true), Err(StoreError::Unknown { .. })));
}

#[test]
fn bad_input_gets_clear_errors_and_leaves_nothing_behind() {
	let dir = tmpdir("bad");
	let store = Store::open(dir.join("s"), u64::MAX).unwrap();
	let e = store.put_file(&dir.join("no-such-file")).unwrap_err();
	assert!(e.to_string().contains("no-such-file"), "{e}");
	let e = store.put_file(&dir).unwrap_err();
	assert!(e.to_string().contains("not a regular file"), "{e}");
	let unknown = ContentId::of(b"never stored");
	assert!(store.export(&unknown, &dir.join("x")).unwrap_err().to_string().contains("not in this node's content store"));
	assert!(!dir.join("x").exists());
	let id = store.put_bytes(b"hello").unwrap();
	let e = store.export(&id, &dir.join("no-such-dir/x")).unwrap_err();
	assert!(e.to_string().contains("no-such-dir"), "{e}");
	assert_eq!(std::fs::read_dir(dir.join("s/tmp")).unwrap().count(), 0);
	// The empty content needs no peer; a size-0 id with another hash names nothing.
	assert!(matches!(store.begin(&ContentId::of(&[])), Ok(Begin::Complete)));
	let bogus = ContentId { root: [1; 32], length: 0 };
	assert!(matches!(store.begin(&bogus), Err(StoreError::NoSuchContent { .. })));
}

/// A disk that fills up during a put: a clear error, and nothing half-written left, neither as
/// complete content nor in `tmp/`. Needs a small tmpfs (root); says so and passes vacuously
/// only where it cannot mount one.
#[test]
fn a_full_disk_is_reported_and_nothing_half_written_is_kept() {
	let dir = tmpdir("full");
	let mnt = dir.join("mnt");
	std::fs::create_dir_all(&mnt).unwrap();
	let ok = std::process::Command::new("mount")
		.args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
		.arg(&mnt)
		.status()
		.map(|s| s.success())
		.unwrap_or(false);
	if !ok {
		eprintln!("SKIPPED: cannot mount a tmpfs here (not root?)");
		return
	}
	struct Unmount(PathBuf);
	impl Drop for Unmount {
		fn drop(&mut self) {
			let _ = std::process::Command::new("umount").arg(&self.0).status();
		}
	}
	let _guard = Unmount(mnt.clone());
	let store = Store::open(mnt.join("s"), u64::MAX).unwrap();
	let small = store.put_bytes(&data(1_000_000, 30)).unwrap();
	let src = dir.join("big");
	std::fs::write(&src, data(5_000_000, 31)).unwrap();
	// What does not fit on the disk is refused before anything is written.
	let e = store.put_file(&src).unwrap_err();
	assert!(matches!(e, StoreError::DiskReserve { .. }), "{e:?}");
	assert!(e.to_string().contains("free disk space"), "{e}");
	assert_eq!(std::fs::read_dir(mnt.join("s/tmp")).unwrap().count(), 0, "nothing half-written");
	let complete: Vec<_> = store.list().into_iter().filter(|e| e.state == State::Complete).map(|e| e.id).collect();
	assert_eq!(complete, vec![small]);
	// A download that cannot write is this node's fault, not the peer's.
	let other = Store::open(dir.join("o"), u64::MAX).unwrap();
	let too_big = other.put_file(&src).unwrap();
	assert!(matches!(store.begin(&too_big), Err(StoreError::DiskReserve { .. })), "refused up front");
	// One that fits when it starts, and then the disk fills behind the store's back.
	let big = other.put_bytes(&data(2_000_000, 32)).unwrap();
	let Begin::Partial(p) = store.begin(&big).unwrap() else { panic!() };
	let free = free_disk(&mnt).unwrap();
	let _ = std::fs::write(mnt.join("filler"), vec![1u8; free as usize]);
	let mut local = false;
	for k in 0..big.groups().div_ceil(64) {
		match p.write(k * 64..(k + 1) * 64, &other.encode(&big, k * 64..(k + 1) * 64).unwrap()) {
			Ok(_) => {},
			Err(WriteError::Local(StoreError::DiskFull { .. })) => {
				local = true;
				break
			},
			Err(e) => panic!("{e}"),
		}
	}
	assert!(local, "the sparse download must hit the full disk");
	assert!(store.finish(&p).is_err());
	assert_ne!(store.state(&big), State::Complete);
}

#[test]
fn slices_written_from_many_threads_at_once_rebuild_the_content() {
	// The downloader writes each response from its own blocking thread; `Partial::write` takes
	// them one at a time (see its doc): nothing may be lost, doubled or deadlocked.
	let dir = tmpdir("threads");
	let a = Store::open(dir.join("a"), u64::MAX).unwrap();
	let b = Store::open(dir.join("b"), u64::MAX).unwrap();
	let bytes = data(40 << 20, 7);
	let id = a.put_bytes(&bytes).unwrap();
	let pieces = id.groups().div_ceil(64);
	let Begin::Partial(p) = b.begin(&id).unwrap() else { panic!("new download") };
	let threads = 8;
	std::thread::scope(|s| {
		for t in 0..threads {
			let (a, p) = (&a, &p);
			s.spawn(move || transfer(a, p, (t..pieces).step_by(threads as usize)));
		}
	});
	assert!(p.is_complete());
	b.finish(&p).unwrap();
	let out = dir.join("out");
	b.export(&id, &out).unwrap();
	assert!(std::fs::read(&out).unwrap() == bytes);
}

#[test]
fn writeback_starts_every_16_mib_written() {
	let dir = tmpdir("writeback");
	let file = File::create(dir.join("f")).unwrap();
	let w = files::Writeback::default();
	let started: Vec<u64> = (1..=40u64).filter(|_| w.wrote(&file, 1 << 20)).collect();
	assert_eq!(started, vec![16, 32], "after the 16th and the 32nd MiB, not before, not twice");
	// A single write crossing two marks starts it once.
	let w = files::Writeback::default();
	assert!(!w.wrote(&file, (16 << 20) - 1));
	assert!(w.wrote(&file, 40 << 20));
	assert!(!w.wrote(&file, 1));
}

#[test]
fn a_wrong_length_for_real_content_opens_its_own_download_and_honest_slices_still_verify() {
	// Attack: a job names `(root, length − 1)` of real content. Keyed by hash alone, the
	// provider opened that download, and the later download of the real id reused it at the
	// wrong size: every honest seeder's slice failed to verify and the seeder was dropped as a
	// liar.
	let dir = tmpdir("whole-id");
	let seeder = Store::open(dir.join("seed"), u64::MAX).unwrap();
	let bytes = data(2 * 1024 * 1024 + 77, 11);
	let real = seeder.put_bytes(&bytes).unwrap();
	let fake = ContentId { root: real.root, length: real.length - 1 };
	let node = Store::open(dir.join("node"), u64::MAX).unwrap();
	let Begin::Partial(wrong) = node.begin(&fake).unwrap() else { panic!() };
	assert_eq!(wrong.id(), fake);
	let Begin::Partial(p) = node.begin(&real).unwrap() else { panic!() };
	assert_eq!(p.id(), real, "the real id gets a download of its own size");
	// Every honest slice verifies and is written.
	transfer(&seeder, &p, 0..real.groups().div_ceil(64));
	node.finish(&p).unwrap();
	assert_eq!(node.state(&real), State::Complete);
	let mut got = Vec::new();
	node.open_data(&real).unwrap().read_to_end(&mut got).unwrap();
	assert_eq!(got, bytes);
	// The wrong-length download is dropped with its files, and the index names the real size.
	assert_eq!(node.state(&fake), State::Absent);
	assert_eq!(std::fs::read_dir(dir.join("node/partial")).unwrap().count(), 0);
	assert!(node.list().iter().any(|e| e.id == real && e.state == State::Complete));
	// And after a restart too.
	drop(node);
	let node = Store::open(dir.join("node"), u64::MAX).unwrap();
	assert_eq!(node.state(&real), State::Complete);
	// A wrong length asked after the content is complete opens nothing that touches it.
	let Begin::Partial(_) = node.begin(&fake).unwrap() else { panic!() };
	assert_eq!(node.state(&real), State::Complete);
	assert!(node.list().iter().any(|e| e.id == real));
}

#[test]
fn an_id_longer_than_the_chain_accepts_is_refused_before_anything_is_allocated() {
	// Attack: a download of a 2⁶⁰-byte id made a sparse file of that length and a set of 16.7 M
	// pieces per 2⁴⁴ bytes.
	let dir = tmpdir("too-long");
	let node = Store::open(dir.join("node"), u64::MAX).unwrap();
	let t = std::time::Instant::now();
	for size in [1u64 << 60, MAX_CONTENT_LENGTH + 1, u64::MAX] {
		let id = ContentId { root: [7; 32], length: size };
		let err = node.begin(&id).err().expect("refused");
		assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
		assert!(err.to_string().contains("longer than any content the chain accepts"));
	}
	assert!(t.elapsed() < std::time::Duration::from_millis(100));
	assert_eq!(std::fs::read_dir(dir.join("node/partial")).unwrap().count(), 0);
	let ok = ContentId { root: [7; 32], length: MAX_CONTENT_LENGTH };
	assert!(node.begin(&ok).is_ok(), "the bound itself is accepted (a sparse file)");
}

#[test]
fn a_store_with_a_1_mib_budget_never_holds_more_and_refuses_what_does_not_fit() {
	// Downloads used not to be counted and nothing was refused: a provider's disk filled until
	// the chain database failed.
	let dir = tmpdir("budget");
	let mib = 1u64 << 20;
	let store = Store::open(dir.join("s"), mib).unwrap();
	let a = store.put_bytes(&data(400_000, 1)).unwrap();
	store.pin(&a, true).unwrap();
	let b = store.put_bytes(&data(400_000, 2)).unwrap();
	store.keep_until(&b, now() + 3600).unwrap();
	assert!(store.used() <= mib);
	// 800,000 bytes held that may not go: 300,000 more do not fit, and nothing is written.
	let e = store.put_bytes(&data(300_000, 3)).unwrap_err();
	assert!(matches!(e, StoreError::NoRoom { need: 300_000, .. }), "{e}");
	assert!(e.to_string().contains("--data-budget-gib"), "{e}");
	assert_eq!(std::fs::read_dir(dir.join("s/tmp")).unwrap().count(), 0);
	// A download counts at its full size from its start: one of 2 MiB is refused at once, one
	// of 200,000 bytes is taken and then nothing more fits beside it.
	let big = ContentId { root: [3; 32], length: 2 * mib };
	assert!(matches!(store.begin(&big), Err(StoreError::NoRoom { .. })));
	let seeder = Store::open(dir.join("seed"), u64::MAX).unwrap();
	let small = seeder.put_bytes(&data(200_000, 4)).unwrap();
	let Begin::Partial(p) = store.begin(&small).unwrap() else { panic!() };
	assert_eq!(store.used(), 1_000_000);
	assert!(matches!(store.put_bytes(&data(100_000, 5)), Err(StoreError::NoRoom { .. })));
	// A download nobody runs any more may be evicted to make room; a running one may not.
	assert!(matches!(store.put_bytes(&data(100_000, 5)), Err(StoreError::NoRoom { .. })));
	drop(p);
	let c = store.put_bytes(&data(100_000, 5)).unwrap();
	assert_eq!(store.state(&small), State::Absent, "the idle download made room");
	assert_eq!(std::fs::read_dir(dir.join("s/partial")).unwrap().count(), 0);
	assert!(store.used() <= mib);
	// Unpinned content makes room again.
	store.pin(&a, false).unwrap();
	let d = store.put_bytes(&data(500_000, 6)).unwrap();
	assert_eq!(store.state(&a), State::Absent);
	for id in [b, c, d] {
		assert_eq!(store.state(&id), State::Complete);
	}
	assert!(store.used() <= mib, "used {}", store.used());
}

#[test]
fn the_disk_reserve_is_never_used() {
	let dir = tmpdir("reserve");
	let mut store = Store::open(dir.join("s"), u64::MAX).unwrap();
	let free = free_disk(&dir.join("s")).expect("statvfs works here");
	// A reserve of all but 256 MiB of what is free (other processes write too: a wide margin):
	// small content fits, a download of 1 GiB is refused before anything is written.
	store.set_disk_reserve(free.saturating_sub(256 << 20));
	store.put_bytes(&data(50_000, 1)).unwrap();
	let big = ContentId { root: [4; 32], length: 1 << 30 };
	let e = store.begin(&big).err().expect("refused");
	assert!(matches!(e, StoreError::DiskReserve { .. }), "{e}");
	assert!(e.to_string().contains("chain database"), "{e}");
	assert!(matches!(store.begin(&big), Err(StoreError::DiskReserve { .. })));
}

#[test]
fn the_index_is_appended_to_not_rewritten_and_survives_a_restart_and_a_torn_line() {
	// Every put used to rewrite the whole index.
	let dir = tmpdir("journal");
	let store = Store::open(dir.join("s"), u64::MAX).unwrap();
	let snapshot = std::fs::metadata(dir.join("s/index.json")).unwrap().modified().unwrap();
	let ids: Vec<ContentId> = (0..20).map(|i| store.put_bytes(&data(1000, 50 + i)).unwrap()).collect();
	store.pin(&ids[3], true).unwrap();
	store.keep_until(&ids[4], 12345).unwrap();
	assert_eq!(std::fs::metadata(dir.join("s/index.json")).unwrap().modified().unwrap(), snapshot, "the snapshot was not rewritten");
	let journal = std::fs::read_to_string(dir.join("s/index.log")).unwrap();
	assert_eq!(journal.lines().count(), 22, "one line per change");
	// A crash mid-append leaves a torn line: ignored.
	std::fs::OpenOptions::new().append(true).open(dir.join("s/index.log")).unwrap().write_all(b"{\"h\":\"ab").unwrap();
	drop(store);
	let store = Store::open(dir.join("s"), u64::MAX).unwrap();
	assert!(store.list().iter().any(|e| e.id == ids[3] && e.pinned));
	assert!(store.list().iter().any(|e| e.id == ids[4] && e.keep_until == 12345));
	assert_eq!(store.list().len(), 20);
	// The restart folded the journal into the snapshot.
	assert!(!dir.join("s/index.log").exists());
}
