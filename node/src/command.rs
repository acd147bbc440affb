//! Dispatch of the `gravity-node` command line.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Gravity Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://github.com/gravity-compute/gravity/issues/new".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			"testnet-template" => Box::new(chain_spec::testnet_template_chain_spec()?),
			path => {
				let p = std::path::PathBuf::from(path);
				if !p.exists() {
					return Err(format!(
						"unknown chain '{path}': use one of {} or the path of a chain-spec JSON \
						 file (make one with `gravity-node export-chain-spec --chain local`)",
						chain_spec::KNOWN_CHAINS
					));
				}
				Box::new(chain_spec::ChainSpec::from_json_file(p).map_err(|e| {
					format!("chain spec '{path}' is not a valid chain-spec JSON file: {e}")
				})?)
			},
		})
	}
}

/// Turn an error into one line a person can act on.
pub fn explain(e: &sc_cli::Error) -> String {
	let msg = e.to_string();
	let lower = msg.to_lowercase();
	if lower.contains("address already in use") || lower.contains("addrinuse") {
		return format!(
			"{msg} — a port this node wants is taken (another gravity-node still running?): \
			 stop it or choose other ports with --port, --rpc-port and --prometheus-port"
		);
	}
	msg
}

/// Refuse to start when a port the node was asked to listen on is taken (instead of silently
/// moving RPC to a random port or running without the p2p listener).
fn check_ports(config: &sc_service::Configuration) -> sc_cli::Result<()> {
	use std::net::{SocketAddr, TcpListener};
	let mut wanted: Vec<(SocketAddr, &str)> = Vec::new();
	for ep in config.rpc.addr.iter().flatten() {
		wanted.push((ep.listen_addr, "--rpc-port"));
	}
	if let Some(p) = &config.prometheus_config {
		wanted.push((p.port, "--prometheus-port"));
	}
	for ma in &config.network.listen_addresses {
		// `/ip4/0.0.0.0/tcp/30333` or `/ip6/::/tcp/30333[/ws]`
		let parts: Vec<String> = ma.to_string().split('/').map(str::to_string).collect();
		if parts.len() >= 5 && (parts[1] == "ip4" || parts[1] == "ip6") && parts[3] == "tcp" {
			let ip = parts[2].clone();
			let addr = if parts[1] == "ip6" { format!("[{ip}]:{}", parts[4]) } else { format!("{ip}:{}", parts[4]) };
			if let Ok(a) = addr.parse() {
				wanted.push((a, "--port"));
			}
		}
	}
	for (addr, flag) in wanted {
		if addr.port() == 0 {
			continue
		}
		if let Err(e) = TcpListener::bind(addr) {
			if e.kind() == std::io::ErrorKind::AddrInUse {
				return Err(sc_cli::Error::Input(format!(
					"port {} ({flag}) on {} is already in use — is another gravity-node running? Stop it, or pass another {flag}",
					addr.port(),
					addr.ip()
				)))
			}
		}
	}
	Ok(())
}

/// Parse and run command line arguments.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::Data(cmd)) => cmd.run().map_err(sc_cli::Error::Input),
		Some(Subcommand::CompileWorker) => std::process::exit(gravity_executor::compile::worker_main()),
		Some(Subcommand::CheckProgram { path }) => {
			let wasm = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
			match gravity_executor::check_program(&wasm) {
				Ok(fuel) => {
					println!("{}: ok; every run of it is charged {fuel} fuel for compiling it", path.display());
					Ok(())
				},
				Err(failure) => Err(format!("{}: {failure}; every replica would report this failure", path.display()).into()),
			}
		},
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		},
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		},
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		},
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		},
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		},
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			let runner = cli.create_runner(cmd.as_ref())?;
			runner.sync_run(|config| match cmd.as_ref() {
				frame_benchmarking_cli::BenchmarkCmd::Pallet(cmd) => cmd
					.run_with_spec::<sp_runtime::traits::HashingFor<gravity_runtime::opaque::Block>, service::HostFunctions>(
						Some(config.chain_spec),
					),
				_ => Err("only `benchmark pallet` is supported".into()),
			})
		},
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<gravity_runtime::opaque::Block>(&config))
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			check_ports(runner.config())?;
			let provider = cli.provider.clone();
			let data = cli.data.clone();
			runner.run_node_until_exit(|config| async move {
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => service::new_full::<
						sc_network::NetworkWorker<
							gravity_runtime::opaque::Block,
							<gravity_runtime::opaque::Block as sp_runtime::traits::Block>::Hash,
						>,
					>(config, provider, data)
					.map_err(sc_cli::Error::Service),
					sc_network::config::NetworkBackendType::Litep2p =>
						service::new_full::<sc_network::Litep2pNetworkBackend>(config, provider, data)
							.map_err(sc_cli::Error::Service),
				}
			})
		},
	}
}
