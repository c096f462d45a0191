//! How a delay layer's convolutions are computed: the five paths ([`ConvPath`]), the plan for
//! one batch ([`ConvPlan`]), and the cost model that chooses between them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::conv::lowrank::LowRankKernel;
use super::conv::narrow::{MAX_NARROW_WIDTH, NarrowKernel, TapSpans};
use super::conv::spectral;
use super::conv::tap_basis::FamilyBasis;
#[cfg(doc)]
use super::conv::{events, gemm, lowrank, narrow};
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

/// Fewest profiles the automatic choice asks the low-rank path for.
const MIN_USEFUL_RANK: usize = 4;

/// Cost per real multiply-add of the spectral path's complex products relative to the GEMM
/// path (four real multiply-adds per complex one, `N/2 + 1` bins per output step span).
pub const SPECTRAL_COST: f64 = 1.0;

/// Cost of the spectral path's transforms per `N·log₂N` and signal, relative to one GEMM
/// multiply-add (input, output-gradient and kernel transforms of each product).
pub const SPECTRAL_TRANSFORM_COST: f64 = 10.0;

/// Fixed cost of one bin's complex product (packing, dispatch) in GEMM multiply-adds: it
/// weighs on small layers, where each bin's matrices hold a few thousand entries.
pub const SPECTRAL_CALL_COST: f64 = 1e5;

/// The spectral path's cost per product in GEMM taps for a layer of `c_in → c_out` channels,
/// batch `batch`, `t_in` input steps and `taps` taps.
///
/// The constants were set from `spikedelay bench --phase layers` on AVX-512 (2 threads), where
/// the path ran SHD's 256-channel layers at 3.8–6.6 GEMM taps (faster than the narrow path
/// even at σ = 0.5), and the main job's 48-channel layers (batch 64) at 9–21 taps, behind the
/// narrow path at σ = 0.5 and ahead of GEMM and events in between.
pub fn spectral_cost(batch: usize, t_in: usize, c_in: usize, c_out: usize, taps: usize) -> f64 {
    let t_out = t_in + (taps - 1) / 2;
    let n = spectral::layer_fft_len(t_in, taps, t_out) as f64;
    let bins = (n / 2.0).floor() + 1.0;
    let (b, ci, co) = (batch as f64, c_in as f64, c_out as f64);
    let per_signal = 1.0 / ci + 1.0 / co + 1.0 / b;
    let products = SPECTRAL_COST * 4.0 * bins;
    let transforms = SPECTRAL_TRANSFORM_COST * n * n.log2() * per_signal;
    let calls = SPECTRAL_CALL_COST * bins / (b * ci * co);
    (products + transforms + calls) / t_out as f64
}

/// Which implementation computes a delay layer's convolutions. All give the same results up to
/// float summation order (and, for the narrow path, taps below `1e-6` of their synapse's peak).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ConvPath {
    /// The cheapest path per layer and batch, by a cost model.
    ///
    /// Costs are counted per product in GEMM taps: `D` for GEMM; for events `ρ·D` at the
    /// event path's speed (input density `ρ`) in the forward pass and kernel gradient, `D` in
    /// the input gradient; `W` taps at the narrow path's speed; `R` profiles plus their
    /// filters for the low-rank path; `4·(N/2 + 1)/T_out` plus transforms for the spectral
    /// path (`spectral_cost`).
    #[default]
    Auto,
    /// Over input events; sums in the integer-delay network's order.
    ///
    /// Iterates over input events (`events`); its outputs are bitwise identical to the
    /// integer-delay network's.
    Events,
    /// Dense matrix products.
    ///
    /// Always the dense GEMM path (`gemm`).
    Gemm,
    /// Each synapse's window of significant taps (GEMM where the window is wide).
    ///
    /// The narrow path (`narrow`) wherever the window is at most `MAX_NARROW_WIDTH` taps.
    Narrow,
    /// A few tap profiles that hold every kernel (wide σ; GEMM where they do not).
    ///
    /// The low-rank path (`lowrank`) wherever fewer than `D` profiles hold every kernel row.
    LowRank,
    /// One complex product per frequency bin of a real FFT over time (any σ, any density).
    ///
    /// Always the spectral path (`spectral`).
    Fft,
}

/// How one layer's convolutions are computed for one input and kernel: chosen once per batch by
/// [`ConvPath::plan`] and used by both the forward and the backward pass.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvPlan {
    /// Forward and kernel gradient over input events; the input gradient by direct dot
    /// products (`direct_input_grad`, bitwise-reproducible order) or by GEMM.
    Events {
        /// Whether the input gradient uses `events` rather than `gemm`.
        direct_input_grad: bool,
    },
    /// Everything by GEMM.
    Gemm,
    /// Everything over each synapse's window of significant taps.
    Narrow(NarrowKernel),
    /// Everything through a few tap profiles and the kernel's coefficients on them.
    LowRank(LowRankKernel),
    /// Everything by products per frequency bin, with transforms of length `n`.
    Spectral {
        /// Transform length (`spectral::layer_fft_len`).
        n: usize,
    },
}

impl ConvPlan {
    /// The path's name, as [`ConvPath`] spells it: `events`, `gemm`, `narrow`, `low-rank`, `fft`.
    pub fn path_name(&self) -> &'static str {
        match self {
            ConvPlan::Events { .. } => "events",
            ConvPlan::Gemm => "gemm",
            ConvPlan::Narrow(_) => "narrow",
            ConvPlan::LowRank(_) => "low-rank",
            ConvPlan::Spectral { .. } => "fft",
        }
    }

    /// A short description: the path and its size (`narrow W=6`, `low-rank R=7`, `fft N=144`).
    pub fn describe(&self) -> String {
        match self {
            ConvPlan::Events { .. } => "events".into(),
            ConvPlan::Gemm => "gemm".into(),
            ConvPlan::Narrow(nk) => format!("narrow W={}", nk.width),
            ConvPlan::LowRank(lk) => format!("low-rank R={}", lk.basis.rank),
            ConvPlan::Spectral { n } => format!("fft N={n}"),
        }
    }
}

impl ConvPath {
    /// The implementation for input `x` (`(B, T, c_in)`) and the dense kernel `k`
    /// (`(c_in, D, c_out)`, `D = taps`). `profiles` gives the tap-profile family of the layer's
    /// kernel shape (`None` where it has none); it is asked for only when the low-rank path is
    /// considered.
    pub fn plan(
        self,
        x: &Seq,
        k: &[f32],
        taps: usize,
        c_out: usize,
        profiles: impl FnOnce() -> Option<Arc<FamilyBasis>>,
    ) -> ConvPlan {
        let c_in = x.channels;
        let low_rank = |max_rank: usize| {
            // Fewer profiles than this never hold a Gaussian family (7 do at σ = D/2), so the
            // family (an SVD per σ) is not even made.
            if max_rank < MIN_USEFUL_RANK.min(taps) {
                return None;
            }
            let family = profiles()?;
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
            ConvPath::Fft => ConvPlan::Spectral {
                n: spectral::layer_fft_len(x.steps, taps, x.steps + (taps - 1) / 2),
            },
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
                let spectral = spectral_cost(x.batch, x.steps, c_in, c_out, taps);
                let best = d.min(events).min(narrow).min(spectral);
                // Cost per profile; fit only ranks that would beat the best of the others.
                let (ci, co) = (c_in as f64, c_out as f64);
                let per_rank = LOWRANK_COST + LOWRANK_FILTER_COST * d * (ci + co) / (3.0 * ci * co);
                let max_rank = (best / per_rank).ceil() as usize - 1;
                if let Some(lk) = low_rank(max_rank) {
                    ConvPlan::LowRank(lk)
                } else if spectral <= best {
                    ConvPlan::Spectral {
                        n: spectral::layer_fft_len(x.steps, taps, x.steps + (taps - 1) / 2),
                    }
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
