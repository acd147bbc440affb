//! Output: human text by default, one JSON object a line with `--json`. Steps of long work
//! (a transaction's progress, a job's blocks) are lines of their own; human steps go to stderr so
//! that stdout holds only the result (a job id, a path), which scripts can capture.

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

#[derive(Clone, Copy)]
pub struct Out {
	pub json: bool,
}

impl Out {
	/// A step: a JSON line on stdout, or a human line on stderr.
	pub fn event(&self, json: Value, human: impl FnOnce() -> String) {
		if self.json {
			println!("{json}");
		} else {
			eprintln!("{}", human());
		}
	}

	/// The result of a command: JSON or human text, on stdout.
	pub fn result(&self, json: Value, human: impl FnOnce() -> String) {
		if self.json {
			println!("{json}");
		} else {
			println!("{}", human());
		}
	}

	/// A progress bar over `len` bytes (hidden with `--json`, or when stderr is not a terminal).
	pub fn bytes_bar(&self, len: u64, what: &str) -> ProgressBar {
		if self.json {
			return ProgressBar::hidden()
		}
		let bar = ProgressBar::new(len);
		if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
			bar.set_style(style.progress_chars("=> "));
		}
		bar.set_message(what.to_string());
		bar
	}

	/// A progress bar over `len` items.
	pub fn count_bar(&self, len: u64, what: &str) -> ProgressBar {
		if self.json {
			return ProgressBar::hidden()
		}
		let bar = ProgressBar::new(len);
		if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
			bar.set_style(style.progress_chars("=> "));
		}
		bar.set_message(what.to_string());
		bar
	}
}
