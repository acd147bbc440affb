//! BABE equivocations found on sealed headers, and reported with a proof that verifies.
//!
//! sc-consensus-babe 0.60 checks for equivocations in its block import, after its verifier has
//! moved the block's seal from the header to `post_digests`: the two headers of its proof carry
//! no seal, nothing in them shows the offender signed them, and the runtime refuses the report
//! (`InvalidEquivocationProof` at dispatch; in Gravity's runtime already at the pool, see
//! `gravity_runtime::equivocation`). A validator could then double-sign blocks for free.
//!
//! [`SealedEquivocations`] sits in front of BABE's block import (the import queue and the
//! local author both import through it). For each block it puts the seal back on a copy of the
//! header, looks up the slot's author in the epoch the block belongs to, and runs the slots
//! crate's equivocation index over those sealed headers (kept under a key prefix of its own, so
//! it never mixes with BABE's unsealed index). A second header from one author for one slot
//! yields a proof the runtime can verify: it is submitted as BABE's unsigned report, with a
//! key-ownership proof from the session history, exactly as BABE would.

use crate::service::FullClient;
use gravity_runtime::opaque::Block;
use sc_client_api::AuxStore;
use sc_consensus::{BlockCheckParams, BlockImport, BlockImportParams, ImportResult};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_api::{ApiExt, ProvideRuntimeApi};
use sp_consensus::{BlockOrigin, Error as ConsensusError, SelectChain};
use sp_consensus_babe::{digests::CompatibleDigestItem, AuthorityId, BabeApi, Slot, SlotDuration};
use sp_runtime::traits::Header as _;
use std::sync::Arc;

const LOG: &str = "gravity-equivocation";

/// The aux-store key prefix of the sealed-header index.
const PREFIX: &[u8] = b"gravity:sealed-babe-headers:";

/// An aux store seen through a key prefix.
struct Prefixed<'a, C>(&'a C);

impl<C: AuxStore> AuxStore for Prefixed<'_, C> {
	fn insert_aux<
		'a,
		'b: 'a,
		'c: 'a,
		I: IntoIterator<Item = &'a (&'c [u8], &'c [u8])>,
		D: IntoIterator<Item = &'a &'b [u8]>,
	>(
		&self,
		insert: I,
		delete: D,
	) -> sp_blockchain::Result<()> {
		let insert: Vec<(Vec<u8>, Vec<u8>)> =
			insert.into_iter().map(|(k, v)| ([PREFIX, k].concat(), v.to_vec())).collect();
		let delete: Vec<Vec<u8>> = delete.into_iter().map(|k| [PREFIX, k].concat()).collect();
		let insert: Vec<(&[u8], &[u8])> = insert.iter().map(|(k, v)| (&k[..], &v[..])).collect();
		let delete: Vec<&[u8]> = delete.iter().map(|k| &k[..]).collect();
		self.0.insert_aux(insert.iter(), delete.iter())
	}

	fn get_aux(&self, key: &[u8]) -> sp_blockchain::Result<Option<Vec<u8>>> {
		self.0.get_aux(&[PREFIX, key].concat())
	}
}

/// A block import that reports BABE equivocations with sealed headers, then hands the block to
/// `inner` unchanged.
#[derive(Clone)]
pub struct SealedEquivocations<I> {
	inner: I,
	client: Arc<FullClient>,
	select_chain: crate::service::FullSelectChain,
	pool: OffchainTransactionPoolFactory<Block>,
	slot_duration: SlotDuration,
}

impl<I> SealedEquivocations<I> {
	pub fn new(
		inner: I,
		client: Arc<FullClient>,
		select_chain: crate::service::FullSelectChain,
		pool: OffchainTransactionPoolFactory<Block>,
		slot_duration: SlotDuration,
	) -> Self {
		Self { inner, client, select_chain, pool, slot_duration }
	}

	/// The header as its author sealed it: BABE's pre-header with the seal put back. `None` for a
	/// block of the initial sync (old news; BABE skips them too) or one BABE did not verify.
	fn sealed_header(block: &BlockImportParams<Block>) -> Option<<Block as sp_runtime::traits::Block>::Header> {
		if block.origin == BlockOrigin::NetworkInitialSync {
			return None;
		}
		let seal = block.post_digests.iter().find(|d| d.as_babe_seal().is_some())?;
		let mut header = block.header.clone();
		header.digest_mut().push(seal.clone());
		Some(header)
	}

	/// Index a sealed header; report its author if it sealed another for the slot.
	async fn check(&self, header: <Block as sp_runtime::traits::Block>::Header) -> Result<(), String> {
		let Some(pre) = header.digest().logs().iter().find_map(|l| l.as_babe_pre_digest()) else {
			return Ok(());
		};
		let slot = pre.slot();
		let parent = *header.parent_hash();

		// The author: the authority at the claimed index in the epoch of the block's slot (the
		// parent's epoch, or the next one when the block opens it).
		let api = self.client.runtime_api();
		let mut epoch = api.current_epoch(parent).map_err(|e| e.to_string())?;
		if slot >= epoch.start_slot.saturating_add(epoch.duration) {
			epoch = api.next_epoch(parent).map_err(|e| e.to_string())?;
		}
		let Some((author, _)) = epoch.authorities.get(pre.authority_index() as usize).cloned() else {
			return Ok(());
		};

		let now = Slot::from_timestamp(sp_timestamp::Timestamp::current(), self.slot_duration);
		let Some(proof) =
			sc_consensus_slots::check_equivocation(&Prefixed(&*self.client), now, slot, &header, &author)
				.map_err(|e| e.to_string())?
		else {
			return Ok(());
		};
		log::info!(
			target: LOG,
			"BABE author {author:?} sealed two blocks for slot {slot}: {:?} and {:?}; reporting",
			proof.first_header.hash(),
			proof.second_header.hash(),
		);
		self.report(parent, slot, author, proof).await
	}

	async fn report(
		&self,
		parent: <Block as sp_runtime::traits::Block>::Hash,
		slot: Slot,
		author: AuthorityId,
		proof: sp_consensus_babe::EquivocationProof<<Block as sp_runtime::traits::Block>::Header>,
	) -> Result<(), String> {
		let best = self.select_chain.best_chain().await.map_err(|e| e.to_string())?.hash();
		// The key-ownership proof is made where the offender's session is live: at the parent
		// (the block's own session), else at the best block.
		let api = self.client.runtime_api();
		let owner = match api.generate_key_ownership_proof(parent, slot, author.clone()).map_err(|e| e.to_string())? {
			Some(p) => Some(p),
			None => api.generate_key_ownership_proof(best, slot, author.clone()).map_err(|e| e.to_string())?,
		};
		let Some(owner) = owner else {
			log::debug!(target: LOG, "{author:?} is not in a session this node can prove; not reported");
			return Ok(());
		};
		let mut api = self.client.runtime_api();
		api.register_extension(self.pool.offchain_transaction_pool(best));
		match api.submit_report_equivocation_unsigned_extrinsic(best, proof, owner).map_err(|e| e.to_string())? {
			Some(()) => log::info!(target: LOG, "submitted the BABE equivocation report for {author:?}"),
			None => log::warn!(target: LOG, "the runtime refused to build the BABE equivocation report for {author:?}"),
		}
		Ok(())
	}
}

#[async_trait::async_trait]
impl<I> BlockImport<Block> for SealedEquivocations<I>
where
	I: BlockImport<Block, Error = ConsensusError> + Send + Sync,
{
	type Error = ConsensusError;

	async fn check_block(&self, block: BlockCheckParams<Block>) -> Result<ImportResult, Self::Error> {
		self.inner.check_block(block).await
	}

	async fn import_block(&self, block: BlockImportParams<Block>) -> Result<ImportResult, Self::Error> {
		// A failure to check or report never stops the import (as in BABE).
		if let Some(header) = Self::sealed_header(&block) {
			if let Err(e) = self.check(header).await {
				log::warn!(target: LOG, "checking a block for a BABE equivocation: {e}");
			}
		}
		self.inner.import_block(block).await
	}
}
