//! Render outputs into images: tiles (`x, y, w, h: u32 LE` ‖ RGB8 rows, the render task's output)
//! into one RGB8 frame, written as PNG with the `png` crate.

use crate::{
	error::{Error, Result},
	fail,
};
use std::path::Path;

/// Put `tiles` into one `width × height` RGB8 image (black where a tile is missing).
pub fn assemble(width: u32, height: u32, tiles: &[&[u8]]) -> Result<Vec<u8>> {
	let (w, h) = (width as usize, height as usize);
	let mut img = vec![0u8; w * h * 3];
	for (n, t) in tiles.iter().enumerate() {
		if t.len() < 16 {
			fail!("tile {n} is {} bytes: not a render tile (a failed task's output?)", t.len())
		}
		let word = |o: usize| u32::from_le_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]) as usize;
		let (x0, y0, tw, th) = (word(0), word(4), word(8), word(12));
		if x0 + tw > w || y0 + th > h || t.len() != 16 + tw * th * 3 {
			fail!("tile {n} ({tw}×{th} at {x0},{y0}, {} bytes) does not fit a {width}×{height} image", t.len())
		}
		for row in 0..th {
			let src = &t[16 + row * tw * 3..16 + (row + 1) * tw * 3];
			let at = ((y0 + row) * w + x0) * 3;
			img[at..at + tw * 3].copy_from_slice(src);
		}
	}
	Ok(img)
}

/// Write RGB8 `rgb` as a PNG file.
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
	let file = std::fs::File::create(path).map_err(|e| Error(format!("cannot write {} ({e})", path.display())))?;
	let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
	enc.set_color(png::ColorType::Rgb);
	enc.set_depth(png::BitDepth::Eight);
	let mut w = enc.write_header().map_err(|e| Error(format!("{}: {e}", path.display())))?;
	w.write_image_data(rgb).map_err(|e| Error(format!("{}: {e}", path.display())))?;
	w.finish().map_err(|e| Error(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tile(x: u32, y: u32, w: u32, h: u32, v: u8) -> Vec<u8> {
		let mut t = Vec::new();
		for n in [x, y, w, h] {
			t.extend_from_slice(&n.to_le_bytes());
		}
		t.extend(std::iter::repeat(v).take((w * h * 3) as usize));
		t
	}

	#[test]
	fn tiles_land_where_their_header_says_and_bad_tiles_are_refused() {
		let (a, b) = (tile(0, 0, 2, 1, 7), tile(2, 0, 1, 1, 9));
		let img = assemble(3, 1, &[&a, &b]).unwrap();
		assert_eq!(img, vec![7, 7, 7, 7, 7, 7, 9, 9, 9]);
		assert!(assemble(2, 1, &[&a, &b]).is_err(), "out of bounds");
		assert!(assemble(3, 1, &[&a[..20]]).is_err(), "short");
		let dir = std::env::temp_dir().join(format!("gravity-png-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let p = dir.join("x.png");
		write_png(&p, 3, 1, &img).unwrap();
		let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&p).unwrap()));
		let mut r = dec.read_info().unwrap();
		let mut buf = vec![0; r.output_buffer_size().unwrap()];
		let info = r.next_frame(&mut buf).unwrap();
		assert_eq!(&buf[..info.buffer_size()], &img[..]);
		std::fs::remove_dir_all(dir).unwrap();
	}
}
