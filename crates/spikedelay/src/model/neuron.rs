//! The neuron seam: what a spiking neuron model gives every engine (method §9). The training
//! network and the dense evaluation call [`Neuron::forward`] / [`Neuron::backward`] over whole
//! sequences; the event engine, its streams and the integer-delay network call
//! [`Neuron::step`] one step of a layer at a time. Every engine takes its hidden neuron from
//! [`HiddenNeuron`], built from the network configuration by [`Neuron::of`].
//!
//! Adding a neuron model (an adaptive LIF, say) is one type implementing [`Neuron`] here: its
//! state size, its per-step update, its sequence forward (both charge orders) and backward
//! (checked against finite differences like [`Lif`]'s), and its parameters in
//! [`super::NetworkConfig`]; `HiddenNeuron` then names it. The exports describe LIF neurons in
//! their targets' own terms (`export/deployed.rs`) and say what else a target needs. The tests
//! below run a test-only adaptive LIF through the event engine.

use super::lif::{Charge, Lif, SpikeFn};
use super::network::NetworkConfig;
use crate::seq::Seq;

/// A spiking neuron model.
pub trait Neuron: Copy + Send + Sync + std::fmt::Debug + PartialEq {
    /// Floats of state per neuron (LIF: its membrane).
    const STATE: usize;

    /// The hidden neuron of a network of `config`; `spike_fn` chooses the forward output
    /// (gradient checks use a smooth one).
    fn of(config: &NetworkConfig, spike_fn: SpikeFn) -> Self;

    /// One evaluation step of a layer of `current.len()` neurons: charges each with its input
    /// current, fires and resets; `state` holds [`Neuron::STATE`] floats per neuron, neuron by
    /// neuron, zero at the start. `fired` receives the neurons that spiked (cleared first).
    fn step(&self, state: &mut [f32], current: &[f32], fired: &mut Vec<u32>);

    /// Over `(B, T, C)` input currents: the spikes, and what [`Neuron::backward`] reads.
    fn forward(&self, input: &Seq, charge: Charge) -> (Seq, Seq);

    /// `∂L/∂I` from `∂L/∂s` and what the forward pass kept.
    fn backward(&self, g_s: &Seq, kept: &Seq) -> Seq;
}

/// The neuron every engine runs in hidden layers.
pub type HiddenNeuron = Lif;

impl Neuron for Lif {
    const STATE: usize = 1;

    fn of(config: &NetworkConfig, spike_fn: SpikeFn) -> Self {
        Lif {
            tau: config.tau,
            v_threshold: config.v_threshold,
            spike_fn,
        }
    }

    /// `v ← v − v/τ + I`; spike when `v − v_th ≥ 0`, then `v ← 0` (the evaluation charge).
    fn step(&self, state: &mut [f32], current: &[f32], fired: &mut Vec<u32>) {
        let (tau, th) = (self.tau as f32, self.v_threshold);
        // Charge every neuron first (a branch-free loop that vectorises), then fire and reset:
        // the same arithmetic per neuron as one loop.
        for (v, &i) in state.iter_mut().zip(current) {
            *v = *v - *v / tau + i;
        }
        fired.clear();
        for (o, v) in state.iter_mut().enumerate() {
            if *v - th >= 0.0 {
                *v = 0.0;
                fired.push(o as u32);
            }
        }
    }

    fn forward(&self, input: &Seq, charge: Charge) -> (Seq, Seq) {
        Lif::forward(self, input, charge)
    }

    fn backward(&self, g_s: &Seq, kept: &Seq) -> Seq {
        Lif::backward(self, g_s, kept)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A test-only adaptive LIF: each spike raises the threshold by `jump`, which decays back
    /// with time constant `tau_a`. State: membrane, threshold adaptation.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct AdaptiveLif {
        pub lif: Lif,
        pub jump: f32,
        pub tau_a: f32,
    }

    impl Neuron for AdaptiveLif {
        const STATE: usize = 2;

        fn of(config: &NetworkConfig, spike_fn: SpikeFn) -> Self {
            AdaptiveLif {
                lif: Lif::of(config, spike_fn),
                jump: 0.5,
                tau_a: 4.0,
            }
        }

        fn step(&self, state: &mut [f32], current: &[f32], fired: &mut Vec<u32>) {
            let (tau, th) = (self.lif.tau as f32, self.lif.v_threshold);
            fired.clear();
            for (o, (s, &i)) in state.chunks_exact_mut(2).zip(current).enumerate() {
                let (v, a) = (s[0] - s[0] / tau + i, s[1] - s[1] / self.tau_a);
                let fire = v - (th + a) >= 0.0;
                s[0] = if fire { 0.0 } else { v };
                s[1] = if fire { a + self.jump } else { a };
                if fire {
                    fired.push(o as u32);
                }
            }
        }

        fn forward(&self, input: &Seq, _charge: Charge) -> (Seq, Seq) {
            let c = input.channels;
            let mut spikes = Seq::zeros(input.batch, input.steps, c);
            for b in 0..input.batch {
                let mut state = vec![0.0; 2 * c];
                let mut fired = Vec::new();
                for (row, out) in input
                    .sample(b)
                    .chunks_exact(c)
                    .zip(spikes.sample_mut(b).chunks_exact_mut(c))
                {
                    self.step(&mut state, row, &mut fired);
                    fired.iter().for_each(|&o| out[o as usize] = 1.0);
                }
            }
            (spikes, input.clone())
        }

        fn backward(&self, _g_s: &Seq, _kept: &Seq) -> Seq {
            unimplemented!("the test neuron is run, not trained")
        }
    }

    /// The contract every neuron keeps: stepping a sequence gives its evaluation forward pass.
    fn steps_equal_the_sequence<N: Neuron>(n: N) {
        let c = 3;
        let data: Vec<f32> = (0..40 * c)
            .map(|k| ((k * 7 % 11) as f32 - 3.0) * 0.3)
            .collect();
        let input = Seq::from_vec(1, 40, c, data).unwrap();
        let (spikes, _) = n.forward(&input, Charge::Eval);
        let mut state = vec![0.0; N::STATE * c];
        let mut fired = Vec::new();
        for (row, want) in input
            .sample(0)
            .chunks_exact(c)
            .zip(spikes.sample(0).chunks_exact(c))
        {
            n.step(&mut state, row, &mut fired);
            let got: Vec<f32> = (0..c as u32)
                .map(|o| f32::from(u8::from(fired.contains(&o))))
                .collect();
            assert_eq!(got, want);
        }
        assert!(spikes.density() > 0.05, "the input makes neurons fire");
    }

    #[test]
    fn lif_and_an_adaptive_lif_keep_the_neuron_contract() {
        let lif = Lif::new(1.5, 1.0);
        steps_equal_the_sequence(lif);
        steps_equal_the_sequence(AdaptiveLif {
            lif,
            jump: 0.5,
            tau_a: 4.0,
        });
    }
}
