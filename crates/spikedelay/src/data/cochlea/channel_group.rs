//! Up to [`LANES`] adjacent channels computed together (docs/cochlea.md §6): their membrane
//! velocities two per complex FFT, their hair cells and bushy-cell neurons side by side in
//! vector lanes. Each channel's numbers equal its computation alone (the lanes repeat the
//! one-channel arithmetic), so the grouping changes only the speed.

use std::ops::Range;

use super::bushy_cell;
use super::hair_cell::{self, LANES};
use super::membrane::{ChannelTransform, ClipSpectrum, Membrane};
use super::params::CochleaParams;

/// Scratch for one group, reused across the groups of one clip.
pub struct ChannelGroup {
    transform: ChannelTransform,
    /// Per channel of the group: the membrane velocity, then the firing probability.
    pub probability: Vec<Vec<f64>>,
    rows: Vec<[f64; LANES]>,
    hazard: Vec<f64>,
    counts: Vec<[u8; LANES]>,
    fired: Vec<[u8; LANES]>,
}

impl ChannelGroup {
    /// Scratch for spectra of `m` bins.
    pub fn new(m: usize) -> Self {
        ChannelGroup {
            transform: ChannelTransform::new(m),
            probability: vec![vec![0.0; m]; LANES],
            rows: Vec::new(),
            hazard: Vec::new(),
            counts: Vec::new(),
            fired: Vec::new(),
        }
    }

    /// The firing probabilities of `channels` (at most [`LANES`]) into
    /// `self.probability[..channels.len()]`.
    pub fn probabilities(
        &mut self,
        params: &CochleaParams,
        membrane: &Membrane,
        spec: &ClipSpectrum,
        channels: Range<usize>,
    ) {
        let count = channels.len();
        assert!(count <= LANES, "at most {LANES} channels per group");
        let positions = &membrane.positions[channels];
        for (pair, outs) in positions
            .chunks(2)
            .zip(self.probability[..count].chunks_mut(2))
        {
            let mut outs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
            self.transform.velocities(membrane, spec, pair, &mut outs);
        }
        let mut views: Vec<&mut [f64]> = self.probability[..count]
            .iter_mut()
            .map(|o| o.as_mut_slice())
            .collect();
        hair_cell::firing_probability_lanes(
            &params.hair_cell,
            spec.out_rate,
            &mut views,
            &mut self.rows,
        );
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
        let counts: Vec<Vec<u8>> = channels
            .enumerate()
            .map(|(l, ch)| {
                bushy_cell::fast_fibre_counts(
                    bushy,
                    rate,
                    &self.probability[l],
                    seed,
                    ch,
                    &mut self.hazard,
                )
            })
            .collect();
        bushy_cell::fast_channels(bushy, rate, &counts, &mut self.counts, &mut self.fired)
    }
}
