//! What a provider persists per task, in the node's persistent off-chain storage.

use codec::{Decode, Encode};
use gravity_primitives::{ContentId, JobId, TaskIndex};
use sp_core::offchain::OffchainStorage;

/// The sealed result of one task replica. Written once, before the commit is sent, and only
/// after the bytes it names (the output, or the failure bytes of a failure result) are complete
/// in the node's content store, kept there for the job's retention: whatever is committed can
/// be delivered.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct Record {
	/// Content id of the output (or failure) bytes.
	pub output: ContentId,
	pub fuel_used: u64,
	pub salt: [u8; 32],
	/// The failure reason, for logs.
	pub failure: Option<String>,
}

const PREFIX: &[u8] = sp_core::offchain::STORAGE_PREFIX;

fn key(provider: &[u8; 32], job: JobId, task: TaskIndex) -> Vec<u8> {
	(b"gravity-provider/record", provider, job, task).encode()
}

/// Records of one provider account.
#[derive(Clone)]
pub struct Records<S> {
	storage: S,
	provider: [u8; 32],
}

impl<S: OffchainStorage> Records<S> {
	pub fn new(storage: S, provider: [u8; 32]) -> Self {
		Self { storage, provider }
	}

	/// The underlying storage (for tests that simulate a restart).
	#[cfg(test)]
	pub fn into_storage(self) -> S {
		self.storage
	}

	pub fn get(&self, job: JobId, task: TaskIndex) -> Option<Record> {
		self.storage
			.get(PREFIX, &key(&self.provider, job, task))
			.and_then(|v| Record::decode(&mut &v[..]).ok())
	}

	/// Store `rec` unless a record exists already (then the existing one wins and is returned):
	/// a task is never sealed twice with different results.
	pub fn put_once(&mut self, job: JobId, task: TaskIndex, rec: &Record) -> Record {
		let k = key(&self.provider, job, task);
		if self.storage.compare_and_set(PREFIX, &k, None, &rec.encode()) {
			rec.clone()
		} else {
			self.get(job, task).unwrap_or_else(|| rec.clone())
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::offchain::storage::InMemOffchainStorage;

	fn rec(b: u8) -> Record {
		Record { output: ContentId::of(&[b]), fuel_used: b as u64, salt: [b; 32], failure: None }
	}

	#[test]
	fn a_task_is_sealed_once_and_survives_a_restart() {
		let mut records = Records::new(InMemOffchainStorage::default(), [1; 32]);
		assert_eq!(records.get(7, 3), None);
		assert_eq!(records.put_once(7, 3, &rec(1)), rec(1));
		// A second run of the same task (say, after a crash before the commit was sent) cannot
		// replace the sealed result: the first one is returned and kept.
		assert_eq!(records.put_once(7, 3, &rec(2)), rec(1));
		// "Restart": a new handle over the same storage sees the record.
		let reopened = Records::new(records.into_storage(), [1; 32]);
		assert_eq!(reopened.get(7, 3), Some(rec(1)));
		// Records are per provider key and per task.
		assert_eq!(reopened.get(7, 4), None);
		assert_eq!(Records::new(InMemOffchainStorage::default(), [2; 32]).get(7, 3), None);
	}
}
