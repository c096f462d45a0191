//! Bushy cells (docs/cochlea.md §4): per channel, `fibres` hair-cell fibres fire where a uniform
//! draw falls below the firing probability, each silenced for a refractory period after its
//! last spike, and drive one LIF neuron (exponential synaptic current, membrane clipped at the
//! threshold, refractory after a spike). Two samplers draw the fibres:
//!
//! - [`exact_channel`]: `lauscher`'s draws in its order (one uniform per sample and fibre from
//!   NumPy's legacy generator, channel after channel) and its per-fibre arithmetic, so the
//!   output equals `lauscher`'s spike for spike for the same NumPy seed.
//! - [`super::fast_sampler`]: the same point process from one exponential draw per fibre spike.
//!   A fibre that may fire again from sample s fires first at the smallest t ≥ s with
//!   Σ_{k=s..t} −ln(1 − p_k) ≥ E, E ~ Exp(1): P(no spike in s..t) = Π(1 − p_k) =
//!   e^{−Σ −ln(1−p_k)} = P(E > Σ), which is the Bernoulli process's survival function; after a
//!   spike at t it may fire again from t + ⌈refractory⌉, exactly where `lauscher`'s correction
//!   lets a kept spike follow. So both samplers draw fibre spike trains from one distribution.

use super::hair_cell::LANES;
use super::numpy_random::NumpyLegacy;
use super::params::BushyCellParams;
use crate::kernels::simd::multiversion;

/// The bushy cell's LIF neuron over `steps` samples at `rate` Hz, fed per step by the summed
/// synaptic current of its fibres (`input(step, decay)` returns Σ_f I_f after this step's
/// spikes). Returns the sample indices of its spikes, in `lauscher`'s arithmetic: a spike is
/// recorded at the step before the one that finds the membrane at threshold.
fn lif(
    p: &BushyCellParams,
    rate: usize,
    steps: usize,
    mut input: impl FnMut(usize, f64) -> f64,
) -> Vec<u32> {
    let fs = rate as f64;
    let dt = 1.0 / fs;
    let mem_decay = (-dt / p.tau_mem).exp();
    let syn_decay = (-dt / p.tau_syn).exp();
    let weight = p.weight / p.fibres as f64;
    let refrac_samples = p.tau_refrac * fs;
    let mut refrac = 0.0f64;
    let mut prev = 0.0f64;
    let mut spikes = Vec::new();
    for step in 0..steps {
        let mut vm = 0.0;
        if step > 0 && refrac <= 0.0 {
            if prev < 1.0 {
                vm = prev * mem_decay;
            } else {
                refrac = refrac_samples;
                vm = 0.0;
                spikes.push((step - 1) as u32);
            }
        }
        let current = input(step, if step > 0 { syn_decay } else { 0.0 });
        if refrac <= 0.0 {
            vm += current * weight * dt;
        }
        if vm > 1.0 {
            vm = 1.0;
        }
        refrac -= 1.0;
        prev = vm;
    }
    spikes
}

/// NumPy's sum of a contiguous float64 row (`pairwise_sum` for rows up to 128: eight running
/// sums combined as a tree, then the tail).
fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(0.0, |s, &v| s + v);
    }
    if n > 128 {
        let mut half = n / 2;
        half -= half % 8;
        return numpy_sum(&a[..half]) + numpy_sum(&a[half..]);
    }
    let mut r = [0.0; 8];
    r.copy_from_slice(&a[..8]);
    let mut i = 8;
    while i < n - n % 8 {
        for j in 0..8 {
            r[j] += a[i + j];
        }
        i += 8;
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for &v in &a[i..] {
        res += v;
    }
    res
}

/// One channel with `lauscher`'s draws: `prob` per sample at `rate` Hz, uniforms from `rng`
/// (sample-major, fibre-minor, as `np.random.rand(samples, fibres)`). Returns spike indices.
pub fn exact_channel(
    p: &BushyCellParams,
    rate: usize,
    prob: &[f64],
    rng: &mut NumpyLegacy,
) -> Vec<u32> {
    let refrac = p.tau_refrac * rate as f64;
    let mut last = vec![-refrac; p.fibres];
    let mut current = vec![0.0; p.fibres];
    lif(p, rate, prob.len(), |step, decay| {
        let pr = prob[step];
        for (f, i) in current.iter_mut().enumerate() {
            let fired = rng.next_double() < pr && (step as f64 - last[f]) >= refrac;
            if fired {
                last[f] = step as f64;
            }
            *i = *i * decay + if fired { 1.0 } else { 0.0 };
        }
        numpy_sum(&current)
    })
}

/// The LIF neuron of one channel fed by fibre spike counts per sample.
pub fn fast_channel(p: &BushyCellParams, rate: usize, counts: &[u8]) -> Vec<u32> {
    let mut current = 0.0;
    lif(p, rate, counts.len(), |step, decay| {
        current = current * decay + counts[step] as f64;
        current
    })
}

multiversion! {
    /// [`lif`] fed by fibre counts for [`LANES`] channels side by side (`rows[t][l]`: channel
    /// l's count at sample t), each `if` a select: the same operations in the same order as the
    /// one-channel loop. Bit l of `fired[t]` is set where channel l spikes at sample t − 1.
    fn lif_lanes<V>(k: [f64; 5], rows: &[[u8; LANES]], fired: &mut [u8]) {
        let [mem_decay, syn_decay, weight, dt, refrac_samples] = k;
        let n = rows.len().min(fired.len());
        if n == 0 {
            return;
        }
        let mut current = [0.0f64; LANES];
        let mut prev = [0.0f64; LANES];
        let mut refrac = [-1.0f64; LANES];
        // Step 0: nothing before it, no decay.
        for l in 0..LANES {
            current[l] = rows[0][l] as f64;
            prev[l] = (current[l] * weight * dt).min(1.0);
        }
        fired[0] = 0;
        for t in 1..n {
            let input = rows[t].map(f64::from);
            let mut mask = 0u8;
            for l in 0..LANES {
                let active = refrac[l] <= 0.0;
                // `prev` is finite (clipped at 1): `>=` is the loop's `else` of `< 1`.
                let fire = active & (prev[l] >= 1.0);
                mask |= u8::from(fire) << l;
                refrac[l] = if fire { refrac_samples } else { refrac[l] };
                let vm = if active & !fire { prev[l] * mem_decay } else { 0.0 };
                current[l] = current[l] * syn_decay + input[l];
                let vm = if refrac[l] <= 0.0 { vm + current[l] * weight * dt } else { vm };
                prev[l] = if vm > 1.0 { 1.0 } else { vm };
                refrac[l] -= 1.0;
            }
            fired[t] = mask;
        }
    }
}

/// [`fast_channel`] of up to [`LANES`] channels of equal length at once; `rows` and `fired`
/// are scratch.
pub fn fast_channels(
    p: &BushyCellParams,
    rate: usize,
    counts: &[Vec<u8>],
    rows: &mut Vec<[u8; LANES]>,
    fired: &mut Vec<u8>,
) -> Vec<Vec<u32>> {
    assert!(counts.len() <= LANES, "at most {LANES} channels at once");
    let n = counts.first().map_or(0, |c| c.len());
    rows.clear();
    rows.resize(n, [0; LANES]);
    for (l, channel) in counts.iter().enumerate() {
        for (row, &c) in rows.iter_mut().zip(channel) {
            row[l] = c;
        }
    }
    lanes_spikes(p, rate, rows, counts.len(), fired)
}

/// The LIF neurons of the first `lanes` channels of `rows` (`rows[t][l]`: channel l's fibre
/// spikes at sample t), their spike indices per channel; `fired` is scratch.
pub fn lanes_spikes(
    p: &BushyCellParams,
    rate: usize,
    rows: &[[u8; LANES]],
    lanes: usize,
    fired: &mut Vec<u8>,
) -> Vec<Vec<u32>> {
    let n = rows.len();
    fired.clear();
    fired.resize(n, 0);
    let fs = rate as f64;
    let dt = 1.0 / fs;
    let k = [
        (-dt / p.tau_mem).exp(),
        (-dt / p.tau_syn).exp(),
        p.weight / p.fibres as f64,
        dt,
        p.tau_refrac * fs,
    ];
    lif_lanes(k, rows, fired);
    let mut spikes = vec![Vec::new(); lanes];
    for (t, &mask) in fired.iter().enumerate() {
        if mask != 0 {
            for (l, out) in spikes.iter_mut().enumerate() {
                if mask & (1 << l) != 0 {
                    out.push((t - 1) as u32);
                }
            }
        }
    }
    spikes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_equal_one_channel_at_a_time() {
        let p = BushyCellParams::default();
        // Bursts of fibre spikes of different densities per channel.
        let counts: Vec<Vec<u8>> = (0..6u32)
            .map(|ch| {
                (0..20_000u32)
                    .map(|t| {
                        let h = t.wrapping_mul(2_654_435_761).wrapping_add(ch * 977) >> 24;
                        let burst = (t / 500 + ch) % 3 == 0;
                        if burst {
                            (h % (ch + 3)) as u8
                        } else {
                            (h % 64 == 0) as u8
                        }
                    })
                    .collect()
            })
            .collect();
        let (mut rows, mut fired) = (Vec::new(), Vec::new());
        let lanes = fast_channels(&p, 24_000, &counts, &mut rows, &mut fired);
        for (c, lane) in counts.iter().zip(&lanes) {
            let one = fast_channel(&p, 24_000, c);
            assert!(one.len() > 10, "{} spikes", one.len());
            assert_eq!(&one, lane);
        }
    }
}
