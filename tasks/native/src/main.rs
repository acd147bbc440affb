//! `gravity-tasks`: the example tasks run natively, as references for what the network computes.
//!
//! ```text
//! gravity-tasks export-programs <dir>       write render.wasm, wordcount_map.wasm, wordcount_reduce.wasm, cpubench.wasm
//! gravity-tasks render <scene> <out.rgb> [out.png]   render natively (raw RGB8, optional PNG)
//! gravity-tasks png <width> <height> <in.rgb> <out.png>
//! gravity-tasks wordcount <text>             print `word\tcount` lines, sorted
//! ```

use std::{fs, process::exit};

fn fail(msg: &str) -> ! {
	eprintln!("gravity-tasks: {msg}");
	exit(2)
}

fn main() {
	let args: Vec<String> = std::env::args().skip(1).collect();
	let arg = |i: usize, what: &str| args.get(i).cloned().unwrap_or_else(|| fail(&format!("missing {what}; see --help")));
	match args.first().map(String::as_str) {
		Some("export-programs") => {
			let dir = arg(1, "<dir>");
			fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("{dir}: {e}")));
			for (name, bytes) in [
				("render", gravity_task_programs::RENDER),
				("wordcount_map", gravity_task_programs::WORDCOUNT_MAP),
				("wordcount_reduce", gravity_task_programs::WORDCOUNT_REDUCE),
				("cpubench", gravity_task_programs::CPUBENCH),
			] {
				fs::write(format!("{dir}/{name}.wasm"), bytes).unwrap_or_else(|e| fail(&e.to_string()));
			}
		},
		Some("render") => {
			let text = fs::read_to_string(arg(1, "<scene>")).unwrap_or_else(|e| fail(&e.to_string()));
			let scene = gravity_task_render::Scene::parse(&text).unwrap_or_else(|e| fail(&format!("bad scene: {e:?}")));
			let img = gravity_task_render::render_all(&scene);
			fs::write(arg(2, "<out.rgb>"), &img).unwrap_or_else(|e| fail(&e.to_string()));
			if let Some(png) = args.get(3) {
				fs::write(png, gravity_task_render::png(scene.width, scene.height, &img)).unwrap_or_else(|e| fail(&e.to_string()));
			}
		},
		Some("png") => {
			let w: u32 = arg(1, "<width>").parse().unwrap_or_else(|_| fail("width must be a number"));
			let h: u32 = arg(2, "<height>").parse().unwrap_or_else(|_| fail("height must be a number"));
			let rgb = fs::read(arg(3, "<in.rgb>")).unwrap_or_else(|e| fail(&e.to_string()));
			if rgb.len() != (w * h * 3) as usize {
				fail("the RGB file does not have width × height × 3 bytes");
			}
			fs::write(arg(4, "<out.png>"), gravity_task_render::png(w, h, &rgb)).unwrap_or_else(|e| fail(&e.to_string()));
		},
		Some("wordcount") => {
			let text = fs::read_to_string(arg(1, "<text>")).unwrap_or_else(|e| fail(&e.to_string()));
			let out = gravity_task_wordcount::format(&gravity_task_wordcount::count(&text));
			print!("{}", String::from_utf8_lossy(&out));
		},
		_ => {
			println!("usage: gravity-tasks export-programs <dir> | render <scene> <out.rgb> [out.png] | png <w> <h> <in.rgb> <out.png> | wordcount <text>");
		},
	}
}
