//! `Seq`: the one activation tensor, a batch of equally long sequences.
//!
//! Layout is **batch-major** `(B, T, C)` with channels contiguous: sample `b` owns the contiguous
//! slice `data[b·T·C .. (b+1)·T·C]`, so one worker thread handles one sample without sharing.
//! (The reference stores `(T, B, C)`; the two hold the same numbers.)

use crate::error::{Error, Result};

/// A batch of `batch` sequences of `steps` time steps and `channels` values each.
#[derive(Debug, Clone, PartialEq)]
pub struct Seq {
    /// Number of sequences `B`.
    pub batch: usize,
    /// Time steps per sequence `T`.
    pub steps: usize,
    /// Channels per step `C`.
    pub channels: usize,
    /// `B·T·C` values, index `(b·T + t)·C + c`.
    pub data: Vec<f32>,
}

impl Seq {
    /// An all-zero tensor of shape `(batch, steps, channels)`.
    pub fn zeros(batch: usize, steps: usize, channels: usize) -> Self {
        Seq {
            batch,
            steps,
            channels,
            data: vec![0.0; batch * steps * channels],
        }
    }

    /// Wraps `data`, checking that it holds `batch·steps·channels` values.
    pub fn from_vec(batch: usize, steps: usize, channels: usize, data: Vec<f32>) -> Result<Self> {
        let n = batch * steps * channels;
        if data.len() != n {
            return Err(Error::shape(
                format!("Seq ({batch}, {steps}, {channels})"),
                n,
                data.len(),
            ));
        }
        Ok(Seq {
            batch,
            steps,
            channels,
            data,
        })
    }

    /// Values of one sequence, `(T, C)` row-major.
    pub fn sample(&self, b: usize) -> &[f32] {
        let n = self.steps * self.channels;
        &self.data[b * n..(b + 1) * n]
    }

    /// Mutable values of one sequence.
    pub fn sample_mut(&mut self, b: usize) -> &mut [f32] {
        let n = self.steps * self.channels;
        &mut self.data[b * n..(b + 1) * n]
    }

    /// Size of one sequence, `T·C`.
    pub fn sample_len(&self) -> usize {
        self.steps * self.channels
    }

    /// The value at `(b, t, c)`.
    pub fn at(&self, b: usize, t: usize, c: usize) -> f32 {
        self.data[(b * self.steps + t) * self.channels + c]
    }

    /// Shape as `(B, T, C)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.batch, self.steps, self.channels)
    }

    /// Fails with a shape error naming `what` unless the shape is `(b, t, c)`.
    pub fn expect_shape(&self, what: &str, b: usize, t: usize, c: usize) -> Result<()> {
        if self.shape() != (b, t, c) {
            return Err(Error::shape(
                what,
                format!("({b}, {t}, {c})"),
                format!("{:?}", self.shape()),
            ));
        }
        Ok(())
    }

    /// `[T; B]`: every sequence's steps are the whole tensor's (no padding).
    pub fn full_lengths(&self) -> Vec<usize> {
        vec![self.steps; self.batch]
    }

    /// Fails with a shape error unless `lengths` holds one step count `≤ T` per sequence (each
    /// sample's own steps in a zero-padded batch).
    pub fn check_lengths(&self, lengths: &[usize]) -> Result<()> {
        if lengths.len() != self.batch {
            return Err(Error::shape("steps per sample", self.batch, lengths.len()));
        }
        if let Some(&bad) = lengths.iter().find(|&&n| n > self.steps) {
            return Err(Error::shape(
                "steps of a sample",
                format!("≤ {} (the batch's steps)", self.steps),
                bad,
            ));
        }
        Ok(())
    }

    /// Fraction of non-zero entries.
    pub fn density(&self) -> f64 {
        if self.data.is_empty() {
            return 0.0;
        }
        self.data.iter().filter(|&&v| v != 0.0).count() as f64 / self.data.len() as f64
    }
}
