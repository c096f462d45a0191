//! Taking a trained network out of spikedelay, and running what comes back (docs/deploy.md):
//! [`DeployedNetwork`] (rounded, BatchNorm folded), its NIR graph ([`NirGraph`], written and
//! read by [`nir_file`], run by [`GraphRunner`]) and the `synapses` list. One file per target.

pub mod deployed;
pub mod graph;
pub mod graph_run;
pub mod nir_file;
pub mod synapses;

use std::path::Path;

pub use deployed::{DeployedLayer, DeployedNetwork, DeployedNeuron};
pub use graph::{Matrix, NirGraph, NirNode};
pub use graph_run::GraphRunner;
pub use nir_file::{read_nir, write_nir};
pub use synapses::write_synapses;

use crate::error::Result;
use crate::train::Checkpoint;

/// Export targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ExportFormat {
    /// A NIR graph (HDF5): delay buckets of `Delay` + `Linear` into `LIF`, an `LI` readout.
    Nir,
    /// JSON lists of `(pre, post, delay, weight)` per layer, for simulators.
    Synapses,
}

/// Metadata key holding the run's configuration (TOML), so that `eval --model` finds the data.
pub const CONFIG_KEY: &str = "spikedelay_config";

/// What changes between the checkpoint and its export, for the user.
pub const CHANGES: &str = "positions rounded to integer delays (the evaluation model); BatchNorm \
     folded into weights and a per-step bias (float rounding differs from the unfolded sum); \
     dropout omitted; the readout's sum over steps of softmax decides the class outside the graph";

/// Writes `ck`'s network to `path` as `format`; returns the deployed form.
pub fn export(ck: &Checkpoint, format: ExportFormat, path: &Path) -> Result<DeployedNetwork> {
    let net = DeployedNetwork::from_network(&ck.network, ck.config.model.time_step_ms);
    match format {
        ExportFormat::Nir => {
            let mut g = net.to_graph();
            g.metadata.insert(CONFIG_KEY.into(), ck.config.to_toml());
            g.metadata
                .insert("spikedelay_changes".into(), CHANGES.into());
            write_nir(path, &g)?;
        }
        ExportFormat::Synapses => write_synapses(path, &net)?,
    }
    Ok(net)
}
