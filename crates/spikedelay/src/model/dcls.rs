//! `DclsLayer`: a fully connected layer whose synapses each carry a weight and a real-valued
//! position (delay), realised as a causal convolution over time (method §2–§6).
//!
//! Per synapse element `(o, i, k)` the kernel over taps `n = 0..D−1` is `W · ĝ_n(c)` with centre
//! `c = P + D//2`; tap `n` carries delay `d = D−1−n`, so `delay(P) = D//2 − P`.

use std::sync::{Arc, Mutex};

use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::conv_plan::{ConvPath, ConvPlan};

use crate::error::{Error, Result};
use crate::kernels::narrow_conv::InterleavedInput;
use crate::kernels::tap_basis::FamilyBasis;
use crate::kernels::{delay_conv, gemm_conv};
use crate::kernels::{lowrank_conv, narrow_conv};
use crate::seq::Seq;

/// Offset added to `|SIG|` to get the Gaussian's standard deviation: `s = |SIG| + 0.27` (§4.1).
pub const GAUSS_SIGMA_OFFSET: f32 = 0.27;
/// Offset added to `|SIG|` to get the triangle's half-width: `s' = |SIG| + 1` (§4.2).
pub const TRIANGLE_WIDTH_OFFSET: f32 = 1.0;
/// The reference's normalisation guard: `ĝ = g / (Σ g + 1e-7)`.
pub const NORM_EPS: f32 = 1e-7;
/// Gaussian taps with `½((n−c)/s)² >` this are set to zero before normalisation: they would be
/// below 1e-26 of the peak (irrelevant at any tolerance) and would otherwise feed float
/// denormals into the hot loops (see `shared/spec/crates.md`).
const GAUSS_CUT: f32 = 60.0;

/// How a synapse's weight is spread over the `D` taps (method §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelKind {
    /// Normalised Gaussian of std `|SIG| + 0.27` (training, §4.1).
    Gauss,
    /// Normalised triangle of half-width `|SIG| + 1`; the reference's `max` (evaluation, §4.2).
    Triangle,
    /// One weight `W/(1+1e-7)` at the rounded position (§4.3); positions get no gradient.
    Integer,
    /// One weight `W`, unnormalised, at the rounded position: the reference's plain `Linear`
    /// layer of the no-delay ablation (with `D = 1`); positions get no gradient.
    Linear,
}

/// A delay layer's parameters. Weight and position tensors have shape `(c_out, c_in, kc)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DclsLayer {
    /// Input channels `C_in`.
    pub c_in: usize,
    /// Output channels `C_out`.
    pub c_out: usize,
    /// Number of taps `D` (odd); delays run over `0..D`.
    pub taps: usize,
    /// Kernel elements per synapse `KC`.
    pub kernel_count: usize,
    /// Synaptic weights `W`, `(c_out, c_in, kc)`.
    pub weight: Vec<f32>,
    /// Positions `P ∈ [−D//2, D//2]`, `(c_out, c_in, kc)`; delay `= D//2 − P`.
    pub position: Vec<f32>,
    /// Raw width parameter `SIG` (scheduled, not learned; one value for the layer).
    pub sig: f32,
    /// Kernel construction in use.
    pub kind: KernelKind,
}

/// Gradients of a [`DclsLayer`]'s parameters, same shapes as the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DclsGrads {
    /// `∂L/∂W`.
    pub weight: Vec<f32>,
    /// `∂L/∂P` (zero when positions are not learned).
    pub position: Vec<f32>,
}

impl DclsGrads {
    /// Zero gradients for `layer`.
    pub fn zeros(layer: &DclsLayer) -> Self {
        DclsGrads {
            weight: vec![0.0; layer.weight.len()],
            position: vec![0.0; layer.position.len()],
        }
    }
}

impl DclsLayer {
    /// A layer initialised as the reference does (method §6): weights Kaiming-uniform with ReLU
    /// gain, `U(−√(6/fan_in), √(6/fan_in))`; positions `U((−D)//2, D//2)` (floor semantics:
    /// `U(−13, 12)` for `D = 25`) then clamped to `±D//2`.
    pub fn new(
        c_in: usize,
        c_out: usize,
        taps: usize,
        kernel_count: usize,
        kind: KernelKind,
        sig: f32,
        rng: &mut impl rand::Rng,
    ) -> Result<Self> {
        if taps == 0 || taps.is_multiple_of(2) {
            return Err(Error::config(
                "max_delay",
                format!("needs an odd tap count D ≥ 1, got {taps}"),
            ));
        }
        if c_in == 0 || c_out == 0 || kernel_count == 0 {
            return Err(Error::config(
                "model",
                format!(
                    "layer sizes must be positive, got {c_in}→{c_out} with kernel_count {kernel_count}"
                ),
            ));
        }
        let n = c_out * c_in * kernel_count;
        let bound = (6.0 / (c_in * kernel_count) as f64).sqrt() as f32;
        let weight = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
        let half = (taps / 2) as f32;
        let lo = -(taps as f32 / 2.0).ceil(); // (−D)//2 with floor division
        let position = (0..n)
            .map(|_| {
                if taps == 1 {
                    0.0
                } else {
                    rng.random_range(lo..half)
                }
            })
            .collect();
        let mut layer = DclsLayer {
            c_in,
            c_out,
            taps,
            kernel_count,
            weight,
            position,
            sig,
            kind,
        };
        layer.clamp_positions();
        Ok(layer)
    }

    /// `D//2`: the largest position, and the delay of position 0.
    pub fn half(&self) -> usize {
        self.taps / 2
    }

    /// Right padding `R = (D−1)//2`: the output is `R` steps longer than the input.
    pub fn right_pad(&self) -> usize {
        (self.taps - 1) / 2
    }

    /// Clamps positions to `[−D//2, D//2]` (method §8).
    pub fn clamp_positions(&mut self) {
        let h = self.half() as f32;
        for p in &mut self.position {
            *p = p.clamp(-h, h);
        }
    }

    /// Rounds positions half-to-even and clamps them (method §15 step 4).
    pub fn round_positions(&mut self) {
        for p in &mut self.position {
            *p = p.round_ties_even();
        }
        self.clamp_positions();
    }

    /// Integer delay of element `j` (flat index), after rounding: `D//2 − round(P)`.
    pub fn delay_of(&self, j: usize) -> usize {
        let h = self.half() as f32;
        (h - self.position[j].round_ties_even().clamp(-h, h)) as usize
    }

    /// Builds the dense kernel in the layout of [`delay_conv`]: `(c_in, D, c_out)`, indexed by delay.
    pub fn build_kernel(&self) -> Vec<f32> {
        let (c_in, c_out, taps, kc) = (self.c_in, self.c_out, self.taps, self.kernel_count);
        let mut k = vec![0.0f32; c_in * taps * c_out];
        k.par_chunks_mut(taps * c_out)
            .enumerate()
            .for_each(|(i, k_i)| {
                let mut g = vec![0.0f32; taps];
                for o in 0..c_out {
                    for e in 0..kc {
                        let j = (o * c_in + i) * kc + e;
                        self.tap_weights(self.position[j], &mut g);
                        let w = self.weight[j];
                        for (n, &gn) in g.iter().enumerate() {
                            k_i[(taps - 1 - n) * c_out + o] += w * gn;
                        }
                    }
                }
            });
        k
    }

    /// The normalised tap profile `ĝ_n` (`n = 0..D`) of one element at position `p`.
    fn tap_weights(&self, p: f32, g: &mut [f32]) {
        let c = p + self.half() as f32;
        match self.kind {
            KernelKind::Gauss => {
                let s = self.sig.abs() + GAUSS_SIGMA_OFFSET;
                let mut z = 0.0f32;
                for (n, gn) in g.iter_mut().enumerate() {
                    let u = (n as f32 - c) / s;
                    let arg = 0.5 * u * u;
                    *gn = if arg > GAUSS_CUT { 0.0 } else { (-arg).exp() };
                    z += *gn;
                }
                let z = z + NORM_EPS;
                g.iter_mut().for_each(|gn| *gn /= z);
            }
            KernelKind::Triangle => {
                let s = self.sig.abs() + TRIANGLE_WIDTH_OFFSET;
                let mut z = 0.0f32;
                for (n, gn) in g.iter_mut().enumerate() {
                    *gn = (s - (n as f32 - c).abs()).max(0.0);
                    z += *gn;
                }
                let z = z + NORM_EPS;
                g.iter_mut().for_each(|gn| *gn /= z);
            }
            KernelKind::Integer | KernelKind::Linear => {
                g.iter_mut().for_each(|gn| *gn = 0.0);
                let h = self.half() as f32;
                let n = (p.round_ties_even().clamp(-h, h) + h) as usize;
                g[n] = if self.kind == KernelKind::Linear {
                    1.0
                } else {
                    1.0 / (1.0 + NORM_EPS)
                };
            }
        }
    }

    /// The tap profiles of this layer's kernel shape (its σ and kind) at positions every 1/8
    /// tap, as a [`FamilyBasis`] for the low-rank path; `None` for one-tap kinds. Computed once
    /// per shape and kept (σ changes once per epoch).
    pub(super) fn profile_family(&self) -> Option<Arc<FamilyBasis>> {
        type Key = (usize, KernelKind, u32);
        static CACHE: Mutex<Vec<(Key, Arc<FamilyBasis>)>> = Mutex::new(Vec::new());
        if matches!(self.kind, KernelKind::Integer | KernelKind::Linear) || self.taps < 3 {
            return None;
        }
        let key = (self.taps, self.kind, self.sig.to_bits());
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, f)) = cache.iter().find(|(k, _)| *k == key) {
            return Some(f.clone());
        }
        let h = self.half() as f32;
        let mut g = vec![0.0f32; self.taps];
        let mut rows = Vec::new();
        for j in 0..=8 * (self.taps - 1) {
            self.tap_weights(j as f32 / 8.0 - h, &mut g);
            let peak = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            rows.extend(g.iter().map(|&v| f64::from(v / peak)));
        }
        let family = Arc::new(FamilyBasis::new(&rows, self.taps));
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((key, family.clone()));
        Some(family)
    }

    /// How this layer's convolutions will be computed for input `x` with kernel `kernel` (from
    /// [`Self::build_kernel`]) by `path`; pass it to [`Self::forward_with`] and
    /// [`Self::backward_with`].
    pub fn plan(&self, x: &Seq, kernel: &[f32], path: ConvPath) -> ConvPlan {
        path.plan(self, x, kernel)
    }

    /// Forward pass (method §2–§3). `x` is `(B, T, c_in)`; returns `(B, T + R, c_out)`.
    /// `kernel` comes from [`Self::build_kernel`].
    pub fn forward(&self, x: &Seq, kernel: &[f32], path: ConvPath) -> Result<Seq> {
        self.check_input(x)?;
        self.forward_with(x, kernel, &self.plan(x, kernel, path))
    }

    /// [`Self::forward`] with a plan made by [`Self::plan`] for this input and kernel.
    pub fn forward_with(&self, x: &Seq, kernel: &[f32], plan: &ConvPlan) -> Result<Seq> {
        Ok(self.forward_keeping(x, kernel, plan)?.0)
    }

    /// [`Self::forward_with`], also returning the input in the form the plan's backward pass
    /// reads, where that differs from `x` (the narrow path's interleaved layout): pass it to
    /// [`Self::backward_kept`] so it is not made twice.
    pub fn forward_keeping(
        &self,
        x: &Seq,
        kernel: &[f32],
        plan: &ConvPlan,
    ) -> Result<(Seq, Option<InterleavedInput>)> {
        self.check_input(x)?;
        let t_out = x.steps + self.right_pad();
        Ok(match plan {
            ConvPlan::Events { .. } => (
                delay_conv::forward_batch(x, kernel, self.taps, self.c_out, t_out),
                None,
            ),
            ConvPlan::Gemm => (
                gemm_conv::forward(x, kernel, self.taps, self.c_out, t_out),
                None,
            ),
            ConvPlan::Narrow(nk) => {
                let xi = narrow_conv::interleave_input(x, nk, t_out);
                (narrow_conv::forward_interleaved(&xi, nk, t_out), Some(xi))
            }
            ConvPlan::LowRank(lk) => (lowrank_conv::forward(x, lk, t_out), None),
        })
    }

    fn check_input(&self, x: &Seq) -> Result<()> {
        if x.channels != self.c_in {
            return Err(Error::shape(
                "delay layer input channels",
                self.c_in,
                x.channels,
            ));
        }
        Ok(())
    }

    /// Backward pass. Adds `∂L/∂W` (and `∂L/∂P` when `learn_positions`) into `grads` and returns
    /// `∂L/∂x` when `want_input` (method §3, §5).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        x: &Seq,
        ga: &Seq,
        kernel: &[f32],
        grads: &mut DclsGrads,
        learn_positions: bool,
        want_input: bool,
        path: ConvPath,
    ) -> Option<Seq> {
        let plan = self.plan(x, kernel, path);
        self.backward_with(x, ga, kernel, &plan, grads, learn_positions, want_input)
    }

    /// [`Self::backward`] with the plan the forward pass used.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_with(
        &self,
        x: &Seq,
        ga: &Seq,
        kernel: &[f32],
        plan: &ConvPlan,
        grads: &mut DclsGrads,
        learn_positions: bool,
        want_input: bool,
    ) -> Option<Seq> {
        self.backward_kept(
            x,
            None,
            ga,
            kernel,
            plan,
            grads,
            learn_positions,
            want_input,
        )
    }

    /// [`Self::backward_with`] given what [`Self::forward_keeping`] kept of the input `x`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_kept(
        &self,
        x: &Seq,
        kept: Option<&InterleavedInput>,
        ga: &Seq,
        kernel: &[f32],
        plan: &ConvPlan,
        grads: &mut DclsGrads,
        learn_positions: bool,
        want_input: bool,
    ) -> Option<Seq> {
        let taps = self.taps;
        let (gk, gx) = match plan {
            ConvPlan::Narrow(nk) => match kept {
                Some(xi) => narrow_conv::backward_interleaved(xi, ga, nk, want_input),
                None => narrow_conv::backward(x, ga, nk, want_input),
            },
            ConvPlan::LowRank(lk) => lowrank_conv::backward(x, ga, lk, want_input),
            ConvPlan::Events { direct_input_grad } => (
                delay_conv::backward_kernel_batch(x, ga, taps),
                want_input.then(|| {
                    if *direct_input_grad {
                        delay_conv::backward_input_batch(ga, kernel, taps, self.c_in, x.steps)
                    } else {
                        gemm_conv::backward_input(ga, kernel, taps, self.c_in, x.steps)
                    }
                }),
            ),
            ConvPlan::Gemm => (
                gemm_conv::backward_kernel(x, ga, taps),
                want_input.then(|| gemm_conv::backward_input(ga, kernel, taps, self.c_in, x.steps)),
            ),
        };
        self.kernel_param_grads(&gk, grads, learn_positions);
        gx
    }

    /// Chain rule from the dense-kernel gradient `G` (`(c_in, D, c_out)`) to `W` and `P`
    /// (closed forms of method §5):
    ///
    /// gauss:    ∂L/∂W = Σ_n G_n ĝ_n,  ∂L/∂P = (W/s²) Σ_n G_n ĝ_n ((n−c) − A),  A = Σ_m ĝ_m (m−c)
    /// triangle: ∂L/∂W = Σ_n G_n ĥ_n,  ∂L/∂P = (W/Z) Σ_n G_n (δ_n − ĥ_n Σ_m δ_m),  δ_n = χ_n·sign(n−c)
    /// integer:  ∂L/∂W = G_c/(1+1e-7), ∂L/∂P = 0   (linear: ∂L/∂W = G_c)
    pub fn kernel_param_grads(&self, gk: &[f32], grads: &mut DclsGrads, learn_positions: bool) {
        let (c_in, c_out, taps, kc) = (self.c_in, self.c_out, self.taps, self.kernel_count);
        let row = c_in * kc;
        grads
            .weight
            .par_chunks_mut(row)
            .zip(grads.position.par_chunks_mut(row))
            .enumerate()
            .for_each(|(o, (gw_o, gp_o))| {
                let mut g = vec![0.0f32; taps];
                let mut gn_vec = vec![0.0f32; taps];
                for i in 0..c_in {
                    for n in 0..taps {
                        gn_vec[n] = gk[(i * taps + (taps - 1 - n)) * c_out + o];
                    }
                    for e in 0..kc {
                        let j = (o * c_in + i) * kc + e;
                        let p = self.position[j];
                        self.tap_weights(p, &mut g);
                        let gw: f32 = gn_vec.iter().zip(&g).map(|(a, b)| a * b).sum();
                        gw_o[i * kc + e] += gw;
                        if learn_positions {
                            gp_o[i * kc + e] +=
                                self.weight[j] * self.position_factor(p, &g, &gn_vec);
                        }
                    }
                }
            });
    }

    /// `∂(Σ_n G_n ĝ_n)/∂P` for one element with profile `g` (divided by `W`).
    fn position_factor(&self, p: f32, g: &[f32], gn: &[f32]) -> f32 {
        let c = p + self.half() as f32;
        match self.kind {
            KernelKind::Gauss => {
                let s = self.sig.abs() + GAUSS_SIGMA_OFFSET;
                let a: f32 = g
                    .iter()
                    .enumerate()
                    .map(|(m, &gm)| gm * (m as f32 - c))
                    .sum();
                let sum: f32 = g
                    .iter()
                    .zip(gn)
                    .enumerate()
                    .map(|(n, (&gh, &gv))| gv * gh * ((n as f32 - c) - a))
                    .sum();
                sum / (s * s)
            }
            KernelKind::Triangle => {
                let s = self.sig.abs() + TRIANGLE_WIDTH_OFFSET;
                let mut h_sum = 0.0f32;
                let mut delta_sum = 0.0f32;
                for n in 0..self.taps {
                    let dn = n as f32 - c;
                    let h = (s - dn.abs()).max(0.0);
                    h_sum += h;
                    if h > 0.0 {
                        delta_sum += sign0(dn);
                    }
                }
                let z = h_sum + NORM_EPS;
                let mut sum = 0.0f32;
                for n in 0..self.taps {
                    let dn = n as f32 - c;
                    let delta = if s - dn.abs() > 0.0 { sign0(dn) } else { 0.0 };
                    sum += gn[n] * (delta - g[n] * delta_sum);
                }
                sum / z
            }
            KernelKind::Integer | KernelKind::Linear => 0.0,
        }
    }

    /// Number of synapse elements `c_out · c_in · kc`.
    pub fn elements(&self) -> usize {
        self.weight.len()
    }
}

/// `sign` with `sign(0) = 0`, as `torch.sign`.
fn sign0(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn layer(kind: KernelKind, sig: f32, taps: usize) -> DclsLayer {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        DclsLayer::new(1, 1, taps, 1, kind, sig, &mut rng).unwrap()
    }

    /// Taps `n = 0..D` of a single-synapse kernel (undoing the delay-major layout).
    fn taps_of(l: &DclsLayer) -> Vec<f32> {
        let k = l.build_kernel();
        (0..l.taps).map(|n| k[l.taps - 1 - n]).collect()
    }

    #[test]
    fn gauss_check_values_of_the_spec() {
        // method §4.1: D = 25, s = 0.5, integer c: centre 0.786571, neighbours 0.106451, ±2: 2.639e-4.
        let mut l = layer(KernelKind::Gauss, 0.23, 25);
        l.weight[0] = 1.0;
        l.position[0] = 0.0;
        let t = taps_of(&l);
        assert!((t[12] - 0.786571).abs() < 1e-6, "{}", t[12]);
        assert!((t[11] - 0.106451).abs() < 1e-6 && (t[13] - 0.106451).abs() < 1e-6);
        assert!((t[10] - 2.639e-4).abs() < 1e-7);
        // s = 12.27, c = 12: centre 0.04700, tap 0 0.02913.
        l.sig = 12.0;
        let t = taps_of(&l);
        assert!((t[12] - 0.04700).abs() < 1e-5 && (t[0] - 0.02913).abs() < 1e-5);
    }

    #[test]
    fn triangle_interpolates_between_taps() {
        // method §4.2: SIG = 0, c = 12.3 gives 0.7 at tap 12 and 0.3 at tap 13.
        let mut l = layer(KernelKind::Triangle, 0.0, 25);
        l.weight[0] = 1.0;
        l.position[0] = 0.3;
        let t = taps_of(&l);
        assert!((t[12] - 0.7).abs() < 1e-6 && (t[13] - 0.3).abs() < 1e-6);
        assert_eq!(t.iter().filter(|&&v| v != 0.0).count(), 2);
    }

    #[test]
    fn delay_mapping_matches_the_spec() {
        // method §3: D = 25, p = +12 → delay 0, p = 0 → 12, p = −12 → 24.
        let mut l = layer(KernelKind::Integer, 0.0, 25);
        for (p, d) in [
            (12.0, 0),
            (0.0, 12),
            (-12.0, 24),
            (0.5, 12),
            (1.5, 10),
            (-0.5, 12),
        ] {
            l.position[0] = p;
            assert_eq!(l.delay_of(0), d, "p = {p}");
            l.weight[0] = 1.0;
            let k = l.build_kernel();
            assert!(k[d] > 0.99, "p = {p}: kernel {k:?}");
        }
    }

    #[test]
    fn triangle_at_zero_width_equals_integer_kernel_bitwise() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut l = DclsLayer::new(6, 5, 9, 1, KernelKind::Triangle, 0.0, &mut rng).unwrap();
        l.round_positions();
        let tri = l.build_kernel();
        l.kind = KernelKind::Integer;
        assert_eq!(tri, l.build_kernel());
    }

    #[test]
    fn init_positions_follow_floor_semantics() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let l = DclsLayer::new(50, 40, 25, 1, KernelKind::Gauss, 12.0, &mut rng).unwrap();
        let at_min = l.position.iter().filter(|&&p| p == -12.0).count() as f64 / 2000.0;
        assert!(l.position.iter().all(|&p| (-12.0..=12.0).contains(&p)));
        // U(−13, 12) clamped: 1/25 = 4 % at −12.
        assert!((at_min - 0.04).abs() < 0.015, "{at_min}");
        let bound = (6.0f32 / 50.0).sqrt();
        assert!(l.weight.iter().all(|w| w.abs() <= bound));
    }

    #[test]
    fn even_tap_count_is_rejected() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let err = DclsLayer::new(2, 2, 24, 1, KernelKind::Gauss, 1.0, &mut rng).unwrap_err();
        assert!(err.to_string().contains("odd"), "{err}");
    }
}
