//! The argument struct of every kernel in `kernels.cu`, field for field (device addresses as
//! `u64`). Each is `#[repr(C)]` so that the GPU and the software device read the same bytes.

use super::gpu::KernelArgs;

macro_rules! kernel_args {
    ($($(#[$doc:meta])* $name:ident => $kernel:literal { $($field:ident: $ty:ty),* $(,)? })*) => {$(
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default)]
        pub(crate) struct $name {
            $(pub $field: $ty,)*
        }
        // SAFETY: `#[repr(C)]`, numbers only, declared in the same order as in kernels.cu.
        unsafe impl KernelArgs for $name {
            const KERNEL: &'static str = $kernel;
        }
    )*};
}

kernel_args! {
    /// Row copies between per-sample layouts (padding and unpadding sequences).
    CopyRowsArgs => "copy_rows" {
        src: u64, dst: u64, samples: u64, rows: u64, channels: u64,
        src_stride: u64, src_offset: u64, dst_stride: u64, dst_offset: u64,
    }
    /// Dense kernel `K[n, i, o]` from weights and positions.
    BuildKernelArgs => "build_kernel" {
        weight: u64, position: u64, kernel: u64, c_in: u64, c_out: u64, kc: u64, taps: u64,
        kind: i32, width: f32,
    }
    /// `∂L/∂W`, `∂L/∂P` from the dense-kernel gradient.
    KernelGradArgs => "kernel_grads" {
        weight: u64, position: u64, kernel_grad: u64, weight_grad: u64, position_grad: u64,
        c_in: u64, c_out: u64, kc: u64, taps: u64, kind: i32, learn_positions: i32, width: f32,
    }
    /// Per-channel partial sums over chunks of rows.
    ChannelSumsArgs => "channel_sums" {
        x: u64, y: u64, partial: u64, rows: u64, channels: u64, chunks: u64,
    }
    /// BatchNorm's batch statistics and running statistics.
    NormStatsArgs => "norm_stats" {
        partial: u64, gamma: u64, beta: u64, running_mean: u64, running_var: u64, mean: u64,
        inv_std: u64, alpha: u64, shift: u64, channels: u64, chunks: u64, n: f64, eps: f32,
        momentum: f32,
    }
    /// BatchNorm's output and normalised input.
    NormApplyArgs => "norm_apply" {
        a: u64, z: u64, xhat: u64, mean: u64, inv_std: u64, alpha: u64, shift: u64, len: u64,
        channels: u64,
    }
    /// BatchNorm's evaluation with running statistics.
    NormEvalArgs => "norm_eval" {
        a: u64, z: u64, gamma: u64, beta: u64, running_mean: u64, running_var: u64, len: u64,
        channels: u64, eps: f32,
    }
    /// BatchNorm's parameter gradients and backward means.
    NormGradStatsArgs => "norm_grad_stats" {
        partial: u64, gamma_grad: u64, beta_grad: u64, mean_g: u64, mean_gx: u64,
        channels: u64, chunks: u64, n: f64,
    }
    /// BatchNorm's input gradient.
    NormBackwardArgs => "norm_backward" {
        g: u64, xhat: u64, out: u64, gamma: u64, inv_std: u64, mean_g: u64, mean_gx: u64,
        len: u64, channels: u64,
    }
    /// LIF forward with dropout.
    LifForwardArgs => "lif_forward" {
        z: u64, h: u64, out: u64, mask: u64, count: u64, samples: u64, steps: u64,
        channels: u64, decay: f32, threshold: f32, tau: f32, eval: i32,
    }
    /// LIF backward through dropout.
    LifBackwardArgs => "lif_backward" {
        g: u64, h: u64, mask: u64, out: u64, samples: u64, steps: u64, channels: u64,
        decay: f32, threshold: f32,
    }
    /// The readout's leaky integration (or its transpose).
    ReadoutArgs => "readout" {
        v: u64, samples: u64, steps: u64, channels: u64, decay: f32, tau: f32, backward: i32,
        eval: i32,
    }
    /// Σ_t softmax cross-entropy, predictions and `∂L/∂V`.
    LossArgs => "sum_softmax_loss" {
        v: u64, labels: u64, grad: u64, losses: u64, predictions: u64, samples: u64,
        steps: u64, classes: u64, inv_batch: f32,
    }
    /// One Adam update of one tensor.
    AdamArgs => "adam" {
        param: u64, grad: u64, m: u64, v: u64, len: u64, step_size: f32, beta1: f32,
        beta2: f32, bc2_sqrt: f32, eps: f32, weight_decay: f32, clamp: f32,
    }
}
