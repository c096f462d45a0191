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

use super::dense_input::{DenseInput, LANES};
use super::integer::{IntegerDelayNetwork, IntegerLayer};
use crate::error::{Error, Result};
use crate::model::{HiddenNeuron, Network, Neuron, Readout, SpikeFn};
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
            // In ring order (delay, then target), so an event's adds sweep memory forwards. Each
            // accumulator still receives the same products in the same order: a channel adds
            // into each `(d, o)` once (a stable sort keeps any repeats in their order).
            let mut ordered: Vec<(u32, f32)> = syn
                .iter()
                .map(|s| (s.delay * layer.c_out as u32 + s.target, s.weight))
                .collect();
            ordered.sort_by_key(|&(offset, _)| offset);
            for (offset, w) in ordered {
                offsets.push(offset);
                weights.push(w);
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

    /// Input channel `i`'s synapses: `(d·C_out + o, w)`, in ring order.
    pub(crate) fn synapses_of(&self, i: usize) -> impl ExactSizeIterator<Item = (u32, f32)> + '_ {
        let (lo, hi) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        self.offsets[lo..hi]
            .iter()
            .copied()
            .zip(self.weights[lo..hi].iter().copied())
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

/// The whole network, run by events; its hidden neurons are `N` (the network's
/// [`HiddenNeuron`], or any other [`Neuron`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EventNetwork<N: Neuron = HiddenNeuron> {
    /// Hidden layers, then the output layer.
    pub layers: Vec<EventLayer>,
    /// The hidden neurons.
    pub neuron: N,
    /// The readout integrator.
    pub readout: Readout,
}

/// Per-layer state of one running sample.
#[derive(Debug, Clone)]
struct LayerState {
    ring: Vec<f32>,
    v: Vec<f32>,
    /// Channels that spiked in the current step.
    fired: Vec<u32>,
}

/// One sample running through an [`EventNetwork`], a step at a time: each layer's delay ring,
/// membranes and the spikes of the current step. Until [`EventState::end_input`] every layer
/// runs every step; after it, layer `l` stops at its horizon `T + Σ_{k ≤ l} R_k` and receives
/// nothing beyond its input layer's (method §16), so a sample streamed step by step ends exactly
/// as [`EventNetwork::run_sample`] runs it. The state borrows nothing; every call takes the
/// network.
#[derive(Debug, Clone)]
pub struct EventState {
    layers: Vec<LayerState>,
    current: Vec<f32>,
    /// Steps taken.
    t: usize,
    /// Steps of input, once it has ended.
    end: Option<usize>,
}

impl EventState {
    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Marks the end of the input: from now on each layer runs to its horizon only.
    pub fn end_input(&mut self) {
        self.end.get_or_insert(self.t);
    }

    /// The readout's membranes after the latest step.
    pub fn readout(&self) -> &[f32] {
        self.layers.last().map_or(&[][..], |l| &l.v[..])
    }

    /// Neurons of hidden layer `l` that spiked in the latest step.
    pub fn fired(&self, l: usize) -> &[u32] {
        &self.layers[l].fired
    }

    /// Advances one step. `x` is the step's input row (`C_in` values: spike counts, or
    /// features), `None` for no input; after [`EventState::end_input`] it is ignored.
    pub fn step<N: Neuron>(&mut self, net: &EventNetwork<N>, x: Option<&[f32]>) {
        self.advance(net, FirstLayer::Events(x));
    }

    /// [`EventState::step`] with the first layer's input given as events (`x`) or as its
    /// synaptic currents, computed beforehand ([`DenseInput`]).
    fn advance<N: Neuron>(&mut self, net: &EventNetwork<N>, first: FirstLayer<'_>) {
        let t = self.t;
        let n_layers = net.layers.len();
        // Layer `l` runs while `t < horizon(l)`: unbounded until the input ends.
        let mut horizon = self.end.unwrap_or(usize::MAX);
        let mut input_horizon = horizon;
        for (l, layer) in net.layers.iter().enumerate() {
            horizon = horizon.saturating_add(layer.right_pad);
            let (before, rest) = self.layers.split_at_mut(l);
            let st = &mut rest[0];
            if t >= horizon {
                st.fired.clear();
                input_horizon = horizon;
                continue;
            }
            // 1. deposit this step's input events; 2. read and clear this step's row
            match first {
                FirstLayer::Current(current) if l == 0 => {
                    self.current.clear();
                    self.current.extend_from_slice(current);
                }
                _ => {
                    if l == 0 {
                        if let FirstLayer::Events(Some(x)) = first
                            && t < input_horizon
                        {
                            for (i, &v) in x[..layer.c_in].iter().enumerate() {
                                if v != 0.0 {
                                    layer.deposit(&mut st.ring, t, i, v);
                                }
                            }
                        }
                    } else if t < input_horizon {
                        for &i in &before[l - 1].fired {
                            layer.deposit(&mut st.ring, t, i as usize, 1.0);
                        }
                    }
                    layer.take(&mut st.ring, t, &mut self.current);
                }
            }
            input_horizon = horizon;
            // 3. update the neurons
            if l + 1 == n_layers {
                net.readout.step(&mut st.v, &self.current);
            } else {
                // The folded BatchNorm `I·α + b`, then the neurons.
                let (alpha, shift) = layer.norm.as_ref().expect("hidden layers carry BatchNorm");
                for (i, (&a, &b)) in self.current.iter_mut().zip(alpha.iter().zip(shift)) {
                    *i = *i * a + b;
                }
                net.neuron.step(&mut st.v, &self.current, &mut st.fired);
            }
        }
        self.t += 1;
    }
}

impl EventNetwork {
    /// Applies the evaluation transform to `net` and builds the event engine.
    pub fn from_network(net: &Network) -> Self {
        Self::with_neurons(net)
    }
}

impl<N: Neuron> EventNetwork<N> {
    /// [`EventNetwork::from_network`] with hidden neurons `N`, made from the network's
    /// configuration.
    pub fn with_neurons(net: &Network) -> Self {
        let int = IntegerDelayNetwork::from_network(net);
        EventNetwork {
            layers: int.layers.iter().map(EventLayer::from_integer).collect(),
            neuron: N::of(&net.config, SpikeFn::Heaviside),
            readout: int.readout,
        }
    }

    /// Input channels.
    pub fn inputs(&self) -> usize {
        self.layers[0].c_in
    }

    /// Classes (readout neurons).
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.c_out)
    }

    /// Steps the readout runs beyond the input: `Σ_l R_l` (`(L+1)·R`).
    pub fn tail_steps(&self) -> usize {
        self.layers.iter().map(|l| l.right_pad).sum()
    }

    /// A fresh sample: zero membranes, empty delay rings.
    pub fn state(&self) -> EventState {
        EventState {
            layers: self
                .layers
                .iter()
                .enumerate()
                .map(|(k, l)| LayerState {
                    ring: vec![0.0; 2 * l.ring * l.c_out],
                    // Hidden neurons keep `N::STATE` floats each; the readout its membrane.
                    v: vec![
                        0.0;
                        if k + 1 < self.layers.len() {
                            N::STATE
                        } else {
                            1
                        } * l.c_out
                    ],
                    fired: Vec::new(),
                })
                .collect(),
            current: Vec::new(),
            t: 0,
            end: None,
        }
    }

    /// Runs one sample `x` (`(T, C_in)` row-major, `T = steps`). Returns the readout membranes
    /// `(T + (L+1)·R, outputs)` and each hidden layer's spikes `(T + (l+1)·R, H)`.
    pub fn run_sample(&self, x: &[f32], steps: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let c_in = self.inputs();
        self.run(steps, |t| {
            FirstLayer::Events((t < steps).then(|| &x[t * c_in..(t + 1) * c_in]))
        })
    }

    /// [`EventNetwork::run_sample`] with the first layer's currents given: `(T + R_0, C_out)`
    /// row-major, as [`DenseInput::currents`] computes them.
    fn run_currents(&self, current: &[f32], steps: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let n = self.layers[0].c_out;
        self.run(steps, |t| {
            FirstLayer::Current(current.get(t * n..(t + 1) * n).unwrap_or(&[]))
        })
    }

    /// Runs one sample of `steps` steps, the first layer's input of step `t` from `first(t)`.
    fn run<'a>(
        &self,
        steps: usize,
        first: impl Fn(usize) -> FirstLayer<'a>,
    ) -> (Vec<f32>, Vec<Vec<f32>>) {
        let n_layers = self.layers.len();
        let mut st = self.state();
        let mut horizon = steps;
        let mut spikes: Vec<Vec<f32>> = self.layers[..n_layers - 1]
            .iter()
            .map(|l| {
                horizon += l.right_pad;
                vec![0.0; horizon * l.c_out]
            })
            .collect();
        let t_end = steps + self.tail_steps();
        let c_out = self.classes();
        let mut readout = vec![0.0f32; t_end * c_out];
        for t in 0..t_end {
            if t == steps {
                st.end_input();
            }
            st.advance(self, first(t));
            for (l, s) in spikes.iter_mut().enumerate() {
                let n = self.layers[l].c_out;
                for &o in st.fired(l) {
                    s[t * n + o as usize] = 1.0;
                }
            }
            readout[t * c_out..(t + 1) * c_out].copy_from_slice(st.readout());
        }
        (readout, spikes)
    }

    /// Runs a batch `(B, T, C_in)`, samples in parallel, sample `b` over its own `lengths[b]`
    /// steps (its rows beyond are padding, never seen). Returns the readout membranes and each
    /// hidden layer's spikes, shaped as [`crate::model::Network::forward_eval`]'s for `T`, with
    /// sample `b`'s values beyond its own `lengths[b] + …` steps zero. `lengths = [T; B]` runs
    /// every sample over the whole padded batch, as the reference does. The first layer's
    /// input goes the cheaper way ([`InputPath::Auto`]); every way gives the same bits.
    pub fn forward(&self, x: &Seq, lengths: &[usize]) -> Result<(Seq, Vec<Seq>)> {
        self.forward_with(x, lengths, InputPath::Auto)
    }

    /// [`EventNetwork::forward`] with the first layer's input taken as `path` says.
    pub fn forward_with(
        &self,
        x: &Seq,
        lengths: &[usize],
        path: InputPath,
    ) -> Result<(Seq, Vec<Seq>)> {
        if x.channels != self.inputs() {
            return Err(Error::shape(
                "event network input channels",
                self.inputs(),
                x.channels,
            ));
        }
        x.check_lengths(lengths)?;
        let c_in = x.channels;
        // The reordered synapses are built only where the dense way is taken.
        let dense = match path {
            InputPath::Events => None,
            InputPath::Dense => DenseInput::of(&self.layers[0]),
            InputPath::Auto => self
                .dense_is_cheaper(x, lengths)
                .then(|| DenseInput::of(&self.layers[0]))
                .flatten(),
        };
        let runs: Vec<(Vec<f32>, Vec<Vec<f32>>)> = match dense {
            None => (0..x.batch)
                .into_par_iter()
                .map(|b| self.run_sample(&x.sample(b)[..lengths[b] * c_in], lengths[b]))
                .collect(),
            Some(dense) => {
                let right_pad = self.layers[0].right_pad;
                (0..x.batch.div_ceil(LANES))
                    .into_par_iter()
                    .flat_map_iter(|chunk| {
                        let first = chunk * LANES;
                        let n = LANES.min(x.batch - first);
                        let currents = dense.currents(x, lengths, first, n, right_pad);
                        currents
                            .into_par_iter()
                            .enumerate()
                            .map(|(q, c)| self.run_currents(&c, lengths[first + q]))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            }
        };
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
            v.sample_mut(b)[..ro.len()].copy_from_slice(&ro);
            for (s, data) in spikes.iter_mut().zip(sp) {
                s.sample_mut(b)[..data.len()].copy_from_slice(&data);
            }
        }
        Ok((v, spikes))
    }

    /// Whether the dense first layer costs less than its events on this batch: an event costs a
    /// scattered add per synapse of its channel, the dense sum one add per synapse, step and
    /// lane group (sixteen samples), at [`DENSE_ADD_COST`] of a scattered add.
    fn dense_is_cheaper(&self, x: &Seq, lengths: &[usize]) -> bool {
        let layer = &self.layers[0];
        let synapses: usize = (0..layer.c_in).map(|i| layer.synapses_of(i).len()).sum();
        let c_in = x.channels;
        let mut event_adds = 0.0;
        for (b, &len) in lengths.iter().enumerate() {
            for (k, &v) in x.sample(b)[..len * c_in].iter().enumerate() {
                if v != 0.0 {
                    let i = k % c_in;
                    event_adds += layer.synapses_of(i).len() as f64;
                }
            }
        }
        let dense_adds: f64 = lengths
            .chunks(LANES)
            .map(|c| (c.iter().copied().max().unwrap_or(0) + layer.right_pad) as f64)
            .sum::<f64>()
            * synapses as f64;
        dense_adds * DENSE_ADD_COST < event_adds
    }
}

/// The cost of one dense sixteen-lane add of [`DenseInput`] in scattered event adds (measured:
/// `spikedelay bench --workload shd --phase infer,infer-events`, BENCHMARKS.md).
const DENSE_ADD_COST: f64 = 4.0;

/// How [`EventNetwork::forward_with`] feeds the first layer. Every way gives the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputPath {
    /// The cheaper of the two for the batch, by counting the adds each makes.
    #[default]
    Auto,
    /// Each non-zero input deposits its synapses (cheapest for sparse input).
    Events,
    /// Sixteen samples at a time, every synapse at every step (cheapest for dense input).
    Dense,
}

/// The first layer's input for one step.
#[derive(Clone, Copy)]
enum FirstLayer<'a> {
    /// The step's input row (`None`: none), deposited event by event.
    Events(Option<&'a [f32]>),
    /// The layer's synaptic currents, computed beforehand.
    Current(&'a [f32]),
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::model::neuron::tests::AdaptiveLif;

    /// Another neuron model runs through the event engine by its type alone (the neuron seam):
    /// without adaptation an adaptive LIF fires as the LIF does; with it, less.
    #[test]
    fn the_engine_runs_any_neuron_model() {
        let mut config = crate::model::config::ModelConfig::default().network_config(6, 3);
        config.hidden = vec![16];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let net = Network::new(&config, &mut rng).unwrap();
        let steps = 30;
        let x: Vec<f32> = (0..steps * 6)
            .map(|k| f32::from(u8::from((k * 7919) % 5 == 0)) * 2.0)
            .collect();
        let lif = EventNetwork::from_network(&net);
        let mut same = EventNetwork::<AdaptiveLif>::with_neurons(&net);
        same.neuron.jump = 0.0;
        let (v_lif, s_lif) = lif.run_sample(&x, steps);
        let (v_same, s_same) = same.run_sample(&x, steps);
        assert_eq!((v_same, &s_same), (v_lif, &s_lif));
        let adapting = EventNetwork::<AdaptiveLif>::with_neurons(&net);
        let (_, s_adapt) = adapting.run_sample(&x, steps);
        let count = |s: &[Vec<f32>]| s[0].iter().filter(|&&v| v != 0.0).count();
        assert!(count(&s_lif) > 0);
        assert!(
            count(&s_adapt) < count(&s_lif),
            "{} vs {}",
            count(&s_adapt),
            count(&s_lif)
        );
    }

    /// The dense first layer gives the events' results to the bit, for counts and signed
    /// features, samples of several lengths and a last lane group only partly filled; and the
    /// automatic choice takes it for dense input and events for sparse input.
    #[test]
    fn the_dense_first_layer_equals_its_events_bit_for_bit() {
        let mut config = crate::model::config::ModelConfig::default().network_config(24, 5);
        config.hidden = vec![30, 16];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let net = Network::new(&config, &mut rng).unwrap();
        let engine = EventNetwork::from_network(&net);
        assert!(engine.layers[0].ring > 4, "delays spread over the ring");
        let (batch, steps) = (37, 45);
        let lengths: Vec<usize> = (0..batch).map(|b| steps - (b * 7) % 30).collect();
        let counts = |k: usize| f32::from(u8::try_from((k * 2_654_435_761) % 7).unwrap()) * 0.75;
        let signed = |k: usize| ((k * 40_503) % 97) as f32 / 13.0 - 3.5;
        let bits = |s: &Seq| s.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (name, value) in [
            ("counts", &counts as &dyn Fn(usize) -> f32),
            ("features", &signed),
        ] {
            let mut x = Seq::zeros(batch, steps, 24);
            for (b, &len) in lengths.iter().enumerate() {
                for k in 0..len * 24 {
                    x.sample_mut(b)[k] = value(b * 100_003 + k);
                }
            }
            let (v_ev, s_ev) = engine
                .forward_with(&x, &lengths, InputPath::Events)
                .unwrap();
            let (v_de, s_de) = engine.forward_with(&x, &lengths, InputPath::Dense).unwrap();
            assert_eq!(bits(&v_de), bits(&v_ev), "{name}: readout");
            for (l, (a, b)) in s_de.iter().zip(&s_ev).enumerate() {
                assert_eq!(bits(a), bits(b), "{name}: layer {l} spikes");
                assert!(b.density() > 0.01, "{name}: layer {l} fires");
            }
            // The first layer's membranes, every step, to the bit (its spikes alone would hide
            // a changed summation order).
            let dense = DenseInput::of(&engine.layers[0]).unwrap();
            let right_pad = engine.layers[0].right_pad;
            let currents = dense.currents(&x, &lengths, 32, 5, right_pad);
            for (q, current) in currents.iter().enumerate() {
                let (b, n) = (32 + q, lengths[32 + q]);
                let (mut by_events, mut by_sums) = (engine.state(), engine.state());
                for t in 0..n + right_pad {
                    if t == n {
                        by_events.end_input();
                        by_sums.end_input();
                    }
                    let row = (t < n).then(|| &x.sample(b)[t * 24..(t + 1) * 24]);
                    by_events.advance(&engine, FirstLayer::Events(row));
                    let c = &current[t * 30..(t + 1) * 30];
                    by_sums.advance(&engine, FirstLayer::Current(c));
                    let v = |s: &EventState| {
                        s.layers[0]
                            .v
                            .iter()
                            .map(|v| v.to_bits())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(v(&by_sums), v(&by_events), "{name}: sample {b} step {t}");
                }
            }
            // Dense input: the automatic choice is the dense layer (same bits either way).
            assert!(engine.dense_is_cheaper(&x, &lengths), "{name}");
        }
        // One spike in a thousand: events.
        let mut sparse = Seq::zeros(batch, steps, 24);
        sparse.data.iter_mut().step_by(997).for_each(|v| *v = 1.0);
        assert!(!engine.dense_is_cheaper(&sparse, &vec![steps; batch]));
    }
}
