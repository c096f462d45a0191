//! Streaming inference (docs/deploy.md §6): a network advanced one step at a time on the input
//! events of that step, with the running class decision `argmax_c Σ_{t' ≤ t} softmax(v_t')_c`.
//! Three engines:
//! - the checkpoint's evaluation engine ([`EventState`] of an [`EventNetwork`]): when the input
//!   ends, each layer runs to its horizon as evaluation runs it (method §16), so a streamed
//!   sample's decision is the one `eval` makes at any batch size;
//! - [`FloatState`]: the exported float network (BatchNorm folded), prepared once as
//!   [`EventDeployed`], every layer in lockstep as a chip runs it;
//! - [`LoihiState`]: Loihi 2's fixed point, in lockstep.

use std::sync::Arc;

use super::deployed::{DeployedNetwork, DeployedNeuron};
use super::loihi::{LoihiNetwork, LoihiState};
use crate::infer::{EventNetwork, EventState};
use crate::model::decision::RunningDecision;
use crate::model::{Lif, Neuron, Readout};

/// A float layer prepared for events: synapses grouped by presynaptic neuron.
struct EventLayer {
    outputs: usize,
    /// `by_pre[i]`: `(post, delay, weight)` of every synapse from `i`.
    by_pre: Vec<Vec<(u32, u32, f32)>>,
    ring_len: usize,
    bias: Vec<f32>,
    /// The layer's neurons: spiking (`Some`), or the readout's integrator.
    neuron: Option<Lif>,
    readout: Readout,
}

/// The float deployed network prepared for events (synapses listed by presynaptic neuron),
/// built once and shared by every stream.
pub struct EventDeployed {
    layers: Vec<EventLayer>,
    tail_steps: usize,
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
                let (tau, neuron) = match l.neuron {
                    DeployedNeuron::Lif { tau, threshold } => {
                        (tau, Some(Lif::new(tau as f64, threshold)))
                    }
                    DeployedNeuron::Readout { tau } => (tau, None),
                };
                EventLayer {
                    outputs: l.outputs,
                    by_pre,
                    ring_len: l.max_delay() + 1,
                    bias: l.bias.clone(),
                    neuron,
                    readout: Readout { tau: tau as f64 },
                }
            })
            .collect();
        EventDeployed {
            layers,
            tail_steps: net.tail_steps,
        }
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
            current: Vec::new(),
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
    spiked: Vec<Vec<u32>>,
    pre: Vec<u32>,
    current: Vec<f32>,
    t: usize,
}

impl FloatState<'_> {
    /// Advances one step on the input channels that spike now (a channel listed `k` times
    /// carries a count of `k`).
    pub fn step(&mut self, events: &[usize]) {
        self.pre.clear();
        self.pre.extend(events.iter().map(|&c| c as u32));
        for (l, layer) in self.net.layers.iter().enumerate() {
            let (n, len) = (layer.outputs, layer.ring_len);
            let ring = &mut self.ring[l];
            let slot = self.t % len;
            for &i in &self.pre {
                for &(post, d, w) in layer.by_pre.get(i as usize).map_or(&[][..], |s| &s[..]) {
                    let mut at = slot + d as usize;
                    if at >= len {
                        at -= len;
                    }
                    ring[at * n + post as usize] += w;
                }
            }
            let now = &mut ring[slot * n..(slot + 1) * n];
            self.current.clear();
            self.current
                .extend(now.iter().zip(&layer.bias).map(|(&i, &b)| i + b));
            now.iter_mut().for_each(|x| *x = 0.0);
            let (v, spiked) = (&mut self.v[l], &mut self.spiked[l]);
            match &layer.neuron {
                Some(lif) => lif.step(v, &self.current, spiked),
                None => {
                    layer.readout.step(v, &self.current);
                    spiked.clear();
                }
            }
            self.pre.clone_from(spiked);
        }
        self.t += 1;
    }

    /// Neurons of layer `l` that spiked this step.
    pub fn spiked(&self, l: usize) -> &[u32] {
        &self.spiked[l]
    }

    /// The readout's membranes after this step.
    pub fn readout(&self) -> &[f32] {
        self.v.last().map_or(&[][..], |v| &v[..])
    }
}

/// Any engine, behind one stepping interface.
pub enum Engine<'a> {
    /// The checkpoint's evaluation engine; `row` gathers a step's events as counts.
    Rounded {
        /// The engine (shared, so that a stream may outlive its maker: Python's `Stream`).
        net: Arc<EventNetwork>,
        /// The running sample.
        state: EventState,
        /// The step's input row.
        row: Vec<f32>,
    },
    /// The float deployed network.
    Float(FloatState<'a>),
    /// Loihi 2 fixed point.
    Loihi(LoihiState<'a>),
}

/// A network consuming one input stream, with its running decision.
pub struct Stream<'a> {
    engine: Engine<'a>,
    decision: RunningDecision,
    tail: usize,
    ended: bool,
}

impl<'a> Stream<'a> {
    /// Streams through the checkpoint's evaluation engine: decisions equal `eval`'s.
    pub fn rounded(net: Arc<EventNetwork>) -> Self {
        let (classes, tail) = (net.classes(), net.tail_steps());
        let engine = Engine::Rounded {
            state: net.state(),
            row: vec![0.0; net.inputs()],
            net,
        };
        Self::with(engine, classes, tail)
    }

    /// Streams through the float deployed network (lockstep).
    pub fn float(net: &'a EventDeployed) -> Self {
        let classes = net.layers.last().map_or(0, |l| l.outputs);
        Self::with(Engine::Float(net.state()), classes, net.tail_steps)
    }

    /// Streams through Loihi 2's fixed point (lockstep).
    pub fn loihi(net: &'a LoihiNetwork) -> Self {
        let classes = net.layers.last().map_or(0, |l| l.outputs);
        Self::with(Engine::Loihi(net.state()), classes, net.tail_steps)
    }

    fn with(engine: Engine<'a>, classes: usize, tail: usize) -> Self {
        Stream {
            engine,
            decision: RunningDecision::new(classes),
            tail,
            ended: false,
        }
    }

    /// Advances one step on that step's input events (channel indices, repeated for counts)
    /// and adds this step's `softmax(v)` to the scores. Channels beyond the network's inputs are
    /// ignored (check them first); so are events after [`Stream::end_input`].
    pub fn step(&mut self, events: &[usize]) {
        let events = if self.ended { &[][..] } else { events };
        let v: &[f32] = match &mut self.engine {
            Engine::Rounded { net, state, row } => {
                row.iter_mut().for_each(|r| *r = 0.0);
                for &c in events {
                    if let Some(r) = row.get_mut(c) {
                        *r += 1.0;
                    }
                }
                state.step(net.as_ref(), Some(row));
                state.readout()
            }
            Engine::Float(s) => {
                s.step(events);
                s.readout()
            }
            Engine::Loihi(s) => {
                s.step(events);
                s.readout()
            }
        };
        self.decision.add(v);
    }

    /// Marks the end of the input. Run [`Stream::tail_steps`] more (empty) steps to let the
    /// last input reach the readout: the evaluation engine then stops each layer at its
    /// horizon, as evaluation does; lockstep engines keep every layer running, as a chip does.
    pub fn end_input(&mut self) {
        self.ended = true;
        if let Engine::Rounded { state, .. } = &mut self.engine {
            state.end_input();
        }
    }

    /// Zero-input steps that follow the input.
    pub fn tail_steps(&self) -> usize {
        self.tail
    }

    /// Ends the input, runs the tail and returns the final decision (`None` for a stream
    /// without steps).
    pub fn finish(&mut self) -> Option<usize> {
        self.end_input();
        for _ in 0..self.tail {
            self.step(&[]);
        }
        self.decision()
    }

    /// `Σ_t softmax(v_t)` so far.
    pub fn scores(&self) -> &[f32] {
        self.decision.scores()
    }

    /// The running decision (the first class among equal scores); `None` before any step.
    pub fn decision(&self) -> Option<usize> {
        self.decision.decision()
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.decision.steps()
    }
}
