//! `IntegerDelayNetwork`: the rounded network as an explicit list of synapses, each one weight at
//! one integer delay (method §16):
//!
//! ```text
//! d[o,i,k] = D//2 − round_half_even(P[o,i,k]),   w[o,i,k] = W[o,i,k]/(1 + 1e-7)   (W for `none`)
//! I_o[t]   = a_o · Σ_{(i,k)} w[o,i,k] · x_i[t − d[o,i,k]] + b_o      (BatchNorm folded, hidden layers)
//! ```
//!
//! It adds the same non-zero terms in the same order as the dense evaluation path — input channel,
//! then input step, ascending — so for `kernel_count = 1` its readout equals
//! `network.rounded().forward_eval(x)` bit for bit. Layer `l` runs for `T + l·R` steps.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::taps::NORM_EPS;
use crate::model::{
    Charge, DclsLayer, HiddenNeuron, KernelKind, Network, Neuron, Readout, SpikeFn,
};
use crate::seq::Seq;

/// One synapse element: target neuron, delay in steps, weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Synapse {
    /// Postsynaptic neuron `o`.
    pub target: u32,
    /// Delay `d` in steps.
    pub delay: u32,
    /// Weight `W/(1+1e-7)`.
    pub weight: f32,
}

/// A delay layer as per-input synapse lists, plus its folded BatchNorm.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegerLayer {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Right padding `R`: the output is `R` steps longer than the input.
    pub right_pad: usize,
    /// Outgoing synapses of each input channel, ordered by target then element.
    pub synapses: Vec<Vec<Synapse>>,
    /// Folded BatchNorm `(α, b)` for hidden layers.
    pub norm: Option<(Vec<f32>, Vec<f32>)>,
}

impl IntegerLayer {
    fn from_dcls(layer: &DclsLayer, norm: Option<(Vec<f32>, Vec<f32>)>) -> Self {
        let scale = if layer.kind == KernelKind::Linear {
            1.0
        } else {
            1.0 / (1.0 + NORM_EPS)
        };
        let mut synapses = vec![Vec::new(); layer.c_in];
        for o in 0..layer.c_out {
            for (i, syn) in synapses.iter_mut().enumerate() {
                for e in 0..layer.kernel_count {
                    let j = (o * layer.c_in + i) * layer.kernel_count + e;
                    syn.push(Synapse {
                        target: o as u32,
                        delay: layer.delay_of(j) as u32,
                        weight: layer.weight[j] * scale,
                    });
                }
            }
        }
        IntegerLayer {
            c_in: layer.c_in,
            c_out: layer.c_out,
            right_pad: layer.right_pad(),
            synapses,
            norm,
        }
    }

    /// Synaptic input currents for one sample `x` (`(T_in, c_in)`), `(T_in + R, c_out)`.
    fn currents(&self, x: &[f32], t_in: usize) -> Vec<f32> {
        let t_out = t_in + self.right_pad;
        let mut a = vec![0.0f32; t_out * self.c_out];
        for i in 0..self.c_in {
            for tp in 0..t_in {
                let v = x[tp * self.c_in + i];
                if v == 0.0 {
                    continue;
                }
                for s in &self.synapses[i] {
                    let t = tp + s.delay as usize;
                    if t < t_out {
                        a[t * self.c_out + s.target as usize] += v * s.weight;
                    }
                }
            }
        }
        if let Some((alpha, shift)) = &self.norm {
            for row in a.chunks_exact_mut(self.c_out) {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = *v * alpha[j] + shift[j];
                }
            }
        }
        a
    }
}

/// The whole rounded network with integer delays.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegerDelayNetwork {
    /// Hidden layers then the output layer.
    pub layers: Vec<IntegerLayer>,
    /// Hidden neurons.
    pub neuron: HiddenNeuron,
    /// Readout integrator.
    pub readout: Readout,
}

impl IntegerDelayNetwork {
    /// Applies the evaluation transform to `net` and lists its synapses.
    pub fn from_network(net: &Network) -> Self {
        let rounded = net.rounded();
        let mut layers: Vec<IntegerLayer> = rounded
            .blocks
            .iter()
            .map(|b| IntegerLayer::from_dcls(&b.conv, Some(b.norm.folded())))
            .collect();
        layers.push(IntegerLayer::from_dcls(&rounded.output, None));
        IntegerDelayNetwork {
            layers,
            neuron: HiddenNeuron::of(&net.config, SpikeFn::Heaviside),
            readout: Readout {
                tau: net.config.tau,
            },
        }
    }

    /// Readout membranes `(B, T + (L+1)·R, outputs)` and each hidden layer's spikes.
    pub fn forward(&self, x: &Seq) -> Result<(Seq, Vec<Seq>)> {
        if x.channels != self.layers[0].c_in {
            return Err(Error::shape(
                "integer network input channels",
                self.layers[0].c_in,
                x.channels,
            ));
        }
        let mut cur = x.clone();
        let mut spikes = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let t_in = cur.steps;
            let t_out = t_in + layer.right_pad;
            let data: Vec<f32> = (0..cur.batch)
                .into_par_iter()
                .flat_map_iter(|b| layer.currents(cur.sample(b), t_in))
                .collect();
            let a = Seq::from_vec(cur.batch, t_out, layer.c_out, data)?;
            if l + 1 < self.layers.len() {
                let (s, _) = Neuron::forward(&self.neuron, &a, Charge::Eval);
                spikes.push(s.clone());
                cur = s;
            } else {
                return Ok((self.readout.forward(&a, Charge::Eval), spikes));
            }
        }
        unreachable!("the output layer returns")
    }
}
