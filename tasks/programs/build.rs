//! Compile the example tasks to `wasm32v1-none` with a nested cargo (own target directory, so
//! the outer build's lock is not contended) and embed the `.wasm` files.
use std::{env, path::PathBuf, process::Command};

const PROGRAMS: &[(&str, &str, &str, &str)] = &[
	// (package, features, file stem in target, exported name)
	("gravity-task-render", "", "gravity_task_render", "render"),
	("gravity-task-wordcount", "map", "gravity_task_wordcount", "wordcount_map"),
	("gravity-task-wordcount", "reduce", "gravity_task_wordcount", "wordcount_reduce"),
	("gravity-task-cpubench", "", "gravity_task_cpubench", "cpubench"),
];

fn main() {
	let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
	let root = manifest.join("../..").canonicalize().unwrap();
	let out = PathBuf::from(env::var("OUT_DIR").unwrap());
	for dir in ["tasks/sdk", "tasks/render", "tasks/wordcount", "tasks/cpubench"] {
		println!("cargo:rerun-if-changed={}", root.join(dir).display());
	}
	println!("cargo:rerun-if-env-changed=WASM_BUILD_TOOLCHAIN");
	let target = out.join("wasm-target");
	let mut consts = String::new();
	for (pkg, features, stem, name) in PROGRAMS {
		let mut cmd = match env::var("WASM_BUILD_TOOLCHAIN") {
			Ok(tc) if !tc.is_empty() => {
				let mut c = Command::new("rustup");
				c.args(["run", &tc, "cargo"]);
				c
			},
			_ => Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
		};
		cmd.args(["build", "--release", "--target", "wasm32v1-none", "-p", pkg])
			.arg("--manifest-path")
			.arg(root.join("Cargo.toml"))
			.arg("--target-dir")
			.arg(&target);
		if !features.is_empty() {
			cmd.args(["--features", features]);
		}
		for v in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", "RUSTC", "RUSTDOC", "CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"] {
			cmd.env_remove(v);
		}
		// SIMD128 is deterministic in the sandbox (no relaxed SIMD; NaNs canonicalized): LLVM
		// vectorizes with it as it does natively with SSE2, and `gravity_task_sdk::math` uses its
		// exactly rounded `f64x2.sqrt`/`floor` instead of software loops.
		cmd.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128")
			.env("CARGO_PROFILE_RELEASE_PANIC", "abort")
			.env("CARGO_PROFILE_RELEASE_LTO", "true")
			.env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
			.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3");
		let status = cmd.status().expect("failed to run cargo for the Wasm task programs");
		if !status.success() {
			panic!(
				"building task {pkg} for wasm32v1-none failed: is the Wasm toolchain installed? \
				 Run scripts/setup.sh"
			);
		}
		let built = target.join("wasm32v1-none/release").join(format!("{stem}.wasm"));
		let dest = out.join(format!("{name}.wasm"));
		std::fs::copy(&built, &dest).expect("built task .wasm not found");
		consts.push_str(&format!(
			"/// The `{name}` task program (Wasm).\npub const {}: &[u8] = include_bytes!({:?});\n",
			name.to_uppercase(),
			dest.display().to_string()
		));
	}
	std::fs::write(out.join("programs.rs"), consts).unwrap();
}
