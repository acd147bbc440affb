//! One error type: a sentence for a person (what was wrong, what to do).

use std::fmt;

#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		// One line, whatever the cause carried.
		f.write_str(&self.0.replace('\n', " "))
	}
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `Err(Error(format!(…)))`.
#[macro_export]
macro_rules! fail {
	($($arg:tt)*) => { return Err($crate::error::Error(format!($($arg)*))) };
}

/// Attach what was being done to a lower-level error.
pub trait Context<T> {
	fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
	fn context(self, what: impl FnOnce() -> String) -> Result<T> {
		self.map_err(|e| Error(format!("{}: {e}", what())))
	}
}
