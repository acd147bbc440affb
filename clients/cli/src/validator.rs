//! `gravity validator keys|register|leave|withdraw|status|ls|admit`: joining the validator set
//! through the `validators` pallet (see `docs/run-a-validator.md`).
//!
//! The steps a newcomer takes, each checked here before anything is signed:
//! 1. `keys`: generate session keys (BABE and GRANDPA) in the keystore of **the validator's own
//!    node** (`--url` must be that node; it allows the unsafe `author_rotateKeysWithOwner` on
//!    loopback only), bound to the signing account by an ownership proof, and set them with
//!    `session.set_keys`.
//! 2. `register --bond`: hold a bond (≥ `validators.MinBond`) and wait as a candidate.
//! 3. The chain's `AdminOrigin` admits it (`admit`, sudo on a testnet); it authors from the
//!    session after next.
//! 4. `leave` (or, still a candidate, withdrawing the candidacy), then `withdraw` once the bond
//!    unbonds.

use crate::{
	chain::{gravity, read, runtime_types as rt, signer, ss58, try_read, AtBlock, Chain},
	cli::{Global, ValidatorCmd},
	error::{Context, Error, Result},
	fail,
	out::Out,
	units::{grav, parse_amount},
};
use rt::pallet_gravity_validators::types::{Status, ValidatorRecord};
use serde_json::{json, Value};
use subxt::{
	ext::codec::Decode,
	rpcs::rpc_params,
	utils::AccountId32,
};

/// What `author_rotateKeysWithOwner` returns.
#[derive(serde::Deserialize)]
struct Generated {
	keys: String,
	proof: Option<String>,
}

pub async fn run(g: &Global, out: Out, cmd: ValidatorCmd) -> Result<()> {
	match cmd {
		ValidatorCmd::Keys { print_only } => keys(g, out, print_only).await,
		ValidatorCmd::Register { bond } => register(g, out, bond).await,
		ValidatorCmd::Leave => leave(g, out).await,
		ValidatorCmd::Withdraw => withdraw(g, out).await,
		ValidatorCmd::Status { account } => {
			let who = crate::chain::account_or_signer(g, &account)?;
			let chain = Chain::connect(g).await?;
			let at = chain.at().await?;
			let st = status(&at, &who).await?;
			out.result(st.json(), || st.text());
			Ok(())
		},
		ValidatorCmd::Ls => ls(g, out).await,
		ValidatorCmd::Admit { account } => admit(g, out, account).await,
	}
}

/// Where an account stands as a validator.
pub struct ValidatorStatus {
	pub who: AccountId32,
	pub session: u32,
	pub record: Option<ValidatorRecord<u128>>,
	pub has_keys: bool,
	pub in_current: bool,
	pub in_next: bool,
	pub disabled: bool,
}

impl ValidatorStatus {
	fn state(&self) -> String {
		match &self.record {
			None => "not registered".into(),
			Some(r) => match &r.status {
				Status::Candidate => "candidate (waiting for admission)".into(),
				Status::Validator => "validator".into(),
				Status::Leaving { unbonds_at, cause } => format!("leaving ({cause:?}); bond unbonds at session {unbonds_at}"),
			},
		}
	}

	fn json(&self) -> Value {
		let mut v = json!({
			"account": ss58(&self.who), "session": self.session, "registered": self.record.is_some(),
			"sessionKeys": self.has_keys, "inCurrentSession": self.in_current, "inNextSession": self.in_next,
			"disabled": self.disabled,
		});
		if let Some(r) = &self.record {
			let (status, unbonds_at, cause) = match &r.status {
				Status::Candidate => ("Candidate", None, None),
				Status::Validator => ("Validator", None, None),
				Status::Leaving { unbonds_at, cause } => ("Leaving", Some(*unbonds_at), Some(format!("{cause:?}"))),
			};
			v["status"] = json!(status);
			v["unbondsAt"] = json!(unbonds_at);
			v["cause"] = json!(cause);
			v["bond"] = json!(r.bond.to_string());
			v["slashed"] = json!(r.slashed.to_string());
			v["registeredAt"] = json!(r.registered_at);
			v["blocksAuthored"] = json!(r.blocks_authored);
			v["lastOffence"] = json!(r.last_offence.as_ref().map(|(s, f)| json!({ "session": s, "fraction": f.0 })));
		}
		v
	}

	fn text(&self) -> String {
		let mut s = format!("{} — {}\n  session {}", ss58(&self.who), self.state(), self.session);
		s.push_str(&format!(
			"\n  session keys {}; {} the current session, {} the next{}",
			if self.has_keys { "set" } else { "NOT set (run `gravity validator keys` against your own node)" },
			if self.in_current { "in" } else { "not in" },
			if self.in_next { "in" } else { "not in" },
			if self.disabled { "; DISABLED for an offence this session" } else { "" },
		));
		if let Some(r) = &self.record {
			s.push_str(&format!(
				"\n  bond {}, slashed {}, registered in session {}, {} blocks authored",
				grav(r.bond),
				grav(r.slashed),
				r.registered_at,
				r.blocks_authored
			));
			if let Some((session, fraction)) = &r.last_offence {
				s.push_str(&format!("\n  last offence: session {session}, {:.2} % slashed", fraction.0 as f64 / 1e7));
			}
		}
		s
	}
}

/// Read where `who` stands, from the registry and the session pallet.
pub async fn status(at: &AtBlock, who: &AccountId32) -> Result<ValidatorStatus> {
	let session_storage = gravity::storage().session();
	let record = try_read(at, gravity::storage().validators().members(), (who.clone(),)).await?;
	let has_keys = try_read(at, session_storage.next_keys(), (who.clone(),)).await?.is_some();
	let session = read(at, session_storage.current_index(), ()).await?;
	let current: Vec<AccountId32> = read(at, session_storage.validators(), ()).await?;
	let queued = read(at, session_storage.queued_keys(), ()).await?;
	let disabled = read(at, session_storage.disabled_validators(), ()).await?;
	let index = current.iter().position(|v| v == who);
	Ok(ValidatorStatus {
		who: who.clone(),
		session,
		record,
		has_keys,
		in_current: index.is_some(),
		in_next: queued.iter().any(|(v, _)| v == who),
		disabled: index.is_some_and(|i| disabled.iter().any(|(d, _)| *d as usize == i)),
	})
}

async fn keys(g: &Global, out: Out, print_only: bool) -> Result<()> {
	let key = signer(g)?;
	let who = key.public_key().to_account_id();
	let chain = Chain::connect(g).await?;
	let owner = crate::data::hex(&who.0);
	let generated: Generated = chain
		.rpc
		.request("author_rotateKeysWithOwner", rpc_params![owner])
		.await
		.map_err(|e| {
			let e = e.to_string();
			if e.contains("unsafe") || e.contains("-32601") || e.contains("not found") {
				Error(format!(
					"the node at {} will not generate keys for you ({e}): run this against your own validator node, on its machine (unsafe RPC is served on loopback only)",
					chain.url
				))
			} else {
				Error(format!("author_rotateKeysWithOwner: {e}"))
			}
		})?;
	let Some(proof) = generated.proof else {
		fail!("the node returned keys without an ownership proof: it does not run a Gravity runtime that checks them")
	};
	let raw = crate::data::unhex(generated.keys.trim_start_matches("0x"))
		.map_err(|_| Error("the node returned session keys that are not hex".into()))?;
	let proof_bytes =
		crate::data::unhex(proof.trim_start_matches("0x")).map_err(|_| Error("the node returned a proof that is not hex".into()))?;
	let session_keys = rt::gravity_runtime::SessionKeys::decode(&mut &raw[..])
		.map_err(|e| Error(format!("the node's session keys do not decode as this runtime's (BABE, GRANDPA): {e}")))?;
	if print_only {
		out.result(json!({ "account": ss58(&who), "keys": generated.keys, "proof": proof }), || {
			format!(
				"session keys for {} (in the node's keystore; not set on chain):\n  keys  {}\n  proof {}\nset them with session.setKeys(keys, proof) signed by {}",
				ss58(&who),
				generated.keys,
				proof,
				ss58(&who)
			)
		});
		return Ok(())
	}
	let call = gravity::tx().session().set_keys(session_keys, proof_bytes);
	let inc = chain.submit(&out, "session.set_keys", &call, &key).await?;
	out.result(json!({ "account": ss58(&who), "keys": generated.keys, "block": inc.as_ref().map(|i| i.block) }), || {
		format!(
			"session keys set for {}: {}\nnext: `gravity validator register --bond <GRAV>`",
			ss58(&who),
			generated.keys
		)
	});
	Ok(())
}

async fn register(g: &Global, out: Out, bond: String) -> Result<()> {
	let bond = parse_amount(&bond)?;
	let key = signer(g)?;
	let who = key.public_key().to_account_id();
	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let min: u128 =
		at.constants().entry(gravity::constants().validators().min_bond()).context(|| "validators.MinBond".into())?;
	if bond < min {
		fail!("--bond {} is below the chain's minimum validator bond of {}", grav(bond), grav(min))
	}
	let st = status(&at, &who).await?;
	if st.record.is_some() {
		fail!("{} is already registered: {} (see `gravity validator status`)", ss58(&who), st.state())
	}
	if !st.has_keys {
		fail!("{} has no session keys on chain: run `gravity validator keys --url <your node>` first", ss58(&who))
	}
	let free = crate::account::free_balance(&at, &who).await?;
	if free < bond {
		fail!("{} has {} free, less than the bond of {}", ss58(&who), grav(free), grav(bond))
	}
	let call = gravity::tx().validators().register(bond);
	chain.submit(&out, "validators.register", &call, &key).await?;
	out.result(json!({ "registered": ss58(&who), "bond": bond.to_string() }), || {
		format!("{} is a candidate with a bond of {}: waiting for admission (`gravity validator status`)", ss58(&who), grav(bond))
	});
	Ok(())
}

async fn leave(g: &Global, out: Out) -> Result<()> {
	let key = signer(g)?;
	let who = key.public_key().to_account_id();
	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let st = status(&at, &who).await?;
	match st.record.as_ref().map(|r| &r.status) {
		None => fail!("{} is not registered as a validator", ss58(&who)),
		Some(Status::Leaving { unbonds_at, .. }) =>
			fail!("{} is already leaving; the bond unbonds at session {unbonds_at} (`gravity validator withdraw` then)", ss58(&who)),
		Some(Status::Candidate) => {
			let call = gravity::tx().validators().withdraw_candidacy();
			chain.submit(&out, "validators.withdraw_candidacy", &call, &key).await?;
			out.result(json!({ "left": "candidacy" }), || "candidacy withdrawn; the bond is released".into());
		},
		Some(Status::Validator) => {
			let call = gravity::tx().validators().leave();
			let inc = chain.submit(&out, "validators.leave", &call, &key).await?;
			let unbonds = inc
				.as_ref()
				.and_then(|i| i.events.find_first::<gravity::validators::events::ValidatorLeaving>().and_then(|e| e.ok()))
				.map(|e| e.unbonds_at);
			out.result(json!({ "left": "set", "unbondsAt": unbonds }), || match unbonds {
				Some(s) => format!("leaving the set; the bond unbonds at session {s}: then `gravity validator withdraw`"),
				None => "leaving the set; `gravity validator status` shows when the bond unbonds".into(),
			});
		},
	}
	Ok(())
}

async fn withdraw(g: &Global, out: Out) -> Result<()> {
	let key = signer(g)?;
	let who = key.public_key().to_account_id();
	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let st = status(&at, &who).await?;
	match st.record.as_ref().map(|r| &r.status) {
		Some(Status::Leaving { unbonds_at, .. }) if *unbonds_at > st.session => fail!(
			"the bond is still held: it unbonds at session {unbonds_at} (now {}); try again then",
			st.session
		),
		Some(Status::Leaving { .. }) => {},
		_ => fail!("{} is not leaving the validator set: `gravity validator leave` first", ss58(&who)),
	}
	let call = gravity::tx().validators().withdraw_bond();
	let inc = chain.submit(&out, "validators.withdraw_bond", &call, &key).await?;
	let amount = inc
		.as_ref()
		.and_then(|i| i.events.find_first::<gravity::validators::events::BondReturned>().and_then(|e| e.ok()))
		.map(|e| e.amount);
	out.result(json!({ "withdrawn": amount.map(|a| a.to_string()) }), || match amount {
		Some(a) => format!("bond of {} returned", grav(a)),
		None => "bond withdrawn".into(),
	});
	Ok(())
}

async fn ls(g: &Global, out: Out) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let admitted: Vec<AccountId32> = read(&at, gravity::storage().validators().admitted(), ()).await?.0;
	let candidates: Vec<AccountId32> = read(&at, gravity::storage().validators().candidates(), ()).await?.0;
	let mut rows = Vec::new();
	for who in admitted.iter().chain(candidates.iter()) {
		rows.push(status(&at, who).await?);
	}
	let session = rows.first().map(|r| r.session).unwrap_or_default();
	out.result(
		json!({ "session": session, "validators": rows.iter().filter(|r| admitted.contains(&r.who)).map(|r| r.json()).collect::<Vec<_>>(), "candidates": rows.iter().filter(|r| !admitted.contains(&r.who)).map(|r| r.json()).collect::<Vec<_>>() }),
		|| {
			let mut s = format!("session {session}: {} validator(s), {} candidate(s)", admitted.len(), candidates.len());
			for r in &rows {
				let bond = r.record.as_ref().map(|r| grav(r.bond)).unwrap_or_default();
				let authored = r.record.as_ref().map(|r| r.blocks_authored).unwrap_or_default();
				s.push_str(&format!(
					"\n  {}  {}  bond {bond}  {authored} blocks{}",
					ss58(&r.who),
					r.state(),
					if r.in_current { ", authoring now" } else { "" }
				));
			}
			s
		},
	);
	Ok(())
}

/// The admin's step (sudo on a testnet): admit a candidate.
async fn admit(g: &Global, out: Out, account: String) -> Result<()> {
	let who = crate::chain::parse_account(&account)?;
	let key = signer(g)?;
	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let st = status(&at, &who).await?;
	if !matches!(st.record.as_ref().map(|r| &r.status), Some(Status::Candidate)) {
		fail!("{} is not a candidate ({}): nothing to admit", ss58(&who), st.state())
	}
	let sudo_key: Option<AccountId32> = try_read(&at, gravity::storage().sudo().key(), ()).await?;
	if sudo_key.as_ref() != Some(&key.public_key().to_account_id()) {
		fail!("admission is the chain's admin call; {} is not this chain's sudo key", ss58(&key.public_key().to_account_id()))
	}
	let inner = rt::gravity_runtime::RuntimeCall::Validators(rt::pallet_gravity_validators::pallet::Call::admit { who: who.clone() });
	let call = gravity::tx().sudo().sudo(inner);
	let inc = chain.submit(&out, "sudo.sudo(validators.admit)", &call, &key).await?;
	let mut session = None;
	if let Some(inc) = &inc {
		if let Some(Ok(ev)) = inc.events.find_first::<gravity::sudo::events::Sudid>() {
			if let Err(e) = ev.sudo_result {
				fail!("admit failed: {}", crate::chain::explain_api_error(&at, &e))
			}
		}
		session = inc.events.find_first::<gravity::validators::events::ValidatorAdmitted>().and_then(|e| e.ok()).map(|e| e.session);
	}
	out.result(json!({ "admitted": ss58(&who), "session": session }), || match session {
		Some(s) => format!("admitted {} in session {s}: in the set planned at the next rotation, authoring from session {}", ss58(&who), s + 2),
		None => format!("admitted {}: in the set planned at the next rotation, authoring from the session after", ss58(&who)),
	});
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn session_keys_from_the_node_decode_as_babe_then_grandpa() {
		// What `author_rotateKeysWithOwner` returns: the SCALE encoding of the runtime's
		// `SessionKeys` (BABE sr25519 public key, then GRANDPA ed25519 public key).
		let mut raw = vec![1u8; 32];
		raw.extend([2u8; 32]);
		let keys = rt::gravity_runtime::SessionKeys::decode(&mut &raw[..]).expect("64 bytes decode");
		assert_eq!(keys.babe.0, [1u8; 32]);
		assert_eq!(keys.grandpa.0, [2u8; 32]);
		assert!(rt::gravity_runtime::SessionKeys::decode(&mut &raw[..40]).is_err(), "short keys are refused");
	}
}
