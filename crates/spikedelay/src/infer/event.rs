//! `EventNetwork`: the rounded network run event by event, step by step, as neuromorphic hardware
//! runs it (method §16).
//!
//! Each delay layer keeps a ring buffer of `D × C_out` accumulators. When input channel `i` carries
//! a value `c` at step `t` (a spike, or a count for the input layer), every synapse `(o, d, w)` of
//! `i` adds `c·w` into row `(t + d) mod D`, column `o`. At each step a layer first deposits that
//! step's events, then reads and clears row `t mod D` (so delay 0 arrives in the same step),
//! applies its folded BatchNorm `I·α + b` (the bias at every step, with or without input), and
//! updates its neurons. All layers advance in lockstep; layer `l` runs for `T + l·R` steps and
//! receives nothing after its input layer's horizon, exactly as the dense evaluation.
//!
//! The results equal [`crate::model::Network::forward_eval`] of the rounded network up to float
//! summation order (events are added in time order here, channel by channel there), so spike
//! trains agree away from threshold ties and membranes to float rounding.

use rayon::prelude::*;

use super::integer::{IntegerDelayNetwork, IntegerLayer};
use crate::error::{Error, Result};
use crate::model::Network;
use crate::seq::Seq;

/// One layer's synapses, per input channel, with their ring-buffer offsets.
///
/// The ring has `2·D` rows of `C_out` accumulators. An event at step `t` on channel `i` adds into
/// row `(t mod D) + d`, which never wraps, so each synapse stores its fixed offset `d·C_out + o`
/// and an event is one flat loop. Step `t` reads (and clears) rows `t mod D` and `t mod D + D`:
/// every deposit for step `t` lies in one of the two, and nothing else does, because `d < D`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLayer {
    /// Input channels.
    pub c_in: usize,
    /// Output neurons.
    pub c_out: usize,
    /// Ring period `D`: the largest delay plus one.
    pub ring: usize,
    /// Steps this layer runs beyond its input's horizon (`R`).
    pub right_pad: usize,
    /// `starts[i]..starts[i+1]` indexes input `i`'s synapses in `offsets` / `weights`.
    starts: Vec<u32>,
    /// `d·C_out + o` of each synapse.
    offsets: Vec<u32>,
    weights: Vec<f32>,
    /// Folded BatchNorm `(α, b)` of hidden layers.
    norm: Option<(Vec<f32>, Vec<f32>)>,
}

impl EventLayer {
    fn from_integer(layer: &IntegerLayer) -> Self {
        let ring = layer
            .synapses
            .iter()
            .flatten()
            .map(|s| s.delay as usize + 1)
            .max()
            .unwrap_or(1);
        let mut starts = Vec::with_capacity(layer.c_in + 1);
        let (mut offsets, mut weights) = (Vec::new(), Vec::new());
        for syn in &layer.synapses {
            starts.push(offsets.len() as u32);
            for s in syn {
                offsets.push(s.delay * layer.c_out as u32 + s.target);
                weights.push(s.weight);
            }
        }
        starts.push(offsets.len() as u32);
        EventLayer {
            c_in: layer.c_in,
            c_out: layer.c_out,
            ring,
            right_pad: layer.right_pad,
            starts,
            offsets,
            weights,
            norm: layer.norm.clone(),
        }
    }

    /// Adds the synaptic contributions of input channel `i` carrying `v` at step `t`.
    #[inline]
    fn deposit(&self, buf: &mut [f32], t: usize, i: usize, v: f32) {
        let (lo, hi) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        let base = &mut buf[(t % self.ring) * self.c_out..];
        for (&off, &w) in self.offsets[lo..hi].iter().zip(&self.weights[lo..hi]) {
            base[off as usize] += v * w;
        }
    }

    /// Reads and clears the accumulators of step `t` into `current`.
    #[inline]
    fn take(&self, buf: &mut [f32], t: usize, current: &mut Vec<f32>) {
        let n = self.c_out;
        let (lower, upper) = buf.split_at_mut(self.ring * n);
        let s = (t % self.ring) * n;
        current.clear();
        current.extend(
            lower[s..s + n]
                .iter()
                .zip(&upper[s..s + n])
                .map(|(a, b)| a + b),
        );
        lower[s..s + n].iter_mut().for_each(|v| *v = 0.0);
        upper[s..s + n].iter_mut().for_each(|v| *v = 0.0);
    }
}

/// The whole network, run by events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventNetwork {
    /// Hidden layers, then the output layer.
    pub layers: Vec<EventLayer>,
    /// Hidden threshold.
    pub v_threshold: f32,
    /// Membrane time constant `τ` in steps (hidden neurons and readout).
    pub tau: f64,
}

/// Per-layer state of one running sample.
struct LayerState {
    ring: Vec<f32>,
    v: Vec<f32>,
    /// Channels that spiked in the current step.
    fired: Vec<u32>,
}

impl EventNetwork {
    /// Applies the evaluation transform to `net` and builds the event engine.
    pub fn from_network(net: &Network) -> Self {
        let int = IntegerDelayNetwork::from_network(net);
        EventNetwork {
            layers: int.layers.iter().map(EventLayer::from_integer).collect(),
            v_threshold: net.config.v_threshold,
            tau: net.config.tau,
        }
    }

    /// Runs one sample `x` (`(T, C_in)` row-major). Returns the readout membranes
    /// `(T + (L+1)·R, outputs)` and each hidden layer's spikes `(T + l·R, H)`.
    pub fn run_sample(&self, x: &[f32], steps: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let n_layers = self.layers.len();
        let tau = self.tau as f32;
        let mut horizon = Vec::with_capacity(n_layers);
        let mut h = steps;
        for layer in &self.layers {
            h += layer.right_pad;
            horizon.push(h);
        }
        let t_end = horizon[n_layers - 1];
        let mut states: Vec<LayerState> = self
            .layers
            .iter()
            .map(|l| LayerState {
                ring: vec![0.0; 2 * l.ring * l.c_out],
                v: vec![0.0; l.c_out],
                fired: Vec::new(),
            })
            .collect();
        let mut spikes: Vec<Vec<f32>> = self.layers[..n_layers - 1]
            .iter()
            .zip(&horizon)
            .map(|(l, &hz)| vec![0.0; hz * l.c_out])
            .collect();
        let out = &self.layers[n_layers - 1];
        let mut readout = vec![0.0f32; t_end * out.c_out];
        let mut current = Vec::new();
        for t in 0..t_end {
            for (l, layer) in self.layers.iter().enumerate() {
                if t >= horizon[l] {
                    continue;
                }
                let (before, rest) = states.split_at_mut(l);
                let st = &mut rest[0];
                // 1. deposit this step's input events
                if l == 0 {
                    if t < steps {
                        for (i, &v) in x[t * layer.c_in..(t + 1) * layer.c_in].iter().enumerate() {
                            if v != 0.0 {
                                layer.deposit(&mut st.ring, t, i, v);
                            }
                        }
                    }
                } else if t < horizon[l - 1] {
                    for &i in &before[l - 1].fired {
                        layer.deposit(&mut st.ring, t, i as usize, 1.0);
                    }
                }
                // 2. read and clear this step's row, then update the neurons
                layer.take(&mut st.ring, t, &mut current);
                if l + 1 == n_layers {
                    for (o, &i_o) in current.iter().enumerate() {
                        let v = &mut st.v[o];
                        *v = *v - *v / tau + i_o;
                        readout[t * layer.c_out + o] = *v;
                    }
                } else {
                    let (alpha, shift) =
                        layer.norm.as_ref().expect("hidden layers carry BatchNorm");
                    // Charge every neuron first (a branch-free loop that vectorises), then fire
                    // and reset: the same arithmetic per neuron as a single loop.
                    for ((v, &i_o), (&a, &b)) in
                        st.v.iter_mut().zip(&current).zip(alpha.iter().zip(shift))
                    {
                        *v = *v - *v / tau + (i_o * a + b);
                    }
                    st.fired.clear();
                    for (o, v) in st.v.iter_mut().enumerate() {
                        if *v - self.v_threshold >= 0.0 {
                            *v = 0.0;
                            st.fired.push(o as u32);
                            spikes[l][t * layer.c_out + o] = 1.0;
                        }
                    }
                }
            }
        }
        (readout, spikes)
    }

    /// Runs a batch `(B, T, C_in)`, samples in parallel. Returns the readout membranes and each
    /// hidden layer's spikes, shaped as [`crate::model::Network::forward_eval`]'s.
    pub fn forward(&self, x: &Seq) -> Result<(Seq, Vec<Seq>)> {
        if x.channels != self.layers[0].c_in {
            return Err(Error::shape(
                "event network input channels",
                self.layers[0].c_in,
                x.channels,
            ));
        }
        let runs: Vec<(Vec<f32>, Vec<Vec<f32>>)> = (0..x.batch)
            .into_par_iter()
            .map(|b| self.run_sample(x.sample(b), x.steps))
            .collect();
        let mut steps = x.steps;
        let mut shapes = Vec::new();
        for layer in &self.layers {
            steps += layer.right_pad;
            shapes.push((steps, layer.c_out));
        }
        let n = self.layers.len();
        let (t_out, c_out) = shapes[n - 1];
        let mut v = Seq::zeros(x.batch, t_out, c_out);
        let mut spikes: Vec<Seq> = shapes[..n - 1]
            .iter()
            .map(|&(t, c)| Seq::zeros(x.batch, t, c))
            .collect();
        for (b, (ro, sp)) in runs.into_iter().enumerate() {
            v.sample_mut(b).copy_from_slice(&ro);
            for (s, data) in spikes.iter_mut().zip(sp) {
                s.sample_mut(b).copy_from_slice(&data);
            }
        }
        Ok((v, spikes))
    }
}
