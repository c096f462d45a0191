//! The class decision and the loss on it (method §12): the readout's membranes give a per-step
//! softmax, summed over time; its argmax is the decision and its cross-entropy the loss.
//!
//! ```text
//! φ[t,b,:] = softmax(V[t,b,:]);   m[b,:] = Σ_t φ[t,b,:];   q[b,:] = softmax(m[b,:])
//! loss     = (1/B) Σ_b −log q[b, y_b];   pred[b] = argmax_c m[b,c]
//! g_m      = (q − onehot(y))/B;          g_V[t,b,c] = φ[t,b,c]·(g_m[b,c] − Σ_c' g_m[b,c']·φ[t,b,c'])
//! ```

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

/// `pred[b] = argmax_c Σ_t softmax(V[t,b,:])_c` for each sample of `v`, without the loss.
pub fn decisions(v: &Seq) -> Vec<usize> {
    let c = v.shape().2;
    let mut phi = vec![0.0f32; c];
    (0..v.shape().0)
        .map(|b| {
            let mut m = vec![0.0f32; c];
            for row in v.sample(b).chunks_exact(c) {
                softmax_into(row, &mut phi);
                m.iter_mut().zip(&phi).for_each(|(a, p)| *a += p);
            }
            argmax(&m)
        })
        .collect()
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

/// Computes the loss of membranes `v` (`(B, T, C)`) against `labels`.
pub fn sum_softmax_cross_entropy(v: &Seq, labels: &[usize], want_grad: bool) -> Result<LossOutput> {
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
    let inv_b = 1.0 / b_len as f32;
    let per_sample: Vec<(f64, usize, Option<Vec<f32>>)> = v
        .data
        .par_chunks(v.sample_len().max(1))
        .zip(labels.par_iter())
        .map(|(vb, &y)| {
            let mut phi = vec![0.0f32; t_len * c];
            let mut m = vec![0.0f32; c];
            for (row, out) in vb.chunks_exact(c).zip(phi.chunks_exact_mut(c)) {
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
    let loss = per_sample.iter().map(|s| s.0).sum::<f64>() / b_len as f64;
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
    })
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
    fn out_of_range_label_is_an_error() {
        let v = Seq::zeros(1, 2, 3);
        assert!(sum_softmax_cross_entropy(&v, &[3], false).is_err());
    }
}
