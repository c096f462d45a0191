//! `TapBasis`: a few orthonormal tap profiles that span every synapse's kernel of a layer.
//!
//! While σ is wide, a normalised Gaussian over `D` taps is smooth, and all of a layer's
//! kernels (one Gaussian per synapse, at its own position) lie, to within `1e-6` of their peak,
//! in a subspace of `R ≪ D` dimensions: `R = 7` of `D = 25` at σ = D/2, 9 at σ ≈ 7, 13 at
//! σ ≈ 4.4. With an orthonormal basis `V` (`R × D`) of that subspace each kernel row `k_{i,·,o}`
//! is its `R` coefficients `K̃[(q, i), o] = Σ_d V[q, d] · k[i, d, o]`, and the convolution
//! becomes `R` fixed filters per input channel followed by one product with inner dimension
//! `R·C_in` instead of `D·C_in` ([`super::lowrank`]).
//!
//! The candidate profiles are the right singular vectors of the kernel shape's family (the
//! profile at many positions, each scaled to peak 1; [`FamilyBasis`]), by one-sided Jacobi in
//! `f64`, computed once per shape. Every row of the actual kernel is then checked: the rank is
//! the smallest `R` for which each row's residual `k − Vᵀ V k` stays within [`BASIS_REL_TOL`]
//! of the row's peak (in `f64`). No fit is returned when that needs more than the caller's
//! `max_rank`, so any kernel is either represented within the tolerance or left to another
//! path.

use rayon::prelude::*;

/// Largest residual a kernel row may keep outside the basis, relative to the row's peak (the
/// narrow path's tap cut, [`super::narrow::NARROW_REL_CUT`], is the same).
pub const BASIS_REL_TOL: f64 = 1e-6;

/// Rows checked one by one before all rows are checked in parallel.
const PROBE_ROWS: usize = 64;

/// Orthonormal tap profiles `V` (`rank × taps`, indexed by delay) and a kernel's coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct TapBasis {
    /// Taps `D`.
    pub taps: usize,
    /// Profiles `R`.
    pub rank: usize,
    /// `V[q, d]`, row-major `rank × taps`.
    pub v: Vec<f32>,
}

/// The right singular vectors of a family of tap profiles, most significant first: the
/// candidates from which [`FamilyBasis::fit`] takes as many as a kernel needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyBasis {
    /// Taps `D`.
    pub taps: usize,
    /// `taps × taps`, row `q` the `q`-th singular vector.
    vt: Vec<f64>,
}

/// Right singular vectors of `a` (`m × n`, row-major), ordered by decreasing singular value,
/// as rows of an `n × n` matrix, by one-sided (Hestenes) Jacobi rotations.
fn right_singular_vectors(a: &[f64], m: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    // Work on columns: u[j] is column j of A·V, v[j] column j of V.
    let mut u: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..m).map(|r| a[r * n + j]).collect())
        .collect();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..n).map(|r| f64::from(u8::from(r == j))).collect())
        .collect();
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha: f64 = u[p].iter().map(|x| x * x).sum();
                let beta: f64 = u[q].iter().map(|x| x * x).sum();
                let gamma: f64 = u[p].iter().zip(&u[q]).map(|(x, y)| x * y).sum();
                if gamma.abs() <= 1e-15 * (alpha * beta).sqrt() || gamma == 0.0 {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for cols in [&mut u, &mut v] {
                    let (lo, hi) = cols.split_at_mut(q);
                    for (x, y) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
                        let (xp, yq) = (*x, *y);
                        *x = c * xp - s * yq;
                        *y = s * xp + c * yq;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: Vec<f64> = u
        .iter()
        .map(|col| col.iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| norms[y].total_cmp(&norms[x]));
    let vt = order.iter().flat_map(|&j| v[j].clone()).collect();
    let s = order.iter().map(|&j| norms[j]).collect();
    (vt, s)
}

impl FamilyBasis {
    /// The basis of the profiles `rows` (`m × taps`, row-major, e.g. one kernel shape at many
    /// positions, each scaled to peak 1).
    pub fn new(rows: &[f64], taps: usize) -> Self {
        assert!(taps > 0 && rows.len().is_multiple_of(taps));
        let (vt, _) = right_singular_vectors(rows, rows.len() / taps, taps);
        FamilyBasis { taps, vt }
    }

    /// The smallest prefix of at most `max_rank` profiles that holds every row of `k`
    /// (`(c_in, taps, c_out)`) within [`BASIS_REL_TOL`] of its peak, with the rows'
    /// coefficients `K̃` (`((q, i), o)`, row-major `rank·c_in × c_out`); `None` when more
    /// profiles would be needed (`max_rank ≥ taps` is treated as `taps − 1`: no saving).
    pub fn fit(
        &self,
        k: &[f32],
        c_in: usize,
        c_out: usize,
        max_rank: usize,
    ) -> Option<(TapBasis, Vec<f32>)> {
        let taps = self.taps;
        let max_rank = max_rank.min(taps.saturating_sub(1));
        if max_rank == 0 || k.len() != c_in * taps * c_out {
            return None;
        }
        let rows = c_in * c_out;
        let vt = &self.vt[..max_rank * taps];
        // The rank row r needs; None where it is above max_rank.
        let needs = |r: usize| {
            let (i, o) = (r / c_out, r % c_out);
            let mut res: Vec<f64> = (0..taps)
                .map(|d| f64::from(k[(i * taps + d) * c_out + o]))
                .collect();
            let peak = res.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            let tol = BASIS_REL_TOL * peak;
            for q in 0..=max_rank {
                if res.iter().all(|x| x.abs() <= tol) {
                    return Some(q);
                }
                if q < max_rank {
                    let vq = &vt[q * taps..(q + 1) * taps];
                    let c: f64 = res.iter().zip(vq).map(|(x, y)| x * y).sum();
                    res.iter_mut().zip(vq).for_each(|(x, y)| *x -= c * y);
                }
            }
            None
        };
        // A spread sample first, so that a kernel needing too many profiles (narrow σ, every
        // batch of the late phase) is turned down for the cost of a few rows.
        let step = rows.div_ceil(PROBE_ROWS).max(1);
        (0..rows)
            .step_by(step)
            .try_for_each(|r| needs(r).map(drop))?;
        let needed = (0..rows)
            .into_par_iter()
            .map(needs)
            .try_reduce(|| 0, |a, b| Some(a.max(b)))?;
        let rank = needed.max(1);
        let basis = TapBasis {
            taps,
            rank,
            v: vt[..rank * taps].iter().map(|&x| x as f32).collect(),
        };
        let coeffs = basis.project(k, c_in, c_out);
        Some((basis, coeffs))
    }
}

impl TapBasis {
    /// Coefficients `K̃[(q, i), o] = Σ_d V[q, d] · k[i, d, o]` of a `(c_in, taps, c_out)` kernel.
    pub fn project(&self, k: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
        let taps = self.taps;
        let mut out = vec![0.0f32; self.rank * c_in * c_out];
        out.par_chunks_mut(c_in * c_out)
            .enumerate()
            .for_each(|(q, out_q)| {
                let vq = &self.v[q * taps..(q + 1) * taps];
                for (i, row) in out_q.chunks_mut(c_out).enumerate() {
                    for (d, &vqd) in vq.iter().enumerate() {
                        let kd = &k[(i * taps + d) * c_out..(i * taps + d + 1) * c_out];
                        row.iter_mut().zip(kd).for_each(|(y, &x)| *y += vqd * x);
                    }
                }
            });
        out
    }

    /// The dense `(c_in, taps, c_out)` tensor `g[i, d, o] = Σ_q V[q, d] · g̃[(q, i), o]`: the
    /// adjoint of [`Self::project`], which turns a gradient with respect to the coefficients
    /// into one with respect to the kernel.
    pub fn expand(&self, g: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
        let taps = self.taps;
        let mut out = vec![0.0f32; c_in * taps * c_out];
        out.par_chunks_mut(taps * c_out)
            .enumerate()
            .for_each(|(i, out_i)| {
                for (d, row) in out_i.chunks_mut(c_out).enumerate() {
                    for q in 0..self.rank {
                        let vqd = self.v[q * taps + d];
                        let gq = &g[(q * c_in + i) * c_out..(q * c_in + i + 1) * c_out];
                        row.iter_mut().zip(gq).for_each(|(y, &x)| *y += vqd * x);
                    }
                }
            });
        out
    }

    /// [`Self::expand`] for a gradient laid out `[i][q][o]` (`c_in × (rank·c_out)`).
    pub fn expand_by_input(&self, g: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
        let (taps, rank) = (self.taps, self.rank);
        let mut out = vec![0.0f32; c_in * taps * c_out];
        out.par_chunks_mut(taps * c_out)
            .zip(g.par_chunks(rank * c_out))
            .for_each(|(out_i, g_i)| {
                for (d, row) in out_i.chunks_mut(c_out).enumerate() {
                    for (q, gq) in g_i.chunks(c_out).enumerate() {
                        let vqd = self.v[q * taps + d];
                        row.iter_mut().zip(gq).for_each(|(y, &x)| *y += vqd * x);
                    }
                }
            });
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Peak `max |k[i, d, o]|` over the taps of row `(i, o)`.
    fn row_peak(k: &[f32], i: usize, o: usize, taps: usize, c_out: usize) -> f32 {
        (0..taps).fold(0.0f32, |m, d| m.max(k[(i * taps + d) * c_out + o].abs()))
    }

    /// The family of Gaussians of std `s` centred every 1/8 tap over `0..taps` (shared with
    /// the low-rank convolution's tests).
    pub(crate) fn family(taps: usize, s: f32) -> FamilyBasis {
        let rows: Vec<f64> = (0..=8 * (taps - 1))
            .flat_map(|j| {
                let c = j as f64 / 8.0;
                (0..taps).map(move |d| (-0.5 * ((d as f64 - c) / f64::from(s)).powi(2)).exp())
            })
            .collect();
        FamilyBasis::new(&rows, taps)
    }

    fn fit(
        k: &[f32],
        c_in: usize,
        taps: usize,
        c_out: usize,
        s: f32,
        max_rank: usize,
    ) -> Option<(TapBasis, Vec<f32>)> {
        family(taps, s).fit(k, c_in, c_out, max_rank)
    }

    /// A `(c_in, taps, c_out)` kernel of normalised Gaussians of std `s` at spread centres.
    fn gaussians(c_in: usize, taps: usize, c_out: usize, s: f32) -> Vec<f32> {
        let mut k = vec![0.0f32; c_in * taps * c_out];
        for i in 0..c_in {
            for o in 0..c_out {
                let r = i * c_out + o;
                let c = (r * 37 % 1000) as f32 / 999.0 * (taps - 1) as f32;
                let w = 0.2 + (r % 7) as f32 * 0.1 - 0.5;
                let g: Vec<f32> = (0..taps)
                    .map(|d| (-0.5 * ((d as f32 - c) / s).powi(2)).exp())
                    .collect();
                let z: f32 = g.iter().sum();
                for d in 0..taps {
                    k[(i * taps + d) * c_out + o] = w * g[d] / z;
                }
            }
        }
        k
    }

    #[test]
    fn singular_vectors_are_orthonormal_and_ordered() {
        let (m, n) = (9, 4);
        let a: Vec<f64> = (0..m * n).map(|j| ((j * 7 % 11) as f64) - 5.0).collect();
        let (vt, s) = right_singular_vectors(&a, m, n);
        for p in 0..n {
            for q in 0..n {
                let dot: f64 = (0..n).map(|d| vt[p * n + d] * vt[q * n + d]).sum();
                assert!(
                    (dot - f64::from(u8::from(p == q))).abs() < 1e-12,
                    "{p} {q} {dot}"
                );
            }
        }
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
        // ‖A‖_F² = Σ σ².
        let fro: f64 = a.iter().map(|x| x * x).sum();
        let ss: f64 = s.iter().map(|x| x * x).sum();
        assert!((fro - ss).abs() < 1e-9 * fro);
    }

    #[test]
    fn wide_gaussians_need_few_profiles_and_narrow_ones_many() {
        let (c_in, taps, c_out) = (6, 25, 40);
        let (basis, coeffs) = fit(
            &gaussians(c_in, taps, c_out, 12.27),
            c_in,
            taps,
            c_out,
            12.27,
            24,
        )
        .expect("σ = 12.27 fits");
        assert!((5..=8).contains(&basis.rank), "rank {}", basis.rank);
        assert_eq!(coeffs.len(), basis.rank * c_in * c_out);
        let (mid, _) = fit(
            &gaussians(c_in, taps, c_out, 4.39),
            c_in,
            taps,
            c_out,
            4.39,
            24,
        )
        .expect("σ = 4.39 fits");
        assert!(mid.rank > basis.rank && mid.rank < 16, "rank {}", mid.rank);
        // σ = 0.5 needs (nearly) every tap: no saving below 12 profiles.
        assert!(
            fit(
                &gaussians(c_in, taps, c_out, 0.5),
                c_in,
                taps,
                c_out,
                0.5,
                12
            )
            .is_none()
        );
        assert!(
            fit(&vec![0.0; c_in * taps * c_out], c_in, taps, c_out, 12.0, 12)
                .is_some_and(|(b, _)| b.rank == 1)
        );
    }

    #[test]
    fn every_row_is_reconstructed_within_the_tolerance() {
        let (c_in, taps, c_out) = (5, 31, 33);
        let k = gaussians(c_in, taps, c_out, 7.3);
        let (basis, coeffs) = fit(&k, c_in, taps, c_out, 7.3, 30).unwrap();
        let back = basis.expand(&coeffs, c_in, c_out);
        for i in 0..c_in {
            for o in 0..c_out {
                let peak = row_peak(&k, i, o, taps, c_out);
                for d in 0..taps {
                    let j = (i * taps + d) * c_out + o;
                    // f32 coefficients: within the tolerance plus float rounding.
                    assert!((back[j] - k[j]).abs() <= 2e-6 * peak, "{i} {d} {o}");
                }
            }
        }
    }

    #[test]
    fn expand_is_the_adjoint_of_project() {
        let (c_in, taps, c_out) = (3, 9, 4);
        let k = gaussians(c_in, taps, c_out, 4.0);
        let (basis, _) = fit(&k, c_in, taps, c_out, 4.0, 8).unwrap();
        let x: Vec<f32> = (0..k.len()).map(|j| ((j * 5 % 13) as f32) - 6.0).collect();
        let y: Vec<f32> = (0..basis.rank * c_in * c_out)
            .map(|j| ((j * 3 % 7) as f32) - 3.0)
            .collect();
        let lhs: f64 = basis
            .project(&x, c_in, c_out)
            .iter()
            .zip(&y)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let rhs: f64 = x
            .iter()
            .zip(&basis.expand(&y, c_in, c_out))
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        assert!((lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0), "{lhs} {rhs}");
    }
}
