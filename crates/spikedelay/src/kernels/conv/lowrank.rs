//! The delay convolution through a layer's [`TapBasis`]: for wide σ (early training).
//!
//! With orthonormal tap profiles `V` (`R × D`) that hold every kernel row, and coefficients
//! `K̃[q, i, o] = Σ_d V[q, d] · k[i, d, o]`, in the padded row layout of [`super::gemm`]
//! both the input and the output gradient are filtered by the profiles, and each product has
//! inner dimension `R·C` instead of `D·C`:
//!
//! ```text
//! input profiles:   Z[s, (q, i)] = Σ_d V[q, d] · X[s − d, i]
//! forward:          A[s, o]      = Σ_(q,i) Z[s, (q, i)] · K̃[q, i, o]
//! gradient profiles: Y[r, (q, o)] = Σ_d V[q, d] · GA[r + d, o]
//! input gradient:   GX[r, i]     = Σ_(q,o) Y[r, (q, o)] · K̃[q, i, o]
//! kernel gradient:  G̃[i, (q, o)] = Σ_r X[r, i] · Y[r, (q, o)],   G[i, d, o] = Σ_q V[q, d] · G̃[i, (q, o)]
//! ```
//!
//! The products cost `R·B·P·C_in·C_out` multiply-adds instead of GEMM's `D·…` (`R = 7` against
//! `D = 25` at σ = D/2), and the filters `R·D·B·P·C`, a fraction `D/C_out` (forward) or `D/C_in`
//! (backward) of that. Rows go in chunks, so the profiles of one chunk are made, multiplied and
//! dropped while they are in cache. The results are those of the kernel projected onto the
//! basis, `k·VᵀV`, which differs from `k` by at most [`super::tap_basis::BASIS_REL_TOL`] of each
//! row's peak; the kernel gradient is the exact gradient of that projected kernel.

use std::cell::RefCell;

use rayon::prelude::*;

use super::gemm::{gemm_acc, pad, pad_windowed, stride, unpad};
use super::tap_basis::{FamilyBasis, TapBasis};
use crate::kernels::simd::{Lanes16, multiversion};
use crate::seq::Seq;

/// Most profiles a low-rank plan may use (the register blocks below hold one accumulator each).
pub const MAX_RANK: usize = 16;

/// Rows per parallel task in the filters.
const ROW_BLOCK: usize = 32;

/// A kernel as coefficients on a [`TapBasis`]: what [`forward`] and [`backward`] need.
#[derive(Debug, Clone, PartialEq)]
pub struct LowRankKernel {
    /// The tap profiles `V`.
    pub basis: TapBasis,
    /// `K̃`, row-major `(R·c_in) × c_out` (`[q][i][o]`), for the forward product.
    pub coeffs: Vec<f32>,
    /// `K̃` reordered to `(R·c_out) × c_in` (`[q][o][i]`), for the input gradient.
    coeffs_by_output: Vec<f32>,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
}

impl LowRankKernel {
    /// `k` (`(c_in, taps, c_out)`) on the fewest of `family`'s profiles, at most `max_rank`
    /// (capped at [`MAX_RANK`]), that hold it; `None` when it needs more.
    pub fn fit(
        family: &FamilyBasis,
        k: &[f32],
        c_in: usize,
        c_out: usize,
        max_rank: usize,
    ) -> Option<Self> {
        let (basis, coeffs) = family.fit(k, c_in, c_out, max_rank.min(MAX_RANK))?;
        let mut coeffs_by_output = vec![0.0f32; coeffs.len()];
        for (q, (src, dst)) in coeffs
            .chunks(c_in * c_out)
            .zip(coeffs_by_output.chunks_mut(c_in * c_out))
            .enumerate()
        {
            debug_assert!(q < basis.rank);
            for i in 0..c_in {
                for o in 0..c_out {
                    dst[o * c_in + i] = src[i * c_out + o];
                }
            }
        }
        Some(LowRankKernel {
            basis,
            coeffs,
            coeffs_by_output,
            c_in,
            c_out,
        })
    }

    /// Profiles `R`.
    pub fn rank(&self) -> usize {
        self.basis.rank
    }

    /// `V` transposed with the taps reversed: `[e][q] = V[q, D − 1 − e]`, so that row `s` of
    /// the profiles reads input rows `s − D + 1 + e` in order.
    fn filter_forward(&self) -> Vec<f32> {
        let (r, taps) = (self.rank(), self.basis.taps);
        (0..taps)
            .flat_map(|e| (0..r).map(move |q| (q, taps - 1 - e)))
            .map(|(q, d)| self.basis.v[q * taps + d])
            .collect()
    }

    /// `V` transposed: `[d][q] = V[q, d]`.
    fn filter_backward(&self) -> Vec<f32> {
        let (r, taps) = (self.rank(), self.basis.taps);
        (0..taps)
            .flat_map(|d| (0..r).map(move |q| q * taps + d))
            .map(|j| self.basis.v[j])
            .collect()
    }
}

/// Calls `$f::<R>(args)` for the runtime rank `$r` in `1..=MAX_RANK`.
macro_rules! by_rank {
    ($r:expr, $f:ident, $($arg:expr),*) => {
        match $r {
            1 => $f::<1>($($arg),*), 2 => $f::<2>($($arg),*), 3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*), 5 => $f::<5>($($arg),*), 6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*), 8 => $f::<8>($($arg),*), 9 => $f::<9>($($arg),*),
            10 => $f::<10>($($arg),*), 11 => $f::<11>($($arg),*), 12 => $f::<12>($($arg),*),
            13 => $f::<13>($($arg),*), 14 => $f::<14>($($arg),*), 15 => $f::<15>($($arg),*),
            16 => $f::<16>($($arg),*),
            r => unreachable!("rank {r} above MAX_RANK"),
        }
    };
}

/// Starts of the 16-channel blocks that cover `0..c` when `c ≥ 16`: the last block ends at
/// `c`, overlapping its predecessor (channels are independent, so overlapped ones are written
/// twice with the same value).
fn lane_blocks(c: usize) -> impl Iterator<Item = usize> {
    let full = c / 16 * 16;
    let last = (c >= 16 && full < c).then(|| c - 16);
    (0..full).step_by(16).chain(last)
}

/// Channels no 16-lane block covers (all of them when `c < 16`).
fn scalar_channels(c: usize) -> std::ops::Range<usize> {
    if c < 16 { 0..c } else { c..c }
}

/// One row of the profiles: `z[q·c + i] = Σ_e f[e][q] · src[(s + e)·c + i]`.
#[inline(always)]
fn profiles_row<V: Lanes16, const R: usize>(
    src: &[f32],
    s: usize,
    c: usize,
    f: &[f32],
    z: &mut [f32],
) {
    let taps = f.len() / R;
    for i0 in lane_blocks(c) {
        let mut acc = [V::zero(); R];
        for e in 0..taps {
            let xv = V::load(&src[(s + e) * c + i0..]);
            let fe: &[f32; R] = f[e * R..(e + 1) * R].try_into().unwrap();
            for q in 0..R {
                acc[q] = V::splat(fe[q]).mul_add(xv, acc[q]);
            }
        }
        for (q, a) in acc.iter().enumerate() {
            a.store(&mut z[q * c + i0..]);
        }
    }
    for i in scalar_channels(c) {
        for q in 0..R {
            z[q * c + i] = (0..taps).map(|e| f[e * R + q] * src[(s + e) * c + i]).sum();
        }
    }
}

multiversion! {
    /// Consecutive rows `s0 ..` of the profiles (as many as `z` holds).
    fn profiles_rows<V, const R: usize>(src: &[f32], s0: usize, c: usize, f: &[f32], z: &mut [f32]) {
        for (ds, zrow) in z.chunks_mut(R * c).enumerate() {
            profiles_row::<V, R>(src, s0 + ds, c, f, zrow);
        }
    }
}

/// `z` (`rows × (R·c)`) from `src`, a buffer of `rows + taps − 1` rows of `c` channels:
/// row `s` filters rows `s ..< s + taps` with `f` (`[e][q]`).
/// Every value of `z` is written.
fn profiles(src: &[f32], c: usize, f: &[f32], rank: usize, z: &mut [f32]) {
    z.par_chunks_mut(ROW_BLOCK * rank * c)
        .enumerate()
        .for_each(|(blk, zb)| by_rank!(rank, profiles_rows, src, blk * ROW_BLOCK, c, f, zb));
}

thread_local! {
    /// Space for one chunk's profiles, kept between calls: every value a chunk uses is written
    /// before it is read, so the buffer is never cleared.
    static PROFILE_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with a buffer of at least `len` values whose contents are arbitrary: the
/// thread's scratch buffer, or a fresh one where a caller on this thread already holds it.
fn with_scratch<T>(len: usize, work: impl FnOnce(&mut [f32]) -> T) -> T {
    PROFILE_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            work(&mut buf[..len])
        }
        Err(_) => work(&mut vec![0.0f32; len]),
    })
}

/// Profile values per row chunk: about 4 MiB, so a chunk's profiles stay in cache between
/// being made and being multiplied.
const CHUNK_VALUES: usize = 1 << 20;

/// Rows per chunk for profiles of `width` values per row (a multiple of [`ROW_BLOCK`]), or
/// `fixed` rows where given (tests: many chunks on small inputs).
fn chunk_rows(width: usize, fixed: Option<usize>) -> usize {
    fixed.unwrap_or((CHUNK_VALUES / width.max(1)).div_ceil(ROW_BLOCK).max(1) * ROW_BLOCK)
}

/// `out (rows × n) += profiles(src) · rhs`, chunk by chunk: `src` holds `rows + taps − 1` rows
/// of `c` channels, `f` is `[e][q]`, `rhs` is `(R·c) × n` row-major. `each` sees every chunk's
/// first row and profiles after its product.
#[allow(clippy::too_many_arguments)]
fn filtered_product(
    src: &[f32],
    rows: usize,
    c: usize,
    f: &[f32],
    rank: usize,
    rhs: &[f32],
    n: usize,
    step: usize,
    mut each: impl FnMut(usize, &[f32]),
) -> Vec<f32> {
    let taps = f.len() / rank;
    assert!(src.len() >= (rows + taps - 1) * c && rhs.len() == rank * c * n);
    let mut out = vec![0.0f32; rows * n];
    with_scratch(step.min(rows) * rank * c, |zbuf| {
        for r0 in (0..rows).step_by(step) {
            let m = step.min(rows - r0);
            let z = &mut zbuf[..m * rank * c];
            profiles(&src[r0 * c..(r0 + m + taps - 1) * c], c, f, rank, z);
            // Safety: Z is m × (R·c), rhs (R·c) × n, and out's rows r0..r0+m are m × n.
            unsafe {
                gemm_acc(
                    (m, n, rank * c),
                    out[r0 * n..].as_mut_ptr(),
                    (n, 1),
                    z.as_ptr(),
                    (rank * c, 1),
                    rhs.as_ptr(),
                    (n, 1),
                );
            }
            each(r0, z);
        }
    });
    out
}

/// Forward pass over a batch: `a` (B, t_out, c_out) for input `x` (B, T_in, c_in). Requires
/// `t_out ≤ T_in + D − 1`.
pub fn forward(x: &Seq, lk: &LowRankKernel, t_out: usize) -> Seq {
    forward_in_chunks(x, lk, t_out, None)
}

fn forward_in_chunks(x: &Seq, lk: &LowRankKernel, t_out: usize, fixed: Option<usize>) -> Seq {
    let (b, t_in, c_in) = x.shape();
    let (taps, r, c_out) = (lk.basis.taps, lk.rank(), lk.c_out);
    let p = stride(t_in, taps);
    assert!(t_out <= p && c_in == lk.c_in);
    let xs = pad_windowed(x, p, taps - 1, 0);
    let f = lk.filter_forward();
    let step = chunk_rows(r * c_in, fixed);
    let a = filtered_product(&xs, b * p, c_in, &f, r, &lk.coeffs, c_out, step, |_, _| {});
    unpad(&a, b, p, t_out, c_out)
}

/// Backward pass over a batch: the dense kernel gradient `(c_in, D, c_out)` (of the projected
/// kernel, summed over the batch) and, when `want_input`, `∂L/∂x` (B, T_in, c_in).
pub fn backward(
    x: &Seq,
    ga: &Seq,
    lk: &LowRankKernel,
    want_input: bool,
) -> (Vec<f32>, Option<Seq>) {
    backward_in_chunks(x, ga, lk, want_input, None)
}

fn backward_in_chunks(
    x: &Seq,
    ga: &Seq,
    lk: &LowRankKernel,
    want_input: bool,
    fixed: Option<usize>,
) -> (Vec<f32>, Option<Seq>) {
    let (b, t_in, c_in) = x.shape();
    let (taps, r, c_out) = (lk.basis.taps, lk.rank(), lk.c_out);
    let p = stride(t_in, taps);
    assert!(ga.steps <= p && ga.batch == b && ga.channels == c_out && c_in == lk.c_in);
    let rows = b * p;
    let xs = pad(x, p);
    let gas = pad_windowed(ga, p, 0, taps - 1);
    let f = lk.filter_backward();
    let step = chunk_rows(r * c_out, fixed);
    let mut gc = vec![0.0f32; c_in * r * c_out];
    let kernel_grad = |r0: usize, y: &[f32]| {
        let m = y.len() / (r * c_out);
        // Safety: Xᵀ ([i][r] = xs[(r0 + r)·c_in + i]) is c_in × m, Y is m × (R·c_out), G̃ is
        // c_in × (R·c_out).
        unsafe {
            gemm_acc(
                (c_in, r * c_out, m),
                gc.as_mut_ptr(),
                (r * c_out, 1),
                xs[r0 * c_in..].as_ptr(),
                (1, c_in),
                y.as_ptr(),
                (r * c_out, 1),
            );
        }
    };
    let gx = if want_input {
        let gx = filtered_product(
            &gas,
            rows,
            c_out,
            &f,
            r,
            &lk.coeffs_by_output,
            c_in,
            step,
            kernel_grad,
        );
        Some(unpad(&gx, b, p, t_in, c_in))
    } else {
        let mut kernel_grad = kernel_grad;
        with_scratch(step.min(rows) * r * c_out, |ybuf| {
            for r0 in (0..rows).step_by(step) {
                let m = step.min(rows - r0);
                let y = &mut ybuf[..m * r * c_out];
                profiles(
                    &gas[r0 * c_out..(r0 + m + taps - 1) * c_out],
                    c_out,
                    &f,
                    r,
                    y,
                );
                kernel_grad(r0, y);
            }
        });
        None
    };
    (lk.basis.expand_by_input(&gc, c_in, c_out), gx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::events as delay_conv;
    use crate::kernels::conv::tap_basis::tests::family;
    use crate::kernels::test_data::pseudo;

    /// `(c_in, taps, c_out)` kernel of weighted normalised Gaussians of std `s`.
    fn gauss_kernel(c_in: usize, taps: usize, c_out: usize, s: f32) -> Vec<f32> {
        let w = pseudo(c_in * c_out, 9, 0);
        let mut k = vec![0.0f32; c_in * taps * c_out];
        for i in 0..c_in {
            for o in 0..c_out {
                let c = ((i * 31 + o * 17) % 97) as f32 / 96.0 * (taps - 1) as f32;
                let g: Vec<f32> = (0..taps)
                    .map(|d| (-0.5 * ((d as f32 - c) / s).powi(2)).exp())
                    .collect();
                let z: f32 = g.iter().sum();
                for d in 0..taps {
                    k[(i * taps + d) * c_out + o] = w[i * c_out + o] * g[d] / z;
                }
            }
        }
        k
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-5 * scale, "{what}[{j}]: {x} vs {y}");
        }
    }

    #[test]
    fn low_rank_paths_match_the_event_paths() {
        // Channel counts below, at and above one 16-lane block; several row blocks.
        for (b, t_in, c_in, c_out, taps, s) in [
            (3, 20, 5, 4, 11, 8.0),
            (2, 30, 16, 6, 25, 12.27),
            (4, 17, 37, 21, 25, 7.3),
            (2, 9, 18, 33, 31, 15.27),
        ] {
            for fixed in [None, Some(ROW_BLOCK)] {
                let rr = (taps - 1) / 2;
                let x = Seq::from_vec(b, t_in, c_in, pseudo(b * t_in * c_in, 1, 3)).unwrap();
                let k = gauss_kernel(c_in, taps, c_out, s);
                let lk = LowRankKernel::fit(&family(taps, s), &k, c_in, c_out, taps - 1)
                    .expect("wide σ fits");
                assert!(lk.rank() < taps);
                let ga = Seq::from_vec(b, t_in + rr, c_out, pseudo(b * (t_in + rr) * c_out, 3, 0))
                    .unwrap();
                close(
                    &forward_in_chunks(&x, &lk, t_in + rr, fixed).data,
                    &delay_conv::forward_batch(&x, &k, taps, c_out, t_in + rr).data,
                    "output",
                );
                let (gk, gx) = backward_in_chunks(&x, &ga, &lk, true, fixed);
                // The gradient of the projected kernel: the dense gradient projected on the basis
                // (what reaches W and P, whose profiles lie in it).
                let dense = delay_conv::backward_kernel_batch(&x, &ga, taps);
                let projected =
                    lk.basis
                        .expand(&lk.basis.project(&dense, c_in, c_out), c_in, c_out);
                close(&gk, &projected, "kernel gradient");
                // It contracts with every kernel row as the dense gradient does.
                let dot =
                    |g: &[f32]| -> f64 { g.iter().zip(&k).map(|(a, b)| f64::from(a * b)).sum() };
                let (lo, de) = (dot(&gk), dot(&dense));
                assert!((lo - de).abs() <= 1e-5 * de.abs().max(1.0), "{lo} vs {de}");
                close(
                    &gx.unwrap().data,
                    &delay_conv::backward_input_batch(&ga, &k, taps, c_in, t_in).data,
                    "input gradient",
                );
                let (gk_only, none) = backward_in_chunks(&x, &ga, &lk, false, fixed);
                assert!(none.is_none());
                close(&gk_only, &projected, "kernel gradient alone");
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (b, t_in, c_in, c_out, taps) = (3, 40, 20, 24, 25);
        let x = Seq::from_vec(b, t_in, c_in, pseudo(b * t_in * c_in, 4, 2)).unwrap();
        let k = gauss_kernel(c_in, taps, c_out, 10.0);
        let ga = Seq::from_vec(b, t_in + 12, c_out, pseudo(b * (t_in + 12) * c_out, 5, 0)).unwrap();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let lk = LowRankKernel::fit(&family(taps, 10.0), &k, c_in, c_out, 16).unwrap();
                    let a = forward(&x, &lk, t_in + 12);
                    let (gk, gx) = backward(&x, &ga, &lk, true);
                    (lk.rank(), a.data, gk, gx.unwrap().data)
                })
        };
        assert_eq!(run(1), run(3));
    }
}
