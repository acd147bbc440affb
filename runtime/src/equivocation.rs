//! Equivocation reports that prove themselves before they reach a block.
//!
//! `pallet_babe` and `pallet_grandpa` check an unsigned report's key-ownership proof when it
//! enters the pool, and its equivocation proof (two signed headers, or two signed votes) only
//! when it is dispatched. A report whose equivocation proof does not verify (forged, or built
//! by a client from headers whose seals were already stripped: sc-consensus-babe 0.60 reports
//! from its import queue, after the verifier moved the seal to `post_digests`) is then included
//! and fails at dispatch, taking block space for nothing. These wrappers check the equivocation
//! proof first, at `validate_unsigned`, so such a report is refused by the pool and never
//! included; everything else is the pallets' own report system.

use crate::{configs::ReportLongevity, Header, Historical, Offences, Runtime};
use sp_consensus_babe::EquivocationProof as BabeEquivocationProof;
use sp_consensus_grandpa::EquivocationProof as GrandpaEquivocationProof;
use sp_runtime::{
	transaction_validity::{InvalidTransaction, TransactionValidityError},
	DispatchError,
};
use sp_session::MembershipProof;
use sp_staking::offence::OffenceReportSystem;

type BabeInner = pallet_babe::EquivocationReportSystem<Runtime, Offences, Historical, ReportLongevity>;
type GrandpaInner = pallet_grandpa::EquivocationReportSystem<Runtime, Offences, Historical, ReportLongevity>;

/// BABE's report system, with the two headers' seals verified at `validate_unsigned`.
pub struct BabeReports;

impl OffenceReportSystem<Option<crate::AccountId>, (BabeEquivocationProof<Header>, MembershipProof)>
	for BabeReports
{
	type Longevity = ReportLongevity;

	fn publish_evidence(evidence: (BabeEquivocationProof<Header>, MembershipProof)) -> Result<(), ()> {
		BabeInner::publish_evidence(evidence)
	}

	fn check_evidence(
		evidence: (BabeEquivocationProof<Header>, MembershipProof),
	) -> Result<(), TransactionValidityError> {
		if !sp_consensus_babe::check_equivocation_proof(evidence.0.clone()) {
			return Err(InvalidTransaction::BadProof.into());
		}
		BabeInner::check_evidence(evidence)
	}

	fn process_evidence(
		reporter: Option<crate::AccountId>,
		evidence: (BabeEquivocationProof<Header>, MembershipProof),
	) -> Result<(), DispatchError> {
		BabeInner::process_evidence(reporter, evidence)
	}
}

/// GRANDPA's report system, with the two votes' signatures verified at `validate_unsigned`.
pub struct GrandpaReports;

type GrandpaProof = GrandpaEquivocationProof<crate::Hash, crate::BlockNumber>;

impl OffenceReportSystem<Option<crate::AccountId>, (GrandpaProof, MembershipProof)> for GrandpaReports {
	type Longevity = ReportLongevity;

	fn publish_evidence(evidence: (GrandpaProof, MembershipProof)) -> Result<(), ()> {
		GrandpaInner::publish_evidence(evidence)
	}

	fn check_evidence(evidence: (GrandpaProof, MembershipProof)) -> Result<(), TransactionValidityError> {
		if !sp_consensus_grandpa::check_equivocation_proof(evidence.0.clone()) {
			return Err(InvalidTransaction::BadProof.into());
		}
		GrandpaInner::check_evidence(evidence)
	}

	fn process_evidence(
		reporter: Option<crate::AccountId>,
		evidence: (GrandpaProof, MembershipProof),
	) -> Result<(), DispatchError> {
		GrandpaInner::process_evidence(reporter, evidence)
	}
}
