//! Up to [`LANES`] adjacent channels computed together (docs/cochlea.md §9): their membrane
//! velocities two per complex FFT, written side by side into rows (`rows[t][l]`: channel l at
//! sample t) where the hair cells, the fast sampler's hazards and the bushy-cell neurons run in
//! vector lanes. Each channel's numbers equal its computation alone (the lanes repeat the
//! one-channel arithmetic), so the grouping changes only the speed.

use std::ops::Range;

use super::bushy_cell;
use super::fast_sampler;
use super::hair_cell::{self, LANES};
use super::membrane::{ChannelTransform, ClipSpectrum, Membrane};
use super::params::CochleaParams;

/// Scratch for one group, reused across the groups of one clip.
pub struct ChannelGroup {
    transform: ChannelTransform,
    /// Per sample and lane: the membrane velocity, then the firing probability.
    rows: Vec<[f64; LANES]>,
    /// With the fast sampler, each lane's cumulative hazard per sample, lane after lane.
    hazard: Vec<f64>,
    counts: Vec<[u8; LANES]>,
    /// Per sample, bit l set where lane l's neuron spiked at the sample before.
    fired: Vec<u8>,
}

impl ChannelGroup {
    /// Scratch for spectra of `m` bins.
    pub fn new(m: usize) -> Self {
        ChannelGroup {
            transform: ChannelTransform::new(m),
            rows: vec![[0.0; LANES]; m],
            hazard: Vec::new(),
            counts: Vec::new(),
            fired: Vec::new(),
        }
    }

    /// The firing probabilities of `channels` (at most [`LANES`]) into the group's rows, lane
    /// l for channel `channels.start + l`; lanes past the group hold zeros' probabilities.
    pub fn probabilities(
        &mut self,
        params: &CochleaParams,
        membrane: &Membrane,
        spec: &ClipSpectrum,
        channels: Range<usize>,
    ) {
        assert!(
            channels.len() <= LANES,
            "at most {LANES} channels per group"
        );
        // Every row is overwritten in the group's lanes; the lanes past it are zeroed.
        self.rows.resize(spec.len(), [0.0; LANES]);
        if channels.len() < LANES {
            for row in &mut self.rows {
                row[channels.len()..].fill(0.0);
            }
        }
        let first = channels.start;
        let positions = &membrane.positions[channels];
        for (pair, cs) in positions.chunks(2).enumerate() {
            let channel = first + 2 * pair;
            self.transform.velocities_to_lanes(
                membrane,
                spec,
                (channel, cs),
                &mut self.rows,
                2 * pair,
            );
        }
        hair_cell::firing_probability_rows(&params.hair_cell, spec.out_rate, &mut self.rows);
    }

    /// Lane `lane`'s firing probability per sample, after [`ChannelGroup::probabilities`].
    pub fn probability(&self, lane: usize) -> Vec<f64> {
        self.rows.iter().map(|row| row[lane]).collect()
    }

    /// The bushy cells' spikes of `channels` with the fast sampler (seeded by `seed` and each
    /// channel), after [`ChannelGroup::probabilities`].
    pub fn fast_spikes(
        &mut self,
        params: &CochleaParams,
        rate: usize,
        seed: u64,
        channels: Range<usize>,
    ) -> Vec<Vec<u32>> {
        let bushy = &params.bushy_cell;
        fast_sampler::hazard_columns(&self.rows, &mut self.hazard);
        let lanes = channels.len();
        fast_sampler::fibre_counts_lanes(
            bushy,
            rate,
            &self.hazard,
            lanes,
            seed,
            channels.start,
            &mut self.counts,
        );
        bushy_cell::lanes_spikes(bushy, rate, &self.counts, lanes, &mut self.fired)
    }
}
