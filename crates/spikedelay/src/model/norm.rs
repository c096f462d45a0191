//! `TimeBatchNorm`: BatchNorm whose statistics run over time × batch (method §10).
//!
//! Training: `z = γ·(a − μ)/√(σ² + ε) + β` with per-channel mean `μ` and biased variance `σ²` over
//! all `T·B` entries (padding included, as the reference). Running statistics: momentum 0.1, the
//! variance from the unbiased estimate `σ²·n/(n−1)`. Evaluation: running statistics, applied as the
//! folded affine map `z = a·α + b`, `α = γ/√(var + ε)`, `b = β − μ·α` (as PyTorch's CPU kernel).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::seq::Seq;

/// Per-channel BatchNorm parameters and running statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeBatchNorm {
    /// Scale `γ` (init 1).
    pub gamma: Vec<f32>,
    /// Shift `β` (init 0).
    pub beta: Vec<f32>,
    /// Running mean (init 0).
    pub running_mean: Vec<f32>,
    /// Running variance (init 1).
    pub running_var: Vec<f32>,
    /// `ε`. Default: 1e-5.
    pub eps: f32,
    /// Running-statistics momentum. Default: 0.1.
    pub momentum: f32,
}

/// What the backward pass needs from a training forward pass.
#[derive(Debug, Clone)]
pub struct NormCache {
    /// Normalised input `â = (a − μ)/√(σ² + ε)`, `(B, T, C)`.
    pub xhat: Seq,
    /// `1/√(σ² + ε)` per channel.
    pub inv_std: Vec<f32>,
}

/// Gradients of `γ` and `β`.
#[derive(Debug, Clone, PartialEq)]
pub struct NormGrads {
    /// `∂L/∂γ = Σ g_z·â`.
    pub gamma: Vec<f32>,
    /// `∂L/∂β = Σ g_z`.
    pub beta: Vec<f32>,
}

impl NormGrads {
    /// Zero gradients for `channels` channels.
    pub fn zeros(channels: usize) -> Self {
        NormGrads {
            gamma: vec![0.0; channels],
            beta: vec![0.0; channels],
        }
    }
}

/// Per-sample partial sums of `f(x, y)` and `g(x, y)` over the steps of two equally shaped
/// tensors, in one pass (in parallel over samples): `[sample][Σf per channel, Σg per channel]`.
fn sample_sums2(
    x: &Seq,
    y: &Seq,
    f: impl Fn(f64, f64) -> f64 + Sync,
    g: impl Fn(f64, f64) -> f64 + Sync,
) -> Vec<f64> {
    let c = x.channels;
    let n = x.sample_len().max(1);
    let mut out = vec![0.0f64; x.batch * 2 * c];
    out.par_chunks_mut(2 * c)
        .zip(x.data.par_chunks(n).zip(y.data.par_chunks(n)))
        .for_each(|(acc, (xs, ys))| {
            let (sf, sg) = acc.split_at_mut(c);
            for (xr, yr) in xs.chunks_exact(c).zip(ys.chunks_exact(c)) {
                for j in 0..c {
                    let (u, v) = (f64::from(xr[j]), f64::from(yr[j]));
                    sf[j] += f(u, v);
                    sg[j] += g(u, v);
                }
            }
        });
    out
}

/// Per-channel totals of per-sample partials ([`sample_sums2`] of every sample of the batch),
/// added in sample order: the same sums for any split of the batch into shards and processes.
fn totals(partials: &[f64], c: usize) -> (Vec<f64>, Vec<f64>) {
    let mut total = (vec![0.0f64; c], vec![0.0f64; c]);
    for row in partials.chunks_exact(2 * c) {
        let (pf, pg) = row.split_at(c);
        total.0.iter_mut().zip(pf).for_each(|(t, v)| *t += v);
        total.1.iter_mut().zip(pg).for_each(|(t, v)| *t += v);
    }
    total
}

/// How the shards of one batch see each other's per-sample partial sums: this process's rows
/// (its shards' samples, in order) in, every sample's rows of the whole batch out, in sample
/// order. [`Alone`] for a batch held whole by one process; a data-parallel engine gathers
/// across processes (`train::parallel`).
pub trait SampleExchange {
    /// Every process's `local`, concatenated in sample (process) order.
    fn gather(&self, local: Vec<f64>) -> Vec<f64>;
    /// This process's place among the processes sharing the batch (0 for the first).
    fn rank(&self) -> usize {
        0
    }
    /// How many processes share the batch.
    fn size(&self) -> usize {
        1
    }
}

/// The whole batch is here.
#[derive(Debug, Clone, Copy, Default)]
pub struct Alone;

impl SampleExchange for Alone {
    fn gather(&self, local: Vec<f64>) -> Vec<f64> {
        local
    }
}

/// A tensor shaped like `like`, row by row (`C` values) from `f(row index, output row)`.
fn map_rows(like: &Seq, f: impl Fn(usize, &mut [f32]) + Sync) -> Seq {
    const ROWS_PER_TASK: usize = 256;
    let c = like.channels.max(1);
    let mut out = Seq::zeros(like.batch, like.steps, like.channels);
    out.data
        .par_chunks_mut(c * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(blk, rows)| {
            for (k, row) in rows.chunks_exact_mut(c).enumerate() {
                f(blk * ROWS_PER_TASK + k, row);
            }
        });
    out
}

impl TimeBatchNorm {
    /// Fresh BatchNorm over `channels` channels (γ = 1, β = 0, mean 0, variance 1).
    pub fn new(channels: usize) -> Self {
        TimeBatchNorm {
            gamma: vec![1.0; channels],
            beta: vec![0.0; channels],
            running_mean: vec![0.0; channels],
            running_var: vec![1.0; channels],
            eps: 1e-5,
            momentum: 0.1,
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    fn check(&self, a: &Seq) -> Result<()> {
        if a.channels != self.channels() {
            return Err(Error::shape(
                "BatchNorm input channels",
                self.channels(),
                a.channels,
            ));
        }
        Ok(())
    }

    /// Training forward: batch statistics, running statistics updated once.
    pub fn forward_train(&mut self, a: &Seq) -> Result<(Seq, NormCache)> {
        let mut out = self.forward_train_shards(&[a], &Alone)?;
        Ok(out.pop().expect("one shard in, one out"))
    }

    /// Training forward of one batch held as shards (`shards`: this process's, equally long;
    /// `exchange`: the other shards' partial sums): statistics over the whole batch, running
    /// statistics updated once, each shard normalised.
    pub fn forward_train_shards(
        &mut self,
        shards: &[&Seq],
        exchange: &dyn SampleExchange,
    ) -> Result<Vec<(Seq, NormCache)>> {
        for a in shards {
            self.check(a)?;
        }
        let c = self.channels();
        let steps = shards.first().map_or(0, |a| a.steps);
        let mut local = Vec::new();
        for a in shards {
            local.extend(sample_sums2(a, a, |u, _| u, |u, _| u * u));
        }
        let all = exchange.gather(local);
        let batch = all.len() / (2 * c).max(1);
        let n = (batch * steps) as f64;
        // Mean and biased variance from Σa and Σa² in f64 (one pass over the tensor).
        let (sum, sum_sq) = totals(&all, c);
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let var: Vec<f64> = sum_sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0))
            .collect();
        let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let inv_std: Vec<f32> = var
            .iter()
            .map(|&v| 1.0 / (v as f32 + self.eps).sqrt())
            .collect();
        let m = self.momentum;
        for j in 0..c {
            let unbiased = if n > 1.0 {
                var[j] * n / (n - 1.0)
            } else {
                var[j]
            };
            self.running_mean[j] = (1.0 - m) * self.running_mean[j] + m * mean32[j];
            self.running_var[j] = (1.0 - m) * self.running_var[j] + m * unbiased as f32;
        }
        // Output as PyTorch's CPU kernel computes it: z = a·α + (β − μ·α), α = γ/√(σ²+ε).
        let alpha: Vec<f32> = (0..c).map(|j| inv_std[j] * self.gamma[j]).collect();
        let shift: Vec<f32> = (0..c)
            .map(|j| self.beta[j] - mean32[j] * alpha[j])
            .collect();
        Ok(shards
            .iter()
            .map(|a| {
                let z = map_rows(a, |r, zr| {
                    let ar = &a.data[r * c..(r + 1) * c];
                    for j in 0..c {
                        zr[j] = ar[j] * alpha[j] + shift[j];
                    }
                });
                let xhat = map_rows(a, |r, xr| {
                    let ar = &a.data[r * c..(r + 1) * c];
                    for j in 0..c {
                        xr[j] = (ar[j] - mean32[j]) * inv_std[j];
                    }
                });
                (
                    z,
                    NormCache {
                        xhat,
                        inv_std: inv_std.clone(),
                    },
                )
            })
            .collect())
    }

    /// The folded evaluation map `(α, b)`: `z = a·α + b`.
    pub fn folded(&self) -> (Vec<f32>, Vec<f32>) {
        let alpha: Vec<f32> = (0..self.channels())
            .map(|j| self.gamma[j] / (self.running_var[j] + self.eps).sqrt())
            .collect();
        let shift = (0..self.channels())
            .map(|j| self.beta[j] - self.running_mean[j] * alpha[j])
            .collect();
        (alpha, shift)
    }

    /// Evaluation forward with running statistics.
    pub fn forward_eval(&self, a: &Seq) -> Result<Seq> {
        self.check(a)?;
        let (alpha, shift) = self.folded();
        let mut z = a.clone();
        z.data.par_chunks_mut(a.channels).for_each(|row| {
            for (j, v) in row.iter_mut().enumerate() {
                *v = *v * alpha[j] + shift[j];
            }
        });
        Ok(z)
    }

    /// Backward of the training forward: returns `∂L/∂a` and adds into `grads`.
    ///
    /// `g_a = γ/√(σ²+ε) · (g_z − mean(g_z) − â·mean(g_z·â))`, means over the `T·B` entries.
    pub fn backward(&self, gz: &Seq, cache: &NormCache, grads: &mut NormGrads) -> Seq {
        let mut out = self.backward_shards(&[gz], &[cache], grads, &Alone);
        out.pop().expect("one shard in, one out")
    }

    /// Backward of [`Self::forward_train_shards`]: the means over the whole batch (this
    /// process's shards and, through `exchange`, the others'), `∂L/∂a` per shard; the whole
    /// batch's `∂L/∂γ`, `∂L/∂β` added into `grads`.
    pub fn backward_shards(
        &self,
        gzs: &[&Seq],
        caches: &[&NormCache],
        grads: &mut NormGrads,
        exchange: &dyn SampleExchange,
    ) -> Vec<Seq> {
        let c = self.channels();
        let steps = gzs.first().map_or(0, |g| g.steps);
        let mut local = Vec::new();
        for (gz, cache) in gzs.iter().zip(caches) {
            local.extend(sample_sums2(gz, &cache.xhat, |g, _| g, |g, x| g * x));
        }
        let all = exchange.gather(local);
        let n = (all.len() / (2 * c).max(1) * steps) as f64;
        let (sum_g, sum_gx) = totals(&all, c);
        for j in 0..c {
            grads.gamma[j] += sum_gx[j] as f32;
            grads.beta[j] += sum_g[j] as f32;
        }
        let mean_g: Vec<f32> = sum_g.iter().map(|&s| (s / n) as f32).collect();
        let mean_gx: Vec<f32> = sum_gx.iter().map(|&s| (s / n) as f32).collect();
        gzs.iter()
            .zip(caches)
            .map(|(gz, cache)| {
                let xh = &cache.xhat;
                let scale: Vec<f32> = (0..c).map(|j| self.gamma[j] * cache.inv_std[j]).collect();
                map_rows(gz, |r, gr| {
                    let (g, x) = (&gz.data[r * c..(r + 1) * c], &xh.data[r * c..(r + 1) * c]);
                    for j in 0..c {
                        gr[j] = scale[j] * (g[j] - mean_g[j] - x[j] * mean_gx[j]);
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_output_is_normalised_and_running_stats_move() {
        let data: Vec<f32> = (0..2 * 5 * 3)
            .map(|i| (i as f32 * 0.7).sin() * 3.0 + 1.0)
            .collect();
        let a = Seq::from_vec(2, 5, 3, data).unwrap();
        let mut bn = TimeBatchNorm::new(3);
        let (z, _) = bn.forward_train(&a).unwrap();
        for j in 0..3 {
            let vals: Vec<f32> = z.data.iter().skip(j).step_by(3).copied().collect();
            let mean: f32 = vals.iter().sum::<f32>() / 10.0;
            let var: f32 = vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 10.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
                "{mean} {var}"
            );
            // running mean = 0.1 · batch mean
            let am: f32 = a.data.iter().skip(j).step_by(3).sum::<f32>() / 10.0;
            assert!((bn.running_mean[j] - 0.1 * am).abs() < 1e-6);
        }
    }

    #[test]
    fn eval_uses_running_statistics() {
        let mut bn = TimeBatchNorm::new(1);
        bn.running_mean[0] = 2.0;
        bn.running_var[0] = 4.0 - 1e-5;
        bn.gamma[0] = 3.0;
        bn.beta[0] = 0.5;
        let z = bn
            .forward_eval(&Seq::from_vec(1, 1, 1, vec![6.0]).unwrap())
            .unwrap();
        assert!((z.data[0] - (3.0 * 2.0 + 0.5)).abs() < 1e-5);
    }
}
