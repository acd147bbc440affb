//! # gravity-provider
//!
//! The provider side of a Gravity node (`gravity-node --provider`). A node service — spawned
//! next to block import, not inside it — that:
//!
//! 1. follows new best blocks and reads, through the runtime API `MarketApi::assignments`, the
//!    task replicas the chain assigned to the local provider key (key type `grav` in the node's
//!    keystore);
//! 2. reads each task's program from the chain (`ContentApi`) and fetches its input over the
//!    data plane (`gravity-data-swarm`) into the node's content store, by content id, from the
//!    job's `source` node and the task's other providers (their endpoints are on chain:
//!    `providers.set_endpoint`, which this service sends at start); a reducer fetches only its
//!    partition of each map output (`gravity_protocol::partition`), as verified byte ranges,
//!    from the providers that computed it. The task reads its input in place from the store
//!    (`TaskInput::with_file`), in the deterministic sandbox (`gravity-executor`) on a
//!    blocking thread, at most `max_concurrent` at once, so neither block import nor the
//!    off-chain worker pool ever waits on a task;
//! 3. seals the result: puts the output (or failure) bytes into the content store, kept for the
//!    job's retention, then picks a random salt, **persists** `(output id, fuel, salt)` in the
//!    node's persistent off-chain storage *before* anything is sent, then submits
//!    `market.commit(commitment(digest, fuel, provider, job, task, salt))` with the digest bound
//!    to its replica's round (`gravity-protocol`) as a signed transaction;
//! 4. when the reveal phase opens, reveals `(digest, fuel, salt)` from the persisted record —
//!    only if the on-chain commitment is the hash of that record; outputs are not published;
//! 5. when its round agreed with it (`Delivering`), delivers: in its slot (agreeing replicas two
//!    blocks apart, every slot opening at least two blocks before the delivery deadline:
//!    `decide::delivery_slot_opens`; the first delivery settles the task for all) it names the output's content id with `market.deliver` (free); the bytes stay
//!    in its content store, served to the requester (and to reducers) until the job's retention
//!    ends. Nothing of the output goes on chain, so every output the executor accepts (64 MiB)
//!    can be delivered, and one copy moves per fetch;
//! 6. declines (free) a replica whose data it cannot fetch by half its commit window, one it
//!    cannot start by then because it runs as many tasks as it may, one whose run is aborted
//!    (past its CPU time, which its fuel cap sets, or still running `decide::RUN_ENDS_BEFORE`
//!    blocks before its commit deadline: the executor's `Limits::deadline`), and, whatever the
//!    node is doing (a fetch, a compile worker, a run), any replica without a result
//!    `decide::GIVE_UP_BEFORE` blocks before its commit deadline: a decline is free, a no-show
//!    is slashed;
//! 7. sends heartbeats (free when due) so the chain keeps assigning work to it.
//!
//! The service is an event loop (`worker::EventLoop`, the shape of rust-libp2p's
//! `file-sharing` example) with a handler per concern; a replica's input is planned and fetched
//! by `inputs`, and its run (fetch, sandbox, output kept, record sealed, with one error type:
//! retried or given up) is `run::Run`; what to do for each replica is the pure
//! function [`decide::decide`] of its on-chain phase and commitment and the local record, tested
//! on its own (including after a restart, when only the record on disk is left).
//!
//! Its nonces run ahead of the chain; if a transaction is dropped from the pool the chain's
//! nonce stands still and every later transaction waits: after 2 blocks of that the next
//! transaction takes the missing nonce (`chain::NonceTracker`). A pool answer of "already
//! imported" means the transaction is there, not a refusal: the count goes on
//! (`chain::classify_refusal`).
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
pub mod decide;
mod inputs;
mod node;
pub mod reduce_input;
mod run;
mod state;
mod worker;

pub use chain::KEY_TYPE;
pub use state::Record;
pub use node::{start, NodeOptions};
pub use worker::{run, ProviderParams};
