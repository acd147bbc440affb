//! # gravity-provider
//!
//! The provider side of a Gravity node (`gravity-node --provider`). A node service — spawned
//! next to block import, not inside it — that:
//!
//! 1. follows new best blocks and reads, through the runtime API `MarketApi::assignments`, the
//!    task replicas the chain assigned to the local provider key (key type `grav` in the node's
//!    keystore);
//! 2. fetches each task's program and input by content id (`ContentApi`; reduce tasks get the
//!    verified map outputs), runs it in the deterministic sandbox (`gravity-executor`) on a
//!    blocking thread, at most `max_concurrent` at once, so neither block import nor the
//!    off-chain worker pool ever waits on a task;
//! 3. seals the result: picks a random salt, **persists** `(output hash, fuel, salt, output)` in
//!    the node's persistent off-chain storage *before* anything is sent, then submits
//!    `market.commit(H(output ‖ fuel ‖ provider ‖ job ‖ task ‖ salt))` as a signed transaction;
//! 4. when the reveal phase opens, reveals from the persisted record — only if the on-chain
//!    commitment is the hash of that record — and uploads the output bytes to the content store
//!    when nobody has yet, so requesters and reducers can fetch them;
//! 5. sends heartbeats so the chain keeps assigning work to it.
//!
//! **Why a node service and not host functions called from an off-chain worker**: the work is
//! long-running and must not occupy the small off-chain worker thread pool or be tied to one
//! block's OCW invocation; a service that reads a runtime API and submits signed transactions to
//! the pool keeps the runtime free of new host functions (a permanent ABI), keeps the executor
//! (wasmtime) entirely node-side, and survives across blocks naturally. Persisting the salt and
//! result in off-chain storage makes a restarted provider resume: a record is written once, so
//! the provider never commits two different results, and it reveals only what it committed.
//!
//! Transactions are ordinary signed extrinsics (standard transaction extensions, immortal era)
//! signed with the keystore key: they appear in any block explorer like a user's.

mod chain;
mod state;
mod worker;

pub use chain::KEY_TYPE;
pub use state::Record;
pub use worker::{run, ProviderParams};
