//! Binning spike lists into count frames (method §1.1, §17), then pooling adjacent channels
//! (SHD and SSC: 700 → 140).
//!
//! Two variants, both with `duration` = 10 ms by default:
//! - `event-anchored` (what the paper used): each frame is the window `[t_l, t_l + duration]`
//!   anchored at the first spike not yet binned; silent gaps vanish, time starts at the first spike.
//! - `fixed-grid`: frame `⌊(t − t₀)/duration⌋`, `⌈(t_last − t₀)/duration⌉` frames (at least one),
//!   empty frames kept, the last frame taking any overflow.
//!
//! For float16 files the arithmetic is float16, as numpy does it in the reference: every
//! operation is evaluated in float32 and rounded to float16. Other widths use float64.

use half::f16;
use serde::{Deserialize, Serialize};

use super::file::{SHD_CHANNELS, SpikeSample, TimeWidth};

/// Which binning (method §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BinningMode {
    /// Windows anchored at spikes (spikingjelly before `01823bed`; the paper's inputs).
    #[default]
    EventAnchored,
    /// Uniform frames from the first spike (spikingjelly after `01823bed`).
    FixedGrid,
}

impl BinningMode {
    /// The name used in configs, caches and results.
    pub fn name(self) -> &'static str {
        match self {
            BinningMode::EventAnchored => "event-anchored",
            BinningMode::FixedGrid => "fixed-grid",
        }
    }
}

/// Binning parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Binning {
    /// Variant.
    pub mode: BinningMode,
    /// Frame duration, ms.
    pub duration_ms: f64,
    /// Adjacent channels summed into one (`n_bins`; `⌈channels / pool⌉` inputs).
    pub pool: usize,
    /// Input channels of the data (units must be below it); `None`: as many as the data uses.
    pub channels: Option<usize>,
}

impl Default for Binning {
    fn default() -> Self {
        Binning {
            mode: BinningMode::EventAnchored,
            duration_ms: 10.0,
            pool: 5,
            channels: Some(SHD_CHANNELS),
        }
    }
}

/// One sample as sparse count frames: `(frame, pooled channel, count)`, sorted by frame then
/// channel, no duplicates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BinnedSample {
    /// Frames `T_i` (at least one).
    pub steps: usize,
    /// Non-zero counts.
    pub entries: Vec<(u32, u16, u16)>,
}

/// float16 rounding of a float32 result, as numpy's float16 ufuncs do.
fn h(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

impl Binning {
    /// Pooled channels for `channels` input channels: `⌈channels / pool⌉`.
    pub fn pooled(&self, channels: usize) -> usize {
        channels.div_ceil(self.pool.max(1))
    }

    /// Spike times in ms with the file's arithmetic: `f16(1000·t)` for float16 files.
    fn times_ms(times: &[f64], width: TimeWidth) -> Vec<f64> {
        match width {
            TimeWidth::F16 => times.iter().map(|&t| h(1000.0 * t as f32) as f64).collect(),
            _ => times.iter().map(|&t| 1000.0 * t).collect(),
        }
    }

    /// Frame index of every spike and the number of frames (before pooling).
    pub fn frame_indices(&self, times: &[f64], width: TimeWidth) -> (Vec<usize>, usize) {
        let n = times.len();
        if n == 0 {
            return (Vec::new(), 1);
        }
        let t = Self::times_ms(times, width);
        let half = width == TimeWidth::F16;
        let dur = self.duration_ms;
        let sub = |a: f64, b: f64| {
            if half {
                h((a - b) as f32) as f64
            } else {
                a - b
            }
        };
        let div = |a: f64| {
            if half {
                h((a / dur) as f32) as f64
            } else {
                a / dur
            }
        };
        let mut frame = vec![0usize; n];
        match self.mode {
            BinningMode::EventAnchored => {
                let (mut left, mut right, mut f) = (0, 0, 0);
                loop {
                    let t_l = t[left];
                    while right < n && sub(t[right], t_l) <= dur {
                        right += 1;
                    }
                    frame[left..right].fill(f);
                    f += 1;
                    left = right;
                    if right == n {
                        return (frame, f);
                    }
                }
            }
            BinningMode::FixedGrid => {
                let t0 = t[0];
                let rel: Vec<f64> = t.iter().map(|&x| sub(x, t0)).collect();
                let frames = (div(rel[n - 1]).ceil() as usize).max(1);
                for (k, &r) in rel.iter().enumerate() {
                    frame[k] = (div(r).floor() as usize).min(frames - 1);
                }
                (frame, frames)
            }
        }
    }

    /// Bins and pools one sample. An empty sample gives one zero frame.
    pub fn bin(&self, sample: &SpikeSample, width: TimeWidth) -> BinnedSample {
        let (frame, steps) = self.frame_indices(&sample.times, width);
        let top = sample.units.iter().max().map_or(0, |&u| u as usize + 1);
        let mut counts = vec![0u32; self.pooled(self.channels.unwrap_or(0).max(top))];
        let mut entries = Vec::new();
        let mut k = 0;
        while k < frame.len() {
            let f = frame[k];
            while k < frame.len() && frame[k] == f {
                counts[sample.units[k] as usize / self.pool] += 1;
                k += 1;
            }
            for (c, n) in counts.iter_mut().enumerate() {
                if *n > 0 {
                    entries.push((f as u32, c as u16, (*n).min(u16::MAX as u32) as u16));
                    *n = 0;
                }
            }
        }
        BinnedSample { steps, entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(times: &[f64], units: &[u32]) -> SpikeSample {
        SpikeSample {
            times: times.to_vec(),
            units: units.to_vec(),
        }
    }

    /// Stored float16 values of method §17.3's test vector.
    fn f16s(times: &[f64]) -> Vec<f64> {
        times.iter().map(|&t| f16::from_f64(t).to_f64()).collect()
    }

    #[test]
    fn float16_facts_of_the_spec() {
        let t = f16s(&[0.0, 0.010, 0.0105, 0.0201, 1.2345, 1.4]);
        assert_eq!(t[1], 0.01000213623046875);
        assert_eq!(t[2], 0.010498046875);
        assert_eq!(t[3], 0.0200958251953125);
        assert_eq!(t[4], 1.234375);
        assert_eq!(t[5], 1.400390625);
        let ms = Binning::times_ms(&t, TimeWidth::F16);
        assert_eq!(ms, vec![0.0, 10.0, 10.5, 20.09375, 1234.0, 1400.0]);
    }

    #[test]
    fn worked_example_event_anchored() {
        let t = f16s(&[0.0, 0.010, 0.0105, 0.0201]);
        let b = Binning::default();
        assert_eq!(b.frame_indices(&t, TimeWidth::F16), (vec![0, 0, 1, 1], 2));
    }

    #[test]
    fn worked_example_fixed_grid() {
        let t = f16s(&[0.0, 0.010, 0.0105, 0.0201]);
        let b = Binning {
            mode: BinningMode::FixedGrid,
            ..Binning::default()
        };
        assert_eq!(b.frame_indices(&t, TimeWidth::F16), (vec![0, 1, 1, 2], 3));
    }

    #[test]
    fn silent_gaps_vanish_or_stay() {
        // Spikes at 5 ms, 7 ms, then 95 ms and 103 ms: a 88 ms silence.
        let t = [0.005, 0.007, 0.095, 0.103];
        let anchored = Binning::default();
        // Windows [5, 15] → {0,1}; [95, 105] → {2,3}: the gap is gone.
        assert_eq!(
            anchored.frame_indices(&t, TimeWidth::F64),
            (vec![0, 0, 1, 1], 2)
        );
        let grid = Binning {
            mode: BinningMode::FixedGrid,
            ..Binning::default()
        };
        // t − t₀ = 0, 2, 90, 98 ms → frames 0, 0, 9, 9 of ⌈98/10⌉ = 10; frames 1..8 empty.
        assert_eq!(
            grid.frame_indices(&t, TimeWidth::F64),
            (vec![0, 0, 9, 9], 10)
        );
    }

    #[test]
    fn last_frame_takes_the_overflow() {
        // t − t₀ = 0, 10, 20 ms: ⌈20/10⌉ = 2 frames; the spike at exactly 20 ms goes to frame 1.
        let grid = Binning {
            mode: BinningMode::FixedGrid,
            ..Binning::default()
        };
        let t = [0.0, 0.010, 0.020];
        assert_eq!(grid.frame_indices(&t, TimeWidth::F64), (vec![0, 1, 1], 2));
        // Event-anchored windows are inclusive: 0 and 10 together, 20 alone.
        let anchored = Binning::default();
        assert_eq!(
            anchored.frame_indices(&t, TimeWidth::F64),
            (vec![0, 0, 1], 2)
        );
        // All spikes at one time: one frame in both modes.
        let same = [0.3, 0.3];
        assert_eq!(grid.frame_indices(&same, TimeWidth::F64), (vec![0, 0], 1));
        assert_eq!(
            anchored.frame_indices(&same, TimeWidth::F64),
            (vec![0, 0], 1)
        );
    }

    #[test]
    fn pooling_sums_counts_in_groups_of_five() {
        let b = Binning::default();
        // Two spikes on unit 0 and one on unit 4 in frame 0 → channel 0 count 3; unit 699 →
        // channel 139; identical times are both counted.
        let s = sample(&[0.0, 0.0, 0.001, 0.002, 0.05], &[0, 0, 4, 699, 5]);
        let out = b.bin(&s, TimeWidth::F64);
        assert_eq!(out.steps, 2);
        assert_eq!(out.entries, vec![(0, 0, 3), (0, 139, 1), (1, 1, 1)]);
        assert_eq!(b.pooled(SHD_CHANNELS), 140);
    }

    #[test]
    fn empty_sample_is_one_zero_frame() {
        for mode in [BinningMode::EventAnchored, BinningMode::FixedGrid] {
            let b = Binning {
                mode,
                ..Binning::default()
            };
            let out = b.bin(&SpikeSample::default(), TimeWidth::F16);
            assert_eq!(out.steps, 1);
            assert!(out.entries.is_empty());
        }
    }
}
