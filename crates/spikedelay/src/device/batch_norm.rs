//! BatchNorm over time × batch on the device (method §9; docs/design.md §9): per-channel sums
//! in double over chunks of rows, then one thread per channel for the statistics, then the
//! elementwise passes.

use std::sync::Arc;

use super::args::{
    ChannelSumsArgs, NormApplyArgs, NormBackwardArgs, NormGradStatsArgs, NormStatsArgs,
};
use super::gpu::{Buf, Gpu, launch, launch_2d};
use super::network::{BlockCache, Tensor};
use crate::error::Result;

/// Row chunks of the per-channel reductions (the y dimension of their launches).
const CHUNKS: usize = 64;

/// One BatchNorm's parameters and running statistics on the device.
pub(super) struct DeviceNorm {
    pub channels: usize,
    pub gamma: Tensor,
    pub beta: Tensor,
    pub running_mean: Buf<f32>,
    pub running_var: Buf<f32>,
    pub eps: f32,
    pub momentum: f32,
}

impl DeviceNorm {
    /// BatchNorm's training forward pass over `rows = B·T` rows: `(z, x̂, inv_std)`.
    pub(super) fn forward(
        &self,
        gpu: &Arc<dyn Gpu>,
        a: &Buf<f32>,
        rows: usize,
    ) -> Result<(Buf<f32>, Buf<f32>, Buf<f32>)> {
        let g = gpu.as_ref();
        let norm = self;
        let c = norm.channels;
        let partial = channel_sums(gpu, a, a, rows, c)?;
        let per_channel = || Buf::<f32>::zeros(gpu, c);
        let (mean, inv_std, alpha, shift) = (
            per_channel()?,
            per_channel()?,
            per_channel()?,
            per_channel()?,
        );
        launch(
            g,
            c,
            NormStatsArgs {
                partial: partial.addr(),
                gamma: norm.gamma.value.addr(),
                beta: norm.beta.value.addr(),
                running_mean: norm.running_mean.addr(),
                running_var: norm.running_var.addr(),
                mean: mean.addr(),
                inv_std: inv_std.addr(),
                alpha: alpha.addr(),
                shift: shift.addr(),
                channels: c as u64,
                chunks: CHUNKS as u64,
                n: rows as f64,
                eps: norm.eps,
                momentum: norm.momentum,
            },
        )?;
        let z = Buf::zeros(gpu, rows * c)?;
        let xhat = Buf::zeros(gpu, rows * c)?;
        launch(
            g,
            rows * c,
            NormApplyArgs {
                a: a.addr(),
                z: z.addr(),
                xhat: xhat.addr(),
                mean: mean.addr(),
                inv_std: inv_std.addr(),
                alpha: alpha.addr(),
                shift: shift.addr(),
                len: (rows * c) as u64,
                channels: c as u64,
            },
        )?;
        Ok((z, xhat, inv_std))
    }

    /// BatchNorm's backward pass from `∂z`: writes `∂L/∂γ`, `∂L/∂β`; returns `∂L/∂a`.
    pub(super) fn backward(
        &self,
        gpu: &Arc<dyn Gpu>,
        g_z: &Buf<f32>,
        kept: &BlockCache,
        rows: usize,
    ) -> Result<Buf<f32>> {
        let g = gpu.as_ref();
        let norm = self;
        let c = norm.channels;
        let partial = channel_sums(gpu, g_z, &kept.xhat, rows, c)?;
        let mean_g = Buf::<f32>::zeros(gpu, c)?;
        let mean_gx = Buf::<f32>::zeros(gpu, c)?;
        launch(
            g,
            c,
            NormGradStatsArgs {
                partial: partial.addr(),
                gamma_grad: norm.gamma.grad.addr(),
                beta_grad: norm.beta.grad.addr(),
                mean_g: mean_g.addr(),
                mean_gx: mean_gx.addr(),
                channels: c as u64,
                chunks: CHUNKS as u64,
                n: rows as f64,
            },
        )?;
        let out = Buf::zeros(gpu, rows * c)?;
        launch(
            g,
            rows * c,
            NormBackwardArgs {
                g: g_z.addr(),
                xhat: kept.xhat.addr(),
                out: out.addr(),
                gamma: norm.gamma.value.addr(),
                inv_std: kept.inv_std.addr(),
                mean_g: mean_g.addr(),
                mean_gx: mean_gx.addr(),
                len: (rows * c) as u64,
                channels: c as u64,
            },
        )?;
        Ok(out)
    }
}

/// Per channel and chunk of rows: `Σx`, `Σx·y` in double.
fn channel_sums(
    gpu: &Arc<dyn Gpu>,
    x: &Buf<f32>,
    y: &Buf<f32>,
    rows: usize,
    c: usize,
) -> Result<Buf<f64>> {
    let partial = Buf::<f64>::zeros(gpu, CHUNKS * 2 * c)?;
    launch_2d(
        gpu.as_ref(),
        c,
        CHUNKS,
        ChannelSumsArgs {
            x: x.addr(),
            y: y.addr(),
            partial: partial.addr(),
            rows: rows as u64,
            channels: c as u64,
            chunks: CHUNKS as u64,
        },
    )?;
    Ok(partial)
}
