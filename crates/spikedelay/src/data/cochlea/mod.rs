//! The Heidelberg cochlea model (Cramer et al. 2020; docs/cochlea.md): any waveform to spikes in
//! the SHD format, as `lauscher`'s `Wave2Spike` makes them: RMS normalisation and a Hann window
//! ([`prepare`]), the basilar membrane ([`membrane`]), inner hair cells ([`hair_cell`]) and
//! bushy cells ([`bushy_cell`]) with the `exact` or `fast` fibre sampler. Channels are computed
//! in parallel; the spikes do not depend on the thread count.

pub mod bushy_cell;
pub mod channel_group;
pub mod convert;
pub mod fast_sampler;
#[cfg(test)]
mod fixture_tests;
pub mod hair_cell;
pub mod hankel;
pub mod membrane;
pub mod numpy_random;
pub mod params;
pub mod transfer;
pub mod transfer_cache;

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use params::{BushyCellParams, CochleaParams, HairCellParams, MembraneParams};

use crate::data::spikes::file::SpikeSample;
use crate::error::{Error, Result};
use channel_group::ChannelGroup;
use hair_cell::LANES;
use membrane::{ChannelTransform, ClipSpectrum, Membrane};
use numpy_random::NumpyLegacy;
use transfer_cache::TransferCache;

/// Bytes of transfer functions a model keeps for clips of repeated lengths (about one length of
/// 1 s clips at 48 kHz with 700 channels, or four at 16 kHz).
const TRANSFER_CACHE_BYTES: usize = 192 << 20;

/// How the bushy cells' fibres are drawn (docs/cochlea.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Sampler {
    /// One exponential draw per fibre spike (ChaCha12 seeded by seed and channel).
    #[default]
    Fast,
    /// `lauscher`'s draws from NumPy's legacy generator after `np.random.seed(seed)`.
    Exact,
}

impl std::str::FromStr for Sampler {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fast" => Ok(Sampler::Fast),
            "exact" => Ok(Sampler::Exact),
            other => Err(Error::config(
                "sampler",
                format!("must be `fast` or `exact`, got `{other}`"),
            )),
        }
    }
}

/// Lowest input rate accepted: below it the hair cells' Euler steps exceed 1 (docs/cochlea.md §3).
pub const MIN_RATE: usize = 8_000;
/// Highest input rate accepted.
pub const MAX_RATE: usize = 384_000;

/// The ear model, ready to convert waveforms.
#[derive(Debug, Clone)]
pub struct Cochlea {
    params: CochleaParams,
    membrane: Membrane,
    /// The transfer functions of recent clip lengths, shared by the model's clones.
    cache: Arc<TransferCache>,
}

/// Per channel the membrane velocity and the firing probability, and their rate (fs/2).
pub type Stages = (Vec<Vec<f64>>, Vec<Vec<f64>>, usize);

/// Spikes of one clip: times in seconds (sample index over fs/2), channels, sorted by time then
/// channel as `lauscher` orders them.
pub type ClipSpikes = SpikeSample;

/// RMS normalisation to `rms`, then a Hann window rising over the first half and falling over
/// the second (`lauscher`'s `RmsNormalizer(0.3)` and `HanningWindow()`).
pub fn prepare(wave: &[f64], rms: f64) -> std::result::Result<Vec<f64>, String> {
    let n = wave.len();
    if n < 2 {
        return Err(format!("has {n} samples; the model needs at least 2"));
    }
    let mean_square = wave.iter().map(|v| v * v).sum::<f64>() / n as f64;
    if !mean_square.is_finite() || mean_square <= 0.0 {
        return Err("is silent (RMS 0): nothing to normalise".into());
    }
    let gain = rms / mean_square.sqrt();
    let mut out: Vec<f64> = wave.iter().map(|v| v * gain).collect();
    let half = n / 2;
    // numpy's hanning(M), M = 2·half: 0.5 + 0.5·cos(π·n/(M − 1)), n = 1 − M, 3 − M, ….
    let m = (2 * half) as f64;
    let window = |k: usize| {
        let n = 1.0 - m + 2.0 * k as f64;
        0.5 + 0.5 * (std::f64::consts::PI * n / (m - 1.0)).cos()
    };
    for k in 0..half {
        let w = window(k);
        out[k] *= w;
        out[n - 1 - k] *= w;
    }
    Ok(out)
}

impl Cochlea {
    /// The model with `params` (checked).
    pub fn new(params: CochleaParams) -> Result<Self> {
        params.validate()?;
        Ok(Cochlea {
            membrane: Membrane::new(&params.membrane, params.channels),
            params,
            cache: Arc::new(TransferCache::new(TRANSFER_CACHE_BYTES)),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &CochleaParams {
        &self.params
    }

    pub(crate) fn check_rate(rate: usize) -> Result<()> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(Error::config(
                "rate",
                format!(
                    "must be {MIN_RATE} to {MAX_RATE} Hz, got {rate} (the hair cells' Euler steps need fs ≥ {MIN_RATE}; resample first)"
                ),
            ));
        }
        Ok(())
    }

    /// The deterministic stages for `channels`: per channel the membrane velocity and the hair
    /// cells' firing probability, at the output rate (returned).
    pub fn stages(&self, wave: &[f64], rate: usize, channels: &[usize]) -> Result<Stages> {
        Self::check_rate(rate)?;
        let prepared = prepare(wave, self.params.rms).map_err(|m| Error::config("audio", m))?;
        let spec = ClipSpectrum::new(&self.membrane, &prepared, rate);
        let mut velocity = Vec::new();
        let mut probability = Vec::new();
        let mut transform = ChannelTransform::new(spec.len());
        for &ch in channels {
            if ch >= self.params.channels {
                return Err(Error::config(
                    "channels",
                    format!("channel {ch} of a {}-channel model", self.params.channels),
                ));
            }
            let mut v = vec![0.0; spec.len()];
            transform.velocity(&self.membrane, &spec, self.membrane.positions[ch], &mut v);
            let mut p = v.clone();
            hair_cell::firing_probability(&self.params.hair_cell, spec.out_rate, &mut p);
            velocity.push(v);
            probability.push(p);
        }
        Ok((velocity, probability, spec.out_rate))
    }

    /// Spikes of the mono waveform `wave` sampled at `rate` Hz. `seed` seeds the fibres (the
    /// NumPy seed with [`Sampler::Exact`], which needs it below 2³²). Errors (silent or too
    /// short clip, rate out of range) name the option; callers add the file.
    pub fn spikes(
        &self,
        wave: &[f64],
        rate: usize,
        seed: u64,
        sampler: Sampler,
    ) -> Result<ClipSpikes> {
        Self::check_rate(rate)?;
        let prepared = prepare(wave, self.params.rms).map_err(|m| Error::config("audio", m))?;
        let mut spec = ClipSpectrum::new(&self.membrane, &prepared, rate);
        let m = spec.len();
        let channels = self.params.channels;
        spec.table = Some(self.cache.table(m, spec.out_rate, channels));
        let groups = channels.div_ceil(LANES);
        let group_channels = |g: usize| g * LANES..((g + 1) * LANES).min(channels);
        let per_channel: Vec<Vec<u32>> = match sampler {
            Sampler::Fast => {
                let per_group: Vec<Vec<Vec<u32>>> = (0..groups)
                    .into_par_iter()
                    .map_init(
                        || ChannelGroup::new(m),
                        |group, g| {
                            group.probabilities(
                                &self.params,
                                &self.membrane,
                                &spec,
                                group_channels(g),
                            );
                            group.fast_spikes(&self.params, spec.out_rate, seed, group_channels(g))
                        },
                    )
                    .collect();
                per_group.into_iter().flatten().collect()
            }
            Sampler::Exact => {
                let seed = u32::try_from(seed).map_err(|_| {
                    Error::config(
                        "seed",
                        format!("the exact sampler takes NumPy seeds below 2^32, got {seed}"),
                    )
                })?;
                let mut rng = NumpyLegacy::new(seed);
                // Probabilities for a block of groups in parallel, then the draws in channel order.
                let block = rayon::current_num_threads().max(1);
                let mut out = Vec::with_capacity(channels);
                for start in (0..groups).step_by(block) {
                    let end = (start + block).min(groups);
                    let probs: Vec<Vec<Vec<f64>>> = (start..end)
                        .into_par_iter()
                        .map_init(
                            || ChannelGroup::new(m),
                            |group, g| {
                                let chans = group_channels(g);
                                group.probabilities(
                                    &self.params,
                                    &self.membrane,
                                    &spec,
                                    chans.clone(),
                                );
                                (0..chans.len())
                                    .map(|l| group.probability(l))
                                    .collect::<Vec<_>>()
                            },
                        )
                        .collect();
                    for p in probs.iter().flatten() {
                        out.push(bushy_cell::exact_channel(
                            &self.params.bushy_cell,
                            spec.out_rate,
                            p,
                            &mut rng,
                        ));
                    }
                }
                out
            }
        };
        let mut events: Vec<(u32, u32)> = per_channel
            .iter()
            .enumerate()
            .flat_map(|(ch, ts)| ts.iter().map(move |&t| (t, ch as u32)))
            .collect();
        events.sort_unstable();
        let rate_out = spec.out_rate as f64;
        Ok(SpikeSample {
            times: events.iter().map(|&(t, _)| t as f64 / rate_out).collect(),
            units: events.iter().map(|&(_, c)| c).collect(),
        })
    }
}
