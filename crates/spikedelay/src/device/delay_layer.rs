//! One delay layer on the device (docs/design.md §9): the dense kernel built from weights and
//! positions by a kernel of `kernels.cu`, and the causal convolution and its two gradients as
//! matrix products.
//!
//! The convolution (method §3) as matrix products: layer input `X` `(B, T, C_in)` is kept padded,
//! `X_p` with `T_p = T + R + D − 1` rows per sample, the sample's steps starting at row `D − 1`,
//! and `D − 1` zero rows after the last sample. With the dense kernel `K[n, i, o]` (tap `n`,
//! delay `D − 1 − n`) and rows of all samples flattened (`r = b·T_p + t`):
//!
//! ```text
//! forward:        A[r]      = Σ_n X_p[r + n] · K_n           (rows t < T + R kept)
//! kernel grad.:   ∂K_n      = X_p[n ..]ᵀ · ∂A_p              (∂A_p: ∂A padded to T_p rows)
//! input grad.:    ∂X_p[r+n] += ∂A_p[r] · K_nᵀ                (rows D − 1 .. D − 1 + T kept)
//! ```
//!
//! A product's rows that run into the next sample meet zero rows of `∂A_p` or fall in rows that
//! are not kept, so no sample sees another's steps.

use std::sync::Arc;

use super::args::{BuildKernelArgs, CopyRowsArgs, KernelGradArgs};
use super::gpu::{Buf, Gemm, Gpu, launch};
use super::network::Tensor;
use crate::error::Result;
use crate::model::{KernelKind, Sig};

/// One delay layer's parameters and dense kernel on the device.
pub(super) struct DelayLayer {
    pub c_in: usize,
    pub c_out: usize,
    pub kc: usize,
    pub taps: usize,
    pub kind: KernelKind,
    pub sig: Sig,
    pub weight: Tensor,
    pub position: Tensor,
    /// The dense kernel `K[n, i, o]` and its gradient.
    pub kernel: Buf<f32>,
    pub kernel_grad: Buf<f32>,
}

impl DelayLayer {
    fn kind_code(&self) -> i32 {
        match self.kind {
            KernelKind::Gauss => 0,
            KernelKind::Triangle => 1,
            KernelKind::Integer => 2,
            KernelKind::Linear => 3,
        }
    }

    fn width(&self) -> f32 {
        match self.kind {
            KernelKind::Gauss => self.sig.gauss_width(),
            _ => self.sig.triangle_width(),
        }
    }

    pub(super) fn right_pad(&self) -> usize {
        (self.taps - 1) / 2
    }

    /// The layer's forward pass on `x` `(B, T, C_in)`: builds the kernel, pads the input,
    /// multiplies; returns `A` `(B, T + R, C_out)` and the padded input.
    ///
    /// With `rounded`, the kernel is the evaluation transform's (method §15): every synapse one
    /// weight `W/(1+1e-7)` at its rounded, clamped position (the triangle at `SIG = 0` on a
    /// rounded position is exactly that); a layer without delays stays as it is.
    pub(super) fn forward(
        &self,
        gpu: &Arc<dyn Gpu>,
        x: &Buf<f32>,
        batch: usize,
        steps: usize,
        rounded: bool,
    ) -> Result<(Buf<f32>, LayerCache)> {
        let g = gpu.as_ref();
        let layer = self;
        let (c_in, c_out, d) = (layer.c_in, layer.c_out, layer.taps);
        let t_out = steps + layer.right_pad();
        let t_p = t_out + d - 1;
        launch(
            g,
            c_in * c_out,
            BuildKernelArgs {
                weight: layer.weight.value.addr(),
                position: layer.position.value.addr(),
                kernel: layer.kernel.addr(),
                c_in: c_in as u64,
                c_out: c_out as u64,
                kc: layer.kc as u64,
                taps: d as u64,
                kind: match (rounded, layer.kind) {
                    (true, KernelKind::Linear) | (false, _) => layer.kind_code(),
                    (true, _) => 2,
                },
                width: layer.width(),
            },
        )?;
        let padded = Buf::zeros(gpu, (batch * t_p + d - 1) * c_in)?;
        copy_rows(g, x, &padded, batch, steps, c_in, (steps, 0), (t_p, d - 1))?;
        let flat = Buf::zeros(gpu, batch * t_p * c_out)?;
        for n in 0..d {
            g.gemm(&Gemm {
                trans_a: false,
                trans_b: false,
                m: batch * t_p,
                n: c_out,
                k: c_in,
                alpha: 1.0,
                a: padded.at(n * c_in),
                lda: c_in,
                stride_a: 0,
                b: layer.kernel.at(n * c_in * c_out),
                ldb: c_out,
                stride_b: 0,
                beta: if n == 0 { 0.0 } else { 1.0 },
                c: flat.addr(),
                ldc: c_out,
                stride_c: 0,
                batch: 1,
            })?;
        }
        let a = Buf::zeros(gpu, batch * t_out * c_out)?;
        copy_rows(g, &flat, &a, batch, t_out, c_out, (t_p, 0), (t_out, 0))?;
        Ok((
            a,
            LayerCache {
                input: padded,
                steps,
            },
        ))
    }

    /// The layer's backward pass from `∂A` `(B, T + R, C_out)`: writes `∂L/∂W`, `∂L/∂P`;
    /// returns `∂L/∂X` `(B, T, C_in)` when `want_input`.
    pub(super) fn backward(
        &self,
        gpu: &Arc<dyn Gpu>,
        g_a: &Buf<f32>,
        cache: &LayerCache,
        batch: usize,
        want_input: bool,
        learn_positions: bool,
    ) -> Result<Option<Buf<f32>>> {
        let g = gpu.as_ref();
        let layer = self;
        let (c_in, c_out, d) = (layer.c_in, layer.c_out, layer.taps);
        let steps = cache.steps;
        let t_out = steps + layer.right_pad();
        let t_p = t_out + d - 1;
        let g_ap = Buf::zeros(gpu, batch * t_p * c_out)?;
        copy_rows(g, g_a, &g_ap, batch, t_out, c_out, (t_out, 0), (t_p, 0))?;
        g.gemm(&Gemm {
            trans_a: true,
            trans_b: false,
            m: c_in,
            n: c_out,
            k: batch * t_p,
            alpha: 1.0,
            a: cache.input.addr(),
            lda: c_in,
            stride_a: c_in,
            b: g_ap.addr(),
            ldb: c_out,
            stride_b: 0,
            beta: 0.0,
            c: layer.kernel_grad.addr(),
            ldc: c_out,
            stride_c: c_in * c_out,
            batch: d,
        })?;
        launch(
            g,
            c_in * c_out,
            KernelGradArgs {
                weight: layer.weight.value.addr(),
                position: layer.position.value.addr(),
                kernel_grad: layer.kernel_grad.addr(),
                weight_grad: layer.weight.grad.addr(),
                position_grad: layer.position.grad.addr(),
                c_in: c_in as u64,
                c_out: c_out as u64,
                kc: layer.kc as u64,
                taps: d as u64,
                kind: layer.kind_code(),
                learn_positions: i32::from(learn_positions),
                width: layer.width(),
            },
        )?;
        if !want_input {
            return Ok(None);
        }
        let g_xp = Buf::zeros(gpu, (batch * t_p + d - 1) * c_in)?;
        for n in 0..d {
            g.gemm(&Gemm {
                trans_a: false,
                trans_b: true,
                m: batch * t_p,
                n: c_in,
                k: c_out,
                alpha: 1.0,
                a: g_ap.addr(),
                lda: c_out,
                stride_a: 0,
                b: layer.kernel.at(n * c_in * c_out),
                ldb: c_out,
                stride_b: 0,
                beta: 1.0,
                c: g_xp.at(n * c_in),
                ldc: c_in,
                stride_c: 0,
                batch: 1,
            })?;
        }
        let g_x = Buf::zeros(gpu, batch * steps * c_in)?;
        copy_rows(g, &g_xp, &g_x, batch, steps, c_in, (t_p, d - 1), (steps, 0))?;
        Ok(Some(g_x))
    }
}

/// What the forward pass keeps of one layer for the backward pass.
pub(super) struct LayerCache {
    /// The padded input `X_p`.
    pub input: Buf<f32>,
    /// Input steps `T`.
    pub steps: usize,
}

/// Copies `rows` rows of `channels` per sample from `(stride, offset)` rows of `src` to
/// `(stride, offset)` rows of `dst`.
#[allow(clippy::too_many_arguments)]
pub(super) fn copy_rows(
    gpu: &dyn Gpu,
    src: &Buf<f32>,
    dst: &Buf<f32>,
    samples: usize,
    rows: usize,
    channels: usize,
    from: (usize, usize),
    to: (usize, usize),
) -> Result<()> {
    launch(
        gpu,
        samples * rows * channels,
        CopyRowsArgs {
            src: src.addr(),
            dst: dst.addr(),
            samples: samples as u64,
            rows: rows as u64,
            channels: channels as u64,
            src_stride: from.0 as u64,
            src_offset: from.1 as u64,
            dst_stride: to.0 as u64,
            dst_offset: to.1 as u64,
        },
    )
}
