//! Inner hair cells: Meddis's transmitter pools (Meddis 1986, 1988; docs/cochlea.md §3),
//! integrated by explicit Euler at the membrane's rate, one channel at a time. The arithmetic is
//! `lauscher`'s, in its order, so equal inputs give equal probabilities to the last bit.

use super::params::HairCellParams;

/// Replaces the membrane velocity `bm` (sampled at `rate` Hz) by the firing probability per
/// sample, `c(t)·h/fs`, where c is the free transmitter in the cleft.
pub fn firing_probability(p: &HairCellParams, rate: usize, bm: &mut [f64]) {
    let fs = rate as f64;
    let ymdt = p.y * p.m / fs;
    let xdt = p.x / fs;
    let ydt = p.y / fs;
    let rdt = p.r / fs;
    let gdt = p.g / fs;
    let hdt = p.h / fs;
    let lplusrdt = (p.l + p.r) / fs;
    // The resting state.
    let kt0 = p.g * p.a / (p.a + p.b);
    let mut c = p.m * p.y * kt0 / (p.l * kt0 + p.y * (p.l + p.r));
    let mut q = c * (p.l + p.r) / kt0;
    let mut w = c * p.r / p.x;
    for v in bm.iter_mut() {
        let kt = if *v + p.a > 0.0 {
            gdt * (*v + p.a) / (*v + p.a + p.b)
        } else {
            0.0
        };
        let replenish = if q < p.m { ymdt - ydt * q } else { 0.0 };
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
