//! Streaming inference (docs/deploy.md §6): the deployed integer-delay network advanced one step
//! at a time on the input events of that step, with the running class decision
//! `argmax_c Σ_{t' ≤ t} softmax(v_t')_c`. Two engines: [`FloatState`] (the exported float
//! network, prepared once as [`EventDeployed`], event-driven: each spike adds its synapses'
//! weights into a delay ring) and
//! [`LoihiState`] (Loihi 2's fixed point). Both run every layer in lockstep, as a chip does.

use super::deployed::{DeployedNetwork, DeployedNeuron};
use super::loihi::{LoihiNetwork, LoihiState};
use crate::model::decision::{argmax, softmax_into};

/// A float layer prepared for events: synapses grouped by presynaptic neuron.
struct EventLayer {
    outputs: usize,
    /// `by_pre[i]`: `(post, delay, weight)` of every synapse from `i`.
    by_pre: Vec<Vec<(u32, u32, f32)>>,
    ring_len: usize,
    bias: Vec<f32>,
    tau: f32,
    threshold: Option<f32>,
}

/// The float deployed network prepared for events (synapses listed by presynaptic neuron),
/// built once and shared by every stream.
pub struct EventDeployed {
    layers: Vec<EventLayer>,
}

impl EventDeployed {
    /// Prepares `net`.
    pub fn new(net: &DeployedNetwork) -> Self {
        let layers = net
            .layers
            .iter()
            .map(|l| {
                let mut by_pre = vec![Vec::new(); l.inputs];
                for (pre, post, d, w) in l.synapses() {
                    by_pre[pre as usize].push((post, d, w));
                }
                let (tau, threshold) = match l.neuron {
                    DeployedNeuron::Lif { tau, threshold } => (tau, Some(threshold)),
                    DeployedNeuron::Readout { tau } => (tau, None),
                };
                EventLayer {
                    outputs: l.outputs,
                    by_pre,
                    ring_len: l.max_delay() + 1,
                    bias: l.bias.clone(),
                    tau,
                    threshold,
                }
            })
            .collect();
        EventDeployed { layers }
    }

    /// A fresh state (zero membranes, empty delay lines).
    pub fn state(&self) -> FloatState<'_> {
        let layers = &self.layers;
        FloatState {
            ring: layers
                .iter()
                .map(|l| vec![0.0; l.ring_len * l.outputs])
                .collect(),
            v: layers.iter().map(|l| vec![0.0; l.outputs]).collect(),
            spiked: vec![Vec::new(); layers.len()],
            pre: Vec::new(),
            net: self,
            t: 0,
        }
    }
}

/// The running state of the float deployed network for one input stream.
pub struct FloatState<'a> {
    net: &'a EventDeployed,
    ring: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    spiked: Vec<Vec<usize>>,
    pre: Vec<usize>,
    t: usize,
}

impl FloatState<'_> {
    /// Advances one step on the input channels that spike now (a channel listed `k` times
    /// carries a count of `k`).
    pub fn step(&mut self, events: &[usize]) {
        self.pre.clear();
        self.pre.extend_from_slice(events);
        for (l, layer) in self.net.layers.iter().enumerate() {
            let (n, len) = (layer.outputs, layer.ring_len);
            let ring = &mut self.ring[l];
            let slot = self.t % len;
            for &i in &self.pre {
                for &(post, d, w) in layer.by_pre.get(i).map_or(&[][..], |s| &s[..]) {
                    let mut at = slot + d as usize;
                    if at >= len {
                        at -= len;
                    }
                    ring[at * n + post as usize] += w;
                }
            }
            let now = &mut ring[slot * n..(slot + 1) * n];
            let v = &mut self.v[l];
            let spiked = &mut self.spiked[l];
            spiked.clear();
            for o in 0..n {
                let i = now[o] + layer.bias[o];
                now[o] = 0.0;
                v[o] = v[o] - v[o] / layer.tau + i;
                if layer.threshold.is_some_and(|th| v[o] >= th) {
                    v[o] = 0.0;
                    spiked.push(o);
                }
            }
            self.pre.clone_from(spiked);
        }
        self.t += 1;
    }

    /// Neurons of layer `l` that spiked this step.
    pub fn spiked(&self, l: usize) -> &[usize] {
        &self.spiked[l]
    }

    /// The readout's membranes after this step.
    pub fn readout(&self) -> &[f32] {
        self.v.last().map_or(&[][..], |v| &v[..])
    }
}

/// Either engine, behind one stepping interface.
pub enum Engine<'a> {
    /// The float deployed network.
    Float(FloatState<'a>),
    /// Loihi 2 fixed point.
    Loihi(LoihiState<'a>),
}

/// A network consuming one input stream, with its running decision.
pub struct Stream<'a> {
    engine: Engine<'a>,
    scores: Vec<f32>,
    phi: Vec<f32>,
    steps: usize,
}

impl<'a> Stream<'a> {
    /// Streams through the float deployed network.
    pub fn float(net: &'a EventDeployed) -> Self {
        let classes = net.layers.last().map_or(0, |l| l.outputs);
        Self::with(Engine::Float(net.state()), classes)
    }

    /// Streams through Loihi 2's fixed point.
    pub fn loihi(net: &'a LoihiNetwork) -> Self {
        let classes = net.layers.last().map_or(0, |l| l.outputs);
        Self::with(Engine::Loihi(net.state()), classes)
    }

    fn with(engine: Engine<'a>, classes: usize) -> Self {
        Stream {
            engine,
            scores: vec![0.0; classes],
            phi: vec![0.0; classes],
            steps: 0,
        }
    }

    /// Advances one step on that step's input events (channel indices, repeated for counts)
    /// and adds this step's `softmax(v)` to the scores.
    pub fn step(&mut self, events: &[usize]) {
        let v: &[f32] = match &mut self.engine {
            Engine::Float(s) => {
                s.step(events);
                s.readout()
            }
            Engine::Loihi(s) => {
                s.step(events);
                s.readout()
            }
        };
        // f32, in the order the evaluation's decision sums (model/decision.rs): same decisions.
        softmax_into(v, &mut self.phi);
        for (s, &p) in self.scores.iter_mut().zip(&self.phi) {
            *s += p;
        }
        self.steps += 1;
    }

    /// `Σ_t softmax(v_t)` so far.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// The running decision (the first class among equal scores); `None` before any step.
    pub fn decision(&self) -> Option<usize> {
        (self.steps > 0).then(|| argmax(&self.scores))
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }
}
