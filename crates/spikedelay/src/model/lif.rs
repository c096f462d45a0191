//! `Lif`: leaky integrate-and-fire neurons with a hard reset and the ATan surrogate (method §9).
//!
//! Forward, per neuron, `v[−1] = 0`, `decay_input = False`, `v_reset = 0`:
//! ```text
//! h[t] = v[t−1]·(1 − 1/τ) + I[t]          (training: spikingjelly's BaseNode charge)
//! h[t] = v[t−1] − v[t−1]/τ + I[t]         (evaluation: spikingjelly's multi-step eval kernel)
//! s[t] = 1 if h[t] − v_th ≥ 0 else 0
//! v[t] = h[t]·(1 − s[t])
//! ```
//! The two charge formulas are equal in exact arithmetic; each is computed in the reference's
//! operation order so that float results agree. Backward through time with the reset detached:
//! ```text
//! gh[t] = g_s[t]·ψ(h[t] − v_th) + carry·(1 − s[t]);   g_I[t] = gh[t];   carry = gh[t]·(1 − 1/τ)
//! ψ(x)  = (α/2) / (1 + (π/2·α·x)²),  α = 5
//! ```

use rayon::prelude::*;

use crate::kernels::simd::multiversion;
use crate::seq::Seq;

/// ATan surrogate sharpness `α`.
pub const ATAN_ALPHA: f32 = 5.0;

/// The ATan surrogate derivative `ψ(x) = (α/2)/(1 + (π/2·α·x)²)`.
#[inline]
pub fn atan_surrogate(x: f32) -> f32 {
    let u = std::f32::consts::FRAC_PI_2 * ATAN_ALPHA * x;
    (ATAN_ALPHA / 2.0) / (1.0 + u * u)
}

/// The surrogate's primitive `arctan(π/2·α·x)/π + 1/2`, a smooth stand-in for the step.
#[inline]
pub fn atan_primitive(x: f32) -> f32 {
    (std::f32::consts::FRAC_PI_2 * ATAN_ALPHA * x).atan() / std::f32::consts::PI + 0.5
}

/// Which of the reference's two (mathematically equal) charge formulas to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// `h = v·(1 − 1/τ) + I` (training mode).
    Train,
    /// `h = v − v/τ + I` (evaluation mode).
    Eval,
}

/// What the LIF forward emits as its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpikeFn {
    /// Spikes in {0, 1} (the method).
    #[default]
    Heaviside,
    /// The surrogate's primitive in (0, 1), with the reset still driven by the Heaviside spike.
    /// Its exact derivative is what the surrogate backward computes, so finite differences can
    /// check backpropagation through time; used by the gradient-check tests only.
    SmoothForGradcheck,
}

/// A layer of LIF neurons (parameters only; state lives in the forward pass).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lif {
    /// Membrane time constant `τ` in time steps (> 1).
    pub tau: f64,
    /// Firing threshold `v_th`. Default: 1.
    pub v_threshold: f32,
    /// Forward output function.
    pub spike_fn: SpikeFn,
}

multiversion! {
    /// One sample's LIF recurrence over `(T, C)` rows: charge (`TRAIN`: `v·decay + I`, else
    /// `v − v/τ + I`), fire at `h ≥ v_th`, hard reset to 0. Written per variant so the channel loop
    /// has no branches on the variant and vectorises.
    fn lif_sample<V, const TRAIN: bool, const SMOOTH: bool>(
        s_b: &mut [f32],
        h_b: &mut [f32],
        i_b: &[f32],
        c: usize,
        decay: f32,
        tau: f32,
        th: f32,
    ) {
        let mut v = vec![0.0f32; c];
        for ((s_row, h_row), i_row) in s_b
            .chunks_exact_mut(c)
            .zip(h_b.chunks_exact_mut(c))
            .zip(i_b.chunks_exact(c))
        {
            for (((s, h), &i), v) in s_row
                .iter_mut()
                .zip(h_row.iter_mut())
                .zip(i_row)
                .zip(&mut v)
            {
                let hj = if TRAIN {
                    *v * decay + i
                } else {
                    *v - *v / tau + i
                };
                let fire = hj - th >= 0.0;
                *h = hj;
                *s = if SMOOTH {
                    atan_primitive(hj - th)
                } else {
                    f32::from(u8::from(fire))
                };
                *v = if fire { 0.0 } else { hj };
            }
        }
    }
}

multiversion! {
    /// One sample's LIF backward recurrence over `(T, C)` rows, last step first: the surrogate
    /// gradient at `h`, plus the carried membrane gradient where the neuron did not fire.
    fn lif_sample_backward<V>(
        gi_b: &mut [f32],
        gs_b: &[f32],
        h_b: &[f32],
        c: usize,
        decay: f32,
        th: f32,
    ) {
        let mut carry = vec![0.0f32; c];
        for t in (0..gs_b.len() / c.max(1)).rev() {
            let row = t * c..(t + 1) * c;
            let (gi, gs, hr) = (&mut gi_b[row.clone()], &gs_b[row.clone()], &h_b[row]);
            for (((gi, &gs), &h), carry) in gi.iter_mut().zip(gs).zip(hr).zip(&mut carry) {
                let x = h - th;
                let keep = if x >= 0.0 { 0.0 } else { 1.0 };
                let gh = gs * atan_surrogate(x) + *carry * keep;
                *gi = gh;
                *carry = gh * decay;
            }
        }
    }
}

impl Lif {
    /// LIF with time constant `tau` (steps) and threshold `v_threshold`.
    pub fn new(tau: f64, v_threshold: f32) -> Self {
        Lif {
            tau,
            v_threshold,
            spike_fn: SpikeFn::Heaviside,
        }
    }

    /// Membrane decay per step `1 − 1/τ` (computed in f64, as the reference's Python float).
    pub fn decay(&self) -> f32 {
        (1.0 - 1.0 / self.tau) as f32
    }

    /// Forward over `(B, T, C)` input currents with the given charge formula. Returns the spikes
    /// and the pre-reset membrane `h` (kept for the backward pass).
    pub fn forward(&self, input: &Seq, charge: Charge) -> (Seq, Seq) {
        let c = input.channels;
        let n = input.sample_len().max(1);
        let mut spikes = Seq::zeros(input.batch, input.steps, c);
        let mut h = Seq::zeros(input.batch, input.steps, c);
        let (decay, tau, th, spike_fn) = (
            self.decay(),
            self.tau as f32,
            self.v_threshold,
            self.spike_fn,
        );
        spikes
            .data
            .par_chunks_mut(n)
            .zip(h.data.par_chunks_mut(n))
            .zip(input.data.par_chunks(n))
            .for_each(|((s_b, h_b), i_b)| match (charge, spike_fn) {
                (Charge::Train, SpikeFn::Heaviside) => {
                    lif_sample::<true, false>(s_b, h_b, i_b, c, decay, tau, th)
                }
                (Charge::Eval, SpikeFn::Heaviside) => {
                    lif_sample::<false, false>(s_b, h_b, i_b, c, decay, tau, th)
                }
                (Charge::Train, SpikeFn::SmoothForGradcheck) => {
                    lif_sample::<true, true>(s_b, h_b, i_b, c, decay, tau, th)
                }
                (Charge::Eval, SpikeFn::SmoothForGradcheck) => {
                    lif_sample::<false, true>(s_b, h_b, i_b, c, decay, tau, th)
                }
            });
        (spikes, h)
    }

    /// Backward: `∂L/∂I` from `∂L/∂s` and the cached `h`.
    pub fn backward(&self, g_s: &Seq, h: &Seq) -> Seq {
        let c = g_s.channels;
        let t_len = g_s.steps;
        let decay = self.decay();
        let th = self.v_threshold;
        let n = g_s.sample_len().max(1);
        let mut g_i = Seq::zeros(g_s.batch, t_len, c);
        g_i.data
            .par_chunks_mut(n)
            .zip(g_s.data.par_chunks(n))
            .zip(h.data.par_chunks(n))
            .for_each(|((gi_b, gs_b), h_b)| lif_sample_backward(gi_b, gs_b, h_b, c, decay, th));
        g_i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_fires_and_resets() {
        let lif = Lif::new(2.0, 1.0);
        let input = Seq::from_vec(1, 4, 1, vec![0.6, 0.8, 0.3, 1.0]).unwrap();
        let (s, h) = lif.forward(&input, Charge::Eval);
        assert_eq!(lif.forward(&input, Charge::Train).0, s);
        // h0 = .6; h1 = .6 − .3 + .8 = 1.1 → spike, v = 0; h2 = .3; h3 = .3 − .15 + 1 = 1.15 → spike
        assert_eq!(s.data, vec![0.0, 1.0, 0.0, 1.0]);
        let expect = [0.6, 1.1, 0.3, 1.15];
        for (a, b) in h.data.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn surrogate_check_values() {
        assert_eq!(atan_surrogate(0.0), 2.5);
        assert!(
            (atan_surrogate(0.1) - 2.5 / (1.0 + std::f32::consts::FRAC_PI_4.powi(2))).abs() < 1e-6
        );
        assert!((atan_primitive(0.0) - 0.5).abs() < 1e-7);
    }
}
