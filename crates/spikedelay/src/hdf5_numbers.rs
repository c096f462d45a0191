//! Widening HDF5 numbers of any stored width and byte order to `u64`/`f64`, exactly: shared by
//! the spike reader (`data/spikes`) and the exported-file readers (`export`).

use half::f16;
use hdf5_reader::{ByteOrder, Datatype};

/// One stored element as little-endian bytes of a `u64`/`f64`.
fn widen(c: &[u8], order: ByteOrder) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    if order == ByteOrder::BigEndian {
        b[..c.len()].reverse();
    }
    b
}

/// Unsigned or non-negative signed integers of `size` bytes; `None` if any is negative.
pub(crate) fn decode_ints(
    bytes: &[u8],
    size: usize,
    signed: bool,
    order: ByteOrder,
) -> Option<Vec<u64>> {
    bytes
        .chunks_exact(size)
        .map(|c| {
            let v = u64::from_le_bytes(widen(c, order));
            let negative = signed && (v >> (8 * size - 1)) & 1 == 1;
            (!negative).then_some(v)
        })
        .collect()
}

/// IEEE floats of 2, 4 or 8 bytes.
pub(crate) fn decode_floats(bytes: &[u8], size: usize, order: ByteOrder) -> Vec<f64> {
    bytes
        .chunks_exact(size)
        .map(|c| {
            let b = widen(c, order);
            match size {
                2 => f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
                4 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
                _ => f64::from_le_bytes(b),
            }
        })
        .collect()
}

/// Any float or integer dataset as `f64` (integers sign-extended); `None` for other types or
/// widths.
pub(crate) fn decode_numbers(bytes: &[u8], dtype: &Datatype) -> Option<Vec<f64>> {
    match *dtype {
        Datatype::FloatingPoint { size, byte_order } if matches!(size, 2 | 4 | 8) => {
            Some(decode_floats(bytes, size as usize, byte_order))
        }
        Datatype::FixedPoint {
            size,
            signed,
            byte_order,
        } if (1..=8).contains(&size) => {
            let shift = 64 - 8 * size as u32;
            Some(
                bytes
                    .chunks_exact(size as usize)
                    .map(|c| {
                        let v = u64::from_le_bytes(widen(c, byte_order));
                        if signed {
                            (((v << shift) as i64) >> shift) as f64
                        } else {
                            v as f64
                        }
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Reads named strings and numeric arrays of one open file, with errors that name the file and
/// the dataset.
pub(crate) struct Hdf5Values<'a> {
    /// The open file.
    pub file: &'a hdf5_reader::Hdf5File,
    /// Its path, for errors.
    pub path: &'a std::path::Path,
}

impl Hdf5Values<'_> {
    fn err(&self, m: String) -> crate::Error {
        crate::Error::data(self.path, m)
    }

    /// Whether dataset `p` exists.
    pub fn has(&self, p: &str) -> bool {
        self.file.dataset(p).is_ok()
    }

    /// The string dataset `p`.
    pub fn string(&self, p: &str) -> crate::Result<String> {
        self.file
            .dataset(p)
            .and_then(|d| d.read_string())
            .map_err(|e| self.err(format!("cannot read string `{p}` ({e})")))
    }

    /// The numeric dataset `p`: its shape and values.
    pub fn numbers(&self, p: &str) -> crate::Result<(Vec<u64>, Vec<f64>)> {
        let d = self
            .file
            .dataset(p)
            .map_err(|e| self.err(format!("missing dataset `{p}` ({e})")))?;
        let raw = d
            .read_raw_bytes()
            .map_err(|e| self.err(format!("cannot read `{p}` ({e})")))?;
        let v = decode_numbers(&raw, d.dtype())
            .ok_or_else(|| self.err(format!("`{p}` must hold numbers, found {:?}", d.dtype())))?;
        let shape = d.shape().to_vec();
        if shape.iter().product::<u64>() as usize != v.len() {
            return Err(self.err(format!(
                "`{p}` holds {} values for shape {shape:?}",
                v.len()
            )));
        }
        Ok((shape, v))
    }
}
