//! # Render task: a deterministic ray tracer
//!
//! Renders one tile of a scene. Input: parameter = tile index, data = scene text. Output:
//! `x, y, w, h: u32 LE` ‖ `w × h` RGB8 pixels, row-major. [`assemble`] puts tiles together.
//!
//! Scene text, one item per line (`#` starts a comment):
//! ```text
//! size 256 192          # image width, height
//! tile 64               # tile edge in pixels
//! samples 4             # samples per pixel (deterministic jitter)
//! camera 0 1 -4  0 0.5 0  50     # eye, look-at, vertical field of view (degrees)
//! light -4 6 -3  1.0             # position, intensity
//! sphere 0 0.8 0  0.8   0.9 0.2 0.2  0.3   # centre, radius, rgb, reflectivity
//! plane 0 1 0  0  0.8 0.8 0.8  0.1         # normal, offset, rgb, reflectivity (checkered)
//! ```
//! All arithmetic is IEEE f64: `+ − × ÷`, square root and floor (exactly rounded everywhere,
//! from `gravity_task_sdk::math`) and one `libm::tan` (plus a `sin` and a `cos` for frames after
//! the first; pure Rust) per tile, so the Wasm build and a native build give the same bytes.
//!
//! An animation (`frames > 1` in the job) orbits the camera around the point it looks at by
//! `orbit` degrees per frame (scene key `orbit <degrees>`, default 0); task parameter `p`
//! renders tile `p % tiles` of frame `p / tiles`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec::Vec;
use libm::{cos, sin, tan};

// Exactly rounded, so the same bits natively and in Wasm, where they are single instructions.
use gravity_task_sdk::math::{abs as fabs, floor, sqrt};

/// x^64 by six squarings (same operations, same rounding, on every target).
#[inline(always)]
fn pow64(x: f64) -> f64 {
	let mut y = x;
	for _ in 0..6 {
		y *= y;
	}
	y
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct V(f64, f64, f64);

impl V {
	fn add(self, o: V) -> V { V(self.0 + o.0, self.1 + o.1, self.2 + o.2) }
	fn sub(self, o: V) -> V { V(self.0 - o.0, self.1 - o.1, self.2 - o.2) }
	fn mul(self, s: f64) -> V { V(self.0 * s, self.1 * s, self.2 * s) }
	fn hadamard(self, o: V) -> V { V(self.0 * o.0, self.1 * o.1, self.2 * o.2) }
	fn dot(self, o: V) -> f64 { self.0 * o.0 + self.1 * o.1 + self.2 * o.2 }
	fn cross(self, o: V) -> V {
		V(self.1 * o.2 - self.2 * o.1, self.2 * o.0 - self.0 * o.2, self.0 * o.1 - self.1 * o.0)
	}
	fn norm(self) -> V {
		let l = sqrt(self.dot(self));
		if l == 0.0 { self } else { self.mul(1.0 / l) }
	}
}

#[derive(Clone, Debug)]
enum Shape {
	Sphere { c: V, r: f64 },
	Plane { n: V, d: f64 },
}

#[derive(Clone, Debug)]
struct Object {
	shape: Shape,
	color: V,
	reflect: f64,
}

/// A parsed scene.
#[derive(Clone, Debug)]
pub struct Scene {
	pub width: u32,
	pub height: u32,
	pub tile: u32,
	samples: u32,
	eye: V,
	look: V,
	fov: f64,
	/// Degrees the camera orbits around `look` (about the vertical axis) per frame.
	orbit: f64,
	lights: Vec<(V, f64)>,
	objects: Vec<Object>,
}

/// Why a scene or tile request is invalid (the task returns this as its error code).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RenderError {
	BadInput = 2,
	BadScene = 3,
	TileOutOfRange = 4,
}

fn parse_f(s: &str) -> Option<f64> {
	s.parse::<f64>().ok().filter(|x| x.is_finite())
}

impl Scene {
	/// Parse scene text.
	pub fn parse(text: &str) -> Result<Scene, RenderError> {
		let mut s = Scene {
			width: 0,
			height: 0,
			tile: 32,
			samples: 1,
			eye: V(0.0, 1.0, -4.0),
			look: V(0.0, 0.0, 0.0),
			fov: 50.0,
			orbit: 0.0,
			lights: Vec::new(),
			objects: Vec::new(),
		};
		for line in text.lines() {
			let line = line.split('#').next().unwrap_or("").trim();
			if line.is_empty() {
				continue
			}
			let mut it = line.split_whitespace();
			let key = it.next().unwrap_or("");
			let nums: Vec<f64> = it.map(parse_f).collect::<Option<Vec<_>>>().ok_or(RenderError::BadScene)?;
			let need = |n: usize| if nums.len() == n { Ok(()) } else { Err(RenderError::BadScene) };
			match key {
				"size" => { need(2)?; s.width = nums[0] as u32; s.height = nums[1] as u32; },
				"tile" => { need(1)?; s.tile = nums[0] as u32; },
				"samples" => { need(1)?; s.samples = (nums[0] as u32).clamp(1, 64); },
				"camera" => {
					need(7)?;
					s.eye = V(nums[0], nums[1], nums[2]);
					s.look = V(nums[3], nums[4], nums[5]);
					s.fov = nums[6];
				},
				"orbit" => { need(1)?; s.orbit = nums[0]; },
				"light" => { need(4)?; s.lights.push((V(nums[0], nums[1], nums[2]), nums[3])); },
				"sphere" => {
					need(8)?;
					s.objects.push(Object {
						shape: Shape::Sphere { c: V(nums[0], nums[1], nums[2]), r: nums[3] },
						color: V(nums[4], nums[5], nums[6]),
						reflect: nums[7].clamp(0.0, 1.0),
					});
				},
				"plane" => {
					need(8)?;
					s.objects.push(Object {
						shape: Shape::Plane { n: V(nums[0], nums[1], nums[2]).norm(), d: nums[3] },
						color: V(nums[4], nums[5], nums[6]),
						reflect: nums[7].clamp(0.0, 1.0),
					});
				},
				_ => return Err(RenderError::BadScene),
			}
		}
		if s.width == 0 || s.height == 0 || s.tile == 0 || s.width > 16384 || s.height > 16384 {
			return Err(RenderError::BadScene)
		}
		Ok(s)
	}

	/// Tiles across, tiles down.
	pub fn tiles(&self) -> (u32, u32) {
		(self.width.div_ceil(self.tile), self.height.div_ceil(self.tile))
	}

	fn hit(&self, o: V, d: V) -> Option<(f64, usize)> {
		let mut best: Option<(f64, usize)> = None;
		for (i, obj) in self.objects.iter().enumerate() {
			let t = match obj.shape {
				Shape::Sphere { c, r } => {
					let oc = o.sub(c);
					let b = oc.dot(d);
					let disc = b * b - (oc.dot(oc) - r * r);
					if disc < 0.0 {
						continue
					}
					let sq = sqrt(disc);
					let t0 = -b - sq;
					if t0 > 1e-6 { t0 } else { -b + sq }
				},
				Shape::Plane { n, d: off } => {
					let den = n.dot(d);
					if fabs(den) < 1e-9 {
						continue
					}
					(off - n.dot(o)) / den
				},
			};
			if t > 1e-6 && best.is_none_or(|(bt, _)| t < bt) {
				best = Some((t, i));
			}
		}
		best
	}

	fn trace(&self, o: V, d: V, depth: u32) -> V {
		let Some((t, i)) = self.hit(o, d) else {
			// Sky gradient.
			let k = 0.5 * (d.1 + 1.0);
			return V(1.0, 1.0, 1.0).mul(1.0 - k).add(V(0.5, 0.7, 1.0).mul(k))
		};
		let obj = &self.objects[i];
		let p = o.add(d.mul(t));
		let n = match obj.shape {
			Shape::Sphere { c, .. } => p.sub(c).norm(),
			Shape::Plane { n, .. } => n,
		};
		let mut base = obj.color;
		if let Shape::Plane { .. } = obj.shape {
			let check = (floor(p.0) as i64 + floor(p.2) as i64) & 1;
			if check == 1 {
				base = base.mul(0.35);
			}
		}
		let mut col = base.mul(0.1);
		for (lp, li) in &self.lights {
			let to_l = lp.sub(p);
			let dist = sqrt(to_l.dot(to_l));
			let l = to_l.mul(1.0 / dist);
			let shadow = self.hit(p.add(n.mul(1e-6)), l).is_some_and(|(st, _)| st < dist);
			if shadow {
				continue
			}
			let diff = n.dot(l).max(0.0);
			let h = l.sub(d).norm();
			let spec = pow64(n.dot(h).max(0.0));
			col = col.add(base.mul(diff * li)).add(V(1.0, 1.0, 1.0).mul(spec * li * 0.5));
		}
		if obj.reflect > 0.0 && depth < 4 {
			let r = d.sub(n.mul(2.0 * d.dot(n))).norm();
			let rc = self.trace(p.add(n.mul(1e-6)), r, depth + 1);
			col = col.mul(1.0 - obj.reflect).add(rc.hadamard(V(1.0, 1.0, 1.0)).mul(obj.reflect));
		}
		col
	}

	/// Tiles per frame.
	pub fn tiles_per_frame(&self) -> u32 {
		let (tx, ty) = self.tiles();
		tx.saturating_mul(ty)
	}

	/// The scene as seen in frame `frame`: the camera orbited by `frame × orbit` degrees around
	/// the point it looks at.
	pub fn at_frame(&self, frame: u32) -> Scene {
		let mut s = self.clone();
		if frame == 0 || self.orbit == 0.0 {
			return s
		}
		let a = self.orbit * frame as f64 * core::f64::consts::PI / 180.0;
		let (sin_a, cos_a) = (sin(a), cos(a));
		let rel = self.eye.sub(self.look);
		s.eye = V(rel.0 * cos_a + rel.2 * sin_a, rel.1, -rel.0 * sin_a + rel.2 * cos_a).add(self.look);
		s
	}

	/// Render task parameter `param` of a render job: tile `param % tiles` of frame
	/// `param / tiles` (the market numbers an animation's tasks frame after frame).
	pub fn render(&self, param: u32) -> Result<Vec<u8>, RenderError> {
		let per = self.tiles_per_frame();
		if per == 0 {
			return Err(RenderError::BadScene)
		}
		self.at_frame(param / per).render_tile(param % per)
	}

	/// Render tile `index` (row-major over the tile grid) of this view: header ‖ RGB8 pixels.
	pub fn render_tile(&self, index: u32) -> Result<Vec<u8>, RenderError> {
		let (tx, ty) = self.tiles();
		if index >= tx.saturating_mul(ty) {
			return Err(RenderError::TileOutOfRange)
		}
		let x0 = (index % tx) * self.tile;
		let y0 = (index / tx) * self.tile;
		let w = self.tile.min(self.width - x0);
		let h = self.tile.min(self.height - y0);
		let mut out = Vec::with_capacity(16 + (w * h * 3) as usize);
		for v in [x0, y0, w, h] {
			out.extend_from_slice(&v.to_le_bytes());
		}
		let fwd = self.look.sub(self.eye).norm();
		let right = fwd.cross(V(0.0, 1.0, 0.0)).norm().mul(-1.0);
		let up = right.cross(fwd).mul(-1.0);
		let scale = tan(self.fov * core::f64::consts::PI / 180.0 * 0.5);
		let aspect = self.width as f64 / self.height as f64;
		let n = self.samples;
		for y in y0..y0 + h {
			for x in x0..x0 + w {
				let mut acc = V(0.0, 0.0, 0.0);
				for s in 0..n {
					// Deterministic stratified jitter.
					let jx = ((s % 2) as f64 + 0.5) / 2.0;
					let jy = ((s / 2 % 2) as f64 + 0.5) / 2.0;
					let px = (2.0 * ((x as f64 + jx) / self.width as f64) - 1.0) * aspect * scale;
					let py = (1.0 - 2.0 * ((y as f64 + jy) / self.height as f64)) * scale;
					let d = fwd.add(right.mul(px)).add(up.mul(py)).norm();
					acc = acc.add(self.trace(self.eye, d, 0));
				}
				let c = acc.mul(1.0 / n as f64);
				for ch in [c.0, c.1, c.2] {
					let g = sqrt(ch.clamp(0.0, 1.0)); // gamma 2
					out.push((g * 255.0 + 0.5) as u8);
				}
			}
		}
		Ok(out)
	}
}

/// The task: task parameter (tile `param % tiles` of frame `param / tiles`) and scene text
/// (data) → tile.
pub fn render_task(input: gravity_task_sdk::Input<'_>) -> Result<Vec<u8>, i32> {
	let text = core::str::from_utf8(input.data()).map_err(|_| RenderError::BadInput as i32)?;
	let scene = Scene::parse(text).map_err(|e| e as i32)?;
	scene.render(input.param()).map_err(|e| e as i32)
}

/// The task as the network runs it: the scene is read in 64 KiB pieces and only its items are
/// kept (comments and blank lines are dropped as they stream by), so a scene far larger than
/// the task's memory (hundreds of MiB of annotations, say) renders in a few MiB. Same result as
/// [`render_task`] on the same input.
pub fn render_stream<S: gravity_task_sdk::Source>(input: gravity_task_sdk::Stream<S>) -> Result<Vec<u8>, i32> {
	let mut items = alloc::string::String::new();
	let mut bad = false;
	input.for_each_line(|line| {
		let Ok(line) = core::str::from_utf8(line) else {
			bad = true;
			return
		};
		let item = line.split('#').next().unwrap_or("").trim();
		if !item.is_empty() {
			items.push_str(item);
			items.push('\n');
		}
	});
	if bad {
		return Err(RenderError::BadInput as i32)
	}
	let scene = Scene::parse(&items).map_err(|e| e as i32)?;
	scene.render(input.param()).map_err(|e| e as i32)
}

gravity_task_sdk::task_stream!(render_stream);

/// Put rendered tiles into one `width × height` RGB8 image. Fails if a tile is malformed or
/// outside the image.
pub fn assemble(width: u32, height: u32, tiles: &[Vec<u8>]) -> Result<Vec<u8>, RenderError> {
	let mut img = alloc::vec![0u8; (width * height * 3) as usize];
	for t in tiles {
		if t.len() < 16 {
			return Err(RenderError::BadInput)
		}
		let f = |i: usize| u32::from_le_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
		let (x0, y0, w, h) = (f(0), f(4), f(8), f(12));
		if x0 + w > width || y0 + h > height || t.len() != 16 + (w * h * 3) as usize {
			return Err(RenderError::BadInput)
		}
		for row in 0..h {
			let src = 16 + (row * w * 3) as usize;
			let dst = (((y0 + row) * width + x0) * 3) as usize;
			img[dst..dst + (w * 3) as usize].copy_from_slice(&t[src..src + (w * 3) as usize]);
		}
	}
	Ok(img)
}

/// Render the whole image natively, tile by tile (the reference for comparisons).
pub fn render_all(scene: &Scene) -> Vec<u8> {
	let (tx, ty) = scene.tiles();
	let tiles: Vec<Vec<u8>> = (0..tx * ty).map(|i| scene.render_tile(i).expect("tile in range")).collect();
	assemble(scene.width, scene.height, &tiles).expect("own tiles fit")
}

/// Encode an RGB8 image as PNG (zlib "stored" blocks: no compression dependency).
pub fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
	fn crc32(data: &[u8]) -> u32 {
		let mut c = 0xffff_ffffu32;
		for &b in data {
			c ^= b as u32;
			for _ in 0..8 {
				c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
			}
		}
		!c
	}
	fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
		out.extend_from_slice(&(data.len() as u32).to_be_bytes());
		let mut c = Vec::with_capacity(4 + data.len());
		c.extend_from_slice(kind);
		c.extend_from_slice(data);
		out.extend_from_slice(&c);
		out.extend_from_slice(&crc32(&c).to_be_bytes());
	}
	let mut raw = Vec::with_capacity((height * (width * 3 + 1)) as usize);
	for y in 0..height as usize {
		raw.push(0);
		raw.extend_from_slice(&rgb[y * width as usize * 3..(y + 1) * width as usize * 3]);
	}
	let mut z = alloc::vec![0x78, 0x01];
	for (i, block) in raw.chunks(65535).enumerate() {
		let last = (i + 1) * 65535 >= raw.len();
		z.push(last as u8);
		z.extend_from_slice(&(block.len() as u16).to_le_bytes());
		z.extend_from_slice(&(!(block.len() as u16)).to_le_bytes());
		z.extend_from_slice(block);
	}
	let (mut a, mut b) = (1u32, 0u32);
	for &x in &raw {
		a = (a + x as u32) % 65521;
		b = (b + a) % 65521;
	}
	z.extend_from_slice(&((b << 16) | a).to_be_bytes());
	let mut out = alloc::vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
	let mut ihdr = Vec::new();
	ihdr.extend_from_slice(&width.to_be_bytes());
	ihdr.extend_from_slice(&height.to_be_bytes());
	ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
	chunk(&mut out, b"IHDR", &ihdr);
	chunk(&mut out, b"IDAT", &z);
	chunk(&mut out, b"IEND", &[]);
	out
}

#[cfg(test)]
mod tests {
	use super::*;
	use gravity_task_sdk::Input;

	pub const SCENE: &str = include_str!("../scenes/demo.scene");

	#[test]
	fn the_streamed_scene_renders_like_the_whole_one_and_annotations_cost_no_memory() {
		// 4 MiB of comment lines around the items, some lines longer than a stream chunk.
		let mut big = alloc::string::String::new();
		let long = "#".repeat(100_000);
		for (i, line) in SCENE.lines().enumerate() {
			big.push_str(line);
			big.push('\n');
			big.push_str(&long);
			big.push('\n');
			if i % 3 == 0 {
				big.push_str("   # an annotation line\n\n");
			}
		}
		while big.len() < 4 << 20 {
			big.push_str("# provenance: scanned by ...\n");
		}
		for tile in [0, 5] {
			let raw = gravity_task_sdk::encode(tile, big.as_bytes());
			let streamed = render_stream(gravity_task_sdk::Stream::new(&raw[..]).unwrap()).unwrap();
			assert_eq!(streamed, render_task(Input::new(tile, SCENE.as_bytes())).unwrap());
		}
		let raw = gravity_task_sdk::encode(0, b"size 8 8\n\xff\n");
		assert_eq!(render_stream(gravity_task_sdk::Stream::new(&raw[..]).unwrap()), Err(RenderError::BadInput as i32));
	}

	#[test]
	fn tiles_cover_the_image_and_match_whole_render() {
		let s = Scene::parse(SCENE).unwrap();
		let (tx, ty) = s.tiles();
		let img = render_all(&s);
		assert_eq!(img.len(), (s.width * s.height * 3) as usize);
		// Not a blank image.
		assert!(img.iter().any(|&b| b != img[0]));
		let last = render_task(Input::new(tx * ty - 1, SCENE.as_bytes())).unwrap();
		// The last tile is the image's bottom-right corner, framed as a provider node frames it.
		let framed = gravity_task_sdk::encode(tx * ty - 1, SCENE.as_bytes());
		assert_eq!(render_task(Input::parse(&framed).unwrap()).unwrap(), last);
	}

	#[test]
	fn every_frame_of_an_animation_renders_its_own_view() {
		let text = alloc::format!("{SCENE}\norbit 30\n");
		let s = Scene::parse(&text).unwrap();
		let per = s.tiles_per_frame();
		// Before frames were implemented, parameter `per + k` was an out-of-range tile: every
		// task after the first frame failed (and the failure was verified and paid).
		for k in [0, per / 2, per - 1] {
			let frame1 = render_task(Input::new(per + k, text.as_bytes())).expect("frame 1 renders");
			assert_eq!(frame1, s.at_frame(1).render_tile(k).unwrap());
			assert_eq!(render_task(Input::new(2 * per + k, text.as_bytes())).unwrap(), s.at_frame(2).render_tile(k).unwrap());
		}
		// The camera moved: frame 1 is not frame 0; without `orbit` every frame is the same view.
		let frame0: Vec<Vec<u8>> = (0..per).map(|k| s.render(k).unwrap()).collect();
		assert!((0..per).any(|k| s.render(per + k).unwrap() != frame0[k as usize]));
		let still = Scene::parse(&alloc::format!("{SCENE}\norbit 0\n")).unwrap();
		assert_eq!(still.render(per + 3).unwrap(), still.render(3).unwrap());
		// Same tile header (position in the frame) whatever the frame.
		assert_eq!(&s.render(per + 5).unwrap()[..16], &frame0[5][..16]);
	}

	#[test]
	fn bad_inputs_are_errors() {
		assert_eq!(render_task(Input::new(0, b"\xff\xfe")), Err(2));
		assert_eq!(render_task(Input::new(0, b"size 0 0")), Err(3));
		assert_eq!(Scene::parse("size 8 8\ntile 4").unwrap().render_tile(4), Err(RenderError::TileOutOfRange));
		assert_eq!(Scene::parse("teapot 1 2 3").unwrap_err(), RenderError::BadScene);
	}

	#[test]
	fn png_has_signature_and_chunks() {
		let p = png(2, 1, &[255, 0, 0, 0, 255, 0]);
		assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
		assert!(p.windows(4).any(|w| w == b"IEND"));
	}
}
