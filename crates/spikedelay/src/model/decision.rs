//! The class decision and the loss on it (method §12): the readout's membranes give a per-step
//! softmax, summed over time; its argmax is the decision and its cross-entropy the loss.
//!
//! ```text
//! φ[t,b,:] = softmax(V[t,b,:]);   m[b,:] = Σ_t φ[t,b,:];   q[b,:] = softmax(m[b,:])
//! loss     = (1/B) Σ_b −log q[b, y_b];   pred[b] = argmax_c m[b,c]
//! g_m      = (q − onehot(y))/B;          g_V[t,b,c] = φ[t,b,c]·(g_m[b,c] − Σ_c' g_m[b,c']·φ[t,b,c'])
//! ```
//!
//! Training sums over every step of the padded batch, as the reference does. Evaluation sums
//! each sample over its own steps only (`Σ_{t < T_b}`, [`sum_softmax_cross_entropy_within`]), so
//! a decision does not depend on what else is in the batch (method §15).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::seq::Seq;

/// Loss value, predictions and (optionally) the gradient on the membranes.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Predicted class per sample.
    pub predictions: Vec<usize>,
    /// `∂loss/∂V`, `(B, T, C)`, when requested.
    pub grad: Option<Seq>,
    /// Each sample's loss (their mean is `loss`).
    pub sample_losses: Vec<f64>,
}

impl LossOutput {
    /// Number of predictions equal to `labels`.
    pub fn correct(&self, labels: &[usize]) -> usize {
        self.predictions
            .iter()
            .zip(labels)
            .filter(|(p, y)| p == y)
            .count()
    }
}

/// The first index of the largest value (the decision's argmax).
pub fn argmax(m: &[f32]) -> usize {
    m.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (j, &mj)| {
            if mj > bv { (j, mj) } else { (bi, bv) }
        })
        .0
}

/// `pred[b] = argmax_c Σ_t softmax(V[t,b,:])_c` for each sample of `v` over its first
/// `steps[b]` steps (every step without `steps`), without the loss.
pub fn decisions(v: &Seq, steps: Option<&[usize]>) -> Vec<usize> {
    let c = v.shape().2;
    (0..v.shape().0)
        .map(|b| {
            let mut d = RunningDecision::new(c);
            let own = steps.map_or(v.steps, |s| s[b].min(v.steps));
            for row in v.sample(b).chunks_exact(c).take(own) {
                d.add(row);
            }
            d.decision().unwrap_or(0)
        })
        .collect()
}

/// The decision built one step at a time, as a stream makes it: `m += softmax(v_t)` in f32, in
/// the order the batch decision sums, so both decide alike.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningDecision {
    scores: Vec<f32>,
    phi: Vec<f32>,
    steps: usize,
}

impl RunningDecision {
    /// No steps yet, over `classes` classes.
    pub fn new(classes: usize) -> Self {
        RunningDecision {
            scores: vec![0.0; classes],
            phi: vec![0.0; classes],
            steps: 0,
        }
    }

    /// Adds one step's readout membranes `v_t`.
    pub fn add(&mut self, v: &[f32]) {
        softmax_into(v, &mut self.phi);
        for (s, &p) in self.scores.iter_mut().zip(&self.phi) {
            *s += p;
        }
        self.steps += 1;
    }

    /// `m = Σ_t softmax(v_t)` so far.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// `argmax m` (the first class among equal scores); `None` before any step.
    pub fn decision(&self) -> Option<usize> {
        (self.steps > 0).then(|| argmax(&self.scores))
    }

    /// Steps added.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

/// `out = softmax(x)` in f32, as the decision computes it (streaming reuses it to decide alike).
pub fn softmax_into(x: &[f32], out: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0.0f32;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - max).exp();
        z += *o;
    }
    out.iter_mut().for_each(|o| *o /= z);
}

/// Computes the loss of membranes `v` (`(B, T, C)`) against `labels`, every step of every
/// sample counted (training, and the reference's padded evaluation).
pub fn sum_softmax_cross_entropy(v: &Seq, labels: &[usize], want_grad: bool) -> Result<LossOutput> {
    loss(v, labels, None, want_grad, v.batch)
}

/// [`sum_softmax_cross_entropy`] of one shard of a batch of `batch` samples: the gradient is
/// that of the whole batch's mean loss (`1/batch` per sample); `loss` is the shard's own mean.
pub fn sum_softmax_cross_entropy_shard(
    v: &Seq,
    labels: &[usize],
    batch: usize,
) -> Result<LossOutput> {
    loss(v, labels, None, true, batch)
}

/// The loss and decisions of membranes `v` (`(B, T, C)`) with sample `b` summed over its first
/// `steps[b]` steps only (its own input plus the tail; method §15), without a gradient.
pub fn sum_softmax_cross_entropy_within(
    v: &Seq,
    labels: &[usize],
    steps: &[usize],
) -> Result<LossOutput> {
    v.check_lengths(steps)?;
    loss(v, labels, Some(steps), false, v.batch)
}

fn loss(
    v: &Seq,
    labels: &[usize],
    steps: Option<&[usize]>,
    want_grad: bool,
    batch: usize,
) -> Result<LossOutput> {
    let (b_len, t_len, c) = v.shape();
    if labels.len() != b_len {
        return Err(Error::shape("loss labels", b_len, labels.len()));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= c) {
        return Err(Error::shape(
            "loss label (class index)",
            format!("< {c}"),
            bad,
        ));
    }
    let inv_b = 1.0 / batch as f32;
    let per_sample: Vec<(f64, usize, Option<Vec<f32>>)> = v
        .data
        .par_chunks(v.sample_len().max(1))
        .zip(labels.par_iter())
        .enumerate()
        .map(|(b, (vb, &y))| {
            let own = steps.map_or(t_len, |s| s[b]);
            let mut phi = vec![0.0f32; t_len * c];
            let mut m = vec![0.0f32; c];
            for (row, out) in vb.chunks_exact(c).zip(phi.chunks_exact_mut(c)).take(own) {
                softmax_into(row, out);
                for (mj, &p) in m.iter_mut().zip(out.iter()) {
                    *mj += p;
                }
            }
            let mut q = vec![0.0f32; c];
            softmax_into(&m, &mut q);
            let max = m.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = max as f64
                + m.iter()
                    .map(|&mj| ((mj - max) as f64).exp())
                    .sum::<f64>()
                    .ln();
            let loss = lse - m[y] as f64;
            let pred = argmax(&m);
            let grad = want_grad.then(|| {
                let gm: Vec<f32> = (0..c)
                    .map(|j| (q[j] - (j == y) as u8 as f32) * inv_b)
                    .collect();
                let mut g = phi;
                for row in g.chunks_exact_mut(c) {
                    let dotp: f32 = row.iter().zip(&gm).map(|(p, g)| p * g).sum();
                    for (p, &gmj) in row.iter_mut().zip(&gm) {
                        *p *= gmj - dotp;
                    }
                }
                g
            });
            (loss, pred, grad)
        })
        .collect();
    let sample_losses: Vec<f64> = per_sample.iter().map(|s| s.0).collect();
    let loss = mean_loss(&sample_losses);
    let predictions = per_sample.iter().map(|s| s.1).collect();
    let grad = if want_grad {
        let mut data = Vec::with_capacity(v.data.len());
        for s in per_sample {
            data.extend(s.2.expect("gradient requested"));
        }
        Some(Seq::from_vec(b_len, t_len, c, data)?)
    } else {
        None
    };
    Ok(LossOutput {
        loss,
        predictions,
        grad,
        sample_losses,
    })
}

/// The mean of per-sample losses, added in sample order (the same figure however the batch
/// was split into shards).
pub fn mean_loss(sample_losses: &[f64]) -> f64 {
    sample_losses.iter().sum::<f64>() / sample_losses.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let data: Vec<f32> = (0..2 * 3 * 4)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.4)
            .collect();
        let v = Seq::from_vec(2, 3, 4, data).unwrap();
        let labels = [1, 3];
        let out = sum_softmax_cross_entropy(&v, &labels, true).unwrap();
        let g = out.grad.unwrap();
        let eps = 1e-2;
        for k in 0..v.data.len() {
            let mut p = v.clone();
            p.data[k] += eps;
            let mut m = v.clone();
            m.data[k] -= eps;
            let lp = sum_softmax_cross_entropy(&p, &labels, false).unwrap().loss;
            let lm = sum_softmax_cross_entropy(&m, &labels, false).unwrap().loss;
            let fd = (lp - lm) / (2.0 * eps as f64);
            assert!(
                (fd - g.data[k] as f64).abs() < 1e-4,
                "k={k}: fd {fd} vs {}",
                g.data[k]
            );
        }
    }

    #[test]
    fn uniform_membranes_give_log_c() {
        let v = Seq::zeros(1, 5, 4);
        let out = sum_softmax_cross_entropy(&v, &[2], false).unwrap();
        assert!((out.loss - 4f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn a_sample_within_its_steps_is_decided_as_if_alone() {
        let data: Vec<f32> = (0..2 * 5 * 3)
            .map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.3)
            .collect();
        let v = Seq::from_vec(2, 5, 3, data).unwrap();
        let labels = [2, 0];
        let within = sum_softmax_cross_entropy_within(&v, &labels, &[3, 5]).unwrap();
        // Sample 0 alone, cut to its 3 steps; sample 1 whole.
        let first = Seq::from_vec(1, 3, 3, v.sample(0)[..9].to_vec()).unwrap();
        let second = Seq::from_vec(1, 5, 3, v.sample(1).to_vec()).unwrap();
        let a = sum_softmax_cross_entropy(&first, &labels[..1], false).unwrap();
        let b = sum_softmax_cross_entropy(&second, &labels[1..], false).unwrap();
        assert_eq!(within.predictions, vec![a.predictions[0], b.predictions[0]]);
        assert_eq!(within.loss, (a.loss + b.loss) / 2.0);
        assert_eq!(decisions(&v, Some(&[3, 5])), within.predictions);
        // A step count beyond the tensor is refused.
        assert!(sum_softmax_cross_entropy_within(&v, &labels, &[6, 5]).is_err());
    }

    #[test]
    fn the_running_decision_equals_the_batch_decision() {
        let data: Vec<f32> = (0..7 * 4)
            .map(|i| ((i * 3 % 7) as f32 - 3.0) * 0.7)
            .collect();
        let v = Seq::from_vec(1, 7, 4, data).unwrap();
        let mut d = RunningDecision::new(4);
        assert_eq!(d.decision(), None);
        for row in v.sample(0).chunks_exact(4) {
            d.add(row);
        }
        assert_eq!(d.decision(), Some(decisions(&v, None)[0]));
        assert_eq!(d.steps(), 7);
    }

    #[test]
    fn out_of_range_label_is_an_error() {
        let v = Seq::zeros(1, 2, 3);
        assert!(sum_softmax_cross_entropy(&v, &[3], false).is_err());
    }
}
