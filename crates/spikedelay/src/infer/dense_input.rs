//! The event engine's first layer computed for sixteen samples at once, as dense products over
//! the input (method §16): the same currents to the bit as depositing each input event, at a
//! fraction of the cost when the input is dense (SHD's pooled counts: ~43 % non-zero).
//!
//! The event engine adds the synapse products of one target step `t` into two accumulators,
//! a ring row for the deposits made in `t`'s own ring period (delays `d ≤ t mod D`) and one for
//! those made in the period before (`d > t mod D`), each in the order the events arrive: source
//! step `t − d` ascending (delay descending), then input channel ascending; the current is the
//! first plus the second. Here each target neuron keeps its synapses in that order, so the two
//! sums are formed over all inputs, zero or not, in the same order. A zero input adds `±0`,
//! which leaves a sum that started at `+0` unchanged (such a sum is never `−0`), so the result
//! equals the events' bit for bit. Samples are lanes (sixteen at a time, vectorised), and each
//! product is rounded before it is added, as the engine's `acc += v·w` is.

use rayon::prelude::*;

use super::event::EventLayer;
use crate::kernels::simd::multiversion;
use crate::seq::Seq;

/// Samples computed together (one vector register of sixteen lanes, or two).
pub(crate) const LANES: usize = 16;

/// A first layer's synapses per target neuron, in the order the event engine adds them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DenseInput {
    c_in: usize,
    c_out: usize,
    /// The ring period `D` (largest delay plus one).
    ring: usize,
    /// Target after target (`C_in` synapses each), delay descending, then input ascending.
    delays: Vec<u32>,
    /// `(D − d)·C_in + i` of each synapse: its input row, counted from `D` steps before `t`.
    sources: Vec<u32>,
    weights: Vec<f32>,
}

impl DenseInput {
    /// The layer's synapses reordered per target; `None` where a weight is not finite (a zero
    /// input times it would not be zero, so the dense sum would not equal the events'), or
    /// where the layer is not fully connected (one synapse per input and target).
    pub(crate) fn of(layer: &EventLayer) -> Option<Self> {
        let (c_in, c_out, ring) = (layer.c_in, layer.c_out, layer.ring);
        let mut all: Vec<(u32, u32, u32, f32)> = Vec::new();
        for i in 0..c_in {
            for (offset, w) in layer.synapses_of(i) {
                if !w.is_finite() {
                    return None;
                }
                let (d, o) = (offset as usize / c_out, offset as usize % c_out);
                all.push((o as u32, d as u32, i as u32, w));
            }
        }
        // Stable: synapses of one input to one target at one delay keep their deposit order.
        all.sort_by_key(|&(o, d, i, _)| (o, std::cmp::Reverse(d), i));
        // Fully connected: each target has one synapse from each input.
        let mut per_target = vec![0usize; c_out];
        all.iter().for_each(|&(o, ..)| per_target[o as usize] += 1);
        if per_target.iter().any(|&n| n != c_in) {
            return None;
        }
        Some(DenseInput {
            c_in,
            c_out,
            ring,
            delays: all.iter().map(|s| s.1).collect(),
            sources: all
                .iter()
                .map(|&(_, d, i, _)| ((ring - d as usize) * c_in + i as usize) as u32)
                .collect(),
            weights: all.iter().map(|s| s.3).collect(),
        })
    }

    /// The currents of samples `first..first + n` (`n ≤ LANES`) of the zero-padded batch `x`,
    /// sample `b` over its own `lengths[b]` steps: for each lane, `(lengths[b] + R) × C_out`
    /// values, step-major, where `R` is `right_pad` (the steps the layer runs beyond its input).
    pub(crate) fn currents(
        &self,
        x: &Seq,
        lengths: &[usize],
        first: usize,
        n: usize,
        right_pad: usize,
    ) -> Vec<Vec<f32>> {
        let (c_in, ring) = (self.c_in, self.ring);
        let steps = lengths[first..first + n].iter().copied().max().unwrap_or(0);
        // Input rows `t − D .. t + R + D` lane-interleaved, zero outside each sample's steps.
        let rows = ring + steps + right_pad + ring;
        let mut xt = vec![0.0f32; rows * c_in * LANES];
        for q in 0..n {
            let b = first + q;
            let sample = x.sample(b);
            for t in 0..lengths[b] {
                let row = &sample[t * c_in..(t + 1) * c_in];
                let base = (ring + t) * c_in * LANES;
                for (i, &v) in row.iter().enumerate() {
                    xt[base + i * LANES + q] = v;
                }
            }
        }
        let t_out = steps + right_pad;
        let mut out = vec![0.0f32; t_out * self.c_out * LANES];
        out.par_chunks_mut(self.c_out * LANES)
            .enumerate()
            .for_each(|(t, row)| self.step(&xt, t, row));
        (0..n)
            .map(|q| {
                let len = (lengths[first + q] + right_pad) * self.c_out;
                (0..len).map(|k| out[k * LANES + q]).collect()
            })
            .collect()
    }

    /// Step `t`'s currents of every target, lane-interleaved into `row`: two targets at a
    /// time, so that their four sums (each a dependent chain of adds) run side by side.
    fn step(&self, xt: &[f32], t: usize, row: &mut [f32]) {
        let m = (t % self.ring) as u32;
        let base = t * self.c_in;
        let per = self.c_in;
        let synapses = |o: usize| {
            let span = o * per..(o + 1) * per;
            Synapses {
                sources: &self.sources[span.clone()],
                delays: &self.delays[span.clone()],
                weights: &self.weights[span],
            }
        };
        for (g, out) in row.chunks_mut(2 * LANES).enumerate() {
            let o = 2 * g;
            // A last target without a partner is summed twice, the second copy unused.
            let partner = if out.len() > LANES { o + 1 } else { o };
            let sums = pair_sums(xt, base, m, synapses(o), synapses(partner));
            for (out, (own, earlier)) in out.chunks_exact_mut(LANES).zip(sums) {
                for (v, (a, b)) in out.iter_mut().zip(own.iter().zip(&earlier)) {
                    *v = a + b;
                }
            }
        }
    }
}

/// One target's synapses, in summation order.
#[derive(Clone, Copy)]
struct Synapses<'a> {
    sources: &'a [u32],
    delays: &'a [u32],
    weights: &'a [f32],
}

multiversion! {
    /// For two targets `a` and `b`: the sixteen lanes' sums of `x[(base + source)·16 + q] · w`
    /// over the synapses of this ring period (`d ≤ m`) and of the one before (`d > m`), each in
    /// synapse order and each product rounded before it is added. The four sums are plain
    /// locals, so they stay in registers and their chains of adds overlap.
    fn pair_sums<V>(
        xt: &[f32],
        base: usize,
        m: u32,
        a: Synapses<'_>,
        b: Synapses<'_>,
    ) -> [([f32; LANES], [f32; LANES]); 2] {
        let (mut own_a, mut earlier_a) = ([0.0f32; LANES], [0.0f32; LANES]);
        let (mut own_b, mut earlier_b) = ([0.0f32; LANES], [0.0f32; LANES]);
        let lanes = |s: u32| -> &[f32; LANES] {
            let at = (base + s as usize) * LANES;
            xt[at..at + LANES].try_into().expect("sixteen lanes")
        };
        for k in 0..a.sources.len() {
            let (x, w) = (lanes(a.sources[k]), a.weights[k]);
            if a.delays[k] > m {
                add_products(&mut earlier_a, x, w);
            } else {
                add_products(&mut own_a, x, w);
            }
            let (x, w) = (lanes(b.sources[k]), b.weights[k]);
            if b.delays[k] > m {
                add_products(&mut earlier_b, x, w);
            } else {
                add_products(&mut own_b, x, w);
            }
        }
        [(own_a, earlier_a), (own_b, earlier_b)]
    }
}

/// `acc[q] += x[q] · w` for the sixteen lanes.
#[inline(always)]
fn add_products(acc: &mut [f32; LANES], x: &[f32; LANES], w: f32) {
    for q in 0..LANES {
        acc[q] += x[q] * w;
    }
}
