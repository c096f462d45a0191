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
