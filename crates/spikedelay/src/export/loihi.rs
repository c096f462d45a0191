//! `LoihiNetwork`: the deployed network in Loihi 2's fixed-point arithmetic, as lava-dl's netx
//! builds it and Lava's bit-accurate CPU models run it (docs/deploy.md §4).
//!
//! Quantisation, per layer with scale `s = 254 / max|w|` (weights of 8 bits, netx's range):
//! `w_q = round(s·w)`, `bias_mant = round(s·b)` (13 bits), `vth = ⌈s·θ⌉ − 1`, `dv = round(4096/τ)`,
//! `iDecay = 4096` (the current is the step's input, as in training). One step of a neuron:
//!
//! ```text
//! u ← sgn(u)·((|u|·(4096 − 4096)) >> 12) + (a_in << 6)          (= a_in·64; 24-bit wrap)
//! v ← sgn(v)·((|v|·(4096 − dv)) >> 12) + u + (bias_mant << 6)    (clamped to ±(2²³ − 1))
//! spike when v > vth << 6, then v ← 0
//! ```
//!
//! where `a_in` is the integer sum of `w_q` over the synapses whose presynaptic spike, sent
//! `delay` steps ago, arrives now. The readout never spikes (`vth = 2¹⁷`, out of reach of a
//! clamped `v`); its class decision uses `v / (64·s)`. Steps are counted as in evaluation (a
//! spike reaches layer `l + 1` `d` steps later); Lava adds one step of synaptic latency per layer.

use super::deployed::{DeployedLayer, DeployedNetwork, DeployedNeuron};
use crate::error::{Error, Result};
use crate::seq::Seq;

/// What the fixed-point form changes, for the user.
pub const CHANGES: &str = "weights rounded to 8 bits per layer (scale s = 254 / max|w|), biases \
     to 13-bit mantissas, thresholds to ⌈s·θ⌉ − 1 (Loihi spikes at v > vth), vDecay to round(4096/τ); membranes decay with \
     truncation and saturate at 24 bits; the readout never spikes and its membranes divided by \
     64·s (spikedelay_scale) feed the decision; Lava adds one step of latency per layer";

/// Loihi 2's largest per-synapse delay that netx keeps (larger values are clipped by it).
pub const MAX_DELAY: usize = 62;
const DECAY_UNITY: i64 = 4096;
const UV_MAX: i64 = 1 << 23;
/// Threshold mantissa of a neuron that never spikes (netx's default readout: `1 << 17`).
pub const NEVER: i32 = 1 << 17;

/// One layer in fixed point: the fields of a netx `dense` layer and its CUBA neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct LoihiLayer {
    /// Presynaptic channels.
    pub inputs: usize,
    /// Neurons.
    pub outputs: usize,
    /// `(out, in)` integer weights in `[−256, 254]`.
    pub weight: Vec<i32>,
    /// `(out, in)` delays in steps (0 where the weight is 0).
    pub delay: Vec<u8>,
    /// Bias mantissa per neuron (`bias_exp = 6`).
    pub bias: Vec<i32>,
    /// Current decay (`iDecay`, 12 bits; 4096 = the current lasts one step).
    pub i_decay: i32,
    /// Voltage decay (`vDecay`, 12 bits).
    pub v_decay: i32,
    /// Threshold mantissa (`vThMant`); [`NEVER`] for the readout.
    pub v_th: i32,
    /// `s`: integer weight per unit of float weight.
    pub scale: f64,
    /// Whether the layer spikes (hidden) or is the readout.
    pub spiking: bool,
}

/// The network in Loihi 2's fixed point.
#[derive(Debug, Clone, PartialEq)]
pub struct LoihiNetwork {
    /// Hidden layers, then the readout.
    pub layers: Vec<LoihiLayer>,
    /// Zero-input steps after each sample (as [`DeployedNetwork::tail_steps`]).
    pub tail_steps: usize,
    /// Step length, ms.
    pub time_step_ms: f64,
}

/// What quantisation changed, for the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantizeReport {
    /// Synapses whose delay was clipped to [`MAX_DELAY`].
    pub clipped_delays: usize,
    /// Biases beyond 13 bits (quantisation refuses them; always 0 in a returned report).
    pub clamped_biases: usize,
    /// Largest relative weight rounding error per layer.
    pub weight_error: Vec<f64>,
}

fn round_clamp(x: f64, lo: i64, hi: i64, clamped: &mut usize) -> i32 {
    let r = x.round() as i64;
    if r < lo || r > hi {
        *clamped += 1;
    }
    r.clamp(lo, hi) as i32
}

impl LoihiLayer {
    fn quantize(
        l: usize,
        layer: &DeployedLayer,
        clip_delays: bool,
        report: &mut QuantizeReport,
    ) -> Result<Self> {
        let field = |f: &str| format!("layer {l}: {f}");
        let n = layer.inputs * layer.outputs;
        let (mut wf, mut delay) = (vec![0f32; n], vec![0u8; n]);
        let mut too_far = 0usize;
        for (d, w) in &layer.buckets {
            for (k, &v) in w.iter().enumerate() {
                if v == 0.0 {
                    continue;
                }
                if wf[k] != 0.0 {
                    return Err(Error::config(
                        field("synapses"),
                        format!(
                            "pair (post {}, pre {}) has synapses at two delays; a netx dense \
                             layer holds one delay per pair (train with model.kernel_count = 1)",
                            k / layer.inputs,
                            k % layer.inputs
                        ),
                    ));
                }
                wf[k] = v;
                too_far += usize::from(*d > MAX_DELAY);
                delay[k] = d.min(&MAX_DELAY).to_owned() as u8;
            }
        }
        if too_far > 0 && !clip_delays {
            return Err(Error::DelaysBeyondLimit {
                target: "Loihi 2",
                layer: l,
                count: too_far,
                limit: MAX_DELAY,
                largest: layer.max_delay(),
            });
        }
        report.clipped_delays += too_far;
        let max_w = wf.iter().fold(0f32, |m, w| m.max(w.abs())) as f64;
        let scale = if max_w > 0.0 { 254.0 / max_w } else { 1.0 };
        let mut unused = 0;
        let weight: Vec<i32> = wf
            .iter()
            .map(|&w| round_clamp(w as f64 * scale, -256, 254, &mut unused))
            .collect();
        let err = wf
            .iter()
            .zip(&weight)
            .filter(|(w, _)| **w != 0.0)
            .map(|(&w, &q)| ((q as f64 / scale - w as f64) / max_w).abs())
            .fold(0.0, f64::max);
        report.weight_error.push(err);
        let bias = layer
            .bias
            .iter()
            .map(|&b| round_clamp(b as f64 * scale, -4096, 4095, &mut report.clamped_biases))
            .collect::<Vec<i32>>();
        if report.clamped_biases > 0 {
            let largest = layer.bias.iter().fold(0f32, |m, b| m.max(b.abs()));
            return Err(Error::config(
                field("bias"),
                format!(
                    "{} folded biases exceed Loihi's 13-bit mantissa at this layer's weight scale \
                     (|b|·s ≤ 4096 with s = {scale:.1}; largest |b| = {largest}, so |b| ≤ {:.3})",
                    report.clamped_biases,
                    4096.0 / scale
                ),
            ));
        }
        let (tau, v_th, spiking) = match layer.neuron {
            DeployedNeuron::Lif { tau, threshold } => {
                // Membranes are multiples of 64 (plus decay residue): `v > vth << 6` is then
                // `v ≥ (vth + 1)·64`, so `vth = ⌈s·θ⌉ − 1` is the training neuron's `v ≥ θ`.
                let th = (threshold as f64 * scale).ceil() - 1.0;
                if !(1.0..=131_071.0).contains(&th) {
                    return Err(Error::config(
                        field("threshold"),
                        format!("{th} does not fit Loihi's 17-bit threshold mantissa"),
                    ));
                }
                (tau, th as i32, true)
            }
            DeployedNeuron::Readout { tau } => (tau, NEVER, false),
        };
        let v_decay = (DECAY_UNITY as f64 / tau as f64).round();
        if !(0.0..=4095.0).contains(&v_decay) {
            return Err(Error::config(
                field("tau"),
                format!("τ = {tau} steps gives vDecay {v_decay}, outside Loihi's 12 bits"),
            ));
        }
        Ok(LoihiLayer {
            inputs: layer.inputs,
            outputs: layer.outputs,
            weight,
            delay,
            bias,
            i_decay: DECAY_UNITY as i32,
            v_decay: v_decay as i32,
            v_th,
            scale,
            spiking,
        })
    }

    /// The largest delay, in steps.
    pub fn max_delay(&self) -> usize {
        self.delay.iter().copied().max().unwrap_or(0) as usize
    }
}

/// `sgn(x)·((|x|·(4096 − decay)) >> 12)`, Lava's decay (truncating toward zero).
fn decay(x: i64, decay: i32) -> i64 {
    let p = x * (DECAY_UNITY - decay as i64);
    p.signum() * (p.abs() >> 12)
}

/// Lava's 24-bit wrap of the current (`AbstractPyLifModelFixed.subthr_dynamics`, reproduced
/// with its second comparison on the unwrapped value).
fn wrap(x: i64) -> i64 {
    let w = if x > UV_MAX { x - 2 * UV_MAX } else { x };
    if w <= -UV_MAX { x + 2 * UV_MAX } else { w }
}

/// The running state of one sample: per layer a delay ring of incoming integer currents and the
/// neuron's `u`, `v`.
pub struct LoihiState<'a> {
    net: &'a LoihiNetwork,
    /// `ring[l][slot·out + o]`: current arriving at neuron `o` of layer `l`, slot `t mod len`.
    ring: Vec<Vec<i64>>,
    u: Vec<Vec<i64>>,
    v: Vec<Vec<i64>>,
    spikes: Vec<Vec<bool>>,
    /// Spiking presynaptic neurons of the layer being stepped (reused every step).
    pre: Vec<usize>,
    /// The readout's membranes in float units, refreshed every step.
    out: Vec<f32>,
    t: usize,
}

impl<'a> LoihiState<'a> {
    /// Advances one step on the indices of the input channels that spike now (a channel listed
    /// `k` times carries `k` spikes, a graded input spike). Afterwards
    /// [`Self::spiked`] and [`Self::readout`] hold this step's results.
    pub fn step(&mut self, events: &[usize]) {
        let net = self.net;
        let mut pre = std::mem::take(&mut self.pre);
        pre.clear();
        pre.extend_from_slice(events);
        for (l, layer) in net.layers.iter().enumerate() {
            let len = self.ring[l].len() / layer.outputs.max(1);
            let ring = &mut self.ring[l];
            let out = layer.outputs;
            for &i in &pre {
                for o in 0..out {
                    let k = o * layer.inputs + i;
                    let w = layer.weight[k];
                    if w != 0 {
                        let slot = (self.t + layer.delay[k] as usize) % len;
                        ring[slot * out + o] += w as i64;
                    }
                }
            }
            let slot = self.t % len;
            let now = &mut ring[slot * out..(slot + 1) * out];
            let (u, v, s) = (&mut self.u[l], &mut self.v[l], &mut self.spikes[l]);
            let th = (layer.v_th as i64) << 6;
            for o in 0..out {
                u[o] = wrap(decay(u[o], layer.i_decay) + (now[o] << 6));
                now[o] = 0;
                let next = decay(v[o], layer.v_decay) + u[o] + ((layer.bias[o] as i64) << 6);
                v[o] = next.clamp(-UV_MAX + 1, UV_MAX - 1);
                s[o] = layer.spiking && v[o] > th;
                if s[o] {
                    v[o] = 0;
                }
            }
            pre.clear();
            pre.extend((0..out).filter(|&o| s[o]));
        }
        self.pre = pre;
        let last = net.layers.len() - 1;
        let scale = 64.0 * net.layers[last].scale;
        for (o, &v) in self.out.iter_mut().zip(&self.v[last]) {
            *o = (v as f64 / scale) as f32;
        }
        self.t += 1;
    }

    /// Whether neuron `o` of hidden layer `l` spiked this step.
    pub fn spiked(&self, l: usize) -> &[bool] {
        &self.spikes[l]
    }

    /// Integer membranes of layer `l` (units of `1/(64·s)`).
    pub fn membranes(&self, l: usize) -> &[i64] {
        &self.v[l]
    }

    /// The readout's membranes in float units (`v / (64·s)`) after this step.
    pub fn readout(&self) -> &[f32] {
        &self.out
    }
}

impl LoihiNetwork {
    /// Quantises `net` for Loihi 2; delays above [`MAX_DELAY`] are an error unless
    /// `clip_delays`.
    pub fn quantize(net: &DeployedNetwork, clip_delays: bool) -> Result<(Self, QuantizeReport)> {
        let mut report = QuantizeReport::default();
        let layers = net
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| LoihiLayer::quantize(l, layer, clip_delays, &mut report))
            .collect::<Result<_>>()?;
        Ok((
            LoihiNetwork {
                layers,
                tail_steps: net.tail_steps,
                time_step_ms: net.time_step_ms,
            },
            report,
        ))
    }

    /// A fresh state (all membranes and delay lines zero).
    pub fn state(&self) -> LoihiState<'_> {
        let ring = self
            .layers
            .iter()
            .map(|l| vec![0; (l.max_delay() + 1) * l.outputs])
            .collect();
        let zeros = |f: fn(&LoihiLayer) -> usize| -> Vec<Vec<i64>> {
            self.layers.iter().map(|l| vec![0; f(l)]).collect()
        };
        LoihiState {
            net: self,
            ring,
            u: zeros(|l| l.outputs),
            v: zeros(|l| l.outputs),
            spikes: self.layers.iter().map(|l| vec![false; l.outputs]).collect(),
            pre: Vec::new(),
            out: vec![0.0; self.layers.last().map_or(0, |l| l.outputs)],
            t: 0,
        }
    }

    /// Runs a batch `(B, T, C)` of input spikes, sample `b` for its own `lengths[b]` steps plus
    /// `tail`, every layer in lockstep as on the chip: the readout membranes (float units) and
    /// the hidden layers' spikes, `T + tail` steps (zero beyond a sample's own).
    pub fn forward(&self, x: &Seq, lengths: &[usize], tail: usize) -> Result<(Seq, Vec<Seq>)> {
        let (b, t_in, c) = x.shape();
        x.check_lengths(lengths)?;
        let first = &self.layers[0];
        if c != first.inputs {
            return Err(Error::config(
                "input",
                format!("the network takes {} channels, got {c}", first.inputs),
            ));
        }
        let steps = t_in + tail;
        let last = self.layers.len() - 1;
        let mut out = Seq::zeros(b, steps, self.layers[last].outputs);
        let mut spikes: Vec<Seq> = self.layers[..last]
            .iter()
            .map(|l| Seq::zeros(b, steps, l.outputs))
            .collect();
        for (s, &own) in lengths.iter().enumerate() {
            let mut state = self.state();
            let sample = x.sample(s);
            let mut events = Vec::new();
            for t in 0..own + tail {
                events.clear();
                if t < own {
                    // A bin holding k spikes is a graded spike of k (netx's
                    // `input_message_bits`): channel i listed k times.
                    for (i, &k) in sample[t * c..(t + 1) * c].iter().enumerate() {
                        if k != 0.0 {
                            if !(k > 0.0 && k.fract() == 0.0 && k <= 255.0) {
                                return Err(Error::config(
                                    "input",
                                    format!(
                                        "sample {s}, step {t}, channel {i} holds {k}; Loihi takes \
                                         spike counts 0..=255 per step"
                                    ),
                                ));
                            }
                            events.extend(std::iter::repeat_n(i, k as usize));
                        }
                    }
                }
                state.step(&events);
                for (l, seq) in spikes.iter_mut().enumerate() {
                    let n = self.layers[l].outputs;
                    let row = &mut seq.sample_mut(s)[t * n..(t + 1) * n];
                    for (r, &f) in row.iter_mut().zip(state.spiked(l)) {
                        *r = f32::from(u8::from(f));
                    }
                }
                let n = self.layers[last].outputs;
                out.sample_mut(s)[t * n..(t + 1) * n].copy_from_slice(state.readout());
            }
        }
        Ok((out, spikes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_truncates_toward_zero_and_wrap_is_lavas() {
        assert_eq!(decay(100, 2048), 50);
        assert_eq!(decay(-101, 2048), -50);
        assert_eq!(decay(7, 4096), 0);
        assert_eq!(wrap(UV_MAX + 5), -UV_MAX + 5);
        assert_eq!(wrap(-UV_MAX - 5), UV_MAX - 5);
        assert_eq!(wrap(123), 123);
    }
}
