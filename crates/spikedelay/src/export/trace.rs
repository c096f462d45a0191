//! Traces: the inputs, hidden spikes and readout of a few samples as an exported model runs them
//! here, for a target's own simulator to be compared against (docs/deploy.md §5). HDF5:
//! `input` `(N, T, C)` u8 spike counts, `label` `(N)` u32, `spikes/<k>` `(N, S, n_k)` u8 per spiking layer
//! (`S = T + tail_steps`), `readout` `(N, S, classes)` f32, `tail_steps` and `time_step_ms`.

use std::path::Path;

use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};

use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::seq::Seq;

/// One batch as run: what [`write_trace`] stores.
pub struct Trace<'a> {
    /// Input spikes `(N, T, C)`.
    pub input: &'a Seq,
    /// Class of each sample.
    pub labels: &'a [u32],
    /// Spikes of each spiking layer `(N, S, n)`.
    pub spikes: &'a [Seq],
    /// Readout `(N, S, classes)`.
    pub readout: &'a Seq,
    /// Zero-input steps after the input.
    pub tail_steps: usize,
    /// Step length, ms.
    pub time_step_ms: f64,
}

/// Writes `trace` to `path` atomically.
pub fn write_trace(path: &Path, trace: &Trace) -> Result<()> {
    let h5 = |e: hdf5_writer::Error| Error::data(path, format!("encoding trace: {e}"));
    let shape = |s: &Seq| {
        let (b, t, c) = s.shape();
        vec![b as u64, t as u64, c as u64]
    };
    let bits = |s: &Seq| -> Vec<u8> { s.data.iter().map(|&v| u8::from(v != 0.0)).collect() };
    let counts: Vec<u8> = trace
        .input
        .data
        .iter()
        .map(|&v| v.clamp(0.0, 255.0) as u8)
        .collect();
    let mut b = Hdf5Builder::new()
        .dataset(DatasetBuilder::typed_data("input", shape(trace.input), &counts).map_err(h5)?)
        .dataset(
            DatasetBuilder::typed_data("label", vec![trace.labels.len() as u64], trace.labels)
                .map_err(h5)?,
        )
        .dataset(
            DatasetBuilder::typed_data("readout", shape(trace.readout), &trace.readout.data)
                .map_err(h5)?,
        )
        .dataset(
            DatasetBuilder::typed_data("tail_steps", Vec::<u64>::new(), &[trace.tail_steps as u64])
                .map_err(h5)?,
        )
        .dataset(
            DatasetBuilder::typed_data("time_step_ms", Vec::<u64>::new(), &[trace.time_step_ms])
                .map_err(h5)?,
        );
    for (k, s) in trace.spikes.iter().enumerate() {
        b = b.dataset(
            DatasetBuilder::typed_data(format!("spikes/{k}"), shape(s), &bits(s)).map_err(h5)?,
        );
    }
    let bytes = b
        .into_plan()
        .and_then(|plan| plan.encode(WriteOptions::default()))
        .map_err(h5)?;
    write_atomic(path, &bytes)
}
