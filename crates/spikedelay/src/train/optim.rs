//! Adam with PyTorch semantics and coupled L2 weight decay (method §13).
//!
//! ```text
//! g ← g + λ·w;   m ← m + (1−β1)·(g − m);   v ← β2·v + (1−β2)·g²
//! w ← w − (lr/(1−β1^j)) · m / (√v/√(1−β2^j) + ε)          j = this optimiser's step count
//! ```
//! `β1` is whatever the schedule set for this epoch, and it is also the one in the bias correction.

use crate::device::AdamStep;
use crate::model::{Network, NetworkGrads, ParamId, ParamKind};

/// Per-tensor Adam moments.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamState {
    /// First moment `m`.
    pub m: Vec<f32>,
    /// Second moment `v`.
    pub v: Vec<f32>,
}

impl AdamState {
    /// Zero moments for a tensor of `len` values.
    pub fn zeros(len: usize) -> Self {
        AdamState {
            m: vec![0.0; len],
            v: vec![0.0; len],
        }
    }
}

/// One Adam optimiser: hyper-parameters and its step count.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate (set by the schedule each epoch).
    pub lr: f64,
    /// `β1` (set by the schedule each epoch when it cycles momentum).
    pub beta1: f64,
    /// `β2`. Default: 0.999.
    pub beta2: f64,
    /// `ε`. Default: 1e-8.
    pub eps: f64,
    /// Steps taken so far (`j` after [`Adam::begin_step`]).
    pub step: u64,
}

impl Adam {
    /// Adam with `lr`, betas `(0.9, 0.999)` and `ε = 1e-8`.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
        }
    }

    /// Counts one optimiser step; call once per batch before [`Adam::update`]ing its tensors.
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// This step's constants in float32, as [`Self::update`] and the device's Adam use them:
    /// `lr/(1−β₁ᵗ)`, `β₁`, `β₂`, `√(1−β₂ᵗ)`, `ε`.
    pub fn constants(&self) -> AdamStep {
        debug_assert!(self.step > 0, "begin_step must be called first");
        let j = self.step as i32;
        let bc1 = 1.0 - self.beta1.powi(j);
        AdamStep {
            step_size: (self.lr / bc1) as f32,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            bc2_sqrt: (1.0 - self.beta2.powi(j)).sqrt() as f32,
            eps: self.eps as f32,
        }
    }

    /// Updates one parameter tensor in place with its gradient and coupled L2 `weight_decay`.
    pub fn update(
        &self,
        param: &mut [f32],
        grad: &[f32],
        state: &mut AdamState,
        weight_decay: f32,
    ) {
        let AdamStep {
            step_size,
            beta1: b1,
            beta2: b2,
            bc2_sqrt,
            eps,
        } = self.constants();
        for (((w, &g0), m), v) in param
            .iter_mut()
            .zip(grad)
            .zip(&mut state.m)
            .zip(&mut state.v)
        {
            let g = if weight_decay != 0.0 {
                g0 + weight_decay * *w
            } else {
                g0
            };
            *m += (1.0 - b1) * (g - *m);
            *v = *v * b2 + (1.0 - b2) * g * g;
            let denom = v.sqrt() / bc2_sqrt + eps;
            *w -= step_size * *m / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        // With bias correction, Adam's first step is lr·g/(|g| + ε') ≈ lr·sign(g).
        let mut adam = Adam::new(0.1);
        adam.begin_step();
        let mut w = vec![1.0f32, -2.0];
        let mut st = AdamState::zeros(2);
        adam.update(&mut w, &[0.5, -3.0], &mut st, 0.0);
        assert!(
            (w[0] - 0.9).abs() < 1e-6 && (w[1] + 1.9).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn coupled_weight_decay_enters_the_gradient() {
        let mut adam = Adam::new(1e-3);
        adam.begin_step();
        let mut w = vec![2.0f32];
        let mut st = AdamState::zeros(1);
        adam.update(&mut w, &[0.0], &mut st, 0.5);
        // g = 0 + 0.5·2 = 1 → m = 0.1, v = 0.001 → step = 1e-3
        assert!(
            (st.m[0] - 0.1).abs() < 1e-6 && (st.v[0] - 0.001).abs() < 1e-7,
            "{st:?}"
        );
        assert!((w[0] - (2.0 - 1e-3)).abs() < 1e-6);
    }

    #[test]
    fn two_steps_match_hand_computation() {
        let mut adam = Adam::new(0.01);
        adam.beta1 = 0.85;
        let mut w = vec![0.0f32];
        let mut st = AdamState::zeros(1);
        adam.begin_step();
        adam.update(&mut w, &[1.0], &mut st, 0.0);
        adam.begin_step();
        adam.update(&mut w, &[-1.0], &mut st, 0.0);
        // by hand in f64
        let (b1, b2) = (0.85f64, 0.999f64);
        let (mut m, mut v, mut x) = (0.0f64, 0.0f64, 0.0f64);
        for (j, g) in [(1, 1.0f64), (2, -1.0)] {
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            x -= 0.01 / (1.0 - b1.powi(j)) * m / ((v / (1.0 - b2.powi(j))).sqrt() + 1e-8);
        }
        assert!((w[0] as f64 - x).abs() < 1e-6, "{} vs {x}", w[0]);
    }
}

/// The two optimisers of method §13 with their per-tensor moments: optimiser 1 over delay-layer
/// weights (coupled L2) and BatchNorm γ/β (no decay), optimiser 2 over positions. Tensors are
/// walked by the network's parameter visitor ([`Network::params_mut`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkOptimizer {
    /// Optimiser 1 (weights, BatchNorm).
    pub weights: Adam,
    /// Optimiser 2 (positions), betas (0.9, 0.999).
    pub positions: Adam,
    /// Moments of each trained tensor, in the visitor's order, with its identity.
    pub states: Vec<(ParamId, AdamState)>,
}

impl NetworkOptimizer {
    /// Fresh optimisers for `net` (learning rates are set by the schedules each epoch).
    pub fn new(net: &Network) -> Self {
        NetworkOptimizer {
            weights: Adam::new(1e-3),
            positions: Adam::new(0.1),
            states: net
                .params()
                .into_iter()
                .filter(|(id, _)| id.kind.group().is_some())
                .map(|(id, v)| (id, AdamState::zeros(v.len())))
                .collect(),
        }
    }

    /// One step of both optimisers (optimiser 1, then 2; they touch different tensors), then
    /// the position clamp (method §14.4).
    pub fn step(&mut self, net: &mut Network, grads: &NetworkGrads, weight_decay: f32) {
        let learn_positions = net.config.delays.learns_positions();
        self.weights.begin_step();
        if learn_positions {
            self.positions.begin_step();
        }
        let trained = net
            .params_mut()
            .into_iter()
            .filter(|(id, _)| id.kind.group().is_some());
        for ((id, values), (state_id, state)) in trained.zip(&mut self.states) {
            debug_assert_eq!(&id, state_id, "optimiser state follows the parameters");
            let g = grads.of(&id).expect("trained tensors have gradients");
            match id.kind {
                ParamKind::Weight => self.weights.update(values, g, state, weight_decay),
                ParamKind::Gamma | ParamKind::Beta => self.weights.update(values, g, state, 0.0),
                ParamKind::Position if learn_positions => {
                    self.positions.update(values, g, state, 0.0)
                }
                _ => {}
            }
        }
        net.clamp_positions();
    }
}
