//! The connection to a Gravity node: typed from the checked-in metadata (`metadata/gravity.scale`,
//! checked against the built runtime by `node/tests/metadata.rs`), checked against the node it
//! reaches (a Gravity chain, the expected genesis, the runtime this CLI was built for), keys, and
//! transactions followed to the block and to finality.

use crate::{
	cli::{At, Global, Wait},
	error::{Context, Error, Result},
	fail,
	out::Out,
};
use serde_json::json;
use std::str::FromStr;
use subxt::{
	rpcs::{rpc_params, RpcClient},
	tx::TransactionStatus,
	utils::{AccountId32, H256},
};
use subxt_signer::sr25519::Keypair;

#[subxt::subxt(
	runtime_metadata_path = "../../metadata/gravity.scale",
	derive_for_all_types = "Clone",
	// The one content id type: the protocol crate's, SCALE-encoded as the runtime encodes it.
	substitute_type(
		path = "gravity_protocol::content::ContentId",
		with = "::subxt::utils::Static<::gravity_protocol::content::ContentId>"
	),
	// Session keys come from the node's RPC as SCALE bytes (`gravity validator keys`).
	derive_for_type(path = "gravity_runtime::SessionKeys", derive = "::subxt::ext::codec::Decode", recursive),
	attributes_for_type(path = "gravity_runtime::SessionKeys", attributes = "#[codec(crate = ::subxt::ext::codec)]", recursive)
)]
pub mod gravity {}

pub use gravity::runtime_types;
pub type Config = subxt::SubstrateConfig;
pub type Api = subxt::OnlineClient<Config>;
pub type AtBlock = subxt::OnlineClientAtBlock<Config>;

/// The value of the storage item `addr` at `keys` in block `at` (its default where nothing is
/// stored and it has one), decoded; an error names the item (`Pallet.Item: why`).
pub async fn read<Addr: subxt::storage::Address>(at: &AtBlock, addr: Addr, keys: Addr::KeyParts) -> Result<Addr::Value> {
	let name = format!("{}.{}", addr.pallet_name(), addr.entry_name());
	at.storage().fetch(addr, keys).await.context(|| name.clone())?.decode().context(|| name)
}

/// Like [`read`], `None` where nothing is stored.
pub async fn try_read<Addr: subxt::storage::Address>(at: &AtBlock, addr: Addr, keys: Addr::KeyParts) -> Result<Option<Addr::Value>> {
	let name = format!("{}.{}", addr.pallet_name(), addr.entry_name());
	match at.storage().try_fetch(addr, keys).await.context(|| name.clone())? {
		Some(v) => Ok(Some(v.decode().context(|| name)?)),
		None => Ok(None),
	}
}

/// The SS58 prefix of Gravity addresses (`gravity_runtime::SS58_PREFIX`).
pub const SS58_PREFIX: u16 = 7007;

/// How many blocks a signed transaction stays valid for (its mortal era).
const ERA_BLOCKS: u64 = 64;

/// A node connection.
pub struct Chain {
	pub api: Api,
	pub rpc: RpcClient,
	pub url: String,
	pub at: At,
	pub wait: Wait,
}

/// What an address looks like to a person: SS58 with Gravity's prefix.
pub fn ss58(who: &AccountId32) -> String {
	use sp_crypto_hashing_like::ss58_checksum;
	let mut data = Vec::with_capacity(35);
	// Two-byte prefix form for prefixes ≥ 64.
	let ident = SS58_PREFIX & 0b0011_1111_1111_1111;
	data.push(((ident & 0b0000_0000_1111_1100) as u8 >> 2) | 0b0100_0000);
	data.push(((ident >> 8) as u8) | ((ident & 0b0000_0000_0000_0011) as u8) << 6);
	data.extend_from_slice(&who.0);
	let sum = ss58_checksum(&data);
	data.extend_from_slice(&sum[..2]);
	bs58::encode(data).into_string()
}

/// An account from SS58 (any prefix) or 0x-hex of 32 bytes.
pub fn parse_account(text: &str) -> Result<AccountId32> {
	if let Some(hex) = text.strip_prefix("0x") {
		let bytes = crate::data::unhex(hex).map_err(|_| Error(format!("'{text}' is not an account: bad hex")))?;
		let arr: [u8; 32] = bytes
			.try_into()
			.map_err(|_| Error(format!("'{text}' is not an account: an account id is 32 bytes")))?;
		return Ok(AccountId32(arr))
	}
	AccountId32::from_str(text).map_err(|_| {
		Error(format!("'{text}' is not an account: give an SS58 address (e.g. from `gravity balance`) or 0x and 64 hex digits"))
	})
}

mod sp_crypto_hashing_like {
	/// The SS58 checksum: blake2b-512 of "SS58PRE" ‖ data.
	pub fn ss58_checksum(data: &[u8]) -> [u8; 64] {
		let mut pre = b"SS58PRE".to_vec();
		pre.extend_from_slice(data);
		blake2b_512(&pre)
	}

	fn blake2b_512(data: &[u8]) -> [u8; 64] {
		use blake2::Digest;
		let mut h = blake2::Blake2b512::new();
		h.update(data);
		h.finalize().into()
	}
}

impl Chain {
	/// Connect to the node at `global.url` and check that it is a Gravity node of the expected
	/// chain whose runtime this CLI was built for.
	pub async fn connect(global: &Global) -> Result<Self> {
		let url = global.url.clone();
		let rpc = RpcClient::from_insecure_url(&url).await.map_err(|e| {
			Error(format!(
				"cannot reach a Gravity node at {url} ({e}): start one (./scripts/start.sh, or gravity-node --dev) \
				 or point --url / GRAVITY_URL at its RPC address"
			))
		})?;
		let version: serde_json::Value = rpc
			.request("state_getRuntimeVersion", rpc_params![])
			.await
			.context(|| format!("{url} did not answer state_getRuntimeVersion: is it a Substrate node's RPC?"))?;
		let spec = version.get("specName").and_then(|v| v.as_str()).unwrap_or("?").to_string();
		if spec != "gravity" {
			fail!("the node at {url} runs the chain '{spec}', not Gravity: point --url at a Gravity node")
		}
		// The legacy RPC backend: reads at any block the node still has (a job's history
		// reaches back to blocks no chainHead subscription pins).
		let backend = subxt::backend::LegacyBackend::<Config>::builder().build(rpc.clone());
		let api = Api::from_backend(std::sync::Arc::new(backend))
			.await
			.context(|| format!("cannot set up a client for {url}"))?;
		if let Some(expected) = &global.genesis {
			let expected = parse_hash(expected).context(|| "--genesis / GRAVITY_GENESIS".to_string())?;
			let genesis = api.genesis_hash();
			if genesis != expected {
				fail!(
					"the node at {url} is on another chain: its genesis is {genesis:?}, not the {expected:?} given with \
					 --genesis / GRAVITY_GENESIS: point --url at a node of your chain"
				)
			}
		}
		let chain = Chain { api, rpc, url, at: global.at.clone(), wait: global.wait };
		let at = chain.best().await?;
		check_runtime(at.metadata_ref(), at.spec_version(), &chain.url)?;
		Ok(chain)
	}

	/// The best block.
	pub async fn best(&self) -> Result<AtBlock> {
		let hash: H256 = self.rpc.request("chain_getBlockHash", rpc_params![]).await.context(|| "chain_getBlockHash".into())?;
		self.api.at_block(hash).await.context(|| format!("block {hash:?}"))
	}

	/// The block `--at` names: best (default), finalized, or a hash.
	pub async fn at(&self) -> Result<AtBlock> {
		match &self.at {
			At::Best => self.best().await,
			At::Finalized => self.api.at_current_block().await.context(|| "the finalized block".into()),
			At::Hash(h) => self
				.api
				.at_block(*h)
				.await
				.context(|| format!("--at {h:?}: no such block on this node (or its state was pruned)")),
		}
	}

	/// The block a transaction's era counts from: the finalized head, unless finality lags the
	/// best block `at` by more than half an era.
	async fn era_anchor(&self, at: &AtBlock) -> Result<(u64, H256)> {
		Ok(era_anchor((at.block_number(), at.block_hash()), self.finalized().await?))
	}

	/// The finalized block: its number and hash.
	async fn finalized(&self) -> Result<(u64, H256)> {
		let hash: H256 =
			self.rpc.request("chain_getFinalizedHead", rpc_params![]).await.context(|| "chain_getFinalizedHead".into())?;
		let header: serde_json::Value =
			self.rpc.request("chain_getHeader", rpc_params![hash]).await.context(|| "chain_getHeader".into())?;
		let n = header.get("number").and_then(|v| v.as_str()).unwrap_or("0x0");
		Ok((u64::from_str_radix(n.trim_start_matches("0x"), 16).unwrap_or(0), hash))
	}

	/// The finalized block's number.
	pub async fn finalized_number(&self) -> Result<u64> {
		Ok(self.finalized().await?.0)
	}

	/// The peer id (base58) of the node this client talks to.
	pub async fn local_peer_id(&self) -> Result<String> {
		self.rpc.request("system_localPeerId", rpc_params![]).await.context(|| "system_localPeerId".into())
	}

	/// Sign `call` with `signer`, submit it and follow it as far as `--wait` says, printing each
	/// step (one JSON object a line with `--json`). Returns the events of the extrinsic once in
	/// a block (none with `--wait none`). A dispatch error is an error naming the pallet's error
	/// and its documentation.
	pub async fn submit<Call: subxt::tx::Payload>(
		&self,
		out: &Out,
		what: &str,
		call: &Call,
		signer: &Keypair,
	) -> Result<Option<Included>> {
		let who = signer.public_key().to_account_id();
		let at = self.best().await?;
		let nonce: u64 = self
			.rpc
			.request("system_accountNextIndex", rpc_params![ss58(&who)])
			.await
			.context(|| "system_accountNextIndex".into())?;
		// The transaction's lifetime (its era) counts from the finalized block, not the best one:
		// a best block can be reorganised away (BABE forks when two authors share a slot), and a
		// transaction whose era names a block no longer on the chain turns invalid in the pool.
		// Where finality lags too far for that (more than half the era), count from the best block.
		let (from_n, from_hash) = self.era_anchor(&at).await?;
		let params = subxt::config::DefaultExtrinsicParamsBuilder::<Config>::new()
			.nonce(nonce)
			.mortal_from_unchecked(ERA_BLOCKS, from_n, from_hash)
			.build();
		let mut txs = at.tx();
		let signed = txs
			.create_signed(call, signer, params)
			.await
			.context(|| format!("cannot build the {what} transaction"))?;
		let hash = signed.hash();
		let mut progress = signed.submit_and_watch().await.map_err(|e| {
			Error(format!("the node refused the {what} transaction: {}", explain_pool(&e.to_string())))
		})?;
		out.event(json!({ "step": "signed", "what": what, "signer": ss58(&who), "nonce": nonce, "tx": format!("{hash:?}") }), || {
			format!("{what}: signed by {} (nonce {nonce}), submitted as {hash:?}", ss58(&who))
		});
		if self.wait == Wait::None {
			return Ok(None)
		}
		while let Some(status) = progress.next().await {
			let status = status.context(|| format!("following the {what} transaction"))?;
			let is_final = matches!(status, TransactionStatus::InFinalizedBlock(_));
			match status {
				TransactionStatus::InBestBlock(in_block) | TransactionStatus::InFinalizedBlock(in_block) => {
					let block = in_block.block_hash();
					let number = in_block.at().await.map(|a| a.block_number()).unwrap_or(0);
					let events = match in_block.wait_for_success().await {
						Ok(events) => events,
						Err(subxt::error::TransactionEventsError::ExtrinsicFailed(e)) => {
							let why = explain_dispatch(&e);
							out.event(json!({ "step": "failed", "what": what, "block": number, "blockHash": format!("{block:?}"), "error": why }), || {
								format!("{what}: failed in block #{number}: {why}")
							});
							fail!("{what} failed in block #{number}: {why}")
						},
						Err(e) => fail!("{what}: cannot read its events in block #{number}: {e}"),
					};
					let index = events.extrinsic_index();
					let list: Vec<serde_json::Value> = events
						.iter()
						.filter_map(|e| e.ok())
						.map(|e| json!({ "pallet": e.pallet_name(), "event": e.event_name(), "fields": fields_text(&e) }))
						.collect();
					let step = if is_final { "finalized" } else { "inBlock" };
					out.event(
						json!({ "step": step, "what": what, "block": number, "blockHash": format!("{block:?}"), "index": index, "events": list }),
						|| format!("{what}: {} #{number}-{index}", if is_final { "finalized in" } else { "in block" }),
					);
					let included = Included { block: number, block_hash: block, index: index as u32, events };
					if is_final || self.wait == Wait::InBlock {
						return Ok(Some(included))
					}
				},
				TransactionStatus::Validated | TransactionStatus::Broadcasted | TransactionStatus::NoLongerInBestBlock => {},
				TransactionStatus::Invalid { message } | TransactionStatus::Dropped { message } | TransactionStatus::Error { message } =>
					fail!("the {what} transaction was dropped by the node: {}", explain_pool(&message)),
			}
		}
		fail!("the node stopped reporting on the {what} transaction {hash:?}: look it up with `gravity job` commands or an explorer")
	}
}

/// The block a transaction's era counts from, given the best and the finalized block (number,
/// hash): the finalized one, which no reorganisation removes, unless finality lags by more than
/// half an era (then the best, so the transaction still has time to be included). polkadot.js
/// signs the same way.
fn era_anchor(best: (u64, H256), finalized: (u64, H256)) -> (u64, H256) {
	if best.0.saturating_sub(finalized.0) > ERA_BLOCKS / 2 {
		best
	} else {
		finalized
	}
}

/// An extrinsic in a block, with its events.
pub struct Included {
	pub block: u64,
	pub block_hash: H256,
	pub index: u32,
	pub events: subxt::extrinsics::ExtrinsicEvents<Config>,
}

/// An event's fields as text (`scale_value`'s notation).
pub fn fields_text(e: &subxt::events::Event<'_, Config>) -> String {
	e.decode_fields_unchecked_as::<subxt::ext::scale_value::Composite<()>>()
		.map(|v| v.to_string())
		.unwrap_or_else(|_| "(undecodable)".into())
}

/// A dispatch error in words: `Pallet::Error: its documentation`.
pub fn explain_dispatch(e: &subxt::error::DispatchError) -> String {
	use subxt::error::DispatchError;
	match e {
		DispatchError::Module(m) => match m.details() {
			Ok(d) => format!("{}::{}: {}", d.pallet.name(), d.variant.name, d.variant.docs.join(" ").trim()),
			Err(_) => format!("module error {:?}", m.bytes()),
		},
		other => other.to_string(),
	}
}

/// What the transaction pool's refusals mean for a person.
fn explain_pool(message: &str) -> String {
	let lower = message.to_ascii_lowercase();
	if lower.contains("inability to pay") || lower.contains("payment") && lower.contains("1010") {
		format!("{message} (the signing account cannot pay the fee: fund it, e.g. `gravity transfer` from an account with GRAV)")
	} else if lower.contains("badproof") || lower.contains("bad signature") {
		format!("{message} (the signature does not verify: wrong key, or a node of another chain)")
	} else {
		message.to_string()
	}
}

/// A runtime-API dispatch error (`sp_runtime::DispatchError` decoded through the metadata) in
/// words.
pub fn explain_api_error(at: &AtBlock, e: &runtime_types::sp_runtime::DispatchError) -> String {
	use runtime_types::sp_runtime::DispatchError as D;
	match e {
		D::Module(m) => {
			let md = at.metadata_ref();
			match md.pallet_by_error_index(m.index).and_then(|p| p.error_variant_by_index(m.error[0]).map(|v| (p.name().to_string(), v))) {
				Some((pallet, v)) => format!("{pallet}::{}: {}", v.name, v.docs.join(" ").trim()),
				None => format!("module error {}/{:?}", m.index, m.error),
			}
		},
		other => format!("{other:?}"),
	}
}

pub fn parse_hash(text: &str) -> Result<H256> {
	let bytes = crate::data::unhex(text.trim_start_matches("0x"))
		.map_err(|_| Error(format!("'{text}' is not a block hash (0x and 64 hex digits)")))?;
	if bytes.len() != 32 {
		fail!("'{text}' is not a block hash (0x and 64 hex digits)")
	}
	Ok(H256::from_slice(&bytes))
}

/// The signing key: `--suri` (dev accounts, `//Alice`), or a polkadot.js-exported JSON keystore
/// (`--key-file`) with its password from the environment variable `--password-env` names, or
/// typed at a prompt.
pub fn signer(global: &Global) -> Result<Keypair> {
	match (&global.suri, &global.key_file) {
		(Some(_), Some(_)) => fail!("give either --suri or --key-file, not both"),
		(Some(suri), None) => {
			let uri = subxt_signer::SecretUri::from_str(suri)
				.map_err(|e| Error(format!("--suri: not a secret URI ({e}): e.g. //Alice for a dev account")))?;
			Keypair::from_uri(&uri).map_err(|e| Error(format!("--suri: cannot derive a key ({e})")))
		},
		(None, Some(path)) => {
			let text = std::fs::read_to_string(path)
				.map_err(|e| Error(format!("--key-file {}: cannot read it ({e})", path.display())))?;
			let password = match &global.password_env {
				Some(var) => std::env::var(var).map_err(|_| {
					Error(format!("--password-env {var}: the environment variable {var} is not set"))
				})?,
				None => rpassword::prompt_password(format!("password for {}: ", path.display()))
					.map_err(|e| Error(format!("cannot read the password from the terminal ({e}): use --password-env")))?,
			};
			subxt_signer::polkadot_js_compat::decrypt_json(&text, &password).map_err(|e| {
				Error(format!(
					"--key-file {}: cannot unlock it ({e}): wrong password, or not a polkadot.js sr25519 account export",
					path.display()
				))
			})
		},
		(None, None) => fail!(
			"this command signs a transaction: give the key with --suri //Alice (dev accounts) or --key-file <polkadot.js export>"
		),
	}
}

/// The account `--account` names, or the signer's.
pub fn account_or_signer(global: &Global, account: &Option<String>) -> Result<AccountId32> {
	match account {
		Some(a) => parse_account(a),
		None => Ok(signer(global)?.public_key().to_account_id()),
	}
}

/// Refuse a node whose runtime's calls, storage, events or runtime APIs differ from the metadata
/// this CLI was typed from (`metadata/gravity.scale`): a typed call or read would be wrong.
pub fn check_runtime(metadata: &subxt::Metadata, spec_version: u32, url: &str) -> Result<()> {
	if !gravity::is_codegen_valid_for(metadata) {
		fail!(
			"the node at {url} runs Gravity runtime spec {spec_version}, whose calls, storage or events differ from \
			 the runtime this gravity CLI was built for (metadata/gravity.scale): use the gravity CLI built \
			 from the same source as the node's runtime"
		)
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_node_whose_runtime_differs_from_the_clis_metadata_is_refused_with_the_reason() {
		use subxt::ext::{
			codec::Decode,
			frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed},
		};
		let bytes = include_bytes!("../../../metadata/gravity.scale");
		let same = subxt::Metadata::decode_from(bytes).expect("the checked-in metadata decodes");
		assert!(check_runtime(&same, 107, "ws://node").is_ok());
		// The same runtime less one storage item (the market's value held alone, as before solo value
		// in flight was bounded).
		let mut prefixed = RuntimeMetadataPrefixed::decode(&mut &bytes[..]).expect("RuntimeMetadataPrefixed");
		let RuntimeMetadata::V16(md) = &mut prefixed.1 else { panic!("the clients use metadata v16") };
		let market = md.pallets.iter_mut().find(|p| p.name == "Market").expect("a Market pallet");
		let storage = market.storage.as_mut().expect("the market has storage");
		let before = storage.entries.len();
		storage.entries.retain(|e| e.name != "SoloValue");
		assert_eq!(storage.entries.len(), before - 1);
		let drifted = subxt::Metadata::try_from(prefixed).expect("still valid metadata");
		let err = check_runtime(&drifted, 105, "ws://node").expect_err("a drifted runtime is refused");
		assert!(
			err.0.contains("the node at ws://node runs Gravity runtime spec 105, whose calls, storage or events differ"),
			"{}",
			err.0
		);
	}

	#[test]
	fn transactions_live_from_the_finalized_block_unless_finality_lags_half_an_era() {
		let (best, fin) = (H256::repeat_byte(1), H256::repeat_byte(2));
		// A best block a BABE fork may replace is never the era's birth block.
		assert_eq!(era_anchor((100, best), (97, fin)), (97, fin));
		assert_eq!(era_anchor((100, best), (100 - ERA_BLOCKS / 2, fin)), (100 - ERA_BLOCKS / 2, fin));
		// Finality stalled: counting from it would leave the transaction (almost) no life.
		assert_eq!(era_anchor((100, best), (100 - ERA_BLOCKS / 2 - 1, fin)), (100, best));
		assert_eq!(era_anchor((5, best), (0, fin)), (0, fin), "a young chain");
	}

	#[test]
	fn addresses_are_ss58_with_gravitys_prefix_and_parse_back() {
		let alice = AccountId32(
			*b"\xd4\x35\x93\xc7\x15\xfd\xd3\x1c\x61\x14\x1a\xbd\x04\xa9\x9f\xd6\x82\x2c\x85\x58\x85\x4c\xcd\xe3\x9a\x56\x84\xe7\xa5\x6d\xa2\x7d",
		);
		// What polkadot.js prints for //Alice with ss58Format 7007.
		assert_eq!(ss58(&alice), "fhEVxe5tBqLSDCpztuuScgqkpnuS1KecNwsB1ZL4U6xkho6cS");
		assert_eq!(parse_account(&ss58(&alice)).unwrap(), alice);
		assert_eq!(parse_account("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap(), alice, "any prefix parses");
		assert_eq!(parse_account(&format!("0x{}", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")).unwrap(), alice);
		assert!(parse_account("fhEVxe5tBqLSDCpztuuScgqkpnuS1KecNwsB1ZL4U6xkho6cT").is_err(), "bad checksum");
		assert!(parse_account("0x1234").is_err());
	}

	#[test]
	fn dev_keys_come_from_suri_and_a_wrong_suri_is_one_clear_error() {
		let g = |suri: &str| crate::cli::Global {
			url: String::new(),
			data_url: String::new(),
			json: false,
			wait: Wait::InBlock,
			at: At::Best,
			suri: Some(suri.into()),
			key_file: None,
			password_env: None,
			genesis: None,
		};
		let alice = signer(&g("//Alice")).unwrap();
		assert_eq!(ss58(&alice.public_key().to_account_id()), "fhEVxe5tBqLSDCpztuuScgqkpnuS1KecNwsB1ZL4U6xkho6cS");
		let e = signer(&g("not a seed at all")).unwrap_err().to_string();
		assert!(e.starts_with("--suri"), "{e}");
		let mut none = g("//Alice");
		none.suri = None;
		assert!(signer(&none).unwrap_err().to_string().contains("--suri //Alice"));
	}
}
