//! Taking a trained network out of spikedelay, and running what comes back (docs/deploy.md):
//! [`DeployedNetwork`] (rounded, BatchNorm folded), its NIR graph ([`NirGraph`], written and
//! read by [`nir_file`], run by [`GraphRunner`]) and the `synapses` list. One file per target.

pub mod deployed;
pub mod graph;
pub mod graph_run;
pub mod loihi;
pub mod model;
pub mod netx_file;
pub mod nir_file;
pub mod stream;
pub mod synapses;
pub mod trace;

use std::path::Path;

pub use deployed::{DeployedLayer, DeployedNetwork, DeployedNeuron};
pub use graph::{Matrix, NirGraph, NirNode};
pub use graph_run::GraphRunner;
pub use loihi::{LoihiLayer, LoihiNetwork, LoihiState, QuantizeReport};
pub use model::{ExportedModel, OpenedModel};
pub use netx_file::{read_netx, write_netx};
pub use nir_file::{read_nir, write_nir};
pub use stream::{Engine, EventDeployed, FloatState, Stream};
pub use synapses::write_synapses;
pub use trace::{Trace, write_trace};

use crate::error::{Error, Result};
use crate::train::Checkpoint;

/// Export targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ExportFormat {
    /// A NIR graph (HDF5): delay buckets of `Delay` + `Linear` into `LIF`, an `LI` readout.
    Nir,
    /// JSON lists of `(pre, post, delay, weight)` per layer, for simulators.
    Synapses,
    /// lava-dl netx (HDF5) for Loihi 2: Loihi's fixed point, per-synapse delays.
    Netx,
}

/// What `export` wrote: the deployed (float) network and, for netx, its fixed-point form.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The rounded, folded network.
    pub deployed: DeployedNetwork,
    /// The Loihi 2 fixed-point network and what quantisation changed (netx only).
    pub loihi: Option<(LoihiNetwork, QuantizeReport)>,
}

/// Metadata key holding the run's configuration (TOML), so that `eval --model` finds the data.
pub const CONFIG_KEY: &str = "spikedelay_config";

/// How inputs reach the network: the frames hold spike counts per step.
pub const INPUT: &str = "per-step spike counts per channel (graded input spikes: load with \
     hdf5.Network(net_config=..., input_message_bits=8) when a bin holds more than one spike)";

/// What changes between the checkpoint and its export, for the user.
pub const CHANGES: &str = "positions rounded to integer delays (the evaluation model); BatchNorm \
     folded into weights and a per-step bias (float rounding differs from the unfolded sum); \
     dropout omitted; the readout's sum over steps of softmax decides the class outside the graph";

/// Choices of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExportOptions {
    /// Clip delays above the target's maximum instead of refusing (netx).
    pub clip_delays: bool,
    /// Seconds one step is written as in a NIR graph [default: the model's time step].
    pub nir_dt: Option<f64>,
}

/// Writes `ck`'s network to `path` as `format`.
pub fn export(
    ck: &Checkpoint,
    format: ExportFormat,
    path: &Path,
    options: &ExportOptions,
) -> Result<Exported> {
    let net = DeployedNetwork::from_network(&ck.network, ck.config.model.time_step_ms);
    let mut loihi = None;
    match format {
        ExportFormat::Nir => {
            let dt = options.nir_dt.unwrap_or(net.dt());
            if !(dt > 0.0 && dt.is_finite()) {
                return Err(Error::config(
                    "nir_dt",
                    format!("must be positive seconds, got {dt}"),
                ));
            }
            let mut g = net.to_graph_with_dt(dt);
            g.metadata.insert(CONFIG_KEY.into(), ck.config.to_toml());
            g.metadata
                .insert("spikedelay_changes".into(), CHANGES.into());
            write_nir(path, &g)?;
        }
        ExportFormat::Synapses => write_synapses(path, &net)?,
        ExportFormat::Netx => {
            let (q, report) = LoihiNetwork::quantize(&net, options.clip_delays)?;
            let meta = [
                (CONFIG_KEY.to_string(), ck.config.to_toml()),
                ("changes".into(), format!("{CHANGES}; {}", loihi::CHANGES)),
                ("input".into(), INPUT.into()),
            ]
            .into_iter()
            .collect();
            write_netx(path, &q, &meta)?;
            loihi = Some((q, report));
        }
    }
    Ok(Exported {
        deployed: net,
        loihi,
    })
}
