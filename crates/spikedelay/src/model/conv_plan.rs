//! How a delay layer's convolutions are computed: the four paths ([`ConvPath`]), the plan for
//! one batch ([`ConvPlan`]), and the cost model that chooses between them.

use serde::{Deserialize, Serialize};

use super::dcls::DclsLayer;
use crate::kernels::lowrank_conv::LowRankKernel;
use crate::kernels::narrow_conv::{MAX_NARROW_WIDTH, NarrowKernel, TapSpans};
#[cfg(doc)]
use crate::kernels::{delay_conv, gemm_conv, lowrank_conv, narrow_conv};
use crate::seq::Seq;

/// Cost per multiply-add of the event path relative to the GEMM path (measured on AVX-512:
/// scattered `axpy`s against the `gemm` crate's micro-kernel). The event path is chosen for
/// inputs with fewer than `1/EVENT_COST` = 20 % non-zero entries.
pub const EVENT_COST: f64 = 5.0;

/// Cost per multiply-add of the narrow path relative to the GEMM path (measured on AVX-512 at
/// SHD's layer 2, σ = 0.5: 63–84 against GEMM's ~77 GFMA/s on 2 threads; the narrow kernel
/// gradient is the slowest of its three products).
pub const NARROW_COST: f64 = 1.2;

/// Cost per profile of the low-rank path relative to one GEMM tap, before its filters: its
/// products are GEMMs with inner dimension `R·C_in` instead of `D·C_in`.
pub const LOWRANK_COST: f64 = 1.0;

/// Cost of the low-rank path's filters per profile, tap and channel, relative to one GEMM
/// multiply-add. The forward pass filters the `C_in` input channels, the backward pass the
/// `C_out` gradient channels, against three products of `R·C_in·C_out` per row: per profile
/// the filters add `D·(C_in + C_out)·LOWRANK_FILTER_COST / (3·C_in·C_out)` to
/// [`LOWRANK_COST`]. Set from measurements: on SHD's 256-channel layers the path runs 2.6–2.9×
/// faster than GEMM at `R = 7` of 25 (the filters near GEMM speed), while on the main job's
/// 48-channel layers (batch 64, T = 50) it only matches GEMM and events, where the filters and
/// fixed costs weigh more than the model's per-channel term.
pub const LOWRANK_FILTER_COST: f64 = 3.0;

/// Which implementation computes a delay layer's convolutions. All give the same results up to
/// float summation order (and, for the narrow path, taps below `1e-6` of their synapse's peak).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConvPath {
    /// The cheapest path by a cost model, per product and in GEMM taps: `D` for GEMM; for
    /// events `ρ·D` at the event path's speed (input density `ρ`) in the forward pass and
    /// kernel gradient, `D` in the input gradient; `W` taps at the narrow path's speed; `R`
    /// profiles plus their filters for the low-rank path.
    #[default]
    Auto,
    /// Always iterate over input events ([`delay_conv`]); sums in the same order as the
    /// integer-delay network, so its outputs are bitwise identical.
    Events,
    /// Always the dense GEMM path ([`gemm_conv`]).
    Gemm,
    /// Each synapse's window of significant taps ([`narrow_conv`]) wherever the window is at
    /// most [`MAX_NARROW_WIDTH`] taps; GEMM otherwise.
    Narrow,
    /// A few tap profiles that hold every kernel row ([`lowrank_conv`]) wherever fewer than
    /// `D` profiles do (wide σ); GEMM otherwise.
    LowRank,
}

/// How one layer's convolutions are computed for one input and kernel: chosen once per batch by
/// [`DclsLayer::plan`] and used by both the forward and the backward pass.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvPlan {
    /// Forward and kernel gradient over input events; the input gradient by direct dot
    /// products (`direct_input_grad`, bitwise-reproducible order) or by GEMM.
    Events {
        /// Whether the input gradient uses [`delay_conv`] rather than [`gemm_conv`].
        direct_input_grad: bool,
    },
    /// Everything by GEMM.
    Gemm,
    /// Everything over each synapse's window of significant taps.
    Narrow(NarrowKernel),
    /// Everything through a few tap profiles and the kernel's coefficients on them.
    LowRank(LowRankKernel),
}

impl ConvPath {
    /// The implementation for input `x` (`(B, T, c_in)`) and the dense kernel `k`
    /// (`(c_in, D, c_out)`).
    pub(super) fn plan(self, layer: &DclsLayer, x: &Seq, k: &[f32]) -> ConvPlan {
        let (c_in, taps, c_out) = (x.channels, layer.taps, layer.c_out);
        let low_rank = |max_rank: usize| {
            let family = layer.profile_family()?;
            LowRankKernel::fit(&family, k, c_in, c_out, max_rank)
        };
        match self {
            ConvPath::Events => ConvPlan::Events {
                direct_input_grad: true,
            },
            ConvPath::Gemm => ConvPlan::Gemm,
            ConvPath::Narrow => NarrowKernel::fit(k, c_in, taps, c_out, MAX_NARROW_WIDTH)
                .map_or(ConvPlan::Gemm, ConvPlan::Narrow),
            ConvPath::LowRank => low_rank(taps).map_or(ConvPlan::Gemm, ConvPlan::LowRank),
            ConvPath::Auto => {
                let d = taps as f64;
                // Forward and kernel gradient over events, the input gradient by GEMM.
                let events = (2.0 * x.density() * d * EVENT_COST + d) / 3.0;
                let spans = TapSpans::of(k, c_in, taps, c_out);
                let narrow = if spans.width <= MAX_NARROW_WIDTH {
                    spans.width as f64 * NARROW_COST
                } else {
                    f64::INFINITY
                };
                let best = d.min(events).min(narrow);
                // Cost per profile; fit only ranks that would beat the best of the others.
                let (ci, co) = (c_in as f64, c_out as f64);
                let per_rank = LOWRANK_COST + LOWRANK_FILTER_COST * d * (ci + co) / (3.0 * ci * co);
                let max_rank = (best / per_rank).ceil() as usize - 1;
                if let Some(lk) = low_rank(max_rank) {
                    ConvPlan::LowRank(lk)
                } else if narrow <= d.min(events) {
                    let nk = NarrowKernel::new(k, &spans, c_in, taps, c_out, spans.width);
                    ConvPlan::Narrow(nk)
                } else if events < d {
                    ConvPlan::Events {
                        direct_input_grad: false,
                    }
                } else {
                    ConvPlan::Gemm
                }
            }
        }
    }
}
