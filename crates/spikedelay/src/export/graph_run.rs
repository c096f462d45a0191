//! `GraphRunner`: runs a [`NirGraph`] in discrete time with step `dt` (docs/deploy.md §3).
//!
//! Each step visits the nodes in dependency order. A node's input is the sum of its incoming
//! edges' outputs of the same step, and a `Delay` of `k` steps outputs its input of `k` steps
//! earlier, from a ring buffer. Neurons are integrated with forward Euler:
//! ```text
//! LIF:      v ← v + (dt/τ)·((v_leak − v) + r·I);   spike if v > v_threshold, then v ← v_reset
//! LI:       v ← v + (dt/τ)·((v_leak − v) + r·I);   output v
//! CubaLIF:  i ← i + (dt/τ_syn)·(w_in·x − i);  then v as LIF with I = i
//! ```
//! When `r·dt = τ` and `v_leak = 0` (spikedelay's own exports, and snnTorch's `Leaky`) the update
//! is the training neuron's `v ← v − v/r + I`, computed in that order so that a re-imported
//! network reproduces spikedelay's arithmetic exactly.

use rayon::prelude::*;

use super::graph::{Matrix, NirGraph, NirNode};
use crate::error::{Error, Result};
use crate::seq::Seq;

/// One node's runtime form.
#[derive(Debug, Clone)]
enum Op {
    Input,
    Output,
    /// Transposed weights `(in, out)`, bias.
    Dense {
        wt: Vec<f32>,
        inputs: usize,
        outputs: usize,
        bias: Option<Vec<f32>>,
    },
    Scale(Vec<f32>),
    /// Delay of each element in steps.
    Delay(Vec<usize>),
    /// `v ← v − v/τ_s + I` (τ_s = r) when `exact`, else the Euler update with `dt/τ`.
    Neuron {
        decay: Vec<f32>,
        gain: Vec<f32>,
        v_leak: Vec<f32>,
        exact: Vec<Option<f32>>,
        threshold: Option<(Vec<f32>, Vec<f32>)>,
        /// CubaLIF: `(dt/τ_syn, w_in)`.
        synapse: Option<(Vec<f32>, Vec<f32>)>,
    },
}

/// A graph prepared for running.
#[derive(Debug, Clone)]
pub struct GraphRunner {
    names: Vec<String>,
    ops: Vec<Op>,
    /// Incoming node indices of each node.
    sources: Vec<Vec<usize>>,
    /// Output size of each node.
    sizes: Vec<usize>,
    /// Input size of each node.
    in_sizes: Vec<usize>,
    input: usize,
    output: usize,
    /// Spiking nodes, in order (reported as hidden layers).
    spiking: Vec<usize>,
    /// Steps after the input's end from which a node outputs zeros (`None`: never).
    horizons: Vec<Option<usize>>,
}

fn steps_of(name: &str, delay: &[f32], dt: f64) -> Result<Vec<usize>> {
    delay
        .iter()
        .map(|&d| {
            let k = d as f64 / dt;
            if !k.is_finite() || k < -1e-6 || (k - k.round()).abs() > 1e-3 {
                return Err(Error::config(
                    format!("node `{name}`"),
                    format!("delay {d} s is not a whole number of steps of dt = {dt} s"),
                ));
            }
            Ok(k.round() as usize)
        })
        .collect()
}

fn transpose(w: &Matrix) -> Vec<f32> {
    let mut t = vec![0.0; w.data.len()];
    for o in 0..w.rows {
        for i in 0..w.cols {
            t[i * w.rows + o] = w.data[o * w.cols + i];
        }
    }
    t
}

impl GraphRunner {
    /// Prepares `graph` for steps of `dt` seconds; the output is the `Output` node named
    /// `output` (or the only one).
    pub fn new(graph: &NirGraph, dt: f64) -> Result<Self> {
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::config(
                "dt",
                format!("must be a positive time, got {dt}"),
            ));
        }
        let order = graph.order()?;
        let index = |n: &str| order.iter().position(|m| m == n).expect("ordered");
        let mut ops = Vec::new();
        let (mut input, mut outputs, mut spiking) = (0, Vec::new(), Vec::new());
        for (k, name) in order.iter().enumerate() {
            // A membrane `τ dv/dt = (v_leak − v) + R·I`, stepped as in docs/deploy.md §3.
            let neuron = |tau: &[f32], r: &[f32], v_leak: &[f32], threshold, synapse: Option<_>| {
                let decay: Vec<f32> = tau.iter().map(|&t| (dt / t as f64) as f32).collect();
                let exact = tau
                    .iter()
                    .zip(r)
                    .zip(v_leak)
                    .map(|((&t, &r), &l)| {
                        let exact = (r as f64 * dt - t as f64).abs() <= 1e-6 * t as f64;
                        (exact && l == 0.0 && synapse.is_none()).then_some(r)
                    })
                    .collect();
                Op::Neuron {
                    decay,
                    gain: r.to_vec(),
                    v_leak: v_leak.to_vec(),
                    exact,
                    threshold,
                    synapse,
                }
            };
            ops.push(match &graph.nodes[name] {
                NirNode::Input { .. } => {
                    input = k;
                    Op::Input
                }
                NirNode::Output { .. } => {
                    outputs.push(k);
                    Op::Output
                }
                NirNode::Affine { weight, bias } => Op::Dense {
                    wt: transpose(weight),
                    inputs: weight.cols,
                    outputs: weight.rows,
                    bias: Some(bias.clone()),
                },
                NirNode::Linear { weight } => Op::Dense {
                    wt: transpose(weight),
                    inputs: weight.cols,
                    outputs: weight.rows,
                    bias: None,
                },
                NirNode::Scale { scale } => Op::Scale(scale.clone()),
                NirNode::Delay { delay } => Op::Delay(steps_of(name, delay, dt)?),
                NirNode::Lif {
                    tau,
                    r,
                    v_leak,
                    v_threshold,
                    v_reset,
                } => {
                    spiking.push(k);
                    let threshold = Some((v_threshold.clone(), v_reset.clone()));
                    neuron(tau, r, v_leak, threshold, None)
                }
                NirNode::Li { tau, r, v_leak } => neuron(tau, r, v_leak, None, None),
                NirNode::CubaLif {
                    tau_syn,
                    tau_mem,
                    r,
                    v_leak,
                    v_threshold,
                    v_reset,
                    w_in,
                } => {
                    spiking.push(k);
                    let syn = tau_syn.iter().map(|&t| (dt / t as f64) as f32).collect();
                    let threshold = Some((v_threshold.clone(), v_reset.clone()));
                    neuron(tau_mem, r, v_leak, threshold, Some((syn, w_in.clone())))
                }
            });
        }
        let output = match outputs.as_slice() {
            [one] => *one,
            _ => {
                return Err(Error::config(
                    "graph",
                    format!("has {} Output nodes, expected one", outputs.len()),
                ));
            }
        };
        let mut sources = vec![Vec::new(); order.len()];
        for (a, b) in &graph.edges {
            sources[index(b)].push(index(a));
        }
        let n_nodes = order.len();
        let sizes = order.iter().map(|n| graph.nodes[n].sizes().1).collect();
        let in_sizes = order.iter().map(|n| graph.nodes[n].sizes().0).collect();
        Ok(GraphRunner {
            names: order,
            ops,
            sources,
            sizes,
            in_sizes,
            input,
            output,
            spiking,
            horizons: vec![None; n_nodes],
        })
    }

    /// Silences each named node from `h` steps after the input's end: the evaluation protocol's
    /// horizons (method §15: layer `l` of the dense evaluation is `(l + 1)·R` steps longer than
    /// the input), which a deployment running all layers in lockstep does not have. Parses
    /// `name=h,name=h` as [`DeployedNetwork::to_graph`](super::DeployedNetwork::to_graph) writes
    /// it into the `spikedelay_horizons` metadata.
    pub fn with_horizons(mut self, spec: &str) -> Result<Self> {
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let bad =
                || Error::config("spikedelay_horizons", format!("`{part}` is not name=steps"));
            let (name, h) = part.split_once('=').ok_or_else(bad)?;
            let k = self.names.iter().position(|n| n == name).ok_or_else(bad)?;
            self.horizons[k] = Some(h.parse().map_err(|_| bad())?);
        }
        Ok(self)
    }

    /// Input channels.
    pub fn inputs(&self) -> usize {
        self.sizes[self.input]
    }

    /// Names of the spiking nodes, whose spikes [`GraphRunner::forward`] returns.
    pub fn spiking_nodes(&self) -> Vec<&str> {
        self.spiking
            .iter()
            .map(|&k| self.names[k].as_str())
            .collect()
    }

    /// Runs sample `b` of `x` `(B, T, C)` for its own `lengths[b]` steps plus `tail` (zero
    /// input after its own steps): the output node's trace `(B, T + tail, n)` and each spiking
    /// node's spikes, zero beyond a sample's own steps.
    pub fn forward(&self, x: &Seq, lengths: &[usize], tail: usize) -> Result<(Seq, Vec<Seq>)> {
        if x.channels != self.inputs() {
            return Err(Error::shape(
                "graph input channels",
                self.inputs(),
                x.channels,
            ));
        }
        x.check_lengths(lengths)?;
        let steps = x.steps + tail;
        let per_sample: Vec<(Vec<f32>, Vec<Vec<f32>>)> = (0..x.batch)
            .into_par_iter()
            .map(|b| self.run_sample(x.sample(b), lengths[b], lengths[b] + tail))
            .collect();
        let mut out = Seq::zeros(x.batch, steps, self.sizes[self.output]);
        let mut spikes: Vec<Seq> = self
            .spiking
            .iter()
            .map(|&k| Seq::zeros(x.batch, steps, self.sizes[k]))
            .collect();
        for (b, (o, s)) in per_sample.into_iter().enumerate() {
            out.sample_mut(b)[..o.len()].copy_from_slice(&o);
            for (acc, layer) in spikes.iter_mut().zip(s) {
                acc.sample_mut(b)[..layer.len()].copy_from_slice(&layer);
            }
        }
        Ok((out, spikes))
    }

    fn run_sample(&self, x: &[f32], t_in: usize, steps: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let c = self.inputs();
        let n = self.ops.len();
        let mut now: Vec<Vec<f32>> = self.sizes.iter().map(|&s| vec![0.0; s]).collect();
        let mut incoming: Vec<Vec<f32>> = self.in_sizes.iter().map(|&s| vec![0.0; s]).collect();
        // Per node state: membranes, synaptic currents, delay rings.
        let mut v: Vec<Vec<f32>> = now.clone();
        let mut syn: Vec<Vec<f32>> = now.clone();
        let mut rings: Vec<(usize, Vec<f32>)> = self
            .ops
            .iter()
            .zip(&self.sizes)
            .map(|(op, &s)| match op {
                Op::Delay(d) => {
                    let depth = d.iter().max().map_or(1, |m| m + 1);
                    (depth, vec![0.0; depth * s])
                }
                _ => (1, Vec::new()),
            })
            .collect();
        let mut out = Vec::with_capacity(steps * self.sizes[self.output]);
        let mut spikes: Vec<Vec<f32>> = self.spiking.iter().map(|_| Vec::new()).collect();
        for t in 0..steps {
            for k in 0..n {
                let size = self.sizes[k];
                let inp = &mut incoming[k];
                inp.iter_mut().for_each(|a| *a = 0.0);
                for &s in &self.sources[k] {
                    for (a, b) in inp.iter_mut().zip(&now[s]) {
                        *a += b;
                    }
                }
                let y = &mut now[k];
                if self.horizons[k].is_some_and(|h| t >= t_in + h) {
                    y.iter_mut().for_each(|a| *a = 0.0);
                    continue;
                }
                match &self.ops[k] {
                    Op::Input => {
                        if t < t_in {
                            y.copy_from_slice(&x[t * c..(t + 1) * c]);
                        } else {
                            y.iter_mut().for_each(|a| *a = 0.0);
                        }
                    }
                    Op::Output => y.copy_from_slice(inp),
                    Op::Dense {
                        wt,
                        inputs,
                        outputs,
                        bias,
                    } => {
                        match bias {
                            Some(b) => y.copy_from_slice(b),
                            None => y.iter_mut().for_each(|a| *a = 0.0),
                        }
                        for i in 0..*inputs {
                            let xi = inp[i];
                            if xi != 0.0 {
                                let col = &wt[i * outputs..(i + 1) * outputs];
                                for (a, w) in y.iter_mut().zip(col) {
                                    *a += w * xi;
                                }
                            }
                        }
                    }
                    Op::Scale(s) => {
                        for ((a, b), s) in y.iter_mut().zip(inp.iter()).zip(s) {
                            *a = b * s;
                        }
                    }
                    Op::Delay(d) => {
                        let (depth, ring) = &mut rings[k];
                        for (j, &dj) in d.iter().enumerate() {
                            ring[((t + dj) % *depth) * size + j] += inp[j];
                        }
                        let row = (t % *depth) * size;
                        y.copy_from_slice(&ring[row..row + size]);
                        ring[row..row + size].iter_mut().for_each(|a| *a = 0.0);
                    }
                    Op::Neuron {
                        decay,
                        gain,
                        v_leak,
                        exact,
                        threshold,
                        synapse,
                    } => {
                        let (vk, sk) = (&mut v[k], &mut syn[k]);
                        for j in 0..size {
                            let i_j = match synapse {
                                Some((a, w_in)) => {
                                    sk[j] += a[j] * (w_in[j] * inp[j] - sk[j]);
                                    sk[j]
                                }
                                None => inp[j],
                            };
                            vk[j] = match exact[j] {
                                Some(tau) => vk[j] - vk[j] / tau + i_j,
                                None => vk[j] + decay[j] * ((v_leak[j] - vk[j]) + gain[j] * i_j),
                            };
                            y[j] = match threshold {
                                Some((th, reset)) if vk[j] > th[j] => {
                                    vk[j] = reset[j];
                                    1.0
                                }
                                Some(_) => 0.0,
                                None => vk[j],
                            };
                        }
                    }
                }
            }
            out.extend_from_slice(&now[self.output]);
            for (acc, &k) in spikes.iter_mut().zip(&self.spiking) {
                acc.extend_from_slice(&now[k]);
            }
        }
        (out, spikes)
    }
}
