//! `Readout`: a LIF whose threshold (1e9) is never reached; its membrane is the network output
//! (method §9). `V[t] = V[t−1]·(1 − 1/τ) + I[t]` in training and `V[t−1] − V[t−1]/τ + I[t]` in
//! evaluation (the reference's two operation orders, see [`super::lif`]); backward
//! `g_I[t] = g_V[t] + carry`, `carry = g_I[t]·(1 − 1/τ)`.

use rayon::prelude::*;

use super::lif::Charge;
use crate::seq::Seq;

/// The non-spiking readout integrator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readout {
    /// Membrane time constant `τ` in steps.
    pub tau: f64,
}

impl Readout {
    /// One evaluation step of a layer: `V ← V − V/τ + I` per neuron (the event engine's).
    pub fn step(&self, v: &mut [f32], current: &[f32]) {
        let tau = self.tau as f32;
        for (v, &i) in v.iter_mut().zip(current) {
            *v = *v - *v / tau + i;
        }
    }

    /// Membrane sequence `V` for input currents `(B, T, C)`.
    pub fn forward(&self, input: &Seq, charge: Charge) -> Seq {
        let c = input.channels;
        let (decay, tau) = ((1.0 - 1.0 / self.tau) as f32, self.tau as f32);
        let mut v_seq = input.clone();
        v_seq
            .data
            .par_chunks_mut(input.sample_len().max(1))
            .for_each(|vb| {
                let mut v = vec![0.0f32; c];
                for row in vb.chunks_exact_mut(c) {
                    for j in 0..c {
                        v[j] = match charge {
                            Charge::Train => v[j] * decay + row[j],
                            Charge::Eval => v[j] - v[j] / tau + row[j],
                        };
                        row[j] = v[j];
                    }
                }
            });
        v_seq
    }

    /// `∂L/∂I` from `∂L/∂V`.
    pub fn backward(&self, g_v: &Seq) -> Seq {
        let c = g_v.channels;
        let t_len = g_v.steps;
        let decay = (1.0 - 1.0 / self.tau) as f32;
        let mut g_i = g_v.clone();
        g_i.data
            .par_chunks_mut(g_v.sample_len().max(1))
            .for_each(|gb| {
                let mut carry = vec![0.0f32; c];
                for t in (0..t_len).rev() {
                    for j in 0..c {
                        let g = gb[t * c + j] + carry[j];
                        gb[t * c + j] = g;
                        carry[j] = g * decay;
                    }
                }
            });
        g_i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaky_integration() {
        let r = Readout { tau: 2.0 };
        let v = r.forward(
            &Seq::from_vec(1, 3, 1, vec![1.0, 0.0, 2.0]).unwrap(),
            Charge::Eval,
        );
        assert_eq!(v.data, vec![1.0, 0.5, 2.25]);
        let g = r.backward(&Seq::from_vec(1, 3, 1, vec![0.0, 0.0, 1.0]).unwrap());
        assert_eq!(g.data, vec![0.25, 0.5, 1.0]);
    }
}
