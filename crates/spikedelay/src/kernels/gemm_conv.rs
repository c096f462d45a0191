//! The delay convolution as dense matrix products: one GEMM per tap over the whole batch.
//!
//! Each sample is copied into a block of `P = T_in + D − 1` rows (zero rows after its last step),
//! and every tensor of one convolution uses that stride. A shift by `d` rows then never crosses
//! into the next sample's block, so tap `d` is a single product over all `B·P` rows:
//!
//! ```text
//! forward:        A[r + d, :] += X[r, :] · K_d             K_d[i, o] = k[i, d, o]
//! input gradient: GX[r, :]    += GA[r + d, :] · K_dᵀ
//! kernel grad.:   G_d         += X[0..M−d]ᵀ · GA[d..M]     M = B·P
//! ```
//!
//! This costs `D·B·P·C_in·C_out` multiply-adds whatever the sparsity, at GEMM speed: the right
//! path for dense inputs and wide kernels. [`super::delay_conv`] is the event-driven alternative.

use gemm::{Parallelism, gemm};

use crate::seq::Seq;

/// Rows per sample in the padded layout.
fn stride(t_in: usize, taps: usize) -> usize {
    t_in + taps - 1
}

/// `x` (B, T, C) copied into (B, P, C) with zero rows `T..P`.
fn pad(x: &Seq, p: usize) -> Vec<f32> {
    let c = x.channels;
    let mut out = vec![0.0f32; x.batch * p * c];
    for b in 0..x.batch {
        out[b * p * c..(b * p + x.steps) * c].copy_from_slice(x.sample(b));
    }
    out
}

/// The first `t` rows of every (P, C) block, as a (B, t, C) tensor.
fn unpad(buf: &[f32], batch: usize, p: usize, t: usize, c: usize) -> Seq {
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
unsafe fn gemm_acc(
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

/// Forward pass over a batch: `a` (B, t_out, c_out) for input `x` (B, T_in, c_in) and kernel
/// `k` (c_in, taps, c_out). Requires `t_out ≤ T_in + taps − 1`.
pub fn forward(x: &Seq, k: &[f32], taps: usize, c_out: usize, t_out: usize) -> Seq {
    let (b, t_in, c_in) = x.shape();
    let p = stride(t_in, taps);
    assert!(t_out <= p && k.len() == c_in * taps * c_out);
    let xs = pad(x, p);
    let mut a = vec![0.0f32; b * p * c_out];
    let rows = b * p;
    for d in 0..taps.min(rows) {
        // Safety: X rows 0..rows−d (c_in wide), A rows d..rows (c_out wide) and K_d (c_in rows of
        // stride taps·c_out, c_out columns starting at d·c_out) all lie inside their buffers.
        unsafe {
            gemm_acc(
                (rows - d, c_out, c_in),
                a.as_mut_ptr().add(d * c_out),
                (c_out, 1),
                xs.as_ptr(),
                (c_in, 1),
                k.as_ptr().add(d * c_out),
                (taps * c_out, 1),
            );
        }
    }
    unpad(&a, b, p, t_out, c_out)
}

/// Input gradient over a batch: `gx` (B, t_in, c_in) from `ga` (B, T_out, c_out).
pub fn backward_input(ga: &Seq, k: &[f32], taps: usize, c_in: usize, t_in: usize) -> Seq {
    let (b, t_out, c_out) = ga.shape();
    let p = stride(t_in, taps);
    assert!(t_out <= p && k.len() == c_in * taps * c_out);
    let gas = pad(ga, p);
    let mut gx = vec![0.0f32; b * p * c_in];
    let rows = b * p;
    for d in 0..taps.min(rows) {
        // Safety: GX rows 0..rows−d, GA rows d..rows, and K_dᵀ ([o][i] = k[(i·taps + d)·c_out + o],
        // row stride 1, column stride taps·c_out) lie inside their buffers.
        unsafe {
            gemm_acc(
                (rows - d, c_in, c_out),
                gx.as_mut_ptr(),
                (c_in, 1),
                gas.as_ptr().add(d * c_out),
                (c_out, 1),
                k.as_ptr().add(d * c_out),
                (1, taps * c_out),
            );
        }
    }
    unpad(&gx, b, p, t_in, c_in)
}

/// Kernel gradient `(c_in, taps, c_out)` summed over the batch.
pub fn backward_kernel(x: &Seq, ga: &Seq, taps: usize) -> Vec<f32> {
    let (b, t_in, c_in) = x.shape();
    let c_out = ga.channels;
    let p = stride(t_in, taps);
    assert!(ga.steps <= p && ga.batch == b);
    let xs = pad(x, p);
    let gas = pad(ga, p);
    let mut g = vec![0.0f32; c_in * taps * c_out];
    let rows = b * p;
    for d in 0..taps.min(rows) {
        // Safety: Xᵀ ([i][r] = X[r·c_in + i]) over rows 0..rows−d, GA rows d..rows, and G_d
        // (c_in rows of stride taps·c_out, starting at d·c_out) lie inside their buffers.
        unsafe {
            gemm_acc(
                (c_in, c_out, rows - d),
                g.as_mut_ptr().add(d * c_out),
                (taps * c_out, 1),
                xs.as_ptr(),
                (1, c_in),
                gas.as_ptr().add(d * c_out),
                (c_out, 1),
            );
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::delay_conv;
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
                &delay_conv::forward_batch(&x, &k, taps, c_out, t_in + r).data,
            );
            close(
                &backward_input(&ga, &k, taps, c_in, t_in).data,
                &delay_conv::backward_input_batch(&ga, &k, taps, c_in, t_in).data,
            );
            close(
                &backward_kernel(&x, &ga, taps),
                &delay_conv::backward_kernel_batch(&x, &ga, taps),
            );
        }
    }
}
