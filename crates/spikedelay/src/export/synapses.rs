//! The `synapses` export (docs/deploy.md §4): every synapse as `(pre, post, delay, weight)` per
//! layer, with the neuron parameters and biases, as one JSON file. This is what simulators that
//! connect from lists want (Brian2 `Synapses.connect(i=pre, j=post)` with per-synapse `delay`,
//! NEST, PyNN's `FromListConnector`).

use std::path::Path;

use super::deployed::{DeployedNetwork, DeployedNeuron};
use crate::atomic_file::write_atomic;
use crate::error::Result;

/// Value of the file's `format` key.
pub const FORMAT: &str = "spikedelay-synapses-1";

/// The JSON document of `net`.
pub fn synapses_json(net: &DeployedNetwork) -> serde_json::Value {
    let layers: Vec<serde_json::Value> = net
        .layers
        .iter()
        .map(|layer| {
            let syn = layer.synapses();
            let neuron = match layer.neuron {
                DeployedNeuron::Lif { tau, threshold } => serde_json::json!({
                    "kind": "lif",
                    "tau_steps": tau,
                    "threshold": threshold,
                    "reset": 0.0,
                    "update": "v = v - v / tau_steps + I; spike when v >= threshold, then v = reset",
                }),
                DeployedNeuron::Readout { tau } => serde_json::json!({
                    "kind": "readout",
                    "tau_steps": tau,
                    "update": "v = v - v / tau_steps + I; no spikes",
                }),
            };
            serde_json::json!({
                "inputs": layer.inputs,
                "outputs": layer.outputs,
                "neuron": neuron,
                "bias": layer.bias,
                "pre": syn.iter().map(|s| s.0).collect::<Vec<_>>(),
                "post": syn.iter().map(|s| s.1).collect::<Vec<_>>(),
                "delay_steps": syn.iter().map(|s| s.2).collect::<Vec<_>>(),
                "weight": syn.iter().map(|s| s.3).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "format": FORMAT,
        "time_step_ms": net.time_step_ms,
        "tail_steps": net.tail_steps,
        "current": "I_post[t] = bias_post + sum over synapses (pre -> post) of weight * x_pre[t - delay_steps]; a delay of 0 arrives in the same step",
        "decision": "class = argmax over classes of the sum over steps of softmax(readout v); run tail_steps zero-input steps after each sample",
        "layers": layers,
    })
}

/// Writes the `synapses` export of `net` to `path` atomically.
pub fn write_synapses(path: &Path, net: &DeployedNetwork) -> Result<()> {
    let text = serde_json::to_string(&synapses_json(net)).expect("JSON serialises");
    write_atomic(path, text.as_bytes())
}
