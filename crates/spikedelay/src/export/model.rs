//! `ExportedModel`: an exported file opened for running (`eval --model`, `stream`): a NIR graph
//! run by [`GraphRunner`] or a netx network run in Loihi's fixed point by [`LoihiNetwork`]. The
//! kind is read from the file's contents, not its name (docs/deploy.md §3).

use std::path::Path;

use super::CONFIG_KEY;
use super::graph_run::GraphRunner;
use super::loihi::LoihiNetwork;
use super::netx_file::read_netx;
use super::nir_file::read_nir;
use crate::error::{Error, Result};
use crate::seq::Seq;

/// What an exported file holds.
pub enum ExportedModel {
    /// A NIR graph (float).
    Nir {
        /// The prepared graph.
        runner: Box<GraphRunner>,
        /// The same graph cut at the evaluation protocol's per-layer horizons, when the file
        /// says them (`spikedelay_horizons`).
        protocol: Option<Box<GraphRunner>>,
    },
    /// A netx network (Loihi 2 fixed point).
    Netx(LoihiNetwork),
}

/// An opened exported file with what it says about itself.
pub struct OpenedModel {
    /// The network.
    pub model: ExportedModel,
    /// The run configuration stored in the file (spikedelay's exports), TOML.
    pub config: Option<String>,
    /// Zero-input steps to run after each sample.
    pub tail_steps: usize,
    /// Spiking layers, in order.
    pub hidden: usize,
}

impl OpenedModel {
    /// Opens `path` (NIR or netx). `time_step_ms` is used where the file does not say its step
    /// (NIR graphs from other tools).
    pub fn open(path: &Path, time_step_ms: Option<f64>) -> Result<Self> {
        let file = crate::hdf5_open::open(path, "a NIR or a netx file (HDF5)")?;
        let is_nir = file.dataset("node/type").is_ok();
        let is_netx = file.group("layer").is_ok();
        drop(file);
        if is_nir {
            let graph = read_nir(path)?;
            let dt = match (graph.metadata.get("dt"), time_step_ms) {
                (Some(dt), _) => dt.parse::<f64>().map_err(|_| {
                    Error::data(path, format!("metadata `dt` is `{dt}`, not seconds"))
                })?,
                (None, Some(ms)) => ms / 1000.0,
                (None, None) => {
                    return Err(Error::data(
                        path,
                        "the NIR graph does not say its time step (metadata `dt`); give the \
                         run configuration's model.time_step_ms",
                    ));
                }
            };
            let runner = GraphRunner::new(&graph, dt)?;
            let protocol = match graph.metadata.get("spikedelay_horizons") {
                Some(h) => Some(Box::new(GraphRunner::new(&graph, dt)?.with_horizons(h)?)),
                None => None,
            };
            let tail_steps = graph
                .metadata
                .get("tail_steps")
                .map_or(Ok(0), |t| t.parse())
                .map_err(|_| Error::data(path, "metadata `tail_steps` is not a count"))?;
            let hidden = runner.spiking_nodes().len();
            Ok(OpenedModel {
                config: graph.metadata.get(CONFIG_KEY).cloned(),
                tail_steps,
                hidden,
                model: ExportedModel::Nir {
                    runner: Box::new(runner),
                    protocol,
                },
            })
        } else if is_netx {
            let (net, meta) = read_netx(path)?;
            Ok(OpenedModel {
                config: meta.get(CONFIG_KEY).cloned(),
                tail_steps: net.tail_steps,
                hidden: net.layers.len() - 1,
                model: ExportedModel::Netx(net),
            })
        } else {
            Err(Error::data(
                path,
                "neither a NIR graph (`/node/type`) nor a netx network (`/layer`)",
            ))
        }
    }

    /// Input channels.
    pub fn inputs(&self) -> usize {
        match &self.model {
            ExportedModel::Nir { runner, .. } => runner.inputs(),
            ExportedModel::Netx(net) => net.layers[0].inputs,
        }
    }

    /// Runs a batch in lockstep (as a chip or simulator does), sample `b` for its own
    /// `lengths[b]` steps plus the tail: readout values and hidden spikes.
    pub fn forward(&self, x: &Seq, lengths: &[usize]) -> Result<(Seq, Vec<Seq>)> {
        match &self.model {
            ExportedModel::Nir { runner, .. } => runner.forward(x, lengths, self.tail_steps),
            ExportedModel::Netx(net) => net.forward(x, lengths, self.tail_steps),
        }
    }

    /// Runs a batch as the evaluation protocol does (each layer cut at its horizon), where the
    /// file allows it; `None` otherwise.
    pub fn forward_protocol(&self, x: &Seq, lengths: &[usize]) -> Option<Result<(Seq, Vec<Seq>)>> {
        match &self.model {
            ExportedModel::Nir {
                protocol: Some(p), ..
            } => Some(p.forward(x, lengths, self.tail_steps)),
            _ => None,
        }
    }
}
