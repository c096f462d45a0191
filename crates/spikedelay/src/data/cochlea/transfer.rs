//! The transfer function v(ω, c) over runs of frequency bins, written for the vector units
//! (docs/cochlea.md §2). [`Membrane::transfer_at`] is the definition, one bin at a time; this is
//! the same function with its per-ω terms in columns and its loops free of branches and calls,
//! so that a run of bins is evaluated eight (AVX-512) or four (AVX2) at a time.
//!
//! Where |G| ≥ 12 and Re G > 0 (most bins), H₀⁽¹⁾(G) is Hankel's expansion
//! √(2/(πG))·e^{i(G − π/4)}·Σₖ cₖ(i/G)ᵏ, and √(G/g)·√(2/(πG)) = √(2/(πg)) on the principal
//! branches (Re G > 0 and g in the first quadrant, so no half-angle wraps), which with
//! g = ω√(ρ/h)/√ξ makes v = P(ω)/ξ · ξ^¼ · e^{iG} · Σₖ cₖ(i/G)ᵏ, P(ω) holding every factor of
//! ω alone. The sum is evaluated by Horner's rule with the number of terms the block's smallest
//! |G| needs. The other bins (small |G|) are the ascending series' or Amos's, one at a time.

use std::sync::OnceLock;

use num_complex::Complex64;

use super::hankel::{ASYMPTOTIC_FROM, EULER_GAMMA, SERIES_UP_TO};
use super::membrane::{Membrane, OmegaTerms, Position};
use crate::kernels::elementary;
use crate::kernels::simd::multiversion;

/// Bins per run: one run's scratch columns stay in the L1 cache.
pub const RUN: usize = 256;
/// Terms of the asymptotic series kept at most (it diverges: its terms grow again past 2|z|).
const MAX_TERMS: usize = 48;

/// cₖ of Hankel's expansion H₀⁽¹⁾(z) ∝ Σₖ cₖ(i/z)ᵏ: c₀ = 1, cₖ = −cₖ₋₁·(2k − 1)²/(8k)
/// (DLMF 10.17.1).
const ASYMPTOTIC: [f64; MAX_TERMS + 1] = {
    let mut c = [1.0; MAX_TERMS + 1];
    let mut k = 1;
    while k <= MAX_TERMS {
        let odd = (2 * k - 1) as f64;
        c[k] = -c[k - 1] * odd * odd / (8.0 * k as f64);
        k += 1;
    }
    c
};

/// Table steps per unit of |z| for [`asymptotic_terms`] and [`series_terms`].
const STEPS: f64 = 4.0;

/// [`asymptotic_terms_at`] from a table: the count at the step at or below `r` (from 12 to 268;
/// above, the count at 268). A step's count bounds the truncation error for every larger |z| by
/// the error at the step, so this is never less accurate than the step itself.
fn asymptotic_terms(r: f64) -> usize {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..1024)
            .map(|i| asymptotic_terms_at(ASYMPTOTIC_FROM + i as f64 / STEPS) as u8)
            .collect()
    });
    let i = ((r - ASYMPTOTIC_FROM) * STEPS).max(0.0) as usize;
    table[i.min(table.len() - 1)] as usize
}

/// The number of terms after c₀ that Hankel's expansion needs at |z| ≥ `r`: up to the first
/// below 1e-17 (relative to the sum, which is near 1), or to the smallest if none is.
fn asymptotic_terms_at(r: f64) -> usize {
    let mut size = 1.0;
    let mut k = 0;
    while k < MAX_TERMS {
        let next = size * (ASYMPTOTIC[k + 1] / ASYMPTOTIC[k]).abs() / r;
        if next >= size {
            break;
        }
        k += 1;
        size = next;
        if size < 1e-17 {
            break;
        }
    }
    k
}

/// The per-ω terms as columns, for one clip's frequency grid.
#[derive(Debug, Clone, Default)]
pub struct OmegaColumns {
    /// mω².
    m_omega2: Vec<f64>,
    /// (2a + 2mω²)/√(a + mω²).
    a_root: Vec<f64>,
    /// ω/√(a + mω²).
    w_root: Vec<f64>,
    omega: Vec<f64>,
    g0: [Vec<f64>; 2],
    log_factor: [Vec<f64>; 2],
    log_num: [Vec<f64>; 2],
    /// P(ω) = 2ω·z(ω)/p(ω, 0)·√(2/(πω√(ρ/h)))·e^{−iπ/4}.
    outer: [Vec<f64>; 2],
    /// 2ω·z(ω)/p(ω, 0), the same without the expansion's factors.
    series_outer: [Vec<f64>; 2],
    /// √(ρ/h).
    root_rho_h: f64,
}

impl OmegaColumns {
    /// The columns of `terms`.
    pub fn new(membrane: &Membrane, terms: &[OmegaTerms]) -> Self {
        let p = &membrane.p;
        let mut c = OmegaColumns {
            root_rho_h: (p.rho / p.h).sqrt(),
            ..OmegaColumns::default()
        };
        let shift = Complex64::from_polar(1.0, -std::f64::consts::FRAC_PI_4);
        for t in terms {
            let w = t.omega;
            c.omega.push(w);
            c.m_omega2.push(p.m * w * w);
            c.a_root.push((2.0 * p.a + w * 2.0 * p.m * w) / t.root_am);
            c.w_root.push(w / t.root_am);
            let outer = 2.0
                * w
                * t.base
                * (2.0 / (std::f64::consts::PI * w * (p.rho / p.h).sqrt())).sqrt()
                * shift;
            for (col, v) in [
                (&mut c.g0, t.g0_term),
                (&mut c.log_factor, t.log_factor),
                (&mut c.log_num, t.log_num),
                (&mut c.outer, outer),
                (&mut c.series_outer, 2.0 * w * t.base),
            ] {
                col[0].push(v.re);
                col[1].push(v.im);
            }
        }
        c
    }
}

/// √(x + iy) on the principal branch by `hankel::csqrt`'s algebraic formula, inlined so that
/// the loops calling it stay vectorised: t = √((|x| + |z|)/2), then (t, y/2t) for x ≥ 0, else
/// (|y|/2t, ±t) with the sign of y.
#[inline(always)]
fn principal_sqrt(x: f64, y: f64) -> (f64, f64) {
    let size = (x * x + y * y).sqrt();
    let t = ((x.abs() + size) * 0.5).sqrt();
    let h = y / (2.0 * t);
    if x >= 0.0 {
        (t, h)
    } else {
        (h.abs(), t.copysign(y))
    }
}

multiversion! {
    /// Per bin of one run: G, and where the expansion applies the factor P/ξ·ξ^¼·e^{iG} and
    /// u = i/G for its sum. `cols` are the run's slices of [`OmegaColumns`]' columns in the
    /// order of [`OmegaColumns::run`]; `at` is the position's (s(c), r(c), ½αe^{αc/2}).
    fn big_g_and_factor<V>(
        cols: [&[f64]; 12],
        at: [f64; 3],
        g_re: &mut [f64],
        g_im: &mut [f64],
        fac_re: &mut [f64],
        fac_im: &mut [f64],
        u_re: &mut [f64],
        u_im: &mut [f64],
    ) {
        let n = g_re.len();
        let [omega, mw2, a_root, w_root, g0r, g0i, lfr, lfi, lnr, lni, por, poi] =
            cols.map(|c| &c[..n]);
        let [s, r, den_scale] = at;
        let (g_im, fac_re, fac_im) = (&mut g_im[..n], &mut fac_re[..n], &mut fac_im[..n]);
        let (u_re, u_im) = (&mut u_re[..n], &mut u_im[..n]);
        for i in 0..n {
            // ξ = s − mω² − iωr(c) and its principal root (Im ξ < 0), as `csqrt`.
            let xr = s - mw2[i];
            let xim = -omega[i] * r;
            let (rxr, rxi) = principal_sqrt(xr, xim);
            // den = ½αe^{αc/2}·(−2√ξ + i(2a + 2mω² + iωr(c))/√(a + mω²)).
            let dr = den_scale * (-2.0 * rxr - r * w_root[i]);
            let di = den_scale * (-2.0 * rxi + a_root[i]);
            // q = log_num/den; G = g0 − log_factor·ln q.
            let dd = 1.0 / (dr * dr + di * di);
            let qr = (lnr[i] * dr + lni[i] * di) * dd;
            let qi = (lni[i] * dr - lnr[i] * di) * dd;
            let lr = 0.5 * elementary::ln(qr * qr + qi * qi);
            let li = elementary::atan2(qi, qr);
            let gr = g0r[i] - (lfr[i] * lr - lfi[i] * li);
            let gi = g0i[i] - (lfr[i] * li + lfi[i] * lr);
            g_re[i] = gr;
            g_im[i] = gi;
            // ξ^¼ = √(√ξ), √ξ in the fourth quadrant (Re ≥ 0).
            let rsize = (rxr * rxr + rxi * rxi).sqrt();
            let t4 = ((rxr + rsize) * 0.5).sqrt();
            let (fr, fi) = (t4, rxi / (2.0 * t4));
            // P/ξ·ξ^¼·e^{iG}.
            let inv = 1.0 / (xr * xr + xim * xim);
            let pr = (por[i] * xr + poi[i] * xim) * inv;
            let pi = (poi[i] * xr - por[i] * xim) * inv;
            let (ar, ai) = (pr * fr - pi * fi, pr * fi + pi * fr);
            let e = elementary::exp(-gi);
            let (sn, cs) = elementary::sin_cos(gr);
            fac_re[i] = e * (ar * cs - ai * sn);
            fac_im[i] = e * (ar * sn + ai * cs);
            // u = i/G.
            let gg = 1.0 / (gr * gr + gi * gi);
            u_re[i] = gi * gg;
            u_im[i] = gr * gg;
        }
    }
}

/// Bins summed together by `asymptotic_sum`: four vectors of eight lanes, whose four
/// independent recurrences hide each other's latency.
pub const BLOCK: usize = 32;

multiversion! {
    /// v = factor·Σ_{k ≤ terms[b]} cₖuᵏ for each block b of [`BLOCK`] bins (`u` and `fac` hold
    /// `BLOCK·terms.len()` bins), written into `v` as (re, im) pairs. The cₖ are real, so the
    /// sum is the second-order real recurrence bₖ = cₖ + 2Re u·bₖ₊₁ − |u|²·bₖ₊₂ (Goertzel's;
    /// Knuth, TAOCP vol. 2 §4.6.4), then Σ = c₀ + u·b₁ − |u|²·b₂: two multiplications and two
    /// additions a term instead of complex Horner's eight operations. With |u| ≤ 1/12 and
    /// terms falling, its rounding is that of Horner's rule.
    fn asymptotic_sum<V>(
        terms: &[usize],
        u_re: &[f64],
        u_im: &[f64],
        fac_re: &[f64],
        fac_im: &[f64],
        v: &mut [f64],
    ) {
        for (b, (out, &terms)) in v.chunks_exact_mut(2 * BLOCK).zip(terms).enumerate() {
            let at = BLOCK * b;
            let ur: [f64; BLOCK] = u_re[at..at + BLOCK].try_into().unwrap();
            let ui: [f64; BLOCK] = u_im[at..at + BLOCK].try_into().unwrap();
            let mut twice_re = [0.0f64; BLOCK];
            let mut size = [0.0f64; BLOCK];
            for l in 0..BLOCK {
                twice_re[l] = 2.0 * ur[l];
                size[l] = ur[l] * ur[l] + ui[l] * ui[l];
            }
            // b₁ and b₂ at the end (b_terms and b_{terms+1} to start).
            let top = if terms == 0 { 0.0 } else { ASYMPTOTIC[terms] };
            let mut b1 = [top; BLOCK];
            let mut b2 = [0.0f64; BLOCK];
            for k in (1..terms).rev() {
                for l in 0..BLOCK {
                    let next = (ASYMPTOTIC[k] - size[l] * b2[l]) + twice_re[l] * b1[l];
                    b2[l] = b1[l];
                    b1[l] = next;
                }
            }
            for l in 0..BLOCK {
                let sr = (ASYMPTOTIC[0] - size[l] * b2[l]) + ur[l] * b1[l];
                let si = ui[l] * b1[l];
                let (fr, fi) = (fac_re[at + l], fac_im[at + l]);
                out[2 * l] = fr * sr - fi * si;
                out[2 * l + 1] = fr * si + fi * sr;
            }
        }
    }
}

/// Most terms of the ascending series: enough for |z| ≤ 15 (`asymptotic_terms`' sibling).
const MAX_SERIES: usize = 64;

/// The ascending series' coefficients: dₖ = 1/(k!)² and eₖ = Hₖ·dₖ (Hₖ the harmonic numbers).
const SERIES: ([f64; MAX_SERIES + 1], [f64; MAX_SERIES + 1]) = {
    let mut d = [1.0; MAX_SERIES + 1];
    let mut e = [0.0; MAX_SERIES + 1];
    let mut harmonic = 0.0;
    let mut k = 1;
    while k <= MAX_SERIES {
        let kf = k as f64;
        d[k] = d[k - 1] / (kf * kf);
        harmonic += 1.0 / kf;
        e[k] = harmonic * d[k];
        k += 1;
    }
    (d, e)
};

/// [`series_terms_at`] from a table: the count at the step at or above `r` (|z| ≤ 16).
fn series_terms(r: f64) -> usize {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=(16.0 * STEPS) as usize)
            .map(|i| series_terms_at(i as f64 / STEPS) as u8)
            .collect()
    });
    let i = (r * STEPS).ceil().max(0.0) as usize;
    table
        .get(i)
        .map_or_else(|| series_terms_at(r), |&k| k as usize)
}

/// The number of ascending-series terms after the first that |z| ≤ `r` needs: up to the first
/// below 1e-17 (the sums are at least about 1 where the series is used).
fn series_terms_at(r: f64) -> usize {
    let q = r * r / 4.0;
    let mut power = 1.0;
    for k in 1..=MAX_SERIES {
        power *= q;
        if power * SERIES.1[k] < 1e-17 && k as f64 > q.sqrt() {
            return k;
        }
    }
    MAX_SERIES
}

multiversion! {
    /// Per block of [`BLOCK`] bins: the smallest |G|² among the bins Hankel's expansion takes
    /// (Re G > 0, |G| ≥ 12; ∞ if none) and the number of the others, eight lanes at a time.
    fn block_smallest<V>(g_re: &[f64], g_im: &[f64], smallest: &mut [f64], others: &mut [u32]) {
        for (blk, (low, other)) in smallest.iter_mut().zip(others.iter_mut()).enumerate() {
            let b = blk * BLOCK;
            let (re, im) = (&g_re[b..b + BLOCK], &g_im[b..b + BLOCK]);
            let mut mins = [f64::INFINITY; 8];
            let mut count = [0u32; 8];
            for (re, im) in re.chunks_exact(8).zip(im.chunks_exact(8)) {
                for l in 0..8 {
                    let square = re[l] * re[l] + im[l] * im[l];
                    let asymptotic = re[l] > 0.0 && square >= ASYMPTOTIC_FROM * ASYMPTOTIC_FROM;
                    mins[l] = if asymptotic && square < mins[l] { square } else { mins[l] };
                    count[l] += u32::from(!asymptotic);
                }
            }
            *low = mins.iter().fold(f64::INFINITY, |a, &v| a.min(v));
            *other = count.iter().sum();
        }
    }
}

/// Gathered bins summed together by `series_sums`: two vectors of eight lanes, each with two
/// sums, so four independent recurrences.
pub const SERIES_BLOCK: usize = 16;

multiversion! {
    /// The ascending series' sums J = Σ dₖqᵏ (J₀) and S = Σ eₖqᵏ, q = −z²/4 (DLMF 10.2.2,
    /// 10.8.2), by Horner's rule for each block of [`SERIES_BLOCK`] gathered bins, each block
    /// summing its number of `terms`: z is (`z_re`, `z_im`); the sums go to `sums` as
    /// (Re J, Im J, Re S, Im S) columns.
    fn series_sums<V>(terms: &[usize], z_re: &[f64], z_im: &[f64], sums: [&mut [f64]; 4]) {
        let (d, e) = (&SERIES.0, &SERIES.1);
        let [jr_out, ji_out, sr_out, si_out] = sums;
        for (blk, &terms) in terms.iter().enumerate() {
            let b = blk * SERIES_BLOCK;
            let zr: [f64; SERIES_BLOCK] = z_re[b..b + SERIES_BLOCK].try_into().unwrap();
            let zi: [f64; SERIES_BLOCK] = z_im[b..b + SERIES_BLOCK].try_into().unwrap();
            let mut qr = [0.0; SERIES_BLOCK];
            let mut qi = [0.0; SERIES_BLOCK];
            for l in 0..SERIES_BLOCK {
                qr[l] = -(zr[l] * zr[l] - zi[l] * zi[l]) * 0.25;
                qi[l] = -(2.0 * zr[l] * zi[l]) * 0.25;
            }
            let (mut jr, mut ji) = ([d[terms]; SERIES_BLOCK], [0.0; SERIES_BLOCK]);
            let (mut sr, mut si) = ([e[terms]; SERIES_BLOCK], [0.0; SERIES_BLOCK]);
            for k in (0..terms).rev() {
                for l in 0..SERIES_BLOCK {
                    let re = jr[l] * qr[l] - ji[l] * qi[l] + d[k];
                    ji[l] = jr[l] * qi[l] + ji[l] * qr[l];
                    jr[l] = re;
                    let re = sr[l] * qr[l] - si[l] * qi[l] + e[k];
                    si[l] = sr[l] * qi[l] + si[l] * qr[l];
                    sr[l] = re;
                }
            }
            jr_out[b..b + SERIES_BLOCK].copy_from_slice(&jr);
            ji_out[b..b + SERIES_BLOCK].copy_from_slice(&ji);
            sr_out[b..b + SERIES_BLOCK].copy_from_slice(&sr);
            si_out[b..b + SERIES_BLOCK].copy_from_slice(&si);
        }
    }
}

multiversion! {
    /// v(ω, c) where H₀⁽¹⁾(G) is the ascending series, from its sums (`series_sums`), for
    /// gathered bins: `cols` are ω, mω², Re and Im of 2ω·z(ω)/p(ω, 0), Re G, Im G, then Re J,
    /// Im J, Re S, Im S; `at` is (s(c), r(c), √(ρ/h)). The arithmetic of
    /// [`Membrane::transfer_at`] with `hankel0_series`, one loop over the bins so that it is
    /// vectorised.
    fn series_transfer<V>(cols: [&[f64]; 10], at: [f64; 3], v_re: &mut [f64], v_im: &mut [f64]) {
        let n = v_re.len();
        let [omega, mw2, sor, soi, g_re, g_im, j_re, j_im, s_re, s_im] = cols.map(|c| &c[..n]);
        let [s, r, root_rho_h] = at;
        let v_im = &mut v_im[..n];
        for i in 0..n {
            let (gr, gi) = (g_re[i], g_im[i]);
            // Y₀ = (2/π)((ln(z/2) + γ)·J − S); H₀ = J + iY₀.
            let lr = 0.5 * elementary::ln((gr * gr + gi * gi) * 0.25) + EULER_GAMMA;
            let li = elementary::atan2(gi, gr);
            let yr = std::f64::consts::FRAC_2_PI * (lr * j_re[i] - li * j_im[i] - s_re[i]);
            let yi = std::f64::consts::FRAC_2_PI * (lr * j_im[i] + li * j_re[i] - s_im[i]);
            let (hr, hi) = (j_re[i] - yi, j_im[i] + yr);
            // ξ and √ξ as in `big_g_and_factor`.
            let xr = s - mw2[i];
            let xim = -omega[i] * r;
            let (rxr, rxi) = principal_sqrt(xr, xim);
            // √(G/g) with G/g = G·√ξ/(ω√(ρ/h)), on the principal branch.
            let scale = 1.0 / (omega[i] * root_rho_h);
            let (ar, ai) = ((gr * rxr - gi * rxi) * scale, (gr * rxi + gi * rxr) * scale);
            let (cr, ci) = principal_sqrt(ar, ai);
            // 2ω·base/ξ·√(G/g)·H₀.
            let inv = 1.0 / (xr * xr + xim * xim);
            let pr = (sor[i] * xr + soi[i] * xim) * inv;
            let pi = (soi[i] * xr - sor[i] * xim) * inv;
            let (fr, fi) = (pr * cr - pi * ci, pr * ci + pi * cr);
            v_re[i] = fr * hr - fi * hi;
            v_im[i] = fr * hi + fi * hr;
        }
    }
}

/// Scratch columns for one run of bins.
pub struct TransferRun {
    g_re: Vec<f64>,
    g_im: Vec<f64>,
    fac_re: Vec<f64>,
    fac_im: Vec<f64>,
    u_re: Vec<f64>,
    u_im: Vec<f64>,
    v: Vec<f64>,
    /// Bins of the run left to the ascending series, their gathered columns (ω, mω², the
    /// series' outer factor, G, the sums J and S, v) and its sums.
    series: Vec<usize>,
    gathered: [Vec<f64>; 12],
    /// Terms per block of bins.
    terms: Vec<usize>,
    /// Per block: the smallest |G|² of the expansion's bins, and how many bins are not its.
    smallest: Vec<f64>,
    others: Vec<u32>,
}

impl Default for TransferRun {
    fn default() -> Self {
        let col = || vec![0.0; RUN];
        TransferRun {
            g_re: col(),
            g_im: col(),
            fac_re: col(),
            fac_im: col(),
            u_re: col(),
            u_im: col(),
            v: vec![0.0; 2 * RUN],
            series: Vec::with_capacity(RUN),
            gathered: std::array::from_fn(|_| Vec::with_capacity(RUN)),
            terms: Vec::with_capacity(RUN / 8),
            smallest: Vec::with_capacity(RUN / BLOCK),
            others: Vec::with_capacity(RUN / BLOCK),
        }
    }
}

impl OmegaColumns {
    /// The columns' slices for bins `start..start + n`.
    fn run(&self, start: usize, n: usize) -> [&[f64]; 12] {
        let r = start..start + n;
        [
            &self.omega[r.clone()],
            &self.m_omega2[r.clone()],
            &self.a_root[r.clone()],
            &self.w_root[r.clone()],
            &self.g0[0][r.clone()],
            &self.g0[1][r.clone()],
            &self.log_factor[0][r.clone()],
            &self.log_factor[1][r.clone()],
            &self.log_num[0][r.clone()],
            &self.log_num[1][r.clone()],
            &self.outer[0][r.clone()],
            &self.outer[1][r],
        ]
    }
}

impl TransferRun {
    /// v(ω, c) at position `at` for the bins `start..start + out.len()` (at most [`RUN`]),
    /// equal to [`Membrane::transfer_at`] per bin up to rounding.
    pub fn evaluate(
        &mut self,
        membrane: &Membrane,
        cols: &OmegaColumns,
        terms: &[OmegaTerms],
        at: &Position,
        start: usize,
        out: &mut [Complex64],
    ) {
        let n = out.len();
        debug_assert!(n <= RUN);
        big_g_and_factor(
            cols.run(start, n),
            [at.s, at.r, at.den_scale],
            &mut self.g_re[..n],
            &mut self.g_im[..n],
            &mut self.fac_re[..n],
            &mut self.fac_im[..n],
            &mut self.u_re[..n],
            &mut self.u_im[..n],
        );
        // Padding to whole blocks: u = 0 sums to c₀.
        let padded = n.div_ceil(BLOCK) * BLOCK;
        self.u_re[n..padded].fill(0.0);
        self.u_im[n..padded].fill(0.0);
        self.fac_re[n..padded].fill(0.0);
        self.fac_im[n..padded].fill(0.0);
        // Which of H₀'s three evaluations each bin takes (as `hankel::hankel0` chooses), and
        // per block the terms its smallest |G| needs of the expansion.
        self.series.clear();
        self.terms.clear();
        let mut amos = false;
        // Padding bins count as the expansion's with |G| = ∞ (their u is 0).
        self.g_re[n..padded].fill(f64::INFINITY);
        self.g_im[n..padded].fill(0.0);
        let blocks = padded / BLOCK;
        self.smallest.resize(blocks, 0.0);
        self.others.resize(blocks, 0);
        block_smallest(
            &self.g_re[..padded],
            &self.g_im[..padded],
            &mut self.smallest,
            &mut self.others,
        );
        for (blk, (&smallest, &others)) in self.smallest.iter().zip(&self.others).enumerate() {
            if others > 0 {
                let b = blk * BLOCK;
                for i in b..(b + BLOCK).min(n) {
                    let (gr, gi) = (self.g_re[i], self.g_im[i]);
                    let square = gr * gr + gi * gi;
                    if !(gr > 0.0 && square >= ASYMPTOTIC_FROM * ASYMPTOTIC_FROM) {
                        let size = square.sqrt();
                        if size + gi.abs() <= SERIES_UP_TO && size > 0.0 {
                            self.series.push(i);
                        } else {
                            amos = true;
                        }
                    }
                }
            }
            self.terms.push(if smallest.is_finite() {
                asymptotic_terms(smallest.sqrt())
            } else {
                0
            });
        }
        asymptotic_sum(
            &self.terms,
            &self.u_re[..padded],
            &self.u_im[..padded],
            &self.fac_re[..padded],
            &self.fac_im[..padded],
            &mut self.v[..2 * padded],
        );
        if !self.series.is_empty() {
            self.series_bins(cols, at, start);
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = Complex64::new(self.v[2 * i], self.v[2 * i + 1]);
        }
        if amos {
            for (i, o) in out.iter_mut().enumerate() {
                let (gr, gi) = (self.g_re[i], self.g_im[i]);
                let size = (gr * gr + gi * gi).sqrt();
                let asymptotic = gr > 0.0 && size >= ASYMPTOTIC_FROM;
                let series = size + gi.abs() <= SERIES_UP_TO && size > 0.0;
                if !asymptotic && !series {
                    *o = membrane.transfer_at(&terms[start + i], at);
                }
            }
        }
    }

    /// v for the bins in `self.series`, written into `self.v`.
    fn series_bins(&mut self, cols: &OmegaColumns, at: &Position, start: usize) {
        // Padding to whole blocks: z = 1, ω = 1 give finite values, then dropped.
        let count = self.series.len();
        let padded = count.div_ceil(SERIES_BLOCK) * SERIES_BLOCK;
        for g in &mut self.gathered {
            if g.len() < padded {
                g.resize(padded, 1.0);
            }
        }
        let [
            omega,
            mw2,
            sor,
            soi,
            gr,
            gi,
            j_re,
            j_im,
            s_re,
            s_im,
            v_re,
            v_im,
        ] = self.gathered.each_mut().map(|g| &mut g[..padded]);
        for (j, &i) in self.series.iter().enumerate() {
            let k = start + i;
            omega[j] = cols.omega[k];
            mw2[j] = cols.m_omega2[k];
            sor[j] = cols.series_outer[0][k];
            soi[j] = cols.series_outer[1][k];
            gr[j] = self.g_re[i];
            gi[j] = self.g_im[i];
        }
        for g in [
            &mut *omega,
            &mut *mw2,
            &mut *sor,
            &mut *soi,
            &mut *gr,
            &mut *gi,
        ] {
            g[count..].fill(1.0);
        }
        self.terms.clear();
        for (zr, zi) in gr
            .chunks_exact(SERIES_BLOCK)
            .zip(gi.chunks_exact(SERIES_BLOCK))
        {
            let largest = zr
                .iter()
                .zip(zi.iter())
                .map(|(a, b)| a * a + b * b)
                .fold(0.0, f64::max);
            self.terms.push(series_terms(largest.sqrt()));
        }
        series_sums(&self.terms, gr, gi, [j_re, j_im, s_re, s_im]);
        series_transfer(
            [omega, mw2, sor, soi, gr, gi, j_re, j_im, s_re, s_im],
            [at.s, at.r, cols.root_rho_h],
            v_re,
            v_im,
        );
        for (j, &i) in self.series.iter().enumerate() {
            self.v[2 * i] = v_re[j];
            self.v[2 * i + 1] = v_im[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cochlea::membrane::linspace;
    use crate::data::cochlea::params::MembraneParams;

    #[test]
    fn runs_equal_the_definition_per_bin() {
        let membrane = Membrane::new(&MembraneParams::default(), 700);
        let m = 4001;
        let omegas: Vec<f64> = linspace(1.0, 4000.0 * 6.0, m)
            .into_iter()
            .map(|f| 2.0 * std::f64::consts::PI * f)
            .collect();
        let terms = membrane.omega_terms(&omegas);
        let cols = OmegaColumns::new(&membrane, &terms);
        let mut run = TransferRun::default();
        let mut worst = 0.0f64;
        for &c in membrane.positions.iter().step_by(23) {
            let at = membrane.position(c);
            let mut out = vec![Complex64::new(0.0, 0.0); m];
            for (r, chunk) in out.chunks_mut(RUN).enumerate() {
                run.evaluate(&membrane, &cols, &terms, &at, r * RUN, chunk);
            }
            let peak = out.iter().map(|v| v.norm()).fold(0.0, f64::max);
            for (k, v) in out.iter().enumerate() {
                let exact = membrane.transfer_at(&terms[k], &at);
                // Relative to the bin, or to the channel's peak where the bin is far below it.
                let diff = (v - exact).norm() / exact.norm().max(1e-6 * peak);
                worst = worst.max(diff);
            }
        }
        // Both truncate Hankel's expansion, whose error near |G| = 12 is about 4e-11
        // (hankel.rs); elsewhere they agree to about 1e-15.
        assert!(worst < 1e-10, "worst relative difference {worst:e}");
    }
}
