//! `DclsLayer`: a fully connected layer whose synapses each carry a weight and a real-valued
//! position (delay), realised as a causal convolution over time (method §2–§6).
//!
//! Per synapse element `(o, i, k)` the kernel over taps `n = 0..D−1` is `W · ĝ_n(c)` with centre
//! `c = P + D//2`; tap `n` carries delay `d = D−1−n`, so `delay(P) = D//2 − P`.

use rand::RngExt;
use rayon::prelude::*;

pub use super::taps::KernelKind;
use super::taps::{ProfileCache, Sig, TapShape};
use crate::error::{Error, Result};
use crate::kernels::conv::narrow::InterleavedInput;
use crate::kernels::conv::spectral::{self, Spectra};
use crate::kernels::conv::{events, gemm, lowrank, narrow};
pub use crate::kernels::plan::{ConvPath, ConvPlan};
use crate::seq::Seq;

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
    /// Width parameter `SIG` (scheduled, not learned; one value for the layer).
    pub sig: Sig,
    /// Kernel construction in use.
    pub kind: KernelKind,
    /// The tap-profile family of the current shape, kept for the low-rank path.
    profiles: ProfileCache,
}

/// What a delay layer's training forward pass keeps for its backward pass.
#[derive(Debug, Clone)]
pub struct DclsCache {
    /// The input `x`, `(B, T, c_in)`.
    pub input: Seq,
    /// The dense kernel the pass used, `(c_in, D, c_out)`.
    pub kernel: Vec<f32>,
    /// How the convolutions are computed (the same for the backward pass).
    pub plan: ConvPlan,
    /// The input in the form the plan's backward pass reads, where it differs from `input`.
    kept: Option<KeptInput>,
}

/// A delay layer's input as its plan's backward pass reads it.
#[derive(Debug, Clone)]
enum KeptInput {
    /// The narrow path's interleaved copy.
    Interleaved(InterleavedInput),
    /// The spectral path's transforms.
    Spectra(Spectra),
}

/// Which gradients a delay layer's backward pass computes besides `∂L/∂W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradsWanted {
    /// `∂L/∂P` (positions that are learned).
    pub positions: bool,
    /// `∂L/∂x` (every layer but the first).
    pub input: bool,
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
        sig: Sig,
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
            profiles: ProfileCache::default(),
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

    /// Builds the dense kernel in the layout of `events`: `(c_in, D, c_out)`, indexed by delay.
    pub fn build_kernel(&self) -> Vec<f32> {
        let (c_in, c_out, taps, kc) = (self.c_in, self.c_out, self.taps, self.kernel_count);
        let mut k = vec![0.0f32; c_in * taps * c_out];
        k.par_chunks_mut(taps * c_out)
            .enumerate()
            .for_each(|(i, k_i)| {
                let shape = self.shape();
                let mut g = vec![0.0f32; taps];
                for o in 0..c_out {
                    for e in 0..kc {
                        let j = (o * c_in + i) * kc + e;
                        shape.weights(self.position[j], &mut g);
                        let w = self.weight[j];
                        for (n, &gn) in g.iter().enumerate() {
                            k_i[(taps - 1 - n) * c_out + o] += w * gn;
                        }
                    }
                }
            });
        k
    }

    /// The profile every element of this layer shares (kind, `SIG`, `D`).
    pub fn shape(&self) -> TapShape {
        TapShape {
            kind: self.kind,
            sig: self.sig,
            taps: self.taps,
        }
    }

    /// How this layer's convolutions will be computed for input `x` with kernel `kernel` (from
    /// [`Self::build_kernel`]) by `path`.
    pub fn plan(&self, x: &Seq, kernel: &[f32], path: ConvPath) -> ConvPlan {
        path.plan(x, kernel, self.taps, self.c_out, || {
            self.profiles.family(self.shape())
        })
    }

    /// Forward pass (method §2–§3): builds the kernel, plans by `path`, convolves.
    ///
    /// # Shapes
    /// - `x`: `(B, T, c_in)`
    /// - output: `(B, T + R, c_out)`, `R = (D−1)/2`
    pub fn forward(&self, x: &Seq, path: ConvPath) -> Result<Seq> {
        let kernel = self.build_kernel();
        let plan = self.plan(x, &kernel, path);
        Ok(self.forward_planned(x, &kernel, &plan)?.0)
    }

    /// [`Self::forward`] that also returns what the backward pass needs (it takes the input
    /// to keep it).
    pub fn forward_train(&self, x: Seq, path: ConvPath) -> Result<(Seq, DclsCache)> {
        let kernel = self.build_kernel();
        let plan = self.plan(&x, &kernel, path);
        let (a, kept) = self.forward_planned(&x, &kernel, &plan)?;
        let cache = DclsCache {
            input: x,
            kernel,
            plan,
            kept,
        };
        Ok((a, cache))
    }

    /// The forward pass with a given kernel and plan; also returns the input in the form the
    /// plan's backward pass reads, where that differs from `x`.
    fn forward_planned(
        &self,
        x: &Seq,
        kernel: &[f32],
        plan: &ConvPlan,
    ) -> Result<(Seq, Option<KeptInput>)> {
        self.check_input(x)?;
        let t_out = x.steps + self.right_pad();
        Ok(match plan {
            ConvPlan::Events { .. } => (
                events::forward_batch(x, kernel, self.taps, self.c_out, t_out),
                None,
            ),
            ConvPlan::Gemm => (gemm::forward(x, kernel, self.taps, self.c_out, t_out), None),
            ConvPlan::Narrow(nk) => {
                let xi = narrow::interleave_input(x, nk, t_out);
                let a = narrow::forward_interleaved(&xi, nk, t_out);
                (a, Some(KeptInput::Interleaved(xi)))
            }
            ConvPlan::LowRank(lk) => (lowrank::forward(x, lk, t_out), None),
            ConvPlan::Spectral { n } => {
                let xs = Spectra::of_seq(x, *n);
                let a = spectral::forward_spectra(&xs, kernel, self.taps, self.c_out, t_out);
                (a, Some(KeptInput::Spectra(xs)))
            }
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

    /// Backward pass from `∂L/∂a` (`ga`, `(B, T + R, c_out)`) with what [`Self::forward_train`]
    /// kept: adds `∂L/∂W` (and `∂L/∂P` when wanted) into `grads` and returns `∂L/∂x` when
    /// wanted (method §3, §5).
    pub fn backward(
        &self,
        ga: &Seq,
        cache: &DclsCache,
        grads: &mut DclsGrads,
        wanted: GradsWanted,
    ) -> Option<Seq> {
        let (taps, x, kernel) = (self.taps, &cache.input, &cache.kernel);
        let want_input = wanted.input;
        let (gk, gx) = match &cache.plan {
            ConvPlan::Narrow(nk) => match &cache.kept {
                Some(KeptInput::Interleaved(xi)) => {
                    narrow::backward_interleaved(xi, ga, nk, want_input)
                }
                _ => narrow::backward(x, ga, nk, want_input),
            },
            ConvPlan::Spectral { .. } => match &cache.kept {
                Some(KeptInput::Spectra(xs)) => {
                    spectral::backward_spectra(xs, x.steps, ga, kernel, taps, want_input)
                }
                _ => spectral::backward(x, ga, kernel, taps, want_input),
            },
            ConvPlan::LowRank(lk) => lowrank::backward(x, ga, lk, want_input),
            ConvPlan::Events { direct_input_grad } => (
                events::backward_kernel_batch(x, ga, taps),
                want_input.then(|| {
                    if *direct_input_grad {
                        events::backward_input_batch(ga, kernel, taps, self.c_in, x.steps)
                    } else {
                        gemm::backward_input(ga, kernel, taps, self.c_in, x.steps)
                    }
                }),
            ),
            ConvPlan::Gemm => (
                gemm::backward_kernel(x, ga, taps),
                want_input.then(|| gemm::backward_input(ga, kernel, taps, self.c_in, x.steps)),
            ),
        };
        self.kernel_param_grads(&gk, grads, wanted.positions);
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
                let shape = self.shape();
                let mut g = vec![0.0f32; taps];
                let mut gn_vec = vec![0.0f32; taps];
                for i in 0..c_in {
                    for n in 0..taps {
                        gn_vec[n] = gk[(i * taps + (taps - 1 - n)) * c_out + o];
                    }
                    for e in 0..kc {
                        let j = (o * c_in + i) * kc + e;
                        let p = self.position[j];
                        shape.weights(p, &mut g);
                        let gw: f32 = gn_vec.iter().zip(&g).map(|(a, b)| a * b).sum();
                        gw_o[i * kc + e] += gw;
                        if learn_positions {
                            gp_o[i * kc + e] +=
                                self.weight[j] * shape.position_factor(p, &g, &gn_vec);
                        }
                    }
                }
            });
    }

    /// Number of synapse elements `c_out · c_in · kc`.
    pub fn elements(&self) -> usize {
        self.weight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn layer(kind: KernelKind, sig: f32, taps: usize) -> DclsLayer {
        let sig = Sig::raw(sig);
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
        l.sig = Sig::raw(12.0);
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
        let mut l = DclsLayer::new(6, 5, 9, 1, KernelKind::Triangle, Sig::ZERO, &mut rng).unwrap();
        l.round_positions();
        let tri = l.build_kernel();
        l.kind = KernelKind::Integer;
        assert_eq!(tri, l.build_kernel());
    }

    #[test]
    fn init_positions_follow_floor_semantics() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let l = DclsLayer::new(50, 40, 25, 1, KernelKind::Gauss, Sig::raw(12.0), &mut rng).unwrap();
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
        let err =
            DclsLayer::new(2, 2, 24, 1, KernelKind::Gauss, Sig::raw(1.0), &mut rng).unwrap_err();
        assert!(err.to_string().contains("odd"), "{err}");
    }
}
