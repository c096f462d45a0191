//! Batching: stack samples into a `(B, T, C)` [`Seq`], zero-padded at the end to the longest.

use rayon::prelude::*;

use super::dataset::Dataset;
use crate::seq::Seq;

/// Inputs and labels of one batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `(B, T_max, C)` frames.
    pub x: Seq,
    /// Class per sample.
    pub labels: Vec<usize>,
    /// Each sample's own steps `T_b ≤ T_max` (the rest of its rows are padding).
    pub lengths: Vec<usize>,
}

/// Builds the batch of samples `indices` of `data`.
pub fn make_batch(data: &dyn Dataset, indices: &[usize]) -> Batch {
    let steps = indices.iter().map(|&i| data.steps(i)).max().unwrap_or(0);
    make_batch_padded(data, indices, steps)
}

/// The samples `indices` of `data`, zero-padded to `steps` (at least their longest): one
/// shard of a batch whose longest sample has `steps` steps.
pub fn make_batch_padded(data: &dyn Dataset, indices: &[usize], steps: usize) -> Batch {
    let channels = data.channels();
    let mut x = Seq::zeros(indices.len(), steps, channels);
    x.data
        .par_chunks_mut((steps * channels).max(1))
        .zip(indices.par_iter())
        .for_each(|(out, &i)| data.write_frames(i, out));
    Batch {
        x,
        labels: indices.iter().map(|&i| data.label(i)).collect(),
        lengths: indices.iter().map(|&i| data.steps(i)).collect(),
    }
}
