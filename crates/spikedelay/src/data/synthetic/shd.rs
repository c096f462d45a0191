//! A synthetic stand-in for SHD in its exact file format: the `delay-patterns` idea on 700
//! cochlear channels with SHD-like timing, so the whole SHD pipeline (HDF5 → binning → pooling →
//! training) runs offline. Accuracy on it says nothing about SHD.
//!
//! Every class is a motif, like a word's formant tracks: `bands` channel groups (5 adjacent
//! units, one pooled input) drawn from a shared pool of `pool_factor · bands` groups each fire one
//! segment of Poisson spikes at `segment_hz` for `segment_ms`, at class-specific offsets that keep
//! segments apart, inside `motif_span_ms`. With the default `pool_factor` 3, classes draw their
//! groups from 21 shared ones, so which channels fire says something about the class and the
//! relative timing the rest. With `pool_factor` 1 all classes use the same groups with the same
//! segment length: every channel carries the same expected count in every class and the segments
//! of a motif never overlap, so only relative timing tells classes apart (the `delay-patterns`
//! idea; a network without delays is then at chance).
//! A sample places its motif at a random onset, stretches it by its speaker's tempo (±3 %), moves
//! a segment by up to ±10 ms with probability 0.2, drops one with probability 0.05, and adds
//! Poisson background spikes on all 700 units. Times are float16
//! seconds up to about 1 s. Speakers 4 and 5 form the test set, as in SHD; labels and keys follow
//! SHD's (`10·is_german + digit`).

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

use crate::data::spikes::file::{SHD_CHANNELS, SpikeSample};
use crate::data::spikes::writer::{SpeakerInfo, SpikeFileContents};

/// SHD's class words, by label.
pub const SHD_KEYS: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "null", "eins",
    "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
];

/// Parameters of the synthetic SHD files.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticShd {
    /// Training samples per class.
    pub train_per_class: usize,
    /// Test samples per class.
    pub test_per_class: usize,
    /// Channel groups (segments) per motif.
    pub bands: usize,
    /// Motif offsets lie in `0..motif_span_ms`.
    pub motif_span_ms: f64,
    /// Groups in the shared pool, as a multiple of `bands` (default 3); 1 makes every class use
    /// the same channels, so that only timing tells classes apart.
    pub pool_factor: usize,
    /// Length of every segment, ms; segments of one motif start `segment_ms + 5` ms apart or
    /// more, so they never overlap and no single time step says anything about the class.
    pub segment_ms: f64,
    /// Spike rate of a segment over its 5 units, Hz.
    pub segment_hz: f64,
    /// Background spikes per second over all 700 units.
    pub background_hz: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticShd {
    fn default() -> Self {
        SyntheticShd {
            train_per_class: 200,
            test_per_class: 50,
            bands: 7,
            motif_span_ms: 240.0,
            pool_factor: 3,
            segment_ms: 30.0,
            segment_hz: 300.0,
            background_hz: 800.0,
            seed: 0,
        }
    }
}

/// `(offset, length)` of one motif segment, ms.
type Segment = (f64, f64);

const TEST_SPEAKERS: [u32; 2] = [4, 5];
const TRAIN_SPEAKERS: [u32; 10] = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11];

impl SyntheticShd {
    /// The motif of every class: unit groups, and `(offset, length)` ms per segment.
    fn motifs(&self, rng: &mut ChaCha8Rng) -> (Vec<Vec<usize>>, Vec<Vec<Segment>>) {
        let groups = SHD_CHANNELS / 5;
        let mut pool: Vec<usize> = (0..groups).collect();
        pool.shuffle(rng);
        pool.truncate((self.pool_factor * self.bands).min(groups));
        let bands = (0..SHD_KEYS.len())
            .map(|_| {
                let mut p = pool.clone();
                p.shuffle(rng);
                p.truncate(self.bands);
                p
            })
            .collect();
        // Sorted uniform points in [0, span − (bands−1)·gap], spread by k·gap, then shuffled
        // over the bands: offsets at least `gap` apart, uniformly placed.
        let gap = self.segment_ms + 5.0;
        let room = self.motif_span_ms - (self.bands - 1) as f64 * gap;
        let offsets = (0..SHD_KEYS.len())
            .map(|_| {
                let mut o: Vec<f64> = (0..self.bands)
                    .map(|_| rng.random_range(0.0..room.max(1.0)))
                    .collect();
                o.sort_by(f64::total_cmp);
                let mut o: Vec<Segment> = o
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| (x + k as f64 * gap, self.segment_ms))
                    .collect();
                o.shuffle(rng);
                o
            })
            .collect();
        (bands, offsets)
    }

    fn sample(
        &self,
        rng: &mut ChaCha8Rng,
        bands: &[usize],
        offsets: &[Segment],
        speaker: u32,
    ) -> SpikeSample {
        let tempo = 0.97 + 0.06 * (speaker as f64 / 11.0);
        let onset = rng.random_range(30.0..350.0);
        let duration = onset + self.motif_span_ms + rng.random_range(150.0..350.0);
        let mut spikes: Vec<(f64, u32)> = Vec::new();
        for (&g, &(o, len)) in bands.iter().zip(offsets) {
            if rng.random_bool(0.05) {
                continue;
            }
            let mut t = onset + o * tempo;
            if rng.random_bool(0.2) {
                t += rng.random_range(-10.0..10.0);
            }
            let len = len * tempo;
            let n = Poisson::new(self.segment_hz * len / 1000.0).map_or(0.0, |p| p.sample(rng));
            for _ in 0..n as usize {
                let unit = (5 * g + rng.random_range(0..5)) as u32;
                spikes.push(((t + rng.random_range(0.0..len)).max(0.0), unit));
            }
        }
        let n = Poisson::new(self.background_hz * duration / 1000.0).map_or(0.0, |p| p.sample(rng))
            as usize;
        for _ in 0..n {
            spikes.push((
                rng.random_range(0.0..duration),
                rng.random_range(0..SHD_CHANNELS as u32),
            ));
        }
        spikes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        SpikeSample {
            times: spikes.iter().map(|s| s.0 / 1000.0).collect(),
            units: spikes.iter().map(|s| s.1).collect(),
        }
    }

    /// The training and test files' contents.
    pub fn generate(&self) -> (SpikeFileContents, SpikeFileContents) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let (bands, offsets) = self.motifs(&mut rng);
        let meta = SpeakerInfo {
            gender: (0..12)
                .map(|s| if s % 2 == 0 { "female" } else { "male" }.to_string())
                .collect(),
            age: (0..12).map(|s| 21 + 3 * s as u16).collect(),
            body_height: (0..12).map(|s| 160 + 2 * s as u16).collect(),
        };
        let split = |per_class: usize, speakers: &[u32], stream: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ stream);
            let mut c = SpikeFileContents {
                keys: SHD_KEYS.iter().map(|k| k.to_string()).collect(),
                meta_info: Some(meta.clone()),
                ..SpikeFileContents::default()
            };
            for k in 0..per_class {
                for (label, off) in offsets.iter().enumerate() {
                    let speaker = speakers[(k + label) % speakers.len()];
                    c.samples
                        .push(self.sample(&mut rng, &bands[label], off, speaker));
                    c.labels.push(label as u32);
                    c.speakers.push(speaker);
                }
            }
            c
        };
        let train = split(self.train_per_class, &TRAIN_SPEAKERS, 0x7261_696e);
        let test = split(self.test_per_class, &TEST_SPEAKERS, 0x7465_7374);
        (train, test)
    }
}
