//! The delay convolution as dense matrix products over the whole batch.
//!
//! Each sample is copied into a block of `P = T_in + D − 1` rows (zero rows after its last step),
//! and every tensor of one convolution uses that stride. A shift by `d` rows then never crosses
//! into the next sample's block, and all taps together are one product over all `B·P` rows
//! whose inner dimension spans the taps: a window of `D` consecutive rows of one buffer is a row
//! of a matrix with row stride `C` (the rows overlap; GEMM only reads them):
//!
//! ```text
//! forward:        A[s, :]  = Σ_d X[s − d, :] · K_d           K_d[i, o] = k[i, d, o]
//! input gradient: GX[r, :] = Σ_d GA[r + d, :] · K_dᵀ
//! kernel grad.:   G_d      = Σ_r X[r, :]ᵀ · GA[r + d, :]
//! ```
//!
//! One product with inner dimension `D·C` instead of `D` products with inner dimension `C` keeps
//! narrow layers efficient and writes each output once.
//!
//! This costs `D·B·P·C_in·C_out` multiply-adds whatever the sparsity, at GEMM speed: the right
//! path for dense inputs and wide kernels. [`super::events`] is the event-driven alternative.

use gemm::{Parallelism, gemm};

use crate::seq::Seq;

/// Rows per sample in the padded layout.
pub(super) fn stride(t_in: usize, taps: usize) -> usize {
    t_in + taps - 1
}

/// `x` (B, T, C) copied into (B, P, C) with zero rows `T..P`.
pub(super) fn pad(x: &Seq, p: usize) -> Vec<f32> {
    let c = x.channels;
    let mut out = vec![0.0f32; x.batch * p * c];
    for b in 0..x.batch {
        out[b * p * c..(b * p + x.steps) * c].copy_from_slice(x.sample(b));
    }
    out
}

/// The first `t` rows of every (P, C) block, as a (B, t, C) tensor.
pub(super) fn unpad(buf: &[f32], batch: usize, p: usize, t: usize, c: usize) -> Seq {
    let mut out = Seq::zeros(batch, t, c);
    for b in 0..batch {
        out.sample_mut(b)
            .copy_from_slice(&buf[b * p * c..(b * p + t) * c]);
    }
    out
}

fn parallelism() -> Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => Parallelism::None,
        n => Parallelism::Rayon(n),
    }
}

/// Accumulating product `dst += lhs · rhs` on strided views (row stride, column stride).
///
/// # Safety
/// Every view must lie inside its slice for the given shape and strides, and `dst` must not
/// overlap the inputs.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_acc(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    (dst_rs, dst_cs): (usize, usize),
    lhs: *const f32,
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: *const f32,
    (rhs_rs, rhs_cs): (usize, usize),
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // Safety: forwarded from the caller.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            true,
            lhs,
            lhs_cs as isize,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(),
        )
    }
}

/// `x` (B, T, C) in the padded layout of [`pad`], with `front` zero rows before and `back` zero
/// rows after the whole batch, so that a window of `taps` consecutive rows starting at any row of
/// the batch stays inside the buffer.
pub(super) fn pad_windowed(x: &Seq, p: usize, front: usize, back: usize) -> Vec<f32> {
    let c = x.channels;
    let mut out = vec![0.0f32; (front + x.batch * p + back) * c];
    for b in 0..x.batch {
        let r = front + b * p;
        out[r * c..(r + x.steps) * c].copy_from_slice(x.sample(b));
    }
    out
}

/// Forward pass over a batch: `a` (B, t_out, c_out) for input `x` (B, T_in, c_in) and kernel
/// `k` (c_in, taps, c_out). Requires `t_out ≤ T_in + taps − 1`.
///
/// One product with inner dimension `taps·c_in`: row `s` of A is the window of input rows
/// `s − taps + 1 ..= s` (overlapping rows of one buffer, row stride `c_in`) times the kernel
/// reordered to `((taps − 1 − d, i), o)`.
pub fn forward(x: &Seq, k: &[f32], taps: usize, c_out: usize, t_out: usize) -> Seq {
    let (b, t_in, c_in) = x.shape();
    let p = stride(t_in, taps);
    assert!(t_out <= p && k.len() == c_in * taps * c_out);
    let xs = pad_windowed(x, p, taps - 1, 0);
    let mut kf = vec![0.0f32; taps * c_in * c_out];
    for i in 0..c_in {
        for d in 0..taps {
            let e = taps - 1 - d;
            kf[(e * c_in + i) * c_out..(e * c_in + i + 1) * c_out]
                .copy_from_slice(&k[(i * taps + d) * c_out..(i * taps + d + 1) * c_out]);
        }
    }
    let rows = b * p;
    let mut a = vec![0.0f32; rows * c_out];
    // Safety: window row s reads xs[s·c_in .. (s + taps)·c_in], inside the (taps − 1 + rows)-row
    // buffer for s < rows; kf is (taps·c_in) × c_out; A is rows × c_out.
    unsafe {
        gemm_acc(
            (rows, c_out, taps * c_in),
            a.as_mut_ptr(),
            (c_out, 1),
            xs.as_ptr(),
            (c_in, 1),
            kf.as_ptr(),
            (c_out, 1),
        );
    }
    unpad(&a, b, p, t_out, c_out)
}

/// Input gradient over a batch: `gx` (B, t_in, c_in) from `ga` (B, T_out, c_out).
///
/// One product with inner dimension `taps·c_out`: row `r` of GX is the window of gradient rows
/// `r ..< r + taps` (row stride `c_out`) times `k` read as `((d, o), i)`, which is its own
/// layout with column stride `taps·c_out`.
pub fn backward_input(ga: &Seq, k: &[f32], taps: usize, c_in: usize, t_in: usize) -> Seq {
    let (b, t_out, c_out) = ga.shape();
    let p = stride(t_in, taps);
    assert!(t_out <= p && k.len() == c_in * taps * c_out);
    let gas = pad_windowed(ga, p, 0, taps - 1);
    let rows = b * p;
    let mut gx = vec![0.0f32; rows * c_in];
    // Safety: window row r reads gas[r·c_out .. (r + taps)·c_out], inside the (rows + taps − 1)-row
    // buffer for r < rows; k is read at i·taps·c_out + q for q < taps·c_out, i < c_in.
    unsafe {
        gemm_acc(
            (rows, c_in, taps * c_out),
            gx.as_mut_ptr(),
            (c_in, 1),
            gas.as_ptr(),
            (c_out, 1),
            k.as_ptr(),
            (1, taps * c_out),
        );
    }
    unpad(&gx, b, p, t_in, c_in)
}

/// Kernel gradient `(c_in, taps, c_out)` summed over the batch: one product `Xᵀ · W`, where row
/// `r` of `W` is the window of gradient rows `r ..< r + taps` (row stride `c_out`), so that
/// `G[i, (d, o)] = Σ_r X[r, i] · GA[r + d, o]` lands directly in the kernel's layout.
pub fn backward_kernel(x: &Seq, ga: &Seq, taps: usize) -> Vec<f32> {
    let (b, t_in, c_in) = x.shape();
    let c_out = ga.channels;
    let p = stride(t_in, taps);
    assert!(ga.steps <= p && ga.batch == b);
    let xs = pad(x, p);
    let gas = pad_windowed(ga, p, 0, taps - 1);
    let rows = b * p;
    let mut g = vec![0.0f32; c_in * taps * c_out];
    // Safety: Xᵀ ([i][r] = xs[r·c_in + i]) for r < rows; window row r reads
    // gas[r·c_out .. (r + taps)·c_out] inside its (rows + taps − 1)-row buffer; G is
    // c_in × (taps·c_out).
    unsafe {
        gemm_acc(
            (c_in, taps * c_out, rows),
            g.as_mut_ptr(),
            (taps * c_out, 1),
            xs.as_ptr(),
            (1, c_in),
            gas.as_ptr(),
            (c_out, 1),
        );
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::events;
    use crate::kernels::test_data::pseudo;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
        }
    }

    #[test]
    fn gemm_paths_match_the_event_paths() {
        for (b, t_in, c_in, c_out, taps) in [(3, 9, 5, 4, 7), (2, 4, 3, 6, 9), (4, 12, 7, 5, 1)] {
            let r = (taps - 1) / 2;
            let x = Seq::from_vec(b, t_in, c_in, pseudo(b * t_in * c_in, 1, 3)).unwrap();
            let k = pseudo(c_in * taps * c_out, 2, 0);
            let ga =
                Seq::from_vec(b, t_in + r, c_out, pseudo(b * (t_in + r) * c_out, 3, 0)).unwrap();
            close(
                &forward(&x, &k, taps, c_out, t_in + r).data,
                &events::forward_batch(&x, &k, taps, c_out, t_in + r).data,
            );
            close(
                &backward_input(&ga, &k, taps, c_in, t_in).data,
                &events::backward_input_batch(&ga, &k, taps, c_in, t_in).data,
            );
            close(
                &backward_kernel(&x, &ga, taps),
                &events::backward_kernel_batch(&x, &ga, taps),
            );
        }
    }
}
