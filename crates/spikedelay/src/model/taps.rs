//! How one synapse element's weight is spread over the `D` taps (docs/method.md §4), the
//! derivative of that spread with respect to its position (§5), and the tap-profile family the
//! low-rank path computes with (docs/design.md §2).
//!
//! Every element of a layer shares one [`TapShape`] (kind, width `SIG`, taps `D`); only its
//! centre `c = P + D//2` differs.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::kernels::conv::tap_basis::FamilyBasis;

/// Offset added to `|SIG|` to get the Gaussian's standard deviation: `s = |SIG| + 0.27` (§4.1).
pub const GAUSS_SIGMA_OFFSET: f32 = 0.27;
/// Offset added to `|SIG|` to get the triangle's half-width: `s' = |SIG| + 1` (§4.2).
pub const TRIANGLE_WIDTH_OFFSET: f32 = 1.0;
/// The reference's normalisation guard: `ĝ = g / (Σ g + 1e-7)`.
pub const NORM_EPS: f32 = 1e-7;
/// Gaussian taps with `½((n−c)/s)² >` this are set to zero before normalisation: they would be
/// below 1e-26 of the peak (irrelevant at any tolerance) and would otherwise feed float
/// denormals into the hot loops (docs/design.md §5).
const GAUSS_CUT: f32 = 60.0;

/// The width parameter of a layer's kernels (method §4, §7): the raw `SIG` that the σ schedule
/// sets, checkpoints store and the reference prints, and the widths the kernels use, the
/// Gaussian's standard deviation `σ = |SIG| + 0.27` and the triangle's half-width `|SIG| + 1`.
/// The conversion between raw and effective is written here only.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sig(f32);

impl Sig {
    /// `SIG = 0`: the rounded (evaluation) model's, and the integer kernels'.
    pub const ZERO: Sig = Sig(0.0);

    /// A raw `SIG`.
    pub const fn raw(sig: f32) -> Self {
        Sig(sig)
    }

    /// The `SIG` whose Gaussian has standard deviation `sigma` (`sigma ≥ 0.27`).
    pub fn from_gauss_width(sigma: f32) -> Self {
        Sig(sigma - GAUSS_SIGMA_OFFSET)
    }

    /// The raw value.
    pub fn value(self) -> f32 {
        self.0
    }

    /// The Gaussian's standard deviation `σ = |SIG| + 0.27` (§4.1).
    pub fn gauss_width(self) -> f32 {
        self.0.abs() + GAUSS_SIGMA_OFFSET
    }

    /// The triangle's half-width `|SIG| + 1` (§4.2).
    pub fn triangle_width(self) -> f32 {
        self.0.abs() + TRIANGLE_WIDTH_OFFSET
    }
}

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

/// The tap profile shared by every element of a layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TapShape {
    /// Kernel construction.
    pub kind: KernelKind,
    /// Width parameter `SIG`.
    pub sig: Sig,
    /// Taps `D` (odd).
    pub taps: usize,
}

impl TapShape {
    /// `D//2`: the largest position.
    fn half(&self) -> f32 {
        (self.taps / 2) as f32
    }

    /// The normalised profile `ĝ_n` (`n = 0..D`) of one element at position `p` into `g`.
    pub fn weights(&self, p: f32, g: &mut [f32]) {
        let c = p + self.half();
        match self.kind {
            KernelKind::Gauss => {
                let s = self.sig.gauss_width();
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
                let s = self.sig.triangle_width();
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
                let h = self.half();
                let n = (p.round_ties_even().clamp(-h, h) + h) as usize;
                g[n] = if self.kind == KernelKind::Linear {
                    1.0
                } else {
                    1.0 / (1.0 + NORM_EPS)
                };
            }
        }
    }

    /// `∂(Σ_n G_n ĝ_n)/∂P` for one element at `p` with profile `g` and dense-kernel gradient
    /// `gn` over its taps, divided by its weight (method §5):
    ///
    /// gauss:    `(1/s²) Σ_n G_n ĝ_n ((n−c) − A)`,  `A = Σ_m ĝ_m (m−c)`
    /// triangle: `(1/Z) Σ_n G_n (δ_n − ĥ_n Σ_m δ_m)`,  `δ_n = χ_n·sign(n−c)`
    /// integer, linear: 0.
    pub fn position_factor(&self, p: f32, g: &[f32], gn: &[f32]) -> f32 {
        let c = p + self.half();
        match self.kind {
            KernelKind::Gauss => {
                let s = self.sig.gauss_width();
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
                let s = self.sig.triangle_width();
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

    /// The profiles of this shape at positions every 1/8 tap, each scaled to a peak of 1, as a
    /// `FamilyBasis` for the low-rank path; `None` for one-tap kinds.
    pub fn profile_family(&self) -> Option<FamilyBasis> {
        if matches!(self.kind, KernelKind::Integer | KernelKind::Linear) || self.taps < 3 {
            return None;
        }
        let h = self.half();
        let mut g = vec![0.0f32; self.taps];
        let mut rows = Vec::new();
        for j in 0..=8 * (self.taps - 1) {
            self.weights(j as f32 / 8.0 - h, &mut g);
            let peak = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            rows.extend(g.iter().map(|&v| f64::from(v / peak)));
        }
        Some(FamilyBasis::new(&rows, self.taps))
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

/// One layer's tap-profile family, computed when first asked for a shape and kept until the
/// shape changes (σ changes once per epoch). A clone starts with the same family; comparisons
/// ignore the cache.
#[derive(Default)]
pub struct ProfileCache(Mutex<Option<(TapShape, Option<Arc<FamilyBasis>>)>>);

impl ProfileCache {
    /// The family of `shape`, from the cache when it was made for the same shape.
    pub fn family(&self, shape: TapShape) -> Option<Arc<FamilyBasis>> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((s, f)) if *s == shape => f.clone(),
            _ => {
                let f = shape.profile_family().map(Arc::new);
                *slot = Some((shape, f.clone()));
                f
            }
        }
    }
}

impl Clone for ProfileCache {
    fn clone(&self) -> Self {
        let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        ProfileCache(Mutex::new(slot.clone()))
    }
}

impl PartialEq for ProfileCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ProfileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProfileCache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_follows_the_shape() {
        let cache = ProfileCache::default();
        let wide = TapShape {
            kind: KernelKind::Gauss,
            sig: Sig::raw(12.0),
            taps: 25,
        };
        let a = cache.family(wide).unwrap();
        assert!(Arc::ptr_eq(&a, &cache.family(wide).unwrap()));
        let narrow = TapShape {
            sig: Sig::raw(0.23),
            ..wide
        };
        let b = cache.family(narrow).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        let integer = TapShape {
            kind: KernelKind::Integer,
            ..wide
        };
        assert!(cache.family(integer).is_none());
    }
}
