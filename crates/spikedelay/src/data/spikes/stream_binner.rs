//! `StreamBinner`: the binning of [`super::binning`] applied as events arrive, for streaming
//! inference (docs/deploy.md §6). Times are in seconds (f64), in order; each closed frame comes
//! out as the pooled channels of its events, a channel repeated once per spike.
//!
//! - event-anchored: a frame is `[t_l, t_l + duration]` from the first event not yet binned; the
//!   next event beyond it closes the frame (silent gaps vanish, as in training).
//! - fixed-grid: frame `⌊(t − t₀)/duration⌋`; an event closes every earlier frame, empty ones
//!   included. (Batch binning puts an event exactly on the last boundary into the frame before;
//!   a stream cannot know which event is last, so it opens a new frame.)

use super::binning::{Binning, BinningMode};
use crate::error::{Error, Result};

/// Incremental binner for one stream of `(time, channel)` events.
pub struct StreamBinner {
    binning: Binning,
    /// Anchor (event-anchored) or origin (fixed-grid) of the open frame, ms.
    anchor: Option<f64>,
    /// Index of the open frame (fixed-grid).
    frame: u64,
    open: Vec<usize>,
    last: f64,
}

impl StreamBinner {
    /// A binner for `binning` (its duration is the step length).
    pub fn new(binning: Binning) -> Self {
        StreamBinner {
            binning,
            anchor: None,
            frame: 0,
            open: Vec::new(),
            last: f64::NEG_INFINITY,
        }
    }

    /// Adds one spike; returns the frames it closed (oldest first).
    pub fn push(&mut self, time_s: f64, channel: u32) -> Result<Vec<Vec<usize>>> {
        if !time_s.is_finite() || time_s < self.last {
            return Err(Error::config(
                "event time",
                format!(
                    "{time_s} s: events must be finite and in time order (last {} s)",
                    self.last
                ),
            ));
        }
        if let Some(limit) = self.binning.channels
            && channel as usize >= limit
        {
            return Err(Error::config(
                "event channel",
                format!("{channel} at {time_s} s: the network's data has channels 0..{limit}"),
            ));
        }
        self.last = time_s;
        let t = 1000.0 * time_s;
        let dur = self.binning.duration_ms;
        let mut closed = Vec::new();
        match (self.binning.mode, self.anchor) {
            (_, None) => self.anchor = Some(t),
            (BinningMode::EventAnchored, Some(a)) => {
                if t - a > dur {
                    closed.push(std::mem::take(&mut self.open));
                    self.anchor = Some(t);
                }
            }
            (BinningMode::FixedGrid, Some(t0)) => {
                let k = ((t - t0) / dur).floor() as u64;
                while self.frame < k {
                    closed.push(std::mem::take(&mut self.open));
                    self.frame += 1;
                }
            }
        }
        self.open.push(channel as usize / self.binning.pool.max(1));
        Ok(closed)
    }

    /// Closes the open frame at the end of a sample (one empty frame for an empty sample, as
    /// batch binning gives) and starts afresh.
    pub fn finish(&mut self) -> Vec<usize> {
        let frame = std::mem::take(&mut self.open);
        *self = StreamBinner::new(self.binning);
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::spikes::file::{SpikeSample, TimeWidth};

    /// Streaming gives the frames batch binning gives (f64 times, away from boundary ties).
    #[test]
    fn streamed_frames_are_the_batch_frames() {
        let times = [0.0011, 0.0042, 0.0153, 0.0159, 0.0401, 0.0402, 0.0755, 0.1];
        let units = [3u32, 17, 3, 699, 0, 1, 12, 8];
        for mode in [BinningMode::EventAnchored, BinningMode::FixedGrid] {
            let b = Binning {
                mode,
                ..Binning::default()
            };
            let sample = SpikeSample {
                times: times.to_vec(),
                units: units.to_vec(),
            };
            let batch = b.bin(&sample, TimeWidth::F64);
            let mut s = StreamBinner::new(b);
            let mut frames = Vec::new();
            for (&t, &u) in times.iter().zip(&units) {
                frames.extend(s.push(t, u).unwrap());
            }
            frames.push(s.finish());
            assert_eq!(frames.len(), batch.steps, "{mode:?}");
            let mut streamed: Vec<(u32, u16, u16)> = Vec::new();
            for (f, frame) in frames.iter().enumerate() {
                let mut counts = std::collections::BTreeMap::new();
                for &c in frame {
                    *counts.entry(c as u16).or_insert(0u16) += 1;
                }
                streamed.extend(counts.into_iter().map(|(c, n)| (f as u32, c, n)));
            }
            assert_eq!(streamed, batch.entries, "{mode:?}");
        }
        let mut s = StreamBinner::new(Binning::default());
        s.push(0.5, 1).unwrap();
        assert!(
            s.push(0.4, 1)
                .unwrap_err()
                .to_string()
                .contains("in time order")
        );
        assert!(
            s.push(0.6, 700)
                .unwrap_err()
                .to_string()
                .contains("channels 0..700")
        );
    }
}
