//! Render jobs with `frames > 1`: the market gives task `i` parameter `i`; the render program
//! must draw tile `i % tiles` of frame `i / tiles`. Before, every task after the first frame was
//! an out-of-range tile: a failure result, verified and paid, and a job "Completed" with no
//! image. Here the provider's sandbox runs the real Wasm program for three frames of the demo
//! scene and must give, byte for byte, the native render of each frame's view.

use gravity_executor::{Executor, Limits};
use std::sync::Arc;

#[test]
fn every_task_of_a_three_frame_animation_renders_its_frame_in_the_sandbox() {
	let scene_text = include_str!("../../../tasks/render/scenes/demo.scene").replace("size 256 192", "size 96 64");
	let scene = gravity_task_render::Scene::parse(&scene_text).expect("scene");
	let per = scene.tiles_per_frame();
	let executor = Executor::new(4).expect("sandbox");
	let limits = Limits { fuel_cap: 2_000_000_000, ..Limits::default() };
	let program = gravity_task_programs::RENDER;
	let id = gravity_protocol::content::ContentId::of(program).root;
	let mut frames = vec![Vec::new(); 3];
	for param in 0..3 * per {
		let input = gravity_protocol::input::encode(param, scene_text.as_bytes());
		let (result, _) = executor.run(id, program, Arc::new(input), gravity_protocol::result::task_seed(0, param), &limits);
		let tile = result.outcome.unwrap_or_else(|f| panic!("task {param} failed in the sandbox: {f}"));
		let frame = (param / per) as usize;
		assert_eq!(tile, scene.at_frame(frame as u32).render_tile(param % per).unwrap(), "task {param}");
		frames[frame].push(tile);
	}
	// Three different views of one scene (the camera orbits 12° per frame).
	assert_ne!(frames[0], frames[1]);
	assert_ne!(frames[1], frames[2]);
	for f in &frames {
		let img = gravity_task_render::assemble(scene.width, scene.height, f).expect("a whole frame");
		assert_eq!(img.len(), (scene.width * scene.height * 3) as usize);
	}
}
