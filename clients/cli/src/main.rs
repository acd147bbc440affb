//! `gravity`: a Gravity chain from a terminal. See the crate README (`clients/cli/README.md`).
//!
//! Layout: `cli` (the command line, clap), `chain` (the node connection, typed from
//! `metadata/gravity.scale`, keys, transactions), `data` (the node's data RPC), `job` (submit,
//! describe, executions, history, watch, get, ls, cancel), `audit` (re-execution), `render`
//! (tiles to PNG), `account` (balance, transfer, provider), `validator` (keys, register, leave, status), `out` (human and `--json` output),
//! `units` (GRAV amounts), `error` (one-line errors).

mod account;
mod audit;
mod chain;
mod cli;
mod data;
mod error;
mod job;
mod out;
mod render;
mod units;
mod validator;

use clap::Parser;

fn main() {
	let cli = cli::Cli::parse();
	let json = cli.global.json;
	let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
		Ok(r) => r,
		Err(e) => {
			eprintln!("gravity: cannot start the async runtime: {e}");
			std::process::exit(1)
		},
	};
	let result = runtime.block_on(cli::run(cli));
	// Do not wait for the connection's background tasks.
	runtime.shutdown_background();
	if let Err(e) = result {
		if json {
			println!("{}", serde_json::json!({ "error": e.to_string() }));
		}
		eprintln!("gravity: {e}");
		std::process::exit(1)
	}
}
