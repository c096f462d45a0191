//! The transfer function kept across clips of one length (docs/cochlea.md §9). v(ω, c) depends
//! on the clip only through its frequency grid, ω = 2π·linspace(1, fs/2, M), so every clip of M
//! bins at one output rate has the same v; GSC's clips, for one, are nearly all 1 s long. The
//! values kept are the ones [`TransferRun`](super::transfer::TransferRun) computed, so a clip
//! converted with them gives the same bits as one converted without.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use num_complex::Complex64;

/// Lengths whose tables are kept at once (the least recently used one goes first).
const LENGTHS: usize = 4;

/// One length's transfer function: per channel, v(ω, c) over the bins up to the end of the run
/// where its spectrum stopped (docs/cochlea.md §2, "Evanescent tail").
#[derive(Debug)]
pub struct LengthTable {
    /// Bins per clip (M) and the output rate (fs/2): the frequency grid.
    key: (usize, usize),
    /// Whether channels computed for this length are stored: from the second clip of the
    /// length on, so that a lone clip pays nothing.
    store: bool,
    channels: Vec<OnceLock<Box<[Complex64]>>>,
    /// The cache's count of stored bytes, which this table's share leaves on drop.
    stored: Arc<AtomicUsize>,
    budget: usize,
}

impl LengthTable {
    /// Channel `channel`'s stored v, if it is stored.
    pub fn get(&self, channel: usize) -> Option<&[Complex64]> {
        self.channels.get(channel)?.get().map(|v| &v[..])
    }

    /// Whether a channel computed now should be offered to [`LengthTable::put`].
    pub fn wants(&self, channel: usize) -> bool {
        self.store
            && self
                .channels
                .get(channel)
                .is_some_and(|s| s.get().is_none())
    }

    /// Stores channel `channel`'s v unless it is stored already or the cache's budget is spent.
    pub fn put(&self, channel: usize, v: Vec<Complex64>) {
        let Some(slot) = self.channels.get(channel) else {
            return;
        };
        let bytes = v.len() * size_of::<Complex64>();
        let fits = self
            .stored
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                (s + bytes <= self.budget).then_some(s + bytes)
            })
            .is_ok();
        if fits && slot.set(v.into_boxed_slice()).is_err() {
            self.stored.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

impl Drop for LengthTable {
    fn drop(&mut self) {
        let bytes: usize = self
            .channels
            .iter()
            .filter_map(|s| s.get())
            .map(|v| v.len() * size_of::<Complex64>())
            .sum();
        self.stored.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Tables of the last few clip lengths within a budget of bytes, shared by the clips converted
/// in parallel.
#[derive(Debug)]
pub struct TransferCache {
    /// Most recently used last, with how many clips asked for each.
    tables: Mutex<Vec<(Arc<LengthTable>, usize)>>,
    stored: Arc<AtomicUsize>,
    budget: usize,
}

impl TransferCache {
    /// A cache that keeps at most `budget` bytes of transfer functions.
    pub fn new(budget: usize) -> Self {
        TransferCache {
            tables: Mutex::new(Vec::new()),
            stored: Arc::new(AtomicUsize::new(0)),
            budget,
        }
    }

    /// The table for clips of `m` bins at output rate `out_rate`, for `channels` channels.
    pub fn table(&self, m: usize, out_rate: usize, channels: usize) -> Arc<LengthTable> {
        let key = (m, out_rate);
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let (table, asked) = match tables.iter().position(|(t, _)| t.key == key) {
            Some(i) => tables.remove(i),
            None => (self.fresh(key, channels, false), 0),
        };
        // The second clip of a length turns storing on.
        let table = if asked == 1 && !table.store {
            self.fresh(key, channels, true)
        } else {
            table
        };
        tables.push((table.clone(), asked + 1));
        if tables.len() > LENGTHS {
            tables.remove(0);
        }
        table
    }

    /// Bytes of transfer functions stored now.
    pub fn stored_bytes(&self) -> usize {
        self.stored.load(Ordering::Relaxed)
    }

    fn fresh(&self, key: (usize, usize), channels: usize, store: bool) -> Arc<LengthTable> {
        Arc::new(LengthTable {
            key,
            store,
            channels: (0..channels).map(|_| OnceLock::new()).collect(),
            stored: self.stored.clone(),
            budget: self.budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cochlea::{Cochlea, CochleaParams, Sampler};

    /// A chirp under a little noise, `n` samples at 16 kHz; `k` changes its content.
    fn clip(n: usize, k: u32) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let s = t as f64 / 16_000.0;
                let noise = ((t as u32).wrapping_mul(2_654_435_761).wrapping_add(k) >> 16) as f64
                    / 65_536.0
                    - 0.5;
                (2.0 * std::f64::consts::PI * (300.0 + 900.0 * k as f64 * s) * s).sin()
                    + 0.05 * noise
            })
            .collect()
    }

    #[test]
    fn clips_of_one_length_reuse_the_transfer_function_and_give_the_same_spikes() {
        let params = CochleaParams {
            channels: 60,
            ..CochleaParams::default()
        };
        let spikes = |model: &Cochlea, wave: &[f64], sampler| {
            let s = model.spikes(wave, 16_000, 7, sampler).unwrap();
            (s.times, s.units)
        };
        let warm = Cochlea::new(params).unwrap();
        let (a, b, c) = (clip(4000, 1), clip(4000, 2), clip(3000, 1));
        let first = spikes(&warm, &a, Sampler::Fast);
        assert!(first.0.len() > 100, "{} spikes", first.0.len());
        // A lone clip stores nothing; the second of its length stores every channel.
        assert_eq!(warm.cache.stored_bytes(), 0);
        assert_eq!(spikes(&warm, &a, Sampler::Fast), first);
        let stored = warm.cache.stored_bytes();
        assert!(stored > 0);
        let table = warm.cache.table(2001, 8000, 60);
        assert!((0..60).all(|ch| table.get(ch).is_some()));
        drop(table);
        // Read back, for the same clip, another of its length and both samplers: the bits of
        // a model that never saw the length.
        for (wave, sampler) in [
            (&a, Sampler::Fast),
            (&b, Sampler::Fast),
            (&b, Sampler::Exact),
            (&c, Sampler::Fast),
        ] {
            let cold = Cochlea::new(params).unwrap();
            assert_eq!(spikes(&warm, wave, sampler), spikes(&cold, wave, sampler));
        }
        assert_eq!(warm.cache.stored_bytes(), stored, "nothing stored twice");
    }

    #[test]
    fn the_budget_bounds_what_is_stored_and_dropped_tables_give_it_back() {
        let none = TransferCache::new(0);
        assert!(
            !none.table(100, 8000, 4).wants(0),
            "a lone clip stores nothing"
        );
        for _ in 0..3 {
            let t = none.table(100, 8000, 4);
            assert!(t.wants(0));
            t.put(0, vec![Complex64::new(1.0, 0.0); 100]);
            assert!(t.get(0).is_none());
        }
        assert_eq!(none.stored_bytes(), 0);
        let some = TransferCache::new(1600);
        let _ = some.table(100, 8000, 4);
        let t = some.table(100, 8000, 4);
        t.put(0, vec![Complex64::new(1.0, 0.0); 100]);
        t.put(1, vec![Complex64::new(2.0, 0.0); 100]);
        assert_eq!(t.get(0).map(|v| v.len()), Some(100));
        assert!(t.get(1).is_none(), "past the budget");
        assert_eq!(some.stored_bytes(), 1600);
        drop(t);
        // Enough other lengths push the table out of the cache, and its bytes go with it.
        for m in 1..=LENGTHS {
            let _ = some.table(100 + m, 8000, 4);
        }
        assert_eq!(some.stored_bytes(), 0);
    }
}
