//! The command line (clap) and the dispatch to each command.

use crate::{account, audit, chain, data, error::Result, job, out::Out, validator};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use subxt::utils::H256;

#[derive(Parser)]
#[command(
	name = "gravity",
	version,
	about = "Gravity from a terminal: jobs, data, providers and accounts, and audits that re-execute",
	long_about = "Gravity from a terminal: submit jobs and follow them block by block, fetch their outputs, \
	              audit them by re-executing every verified task in the same sandbox the providers use, move \
	              data through a node's content store, and manage providers and balances.\n\n\
	              Talks to a Gravity node's RPC (--url, default ws://127.0.0.1:9944) and, for data, to its data \
	              RPC (--data-url, default ws://127.0.0.1:9955; the node runs it with --data-rpc-port)."
)]
pub struct Cli {
	#[command(flatten)]
	pub global: Global,
	#[command(subcommand)]
	pub cmd: Cmd,
}

/// Flags every command takes.
#[derive(Args, Clone)]
pub struct Global {
	/// The node's RPC.
	#[arg(long, global = true, env = "GRAVITY_URL", default_value = "ws://127.0.0.1:9944")]
	pub url: String,
	/// The node's data RPC (on the node's machine: files move through its data exchange directory).
	#[arg(long, global = true, env = "GRAVITY_DATA_URL", default_value = "ws://127.0.0.1:9955")]
	pub data_url: String,
	/// Machine-readable output: one JSON object a line.
	#[arg(long, global = true)]
	pub json: bool,
	/// How long a command that sends a transaction waits for it.
	#[arg(long, global = true, value_enum, default_value = "in-block")]
	pub wait: Wait,
	/// The block to read state at: best, finalized, or a block hash.
	#[arg(long, global = true, default_value = "best", value_parser = parse_at)]
	pub at: At,
	/// Secret URI of the signing key, for dev accounts (e.g. //Alice). Never put a real account's
	/// mnemonic on a command line: use --key-file.
	#[arg(long, global = true)]
	pub suri: Option<String>,
	/// A polkadot.js-exported JSON account file to sign with.
	#[arg(long, global = true)]
	pub key_file: Option<PathBuf>,
	/// The environment variable that holds the --key-file password (else it is asked for).
	#[arg(long, global = true)]
	pub password_env: Option<String>,
	/// The genesis hash of the chain you expect: a node of another chain is refused.
	#[arg(long, global = true, env = "GRAVITY_GENESIS")]
	pub genesis: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
	/// Return once the node accepted the transaction.
	None,
	/// Return once it is in a block.
	InBlock,
	/// Return once that block is finalized.
	Finalized,
}

#[derive(Clone, Debug)]
pub enum At {
	Best,
	Finalized,
	Hash(H256),
}

fn parse_at(s: &str) -> std::result::Result<At, String> {
	match s {
		"best" => Ok(At::Best),
		"finalized" => Ok(At::Finalized),
		h => chain::parse_hash(h).map(At::Hash).map_err(|e| format!("{e}; or give best or finalized")),
	}
}

#[derive(Subcommand)]
pub enum Cmd {
	/// Jobs: submit, follow, fetch, audit.
	#[command(subcommand)]
	Job(JobCmd),
	/// The content store of a node (job inputs and outputs), through its data RPC.
	#[command(subcommand)]
	Data(DataCmd),
	/// Providers: register, update, show, deregister, withdraw.
	#[command(subcommand)]
	Provider(ProviderCmd),
	/// Validators: session keys, register, leave, withdraw, status, the set.
	#[command(subcommand)]
	Validator(ValidatorCmd),
	/// Free, reserved and held balance of an account (default: the signer's).
	Balance {
		/// SS58 address or 0x account id.
		account: Option<String>,
	},
	/// Send GRAV to an account.
	Transfer {
		/// SS58 address or 0x account id.
		to: String,
		/// Amount in GRAV (e.g. 1.5) or plancks (e.g. 250planck).
		amount: String,
	},
	/// The chain this node is on: name, genesis, runtime, best and finalized blocks.
	Info,
}

#[derive(Subcommand)]
pub enum JobCmd {
	/// Submit a job from files; prints its id.
	#[command(subcommand)]
	Submit(SubmitCmd),
	/// One view of a job: status, stages, tasks by phase, escrow.
	Describe { job: u64 },
	/// One row per replica: provider, round, commit and reveal blocks, output, fuel, outcome, pay.
	Executions {
		job: u64,
		/// Only this task.
		task: Option<u32>,
	},
	/// Every recorded step of a job with its block and finality.
	History { job: u64 },
	/// Follow a job block by block until it ends.
	Watch {
		job: u64,
		/// Give up after this many seconds.
		#[arg(long, default_value_t = 1800)]
		timeout: u64,
	},
	/// Fetch a job's verified outputs (a render job: assembled into PNG files).
	Get {
		job: u64,
		/// Directory to write to (created).
		#[arg(short, long)]
		out: PathBuf,
	},
	/// Jobs on the chain (newest first).
	Ls {
		/// Only the signer's jobs.
		#[arg(long)]
		mine: bool,
		/// Only this account's jobs.
		#[arg(long)]
		account: Option<String>,
		/// At most this many.
		#[arg(long, default_value_t = 50)]
		limit: u64,
	},
	/// Cancel a job: unspent escrow comes back; running replicas settle first.
	Cancel { job: u64 },
	/// Re-execute verified tasks locally in the providers' sandbox and check them against the
	/// chain: output id, digest and fuel, every replica's commitment and reveal, the escrow.
	/// Exit 0 only when everything matches.
	Audit(audit::AuditArgs),
}

/// What every job takes.
#[derive(Args, Clone)]
pub struct JobOptions {
	/// Price per unit of fuel, in plancks.
	#[arg(long, default_value_t = 1_000)]
	pub price: u128,
	/// Most fuel one task may use.
	#[arg(long, default_value_t = 2_000_000_000)]
	pub fuel_cap: u64,
	/// Replication as initial/max/quorum (e.g. 2/4/2: two replicas must agree, two more if
	/// they do not).
	#[arg(long, default_value = "2/4/2")]
	pub replication: String,
	/// Let highly reputed providers run tasks alone, spot-checked at random.
	#[arg(long)]
	pub adaptive: bool,
	/// Blocks from now to the job's deadline (also how long providers keep its data).
	#[arg(long, default_value_t = 400)]
	pub deadline_blocks: u32,
	/// Least memory a provider must declare, MiB.
	#[arg(long, default_value_t = 0)]
	pub min_memory_mib: u32,
	/// Least reputation a provider must have, percent.
	#[arg(long, default_value_t = 0)]
	pub min_reputation: u32,
	/// Print the plan and the escrow, sign nothing.
	#[arg(long)]
	pub dry_run: bool,
}

#[derive(Subcommand)]
pub enum SubmitCmd {
	/// Independent tasks: one per input file (a directory: each file in it, sorted by name).
	Batch {
		/// The task program (.wasm).
		#[arg(long)]
		program: PathBuf,
		/// Input files or directories of shards.
		#[arg(required = true)]
		inputs: Vec<PathBuf>,
		#[command(flatten)]
		opts: JobOptions,
	},
	/// A map stage (one task per input) and `--reducers` reduce tasks over its partitioned outputs.
	MapReduce {
		/// The map program (.wasm).
		#[arg(long)]
		map: PathBuf,
		/// The reduce program (.wasm).
		#[arg(long)]
		reduce: PathBuf,
		/// Reduce tasks.
		#[arg(long, default_value_t = 2)]
		reducers: u32,
		/// Input files or directories of shards.
		#[arg(required = true)]
		inputs: Vec<PathBuf>,
		#[command(flatten)]
		opts: JobOptions,
	},
	/// Render a scene into tiles (image size and tile size from the scene's `size` and `tile`
	/// lines unless given).
	Render {
		/// The renderer program (.wasm).
		#[arg(long)]
		program: PathBuf,
		/// The scene file.
		#[arg(long)]
		scene: PathBuf,
		#[arg(long)]
		width: Option<u32>,
		#[arg(long)]
		height: Option<u32>,
		#[arg(long)]
		tile: Option<u32>,
		#[arg(long, default_value_t = 1)]
		frames: u32,
		#[command(flatten)]
		opts: JobOptions,
	},
}

#[derive(Subcommand)]
pub enum DataCmd {
	/// Add a file to the node's content store; prints its content id.
	Put { path: PathBuf },
	/// Fetch content into the node's store from peers (and its providers), then write it to
	/// `--out`; a partial `--out` from an earlier try is resumed.
	Get {
		/// Content id (<64 hex>:<size>).
		id: String,
		#[arg(short, long)]
		out: Option<PathBuf>,
		/// Peer id of a node that holds it (repeatable).
		#[arg(long = "peer")]
		peers: Vec<String>,
	},
	/// Where content stands on the node.
	Status { id: String },
	/// Everything in the node's content store.
	Ls,
	/// Keep content on the node until unpinned.
	Pin { id: String },
	/// Let content be evicted again.
	Unpin { id: String },
}

#[derive(Subcommand)]
pub enum ProviderCmd {
	/// A provider's registration, reputation, load, endpoint and the tasks it holds.
	Show {
		/// SS58 address or 0x account id (default: the signer).
		account: Option<String>,
	},
	/// Register the signer as a provider with a bond.
	Register(account::RegisterArgs),
	/// Declare new capabilities (device, cores, memory, …) for the signer's registration. A
	/// change restarts the trusted-work count (trust earned on one machine is not another's).
	Update(account::CapabilityArgs),
	/// Leave the provider set (the bond stays held until withdrawn).
	Deregister,
	/// Take the bond back after deregistering.
	Withdraw,
}

#[derive(Subcommand)]
pub enum ValidatorCmd {
	/// Generate session keys in the keystore of your own node (--url must be it) bound to the
	/// signer, and set them on chain (`session.set_keys`).
	Keys {
		/// Only print the keys and their ownership proof; set nothing.
		#[arg(long)]
		print_only: bool,
	},
	/// Bond and become a candidate (session keys must be set first).
	Register {
		/// Bond to hold (GRAV, or plancks with `planck`); at least `validators.MinBond`.
		#[arg(long)]
		bond: String,
	},
	/// Leave the set (or withdraw a candidacy); the bond unbonds some sessions later.
	Leave,
	/// Take the bond back once it has unbonded.
	Withdraw,
	/// Where an account stands: registry, session keys, current and next set, bond, slashes.
	Status {
		/// SS58 address or 0x account id (default: the signer).
		account: Option<String>,
	},
	/// The validator set and the candidates.
	Ls,
	/// Admit a candidate (the chain's admin; sudo on a testnet).
	Admit { account: String },
}

pub async fn run(cli: Cli) -> Result<()> {
	let out = Out { json: cli.global.json };
	let g = &cli.global;
	match cli.cmd {
		Cmd::Data(cmd) => data::run(g, out, cmd).await,
		Cmd::Job(JobCmd::Audit(args)) => audit::run(g, out, args).await,
		Cmd::Job(cmd) => job::run(g, out, cmd).await,
		Cmd::Provider(cmd) => account::provider(g, out, cmd).await,
		Cmd::Validator(cmd) => validator::run(g, out, cmd).await,
		Cmd::Balance { account } => account::balance(g, out, account).await,
		Cmd::Transfer { to, amount } => account::transfer(g, out, to, amount).await,
		Cmd::Info => account::info(g, out).await,
	}
}
