//! `gravity balance|transfer|info` and `gravity provider register|update|show|deregister|withdraw`.

use crate::{
	chain::{gravity, parse_account, read, runtime_types as rt, signer, ss58, try_read, AtBlock, Chain},
	cli::{Global, ProviderCmd},
	error::{Context, Error, Result},
	fail,
	out::Out,
	units::{grav, parse_amount},
};
use clap::Args;
use rt::gravity_primitives as gp;
use serde_json::json;
use subxt::utils::{AccountId32, MultiAddress};

/// The free balance of `who`.
pub async fn free_balance(at: &AtBlock, who: &AccountId32) -> Result<u128> {
	Ok(read(at, gravity::storage().system().account(), (who.clone(),)).await?.data.free)
}

pub async fn balance(g: &Global, out: Out, account: Option<String>) -> Result<()> {
	let who = crate::chain::account_or_signer(g, &account)?;
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let info = read(&at, gravity::storage().system().account(), (who.clone(),)).await?;
	let holds: Vec<(String, u128)> = match try_read(&at, gravity::storage().balances().holds(), (who.clone(),)).await? {
		Some(h) => h.0.into_iter().map(|h| (format!("{:?}", h.id), h.amount)).collect(),
		None => Vec::new(),
	};
	let d = &info.data;
	out.result(
		json!({ "account": ss58(&who), "free": d.free.to_string(), "reserved": d.reserved.to_string(), "frozen": d.frozen.to_string(), "nonce": info.nonce, "holds": holds.iter().map(|(r, a)| json!({ "reason": r, "amount": a.to_string() })).collect::<Vec<_>>() }),
		|| {
			let mut s = format!("{}\n  free {}\n  reserved and held {}\n  frozen {}", ss58(&who), grav(d.free), grav(d.reserved), grav(d.frozen));
			for (r, a) in &holds {
				s.push_str(&format!("\n    held for {r}: {}", grav(*a)));
			}
			s
		},
	);
	Ok(())
}

pub async fn transfer(g: &Global, out: Out, to: String, amount: String) -> Result<()> {
	let dest = parse_account(&to)?;
	let value = parse_amount(&amount)?;
	if value == 0 {
		fail!("the amount must be more than 0")
	}
	let key = signer(g)?;
	let chain = Chain::connect(g).await?;
	let at = chain.best().await?;
	let free = free_balance(&at, &key.public_key().to_account_id()).await?;
	if free < value {
		fail!("{} has {} free, less than the {} to send", ss58(&key.public_key().to_account_id()), grav(free), grav(value))
	}
	let call = gravity::tx().balances().transfer_keep_alive(MultiAddress::Id(dest.clone()), value);
	let inc = chain.submit(&out, "balances.transfer_keep_alive", &call, &key).await?;
	out.result(json!({ "to": ss58(&dest), "amount": value.to_string(), "block": inc.as_ref().map(|i| i.block) }), || {
		format!("sent {} to {}", grav(value), ss58(&dest))
	});
	Ok(())
}

pub async fn info(g: &Global, out: Out) -> Result<()> {
	let chain = Chain::connect(g).await?;
	let best = chain.best().await?;
	let finalized = chain.finalized_number().await?;
	let name: String = chain
		.rpc
		.request("system_chain", subxt::rpcs::rpc_params![])
		.await
		.context(|| "system_chain".into())?;
	let genesis = chain.api.genesis_hash();
	let peer = chain.local_peer_id().await?;
	// A job's `source` as polkadot.js apps takes it (bytes, not base58).
	let source = bs58::decode(&peer).into_vec().map(|b| crate::data::hex(&b)).unwrap_or_default();
	let c = read(&best, gravity::storage().market().configuration(), ()).await?;
	let pct = |p: &rt::sp_arithmetic::per_things::Perbill| p.0 as f64 / 10_000_000.0;
	let market = json!({
		"commitWindow": c.windows.commit, "revealWindow": c.windows.reveal, "deliveryWindow": c.windows.delivery,
		"maxPlacementWait": c.max_placement_wait, "maxDeferrals": c.max_deferrals,
		"queueDeposit": c.queue_deposit.to_string(), "protocolFeePercent": pct(&c.protocol_fee),
		"spotCheckRatePercent": pct(&c.spot_check_rate), "slashFractionPercent": pct(&c.slash_fraction),
		"maxFuelCap": c.max_fuel_cap,
	});
	out.result(
		json!({ "chain": name, "genesis": format!("{genesis:?}"), "specVersion": best.spec_version(), "best": best.block_number(), "finalized": finalized, "url": chain.url, "peerId": peer, "sourceBytes": source, "market": market }),
		|| {
			format!(
				"{name} at {}\n  genesis {genesis:?}\n  runtime spec {}\n  best #{}, finalized #{finalized}\n  peer id {peer}\n  as a job's source (polkadot.js apps, market.submitJob): {source}\n  market (market.configuration): windows commit {} / reveal {} / deliver {} blocks; a queued replica waits at most {} blocks ({} fruitless tries); queue deposit {} per replica; protocol fee {}%, spot checks {}%, slash {}% of the bond; fuel cap at most {}",
				chain.url,
				best.spec_version(),
				best.block_number(),
				c.windows.commit,
				c.windows.reveal,
				c.windows.delivery,
				c.max_placement_wait,
				c.max_deferrals,
				grav(c.queue_deposit),
				pct(&c.protocol_fee),
				pct(&c.spot_check_rate),
				pct(&c.slash_fraction),
				c.max_fuel_cap,
			)
		},
	);
	Ok(())
}

/// What a provider declares when it registers.
#[derive(Args, Clone)]
pub struct RegisterArgs {
	/// Bond to hold (GRAV, or plancks with `planck`).
	#[arg(long)]
	pub bond: String,
	#[command(flatten)]
	pub caps: CapabilityArgs,
}

/// A provider's declared capabilities.
#[derive(Args, Clone)]
pub struct CapabilityArgs {
	/// phone, pc, mining-box or server.
	#[arg(long, default_value = "pc")]
	pub device: String,
	/// x86_64, aarch64 or riscv64.
	#[arg(long, default_value = "x86_64")]
	pub arch: String,
	#[arg(long, default_value_t = 2)]
	pub cores: u16,
	#[arg(long, default_value_t = 4096)]
	pub memory_mib: u32,
	#[arg(long, default_value_t = 100)]
	pub bandwidth_mbps: u32,
	/// Tasks the node runs at once.
	#[arg(long, default_value_t = 2)]
	pub max_concurrent: u16,
	/// Region tag (at most 8 bytes).
	#[arg(long, default_value = "")]
	pub region: String,
}

fn capabilities(a: &CapabilityArgs) -> Result<gp::Capabilities> {
	let device = match a.device.as_str() {
		"phone" => gp::DeviceClass::Phone,
		"pc" => gp::DeviceClass::Pc,
		"mining-box" => gp::DeviceClass::MiningBox,
		"server" => gp::DeviceClass::Server,
		d => fail!("--device {d}: give phone, pc, mining-box or server"),
	};
	let arch = match a.arch.as_str() {
		"x86_64" => gp::Arch::X86_64,
		"aarch64" => gp::Arch::Aarch64,
		"riscv64" => gp::Arch::Riscv64,
		x => fail!("--arch {x}: give x86_64, aarch64 or riscv64"),
	};
	if a.region.len() > 8 {
		fail!("--region is at most 8 bytes")
	}
	Ok(gp::Capabilities {
		device,
		arch,
		cores: a.cores,
		memory_mib: a.memory_mib,
		gpu_model: rt::bounded_collections::bounded_vec::BoundedVec(Vec::new()),
		gpu_score: 0,
		bandwidth_mbps: a.bandwidth_mbps,
		region: rt::bounded_collections::bounded_vec::BoundedVec(a.region.as_bytes().to_vec()),
		max_concurrent: a.max_concurrent,
	})
}

pub async fn provider(g: &Global, out: Out, cmd: ProviderCmd) -> Result<()> {
	match cmd {
		ProviderCmd::Show { account } => show(g, out, account).await,
		ProviderCmd::Register(a) => {
			let caps = capabilities(&a.caps)?;
			let bond = parse_amount(&a.bond)?;
			let key = signer(g)?;
			let chain = Chain::connect(g).await?;
			let at = chain.best().await?;
			let min: u128 = at
				.constants()
				.entry(gravity::constants().providers().min_bond())
				.context(|| "providers.MinBond".into())?;
			if bond < min {
				fail!("--bond {} is below the chain's minimum bond of {}", grav(bond), grav(min))
			}
			let call = gravity::tx().providers().register(caps, bond);
			chain.submit(&out, "providers.register", &call, &key).await?;
			out.result(json!({ "registered": ss58(&key.public_key().to_account_id()), "bond": bond.to_string() }), || {
				format!("{} registered as a provider with a bond of {}", ss58(&key.public_key().to_account_id()), grav(bond))
			});
			Ok(())
		},
		ProviderCmd::Update(a) => {
			let caps = capabilities(&a)?;
			let key = signer(g)?;
			let who = key.public_key().to_account_id();
			let chain = Chain::connect(g).await?;
			let at = chain.best().await?;
			let registered = at
				.runtime_apis()
				.call(gravity::runtime_apis().providers_api().provider(who.clone()))
				.await
				.context(|| "ProvidersApi.provider".into())?;
			if registered.is_none() {
				fail!("{} is not a registered provider: `gravity provider register --bond <GRAV>` first", ss58(&who))
			}
			let call = gravity::tx().providers().update_capabilities(caps);
			chain.submit(&out, "providers.update_capabilities", &call, &key).await?;
			out.result(json!({ "updated": ss58(&who) }), || {
				format!("{}: capabilities updated (a change restarts the trusted-work count: trust earned on one machine does not carry to another)", ss58(&who))
			});
			Ok(())
		},
		ProviderCmd::Deregister => {
			let key = signer(g)?;
			let chain = Chain::connect(g).await?;
			let call = gravity::tx().providers().deregister();
			chain.submit(&out, "providers.deregister", &call, &key).await?;
			out.result(json!({ "deregistered": true }), || "deregistered: withdraw the bond once it unbonds (`gravity provider show`)".into());
			Ok(())
		},
		ProviderCmd::Withdraw => {
			let key = signer(g)?;
			let chain = Chain::connect(g).await?;
			let call = gravity::tx().providers().withdraw_bond();
			chain.submit(&out, "providers.withdraw_bond", &call, &key).await?;
			out.result(json!({ "withdrawn": true }), || "bond withdrawn".into());
			Ok(())
		},
	}
}

async fn show(g: &Global, out: Out, account: Option<String>) -> Result<()> {
	let who = crate::chain::account_or_signer(g, &account)?;
	let chain = Chain::connect(g).await?;
	let at = chain.at().await?;
	let api = gravity::runtime_apis().providers_api();
	let info = at.runtime_apis().call(api.provider(who.clone())).await.context(|| "ProvidersApi.provider".into())?;
	let (score, rep) = at.runtime_apis().call(api.reputation(who.clone())).await.context(|| "ProvidersApi.reputation".into())?;
	let endpoint = crate::job::endpoints(&at, [&who]).await?.into_iter().next();
	// The market's record of the provider's work: what it holds now, its newest closed
	// replicas and lifetime totals (state, so there whatever the node pruned).
	let work = try_read(&at, gravity::storage().market().provider_tasks(), (who.clone(),)).await?;
	let holding: Vec<(u64, u32)> = work.as_ref().map(|w| w.open.0.clone()).unwrap_or_default();
	let (earned, slashed, closed) = work.as_ref().map(|w| (w.earned, w.slashed, w.closed)).unwrap_or_default();
	// Newest first.
	let recent: Vec<_> = work.as_ref().map(|w| w.recent.0.iter().rev().collect()).unwrap_or_default();
	let recent_json: Vec<_> = recent
		.iter()
		.map(|e| {
			json!({ "job": e.job, "task": e.task, "round": e.round, "outcome": format!("{:?}", e.outcome),
				"paid": e.paid.to_string(), "slashed": e.slashed.to_string(), "at": e.at })
		})
		.collect();
	let recent_text: String = recent
		.iter()
		.map(|e| {
			let money = match (e.paid, e.slashed) {
				(0, 0) => String::new(),
				(p, 0) => format!(", paid {}", grav(p)),
				(0, s) => format!(", slashed {}", grav(s)),
				(p, s) => format!(", paid {}, slashed {}", grav(p), grav(s)),
			};
			format!("\n    #{} job {} task {} (round {}): {:?}{money}", e.at, e.job, e.task, e.round, e.outcome)
		})
		.collect();
	let work_text = format!(
		"\n  work: {closed} replica(s) closed, earned {}, slashed {}; newest {}:{}",
		grav(earned),
		grav(slashed),
		recent.len(),
		if recent.is_empty() { " none".into() } else { recent_text },
	);
	let Some(info) = info else {
		if rep.lifetime_agreed == 0 && rep.lifetime_dissented == 0 && rep.lifetime_no_show == 0 {
			fail!("{} is not a provider and never was: register with `gravity provider register --bond <GRAV>`", ss58(&who))
		}
		out.result(
			json!({ "account": ss58(&who), "registered": false, "reputation": score.0,
				"earned": earned.to_string(), "slashed": slashed.to_string(), "closed": closed, "recent": recent_json }),
			|| format!("{}: no longer registered; reputation {:.2} %{work_text}", ss58(&who), score.0 as f64 / 1e7),
		);
		return Ok(())
	};
	let c = &info.capabilities;
	out.result(
		json!({
			"account": ss58(&who), "registered": true, "status": format!("{:?}", info.status),
			"bond": info.bond.to_string(), "registeredAt": info.registered_at, "lastHeartbeat": info.last_heartbeat,
			"capabilities": { "device": format!("{:?}", c.device), "arch": format!("{:?}", c.arch), "cores": c.cores, "memoryMib": c.memory_mib, "maxConcurrent": c.max_concurrent, "bandwidthMbps": c.bandwidth_mbps, "region": String::from_utf8_lossy(&c.region.0) },
			"reputation": score.0, "agreed": rep.lifetime_agreed, "dissented": rep.lifetime_dissented, "noShow": rep.lifetime_no_show,
			"declined": rep.lifetime_declined, "trustedWork": rep.trusted_work,
			"endpoint": endpoint, "holding": holding.iter().map(|(j, t)| json!({ "job": j, "task": t })).collect::<Vec<_>>(),
			"earned": earned.to_string(), "slashed": slashed.to_string(), "closed": closed, "recent": recent_json,
		}),
		|| {
			format!(
				"{} — {:?}\n  bond {}, registered #{}, last heartbeat #{}\n  {:?} {:?}, {} cores, {} MiB, {} tasks at once, region '{}'\n  reputation {:.2} % ({} agreed, {} dissented, {} no-shows, {} declined; trusted work {})\n  endpoint {}\n  holding {} replica(s){}{work_text}",
				ss58(&who), info.status, grav(info.bond), info.registered_at, info.last_heartbeat,
				c.device, c.arch, c.cores, c.memory_mib, c.max_concurrent, String::from_utf8_lossy(&c.region.0),
				score.0 as f64 / 1e7, rep.lifetime_agreed, rep.lifetime_dissented, rep.lifetime_no_show, rep.lifetime_declined, rep.trusted_work,
				endpoint.clone().unwrap_or_else(|| "(none)".into()),
				holding.len(),
				holding.iter().map(|(j, t)| format!(" {j}/{t}")).collect::<String>(),
			)
		},
	);
	Ok(())
}

#[allow(dead_code)]
fn _unused(_: Error) {}
