//! Where figures are drawn: an RGB buffer with the compiled-in font, encoded as PNG and written
//! atomically.
//!
//! The font is a subset of DejaVu Sans (ASCII, `σ τ µ Σ ± × − ≈ ≤ ≥ °` and a few more; license in
//! `assets/DejaVuSans-LICENSE.txt`) registered with plotters' `ab_glyph` renderer, so plots look
//! the same on a machine without system fonts.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use spikedelay::atomic_file::write_atomic;

/// The subset font file.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// The font family name every figure uses.
pub const FAMILY: &str = "sans-serif";

/// Registers [`FONT`] once per process.
fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            assert!(
                register_font(FAMILY, style, FONT).is_ok(),
                "the embedded font parses"
            );
        }
    });
}

/// An image being drawn: `width × height` RGB pixels.
pub struct Canvas {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: u32, height: u32) -> Self {
        register();
        Canvas {
            width,
            height,
            rgb: vec![255; (width * height * 3) as usize],
        }
    }

    /// Draws with `f` on the whole canvas.
    pub fn draw(
        &mut self,
        f: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    ) -> Result<()> {
        let root = BitMapBackend::with_buffer(&mut self.rgb, (self.width, self.height))
            .into_drawing_area();
        f(&root)?;
        root.present().context("finishing the drawing")?;
        Ok(())
    }

    /// The image as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header().context("encoding PNG")?;
        writer.write_image_data(&self.rgb).context("encoding PNG")?;
        writer.finish().context("encoding PNG")?;
        Ok(bytes)
    }

    /// Writes the image to `path` as PNG (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.png()?)?;
        Ok(())
    }
}

/// A font of `size` pixels in [`FAMILY`].
pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// Series colours (a colour-blind-safe palette: Okabe–Ito).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// The `i`-th palette colour (cycling).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `(lo, hi)` widened so that a constant or empty series still gets a visible range.
pub fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.5 * lo.abs().max(1e-3)
    };
    (lo - pad, hi + pad)
}

/// An axis value with at most four decimals and no trailing zeros (`70`, `0.5`, `2.25`).
pub fn tidy(y: &f64) -> String {
    let s = format!("{y:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_values_lose_trailing_zeros_and_ranges_never_collapse() {
        assert_eq!(tidy(&70.0), "70");
        assert_eq!(tidy(&0.5), "0.5");
        assert_eq!(tidy(&2.25), "2.25");
        assert_eq!(tidy(&-0.00001), "0");
        assert_eq!(padded_range([1.0, 3.0]), (0.9, 3.1));
        let (lo, hi) = padded_range([2.0, 2.0, f64::NAN]);
        assert!(lo < 2.0 && hi > 2.0);
        assert_eq!(padded_range([]), (0.0, 1.0));
    }

    #[test]
    fn a_canvas_encodes_as_a_png_of_its_size() {
        let mut c = Canvas::new(40, 30);
        c.draw(|root| {
            root.fill(&BLACK)?;
            Ok(())
        })
        .unwrap();
        let png = c.png().unwrap();
        let info = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        assert_eq!((info.info().width, info.info().height), (40, 30));
    }
}
