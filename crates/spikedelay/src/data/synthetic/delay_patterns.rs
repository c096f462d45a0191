//! `delay-patterns`: a generated task that only delays can solve.
//!
//! Each of `classes` classes is a motif in which each of the same `motif_channels` input channels
//! spikes exactly once, at a class-specific offset inside `motif_span` steps. Offsets within a
//! motif are at least `min_spacing` steps apart, so two motif spikes never coincide even after
//! jitter. Every class therefore has the same spike count on every channel, and no single time
//! step says anything about the class: only the relative timing of spikes does. A network without
//! delays (and with τ ≈ 1 step, i.e. no memory) is near chance; one that learns per-synapse delays
//! can align a motif's spikes onto one step and detect the coincidence.
//!
//! A sample places its class's motif at a random onset, moves each spike by ±1 step with
//! probability `jitter`, deletes each spike with probability `deletion`, and adds Poisson
//! background spikes at `background_rate` per channel per step. Everything is deterministic from
//! `seed`; the three splits use independent streams.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::config::{DatasetSource, SelectOn, TEST_SELECTION};
use crate::data::dataset::{Dataset, Splits};
use crate::data::progress::LoadProgress;
use crate::error::{Error, Result};

/// Parameters of the built-in task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DelayPatternsConfig {
    /// Number of classes. Default: 20.
    pub classes: usize,
    /// Input channels. Default: 20.
    pub channels: usize,
    /// Channels that take part in every motif (the rest carry only background). Default: 9.
    pub motif_channels: usize,
    /// Time steps per sample. Default: 50.
    pub steps: usize,
    /// Motif offsets lie in `0..motif_span` steps; keep it ≤ the maximum delay. Default: 25.
    pub motif_span: usize,
    /// Minimum gap between two offsets of one motif, in steps (≥ 3 keeps jittered spikes
    /// apart). Default: 3.
    pub min_spacing: usize,
    /// Probability that a motif spike is moved by ±1 step. Default: 0.2.
    pub jitter: f64,
    /// Probability that a motif spike is deleted. Default: 0.05.
    pub deletion: f64,
    /// Background spikes per channel per step. Default: 0.01.
    pub background_rate: f64,
    /// Training samples. Default: 2000.
    pub train_samples: usize,
    /// Validation samples. Default: 1000.
    pub valid_samples: usize,
    /// Test samples. Default: 1000.
    pub test_samples: usize,
    /// Seed of the task (motifs and samples), independent of the training seed. Default: 0.
    pub seed: u64,
    /// Which split selects the reported epoch. Default: `valid`.
    pub select_on: SelectOn,
}

impl Default for DelayPatternsConfig {
    fn default() -> Self {
        DelayPatternsConfig {
            classes: 20,
            channels: 20,
            motif_channels: 9,
            steps: 50,
            motif_span: 25,
            min_spacing: 3,
            jitter: 0.2,
            deletion: 0.05,
            background_rate: 0.01,
            train_samples: 2000,
            valid_samples: 1000,
            test_samples: 1000,
            seed: 0,
            select_on: SelectOn::Valid,
        }
    }
}

fn bad(key: &str, message: String) -> Error {
    Error::config(format!("data.{key}"), message)
}

impl DelayPatternsConfig {
    /// Checks ranges and that motifs fit.
    pub fn validate(&self) -> Result<()> {
        if self.classes < 2 {
            return Err(bad(
                "classes",
                format!("must be at least 2, got {}", self.classes),
            ));
        }
        if self.motif_channels == 0 || self.motif_channels > self.channels {
            return Err(bad(
                "motif_channels",
                format!(
                    "must be in 1..={} (channels), got {}",
                    self.channels, self.motif_channels
                ),
            ));
        }
        let need = (self.motif_channels - 1) * self.min_spacing + 1;
        if self.motif_span < need {
            return Err(bad(
                "motif_span",
                format!(
                    "{} steps cannot hold {} spikes {} steps apart (needs ≥ {need})",
                    self.motif_span, self.motif_channels, self.min_spacing
                ),
            ));
        }
        if self.steps < self.motif_span + 2 {
            return Err(bad(
                "steps",
                format!(
                    "must be ≥ motif_span + 2 = {}, got {}",
                    self.motif_span + 2,
                    self.steps
                ),
            ));
        }
        for (key, p) in [
            ("jitter", self.jitter),
            ("deletion", self.deletion),
            ("background_rate", self.background_rate),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(bad(
                    key,
                    format!("must be a probability in [0, 1), got {p}"),
                ));
            }
        }
        for (key, n) in [
            ("train_samples", self.train_samples),
            ("valid_samples", self.valid_samples),
            ("test_samples", self.test_samples),
        ] {
            if n == 0 {
                return Err(bad(key, "must be at least 1".into()));
            }
        }
        Ok(())
    }

    /// The class motifs: for each class, `(channel, offset)` of each motif spike.
    pub fn motifs(&self) -> Vec<Vec<(usize, usize)>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x6d6f_7469_6673);
        let mut chans: Vec<usize> = (0..self.channels).collect();
        chans.shuffle(&mut rng);
        chans.truncate(self.motif_channels);
        let slack = self.motif_span - 1 - (self.motif_channels - 1) * self.min_spacing;
        let mut motifs: Vec<Vec<(usize, usize)>> = Vec::with_capacity(self.classes);
        while motifs.len() < self.classes {
            // Sorted extras in 0..=slack keep consecutive offsets ≥ min_spacing apart.
            let mut extra: Vec<usize> = (0..self.motif_channels)
                .map(|_| rng.random_range(0..=slack))
                .collect();
            extra.sort_unstable();
            let mut order = chans.clone();
            order.shuffle(&mut rng);
            let mut motif: Vec<(usize, usize)> = order
                .iter()
                .enumerate()
                .map(|(k, &ch)| (ch, k * self.min_spacing + extra[k]))
                .collect();
            motif.sort_unstable();
            if !motifs.contains(&motif) {
                motifs.push(motif);
            }
        }
        motifs
    }

    /// The generated samples' size: per sample a label, an event list (its motif spikes and
    /// background) and the batching index, about 64 bytes plus 16 per event.
    pub fn memory_estimate(&self) -> crate::memory::Estimate {
        let samples =
            self.train_samples as f64 + self.valid_samples as f64 + self.test_samples as f64;
        let events = self.motif_channels as f64
            + self.channels as f64 * self.steps as f64 * self.background_rate.max(0.0);
        let mut e = crate::memory::Estimate::default();
        e.add(
            "samples",
            format!(
                "data.train_samples + data.valid_samples + data.test_samples = {samples}, \
                 data.channels × data.steps × data.background_rate = {events:.1} events each"
            ),
            samples * (64.0 + 16.0 * events),
        );
        e
    }

    /// Generates the three splits (with `select_on = "test"`, the test set also serves as the
    /// validation set).
    pub fn generate(&self) -> Result<Splits> {
        self.validate()?;
        self.memory_estimate()
            .check("generating the delay-patterns task")?;
        let motifs = self.motifs();
        let split = |n: usize, stream: u64| -> Box<dyn Dataset> {
            Box::new(DelayPatterns::generate(self, &motifs, n, stream))
        };
        let valid = match self.select_on {
            SelectOn::Valid => split(self.valid_samples, 2),
            SelectOn::Test => split(self.test_samples, 3),
        };
        Ok(Splits {
            train: split(self.train_samples, 1),
            valid,
            test: split(self.test_samples, 3),
            valid_is_test: self.select_on == SelectOn::Test,
        })
    }
}

impl DatasetSource for DelayPatternsConfig {
    fn validate(&self) -> Result<()> {
        DelayPatternsConfig::validate(self)
    }
    fn load(&self, _time_step_ms: f64, _progress: &mut dyn LoadProgress) -> Result<Splits> {
        self.generate()
    }
    fn name(&self) -> String {
        "delay-patterns".into()
    }
    fn input_description(&self, _time_step_ms: f64) -> String {
        "delay-patterns (generated spike counts)".into()
    }
    fn selection(&self) -> String {
        match self.select_on {
            SelectOn::Valid => "best validation accuracy (held-out validation split)".into(),
            SelectOn::Test => TEST_SELECTION.into(),
        }
    }
    fn set_dir(&mut self, _dir: std::path::PathBuf) -> Result<()> {
        Err(Error::DataDirNotApplicable {
            kind: "delay-patterns".into(),
        })
    }
}

/// One generated split: spike events per sample.
#[derive(Debug, Clone)]
pub struct DelayPatterns {
    channels: usize,
    classes: usize,
    steps: usize,
    labels: Vec<usize>,
    /// `(step, channel)` of every spike of every sample.
    events: Vec<Vec<(u32, u32)>>,
}

impl DelayPatterns {
    fn generate(
        cfg: &DelayPatternsConfig,
        motifs: &[Vec<(usize, usize)>],
        n: usize,
        stream: u64,
    ) -> Self {
        let mut rng =
            ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ stream);
        let mut labels: Vec<usize> = (0..n).map(|i| i % cfg.classes).collect();
        labels.shuffle(&mut rng);
        let events = labels
            .iter()
            .map(|&y| {
                let mut ev = Vec::new();
                let onset = rng.random_range(1..=cfg.steps - cfg.motif_span - 1);
                for &(ch, off) in &motifs[y] {
                    if rng.random_bool(cfg.deletion) {
                        continue;
                    }
                    let mut t = onset + off;
                    if rng.random_bool(cfg.jitter) {
                        t = if rng.random_bool(0.5) { t + 1 } else { t - 1 };
                    }
                    ev.push((t as u32, ch as u32));
                }
                if cfg.background_rate > 0.0 {
                    for t in 0..cfg.steps {
                        for ch in 0..cfg.channels {
                            if rng.random_bool(cfg.background_rate) {
                                ev.push((t as u32, ch as u32));
                            }
                        }
                    }
                }
                ev.sort_unstable();
                ev
            })
            .collect();
        DelayPatterns {
            channels: cfg.channels,
            classes: cfg.classes,
            steps: cfg.steps,
            labels,
            events,
        }
    }

    /// Spike events `(step, channel)` of sample `i`.
    pub fn events(&self, i: usize) -> &[(u32, u32)] {
        &self.events[i]
    }
}

impl Dataset for DelayPatterns {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i]
    }
    fn steps(&self, _i: usize) -> usize {
        self.steps
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        for &(t, ch) in &self.events[i] {
            out[t as usize * self.channels + ch as usize] += 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motifs_have_one_spike_per_channel_spaced_apart() {
        let cfg = DelayPatternsConfig::default();
        let motifs = cfg.motifs();
        assert_eq!(motifs.len(), cfg.classes);
        let chans: Vec<usize> = motifs[0].iter().map(|m| m.0).collect();
        for m in &motifs {
            assert_eq!(
                m.iter().map(|x| x.0).collect::<Vec<_>>(),
                chans,
                "same channels in every class"
            );
            let mut offs: Vec<usize> = m.iter().map(|x| x.1).collect();
            offs.sort_unstable();
            assert!(offs.windows(2).all(|w| w[1] - w[0] >= cfg.min_spacing));
            assert!(*offs.last().unwrap() < cfg.motif_span);
        }
    }

    #[test]
    fn generation_is_deterministic_and_balanced() {
        let cfg = DelayPatternsConfig {
            train_samples: 100,
            valid_samples: 10,
            test_samples: 10,
            ..Default::default()
        };
        let a = cfg.generate().unwrap();
        let b = cfg.generate().unwrap();
        let mut fa = vec![0.0; 50 * 20];
        let mut fb = vec![0.0; 50 * 20];
        a.train.write_frames(7, &mut fa);
        b.train.write_frames(7, &mut fb);
        assert_eq!(fa, fb);
        assert_eq!(a.train.label(7), b.train.label(7));
        let count = (0..100).filter(|&i| a.train.label(i) == 3).count();
        assert_eq!(count, 5);
        // the other seed gives other samples
        let c = DelayPatternsConfig { seed: 1, ..cfg }.generate().unwrap();
        let mut fc = vec![0.0; 50 * 20];
        c.train.write_frames(7, &mut fc);
        assert_ne!(fa, fc);
    }

    #[test]
    fn without_noise_a_sample_is_its_motif() {
        let cfg = DelayPatternsConfig {
            jitter: 0.0,
            deletion: 0.0,
            background_rate: 0.0,
            train_samples: 20,
            ..Default::default()
        };
        let motifs = cfg.motifs();
        let d = DelayPatterns::generate(&cfg, &motifs, 20, 1);
        for i in 0..20 {
            let ev = d.events(i);
            let m = &motifs[d.label(i)];
            assert_eq!(ev.len(), m.len());
            let onset = ev.iter().map(|e| e.0 as usize).min().unwrap()
                - m.iter().map(|x| x.1).min().unwrap();
            for &(ch, off) in m {
                assert!(ev.contains(&((onset + off) as u32, ch as u32)));
            }
        }
    }

    #[test]
    fn impossible_motifs_are_rejected() {
        let cfg = DelayPatternsConfig {
            motif_span: 10,
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("data.motif_span"), "{err}");
    }
}
