//! `Stream`: a trained network fed one sample's events as they arrive, deciding as `spikedelay
//! stream` and `eval` do (the checkpoint's evaluation engine, then the protocol's tail).

use std::sync::Arc;

use pyo3::prelude::*;
use spikedelay::data::spikes::binning::Binning;
use spikedelay::data::spikes::stream_binner::StreamBinner;
use spikedelay::infer::EventNetwork;

use crate::errors::to_py;

/// One stream of events through a model: `push(time_s, channel)` raw spikes (binned and pooled
/// as the run's data was) or `step(channels)` whole frames, then `end()` for the decision.
#[pyclass(module = "spikedelay")]
pub struct Stream {
    net: Arc<EventNetwork>,
    inner: spikedelay::export::Stream<'static>,
    binning: Binning,
    binner: StreamBinner,
}

impl Stream {
    /// A stream through `net`, binning raw events by `binning`.
    pub fn new(net: Arc<EventNetwork>, binning: Binning) -> Self {
        Stream {
            inner: spikedelay::export::Stream::rounded(net.clone()),
            net,
            binning,
            binner: StreamBinner::new(binning),
        }
    }

    fn advance(&mut self, frame: &[usize]) -> PyResult<()> {
        let inputs = self.net.inputs();
        if let Some(&bad) = frame.iter().find(|&&c| c >= inputs) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "channel {bad}: the network takes inputs 0..{inputs} (pooled channels)"
            )));
        }
        self.inner.step(frame);
        Ok(())
    }
}

#[pymethods]
impl Stream {
    /// Advances one step on the step's input channels (pooled indices, a channel repeated once
    /// per spike).
    fn step(&mut self, channels: Vec<usize>) -> PyResult<()> {
        self.advance(&channels)
    }

    /// Adds one spike at `time_s` seconds on input `channel` (before pooling), in time order;
    /// every frame it closes is stepped. Returns the steps taken so far.
    fn push(&mut self, time_s: f64, channel: u32) -> PyResult<usize> {
        let closed = self.binner.push(time_s, channel).map_err(to_py)?;
        for frame in closed {
            self.advance(&frame)?;
        }
        Ok(self.inner.steps())
    }

    /// Ends the sample: closes the open frame of pushed events, runs the tail (each layer to
    /// its horizon, as evaluation does) and returns the decision (`None` for a sample without
    /// steps). The stream then starts afresh for the next sample.
    fn end(&mut self) -> PyResult<Option<usize>> {
        let last = self.binner.finish();
        if !last.is_empty() || self.inner.steps() == 0 {
            self.advance(&last)?;
        }
        let decision = self.inner.finish();
        *self = Stream::new(self.net.clone(), self.binning);
        Ok(decision)
    }

    /// The running decision (`None` before any step).
    #[getter]
    fn decision(&self) -> Option<usize> {
        self.inner.decision()
    }

    /// `Σ_t softmax(v_t)` per class so far.
    #[getter]
    fn scores(&self) -> Vec<f32> {
        self.inner.scores().to_vec()
    }

    /// Steps taken in this sample.
    #[getter]
    fn steps(&self) -> usize {
        self.inner.steps()
    }
}
