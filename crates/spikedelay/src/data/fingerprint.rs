//! A fingerprint of a task's data, recorded with every run so that two runs can be seen to have
//! read the same samples: SHA-256 over each split's size, channels and classes, every sample's
//! label and length, and the frames of up to [`FRAMED`] evenly spaced samples per split (all of
//! them for small splits), as little-endian `f32`. Cheap on any dataset (a few MB hashed), and
//! it changes with any relabelling, any change of length, binning or feature extraction.

use sha2::{Digest, Sha256};

use super::dataset::{Dataset, Splits};

/// Samples per split whose frames enter the fingerprint.
pub const FRAMED: usize = 256;

fn add_split(h: &mut Sha256, data: &dyn Dataset) {
    let n = data.len();
    for v in [n, data.channels(), data.classes()] {
        h.update((v as u64).to_le_bytes());
    }
    for i in 0..n {
        h.update((data.label(i) as u64).to_le_bytes());
        h.update((data.steps(i) as u64).to_le_bytes());
    }
    let every = n.div_ceil(FRAMED).max(1);
    let mut frames = Vec::new();
    for i in (0..n).step_by(every) {
        frames.clear();
        frames.resize(data.steps(i) * data.channels(), 0.0f32);
        data.write_frames(i, &mut frames);
        for v in &frames {
            h.update(v.to_le_bytes());
        }
    }
}

/// The fingerprint of `splits`: 16 hex digits.
pub fn fingerprint(splits: &Splits) -> String {
    let mut h = Sha256::new();
    for data in [&splits.train, &splits.valid, &splits.test] {
        add_split(&mut h, data.as_ref());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
