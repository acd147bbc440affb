//! What a word-count map task costs in the sandbox, per byte of text: the chain caps a task's
//! fuel (`MaxFuelCap`, 15·10⁹), so this sets how large a split a requester may give one task.
//! The map program runs on 8 MiB of English text (a public-domain book, repeated) with 4
//! reducers; its output must equal the native map, and its fuel stay under a bound that an
//! accidental return to per-word allocation and a `BTreeMap` lookup per word (~440 fuel per
//! byte) would break.

use gravity_executor::{Executor, Limits};
use std::sync::Arc;

#[test]
fn a_word_count_map_costs_few_fuel_per_byte_and_equals_the_native_map() {
	let book = include_str!("../../../tests/data/alice.txt");
	let mut text = String::new();
	while text.len() < 8 << 20 {
		text.push_str(book);
	}
	let executor = Executor::new(4).expect("sandbox");
	let limits = Limits { fuel_cap: 15_000_000_000, ..Limits::default() };
	let program = gravity_task_programs::WORDCOUNT_MAP;
	let id = gravity_protocol::content::ContentId::of(program).root;
	let input = gravity_protocol::input::encode(4, text.as_bytes());
	let started = std::time::Instant::now();
	let (result, _) = executor.run(id, program, Arc::new(input.clone()), gravity_protocol::result::task_seed(0, 0), &limits);
	let took = started.elapsed();
	let output = result.outcome.unwrap_or_else(|f| panic!("map failed in the sandbox: {f}"));
	let native = gravity_task_wordcount::map_task(gravity_task_sdk::Input::new(4, text.as_bytes())).expect("native map");
	assert_eq!(output, native, "the sandbox's map output equals the native map's");
	let per_byte = result.fuel_used as f64 / text.len() as f64;
	println!("word count map: {} bytes, {} fuel, {per_byte:.1} fuel per byte, {took:?}", text.len(), result.fuel_used);
	assert!(per_byte < 120.0, "{per_byte:.1} fuel per byte");
}
