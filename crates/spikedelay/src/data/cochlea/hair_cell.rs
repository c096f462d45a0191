//! Inner hair cells: Meddis's transmitter pools (Meddis 1986, 1988; docs/cochlea.md §3),
//! integrated by explicit Euler at the membrane's rate, one channel at a time. The arithmetic is
//! `lauscher`'s, in its order, so equal inputs give equal probabilities to the last bit.

use super::params::HairCellParams;
use crate::kernels::simd::multiversion;

/// Channels integrated together by [`firing_probability_lanes`].
pub const LANES: usize = 8;

/// Replaces the membrane velocity `bm` (sampled at `rate` Hz) by the firing probability per
/// sample, `c(t)·h/fs`, where c is the free transmitter in the cleft.
pub fn firing_probability(p: &HairCellParams, rate: usize, bm: &mut [f64]) {
    let ([ymdt, xdt, ydt, rdt, gdt, hdt, lplusrdt], [a, b, m], [mut c, mut q, mut w]) =
        constants(p, rate);
    for v in bm.iter_mut() {
        let kt = if *v + a > 0.0 {
            gdt * (*v + a) / (*v + a + b)
        } else {
            0.0
        };
        let replenish = if q < m { ymdt - ydt * q } else { 0.0 };
        let eject = kt * q;
        let reuptake_and_loss = lplusrdt * c;
        let reuptake = rdt * c;
        let reprocess = xdt * w;
        q = (q + replenish - eject + reprocess).max(0.0);
        c = (c + eject - reuptake_and_loss).max(0.0);
        w = (w + reuptake - reprocess).max(0.0);
        *v = c * hdt;
    }
}

/// The model's constants per sample: (ymdt, xdt, ydt, rdt, gdt, hdt, lplusrdt), then a, b, m,
/// and the resting (c, q, w).
fn constants(p: &HairCellParams, rate: usize) -> ([f64; 7], [f64; 3], [f64; 3]) {
    let fs = rate as f64;
    let kt0 = p.g * p.a / (p.a + p.b);
    let c = p.m * p.y * kt0 / (p.l * kt0 + p.y * (p.l + p.r));
    (
        [
            p.y * p.m / fs,
            p.x / fs,
            p.y / fs,
            p.r / fs,
            p.g / fs,
            p.h / fs,
            (p.l + p.r) / fs,
        ],
        [p.a, p.b, p.m],
        [c, c * (p.l + p.r) / kt0, c * p.r / p.x],
    )
}

multiversion! {
    /// [`firing_probability`]'s recurrence for [`LANES`] channels side by side (`rows[t][l]` is
    /// channel l at sample t), with each `if` as a select: the same operations in the same
    /// order, so each lane equals the one-channel result bit for bit.
    fn hair_lanes<V>(k: [f64; 7], abm: [f64; 3], rest: [f64; 3], rows: &mut [[f64; LANES]]) {
        let [ymdt, xdt, ydt, rdt, gdt, hdt, lplusrdt] = k;
        let [a, b, m] = abm;
        let mut c = [rest[0]; LANES];
        let mut q = [rest[1]; LANES];
        let mut w = [rest[2]; LANES];
        for row in rows.iter_mut() {
            for l in 0..LANES {
                let v = row[l];
                let kt = if v + a > 0.0 { gdt * (v + a) / (v + a + b) } else { 0.0 };
                let replenish = if q[l] < m { ymdt - ydt * q[l] } else { 0.0 };
                let eject = kt * q[l];
                let reuptake_and_loss = lplusrdt * c[l];
                let reuptake = rdt * c[l];
                let reprocess = xdt * w[l];
                q[l] = (q[l] + replenish - eject + reprocess).max(0.0);
                c[l] = (c[l] + eject - reuptake_and_loss).max(0.0);
                w[l] = (w[l] + reuptake - reprocess).max(0.0);
                row[l] = c[l] * hdt;
            }
        }
    }
}

/// [`firing_probability`] of [`LANES`] channels side by side, in place: `rows[t][l]` is channel
/// l's membrane velocity at sample t, then its firing probability.
pub fn firing_probability_rows(p: &HairCellParams, rate: usize, rows: &mut [[f64; LANES]]) {
    let (k, abm, rest) = constants(p, rate);
    hair_lanes(k, abm, rest, rows);
}

/// [`firing_probability`] of up to [`LANES`] channels of equal length at once; `rows` is
/// scratch.
pub fn firing_probability_lanes(
    p: &HairCellParams,
    rate: usize,
    bms: &mut [&mut [f64]],
    rows: &mut Vec<[f64; LANES]>,
) {
    assert!(bms.len() <= LANES, "at most {LANES} channels at once");
    let n = bms.first().map_or(0, |b| b.len());
    rows.clear();
    rows.resize(n, [0.0; LANES]);
    for (l, bm) in bms.iter().enumerate() {
        for (row, &v) in rows.iter_mut().zip(bm.iter()) {
            row[l] = v;
        }
    }
    firing_probability_rows(p, rate, rows);
    for (l, bm) in bms.iter_mut().enumerate() {
        for (v, row) in bm.iter_mut().zip(rows.iter()) {
            *v = row[l];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_equal_one_channel_at_a_time_bit_for_bit() {
        let p = HairCellParams::default();
        let channels: Vec<Vec<f64>> = (0..5)
            .map(|ch| {
                (0..3000)
                    .map(|t| {
                        (ch as f64 + 1.0) * 40.0 * ((t as f64) * 0.01 * (ch as f64 + 1.0)).sin()
                    })
                    .collect()
            })
            .collect();
        let mut lanes = channels.clone();
        let mut rows = Vec::new();
        let mut views: Vec<&mut [f64]> = lanes.iter_mut().map(|v| v.as_mut_slice()).collect();
        firing_probability_lanes(&p, 24_000, &mut views, &mut rows);
        for (one, lane) in channels.iter().zip(&lanes) {
            let mut one = one.clone();
            firing_probability(&p, 24_000, &mut one);
            assert!(one.iter().any(|&v| v > 1e-3), "the input drives the cells");
            assert_eq!(
                one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                lane.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}
