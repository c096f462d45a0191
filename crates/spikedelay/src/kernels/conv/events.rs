//! The causal delay convolution of method §3, event-driven over non-zero inputs.
//!
//! Layouts (one sample):
//! - input `x`: `(T_in, C_in)`, row-major;
//! - kernel `k`: `(C_in, D, C_out)`, indexed by **delay** `d` (not by tap `n`; `d = D−1−n`), so the
//!   `D·C_out` values fed by input channel `i` are one contiguous block `k_i`;
//! - output `a`: `(T_out, C_out)` with `T_out = T_in + R`, `R = (D−1)/2`.
//!
//! ```text
//! a[t, o] = Σ_i Σ_{d=0}^{D−1} k[i, d, o] · x[t − d, i]            (method §3, zero outside 0 ≤ t−d < T_in)
//! ```
//!
//! Because output rows `t'..t'+D` are contiguous, one input event `x[t', i] ≠ 0` updates the
//! output with a single `axpy` of length `D·C_out`: `a[t'.., :] += x · k_i`. Zero inputs (most
//! spikes) cost nothing. The loops run input channel outermost and time inside, so `k_i` stays in
//! cache; for a fixed output `(t, o)` the non-zero terms are added in the order (i, t') ascending,
//! which the integer-delay network in [`crate::infer`] reproduces bit for bit.

use rayon::prelude::*;

use crate::kernels::simd::multiversion;
use crate::kernels::vector::{add_assign, axpy, dot};
use crate::seq::Seq;

/// Number of sample chunks whose kernel gradients are summed separately and then reduced in a
/// fixed order: results do not depend on the thread count.
const KERNEL_GRAD_CHUNKS: usize = 8;

/// Calls `f(i, t', v, n)` for every non-zero input `v = x[t', i]`, in the order (i, t')
/// ascending, where `n = min(D, T_out − t')·c_out` is the length of the output window (rows
/// `t'..t'+D`) that the event reaches. This is the one place that finds events.
#[inline]
fn for_each_event(
    x: &[f32],
    c_in: usize,
    taps: usize,
    c_out: usize,
    t_out: usize,
    mut f: impl FnMut(usize, usize, f32, usize),
) {
    let t_in = x.len() / c_in;
    for i in 0..c_in {
        for tp in 0..t_in {
            let v = x[tp * c_in + i];
            if v != 0.0 {
                f(i, tp, v, taps.min(t_out - tp) * c_out);
            }
        }
    }
}

multiversion! {
    /// Forward pass for one sample: `a += conv(x, k)`.
    ///
    /// `x` is `(T_in, c_in)`, `k` is `(c_in, taps, c_out)`, `a` is `(T_out, c_out)`, `T_out ≥ T_in`.
    pub fn delay_conv_forward<V>(
        x: &[f32],
        c_in: usize,
        k: &[f32],
        taps: usize,
        c_out: usize,
        a: &mut [f32],
    ) {
        let t_out = a.len() / c_out;
        debug_assert_eq!(k.len(), c_in * taps * c_out);
        debug_assert!(t_out >= x.len() / c_in);
        let block = taps * c_out;
        for_each_event(x, c_in, taps, c_out, t_out, |i, tp, v, n| {
            axpy(
                v,
                &k[i * block..i * block + n],
                &mut a[tp * c_out..tp * c_out + n],
            );
        });
    }
}

multiversion! {
    /// Gradient with respect to the input for one sample: `gx[t', i] = Σ_d Σ_o k[i, d, o]·ga[t'+d, o]`
    /// (method §3, `∂L/∂u` restricted to the unpadded input). Overwrites `gx` (`(T_in, c_in)`).
    pub fn delay_conv_backward_input<V>(
        ga: &[f32],
        c_out: usize,
        k: &[f32],
        taps: usize,
        c_in: usize,
        gx: &mut [f32],
    ) {
        let t_in = gx.len() / c_in;
        let t_out = ga.len() / c_out;
        let block = taps * c_out;
        for i in 0..c_in {
            let k_i = &k[i * block..(i + 1) * block];
            for tp in 0..t_in {
                let n = taps.min(t_out - tp) * c_out;
                gx[tp * c_in + i] = dot(&k_i[..n], &ga[tp * c_out..tp * c_out + n]);
            }
        }
    }
}

multiversion! {
    /// Gradient with respect to the kernel for one sample, accumulated:
    /// `gk[i, d, o] += Σ_t' x[t', i] · ga[t'+d, o]` (method §3, `G`), over the non-zero inputs only.
    pub fn delay_conv_backward_kernel<V>(
        x: &[f32],
        c_in: usize,
        ga: &[f32],
        c_out: usize,
        taps: usize,
        gk: &mut [f32],
    ) {
        let t_out = ga.len() / c_out;
        let block = taps * c_out;
        for_each_event(x, c_in, taps, c_out, t_out, |i, tp, v, n| {
            axpy(
                v,
                &ga[tp * c_out..tp * c_out + n],
                &mut gk[i * block..i * block + n],
            );
        });
    }
}

#[cfg(test)]
/// Straightforward loop twin of [`delay_conv_forward`], written from the formula; for tests.
pub fn delay_conv_reference(
    x: &[f32],
    c_in: usize,
    k: &[f32],
    taps: usize,
    c_out: usize,
    t_out: usize,
) -> Vec<f32> {
    let t_in = x.len() / c_in;
    let mut a = vec![0.0f32; t_out * c_out];
    for t in 0..t_out {
        for o in 0..c_out {
            let mut s = 0.0f64;
            for i in 0..c_in {
                for d in 0..taps {
                    if t >= d && t - d < t_in {
                        s += k[(i * taps + d) * c_out + o] as f64 * x[(t - d) * c_in + i] as f64;
                    }
                }
            }
            a[t * c_out + o] = s as f32;
        }
    }
    a
}

/// Batch forward: returns `a` of shape `(B, t_out, c_out)`, samples in parallel.
pub fn forward_batch(x: &Seq, k: &[f32], taps: usize, c_out: usize, t_out: usize) -> Seq {
    let c_in = x.channels;
    let mut a = Seq::zeros(x.batch, t_out, c_out);
    a.data
        .par_chunks_mut(t_out * c_out)
        .zip(x.data.par_chunks(x.sample_len()))
        .for_each(|(a_b, x_b)| delay_conv_forward(x_b, c_in, k, taps, c_out, a_b));
    a
}

/// Batch input gradient: returns `gx` of shape `(B, t_in, c_in)`, samples in parallel.
pub fn backward_input_batch(ga: &Seq, k: &[f32], taps: usize, c_in: usize, t_in: usize) -> Seq {
    let c_out = ga.channels;
    let mut gx = Seq::zeros(ga.batch, t_in, c_in);
    gx.data
        .par_chunks_mut(t_in * c_in)
        .zip(ga.data.par_chunks(ga.sample_len()))
        .for_each(|(gx_b, ga_b)| delay_conv_backward_input(ga_b, c_out, k, taps, c_in, gx_b));
    gx
}

/// Batch kernel gradient `(c_in, taps, c_out)`, summed over samples. Samples are split into a
/// fixed number of chunks, each summed on its own, and the chunks are added in order, so the
/// result is the same for any thread count.
pub fn backward_kernel_batch(x: &Seq, ga: &Seq, taps: usize) -> Vec<f32> {
    let (c_in, c_out) = (x.channels, ga.channels);
    let len = c_in * taps * c_out;
    let per_chunk = x.batch.div_ceil(KERNEL_GRAD_CHUNKS).max(1);
    let partial: Vec<Vec<f32>> = (0..x.batch.div_ceil(per_chunk))
        .into_par_iter()
        .map(|c| {
            let mut gk = vec![0.0f32; len];
            for b in c * per_chunk..((c + 1) * per_chunk).min(x.batch) {
                delay_conv_backward_kernel(x.sample(b), c_in, ga.sample(b), c_out, taps, &mut gk);
            }
            gk
        })
        .collect();
    let mut iter = partial.into_iter();
    let mut total = iter.next().unwrap_or_else(|| vec![0.0; len]);
    let rest: Vec<Vec<f32>> = iter.collect();
    const STRIPE: usize = 1 << 14;
    total
        .par_chunks_mut(STRIPE)
        .enumerate()
        .for_each(|(s, dst)| {
            for p in &rest {
                add_assign(dst, &p[s * STRIPE..s * STRIPE + dst.len()]);
            }
        });
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_data::pseudo;

    #[test]
    fn forward_matches_formula() {
        let (c_in, c_out, taps, t_in) = (3, 4, 5, 9);
        let t_out = t_in + (taps - 1) / 2;
        let x = pseudo(t_in * c_in, 1, 3);
        let k = pseudo(c_in * taps * c_out, 2, 0);
        let mut a = vec![0.0; t_out * c_out];
        delay_conv_forward(&x, c_in, &k, taps, c_out, &mut a);
        let r = delay_conv_reference(&x, c_in, &k, taps, c_out, t_out);
        for (p, q) in a.iter().zip(&r) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }

    #[test]
    fn backward_passes_are_adjoint_to_forward() {
        // <ga, conv(x, k)> = <gx, x> = <gk, k> for a bilinear map.
        let (c_in, c_out, taps, t_in) = (4, 3, 7, 11);
        let t_out = t_in + 3;
        let x = pseudo(t_in * c_in, 3, 2);
        let k = pseudo(c_in * taps * c_out, 4, 0);
        let ga = pseudo(t_out * c_out, 5, 0);
        let mut a = vec![0.0; t_out * c_out];
        delay_conv_forward(&x, c_in, &k, taps, c_out, &mut a);
        let lhs = dot(&a, &ga);
        let mut gx = vec![0.0; t_in * c_in];
        delay_conv_backward_input(&ga, c_out, &k, taps, c_in, &mut gx);
        let mut gk = vec![0.0; k.len()];
        delay_conv_backward_kernel(&x, c_in, &ga, c_out, taps, &mut gk);
        assert!((lhs - dot(&gx, &x)).abs() < 1e-4 * lhs.abs().max(1.0));
        assert!((lhs - dot(&gk, &k)).abs() < 1e-4 * lhs.abs().max(1.0));
    }

    #[test]
    fn batch_kernel_gradient_is_thread_count_independent() {
        let (b, t_in, c_in, c_out, taps) = (13, 10, 5, 6, 3);
        let x = Seq::from_vec(b, t_in, c_in, pseudo(b * t_in * c_in, 7, 2)).unwrap();
        let ga = Seq::from_vec(b, t_in + 1, c_out, pseudo(b * (t_in + 1) * c_out, 8, 0)).unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let g1 = one.install(|| backward_kernel_batch(&x, &ga, taps));
        let g3 = three.install(|| backward_kernel_batch(&x, &ga, taps));
        assert_eq!(g1, g3);
        let mut serial = vec![0.0; g1.len()];
        for s in 0..b {
            delay_conv_backward_kernel(x.sample(s), c_in, ga.sample(s), c_out, taps, &mut serial);
        }
        for (p, q) in g1.iter().zip(&serial) {
            assert!((p - q).abs() < 1e-5);
        }
    }
}
