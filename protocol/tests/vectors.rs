//! Test vectors for the clients: `protocol/vectors.json` holds content ids, result digests and
//! commitments computed here, and `tests/checks/protocol-vectors.test.js` checks that the
//! JavaScript client (`clients/js/protocol.mjs`, used by the explorer and the JS scripts)
//! computes the same, so the two cannot drift. This test fails when the file no longer matches
//! what this crate computes; regenerate it with
//! `GRAVITY_BLESS_VECTORS=1 cargo test --release --locked -p gravity-protocol --test vectors`.

use gravity_protocol::{
	content::ContentId,
	result::{commitment, result_digest},
};

/// Byte `i` of the test content of any length (the JS check generates the same bytes).
fn pattern(len: usize) -> Vec<u8> {
	(0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

fn hex(bytes: &[u8]) -> String {
	let mut s = String::from("0x");
	for b in bytes {
		s.push_str(&format!("{b:02x}"));
	}
	s
}

fn id_json(id: &ContentId) -> String {
	format!("{{ \"root\": \"{}\", \"length\": {} }}", hex(&id.root), id.length)
}

fn vectors() -> String {
	// Lengths around BLAKE3's 1 KiB chunks and a multi-level tree.
	let lengths = [0usize, 1, 64, 1023, 1024, 1025, 2048, 5000, 65_537];
	let content: Vec<String> = lengths
		.iter()
		.map(|&n| format!("    {{ \"pattern\": {n}, \"id\": {} }}", id_json(&ContentId::of(&pattern(n)))))
		.collect();
	// Integers at their bounds too (u64 beyond 2^53, which a JS number cannot hold).
	let cases: [(usize, u64, u64, u32, u8); 4] =
		[(0, 0, 0, 0, 0), (1025, 123_456, 7, 3, 1), (64, u64::MAX, 1 << 63, u32::MAX, u8::MAX), (5000, 9_007_199_254_740_993, 42, 1023, 2)];
	let mut digests = Vec::new();
	let mut commitments = Vec::new();
	for (k, &(n, fuel, job, task, round)) in cases.iter().enumerate() {
		let out = ContentId::of(&pattern(n));
		let d = result_digest(&out, fuel, job, task, round);
		digests.push(format!(
			"    {{ \"output\": {}, \"fuel\": \"{fuel}\", \"job\": \"{job}\", \"task\": {task}, \"round\": {round}, \"digest\": \"{}\" }}",
			id_json(&out),
			hex(&d)
		));
		let provider = [k as u8 * 17 + 1; 32];
		let salt = [0xa5 ^ k as u8; 32];
		let c = commitment(&d, fuel, &provider, job, task, &salt);
		commitments.push(format!(
			"    {{ \"digest\": \"{}\", \"fuel\": \"{fuel}\", \"provider\": \"{}\", \"job\": \"{job}\", \"task\": {task}, \"salt\": \"{}\", \"commitment\": \"{}\" }}",
			hex(&d),
			hex(&provider),
			hex(&salt),
			hex(&c)
		));
	}
	format!(
		"{{\n  \"about\": \"gravity-protocol test vectors (protocol/tests/vectors.rs); content bytes: byte i = (i * 31 + 7) % 251\",\n  \"content\": [\n{}\n  ],\n  \"digest\": [\n{}\n  ],\n  \"commitment\": [\n{}\n  ]\n}}\n",
		content.join(",\n"),
		digests.join(",\n"),
		commitments.join(",\n")
	)
}

#[test]
fn the_checked_in_vectors_are_what_this_crate_computes() {
	let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors.json");
	let now = vectors();
	if std::env::var_os("GRAVITY_BLESS_VECTORS").is_some() {
		std::fs::write(path, &now).expect("write vectors.json");
		return
	}
	let stored = std::fs::read_to_string(path).unwrap_or_default();
	assert!(
		stored == now,
		"protocol/vectors.json differs from what gravity-protocol computes: if the protocol changed on \
		 purpose, regenerate it with `GRAVITY_BLESS_VECTORS=1 cargo test --release --locked -p gravity-protocol --test vectors` \
		 and update the clients"
	);
}
