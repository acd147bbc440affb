//! GRAV amounts: 12 decimals (`gravity_runtime::TOKEN_DECIMALS`), shown and parsed in GRAV.

use crate::error::{Error, Result};

/// Plancks per GRAV.
pub const PLANCKS: u128 = 1_000_000_000_000;

/// `1234500000000` → `"1.2345 GRAV"`.
pub fn grav(plancks: u128) -> String {
	let whole = plancks / PLANCKS;
	let frac = plancks % PLANCKS;
	if frac == 0 {
		return format!("{whole} GRAV")
	}
	let frac = format!("{frac:012}");
	format!("{whole}.{} GRAV", frac.trim_end_matches('0'))
}

/// `"1.5"`, `"1.5GRAV"`, `"0.001 grav"` → plancks; `"250planck"` → 250.
pub fn parse_amount(text: &str) -> Result<u128> {
	let t = text.trim().to_ascii_lowercase();
	let bad = || {
		Error(format!(
			"'{text}' is not an amount: give GRAV with up to 12 decimals (e.g. 1.5 or 1.5GRAV) or plancks (e.g. 250planck)"
		))
	};
	if let Some(p) = t.strip_suffix("planck").or_else(|| t.strip_suffix("plancks")) {
		return p.trim().parse::<u128>().map_err(|_| bad())
	}
	let t = t.strip_suffix("grav").unwrap_or(&t).trim();
	let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
	if whole.is_empty() && frac.is_empty() || frac.len() > 12 || !frac.bytes().all(|b| b.is_ascii_digit()) {
		return Err(bad())
	}
	let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
	let frac: u128 = if frac.is_empty() { 0 } else { format!("{frac:0<12}").parse().map_err(|_| bad())? };
	whole.checked_mul(PLANCKS).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_round_trip_and_garbage_is_refused() {
		assert_eq!(parse_amount("1.5").unwrap(), 1_500_000_000_000);
		assert_eq!(parse_amount("1.5GRAV").unwrap(), 1_500_000_000_000);
		assert_eq!(parse_amount("0.000000000001").unwrap(), 1);
		assert_eq!(parse_amount("250planck").unwrap(), 250);
		assert_eq!(parse_amount("3").unwrap(), 3 * PLANCKS);
		assert_eq!(grav(1_500_000_000_000), "1.5 GRAV");
		assert_eq!(grav(7 * PLANCKS), "7 GRAV");
		assert_eq!(grav(1), "0.000000000001 GRAV");
		for bad in ["", ".", "1.2.3", "abc", "1.0000000000001", "-1", "1e3"] {
			assert!(parse_amount(bad).is_err(), "{bad}");
		}
	}
}
