//! The delay convolution over each synapse's narrow window of taps (late training: σ small).
//!
//! Once σ has shrunk, synapse `(o, i)`'s kernel matters only on a window of `W` consecutive
//! delays `d0(o,i) .. d0(o,i)+W` (method §4.1: at σ = 0.5 the taps 3 away from the centre are
//! below 1e-7 of the peak). [`NarrowKernel`] keeps just those taps, `W` the same for every synapse
//! of a layer, and this module computes with them:
//!
//! ```text
//! forward:        a[t, o]    = Σ_i Σ_w kw[o,i,w] · x[t − d0 − w, i]
//! input gradient: gx[t', i]  = Σ_o Σ_w kw[o,i,w] · ga[t' + d0 + w, o]
//! kernel grad.:   G[o,i,w]   = Σ_t  x[t − d0 − w, i] · ga[t, o]
//! ```
//!
//! That is `W/D` of the dense work (6 of 25 taps at σ = 0.5). The per-synapse shift `d0` rules
//! out a GEMM; instead the batch is **interleaved**: 16 samples side by side in one vector
//! register, so a shift in time moves whole (aligned) rows. For one output channel and a block
//! of 8 output steps, the 8 accumulators stay in registers while each input channel's
//! `8 + W − 1` rows are loaded once and each feeds up to `W` multiply-adds, close to GEMM's
//! register reuse. It costs `W·B·T·C_in·C_out` multiply-adds whatever the spike density.

use rayon::prelude::*;

use super::interleaved::{
    MAX_WIDTH, ROWS, by_width, deinterleave, interleave, shifted_dots, shifted_sums,
};
use crate::seq::Seq;

/// Taps smaller than this fraction of their synapse's largest tap are left out of the window.
/// A Gaussian tap at this level is 5.3 σ from the centre; dropping it changes outputs far less
/// than float32 summation does.
pub const NARROW_REL_CUT: f32 = 1e-6;

/// Widest window this module computes (its kernel-gradient accumulators must fit in registers).
pub const MAX_NARROW_WIDTH: usize = MAX_WIDTH;

/// A layer's kernel restricted to `width` consecutive delays per synapse.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrowKernel {
    /// Input channels `C_in`.
    pub c_in: usize,
    /// Output channels `C_out`.
    pub c_out: usize,
    /// Taps `D` of the dense kernel.
    pub taps: usize,
    /// Window width `W` (the same for every synapse).
    pub width: usize,
    /// First delay `d0` of synapse `(o, i)`'s window, at `o·C_in + i`.
    pub start: Vec<u32>,
    /// `k[i, d0 + w, o]` at `(o·C_in + i)·W + w`.
    pub values: Vec<f32>,
}

/// Each synapse's span of significant taps in a dense kernel, and the widest span: what a
/// [`NarrowKernel`] needs, found in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct TapSpans {
    /// `(first, last)` significant delay of synapse `(o, i)`, at `o·C_in + i`.
    spans: Vec<(u16, u16)>,
    /// The widest span `max(last + 1 − first)` (at least 1).
    pub width: usize,
}

impl TapSpans {
    /// Spans of the dense kernel `k` (`(c_in, D, c_out)`, indexed by delay): per synapse, the
    /// taps at or above [`NARROW_REL_CUT`] of its largest tap.
    pub fn of(k: &[f32], c_in: usize, taps: usize, c_out: usize) -> Self {
        assert!(taps <= u16::MAX as usize, "{taps} taps");
        let mut spans = vec![(0u16, 0u16); c_out * c_in];
        spans
            .par_chunks_mut(c_in)
            .enumerate()
            .for_each(|(o, spans_o)| {
                for (i, sp) in spans_o.iter_mut().enumerate() {
                    *sp = span(&k[i * taps * c_out..(i + 1) * taps * c_out], taps, c_out, o);
                }
            });
        let width = spans
            .iter()
            .map(|&(lo, hi)| (hi + 1 - lo) as usize)
            .max()
            .unwrap_or(1);
        TapSpans { spans, width }
    }
}

impl NarrowKernel {
    /// Restricts the dense kernel `k` (`(c_in, D, c_out)`) to a window of `width ≥
    /// spans.width` taps per synapse covering its span. Taps outside the spans (below the cut)
    /// are dropped; with `width = D` the result is exact.
    pub fn new(
        k: &[f32],
        spans: &TapSpans,
        c_in: usize,
        taps: usize,
        c_out: usize,
        width: usize,
    ) -> Self {
        assert!(
            (spans.width..=taps).contains(&width),
            "window {width} for spans of {} within {taps} taps",
            spans.width
        );
        let mut start = vec![0u32; c_out * c_in];
        let mut values = vec![0.0f32; c_out * c_in * width];
        start
            .par_chunks_mut(c_in)
            .zip(values.par_chunks_mut(c_in * width))
            .enumerate()
            .for_each(|(o, (start_o, values_o))| {
                for i in 0..c_in {
                    let k_i = &k[i * taps * c_out..(i + 1) * taps * c_out];
                    let (lo, hi) = spans.spans[o * c_in + i];
                    let (lo, hi) = (lo as usize, hi as usize);
                    // Centre the window on the span, kept inside 0..D.
                    let slack = width - (hi + 1 - lo);
                    let d0 = lo.saturating_sub(slack / 2).min(taps - width);
                    start_o[i] = d0 as u32;
                    for w in 0..width {
                        values_o[i * width + w] = k_i[(d0 + w) * c_out + o];
                    }
                }
            });
        NarrowKernel {
            c_in,
            c_out,
            taps,
            width,
            start,
            values,
        }
    }

    /// The narrow kernel of `k` with the tightest window, if that is at most `max_width` taps.
    pub fn fit(
        k: &[f32],
        c_in: usize,
        taps: usize,
        c_out: usize,
        max_width: usize,
    ) -> Option<Self> {
        let spans = TapSpans::of(k, c_in, taps, c_out);
        (spans.width <= max_width).then(|| Self::new(k, &spans, c_in, taps, c_out, spans.width))
    }

    /// Scatters a window gradient `G` (`(c_out, c_in, W)`) into the dense layout
    /// `(c_in, D, c_out)`, zero outside the windows.
    pub fn to_dense(&self, g: &[f32]) -> Vec<f32> {
        let (c_in, c_out, taps, width) = (self.c_in, self.c_out, self.taps, self.width);
        let mut dense = vec![0.0f32; c_in * taps * c_out];
        dense
            .par_chunks_mut(taps * c_out)
            .enumerate()
            .for_each(|(i, d_i)| {
                for o in 0..c_out {
                    let j = o * c_in + i;
                    let d0 = self.start[j] as usize;
                    for w in 0..width {
                        d_i[(d0 + w) * c_out + o] = g[j * width + w];
                    }
                }
            });
        dense
    }
}

/// First and last delay of synapse `o` in `k_i` (`(D, c_out)`) at or above the cut.
fn span(k_i: &[f32], taps: usize, c_out: usize, o: usize) -> (u16, u16) {
    let peak = (0..taps)
        .map(|d| k_i[d * c_out + o].abs())
        .fold(0.0, f32::max);
    let keep = |d: &usize| peak > 0.0 && k_i[d * c_out + o].abs() >= NARROW_REL_CUT * peak;
    match ((0..taps).find(keep), (0..taps).rev().find(keep)) {
        (Some(lo), Some(hi)) => (lo as u16, hi as u16),
        _ => (0, 0),
    }
}

/// Rows before the first step of a forward input: the largest delay `D − 1`.
fn front_pad(taps: usize) -> usize {
    taps - 1
}

/// Read offsets and tap-reversed windows for reading `x[t − d0 − w]` as row `off + t + u`
/// with `u = W − 1 − w`: `off = front − (d0 + W − 1)`.
fn backward_shifts(nk: &NarrowKernel, front: usize) -> (Vec<usize>, Vec<f32>) {
    let w = nk.width;
    let offs = nk
        .start
        .iter()
        .map(|&d0| front - (d0 as usize + w - 1))
        .collect();
    let mut rev = nk.values.clone();
    rev.chunks_exact_mut(w).for_each(|c| c.reverse());
    (offs, rev)
}

/// `steps` rounded up to whole register blocks.
fn padded(steps: usize) -> usize {
    steps.next_multiple_of(ROWS)
}

/// A batch's input in the interleaved layout the narrow products read, made once by the forward
/// pass ([`interleave_input`]) and kept for the kernel gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct InterleavedInput {
    data: Vec<f32>,
    rows: usize,
    batch: usize,
    steps: usize,
    channels: usize,
}

/// `x` (B, T_in, c_in) interleaved for a layer with kernel `nk` and `t_out` output steps.
pub fn interleave_input(x: &Seq, nk: &NarrowKernel, t_out: usize) -> InterleavedInput {
    debug_assert_eq!(x.channels, nk.c_in);
    let front = front_pad(nk.taps);
    let rows = front + padded(t_out).max(x.steps);
    InterleavedInput {
        data: interleave(x, front, rows),
        rows,
        batch: x.batch,
        steps: x.steps,
        channels: x.channels,
    }
}

#[cfg(test)]
/// Forward pass over a batch: `a` (B, t_out, c_out) for `x` (B, T_in, c_in).
pub fn forward(x: &Seq, nk: &NarrowKernel, t_out: usize) -> Seq {
    forward_interleaved(&interleave_input(x, nk, t_out), nk, t_out)
}

/// [`forward`] on an input interleaved by [`interleave_input`] for the same `nk` and `t_out`.
pub fn forward_interleaved(xi: &InterleavedInput, nk: &NarrowKernel, t_out: usize) -> Seq {
    assert!(xi.channels == nk.c_in && xi.rows == front_pad(nk.taps) + padded(t_out).max(xi.steps));
    let (offs, wts) = backward_shifts(nk, front_pad(nk.taps));
    let t_blocks = padded(t_out) / ROWS;
    let out = by_width!(
        nk.width,
        shifted_sums(&xi.data, xi.rows, &wts, &offs, nk.c_out, t_blocks)
    );
    deinterleave(&out, xi.batch, t_out, nk.c_out)
}

/// Backward pass over a batch: the kernel gradient in the dense layout `(c_in, D, c_out)` (zero
/// outside the windows, summed over samples) for input `x` (B, T_in, c_in) and output gradient
/// `ga` (B, T_out, c_out), and the input gradient `gx` (B, T_in, c_in) when `want_input`.
pub fn backward(x: &Seq, ga: &Seq, nk: &NarrowKernel, want_input: bool) -> (Vec<f32>, Option<Seq>) {
    backward_interleaved(&interleave_input(x, nk, ga.steps), ga, nk, want_input)
}

/// [`backward`] on the input as [`interleave_input`] made it for the forward pass.
pub fn backward_interleaved(
    xi: &InterleavedInput,
    ga: &Seq,
    nk: &NarrowKernel,
    want_input: bool,
) -> (Vec<f32>, Option<Seq>) {
    let t_in = xi.steps;
    let t_rows = padded(ga.steps);
    let front = front_pad(nk.taps);
    assert!(xi.channels == nk.c_in && xi.batch == ga.batch && xi.rows == front + t_rows.max(t_in));
    // One interleaved copy of `ga` serves both products.
    let (gai, rows_ga) = interleave_output_grad(ga, nk, t_in);
    let (offs, _) = backward_shifts(nk, front);
    let mut g = by_width!(
        nk.width,
        shifted_dots(&xi.data, xi.rows, &gai, rows_ga, &offs, nk.c_out, t_rows)
    );
    // Undo the tap reversal of the shifts: u = W − 1 − w.
    g.chunks_exact_mut(nk.width).for_each(|c| c.reverse());
    let gk = nk.to_dense(&g);
    let gx = want_input.then(|| input_grad(&gai, rows_ga, nk, ga.batch, t_in));
    (gk, gx)
}

#[cfg(test)]
/// Input gradient over a batch: `gx` (B, t_in, c_in) from `ga` (B, T_out, c_out).
pub fn backward_input(ga: &Seq, nk: &NarrowKernel, t_in: usize) -> Seq {
    let (gai, rows_ga) = interleave_output_grad(ga, nk, t_in);
    input_grad(&gai, rows_ga, nk, ga.batch, t_in)
}

/// `ga` interleaved with enough rows for both the kernel and the input gradient.
fn interleave_output_grad(ga: &Seq, nk: &NarrowKernel, t_in: usize) -> (Vec<f32>, usize) {
    let rows = padded(ga.steps).max(padded(t_in) + nk.taps - 1);
    (interleave(ga, 0, rows), rows)
}

fn input_grad(gai: &[f32], rows_ga: usize, nk: &NarrowKernel, batch: usize, t_in: usize) -> Seq {
    let (c_in, c_out, w) = (nk.c_in, nk.c_out, nk.width);
    // Transpose to (i, o): the output channel of this sum is the layer's input channel.
    let mut offs = vec![0usize; c_in * c_out];
    let mut wts = vec![0.0f32; c_in * c_out * w];
    for o in 0..c_out {
        for i in 0..c_in {
            offs[i * c_out + o] = nk.start[o * c_in + i] as usize;
            let src = &nk.values[(o * c_in + i) * w..(o * c_in + i + 1) * w];
            wts[(i * c_out + o) * w..(i * c_out + o + 1) * w].copy_from_slice(src);
        }
    }
    let t_blocks = padded(t_in) / ROWS;
    let out = by_width!(w, shifted_sums(gai, rows_ga, &wts, &offs, c_in, t_blocks));
    deinterleave(&out, batch, t_in, c_in)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{conv::events as delay_conv, test_data::pseudo};

    /// A dense kernel whose synapse `(o, i)` has non-zero taps only on `width` delays.
    fn banded_kernel(c_in: usize, taps: usize, c_out: usize, width: usize, seed: u32) -> Vec<f32> {
        let vals = pseudo(c_in * taps * c_out, seed, 0);
        let mut k = vec![0.0f32; c_in * taps * c_out];
        for i in 0..c_in {
            for o in 0..c_out {
                let d0 = (i * 7 + o * 3) % (taps - width + 1);
                for d in d0..d0 + width {
                    let j = (i * taps + d) * c_out + o;
                    k[j] = vals[j] + if vals[j] >= 0.0 { 0.1 } else { -0.1 };
                }
            }
        }
        k
    }

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (n, (p, q)) in a.iter().zip(b).enumerate() {
            assert!((p - q).abs() <= tol * (1.0 + q.abs()), "[{n}] {p} vs {q}");
        }
    }

    #[test]
    fn window_covers_the_significant_taps() {
        let (c_in, taps, c_out) = (3, 9, 4);
        let k = banded_kernel(c_in, taps, c_out, 3, 1);
        let spans = TapSpans::of(&k, c_in, taps, c_out);
        assert_eq!(spans.width, 3);
        let nk = NarrowKernel::new(&k, &spans, c_in, taps, c_out, 3);
        // Scattering the window values back gives the dense kernel exactly.
        assert_eq!(nk.to_dense(&nk.values), k);
        assert_eq!(NarrowKernel::fit(&k, c_in, taps, c_out, 3), Some(nk));
        assert_eq!(NarrowKernel::fit(&k, c_in, taps, c_out, 2), None);
        // A wider window keeps everything too, and stays inside 0..D.
        let wide = NarrowKernel::new(&k, &spans, c_in, taps, c_out, 5);
        assert_eq!(wide.to_dense(&wide.values), k);
        assert!(wide.start.iter().all(|&d0| d0 as usize + 5 <= taps));
    }

    #[test]
    fn tiny_taps_fall_outside_the_window() {
        let (c_in, taps, c_out) = (1, 7, 1);
        let mut k = vec![0.0f32; taps];
        k[2] = 1e-8;
        k[3] = 0.5;
        k[4] = 0.25;
        let nk = NarrowKernel::fit(&k, c_in, taps, c_out, MAX_NARROW_WIDTH).unwrap();
        assert_eq!(nk.width, 2);
        assert_eq!((nk.start[0], nk.values.clone()), (3, vec![0.5, 0.25]));
    }

    /// Forward, input gradient and kernel gradient equal the event path's on random inputs,
    /// with partial sample blocks (B not a multiple of 16) and partial step blocks.
    #[test]
    fn narrow_path_matches_event_path() {
        for (batch, t_in, c_in, c_out, taps, width) in [
            (5, 37, 6, 5, 9, 3),
            (3, 50, 4, 7, 25, 6),
            (2, 20, 3, 2, 7, 7),
            (19, 13, 3, 20, 9, 4),
        ] {
            let t_out = t_in + (taps - 1) / 2;
            let x = Seq::from_vec(batch, t_in, c_in, pseudo(batch * t_in * c_in, 3, 3)).unwrap();
            let ga =
                Seq::from_vec(batch, t_out, c_out, pseudo(batch * t_out * c_out, 4, 0)).unwrap();
            let k = banded_kernel(c_in, taps, c_out, width, 2);
            let nk = NarrowKernel::fit(&k, c_in, taps, c_out, MAX_NARROW_WIDTH).unwrap();
            assert_eq!(nk.width, width);

            let a = forward(&x, &nk, t_out);
            let a_ref = delay_conv::forward_batch(&x, &k, taps, c_out, t_out);
            close(&a.data, &a_ref.data, 1e-5);

            let (gk, gx) = backward(&x, &ga, &nk, true);
            let gx = gx.unwrap();
            assert_eq!(backward_input(&ga, &nk, t_in), gx);
            let gx_ref = delay_conv::backward_input_batch(&ga, &k, taps, c_in, t_in);
            close(&gx.data, &gx_ref.data, 1e-5);

            let gk_ref = delay_conv::backward_kernel_batch(&x, &ga, taps);
            // Only the window taps are computed; elsewhere the narrow gradient is zero.
            let inside = nk.to_dense(&vec![1.0; nk.values.len()]);
            for ((&g, &r), &m) in gk.iter().zip(&gk_ref).zip(&inside) {
                let want = if m == 1.0 { r } else { 0.0 };
                assert!(
                    (g - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{g} vs {want}"
                );
            }
        }
    }

    #[test]
    fn kernel_gradient_is_thread_count_independent() {
        let (batch, t_in, c_in, c_out, taps) = (21, 30, 5, 19, 7);
        let x = Seq::from_vec(batch, t_in, c_in, pseudo(batch * t_in * c_in, 5, 2)).unwrap();
        let ga = Seq::from_vec(
            batch,
            t_in + 3,
            c_out,
            pseudo(batch * (t_in + 3) * c_out, 6, 0),
        )
        .unwrap();
        let k = banded_kernel(c_in, taps, c_out, 2, 7);
        let nk = NarrowKernel::fit(&k, c_in, taps, c_out, 2).unwrap();
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        };
        let g1 = pool(1).install(|| backward(&x, &ga, &nk, false).0);
        let g3 = pool(3).install(|| backward(&x, &ga, &nk, false).0);
        assert_eq!(g1, g3);
    }
}
