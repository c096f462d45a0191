//! The `fast` fibre sampler (docs/cochlea.md §5): the bushy cells' fibres drawn with one
//! exponential per fibre spike instead of one uniform per sample and fibre. A fibre that may
//! fire again from sample s fires first at the smallest t ≥ s with Σ_{k=s..t} −ln(1 − p_k) ≥ E,
//! E ~ Exp(1): P(no spike in s..t) = Π(1 − p_k) = e^{−Σ −ln(1−p_k)} = P(E > Σ), the Bernoulli
//! process's survival function; after a spike at t it may fire again from t + ⌈refractory⌉,
//! exactly where `lauscher`'s correction lets a kept spike follow. So both samplers draw fibre
//! spike trains from one distribution. The fibres of a channel are drawn together, in time
//! order, with one target for the first of the armed ones ([`fibre_counts_lanes`]).
//!
//! The cumulative hazard is kept for [`LANES`] channels side by side (`rows[t][l]`), as the hair
//! cells leave the probabilities, and the fibre spikes are counted into rows of the same shape,
//! as the bushy cells' LIF neurons take them.

use std::collections::VecDeque;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;

use super::hair_cell::LANES;
use super::params::BushyCellParams;
use crate::kernels::elementary;
use crate::kernels::simd::multiversion;

/// Hazard standing in for p ≥ 1 (a certain spike): e^{−745} is below the smallest double.
const CERTAIN: f64 = 745.0;

/// Probabilities below this take the series of −ln(1 − p) (2⁻⁵; speech's rarely exceed 0.07).
const SMALL: f64 = 1.0 / 32.0;

/// 1/k for the series of −ln(1 − p), k = 1..=10.
const RECIPROCALS: [f64; 10] = {
    let mut r = [0.0; 10];
    let mut k = 0;
    while k < 10 {
        r[k] = 1.0 / (k + 1) as f64;
        k += 1;
    }
    r
};

/// −ln(1 − p) = Σ_{k ≥ 1} pᵏ/k for 0 ≤ p < [`SMALL`] by Horner's rule over ten terms: the first
/// one left out is below p·2⁻⁵⁰/11 < 2⁻⁵³·p, and all terms are positive, so the rounding is a
/// few ulp.
#[inline(always)]
fn small_hazard(p: f64) -> f64 {
    let mut sum = RECIPROCALS[9];
    for k in (0..9).rev() {
        sum = RECIPROCALS[k] + p * sum;
    }
    p * sum
}

multiversion! {
    /// The cumulative hazards H_l(t) = Σ_{k ≤ t} −ln(1 − p_k) of each lane l of the firing
    /// probabilities `rows[t][l]`, as columns: lane l's at `columns[l·n..(l + 1)·n]`, n the
    /// number of rows (so that [`fibre_counts_lanes`] walks one lane's hazards contiguously).
    /// −ln(1 − p) is −log1p(−p): where a row's probabilities are all below 2⁻⁵ (nearly all
    /// rows of speech), its series `small_hazard`; else Goldberg's correction
    /// ln(u)·p/(u − 1), u = 1 − p, exact to a few ulp also where u rounds (p where it rounds to 1).
    pub fn hazard_columns<V>(rows: &[[f64; LANES]], columns: &mut Vec<f64>) {
        let n = rows.len();
        columns.clear();
        columns.resize(LANES * n, 0.0);
        let mut total = [0.0f64; LANES];
        for (t, row) in rows.iter().enumerate() {
            if row.iter().fold(true, |all, &p| all & (0.0..SMALL).contains(&p)) {
                for l in 0..LANES {
                    total[l] += small_hazard(row[l]);
                }
            } else {
                for l in 0..LANES {
                    let p = row[l];
                    let u = 1.0 - p;
                    let inside = p > 0.0 && p < 1.0;
                    let safe_u = if inside { u } else { 0.5 };
                    let corrected = elementary::ln(safe_u) * p / (safe_u - 1.0);
                    let h = if u == 1.0 { p } else { corrected };
                    let h = if p >= 1.0 { CERTAIN } else if inside { h } else { 0.0 };
                    total[l] += h;
                }
            }
            for l in 0..LANES {
                columns[l * n + t] = total[l];
            }
        }
    }
}

/// The first index in `from..to` whose hazard reaches `target` (`to` if none), eight samples
/// per comparison where they lie whole.
fn first_reaching(hazard: &[f64], from: usize, to: usize, target: f64) -> usize {
    if target == f64::INFINITY {
        return to;
    }
    let mut t = from;
    while t + 8 <= to {
        let chunk: &[f64; 8] = hazard[t..t + 8].try_into().unwrap();
        if chunk.iter().fold(false, |any, &h| any | (h >= target)) {
            break;
        }
        t += 8;
    }
    while t < to && hazard[t] < target {
        t += 1;
    }
    t
}

/// Exponential draws −ln(1 − U) of channel `channel`'s uniforms U (ChaCha12 seeded by the seed,
/// one stream per channel), computed a batch at a time in vector lanes.
struct Exponentials {
    rng: ChaCha12Rng,
    batch: [f64; 64],
    next: usize,
}

multiversion! {
    /// Replaces uniforms u ∈ [0, 1) by −ln(1 − u).
    fn exponentials<V>(u: &mut [f64]) {
        for v in u.iter_mut() {
            *v = -elementary::ln(1.0 - *v);
        }
    }
}

impl Exponentials {
    fn new(seed: u64, channel: usize) -> Self {
        let mut rng = ChaCha12Rng::seed_from_u64(seed);
        rng.set_stream(channel as u64);
        Exponentials {
            rng,
            batch: [0.0; 64],
            next: 64,
        }
    }

    fn next(&mut self) -> f64 {
        if self.next == self.batch.len() {
            for v in &mut self.batch {
                *v = self.rng.random::<f64>();
            }
            exponentials(&mut self.batch);
            self.next = 0;
        }
        self.next += 1;
        self.batch[self.next - 1]
    }
}

/// Fibre spikes per sample of the first `lanes` channels of `hazard` (the cumulative hazards'
/// columns from [`hazard_columns`]), channel `first + l` in lane l drawn from a generator seeded
/// by `(seed, first + l)`, into `counts` (resized to the hazards' length).
///
/// One pass over the samples per channel with all its fibres at once, holding one target. The
/// k armed fibres are alike and memoryless: given that none has fired by hazard level L, each
/// one's remaining hazard to its spike is Exp(1), independent of the others, so the first of them
/// fires at L + E/k, E ~ Exp(1) (the minimum of k unit exponentials is Exp(k)). After it fires,
/// the other k − 1 go on from its level with a target E'/(k − 1) further, which serves a second
/// spike in the same sample as well. Where refractory fibres re-arm at sample s, the armed pool
/// grows and its target is drawn afresh from L = H[s − 1]: the old target's remainder past L is
/// Exp(k), independent of the past, so dropping it changes nothing of the law. H rises, so the
/// next spike is the first sample before the next re-arming whose H reaches the target: a
/// search of the lane's column; each fibre spike and each re-arming sample costs one draw.
pub fn fibre_counts_lanes(
    p: &BushyCellParams,
    rate: usize,
    hazard: &[f64],
    lanes: usize,
    seed: u64,
    first: usize,
    counts: &mut Vec<[u8; LANES]>,
) {
    let n = hazard.len() / LANES;
    counts.clear();
    counts.resize(n, [0; LANES]);
    let dead = ((p.tau_refrac * rate as f64).ceil().max(0.0) as usize).max(1);
    // The samples at which refractory fibres re-arm, with how many, in the order they fired.
    let mut resting: VecDeque<(usize, usize)> = VecDeque::with_capacity(p.fibres);
    // 1/k for k armed fibres: a multiplication on the loop's chain of targets, not a division.
    let shares: Vec<f64> = (0..=p.fibres).map(|k| 1.0 / k.max(1) as f64).collect();
    for lane in 0..lanes.min(LANES) {
        let column = &hazard[lane * n..(lane + 1) * n];
        let mut draws = Exponentials::new(seed, first + lane);
        resting.clear();
        let mut armed = p.fibres;
        // The next spike's hazard level among the armed fibres (∞ when none is armed).
        let mut target = if armed > 0 {
            draws.next() * shares[armed]
        } else {
            f64::INFINITY
        };
        let mut next_rearm = usize::MAX;
        let mut t = 0;
        while t < n {
            if next_rearm == t {
                if let Some((_, returning)) = resting.pop_front() {
                    armed += returning;
                }
                next_rearm = resting.front().map_or(usize::MAX, |&(s, _)| s);
                let before = if t == 0 { 0.0 } else { column[t - 1] };
                target = before + draws.next() * shares[armed];
            }
            // Re-armings lie after t, so up to the next one the target stands.
            let limit = next_rearm.min(n);
            t = first_reaching(column, t, limit, target);
            if t == limit {
                continue;
            }
            let h = column[t];
            let mut fired = 0;
            while target <= h {
                fired += 1;
                armed -= 1;
                target = if armed > 0 {
                    target + draws.next() * shares[armed]
                } else {
                    f64::INFINITY
                };
            }
            counts[t][lane] = fired as u8;
            resting.push_back((t + dead, fired));
            if next_rearm == usize::MAX {
                next_rearm = t + dead;
            }
            t += 1;
        }
    }
}

/// Fibre spikes per sample of one channel (all fibres together) with firing probability `prob`,
/// drawn as [`fibre_counts_lanes`] draws channel `channel`; `hazard` and `counts` are scratch.
pub fn fast_fibre_counts(
    p: &BushyCellParams,
    rate: usize,
    prob: &[f64],
    seed: u64,
    channel: usize,
    hazard: &mut Vec<f64>,
    counts: &mut Vec<[u8; LANES]>,
) -> Vec<u8> {
    let rows: Vec<[f64; LANES]> = prob
        .iter()
        .map(|&v| {
            let mut row = [0.0; LANES];
            row[0] = v;
            row
        })
        .collect();
    hazard_columns(&rows, hazard);
    fibre_counts_lanes(p, rate, hazard, 1, seed, channel, counts);
    counts.iter().map(|row| row[0]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_are_minus_log1p_and_add_up_per_lane() {
        // One sample: the hazard itself, within a few ulp of libm's log1p.
        let mut probs = vec![
            0.0, 1e-300, 1e-17, 1.1e-16, 1e-9, 0.001, 0.3, 0.5, 0.999_999,
        ];
        probs.extend((1..2000).map(|i| i as f64 / 2000.0));
        for &p in &probs {
            let mut columns = Vec::new();
            hazard_columns(&[[p; LANES]], &mut columns);
            let exact = -(-p).ln_1p();
            let got = columns[LANES - 1];
            assert!(
                (got - exact).abs() <= 4.0 * f64::EPSILON * exact,
                "p = {p:e}: {got:e}, log1p gives {exact:e}"
            );
        }
        for (p, h) in [(1.0, CERTAIN), (1.5, CERTAIN), (-0.2, 0.0), (0.0, 0.0)] {
            let mut columns = Vec::new();
            hazard_columns(&[[p; LANES]], &mut columns);
            assert_eq!(columns[2], h, "p = {p}");
        }
        // Many samples: each lane its own running sum.
        let rows: Vec<[f64; LANES]> = (0..100)
            .map(|t| std::array::from_fn(|l| 0.001 * (l + 1) as f64 * (t % 7) as f64))
            .collect();
        let expected: Vec<f64> = (0..LANES)
            .map(|l| {
                (0..100)
                    .map(|t| -(-0.001 * (l + 1) as f64 * (t % 7) as f64).ln_1p())
                    .sum()
            })
            .collect();
        let mut columns = Vec::new();
        hazard_columns(&rows, &mut columns);
        for (l, e) in expected.iter().enumerate() {
            let last = columns[l * 100 + 99];
            assert!((last - e).abs() < 1e-13 * e, "lane {l}: {last} vs {e}");
        }
    }

    #[test]
    fn certain_spikes_follow_the_refractory_period_and_silence_none() {
        // p = 1 in lane 0: every fibre fires at 0, then as soon as its refractory period ends;
        // p = 0 in lane 1: nothing; p = 1 from sample 100 in lane 2: all fire at 100 first.
        let p = BushyCellParams::default();
        let rate = 24_000;
        let dead = (p.tau_refrac * rate as f64).ceil() as usize;
        let rows: Vec<[f64; LANES]> = (0..1000)
            .map(|t| {
                let mut row = [0.0; LANES];
                row[0] = 1.0;
                row[2] = if t >= 100 { 1.0 } else { 0.0 };
                row
            })
            .collect();
        let (mut hazard, mut counts) = (Vec::new(), Vec::new());
        hazard_columns(&rows, &mut hazard);
        fibre_counts_lanes(&p, rate, &hazard, 3, 5, 0, &mut counts);
        for (t, row) in counts.iter().enumerate() {
            let all = p.fibres as u8;
            assert_eq!(
                row[0],
                if t % dead == 0 { all } else { 0 },
                "lane 0, sample {t}"
            );
            assert_eq!(row[1], 0, "lane 1, sample {t}");
            let lane2 = t >= 100 && (t - 100) % dead == 0;
            assert_eq!(row[2], if lane2 { all } else { 0 }, "lane 2, sample {t}");
        }
    }
}
