//! The delay convolution through the discrete Fourier transform: every σ, every density.
//!
//! A causal convolution over time is a product per frequency. With real transforms of length
//! `N ≥ T_in + D − 1` (and `≥ T_out`), zero-padded so that no circular wrap reaches a kept step,
//! each of the `N/2 + 1` frequency bins `f` is one complex matrix product over the batch:
//!
//! ```text
//! forward:        Â_f  = X̂_f · K̂_f                  (B × C_in)(C_in × C_out)
//! input gradient: ĜX_f = ĜA_f · conj(K̂_f)ᵀ           correlation with the kernel
//! kernel grad.:   Ĝ_f  = conj(X̂_f)ᵀ · ĜA_f            correlation with the input, lags 0..D
//! ```
//!
//! Each product costs `4·(N/2 + 1)·B·C_in·C_out` real multiply-adds against GEMM's
//! `D·T_out·B·C_in·C_out`: on SHD's layer 2 (T_in = 112, D = 25, N = 144) 292 against 3 100
//! per `B·C_in·C_out`, whatever σ is and however dense the input. The transforms add
//! `O(N log N)` per sample and channel (and per synapse for the kernel and its gradient), small
//! beside the products for layers of a few hundred channels. The results equal the direct
//! convolution's up to float rounding (relative errors of a few `1e-7` of each output's scale).
//!
//! Spectra are stored bin-major (`[f][row][col]`), so each bin's matrix is contiguous for the
//! products, which run one bin per task on the rayon pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use gemm::{Parallelism, c32, gemm};
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::kernels::recycle::{Store, Uninit};
use crate::seq::Seq;

/// Spectra storage freed by one training step and taken again by the next.
static STORE: Store<c32> = Store::new();

/// Signals a transform task gathers, transforms and scatters together: a 64-byte line of
/// `f32` inputs, and two of `c32` spectra (BENCHMARKS.md, "CPU: transforms by blocks").
const BLOCK: usize = 16;

/// Bins a task moves between its row's signal-major spectra and the bin-major store together.
const BINS: usize = 4;

/// The smallest length `≥ min` whose only prime factors are 2, 3 and 5 (fast transforms).
pub fn fft_len(min: usize) -> usize {
    let smooth = |mut n: usize| {
        for p in [2, 3, 5] {
            while n.is_multiple_of(p) {
                n /= p;
            }
        }
        n == 1
    };
    (min.max(1)..)
        .find(|&n| smooth(n))
        .expect("a 5-smooth length exists")
}

/// Transform length for a layer with `t_in` input steps, `taps` taps and `t_out` output steps:
/// long enough that no circular wrap reaches a kept output, input gradient or kernel lag.
pub fn layer_fft_len(t_in: usize, taps: usize, t_out: usize) -> usize {
    fft_len((t_in + taps - 1).max(t_out))
}

/// Frequency bins of a real transform of length `n`.
pub fn bins(n: usize) -> usize {
    n / 2 + 1
}

/// A pair of planned transforms of one length.
struct Plans {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

/// The process's planned transforms, by length (planning is done once per length).
fn plans(n: usize) -> Arc<Plans> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<Plans>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(n)
        .or_insert_with(|| {
            let mut planner = RealFftPlanner::<f32>::new();
            Arc::new(Plans {
                forward: planner.plan_fft_forward(n),
                inverse: planner.plan_fft_inverse(n),
            })
        })
        .clone()
}

/// Spectra of `rows × cols` real signals of length `n`, bin-major: `[f][row][col]`. Their
/// storage returns to a store for the next step's spectra when dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectra {
    /// `bins(n) · rows · cols` values.
    data: Vec<c32>,
    /// Transform length.
    pub n: usize,
    /// Rows of each bin's matrix.
    pub rows: usize,
    /// Columns of each bin's matrix.
    pub cols: usize,
}

/// A raw pointer that rayon tasks may share: each task writes a disjoint part.
#[derive(Clone, Copy)]
struct SharedOut(*mut c32);
// Safety: only used by `Spectra::transform`, whose tasks write disjoint elements.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The element `offset` places on (a method, so closures capture the whole wrapper).
    ///
    /// # Safety
    /// `offset` must lie inside the allocation.
    unsafe fn at(&self, offset: usize) -> *mut c32 {
        // Safety: forwarded from the caller.
        unsafe { self.0.add(offset) }
    }
}

impl Spectra {
    /// The spectra of `rows` real matrices, row `r` being `source(r)`: `len × cols` row-major,
    /// each column one signal of `len ≤ n` steps, zero-padded to `n`.
    ///
    /// Each task takes one row and works through [`BLOCK`] columns at a time, so the gather
    /// into signals, the transforms and the scatter into bin-major order all stay in cache.
    fn transform<'s>(
        n: usize,
        rows: usize,
        cols: usize,
        len: usize,
        source: impl Fn(usize) -> &'s [f32] + Sync,
    ) -> Self {
        assert!(len <= n, "{len} steps in a transform of length {n}");
        let nb = bins(n);
        let mut data = STORE.take(nb * rows * cols);
        let out = SharedOut(data.slots().as_mut_ptr().cast::<c32>());
        let plan = plans(n);
        (0..rows).into_par_iter().for_each(|r| {
            let src = source(r);
            assert_eq!(src.len(), len * cols, "row {r} of the signals");
            let mut sig = vec![0.0f32; BLOCK * n];
            let mut local = vec![c32::new(0.0, 0.0); cols * nb];
            let mut scratch = vec![c32::new(0.0, 0.0); plan.forward.get_scratch_len()];
            for (c0, spec) in (0..cols).step_by(BLOCK).zip(local.chunks_mut(BLOCK * nb)) {
                let w = BLOCK.min(cols - c0);
                for (t, line) in src.chunks_exact(cols).enumerate() {
                    for (j, &v) in line[c0..c0 + w].iter().enumerate() {
                        sig[j * n + t] = v;
                    }
                }
                // The transforms use their input as scratch: the padding is written each time.
                for (s, spec) in sig.chunks_exact_mut(n).zip(spec.chunks_exact_mut(nb)) {
                    s[len..].fill(0.0);
                    plan.forward
                        .process_with_scratch(s, spec, &mut scratch)
                        .expect("buffer lengths match the plan");
                }
            }
            for f0 in (0..nb).step_by(BINS) {
                let h = BINS.min(nb - f0);
                let dst: [SharedOut; BINS] = std::array::from_fn(|df| {
                    // Safety: row r of bin min(f0 + df, nb − 1) lies inside `data`.
                    SharedOut(unsafe { out.at(((f0 + df).min(nb - 1) * rows + r) * cols) })
                });
                for (c, spec) in local.chunks_exact(nb).enumerate() {
                    for (df, d) in dst.iter().enumerate().take(h) {
                        // Safety: (bin f0 + df, row r, column c < cols) is inside `data` and
                        // written by this task only.
                        unsafe { d.at(c).write(spec[f0 + df]) };
                    }
                }
            }
        });
        Spectra {
            // Safety: the tasks above wrote every (bin, row, column).
            data: unsafe { data.assume_filled() },
            n,
            rows,
            cols,
        }
    }

    /// Spectra of a batch `x` (B, T, C) over time: `[f][b][c]`.
    pub fn of_seq(x: &Seq, n: usize) -> Self {
        let (_, t, c) = x.shape();
        Self::transform(n, x.batch, c, t, |b| x.sample(b))
    }

    /// Spectra of a kernel `k` (`(c_in, taps, c_out)`, indexed by delay): `[f][i][o]`.
    pub fn of_kernel(k: &[f32], c_in: usize, taps: usize, c_out: usize, n: usize) -> Self {
        assert!(k.len() == c_in * taps * c_out);
        let row = taps * c_out;
        Self::transform(n, c_in, c_out, taps, |i| &k[i * row..(i + 1) * row])
    }

    /// The inverse transforms, scaled by `1/n`, of every (row, column), keeping steps
    /// `0..keep`: `(rows, keep, cols)` row-major, each column one signal.
    fn inverse(&self, keep: usize) -> Vec<f32> {
        let (n, rows, cols) = (self.n, self.rows, self.cols);
        assert!(keep <= n);
        let nb = bins(n);
        let plan = plans(n);
        let scale = 1.0 / n as f32;
        let mut out = Uninit::new(rows * keep * cols);
        out.slots()
            .par_chunks_mut(keep * cols)
            .enumerate()
            .for_each(|(r, out_r)| {
                let mut local = vec![c32::new(0.0, 0.0); cols * nb];
                for f0 in (0..nb).step_by(BINS) {
                    let h = BINS.min(nb - f0);
                    let src: [&[c32]; BINS] = std::array::from_fn(|df| {
                        let at = ((f0 + df).min(nb - 1) * rows + r) * cols;
                        &self.data[at..at + cols]
                    });
                    for (c, spec) in local.chunks_exact_mut(nb).enumerate() {
                        for (df, s) in src.iter().enumerate().take(h) {
                            spec[f0 + df] = s[c];
                        }
                    }
                }
                let mut sig = vec![0.0f32; BLOCK * n];
                let mut scratch = vec![c32::new(0.0, 0.0); plan.inverse.get_scratch_len()];
                for (c0, spec) in (0..cols).step_by(BLOCK).zip(local.chunks_mut(BLOCK * nb)) {
                    let w = BLOCK.min(cols - c0);
                    for (spec, s) in spec.chunks_exact_mut(nb).zip(sig.chunks_exact_mut(n)) {
                        // A real signal's first (and, for even n, last) bin is real; products
                        // keep it so up to rounding of the zero imaginary parts.
                        spec[0].im = 0.0;
                        if n.is_multiple_of(2) {
                            spec[nb - 1].im = 0.0;
                        }
                        plan.inverse
                            .process_with_scratch(spec, s, &mut scratch)
                            .expect("buffer lengths match the plan");
                    }
                    for (t, line) in out_r.chunks_exact_mut(cols).enumerate() {
                        for (j, o) in line[c0..c0 + w].iter_mut().enumerate() {
                            o.write(sig[j * n + t] * scale);
                        }
                    }
                }
            });
        // Safety: every row's every (step, column) was written above.
        unsafe { out.assume_filled() }
    }

    /// The signals as a batch (B = rows, `steps`, C = cols), keeping steps `0..steps`.
    pub fn to_seq(&self, steps: usize) -> Seq {
        Seq {
            batch: self.rows,
            steps,
            channels: self.cols,
            data: self.inverse(steps),
        }
    }

    /// The signals' first `taps` values in a kernel's layout `(c_in = rows, taps, c_out = cols)`.
    pub fn to_kernel(&self, taps: usize) -> Vec<f32> {
        self.inverse(taps)
    }

    /// Bin `f`'s matrix.
    fn bin(&self, f: usize) -> &[c32] {
        let m = self.rows * self.cols;
        &self.data[f * m..(f + 1) * m]
    }
}

impl Drop for Spectra {
    fn drop(&mut self) {
        STORE.give(std::mem::take(&mut self.data));
    }
}

/// How one operand of [`bin_products`] is read: as stored or transposed, conjugated or not.
#[derive(Clone, Copy)]
struct Operand<'a> {
    spectra: &'a Spectra,
    transpose: bool,
    conj: bool,
}

impl Operand<'_> {
    /// (rows, cols) of the operand as used, and its (row, column) strides.
    fn shape(&self) -> ((usize, usize), (isize, isize)) {
        let (r, c) = (self.spectra.rows, self.spectra.cols);
        if self.transpose {
            ((c, r), (1, c as isize))
        } else {
            ((r, c), (c as isize, 1))
        }
    }
}

/// `out_f = lhs_f · rhs_f` for every bin, one bin per task.
fn bin_products(lhs: Operand, rhs: Operand) -> Spectra {
    let ((m, k), (lrs, lcs)) = lhs.shape();
    let ((k2, n), (rrs, rcs)) = rhs.shape();
    assert_eq!(k, k2, "inner dimensions");
    assert_eq!(lhs.spectra.n, rhs.spectra.n, "transform lengths");
    let len = lhs.spectra.n;
    let nb = bins(len);
    let mut data = STORE.take(nb * m * n);
    data.slots()
        .par_chunks_mut(m * n)
        .enumerate()
        .for_each(|(f, dst)| {
            let (l, r) = (lhs.spectra.bin(f), rhs.spectra.bin(f));
            // Safety: `dst` is m × n row-major, written whole and never read (`read_dst` false,
            // so its old values do not matter); `l` and `r` are the operands' bin matrices, read
            // with strides that stay inside them for the shapes above.
            unsafe {
                gemm(
                    m,
                    n,
                    k,
                    dst.as_mut_ptr().cast::<c32>(),
                    1,
                    n as isize,
                    false,
                    l.as_ptr(),
                    lcs,
                    lrs,
                    r.as_ptr(),
                    rcs,
                    rrs,
                    c32::new(0.0, 0.0),
                    c32::new(1.0, 0.0),
                    false,
                    lhs.conj,
                    rhs.conj,
                    Parallelism::None,
                );
            }
        });
    Spectra {
        // Safety: each bin's product above wrote its whole matrix.
        data: unsafe { data.assume_filled() },
        n: len,
        rows: m,
        cols: n,
    }
}

#[cfg(test)]
/// Forward pass over a batch: `a` (B, t_out, c_out) for `x` (B, T_in, c_in) and the kernel
/// `k` (`(c_in, taps, c_out)`, indexed by delay).
pub fn forward(x: &Seq, k: &[f32], taps: usize, c_out: usize, t_out: usize) -> Seq {
    let n = layer_fft_len(x.steps, taps, t_out);
    forward_spectra(&Spectra::of_seq(x, n), k, taps, c_out, t_out)
}

/// [`forward`] from the input's spectra (made by [`Spectra::of_seq`] with
/// [`layer_fft_len`]), which the backward pass reuses.
pub fn forward_spectra(xs: &Spectra, k: &[f32], taps: usize, c_out: usize, t_out: usize) -> Seq {
    let ks = Spectra::of_kernel(k, xs.cols, taps, c_out, xs.n);
    let a = bin_products(
        Operand {
            spectra: xs,
            transpose: false,
            conj: false,
        },
        Operand {
            spectra: &ks,
            transpose: false,
            conj: false,
        },
    );
    a.to_seq(t_out)
}

/// Backward pass over a batch from the input's spectra `xs` (of `t_in` steps) and the output
/// gradient `ga` (B, T_out, c_out): the kernel gradient in the dense layout `(c_in, taps,
/// c_out)` summed over samples, and the input gradient `gx` (B, t_in, c_in) when `want_input`.
pub fn backward_spectra(
    xs: &Spectra,
    t_in: usize,
    ga: &Seq,
    k: &[f32],
    taps: usize,
    want_input: bool,
) -> (Vec<f32>, Option<Seq>) {
    assert!(ga.batch == xs.rows && ga.steps <= xs.n);
    let gas = Spectra::of_seq(ga, xs.n);
    let g = bin_products(
        Operand {
            spectra: xs,
            transpose: true,
            conj: true,
        },
        Operand {
            spectra: &gas,
            transpose: false,
            conj: false,
        },
    );
    let gk = g.to_kernel(taps);
    let gx = want_input.then(|| {
        let ks = Spectra::of_kernel(k, xs.cols, taps, ga.channels, xs.n);
        let gxs = bin_products(
            Operand {
                spectra: &gas,
                transpose: false,
                conj: false,
            },
            Operand {
                spectra: &ks,
                transpose: true,
                conj: true,
            },
        );
        gxs.to_seq(t_in)
    });
    (gk, gx)
}

/// [`backward_spectra`] from the input itself.
pub fn backward(
    x: &Seq,
    ga: &Seq,
    k: &[f32],
    taps: usize,
    want_input: bool,
) -> (Vec<f32>, Option<Seq>) {
    let n = layer_fft_len(x.steps, taps, ga.steps);
    backward_spectra(&Spectra::of_seq(x, n), x.steps, ga, k, taps, want_input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{conv::events, test_data::pseudo};

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
        for (n, (p, q)) in a.iter().zip(b).enumerate() {
            assert!(
                (p - q).abs() <= tol * scale,
                "[{n}] {p} vs {q} (scale {scale})"
            );
        }
    }

    #[test]
    fn lengths_are_smooth_and_long_enough() {
        assert_eq!(fft_len(1), 1);
        assert_eq!(fft_len(7), 8);
        assert_eq!(fft_len(124), 125);
        assert_eq!(fft_len(136), 144);
        assert_eq!(layer_fft_len(112, 25, 124), 144);
        assert_eq!(layer_fft_len(3, 1, 5), 5);
        assert_eq!(bins(144), 73);
    }

    /// Forward, input gradient and kernel gradient equal the event path's (direct sums) on
    /// dense kernels, for odd and even transform lengths and output sequences shorter and
    /// longer than the input.
    #[test]
    fn spectral_path_matches_the_direct_sums() {
        for (batch, t_in, c_in, c_out, taps, t_out) in [
            (3, 37, 6, 5, 9, 41),
            (2, 50, 4, 7, 25, 62),
            (5, 20, 3, 2, 7, 20),
            (1, 13, 3, 20, 1, 13),
            (4, 12, 2, 3, 31, 27),
            (2, 30, 35, 17, 5, 30),
        ] {
            let x = Seq::from_vec(batch, t_in, c_in, pseudo(batch * t_in * c_in, 3, 3)).unwrap();
            let ga =
                Seq::from_vec(batch, t_out, c_out, pseudo(batch * t_out * c_out, 4, 0)).unwrap();
            let k = pseudo(c_in * taps * c_out, 5, 0);
            let a = forward(&x, &k, taps, c_out, t_out);
            let a_ref = events::forward_batch(&x, &k, taps, c_out, t_out);
            close(&a.data, &a_ref.data, 2e-6);
            let (gk, gx) = backward(&x, &ga, &k, taps, true);
            let gx_ref = events::backward_input_batch(&ga, &k, taps, c_in, t_in);
            close(&gx.unwrap().data, &gx_ref.data, 2e-6);
            let gk_ref = events::backward_kernel_batch(&x, &ga, taps);
            close(&gk, &gk_ref, 2e-6);
            let (gk2, none) = backward(&x, &ga, &k, taps, false);
            assert!(none.is_none());
            assert_eq!(gk2, gk);
        }
    }

    /// Storage taken from the store keeps its old values until written: buffers full of NaN
    /// waiting there for the lengths these passes ask for change no result.
    #[test]
    fn recycled_storage_never_reaches_the_results() {
        let (batch, t_in, c_in, c_out, taps, t_out) = (3, 37, 6, 5, 9, 41);
        let nb = bins(layer_fft_len(t_in, taps, t_out));
        for len in [nb * batch * c_in, nb * c_in * c_out, nb * batch * c_out] {
            for _ in 0..3 {
                STORE.give(vec![c32::new(f32::NAN, f32::NAN); len]);
            }
        }
        let x = Seq::from_vec(batch, t_in, c_in, pseudo(batch * t_in * c_in, 8, 3)).unwrap();
        let ga = Seq::from_vec(batch, t_out, c_out, pseudo(batch * t_out * c_out, 9, 0)).unwrap();
        let k = pseudo(c_in * taps * c_out, 10, 0);
        let a = forward(&x, &k, taps, c_out, t_out);
        close(
            &a.data,
            &events::forward_batch(&x, &k, taps, c_out, t_out).data,
            2e-6,
        );
        let (gk, gx) = backward(&x, &ga, &k, taps, true);
        close(&gk, &events::backward_kernel_batch(&x, &ga, taps), 2e-6);
        let gx_ref = events::backward_input_batch(&ga, &k, taps, c_in, t_in);
        close(&gx.unwrap().data, &gx_ref.data, 2e-6);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (batch, t_in, c_in, c_out, taps) = (6, 30, 5, 9, 7);
        let x = Seq::from_vec(batch, t_in, c_in, pseudo(batch * t_in * c_in, 5, 2)).unwrap();
        let ga = Seq::from_vec(batch, 33, c_out, pseudo(batch * 33 * c_out, 6, 0)).unwrap();
        let k = pseudo(c_in * taps * c_out, 7, 0);
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        };
        let run = || {
            (
                forward(&x, &k, taps, c_out, 33),
                backward(&x, &ga, &k, taps, true),
            )
        };
        assert_eq!(pool(1).install(run), pool(3).install(run));
    }
}
