//! `gravity-node`: a validator or full node of the Gravity compute network.

mod chain_spec;
mod cli;
mod command;
mod data_cli;
mod equivocation;
mod rpc;
mod service;

fn main() {
	if let Err(e) = command::run() {
		// One clear line: what went wrong and, where we know it, what to do.
		eprintln!("Error: {}", command::explain(&e));
		std::process::exit(1);
	}
}
