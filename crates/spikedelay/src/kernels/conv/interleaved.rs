//! Register-blocked products over **interleaved** samples, the narrow path's core
//! ([`super::narrow`]): 16 samples side by side in one vector register, so that a shift in time
//! moves whole rows and every load serves several taps. Written once over [`Lanes16`] and
//! compiled for each SIMD level (docs/design.md §4).

use rayon::prelude::*;

#[cfg(doc)]
use crate::kernels::simd::Lanes16;
use crate::kernels::simd::multiversion;
use crate::seq::Seq;

/// Widest window of taps the products handle (the kernel-gradient accumulators must fit in
/// registers).
pub(super) const MAX_WIDTH: usize = 12;

/// Samples side by side in one vector register.
pub(super) const LANES: usize = 16;

/// Output steps per register block (eight accumulators).
pub(super) const ROWS: usize = 8;

/// `x` (B, T, C) interleaved by sample: `[blk][c][row][lane]` holds `x[16·blk + lane, row − front, c]`
/// for `front ≤ row < front + T`, zero elsewhere (and in lanes past the batch), `rows` rows per
/// channel. A vector load at one row is one time step of 16 samples: shifting in time moves
/// whole rows, so every load is aligned and the same row serves several taps.
pub(super) fn interleave(x: &Seq, front: usize, rows: usize) -> Vec<f32> {
    let (batch, steps, c) = x.shape();
    let blocks = batch.div_ceil(LANES);
    let mut out = vec![0.0f32; blocks * c * rows * LANES];
    out.par_chunks_mut(c * rows * LANES)
        .enumerate()
        .for_each(|(blk, dst)| {
            let lanes = LANES.min(batch - blk * LANES);
            let samples: Vec<&[f32]> = (0..lanes).map(|l| x.sample(blk * LANES + l)).collect();
            // Tiles of 16 channels × 16 samples at one step: 16 contiguous reads, a transpose
            // in registers, 16 contiguous (aligned) writes.
            let mut tile = [[0.0f32; LANES]; LANES];
            for t in 0..steps {
                for c0 in (0..c).step_by(LANES) {
                    let n = LANES.min(c - c0);
                    for (lane, s) in samples.iter().enumerate() {
                        tile[lane][..n].copy_from_slice(&s[t * c + c0..t * c + c0 + n]);
                    }
                    for (j, row) in dst[((c0 * rows) + front + t) * LANES..]
                        .chunks_mut(rows * LANES)
                        .take(n)
                        .enumerate()
                    {
                        let row: &mut [f32; LANES] = (&mut row[..LANES]).try_into().unwrap();
                        for (lane, v) in row.iter_mut().enumerate().take(lanes) {
                            *v = tile[lane][j];
                        }
                    }
                }
            }
        });
    out
}

/// A block-major result `[blk][tb][j][τ][lane]` (step `tb·ROWS + τ`) as `(B, steps, C)`.
pub(super) fn deinterleave(buf: &[f32], batch: usize, steps: usize, c: usize) -> Seq {
    let t_blocks = steps.div_ceil(ROWS);
    let mut out = Seq::zeros(batch, steps, c);
    out.data
        .par_chunks_mut(LANES * steps * c)
        .enumerate()
        .for_each(|(blk, dst)| {
            let lanes = dst.len() / (steps * c);
            for t in 0..steps {
                let src = &buf[((blk * t_blocks + t / ROWS) * c * ROWS + t % ROWS) * LANES..];
                for lane in 0..lanes {
                    let row = &mut dst[(lane * steps + t) * c..(lane * steps + t + 1) * c];
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = src[j * ROWS * LANES + lane];
                    }
                }
            }
        });
    out
}

/// Register-blocked shifted sums over interleaved rows:
/// `out[blk][tb][j][τ] = Σ_m Σ_u wts[(j·n_in + m)·W + u] · inp[blk][m][offs[j·n_in + m] + tb·ROWS + τ + u]`
/// for `t_blocks` blocks of [`ROWS`] steps. Per `(j, m)` the `ROWS + W − 1` input rows are
/// loaded once and each feeds up to `W` multiply-adds.
pub(super) fn shifted_sums<const W: usize>(
    inp: &[f32],
    rows_in: usize,
    wts: &[f32],
    offs: &[usize],
    n_out: usize,
    t_blocks: usize,
) -> Vec<f32> {
    let n_in = offs.len() / n_out;
    let per_block = n_in * rows_in * LANES;
    let blocks = inp.len() / per_block;
    let item = n_out * ROWS * LANES;
    let mut out = vec![0.0f32; blocks * t_blocks * item];
    out.par_chunks_mut(item)
        .enumerate()
        .for_each(|(it, out_it)| {
            let (blk, tb) = (it / t_blocks, it % t_blocks);
            let inp_b = &inp[blk * per_block..(blk + 1) * per_block];
            shifted_sums_item::<W>(inp_b, rows_in, wts, offs, tb, out_it);
        });
    out
}

multiversion! {
    /// One work item of [`shifted_sums`]: all outputs of step block `tb` of one lane block.
    fn shifted_sums_item<V, const W: usize>(
        inp_b: &[f32],
        rows_in: usize,
        wts: &[f32],
        offs: &[usize],
        tb: usize,
        out_it: &mut [f32],
    ) {
        let n_in = inp_b.len() / (rows_in * LANES);
        // A few input channels at a time, so their rows stay in L1 across all outputs.
        for m0 in (0..n_in).step_by(SUM_CHUNK) {
            let m1 = (m0 + SUM_CHUNK).min(n_in);
            for (j, out_j) in out_it.chunks_exact_mut(ROWS * LANES).enumerate() {
                let mut acc = [V::zero(); ROWS];
                if m0 > 0 {
                    for (tau, a) in acc.iter_mut().enumerate() {
                        *a = V::load(&out_j[tau * LANES..]);
                    }
                }
                for m in m0..m1 {
                    let s = j * n_in + m;
                    let r0 = m * rows_in + offs[s] + tb * ROWS;
                    let win = &inp_b[r0 * LANES..(r0 + ROWS + W - 1) * LANES];
                    let mut xs = [V::zero(); ROWS + MAX_WIDTH - 1];
                    for (r, x) in xs.iter_mut().take(ROWS + W - 1).enumerate() {
                        *x = V::load(&win[r * LANES..]);
                    }
                    let k: &[f32; W] = wts[s * W..(s + 1) * W].try_into().unwrap();
                    for (u, &kv) in k.iter().enumerate() {
                        let kv = V::splat(kv);
                        for (tau, a) in acc.iter_mut().enumerate() {
                            *a = kv.mul_add(xs[tau + u], *a);
                        }
                    }
                }
                for (tau, a) in acc.iter().enumerate() {
                    a.store(&mut out_j[tau * LANES..]);
                }
            }
        }
    }
}

/// Input channels per pass of [`shifted_sums`]: their rows around one step block (~`D + 8`
/// rows of 64 bytes each) fit in L1 together.
const SUM_CHUNK: usize = 8;

/// Most output channels per work item of [`shifted_dots`] (their rows share each input row).
const DOT_GROUP: usize = 8;

/// `g[j][m][u] = Σ_blk Σ_t ga[blk][j][t] · x[blk][m][offs[j·n_in + m] + t + u]` summed over
/// lanes, for `t < t_rows` (a multiple of [`ROWS`]). Each `j` is summed by one thread in a fixed
/// order: the result does not depend on the thread count.
pub(super) fn shifted_dots<const W: usize>(
    x: &[f32],
    rows_x: usize,
    ga: &[f32],
    rows_ga: usize,
    offs: &[usize],
    n_out: usize,
    t_rows: usize,
) -> Vec<f32> {
    let n_in = offs.len() / n_out;
    let mut g = vec![0.0f32; n_out * n_in * W];
    // Smaller groups when there are few output channels, so every thread gets work.
    let group = (n_out / (4 * rayon::current_num_threads())).clamp(1, DOT_GROUP);
    g.par_chunks_mut(group * n_in * W)
        .enumerate()
        .for_each(|(grp, g_grp)| {
            let rows = Rows {
                x_rows: rows_x,
                ga_rows: rows_ga,
                t_rows,
                n_in,
            };
            shifted_dots_group::<W>(x, ga, offs, rows, grp * group, g_grp);
        });
    g
}

/// The shapes [`shifted_dots_group`] reads its buffers with.
#[derive(Clone, Copy)]
struct Rows {
    /// Rows per input channel in `x`.
    x_rows: usize,
    /// Rows per output channel in `ga`.
    ga_rows: usize,
    /// Rows summed (a multiple of [`ROWS`]).
    t_rows: usize,
    /// Input channels.
    n_in: usize,
}

multiversion! {
    /// One work item of [`shifted_dots`]: the kernel gradients of outputs `j0 ..` (as many as
    /// `g_grp` holds), summed over every lane block in order.
    fn shifted_dots_group<V, const W: usize>(
        x: &[f32],
        ga: &[f32],
        offs: &[usize],
        rows: Rows,
        j0: usize,
        g_grp: &mut [f32],
    ) {
        let Rows { x_rows, ga_rows, t_rows, n_in } = rows;
        let n_out = offs.len() / n_in;
        let (x_block, ga_block) = (n_in * x_rows * LANES, n_out * ga_rows * LANES);
        for blk in 0..ga.len() / ga_block {
            let x_b = &x[blk * x_block..(blk + 1) * x_block];
            let ga_b = &ga[blk * ga_block..(blk + 1) * ga_block];
            for m in 0..n_in {
                for (jj, g_j) in g_grp.chunks_exact_mut(n_in * W).enumerate() {
                    let j = j0 + jj;
                    let ga_j = &ga_b[j * ga_rows * LANES..(j * ga_rows + t_rows) * LANES];
                    let r0 = m * x_rows + offs[j * n_in + m];
                    let x_m = &x_b[r0 * LANES..(r0 + t_rows + W - 1) * LANES];
                    let mut acc = [V::zero(); W];
                    for tb in 0..t_rows / ROWS {
                        let t0 = tb * ROWS;
                        let mut xs = [V::zero(); ROWS + MAX_WIDTH - 1];
                        for (r, xv) in xs.iter_mut().take(ROWS + W - 1).enumerate() {
                            *xv = V::load(&x_m[(t0 + r) * LANES..]);
                        }
                        for tau in 0..ROWS {
                            let gv = V::load(&ga_j[(t0 + tau) * LANES..]);
                            for (u, a) in acc.iter_mut().enumerate() {
                                *a = gv.mul_add(xs[tau + u], *a);
                            }
                        }
                    }
                    for (u, a) in acc.iter().enumerate() {
                        g_j[m * W + u] += a.sum();
                    }
                }
            }
        }
    }
}

/// Calls `$f::<W>` for the runtime width `$w` (1 ..= [`MAX_WIDTH`]).
macro_rules! by_width {
    ($w:expr, $f:ident ( $($arg:expr),* )) => {
        match $w {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            8 => $f::<8>($($arg),*),
            9 => $f::<9>($($arg),*),
            10 => $f::<10>($($arg),*),
            11 => $f::<11>($($arg),*),
            12 => $f::<12>($($arg),*),
            w => panic!("narrow window of {w} taps (at most {MAX_WIDTH})"),
        }
    };
}
pub(super) use by_width;
