//! The basilar membrane (Sieroka, Dosch, Rupp 2006; docs/cochlea.md §2): a hydrodynamic
//! shallow-water model evaluated in the frequency domain. The clip's one-sided spectrum X(ω)
//! (N/2 + 1 bins at ω = 2π·linspace(1, fs/2, N/2 + 1), as `lauscher` lays them out) is
//! multiplied per channel by the transfer function v(ω, c) and brought back by an inverse DFT of
//! N/2 + 1 points, keeping the real part: the membrane's velocity at position c, at fs/2.

use std::f64::consts::PI;
use std::sync::Arc;

use num_complex::Complex64;
use realfft::RealFftPlanner;
use rustfft::{Fft, FftPlanner};

use super::hair_cell::LANES;
use super::hankel::{cln, csqrt, hankel0};
use super::params::MembraneParams;
use super::transfer::{OmegaColumns, RUN, TransferRun};
use super::transfer_cache::LengthTable;
use crate::kernels::simd::multiversion;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// numpy's `linspace(start, stop, n)`: `start + i·step`, the last point exactly `stop`.
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// The membrane model and its channel positions c = linspace(0, c_max, channels).
#[derive(Debug, Clone)]
pub struct Membrane {
    pub(super) p: MembraneParams,
    /// `r = d_e·√(c₀·m)`.
    pub(super) r: f64,
    /// Channel positions.
    pub positions: Vec<f64>,
}

/// What v(ω, c) needs of ω alone, computed once per clip and shared by every channel.
#[derive(Debug, Clone, Copy)]
pub struct OmegaTerms {
    pub(super) omega: f64,
    /// 2·g(ω, 0)/α.
    pub(super) g0_term: Complex64,
    /// (2i√2·ω) / (α·√(2h(mω² + a))), the factor of the logarithm in G.
    pub(super) log_factor: Complex64,
    /// The numerator of the logarithm's argument (the den at c = 0 without its prefactor).
    pub(super) log_num: Complex64,
    /// √(a + mω²).
    pub(super) root_am: f64,
    /// z(ω) / p(ω, 0): the stapes impedance over the response at the base.
    pub(super) base: Complex64,
}

/// What v(ω, c) needs of c alone, computed once per channel.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// s(c) = c₀e^{−αc} − a.
    pub(super) s: f64,
    /// r(c) = r·e^{−αc/2}.
    pub(super) r: f64,
    /// ½α·e^{αc/2}.
    pub(super) den_scale: f64,
}

impl Membrane {
    /// The model with `channels` positions.
    pub fn new(p: &MembraneParams, channels: usize) -> Self {
        Membrane {
            p: *p,
            r: p.de * (p.c0 * p.m).sqrt(),
            positions: linspace(0.0, p.c_max, channels),
        }
    }

    /// The per-channel terms at position `c`.
    pub fn position(&self, c: f64) -> Position {
        let p = &self.p;
        Position {
            s: p.c0 * (-p.alpha * c).exp() - p.a,
            r: self.r * (-p.alpha * c / 2.0).exp(),
            den_scale: 0.5 * p.alpha * (p.alpha * c / 2.0).exp(),
        }
    }

    /// ξ(ω, c) = s(c) − mω² − iω·r(c).
    fn xi(&self, omega: f64, at: &Position) -> Complex64 {
        Complex64::new(at.s - self.p.m * omega * omega, -omega * at.r)
    }

    /// p(ω, c) = √(G/g(ω, c))·H₀⁽¹⁾(G) with its pieces: returns (p, ξ).
    fn response(&self, t: &OmegaTerms, at: &Position) -> (Complex64, Complex64) {
        let p = &self.p;
        let w = t.omega;
        let xi = self.xi(w, at);
        let root_xi = csqrt(xi);
        // g(ω, c) = ω·√(ρ/(hξ)) = ω·√(ρ/h)/√ξ (Im ξ < 0: no branch cut between them).
        let g = w * (p.rho / p.h).sqrt() / root_xi;
        let den = at.den_scale
            * (-2.0 * root_xi
                + I * Complex64::new(2.0 * p.a + w * 2.0 * p.m * w, w * at.r) / t.root_am);
        let big_g = t.g0_term - t.log_factor * cln(t.log_num / den);
        (csqrt(big_g / g) * hankel0(big_g), xi)
    }

    /// The per-ω terms for the frequency grid `omegas`.
    pub fn omega_terms(&self, omegas: &[f64]) -> Vec<OmegaTerms> {
        let base = self.position(0.0);
        let p = &self.p;
        omegas
            .iter()
            .map(|&w| {
                let root_am = (p.a + p.m * w * w).sqrt();
                let xi0 = Complex64::new(-p.a + p.c0 - w * p.m * w, -w * self.r);
                let g0 = w * (p.rho / (p.h * self.xi(w, &base))).sqrt();
                let log_num = -p.alpha * xi0.sqrt()
                    + I * p.alpha * Complex64::new(2.0 * p.a + w * 2.0 * p.m * w, w * self.r)
                        / (2.0 * root_am);
                let mut t = OmegaTerms {
                    omega: w,
                    g0_term: 2.0 * g0 / p.alpha,
                    log_factor: Complex64::new(0.0, 2.0 * 2f64.sqrt() * w)
                        / (p.alpha * (p.h * 2.0 * (p.m * w * w + p.a)).sqrt()),
                    log_num,
                    root_am,
                    base: Complex64::new(1.0, 0.0),
                };
                let (p0, _) = self.response(&t, &base);
                t.base = self.impedance(w) / p0;
                t
            })
            .collect()
    }

    /// z(ω) = √(2c₀/h)·(iJ₀(k) + Y₀(k)) / (J₁(k) − iY₁(k)), k = 4πf/α·√(2/(hc₀)).
    fn impedance(&self, omega: f64) -> Complex64 {
        let p = &self.p;
        let f = omega / (2.0 * PI);
        let k = 4.0 * PI * f / p.alpha * (2.0 / (p.h * p.c0)).sqrt();
        (2.0 * p.c0 / p.h).sqrt() * Complex64::new(libm::y0(k), libm::j0(k))
            / Complex64::new(libm::j1(k), -libm::y1(k))
    }

    /// The transfer function v(ω, c) = 2ω/ξ(ω, c)·p(ω, c)·z(ω)/p(ω, 0), with `t` from
    /// [`Membrane::omega_terms`].
    pub fn transfer(&self, t: &OmegaTerms, c: f64) -> Complex64 {
        self.transfer_at(t, &self.position(c))
    }

    /// [`Membrane::transfer`] with the position's terms already computed.
    pub fn transfer_at(&self, t: &OmegaTerms, at: &Position) -> Complex64 {
        let (p, xi) = self.response(t, at);
        2.0 * t.omega / xi * p * t.base
    }
}

/// One clip's spectrum on `lauscher`'s grid.
#[derive(Debug, Clone)]
pub struct ClipSpectrum {
    /// X(ω): the first N/2 + 1 bins of the clip's DFT.
    pub bins: Vec<Complex64>,
    /// Per-ω terms of the transfer function.
    pub terms: Vec<OmegaTerms>,
    /// The same as columns, for [`TransferRun`].
    pub columns: OmegaColumns,
    /// Output rate fs/2 (integer division, as lauscher).
    pub out_rate: usize,
    /// The transfer functions kept for clips of this length, if any (`transfer_cache.rs`).
    pub table: Option<Arc<LengthTable>>,
}

impl ClipSpectrum {
    /// The spectrum of `wave` sampled at `rate` (at least 2 samples).
    pub fn new(membrane: &Membrane, wave: &[f64], rate: usize) -> Self {
        let n = wave.len();
        let m = n / 2 + 1;
        let out_rate = rate / 2;
        let mut planner = RealFftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let mut input = wave.to_vec();
        let mut bins = fft.make_output_vec();
        fft.process(&mut input, &mut bins)
            .expect("buffer lengths come from the plan");
        bins.truncate(m);
        let omegas: Vec<f64> = linspace(1.0, out_rate as f64, m)
            .into_iter()
            .map(|f| 2.0 * PI * f)
            .collect();
        let terms = membrane.omega_terms(&omegas);
        ClipSpectrum {
            bins,
            columns: OmegaColumns::new(membrane, &terms),
            terms,
            out_rate,
            table: None,
        }
    }

    /// Output samples per channel (N/2 + 1).
    pub fn len(&self) -> usize {
        self.bins.len()
    }

    /// Whether the clip had no bins (never: clips have at least 2 samples).
    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }
}

/// |v|² below this fraction of the peak |v|² ends a channel's spectrum: |v| below 1e-10 of its
/// peak, past the resonance (docs/cochlea.md §2, "Evanescent tail").
const NEGLIGIBLE: f64 = 1e-20;

multiversion! {
    /// Multiplies `v` by `x` bin by bin while keeping `peak`, the running maximum of |v|², and
    /// stops after the first bin k with |v_k|² < [`NEGLIGIBLE`]·peak (returned). Eight bins at a
    /// time where none can stop (their smallest |v|² at least that fraction of the peak after them), one at
    /// a time otherwise: the same bins as one bin at a time.
    fn multiply_until_negligible<V>(
        v: &mut [Complex64],
        x: &[Complex64],
        peak: &mut f64,
    ) -> Option<usize> {
        let n = v.len().min(x.len());
        let whole = n - n % 8;
        let mut k = 0;
        while k < whole {
            let (vs, xs) = (&mut v[k..k + 8], &x[k..k + 8]);
            let sizes: [f64; 8] = std::array::from_fn(|l| vs[l].norm_sqr());
            let high = sizes.iter().fold(*peak, |a, &b| a.max(b));
            let low = sizes.iter().fold(f64::INFINITY, |a, &b| a.min(b));
            if low < NEGLIGIBLE * high {
                break;
            }
            *peak = high;
            for (y, x) in vs.iter_mut().zip(xs) {
                *y *= x;
            }
            k += 8;
        }
        for i in k..n {
            let size = v[i].norm_sqr();
            *peak = peak.max(size);
            v[i] *= x[i];
            if size < NEGLIGIBLE * *peak {
                return Some(i);
            }
        }
        None
    }
}

/// The inverse transforms of channels' spectra, two channels per complex FFT, reusable across
/// the channels of one clip.
pub struct ChannelTransform {
    inverse: Arc<dyn Fft<f64>>,
    /// v(ω, c)·X(ω) of the pair's two channels.
    spectra: [Vec<Complex64>; 2],
    /// Per spectrum, the bins from which it is all zeros.
    nonzero: [usize; 2],
    combined: Vec<Complex64>,
    scratch: Vec<Complex64>,
    run: TransferRun,
}

impl ChannelTransform {
    /// Buffers for spectra of `m` bins.
    pub fn new(m: usize) -> Self {
        let inverse = FftPlanner::<f64>::new().plan_fft_inverse(m);
        let scratch = vec![Complex64::new(0.0, 0.0); inverse.get_inplace_scratch_len()];
        ChannelTransform {
            inverse,
            spectra: std::array::from_fn(|_| vec![Complex64::new(0.0, 0.0); m]),
            nonzero: [0; 2],
            combined: vec![Complex64::new(0.0, 0.0); m],
            scratch,
            run: TransferRun::default(),
        }
    }

    /// v(ω, c)·X(ω) into `self.spectra[which]` for the channel at position `c`, number
    /// `channel` where the clip's table may hold its v. Past the channel's resonance the wave is
    /// evanescent and v(ω, c) falls without rising again; once it is below 1e-10 of its peak
    /// the remaining bins are left at zero.
    fn spectrum(
        &mut self,
        which: usize,
        membrane: &Membrane,
        spec: &ClipSpectrum,
        c: f64,
        channel: Option<usize>,
    ) {
        let m = spec.len();
        let at = membrane.position(c);
        let table = spec.table.as_deref().zip(channel);
        let stored = table.and_then(|(t, ch)| t.get(ch));
        let mut keep = table
            .filter(|(t, ch)| stored.is_none() && t.wants(*ch))
            .map(|_| Vec::new());
        let full = &mut self.spectra[which];
        let mut peak = 0.0f64;
        let mut end = m;
        let mut written = 0;
        'runs: for start in (0..m).step_by(RUN) {
            let stop = (start + RUN).min(m);
            let run = &mut full[start..stop];
            match stored {
                // The stored v ends with the run where the channel's spectrum ended.
                Some(v) if stop <= v.len() => run.copy_from_slice(&v[start..stop]),
                _ => self
                    .run
                    .evaluate(membrane, &spec.columns, &spec.terms, &at, start, run),
            }
            if let Some(kept) = &mut keep {
                kept.extend_from_slice(run);
            }
            written = stop;
            if let Some(k) = multiply_until_negligible(run, &spec.bins[start..stop], &mut peak) {
                end = start + k + 1;
                break 'runs;
            }
        }
        // Bins past `end` are zero from here; of those, only the ones written since they last
        // were need zeroing.
        let dirty = written.max(self.nonzero[which]);
        full[end..dirty].fill(Complex64::new(0.0, 0.0));
        self.nonzero[which] = end;
        if let (Some((t, ch)), Some(kept)) = (table, keep) {
            t.put(ch, kept);
        }
    }

    /// The inverse transform of the channels at the positions `cs` (one or two) into
    /// `self.combined`, unscaled: Re(IDFT_M(v(ω, c)·X(ω)))·M of the first channel in the real
    /// parts, of the second in the imaginary parts. The real part of an inverse DFT is the
    /// inverse DFT of the Hermitian part H_k = (Y_k + conj Y_{M−k})/2, which is real; so one
    /// complex inverse FFT of H¹ + iH² gives both channels.
    fn transform_pair(
        &mut self,
        membrane: &Membrane,
        spec: &ClipSpectrum,
        cs: &[f64],
        first: Option<usize>,
    ) {
        assert!(
            (1..=2).contains(&cs.len()),
            "one or two channels per transform"
        );
        let m = spec.len();
        for (which, &c) in cs.iter().enumerate() {
            self.spectrum(which, membrane, spec, c, first.map(|f| f + which));
        }
        if cs.len() == 1 {
            self.spectra[1][..self.nonzero[1]].fill(Complex64::new(0.0, 0.0));
            self.nonzero[1] = 0;
        }
        let [a, b] = &self.spectra;
        // H¹ + iH², each Hermitian; bin k's mirror is M − k, and bin 0 its own.
        let combine = |ak: Complex64, am: Complex64, bk: Complex64, bm: Complex64| {
            let ha = (ak + am.conj()) * 0.5;
            let hb = (bk + bm.conj()) * 0.5;
            Complex64::new(ha.re - hb.im, ha.im + hb.re)
        };
        self.combined[0] = combine(a[0], a[0], b[0], b[0]);
        let mirrored = a[1..m].iter().rev().zip(b[1..m].iter().rev());
        for (((z, ak), bk), (am, bm)) in self.combined[1..m]
            .iter_mut()
            .zip(&a[1..m])
            .zip(&b[1..m])
            .zip(mirrored)
        {
            *z = combine(*ak, *am, *bk, *bm);
        }
        self.inverse
            .process_with_scratch(&mut self.combined, &mut self.scratch);
    }

    /// Writes the membrane velocity at each position of `cs` (one or two) into the matching
    /// `outs` (`spec.len()` samples each): Re(IDFT_M(v(ω, c)·X(ω))).
    pub fn velocities(
        &mut self,
        membrane: &Membrane,
        spec: &ClipSpectrum,
        cs: &[f64],
        outs: &mut [&mut [f64]],
    ) {
        assert_eq!(outs.len(), cs.len(), "one output per channel");
        self.transform_pair(membrane, spec, cs, None);
        let scale = 1.0 / spec.len() as f64;
        for (which, out) in outs.iter_mut().enumerate() {
            for (o, z) in out.iter_mut().zip(&self.combined) {
                *o = if which == 0 { z.re } else { z.im } * scale;
            }
        }
    }

    /// [`ChannelTransform::velocities`] of channels `first` and `first + 1` (at the positions
    /// `cs`, one or two) into lanes `lane` and `lane + 1` of `rows` (`rows[t][lane]` the first
    /// channel's sample t), with the clip's table of transfer functions where it has one.
    pub fn velocities_to_lanes(
        &mut self,
        membrane: &Membrane,
        spec: &ClipSpectrum,
        (first, cs): (usize, &[f64]),
        rows: &mut [[f64; LANES]],
        lane: usize,
    ) {
        self.transform_pair(membrane, spec, cs, Some(first));
        let scale = 1.0 / spec.len() as f64;
        for (row, z) in rows.iter_mut().zip(&self.combined) {
            row[lane] = z.re * scale;
            if cs.len() == 2 {
                row[lane + 1] = z.im * scale;
            }
        }
    }

    /// [`ChannelTransform::velocities`] of one channel.
    pub fn velocity(&mut self, membrane: &Membrane, spec: &ClipSpectrum, c: f64, out: &mut [f64]) {
        self.velocities(membrane, spec, &[c], &mut [out]);
    }
}
