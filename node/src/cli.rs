//! Command-line interface of `gravity-node`.

#[derive(Debug, clap::Parser)]
#[command(
	propagate_version = true,
	args_conflicts_with_subcommands = true,
	subcommand_negates_reqs = true
)]
pub struct Cli {
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	#[clap(flatten)]
	pub provider: ProviderArgs,

	#[clap(flatten)]
	pub data: DataArgs,
}

/// The node's content store and data transfer.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
	/// Size of the content store (GiB): everything counts against it (complete content, and
	/// downloads at their full size). Content that is neither pinned nor kept for a job is
	/// evicted, least recently used first, to make room; what still does not fit is refused
	/// before anything is written.
	#[arg(long, default_value_t = 64.0, value_name = "GIB")]
	pub data_budget_gib: f64,

	/// Disk space (GiB) the content store always leaves free on its file system, so that the
	/// chain database never runs out: content that would leave less is refused (a provider
	/// then declines the task at no cost).
	#[arg(long, default_value_t = 2.0, value_name = "GIB")]
	pub data_disk_reserve_gib: f64,

	/// Most bytes per second (MiB/s) this node sends to peers in all; unlimited if not given.
	#[arg(long, value_name = "MIB_PER_S")]
	pub data_serve_rate: Option<f64>,

	/// Seconds a peer gets to answer one data request before it is asked elsewhere.
	#[arg(long, default_value_t = 20, value_name = "SECONDS")]
	pub data_request_timeout: u64,

	/// Seconds a download waits for a peer that has what it still lacks before it fails (what
	/// it verified is kept; asking again resumes).
	#[arg(long, default_value_t = 60, value_name = "SECONDS")]
	pub data_give_up_after: u64,

	/// Turn on the data RPC (`gravity_put`, `gravity_import`, `gravity_get`, `gravity_read`,
	/// `gravity_export`, `gravity_status`, …; what `gravity-node data` uses) on this port of the
	/// loopback interface. Off unless given. It refuses requests from web pages and takes no
	/// paths: files move through the data exchange directory (`--data-io-dir`).
	#[arg(long, value_name = "PORT")]
	pub data_rpc_port: Option<u16>,

	/// The data exchange directory: `gravity_import` adds files from it, `gravity_export`
	/// writes files to it. Default: `<base-path>/data-io`.
	#[arg(long, value_name = "DIR")]
	pub data_io_dir: Option<std::path::PathBuf>,
}

/// Provider mode: run assigned compute tasks and report their results.
#[derive(Debug, Clone, clap::Args)]
pub struct ProviderArgs {
	/// Run the provider service: execute the tasks the chain assigns to this node's provider key
	/// (key type `grav`, sr25519, in the keystore) and commit/reveal their results.
	#[arg(long)]
	pub provider: bool,

	/// Development only: put the key of this secret URI (e.g. `//Charlie`) into the keystore as
	/// the provider key. Implies `--provider`. For real keys use `gravity-node key insert
	/// --key-type grav --scheme sr25519`.
	#[arg(long, value_name = "SURI")]
	pub provider_dev_key: Option<String>,

	/// Most tasks executed at the same time.
	#[arg(long, default_value_t = 2)]
	pub provider_max_tasks: usize,
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management CLI utilities (`key insert`, `key generate`, `key inspect`, …).
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Export the chain specification (`--chain dev|local|<file>`), optionally `--raw`.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Db meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Check a task program (Wasm) before uploading it: valid WebAssembly 2.0, the task ABI's
	/// imports only, and within the structural limits every provider enforces. Prints what is
	/// wrong, or the module's compile price in fuel.
	CheckProgram {
		/// The `.wasm` file.
		path: std::path::PathBuf,
	},

	/// Internal: compile one task module for the provider service (reads it on stdin, writes the
	/// compiled artifact on stdout). The provider runs it as a separate process with a memory and
	/// a time limit.
	#[command(hide = true)]
	CompileWorker,

	/// The node's content store: add files, fetch content from peers, list, pin (talks to a
	/// running node over its RPC), or hash a file offline.
	#[command(subcommand)]
	Data(crate::data_cli::DataCmd),

	/// Runtime benchmarks (`benchmark pallet`); built with `--features runtime-benchmarks`.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(Box<frame_benchmarking_cli::BenchmarkCmd>),
}
