//! `DeployedNetwork`: a trained network as a deployment target receives it (docs/deploy.md §1):
//! the rounded network (integer delays, method §16), BatchNorm folded into weights and biases
//! (`w' = α_o·w`, `b_o = β_o − α_o·μ_o`), hidden LIF neurons and the non-spiking readout.
//!
//! Each layer's synapses are grouped by delay into buckets `W_d` `(out, in)`: the current into
//! neuron `o` at step `t` is `Σ_d Σ_i W_d[o,i]·x_i[t − d] + b_o`. This is the form of the NIR
//! export (one `Delay` + `Linear` branch per used delay), and [`DeployedNetwork::to_graph`] is the
//! graph that every exporter and `eval --model` run.

use std::collections::BTreeMap;

use super::graph::{Matrix, NirGraph, NirNode};
use crate::infer::IntegerDelayNetwork;
use crate::model::Network;

/// A neuron model of a deployed layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeployedNeuron {
    /// `v ← v − v/τ + I`; spike when `v ≥ threshold`, then `v ← 0` (τ in steps).
    Lif {
        /// `τ` in steps.
        tau: f32,
        /// Threshold.
        threshold: f32,
    },
    /// The readout: `v ← v − v/τ + I`, no spikes; the class is `argmax_c Σ_t softmax(v_t)_c`.
    Readout {
        /// `τ` in steps.
        tau: f32,
    },
}

/// One layer: synapses bucketed by delay, a bias, a neuron model.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedLayer {
    /// Presynaptic channels.
    pub inputs: usize,
    /// Neurons.
    pub outputs: usize,
    /// `(d, W_d)` for each delay `d` (ascending) that some synapse uses; `W_d` is `(out, in)`
    /// row-major with BatchNorm's scale folded in.
    pub buckets: Vec<(usize, Vec<f32>)>,
    /// Bias added every step (BatchNorm's folded shift; zeros for the readout).
    pub bias: Vec<f32>,
    /// The neuron model.
    pub neuron: DeployedNeuron,
}

impl DeployedLayer {
    /// `(pre, post, delay, weight)` of every synapse with a non-zero weight, by pre then post.
    pub fn synapses(&self) -> Vec<(u32, u32, u32, f32)> {
        let mut out = Vec::new();
        for (d, w) in &self.buckets {
            for o in 0..self.outputs {
                for i in 0..self.inputs {
                    let v = w[o * self.inputs + i];
                    if v != 0.0 {
                        out.push((i as u32, o as u32, *d as u32, v));
                    }
                }
            }
        }
        out.sort_by_key(|s| (s.0, s.1, s.2));
        out
    }

    /// The largest delay used, in steps.
    pub fn max_delay(&self) -> usize {
        self.buckets.last().map_or(0, |b| b.0)
    }
}

/// The network handed to a deployment target.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedNetwork {
    /// Hidden layers, then the readout.
    pub layers: Vec<DeployedLayer>,
    /// Length of one step, ms.
    pub time_step_ms: f64,
    /// Zero-input steps run after a sample so that the last input reaches the readout, as in the
    /// evaluation protocol: `(L + 1)·(D − 1)/2` for `L` hidden layers.
    pub tail_steps: usize,
}

/// The largest `f32` below `x`: `v > below(θ)` is `v ≥ θ` for every `f32` `v`, so NIR's strict
/// threshold reproduces the training neuron's exactly.
pub fn below(x: f32) -> f32 {
    f32::from_bits(if x > 0.0 {
        x.to_bits() - 1
    } else {
        ((-x).to_bits() + 1) | (1 << 31)
    })
}

impl DeployedNetwork {
    /// The rounded, folded form of `net` (steps of `time_step_ms`).
    pub fn from_network(net: &Network, time_step_ms: f64) -> Self {
        let integer = IntegerDelayNetwork::from_network(net);
        let tau = net.config.tau as f32;
        let hidden = integer.layers.len() - 1;
        let layers = integer
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let (alpha, bias) = layer
                    .norm
                    .clone()
                    .unwrap_or_else(|| (vec![1.0; layer.c_out], vec![0.0; layer.c_out]));
                let mut buckets: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
                for (i, syn) in layer.synapses.iter().enumerate() {
                    for s in syn {
                        let w = buckets
                            .entry(s.delay as usize)
                            .or_insert_with(|| vec![0.0; layer.c_out * layer.c_in]);
                        let o = s.target as usize;
                        let folded = if layer.norm.is_some() {
                            s.weight * alpha[o]
                        } else {
                            s.weight
                        };
                        w[o * layer.c_in + i] += folded;
                    }
                }
                DeployedLayer {
                    inputs: layer.c_in,
                    outputs: layer.c_out,
                    buckets: buckets.into_iter().collect(),
                    bias,
                    neuron: if l < hidden {
                        DeployedNeuron::Lif {
                            tau,
                            threshold: net.config.v_threshold,
                        }
                    } else {
                        DeployedNeuron::Readout { tau }
                    },
                }
            })
            .collect();
        let right_pad = net.output.right_pad();
        DeployedNetwork {
            layers,
            time_step_ms,
            tail_steps: (hidden + 1) * right_pad,
        }
    }

    /// Step length in seconds.
    pub fn dt(&self) -> f64 {
        self.time_step_ms / 1000.0
    }

    /// The NIR graph (docs/deploy.md §2): `input`, then per layer `l{l}_delay{d}` (`Delay`, for
    /// `d > 0`) → `l{l}_w{d}` (the first bucket an `Affine` carrying the bias, the others
    /// `Linear`) → `l{l}_lif` (`LIF`) or `readout` (`LI`), and `output`.
    pub fn to_graph(&self) -> NirGraph {
        self.to_graph_with_dt(self.dt())
    }

    /// The NIR graph with one step written as `dt` seconds (time constants and delays scale with
    /// it; the discrete network is the same). snnTorch's NIR importer assumes `dt = 1e-4`.
    pub fn to_graph_with_dt(&self, dt: f64) -> NirGraph {
        let mut g = NirGraph::default();
        g.nodes.insert(
            "input".into(),
            NirNode::Input {
                shape: vec![self.layers[0].inputs as i64],
            },
        );
        let mut prev = "input".to_string();
        for (l, layer) in self.layers.iter().enumerate() {
            let n = layer.outputs;
            let (target, neuron) = match layer.neuron {
                DeployedNeuron::Lif { tau, threshold } => (
                    format!("l{l}_lif"),
                    NirNode::Lif {
                        tau: vec![(tau as f64 * dt) as f32; n],
                        r: vec![tau; n],
                        v_leak: vec![0.0; n],
                        v_threshold: vec![below(threshold); n],
                        v_reset: vec![0.0; n],
                    },
                ),
                DeployedNeuron::Readout { tau } => (
                    "readout".to_string(),
                    NirNode::Li {
                        tau: vec![(tau as f64 * dt) as f32; n],
                        r: vec![tau; n],
                        v_leak: vec![0.0; n],
                    },
                ),
            };
            let mut buckets = layer.buckets.clone();
            if buckets.is_empty() {
                buckets.push((0, vec![0.0; n * layer.inputs]));
            }
            for (k, (d, w)) in buckets.iter().enumerate() {
                let weight = Matrix {
                    rows: n,
                    cols: layer.inputs,
                    data: w.clone(),
                };
                let name = format!("l{l}_w{d}");
                let from = if *d == 0 {
                    prev.clone()
                } else {
                    let delay = format!("l{l}_delay{d}");
                    g.nodes.insert(
                        delay.clone(),
                        NirNode::Delay {
                            delay: vec![(*d as f64 * dt) as f32; layer.inputs],
                        },
                    );
                    g.edges.push((prev.clone(), delay.clone()));
                    delay
                };
                let node = if k == 0 {
                    NirNode::Affine {
                        weight,
                        bias: layer.bias.clone(),
                    }
                } else {
                    NirNode::Linear { weight }
                };
                g.nodes.insert(name.clone(), node);
                g.edges.push((from, name.clone()));
                g.edges.push((name, target.clone()));
            }
            g.nodes.insert(target.clone(), neuron);
            prev = target;
        }
        let right_pad = self.tail_steps / self.layers.len().max(1);
        let horizons: Vec<String> = (0..self.layers.len())
            .map(|l| {
                let name = if l + 1 < self.layers.len() {
                    format!("l{l}_lif")
                } else {
                    "readout".into()
                };
                format!("{name}={}", (l + 1) * right_pad)
            })
            .collect();
        g.metadata
            .insert("spikedelay_horizons".into(), horizons.join(","));
        let classes = self.layers.last().map_or(0, |l| l.outputs);
        g.nodes.insert(
            "output".into(),
            NirNode::Output {
                shape: vec![classes as i64],
            },
        );
        g.edges.push((prev, "output".into()));
        for (k, v) in [
            ("dt", format!("{dt}")),
            ("time_step_ms", format!("{}", self.time_step_ms)),
            ("tail_steps", self.tail_steps.to_string()),
            (
                "decision",
                "class = argmax over classes of the sum over steps of softmax(output); run \
                 tail_steps zero-input steps after each sample"
                    .into(),
            ),
        ] {
            g.metadata.insert(k.into(), v);
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_the_next_float_down() {
        let b = below(1.0);
        assert!(b < 1.0 && (b as f64) > 1.0 - 1e-7);
        assert_eq!(f32::from_bits(b.to_bits() + 1), 1.0);
        assert!(below(-2.0) < -2.0);
    }
}
