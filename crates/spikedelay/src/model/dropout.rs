//! `SeqDropout`: one Bernoulli mask per (sample, neuron), shared by all time steps (method §11).
//!
//! Mask values are `0` (probability `p`) or `1/(1−p)`; identity at evaluation; the backward pass
//! multiplies by the same mask.

use rand::RngExt;
use rayon::prelude::*;

use crate::seq::Seq;

/// Sequence-shared dropout with drop probability `p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqDropout {
    /// Drop probability `p ∈ [0, 1)`.
    pub p: f32,
}

impl SeqDropout {
    /// Draws a `(B, C)` mask.
    pub fn mask(&self, batch: usize, channels: usize, rng: &mut impl rand::Rng) -> Vec<f32> {
        let keep = 1.0 / (1.0 - self.p);
        (0..batch * channels)
            .map(|_| {
                if self.p > 0.0 && rng.random::<f32>() < self.p {
                    0.0
                } else {
                    keep
                }
            })
            .collect()
    }

    /// Multiplies every time step of sample `b`, channel `c` by `mask[b·C + c]`, in place. Used for
    /// the forward pass and, with the same mask, for the backward pass.
    pub fn apply(x: &mut Seq, mask: &[f32]) {
        let c = x.channels;
        let n = x.sample_len().max(1);
        x.data
            .par_chunks_mut(n)
            .zip(mask.par_chunks(c.max(1)))
            .for_each(|(xb, mb)| {
                for row in xb.chunks_exact_mut(c) {
                    for (v, m) in row.iter_mut().zip(mb) {
                        *v *= m;
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mask_is_shared_over_time_and_scaled() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let d = SeqDropout { p: 0.4 };
        let mask = d.mask(50, 40, &mut rng);
        let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / 2000.0;
        assert!((dropped - 0.4).abs() < 0.04, "{dropped}");
        assert!(
            mask.iter()
                .all(|&m| m == 0.0 || (m - 1.0 / 0.6).abs() < 1e-6)
        );
        let mut x = Seq::from_vec(1, 3, 2, vec![1.0; 6]).unwrap();
        SeqDropout::apply(&mut x, &[0.0, 2.0]);
        assert_eq!(x.data, vec![0.0, 2.0, 0.0, 2.0, 0.0, 2.0]);
    }
}
